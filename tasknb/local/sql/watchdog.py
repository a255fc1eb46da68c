"""One thread that fires the deadlines of running statements.

    >>> import threading
    >>> fired = threading.Event(); dog = Watchdog(lambda call_id: fired.set())
    >>> dog.watch(time.monotonic(), "call-1"); fired.wait(5)
    True
    >>> dog.stop()

A timer thread per run would cost more than a run; this one keeps a heap of deadlines.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable


class Watchdog:
    """Calls ``on_timeout(call_id)`` once each watched deadline has passed."""

    def __init__(self, on_timeout: Callable[[str], None]) -> None:
        self._on_timeout = on_timeout
        self._heap: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def watch(self, deadline: float, call_id: str) -> None:
        """Call ``on_timeout(call_id)`` at ``deadline`` (time.monotonic) unless it is over."""
        with self._cond:
            heapq.heappush(self._heap, (deadline, call_id))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="tasknb-sql-timeouts", daemon=True
                )
                self._thread.start()
            self._cond.notify()

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
                deadline, call_id = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            self._on_timeout(call_id)  # a finished run is simply not found

