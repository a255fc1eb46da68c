"""The SQL API of the local server (sqlapi.yaml): submit, poll and cancel statements.

    >>> # POST /api/v2/statements {"statement": "SELECT ?", "bindings": {"1": {"type": "TEXT",
    >>> #      "value": "x"}}, "database": "DB", "schema": "PUBLIC"}  -> 200 ResultSet
    >>> parse_bindings({"1": {"type": "FIXED", "value": "42"}, "2": {"type": "TEXT", "value": None}})
    [42, None]

* ``POST /api/v2/statements`` runs the statement on the engine that runs the tasks (same
  sandbox, same refusals, same error codes) in ``database.schema`` of the body. It answers
  200 with the first partition of the result when the statement ends within
  :data:`SYNC_WAIT_SECONDS`, else (or with ``?async=true``) 202 with ``statementStatusUrl``.
  A SQL error is a 422 ``QueryFailureStatus`` (``code``, ``sqlState``, ``message``,
  ``statementHandle``); a statement over its ``timeout`` (seconds; 0 = 7 days; default: the
  engine's statement timeout) is cancelled with ``000630`` (408 on the POST, 422 on a GET,
  as sqlapi.yaml lists them). A malformed body or binding is a 400 and runs nothing.
  ``?requestId=<uuid>`` makes a submission idempotent: the same id answers for the statement
  it first started instead of running it again.
* ``GET /api/v2/statements/{statementHandle}?partition=N``: 202 while running, then the
  partition (partition 0 carries ``resultSetMetaData`` with ``numRows``, ``rowType`` and
  ``partitionInfo``; later ones only ``data``), or the 422 of its failure.
* ``POST /api/v2/statements/{statementHandle}/cancel`` interrupts it in DuckDB.

Bindings are Snowflake's ``{"1": {"type": "FIXED", "value": "42"}}`` for the ``?``
placeholders, passed to DuckDB as parameters (never spliced into the SQL text). Values are
strings as the SQL API sends them: FIXED/REAL numbers, BOOLEAN ``true``/``false``, DATE, TIME
and TIMESTAMP_* in ISO 8601 (``2026-01-05``, ``2026-01-05T08:00:00.5+01:00``) or as
nanoseconds since the epoch (what Snowflake's drivers send), BINARY as hex; ``null`` is NULL.

Results are kept in memory (:data:`MAX_KEPT_STATEMENTS`, :data:`MAX_KEPT_CELLS`,
:data:`RESULT_RETENTION_SECONDS`; one result holds at most :data:`MAX_RESULT_ROWS` rows) and
cut into partitions of about :data:`PARTITION_CELLS` cells; rows are ``jsonv2`` strings
(:mod:`tasknb.local.api.jsonv2`). A request may run several statements only with
``parameters.multi_statement_count`` set to their number (or 0), as on Snowflake; the answer
is then the result of the last one. Statements run in :data:`MAX_RUNNING_STATEMENTS` threads
of their own, so they never take the task runs' workers; more than
:data:`MAX_PENDING_STATEMENTS` unfinished ones are refused with a 429.
"""

from __future__ import annotations

import binascii
import logging
import re
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from typing import Any

import anyio
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from tasknb.local import rules
from tasknb.local.api import information_schema, jsonv2
from tasknb.local.api.http import Call, Reply
from tasknb.local.rules import ApiError, bad_request, parse_bool, parse_int
from tasknb.local.service import Service

log = logging.getLogger("tasknb.local")

STATEMENTS_PATH = "/api/v2/statements"
SYNC_WAIT_SECONDS = 5.0  # a statement still running after this answers 202 (Snowflake: 45 s)
MAX_TIMEOUT_SECONDS = 604_800  # timeout=0 means this (7 days), as on Snowflake
MAX_RUNNING_STATEMENTS = 4
MAX_PENDING_STATEMENTS = 64
MAX_KEPT_STATEMENTS = 1000
RESULT_RETENTION_SECONDS = 24 * 3600  # Snowflake keeps a statement's result for 24 hours
PARTITION_CELLS = 100_000  # cells per partition (rows * columns)
MAX_STATEMENT_CHARS = 1_000_000
CANCEL_WAIT_SECONDS = 2.0  # a cancel keeps trying this long to reach a statement starting up
MAX_RESULT_ROWS = 1_000_000  # a larger result fails (the server would hold it all in memory)
MAX_KEPT_CELLS = 20_000_000  # finished results kept in all; the oldest are forgotten first

