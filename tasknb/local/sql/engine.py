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

Safety: DuckDB's file and network access is switched off (only the engine's own directory is
reachable, and only through this module), extensions cannot be loaded, the configuration is
locked, and statements that would reach outside (ATTACH, COPY, INSTALL, PRAGMA, SET, ...) are
refused before they reach the engine.

What the engine cannot run (stored procedures, Snowflake Scripting beyond ``BEGIN ... END``
blocks of plain statements, stages, streams, ...) raises :class:`UnsupportedSqlError` with a
message saying so; the same definition runs on a real Snowflake account. So does SQL that
sqlglot could only translate by dropping meaning (e.g. TO_CHAR's format argument).

Speed: parsed definitions are cached (a definition runs at every fire), one watchdog thread
enforces timeouts, and each worker thread reuses a cursor between runs that ended cleanly. A
run still starts a fresh session: a cursor that ran a transaction statement or made a
temporary object is closed, not reused.

Known differences from Snowflake: identifiers are matched case-insensitively by DuckDB (two
tables named ``"orders"`` and ``ORDERS`` collide); VARIANT, OBJECT and ARRAY columns are
DuckDB JSON; session parameters are not applied (the engine's time zone is UTC); error codes
for engine-specific failures without a Snowflake counterpart are 100000 (runtime) or 000002
(unsupported); a task timeout is reported with the statement-timeout code 000630 (Snowflake's
exact code for USER_TASK_TIMEOUT_MS is not documented).
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

__all__ = [
    "MAX_RETURN_VALUE_BYTES",
    "SqlEngine",
    "TaskContext",
    "TaskSqlError",
    "UnsupportedSqlError",
]

# Snowflake error codes (as integers; shown zero-padded to six digits)
CODE_UNSUPPORTED = 2  # 000002 (0A000) Unsupported feature
CODE_INTERNAL = 603  # 000603 SQL execution internal error
CODE_CANCELED = 604  # 000604 SQL execution canceled
CODE_TIMEOUT = 630  # 000630 Statement reached its statement or warehouse timeout
CODE_INVALID_IDENTIFIER = 904  # 000904 invalid identifier
CODE_SYNTAX = 1003  # 001003 syntax error
CODE_ALREADY_EXISTS = 2002  # 002002 Object already exists
CODE_DOES_NOT_EXIST = 2003  # 002003 Object does not exist or not authorized
CODE_UNKNOWN_FUNCTION = 2140  # 002140 Unknown function
CODE_ACCESS = 3001  # 003001 Insufficient privileges
CODE_RUNTIME = 100000  # a generic runtime error of the local engine (no closer Snowflake code)
CODE_TIMESTAMP_FORMAT = 100035  # Timestamp '...' is not recognized
CODE_BOOLEAN_FORMAT = 100037  # Boolean value '...' is not recognized
CODE_NUMERIC_FORMAT = 100038  # Numeric value '...' is not recognized
CODE_DATE_FORMAT = 100040  # Date '...' is not recognized
CODE_OUT_OF_RANGE = 100046  # Number out of representable range
CODE_DIVISION_BY_ZERO = 100051  # Division by zero
CODE_NOT_NULL = 100072  # NULL result in a non-nullable column
CODE_FUNCTION_ARGUMENT = 100357  # a SYSTEM$ function called with an argument it cannot use

#: SYSTEM$SET_RETURN_VALUE accepts at most 10 kB of UTF-8 (task-semantics §7.2).
MAX_RETURN_VALUE_BYTES = 10 * 1024
#: How often SYSTEM$WAIT looks whether its statement was interrupted.
WAIT_POLL_SECONDS = 0.01
# a database dropped while a statement ran in it is re-created once that statement has let go
REATTACH_WAIT_SECONDS = 10.0
REAL_SNOWFLAKE_HINT = "The same definition runs on a real Snowflake account."

_SET_RETURN_UDF = "tasknb_set_return_value"
_WAIT_UDF = "tasknb_wait"


class TaskSqlError(Exception):
    """A task's SQL failed; ``code`` and ``message`` are Snowflake-style.

    >>> e = TaskSqlError(100051, "Division by zero"); (e.code_text, str(e))
    ('100051', 'Division by zero')
    """

    def __init__(self, code: int, message: str, sql_state: str | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.sql_state = sql_state

    @property
    def code_text(self) -> str:
        """The code as Snowflake prints it (six digits, zero-padded)."""
        return f"{self.code:06d}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code_text}, {self.message!r})"


class UnsupportedSqlError(TaskSqlError):
    """SQL that the local engine cannot run (it may well run on Snowflake).

    >>> str(UnsupportedSqlError("Stored procedures (CALL) are not supported.")).endswith("account.")
    True
    """

    def __init__(self, what: str, code: int = CODE_UNSUPPORTED) -> None:
        super().__init__(
            code,
            f"Unsupported feature in the local task server: {what} {REAL_SNOWFLAKE_HINT}",
            "0A000",
        )


@dataclass
class TaskContext:
    """Where and as what a task's SQL runs, and what it can see of its graph run.

        >>> TaskContext("DB", "PUBLIC", "CLEAN", "INGEST", predecessor_return_values={"INGEST": "42"}).task_name
        'CLEAN'

    ``predecessor_return_values`` holds the return values of the enabled immediate
    predecessors by bare name; ``ancestor_return_values`` those of further ancestors (used when a
    name is not an immediate predecessor). ``predecessor_states`` (bare name -> SUCCEEDED,
    FAILED, SKIPPED, CANCELLED or NOT_EXECUTED) feeds SYSTEM$PREDECESSORS_STATE and
    SYSTEM$TASK_COMPLETION_STATE. ``now`` (the server clock) is what CURRENT_TIMESTAMP and
    CURRENT_DATE return, so history made with a manual clock carries its virtual dates.
    ``runtime_info`` answers SYSTEM$TASK_RUNTIME_INFO (keys such as
    CURRENT_TASK_GRAPH_RUN_GROUP_ID). ``timeout_ms`` of 0 or None means no limit.
    """

    database: str
    schema: str
    task_name: str
    root_task_name: str
    graph_config: dict[str, Any] | None = None
    predecessor_return_values: dict[str, str | None] = field(default_factory=dict)
    session_parameters: dict[str, Any] = field(default_factory=dict)
    timeout_ms: int | None = None
    return_value: str | None = None
    ancestor_return_values: dict[str, str | None] = field(default_factory=dict)
    predecessor_states: dict[str, str] = field(default_factory=dict)
    runtime_info: dict[str, Any] = field(default_factory=dict)
    now: datetime | None = None


# ------------------------------------------------------------------------- statement splitting

# The statements a task may run; everything else is refused before it reaches DuckDB.
_FIRST_WORDS = {
    "SELECT",
    "WITH",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "VALUES",
    "(",
}
_OBJECT_KINDS = {"TABLE", "VIEW", "SEQUENCE"}
_CREATE_MODIFIERS = {
    "OR",
    "REPLACE",
    "TEMPORARY",
    "TEMP",
    "TRANSIENT",
    "LOCAL",
    "GLOBAL",
    "VOLATILE",
    "SECURE",
    "RECURSIVE",
    "IF",
    "NOT",
    "EXISTS",
}
_SCRIPTING_WORDS = {
    "DECLARE",
    "LET",
    "IF",
    "FOR",
    "WHILE",
    "LOOP",
    "REPEAT",
    "RETURN",
    "CASE",
    "EXCEPTION",
    "BREAK",
    "CONTINUE",
    "OPEN",
    "FETCH",
    "CLOSE",
    "RAISE",
    "AWAIT",
    "CANCEL",
    "ELSE",
    "ELSEIF",
}
_REFUSALS = {
    "CALL": "stored procedures (CALL) are not supported.",
    "EXECUTE": "EXECUTE IMMEDIATE / EXECUTE TASK are not supported inside a task.",
    "COPY": "COPY INTO (stages and files) is not supported.",
    "PUT": "PUT (stages and files) is not supported.",
    "GET": "GET (stages and files) is not supported.",
    "LIST": "stages are not supported.",
    "LS": "stages are not supported.",
    "REMOVE": "stages are not supported.",
    "USE": "USE is not supported; a task runs in its own database and schema (qualify names).",
    "SET": "session variables (SET) are not supported.",
    "UNSET": "session variables (UNSET) are not supported.",
    "SHOW": "SHOW commands are not supported inside a task.",
    "DESCRIBE": "DESCRIBE is not supported inside a task.",
    "DESC": "DESCRIBE is not supported inside a task.",
    "GRANT": "access control (GRANT) is not supported.",
    "REVOKE": "access control (REVOKE) is not supported.",
    "ATTACH": "ATTACH is not available.",
    "DETACH": "DETACH is not available.",
    "INSTALL": "extensions are not available.",
    "LOAD": "extensions are not available.",
    "PRAGMA": "PRAGMA is not available.",
    "EXPORT": "EXPORT is not available.",
    "IMPORT": "IMPORT is not available.",
}


@dataclass
class _Statement:
    text: str
    line: int  # line of the statement's first token in the definition (1-based)


def _tokenize(sql: str) -> list[Token]:
    try:
        return list(Snowflake().tokenize(sql))
    except TokenError as error:
        raise TaskSqlError(
            CODE_SYNTAX, f"SQL compilation error:\nsyntax error: {error}", "42000"
        ) from error


def _word(token: Token) -> str:
    if token.token_type in (TokenType.STRING, TokenType.RAW_STRING):
        return ""
    return token.text.upper()


def _split(sql: str, tokens: list[Token] | None = None) -> list[_Statement]:
    """Split a definition into plain statements, unwrapping simple BEGIN ... END blocks."""
    tokens = _tokenize(sql) if tokens is None else tokens
    statements: list[_Statement] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.token_type == TokenType.SEMICOLON:
            index += 1
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if (
            _word(token) == "BEGIN"
            and following is not None
            and _word(following) not in ("TRANSACTION", "WORK", "NAME", ";")
            and following.token_type != TokenType.SEMICOLON
        ):
            end = _matching_end(tokens, index)
            body = sql[token.end + 1 : tokens[end].start]
            statements.extend(_split(body))
            index = end + 1
            continue
        if _word(token) == "DECLARE":
            raise UnsupportedSqlError(
                "Snowflake Scripting (DECLARE) is not supported; only BEGIN ... END blocks of "
                "plain SQL statements run locally."
            )
        stop = index
        while stop < len(tokens) and tokens[stop].token_type != TokenType.SEMICOLON:
            stop += 1
        last = tokens[stop - 1]
        statements.append(_Statement(sql[token.start : last.end + 1], token.line))
        _check_statement(tokens[index:stop])
        index = stop + 1
    return statements


def _matching_end(tokens: list[Token], begin: int) -> int:
    depth = 0
    for position in range(begin, len(tokens)):
        word = _word(tokens[position])
        if word == "BEGIN" or word == "CASE":
            depth += 1
        elif word == "END":
            depth -= 1
            if depth == 0:
                return position
        elif word in ("EXCEPTION",) and depth == 1:
            raise UnsupportedSqlError(
                "Snowflake Scripting (EXCEPTION handlers) is not supported; only BEGIN ... END "
                "blocks of plain SQL statements run locally."
            )
    raise TaskSqlError(
        CODE_SYNTAX,
        "SQL compilation error:\nsyntax error: BEGIN without a matching END.",
        "42000",
    )


def _check_statement(tokens: list[Token]) -> None:
    first = _word(tokens[0])
    if first in _SCRIPTING_WORDS:
        raise UnsupportedSqlError(
            f"Snowflake Scripting ({first}) is not supported; only BEGIN ... END blocks of plain "
            "SQL statements run locally."
        )
    if first in _REFUSALS:
        raise UnsupportedSqlError(_REFUSALS[first])
    if (
        len(tokens) > 1
        and tokens[1].token_type == TokenType.COLON_EQ
        or any(t.text == ":=" for t in tokens[:3])
    ):
        raise UnsupportedSqlError(
            "Snowflake Scripting (variable assignment) is not supported; only BEGIN ... END "
            "blocks of plain SQL statements run locally."
        )
    if first not in _FIRST_WORDS:
        raise UnsupportedSqlError(f"statements starting with {first!r} are not supported.")
    if first in ("CREATE", "DROP", "ALTER"):
        words = [_word(t) for t in tokens[1:8]]
        kind = next((w for w in words if w not in _CREATE_MODIFIERS), "")
        if kind in ("DATABASE", "SCHEMA"):
            raise UnsupportedSqlError(
                f"{first} {kind} inside a task is not supported; manage databases and schemas "
                "through the REST API."
            )
        if kind in ("PROCEDURE", "FUNCTION"):
            raise UnsupportedSqlError(
                f"{first} {kind} (stored procedures and UDFs) is not supported."
            )
        if kind not in _OBJECT_KINDS:
            raise UnsupportedSqlError(
                f"{first} {kind or '...'} is not supported; tasks may create, alter and drop "
                "tables, views and sequences."
            )


# ---------------------------------------------------------------------------- SYSTEM$ helpers

_PREDECESSOR_CONDITIONS: dict[str, Callable[[list[str]], bool]] = {
    "ALL_SUCCEEDED": lambda s: all(x == "SUCCEEDED" for x in s),
    "ALL_FAILED": lambda s: all(x == "FAILED" for x in s),
    "ALL_DONE": lambda s: all(x in ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED") for x in s),
    "ALL_SKIPPED": lambda s: all(x == "SKIPPED" for x in s),
    "AT_LEAST_ONE_FAILED": lambda s: any(x == "FAILED" for x in s),
    "AT_LEAST_ONE_SUCCEEDED": lambda s: any(x == "SUCCEEDED" for x in s),
    "NONE_FAILED": lambda s: not any(x == "FAILED" for x in s),
    "NONE_FAILED_MIN_ONE_SUCCEEDED": lambda s: (
        not any(x == "FAILED" for x in s) and any(x == "SUCCEEDED" for x in s)
    ),
    "NONE_SKIPPED": lambda s: not any(x == "SKIPPED" for x in s),
}


def _string_args(node: exp.Anonymous, name: str, most: int) -> list[str]:
    args = list(node.expressions)
    if len(args) > most:
        raise TaskSqlError(
            CODE_FUNCTION_ARGUMENT,
            f"SQL compilation error:\n{name} takes at most {most} argument(s), got {len(args)}.",
        )
    values = []
    for arg in args:
        if not (isinstance(arg, exp.Literal) and arg.is_string):
            raise UnsupportedSqlError(
                f"{name} needs a string literal argument here (got {arg.sql('snowflake')})."
            )
        values.append(arg.this)
    return values


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    return exp.Literal.string(str(value))


def _config_value(config: dict[str, Any] | None, path: str | None) -> str | None:
    if config is None:
        return None
    value: Any = config
    if path:
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
            if part.startswith("["):
                position = int(part[1:-1])
                if not isinstance(value, list) or position >= len(value):
                    return None
                value = value[position]
            else:
                key = part.strip('"')
                if not isinstance(value, dict) or key not in value:
                    return None
                value = value[key]
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class _Rewriter:
    """Replaces SYSTEM$ calls and the clock functions for one run."""

    def __init__(self, ctx: TaskContext, call_id: str, *, condition: bool) -> None:
        self.ctx = ctx
        self.call_id = call_id
        self.condition = condition

    def __call__(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.name).upper().startswith("SYSTEM$"):
            return self.system_function(node, str(node.name).upper())
        if self.ctx.now is not None:
            now = self.ctx.now.astimezone(timezone.utc)
            if isinstance(node, exp.CurrentTimestamp):
                return exp.cast(exp.Literal.string(now.isoformat()), exp.DataType.Type.TIMESTAMPTZ)
            if isinstance(node, exp.CurrentDate):
                return exp.cast(exp.Literal.string(now.date().isoformat()), exp.DataType.Type.DATE)
        return node

    def system_function(self, node: exp.Anonymous, name: str) -> exp.Expression:
        ctx = self.ctx
        if name == "SYSTEM$SET_RETURN_VALUE":
            if self.condition:
                raise UnsupportedSqlError(
                    "SYSTEM$SET_RETURN_VALUE cannot be used in a WHEN condition."
                )
            if len(node.expressions) != 1:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    "SQL compilation error:\nSYSTEM$SET_RETURN_VALUE takes exactly one argument.",
                )
            value = exp.cast(node.expressions[0].copy(), exp.DataType.Type.VARCHAR)
            return exp.Anonymous(
                this=_SET_RETURN_UDF, expressions=[exp.Literal.string(self.call_id), value]
            )
        if name == "SYSTEM$WAIT":
            if self.condition:
                raise UnsupportedSqlError("SYSTEM$WAIT cannot be used in a WHEN condition.")
            args = list(node.expressions)
            if not 1 <= len(args) <= 2:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    "SQL compilation error:\nSYSTEM$WAIT(amount [, unit]) takes 1 or 2 arguments.",
                )
            unit = args[1] if len(args) == 2 else exp.Literal.string("SECONDS")
            return exp.Anonymous(
                this=_WAIT_UDF,
                expressions=[
                    exp.Literal.string(self.call_id),
                    exp.cast(args[0].copy(), exp.DataType.Type.DOUBLE),
                    exp.cast(unit.copy(), exp.DataType.Type.VARCHAR),
                ],
            )
        if name == "SYSTEM$GET_PREDECESSOR_RETURN_VALUE":
            return _literal(self.predecessor_value(_string_args(node, name, 1)))
        if name == "SYSTEM$GET_TASK_GRAPH_CONFIG":
            args = _string_args(node, name, 1)
            return _literal(_config_value(ctx.graph_config, args[0] if args else None))
        if name == "SYSTEM$TASK_RUNTIME_INFO":
            args = _string_args(node, name, 1)
            return _literal(self.runtime_info(args[0] if args else ""))
        if name == "SYSTEM$CURRENT_USER_TASK_NAME":
            return _literal(ctx.task_name)
        if name == "SYSTEM$TASK_COMPLETION_STATE":
            args = _string_args(node, name, 1)
            if not args:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    "SQL compilation error:\nSYSTEM$TASK_COMPLETION_STATE needs a task name.",
                )
            return _literal(ctx.predecessor_states.get(args[0], "NOT_EXECUTED"))
        if name == "SYSTEM$PREDECESSORS_STATE":
            args = _string_args(node, name, 1)
            condition = (args[0] if args else "ALL_SUCCEEDED").upper()
            check = _PREDECESSOR_CONDITIONS.get(condition)
            if check is None:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    f"SQL compilation error:\nSYSTEM$PREDECESSORS_STATE: unknown condition "
                    f"'{args[0]}'; use one of {', '.join(_PREDECESSOR_CONDITIONS)}.",
                )
            return _literal(check(list(ctx.predecessor_states.values())))
        if name == "SYSTEM$STREAM_HAS_DATA":
            raise UnsupportedSqlError("streams (SYSTEM$STREAM_HAS_DATA) are not supported.")
        raise UnsupportedSqlError(f"{name} is not available.")

    def predecessor_value(self, args: list[str]) -> str | None:
        ctx = self.ctx
        known = ctx.predecessor_return_values
        if not args:
            if len(known) == 1:
                return next(iter(known.values()))
            raise TaskSqlError(
                CODE_FUNCTION_ARGUMENT,
                f"SYSTEM$GET_PREDECESSOR_RETURN_VALUE needs a task name: task {ctx.task_name} has "
                f"{len(known)} enabled predecessors"
                + (f" ({', '.join(sorted(known))})." if known else "."),
            )
        wanted = args[0]
        if wanted in known:
            return known[wanted]
        if wanted in ctx.ancestor_return_values:
            return ctx.ancestor_return_values[wanted]
        hint = ""
        candidates = [
            n for n in (*known, *ctx.ancestor_return_values) if n.upper() == wanted.upper()
        ]
        if candidates:
            hint = f" Names are case-sensitive: did you mean '{candidates[0]}'?"
        raise TaskSqlError(
            CODE_FUNCTION_ARGUMENT,
            f"SYSTEM$GET_PREDECESSOR_RETURN_VALUE: '{wanted}' is not an enabled predecessor or "
            f"ancestor of task {ctx.task_name}.{hint}",
        )

    def runtime_info(self, key: str) -> str | None:
        ctx = self.ctx
        key = key.upper()
        qualified = f"{ctx.database}.{ctx.schema}"
        known: dict[str, Any] = {
            "CURRENT_TASK_NAME": f"{qualified}.{ctx.task_name}",
            "CURRENT_ROOT_TASK_NAME": f"{qualified}.{ctx.root_task_name}",
        }
        known.update({k.upper(): v for k, v in ctx.runtime_info.items()})
        if key not in known:
            raise TaskSqlError(
                CODE_FUNCTION_ARGUMENT,
                f"SYSTEM$TASK_RUNTIME_INFO: '{key}' is not known here; use one of "
                f"{', '.join(sorted(known))}.",
            )
        value = known[key]
        return None if value is None else str(value)


