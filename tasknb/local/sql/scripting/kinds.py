"""Which kind of statement a text is, for the interpreter's dispatch.

    >>> [statement_kind(t) for t in ("CALL p()", "create or replace procedure p() returns int as 'x'",
    ...                               "DROP PROCEDURE p()", "EXECUTE IMMEDIATE 'x'", "BEGIN RETURN 1; END", "SELECT 1")]
    ['call', 'create_procedure', 'drop_procedure', 'execute_immediate', 'block', 'plain']
"""

from __future__ import annotations

from functools import lru_cache

from sqlglot.tokens import TokenType

from tasknb.local.sql.scripting.parser import word
from tasknb.local.sql.statements import is_block_begin, tokenize

_MODIFIERS = {"OR", "REPLACE", "SECURE", "TEMPORARY", "TEMP", "IF", "NOT", "EXISTS"}


@lru_cache(maxsize=4096)
def statement_kind(text: str) -> str:
    """call, create_procedure, drop_procedure, execute_immediate, block or plain."""
    tokens = tokenize(text)
    if not tokens:
        return "plain"
    words = [word(t) for t in tokens[:8]]
    first = words[0]
    if first == "CALL":
        return "call"
    if first == "EXECUTE" and words[1:2] == ["IMMEDIATE"]:
        return "execute_immediate"
    if first == "DECLARE" or is_block_begin(tokens, 0):
        return "block"
    if first in ("CREATE", "DROP"):
        kind = next((w for w in words[1:] if w not in _MODIFIERS), "")
        if kind == "PROCEDURE":
            return "create_procedure" if first == "CREATE" else "drop_procedure"
    return "plain"


@lru_cache(maxsize=4096)
def split_into(text: str) -> tuple[str, tuple[str, ...]]:
    """``SELECT a, b INTO :x, :y FROM t`` -> (``SELECT a, b FROM t``, ("X", "Y")).

        >>> split_into("SELECT COUNT(*) INTO :n FROM t")
        ('SELECT COUNT(*)  FROM t', ('N',))
    """
    tokens = tokenize(text)
    if not tokens or word(tokens[0]) not in ("SELECT", "WITH"):
        return text, ()
    depth = 0
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and word(token) == "FROM":
            return text, ()
        elif depth == 0 and word(token) == "INTO":
            targets, position = [], index + 1
            while position + 1 < len(tokens) and tokens[position].token_type == TokenType.COLON:
                name = tokens[position + 1]
                targets.append(name.text if name.token_type == TokenType.IDENTIFIER
                               else name.text.upper())
                position += 2
                if position < len(tokens) and tokens[position].token_type == TokenType.COMMA:
                    position += 1
                    continue
                break
            if not targets:
                return text, ()
            end = tokens[position - 1].end + 1
            return text[: token.start] + text[end:], tuple(targets)
    return text, ()
