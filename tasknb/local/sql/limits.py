"""Limits that keep one task from taking the server down: value sizes, memory, time.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT REPEAT(s, 3) FROM t", read="snowflake")
    >>> "Max LOB size" in guard_sizes(tree).sql("duckdb")
    True

DuckDB's ``memory_limit`` covers what its buffer manager holds (tables, joins, sorts,
aggregates) but not the string and list values a function builds: ``REPEAT('x', 2e9)``
allocates 2 GB outside it and can get the whole server killed. So every function that builds
a value whose size an argument chooses (REPEAT, SPACE, LPAD/RPAD, ranges, list resizing) is
rewritten to check that size first: past :data:`MAX_VALUE_BYTES` (Snowflake's own limit for
a VARCHAR, ARRAY or VARIANT value) the statement fails with Snowflake's ``100082 Max LOB
size (16777216) exceeded``, before anything is allocated.
"""

from __future__ import annotations

import os
import re

from sqlglot import exp

from tasknb.local.sql.errors import UnsupportedSqlError

#: Snowflake's maximum size of one VARCHAR / BINARY / ARRAY / VARIANT value (16 MiB).
MAX_VALUE_BYTES = 16 * 1024 * 1024
#: Bytes counted per list element when a function's argument chooses a list's length.
LIST_ELEMENT_BYTES = 8
#: The beginning of every "value too large" error (Snowflake's wording).
TOO_LARGE_PREFIX = f"Max LOB size ({MAX_VALUE_BYTES})"
#: DuckDB's memory_limit: this share of the machine's memory (DuckDB's own default is 80%).
MEMORY_LIMIT_SHARE = 0.5
#: Default statement timeout of the local engine (Snowflake's STATEMENT_TIMEOUT_IN_SECONDS
#: default is two days; a local server should stay usable on a laptop).
DEFAULT_STATEMENT_TIMEOUT_SECONDS = 15 * 60
#: STATEMENT_TIMEOUT_IN_SECONDS = 0 means Snowflake's maximum: 7 days.
MAX_STATEMENT_TIMEOUT_SECONDS = 604_800

#: How deep size-building functions may nest (each level repeats the arguments below it).
MAX_GUARDED_NESTING = 4

# DuckDB functions that pass through by name and build a list of a chosen length
_LIST_BUILDERS = {"RANGE", "GENERATE_SERIES", "LIST_RESIZE", "ARRAY_RESIZE"}
_FORMAT_FUNCTIONS = {"PRINTF", "FORMAT"}
_FORMAT_WIDTH = re.compile(r"(\d{5,})")


