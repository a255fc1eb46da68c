"""Durable state of the local server in SQLite (WAL, synchronous=FULL).

    >>> store = Store(":memory:")
    >>> with store.transaction() as tx:
    ...     tx.put_database({"name": "DB", "created_on": "2024-01-01T00:00:00.000000+00:00"})
    >>> sorted(store.databases)
    ['DB']

Objects (databases, schemas, tasks, tags) are held in memory and written through: a transaction
commits to SQLite first and only then changes the in-memory view, so whatever a caller has been
told succeeded is on disk. Runs (graph runs, per-task runs) and result handles live only in
SQLite and are read with queries. One connection, guarded by a lock; safe across threads.

While a graph run executes, each task's outcome is one row of ``task_outcomes`` (constant
work per task, however big the graph); :meth:`Store.complete_graph_run` writes the run's whole
``task_states`` and drops those rows, and :meth:`Store.mark_interrupted` folds them into the
``task_states`` of a run a crash cut off.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tasknb.local import state_file
from tasknb.local.state_file import STATE_FILE  # noqa: F401 - the name callers know

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS databases(name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schemas(database TEXT, name TEXT, body TEXT NOT NULL,
    PRIMARY KEY(database, name));
CREATE TABLE IF NOT EXISTS tasks(database TEXT, schema TEXT, name TEXT, body TEXT NOT NULL,
    PRIMARY KEY(database, schema, name));
CREATE TABLE IF NOT EXISTS tags(database TEXT, schema TEXT, task TEXT, tag_database TEXT,
    tag_schema TEXT, tag_name TEXT, value TEXT NOT NULL,
    PRIMARY KEY(database, schema, task, tag_database, tag_schema, tag_name));
CREATE TABLE IF NOT EXISTS graph_runs(id INTEGER PRIMARY KEY AUTOINCREMENT, database TEXT,
    schema TEXT, root_name TEXT, root_id TEXT, run_id INTEGER, graph_version INTEGER,
    state TEXT, scheduled_time TEXT, query_start_time TEXT, completed_time TEXT,
    next_scheduled_time TEXT, first_error_task_name TEXT, first_error_code INTEGER,
    first_error_message TEXT, scheduled_from TEXT, attempt INTEGER, group_id TEXT,
    config TEXT, fingerprint TEXT, task_states TEXT);
CREATE INDEX IF NOT EXISTS graph_runs_root ON graph_runs(database, schema, root_name);
CREATE INDEX IF NOT EXISTS graph_runs_state ON graph_runs(state);
CREATE INDEX IF NOT EXISTS graph_runs_completed ON graph_runs(database, schema, root_name,
    completed_time);
CREATE TABLE IF NOT EXISTS task_runs(id INTEGER PRIMARY KEY AUTOINCREMENT,
    graph_run_id INTEGER, database TEXT, schema TEXT, name TEXT, root_name TEXT, state TEXT,
    scheduled_time TEXT, query_start_time TEXT, completed_time TEXT, error_code INTEGER,
    error_message TEXT, return_value TEXT, attempt INTEGER, run_id INTEGER,
    graph_version INTEGER, scheduled_from TEXT, group_id TEXT, query_text TEXT,
    condition_text TEXT);
CREATE INDEX IF NOT EXISTS task_runs_task ON task_runs(database, schema, name);
CREATE INDEX IF NOT EXISTS task_runs_graph ON task_runs(graph_run_id);
CREATE TABLE IF NOT EXISTS task_outcomes(graph_run_id INTEGER, name TEXT, state TEXT,
    return_value TEXT, PRIMARY KEY(graph_run_id, name)) WITHOUT ROWID;
DROP TABLE IF EXISTS results;
CREATE TABLE IF NOT EXISTS result_handles(handle TEXT PRIMARY KEY, state TEXT NOT NULL,
    status INTEGER, page_count INTEGER NOT NULL, size INTEGER NOT NULL, stored REAL NOT NULL);
CREATE INDEX IF NOT EXISTS result_handles_stored ON result_handles(stored);
CREATE TABLE IF NOT EXISTS result_pages(handle TEXT, page INTEGER, body TEXT NOT NULL,
    PRIMARY KEY(handle, page)) WITHOUT ROWID;
"""

