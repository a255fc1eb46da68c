"""Databases and schemas: create (createMode), create-or-alter, list, fetch, drop.

    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> from tasknb.local.schedule.clock import ManualClock
    >>> state = ServiceState(tempfile.mkdtemp(), ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    >>> containers = Containers(state, forget_schedules=lambda match: None)
    >>> containers.create_database({"name": "demo"})
    'Database DEMO successfully created.'
    >>> [s["name"] for s in containers.list_schemas("demo")]
    ['PUBLIC']
    >>> state.close()

Dropping or replacing a database or schema drops its tables in the SQL engine too, and
``forget_schedules(match)`` stops the schedules of the roots it held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import ApiError, fold_identifier, qualified
from tasknb.local.service import bodies
from tasknb.local.service.bodies import to_db
from tasknb.local.service.state import ServiceState

TaskKey = tuple[str, str, str]


class Containers:
    """The database and schema operations of one service."""

    def __init__(self, state: ServiceState,
                 forget_schedules: Callable[[Callable[[TaskKey], bool]], None]) -> None:
        self.state = state
        self.forget_schedules = forget_schedules

    def create_database(self, body: Any, create_mode: str | None = None) -> str:
        """POST /api/v2/databases (also creates its PUBLIC schema)."""
        mode = rules.check_create_mode(create_mode)
        spec = bodies.parse_container_body(body, "database")
        name = spec["name"]
        with self.state.lock:
            exists = name in self.state.store.databases
            if exists and mode == "errorIfExists":
                raise rules.already_exists(qualified(name))
            if exists and mode == "ifNotExists":
                return f"{qualified(name)} already exists, statement succeeded."
            now = to_db(self.state.clock.now())
            with self.state.store.transaction() as tx:
                if exists:
                    tx.delete_database(name)
                tx.put_database({**spec, "created_on": now})
                tx.put_schema({"database": name, "name": "PUBLIC", "created_on": now,
                               "kind": "PERMANENT", "comment": None, "managed_access": False})
            if exists:  # OR REPLACE: the new database starts empty
                self.forget_schedules(lambda key: key[0] == name)
                self.state.drop_in_engine(name)
            self.state.make_in_engine(name, "PUBLIC")  # task SQL sees it at once
        return f"Database {qualified(name)} successfully created."

    def create_or_alter_database(self, name: str, body: Any) -> str:
        """PUT /api/v2/databases/{name}: create it, or set its comment (name and kind stay)."""
        path_name = fold_identifier(name, "name")
        spec = bodies.parse_container_body(body, "database", path_name=path_name)
        with self.state.lock:
            rec = self.state.store.databases.get(path_name)
            if rec is None:
                return self.create_database(body)
            with self.state.store.transaction() as tx:
                tx.put_database({**rec, "comment": spec["comment"]})
        return "Statement executed successfully."

    def list_databases(self, *, like: str | None = None, starts_with: str | None = None,
                       show_limit: int | None = None, from_name: str | None = None
                       ) -> list[dict[str, Any]]:
        """GET /api/v2/databases."""
        names = rules.filter_names(list(self.state.store.databases), like=like,
                                   starts_with=starts_with, from_name=from_name, limit=show_limit)
        return [bodies.database_to_api(self.state.store.databases[n]) for n in names]

    def fetch_database(self, name: str) -> dict[str, Any]:
        """GET /api/v2/databases/{name}."""
        return bodies.database_to_api(self.state.store.databases[self.state.database(name)])

    def delete_database(self, name: str, if_exists: bool = False) -> str:
        """DELETE /api/v2/databases/{name} (drops its schemas and tasks)."""
        with self.state.lock:
            try:
                db = self.state.database(name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    return "Drop statement executed successfully (object does not exist)."
                raise
            with self.state.store.transaction() as tx:
                tx.delete_database(db)
            self.forget_schedules(lambda key: key[0] == db)
            self.state.drop_in_engine(db)
        return f"{qualified(db)} successfully dropped."

    def create_schema(self, database: str, body: Any, create_mode: str | None = None) -> str:
        """POST /api/v2/databases/{database}/schemas."""
        mode = rules.check_create_mode(create_mode)
        spec = bodies.parse_container_body(body, "schema")
        with self.state.lock:
            db = self.state.database(database)
            name = spec["name"]
            exists = (db, name) in self.state.store.schemas
            if exists and mode == "errorIfExists":
                raise rules.already_exists(qualified(name))
            if exists and mode == "ifNotExists":
                return f"{qualified(name)} already exists, statement succeeded."
            with self.state.store.transaction() as tx:
                if exists:
                    tx.delete_schema(db, name)
                tx.put_schema({"database": db, "name": name, "created_on": to_db(self.state.clock.now()),
                               "kind": spec["kind"], "comment": spec["comment"],
                               "managed_access": spec["managed_access"]})
            if exists:  # OR REPLACE: the new schema starts empty
                self.forget_schedules(lambda key: key[:2] == (db, name))
                self.state.drop_in_engine(db, name)
            self.state.make_in_engine(db, name)  # task SQL of any schema sees it at once
        return f"Schema {qualified(name)} successfully created."

    def create_or_alter_schema(self, database: str, name: str, body: Any) -> str:
        """PUT .../schemas/{name}: create it, or set its comment and managed access."""
        path_name = fold_identifier(name, "name")
        spec = bodies.parse_container_body(body, "schema", path_name=path_name)
        with self.state.lock:
            db = self.state.database(database)
            rec = self.state.store.schemas.get((db, path_name))
            if rec is None:
                return self.create_schema(database, body)
            with self.state.store.transaction() as tx:
                tx.put_schema({**rec, "comment": spec["comment"],
                               "managed_access": spec["managed_access"]})
        return "Statement executed successfully."

    def ensure_schema(self, database: str, schema: str) -> None:
        """Create the database and schema if missing (LocalServer.connect, seeding)."""
        db = fold_identifier(database, "database")
        with self.state.lock:
            if db not in self.state.store.databases:
                self.create_database({"name": rules.render_identifier(db)})
            self.create_schema(database, {"name": schema}, create_mode="ifNotExists")

    def list_schemas(self, database: str, *, like: str | None = None,
                     starts_with: str | None = None, show_limit: int | None = None,
                     from_name: str | None = None) -> list[dict[str, Any]]:
        """GET /api/v2/databases/{database}/schemas."""
        db = self.state.database(database)
        names = rules.filter_names([s for d, s in self.state.store.schemas if d == db], like=like,
                                   starts_with=starts_with, from_name=from_name, limit=show_limit)
        return [bodies.schema_to_api(self.state.store.schemas[(db, n)]) for n in names]

    def fetch_schema(self, database: str, name: str) -> dict[str, Any]:
        """GET /api/v2/databases/{database}/schemas/{name}."""
        return bodies.schema_to_api(self.state.store.schemas[self.state.schema(database, name)])

    def delete_schema(self, database: str, name: str, if_exists: bool = False) -> str:
        """DELETE /api/v2/databases/{database}/schemas/{name} (drops its tasks)."""
        with self.state.lock:
            try:
                db, sc = self.state.schema(database, name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    return "Drop statement executed successfully (object does not exist)."
                raise
            with self.state.store.transaction() as tx:
                tx.delete_schema(db, sc)
            self.forget_schedules(lambda key: key[:2] == (db, sc))
            self.state.drop_in_engine(db, sc)
        return f"{qualified(sc)} successfully dropped."
