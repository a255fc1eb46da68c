"""The parsed shape of a Snowflake Scripting block: one small class per construct.

    >>> Block(Where(1, 0), declarations=(), body=(Null(Where(2, 2)),), handlers=()).body[0].where.line
    2

Expressions and SQL statements stay text (:class:`Expr`, :class:`Sql`): they are run by the
engine with the variables they use bound as values, never spliced into the text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Where:
    """Line (1-based) and position (0-based column) in the block's text, as Snowflake counts."""

    line: int
    column: int


@dataclass(frozen=True)
class Expr:
    """A Snowflake expression (``x + 1``, ``(SELECT COUNT(*) FROM t)``) as written."""

    text: str
    where: Where


@dataclass(frozen=True)
class Sql:
    """A SQL statement of the block, with ``:name`` binds still in its text."""

    where: Where
    text: str


@dataclass(frozen=True)
class Node:
    where: Where


@dataclass(frozen=True)
class VarDecl(Node):
    """``name [type] [DEFAULT | := expr]`` (also ``LET``)."""

    name: str
    type: str | None
    default: Expr | None


@dataclass(frozen=True)
class CursorDecl(Node):
    """``name CURSOR FOR <query> | <resultset>``."""

    name: str
    query: Sql | None
    resultset: str | None


@dataclass(frozen=True)
class ResultsetDecl(Node):
    """``name RESULTSET [DEFAULT | := (<query>)]``."""

    name: str
    query: Sql | None


@dataclass(frozen=True)
class ExceptionDecl(Node):
    """``name EXCEPTION [(code, 'message')]``."""

    name: str
    code: int
    message: str


@dataclass(frozen=True)
class Handler:
    """``WHEN name [OR name ...] THEN statements`` (names upper-case; OTHER catches all)."""

    names: tuple[str, ...]
    body: tuple[Node, ...]


@dataclass(frozen=True)
class Block(Node):
    declarations: tuple[Node, ...]
    body: tuple[Node, ...]
    handlers: tuple[Handler, ...]


@dataclass(frozen=True)
class Assign(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class If(Node):
    branches: tuple[tuple[Expr, tuple[Node, ...]], ...]
    otherwise: tuple[Node, ...]


@dataclass(frozen=True)
class Case(Node):
    operand: Expr | None
    branches: tuple[tuple[Expr, tuple[Node, ...]], ...]
    otherwise: tuple[Node, ...] | None


@dataclass(frozen=True)
class ForRange(Node):
    variable: str
    start: Expr
    stop: Expr
    reverse: bool
    body: tuple[Node, ...]
    label: str | None


@dataclass(frozen=True)
class ForCursor(Node):
    variable: str
    source: str  # a cursor or RESULTSET variable
    body: tuple[Node, ...]
    label: str | None


@dataclass(frozen=True)
class While(Node):
    condition: Expr
    body: tuple[Node, ...]
    label: str | None


@dataclass(frozen=True)
class Repeat(Node):
    body: tuple[Node, ...]
    until: Expr
    label: str | None


@dataclass(frozen=True)
class Loop(Node):
    body: tuple[Node, ...]
    label: str | None


@dataclass(frozen=True)
class Break(Node):
    label: str | None


@dataclass(frozen=True)
class Continue(Node):
    label: str | None


@dataclass(frozen=True)
class Return(Node):
    value: Expr | None


@dataclass(frozen=True)
class ReturnTable(Node):
    """``RETURN TABLE(resultset)`` (or ``TABLE(RESULTSET_FROM_CURSOR(cursor))``)."""

    source: str


@dataclass(frozen=True)
class Raise(Node):
    name: str | None  # None: re-raise the exception being handled


@dataclass(frozen=True)
class Open(Node):
    name: str
    using: tuple[Expr, ...]


@dataclass(frozen=True)
class Fetch(Node):
    name: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Close(Node):
    name: str


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class ExecuteImmediate(Node):
    source: Expr
    using: tuple[Expr, ...]


@dataclass(frozen=True)
class Statement(Node):
    """A SQL statement (SELECT, INSERT, CALL, CREATE PROCEDURE, ...)."""

    sql: Sql
