"""Run task definitions (Snowflake SQL) on an embedded DuckDB, with Snowflake's error codes.

    >>> engine = SqlEngine(); engine.ensure_schema("DEMO", "PUBLIC")
    >>> ctx = TaskContext("DEMO", "PUBLIC", "T1", "T1"); engine.run("SELECT SYSTEM$SET_RETURN_VALUE('ok')", ctx); ctx.return_value
    'ok'

How Snowflake maps onto DuckDB: every Snowflake database is one attached DuckDB catalog (one
file per database under ``<path>.databases/``, or in memory), every Snowflake schema a schema
in it; each run gets its own cursor placed in the task's database and schema, so
``DB.SCHEMA.TABLE``, ``SCHEMA.TABLE`` and bare names all resolve as in Snowflake, and parallel
branches run concurrently. Statements are transpiled by sqlglot (``read="snowflake"``) and run
one by one, each committed on its own, as Snowflake runs a task's statements.

The jobs live in modules beside this one: :mod:`.statements` (splitting, refusals),
:mod:`.translate` (sqlglot, cache), :mod:`.system_functions` (SYSTEM$ rewriting),
:mod:`.conditions` (WHEN), :mod:`.error_table` (DuckDB -> Snowflake errors),
:mod:`.limits` (value sizes, memory, timeouts), :mod:`.watchdog`, :mod:`.interrupts`,
:mod:`.cursors` (the pool), :mod:`.catalogs` (database files) and
:mod:`.engine_functions` (what DuckDB calls back while a statement runs).

Safety: DuckDB's file and network access is switched off (only the engine's own directory is
reachable, and only through this module, which DuckDB does not let widen again), extensions
are not installed or loaded automatically, and statements that would reach outside (ATTACH, COPY, INSTALL, PRAGMA, SET, ...) are
refused before they reach the engine. One task cannot take the server down: DuckDB's memory is
capped, functions that build values of a chosen size are checked first, every statement has a
timeout (``STATEMENT_TIMEOUT_IN_SECONDS``, default :data:`DEFAULT_STATEMENT_TIMEOUT_SECONDS`),
a full disk fails the statement (and the database is reopened once it has space again), and a
damaged database file fails only the runs in that database, with a message naming the file.

Snowflake Scripting (blocks, ``CALL``, ``EXECUTE IMMEDIATE``, SQL stored procedures) is run
by :mod:`.scripting`, which runs each statement inside through this engine on the run's
cursor. Internal stages, PUT, LIST, COPY INTO and queries of staged files are run by
:mod:`.stages` and :mod:`.copy_into` on the run's cursor too. What the engine cannot run
(procedures in other languages, external stages, ...) raises
:class:`UnsupportedSqlError` with a message saying so; the same definition runs on a real
Snowflake account.

Known differences from Snowflake: identifiers are matched case-insensitively by DuckDB (two
tables named ``"orders"`` and ``ORDERS`` collide); VARIANT, OBJECT and ARRAY columns are
DuckDB JSON; session parameters other than STATEMENT_TIMEOUT_IN_SECONDS and TIMEZONE are not
applied (:mod:`.timezones`: a run's zone, UTC by default); a task timeout is reported with the statement-timeout code 000630
(Snowflake's exact code for USER_TASK_TIMEOUT_MS is not documented).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Hashable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from tasknb.local.sql import catalogs, interrupts, show, stages, streams, timezones
from tasknb.local.sql.conditions import condition_query
from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.cursors import CursorPool
from tasknb.local.sql.engine_functions import WAIT_POLL_SECONDS, CancelHook, EngineFunctions
from tasknb.local.sql.error_table import first_line, map_duckdb_error
from tasknb.local.sql.errors import (
    CODE_DOES_NOT_EXIST,
    CODE_INTERNAL,
    CODE_SYNTAX,
    SQLSTATE_DISK_FULL,
    TaskSqlError,
    UnsupportedSqlError,
    missing_database,
)
from tasknb.local.sql.interrupts import RunningCalls, RunState
from tasknb.local.sql.limits import (
    DEFAULT_STATEMENT_TIMEOUT_SECONDS,
    memory_limit_bytes,
    statement_timeout_seconds,
)
from tasknb.local.sql.names import quote_identifier, sql_string
from tasknb.local.sql.scripting import Catalog, Result, Session, forget_schema, run_script
from tasknb.local.sql.statements import Statement, split_statements
from tasknb.local.sql.system_functions import (
    MAX_RETURN_VALUE_BYTES,
    Rewriter,
)
from tasknb.local.sql.translate import compile_definition, parse_statement, to_duckdb
from tasknb.local.sql.watchdog import Watchdog

__all__ = [
    "DEFAULT_STATEMENT_TIMEOUT_SECONDS",
    "MAX_RETURN_VALUE_BYTES",
    "CancelHook",
    "SqlEngine",
    "TaskContext",
    "TaskSqlError",
    "UnsupportedSqlError",
]

log = logging.getLogger("tasknb.local.sql")

# a database dropped while a statement ran in it is re-created once that statement has let go
REATTACH_WAIT_SECONDS = 10.0

_TEMPORARY = re.compile(r"\b(TEMP|TEMPORARY|VOLATILE|LOCAL)\b", re.IGNORECASE)
_TRANSACTION_WORDS = re.compile(r"\s*(BEGIN|START|COMMIT|ROLLBACK)\b", re.IGNORECASE)
_HANDLE_CONFLICT = "Unique file handle conflict"
_INVALIDATED = "invalidated"  # DuckDB gave up on a database after a failed write


class _StillInUse(TaskSqlError):
    """ATTACH refused: a detached catalog with the same file is still used by a statement."""

    def __init__(self) -> None:
        super().__init__(CODE_INTERNAL, "The database's previous file is still in use.")


class DatabaseFileError(TaskSqlError):
    """A database's file cannot be opened (damaged, unreadable): only that database fails."""


