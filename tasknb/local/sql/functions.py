"""Snowflake functions whose DuckDB translation by sqlglot needs a hand.

    >>> import sqlglot
    >>> sqlglot.parse_one("SELECT LPAD(7, 3, '0')", read="snowflake").transform(rewrite).sql("duckdb")
    "SELECT LPAD(CAST(7 AS TEXT), 3, '0')"

* ``LPAD`` / ``RPAD`` of a number: Snowflake casts it to text (docs.snowflake.com/en/
  sql-reference/functions/lpad: "base: A VARCHAR or BINARY value", other types are cast);
  DuckDB has no such overload.
* ``DECODE(<expr>, ...)`` with a volatile ``<expr>`` (RANDOM(), UUID_STRING(), ...): Snowflake
  evaluates ``<expr>`` once and compares it with each search value; sqlglot's CASE repeats it in
  every WHEN, so each comparison would draw a new value (and often none would match). Such an
  expression is computed once per row (bound to a lambda's parameter).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

_VOLATILE = (exp.Rand, exp.Uuid)
_VOLATILE_NAMES = {"RANDOM", "UUID_STRING", "UNIFORM", "NORMAL", "RANDSTR", "SEQ4", "SEQ8"}
_SUBJECT = "__tasknb_decoded"
# a per-row binding of the subject: the lambda's parameter is computed once for each row
_ONCE = f"LIST_TRANSFORM([__subject], LAMBDA {_SUBJECT} : __decode)[1]"


def _volatile(node: exp.Expression) -> bool:
    return any(isinstance(n, _VOLATILE) or (isinstance(n, exp.Anonymous)
                                             and str(n.name).upper() in _VOLATILE_NAMES)
               for n in node.walk())


def rewrite(node: exp.Expression) -> exp.Expression:
    """The rewrites above, for one node (use with ``tree.transform``)."""
    if isinstance(node, exp.Pad) and not (isinstance(node.this, exp.Literal)
                                          and node.this.is_string):
        padded = node.copy()
        padded.set("this", exp.cast(node.this.copy(), exp.DataType.build("VARCHAR")))
        return padded
    if isinstance(node, exp.DecodeCase) and node.expressions and _volatile(node.expressions[0]):
        subject, *rest = node.expressions
        once = exp.DecodeCase(expressions=[exp.column(_SUBJECT), *[e.copy() for e in rest]])

        def fill(part: exp.Expression) -> exp.Expression:
            if isinstance(part, exp.Column) and part.name == "__subject":
                return subject.copy()
            if isinstance(part, exp.Column) and part.name == "__decode":
                return once
            return part
        return sqlglot.parse_one(_ONCE, read="duckdb").transform(fill)
    return node
