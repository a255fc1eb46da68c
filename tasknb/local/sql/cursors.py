"""Cursors placed in a task's schema, reused by the worker thread that made them.

    >>> import duckdb
    >>> con = duckdb.connect(); pool = CursorPool(lambda database, schema: con.cursor())
    >>> cursor = pool.take("D", "S"); pool.give_back("D", "S", cursor, reusable=True)
    >>> pool.take("D", "S") is cursor
    True

A run still starts a fresh session: a cursor that ran a transaction statement or made a
temporary object is closed, not reused (the engine says so with ``reusable``). When a schema
or database goes (:meth:`CursorPool.expire`) every idle pooled cursor, of any thread, is
closed at once: one may hold the dropped database's file (a result it did not fetch), and
attaching a new database of that name would fail until it let go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import duckdb

#: Cursors a worker thread keeps, one per (database, schema).
MAX_POOLED_CURSORS = 16


class CursorPool:
    """Per-thread pools of placed cursors; ``place(database, schema)`` makes a new one."""

    def __init__(self, place: Callable[[str, str], duckdb.DuckDBPyConnection]) -> None:
        self._place = place
        self._local = threading.local()
        self._generation = 0
        self._lock = threading.Lock()
        self._idle: dict[int, Any] = {}  # id -> pooled cursor, of every thread
        self.closed = False

    def _pool(self) -> dict[tuple[str, str], tuple[int, Any]]:
        return self._local.__dict__.setdefault("pool", {})

    def expire(self) -> None:
        """Pooled cursors are not reused any more (a schema or database went): closed now."""
        with self._lock:
            self._generation += 1
            idle, self._idle = list(self._idle.values()), {}
        for cursor in idle:
            try:
                cursor.close()
            except duckdb.Error:
                pass

    def take(self, database: str, schema: str) -> duckdb.DuckDBPyConnection:
        """A cursor placed in ``database.schema``: this thread's pooled one, or a new one."""
        entry = self._pool().pop((database, schema), None)
        if entry is not None:
            generation, cursor = entry
            with self._lock:
                kept = self._idle.pop(id(cursor), None) is cursor  # else expire() closed it
                if kept and generation == self._generation:
                    return cursor
            if kept:
                cursor.close()
        return self._place(database, schema)

    def give_back(self, database: str, schema: str, cursor: duckdb.DuckDBPyConnection,
                  reusable: bool) -> None:
        """Keep a cursor that ended cleanly for this thread's next run in the same schema."""
        pool = self._pool()
        key = (database, schema)
        with self._lock:
            keep = (reusable and not self.closed and key not in pool
                    and len(pool) < MAX_POOLED_CURSORS)
            if keep:
                pool[key] = (self._generation, cursor)
                self._idle[id(cursor)] = cursor
        if not keep:
            cursor.close()
