"""Query parameters of the local server: booleans, bounded integers, ``createMode`` and the SHOW
filters (``like``, ``startsWith``, ``fromName``, ``showLimit``).

    >>> filter_names(["T_1", "TX1", "other"], like="t\\\\_%")
    ['T_1']

``like`` is Snowflake's LIKE: ``%`` any run of characters, ``_`` any one, a backslash makes the
next character literal; case-insensitive, as SHOW ... LIKE is. It is matched in linear time: the
pattern is cut at each ``%`` into fixed-length pieces (runs of ``%`` collapse), the first piece
must start the name, the last must end it, and each piece between is taken at its leftmost
place. Each piece is a regex without repetition, so no input can make the match backtrack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tasknb.local.errors import bad_request
from tasknb.local.limits import CREATE_MODES
from tasknb.local.names import check_request_text


def parse_bool(value: str | None, name: str, default: bool) -> bool:
    """Query booleans, case-insensitive (snowflake-core sends ``True``/``False``).

        >>> parse_bool("True", "rootOnly", False), parse_bool(None, "x", True)
        (True, True)
    """
    if value is None:  # absent; an empty value is not a default
        return default
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise bad_request(f"Query parameter {name} must be true or false, got {value!r}.")


def parse_int(value: str | None, name: str, default: int | None, low: int, high: int) -> int | None:
    """An integer query parameter within ``[low, high]``.

        >>> parse_int("10", "showLimit", None, 1, 10000)
        10
    """
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"Query parameter {name} must be an integer, got {value!r}.") from None
    if not low <= number <= high:
        raise bad_request(f"Query parameter {name} must be between {low:,} and {high:,}, "
                          f"got {number}.")
    return number


def check_create_mode(value: str | None) -> str:
    """``createMode`` with Snowflake's refusal text for unknown values.

        >>> check_create_mode(None), check_create_mode("orReplace")
        ('errorIfExists', 'orReplace')
    """
    if value is None:
        return "errorIfExists"
    if value not in CREATE_MODES:
        raise bad_request(f"Not a valid createMode: {value}. Allowed values are: "
                          + ",".join(CREATE_MODES))
    return value


class LikePattern:
    """A compiled LIKE pattern; :meth:`matches` runs in time linear in the name's length.

        >>> LikePattern("%%%%%%%%%%%!").matches("T0000_ABCDEFGHIJKLMNOPQRSTUVW")
        False
        >>> LikePattern("a_c%").matches("ABCDEF"), LikePattern("a\\\\%").matches("a%")
        (True, True)
    """

    def __init__(self, pattern: str) -> None:
        pieces: list[list[str]] = [[]]  # regex atoms of each fixed-length piece between %s
        chars = iter(pattern)
        for char in chars:
            if char == "%":
                pieces.append([])
            elif char == "_":
                pieces[-1].append(".")
            else:
                literal = next(chars, "\\") if char == "\\" else char  # a trailing \ is literal
                pieces[-1].append(re.escape(literal))
        if len(pieces) > 2:  # runs of % collapse: an empty piece between them matches anywhere
            pieces = [pieces[0], *(p for p in pieces[1:-1] if p), pieces[-1]]
        self.pattern = pattern
        self._lengths = [len(p) for p in pieces]
        self._pieces = [re.compile("".join(p), re.IGNORECASE | re.DOTALL) for p in pieces]
        self._fixed = sum(self._lengths)  # a longer name is needed (names have at most 255)

    def matches(self, name: str) -> bool:
        """Whether ``name`` matches the whole pattern."""
        if len(self._pieces) == 1:
            return self._pieces[0].fullmatch(name) is not None
        if len(name) < self._fixed:
            return False
        first, *middle, last = self._pieces
        tail = len(name) - self._lengths[-1]  # where the last piece must start
        if first.match(name) is None or last.fullmatch(name, tail) is None:
            return False
        position = self._lengths[0]
        for piece in middle:
            found = piece.search(name, position, tail)
            if found is None:
                return False
            position = found.end()
        return True


def filter_names(names: Iterable[str], *, like: str | None = None, starts_with: str | None = None,
                 from_name: str | None = None, limit: int | None = None) -> list[str]:
    """SHOW ... LIKE / STARTS WITH / LIMIT n FROM, over names in lexicographic order.

        >>> filter_names(["B", "A", "C"], from_name="B", limit=1)
        ['B']
    """
    for value, parameter in ((like, "like"), (starts_with, "startsWith"),
                             (from_name, "fromName")):
        if value is not None:
            check_request_text(value, parameter)
    result = sorted(names)
    if like is not None:
        matcher = LikePattern(like)
        result = [n for n in result if matcher.matches(n)]
    if starts_with is not None:
        result = [n for n in result if n.startswith(starts_with)]
    if from_name is not None:
        result = [n for n in result if n >= from_name]
    if limit is not None:
        result = result[:limit]
    return result