def memory_limit_bytes() -> int:
    """DuckDB's memory_limit for this machine (:data:`MEMORY_LIMIT_SHARE` of its memory)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = 8 * 1024**3
    return max(256 * 1024**2, int(total * MEMORY_LIMIT_SHARE))


def statement_timeout_seconds(parameters: dict[str, object], default: float) -> float:
    """The statement timeout a task's session parameters ask for (seconds; 0 = 7 days).

    >>> statement_timeout_seconds({"STATEMENT_TIMEOUT_IN_SECONDS": 0}, 900)
    604800
    >>> statement_timeout_seconds({}, 900)
    900
    """
    value = {k.upper(): v for k, v in parameters.items()}.get("STATEMENT_TIMEOUT_IN_SECONDS")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    if seconds < 0:
        return default
    return MAX_STATEMENT_TIMEOUT_SECONDS if seconds == 0 else seconds


def _double(node: exp.Expression) -> exp.Expression:
    return exp.cast(node.copy(), exp.DataType.Type.DOUBLE)


def _checked(value: exp.Expression, size: exp.Expression, function: str) -> exp.Expression:
    """``value`` unless ``size`` (bytes) is over the limit, in which case the statement fails."""
    message = exp.DPipe(
        this=exp.Literal.string(
            f"{TOO_LARGE_PREFIX} exceeded: {function} would build a value of "
        ),
        expression=exp.DPipe(
            this=exp.Anonymous(
                this="PRINTF", expressions=[exp.Literal.string("%.0f"), size.copy()]
            ),
            expression=exp.Literal.string(f" bytes (at most {MAX_VALUE_BYTES:,})."),
        ),
    )
    too_large = exp.GT(this=size, expression=exp.Literal.number(MAX_VALUE_BYTES))
    fail = exp.Anonymous(this="ERROR", expressions=[message])
    return exp.Case(ifs=[exp.If(this=too_large, true=fail)], default=value.copy())


def _text_bytes(node: exp.Expression) -> exp.Expression:
    return exp.Anonymous(
        this="STRLEN", expressions=[exp.cast(node.copy(), exp.DataType.Type.VARCHAR)]
    )


def _is_row_source(node: exp.Expression) -> bool:
    """Whether ``node`` is a table function in FROM / JOIN (its rows stream, nothing piles up)."""
    parent = node.parent
    while isinstance(parent, (exp.Table, exp.Alias, exp.TableAlias)):
        parent = parent.parent
    return isinstance(parent, (exp.From, exp.Join))


def _list_length(start: exp.Expression | None, end: exp.Expression | None,
                 step: exp.Expression | None) -> exp.Expression:
    """abs(end - start) / abs(step) in DOUBLE (one argument: the end, from 0)."""
    low = _double(start) if start is not None else exp.Literal.number(0)
    high = _double(end) if end is not None else exp.Literal.number(0)
    span = exp.Abs(this=exp.Sub(this=high, expression=low))
    if step is None:
        return span
    steps = exp.Greatest(this=exp.Abs(this=_double(step)), expressions=[exp.Literal.number(1)])
    return exp.Div(this=span, expression=steps)


def _guard(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Repeat):
        size = exp.Mul(this=_double(node.args["times"]), expression=_text_bytes(node.this))
        node.set("times", _checked(node.args["times"], size, "REPEAT"))
    elif isinstance(node, exp.Space):
        node.set("this", _checked(node.this, _double(node.this), "SPACE"))
    elif isinstance(node, exp.Pad):
        length = node.args["expression"]
        fill = node.args.get("fill_pattern")
        unit = _text_bytes(fill) if fill is not None else exp.Literal.number(1)
        size = exp.Mul(this=_double(length), expression=exp.Greatest(
            this=unit, expressions=[exp.Literal.number(1)]))
        node.set("expression", _checked(length, size, "LPAD" if node.args.get("is_left")
                                        else "RPAD"))
    elif isinstance(node, exp.GenerateSeries) and not _is_row_source(node):
        size = exp.Mul(
            this=_list_length(node.args.get("start"), node.args.get("end"),
                              node.args.get("step")),
            expression=exp.Literal.number(LIST_ELEMENT_BYTES),
        )
        node.set("end", _checked(node.args["end"], size, "ARRAY_GENERATE_RANGE"))
    elif isinstance(node, exp.Anonymous):
        _guard_by_name(node)
    return node


def _guard_by_name(node: exp.Anonymous) -> None:
    name = str(node.name).upper()
    args = list(node.expressions)
    if name in _FORMAT_FUNCTIONS and args and isinstance(args[0], exp.Literal):
        for width in _FORMAT_WIDTH.findall(str(args[0].this)):
            if int(width) > MAX_VALUE_BYTES:
                fail = exp.Anonymous(this="ERROR", expressions=[exp.Literal.string(
                    f"{TOO_LARGE_PREFIX} exceeded: {name} would build a value of {width} "
                    f"characters (at most {MAX_VALUE_BYTES:,}).")])
                node.set("expressions", [fail, *args[1:]])
                return
        return
    if name not in _LIST_BUILDERS or not args or _is_row_source(node):
        return
    if name in ("LIST_RESIZE", "ARRAY_RESIZE"):
        if len(args) < 2:
            return
        size = exp.Mul(this=_double(args[1]), expression=exp.Literal.number(LIST_ELEMENT_BYTES))
        args[1] = _checked(args[1], size, name)
    else:
        start, end = (None, args[0]) if len(args) == 1 else (args[0], args[1])
        size = exp.Mul(this=_list_length(start, end, args[2] if len(args) > 2 else None),
                       expression=exp.Literal.number(LIST_ELEMENT_BYTES))
        position = 0 if len(args) == 1 else 1
        args[position] = _checked(args[position], size, name)
    node.set("expressions", args)


def _builds_values(node: exp.Expression) -> bool:
    if isinstance(node, (exp.Repeat, exp.Space, exp.Pad, exp.GenerateSeries)):
        return True
    return isinstance(node, exp.Anonymous) and str(node.name).upper() in (
        _LIST_BUILDERS | _FORMAT_FUNCTIONS)


def guard_sizes(tree: exp.Expression) -> exp.Expression:
    """``tree`` with a size check in front of every function that builds a chosen-size value.

    A check repeats its function's arguments, so such functions may nest at most
    :data:`MAX_GUARDED_NESTING` deep (deeper, the checks would grow the statement
    exponentially).
    """
    for node in tree.walk():
        if _builds_values(node):
            depth, parent = 1, node.parent
            while parent is not None:
                depth += _builds_values(parent)
                parent = parent.parent
            if depth > MAX_GUARDED_NESTING:
                raise UnsupportedSqlError(
                    f"REPEAT, SPACE, LPAD, RPAD and range functions nest at most "
                    f"{MAX_GUARDED_NESTING} deep in the local engine."
                )
    return tree.transform(_guard, copy=False)
