"""The local Task service: every operation of the server as a plain Python call.

    >>> svc = Service(data_dir, clock=ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    >>> svc.create_database({"name": "demo"}); svc.create_schema("demo", {"name": "elt"})
    >>> svc.create_task("demo", "elt", {"name": "ingest", "definition": "select 1",
    ...                                 "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 60}})
    >>> svc.resume_task("demo", "elt", "ingest")
    >>> runs = svc.advance(timedelta(hours=3))      # three graph runs, as REST TaskRun dicts
    >>> svc.execute_task("demo", "elt", "ingest", wait=True)["state"]
    'SUCCEEDED'

app.py (the HTTP API) and seed.py (demo data) both call this class; names are identifiers as the
REST API takes them (``demo`` folds to ``DEMO``, ``'"My Task"'`` keeps its case). Methods:

* containers: ``create_database(body, create_mode=)``, ``list_databases(...)``,
  ``fetch_database(name)``, ``delete_database(name, if_exists=)``, the same for schemas
  (``create_schema(database, body, ...)``), and ``ensure_schema(database, schema)``;
* tasks: ``list_tasks``, ``create_task(db, schema, body, create_mode=)``, ``fetch_task``,
  ``create_or_alter_task(db, schema, name, body)``, ``delete_task(..., if_exists=)``,
  ``resume_task``, ``suspend_task``, ``execute_task(..., retry_last=, wait=)``,
  ``dependents(..., recursive=)``, ``current_graphs``, ``complete_graphs``, ``set_tags``,
  ``unset_tags``, ``get_tags``, ``task_history``, ``graph_runs``, ``enable_dependents``
  (SYSTEM$TASK_DEPENDENTS_ENABLE);
* time: ``now()``, ``advance(delta) -> list[dict]`` (manual clock only);
* SQL for seeding: ``run_sql(database, schema, sql)`` runs a statement in the embedded engine;
* ``close()``.

Every refusal raises :class:`tasknb.local.rules.ApiError` and changes nothing. Every write is
committed to SQLite before the call returns. One lock serialises the writes and rule checks, so
concurrent callers see each other's changes whole, and one ``execute_task`` starts exactly one run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import ApiError, fold_identifier, qualified, rule_error
from tasknb.local.schedule import clock as scheduler
from tasknb.local.schedule.ticker import Ticker
from tasknb.local.service import bodies
from tasknb.local.service.bodies import from_db, to_db
from tasknb.local.service.graphruns import (  # noqa: F401 - re-exported for app.py
    DEFAULT_HISTORY_LIMIT,
    MAX_HISTORY_LIMIT,
    GraphRunsMixin,
)
from tasknb.local.service.runner import DEFAULT_MAX_WORKERS, GraphRun, Runner, RunPlan
from tasknb.local.store import Store

ENGINE_FILE = "tasknb-engine.duckdb"
DEFAULT_COMPLETE_WINDOW = timedelta(minutes=60)  # COMPLETE_TASK_GRAPHS shows the past hour
WARMUP_JOIN_SECONDS = 60.0
INTERRUPTED_MESSAGE = ("The local server stopped while this run was executing (the process "
                       "exited or was killed); the run was cancelled and can be retried with "
                       "retryLast.")
STOPPED_MESSAGE = ("The local server was stopped while this run was executing; the run was "
                   "cancelled and can be retried with retryLast.")
_FINGERPRINT_EXCLUDE = {"state", "id", "created_on", "last_committed_on", "last_suspended_on",
                        "last_suspended_reason", "graph_version", "committed_fingerprint",
                        "schedule_anchor", "failure_streak"}

log = logging.getLogger("tasknb.local")


LOCK_FILE = ".tasknb-local.lock"


def _lock_data_dir(data_dir: Path) -> Any:
    """Hold an exclusive lock on the data dir: two servers on one directory would corrupt it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the service's lifetime
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RuntimeError(f"The data directory {data_dir} is in use by another local Task "
                           "server; stop it or choose another data_dir.") from None
    return handle


