"""Per-task states of one graph run: from TASK_HISTORY rows (or a plain mapping) to drawing marks.

    >>> view = run_view({"ROOT": "succeeded", "CHILD": "skipped"})
    >>> view.states
    {'ROOT': 'SUCCEEDED', 'CHILD': 'SKIPPED'}
    >>> STATE_STYLES[view.states["CHILD"]]
    'skipped'

A task with no row in the run did not run (``NOT_RUN``: after a failure, suspended, or the
run was cut short). ``FAILED_AND_AUTO_SUSPENDED`` draws as failed. Rows are duck-typed
(``name``, ``state``, ``error_code``, ``error_message``, ``run_id``, ``attempt_number``,
``scheduled_time``, ``query_start_time``, ``completed_time``), as ``client.task_history``
returns them; the graph package never imports the client or the frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasknb.identifiers import name_key

NOT_RUN = "NOT_RUN"
#: Per-task states a run can give a task, in the order the legend lists them.
TASK_STATES = ("FAILED", "CANCELLED", "EXECUTING", "SCHEDULED", "SUCCEEDED", "SKIPPED", NOT_RUN)
#: Per-task state -> node style name (see ``_dot.NODE_STYLES``).
STATE_STYLES = {
    "SUCCEEDED": "task_succeeded",
    "FAILED": "failed",
    "SKIPPED": "skipped",
    NOT_RUN: "not_run",
    "CANCELLED": "cancelled",
    "EXECUTING": "task_executing",
    "SCHEDULED": "scheduled",
}
#: How each state reads in a label (words as well as colours).
STATE_WORDS = {
    "SUCCEEDED": "✓ succeeded",
    "FAILED": "✗ failed",
    "SKIPPED": "skipped: condition false",
    NOT_RUN: "not run",
    "CANCELLED": "cancelled",
    "EXECUTING": "executing",
    "SCHEDULED": "waiting",
}
_ALIASES = {"FAILED_AND_AUTO_SUSPENDED": "FAILED", "NOT RUN": NOT_RUN, "NOTRUN": NOT_RUN}


def task_state(value: str | None) -> str:
    """A per-task state in upper case, its aliases folded (``None``/empty: ``NOT_RUN``).

        >>> task_state("failed_and_auto_suspended"), task_state(None)
        ('FAILED', 'NOT_RUN')
    """
    text = (value or "").strip().upper().replace("-", "_")
    if not text:
        return NOT_RUN
    text = _ALIASES.get(text, text)
    if text not in STATE_STYLES:
        raise ValueError(
            f"unknown task state {value!r}: expected one of {', '.join(TASK_STATES)}"
        )
    return text


@dataclass
class RunView:
    """One graph run as the drawing shows it: per-task state, error and timing, by name key."""

    states: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    started: dict[str, datetime] = field(default_factory=dict)
    ended: dict[str, datetime] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    run_id: Any = None
    scheduled_time: datetime | None = None

    def state_of(self, key: str) -> str:
        return self.states.get(key, NOT_RUN)

    def seconds(self, key: str) -> float | None:
        start, end = self.started.get(key), self.ended.get(key)
        return None if start is None or end is None else (end - start).total_seconds()


def _error_text(row: Any) -> str | None:
    message = getattr(row, "error_message", None)
    code = getattr(row, "error_code", None)
    if not message and code in (None, ""):
        return None
    code_text = "" if code in (None, "") else f" {code}"
    return f"error{code_text}: {message or 'no message'}"


def _attempt_of(row: Any) -> tuple[int, datetime | None]:
    number = getattr(row, "attempt_number", None)
    try:
        attempt = int(number) if number is not None else 0
    except (TypeError, ValueError):
        attempt = 0
    return attempt, getattr(row, "query_start_time", None)


def run_view(source: Mapping[str, str] | Iterable[Any]) -> RunView:
    """A ``RunView`` from ``{task name: state}`` or from TASK_HISTORY rows of one graph run.

        >>> run_view({"db.sch.load": "FAILED"}).states
        {'LOAD': 'FAILED'}

    With rows, the highest attempt of each task counts (a retry replaces the failed attempt).
    """
    view = RunView()
    if isinstance(source, Mapping):
        for name, state in source.items():
            view.states[name_key(name)] = task_state(state)
        return view
    chosen: dict[str, Any] = {}
    for row in source:
        key = name_key(row.name)
        best = chosen.get(key)
        if best is None or _attempt_of(row)[0] >= _attempt_of(best)[0]:
            chosen[key] = row
    for key, row in chosen.items():
        view.states[key] = task_state(getattr(row, "state", None))
        error = _error_text(row)
        if error and view.states[key] in ("FAILED", "CANCELLED"):
            view.errors[key] = error
        for attr, target in (("query_start_time", view.started), ("completed_time", view.ended)):
            value = getattr(row, attr, None)
            if value is not None:
                target[key] = value
        view.attempts[key] = _attempt_of(row)[0]
        if view.run_id is None:
            view.run_id = getattr(row, "run_id", None)
        scheduled = getattr(row, "scheduled_time", None)
        if scheduled is not None and (view.scheduled_time is None or scheduled < view.scheduled_time):
            view.scheduled_time = scheduled
    return view
