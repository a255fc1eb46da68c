"""Snowflake names as a statement writes them, and as DuckDB SQL needs them quoted.

    >>> qualify("orders", TaskContext("SALES", "PUBLIC", "T", "T"))
    'SALES.PUBLIC.ORDERS'
    >>> print(quote_identifier('a"b'), sql_string("it's"))
    "a""b" 'it''s'
"""

from __future__ import annotations

import re

from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.statements import Statement

_NAME_PART = r'(?:"(?:[^"]|"")+"|[A-Za-z_$][\w$]*)'
_DOTTED = re.compile(_NAME_PART + r"(?:\s*\.\s*" + _NAME_PART + r"){0,2}")


def fold(part: str) -> str:
    """Snowflake's identifier folding: unquoted upper-cased, quoted kept."""
    if part.startswith('"') and part.endswith('"') and len(part) > 1:
        return part[1:-1].replace('""', '"')
    return part.upper()


def references(statement: Statement) -> list[list[str]]:
    """The dotted names written in a statement, as lists of folded parts."""
    refs = []
    for match in _DOTTED.finditer(statement.text):
        parts = re.findall(_NAME_PART, match.group(0))
        refs.append([fold(p) for p in parts])
    return refs


def _qualify_parts(parts: list[str], ctx: TaskContext) -> list[str]:
    if len(parts) == 1:
        return [ctx.database, ctx.schema, *parts]
    if len(parts) == 2:
        return [ctx.database, *parts]
    return parts


def qualify(name: str, ctx: TaskContext, statement: Statement | None = None) -> str:
    """The fully qualified name of object ``name`` as the statement wrote it."""
    last = name.split(".")[-1].strip('"').upper()
    if statement is not None:
        for parts in references(statement):
            if parts[-1].upper() == last:
                return ".".join(_qualify_parts(parts, ctx))
    return ".".join(_qualify_parts([p.strip('"').upper() for p in name.split(".")], ctx))




def position(statement: Statement, needle: str) -> tuple[int, int]:
    """(line, column) of ``needle``'s first occurrence in the statement, as Snowflake counts."""
    found = statement.text.upper().find(needle.upper())
    if found < 0:
        return statement.line, 0
    before = statement.text[:found]
    line = statement.line + before.count("\n")
    column = found - (before.rfind("\n") + 1)
    return line, column


def quote_identifier(name: str) -> str:
    """A DuckDB identifier that keeps ``name`` exactly."""
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    """A SQL string literal holding ``text``."""
    return "'" + text.replace("'", "''") + "'"