class Service(GraphRunsMixin):
    """See the module docstring; graph runs, schedules and run queries are in graphruns.py."""

    def __init__(self, data_dir: str | Path, *, clock: scheduler.Clock | None = None,
                 engine_factory: Callable[[], Any] | None = None,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 complete_window: timedelta = DEFAULT_COMPLETE_WINDOW) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock or scheduler.RealClock()
        self.manual = isinstance(self.clock, scheduler.ManualClock)
        self.complete_window = complete_window
        self._dir_lock = _lock_data_dir(self.data_dir)
        try:
            self.store = Store.in_dir(self.data_dir)
        except BaseException:
            self._dir_lock.close()
            raise
        self.lock = threading.RLock()
        # databases the store knows at start-up: the engine deletes the files of any other
        # (dropped, possibly by a process killed between the store commit and the file removal)
        self._known_at_start = frozenset(self.store.databases)
        self._engine_factory = engine_factory
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        self._engine_schemas: set[tuple[str, str]] = set()
        self._pending: dict[tuple[str, str, str], RunPlan] = {}
        self._started_log: list[GraphRun] = []
        self._last_run_id: dict[tuple[str, str, str], int] = self.store.last_run_ids()
        self._index_cache: dict[tuple[str, str], tuple[int, dict[str, list[str]],
                                                        dict[str, str]]] = {}
        self.runner = Runner(self.store, self.engine, self.clock.now, manual=self.manual,
                             on_complete=self._graph_run_finished, max_workers=max_workers)
        self.ticker = Ticker(self._fire_scheduled, self.clock, manual=self.manual)
        self.recovered_runs = self.store.mark_interrupted(to_db(self.clock.now()),
                                                          INTERRUPTED_MESSAGE)
        for (database, schema), tasks in self.store.tasks.items():
            for name, rec in tasks.items():
                if rec["state"] == "started" and rules.is_root(rec) and rec.get("schedule"):
                    anchor = from_db(rec.get("schedule_anchor")) or self.clock.now()
                    self.ticker.arm((database, schema, name), rec["schedule"], anchor)
        self.ticker.start()
        self._save_clock()
        # import and open the SQL engine in the background: the first run need not wait for it
        self._warmup = threading.Thread(target=self._warm_engine, name="tasknb-engine-warmup",
                                        daemon=True)
        self._warmup.start()

    def _warm_engine(self) -> None:
        try:
            self.engine()
        except Exception:
            log.debug("engine warm-up failed", exc_info=True)

    # --- plumbing ------------------------------------------------------------------------------
    def engine(self) -> Any:
        """The embedded SQL engine, created on first use."""
        with self._engine_lock:
            if self._engine is None:
                if self._engine_factory is not None:
                    self._engine = self._engine_factory()
                else:
                    from tasknb.local.sql.engine import SqlEngine

                    self._engine = SqlEngine(self.data_dir / ENGINE_FILE,
                                             databases=self._known_at_start,
                                             cancel_ongoing=self.cancel_ongoing_executions)
            return self._engine

    def _drop_in_engine(self, database: str, schema: str | None = None) -> None:
        """Drop a database (or one schema) and its tables in the engine; call under the lock.

            >>> svc._drop_in_engine("DEMO", "ELT")   # tables of DEMO.ELT are gone

        Creates the engine if this process has none yet: a database file left behind would
        bring its tables back when the engine attaches it.
        """
        try:
            engine = self.engine()
            if schema is None:
                engine.drop_database(database)
            else:
                engine.drop_schema(database, schema)
        except Exception:
            log.warning("could not drop %s in the SQL engine", qualified(database, *(
                [schema] if schema else [])), exc_info=True)
        self._engine_schemas = {key for key in self._engine_schemas
                                if key[0] != database or (schema is not None and key[1] != schema)}

    def _ensure_engine_schema(self, database: str, schema: str) -> None:
        if (database, schema) not in self._engine_schemas:
            self.engine().ensure_schema(database, schema)
            self._engine_schemas.add((database, schema))

    def now(self) -> datetime:
        """The server's current time (real or manual clock)."""
        return self.clock.now()

    def close(self) -> None:
        """Stop the loop and the runs' pool, then close the engine and the store."""
        self.ticker.stop()
        # never leave the warm-up inside DuckDB's C++ code at interpreter exit (it aborts)
        self._warmup.join(timeout=WARMUP_JOIN_SECONDS)
        cancel = getattr(self._engine, "cancel_all", None) if self._engine is not None else None
        self.runner.shutdown(wait=True, cancel=cancel)
        self.store.mark_interrupted(to_db(self.clock.now()), STOPPED_MESSAGE)
        self._save_clock()
        if self._engine is not None:
            try:
                self._engine.close()
            except Exception:
                log.debug("engine close failed", exc_info=True)
        self.store.close()
        self._dir_lock.close()  # releases the lock last

    def _index(self, db: str, sc: str) -> tuple[dict[str, list[str]], dict[str, str]]:
        """(children, finalizers) of a schema's tasks, cached until a task there changes."""
        version = self.store.versions.get((db, sc), 0)
        cached = self._index_cache.get((db, sc))
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        tasks = self.store.tasks_in(db, sc)
        children, finalizers = rules.children_index(tasks), rules.finalizer_index(tasks)
        self._index_cache[(db, sc)] = (version, children, finalizers)
        return children, finalizers

    def _unlinked_write(self, db: str, sc: str) -> Any:
        """Context for writes that change no links: the cached index stays valid."""
        service = self

        class _Keep:
            def __enter__(self) -> None:
                self.version = service.store.versions.get((db, sc), 0)
                cached = service._index_cache.get((db, sc))
                self.valid = cached is not None and cached[0] == self.version

            def __exit__(self, *exc: object) -> None:
                cached = service._index_cache.get((db, sc))
                if self.valid and cached is not None and not exc[0]:
                    service._index_cache[(db, sc)] = (service.store.versions.get((db, sc), 0),
                                                      cached[1], cached[2])

        return _Keep()

    def _database(self, name: str) -> str:
        folded = fold_identifier(name, "database")
        if folded not in self.store.databases:
            raise rules.not_found("Database", qualified(folded))
        return folded

    def _schema(self, database: str, schema: str) -> tuple[str, str]:
        fold_identifier(database, "database")  # every identifier is checked before any lookup
        sc = fold_identifier(schema, "schema")
        db = self._database(database)
        if (db, sc) not in self.store.schemas:
            raise rules.not_found("Schema", qualified(db, sc))
        return db, sc

    def _task(self, database: str, schema: str, name: str) -> tuple[str, str, str, dict[str, Any]]:
        folded = fold_identifier(name, "name")
        db, sc = self._schema(database, schema)
        rec = self.store.tasks_in(db, sc).get(folded)
        if rec is None:
            raise rules.not_found("Task", qualified(db, sc, folded))
        return db, sc, folded, rec

    # --- databases and schemas -----------------------------------------------------------------
    def create_database(self, body: Any, create_mode: str | None = None) -> str:
        """POST /api/v2/databases (also creates its PUBLIC schema)."""
        mode = rules.check_create_mode(create_mode)
        spec = bodies.parse_container_body(body, "database")
        name = spec["name"]
        with self.lock:
            exists = name in self.store.databases
            if exists and mode == "errorIfExists":
                raise rules.already_exists(qualified(name))
            if exists and mode == "ifNotExists":
                return f"{qualified(name)} already exists, statement succeeded."
            now = to_db(self.clock.now())
            with self.store.transaction() as tx:
                if exists:
                    tx.delete_database(name)
                tx.put_database({**spec, "created_on": now})
                tx.put_schema({"database": name, "name": "PUBLIC", "created_on": now,
                               "kind": "PERMANENT", "comment": None, "managed_access": False})
            if exists:  # OR REPLACE: the new database starts empty
                self._forget_schedules(lambda key: key[0] == name)
                self._drop_in_engine(name)
        return f"Database {qualified(name)} successfully created."

    def create_or_alter_database(self, name: str, body: Any) -> str:
        """PUT /api/v2/databases/{name}: create it, or set its comment (name and kind stay)."""
        path_name = fold_identifier(name, "name")
        spec = bodies.parse_container_body(body, "database", path_name=path_name)
        with self.lock:
            rec = self.store.databases.get(path_name)
            if rec is None:
                return self.create_database(body)
            with self.store.transaction() as tx:
                tx.put_database({**rec, "comment": spec["comment"]})
        return "Statement executed successfully."

    def list_databases(self, *, like: str | None = None, starts_with: str | None = None,
                       show_limit: int | None = None, from_name: str | None = None
                       ) -> list[dict[str, Any]]:
        """GET /api/v2/databases."""
        names = rules.filter_names(list(self.store.databases), like=like,
                                   starts_with=starts_with, from_name=from_name, limit=show_limit)
        return [bodies.database_to_api(self.store.databases[n]) for n in names]

    def fetch_database(self, name: str) -> dict[str, Any]:
        """GET /api/v2/databases/{name}."""
        return bodies.database_to_api(self.store.databases[self._database(name)])

    def delete_database(self, name: str, if_exists: bool = False) -> str:
        """DELETE /api/v2/databases/{name} (drops its schemas and tasks)."""
        with self.lock:
            try:
                db = self._database(name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    return "Drop statement executed successfully (object does not exist)."
                raise
            with self.store.transaction() as tx:
                tx.delete_database(db)
            self._forget_schedules(lambda key: key[0] == db)
            self._drop_in_engine(db)
        return f"{qualified(db)} successfully dropped."

    def create_schema(self, database: str, body: Any, create_mode: str | None = None) -> str:
        """POST /api/v2/databases/{database}/schemas."""
        mode = rules.check_create_mode(create_mode)
        spec = bodies.parse_container_body(body, "schema")
        with self.lock:
            db = self._database(database)
            name = spec["name"]
            exists = (db, name) in self.store.schemas
            if exists and mode == "errorIfExists":
                raise rules.already_exists(qualified(name))
            if exists and mode == "ifNotExists":
                return f"{qualified(name)} already exists, statement succeeded."
            with self.store.transaction() as tx:
                if exists:
                    tx.delete_schema(db, name)
                tx.put_schema({"database": db, "name": name, "created_on": to_db(self.clock.now()),
                               "kind": spec["kind"], "comment": spec["comment"],
                               "managed_access": spec["managed_access"]})
            if exists:  # OR REPLACE: the new schema starts empty
                self._forget_schedules(lambda key: key[:2] == (db, name))
                self._drop_in_engine(db, name)
        return f"Schema {qualified(name)} successfully created."

    def create_or_alter_schema(self, database: str, name: str, body: Any) -> str:
        """PUT .../schemas/{name}: create it, or set its comment and managed access."""
        path_name = fold_identifier(name, "name")
        spec = bodies.parse_container_body(body, "schema", path_name=path_name)
        with self.lock:
            db = self._database(database)
            rec = self.store.schemas.get((db, path_name))
            if rec is None:
                return self.create_schema(database, body)
            with self.store.transaction() as tx:
                tx.put_schema({**rec, "comment": spec["comment"],
                               "managed_access": spec["managed_access"]})
        return "Statement executed successfully."

    def ensure_schema(self, database: str, schema: str) -> None:
        """Create the database and schema if missing (LocalServer.connect, seeding)."""
        db = fold_identifier(database, "database")
        with self.lock:
            if db not in self.store.databases:
                self.create_database({"name": rules.render_identifier(db)})
            self.create_schema(database, {"name": schema}, create_mode="ifNotExists")

    def list_schemas(self, database: str, *, like: str | None = None,
                     starts_with: str | None = None, show_limit: int | None = None,
                     from_name: str | None = None) -> list[dict[str, Any]]:
        """GET /api/v2/databases/{database}/schemas."""
        db = self._database(database)
        names = rules.filter_names([s for d, s in self.store.schemas if d == db], like=like,
                                   starts_with=starts_with, from_name=from_name, limit=show_limit)
        return [bodies.schema_to_api(self.store.schemas[(db, n)]) for n in names]

    def fetch_schema(self, database: str, name: str) -> dict[str, Any]:
        """GET /api/v2/databases/{database}/schemas/{name}."""
        return bodies.schema_to_api(self.store.schemas[self._schema(database, name)])

    def delete_schema(self, database: str, name: str, if_exists: bool = False) -> str:
        """DELETE /api/v2/databases/{database}/schemas/{name} (drops its tasks)."""
        with self.lock:
            try:
                db, sc = self._schema(database, name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    return "Drop statement executed successfully (object does not exist)."
                raise
            with self.store.transaction() as tx:
                tx.delete_schema(db, sc)
            self._forget_schedules(lambda key: key[:2] == (db, sc))
            self._drop_in_engine(db, sc)
        return f"{qualified(sc)} successfully dropped."

    def _forget_schedules(self, match: Callable[[tuple[str, str, str]], bool]) -> None:
        for key in list(self.ticker._schedules):
            if match(key):
                self.ticker.disarm(key)

    # --- tasks: reads --------------------------------------------------------------------------
    def list_tasks(self, database: str, schema: str, *, root_only: bool = False,
                   like: str | None = None, starts_with: str | None = None,
                   show_limit: int | None = None, from_name: str | None = None
                   ) -> list[dict[str, Any]]:
        """GET .../tasks: SHOW TASKS in lexicographic order."""
        db, sc = self._schema(database, schema)
        tasks = dict(self.store.tasks_in(db, sc))
        candidates = [n for n, r in tasks.items() if not root_only or rules.is_root(r)]
        names = rules.filter_names(candidates, like=like, starts_with=starts_with,
                                   from_name=from_name, limit=show_limit)
        finalizers = rules.finalizer_index(tasks)  # from this snapshot, not the cache
        return [bodies.task_to_api(tasks[n], finalizers.get(n)) for n in names]

    def fetch_task(self, database: str, schema: str, name: str) -> dict[str, Any]:
        """GET .../tasks/{name}."""
        db, sc, folded, rec = self._task(database, schema, name)
        return bodies.task_to_api(rec, self._finalizer_of(db, sc, folded))

    def _finalizer_of(self, database: str, schema: str, name: str) -> str | None:
        return self._index(database, schema)[1].get(name)

    def dependents(self, database: str, schema: str, name: str,
                   recursive: bool = True) -> list[dict[str, Any]]:
        """GET .../tasks/{name}/dependents: the task first, then dependents in topological order."""
        db, sc, folded, _ = self._task(database, schema, name)
        tasks = dict(self.store.tasks_in(db, sc))
        children = rules.children_index(tasks)
        finalizers = rules.finalizer_index(tasks)
        if recursive:
            below = rules.descendants(folded, children)
            ordered = [n for n in rules.topological_order([folded, *below], tasks)
                       if n != folded]
        else:
            ordered = list(children.get(folded, ()))
        fin = finalizers.get(folded)
        if fin and fin not in ordered:
            ordered.append(fin)
        return [bodies.task_to_api(tasks[n], finalizers.get(n)) for n in [folded, *ordered]]

    # --- tasks: writes -------------------------------------------------------------------------
    def create_task(self, database: str, schema: str, body: Any,
                    create_mode: str | None = None) -> str:
        """POST .../tasks with createMode errorIfExists | orReplace | ifNotExists."""
        mode = rules.check_create_mode(create_mode)
        with self.lock:
            db, sc = self._schema(database, schema)
            spec = bodies.parse_task_body(body, db, sc)
            name = spec["name"]
            old = self.store.tasks_in(db, sc).get(name)
            if old is not None and mode == "errorIfExists":
                raise rules.already_exists(rules.render_identifier(name))
            if old is not None and mode == "ifNotExists":
                return f"{rules.render_identifier(name)} already exists, statement succeeded."
            self._write_task(db, sc, spec, old, replace=True)
        return f"Task {rules.render_identifier(name)} successfully created."

    def create_or_alter_task(self, database: str, schema: str, name: str, body: Any) -> str:
        """PUT .../tasks/{name}: create, or replace every property (keeps id and created_on)."""
        with self.lock:
            db, sc = self._schema(database, schema)
            path_name = fold_identifier(name, "name")
            spec = bodies.parse_task_body(body, db, sc, path_name=path_name)
            old = self.store.tasks_in(db, sc).get(path_name)
            self._write_task(db, sc, spec, old, replace=False)
        if old is None:
            return f"Task {rules.render_identifier(path_name)} successfully created."
        return "Statement executed successfully."

    def _write_task(self, db: str, sc: str, spec: dict[str, Any], old: dict[str, Any] | None,
                    *, replace: bool) -> None:
        """Create (old None), replace (new object) or alter (keep identity) one task."""
        name = spec["name"]
        now = to_db(self.clock.now())
        if old is None or replace:
            rec: dict[str, Any] = {
                "database_name": db, "schema_name": sc, "name": name,
                "id": str(uuid.uuid4()), "created_on": now, "state": "suspended",
                "last_committed_on": None, "last_suspended_on": None,
                "last_suspended_reason": None, "graph_version": 0,
                "committed_fingerprint": None, "schedule_anchor": None, "failure_streak": 0,
            }
        else:
            rec = {k: v for k, v in old.items() if k not in bodies.TASK_PROPERTIES}
        for key in bodies.TASK_PROPERTIES:
            rec[key] = spec.get(key)
        tasks = self.store.tasks_in(db, sc)
        after = dict(tasks)
        after[name] = rec
        children, finalizers = self._index(db, sc)
        children = dict(children)
        for pred in set((old or {}).get("predecessors") or ()) | set(rec["predecessors"]):
            kids = [c for c in children.get(pred, ()) if c != name]
            if pred in rec["predecessors"]:
                kids = sorted([*kids, name])
            children[pred] = kids
        finalizers = {t: f for t, f in finalizers.items() if f != name}
        if rec.get("finalize") and rec["finalize"] not in finalizers:
            finalizers[rec["finalize"]] = name
        self._check_links(db, sc, name, after, children, finalizers)
        affected = {name}
        if old is not None:
            self._require_suspended_roots(db, sc, affected, tasks)
        self._require_suspended_roots(db, sc, affected, after, skip_self_started=old is None)
        with self.store.transaction() as tx:
            if old is not None and replace:
                tx.delete_task(db, sc, name)
            tx.put_task(rec)
        self._index_cache[(db, sc)] = (self.store.versions.get((db, sc), 0), children, finalizers)
        if old is not None and replace:
            self.ticker.disarm((db, sc, name))

    def _check_links(self, db: str, sc: str, name: str, tasks: dict[str, dict[str, Any]],
                     children: dict[str, list[str]], finalizers: dict[str, str]) -> None:
        """Predecessor and finalizer rules for ``name`` in the state ``tasks``."""
        rec = tasks[name]
        fqn = qualified(db, sc, name)
        for pred in rec.get("predecessors") or ():
            if pred not in tasks:
                raise rule_error(f"Invalid predecessor {qualified(db, sc, pred)} was specified.")
            if tasks[pred].get("finalize"):
                raise rule_error(f"Task {qualified(db, sc, pred)} cannot have children as a "
                                 "finalizer task.")
        for pred in rec.get("predecessors") or ():
            if len(children.get(pred, ())) > rules.MAX_CHILDREN:
                raise rule_error(f"Task {qualified(db, sc, pred)} would have more than "
                                 f"{rules.MAX_CHILDREN} child tasks.")
        target = rec.get("finalize")
        if target:
            if target not in tasks:
                raise rule_error(f"Invalid finalized root task {qualified(db, sc, target)} was "
                                 "specified.")
            if not rules.is_root(tasks[target]):
                raise rule_error(f"Task {fqn} cannot finalize a non-root task "
                                 f"{qualified(db, sc, target)}.")
            other = finalizers.get(target)
            if other is not None and other != name:
                raise rule_error(f"Finalize target {qualified(db, sc, target)} already have "
                                 f"finalizer {qualified(db, sc, other)}.")
            if children.get(name):
                raise rule_error(f"Task {fqn} cannot have children as a finalizer task.")
        if rec.get("predecessors"):
            fin = finalizers.get(name)
            if fin:
                raise rule_error(f"Task {fqn} cannot have predecessors because it has a "
                                 f"finalizer task {qualified(db, sc, fin)}.")
        for root in rules.roots_of(name, tasks) or {name}:
            size = len(rules.graph_members(root, tasks, children, finalizers))
            if size > rules.MAX_GRAPH_TASKS:
                raise rule_error(f"The graph of root task {qualified(db, sc, root)} would have "
                                 f"{size} tasks; at most {rules.MAX_GRAPH_TASKS} are allowed.")

    def _require_suspended_roots(self, db: str, sc: str, names: set[str],
                                 tasks: dict[str, dict[str, Any]], *,
                                 skip_self_started: bool = False) -> None:
        """091421 unless every root of the graphs touching ``names`` is suspended."""
        for name in sorted(names):
            for root in sorted(rules.roots_of(name, tasks)):
                if skip_self_started and root == name:
                    continue
                if tasks[root]["state"] == "started":
                    raise rules.root_not_suspended(qualified(db, sc, root))

    def delete_task(self, database: str, schema: str, name: str, if_exists: bool = False) -> str:
        """DELETE .../tasks/{name}; former children without predecessors become suspended roots."""
        with self.lock:
            try:
                db, sc, folded, _rec = self._task(database, schema, name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    return "Drop statement executed successfully (object does not exist)."
                raise
            tasks = self.store.tasks_in(db, sc)
            children, finalizers = self._index(db, sc)
            if rules.in_graph(folded, tasks, children, finalizers):
                self._require_suspended_roots(db, sc, {folded}, tasks)
            now = to_db(self.clock.now())
            with self.store.transaction() as tx:
                tx.delete_task(db, sc, folded)
                for child in children.get(folded, ()):
                    crec = dict(tasks[child])
                    crec["predecessors"] = [p for p in crec["predecessors"] if p != folded]
                    if not crec["predecessors"] and crec["state"] == "started":
                        crec.update(state="suspended", last_suspended_on=now,
                                    last_suspended_reason="CHILD_BECAME_ROOT")
                    tx.put_task(crec)
                fin = finalizers.get(folded)
                if fin:
                    frec = dict(tasks[fin])
                    frec["finalize"] = None
                    if frec["state"] == "started":
                        frec.update(state="suspended", last_suspended_on=now,
                                    last_suspended_reason="FINALIZER_BECAME_ROOT")
                    tx.put_task(frec)
            self.ticker.disarm((db, sc, folded))
            self._pending.pop((db, sc, folded), None)
        return f"{rules.render_identifier(folded)} successfully dropped."

    def resume_task(self, database: str, schema: str, name: str) -> str:
        """POST .../tasks/{name}:resume; a root is validated, versioned and scheduled."""
        with self.lock:
            db, sc, folded, rec = self._task(database, schema, name)
            tasks = self.store.tasks_in(db, sc)
            if not rules.is_root(rec):
                self._require_suspended_roots(db, sc, {folded}, tasks)
                if rec["state"] != "started":
                    with self._unlinked_write(db, sc), self.store.transaction() as tx:
                        tx.put_task({**rec, "state": "started"})
                return "Statement executed successfully."
            if rec["state"] == "started":
                return "Statement executed successfully."
            members = rules.check_graph_runnable(folded, db, sc, tasks, *self._index(db, sc))
            rec = self._commit_version(db, sc, folded, members, extra={
                "state": "started", "schedule_anchor": to_db(self.clock.now()),
                "failure_streak": 0})
            if rec.get("schedule"):
                self.ticker.arm((db, sc, folded), rec["schedule"], self.clock.now())
        return "Statement executed successfully."

    def enable_dependents(self, database: str, schema: str, name: str) -> list[str]:
        """SYSTEM$TASK_DEPENDENTS_ENABLE: resume a task and everything below it (and a root's
        finalizer), children first; return the names resumed. All-or-nothing: a refusal (graph
        started, cycle, second root) resumes nothing."""
        with self.lock:
            db, sc, folded, rec = self._task(database, schema, name)
            tasks = self.store.tasks_in(db, sc)
            children, finalizers = self._index(db, sc)
            self._require_suspended_roots(db, sc, {folded}, tasks)
            below = rules.descendants(folded, children)
            fin = finalizers.get(folded)
            if fin and fin not in below:
                below.append(fin)
            if rules.is_root(rec):
                rules.check_graph_runnable(folded, db, sc, tasks, children, finalizers)
            resumed = [n for n in below if tasks[n]["state"] != "started"]
            with self._unlinked_write(db, sc), self.store.transaction() as tx:
                for child in resumed:
                    tx.put_task({**tasks[child], "state": "started"})
            if rec["state"] != "started":
                self.resume_task(database, schema, name)
                resumed.append(folded)
        return resumed

    def suspend_task(self, database: str, schema: str, name: str) -> str:
        """POST .../tasks/{name}:suspend; a running graph run is left to finish."""
        with self.lock:
            db, sc, folded, rec = self._task(database, schema, name)
            if not rules.is_root(rec):
                self._require_suspended_roots(db, sc, {folded}, self.store.tasks_in(db, sc))
            if rec["state"] == "started":
                self._suspend(db, sc, folded, rec, "USER_SUSPENDED")
        return "Statement executed successfully."

    def _suspend(self, db: str, sc: str, name: str, rec: dict[str, Any], reason: str) -> None:
        with self._unlinked_write(db, sc), self.store.transaction() as tx:
            tx.put_task({**rec, "state": "suspended", "last_suspended_on": to_db(self.clock.now()),
                         "last_suspended_reason": reason})
        self.ticker.disarm((db, sc, name))

    def _fingerprint(self, members: list[str], tasks: dict[str, dict[str, Any]]) -> str:
        payload = [[m, {k: v for k, v in tasks[m].items() if k not in _FINGERPRINT_EXCLUDE}]
                   for m in sorted(members)]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                              ).hexdigest()

    def _commit_version(self, db: str, sc: str, root: str, members: list[str],
                        extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fix a new graph version if anything changed since the last one; return the root."""
        tasks = self.store.tasks_in(db, sc)
        rec = dict(tasks[root])
        fingerprint = self._fingerprint(members, tasks)
        now = to_db(self.clock.now())
        if fingerprint == rec.get("committed_fingerprint") and not extra:
            return rec
        with self._unlinked_write(db, sc), self.store.transaction() as tx:
            if fingerprint != rec.get("committed_fingerprint"):
                rec["graph_version"] = int(rec.get("graph_version") or 0) + 1
                rec["committed_fingerprint"] = fingerprint
                rec["last_committed_on"] = now
                for member in members:
                    if member != root:
                        tx.put_task({**tasks[member], "last_committed_on": now})
            rec.update(extra or {})
            tx.put_task(rec)
        return rec

    # --- tags ----------------------------------------------------------------------------------
    def set_tags(self, database: str, schema: str, name: str, body: Any,
                 if_exists: bool = False) -> str:
        """POST .../tasks/{name}:set-tags."""
        return self._change_tags(database, schema, name, body, if_exists, with_values=True)

    def unset_tags(self, database: str, schema: str, name: str, body: Any,
                   if_exists: bool = False) -> str:
        """POST .../tasks/{name}:unset-tags."""
        return self._change_tags(database, schema, name, body, if_exists, with_values=False)

    def _change_tags(self, database: str, schema: str, name: str, body: Any,
                     if_exists: bool, *, with_values: bool) -> str:
        """Set (``with_values``) or unset tags; the body is checked even when skipped."""
        with self.lock:
            try:
                db, sc, folded, _ = self._task(database, schema, name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    bodies.parse_tags_body(body, "DB", "S", with_values=with_values)
                    return "Statement executed successfully."
                raise
            tags = bodies.parse_tags_body(body, db, sc, with_values=with_values)
            with self.store.transaction() as tx:
                for tag_db, tag_sc, tag_name, value in tags:
                    if with_values:
                        tx.set_tag((db, sc, folded), (tag_db, tag_sc, tag_name), value or "")
                    else:
                        tx.unset_tag((db, sc, folded), (tag_db, tag_sc, tag_name))
        return "Statement executed successfully."

    def get_tags(self, database: str, schema: str, name: str) -> list[dict[str, Any]]:
        """GET .../tasks/{name}:get-tags."""
        db, sc, folded, _ = self._task(database, schema, name)
        assigned = self.store.tags.get((db, sc, folded), {})
        return [bodies.tag_to_api(*tag, value) for tag, value in sorted(assigned.items())]

    # --- SQL for seeding -----------------------------------------------------------------------
    def run_sql(self, database: str, schema: str, sql: str) -> None:
        """Run one statement in the embedded engine in ``database.schema`` (demo data setup)."""
        from tasknb.local.sql.engine import TaskContext

        db, sc = self._schema(database, schema)
        self._ensure_engine_schema(db, sc)
        self.engine().run(sql, TaskContext(database=db, schema=sc, task_name="SEED",
                                           root_task_name="SEED"))
