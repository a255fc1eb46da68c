"""What a block's names hold: variables, records, cursors, result sets, exceptions; and the
result of a statement.

    >>> frame = Frame(None); frame.declare("N", Variable(1)); Frame(frame).find("N").value
    1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasknb.local.sql.scripting import nodes as n


@dataclass
class Result:
    """Columns as ``(name, DuckDB type)``, rows, and the rows a DML statement changed."""

    columns: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]
    rowcount: int | None = None


@dataclass
class Variable:
    value: Any = None
    type: str | None = None


@dataclass
class Record:
    """One row of a cursor or RESULTSET loop: ``record.column``."""

    columns: dict[str, int]
    row: tuple[Any, ...]


@dataclass
class ResultSet:
    result: Result | None = None


@dataclass
class Cursor:
    declaration: n.CursorDecl
    result: Result | None = None
    position: int = 0
    open: bool = False


@dataclass
class UserException:
    name: str
    code: int
    message: str


@dataclass
class Frame:
    """One block's names (folded), inside its enclosing block's."""

    parent: Frame | None
    names: dict[str, Any] = field(default_factory=dict)

    def find(self, name: str) -> Any:
        frame: Frame | None = self
        while frame is not None:
            if name in frame.names:
                return frame.names[name]
            frame = frame.parent
        return None

    def owner(self, name: str) -> Frame | None:
        frame: Frame | None = self
        while frame is not None:
            if name in frame.names:
                return frame
            frame = frame.parent
        return None

    def declare(self, name: str, value: Any) -> None:
        self.names[name] = value

    def visible(self) -> frozenset[str]:
        names: set[str] = set()
        frame: Frame | None = self
        while frame is not None:
            names.update(frame.names)
            frame = frame.parent
        return frozenset(names)
