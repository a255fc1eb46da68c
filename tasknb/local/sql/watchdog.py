"""One thread that fires the deadlines of running statements.

    >>> import threading
    >>> fired = threading.Event(); dog = Watchdog(lambda call_id: fired.set())
    >>> ticket = dog.watch(time.monotonic(), "call-1"); fired.wait(5)
    True
    >>> dog.forget(dog.watch(time.monotonic() + 3600, "call-2")); dog.pending()
    0
    >>> dog.stop()

A timer thread per run would cost more than a run; this one keeps a heap of deadlines. When a
statement ends its deadline is forgotten (:meth:`Watchdog.forget`), so that the heap holds only
the statements still running (it is rebuilt once forgotten entries outnumber them). The thread
sleeps until the earliest deadline and is woken only by a deadline earlier than that one (the
statements of a graph run share its deadline: most statements never wake it).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

_SLACK = 64  # forgotten entries tolerated in the heap beyond the live ones


class Watchdog:
    """Calls ``on_timeout(call_id)`` once each watched deadline has passed."""

    def __init__(self, on_timeout: Callable[[str], None]) -> None:
        self._on_timeout = on_timeout
        self._heap: list[tuple[float, int, str]] = []
        self._live: set[int] = set()
        self._tickets = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def watch(self, deadline: float, call_id: str) -> int:
        """Call ``on_timeout(call_id)`` at ``deadline`` (time.monotonic) unless forgotten
        first; return the ticket that :meth:`forget` takes."""
        with self._cond:
            ticket = next(self._tickets)
            heapq.heappush(self._heap, (deadline, ticket, call_id))
            self._live.add(ticket)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="tasknb-sql-timeouts", daemon=True
                )
                self._thread.start()
            if self._heap[0][1] == ticket:  # the earliest now: the thread must wake sooner
                self._cond.notify()
        return ticket

    def forget(self, ticket: int) -> None:
        """The statement of ``ticket`` ended: drop its deadline."""
        with self._cond:
            self._live.discard(ticket)
            if len(self._heap) > 2 * len(self._live) + _SLACK:
                self._heap = [entry for entry in self._heap if entry[1] in self._live]
                heapq.heapify(self._heap)

    def pending(self) -> int:
        """How many deadlines are being watched (statements still running)."""
        with self._cond:
            return len(self._live)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, ticket, call_id = self._heap[0]
                if ticket not in self._live:
                    heapq.heappop(self._heap)
                    continue
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                self._live.discard(ticket)
            self._on_timeout(call_id)  # a finished run is simply not found
