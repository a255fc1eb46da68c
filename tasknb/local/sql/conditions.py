"""WHEN conditions: checked like Snowflake checks them, rewritten into one DuckDB SELECT.

    >>> ctx = TaskContext("D", "S", "B", "A", predecessor_return_values={"A": "5"})
    >>> print(condition_query("SYSTEM$GET_PREDECESSOR_RETURN_VALUE('A')::INT > 1", ctx))
    SELECT CAST(((CAST('5' AS INT) > 1)) AS BOOLEAN)

Allowed: literals, casts, comparisons, AND/OR/NOT, IS [NOT] NULL, IN, BETWEEN, LIKE, a few
string functions and the SYSTEM$ functions of task graphs. Tables, columns, subqueries and
PARSE_JSON are refused (Snowflake evaluates WHEN without a warehouse).
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.errors import CODE_SYNTAX, TaskSqlError, UnsupportedSqlError
from tasknb.local.sql.statements import Statement, syntax_error
from tasknb.local.sql.system_functions import Rewriter
from tasknb.local.sql.translate import quiet_sqlglot, to_duckdb

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


def _check(condition: exp.Expression) -> None:
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
            raise UnsupportedSqlError(f"{node.sql('snowflake')} is not allowed in a WHEN condition.")
        if isinstance(node, exp.Anonymous) and not str(node.name).upper().startswith("SYSTEM$"):
            raise UnsupportedSqlError(f"{node.name} is not allowed in a WHEN condition.")


def condition_query(expr: str, ctx: TaskContext, streams: Any = None) -> str:
    """The DuckDB SELECT of one boolean that a WHEN condition evaluates to for this run."""
    if not isinstance(expr, str) or not expr.strip():
        raise TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nempty WHEN condition.", "42000")
    try:
        with quiet_sqlglot():
            tree = sqlglot.parse_one(f"SELECT ({expr})", read="snowflake")
    except (ParseError, TokenError) as error:
        raise syntax_error(error, Statement(expr, 1)) from error
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1 or tree.args.get("from"):
        raise UnsupportedSqlError("a WHEN condition must be a single boolean expression.")
    condition = tree.expressions[0]
    _check(condition)
    rewritten = condition.transform(Rewriter(ctx, "", condition=True, streams=streams))
    return to_duckdb(exp.select(exp.cast(exp.paren(rewritten), exp.DataType.Type.BOOLEAN)))
