"""Split a task definition into statements and refuse the ones a task may not run.

    >>> [s.text for s in split_statements("SELECT 1; BEGIN INSERT INTO t VALUES (1); END")]
    ['SELECT 1', 'INSERT INTO t VALUES (1)']

Simple ``BEGIN ... END`` blocks of plain statements are unwrapped; Snowflake Scripting,
stages, stored procedures and statements that would reach outside the engine (ATTACH, COPY,
INSTALL, PRAGMA, SET, ...) raise :class:`UnsupportedSqlError` before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from tasknb.local.sql.errors import CODE_SYNTAX, TaskSqlError, UnsupportedSqlError

# The statements a task may run; everything else is refused before it reaches DuckDB.
_FIRST_WORDS = {
    "SELECT",
    "WITH",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "VALUES",
    "(",
}
_OBJECT_KINDS = {"TABLE", "VIEW", "SEQUENCE"}
_CREATE_MODIFIERS = {
    "OR",
    "REPLACE",
    "TEMPORARY",
    "TEMP",
    "TRANSIENT",
    "LOCAL",
    "GLOBAL",
    "VOLATILE",
    "SECURE",
    "RECURSIVE",
    "IF",
    "NOT",
    "EXISTS",
}
_SCRIPTING_WORDS = {
    "DECLARE",
    "LET",
    "IF",
    "FOR",
    "WHILE",
    "LOOP",
    "REPEAT",
    "RETURN",
    "CASE",
    "EXCEPTION",
    "BREAK",
    "CONTINUE",
    "OPEN",
    "FETCH",
    "CLOSE",
    "RAISE",
    "AWAIT",
    "CANCEL",
    "ELSE",
    "ELSEIF",
}
_REFUSALS = {
    "CALL": "stored procedures (CALL) are not supported.",
    "EXECUTE": "EXECUTE IMMEDIATE / EXECUTE TASK are not supported inside a task.",
    "COPY": "COPY INTO (stages and files) is not supported.",
    "PUT": "PUT (stages and files) is not supported.",
    "GET": "GET (stages and files) is not supported.",
    "LIST": "stages are not supported.",
    "LS": "stages are not supported.",
    "REMOVE": "stages are not supported.",
    "USE": "USE is not supported; a task runs in its own database and schema (qualify names).",
    "SET": "session variables (SET) are not supported.",
    "UNSET": "session variables (UNSET) are not supported.",
    "SHOW": "SHOW commands are not supported inside a task.",
    "DESCRIBE": "DESCRIBE is not supported inside a task.",
    "DESC": "DESCRIBE is not supported inside a task.",
    "GRANT": "access control (GRANT) is not supported.",
    "REVOKE": "access control (REVOKE) is not supported.",
    "ATTACH": "ATTACH is not available.",
    "DETACH": "DETACH is not available.",
    "INSTALL": "extensions are not available.",
    "LOAD": "extensions are not available.",
    "PRAGMA": "PRAGMA is not available.",
    "EXPORT": "EXPORT is not available.",
    "IMPORT": "IMPORT is not available.",
}

@dataclass
class Statement:
    """One statement of a definition."""

    text: str
    line: int  # line of the statement's first token in the definition (1-based)


def tokenize(sql: str) -> list[Token]:
    try:
        return list(Snowflake().tokenize(sql))
    except TokenError as error:
        raise TaskSqlError(
            CODE_SYNTAX, f"SQL compilation error:\nsyntax error: {error}", "42000"
        ) from error


def _word(token: Token) -> str:
    if token.token_type in (TokenType.STRING, TokenType.RAW_STRING):
        return ""
    return token.text.upper()


def split_statements(sql: str, tokens: list[Token] | None = None) -> list[Statement]:
    """Split a definition into plain statements, unwrapping simple BEGIN ... END blocks."""
    tokens = tokenize(sql) if tokens is None else tokens
    statements: list[Statement] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.token_type == TokenType.SEMICOLON:
            index += 1
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if (
            _word(token) == "BEGIN"
            and following is not None
            and _word(following) not in ("TRANSACTION", "WORK", "NAME", ";")
            and following.token_type != TokenType.SEMICOLON
        ):
            end = _matching_end(tokens, index)
            body = sql[token.end + 1 : tokens[end].start]
            statements.extend(split_statements(body))
            index = end + 1
            continue
        if _word(token) == "DECLARE":
            raise UnsupportedSqlError(
                "Snowflake Scripting (DECLARE) is not supported; only BEGIN ... END blocks of "
                "plain SQL statements run locally."
            )
        stop = index
        while stop < len(tokens) and tokens[stop].token_type != TokenType.SEMICOLON:
            stop += 1
        last = tokens[stop - 1]
        statements.append(Statement(sql[token.start : last.end + 1], token.line))
        _check_statement(tokens[index:stop])
        index = stop + 1
    return statements


def _matching_end(tokens: list[Token], begin: int) -> int:
    depth = 0
    for position in range(begin, len(tokens)):
        word = _word(tokens[position])
        if word == "BEGIN" or word == "CASE":
            depth += 1
        elif word == "END":
            depth -= 1
            if depth == 0:
                return position
        elif word in ("EXCEPTION",) and depth == 1:
            raise UnsupportedSqlError(
                "Snowflake Scripting (EXCEPTION handlers) is not supported; only BEGIN ... END "
                "blocks of plain SQL statements run locally."
            )
    raise TaskSqlError(
        CODE_SYNTAX,
        "SQL compilation error:\nsyntax error: BEGIN without a matching END.",
        "42000",
    )


def _check_statement(tokens: list[Token]) -> None:
    first = _word(tokens[0])
    if first in _SCRIPTING_WORDS:
        raise UnsupportedSqlError(
            f"Snowflake Scripting ({first}) is not supported; only BEGIN ... END blocks of plain "
            "SQL statements run locally."
        )
    if first in _REFUSALS:
        raise UnsupportedSqlError(_REFUSALS[first])
    if (
        len(tokens) > 1
        and tokens[1].token_type == TokenType.COLON_EQ
        or any(t.text == ":=" for t in tokens[:3])
    ):
        raise UnsupportedSqlError(
            "Snowflake Scripting (variable assignment) is not supported; only BEGIN ... END "
            "blocks of plain SQL statements run locally."
        )
    if first not in _FIRST_WORDS:
        raise UnsupportedSqlError(f"statements starting with {first!r} are not supported.")
    if first in ("CREATE", "DROP", "ALTER"):
        words = [_word(t) for t in tokens[1:8]]
        kind = next((w for w in words if w not in _CREATE_MODIFIERS), "")
        if kind in ("DATABASE", "SCHEMA"):
            raise UnsupportedSqlError(
                f"{first} {kind} inside a task is not supported; manage databases and schemas "
                "through the REST API."
            )
        if kind in ("PROCEDURE", "FUNCTION"):
            raise UnsupportedSqlError(
                f"{first} {kind} (stored procedures and UDFs) is not supported."
            )
        if kind not in _OBJECT_KINDS:
            raise UnsupportedSqlError(
                f"{first} {kind or '...'} is not supported; tasks may create, alter and drop "
                "tables, views and sequences."
            )



def syntax_error(error: ParseError | TokenError, statement: Statement) -> TaskSqlError:
    """001003 at the line and position sqlglot reports, without its terminal colour codes."""
    errors = getattr(error, "errors", None)
    detail = errors[0] if errors else {}
    line = statement.line + int(detail.get("line", 1) or 1) - 1
    column = int(detail.get("col", 0) or 0)
    token = str(detail.get("highlight") or "").strip()
    unexpected = f" unexpected '{token}'" if token else ""
    return TaskSqlError(
        CODE_SYNTAX,
        f"SQL compilation error:\nsyntax error line {line} at position {column}{unexpected}.",
        "42000",
    )
