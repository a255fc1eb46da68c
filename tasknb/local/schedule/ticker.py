"""The scheduling loop: fires started roots' schedules on the clock, and ``advance`` for a manual one.

    >>> from datetime import timezone
    >>> from tasknb.local.schedule.clock import ManualClock
    >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> fired = []
    >>> ticker = Ticker(lambda due: fired.extend(due) or [], clock, manual=True)
    >>> ticker.arm(("DB", "S", "ROOT"), {"schedule_type": "MINUTES_TYPE", "minutes": 30},
    ...            clock.now()).isoformat()
    '2026-01-01T00:30:00+00:00'
    >>> ticker.advance(timedelta(hours=1))      # the graph runs that ``fire`` started
    []
    >>> [(key[2], when.strftime("%H:%M")) for key, when in fired]
    [('ROOT', '00:30'), ('ROOT', '01:00')]

A heap of (fire time, root). Arming a root again or disarming it bumps a generation number, so
stale heap entries are skipped. With the real clock a background thread sleeps until the next
fire; every fire due at once is handed to ``fire`` in one call (so their graph runs are recorded
in one commit). With a manual clock nothing fires on its own: ``advance`` moves the clock to each
fire time in order, runs that fire and waits for the runs it produced before the next one.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tasknb.local.schedule.clock import Clock
from tasknb.local.schedule.cron import NEVER
from tasknb.local.schedule.schedules import LocalSchedule, next_fire_after, parse_schedule

Key = tuple[str, str, str]
# fire(list of (key, fire_time)) -> the graph runs started (objects with .wait()).
FireFn = Callable[[list[tuple[Key, datetime]]], list[Any]]

RUN_WAIT_SECONDS = 600.0  # advance() waits at most this long for one fire's runs

log = logging.getLogger("tasknb.local")


class Ticker:
    """See the module docstring."""

    def __init__(self, fire: FireFn, clock: Clock, *, manual: bool) -> None:
        self._fire = fire
        self.clock = clock
        self.manual = manual
        self._heap: list[tuple[datetime, int, Key, int]] = []
        self._generation: dict[Key, int] = {}
        self._schedules: dict[Key, tuple[LocalSchedule, datetime]] = {}
        self._next: dict[Key, datetime] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._advance_lock = threading.Lock()

    # --- arming --------------------------------------------------------------------------------
    def arm(self, key: Key, schedule_api: dict[str, Any], anchor: datetime) -> datetime | None:
        """Schedule a started root from ``anchor``; return its next fire time (None: never)."""
        schedule = parse_schedule(schedule_api)
        with self._cond:
            gen = self._generation.get(key, 0) + 1
            self._generation[key] = gen
            self._schedules[key] = (schedule, anchor)
            when = next_fire_after(schedule, self.clock.now(), anchor=anchor)
            if when >= NEVER:  # a cron naming no real instant never fires
                self._next.pop(key, None)
                return None
            self._next[key] = when
            heapq.heappush(self._heap, (when, next(self._seq), key, gen))
            self._cond.notify_all()
        return when

    def disarm(self, key: Key) -> None:
        """Forget a root's schedule (suspended, dropped or replaced)."""
        with self._cond:
            self._generation[key] = self._generation.get(key, 0) + 1
            self._schedules.pop(key, None)
            self._next.pop(key, None)
            self._cond.notify_all()

    def armed(self) -> list[Key]:
        """The roots that have a schedule armed."""
        with self._cond:
            return list(self._schedules)

    def next_fire(self, key: Key) -> datetime | None:
        """The next time a root fires, or None when it is not scheduled."""
        with self._cond:
            return self._next.get(key)

    def fire_after(self, key: Key, moment: datetime) -> datetime | None:
        """The schedule's first fire strictly after ``moment`` (None when not scheduled)."""
        with self._cond:
            entry = self._schedules.get(key)
        if entry is None:
            return None
        when = next_fire_after(entry[0], moment, anchor=entry[1])
        return None if when >= NEVER else when

    # --- firing --------------------------------------------------------------------------------
    def _pop_due(self, limit: datetime) -> list[tuple[Key, datetime]]:
        """Pop every valid entry due at or before ``limit``; re-arm each (caller holds lock)."""
        due: list[tuple[Key, datetime]] = []
        while self._heap and self._heap[0][0] <= limit:
            when, _, key, gen = heapq.heappop(self._heap)
            if self._generation.get(key) != gen or key not in self._schedules:
                continue
            due.append((key, when))
            schedule, anchor = self._schedules[key]
            following = next_fire_after(schedule, when, anchor=anchor)
            if following >= NEVER:
                self._next.pop(key, None)
                continue
            self._next[key] = following
            heapq.heappush(self._heap, (following, next(self._seq), key, gen))
        return due

    def _earliest(self) -> datetime | None:
        while self._heap:
            when, _, key, gen = self._heap[0]
            if self._generation.get(key) == gen and key in self._schedules:
                return when
            heapq.heappop(self._heap)
        return None

    def start(self) -> None:
        """Start the background loop (real clock only)."""
        if self.manual or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="tasknb-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background loop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                earliest = self._earliest()
                now = self.clock.now()
                if earliest is None or earliest > now:
                    wait = None if earliest is None else (earliest - now).total_seconds()
                    self._cond.wait(timeout=min(wait, 60.0) if wait is not None else 60.0)
                    continue
                due = self._pop_due(now)
            if due:
                try:
                    self._fire(due)
                except Exception:
                    log.debug("ignored error", exc_info=True)

    def advance(self, delta: timedelta) -> list[Any]:
        """Manual clock: move forward by ``delta`` firing every schedule in order."""
        if not self.manual:
            raise ValueError("The server runs on the real clock; start it with "
                             "clock='manual' to fast-forward time.")
        if delta < timedelta(0):
            raise ValueError(f"Time only moves forward; got a negative step of {delta}.")
        produced: list[Any] = []
        with self._advance_lock:
            target = self.clock.now() + delta
            while True:
                with self._cond:
                    earliest = self._earliest()
                    if earliest is None or earliest > target:
                        break
                    due = self._pop_due(earliest)
                self.clock.set(max(earliest, self.clock.now()))  # type: ignore[attr-defined]
                runs = self._fire(due)
                for run in runs:
                    run.wait(RUN_WAIT_SECONDS)
                produced.extend(runs)
            self.clock.set(max(target, self.clock.now()))  # type: ignore[attr-defined]
        return produced
