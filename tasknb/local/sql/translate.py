"""Snowflake SQL -> DuckDB SQL: parsing, context-free rewrites and a cache of both.

    >>> [duck for _, _, duck in compile_definition("SELECT IFF(1 > 0, 'a', 'b')")]
    ["SELECT CASE WHEN 1 > 0 THEN 'a' ELSE 'b' END"]

A definition runs at every fire and parsing costs more than running, so parsed definitions
are cached (:data:`COMPILE_CACHE_SIZE`); statements without a SYSTEM$ call or a clock
function keep their DuckDB text too. What sqlglot could only translate by dropping meaning
(e.g. TO_CHAR's format argument) raises :class:`UnsupportedSqlError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError

from tasknb.local.sql import (
    dml,
    flatten,
    formats,
    functions,
    show,
    stage_commands,
    streams,
    timezones,
    udfs,
)
from tasknb.local.sql.errors import CODE_INVALID_IDENTIFIER, TaskSqlError, UnsupportedSqlError
from tasknb.local.sql.limits import guard_sizes
from tasknb.local.sql.statements import Statement, split_statements, syntax_error

#: Parsed definitions kept (a definition runs at every fire; parsing costs more than running).
COMPILE_CACHE_SIZE = 2048

ALLOWED_EXPRESSIONS = (
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

_DUCKDB = Dialect.get_or_raise("duckdb")
_QUIET = threading.local()


class _DropWhileParsing(logging.Filter):
    """Drop sqlglot's warnings emitted while the engine parses (they would reach a notebook's
    stderr); the engine reports what it cannot run as UnsupportedSqlError instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_QUIET, "active", False)


logging.getLogger("sqlglot").addFilter(_DropWhileParsing())


@contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's log warnings in this thread while the block runs."""
    _QUIET.active = True
    try:
        yield
    finally:
        _QUIET.active = False


def parse_statement(statement: Statement) -> exp.Expression:
    """The sqlglot tree of one statement; refuses kinds a task may not run."""
    try:
        with quiet_sqlglot():
            tree = sqlglot.parse_one(statement.text, read="snowflake")
    except (ParseError, TokenError) as error:
        raise syntax_error(error, statement) from error
    if isinstance(tree, exp.Command) or not isinstance(tree, ALLOWED_EXPRESSIONS):
        word = statement.text.split(None, 1)[0].upper() if statement.text.strip() else "?"
        raise UnsupportedSqlError(f"statements of the kind {word!r} are not supported.")
    return tree


def to_duckdb(tree: exp.Expression) -> str:
    """DuckDB SQL for a Snowflake tree; refuses what would silently change the meaning.

    Dropped table properties (TRANSIENT, CLUSTER BY, comments, retention) change nothing the
    local server can observe and are accepted; anything else sqlglot cannot translate (an
    argument it would drop, such as TO_CHAR's format) raises UnsupportedSqlError.
    """
    generator = _DUCKDB.generator(unsupported_level=ErrorLevel.IGNORE)
    try:
        with quiet_sqlglot():
            sql = generator.generate(tree, copy=True)
    except sqlglot.errors.UnsupportedError as error:
        raise UnsupportedSqlError(f"this statement cannot be translated ({error}).") from error
    except (ParseError, TokenError) as error:  # a name sqlglot parses while generating
        raise syntax_error(error, Statement(tree.sql("snowflake"), 1)) from error
    problems = [
        m for m in generator.unsupported_messages if not m.startswith("Unsupported property")
    ]
    if problems:
        raise UnsupportedSqlError(
            f"the local engine cannot translate this statement: {problems[0]}"
        )
    return sql


def needs_context(tree: exp.Expression) -> bool:
    """Whether the tree calls a SYSTEM$ function, a clock function or CURRENT_WAREHOUSE() /
    CURRENT_ROLE() (rewritten per run)."""
    for node in tree.walk():
        if isinstance(node, (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentWarehouse,
                             exp.CurrentRole)):
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


_TEXT_TYPES = (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR,
               exp.DataType.Type.NVARCHAR, exp.DataType.Type.NCHAR)