#: Stored results (list pages, asynchronous answers) are kept at most this long (real time),
#: this many, and this many bytes in all; the newest result is always kept whole.
RESULT_RETENTION_SECONDS = 3600.0
MAX_STORED_RESULTS = 200
MAX_STORED_RESULT_BYTES = 24 * 1024 * 1024
#: The write-ahead log is cut back to this size after a checkpoint (else it keeps its peak).
WAL_SIZE_LIMIT = 8 * 1024 * 1024

GRAPH_RUN_COLUMNS = (
    "database", "schema", "root_name", "root_id", "run_id", "graph_version", "state",
    "scheduled_time", "query_start_time", "completed_time", "next_scheduled_time",
    "first_error_task_name", "first_error_code", "first_error_message", "scheduled_from",
    "attempt", "group_id", "config", "fingerprint", "task_states",
)
#: What a graph run's REST ``TaskRun`` body is made of (no per-task states, no fingerprint).
RUN_SUMMARY_COLUMNS = (
    "id", "database", "schema", "root_name", "root_id", "run_id", "graph_version", "state",
    "scheduled_time", "query_start_time", "completed_time", "next_scheduled_time",
    "first_error_task_name", "first_error_code", "first_error_message", "scheduled_from",
    "attempt", "group_id",
)
TASK_RUN_COLUMNS = (
    "graph_run_id", "database", "schema", "name", "root_name", "state", "scheduled_time",
    "query_start_time", "completed_time", "error_code", "error_message", "return_value",
    "attempt", "run_id", "graph_version", "scheduled_from", "group_id", "query_text",
    "condition_text",
)


