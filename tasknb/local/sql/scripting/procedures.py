"""Stored procedures: CREATE / DROP PROCEDURE read from their text, kept in the database.

    >>> proc = parse_create("CREATE OR REPLACE PROCEDURE add_one(n NUMBER DEFAULT 1) RETURNS NUMBER "
    ...                     "LANGUAGE SQL EXECUTE AS CALLER AS $$ BEGIN RETURN n + 1; END $$", "DB", "S")
    >>> proc.name, proc.arguments, proc.returns, proc.execute_as, proc.replace
    ('ADD_ONE', (Argument(name='N', type='NUMBER', default='1'),), 'NUMBER', 'CALLER', True)

A procedure lives where Snowflake keeps it, in its database: a table of the database's
DuckDB file (in the engine's own schema :data:`CATALOG_SCHEMA`), so it survives a restart,
goes with a dropped or replaced database, and is seen by every run at once (a changed body
takes effect at the next CALL, as on Snowflake). Procedures are told apart by name and number
of arguments (Snowflake's overloading by argument types is not kept locally).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache

import duckdb
from sqlglot.tokens import Token, TokenType

from tasknb.local.sql.errors import (
    CODE_ALREADY_EXISTS,
    CODE_DOES_NOT_EXIST,
    CODE_INTERNAL,
    TaskSqlError,
)
from tasknb.local.sql.names import quote_identifier
from tasknb.local.sql.scripting.parser import fold_name, syntax_error, word
from tasknb.local.sql.statements import tokenize

#: The DuckDB schema, in each database, that holds the engine's own catalog of procedures.
CATALOG_SCHEMA = "tasknb$catalog"
_TABLE = "procedures"
_CREATE_LOCK = threading.Lock()  # two runs creating the catalog at once would conflict

#: Words that start a clause of CREATE PROCEDURE after RETURNS <type>.
_CLAUSES = {"LANGUAGE", "EXECUTE", "COMMENT", "STRICT", "CALLED", "VOLATILE", "IMMUTABLE",
            "RUNTIME_VERSION", "PACKAGES", "HANDLER", "IMPORTS", "COPY", "SECRETS",
            "EXTERNAL_ACCESS_INTEGRATIONS", "TARGET_PATH", "ARTIFACT_REPOSITORY", "AS"}
_STRINGS = (TokenType.STRING, TokenType.RAW_STRING)


@dataclass(frozen=True)
class Argument:
    name: str
    type: str
    default: str | None = None


@dataclass(frozen=True)
class Procedure:
    """A procedure as CREATE PROCEDURE defined it (names folded as Snowflake folds them)."""

    database: str
    schema: str
    name: str
    arguments: tuple[Argument, ...]
    returns: str | None
    language: str
    body: str
    execute_as: str = "OWNER"
    replace: bool = False
    if_not_exists: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"

    def signature(self) -> str:
        """``DB.S.NAME(TYPE, ...)`` as Snowflake names a procedure in its messages."""
        return f"{self.qualified}({', '.join(a.type.upper() for a in self.arguments)})"

    def accepts(self, count: int) -> bool:
        required = sum(1 for a in self.arguments if a.default is None)
        return required <= count <= len(self.arguments)


def object_name(tokens: list[Token], index: int, database: str,
                schema: str) -> tuple[tuple[str, str, str], int]:
    """``[db.][schema.]name`` from ``tokens[index]``: the folded parts and the next index."""
    parts = []
    while index < len(tokens):
        token = tokens[index]
        if token.token_type in _STRINGS or token.token_type in (TokenType.L_PAREN,
                                                               TokenType.SEMICOLON):
            break
        parts.append(fold_name(token))
        index += 1
        if index < len(tokens) and tokens[index].token_type == TokenType.DOT:
            index += 1
            continue
        break
    if not parts or len(parts) > 3:
        raise TaskSqlError(1003, "SQL compilation error:\nsyntax error: a procedure name is "
                           "[database.][schema.]name.", "42000")
    full = [database, schema][: 3 - len(parts)] + parts
    return (full[0], full[1], full[2]), index


def comma_group(tokens: list[Token], index: int, text: str) -> tuple[list[list[Token]], int]:
    """The comma-separated token lists of the parenthesised group at ``index``."""
    if index >= len(tokens) or tokens[index].token_type != TokenType.L_PAREN:
        raise syntax_error(text, tokens[index] if index < len(tokens) else None, "'('")
    depth, items, current = 0, [], []
    for position in range(index, len(tokens)):
        token = tokens[position]
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            if depth == 1:
                continue
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                if current:
                    items.append(current)
                return items, position + 1
        elif token.token_type == TokenType.COMMA and depth == 1:
            items.append(current)
            current = []
            continue
        current.append(token)
    raise syntax_error(text, None, "')'")


def text_span(text: str, tokens: list[Token]) -> str:
    return text[tokens[0].start : tokens[-1].end + 1]


@lru_cache(maxsize=256)
def parse_create(text: str, database: str, schema: str) -> Procedure:
    """A CREATE [OR REPLACE] PROCEDURE statement (any language)."""
    tokens = tokenize(text)
    words = [word(t) for t in tokens]
    index = words.index("PROCEDURE") + 1
    replace = "REPLACE" in words[:index]
    if_not_exists = words[index : index + 3] == ["IF", "NOT", "EXISTS"]
    if if_not_exists:
        index += 3
    (db, sch, name), index = object_name(tokens, index, database, schema)
    items, index = comma_group(tokens, index, text)
    arguments = []
    for item in items:
        default_at = next((i for i, t in enumerate(item) if word(t) == "DEFAULT"), len(item))
        if default_at < 2:
            raise syntax_error(text, item[0], "an argument name and type")
        arguments.append(Argument(fold_name(item[0]), text_span(text, item[1:default_at]),
                                  text_span(text, item[default_at + 1 :])
                                  if default_at < len(item) else None))
    returns, language, execute_as, body = None, "SQL", "OWNER", None
    while index < len(tokens):
        current = words[index]
        if current == "RETURNS":
            start = index + 1
            index = start
            while index < len(tokens) and not (words[index] in _CLAUSES and not (
                    words[index] == "AS" and words[index - 1] == "EXECUTE")):
                if tokens[index].token_type == TokenType.L_PAREN:
                    index = comma_group(tokens, index, text)[1]
                    continue
                index += 1
            returns = text_span(text, tokens[start:index])
            continue
        if current == "LANGUAGE" and index + 1 < len(tokens):
            language = words[index + 1]
            index += 2
            continue
        if current == "EXECUTE" and index + 2 < len(tokens) and words[index + 1] == "AS":
            execute_as = words[index + 2]
            index += 3
            if execute_as == "RESTRICTED" and index < len(tokens):
                execute_as, index = "RESTRICTED CALLER", index + 1
            continue
        if current == "AS":
            rest = tokens[index + 1 :]
            if not rest:
                raise syntax_error(text, None, "the procedure's body")
            if rest[0].token_type in _STRINGS and len(rest) == 1:
                body = rest[0].text
            else:
                body = text_span(text, rest)
            break
        index += 1
    if body is None:
        raise syntax_error(text, None, "AS followed by the procedure's body")
    if returns is None:
        raise TaskSqlError(1003, "SQL compilation error:\nsyntax error: CREATE PROCEDURE needs "
                           "RETURNS <type> before AS.", "42000")
    return Procedure(db, sch, name, tuple(arguments), returns, language, body, execute_as,
                     replace, if_not_exists)


@lru_cache(maxsize=256)
def parse_drop(text: str, database: str, schema: str) -> tuple[tuple[str, str, str], int, bool]:
    """DROP PROCEDURE [IF EXISTS] name(type, ...): the name, argument count, IF EXISTS."""
    tokens = tokenize(text)
    words = [word(t) for t in tokens]
    index = words.index("PROCEDURE") + 1
    if_exists = words[index : index + 2] == ["IF", "EXISTS"]
    if if_exists:
        index += 2
    name, index = object_name(tokens, index, database, schema)
    count = len(comma_group(tokens, index, text)[0]) if index < len(tokens) else 0
    return name, count, if_exists


class _Cursor:
    """The run's cursor, with DuckDB's failures (a write conflict) as Snowflake errors."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: list[object] | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self._cursor.execute(sql, params)
        except duckdb.CatalogException:
            raise
        except duckdb.Error as error:
            text = str(error).split("\n", 1)[0]
            raise TaskSqlError(CODE_INTERNAL, "SQL execution internal error: the procedure "
                               f"catalog could not be changed ({text}). Run the statement "
                               "again.", "XX000") from error