CODE_SUCCESS, SQLSTATE_SUCCESS = "090001", "00000"
MESSAGE_SUCCESS = "Statement executed successfully."
CODE_RUNNING = "333334"
MESSAGE_RUNNING = ("Asynchronous execution in progress. Use provided query id to perform query "
                   "monitoring and management.")
CODE_STATEMENT_COUNT = "000008"
CODE_BIND_NOT_SET = "002049"
CODE_NO_DATABASE = "090105"
CODE_CANCELED = "000604"
CODE_TIMEOUT = "000630"
CODE_INTERNAL = "000603"
CODE_UNSUPPORTED = "000002"
TOO_MANY_STATEMENTS = "390429"

_BINDING_TYPES = ("FIXED", "REAL", "TEXT", "BOOLEAN", "DATE", "TIME", "TIMESTAMP_NTZ",
                  "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "BINARY", "ANY", "VARIANT", "OBJECT", "ARRAY")
_PARAMETERS = {"timezone": str, "query_tag": str, "binary_output_format": str,
               "date_output_format": str, "time_output_format": str,
               "timestamp_output_format": str, "timestamp_ltz_output_format": str,
               "timestamp_ntz_output_format": str, "timestamp_tz_output_format": str,
               "multi_statement_count": int}
_NANOS = re.compile(r"-?\d+")
_INTEGER = re.compile(r"[+-]?\d+")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DML_COLUMNS = {"INSERT": ("number of rows inserted", "numRowsInserted"),
                "UPDATE": ("number of rows updated", "numRowsUpdated"),
                "DELETE": ("number of rows deleted", "numRowsDeleted"),
                "MERGE": ("number of rows affected", "numRowsUpdated")}
_QUERY_WORDS = {"SELECT", "WITH", "VALUES", "(", "SHOW", "DESCRIBE", "DESC", "TABLE",
                "CALL", "DECLARE", "BEGIN", "EXECUTE",  # scripts and CALL answer their result
                "COPY", "PUT", "LIST", "LS", "REMOVE", "RM"}  # stage commands answer rows
#: lower-case column names, kept as they are: stage commands, SHOW and DESCRIBE
_STAGE_WORDS = {"COPY", "PUT", "LIST", "LS", "REMOVE", "RM", "SHOW", "DESC", "DESCRIBE"}


# --- the request -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatementRequest:
    """A checked ``POST /api/v2/statements`` body."""

    statement: str
    database: str | None = None
    schema: str | None = None
    timeout: int | None = None
    bindings: list[Any] | None = None
    multi_statement_count: int = 1
    time_zone: str | None = None  # parameters.timezone: the session's TIMEZONE


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"The body's {key!r} must be a string, got {type(value).__name__}.")
    return value or None


