"""Shortening long texts (conditions, definitions, messages) without losing what tells them apart.

    >>> rows = "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('TEACH_EXTRACT')::INT"
    >>> elide_middle(f"{rows} = 0", 40)
    "SYSTEM$GET_PREDE…EACH_EXTRACT')::INT = 0"
    >>> elide_middle(f"{rows} > 0", 40)
    "SYSTEM$GET_PREDE…EACH_EXTRACT')::INT > 0"

One definition for the drawings, the panels and the frames. Whitespace runs (newlines
included) collapse to one space; a text over the limit keeps its beginning and, longer, its
end (where a condition's comparison and a statement's target usually are), joined by ``…``.
The full text always stays available elsewhere (tooltips, details, the frames' columns).
Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ELLIPSIS", "elide_distinct", "elide_middle", "flatten"]

ELLIPSIS = "…"
HEAD_SHARE = 0.4
"""The share of the kept characters taken from the beginning (the rest from the end)."""


def flatten(text: str | None) -> str:
    """``text`` on one line: every run of whitespace (newlines too) becomes one space.

        >>> flatten("select 1\\n  from t")
        'select 1 from t'
    """
    return " ".join((text or "").split())


def elide_middle(text: str | None, limit: int, *, keep_at: int | None = None) -> str:
    """``text`` on one line, at most ``limit`` characters, cut in the middle with ``…``.

        >>> elide_middle("short", 40)
        'short'
        >>> elide_middle("insert into marts.daily select * from staging.orders", 30)
        'insert into …om staging.orders'

    ``keep_at`` (a position in the flattened text) keeps that character visible: the cut
    moves away from it (``elide_distinct`` uses it to keep where two texts differ).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 character, got {limit}")
    flat = flatten(text)
    if len(flat) <= limit:
        return flat
    if limit < 5:
        return flat[: limit - 1] + ELLIPSIS
    room = limit - 1
    head = max(1, round(room * HEAD_SHARE))
    tail = room - head
    if keep_at is not None and head <= keep_at < len(flat) - tail:
        # the kept position falls into the cut: show a window around it instead
        window = max(1, limit - head - 2)  # room left between two ellipses
        start = min(max(keep_at - window // 2, head), len(flat) - window)
        if start + window >= len(flat):
            return flat[:head] + ELLIPSIS + flat[len(flat) - (limit - head - 1):]
        return flat[:head] + ELLIPSIS + flat[start : start + window] + ELLIPSIS
    return flat[:head] + ELLIPSIS + flat[len(flat) - tail:]


def _first_difference(text: str, other: str) -> int:
    for index, (mine, theirs) in enumerate(zip(text, other)):
        if mine != theirs:
            return index
    return min(len(text), len(other))


def elide_distinct(texts: Iterable[str | None], limit: int) -> dict[str, str]:
    """Shorten several texts so that different texts never read the same.

        >>> a = "x = 1 and a_very_long_column_name_that_repeats = 0 and more_text_here"
        >>> b = "x = 2 and a_very_long_column_name_that_repeats = 0 and more_text_here"
        >>> short = elide_distinct([a, b], 24)
        >>> short[a] != short[b]
        True

    Returns ``{flattened text: short text}``. Where ``elide_middle`` would make two texts
    equal, each keeps the place where it first differs from the other.
    """
    flats = sorted({flatten(text) for text in texts if text})
    short = {flat: elide_middle(flat, limit) for flat in flats}
    readers: dict[str, list[str]] = {}
    for flat, line in short.items():
        readers.setdefault(line, []).append(flat)
    for same in readers.values():
        if len(same) < 2:
            continue
        for flat in same:
            where = max(_first_difference(flat, other) for other in same if other != flat)
            short[flat] = elide_middle(flat, limit, keep_at=where)
    return short