# ------------------------------------------------------------------------------ error mapping

_DUCK_PREFIX = re.compile(r"^[A-Za-z ]+ Error: ")


def _first_line(text: str) -> str:
    text = _DUCK_PREFIX.sub("", text.strip())
    return text.split("\n", 1)[0].strip()


_NAME_PART = r'(?:"(?:[^"]|"")+"|[A-Za-z_$][\w$]*)'
_DOTTED = re.compile(_NAME_PART + r"(?:\s*\.\s*" + _NAME_PART + r"){0,2}")


def _fold(part: str) -> str:
    """Snowflake's identifier folding: unquoted upper-cased, quoted kept."""
    if part.startswith('"') and part.endswith('"') and len(part) > 1:
        return part[1:-1].replace('""', '"')
    return part.upper()


def _references(statement: _Statement) -> list[list[str]]:
    """The dotted names written in a statement, as lists of folded parts."""
    refs = []
    for match in _DOTTED.finditer(statement.text):
        parts = re.findall(_NAME_PART, match.group(0))
        refs.append([_fold(p) for p in parts])
    return refs


def _qualify_parts(parts: list[str], ctx: TaskContext) -> list[str]:
    if len(parts) == 1:
        return [ctx.database, ctx.schema, *parts]
    if len(parts) == 2:
        return [ctx.database, *parts]
    return parts