def parse_request(body: Any) -> StatementRequest:
    """Check a submission body (sqlapi.yaml); raises a 400 :class:`ApiError` naming the field."""
    if not isinstance(body, dict):
        raise bad_request('The body must be a JSON object such as {"statement": "SELECT 1", '
                          '"database": "DB", "schema": "PUBLIC"}.')
    statement = body.get("statement")
    if not isinstance(statement, str) or not statement.strip():
        raise bad_request("The body's 'statement' must be a non-empty string of SQL.")
    if len(statement) > MAX_STATEMENT_CHARS:
        raise bad_request(f"The statement has {len(statement):,} characters; the local server "
                          f"takes at most {MAX_STATEMENT_CHARS:,}.")
    timeout = body.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or timeout < 0):
        raise bad_request("The body's 'timeout' must be a whole number of seconds >= 0 "
                          f"(0 = the maximum, {MAX_TIMEOUT_SECONDS:,} s), got {timeout!r}.")
    for key in ("warehouse", "role"):
        _optional_text(body, key)  # accepted and checked; the local engine has neither
    parameters = body.get("parameters")
    count = 1
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise bad_request("The body's 'parameters' must be an object of session parameters.")
        for key, value in parameters.items():
            kind = _PARAMETERS.get(key)
            if kind is None:
                continue  # other session parameters do not change what the local engine does
            if (kind is int and (isinstance(value, bool) or not isinstance(value, int))) or (
                    kind is str and not isinstance(value, str)):
                raise bad_request(f"parameters.{key} must be {'an integer' if kind is int else 'a string'}, "
                                  f"got {value!r}.")
        count = parameters.get("multi_statement_count", 1)
        if count < 0:
            raise bad_request("parameters.multi_statement_count must be 0 (any number) or the "
                              f"number of statements, got {count}.")
    bindings = body.get("bindings")
    return StatementRequest(
        statement=statement, database=_optional_text(body, "database"),
        schema=_optional_text(body, "schema"),
        timeout=MAX_TIMEOUT_SECONDS if timeout == 0 else timeout,
        bindings=None if bindings is None else parse_bindings(bindings),
        multi_statement_count=count,
        time_zone=(parameters or {}).get("timezone"))


def parse_bindings(bindings: Any) -> list[Any]:
    """Snowflake's ``{"1": {"type": ..., "value": ...}, ...}`` as Python values, in order."""
    if not isinstance(bindings, dict):
        raise bad_request('The body\'s \'bindings\' must be an object such as {"1": {"type": '
                          '"TEXT", "value": "x"}}.')
    positions = {}
    for key, binding in bindings.items():
        if not (isinstance(key, str) and key.isdigit() and int(key) >= 1):
            raise bad_request(f"bindings key {key!r} is not a placeholder position (\"1\", \"2\", "
                              "...); only ? placeholders are supported locally.")
        positions[int(key)] = binding
    if sorted(positions) != list(range(1, len(positions) + 1)):
        raise bad_request(f"bindings must number the placeholders 1 to {len(positions)} without "
                          f"gaps, got {sorted(bindings)}.")
    return [_binding_value(str(n), positions[n]) for n in range(1, len(positions) + 1)]


def _binding_value(key: str, binding: Any) -> Any:
    if not isinstance(binding, dict) or "type" not in binding:
        raise bad_request(f'bindings.{key} must be an object {{"type": ..., "value": ...}}.')
    kind = binding["type"]
    if not isinstance(kind, str) or kind.upper() not in _BINDING_TYPES:
        raise bad_request(f"bindings.{key}: type {kind!r} is not one of "
                          f"{', '.join(_BINDING_TYPES)}.")
    kind = kind.upper()
    value = binding.get("value")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad_request(f"bindings.{key}: the value must be a string (or null), got "
                          f"{type(value).__name__}.")
    text = str(value).strip()
    try:
        return _convert(kind, text)
    except (ValueError, InvalidOperation, OverflowError, binascii.Error):
        raise bad_request(f"bindings.{key}: {str(value)[:80]!r} is not a {kind} value"
                          f"{_BINDING_FORMS.get(kind, '')}.") from None


_BINDING_FORMS = {
    "FIXED": " (an integer or decimal number)", "REAL": " (a number)",
    "BOOLEAN": " (true or false)", "DATE": " (YYYY-MM-DD)", "TIME": " (HH:MM:SS[.fff])",
    "TIMESTAMP_NTZ": " (ISO 8601 or nanoseconds since the epoch)",
    "TIMESTAMP_LTZ": " (ISO 8601 or nanoseconds since the epoch)",
    "TIMESTAMP_TZ": " (ISO 8601 with an offset, or nanoseconds since the epoch)",
    "BINARY": " (hexadecimal)",
}