def _variant_as_text(aliases: set[str]) -> Callable[[exp.Expression], exp.Expression]:
    """``<variant>::VARCHAR`` (also TO_VARCHAR / TO_CHAR without a format) is the string
    itself, not its JSON text (``'"a"'``): for what is surely a VARIANT (a path ``v:a``,
    PARSE_JSON(...), a FLATTEN alias's VALUE) by json_extract_string; for a plain column,
    whose type is known only to DuckDB, by the column's type as DuckDB binds it."""
    def rewrite(node: exp.Expression) -> exp.Expression:
        bare_to_char = isinstance(node, exp.ToChar) and node.args.get("format") is None
        if not (bare_to_char or (isinstance(node, exp.Cast) and node.to.this in _TEXT_TYPES)):
            return node
        inner = node.this
        variant = isinstance(inner, (exp.JSONExtract, exp.ParseJSON)) or (
            isinstance(inner, exp.Column) and inner.name.upper() == "VALUE"
            and inner.table.upper() in aliases)
        if variant:
            return _json_text(inner.copy())
        if not isinstance(inner, exp.Column):
            return node
        as_text = node.copy() if isinstance(node, exp.Cast) else exp.cast(
            inner.copy(), exp.DataType.build("VARCHAR"))
        json = exp.Anonymous(this="to_json", expressions=[inner.copy()])  # binds for any type
        return exp.Case(ifs=[exp.If(this=_is_json(inner), true=_json_text(json))],
                        default=as_text)
    return rewrite


def _is_json(column: exp.Expression) -> exp.Expression:
    return exp.EQ(this=exp.Anonymous(this="typeof", expressions=[column.copy()]),
                  expression=exp.Literal.string("JSON"))


def _json_text(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="json_extract_string", expressions=[value, exp.Literal.string("$")])


def _check_identifier(node: exp.DynamicIdentifier) -> None:
    """IDENTIFIER('<name>') must hold an object name (001003 would point inside the string)."""
    literal = node.this
    if not isinstance(literal, exp.Literal) or not literal.is_string:
        raise UnsupportedSqlError("IDENTIFIER() needs a string literal here (no variables).")
    try:
        with quiet_sqlglot():
            sqlglot.parse_one(literal.this, into=exp.Table, read="snowflake")
    except (ParseError, TokenError) as error:
        raise TaskSqlError(
            CODE_INVALID_IDENTIFIER,
            f"SQL compilation error:\ninvalid identifier '{literal.this}'",
            "42000",
        ) from error


_STAGE_REFUSAL = ("staged files (@stage) and their positional $1 columns are read locally "
                  "only by COPY INTO <table> and by SELECT, INSERT ... SELECT, CREATE TABLE ... "
                  "AS SELECT and MERGE reading one stage; COPY the files into a table first.")


def _is_stage(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Table) and isinstance(node.this, exp.Var)
            and str(node.this.this).startswith("@"))


def _positional_columns(tree: exp.Expression) -> exp.Expression:
    """``$1``, ``$2``... over tables (not a stage) are the query's columns by position, DuckDB's
    ``#1``, ``#2`` (docs.snowflake.com/en/sql-reference/sql/select: "$<col_position>")."""
    if any(_is_stage(node) for node in tree.walk()):
        return tree
    return tree.transform(lambda node: exp.Var(this=f"#{node.this.this}") if (
        isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal)
        and not node.this.is_string) else node)


def _refuse_by_name(node: exp.Expression) -> None:
    """Constructs the local engine lacks, refused with their name (not as DuckDB's parse error)."""
    if isinstance(node, exp.HistoricalData):
        raise UnsupportedSqlError(
            f"time travel ({node.this} ({node.args.get('kind')} => ...)) is not supported: the "
            "local engine keeps no table history."
        )
    if (isinstance(node, exp.Table) and isinstance(node.this, exp.Var)
            and str(node.this.this).startswith("@")) or (
            isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal)
            and not node.this.is_string):
        raise UnsupportedSqlError(_STAGE_REFUSAL)
    if isinstance(node, exp.TableFromRows) and isinstance(node.this, (exp.Anonymous, exp.Dot)):
        call = node.this.expression if isinstance(node.this, exp.Dot) else node.this
        name = node.this.sql("snowflake").split("(", 1)[0]
        if isinstance(call, exp.Anonymous):
            raise UnsupportedSqlError(f"the table function {name.upper()}(...) is not available "
                                      "locally (TABLE(FLATTEN(...)) and TABLE(GENERATOR(...)) "
                                      "are).")
    if isinstance(node, exp.Explode) and not isinstance(node.parent, (exp.Lateral,
                                                                      exp.TableFromRows)):
        raise UnsupportedSqlError("FLATTEN is supported locally as LATERAL FLATTEN(...) and "
                                  "TABLE(FLATTEN(...)) in FROM.")