def _qualify(name: str, ctx: TaskContext, statement: _Statement | None = None) -> str:
    """The fully qualified name of object ``name`` as the statement wrote it."""
    last = name.split(".")[-1].strip('"').upper()
    if statement is not None:
        for parts in _references(statement):
            if parts[-1].upper() == last:
                return ".".join(_qualify_parts(parts, ctx))
    return ".".join(_qualify_parts([p.strip('"').upper() for p in name.split(".")], ctx))


def _missing_container(
    schema_text: str, ctx: TaskContext, statement: _Statement, databases: set[str]
) -> TaskSqlError:
    """Database or schema missing, named as Snowflake names it."""
    wanted = schema_text.split(".")[-1].strip('"').upper()
    database, schema = ctx.database, wanted
    for parts in _references(statement):
        if len(parts) >= 2 and parts[-2].upper() == wanted:
            database = parts[0] if len(parts) == 3 else ctx.database
            schema = parts[-2]
            break
    if database.upper() not in {d.upper() for d in databases}:
        return TaskSqlError(
            CODE_DOES_NOT_EXIST,
            f"SQL compilation error:\nDatabase '{database}' does not exist or not authorized.",
            "02000",
        )
    return TaskSqlError(
        CODE_DOES_NOT_EXIST,
        f"SQL compilation error:\nSchema '{database}.{schema}' does not exist or not authorized.",
        "02000",
    )


