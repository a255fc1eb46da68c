"""Panel state: what a task panel knows and may do, apart from how it is drawn.

``TaskPanelState(client, "NIGHTLY_ROOT").refresh().availability["resume"].reason`` says, for
example, ``'NIGHTLY_ROOT is already started'``. Plain Python plus traitlets, no ipywidgets:
the views in ``tasknb.widgets._views`` observe these traits and render them; a followed run
is polled by ``tasknb.widgets._follow.RunFollower``. Every client call goes through :meth:`TaskPanelState._call`, which
turns any failure into one readable line (with the request id) on the ``error`` trait instead
of raising, so a notebook panel never shows a traceback.

Graph runs come from ``current-graphs`` / ``complete-graphs`` (REST, recent history on a
real account); the per-task states of the latest run from ``TASK_HISTORY`` through the SQL API
(``client.task_history``; on Snowflake that needs a warehouse, and without one the panel says
so in one line and shows the rest).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import traitlets

from tasknb.dag import GraphModel
from tasknb.identifiers import name_key, same_name
from tasknb.models import Task, TaskRun, call_scope
from tasknb.runs import (
    ACTIVE_STATES,
    ATTEMPT_FIELD,
    FINISHED_STATES,
    RETRYABLE_STATES,
    latest_run,
)
from tasknb.widgets import _hub as hub
from tasknb.widgets._clock import ServerClock
from tasknb.widgets._follow import (
    FOLLOW_TIMEOUT_S,
    MAX_POLL_INTERVAL_S,
    POLL_INTERVAL_S,
    FollowStatus,
    RunFollower,
)
from tasknb.widgets._text import error_line, one_line, short_name

#: How many complete graph runs a panel asks for.
DEFAULT_RUN_LIMIT = 25

#: The actions a task panel offers, in button order.
ACTIONS = ("execute", "suspend", "resume", "retry", "cancel")

T = TypeVar("T")


@dataclass(frozen=True)
class Availability:
    """Whether an action may be taken now, and why not when it may not.

        >>> Availability(False, "T1 is already started").reason
        'T1 is already started'
    """

    enabled: bool
    reason: str = ""


@dataclass(frozen=True)
class Preview:
    """What an action will do and affect, shown before the confirm button.

        >>> Preview("suspend", "Suspend R", ["stops future runs"]).needs_confirm
        True
    """

    action: str
    title: str
    effects: list[str] = field(default_factory=list)
    needs_confirm: bool = True


def fetch_task_runs(client: Any, root: Task, run: TaskRun | None) -> tuple[Any, str]:
    """The per-task rows of one graph run (every attempt) as a ``task_runs_frame``, and a
    note; ``(None, why)`` when the server cannot say (one line, never raised).

    Tier: REST + SQL (``client.task_history``: on Snowflake the connection needs a warehouse).
    """
    if run is None or run.run_id is None:
        return None, ""
    if not hasattr(client, "task_history"):
        return None, "per-task states need a client with task_history (the SQL tier)"
    scope = {k: v for k, v in (("database", root.database_name), ("schema", root.schema_name))
             if v}
    try:
        rows = client.task_history(root.name, run=run.run_id, **scope)
    except Exception as exc:  # noqa: BLE001 - the rest of the panel is still worth showing
        return None, "per-task states unavailable: " + error_line(
            exc, doing=f"read TASK_HISTORY of run {run.run_id}")
    from tasknb.frames import task_runs_frame

    return task_runs_frame(rows), ""


def latest_attempts(frame: Any) -> Any:
    """Each task's row in the latest attempt it ran in (a retry reruns only part of a run).

        >>> import pandas as pd
        >>> rows = pd.DataFrame({"name": ["A", "B", "B"], "attempt_number": [1, 1, 2],
        ...                      "state": ["SUCCEEDED", "FAILED", "SUCCEEDED"]})
        >>> latest_attempts(rows)[["name", "state"]].to_dict("records")
        [{'name': 'A', 'state': 'SUCCEEDED'}, {'name': 'B', 'state': 'SUCCEEDED'}]
    """
    if frame is None or frame.empty:
        return frame
    ordered = frame.sort_values("attempt_number", kind="stable", na_position="first")
    return ordered.drop_duplicates("name", keep="last").sort_index()


class TaskPanelState(traitlets.HasTraits):
    """The state of one task (and the graph it belongs to), with its valid actions.

    ``TaskPanelState(client, "NIGHTLY_ROOT").refresh().execute()`` starts a run and follows it.
    Traits the view observes: ``task``, ``root``, ``graph_tasks``, ``runs``, ``availability``,
    ``error``, ``notice``, ``follow``, ``last_refreshed``, ``task_runs`` (the per-task rows of
    the latest run, a ``task_runs_frame``) and ``task_runs_note`` (why they are missing), ``generation`` (counts finished refreshes: a view
may wait for it instead of redrawing on every trait a refresh sets). Actions return ``True`` on success;
    on failure they leave one line in ``error`` and return ``False``.
    """

    task = traitlets.Any(None, allow_none=True)
    root = traitlets.Any(None, allow_none=True)
    graph_tasks = traitlets.List()
    runs = traitlets.List()
    availability = traitlets.Dict()
    error = traitlets.Unicode("")
    notice = traitlets.Unicode("")
    follow = traitlets.Instance(FollowStatus, args=())
    last_refreshed = traitlets.Any(None, allow_none=True)
    task_runs = traitlets.Any(None, allow_none=True)
    task_runs_note = traitlets.Unicode("")
    generation = traitlets.Int(0)  # counts finished refreshes

    def __init__(
        self,
        client: Any,
        task: str | Task,
        *,
        database: str | None = None,
        schema: str | None = None,
        run_limit: int = DEFAULT_RUN_LIMIT,
        poll_interval: float = POLL_INTERVAL_S,
        max_poll_interval: float = MAX_POLL_INTERVAL_S,
        follow_timeout: float = FOLLOW_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self.client = client
        self.name = short_name(task.name if isinstance(task, Task) else task)
        self.scope = call_scope(database, schema, task=task if isinstance(task, Task) else None)
        self.run_limit = run_limit
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.follow_timeout = follow_timeout
        self.follower: RunFollower | None = None
        self._lock = threading.RLock()
        self.clock = ServerClock(client)
        self._task_runs_key: Any = None
        self.refreshing = 0  # > 0 while a refresh fetches (in any thread)
        self.availability = self._compute_availability()

    # -- calls ------------------------------------------------------------------------------
    def _call(self, doing: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Call the client; on any error, set ``error`` to one line and return ``None``."""
        try:
            return fn(*args, **{**self.scope, **kwargs})
        except Exception as exc:  # noqa: BLE001 - a panel shows every failure as one line
            self.error = error_line(exc, doing=doing)
            return None

    # -- reading ----------------------------------------------------------------------------
    @property
    def root_name(self) -> str:
        return self.root.name if self.root is not None else self.name

    @property
    def is_root(self) -> bool:
        """True for a root or standalone task (the ones that can be executed)."""
        return self.task is not None and self.task.role == "root"

    @property
    def latest(self) -> TaskRun | None:
        return latest_run(self.runs)

    @property
    def active_run(self) -> TaskRun | None:
        """The executing graph run: the one being followed (fresher), else from ``runs``."""
        followed = self.follow.run
        if self.follow.active and followed is not None and followed.state in ACTIVE_STATES:
            return followed
        active = [r for r in self.runs if r.state in ACTIVE_STATES]
        return active[0] if active else None

    def refresh(self) -> TaskPanelState:
        """Fetch the task, its graph and recent runs; recompute actions.

        A constant number of requests whatever the depth of the graph: the task; for a root
        its dependents, for a child one listing of its schema (a graph lives in one schema);
        current and complete runs of the root; the server's clock.
        """
        with self._lock:
            self.error = ""
            self._reload()
            return self

    def _reload(self) -> None:
        self.refreshing += 1  # views wait for ``generation`` to redraw once
        try:
            self._fetch_all()
        finally:
            self.refreshing -= 1
            self.generation += 1

    def _fetch_all(self) -> None:
        self.clock.sync()
        task = self._call(f"fetch {self.name}", self.client.fetch_task, self.name)
        if task is None:
            self.availability = self._compute_availability()
            return
        found = self._load_graph(task)
        if found is None:
            self.availability = self._compute_availability()
            return
        root, graph = found
        runs = self._fetch_runs(root.name)
        self.task, self.root = task, root
        if graph is not None:
            self.graph_tasks = list(graph)
        if runs is not None:
            self.runs = runs
        self._load_task_runs(root)
        self.last_refreshed = self.clock.now()
        self.availability = self._compute_availability()
        hub.join(self, self._root_key(root))

    def _load_task_runs(self, root: Task) -> None:
        """Per-task states of the latest run (TASK_HISTORY through SQL), fetched again only
        when the latest run (or its attempt, or its end) changed."""
        latest = self.latest
        key = None if latest is None else (latest.run_id, latest.state, latest.completed_time,
                                           latest.extra.get(ATTEMPT_FIELD))
        if key == self._task_runs_key and self.task_runs is not None:
            return
        frame, note = fetch_task_runs(self.client, root, latest)
        self._task_runs_key = key if frame is not None else None
        self.task_runs, self.task_runs_note = frame, note

    def _root_key(self, root: Task) -> hub.RootKey:
        client = self.client
        database = root.database_name or self.scope.get("database") or getattr(client, "database", "")
        schema = root.schema_name or self.scope.get("schema") or getattr(client, "schema", "")
        return hub.root_key(str(getattr(client, "base_url", id(client))), database or "",
                            schema or "", root.name)

    def _load_graph(self, task: Task) -> tuple[Task, list[Task] | None] | None:
        """The root and the graph's tasks: the dependents of a root, or (for a child) one
        listing of its schema, walked up to the root in memory."""
        if not task.predecessors and not task.finalize:
            graph = self._call(
                f"fetch the dependents of {task.name}",
                self.client.fetch_task_dependents,
                task.name,
                recursive=True,
            )
            return task, graph
        scope = {k: v for k, v in (("database", task.database_name),
                                   ("schema", task.schema_name)) if v}
        listed = self._call(f"list the tasks of the schema of {task.name}",
                            self.client.list_tasks, **scope)
        if listed is None:
            return None
        model = GraphModel.from_tasks([*listed, task])
        root_key = self._root_key_in(model, name_key(task.name))
        if root_key is None:
            return None
        keep = model.downstream(root_key) | {root_key}
        graph = [t for key, t in model.tasks.items() if key in keep]
        return model.tasks[root_key], graph

    def _root_key_in(self, model: GraphModel, key: str) -> str | None:
        """Walk predecessors (or the finalizer link) up to the root, in memory."""
        seen = {key}
        current = model.tasks[key]
        while True:
            parent = current.finalize or (current.predecessors[0] if current.predecessors else None)
            if not parent:
                return name_key(current.name)
            parent_key = name_key(short_name(parent))
            if parent_key in seen:  # a cycle: only possible before the root is resumed
                return name_key(current.name)
            if parent_key not in model.tasks:
                self.error = (f"fetch {self.name} failed: its graph names {short_name(parent)}, "
                              "which is not in its schema (was it dropped?)")
                return None
            seen.add(parent_key)
            current = model.tasks[parent_key]

    def _fetch_runs(self, root: str) -> list[TaskRun] | None:
        current = self._call(
            f"read current runs of {root}", self.client.get_current_graphs, root
        )
        complete = self._call(
            f"read complete runs of {root}",
            self.client.get_complete_graphs,
            root,
            error_only=False,
            result_limit=self.run_limit,
        )
        if current is None or complete is None:
            return None
        return [*current, *complete]

    def dependents_of(self, name: str) -> list[str]:
        """Every task downstream of ``name`` in the graph (by predecessor links), in BFS order."""
        children: dict[str, list[str]] = {}
        for t in self.graph_tasks:
            for p in t.predecessors or []:
                children.setdefault(name_key(p), []).append(t.name)
        order: list[str] = []
        queue = deque([name_key(name)])
        seen = {name_key(name)}
        while queue:
            for child in children.get(queue.popleft(), []):
                if name_key(child) not in seen:
                    seen.add(name_key(child))
                    order.append(child)
                    queue.append(name_key(child))
        return order

    @property
    def finalizer(self) -> Task | None:
        for t in self.graph_tasks:
            if t.finalize and self.root is not None and same_name(t.finalize, self.root.name):
                return t
        return None

    # -- availability -----------------------------------------------------------------------
    def _compute_availability(self) -> dict[str, Availability]:
        task = self.task
        if task is None:
            why = "not loaded: press Refresh" if not self.error else "not loaded (see the error)"
            return {a: Availability(False, why) for a in ACTIONS}
        name, root = task.name, self.root_name
        started = task.state == "started"
        root_started = self.root is not None and self.root.state == "started"
        child = not self.is_root
        busy = self.follow.active
        out: dict[str, Availability] = {}

        if child:
            role = "the finalizer" if task.role == "finalizer" else "a child task"
            out["execute"] = Availability(
                False, f"{name} is {role} of {root}: only a root or standalone task can be executed"
            )
        elif busy:
            out["execute"] = Availability(False, "already following a run of this graph")
        else:
            out["execute"] = Availability(True)

        locked = child and root_started
        lock_why = (
            f"the root {root} is started: suspend it first (Snowflake refuses to change a task "
            "of a started graph, error 091421)"
        )
        if not started:
            out["suspend"] = Availability(False, f"{name} is already suspended")
        elif locked:
            out["suspend"] = Availability(False, lock_why)
        else:
            out["suspend"] = Availability(True)

        if started:
            out["resume"] = Availability(False, f"{name} is already started")
        elif locked:
            out["resume"] = Availability(False, lock_why)
        else:
            out["resume"] = Availability(True)

        latest = self.latest
        if child:
            out["retry"] = Availability(False, f"retry works on the root {root}, not on {name}")
        elif busy:
            out["retry"] = Availability(False, "already following a run of this graph")
        elif latest is None:
            out["retry"] = Availability(False, f"{root} has no recent graph run to retry")
        elif latest.state in ACTIVE_STATES:
            out["retry"] = Availability(False, "the latest graph run is still executing")
        elif latest.state not in RETRYABLE_STATES:
            out["retry"] = Availability(
                False, f"the latest graph run (run {latest.run_id}) {latest.state.lower()}"
            )
        else:
            out["retry"] = Availability(True)
        out["cancel"] = self._cancel_availability()
        return out

    def _cancel_availability(self) -> Availability:
        run, root = self.active_run or self.latest, self.root_name
        if run is None:
            return Availability(False, f"{root} has no recent graph run to cancel")
        if run.state not in ACTIVE_STATES:
            return Availability(
                False, f"nothing to cancel: the latest graph run (run {run.run_id}) "
                f"{(run.state or 'is unknown').lower()}"
            )
        return Availability(True)

    def _recompute(self) -> None:
        self.availability = self._compute_availability()

    @traitlets.observe("follow")
    def _on_follow(self, _change: Any) -> None:
        """A followed run that starts or stops executing changes what Cancel may do."""
        if self.task is not None:
            self._recompute()

    # -- previews ---------------------------------------------------------------------------
    def preview(self, action: str) -> Preview:
        """Say what ``action`` will do and which tasks and runs it affects.

        For a root: ``'NIGHTLY_ROOT stops being scheduled: no new runs of the graph start (4 tasks)'``
        is the first effect of ``preview("suspend")``.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}")
        task = self.task
        if task is None:
            return Preview(action, f"{action} (task not loaded)", [], needs_confirm=False)
        name = task.name
        graph = [t for t in self.graph_tasks if not same_name(t.name, name)]
        active = self.active_run
        effects: list[str] = []
        if action == "execute":
            members = [t for t in self.graph_tasks if not t.finalize]
            will_run = [t.name for t in members if t.state == "started" or same_name(t.name, name)]
            skipped = [t.name for t in members if t.state != "started" and not same_name(t.name, name)]
            effects.append(f"Starts a graph run of {name} now (uses its warehouse or serverless).")
            if len(members) > 1:
                effects.append(f"Tasks that will run: {', '.join(will_run)}.")
            if skipped:
                effects.append(f"Suspended, so skipped: {', '.join(skipped)}.")
            if self.finalizer is not None:
                effects.append(f"The finalizer {self.finalizer.name} runs at the end.")
            if active is not None:
                effects.append(
                    f"A run is in progress (run {active.run_id}, {active.state}): the new run is "
                    "scheduled after it, as the overlap policy says."
                )
            return Preview(action, f"Execute {name}", effects)
        if action == "retry":
            latest = self.latest
            run_id = latest.run_id if latest else None
            failed = latest.first_error_task_name if latest else None
            effects.append(f"Retries graph run {run_id} of {name} (RETRY LAST).")
            if failed:
                msg = one_line(latest.first_error_message)
                effects.append(f"It failed at {short_name(failed)}" + (f": {msg}" if msg else ""))
                downstream = self.dependents_of(short_name(failed))
                effects.append(
                    f"Reruns {short_name(failed)}"
                    + (f", then {', '.join(downstream)}" if downstream else "")
                    + "; tasks that succeeded are not rerun."
                )
            return Preview(action, f"Retry run {run_id} of {name}", effects)
        if action == "cancel":
            run = self.active_run or self.latest
            run_id = run.run_id if run else None
            root = self.root_name
            members = [t.name for t in self.graph_tasks] or [root]
            since = run.query_start_time if run is not None else None
            effects.append(
                f"Cancels graph run {run_id} of {root}"
                + (f" (executing since {since:%Y-%m-%d %H:%M:%S} UTC)" if since else "")
                + ": SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS for each of its tasks "
                + f"({', '.join(members)})."
            )
            effects.append(
                "Running task statements are interrupted; tasks after them do not run; "
                "the run ends CANCELLED."
            )
            effects.append("Afterwards, Retry last failed run re-runs only the cancelled part.")
            return Preview(action, f"Cancel run {run_id} of {root}", effects)
        if action == "suspend":
            if self.is_root:
                effects.append(
                    f"{name} stops being scheduled: no new runs of the graph start"
                    + (f" ({len(self.graph_tasks)} tasks)" if len(self.graph_tasks) > 1 else "")
                    + "."
                )
                if graph:
                    effects.append(
                        "Affected: " + ", ".join(t.name for t in graph) + " (they keep their state)."
                    )
            else:
                downstream = self.dependents_of(name)
                effects.append(f"{name} will be skipped in future graph runs of {self.root_name}.")
                if downstream:
                    effects.append("Downstream, run as if it had succeeded: " + ", ".join(downstream))
            if active is not None:
                effects.append(
                    f"The run in progress (run {active.run_id}) is allowed to finish."
                )
            return Preview(action, f"Suspend {name}", effects)
        # resume
        if self.is_root and task.schedule is not None:
            effects.append(f"{name} starts running on its schedule: {task.schedule}.")
            sleeping = [t.name for t in graph if t.state != "started" and not t.finalize]
            if sleeping:
                effects.append("Still suspended, so skipped in runs: " + ", ".join(sleeping) + ".")
            return Preview(action, f"Resume {name}", effects)
        if self.is_root:
            effects.append(f"{name} has no schedule: it runs only when executed.")
        else:
            effects.append(f"{name} takes part in the next runs of {self.root_name}.")
        return Preview(action, f"Resume {name}", effects, needs_confirm=False)

    # -- actions ----------------------------------------------------------------------------
    def _act(self, doing: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Take an action; when it is refused, fetch again (the refusal usually means the
        panel was behind the server) and keep the refusal on screen; either way, tell the
        other widgets on this graph (:mod:`tasknb.widgets._hub`)."""
        with self._lock:
            self.error = ""
            self.notice = ""
            self._call(doing, fn, *args, **kwargs)
            refusal = self.error
            if refusal:
                self._reload()
                self.error = refusal
        if refusal:
            hub.changed(self)
            return False
        return True

    def leave(self) -> None:
        """Stop taking part in the refreshes of this graph's other widgets."""
        hub.leave(self)

    def changed_elsewhere(self) -> None:
        """Another widget acted on this graph: forget a finished followed run (it is not
        this widget's latest news any more) and fetch again."""
        if not self.follow.active and self.follow.state:
            self.follow = FollowStatus()
        self.refresh()

    def announce(self) -> None:
        """Tell the other widgets on this graph that it changed: they fetch again."""
        hub.changed(self)

    def execute(self, *, follow: bool = True) -> bool:
        """Start a graph run of the root/standalone task (``POST …:execute``), then follow it."""
        return self._start_run("execute", retry_last=False, follow=follow)

    def retry_last(self, *, follow: bool = True) -> bool:
        """Retry the latest failed graph run (``POST …:execute?retryLast=true``), then follow."""
        return self._start_run("retry", retry_last=True, follow=follow)

    def _start_run(self, action: str, *, retry_last: bool, follow: bool) -> bool:
        check = self.availability.get(action)
        if check is not None and not check.enabled:
            self.error = f"{action} is not possible now: {check.reason}"
            return False
        previous = {(r.run_id, r.completed_time) for r in self.runs if r.state in FINISHED_STATES}
        retried = self.latest.run_id if retry_last and self.latest else None
        doing = f"retry last run of {self.name}" if retry_last else f"execute {self.name}"
        ok = self._act(doing, self.client.execute_task, self.name, retry_last=retry_last)
        if not ok:
            return False
        self.notice = (
            f"Retry of run {retried} requested." if retry_last else f"Graph run of {self.name} requested."
        )
        if follow:
            self.start_following(previous)
        else:
            self.refresh()
        self.announce()
        return True

    def suspend(self) -> bool:
        """Suspend the task (``POST …:suspend``)."""
        ok = self._act(f"suspend {self.name}", self.client.suspend_task, self.name)
        if ok:
            self.refresh()
            self.notice = f"{self.name} suspended."
            self.announce()
        return ok

    def resume(self) -> bool:
        """Resume the task (``POST …:resume``)."""
        ok = self._act(f"resume {self.name}", self.client.resume_task, self.name)
        if ok:
            self.refresh()
            self.notice = f"{self.name} resumed."
            self.announce()
        return ok

    def cancel_run(self) -> bool:
        """Cancel the executing graph run (``client.cancel_graph_runs(root)``), then refresh
        and follow the run until it ends (Snowflake answers before the run is cancelled)."""
        check = self.availability.get("cancel")
        if check is not None and not check.enabled:
            self.error = f"cancel is not possible now: {check.reason}"
            return False
        run = self.active_run or self.latest
        run_id = run.run_id if run else None
        root = self.root_name
        with self._lock:
            self.error = ""
            self.notice = ""
            answers = self._call(f"cancel run {run_id} of {root}", self.client.cancel_graph_runs,
                                 root)
            refusal = self.error
            if answers is None:
                self._reload()
                self.error = refusal
        if answers is None:
            self.announce()
            return False
        marked = sum(1 for text in answers.values() if text.startswith("Marked"))
        previous = {(r.run_id, r.completed_time) for r in self.runs if r.state in FINISHED_STATES}
        self.refresh()
        self.notice = (f"Cancellation of run {run_id} of {root} requested "
                       f"({marked} running task run(s) marked).")
        if not self.follow.active:
            self.start_following(previous)
        self.announce()
        return True

    def run(self, action: str) -> bool:
        """Run one of :data:`ACTIONS` by name."""
        return {
            "execute": self.execute,
            "suspend": self.suspend,
            "resume": self.resume,
            "retry": self.retry_last,
            "cancel": self.cancel_run,
        }[action]()

    # -- following --------------------------------------------------------------------------
    def start_following(self, previous: set[tuple[Any, Any]] | None = None) -> RunFollower:
        """Poll the graph's runs in a background thread until the new run finishes."""
        self.stop_following()
        if previous is None:
            previous = {(r.run_id, r.completed_time) for r in self.runs if r.state in FINISHED_STATES}
        self.follower = RunFollower(self, previous)
        self.follow = FollowStatus(
            active=True, state="STARTING", started_at=time.monotonic(), message="waiting for the run"
        )
        self._recompute()
        self.follower.start()
        return self.follower

    def stop_following(self) -> None:
        """Stop polling (the run itself goes on)."""
        follower = self.follower
        if follower is not None and follower.is_alive():
            follower.stop()
            if follower is not threading.current_thread():
                follower.join(timeout=5)
            if self.follow.active:
                self.follow = self.follow.stopped("stopped watching (the run goes on)")
                self._recompute()

    def expected_duration_s(self) -> float | None:
        """Median duration of recent successful runs: the progress bar's yardstick."""
        durations = sorted(
            r.duration.total_seconds()
            for r in self.runs
            if r.state == "SUCCEEDED" and r.duration is not None
        )
        if not durations:
            return None
        return durations[len(durations) // 2]
