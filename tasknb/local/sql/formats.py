"""Snowflake format strings -> DuckDB's strftime / strptime formats, and TO_VARCHAR with one.

    >>> strftime_format('YYYY-MM-DD HH24:MI:SS')
    '%Y-%m-%d %H:%M:%S'
    >>> strftime_format('DY, DD MON YYYY HH12:MI AM')
    '%a, %d %b %Y %I:%M %p'
    >>> strftime_format('MMMM DD, YY "at" HH24"h"')
    '%B %d, %y at %Hh'
    >>> strftime_format('YYYY-MM-DD"T"HH24:MI:SS.FF3'), strftime_format('SS.FF6 FF9 FF')
    ('%Y-%m-%dT%H:%M:%S.%g', '%S.%f %n %n')
    >>> strftime_format('YYYY-MM-DD QQ')
    Traceback (most recent call last):
    ...
    tasknb.local.sql.errors.UnsupportedSqlError: Unsupported feature in the local task server: the format element 'QQ' of 'YYYY-MM-DD QQ' is not supported locally (YYYY, YY, MM, MON, MMMM, DD, DY, HH24, HH12, AM/PM, MI, SS, FF[0-9], TZH:TZM and "quoted text" are). The same definition runs on a real Snowflake account.

The elements are those of docs.snowflake.com/en/sql-reference/functions-conversion (date and
time formats), matched case-insensitively as Snowflake does, through sqlglot's Snowflake table;
text in double quotes is kept as it is. TO_DATE / TO_TIMESTAMP formats reach DuckDB's strptime
through the same table (sqlglot maps them while parsing; :func:`unquote_parsed_format` keeps
their quoted text). Number formats (``TO_VARCHAR(n, '999,999.00')``) are refused by name.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.time import format_time

from tasknb.local.sql.errors import UnsupportedSqlError

_SNOWFLAKE = Dialect.get_or_raise("snowflake")
_DUCKDB = Dialect.get_or_raise("duckdb")
_QUOTED = re.compile(r'"([^"]*)"')
_DIRECTIVE = re.compile(r"%[-:]?[A-Za-z]|%%")
_NUMBER_FORMAT = re.compile(r"(?i)\s*(FM)?[$S]?[90.,DGX$]+(MI|S|EEEE)?\s*")
_TIME_ZONE = re.compile(r"(?i)TZH|TZM")
_ELEMENTS = ("YYYY, YY, MM, MON, MMMM, DD, DY, HH24, HH12, AM/PM, MI, SS, FF[0-9], TZH:TZM and "
             '"quoted text"')


def _unquoted(part: str, whole: str) -> str:
    """One stretch of a format outside double quotes, in DuckDB's directives."""
    generic = format_time(part, _SNOWFLAKE.TIME_MAPPING, _SNOWFLAKE.TIME_TRIE) or ""
    duck = format_time(generic, _DUCKDB.INVERSE_TIME_MAPPING, _DUCKDB.INVERSE_TIME_TRIE) or ""
    leftover = re.search(r"[A-Za-z]+", _DIRECTIVE.sub("", duck))
    if leftover:
        raise UnsupportedSqlError(f"the format element '{leftover.group(0)}' of '{whole}' is not "
                                  f"supported locally ({_ELEMENTS} are).")
    return duck


def strftime_format(snowflake: str) -> str:
    """The DuckDB format of a Snowflake date/time format (refuses what it cannot map)."""
    pieces: list[str] = []
    position = 0
    for quoted in _QUOTED.finditer(snowflake):
        pieces.append(_unquoted(snowflake[position:quoted.start()], snowflake))
        pieces.append(quoted.group(1).replace("%", "%%"))
        position = quoted.end()
    pieces.append(_unquoted(snowflake[position:], snowflake))
    return "".join(pieces)


def is_number_format(snowflake: str) -> bool:
    """Whether a format is a number format (``999,999.00``, ``FM9990``, ``$99.99``).

        >>> is_number_format('999,999.00'), is_number_format('YYYY-MM-DD')
        (True, False)
    """
    return bool(_NUMBER_FORMAT.fullmatch(snowflake)) and any(c in snowflake for c in "90")


def to_varchar(node: exp.Expression) -> exp.Expression:
    """TO_VARCHAR / TO_CHAR (<date or timestamp>, '<format>') as DuckDB's strftime."""
    if not isinstance(node, exp.ToChar) or node.args.get("format") is None:
        return node
    fmt = node.args["format"]
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise UnsupportedSqlError("TO_VARCHAR / TO_CHAR with a format that is not a string "
                                  "literal is not supported locally.")
    text = fmt.this
    if is_number_format(text):
        raise UnsupportedSqlError(f"TO_VARCHAR / TO_CHAR with the number format '{text}' is not "
                                  "supported locally; ROUND the number and cast it (::VARCHAR).")
    if _TIME_ZONE.search(_QUOTED.sub("", text)):
        raise UnsupportedSqlError(f"TO_VARCHAR / TO_CHAR with a time-zone element (TZH, TZM) in "
                                  f"'{text}' is not supported locally (parsing with one is).")
    return exp.Anonymous(this="strftime", expressions=[node.this.copy(),
                                                       exp.Literal.string(strftime_format(text))])


def unquote_parsed_format(node: exp.Expression) -> exp.Expression:
    """TO_DATE / TO_TIMESTAMP (and TO_VARCHAR of a typed value) formats as sqlglot mapped them
    while parsing, with the
    double-quoted literal text of the Snowflake format kept as text (``"at"`` -> ``at``)."""
    if isinstance(node, exp.TimeToStr):  # TO_VARCHAR of a value sqlglot knows the type of
        fmt = node.args.get("format")
        if isinstance(fmt, exp.Literal) and re.search(r"%[-:]?z", fmt.this):
            raise UnsupportedSqlError("TO_VARCHAR / TO_CHAR with a time-zone element (TZH, TZM) "
                                      "is not supported locally (parsing with one is).")
        if isinstance(fmt, exp.Literal):
            duck = format_time(_QUOTED.sub("", fmt.this), _DUCKDB.INVERSE_TIME_MAPPING,
                               _DUCKDB.INVERSE_TIME_TRIE) or ""
            leftover = re.search(r"[A-Za-z]+", _DIRECTIVE.sub("", duck))
            if leftover:
                raise UnsupportedSqlError(f"the format element '{leftover.group(0)}' is not "
                                          f"supported locally ({_ELEMENTS} are).")
    if isinstance(node, (exp.StrToTime, exp.TsOrDsToDate, exp.StrToDate, exp.TimeToStr)):
        fmt = node.args.get("format")
        if isinstance(fmt, exp.Literal) and fmt.is_string and '"' in fmt.this:
            node = node.copy()
            node.set("format", exp.Literal.string(_QUOTED.sub(
                lambda m: m.group(1).replace("%", "%%"), fmt.this)))
    return node
