"""Run-explorer state: filter a root task's graph runs, pick one, see why it failed, retry.

``RunExplorerState(client, "NIGHTLY_ROOT").refresh()``, then ``state.states = ("FAILED",)``
and ``state.select(state.filtered()[0])``. Builds on :class:`tasknb.widgets._state.TaskPanelState` (which fetches, acts and follows) and
adds the filters and the selected run. Graph runs: REST, recent history; the selected run's
per-task rows: TASK_HISTORY through SQL (on Snowflake that needs a warehouse).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import traitlets

from tasknb.models import Task, TaskRun
from tasknb.runs import (
    ATTEMPT_FIELD,
    FINISHED_STATES,
    RETRYABLE_STATES,
    RUN_STATES,
    latest_run,
    run_group,
)
from tasknb.widgets._state import Availability, TaskPanelState, fetch_task_runs
from tasknb.widgets._text import short_name

#: How many complete graph runs the explorer asks for.
EXPLORER_RUN_LIMIT = 200
#: Time filters, measured back from the server's now (never from a future scheduled run).
TIME_WINDOWS: dict[str, timedelta | None] = {
    "all": None,
    "last hour": timedelta(hours=1),
    "last 24 hours": timedelta(days=1),
    "last 7 days": timedelta(days=7),
}


def _when(run: TaskRun) -> datetime:
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return run.scheduled_time or run.query_start_time or run.completed_time or epoch


def _last_seen(run: TaskRun) -> datetime:
    """When a run last did something: its end, its start, else when it was due."""
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return run.completed_time or run.query_start_time or run.scheduled_time or epoch


def attempt_of(run: TaskRun) -> int | None:
    """The attempt number of a run (1 for the first; retries count up), when the server says.

        >>> attempt_of(TaskRun("R", extra={"attempt_number": 2})), attempt_of(TaskRun("R"))
        (2, None)
    """
    number = run.extra.get(ATTEMPT_FIELD)
    try:
        return int(number) if number is not None else None
    except (TypeError, ValueError):
        return None


def run_label(run: TaskRun) -> str:
    """One line naming a run, for pickers.

        >>> run_label(TaskRun("R", state="FAILED", run_id=7, first_error_task_name="T"))
        'FAILED · run 7 · at T'
    """
    bits = [run.state or "?"]
    if run.scheduled_time is not None:
        bits.append(run.scheduled_time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
    attempt = attempt_of(run)
    bits.append(f"run {run.run_id}" + (f" attempt {attempt}" if attempt and attempt > 1 else ""))
    if run.first_error_task_name:
        bits.append(f"at {short_name(run.first_error_task_name)}")
    return " · ".join(bits)


class RunExplorerState(traitlets.HasTraits):
    """Filters, the selected run and its failing task, over a :class:`TaskPanelState`.

    Traits: ``states`` (tuple of run states; empty means all), ``window`` (a key of
    :data:`TIME_WINDOWS`), ``selected`` (a ``TaskRun``), ``failing_task`` (a ``Task``),
    ``task_runs`` (the selected run's per-task rows, every attempt: a ``task_runs_frame``),
    ``task_runs_note`` (why they are missing), ``error``. The underlying panel state is ``.panel``.
    """

    states = traitlets.Tuple()
    window = traitlets.Unicode("all")
    selected = traitlets.Any(None, allow_none=True)
    failing_task = traitlets.Any(None, allow_none=True)
    error = traitlets.Unicode("")
    task_runs = traitlets.Any(None, allow_none=True)
    task_runs_note = traitlets.Unicode("")

    def __init__(self, client: Any, root: str | Task, **options: Any) -> None:
        super().__init__()
        options.setdefault("run_limit", EXPLORER_RUN_LIMIT)
        self.panel = TaskPanelState(client, root, **options)

    @traitlets.validate("window")
    def _check_window(self, proposal: Any) -> str:
        if proposal["value"] not in TIME_WINDOWS:
            raise traitlets.TraitError(
                f"unknown window {proposal['value']!r}: expected one of {', '.join(TIME_WINDOWS)}"
            )
        return proposal["value"]

    @traitlets.validate("states")
    def _check_states(self, proposal: Any) -> tuple[str, ...]:
        states = tuple(str(s).upper() for s in proposal["value"])
        unknown = [s for s in states if s not in RUN_STATES]
        if unknown:
            raise traitlets.TraitError(
                f"unknown run state {unknown[0]!r}: expected some of {', '.join(RUN_STATES)}"
            )
        return states

    def refresh(self) -> RunExplorerState:
        """Reload the runs; keep the selection when that run is still there."""
        self.panel.refresh()
        self.error = self.panel.error
        if self.selected is not None:
            again = [r for r in self.panel.runs if run_key(r) == run_key(self.selected)]
            self.selected = again[0] if again else None
        return self

    def filtered(self) -> list[TaskRun]:
        """The runs that pass the state and time filters, newest first."""
        runs = sorted(self.panel.runs, key=_when, reverse=True)
        if self.states:
            runs = [r for r in runs if r.state in self.states]
        span = TIME_WINDOWS[self.window]
        if span is not None:
            since = self.panel.clock.now() - span
            runs = [r for r in runs if _last_seen(r) >= since]
        return runs

    def select(self, run: TaskRun | None) -> None:
        """Pick a run; fetch its per-task rows (every attempt) and, when it failed, the
        failing task's definition."""
        self.error = ""
        self.selected = run
        self.failing_task = None
        self.load_task_runs()
        if run is None or not run.first_error_task_name:
            return
        name = short_name(run.first_error_task_name)
        task = self.panel._call(f"fetch {name}", self.panel.client.fetch_task, name)
        self.error = self.panel.error if task is None else ""
        self.failing_task = task

    def load_task_runs(self) -> None:
        """(Re)read the per-task rows of the selected run (TASK_HISTORY through SQL)."""
        run, root = self.selected, self.panel.root
        if run is None or root is None:
            self.task_runs, self.task_runs_note = None, ""
            return
        self.task_runs, self.task_runs_note = fetch_task_runs(self.panel.client, root, run)

    @property
    def retry_availability(self) -> Availability:
        """Retry (RETRY LAST) only retries the root's latest run, and only when it failed."""
        run = self.selected
        if run is None:
            return Availability(False, "pick a failed run first")
        if run.state not in RETRYABLE_STATES:
            state = (run.state or "unknown").lower()
            return Availability(False, f"run {run.run_id} {state}: there is nothing to retry")
        latest = latest_run(self.panel.runs)
        if latest is None or run_key(latest) != run_key(run):
            outcome = latest.state.lower() if latest is not None and latest.state else "unknown"
            if latest is not None and run_group(latest) == run_group(run):
                attempt = attempt_of(latest)
                which = f"attempt {attempt}" if attempt else "a later attempt"
                return Availability(
                    False,
                    f"RETRY LAST only retries the latest attempt: {which} of run {run.run_id} "
                    f"came after this one ({outcome})",
                )
            return Availability(
                False,
                f"RETRY LAST only retries the latest graph run; a newer run ({outcome}) came "
                f"after run {run.run_id}",
            )
        base = self.panel.availability.get("retry")
        if base is not None and not base.enabled:
            return base
        return Availability(True)

    def retry(self, *, follow: bool = True) -> bool:
        """Retry the selected run (it must be the latest failed run)."""
        check = self.retry_availability
        if not check.enabled:
            self.error = f"retry is not possible: {check.reason}"
            return False
        ok = self.panel.retry_last(follow=follow)
        self.error = self.panel.error
        return ok


def run_key(run: TaskRun) -> tuple[Any, Any, Any]:
    """What identifies one graph run across refreshes (a retry shares the run id, not the end).

        >>> run_key(TaskRun("R", state="EXECUTING", run_id=7))
        (7, None, 'EXECUTING')
    """
    finished = run.state in FINISHED_STATES
    return (run.run_id, run.completed_time if finished else None, run.state if not finished else "")
