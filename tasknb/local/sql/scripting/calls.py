"""``CALL name(arguments) [INTO :variable]`` read from its text.

    >>> spec = parse_call("CALL raw.load(1, mode => 'full') INTO :n", "DB", "PUBLIC")
    >>> spec.name, spec.arguments, spec.into
    (('DB', 'RAW', 'LOAD'), ((None, '1'), ('MODE', "'full'")), 'N')
    >>> parse_call("CALL SYSTEM$SET_RETURN_VALUE('done')", "DB", "PUBLIC").system_function
    "SYSTEM$SET_RETURN_VALUE('done')"
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlglot.tokens import TokenType

from tasknb.local.sql.scripting.parser import fold_name, syntax_error, word
from tasknb.local.sql.scripting.procedures import comma_group, object_name, text_span
from tasknb.local.sql.statements import tokenize


@dataclass(frozen=True)
class CallSpec:
    """The procedure's folded name, its arguments as ``(keyword or None, expression text)``,
    the INTO variable, and for ``CALL SYSTEM$...(...)`` the function call's text."""

    name: tuple[str, str, str]
    arguments: tuple[tuple[str | None, str], ...]
    into: str | None = None
    system_function: str | None = None


@lru_cache(maxsize=1024)
def parse_call(text: str, database: str, schema: str) -> CallSpec:
    tokens = tokenize(text)
    if len(tokens) < 2:
        raise syntax_error(text, None, "a procedure name")
    into_at = next((i for i, t in enumerate(tokens) if word(t) == "INTO"), len(tokens))
    into = None
    if into_at < len(tokens):
        rest = tokens[into_at + 1 :]
        if not rest:
            raise syntax_error(text, None, "a variable after INTO")
        into = fold_name(rest[-1])
    name, index = object_name(tokens, 1, database, schema)
    if name[2].upper().startswith("SYSTEM$"):
        call = text_span(text, tokens[1:into_at])
        return CallSpec(name, (), into, call)
    if index >= len(tokens) or tokens[index].token_type != TokenType.L_PAREN:
        raise syntax_error(text, tokens[index] if index < len(tokens) else None, "'('")
    items, _ = comma_group(tokens, index, text)
    arguments = []
    for item in items:
        if len(item) > 2 and item[1].token_type == TokenType.FARROW:
            arguments.append((fold_name(item[0]), text_span(text, item[2:])))
        else:
            arguments.append((None, text_span(text, item)))
    return CallSpec(name, tuple(arguments), into)
