"""DuckDB errors -> Snowflake errors, as one ordered table of rules.

    >>> import duckdb
    >>> from tasknb.local.sql.statements import Statement
    >>> ctx = TaskContext("SALES", "PUBLIC", "T", "T")
    >>> error = duckdb.CatalogException("Catalog Error: Table with name orders does not exist!")
    >>> map_duckdb_error(error, Statement("SELECT * FROM orders", 1), ctx).message
    "SQL compilation error:\\nObject 'SALES.PUBLIC.ORDERS' does not exist or not authorized."

The first rule whose exception kind and pattern match builds the error; a builder that
returns None passes the error on to the next rule. Messages never carry DuckDB's multi-line
hints or terminal escape codes: only the first line of DuckDB's text is quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from tasknb.local.sql import limits
from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.errors import (
    CODE_ACCESS,
    CODE_ALREADY_EXISTS,
    CODE_BOOLEAN_FORMAT,
    CODE_DATE_FORMAT,
    CODE_DIVISION_BY_ZERO,
    CODE_DOES_NOT_EXIST,
    CODE_INTERNAL,
    CODE_INVALID_IDENTIFIER,
    CODE_MAX_LOB_SIZE,
    CODE_NOT_NULL,
    CODE_NUMERIC_FORMAT,
    CODE_OUT_OF_RANGE,
    CODE_RUNTIME,
    CODE_SYNTAX,
    CODE_TIMESTAMP_FORMAT,
    CODE_UNKNOWN_FUNCTION,
    REAL_SNOWFLAKE_HINT,
    SQLSTATE_DISK_FULL,
    SQLSTATE_OUT_OF_MEMORY,
    TaskSqlError,
    UnsupportedSqlError,
    missing_database,
)
from tasknb.local.sql.names import position, qualify, references
from tasknb.local.sql.statements import Statement

_DUCK_PREFIX = re.compile(r"^[A-Za-z ]+ Error: ")
_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def first_line(text: str) -> str:
    """DuckDB's message without its ``Xxx Error:`` prefix, hints and escape codes.

    >>> first_line("Binder Error: Referenced column x not found\\n\\nLINE 1: ...")
    'Referenced column x not found'
    """
    text = _DUCK_PREFIX.sub("", _ESCAPES.sub("", text).strip())
    return text.split("\n", 1)[0].strip()


@dataclass(frozen=True)
class _Where:
    """What a builder knows besides the match: the statement, the run, the databases."""

    statement: Statement
    ctx: TaskContext
    databases: set[str]
    text: str


Builder = Callable[[re.Match[str], _Where], "TaskSqlError | None"]


@dataclass(frozen=True)
class Rule:
    """``kind`` (None: any DuckDB error) and ``pattern`` (searched in the first line, or the
    whole text with ``whole``) select the errors ``build`` turns into a TaskSqlError."""

    kind: type[duckdb.Error] | None
    pattern: re.Pattern[str]
    build: Builder
    whole: bool = False


def _missing_container(match: re.Match[str], where: _Where) -> TaskSqlError:
    """Database or schema missing, named as Snowflake names it."""
    wanted = match.group(1).split(".")[-1].strip('"').upper()
    database, schema = where.ctx.database, wanted
    for parts in references(where.statement):
        if len(parts) >= 2 and parts[-2].upper() == wanted:
            database = parts[0] if len(parts) == 3 else where.ctx.database
            schema = parts[-2]
            break
    if database.upper() not in {d.upper() for d in where.databases}:
        return missing_database(database)
    return TaskSqlError(
        CODE_DOES_NOT_EXIST,
        f"SQL compilation error:\nSchema '{database}.{schema}' does not exist or not authorized.",
        "02000",
    )


def _missing_object(match: re.Match[str], where: _Where) -> TaskSqlError:
    name = qualify(match.group(1), where.ctx, where.statement)
    return TaskSqlError(
        CODE_DOES_NOT_EXIST,
        f"SQL compilation error:\nObject '{name}' does not exist or not authorized.",
        "42S02",
    )


def _existing_object(match: re.Match[str], where: _Where) -> TaskSqlError:
    name = qualify(match.group(1), where.ctx, where.statement)
    return TaskSqlError(
        CODE_ALREADY_EXISTS, f"SQL compilation error:\nObject '{name}' already exists.", "42710"
    )


def _unknown_function(match: re.Match[str], where: _Where) -> TaskSqlError:
    return TaskSqlError(
        CODE_UNKNOWN_FUNCTION,
        f"SQL compilation error:\nUnknown function {match.group(1).upper()} (the local "
        f"engine does not provide it). {REAL_SNOWFLAKE_HINT}",
        "42601",
    )


def _invalid_identifier(match: re.Match[str], where: _Where) -> TaskSqlError:
    name = match.group(1)
    line, column = position(where.statement, name)
    return TaskSqlError(
        CODE_INVALID_IDENTIFIER,
        f"SQL compilation error: error line {line} at position {column}\n"
        f"invalid identifier '{name.upper()}'",
        "42000",
    )


_NUMERIC_TARGETS = ("INT", "UINT", "DECIMAL", "DOUBLE", "FLOAT", "BIGINT", "HUGEINT")


def _not_recognized(kind: str, value: str) -> TaskSqlError:
    code, state = {
        "numeric": (CODE_NUMERIC_FORMAT, "22018"),
        "date": (CODE_DATE_FORMAT, "22007"),
        "timestamp": (CODE_TIMESTAMP_FORMAT, "22007"),
        "boolean": (CODE_BOOLEAN_FORMAT, "22018"),
    }[kind]
    label = {"numeric": "Numeric value", "boolean": "Boolean value"}.get(kind, kind.title())
    return TaskSqlError(code, f"{label} '{value}' is not recognized", state)


def _conversion(match: re.Match[str], where: _Where) -> TaskSqlError | None:
    value, target = match.groups()
    if target.startswith(_NUMERIC_TARGETS):
        return _not_recognized("numeric", value)
    if target == "DATE":
        return _not_recognized("date", value)
    if target.startswith("TIMESTAMP"):
        return _not_recognized("timestamp", value)
    if target == "BOOL":
        return _not_recognized("boolean", value)
    return None


def _field_format(match: re.Match[str], where: _Where) -> TaskSqlError:
    kind, value = match.groups()
    return _not_recognized("date" if kind == "date" else "timestamp", value)


def _out_of_range(match: re.Match[str], where: _Where) -> TaskSqlError:
    return TaskSqlError(
        CODE_OUT_OF_RANGE, f"Number out of representable range: {where.text}", "22003"
    )


def _disk_full(match: re.Match[str], where: _Where) -> TaskSqlError:
    return TaskSqlError(
        CODE_INTERNAL,
        "SQL execution internal error: the local server's disk is full "
        f"({match.group(0)}); the statement was rolled back. Free some space where the "
        "server keeps its data and run the task again.",
        SQLSTATE_DISK_FULL,
    )


def _out_of_memory(match: re.Match[str], where: _Where) -> TaskSqlError:
    return TaskSqlError(
        CODE_INTERNAL,
        "SQL execution internal error: the statement needs more memory than the local "
        f"engine's limit ({where.text}).",
        SQLSTATE_OUT_OF_MEMORY,
    )


def _max_lob_size(match: re.Match[str], where: _Where) -> TaskSqlError:
    return TaskSqlError(CODE_MAX_LOB_SIZE, match.group(0), "22000")


def _fixed(code: int, message: str, state: str) -> Builder:
    return lambda match, where: TaskSqlError(code, message, state)


def _quoting(code: int, prefix: str, state: str) -> Builder:
    return lambda match, where: TaskSqlError(code, f"{prefix}{where.text}", state)


def _unsupported(what: str) -> Builder:
    return lambda match, where: UnsupportedSqlError(what.format(where.text))


_ANY = re.compile("")
_NO_SPACE = re.compile(r"No space left on device|File too large|Disk quota exceeded")
_PRIVILEGES = (
    "SQL access control error:\nInsufficient privileges: the local task server's SQL engine "
    "cannot read or write files or reach the network."
)

RULES: tuple[Rule, ...] = (
    Rule(None, re.compile("Division by zero"),
         _fixed(CODE_DIVISION_BY_ZERO, "Division by zero", "22012"), whole=True),
    Rule(None, _NO_SPACE, _disk_full, whole=True),
    Rule(None, re.compile(re.escape(limits.TOO_LARGE_PREFIX) + r".*"), _max_lob_size),
    Rule(duckdb.OutOfMemoryException, _ANY, _out_of_memory),
    Rule(duckdb.CatalogException,
         re.compile(r'does not exist because schema "([^"]+)" does not exist'), _missing_container),
    Rule(duckdb.CatalogException,
         re.compile(r"Schema with name \"?([^\"!]+?)\"? does not exist"), _missing_container),
    Rule(duckdb.CatalogException,
         re.compile(r'(?:Table|View|Sequence) with name "?([^"!]+?)"? does not exist'),
         _missing_object),
    Rule(duckdb.CatalogException, re.compile(r'Catalog (?:with name )?"?([^"!]+?)"? does not exist'),
         lambda match, where: missing_database(match.group(1).upper())),
    Rule(duckdb.CatalogException, re.compile(r'with name "?([^"!]+?)"? already exists'),
         _existing_object),
    Rule(duckdb.CatalogException, re.compile(r'Function with name "?([\w$]+)"? does not exist'),
         _unknown_function),
    # the run's current database was dropped meanwhile: DuckDB names its (folded) catalog
    Rule(duckdb.BinderException, re.compile(r'Catalog "([^"]+)" does not exist'),
         lambda match, where: missing_database(match.group(1))),
    Rule(duckdb.BinderException, re.compile(r'Referenced column "?([^"]+?)"? not found'),
         _invalid_identifier),
    Rule(duckdb.BinderException, re.compile(r'column "?([^"]+?)"? (?:not found|does not exist)'),
         _invalid_identifier),
    Rule(duckdb.BinderException, _ANY, _quoting(CODE_SYNTAX, "SQL compilation error:\n", "42000")),
    Rule(duckdb.ConversionException, re.compile(r"Could not convert string ['\"](.*)['\"] to (\w+)"),
         _conversion),
    Rule(duckdb.ConversionException,
         re.compile(r'(date|timestamp) field (?:value out of range|format)[^"]*"([^"]*)"'),
         _field_format),
    Rule(duckdb.ConversionException, re.compile("out of range|overflow", re.IGNORECASE),
         _out_of_range),
    Rule(duckdb.ConversionException, _ANY, _quoting(CODE_NUMERIC_FORMAT, "", "22018")),
    Rule(duckdb.OutOfRangeException, _ANY, _out_of_range),
    Rule(duckdb.ConstraintException, re.compile("NOT NULL"),
         _fixed(CODE_NOT_NULL, "NULL result in a non-nullable column", "22000")),
    Rule(duckdb.ConstraintException, _ANY, _quoting(CODE_RUNTIME, "", "23000")),
    Rule(duckdb.PermissionException, _ANY, _fixed(CODE_ACCESS, _PRIVILEGES, "42501")),
    Rule(duckdb.ParserException, _ANY,
         _unsupported("the local engine could not run this statement ({}).")),
    Rule(duckdb.NotImplementedException, _ANY,
         _unsupported("the local engine does not implement this ({}).")),
    Rule(None, _ANY, _quoting(CODE_RUNTIME, "", "P0000")),
)


def map_duckdb_error(
    error: duckdb.Error, statement: Statement, ctx: TaskContext, databases: set[str] | None = None
) -> TaskSqlError:
    """The Snowflake error for a DuckDB error raised by ``statement`` run as ``ctx``."""
    raw = _ESCAPES.sub("", str(error))
    where = _Where(statement, ctx, {ctx.database} if databases is None else databases,
                   first_line(raw))
    for rule in RULES:
        if rule.kind is not None and not isinstance(error, rule.kind):
            continue
        match = rule.pattern.search(raw if rule.whole else where.text)
        if match is None:
            continue
        mapped = rule.build(match, where)
        if mapped is not None:
            return mapped
    raise AssertionError("the last rule matches every error")  # pragma: no cover
