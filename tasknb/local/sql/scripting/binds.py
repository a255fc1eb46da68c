"""Where a block's variables appear in SQL text, and that text with them as bound values.

    >>> template = sql_template("INSERT INTO t VALUES (:n, :rec.name, src:field)")
    >>> [(ref.name, ref.field) for ref in template.refs]
    [('N', None), ('REC', 'NAME')]
    >>> render(template, lambda ref: 7 if ref.field is None else "x")
    ('INSERT INTO t VALUES (:tasknb_b1, :tasknb_b2, src:field)', {'tasknb_b1': 7, 'tasknb_b2': 'x'})

In SQL statements a variable is written ``:name`` (``src:field`` after a value is a JSON path,
not a variable); in expressions (``IF``, ``:=``, ``RETURN``) it may also be written bare
(``counter + 1``, ``record.column``), except inside a subquery. Every use becomes a named
parameter (``:tasknb_b1``, DuckDB's ``$tasknb_b1``: sqlglot may reorder arguments, names keep
each value in its place) with the value bound, never the value spliced into the text; only
``IDENTIFIER(:name)`` and ``TABLE(:name)`` take the value as a quoted name literal, which the
engine then checks to be an object name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlglot.tokens import Token, TokenType

from tasknb.local.sql.names import sql_string
from tasknb.local.sql.statements import tokenize

#: Templates kept per text (statements of a loop body are rendered at every iteration).
TEMPLATE_CACHE_SIZE = 4096

_VALUE_ENDS = {TokenType.VAR, TokenType.IDENTIFIER, TokenType.R_PAREN, TokenType.R_BRACKET,
               TokenType.NUMBER, TokenType.STRING, TokenType.RAW_STRING}
_NAME_TYPES = {TokenType.VAR, TokenType.IDENTIFIER}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_NOT_VARIABLES = {TokenType.DOT, TokenType.DCOLON, TokenType.COLON}


@dataclass(frozen=True)
class Ref:
    """One use of a variable: ``name`` (folded), a record's ``field``, and whether the value
    is wanted as an object name (``IDENTIFIER(:name)``)."""

    name: str
    field: str | None = None
    as_name: bool = False
    position: int | None = None  # a ``?`` (EXECUTE IMMEDIATE ... USING, OPEN ... USING)


@dataclass(frozen=True)
class Template:
    """Text cut around the variables it uses: ``pieces`` has one more item than ``refs``."""

    pieces: tuple[str, ...]
    refs: tuple[Ref, ...]


def _is_name(token: Token) -> bool:
    """A name token, keywords included (a variable may be called FIRST or VALUE)."""
    return token.token_type in _NAME_TYPES or (
        token.token_type not in (TokenType.STRING, TokenType.RAW_STRING)
        and _WORD.match(token.text) is not None)


def _fold(token: Token) -> str:
    return token.text if token.token_type == TokenType.IDENTIFIER else token.text.upper()


def _adjacent(left: Token, right: Token) -> bool:
    return left.end + 1 == right.start


def _as_name(tokens: list[Token], index: int) -> bool:
    """Whether the use at ``index`` is the argument of IDENTIFIER( or TABLE(."""
    return (index >= 2 and tokens[index - 1].token_type == TokenType.L_PAREN
            and tokens[index - 2].text.upper() in ("IDENTIFIER", "TABLE"))


def _field(tokens: list[Token], index: int) -> tuple[str | None, int]:
    """A ``.field`` right after the name at ``index``: (field, index of its last token)."""
    if (index + 2 < len(tokens) and tokens[index + 1].token_type == TokenType.DOT
            and _is_name(tokens[index + 2])):
        return _fold(tokens[index + 2]), index + 2
    return None, index


def _cut(text: str, uses: list[tuple[int, int, Ref]]) -> Template:
    pieces, refs, last = [], [], 0
    for start, end, ref in uses:
        pieces.append(text[last:start])
        refs.append(ref)
        last = end
    pieces.append(text[last:])
    return Template(tuple(pieces), tuple(refs))


def _colon_uses(tokens: list[Token]) -> list[tuple[int, int, int, Ref]]:
    """``:name`` uses: (first token, last token, start offset, ref) ... as offsets."""
    found = []
    index = 0
    marks = 0
    while index < len(tokens):
        token = tokens[index]
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            found.append((index, index, token.start, Ref("", position=marks)))
            marks += 1
            index += 1
            continue
        if index == len(tokens) - 1:
            break
        following = tokens[index + 1]
        previous = tokens[index - 1] if index else None
        if (token.token_type == TokenType.COLON and _is_name(following)
                and _adjacent(token, following)
                and not (previous is not None and previous.token_type in _VALUE_ENDS
                         and _adjacent(previous, token))):
            field, last = _field(tokens, index + 1)
            found.append((index, last, token.start,
                          Ref(_fold(following), field, _as_name(tokens, index))))
            index = last + 1
            continue
        index += 1
    return found


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def sql_template(text: str) -> Template:
    """The ``:name`` uses of a SQL statement."""
    tokens = tokenize(text)
    return _cut(text, [(start, tokens[last].end + 1, ref)
                       for _, last, start, ref in _colon_uses(tokens)])


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def bare_names(text: str) -> frozenset[str]:
    """Every word of an expression that could be a variable (to key the template cache)."""
    return frozenset(_fold(t) for t in tokenize(text)
                     if t.token_type in _NAME_TYPES or _WORD.match(t.text))


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def expression_template(text: str, variables: frozenset[str]) -> Template:
    """The uses in an expression of the given variables, bare or ``:name``."""
    tokens = tokenize(text)
    colon = {first: (last, start, ref) for first, last, start, ref in _colon_uses(tokens)}
    uses: list[tuple[int, int, Ref]] = []
    subqueries: list[bool] = []  # per open bracket: is it a subquery?
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.token_type
        if index in colon:
            last, start, ref = colon[index]
            uses.append((start, tokens[last].end + 1, ref))
            index = last + 1
            continue
        if kind == TokenType.L_PAREN:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            subqueries.append(following is not None and following.text.upper() in
                              ("SELECT", "WITH"))
        elif kind == TokenType.R_PAREN and subqueries:
            subqueries.pop()
        elif (not any(subqueries) and (kind in _NAME_TYPES or _WORD.match(token.text))
              and kind not in (TokenType.STRING, TokenType.RAW_STRING)
              and _fold(token) in variables
              and not (index and tokens[index - 1].token_type in _NOT_VARIABLES)
              and not (index + 1 < len(tokens)
                       and tokens[index + 1].token_type in (TokenType.L_PAREN,
                                                            TokenType.FARROW))):
            field, last = _field(tokens, index)
            uses.append((token.start, tokens[last].end + 1,
                         Ref(_fold(token), field, _as_name(tokens, index))))
            index = last + 1
            continue
        index += 1
    return _cut(text, uses)


#: The prefix of the parameters a rendered statement binds (``:tasknb_b1``, ...).
BIND_PREFIX = "tasknb_b"


def render(template: Template,
           value_of: Callable[[Ref], Any]) -> tuple[str, dict[str, Any]]:
    """The text with a named parameter for each use, and the values to bind to them."""
    if not template.refs:
        return template.pieces[0], {}
    parts, values = [template.pieces[0]], {}
    for ref, piece in zip(template.refs, template.pieces[1:], strict=True):
        value = value_of(ref)
        if ref.as_name:
            parts.append(sql_string("" if value is None else str(value)))
        else:
            name = f"{BIND_PREFIX}{len(values) + 1}"
            parts.append(":" + name)
            values[name] = value
        parts.append(piece)
    return "".join(parts), values