class Catalog:
    """The procedures of the databases, read and written through one run's cursor."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = _Cursor(cursor)

    def _table(self, database: str) -> str:
        return f"{quote_identifier(database)}.{quote_identifier(CATALOG_SCHEMA)}.{_TABLE}"

    def _ensure(self, database: str) -> None:
        with _CREATE_LOCK:
            self._cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(database)}."
                                 f"{quote_identifier(CATALOG_SCHEMA)}")
            self._cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table(database)} (schema_name VARCHAR, "
                "name VARCHAR, arg_count INTEGER, definition VARCHAR, "
                "PRIMARY KEY (schema_name, name, arg_count))")

    def find(self, database: str, schema: str, name: str) -> list[Procedure]:
        """The procedures of that name (every overload), none if the catalog is not there."""
        try:
            rows = self._cursor.execute(
                f"SELECT definition FROM {self._table(database)} WHERE schema_name = ? AND "
                "name = ? ORDER BY arg_count", [schema, name]).fetchall()
        except duckdb.CatalogException:
            return []
        return [_load(row[0]) for row in rows]

    def create(self, proc: Procedure) -> str:
        """Store the procedure (002002 if it exists and neither OR REPLACE nor IF NOT EXISTS)."""
        self._ensure(proc.database)
        existing = [p for p in self.find(proc.database, proc.schema, proc.name)
                    if len(p.arguments) == len(proc.arguments)]
        if existing and proc.if_not_exists:
            return f"{proc.name} already exists, statement succeeded."
        if existing and not proc.replace:
            raise TaskSqlError(CODE_ALREADY_EXISTS, "SQL compilation error:\nObject "
                               f"'{proc.name}' already exists.", "42710")
        self._cursor.execute(
            f"INSERT OR REPLACE INTO {self._table(proc.database)} VALUES (?, ?, ?, ?)",
            [proc.schema, proc.name, len(proc.arguments), _dump(proc)])
        return f"Function {proc.name} successfully created."

    def drop(self, name: tuple[str, str, str], count: int, if_exists: bool) -> str:
        database, schema, bare = name
        found = [p for p in self.find(database, schema, bare) if len(p.arguments) == count]
        if not found:
            if if_exists:
                return "Drop statement executed successfully (procedure already dropped)."
            raise TaskSqlError(CODE_DOES_NOT_EXIST, "SQL compilation error:\nProcedure "
                               f"'{database}.{schema}.{bare}' with {count} argument(s) does not "
                               "exist or not authorized.", "02000")
        self._cursor.execute(
            f"DELETE FROM {self._table(database)} WHERE schema_name = ? AND name = ? AND "
            "arg_count = ?", [schema, bare, count])
        return f"{bare} successfully dropped."


def listed(cursor: duckdb.DuckDBPyConnection, database: str,
           schema: str | None = None) -> list[Procedure]:
    """The procedures of a database (of one schema), none if its catalog is not there."""
    table = f"{quote_identifier(database)}.{quote_identifier(CATALOG_SCHEMA)}.{_TABLE}"
    where, values = ("WHERE schema_name = ?", [schema]) if schema is not None else ("", [])
    try:
        rows = cursor.execute(f"SELECT definition FROM {table} {where} ORDER BY schema_name, "
                              "name, arg_count", values).fetchall()
    except duckdb.CatalogException:
        return []
    return [_load(row[0]) for row in rows]


def forget_schema(con: duckdb.DuckDBPyConnection, database: str, schema: str) -> None:
    """Drop the procedures of a dropped schema (nothing if the catalog is not there)."""
    table = f"{quote_identifier(database)}.{quote_identifier(CATALOG_SCHEMA)}.{_TABLE}"
    try:
        con.execute(f"DELETE FROM {table} WHERE schema_name = ?", [schema])
    except duckdb.CatalogException:
        pass


def _dump(proc: Procedure) -> str:
    return json.dumps({
        "database": proc.database, "schema": proc.schema, "name": proc.name,
        "arguments": [[a.name, a.type, a.default] for a in proc.arguments],
        "returns": proc.returns, "language": proc.language, "body": proc.body,
        "execute_as": proc.execute_as,
    })


def _load(text: str) -> Procedure:
    data = json.loads(text)
    return Procedure(data["database"], data["schema"], data["name"],
                     tuple(Argument(*a) for a in data["arguments"]), data["returns"],
                     data["language"], data["body"], data["execute_as"])