def _to_timestamp_ntz(node: exp.Expression) -> exp.Expression:
    """TO_TIMESTAMP_NTZ(<expr>) (a string or a VARIANT holding one) is a cast to TIMESTAMP."""
    if isinstance(node, exp.Anonymous) and str(node.name).upper() == "TO_TIMESTAMP_NTZ":
        if len(node.expressions) != 1:
            raise UnsupportedSqlError("TO_TIMESTAMP_NTZ with a format or scale argument is not "
                                      "supported locally; cast the value (::TIMESTAMP_NTZ).")
        return exp.cast(node.expressions[0].copy(), exp.DataType.build("TIMESTAMP"))
    return node


def _session_settings(tree: exp.Alter) -> list[exp.Expression]:
    """ALTER SESSION SET / UNSET: accepted (a task run is its own session); TIMEZONE becomes
    the run cursor's DuckDB session time zone (:mod:`.timezones`), other parameters change
    nothing the local engine does."""
    changes: list[exp.Expression] = []
    for action in tree.args.get("actions") or []:
        if not isinstance(action, exp.AlterSession):
            continue
        for item in action.expressions:
            pair = item.this if isinstance(item, exp.SetItem) else item
            if action.args.get("unset"):
                if pair.name.upper() == timezones.TIMEZONE_PARAMETER:
                    changes.append(_time_zone_statement(timezones.DEFAULT_TIME_ZONE))
                continue
            if not isinstance(pair, exp.EQ) or pair.this.name.upper() != timezones.TIMEZONE_PARAMETER:
                continue
            value = pair.expression
            name = value.this if isinstance(value, exp.Literal) else value.sql("snowflake")
            changes.append(_time_zone_statement(timezones.check_time_zone(name)))
    return changes


def _time_zone_statement(zone: str) -> exp.Expression:
    return sqlglot.parse_one(timezones.set_time_zone_sql(zone), read="duckdb")


def _normalise(tree: exp.Expression) -> list[exp.Expression]:
    """Context-free rewrites Snowflake -> DuckDB that sqlglot does not do on its own."""
    if isinstance(tree, exp.Alter) and str(tree.args.get("kind") or "").upper() == "SESSION":
        return _session_settings(tree)
    udf = udfs.function_statements(tree, _normalise)
    if udf is not None:
        return udf
    tree = _positional_columns(tree).transform(show.result_scan).transform(
        show.information_schema)  # (before RESULT_SCAN would be refused as a table function)
    for node in tree.walk():
        _refuse_by_name(node)
        if isinstance(node, exp.DynamicIdentifier):
            _check_identifier(node)
    tree = tree.transform(_variant_as_text(flatten.aliases(tree))).transform(
        formats.to_varchar).transform(formats.unquote_parsed_format).transform(functions.rewrite)
    tree = guard_sizes(tree.transform(_semi_structured_as_json).transform(_to_timestamp_ntz)
                       .transform(flatten.flatten))
    if isinstance(tree, exp.Insert) and tree.args.get("overwrite"):
        # INSERT OVERWRITE = empty the table and insert, in one transaction
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        insert = tree.copy()
        insert.set("overwrite", None)
        return [
            exp.Transaction(),
            exp.Delete(this=target.copy()),
            *dml.rewrite(insert),
            exp.Commit(),
        ]
    return dml.rewrite(tree)


@lru_cache(maxsize=COMPILE_CACHE_SIZE)
def compile_definition(
    sql: str,
) -> tuple[tuple[Statement, exp.Expression | None, str | None], ...]:
    """Split and parse a definition once: (statement, tree, DuckDB SQL if context-free);
    a Snowflake Scripting unit (``statement.script``) has no tree: the interpreter reads it."""
    compiled: list[tuple[Statement, exp.Expression | None, str | None]] = []
    for statement in split_statements(sql):
        if statement.script:
            compiled.append((statement, None, None))
            continue
        if stage_commands.is_command(statement.text):  # run by tasknb.local.sql.stages
            compiled.append((statement, exp.Command(this=stage_commands.COMMAND), None))
            continue
        if show.is_command(statement.text):  # run by tasknb.local.sql.show
            compiled.append((statement, exp.Command(this=show.COMMAND), None))
            continue
        if streams.is_command(statement.text):  # run by tasknb.local.sql.streams
            compiled.append((statement, exp.Command(this="STREAM"), None))
            continue
        for tree in _normalise(parse_statement(statement)):
            static_sql = None if needs_context(tree) else to_duckdb(tree)
            compiled.append((statement, tree, static_sql))
    return tuple(compiled)
