"""Following a graph run: the live status a panel shows and the thread that polls for it.

    >>> FollowStatus(active=False, state="SUCCEEDED").finished
    True

The poller reads ``current-graphs`` each tick and ``complete-graphs`` once nothing executes;
it slows down while nothing changes and never blocks the kernel.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tasknb.durations import format_duration
from tasknb.models import TaskRun
from tasknb.runs import ACTIVE_STATES, FINISHED_STATES, latest_run
from tasknb.widgets._text import error_code_text, error_line, one_line, sentence, short_name

if TYPE_CHECKING:
    from tasknb.widgets._state import TaskPanelState

#: Seconds between two polls of ``current-graphs`` while following a run.
POLL_INTERVAL_S = 2.0
#: Polls slow down by this factor while nothing changes, up to :data:`MAX_POLL_INTERVAL_S`.
POLL_BACKOFF = 1.5
#: Upper bound of the poll interval while following a run (seconds).
MAX_POLL_INTERVAL_S = 10.0
#: Stop following a run after this many seconds (the run itself goes on).
FOLLOW_TIMEOUT_S = 30 * 60.0


@dataclass(frozen=True)
class FollowStatus:
    """The live view of one followed graph run.

        >>> FollowStatus(active=True, state="EXECUTING").finished
        False
    """

    active: bool = False
    state: str = ""
    started_at: float | None = None
    last_refreshed: datetime | None = None
    fraction: float | None = None
    message: str = ""
    run: TaskRun | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def stopped(self, message: str) -> FollowStatus:
        """This status no longer followed (the run itself goes on), saying why."""
        return replace(self, active=False, fraction=None, message=message)

    @property
    def elapsed_s(self) -> float | None:
        return None if self.started_at is None else time.monotonic() - self.started_at


class RunFollower(threading.Thread):
    """Background poller of one graph's runs; never blocks the kernel.

    Started by ``TaskPanelState.start_following()``. Each tick reads only ``current-graphs`` (cheap); ``complete-graphs`` is read once no run
    is executing, to find the finished run. Polls slow down (×:data:`POLL_BACKOFF`, at most
    ``max_poll_interval``) while nothing changes.
    """

    def __init__(self, state: TaskPanelState, previous: set[tuple[Any, Any]]) -> None:
        super().__init__(name=f"tasknb-follow-{state.name}", daemon=True)
        self.state = state
        self.previous = previous
        self._stop_event = threading.Event()
        self.polls = 0

    def stop(self) -> None:
        self._stop_event.set()

    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        """Poll until the run ends, the timeout passes or ``stop()``; never raises."""
        try:
            self._follow()
        except Exception as exc:  # noqa: BLE001 - a background thread must not die loudly
            state = self.state
            state.error = error_line(exc, doing=f"follow the run of {state.root_name}")
            state.follow = state.follow.stopped(
                "stopped watching after an error (the run goes on)")
            state._recompute()

    def _follow(self) -> None:
        state = self.state
        interval = state.poll_interval
        begun = state.follow.started_at or time.monotonic()
        expected = state.expected_duration_s()
        last_seen: str | None = None
        root = state.root_name
        while not self._stop_event.wait(interval):
            self.polls += 1
            elapsed = time.monotonic() - begun
            current = state._call(f"poll {root}", state.client.get_current_graphs, root)
            now = state.clock.now()
            if current is None:  # the error line is already set; keep trying, slower
                interval = min(interval * POLL_BACKOFF, state.max_poll_interval)
                continue
            active = [r for r in current if r.state in ACTIVE_STATES]
            if active:
                run = active[0]
                fraction = None
                if expected:
                    fraction = min(elapsed / expected, 0.95)
                state.follow = FollowStatus(
                    active=True,
                    state=run.state,
                    started_at=begun,
                    last_refreshed=now,
                    fraction=fraction,
                    message=f"run {run.run_id} executing",
                    run=run,
                )
            else:
                complete = state._call(
                    f"read complete runs of {root}",
                    state.client.get_complete_graphs,
                    root,
                    error_only=False,
                    result_limit=5,
                )
                new = [
                    r
                    for r in complete or []
                    if (r.run_id, r.completed_time) not in self.previous and r.state in FINISHED_STATES
                ]
                if new:
                    run = latest_run(new) or new[0]
                    state.follow = FollowStatus(
                        active=False,
                        state=run.state or "",
                        started_at=begun,
                        last_refreshed=now,
                        fraction=1.0,
                        message=_finished_message(run, elapsed),
                        run=run,
                    )
                    state.refresh()
                    state.notice = _finished_notice(run)
                    state.announce()
                    return
                state.follow = FollowStatus(
                    active=True,
                    state="WAITING",
                    started_at=begun,
                    last_refreshed=now,
                    fraction=None,
                    message="waiting for the run to start",
                )
            signature = f"{state.follow.state}:{len(current)}"
            if signature == last_seen:
                interval = min(interval * POLL_BACKOFF, state.max_poll_interval)
            else:
                interval = state.poll_interval
            last_seen = signature
            if elapsed > state.follow_timeout:
                state.follow = FollowStatus(
                    active=False,
                    state=state.follow.state,
                    started_at=begun,
                    last_refreshed=now,
                    message=f"stopped watching after {format_duration(elapsed)} (the run goes on)",
                    run=state.follow.run,
                )
                state._recompute()
                return


def _finished_message(run: TaskRun, elapsed: float) -> str:
    """Short, for the follow line: ``run 123 · 40 ms · first error at LOAD``."""
    bits = [f"run {run.run_id}"]
    if run.duration is not None:
        bits.append(format_duration(run.duration.total_seconds()))
    if run.first_error_task_name:
        bits.append(f"first error at {short_name(run.first_error_task_name)}")
    return " · ".join(bits)


def _finished_notice(run: TaskRun) -> str:
    """One line for the notice under the buttons, with the error when the run failed."""
    text = f"Run {run.run_id} {(run.state or '').lower()}"
    if run.first_error_task_name:
        code = error_code_text(run.first_error_code)
        text += f" at {short_name(run.first_error_task_name)}" + (f" [{code}]" if code else "")
        message = one_line(run.first_error_message)
        if message:
            text += f": {message}"
    return sentence(text)