class Transaction:
    """Buffered object writes; applied to SQLite in one commit, then to memory."""

    def __init__(self) -> None:
        self.sql: list[tuple[str, tuple[Any, ...]]] = []
        self.memory: list[tuple[str, Any]] = []

    def put_database(self, rec: dict[str, Any]) -> None:
        self.sql.append(("INSERT OR REPLACE INTO databases VALUES (?, ?)",
                         (rec["name"], json.dumps(rec))))
        self.memory.append(("put_database", rec))

    def delete_database(self, name: str) -> None:
        for table in ("databases",):
            self.sql.append((f"DELETE FROM {table} WHERE name = ?", (name,)))
        for table in ("schemas", "tasks", "tags"):
            self.sql.append((f"DELETE FROM {table} WHERE database = ?", (name,)))
        self.memory.append(("delete_database", name))

    def put_schema(self, rec: dict[str, Any]) -> None:
        self.sql.append(("INSERT OR REPLACE INTO schemas VALUES (?, ?, ?)",
                         (rec["database"], rec["name"], json.dumps(rec))))
        self.memory.append(("put_schema", rec))

    def delete_schema(self, database: str, name: str) -> None:
        self.sql.append(("DELETE FROM schemas WHERE database = ? AND name = ?", (database, name)))
        for table in ("tasks", "tags"):
            self.sql.append((f"DELETE FROM {table} WHERE database = ? AND schema = ?",
                             (database, name)))
        self.memory.append(("delete_schema", (database, name)))

    def put_task(self, rec: dict[str, Any]) -> None:
        self.sql.append(("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?)",
                         (rec["database_name"], rec["schema_name"], rec["name"],
                          json.dumps(rec))))
        self.memory.append(("put_task", rec))

    def delete_task(self, database: str, schema: str, name: str) -> None:
        self.sql.append(("DELETE FROM tasks WHERE database = ? AND schema = ? AND name = ?",
                         (database, schema, name)))
        self.sql.append(("DELETE FROM tags WHERE database = ? AND schema = ? AND task = ?",
                         (database, schema, name)))
        self.memory.append(("delete_task", (database, schema, name)))

    def set_tag(self, key: tuple[str, str, str], tag: tuple[str, str, str], value: str) -> None:
        self.sql.append(("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (*key, *tag, value)))
        self.memory.append(("set_tag", (key, tag, value)))

    def unset_tag(self, key: tuple[str, str, str], tag: tuple[str, str, str]) -> None:
        statement = ("DELETE FROM tags WHERE database = ? AND schema = ? AND task = ? AND "
                     "tag_database = ? AND tag_schema = ? AND tag_name = ?")
        self.sql.append((statement, (*key, *tag)))
        self.memory.append(("unset_tag", (key, tag)))

    def set_meta(self, key: str, value: str) -> None:
        self.sql.append(("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value)))


class Store:
    """SQLite-backed state; see the module docstring.

        >>> Store(":memory:").tasks_in("DB", "S")
        {}
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.databases: dict[str, dict[str, Any]] = {}
        self.schemas: dict[tuple[str, str], dict[str, Any]] = {}
        self.tasks: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.tags: dict[tuple[str, str, str], dict[tuple[str, str, str], str]] = {}
        # bumped on every task change in a schema (cache key for derived graph indexes)
        self.versions: dict[tuple[str, str], int] = {}
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._conn.executescript(_SCHEMA)
            self._load()
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def in_dir(cls, data_dir: str | Path) -> Store:
        """Open (or create) the store file inside a data directory (see state_file.py).

        Raises :class:`~tasknb.local.errors.StartupError` (one line naming the file and what to
        do) for a state file that is damaged, or missing or empty beside database files.
        """
        path = state_file.prepare(data_dir)
        try:
            return cls(path)
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as exc:
            raise state_file.unreadable(path, exc) from exc

    def _load(self) -> None:
        for row in self._conn.execute("SELECT body FROM databases"):
            rec = json.loads(row["body"])
            self.databases[rec["name"]] = rec
        for row in self._conn.execute("SELECT body FROM schemas"):
            rec = json.loads(row["body"])
            self.schemas[(rec["database"], rec["name"])] = rec
        for row in self._conn.execute("SELECT body FROM tasks"):
            rec = json.loads(row["body"])
            self.tasks.setdefault((rec["database_name"], rec["schema_name"]), {})[rec["name"]] = rec
        for row in self._conn.execute("SELECT * FROM tags"):
            key = (row["database"], row["schema"], row["task"])
            tag = (row["tag_database"], row["tag_schema"], row["tag_name"])
            self.tags.setdefault(key, {})[tag] = row["value"]

    def close(self) -> None:
        """Close the connection (further calls fail)."""
        with self._lock:
            self._conn.close()

    # --- objects -------------------------------------------------------------------------------
    def tasks_in(self, database: str, schema: str) -> dict[str, dict[str, Any]]:
        """The live dict of tasks in a schema (treat as read-only; write via transactions)."""
        return self.tasks.get((database, schema), {})

    def meta(self, key: str) -> str | None:
        """A stored setting (e.g. the manual clock's time)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Collect writes; commit them atomically on exit (nothing is applied on error)."""
        tx = Transaction()
        yield tx
        if not tx.sql:
            return
        with self._lock:
            with self._immediate():
                for statement, params in tx.sql:
                    self._conn.execute(statement, params)
            for op, arg in tx.memory:
                self._apply(op, arg)

    def _apply(self, op: str, arg: Any) -> None:
        self._apply_change(op, arg)
        # bump after the change: an index computed under an older number is never reused
        if op in ("put_task", "delete_task"):
            key = (arg["database_name"], arg["schema_name"]) if op == "put_task" else arg[:2]
            self.versions[key] = self.versions.get(key, 0) + 1
        elif op in ("delete_schema", "delete_database"):
            for key in list(self.versions):
                if key == arg or key[0] == arg:
                    self.versions[key] += 1

    def _apply_change(self, op: str, arg: Any) -> None:
        if op == "put_database":
            self.databases[arg["name"]] = arg
        elif op == "delete_database":
            self.databases.pop(arg, None)
            for key in [k for k in self.schemas if k[0] == arg]:
                del self.schemas[key]
            for key in [k for k in self.tasks if k[0] == arg]:
                del self.tasks[key]
            for key in [k for k in self.tags if k[0] == arg]:
                del self.tags[key]
        elif op == "put_schema":
            self.schemas[(arg["database"], arg["name"])] = arg
        elif op == "delete_schema":
            self.schemas.pop(arg, None)
            self.tasks.pop(arg, None)
            for key in [k for k in self.tags if k[:2] == arg]:
                del self.tags[key]
        elif op == "put_task":
            self.tasks.setdefault((arg["database_name"], arg["schema_name"]), {})[arg["name"]] = arg
        elif op == "delete_task":
            self.tasks.get(arg[:2], {}).pop(arg[2], None)
            self.tags.pop(arg, None)
        elif op == "set_tag":
            key, tag, value = arg
            self.tags.setdefault(key, {})[tag] = value
        elif op == "unset_tag":
            key, tag = arg
            self.tags.get(key, {}).pop(tag, None)

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (the caller holds the lock): BEGIN IMMEDIATE, then COMMIT,
        or ROLLBACK when anything in it (the COMMIT too) fails."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _set_columns(self, table: str, row_pk: int, fields: dict[str, Any]) -> None:
        """UPDATE ``fields`` of one row of ``table`` (the caller holds the lock)."""
        if fields:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            self._conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?",
                               (*(_db_value(v) for v in fields.values()), row_pk))

    # --- runs ----------------------------------------------------------------------------------
    @contextmanager
    def _run_write(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """Run records commit with synchronous=NORMAL: in WAL mode that survives a killed
        process (the data is in the WAL file); only an OS crash or power loss can drop the
        last few run records. Object writes (what an API call acknowledges) stay FULL, and so
        does a task's outcome (``durable``): a retry must never repeat a task that succeeded."""
        with self._lock:
            if not durable:
                self._conn.execute("PRAGMA synchronous=NORMAL")
            try:
                yield self._conn
            finally:
                if not durable:
                    self._conn.execute("PRAGMA synchronous=FULL")

    def insert_graph_runs(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert graph runs in one commit; return their ids."""
        ids = []
        cols = ", ".join(GRAPH_RUN_COLUMNS)
        marks = ", ".join("?" for _ in GRAPH_RUN_COLUMNS)
        with self._run_write(), self._immediate():
            for row in rows:
                cur = self._conn.execute(
                    f"INSERT INTO graph_runs ({cols}) VALUES ({marks})",
                    tuple(_db_value(row.get(c)) for c in GRAPH_RUN_COLUMNS))
                ids.append(int(cur.lastrowid or 0))
        return ids

    def update_graph_run(self, run_pk: int, **fields: Any) -> None:
        """Change columns of one graph run (one commit)."""
        self._update("graph_runs", run_pk, fields)

    def complete_graph_run(self, run_pk: int, **fields: Any) -> None:
        """A graph run has ended: set its columns (``fields``, with its whole
        ``task_states``) and drop the outcomes its tasks recorded as they ended (one commit)."""
        with self._run_write(), self._immediate():
            self._set_columns("graph_runs", run_pk, fields)
            self._conn.execute("DELETE FROM task_outcomes WHERE graph_run_id = ?", (run_pk,))

    def insert_task_runs(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert per-task runs in one commit; return their ids."""
        with self._run_write(), self._immediate():
            ids = self._insert_task_runs(rows)
        return ids

    def _insert_task_runs(self, rows: list[dict[str, Any]]) -> list[int]:
        cols = ", ".join(TASK_RUN_COLUMNS)
        marks = ", ".join("?" for _ in TASK_RUN_COLUMNS)
        return [int(self._conn.execute(f"INSERT INTO task_runs ({cols}) VALUES ({marks})",
                                       tuple(_db_value(row.get(c)) for c in TASK_RUN_COLUMNS)
                                       ).lastrowid or 0) for row in rows]

    def start_task_run(self, task_pk: int | None, started: str,
                       graph_run_pk: int | None = None) -> None:
        """A task's SQL starts: EXECUTING from ``started``; with ``graph_run_pk`` (its run's
        first task) the graph run's query start too (one commit)."""
        start = ("UPDATE task_runs SET state = 'EXECUTING', query_start_time = ? WHERE id = ?",
                 (started, task_pk))
        with self._run_write():
            if graph_run_pk is None:  # one statement: a commit of its own
                self._conn.execute(*start)
                return
            with self._immediate():
                self._conn.execute(*start)
                self._conn.execute("UPDATE graph_runs SET query_start_time = ? "
                                   "WHERE id = ? AND query_start_time IS NULL",
                                   (started, graph_run_pk))

    def update_task_run(self, run_pk: int, **fields: Any) -> None:
        """Change columns of one per-task run (one commit)."""
        self._update("task_runs", run_pk, fields)

    def finish_task_run(self, task_pk: int, graph_run_pk: int, outcomes: dict[str, list[Any]],
                        scheduled: list[dict[str, Any]], **fields: Any) -> list[int]:
        """Record a task run's end, its graph run's ``outcomes`` (task name -> [state, return
        value]; rows of ``task_outcomes``, see the module docstring) and insert the task runs
        it releases (``scheduled``; their ids are returned), in one commit with
        synchronous=FULL: what a retry after a crash skips is on disk before anything runs
        after it."""
        with self._run_write(durable=True), self._immediate():
            self._set_columns("task_runs", task_pk, fields)
            if outcomes:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO task_outcomes VALUES (?, ?, ?, ?)",
                    [(graph_run_pk, name, state, value)
                     for name, (state, value) in outcomes.items()])
            ids = self._insert_task_runs(scheduled)
        return ids

    def _merge_task_states(self, graph_run_pk: int, outcomes: dict[str, list[Any]]) -> None:
        """Merge per-task outcomes into a graph run's task_states (caller holds the lock and
        a transaction); concurrent tasks of one run each add their own keys."""
        if outcomes:
            self._conn.execute(
                "UPDATE graph_runs SET task_states = json_patch(COALESCE(task_states, '{}'), ?) "
                "WHERE id = ?", (json.dumps(outcomes), graph_run_pk))

    def _update(self, table: str, run_pk: int, fields: dict[str, Any]) -> None:
        if fields:
            with self._run_write():
                self._set_columns(table, run_pk, fields)

    def graph_runs(self, where: str = "1", params: tuple[Any, ...] = (),
                   order: str = "id DESC", limit: int | None = None,
                   columns: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """Query graph runs (``where`` is trusted SQL written by this package); ``columns``
        reads only those (e.g. :data:`RUN_SUMMARY_COLUMNS`: no per-task states to decode)."""
        picked = ", ".join(columns) if columns else "*"
        sql = f"SELECT {picked} FROM graph_runs WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            return [_row(r) for r in self._conn.execute(sql, params)]

    def task_runs(self, where: str = "1", params: tuple[Any, ...] = (),
                  order: str = "id DESC", limit: int | None = None) -> list[dict[str, Any]]:
        """Query per-task runs (``where`` is trusted SQL written by this package)."""
        sql = f"SELECT * FROM task_runs WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            return [_row(r) for r in self._conn.execute(sql, params)]

    def latest_scheduled_time(self) -> str | None:
        """The latest scheduled_time of any recorded graph run (None when there is none)."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(scheduled_time) AS m FROM graph_runs").fetchone()
        return row["m"] if row else None

    def last_run_ids(self) -> dict[tuple[str, str, str], int]:
        """The highest run_id recorded per root (database, schema, root name)."""
        with self._lock:
            rows = self._conn.execute("SELECT database, schema, root_name, MAX(run_id) AS m "
                                      "FROM graph_runs GROUP BY database, schema, root_name")
            return {(r["database"], r["schema"], r["root_name"]): int(r["m"]) for r in rows}

    def mark_interrupted(self, when: str, message: str) -> int:
        """After a crash: close every run left EXECUTING or SCHEDULED; return how many."""
        with self._lock, self._immediate():
            # each interrupted run's task_states gets what its task rows say (a task cut
            # off is CANCELLED), so a retry re-runs exactly the tasks that did not succeed
            # (also for runs recorded before outcomes were written as tasks ended)
            cut: dict[int, dict[str, list[Any]]] = {}
            for row in self._conn.execute(  # what tasks recorded as they ended
                    "SELECT o.graph_run_id, o.name, o.state, o.return_value "
                    "FROM task_outcomes o JOIN graph_runs g ON g.id = o.graph_run_id "
                    "WHERE g.state IN ('EXECUTING', 'SCHEDULED')"):
                cut.setdefault(row["graph_run_id"], {})[row["name"]] = [
                    row["state"], row["return_value"]]
            for row in self._conn.execute(
                    "SELECT t.graph_run_id, t.name, t.state, t.return_value "
                    "FROM task_runs t JOIN graph_runs g ON g.id = t.graph_run_id "
                    "WHERE g.state IN ('EXECUTING', 'SCHEDULED')"):
                state = row["state"]
                if state in ("EXECUTING", "SCHEDULED"):
                    state = "CANCELLED"
                elif state == "FAILED_AND_AUTO_SUSPENDED":
                    state = "FAILED"
                cut.setdefault(row["graph_run_id"], {})[row["name"]] = [
                    state, row["return_value"]]
            for graph_run_pk, outcomes in cut.items():
                self._merge_task_states(graph_run_pk, outcomes)
            cur = self._conn.execute(
                "UPDATE graph_runs SET state = 'CANCELLED', completed_time = ?, "
                "first_error_task_name = COALESCE(first_error_task_name, root_name), "
                "first_error_message = COALESCE(first_error_message, ?) "
                "WHERE state IN ('EXECUTING', 'SCHEDULED')", (when, message))
            count = cur.rowcount
            self._conn.execute("DELETE FROM task_outcomes")  # every run is closed now
            self._conn.execute(
                "UPDATE task_runs SET state = 'CANCELLED', completed_time = ?, "
                "error_message = ? WHERE state IN ('EXECUTING', 'SCHEDULED')",
                (when, message))
        return count

    # --- result handles ------------------------------------------------------------------------
    def put_result(self, handle: str, state: str, status: int | None,
                   pages: list[str], *, now: float | None = None) -> None:
        """Store a result handle and its pages, each already JSON text (synchronous=NORMAL, as
        run records: it survives a killed process, and the API writes it while answering).

        Then forget results past :data:`RESULT_RETENTION_SECONDS` of real time, beyond
        :data:`MAX_STORED_RESULTS` or :data:`MAX_STORED_RESULT_BYTES` (oldest first; never the
        one just stored), so that the file stays small whatever the clients do.
        """
        stored = time.time() if now is None else now
        size = sum(len(page) for page in pages)
        with self._run_write(), self._immediate():
            self._conn.execute("DELETE FROM result_pages WHERE handle = ?", (handle,))
            self._conn.execute("INSERT OR REPLACE INTO result_handles VALUES (?, ?, ?, ?, ?, ?)",
                               (handle, state, status, len(pages), size, stored))
            self._conn.executemany("INSERT INTO result_pages VALUES (?, ?, ?)",
                                   [(handle, i, page) for i, page in enumerate(pages)])
            self._purge_results(handle, stored)

    def _purge_results(self, keep: str, now: float) -> None:
        """Drop expired and excess results (caller holds the lock and a transaction)."""
        rows = self._conn.execute("SELECT handle, size, stored FROM result_handles "
                                  "ORDER BY stored DESC, rowid DESC").fetchall()
        total, drop = 0, []
        for index, row in enumerate(rows):
            total += row["size"]
            if row["handle"] == keep:
                continue
            if (index >= MAX_STORED_RESULTS or total > MAX_STORED_RESULT_BYTES
                    or now - row["stored"] > RESULT_RETENTION_SECONDS):
                drop.append((row["handle"],))
        if drop:
            self._conn.executemany("DELETE FROM result_pages WHERE handle = ?", drop)
            self._conn.executemany("DELETE FROM result_handles WHERE handle = ?", drop)

    def result(self, handle: str, page: int | None = 0, *,
               now: float | None = None) -> dict[str, Any] | None:
        """A result handle (``state``, ``status``, ``page_count``) and the JSON text of one of
        its pages (``body``; None when there is no such page), or None when it is unknown or
        older than :data:`RESULT_RETENTION_SECONDS`. Only that page is read."""
        oldest = (time.time() if now is None else now) - RESULT_RETENTION_SECONDS
        with self._lock:
            row = self._conn.execute("SELECT state, status, page_count FROM result_handles "
                                     "WHERE handle = ? AND stored >= ?",
                                     (handle, oldest)).fetchone()
            if row is None:
                return None
            body = self._conn.execute("SELECT body FROM result_pages WHERE handle = ? AND "
                                      "page = ?", (handle, page)).fetchone()
        return {**dict(row), "body": body["body"] if body else None}

    def result_stats(self) -> dict[str, int]:
        """How many results are stored and their size in bytes (benchmarks, tests)."""
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS size "
                                     "FROM result_handles").fetchone()
        return {"results": int(row["n"]), "bytes": int(row["size"])}

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting (one commit)."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _db_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("config", "task_states"):
        if out.get(key):
            out[key] = json.loads(out[key])
    return out
