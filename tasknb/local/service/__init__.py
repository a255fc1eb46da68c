"""The local Task service: every operation of the server as a plain Python call.

    >>> import tempfile
    >>> from datetime import datetime, timedelta, timezone
    >>> from tasknb.local.schedule.clock import ManualClock
    >>> svc = Service(tempfile.mkdtemp(), clock=ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    >>> svc.create_database({"name": "demo"})
    'Database DEMO successfully created.'
    >>> svc.create_schema("demo", {"name": "elt"})
    'Schema ELT successfully created.'
    >>> svc.create_task("demo", "elt", {"name": "ingest", "definition": "select 1",
    ...                                 "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 60}})
    'Task INGEST successfully created.'
    >>> svc.resume_task("demo", "elt", "ingest")
    'Statement executed successfully.'
    >>> [run["state"] for run in svc.advance(timedelta(hours=3))]   # REST TaskRun dicts
    ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']
    >>> svc.execute_task("demo", "elt", "ingest", wait=True)["state"]
    'SUCCEEDED'
    >>> svc.close()

The HTTP API (:mod:`tasknb.local.api`) and seed.py (demo data) call this class; names are
identifiers as the REST API takes them (``demo`` folds to ``DEMO``, ``'"My Task"'`` keeps its
case). A ``Service`` is made of parts with one job each, and offers their operations under
their own names:

* :class:`~.state.ServiceState` (``.state``): data dir, clock, store, lock, SQL engine, lookups;
* :class:`~.graphs.Graphs` (``.graphs``): graph rules on the stored tasks, graph versions;
* :class:`~.containers.Containers`: ``create_database(body, create_mode=)``,
  ``create_or_alter_database``, ``list_databases(...)``, ``fetch_database(name)``,
  ``delete_database(name, if_exists=)``, the same for schemas, ``ensure_schema(db, schema)``;
* :class:`~.tasks.Tasks`: ``list_tasks``, ``fetch_task``, ``dependents(..., recursive=)``,
  ``create_task(db, schema, body, create_mode=)``, ``create_or_alter_task``,
  ``delete_task(..., if_exists=)``, ``resume_task``, ``suspend_task``, ``enable_dependents``
  (SYSTEM$TASK_DEPENDENTS_ENABLE), ``set_tags``, ``unset_tags``, ``get_tags``;
* :class:`~.graphruns.GraphRuns` (``.runs``): ``execute_task(..., retry_last=, wait=)``,
  ``cancel_ongoing_executions`` (SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS), ``advance(delta)``
  (manual clock only), ``wait_idle()``;
* :class:`~.history.RunHistory`: ``current_graphs``, ``complete_graphs``, ``graph_runs``,
  ``task_history``;
* and here: ``now()``, ``engine()``, ``run_sql(database, schema, sql)`` (demo data), ``close()``.

Every refusal raises :class:`tasknb.local.rules.ApiError` and changes nothing. Every write is
committed to SQLite before the call returns. One lock serialises the writes and rule checks, so
concurrent callers see each other's changes whole, and one ``execute_task`` starts exactly one run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tasknb.local.schedule.clock import Clock, RealClock
from tasknb.local.service.bodies import to_db
from tasknb.local.service.containers import Containers
from tasknb.local.service.graphruns import GraphRuns
from tasknb.local.service.graphs import Graphs
from tasknb.local.service.history import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, RunHistory
from tasknb.local.service.runner import DEFAULT_MAX_WORKERS
from tasknb.local.service.sql_catalog import SqlCatalog
from tasknb.local.service.state import DEFAULT_COMPLETE_WINDOW, ServiceState
from tasknb.local.service.tasks import Tasks

__all__ = ["DEFAULT_COMPLETE_WINDOW", "DEFAULT_HISTORY_LIMIT", "MAX_HISTORY_LIMIT", "Service"]

INTERRUPTED_MESSAGE = ("The local server stopped while this run was executing (the process "
                       "exited or was killed); the run was cancelled and can be retried with "
                       "retryLast.")
STOPPED_MESSAGE = ("The local server was stopped while this run was executing; the run was "
                   "cancelled and can be retried with retryLast.")


class Service:
    """See the module docstring."""

    def __init__(self, data_dir: str | Path, *, clock: Clock | None = None,
                 engine_factory: Callable[[], Any] | None = None,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 complete_window: timedelta = DEFAULT_COMPLETE_WINDOW) -> None:
        self.state = state = ServiceState(data_dir, clock or RealClock(),
                                          engine_factory=engine_factory,
                                          complete_window=complete_window)
        self.graphs = Graphs(state)
        self.runs = GraphRuns(state, self.graphs, max_workers=max_workers)
        self.containers = Containers(state, self.runs.forget_schedules)
        self.tasks = Tasks(state, self.graphs, self.runs)
        self.history = RunHistory(state, self.runs.ticker)
        state.cancel_ongoing = self.runs.cancel_ongoing_from_sql
        state.sql_catalog = SqlCatalog(state)
        # what the parts share, under the names callers use
        self.data_dir, self.clock = state.data_dir, state.clock
        self.store, self.lock = state.store, state.lock
        self.runner, self.ticker = self.runs.runner, self.runs.ticker
        # the operations, as the parts define them
        c, t, r, h = self.containers, self.tasks, self.runs, self.history
        self.create_database, self.create_or_alter_database = c.create_database, c.create_or_alter_database
        self.list_databases, self.fetch_database = c.list_databases, c.fetch_database
        self.delete_database, self.ensure_schema = c.delete_database, c.ensure_schema
        self.create_schema, self.create_or_alter_schema = c.create_schema, c.create_or_alter_schema
        self.list_schemas, self.fetch_schema = c.list_schemas, c.fetch_schema
        self.delete_schema = c.delete_schema
        self.list_tasks, self.fetch_task, self.dependents = t.list_tasks, t.fetch_task, t.dependents
        self.create_task, self.create_or_alter_task = t.create_task, t.create_or_alter_task
        self.delete_task, self.resume_task, self.suspend_task = (t.delete_task, t.resume_task,
                                                                 t.suspend_task)
        self.enable_dependents = t.enable_dependents
        self.set_tags, self.unset_tags, self.get_tags = t.set_tags, t.unset_tags, t.get_tags
        self.execute_task, self.cancel_ongoing_executions = (r.execute_task,
                                                             r.cancel_ongoing_executions)
        self.advance, self.wait_idle = r.advance, r.wait_idle
        self._fire_scheduled = r.fire_scheduled  # tests/local/test_server.py fires ticks itself
        self.current_graphs, self.complete_graphs = h.current_graphs, h.complete_graphs
        self.graph_runs, self.task_history = h.graph_runs, h.task_history
        # start: runs left EXECUTING by a killed process are recorded CANCELLED first
        state.store.mark_interrupted(to_db(state.clock.now()), INTERRUPTED_MESSAGE)
        self.runs.arm_started_roots()
        state.save_clock()
        state.warm_engine()

    @property
    def manual(self) -> bool:
        """Whether the clock is manual (time moves only through ``advance``)."""
        return self.state.manual

    @manual.setter
    def manual(self, value: bool) -> None:  # tests fire ticks as the real-clock loop does
        self.state.manual = value

    def now(self) -> datetime:
        """The server's current time (real or manual clock)."""
        return self.state.now()

    def engine(self) -> Any:
        """The embedded SQL engine, created on first use."""
        return self.state.engine()

    def run_sql(self, database: str, schema: str, sql: str) -> None:
        """Run one statement in the embedded engine in ``database.schema`` (demo data setup)."""
        from tasknb.local.sql.engine import TaskContext

        db, sc = self.state.schema(database, schema)
        self.state.ensure_engine_schema(db, sc)
        self.engine().run(sql, TaskContext(database=db, schema=sc, task_name="SEED",
                                           root_task_name="SEED"))

    def close(self) -> None:
        """Stop the loop and the runs' pool, then close the engine and the store."""
        self.runs.close(cancel=self.state.cancel_engine())
        self.state.store.mark_interrupted(to_db(self.state.clock.now()), STOPPED_MESSAGE)
        self.state.save_clock()
        self.state.close()