class SqlEngine:
    """The embedded SQL engine of the local server (thread-safe: a cursor per call).

        >>> SqlEngine().condition_holds("1 = 1", TaskContext("D", "S", "T", "T"))
        True

    ``path`` is the main DuckDB file in the data directory (per-database files live next to it
    in ``<path>.databases/``); None keeps everything in memory. ``databases``, when given, are
    the databases that exist (the service's store): files of any other database are moved to
    ``<data dir>/orphaned/`` at start-up (with a log line) instead of attached, so a dropped
    database never comes back and no data is deleted on a guess.

    ``cancel_ongoing`` (also settable later as the attribute of that name) is called by
    SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('<task>') with the task's database, schema and
    folded name, and returns Snowflake's answer text. ``statement_timeout_seconds`` is the
    default STATEMENT_TIMEOUT_IN_SECONDS; ``memory_limit`` DuckDB's memory cap in bytes.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 databases: Iterable[str] | None = None,
                 cancel_ongoing: CancelHook | None = None,
                 statement_timeout_seconds: float = DEFAULT_STATEMENT_TIMEOUT_SECONDS,
                 memory_limit: int | None = None) -> None:
        self.cancel_ongoing = cancel_ongoing
        self.statement_timeout_seconds = float(statement_timeout_seconds)
        self._lock = threading.RLock()
        self._calls = RunningCalls()
        self._functions = EngineFunctions(self._calls, lambda: self.cancel_ongoing)
        self._databases: dict[str, str] = {}  # Snowflake database name -> attach target
        # dropped since: a run still going there fails (002003) instead of re-creating them;
        # ensure_schema (the service creating them again) lifts this
        self._dropped_databases: set[str] = set()
        self._dropped_schemas: set[tuple[str, str]] = set()
        self._closed = False
        self._cursors = CursorPool(self._place_cursor)
        self._streams = streams.Streams()
        self._stages: stages.Stages | None = None  # made once the directory is known
        #: what SHOW TASKS / DATABASES / SCHEMAS read of the server's store (None: the engine's)
        self.show_source: show.Source | None = None
        self._shown: dict[str, bool] = {}  # run -> whether its last statement was a SHOW
        #: run() calls finished (triggered tasks look at their streams again only after one)
        self.finished_runs = 0
        self._watchdog = Watchdog(self._deadline_passed)
        # run() call ids: unique in this engine without a random draw (a system call) per run
        self._call_prefix = uuid.uuid4().hex[:16]
        self._call_serial = itertools.count()
        config = {"ieee_floating_point_ops": False,
                  "memory_limit": f"{(memory_limit or memory_limit_bytes()) // 2**20}MiB"}
        if path is None:
            self._dir: Path | None = None
            self._con = duckdb.connect(":memory:", config=config)
        else:
            main = Path(path).resolve()
            main.parent.mkdir(parents=True, exist_ok=True)
            self._dir = main.with_name(main.name + ".databases")
            self._dir.mkdir(mode=0o700, exist_ok=True)
            self._dir.chmod(0o700)
            self._orphaned = main.parent / catalogs.ORPHANED_DIR
            self._con = duckdb.connect(str(main), config=config)
            catalogs.make_private(main)
        self._configure()
        self._stages = stages.Stages(None if self._dir is None else self._dir / "stages",
                                     data_dir=None if path is None else main.parent)
        if self._dir is not None:
            known = None if databases is None else set(databases)
            for name in catalogs.scan(self._dir, known, self._orphaned):
                try:
                    self._attach(name)
                except DatabaseFileError as error:  # only this database fails, at each use
                    log.warning("%s", error.message)
        self._streams.load(self._con)

    def _configure(self) -> None:
        con = self._con
        if self._dir is not None:
            allowed = str(self._dir) + os.sep
            con.execute(f"SET allowed_directories = [{sql_string(allowed)}]")
            con.execute(f"SET temp_directory = {sql_string(str(self._dir / '.tmp'))}")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET enable_external_access = false")
        # every cursor's session starts in UTC whatever the machine's zone; a run's TIMEZONE
        # is its cursor's SET SESSION (timezones). The configuration is not locked, since that
        # would refuse the session's time zone too: user SQL never reaches DuckDB as SET
        # (statements.py refuses it), and DuckDB itself refuses to widen file access again
        # (enable_external_access, allowed_directories) while the database runs.
        con.execute(f"SET GLOBAL TimeZone = {sql_string(timezones.DEFAULT_TIME_ZONE)}")
        self._functions.register(con)

    # -------------------------------------------------------------------------- containers

    def _attach(self, database: str) -> None:
        if database in self._databases:
            return
        if self._dir is None:
            target = ":memory:"
        else:
            path = self._dir / catalogs.database_file(database)
            target = str(path)
            if not path.exists():
                catalogs.write_name(path, database)
        try:
            self._con.execute(f"ATTACH {sql_string(target)} AS {quote_identifier(database)}")
        except duckdb.Error as error:
            text = first_line(str(error))
            if _HANDLE_CONFLICT in text:
                raise _StillInUse() from error
            if "already exists" in text:
                raise TaskSqlError(
                    CODE_INTERNAL,
                    f"The local SQL engine could not open database {database!r}: {text}. "
                    "Database names that differ only in case are not supported locally.",
                ) from error
            raise DatabaseFileError(
                CODE_INTERNAL,
                f"The local SQL engine cannot open database {database!r}: its file {target} "
                f"could not be read ({text}). Other databases are not affected. Restore the "
                "file from a backup, or drop the database and create it again.",
            ) from error
        if self._dir is not None:
            catalogs.make_private(path)
        self._databases[database] = target

    def ensure_schema(self, database: str, schema: str) -> None:
        """Create the database's catalog and the schema if missing (idempotent).

        A database whose file cannot be opened (damaged) or written (disk full) is not an
        error here: it is logged, and the runs in that database fail with the reason.
        """
        with self._lock:
            self._dropped_databases.discard(database)
            self._dropped_schemas.discard((database, schema))
        give_up = time.monotonic() + REATTACH_WAIT_SECONDS
        while True:
            try:
                self._create_schema(database, schema)
                return
            except _StillInUse as error:
                # the dropped database's last statement has not let go of its file yet
                if time.monotonic() >= give_up:
                    raise TaskSqlError(
                        CODE_INTERNAL,
                        f"The local SQL engine could not create database {database!r} again: "
                        "a statement started before it was dropped is still running. Retry in "
                        "a moment.",
                    ) from error
            except (DatabaseFileError, duckdb.Error) as error:
                log.warning("could not create %s.%s in the SQL engine (its runs will fail): %s",
                            database, schema, getattr(error, "message", None) or error)
                return
            time.sleep(WAIT_POLL_SECONDS)

    def _create_schema(self, database: str, schema: str) -> None:
        with self._lock:
            self._check_open()
            self._attach(database)
            self._con.execute(
                f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(database)}."
                f"{quote_identifier(schema)}"
            )

    def drop_database(self, database: str) -> None:
        """Detach the database's catalog and delete its file (no error if absent)."""
        with self._lock:
            self._check_open()
            self._dropped_databases.add(database)
            self._streams.forget(database)
            self.stages.forget(database)
            self._dropped_schemas = {key for key in self._dropped_schemas if key[0] != database}
            target = self._databases.pop(database, None)
            if target is None and self._dir is not None:
                stale = self._dir / catalogs.database_file(database)
                if stale.exists():  # never attached (damaged): dropping it removes it
                    catalogs.remove_database_file(stale)
                return
            if target is None:
                return
            self._cursors.expire()
        self._calls.stop_where(lambda state: state.database == database, interrupts.DROPPED)
        with self._lock:
            self._con.execute(f"DETACH DATABASE IF EXISTS {quote_identifier(database)}")
            if target != ":memory:":
                catalogs.remove_database_file(Path(target))

    def drop_schema(self, database: str, schema: str) -> None:
        """Drop a schema and everything in it (no error if absent)."""
        with self._lock:
            self._check_open()
            if database not in self._databases:
                return
            self._dropped_schemas.add((database, schema))
            self._streams.forget(database, schema)
            self._cursors.expire()
            self._con.execute(
                f"DROP SCHEMA IF EXISTS {quote_identifier(database)}.{quote_identifier(schema)} "
                "CASCADE"
            )
            forget_schema(self._con, database, schema)  # its stored procedures go with it
            self.stages.forget_schema_rows(self._con, database, schema)  # and its stages

    def _reopen(self, database: str) -> None:
        """Detach and attach again a database DuckDB invalidated after a failed write (disk
        full): its write-ahead log is replayed, so committed statements are kept."""
        with self._lock:
            if database not in self._databases or self._closed:
                return
            self._cursors.expire()
            try:
                self._con.execute(f"DETACH DATABASE IF EXISTS {quote_identifier(database)}")
            except duckdb.Error as error:
                # "Detached database ..., but CHECKPOINT during DETACH failed": detached
                if not str(error).startswith(f"IO Error: Detached database '{database}'"):
                    log.warning("could not detach database %s after a failed write: %s",
                                database, first_line(str(error)))
                    return
            self._databases.pop(database, None)
            try:
                self._attach(database)
            except TaskSqlError as error:
                log.warning("database %s could not be reopened yet: %s", database, error.message)
            else:
                log.warning("database %s was reopened after a failed write", database)

    def query(self, sql: str, database: str, schema: str) -> list[tuple[Any, ...]]:
        """Run one read-only Snowflake SELECT and return its rows (for tests and the seed).

        >>> e = SqlEngine(); e.ensure_schema("D", "S"); e.query("SELECT 1 + 1", "D", "S")
        [(2,)]
        """
        statements = split_statements(sql)
        if len(statements) != 1:
            raise TaskSqlError(CODE_SYNTAX, "query() takes exactly one statement.")
        tree = parse_statement(statements[0])
        if not isinstance(tree, (exp.Select, exp.SetOperation)):
            raise UnsupportedSqlError("query() only runs SELECT statements.")
        ctx = TaskContext(database, schema, "", "")
        cursor = self._place_cursor(database, schema)
        try:
            return cursor.execute(to_duckdb(tree)).fetchall()
        except duckdb.Error as error:
            raise map_duckdb_error(error, statements[0], ctx, set(self._databases)) from error
        finally:
            cursor.close()

    # ---------------------------------------------------------------------------------- runs

    def run(self, sql: str, ctx: TaskContext) -> None:
        """Run a task definition; raises TaskSqlError (or UnsupportedSqlError) on failure.

        Statements run in order, each committed on its own; the first failure stops the run.
        A statement still running at the task's deadline (``ctx.deadline``, else
        ``ctx.timeout_ms`` after the start) or past its statement timeout is interrupted
        (000630); :meth:`interrupt` stops it with 000604. ``ctx.return_value`` is set when
        the SQL calls SYSTEM$SET_RETURN_VALUE.
        """
        self._check_open()
        call_id = f"{self._call_prefix}{next(self._call_serial):016x}"
        statements = self._prepare(sql, ctx, call_id)
        state = RunState(
            database=ctx.database, schema=ctx.schema, key=ctx.interrupt_key, task_timeout_ms=ctx.timeout_ms,
            statement_timeout_seconds=statement_timeout_seconds(
                ctx.session_parameters, self.statement_timeout_seconds),
        )
        started = time.monotonic()
        if ctx.deadline is not None:
            state.deadline = ctx.deadline
        elif ctx.timeout_ms:
            state.deadline = started + ctx.timeout_ms / 1000.0
        self._calls.add(call_id, state)
        try:
            cursor = self._cursors.take(ctx.database, ctx.schema)
        except BaseException:
            self._calls.remove(call_id)
            raise
        state.cursor = cursor
        clean = False
        try:
            zone = timezones.session_time_zone(ctx.session_parameters)
            if zone != timezones.DEFAULT_TIME_ZONE:
                self._run_statement(call_id, state, cursor, Statement(zone, 1),
                                    timezones.set_time_zone_sql(zone), ctx)
            scripted: Result | None = None
            for statement, duck_sql in statements:
                if duck_sql is None:  # Snowflake Scripting, CALL, procedures
                    scripted = run_script(statement, self._script_session(call_id, state,
                                                                          cursor, ctx))
                    self._check_last_result(call_id, "")  # a block or CALL is one query
                    continue
                scripted = None
                if isinstance(duck_sql, show.ShowSql):  # SHOW, DESCRIBE TASK
                    self._run_show(call_id, state, cursor, statement, duck_sql.command, ctx)
                    continue
                self._check_last_result(call_id, duck_sql)
                if isinstance(duck_sql, streams.StreamSql):  # a stream command, or consuming DML
                    self._streams.run(duck_sql, cursor, lambda st=statement, sq=duck_sql:
                                      self._run_statement(call_id, state, cursor, st, sq, ctx),
                                      ctx)
                    self.stages.forget_loads(cursor, duck_sql)
                    continue
                if isinstance(duck_sql, stages.StageSql):  # stages, PUT, LIST, COPY INTO, ...
                    self.stages.run(duck_sql, self._stage_run(call_id, state, cursor, statement,
                                                              ctx, duck_sql.in_transaction))
                    continue
                self._run_statement(call_id, state, cursor, statement, duck_sql, ctx)
                self.stages.forget_loads(cursor, duck_sql)  # TRUNCATE, DROP, CREATE OR REPLACE
            if ctx.keep_result and scripted is not None:
                ctx.result = (scripted.columns, scripted.rows)
            elif ctx.keep_result:  # the SQL API's answer: the last statement's columns and rows
                columns = [(d[0], str(d[1])) for d in cursor.description or []]
                try:  # DuckDB streams: at most max_result_rows + 1 rows are ever fetched
                    rows = (cursor.fetchmany(ctx.max_result_rows + 1) if ctx.max_result_rows
                            else cursor.fetchall())
                except duckdb.Error as error:
                    if state.stopped or isinstance(error, duckdb.InterruptException):
                        raise state.error(ctx.database) from error
                    raise map_duckdb_error(error, statements[-1][0], ctx,
                                           set(self._databases)) from error
                ctx.result = (columns, rows)
            # a session-bound leftover (open transaction, temporary table) must not leak into
            # the next run: Snowflake gives every task run a new session
            clean = not any(
                _TRANSACTION_WORDS.match(st.text) or _TEMPORARY.search(st.text)
                for st, _ in statements
            ) and not any(_TRANSACTION_WORDS.match(duck) for _, duck in statements if duck) and (
                not state.time_zone_set) and call_id not in self._shown  # (its temp table)
        finally:
            self.finished_runs += 1  # after its commits: a stream may have data now
            self._calls.remove(call_id)
            self._shown.pop(call_id, None)
            if self._functions.has_return_value(call_id):
                ctx.return_value = self._functions.pop_return_value(call_id)
            self._cursors.give_back(ctx.database, ctx.schema, cursor, clean and not state.stopped)

    def _script_session(self, call_id: str, state: RunState,
                        cursor: duckdb.DuckDBPyConnection, ctx: TaskContext) -> Session:
        """What the interpreter runs a scripting unit's statements with (this run's cursor)."""
        transaction = [False]  # inside the script's own BEGIN TRANSACTION ... COMMIT

        def execute(statement: Statement, values: dict[str, Any]) -> Result:
            for inner, tree, static_sql in compile_definition(statement.text):
                if tree is None:  # a scripting word the interpreter does not run (AWAIT, ...)
                    word = inner.text.split(None, 1)[0].upper()
                    raise UnsupportedSqlError(f"Snowflake Scripting {word} is not supported by "
                                              "the local interpreter.")
                if isinstance(tree, exp.Command) and tree.this == stages.COMMAND:
                    self._check_last_result(call_id, "")
                    self.stages.run(stages.command_sql(inner.text, transaction[0]),
                                    self._stage_run(call_id, state, cursor, inner, ctx,
                                                    transaction[0]))
                    continue
                if isinstance(tree, exp.Command) and tree.this == show.COMMAND:
                    self._run_show(call_id, state, cursor, inner, show.parse(inner.text), ctx)
                    continue
                if isinstance(tree, exp.Command):  # CREATE / DROP STREAM
                    self._streams.run(streams.command_sql(inner.text, transaction[0]), cursor,
                                      lambda: None, ctx)
                    self._check_last_result(call_id, "")
                    continue
                transaction[0] = isinstance(tree, exp.Transaction) or (
                    transaction[0] and not isinstance(tree, (exp.Commit, exp.Rollback)))
                duck_sql = stages.mark_resets(tree, self._streams.mark(
                    tree, static_sql or to_duckdb(tree.transform(Rewriter(
                        ctx, call_id, condition=False, streams=self._streams))), ctx,
                    in_transaction=transaction[0]), ctx)
                self._check_last_result(call_id, duck_sql)
                bound = values if values and tree.find(exp.Placeholder) else None
                run = partial(self._run_statement, call_id, state, cursor, inner, duck_sql, ctx,
                              bound or {})
                if isinstance(duck_sql, streams.StreamSql):  # DML consuming streams
                    self._streams.run(duck_sql, cursor, run, ctx)
                else:
                    run()
                self.stages.forget_loads(cursor, duck_sql)
            try:
                columns = [(d[0], str(d[1])) for d in cursor.description or []]
                return Result(columns, cursor.fetchall())
            except duckdb.Error as error:
                if state.stopped or isinstance(error, duckdb.InterruptException):
                    raise state.error(ctx.database) from error
                raise map_duckdb_error(error, statement, ctx, set(self._databases)) from error

        # the whole unit (a CALL, a block) is one statement for STATEMENT_TIMEOUT_IN_SECONDS
        unit_deadline = time.monotonic() + (state.statement_timeout_seconds or 0)

        def check() -> None:
            now = time.monotonic()
            if not state.stopped and state.deadline is not None and now >= state.deadline:
                state.reason = interrupts.TASK_TIMEOUT
            elif not state.stopped and state.statement_timeout_seconds and now >= unit_deadline:
                state.reason = interrupts.STATEMENT_TIMEOUT
            if state.stopped:
                raise state.error(ctx.database)

        return Session(ctx, execute, check, Catalog(cursor))

    @property
    def stages(self) -> stages.Stages:
        """The internal stages and file formats (their catalog, files and commands)."""
        assert self._stages is not None
        return self._stages

    @property
    def local_files(self) -> bool:
        """Whether PUT may read files of this machine (False on a non-loopback server)."""
        return self.stages.local_files

    @local_files.setter
    def local_files(self, allowed: bool) -> None:
        self.stages.local_files = bool(allowed)

    def _stage_run(self, call_id: str, state: RunState, cursor: duckdb.DuckDBPyConnection,
                   statement: Statement, ctx: TaskContext, in_transaction: bool) -> stages.StageRun:
        """What a stage command runs with: this run's cursor, timeouts and translation."""
        def execute(sql: str, values: list[Any] | None) -> None:
            self._run_statement(call_id, state, cursor, statement, sql, ctx, values or {})

        def translate(select: str) -> str:
            rewriter = Rewriter(ctx, call_id, condition=False, streams=self._streams)
            [(_, tree, static_sql)] = compile_definition(select)
            return static_sql if static_sql is not None else to_duckdb(tree.transform(rewriter))

        return stages.StageRun(cursor, execute, translate, ctx, in_transaction)

    def _run_show(self, call_id: str, state: RunState, cursor: duckdb.DuckDBPyConnection,
                  statement: Statement, command: show.Show, ctx: TaskContext) -> None:
        """Run a SHOW / DESCRIBE TASK on the run's cursor (its rows: the cursor's result and
        what RESULT_SCAN(LAST_QUERY_ID()) reads next)."""
        catalog = show.Catalog(cursor, self._streams.listed(), self.show_source,
                               lambda: sorted(self._databases))
        self._shown[call_id] = False  # a failed SHOW leaves no result to scan
        show.run(command, ctx, catalog, lambda sql, values: self._run_statement(
            call_id, state, cursor, statement, sql, ctx, values))  # type: ignore[arg-type]
        self._shown[call_id] = True

    def _check_last_result(self, call_id: str, duck_sql: str) -> None:
        """Refuse RESULT_SCAN(LAST_QUERY_ID()) unless the run's last statement was a SHOW;
        any other statement makes the kept SHOW result stale."""
        fresh = self._shown.get(call_id)
        if show.reads_last_result(duck_sql) and not fresh:
            raise show.stale_result_error()
        if fresh:
            self._shown[call_id] = False

    def _run_statement(self, call_id: str, state: RunState, cursor: duckdb.DuckDBPyConnection,
                       statement: Statement, duck_sql: str, ctx: TaskContext,
                       bindings: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if not state.stopped and state.deadline is not None and now >= state.deadline:
            state.reason = interrupts.TASK_TIMEOUT
        if state.stopped:
            raise state.error(ctx.database)
        state.statement_deadline = now + (state.statement_timeout_seconds or 0)
        deadline = state.statement_deadline
        if state.deadline is not None:
            deadline = min(deadline, state.deadline)
        ticket = self._watchdog.watch(deadline, call_id)
        state.time_zone_set = state.time_zone_set or timezones.is_time_zone_change(duck_sql)
        try:
            cursor.execute(duck_sql, (ctx.bindings or None) if bindings is None else
                           (bindings or None))
        except duckdb.InterruptException as error:
            raise state.error(ctx.database) from error
        except RuntimeError as error:  # DuckDB's "Query interrupted" outside its own types
            if state.stopped:
                raise state.error(ctx.database) from error
            raise TaskSqlError(CODE_INTERNAL, f"SQL execution internal error: {error}") from error
        except duckdb.Error as error:
            if state.hook_error is not None:
                raise state.hook_error from error
            if state.stopped:
                raise state.error(ctx.database) from error
            mapped = map_duckdb_error(error, statement, ctx, set(self._databases))
            if _INVALIDATED in str(error) or mapped.sql_state == SQLSTATE_DISK_FULL:
                log.warning("task %s.%s.%s failed writing to disk: %s", ctx.database,
                            ctx.schema, ctx.task_name, first_line(str(error)))
                self._reopen_touched(str(error), ctx.database)
            raise mapped from error
        finally:
            self._watchdog.forget(ticket)  # its deadline goes with it (memory stays flat)
        self._functions.check_return_value(call_id)

    def _reopen_touched(self, message: str, current: str) -> None:
        """Reopen the databases a failed write invalidated (the message names them)."""
        names = [name for name in list(self._databases) if f'"{name}"' in message
                 or f"/{catalogs.database_file(name)}" in message]
        for name in names or [current]:
            self._reopen(name)

    def interrupt(self, key: Hashable, *, reason: str = "cancel") -> int:
        """Interrupt the running statements of the runs whose ``ctx.interrupt_key`` is ``key``.

        They fail with 000604 ``SQL execution canceled`` (``reason="cancel"``) or with the
        task-timeout error (``reason="timeout"``). Returns how many were running; a run whose
        next statement had not started yet does not start it.
        """
        why = interrupts.TASK_TIMEOUT if reason == "timeout" else interrupts.CANCELED
        return self._calls.stop_where(lambda state: state.key == key, why)

    def running(self, key: Hashable | None = None) -> int:
        """How many definitions are running now (with ``key``: of runs with that key)."""
        return self._calls.count(lambda state: key is None or state.key == key)

    def cancel_all(self) -> None:
        """Interrupt every running statement (their runs fail with 000604, canceled)."""
        self._calls.stop_where(lambda state: True, interrupts.CANCELED)

    def condition_holds(self, expr: str, ctx: TaskContext) -> bool:
        """Evaluate a WHEN condition (see :mod:`.conditions`); NULL counts as false.

            >>> SqlEngine().condition_holds("SYSTEM$GET_PREDECESSOR_RETURN_VALUE('A')::INT > 1",
            ...     TaskContext("D", "S", "B", "A", predecessor_return_values={"A": "5"}))
            True
        """
        self._check_open()
        query = condition_query(expr, ctx, self._streams)
        cursor = self._con.cursor()
        try:
            row = cursor.execute(query).fetchone()
        except duckdb.Error as error:
            raise map_duckdb_error(error, Statement(expr, 1), ctx, set(self._databases)) from error
        finally:
            cursor.close()
        return bool(row and row[0] is True)

    def close(self) -> None:
        """Interrupt running statements and close the engine (files are checkpointed)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cursors.closed = True
        self.cancel_all()
        self._watchdog.stop()
        self.stages.close()
        try:
            self._con.close()
        except duckdb.Error:
            pass

    # ------------------------------------------------------------------------------ helpers

    def _check_open(self) -> None:
        if self._closed:
            raise TaskSqlError(CODE_INTERNAL, "The local SQL engine is closed.")

    def _place_cursor(self, database: str, schema: str) -> duckdb.DuckDBPyConnection:
        """A new cursor whose current schema is ``database.schema`` (created if missing)."""
        with self._lock:
            dropped_database = database in self._dropped_databases
            dropped = dropped_database or (database, schema) in self._dropped_schemas
            if dropped_database:
                raise missing_database(database)
            if database not in self._databases:
                self._attach(database)  # a damaged file fails here, naming the file
        cursor = self._con.cursor()
        use = f"USE {quote_identifier(database)}.{quote_identifier(schema)}"
        try:
            cursor.execute(use)
        except duckdb.Error:
            try:
                if dropped:
                    raise TaskSqlError(CODE_DOES_NOT_EXIST, "dropped while the run went on")
                self._create_schema(database, schema)
                cursor.execute(use)
            except (DatabaseFileError, _StillInUse):
                cursor.close()
                raise
            except duckdb.Error as error:
                cursor.close()
                if isinstance(error, duckdb.CatalogException):
                    raise self._missing_schema(database, schema) from error
                raise map_duckdb_error(error, Statement(use, 1),
                                       TaskContext(database, schema, "", "")) from error
            except TaskSqlError as error:
                cursor.close()
                raise self._missing_schema(database, schema) from error
        return cursor

    @staticmethod
    def _missing_schema(database: str, schema: str) -> TaskSqlError:
        return TaskSqlError(
            CODE_DOES_NOT_EXIST,
            f"SQL compilation error:\nSchema '{database}.{schema}' does not exist or not "
            "authorized.",
            "02000",
        )

    def _prepare(self, sql: str, ctx: TaskContext,
                 call_id: str) -> list[tuple[Statement, str | None]]:
        if not isinstance(sql, str) or not sql.strip():
            raise TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nEmpty SQL statement.", "42000")
        rewriter = Rewriter(ctx, call_id, condition=False, streams=self._streams)
        prepared: list[tuple[Statement, str | None]] = []
        in_transaction = False  # an explicit BEGIN ... COMMIT / ROLLBACK of the definition
        for statement, tree, static_sql in compile_definition(sql):
            if tree is None:  # a scripting unit: the interpreter's (run())
                prepared.append((statement, None))
                continue
            if isinstance(tree, exp.Command) and tree.this == stages.COMMAND:
                prepared.append((statement, stages.command_sql(statement.text, in_transaction)))
                continue
            if isinstance(tree, exp.Command) and tree.this == show.COMMAND:
                prepared.append((statement, show.command_sql(statement.text)))
                continue
            if isinstance(tree, exp.Command):  # CREATE / DROP STREAM
                prepared.append((statement, streams.command_sql(statement.text,
                                                                in_transaction)))
                continue
            in_transaction = isinstance(tree, exp.Transaction) or (
                in_transaction and not isinstance(tree, (exp.Commit, exp.Rollback)))
            duck_sql = static_sql if static_sql is not None else to_duckdb(
                tree.transform(rewriter))  # static: no SYSTEM$ call, no clock function
            prepared.append((statement, stages.mark_resets(tree, self._streams.mark(
                tree, duck_sql, ctx, in_transaction=in_transaction), ctx)))
        return prepared

    def _deadline_passed(self, call_id: str) -> None:
        """The watchdog's call: stop the run if its task or statement deadline has passed."""
        state = self._calls.get(call_id)
        if state is None:
            return  # a finished run is simply not found
        now = time.monotonic()
        if state.deadline is not None and now >= state.deadline:
            self._calls.stop(call_id, interrupts.TASK_TIMEOUT)
        elif state.statement_deadline is not None and now >= state.statement_deadline:
            self._calls.stop(call_id, interrupts.STATEMENT_TIMEOUT)