def _missing_database(database: str) -> TaskSqlError:
    """002003 for a database that is not there, in Snowflake's words."""
    return TaskSqlError(
        CODE_DOES_NOT_EXIST,
        f"SQL compilation error:\nDatabase '{database}' does not exist or not authorized.",
        "02000",
    )


def _position(statement: _Statement, needle: str) -> tuple[int, int]:
    found = statement.text.upper().find(needle.upper())
    if found < 0:
        return statement.line, 0
    before = statement.text[:found]
    line = statement.line + before.count("\n")
    column = found - (before.rfind("\n") + 1)
    return line, column


def _map_duckdb_error(
    error: duckdb.Error, statement: _Statement, ctx: TaskContext, databases: set[str] | None = None
) -> TaskSqlError:
    databases = {ctx.database} if databases is None else databases
    raw = str(error)
    text = _first_line(raw)
    if "Division by zero" in raw:
        return TaskSqlError(CODE_DIVISION_BY_ZERO, "Division by zero", "22012")
    if isinstance(error, duckdb.CatalogException):
        match = re.search(r'does not exist because schema "([^"]+)" does not exist', text)
        if match is None:
            match = re.search(r"Schema with name \"?([^\"!]+?)\"? does not exist", text)
        if match:
            return _missing_container(match.group(1), ctx, statement, databases)
        match = re.search(r'(?:Table|View|Sequence) with name "?([^"!]+?)"? does not exist', text)
        if match:
            return TaskSqlError(
                CODE_DOES_NOT_EXIST,
                f"SQL compilation error:\nObject '{_qualify(match.group(1), ctx, statement)}' does "
                "not exist or not authorized.",
                "42S02",
            )
        match = re.search(r'Catalog (?:with name )?"?([^"!]+?)"? does not exist', text)
        if match:
            return _missing_database(match.group(1).upper())
        match = re.search(r'with name "?([^"!]+?)"? already exists', text)
        if match:
            return TaskSqlError(
                CODE_ALREADY_EXISTS,
                f"SQL compilation error:\nObject '{_qualify(match.group(1), ctx, statement)}' "
                "already exists.",
                "42710",
            )
        match = re.search(r'Function with name "?([\w$]+)"? does not exist', text)
        if match:
            return TaskSqlError(
                CODE_UNKNOWN_FUNCTION,
                f"SQL compilation error:\nUnknown function {match.group(1).upper()} (the local "
                f"engine does not provide it). {REAL_SNOWFLAKE_HINT}",
                "42601",
            )
    if isinstance(error, duckdb.BinderException):
        # the run's current database was dropped meanwhile: DuckDB names its (folded) catalog
        match = re.search(r'Catalog "([^"]+)" does not exist', text)
        if match:
            return _missing_database(match.group(1))
        match = re.search(r'Referenced column "?([^"]+?)"? not found', text) or re.search(
            r'column "?([^"]+?)"? (?:not found|does not exist)', text
        )
        if match:
            name = match.group(1)
            line, column = _position(statement, name)
            return TaskSqlError(
                CODE_INVALID_IDENTIFIER,
                f"SQL compilation error: error line {line} at position {column}\n"
                f"invalid identifier '{name.upper()}'",
                "42000",
            )
        return TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\n{text}", "42000")
    if isinstance(error, duckdb.ConversionException):
        match = re.search(r"Could not convert string ['\"](.*)['\"] to (\w+)", text)
        if match:
            value, target = match.groups()
            if target.startswith(
                ("INT", "UINT", "DECIMAL", "DOUBLE", "FLOAT", "BIGINT", "HUGEINT")
            ):
                return TaskSqlError(
                    CODE_NUMERIC_FORMAT, f"Numeric value '{value}' is not recognized", "22018"
                )
            if target == "DATE":
                return TaskSqlError(CODE_DATE_FORMAT, f"Date '{value}' is not recognized", "22007")
            if target.startswith("TIMESTAMP"):
                return TaskSqlError(
                    CODE_TIMESTAMP_FORMAT, f"Timestamp '{value}' is not recognized", "22007"
                )
            if target == "BOOL":
                return TaskSqlError(
                    CODE_BOOLEAN_FORMAT, f"Boolean value '{value}' is not recognized", "22018"
                )
        match = re.search(
            r'(date|timestamp) field (?:value out of range|format)[^"]*"([^"]*)"', text
        )
        if match:
            kind, value = match.groups()
            if kind == "date":
                return TaskSqlError(CODE_DATE_FORMAT, f"Date '{value}' is not recognized", "22007")
            return TaskSqlError(
                CODE_TIMESTAMP_FORMAT, f"Timestamp '{value}' is not recognized", "22007"
            )
        if "out of range" in text.lower() or "overflow" in text.lower():
            return TaskSqlError(
                CODE_OUT_OF_RANGE, f"Number out of representable range: {text}", "22003"
            )
        return TaskSqlError(CODE_NUMERIC_FORMAT, text, "22018")
    if isinstance(error, duckdb.OutOfRangeException):
        return TaskSqlError(
            CODE_OUT_OF_RANGE, f"Number out of representable range: {text}", "22003"
        )
    if isinstance(error, duckdb.ConstraintException):
        if "NOT NULL" in text:
            return TaskSqlError(CODE_NOT_NULL, "NULL result in a non-nullable column", "22000")
        return TaskSqlError(CODE_RUNTIME, text, "23000")
    if isinstance(error, duckdb.PermissionException):
        return TaskSqlError(
            CODE_ACCESS,
            "SQL access control error:\nInsufficient privileges: the local task server's SQL "
            "engine cannot read or write files or reach the network.",
            "42501",
        )
    if isinstance(error, duckdb.ParserException):
        return UnsupportedSqlError(
            f"the local engine could not run this statement ({text}).",
        )
    if isinstance(error, duckdb.NotImplementedException):
        return UnsupportedSqlError(f"the local engine does not implement this ({text}).")
    return TaskSqlError(CODE_RUNTIME, text, "P0000")


