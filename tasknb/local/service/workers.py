"""The threads that run task runs: fair across graph runs, so long statements cannot take them all.

    >>> import threading
    >>> pool = FairPool(per_group=2, max_threads=4)
    >>> done = threading.Event()
    >>> pool.submit("run 1", done.set)
    >>> done.wait(5.0)
    True
    >>> pool.shutdown()          # the queued jobs that never ran
    []

Jobs are queued per group (a graph run). A group has at most ``per_group`` jobs running at
once; a free thread takes the next job of the group with the fewest jobs running, the one
served longest ago among equals, so every graph run gets its turn however many jobs another
has queued. Threads are started when a job finds none idle, up
to ``max_threads`` in all (a long statement holds its thread, and other graph runs still get
new ones), and end after :data:`IDLE_SECONDS` without work.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable

log = logging.getLogger("tasknb.local")

IDLE_SECONDS = 30.0  # a thread with nothing to do for this long ends


class FairPool:
    """Threads shared fairly by groups of jobs; see the module docstring."""

    def __init__(self, *, per_group: int, max_threads: int,
                 name_prefix: str = "tasknb-run") -> None:
        if per_group < 1 or max_threads < 1:
            raise ValueError(f"per_group and max_threads must be at least 1, got "
                             f"{per_group} and {max_threads}")
        self.per_group = per_group
        self.max_threads = max_threads
        self._prefix = name_prefix
        self._cond = threading.Condition()
        self._queues: dict[Hashable, deque[Callable[[], None]]] = {}
        self._running: dict[Hashable, int] = {}
        self._served: dict[Hashable, int] = {}  # when a group last got a thread (a counter)
        self._turn = 0
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._serial = 0
        self._closed = False

    def submit(self, group: Hashable, job: Callable[[], None]) -> None:
        """Queue ``job`` in ``group``; raises RuntimeError once the pool is shut down."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            self._queues.setdefault(group, deque()).append(job)
            if self._idle < self._startable() and len(self._threads) < self.max_threads:
                self._serial += 1
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self._prefix}-{self._serial}")
                self._threads.add(thread)
                thread.start()
            self._cond.notify()

    def _startable(self) -> int:
        """How many queued jobs could start now (caller holds the lock)."""
        return sum(min(len(queue), self.per_group - self._running.get(group, 0))
                   for group, queue in self._queues.items())

    def _take(self) -> tuple[Hashable, Callable[[], None]] | None:
        """The next job: of the group below its limit with the fewest running, served longest
        ago among equals (caller holds the lock)."""
        best: Hashable | None = None
        best_key: tuple[int, int] | None = None
        for group in self._queues:
            running = self._running.get(group, 0)
            if running < self.per_group:
                key = (running, self._served.get(group, -1))
                if best_key is None or key < best_key:
                    best, best_key = group, key
        if best_key is None:
            return None
        queue = self._queues[best]
        job = queue.popleft()
        if not queue:
            del self._queues[best]
        self._running[best] = self._running.get(best, 0) + 1
        self._turn += 1
        self._served[best] = self._turn
        return best, job

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                taken = self._take()
                while taken is None:
                    if self._closed:
                        self._threads.discard(me)
                        self._cond.notify_all()
                        return
                    self._idle += 1
                    woken = self._cond.wait(IDLE_SECONDS)
                    self._idle -= 1
                    taken = self._take()
                    if taken is None and not woken and not self._closed:
                        self._threads.discard(me)  # idle too long
                        return
            group, job = taken
            try:
                job()
            except Exception:
                log.exception("a task run job failed")
            finally:
                with self._cond:
                    left = self._running[group] - 1
                    if left:
                        self._running[group] = left
                    else:
                        del self._running[group]
                        if group not in self._queues:
                            self._served.pop(group, None)  # the group is done for now
                    if group in self._queues:
                        self._cond.notify()  # a job of that group may start now

    def take_queued(self, group: Hashable) -> list[Callable[[], None]]:
        """Remove and return the jobs of ``group`` still waiting for a thread."""
        with self._cond:
            return list(self._queues.pop(group, ()))

    def shutdown(self, wait: bool = True, *, cancel_queued: bool = True) -> list[Callable[[], None]]:
        """Take no more jobs; return the queued ones that never ran (``cancel_queued``), and
        wait for the running ones to end (``wait``)."""
        with self._cond:
            self._closed = True
            dropped: list[Callable[[], None]] = []
            if cancel_queued:
                for queue in self._queues.values():
                    dropped.extend(queue)
                self._queues.clear()
            self._cond.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
        return dropped
