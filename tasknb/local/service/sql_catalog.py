"""What the SQL engine's SHOW commands see of the service: its databases, schemas and tasks,
as the REST API answers for them (one reading of the store, so SHOW TASKS and
``GET .../tasks`` agree).

    >>> SqlCatalog.__doc__.split(":")[0]
    'The tasknb.local.sql.show.Source of a service'
"""

from __future__ import annotations

from typing import Any

from tasknb.local import rules
from tasknb.local.schedule import schedules
from tasknb.local.service import bodies
from tasknb.local.service.state import ServiceState


class SqlCatalog:
    """The tasknb.local.sql.show.Source of a service: REST bodies read from its store."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state

    def databases(self) -> list[dict[str, Any]]:
        """Every database, as GET /api/v2/databases shows it."""
        store = self._state.store
        return [bodies.database_to_api(rec) for rec in list(store.databases.values())]

    def schemas(self, database: str) -> list[dict[str, Any]]:
        """The schemas of a database, as GET .../schemas shows them."""
        store = self._state.store
        return [bodies.schema_to_api(rec) for (db, _), rec in list(store.schemas.items())
                if db == database]

    def tasks(self, database: str, schema: str) -> list[dict[str, Any]]:
        """The tasks of a schema, as GET .../tasks shows them, with the record's
        ``last_suspended_reason`` and the schedule as SQL writes it (``schedule_text``: SHOW
        TASKS has both, the REST body neither)."""
        tasks = dict(self._state.store.tasks_in(database, schema))
        finalizers = rules.finalizer_index(tasks)
        out = []
        for name, rec in tasks.items():
            body = bodies.task_to_api(rec, finalizers.get(name))
            body["last_suspended_reason"] = rec.get("last_suspended_reason")
            if body.get("schedule"):
                body["schedule_text"] = schedules.schedule_text(
                    schedules.parse_schedule(body["schedule"]))
            out.append(body)
        return out
