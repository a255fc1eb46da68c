"""What every part of the service shares: the data dir, clock, store, lock, SQL engine, and
the lookups that turn names from a request into stored objects.

    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> from tasknb.local.schedule.clock import ManualClock
    >>> state = ServiceState(tempfile.mkdtemp(), ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    >>> try: state.database("nowhere")
    ... except rules.ApiError as refusal: print(refusal.status, refusal.message)
    404 Database 'NOWHERE' does not exist or not authorized.
    >>> state.close()

The lookups fold names as Snowflake does and raise :class:`~tasknb.local.rules.ApiError`
(400 for an invalid identifier, 404 for a missing object). ``index(db, schema)`` caches the
children and finalizers of a schema's tasks until a task there changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import fold_identifier, qualified
from tasknb.local.schedule.clock import Clock, ManualClock
from tasknb.local.service.bodies import to_db
from tasknb.local.store import Store

ENGINE_FILE = "tasknb-engine.duckdb"
LOCK_FILE = ".tasknb-local.lock"
DEFAULT_COMPLETE_WINDOW = timedelta(minutes=60)  # COMPLETE_TASK_GRAPHS shows the past hour
WARMUP_JOIN_SECONDS = 60.0

log = logging.getLogger("tasknb.local")

Index = tuple[dict[str, list[str]], dict[str, str]]  # (children, finalizers) of a schema


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


class ServiceState:
    """See the module docstring. ``lock`` serialises the writes and rule checks."""

    def __init__(self, data_dir: str | Path, clock: Clock, *,
                 engine_factory: Callable[[], Any] | None = None,
                 complete_window: timedelta = DEFAULT_COMPLETE_WINDOW) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.manual = isinstance(clock, ManualClock)
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
        self._warmup: threading.Thread | None = None
        #: whether PUT may read files of this machine (False on a server others can reach)
        self.local_files = True
        #: SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS from SQL: set before the engine exists
        self.cancel_ongoing: Callable[[str, str, str], str] | None = None
        self.sql_catalog: Any = None  # what SHOW TASKS / SCHEMAS / DATABASES read (the store)
        self.index_cache: dict[tuple[str, str], tuple[int, dict[str, list[str]],
                                                       dict[str, str]]] = {}

    def set_local_files(self, allowed: bool) -> None:
        """Allow or refuse PUT's reading of local files (the engine's, now or once made)."""
        with self._engine_lock:
            self.local_files = allowed
            if self._engine is not None and hasattr(self._engine, "local_files"):
                self._engine.local_files = allowed

    def warm_engine(self) -> None:
        """Import and open the SQL engine in the background: the first run need not wait."""
        def warm() -> None:
            try:
                self.engine()
            except Exception:
                log.debug("engine warm-up failed", exc_info=True)

        self._warmup = threading.Thread(target=warm, name="tasknb-engine-warmup", daemon=True)
        self._warmup.start()

    def cancel_engine(self) -> Callable[[], Any] | None:
        """After the warm-up: the engine's ``cancel_all`` (None when no engine was opened)."""
        if self._warmup is not None:
            # never leave the warm-up inside DuckDB's C++ code at interpreter exit (it aborts)
            self._warmup.join(timeout=WARMUP_JOIN_SECONDS)
        return getattr(self._engine, "cancel_all", None) if self._engine is not None else None

    def close(self) -> None:
        """Close the engine and the store, then release the data dir."""
        self.cancel_engine()
        if self._engine is not None:
            try:
                self._engine.close()
            except Exception:
                log.debug("engine close failed", exc_info=True)
        self.store.close()
        self._dir_lock.close()  # releases the lock last

    def engine(self) -> Any:
        """The embedded SQL engine, created on first use."""
        with self._engine_lock:
            if self._engine is None:
                if self._engine_factory is not None:
                    self._engine = self._engine_factory()
                else:
                    from tasknb.local.sql.engine import SqlEngine

                    engine = SqlEngine(self.data_dir / ENGINE_FILE,
                                       databases=self._known_at_start,
                                       cancel_ongoing=self.cancel_ongoing)
                    engine.local_files = self.local_files
                    engine.show_source = self.sql_catalog
                    for database, schema in list(self.store.schemas):  # made before: all there
                        engine.ensure_schema(database, schema)
                    self._engine = engine
            return self._engine

    def drop_in_engine(self, database: str, schema: str | None = None) -> None:
        """Drop a database (or one schema) and its tables in the engine; call under the lock.

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

    def make_in_engine(self, database: str, schema: str) -> None:
        """Create a schema made over REST in the engine too (task SQL in any schema names it
        at once); a failure is logged, and the runs that need the schema report it."""
        try:
            self.ensure_engine_schema(database, schema)
        except Exception:
            log.warning("could not create %s in the SQL engine", qualified(database, schema),
                        exc_info=True)

    def ensure_engine_schema(self, database: str, schema: str) -> None:
        if (database, schema) not in self._engine_schemas:
            self.engine().ensure_schema(database, schema)
            self._engine_schemas.add((database, schema))

    def now(self) -> datetime:
        """The server's current time (real or manual clock)."""
        return self.clock.now()

    def index(self, db: str, sc: str) -> Index:
        """(children, finalizers) of a schema's tasks, cached until a task there changes."""
        version = self.store.versions.get((db, sc), 0)
        cached = self.index_cache.get((db, sc))
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        tasks = self.store.tasks_in(db, sc)
        children, finalizers = rules.children_index(tasks), rules.finalizer_index(tasks)
        self.index_cache[(db, sc)] = (version, children, finalizers)
        return children, finalizers

    def unlinked_write(self, db: str, sc: str) -> Any:
        """Context for writes that change no links: the cached index stays valid."""
        service = self

        class _Keep:
            def __enter__(self) -> None:
                self.version = service.store.versions.get((db, sc), 0)
                cached = service.index_cache.get((db, sc))
                self.valid = cached is not None and cached[0] == self.version

            def __exit__(self, *exc: object) -> None:
                cached = service.index_cache.get((db, sc))
                if self.valid and cached is not None and not exc[0]:
                    service.index_cache[(db, sc)] = (service.store.versions.get((db, sc), 0),
                                                      cached[1], cached[2])

        return _Keep()

    def database(self, name: str) -> str:
        folded = fold_identifier(name, "database")
        if folded not in self.store.databases:
            raise rules.not_found("Database", qualified(folded))
        return folded

    def schema(self, database: str, schema: str) -> tuple[str, str]:
        fold_identifier(database, "database")  # every identifier is checked before any lookup
        sc = fold_identifier(schema, "schema")
        db = self.database(database)
        if (db, sc) not in self.store.schemas:
            raise rules.not_found("Schema", qualified(db, sc))
        return db, sc

    def task(self, database: str, schema: str, name: str) -> tuple[str, str, str, dict[str, Any]]:
        folded = fold_identifier(name, "name")
        db, sc = self.schema(database, schema)
        rec = self.store.tasks_in(db, sc).get(folded)
        if rec is None:
            raise rules.not_found("Task", qualified(db, sc, folded))
        return db, sc, folded, rec

    def save_clock(self) -> None:
        """Remember a manual clock's time, so a restart on this data dir continues from it."""
        if self.manual:
            self.store.set_meta("manual_now", to_db(self.clock.now()))
