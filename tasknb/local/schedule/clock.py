"""Where the local server reads the time: the real clock, or a manual one for teaching and tests.

    >>> c = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> c.advance(timedelta(days=1)).isoformat()
    '2026-01-02T00:00:00+00:00'
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


def as_utc(when: datetime, name: str) -> datetime:
    """``when`` in UTC; a naive datetime is a ValueError naming ``name``.

        >>> as_utc(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "start").hour
        0
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {when.isoformat()})")
    return when.astimezone(timezone.utc)


class Clock(Protocol):
    """Where the server reads the time: real, or manual for teaching and tests."""

    def now(self) -> datetime: ...


class RealClock:
    """The wall clock, in UTC.

    >>> RealClock().now().tzinfo is timezone.utc
    True
    """

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that moves only when told to (thread-safe); see the module docstring."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = as_utc(start, "start") if start is not None else RealClock().now()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (not negative) and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock only moves forward; got a negative step of {delta}")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (aware, not earlier than now) and return it."""
        target = as_utc(when, "when")
        with self._lock:
            if target < self._now:
                raise ValueError(
                    f"a clock only moves forward; {target.isoformat()} is before "
                    f"{self._now.isoformat()}"
                )
            self._now = target
            return self._now
