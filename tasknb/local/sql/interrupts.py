"""The running statements of the engine, and why one was stopped.

    >>> runs = RunningCalls(); runs.add("c1", RunState("DB", "S", key="graph-run-7"))
    >>> runs.stop_where(lambda state: state.key == "graph-run-7", CANCELED), runs.get("c1").stopped
    (1, True)

A stopped statement is interrupted through DuckDB (``cursor.interrupt()``); the reason decides
the error its run fails with (:meth:`RunState.error`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import duckdb

from tasknb.local.sql.errors import (
    CODE_CANCELED,
    CODE_TIMEOUT,
    TaskSqlError,
    missing_database,
)

#: Reasons a statement is stopped.
CANCELED = "canceled"
TASK_TIMEOUT = "task timeout"
STATEMENT_TIMEOUT = "statement timeout"
DROPPED = "dropped"  # its database was dropped while it ran


def _seconds_text(milliseconds: float) -> str:
    """Seconds as Snowflake's timeout message shows them.

    >>> _seconds_text(3000), _seconds_text(1500), _seconds_text(86_400_000)
    ('3', '1.5', '86,400')
    """
    seconds = milliseconds / 1000.0
    return f"{seconds:g}" if seconds != int(seconds) else f"{int(seconds):,}"


@dataclass
class RunState:
    """One engine call (a task run's definition): where it runs and whether it was stopped."""

    database: str
    schema: str = ""
    key: Hashable | None = None
    cursor: duckdb.DuckDBPyConnection | None = None
    reason: str | None = None
    task_timeout_ms: int | None = None  # as configured, for the message
    statement_timeout_seconds: float | None = None
    deadline: float | None = None  # time.monotonic() of the task timeout
    statement_deadline: float | None = None
    hook_error: TaskSqlError | None = None  # raised by an engine function inside DuckDB
    time_zone_set: bool = False  # its cursor's session time zone was changed (not pooled)

    @property
    def stopped(self) -> bool:
        """Whether the call was stopped (its next statement does not start)."""
        return self.reason is not None

    def error(self, database: str) -> TaskSqlError:
        """The error a stopped call fails with."""
        if self.reason == DROPPED:
            return missing_database(database)
        if self.reason == TASK_TIMEOUT and self.task_timeout_ms:
            return TaskSqlError(
                CODE_TIMEOUT,
                "Statement reached its statement or warehouse timeout of "
                f"{_seconds_text(self.task_timeout_ms)} second(s) and was canceled. "
                f"(USER_TASK_TIMEOUT_MS = {self.task_timeout_ms})",
                "57014",
            )
        if self.reason in (TASK_TIMEOUT, STATEMENT_TIMEOUT):
            seconds = self.statement_timeout_seconds or 0
            return TaskSqlError(
                CODE_TIMEOUT,
                "Statement reached its statement or warehouse timeout of "
                f"{_seconds_text(seconds * 1000)} second(s) and was canceled. "
                "(STATEMENT_TIMEOUT_IN_SECONDS)",
                "57014",
            )
        return TaskSqlError(CODE_CANCELED, "SQL execution canceled", "57014")


class RunningCalls:
    """The calls running now, by call id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, RunState] = {}

    def add(self, call_id: str, state: RunState) -> None:
        with self._lock:
            self._calls[call_id] = state

    def remove(self, call_id: str) -> RunState | None:
        with self._lock:
            return self._calls.pop(call_id, None)

    def get(self, call_id: str) -> RunState | None:
        with self._lock:
            return self._calls.get(call_id)

    def count(self, chosen: Callable[[RunState], bool]) -> int:
        """How many running calls ``chosen`` picks."""
        with self._lock:
            return sum(1 for state in self._calls.values() if chosen(state))

    def stop(self, call_id: str, reason: str) -> bool:
        """Stop one call (the first reason given sticks); whether it was running."""
        with self._lock:
            state = self._calls.get(call_id)
            if state is None:
                return False
            if state.reason is None:
                state.reason = reason
            cursor = state.cursor
        if cursor is not None:
            try:
                cursor.interrupt()
            except duckdb.Error:
                pass
        return True

    def stop_where(self, chosen: Callable[[RunState], bool], reason: str) -> int:
        """Stop every call ``chosen`` picks; how many were running."""
        with self._lock:
            calls = [call_id for call_id, state in self._calls.items() if chosen(state)]
        return sum(self.stop(call_id, reason) for call_id in calls)