def _syntax_error(error: ParseError | TokenError, statement: _Statement) -> TaskSqlError:
    errors = getattr(error, "errors", None)
    detail = errors[0] if errors else {}
    line = statement.line + int(detail.get("line", 1) or 1) - 1
    column = int(detail.get("col", 0) or 0)
    token = str(detail.get("highlight") or "").strip()
    unexpected = f" unexpected '{token}'" if token else ""
    return TaskSqlError(
        CODE_SYNTAX,
        f"SQL compilation error:\nsyntax error line {line} at position {column}{unexpected}.",
        "42000",
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ------------------------------------------------------------------------------------- engine

_ALLOWED_EXPRESSIONS = (
    exp.Select,
    exp.SetOperation,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Values,
    exp.Subquery,
)
_CONDITION_FUNCTIONS = (
    exp.Cast,
    exp.TryCast,
    exp.Upper,
    exp.Lower,
    exp.Trim,
    exp.Coalesce,
    exp.Nullif,
    exp.Length,
    exp.If,
    exp.Anonymous,
)
_CONDITION_OPERATORS = (*_CONDITION_FUNCTIONS, exp.Connector, exp.Binary, exp.Unary, exp.Predicate)
_FORBIDDEN_IN_CONDITION = (exp.Column, exp.Table, exp.Subquery, exp.Star, exp.Placeholder)


_TEMPORARY = re.compile(r"\b(TEMP|TEMPORARY|VOLATILE|LOCAL)\b", re.IGNORECASE)
_TRANSACTION_WORDS = re.compile(r"\s*(BEGIN|START|COMMIT|ROLLBACK)\b", re.IGNORECASE)
#: Parsed definitions kept (a definition runs at every fire; parsing costs more than running).
COMPILE_CACHE_SIZE = 2048
#: Cursors a worker thread keeps, one per (database, schema).
MAX_POOLED_CURSORS = 16


_DUCKDB = Dialect.get_or_raise("duckdb")
_QUIET = threading.local()


class _DropWhileParsing(logging.Filter):
    """Drop sqlglot's warnings emitted while this module parses (they would reach a notebook's
    stderr); the engine reports what it cannot run as UnsupportedSqlError instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_QUIET, "active", False)


logging.getLogger("sqlglot").addFilter(_DropWhileParsing())


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    _QUIET.active = True
    try:
        yield
    finally:
        _QUIET.active = False


def _to_duckdb(tree: exp.Expression) -> str:
    """DuckDB SQL for a Snowflake tree; refuses what would silently change the meaning.

    Dropped table properties (TRANSIENT, CLUSTER BY, comments, retention) change nothing the
    local server can observe and are accepted; anything else sqlglot cannot translate (an
    argument it would drop, such as TO_CHAR's format) raises UnsupportedSqlError.
    """
    generator = _DUCKDB.generator(unsupported_level=ErrorLevel.IGNORE)
    try:
        sql = generator.generate(tree, copy=True)
    except sqlglot.errors.UnsupportedError as error:
        raise UnsupportedSqlError(f"this statement cannot be translated ({error}).") from error
    problems = [
        m for m in generator.unsupported_messages if not m.startswith("Unsupported property")
    ]
    if problems:
        raise UnsupportedSqlError(
            f"the local engine cannot translate this statement: {problems[0]}"
        )
    return sql


def _needs_context(tree: exp.Expression) -> bool:
    for node in tree.walk():
        if isinstance(node, (exp.CurrentTimestamp, exp.CurrentDate)):
            return True
        if isinstance(node, exp.Anonymous) and str(node.name).upper().startswith("SYSTEM$"):
            return True
    return False


def _semi_structured_as_json(node: exp.Expression) -> exp.Expression:
    """VARIANT, OBJECT and untyped ARRAY columns become DuckDB JSON (``a:x`` paths work)."""
    if isinstance(node, exp.DataType) and (
        node.this in (exp.DataType.Type.VARIANT, exp.DataType.Type.OBJECT)
        or (node.this == exp.DataType.Type.ARRAY and not node.expressions)
    ):
        return exp.DataType.build("JSON")
    return node


def _normalise(statement: _Statement, tree: exp.Expression) -> list[exp.Expression]:
    """Context-free rewrites Snowflake -> DuckDB that sqlglot does not do on its own."""
    for node in tree.walk():
        if isinstance(node, exp.Explode) and isinstance(node.parent, exp.Lateral):
            raise UnsupportedSqlError("LATERAL FLATTEN is not supported by the local engine.")
    tree = tree.transform(_semi_structured_as_json)
    if isinstance(tree, exp.Insert) and tree.args.get("overwrite"):
        # INSERT OVERWRITE = empty the table and insert, in one transaction
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        insert = tree.copy()
        insert.set("overwrite", None)
        return [
            exp.Transaction(),
            exp.Delete(this=target.copy()),
            insert,
            exp.Commit(),
        ]
    return [tree]


@lru_cache(maxsize=COMPILE_CACHE_SIZE)
def _compile(sql: str) -> tuple[tuple[_Statement, exp.Expression, str | None], ...]:
    """Split and parse a definition once: (statement, tree, DuckDB SQL if context-free)."""
    compiled = []
    for statement in _split(sql):
        for tree in _normalise(statement, SqlEngine._parse(statement)):
            static_sql = None if _needs_context(tree) else _to_duckdb(tree)
            compiled.append((statement, tree, static_sql))
    return tuple(compiled)


class _Watchdog:
    """One thread that fires timeouts (a timer thread per run would cost more than a run)."""

    def __init__(self, on_timeout: Callable[[str], None]) -> None:
        self._on_timeout = on_timeout
        self._heap: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def watch(self, deadline: float, call_id: str) -> None:
        """Call ``on_timeout(call_id)`` at ``deadline`` (time.monotonic) unless it is over."""
        with self._cond:
            heapq.heappush(self._heap, (deadline, call_id))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="tasknb-sql-timeouts", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, call_id = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            self._on_timeout(call_id)  # a finished run is simply not found


@dataclass
class _RunState:
    database: str = ""
    cursor: duckdb.DuckDBPyConnection | None = None
    timed_out: bool = False
    canceled: bool = False
    dropped: bool = False  # its database was dropped while it ran

    @property
    def stopped(self) -> bool:
        return self.timed_out or self.canceled or self.dropped


_HANDLE_CONFLICT = "Unique file handle conflict"


class _StillInUse(TaskSqlError):
    """ATTACH refused: a detached catalog with the same file is still used by a statement."""

    def __init__(self) -> None:
        super().__init__(CODE_INTERNAL, "The database's previous file is still in use.")


class SqlEngine:
    """The embedded SQL engine of the local server (thread-safe: a cursor per call).

        >>> SqlEngine().condition_holds("1 = 1", TaskContext("D", "S", "T", "T"))
        True

    ``path`` is the main DuckDB file in the data directory (per-database files live next to it
    in ``<path>.databases/``); None keeps everything in memory. ``databases``, when given, are
    the databases that exist (the service's store): files of any other database are deleted at
    start-up instead of attached, so a dropped database never comes back.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 databases: Iterable[str] | None = None) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, _RunState] = {}
        self._return_values: dict[str, str | None] = {}
        self._databases: dict[str, str] = {}  # Snowflake database name -> attach target
        # dropped since: a run still going there fails (002003) instead of re-creating them;
        # ensure_schema (the service creating them again) lifts this
        self._dropped_databases: set[str] = set()
        self._dropped_schemas: set[tuple[str, str]] = set()
        self._closed = False
        self._local = threading.local()
        self._generation = 0  # bumped when a schema or database goes: pooled cursors expire
        self._watchdog = _Watchdog(lambda call_id: self._stop(call_id, "timeout"))
        if path is None:
            self._dir: Path | None = None
            self._con = duckdb.connect(":memory:", config={"ieee_floating_point_ops": False})
        else:
            main = Path(path).resolve()
            main.parent.mkdir(parents=True, exist_ok=True)
            self._dir = main.with_name(main.name + ".databases")
            self._dir.mkdir(exist_ok=True)
            self._con = duckdb.connect(str(main), config={"ieee_floating_point_ops": False})
        con = self._con
        if self._dir is not None:
            allowed = str(self._dir) + os.sep
            con.execute(f"SET allowed_directories = [{_sql_string(allowed)}]")
            con.execute(f"SET temp_directory = {_sql_string(str(self._dir / '.tmp'))}")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET lock_configuration = true")
        con.create_function(
            _SET_RETURN_UDF,
            self._set_return_value,
            ["VARCHAR", "VARCHAR"],
            "VARCHAR",
            null_handling="special",
            side_effects=True,
        )
        con.create_function(
            _WAIT_UDF,
            self._wait,
            ["VARCHAR", "DOUBLE", "VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
        if self._dir is not None:
            known = None if databases is None else set(databases)
            for file in sorted(self._dir.glob("*.duckdb")):
                name = _decode_database_file(file.name)
                if name is None:
                    continue
                if known is not None and name not in known:
                    _remove_database_file(str(file))
                    continue
                self._attach(name)

    # -------------------------------------------------------------------------- containers

    def _attach(self, database: str) -> None:
        if database in self._databases:
            return
        target = ":memory:" if self._dir is None else str(self._dir / _database_file(database))
        try:
            self._con.execute(f"ATTACH {_sql_string(target)} AS {_quote(database)}")
        except duckdb.Error as error:
            if _HANDLE_CONFLICT in str(error):
                raise _StillInUse() from error
            raise TaskSqlError(
                CODE_INTERNAL,
                f"The local SQL engine could not open database {database!r}: {_first_line(str(error))}. "
                "Database names that differ only in case are not supported locally.",
            ) from error
        self._databases[database] = target

    def ensure_schema(self, database: str, schema: str) -> None:
        """Create the database's catalog and the schema if missing (idempotent)."""
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
            time.sleep(WAIT_POLL_SECONDS)

    def _create_schema(self, database: str, schema: str) -> None:
        with self._lock:
            self._check_open()
            self._attach(database)
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(database)}.{_quote(schema)}")

    def drop_database(self, database: str) -> None:
        """Detach the database's catalog and delete its file (no error if absent)."""
        with self._lock:
            self._check_open()
            self._dropped_databases.add(database)
            self._dropped_schemas = {key for key in self._dropped_schemas if key[0] != database}
            target = self._databases.pop(database, None)
            if target is None:
                return
            self._generation += 1
            going = [call for call, state in self._runs.items() if state.database == database]
        for call_id in going:  # they fail with 002003, as the next statement would
            self._stop(call_id, "dropped")
        with self._lock:
            self._con.execute(f"DETACH DATABASE IF EXISTS {_quote(database)}")
            if target != ":memory:":
                _remove_database_file(target)

    def drop_schema(self, database: str, schema: str) -> None:
        """Drop a schema and everything in it (no error if absent)."""
        with self._lock:
            self._check_open()
            if database not in self._databases:
                return
            self._dropped_schemas.add((database, schema))
            self._generation += 1
            self._con.execute(f"DROP SCHEMA IF EXISTS {_quote(database)}.{_quote(schema)} CASCADE")

    def query(self, sql: str, database: str, schema: str) -> list[tuple[Any, ...]]:
        """Run one read-only Snowflake SELECT and return its rows (for tests and the seed).

        >>> e = SqlEngine(); e.ensure_schema("D", "S"); e.query("SELECT 1 + 1", "D", "S")
        [(2,)]
        """
        statements = _split(sql)
        if len(statements) != 1:
            raise TaskSqlError(CODE_SYNTAX, "query() takes exactly one statement.")
        tree = self._parse(statements[0])
        if not isinstance(tree, (exp.Select, exp.SetOperation)):
            raise UnsupportedSqlError("query() only runs SELECT statements.")
        ctx = TaskContext(database, schema, "", "")
        cursor = self._cursor(ctx)
        try:
            return cursor.execute(_to_duckdb(tree)).fetchall()
        except duckdb.Error as error:
            raise _map_duckdb_error(error, statements[0], ctx, set(self._databases)) from error
        finally:
            cursor.close()

    # ---------------------------------------------------------------------------------- runs

    def run(self, sql: str, ctx: TaskContext) -> None:
        """Run a task definition; raises TaskSqlError (or UnsupportedSqlError) on failure.

        Statements run in order, each committed on its own; the first failure stops the run.
        ``ctx.timeout_ms`` interrupts a statement still running at the deadline (code 000630).
        ``ctx.return_value`` is set when the SQL calls SYSTEM$SET_RETURN_VALUE.
        """
        self._check_open()
        call_id = uuid.uuid4().hex
        statements = self._prepare(sql, ctx, call_id)
        state = _RunState(database=ctx.database)
        deadline = None
        with self._lock:
            self._runs[call_id] = state
        try:
            cursor = self._take_cursor(ctx)
        except BaseException:
            with self._lock:
                self._runs.pop(call_id, None)
            raise
        state.cursor = cursor
        if ctx.timeout_ms:
            deadline = time.monotonic() + ctx.timeout_ms / 1000.0
            self._watchdog.watch(deadline, call_id)
        clean = False
        try:
            for statement, duck_sql in statements:
                if state.stopped or (deadline is not None and time.monotonic() >= deadline):
                    state.timed_out = state.timed_out or not state.canceled
                    raise self._stopped_error(state, ctx)
                try:
                    cursor.execute(duck_sql)
                except duckdb.InterruptException as error:
                    raise self._stopped_error(state, ctx) from error
                except duckdb.Error as error:
                    if state.stopped:
                        raise self._stopped_error(state, ctx) from error
                    raise _map_duckdb_error(error, statement, ctx, set(self._databases)) from error
                self._check_return_value(call_id)
            # a session-bound leftover (open transaction, temporary table) must not leak into
            # the next run: Snowflake gives every task run a new session
            clean = not any(
                _TRANSACTION_WORDS.match(st.text) or _TEMPORARY.search(st.text)
                for st, _ in statements
            ) and not any(_TRANSACTION_WORDS.match(duck) for _, duck in statements)
        finally:
            with self._lock:
                self._runs.pop(call_id, None)
                reusable = clean and not state.stopped
            if call_id in self._return_values:
                ctx.return_value = self._return_values.pop(call_id)
            self._give_back_cursor(ctx, cursor, reusable)

    def cancel_all(self) -> None:
        """Interrupt every running statement (their runs fail with 000604, canceled)."""
        with self._lock:
            calls = list(self._runs)
        for call_id in calls:
            self._stop(call_id, "cancel")

    def condition_holds(self, expr: str, ctx: TaskContext) -> bool:
        """Evaluate a WHEN condition; NULL counts as false.

            >>> SqlEngine().condition_holds("SYSTEM$GET_PREDECESSOR_RETURN_VALUE('A')::INT > 1",
            ...     TaskContext("D", "S", "B", "A", predecessor_return_values={"A": "5"}))
            True

        Allowed: literals, casts, comparisons, AND/OR/NOT, IS [NOT] NULL, IN, BETWEEN, LIKE,
        a few string functions and the SYSTEM$ functions of task graphs. Tables, columns,
        subqueries and PARSE_JSON are refused (Snowflake evaluates WHEN without a warehouse).
        """
        self._check_open()
        if not isinstance(expr, str) or not expr.strip():
            raise TaskSqlError(
                CODE_SYNTAX, "SQL compilation error:\nempty WHEN condition.", "42000"
            )
        statement = _Statement(expr, 1)
        try:
            with _quiet_sqlglot():
                tree = sqlglot.parse_one(f"SELECT ({expr})", read="snowflake")
        except (ParseError, TokenError) as error:
            raise _syntax_error(error, statement) from error
        if not isinstance(tree, exp.Select) or len(tree.expressions) != 1 or tree.args.get("from"):
            raise UnsupportedSqlError("a WHEN condition must be a single boolean expression.")
        condition = tree.expressions[0]
        for node in condition.walk():
            if isinstance(node, exp.ParseJSON) or (
                isinstance(node, exp.Anonymous) and str(node.name).upper() == "PARSE_JSON"
            ):
                raise UnsupportedSqlError(
                    "PARSE_JSON is not allowed in a WHEN condition (Snowflake refuses it too)."
                )
            if isinstance(node, _FORBIDDEN_IN_CONDITION):
                raise UnsupportedSqlError(
                    f"a WHEN condition cannot read tables or columns ({node.sql('snowflake')}); "
                    "use SYSTEM$GET_PREDECESSOR_RETURN_VALUE or SYSTEM$STREAM_HAS_DATA."
                )
            if isinstance(node, exp.Func) and not isinstance(node, _CONDITION_OPERATORS):
                raise UnsupportedSqlError(
                    f"{node.sql('snowflake')} is not allowed in a WHEN condition."
                )
            if isinstance(node, exp.Anonymous) and not str(node.name).upper().startswith("SYSTEM$"):
                raise UnsupportedSqlError(f"{node.name} is not allowed in a WHEN condition.")
        rewritten = condition.transform(_Rewriter(ctx, "", condition=True))
        query = exp.select(exp.cast(exp.paren(rewritten), exp.DataType.Type.BOOLEAN))
        cursor = self._con.cursor()
        try:
            row = cursor.execute(_to_duckdb(query)).fetchone()
        except duckdb.Error as error:
            raise _map_duckdb_error(error, statement, ctx, set(self._databases)) from error
        finally:
            cursor.close()
        return bool(row and row[0] is True)

    def close(self) -> None:
        """Interrupt running statements and close the engine (files are checkpointed)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.cancel_all()
        self._watchdog.stop()
        try:
            self._con.close()
        except duckdb.Error:
            pass

    # ------------------------------------------------------------------------------ helpers

    def _check_open(self) -> None:
        if self._closed:
            raise TaskSqlError(CODE_INTERNAL, "The local SQL engine is closed.")

    def _cursor(self, ctx: TaskContext) -> duckdb.DuckDBPyConnection:
        cursor = self._con.cursor()
        use = f"USE {_quote(ctx.database)}.{_quote(ctx.schema)}"
        try:
            cursor.execute(use)
        except duckdb.Error:
            with self._lock:
                dropped_database = ctx.database in self._dropped_databases
                dropped = dropped_database or (ctx.database, ctx.schema) in self._dropped_schemas
            if dropped_database:
                cursor.close()
                raise _missing_database(ctx.database) from None
            try:
                if dropped:
                    raise TaskSqlError(CODE_DOES_NOT_EXIST, "dropped while the run went on")
                self._create_schema(ctx.database, ctx.schema)
                cursor.execute(use)
            except (duckdb.Error, TaskSqlError) as error:
                cursor.close()
                raise TaskSqlError(
                    CODE_DOES_NOT_EXIST,
                    f"SQL compilation error:\nSchema '{ctx.database}.{ctx.schema}' does not exist "
                    "or not authorized.",
                    "02000",
                ) from error
        return cursor

    def _take_cursor(self, ctx: TaskContext) -> duckdb.DuckDBPyConnection:
        """A cursor placed in ctx's schema: this thread's pooled one, or a new one."""
        pool: dict[tuple[str, str], tuple[int, Any]] = self._local.__dict__.setdefault("pool", {})
        entry = pool.pop((ctx.database, ctx.schema), None)
        if entry is not None:
            generation, cursor = entry
            if generation == self._generation:
                return cursor
            cursor.close()
        return self._cursor(ctx)

    def _give_back_cursor(
        self, ctx: TaskContext, cursor: duckdb.DuckDBPyConnection, reusable: bool
    ) -> None:
        """Keep a cursor that ended cleanly for this thread's next run in the same schema."""
        pool: dict[tuple[str, str], tuple[int, Any]] = self._local.__dict__.setdefault("pool", {})
        key = (ctx.database, ctx.schema)
        if reusable and not self._closed and key not in pool and len(pool) < MAX_POOLED_CURSORS:
            pool[key] = (self._generation, cursor)
        else:
            cursor.close()

    @staticmethod
    def _parse(statement: _Statement) -> exp.Expression:
        try:
            with _quiet_sqlglot():
                tree = sqlglot.parse_one(statement.text, read="snowflake")
        except (ParseError, TokenError) as error:
            raise _syntax_error(error, statement) from error
        if isinstance(tree, exp.Command) or not isinstance(tree, _ALLOWED_EXPRESSIONS):
            word = statement.text.split(None, 1)[0].upper() if statement.text.strip() else "?"
            raise UnsupportedSqlError(f"statements of the kind {word!r} are not supported.")
        return tree

    def _prepare(self, sql: str, ctx: TaskContext, call_id: str) -> list[tuple[_Statement, str]]:
        if not isinstance(sql, str) or not sql.strip():
            raise TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nEmpty SQL statement.", "42000")
        rewriter = _Rewriter(ctx, call_id, condition=False)
        prepared = []
        for statement, tree, static_sql in _compile(sql):
            if static_sql is not None:  # no SYSTEM$ call, no clock function
                prepared.append((statement, static_sql))
                continue
            prepared.append((statement, _to_duckdb(tree.transform(rewriter))))
        return prepared

    def _stop(self, call_id: str, why: str) -> None:
        with self._lock:
            state = self._runs.get(call_id)
        if state is None:
            return
        if why == "timeout":
            state.timed_out = True
        elif why == "dropped":
            state.dropped = True
        else:
            state.canceled = True
        if state.cursor is not None:
            try:
                state.cursor.interrupt()
            except duckdb.Error:
                pass

    @staticmethod
    def _stopped_error(state: _RunState, ctx: TaskContext) -> TaskSqlError:
        if state.dropped:
            return _missing_database(ctx.database)
        if state.timed_out and ctx.timeout_ms:
            seconds = ctx.timeout_ms / 1000.0
            shown = f"{seconds:g}" if seconds != int(seconds) else f"{int(seconds):,}"
            return TaskSqlError(
                CODE_TIMEOUT,
                f"Statement reached its statement or warehouse timeout of {shown} second(s) and "
                f"was canceled. (USER_TASK_TIMEOUT_MS = {ctx.timeout_ms})",
                "57014",
            )
        return TaskSqlError(CODE_CANCELED, "SQL execution canceled", "57014")

    def _set_return_value(self, call_id: str | None, value: str | None) -> str | None:
        if call_id is not None:
            self._return_values[call_id] = value
        return value

    def _check_return_value(self, call_id: str) -> None:
        value = self._return_values.get(call_id)
        if value is not None and len(value.encode("utf-8")) > MAX_RETURN_VALUE_BYTES:
            raise TaskSqlError(
                CODE_FUNCTION_ARGUMENT,
                f"SYSTEM$SET_RETURN_VALUE: the value is {len(value.encode('utf-8')):,} bytes; "
                f"the maximum is {MAX_RETURN_VALUE_BYTES:,} bytes (10 kB).",
            )

    def _wait(self, call_id: str, amount: float, unit: str) -> str:
        factors = {"SECONDS": 1.0, "MILLISECONDS": 0.001, "MINUTES": 60.0, "HOURS": 3600.0}
        factor = factors.get(unit.upper())
        if factor is None:
            raise ValueError(f"SYSTEM$WAIT: unit must be one of {', '.join(factors)}")
        end = time.monotonic() + amount * factor
        while time.monotonic() < end:
            with self._lock:
                state = self._runs.get(call_id)
            if state is None or state.stopped:
                raise InterruptedError("interrupted")
            time.sleep(min(WAIT_POLL_SECONDS, max(0.0, end - time.monotonic())))
        return f"waited {amount:g} {unit.lower()}"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _database_file(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]", "_", name)[:40]
    return f"{slug}-{name.encode('utf-8').hex()}.duckdb"


def _remove_database_file(target: str) -> None:
    """Delete a database file and its write-ahead log (no error if absent)."""
    for suffix in ("", ".wal"):
        try:
            os.remove(target + suffix)
        except FileNotFoundError:
            pass


def _decode_database_file(file_name: str) -> str | None:
    match = re.fullmatch(r".*-([0-9a-f]+)\.duckdb", file_name)
    if not match:
        return None
    try:
        return bytes.fromhex(match.group(1)).decode("utf-8")
    except ValueError:
        return None
