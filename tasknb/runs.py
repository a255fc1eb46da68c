"""Graph runs: their states, which one is the latest, and running one to the end.

    >>> from tasknb.models import TaskRun
    >>> first = TaskRun("R", state="FAILED", run_id=7, extra={GROUP_FIELD: "g", ATTEMPT_FIELD: 1})
    >>> retry = TaskRun("R", state="SUCCEEDED", run_id=7, extra={GROUP_FIELD: "g", ATTEMPT_FIELD: 2})
    >>> latest_run([first, retry]).state
    'SUCCEEDED'

One definition each, used by the drawings, the panels and notebook cells alike. Standard
library only (models are only named in type hints, so ``tasknb.models`` may use this module).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tasknb.durations import format_duration
from tasknb.identifiers import name_key

if TYPE_CHECKING:
    from tasknb.models import TaskRun

#: Every graph-run state, in the order filters and legends list them.
RUN_STATES = ("FAILED", "CANCELLED", "SUCCEEDED", "SKIPPED", "EXECUTING", "SCHEDULED")
#: States of a run that is over (``complete-graphs``).
FINISHED_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"})
#: States of a run that is going on now.
ACTIVE_STATES = frozenset({"EXECUTING"})
#: States of a finished run that RETRY LAST can take up again.
RETRYABLE_STATES = frozenset({"FAILED", "CANCELLED"})
#: Every state of one task's run (TASK_HISTORY ``STATE``), in the order of a run's life.
TASK_RUN_STATES = (
    "SCHEDULED",
    "EXECUTING",
    "SUCCEEDED",
    "FAILED",
    "FAILED_AND_AUTO_SUSPENDED",
    "SKIPPED",
    "CANCELLED",
)
#: States of a task run that failed (an auto-suspension is a failure too).
TASK_FAILED_STATES = frozenset({"FAILED", "FAILED_AND_AUTO_SUSPENDED"})
#: Extension fields some servers add to a graph run (the local server does; REST does not).
GROUP_FIELD = "graph_run_group_id"
ATTEMPT_FIELD = "attempt_number"
#: The colour each run or task-run state is shown in (panels, run strips, timelines).
STATE_COLOURS = {
    "SUCCEEDED": "#2e7d32",
    "FAILED": "#c62828",
    "FAILED_AND_AUTO_SUSPENDED": "#8e0000",
    "CANCELLED": "#6d4c41",
    "SKIPPED": "#9e9e9e",
    "EXECUTING": "#1565c0",
    "SCHEDULED": "#90caf9",
}
#: Snowflake writes error codes zero-padded to this many digits: ``002003``.
ERROR_CODE_DIGITS = 6
#: What a missing error code reads as once it went through pandas or ``str()``.
_MISSING_TEXT = frozenset({"", "<NA>", "nan", "NaN", "NaT", "None"})

#: How long ``execute_and_wait`` waits for a graph run to finish (seconds).
WAIT_TIMEOUT_S = 300.0
#: Seconds between polls in ``execute_and_wait``.
WAIT_POLL_S = 0.5
#: How many complete runs ``execute_and_wait`` reads to find the new one.
WAIT_RUN_LIMIT = 10

_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def error_code_text(code: object) -> str | None:
    """An error code as Snowflake writes it, six digits zero-padded; ``None`` when there is none.

        >>> error_code_text(2003), error_code_text("091456"), error_code_text(None)
        ('002003', '091456', None)
    """
    text = "" if code is None else str(code).strip()
    if text in _MISSING_TEXT:
        return None
    text = text.removesuffix(".0")
    return text.zfill(ERROR_CODE_DIGITS) if text.isdigit() else text


def _start(run: TaskRun) -> datetime:
    """When a run was due: its scheduled time, else when it started or ended."""
    return run.scheduled_time or run.query_start_time or run.completed_time or _EARLIEST


def run_group(run: TaskRun) -> Hashable | None:
    """What the attempts of one graph run share: the run group id, else the run id.

        >>> from tasknb.models import TaskRun
        >>> run_group(TaskRun("R", run_id=7)), run_group(TaskRun("R", extra={GROUP_FIELD: "g"}))
        (7, 'g')

    Snowflake keeps ``run_id`` (the original scheduled time) across retries, so without a
    group id the run id groups the attempts.
    """
    group = run.extra.get(GROUP_FIELD)
    return group if group is not None else run.run_id


def _attempt(run: TaskRun) -> tuple[int, datetime]:
    """Orders the attempts of one group: the attempt number, then the start time."""
    number = run.extra.get(ATTEMPT_FIELD)
    try:
        attempt = int(number) if number is not None else 0
    except (TypeError, ValueError):
        attempt = 0
    return attempt, run.query_start_time or run.scheduled_time or _EARLIEST


def _newest(runs: list[TaskRun]) -> TaskRun | None:
    """The newest run group (by when its first attempt was due), and its highest attempt."""
    if not runs:
        return None
    groups: dict[Any, list[TaskRun]] = {}
    for index, run in enumerate(runs):
        group = run_group(run)
        groups.setdefault(("run", index) if group is None else group, []).append(run)
    best: list[TaskRun] | None = None
    best_start = _EARLIEST
    for members in groups.values():  # input order breaks ties: servers list newest first
        start = min(_start(r) for r in members)
        if best is None or start > best_start:
            best, best_start = members, start
    assert best is not None
    latest = best[0]
    for run in best[1:]:
        if _attempt(run) > _attempt(latest):
            latest = run
    return latest


def latest_run(runs: Iterable[TaskRun]) -> TaskRun | None:
    """The run that describes a graph now: an executing one, else the latest finished one.

        >>> latest_run([]) is None
        True

    "Latest" is the newest run group, and within it the highest attempt: a retry is newer
    than the run it retried even when it finishes first. Scheduled (future) runs describe
    nothing yet and are left out.
    """
    runs = list(runs)
    active = _newest([r for r in runs if r.state in ACTIVE_STATES])
    if active is not None:
        return active
    return _newest([r for r in runs if r.state in FINISHED_STATES])


def latest_runs(runs: Iterable[TaskRun]) -> dict[str, TaskRun]:
    """``latest_run`` per root task, keyed by ``tasknb.identifiers.name_key`` of the root.

        >>> from tasknb.models import TaskRun
        >>> sorted(latest_runs([TaskRun("a", state="FAILED"), TaskRun("B", state="SUCCEEDED")]))
        ['A', 'B']
    """
    by_root: dict[str, list[TaskRun]] = {}
    for run in runs:
        by_root.setdefault(name_key(run.root_task_name), []).append(run)
    found = {root: latest_run(group) for root, group in by_root.items()}
    return {root: run for root, run in found.items() if run is not None}


def execute_and_wait(
    client: Any,
    name: str,
    *,
    retry_last: bool = False,
    timeout: float = WAIT_TIMEOUT_S,
    poll_interval: float = WAIT_POLL_S,
    database: str | None = None,
    schema: str | None = None,
) -> TaskRun:
    """Execute (or retry) a root task and block until that graph run completes.

    ``execute_and_wait(client, "NIGHTLY_ROOT").state`` is ``'SUCCEEDED'`` once that run
    succeeded. For notebook cells and scripts (panels follow runs in the background instead). Polls
    ``current-graphs`` while a run executes, then ``complete-graphs`` for the new run. API
    errors are raised as the client raised them; ``TimeoutError`` after ``timeout`` seconds
    (the run itself goes on).
    """
    scope = {"database": database, "schema": schema}  # the client reads None and "" as not given
    before = {
        (r.run_id, r.completed_time)
        for r in client.get_complete_graphs(name, error_only=False, **scope)
    }
    client.execute_task(name, retry_last=retry_last, **scope)
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(poll_interval)
        current = client.get_current_graphs(name, **scope)
        if not any(r.state in ACTIVE_STATES for r in current):
            complete = client.get_complete_graphs(
                name, error_only=False, result_limit=WAIT_RUN_LIMIT, **scope
            )
            new = [r for r in complete if (r.run_id, r.completed_time) not in before]
            if new:
                return latest_run(new) or new[0]
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the graph run of {name} did not finish within {format_duration(timeout)}; it goes on: "
                f"check get_current_graphs({name!r}) or pass a longer timeout="
            )
