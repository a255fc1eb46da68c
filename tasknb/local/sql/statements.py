"""Split a task definition into statements and refuse the ones a task may not run.

    >>> [(s.text, s.script) for s in split_statements("SELECT 1; BEGIN INSERT INTO t VALUES (1); END")]
    [('SELECT 1', False), ('BEGIN INSERT INTO t VALUES (1); END', True)]
    >>> [(s.text, s.script) for s in split_statements("CALL p(1); DECLARE x INT; BEGIN RETURN x; END")]
    [('CALL p(1)', True), ('DECLARE x INT; BEGIN RETURN x; END', True)]

Snowflake Scripting (anonymous blocks, ``LET``, loops, handlers), ``CALL``,
``EXECUTE IMMEDIATE`` and ``CREATE``/``DROP PROCEDURE`` are kept whole as one statement with
``script=True``, for :mod:`tasknb.local.sql.scripting` (a block is one statement, as it is
for Snowflake's SQL API statement count). Stage commands pass to :mod:`tasknb.local.sql.stages`;
statements that would reach outside the engine (ATTACH, INSTALL, PRAGMA, SET, ...) raise
:class:`UnsupportedSqlError` before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

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
#: Snowflake's other statement words (refused locally as unsupported, 000002); any other first
#: word is a syntax error on Snowflake too (001003).
_SNOWFLAKE_COMMANDS = {
    "ABORT", "ADD", "COMMENT", "EXECUTE", "EXPLAIN", "GET", "GRANT", "LIST", "LS", "PUT",
    "REMOVE", "RM", "REVOKE", "SHOW", "UNDROP", "UNSET", "USE", "DESCRIBE", "DESC", "COPY",
    "SET", "CALL", "TRUNCATE", "BEGIN", "DECLARE",
}
_OBJECT_KINDS = {"TABLE", "VIEW", "SEQUENCE", "STREAM"}
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
#: First words of the statements the Snowflake Scripting interpreter runs.
_SCRIPT_WORDS = {"CALL", "EXECUTE", "DECLARE"}
#: Words after END that close a construct (END IF, END FOR, ...) rather than a block.
_END_CLOSERS = {"IF", "FOR", "WHILE", "LOOP", "REPEAT"}
_TRANSACTION_BEGIN = {"TRANSACTION", "WORK", "NAME"}
_REFUSALS = {
    "COPY": "COPY INTO (stages and files) is not supported.",
    "PUT": "PUT (stages and files) is not supported.",
    "GET": "GET (stages and files) is not supported.",
    "LIST": "stages are not supported.",
    "LS": "stages are not supported.",
    "REMOVE": "stages are not supported.",
    "USE": "USE is not supported; a task runs in its own database and schema (qualify names).",
    "SET": "session variables (SET) are not supported.",
    "UNSET": "session variables (UNSET) are not supported.",
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
    """One statement of a definition (``script``: for the Snowflake Scripting interpreter)."""

    text: str
    line: int  # line of the statement's first token in the definition (1-based)
    script: bool = False


class _Tokenizer(Snowflake.Tokenizer):
    """Snowflake's tokens, without turning the rest of EXECUTE, FETCH, SHOW ... into one
    string (Snowflake Scripting reads ``EXECUTE IMMEDIATE``, ``FETCH c INTO x`` word by word)."""

    COMMANDS: ClassVar[set[TokenType]] = set()


def tokenize(sql: str) -> list[Token]:
    """Snowflake tokens of ``sql``; 001003 for text that cannot be tokenized."""
    try:
        return list(_Tokenizer().tokenize(sql))
    except TokenError as error:
        raise TaskSqlError(
            CODE_SYNTAX, f"SQL compilation error:\nsyntax error: {error}", "42000"
        ) from error


def _word(token: Token) -> str:
    if token.token_type in (TokenType.STRING, TokenType.RAW_STRING):
        return ""
    return token.text.upper()


def is_block_begin(tokens: list[Token], index: int) -> bool:
    """Whether ``tokens[index]`` opens a block (BEGIN ... END), not a transaction."""
    if index >= len(tokens) or _word(tokens[index]) != "BEGIN":
        return False
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    return (following is not None and following.token_type != TokenType.SEMICOLON
            and _word(following) not in _TRANSACTION_BEGIN)


def split_statements(sql: str, tokens: list[Token] | None = None) -> list[Statement]:
    """Split a definition into statements (a BEGIN ... END block is one)."""
    tokens = tokenize(sql) if tokens is None else tokens
    statements: list[Statement] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.token_type == TokenType.SEMICOLON:
            index += 1
            continue
        if is_block_begin(tokens, index):  # an anonymous block: one statement, as on Snowflake
            end = matching_end(tokens, index)
            statements.append(Statement(sql[token.start : tokens[end].end + 1], token.line,
                                        script=True))
            index = end + 1
            continue
        stop = statement_end(tokens, index)
        last = tokens[stop - 1]
        text = sql[token.start : last.end + 1]
        statements.append(Statement(text, token.line, script=_is_script(tokens[index:stop])))
        index = stop + 1 if stop < len(tokens) and tokens[stop].token_type == TokenType.SEMICOLON \
            else stop
    return statements


def statement_end(tokens: list[Token], index: int) -> int:
    """Where the statement at ``index`` ends: its semicolon (or the end of the tokens), or,
    for ``DECLARE ... BEGIN ... END``, the token after that END. BEGIN ... END blocks inside
    a statement (a procedure's unquoted body) are skipped."""
    declare = _word(tokens[index]) == "DECLARE"
    position = index
    while position < len(tokens):
        if is_block_begin(tokens, position):
            end = matching_end(tokens, position)
            if declare:
                return end + 1
            position = end + 1
            continue
        if tokens[position].token_type == TokenType.SEMICOLON and not declare:
            return position
        position += 1
    return position


def _closes_block(tokens: list[Token], position: int) -> bool:
    following = tokens[position + 1] if position + 1 < len(tokens) else None
    return following is None or _word(following) not in _END_CLOSERS


def matching_end(tokens: list[Token], begin: int) -> int:
    """The index of the END that closes the BEGIN (or CASE) at ``begin``."""
    depth = 0
    position = begin
    while position < len(tokens):
        word = _word(tokens[position])
        if is_block_begin(tokens, position) or word == "CASE":
            depth += 1
        elif word == "END" and _closes_block(tokens, position):
            depth -= 1
            following = tokens[position + 1] if position + 1 < len(tokens) else None
            if following is not None and _word(following) == "CASE":
                position += 1  # END CASE closes a CASE statement
            if depth == 0:
                return position
        position += 1
    raise TaskSqlError(
        CODE_SYNTAX,
        "SQL compilation error:\nsyntax error: BEGIN without a matching END.",
        "42000",
    )


def _is_script(tokens: list[Token]) -> bool:
    """Whether the statement is for the interpreter; refuses what a task may not run."""
    first = _word(tokens[0])
    if first in _SCRIPT_WORDS or first in _SCRIPTING_WORDS:
        return True
    if any(t.token_type == TokenType.COLON_EQ for t in tokens[:3]):
        return True
    if first in ("CREATE", "DROP", "ALTER"):
        words = [_word(t) for t in tokens[1:8]]
        kind = next((w for w in words if w not in _CREATE_MODIFIERS), "")
        if kind == "PROCEDURE" and first in ("CREATE", "DROP"):
            return True
    _check_statement(tokens)
    return False


def _check_statement(tokens: list[Token]) -> None:
    first = _word(tokens[0])
    if first in ("END", "THEN", "DO", "UNTIL", "WHEN"):  # a block's word out of place
        raise TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\nsyntax error line "
                           f"{tokens[0].line} at position {tokens[0].col - len(tokens[0].text)} "
                           f"unexpected '{tokens[0].text}'.", "42000")
    from tasknb.local.sql.stage_commands import is_command  # (it reads names: no cycle)

    if is_command(" ".join(t.text for t in tokens[:6]) + " "):
        return  # stages, file formats, PUT, LIST, REMOVE, COPY INTO (tasknb.local.sql.stages)
    if first in ("SHOW", "DESC", "DESCRIBE"):
        return  # SHOW and DESCRIBE (tasknb.local.sql.show)
    if first in _REFUSALS:
        raise UnsupportedSqlError(_REFUSALS[first])
    if first not in _FIRST_WORDS:
        if first not in _SNOWFLAKE_COMMANDS:  # not a statement on Snowflake either: a typo
            token = tokens[0]
            raise TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\nsyntax error line "
                               f"{token.line} at position {token.col - len(token.text)} "
                               f"unexpected '{token.text}'.", "42000")
        raise UnsupportedSqlError(f"statements starting with {first!r} are not supported.")
    if first in ("CREATE", "DROP", "ALTER"):
        words = [_word(t) for t in tokens[1:8]]
        kind = next((w for w in words if w not in _CREATE_MODIFIERS), "")
        if first == "ALTER" and kind == "SESSION" and words[1:2] in (["SET"], ["UNSET"]):
            return  # session parameters (tasknb.local.sql.translate)
        if kind in ("DATABASE", "SCHEMA"):
            raise UnsupportedSqlError(
                f"{first} {kind} inside a task is not supported; manage databases and schemas "
                "through the REST API."
            )
        if kind == "FUNCTION" and first in ("CREATE", "DROP"):
            return  # SQL user-defined functions (tasknb.local.sql.udfs)
        if kind == "FUNCTION":
            raise UnsupportedSqlError(
                "ALTER FUNCTION is not supported locally; CREATE OR REPLACE FUNCTION changes a "
                "function."
            )
        if kind == "PROCEDURE":  # CREATE and DROP PROCEDURE run (tasknb.local.sql.scripting)
            raise UnsupportedSqlError(
                f"{first} PROCEDURE is not supported locally; CREATE OR REPLACE PROCEDURE "
                "changes a procedure."
            )
        if kind not in _OBJECT_KINDS:
            raise UnsupportedSqlError(
                f"{first} {kind or '...'} is not supported; tasks may create, alter and drop "
                "tables, views, sequences and streams."
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
