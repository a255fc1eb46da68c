"""SQL user-defined functions: ``CREATE FUNCTION … LANGUAGE SQL AS '<expr>'`` as DuckDB macros.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("CREATE OR REPLACE FUNCTION to_cents(dollars NUMBER(10,2)) "
    ...                          "RETURNS NUMBER AS $$ dollars * 100 $$", read="snowflake")
    >>> [t.sql("duckdb") for t in function_statements(tree, lambda t: [t])]
    ['CREATE OR REPLACE MACRO to_cents(dollars) AS (CAST((CAST(dollars AS DECIMAL(10, 2)) * 100) AS DECIMAL(38, 0)))']

docs.snowflake.com/en/developer-guide/udf/sql/udf-sql-introduction: a scalar SQL UDF is "an
expression" over its arguments, returning its RETURNS type. Locally it is a DuckDB macro in the
function's schema (kept in the database's file, so it survives restarts and goes with its
schema), each argument cast to its declared type and the result to the RETURNS type; a call is
an ordinary function call. ``DROP FUNCTION [IF EXISTS] name(types)`` drops it. Refused by name:
table functions (``RETURNS TABLE``), and UDFs in JavaScript, Python, Java or Scala. Differences:
overloads are told apart by their number of arguments, not their types (as for procedures).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from tasknb.local.sql.errors import TaskSqlError, UnsupportedSqlError
from tasknb.local.sql.statements import Statement, syntax_error

_LANGUAGES = {"JAVASCRIPT": "JavaScript", "PYTHON": "Python", "JAVA": "Java", "SCALA": "Scala"}
#: ``normalise(tree) -> DuckDB-ready trees``: the translator's own rewrites, for the body.
Normalise = Callable[[exp.Expression], list[exp.Expression]]


def _property(tree: exp.Create, kind: type[exp.Expression]) -> exp.Expression | None:
    properties = tree.args.get("properties")
    return next((p for p in (properties.expressions if properties else [])
                 if isinstance(p, kind)), None)


def _duck_type(kind: exp.DataType) -> str:
    if kind.this in (exp.DataType.Type.VARIANT, exp.DataType.Type.OBJECT, exp.DataType.Type.ARRAY):
        return "JSON"
    return kind.sql("duckdb")


def _body(text: str, arguments: dict[str, exp.DataType], normalise: Normalise) -> str:
    """The body expression in DuckDB SQL, each argument cast to its declared type."""
    try:
        select = sqlglot.parse_one(f"SELECT {text}", read="snowflake")
    except (ParseError, TokenError) as error:
        raise syntax_error(error, Statement(text, 1)) from error
    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        raise UnsupportedSqlError("a SQL user-defined function's body must be one expression "
                                  "locally (a query body is not supported).")

    def typed(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name.lower() in arguments:
            name = node.name.lower()
            return exp.cast(exp.column(name), arguments[name])
        return node
    typed_select = select.transform(typed)
    (duck,) = normalise(typed_select)
    body = duck.expressions[0]
    return body.sql("duckdb")


def function_statements(tree: exp.Expression, normalise: Normalise) -> list[exp.Expression] | None:
    """The DuckDB statements for CREATE / DROP FUNCTION, or None for any other tree."""
    if isinstance(tree, exp.Drop) and str(tree.args.get("kind") or "").upper() == "FUNCTION":
        (target,) = tree.args.get("tables") or [tree.this]
        exists = "IF EXISTS " if tree.args.get("exists") else ""
        return [sqlglot.parse_one(f"DROP MACRO {exists}{target.sql('duckdb')}", read="duckdb")]
    if not (isinstance(tree, exp.Create) and str(tree.args.get("kind") or "").upper()
            == "FUNCTION" and isinstance(tree.this, exp.UserDefinedFunction)):
        return None
    udf = tree.this
    language = _property(tree, exp.LanguageProperty)
    name = language.this.name.upper() if language is not None else "SQL"
    if name != "SQL":
        raise UnsupportedSqlError(f"{_LANGUAGES.get(name, name)} user-defined functions cannot run locally "
                                  f"({udf.this.sql('snowflake')}); write it as a SQL function "
                                  "(LANGUAGE SQL AS '<expression>').")
    returns = _property(tree, exp.ReturnsProperty)
    if returns is None or returns.args.get("is_table") or not isinstance(returns.this,
                                                                          exp.DataType):
        raise UnsupportedSqlError("user-defined table functions (RETURNS TABLE) are not "
                                  "supported locally; scalar SQL functions are.")
    arguments: dict[str, exp.DataType] = {}
    for column in udf.expressions:
        if not isinstance(column, exp.ColumnDef) or not isinstance(column.kind, exp.DataType):
            raise TaskSqlError(1003, "SQL compilation error:\nsyntax error in the arguments of "
                               f"function {udf.this.sql('snowflake')}.", "42000")
        arguments[column.name.lower()] = column.kind
    source = tree.expression
    text = source.this if isinstance(source, (exp.Literal, exp.RawString)) else ""
    if not str(text).strip():
        raise UnsupportedSqlError("a SQL user-defined function needs its body as a string "
                                  "(AS '<expression>' or AS $$<expression>$$).")
    body = _body(str(text), arguments, normalise)
    head = "CREATE OR REPLACE MACRO" if tree.args.get("replace") else "CREATE MACRO"
    if tree.args.get("exists"):
        head += " IF NOT EXISTS"
    macro = (f"{head} {udf.this.sql('duckdb')}({', '.join(arguments)}) AS "
             f"(CAST(({body}) AS {_duck_type(returns.this)}))")
    return [sqlglot.parse_one(macro, read="duckdb")]
