"""Durations as people write and read them: ``"10 minutes"`` in, ``"3 min 5 s"`` out.

    >>> parse_duration("10 minutes"), format_duration(185)
    (datetime.timedelta(seconds=600), '3 min 5 s')

Standard library only, so every part of tasknb may use it (the local server included).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

#: Unit words ``parse_duration`` understands, in seconds.
UNITS: dict[str, float] = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$")
_HOW = 'pass a timedelta, a number of seconds or text like "10 minutes", "1 day" or "90s"'


def parse_duration(value: timedelta | float | str) -> timedelta:
    """A duration given as a ``timedelta``, a number of seconds or text with a unit.

        >>> parse_duration("1 day"), parse_duration("90s"), parse_duration(2)
        (datetime.timedelta(days=1), datetime.timedelta(seconds=90), datetime.timedelta(seconds=2))

    Text without a unit counts seconds. Raises ``ValueError`` saying what to pass instead
    for anything else, negative durations included.
    """
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"cannot read {value!r} as a duration: {_HOW}")
        delta = _seconds(value, value)
    elif isinstance(value, str) and (match := _TEXT.match(value)):
        unit = match.group(2).lower() or "s"
        if unit not in UNITS:
            raise ValueError(
                f"unknown time unit {match.group(2)!r} in {value!r}: "
                "use ms, seconds, minutes, hours, days or weeks"
            )
        delta = _seconds(float(match.group(1)) * UNITS[unit], value)
    else:
        raise ValueError(f"cannot read {value!r} as a duration: {_HOW}")
    if delta < timedelta(0):
        raise ValueError(f"a duration cannot be negative ({value!r}): pass a positive one")
    return delta


def _seconds(seconds: float, given: object) -> timedelta:
    try:
        return timedelta(seconds=seconds)
    except OverflowError as error:
        raise ValueError(f"{given!r} is too long a duration: {_HOW}") from error


def format_duration(seconds: float) -> str:
    """Short text for a duration in seconds, precise where it matters.

        >>> format_duration(0.035), format_duration(2.44), format_duration(7800)
        ('35 ms', '2.4 s', '2 h 10 min')

    Under a second in milliseconds, under a minute in tenths of a second, then minutes and
    seconds, then hours and minutes (a zero second part is left out: ``3 min``).
    """
    if not math.isfinite(seconds):
        raise ValueError(f"cannot format {seconds!r} as a duration: pass a finite number")
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)} ms"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