def _convert(kind: str, text: str) -> Any:
    if kind == "FIXED":
        return int(text) if _INTEGER.fullmatch(text) else Decimal(text)
    if kind == "REAL":
        return float(text)
    if kind == "BOOLEAN":
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError(text)
        return lowered in ("true", "1")
    if kind == "DATE":
        if _NANOS.fullmatch(text):  # drivers send milliseconds since the epoch
            return (_EPOCH + timedelta(milliseconds=int(text))).date()
        return date.fromisoformat(text)
    if kind == "TIME":
        if _NANOS.fullmatch(text):
            return (datetime.min + timedelta(microseconds=int(text) // 1000)).time()
        return clock_time.fromisoformat(text)
    if kind.startswith("TIMESTAMP"):
        moment = (_EPOCH + timedelta(microseconds=int(text) // 1000)
                  if _NANOS.fullmatch(text) else datetime.fromisoformat(text))
        if kind == "TIMESTAMP_NTZ":
            return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo \
                else moment
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if kind == "BINARY":
        return binascii.unhexlify(text)
    return text


def declared_tz(sql: str, columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Columns the query casts to TIMESTAMP_TZ typed so (DuckDB has one TIMESTAMPTZ for
    Snowflake's LTZ and TZ, typed ``timestamp_ltz`` unless the statement says otherwise).

        >>> declared_tz("SELECT a::TIMESTAMP_TZ AS t, b FROM x",
        ...             [("T", "TIMESTAMP WITH TIME ZONE"), ("B", "TIMESTAMP WITH TIME ZONE")])
        [('T', 'TIMESTAMP_TZ'), ('B', 'TIMESTAMP WITH TIME ZONE')]
    """
    if "TIMESTAMP_TZ" not in sql.upper() and "TIMESTAMPTZ" not in sql.upper():
        return columns
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except (ParseError, TokenError):
        return columns
    if not isinstance(tree, exp.Select) or len(tree.expressions) != len(columns):
        return columns
    out = list(columns)
    for index, projection in enumerate(tree.expressions):
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if (isinstance(inner, exp.Cast) and inner.to.this == exp.DataType.Type.TIMESTAMPTZ
                and columns[index][1].upper() == "TIMESTAMP WITH TIME ZONE"):
            out[index] = (columns[index][0], jsonv2.DECLARED_TZ)
    return out


def placeholder_casts(sql: str, tokens: list[Any]) -> str:
    """``?::INT`` as ``? ::INT``: sqlglot reads ``?::`` as one operator, Snowflake as a binding
    and a cast (only outside strings and comments: those are not tokens).

        >>> from tasknb.local.sql.statements import tokenize
        >>> text = "SELECT ?::int, '?::x'"
        >>> placeholder_casts(text, tokenize(text))
        "SELECT ? ::int, '?::x'"
    """
    for token in reversed(tokens):
        if token.token_type.name == "QDCOLON":
            sql = sql[:token.start] + "? ::" + sql[token.end + 1:]
    return sql


def snowflake_column_names(sql: str) -> str:
    """The statement with its unnamed result columns named as Snowflake names them.

        >>> snowflake_column_names("select count(*), max(x) as m, y from t")
        'SELECT COUNT(*) AS "COUNT(*)", MAX(x) AS m, y FROM t'

    Snowflake names an expression column by its text upper-cased; DuckDB would name it by
    its own rewriting (``count_star()``, or an engine function the local server substituted).
    """
    from tasknb.local.sql.translate import quiet_sqlglot  # (no "falling back" log lines)

    try:
        with quiet_sqlglot():
            tree = sqlglot.parse_one(sql, read="snowflake")
    except (ParseError, TokenError):
        return sql  # the engine reports the syntax error
    if not isinstance(tree, exp.Select):
        return sql
    named = False
    for projection in list(tree.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            continue
        name = exp.to_identifier(projection.sql("snowflake").upper(), quoted=True)
        projection.replace(exp.alias_(projection.copy(), name))
        named = True
    return tree.sql("snowflake") if named else sql


# --- statements and their results --------------------------------------------------------------
@dataclass
class Statement:
    """One submitted statement: running, then succeeded or failed (cancelled, timed out)."""

    handle: str
    created_on: int  # milliseconds since the epoch (the server's clock)
    request: StatementRequest
    nullable: bool = True
    base_url: str = ""  # scheme://host:port the statement was submitted to
    state: str = "queued"  # queued, running, succeeded, failed
    cancel_requested: bool = False
    columns: list[dict[str, Any]] = field(default_factory=list)
    partitions: list[list[tuple[str | None, ...]]] = field(default_factory=list)
    num_rows: int = 0
    stats: dict[str, int] | None = None
    error: tuple[str, str, str] | None = None  # code, sqlState, message
    finished_at: float | None = None  # time.monotonic()
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def status_path(self) -> str:
        return f"{STATEMENTS_PATH}/{self.handle}"

    @property
    def status_url(self) -> str:
        """Absolute, as sqlapi.yaml's ``format: uri`` asks."""
        return self.base_url + self.status_path

    def status_body(self, code: str, sql_state: str, message: str) -> dict[str, Any]:
        return {"code": code, "sqlState": sql_state, "message": message,
                "statementHandle": self.handle, "createdOn": self.created_on,
                "statementStatusUrl": self.status_url}

    def fail(self, code: str, sql_state: str, message: str) -> None:
        self.error = (code, sql_state or "42000", message)
        self._finish("failed")

    def succeed(self, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]],
                stats: dict[str, int] | None, *, keep_names: bool = False) -> None:
        data = jsonv2.encode_rows(columns, rows, nullable=self.nullable)
        self.columns = jsonv2.row_types(columns, keep_names=keep_names)
        step = max(1, PARTITION_CELLS // max(1, len(columns)))
        self.partitions = [data[i:i + step] for i in range(0, len(data), step)] or [[]]
        self.num_rows = len(data)
        self.stats = stats
        self._finish("succeeded")

    def _finish(self, state: str) -> None:
        self.state = state
        self.finished_at = time.monotonic()
        self.done.set()


def _size(rows: list[tuple[str | None, ...]]) -> int:
    """About the bytes of a partition's JSON (exact for plain ASCII cells)."""
    return 2 + sum(2 + sum(len(c) + 3 if c is not None else 5 for c in row) for row in rows)


class StatementRegistry:
    """The statements of one service: runs them in threads, keeps their results, cancels them."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._statements: dict[str, Statement] = {}
        self._by_request: dict[str, str] = {}
        self._slots = threading.BoundedSemaphore(MAX_RUNNING_STATEMENTS)

    def get(self, handle: str) -> Statement | None:
        with self._lock:
            return self._statements.get(handle)

    def submit(self, request: StatementRequest, *, request_id: str | None,
               nullable: bool, base_url: str = "") -> Statement:
        """Start a statement (or return the one ``request_id`` started before)."""
        with self._lock:
            self._expire()
            if request_id is not None and request_id in self._by_request:
                known = self._statements.get(self._by_request[request_id])
                if known is not None:
                    return known
            pending = sum(1 for s in self._statements.values() if not s.done.is_set())
            if pending >= MAX_PENDING_STATEMENTS:
                raise ApiError(429, TOO_MANY_STATEMENTS,
                               f"{pending} statements are still running or queued on the local "
                               f"server (at most {MAX_PENDING_STATEMENTS}); wait for some to "
                               "finish or cancel them, then retry.")
            created = int(self._service.now().timestamp() * 1000)
            statement = Statement(str(uuid.uuid4()), created, request, nullable, base_url)
            self._statements[statement.handle] = statement
            if request_id is not None:
                self._by_request[request_id] = statement.handle
        threading.Thread(target=self._execute, args=(statement,), daemon=True,
                         name=f"tasknb-sql-{statement.handle[:8]}").start()
        return statement

    def cancel(self, statement: Statement) -> bool:
        """Stop a queued or running statement; False when it had already finished.

        A queued one ends at once; a running one is interrupted in DuckDB (retried for up to
        :data:`CANCEL_WAIT_SECONDS` while the engine has not started its statement yet).
        """
        with self._lock:
            if statement.done.is_set():
                return False
            statement.cancel_requested = True
            if statement.state == "queued":
                statement.fail(CODE_CANCELED, "57014", "SQL execution canceled")
                return True
        engine = self._service.engine()
        give_up = time.monotonic() + CANCEL_WAIT_SECONDS
        while not statement.done.is_set() and engine.interrupt(statement.handle) == 0:
            if time.monotonic() >= give_up:
                break
            time.sleep(0.01)
        return True

    def _expire(self) -> None:
        """Forget finished statements past the retention or beyond the count kept (under lock)."""
        now = time.monotonic()
        finished = [s for s in self._statements.values() if s.finished_at is not None]
        finished.sort(key=lambda s: s.finished_at or 0.0)
        excess = len(finished) - MAX_KEPT_STATEMENTS
        cells = sum(s.num_rows * max(1, len(s.columns)) for s in finished)
        for index, statement in enumerate(finished):
            size = statement.num_rows * max(1, len(statement.columns))
            if (index < excess or cells > MAX_KEPT_CELLS
                    or now - (statement.finished_at or now) > RESULT_RETENTION_SECONDS):
                del self._statements[statement.handle]
                cells -= size
        live = set(self._statements)
        self._by_request = {r: h for r, h in self._by_request.items() if h in live}

    def _execute(self, statement: Statement) -> None:
        with self._slots:
            with self._lock:
                if statement.done.is_set():  # cancelled while it waited for a slot
                    return
                statement.state = "running"
            try:
                self._run(statement)
            except Exception as exc:  # a statement must always end
                log.exception("SQL API statement %s failed unexpectedly", statement.handle)
                statement.fail(CODE_INTERNAL, "XX000", "SQL execution internal error: the local "
                               f"engine failed ({type(exc).__name__}); see the server log.")

    def _run(self, statement: Statement) -> None:
        from tasknb.local.sql.context import TaskContext
        from tasknb.local.sql.errors import TaskSqlError
        from tasknb.local.sql.stage_commands import quote_put_source
        from tasknb.local.sql.statements import split_statements, tokenize

        request = statement.request
        try:
            source = quote_put_source(request.statement)  # PUT file:///dir/*.csv is no comment
            text = placeholder_casts(source, tokenize(source))
            tokens = tokenize(text)
            parts = split_statements(text, tokens)
            wanted = request.multi_statement_count
            if wanted != 0 and len(parts) != wanted:
                statement.fail(CODE_STATEMENT_COUNT, "0A000", f"Actual statement count "
                               f"{len(parts)} did not match the desired statement count "
                               f"{wanted}.")
                return
            placeholders = sum(1 for t in tokens if t.token_type.name == "PLACEHOLDER")
            bindings = list(request.bindings or [])
            if placeholders and len(parts) > 1:
                statement.fail(CODE_BIND_NOT_SET, "42601", "Bind variables are supported in a "
                               "request of one statement only on the local server.")
                return
            if placeholders > len(bindings):
                statement.fail(CODE_BIND_NOT_SET, "42601", "SQL compilation error:\nBind "
                               f"variable ? (position {len(bindings) + 1}) not set.")
                return
            database, schema = self._place(request)
            sql = text
            if len(parts) == 1:  # names first: the rewrite below is not Snowflake text again
                sql = snowflake_column_names(sql)
            if len(parts) == 1 and information_schema.uses_task_history(sql):
                sql, bindings = information_schema.rewrite(
                    sql, service=self._service, database=database, schema=schema,
                    bindings=bindings[:placeholders],
                    evaluate=lambda text: self._scalar(text, database, schema))
                placeholders = len(bindings)
            ctx = TaskContext(database=database, schema=schema, task_name="", root_task_name="",
                              now=self._service.now(), interrupt_key=statement.handle)
            if request.timeout is not None:
                ctx.session_parameters["STATEMENT_TIMEOUT_IN_SECONDS"] = request.timeout
            if request.time_zone is not None:  # checked by the engine (Snowflake's error)
                ctx.session_parameters["TIMEZONE"] = request.time_zone
            ctx.bindings = bindings[:placeholders] or None
            ctx.keep_result = True
            ctx.max_result_rows = MAX_RESULT_ROWS
            if statement.cancel_requested:
                raise TaskSqlError(int(CODE_CANCELED), "SQL execution canceled", "57014")
            self._service.engine().run(sql, ctx)
        except TaskSqlError as error:
            statement.fail(error.code_text, error.sql_state or "42000", error.message)
            return
        except ApiError as error:  # the database or schema is not there, a bad argument
            sql_state = "02000" if error.code == rules.DOES_NOT_EXIST else "22023"
            statement.fail(error.code, sql_state, "SQL compilation error:\n" + error.message)
            return
        columns, rows = ctx.result or ([], [])
        if len(rows) > MAX_RESULT_ROWS:
            statement.fail(CODE_UNSUPPORTED, "0A000", "Unsupported feature in the local task "
                           f"server: a result of more than {MAX_RESULT_ROWS:,} rows (the server "
                           "keeps results in memory). Add a LIMIT, filter or aggregate; the "
                           "same statement runs on a real Snowflake account.")
            return
        last = parts[-1].text.split(None, 1)[0].upper()
        if last in _QUERY_WORDS or last.startswith("("):
            if len(parts) == 1:
                columns = declared_tz(request.statement, columns)
            statement.succeed(columns, rows, None, keep_names=last in _STAGE_WORDS)
        elif last in _DML_COLUMNS:
            column, stat = _DML_COLUMNS[last]
            count = int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0
            statement.succeed([(column, "BIGINT")], [(count,)], {stat: count})
        else:
            statement.succeed([("status", "VARCHAR")], [(MESSAGE_SUCCESS,)], None)

    def _scalar(self, expression: str, database: str, schema: str) -> Any:
        """The value of a constant Snowflake expression (the server's clock for CURRENT_*)."""
        from tasknb.local.sql.context import TaskContext

        ctx = TaskContext(database=database, schema=schema, task_name="", root_task_name="",
                          now=self._service.now(), keep_result=True)
        self._service.engine().run(f"SELECT {expression}", ctx)
        rows = ctx.result[1] if ctx.result else []
        return rows[0][0] if rows and rows[0] else None

    def _place(self, request: StatementRequest) -> tuple[str, str]:
        """The (database, schema) a statement runs in; both must exist."""
        if request.database is None:
            raise ApiError(422, CODE_NO_DATABASE, "This session does not have a current "
                           "database. Send \"database\" (and \"schema\") in the request body.")
        database = rules.fold_identifier(request.database, "database")
        schema = rules.fold_identifier(request.schema or "PUBLIC", "schema")
        self._service.fetch_schema(database, schema)
        return database, schema


_REGISTRIES: weakref.WeakKeyDictionary[Service, StatementRegistry] = weakref.WeakKeyDictionary()
_REGISTRIES_LOCK = threading.Lock()


def registry_of(service: Service) -> StatementRegistry:
    """The statement registry of a service (made on first use)."""
    with _REGISTRIES_LOCK:
        registry = _REGISTRIES.get(service)
        if registry is None:
            registry = _REGISTRIES[service] = StatementRegistry(service)
        return registry


# --- answers -----------------------------------------------------------------------------------
def _result_reply(statement: Statement, partition: int, *, on_post: bool) -> Reply:
    if not statement.done.is_set():
        return Reply(statement.status_body(CODE_RUNNING, SQLSTATE_SUCCESS, MESSAGE_RUNNING), 202)
    if statement.error is not None:
        code, sql_state, message = statement.error
        status = 408 if on_post and code == CODE_TIMEOUT else 422
        return Reply(statement.status_body(code, sql_state, message), status)
    last = len(statement.partitions) - 1
    if partition > last:
        raise bad_request(f"Partition {partition} does not exist: the result of statement "
                          f"{statement.handle} has {last + 1} partition(s), numbered from 0.")
    body = statement.status_body(CODE_SUCCESS, SQLSTATE_SUCCESS, MESSAGE_SUCCESS)
    if partition == 0:
        body["resultSetMetaData"] = {
            "numRows": statement.num_rows, "format": "jsonv2", "rowType": statement.columns,
            "partitionInfo": [{"rowCount": len(p), "uncompressedSize": _size(p)}
                              for p in statement.partitions],
            "nullable": statement.nullable,
        }
        if statement.stats is not None:
            body["stats"] = statement.stats
    body["data"] = statement.partitions[partition]
    return Reply(body, headers=_links(statement, partition, last))


def _links(statement: Statement, partition: int, last: int) -> dict[str, str]:
    if last == 0:
        return {}
    url = statement.status_path + "?partition="
    links = [f'<{url}0>;rel="first"', f'<{url}{last}>;rel="last"']
    if partition < last:
        links.append(f'<{url}{partition + 1}>;rel="next"')
    if partition > 0:
        links.append(f'<{url}{partition - 1}>;rel="prev"')
    return {"Link": ",".join(links)}


def _statement_of(call: Call) -> Statement:
    handle = call.params["statementHandle"]
    try:
        uuid.UUID(handle)
    except ValueError:
        raise bad_request(f"{handle[:80]!r} is not a statement handle (a UUID such as "
                          "e4ce975e-f7ff-4b5e-b15e-bf25f59371ae).") from None
    statement = registry_of(call.service).get(handle)
    if statement is None:
        raise ApiError(404, rules.RESULT_NOT_FOUND, f"Statement {handle} does not exist or its "
                       "result has expired (the local server keeps results in memory for "
                       f"{RESULT_RETENTION_SECONDS // 3600} hours, until it restarts).")
    return statement


def _request_id(call: Call) -> str | None:
    value = call.query.get("requestId")
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise bad_request(f"Query parameter requestId must be a UUID, got {value[:80]!r}.") \
            from None


async def _wait(statement: Statement, seconds: float) -> None:
    """Wait (without holding the event loop) until the statement ends or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    pause = 0.001
    while not statement.done.is_set() and time.monotonic() < deadline:
        await anyio.sleep(pause)
        pause = min(pause * 2, 0.05)


def _check_user_agent(call: Call) -> None:
    """sqlapi.yaml makes ``User-Agent`` a required, non-empty header of every operation."""
    if not call.request.headers.get("user-agent", "").strip():
        raise bad_request("The SQL API needs a User-Agent header naming your application "
                          "and its version, such as 'myApplication/1.0'.")


async def submit_statement(call: Call) -> Reply:
    """POST /api/v2/statements?async=&nullable=&requestId=."""
    _check_user_agent(call)
    request_id = _request_id(call)
    run_async = parse_bool(call.query.get("async"), "async", False)
    nullable = parse_bool(call.query.get("nullable"), "nullable", True)
    request = parse_request(await call.json_body())
    base_url = str(call.request.base_url).rstrip("/")
    statement = registry_of(call.service).submit(request, request_id=request_id,
                                                 nullable=nullable, base_url=base_url)
    if not run_async:
        await _wait(statement, SYNC_WAIT_SECONDS)
    if run_async and not statement.done.is_set():
        return Reply(statement.status_body(CODE_RUNNING, SQLSTATE_SUCCESS, MESSAGE_RUNNING), 202)
    return _result_reply(statement, 0, on_post=True)


async def get_statement_status(call: Call) -> Reply:
    """GET /api/v2/statements/{statementHandle}?partition=N."""
    _check_user_agent(call)
    _request_id(call)
    partition = parse_int(call.query.get("partition"), "partition", 0, 0, 2**31) or 0
    return _result_reply(_statement_of(call), partition, on_post=False)


async def cancel_statement(call: Call) -> Reply:
    """POST /api/v2/statements/{statementHandle}/cancel."""
    _check_user_agent(call)
    _request_id(call)
    statement = _statement_of(call)
    registry = registry_of(call.service)
    if await call.run(registry.cancel, statement):
        await _wait(statement, SYNC_WAIT_SECONDS)
        message = "successfully canceled"
    else:
        message = "Statement already completed; there was nothing to cancel."
    return Reply({"code": CODE_SUCCESS, "sqlState": SQLSTATE_SUCCESS, "message": message,
                  "statementHandle": statement.handle,
                  "statementStatusUrl": statement.status_url})
