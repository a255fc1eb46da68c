"""Graph runs: dependency order, parallel branches, WHEN, return values, timeouts, finalizer.

    >>> from datetime import datetime, timezone
    >>> from tasknb.local.sql.engine import SqlEngine
    >>> from tasknb.local.store import Store
    >>> engine = SqlEngine(); engine.ensure_schema("DB", "S")
    >>> now = lambda: datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> runner = Runner(Store(":memory:"), lambda: engine, now, manual=False,
    ...                 on_complete=lambda run: None)
    >>> plan = RunPlan(database="DB", schema="S", root="ROOT", root_id="1", tasks={"ROOT": {
    ...     "definition": "select 1", "state": "started"}}, finalizer=None, scheduled_time=now(),
    ...     scheduled_from="EXECUTE_TASK", attempt=1, group_id="g", graph_version=1, run_id=1,
    ...     config=None, fingerprint="f", next_scheduled_time=None)
    >>> [run] = runner.start([plan]); run.wait(5.0)
    True
    >>> run.final_state, runner.store.graph_runs()[0]["task_states"]
    ('SUCCEEDED', {'ROOT': ['SUCCEEDED', None]})
    >>> runner.shutdown()

A graph run is event-driven: nothing waits in a thread of its own. The root goes to a fair
pool (:class:`~tasknb.local.service.workers.FairPool`: at most ``max_workers`` tasks of one graph
run at once, threads shared round-robin by the graph runs, more threads than long statements);
each finished task releases the children whose predecessors are all done, and when nothing is
running or waiting the finalizer runs, then the run is closed. Children that are suspended are
passed over as though they succeeded (no record); a task whose WHEN is false is SKIPPED and its
descendants do not run; a failure blocks the failed task's descendants and the graph run ends
FAILED.

Records (``task_runs``): a task is SCHEDULED (no query start) when it is released and waits
for a thread, EXECUTING once its SQL starts, then final. Its end, its outcome in the graph run's
``task_states`` and the rows of the tasks it releases are one commit with synchronous=FULL, so
after a crash at any point a RETRY LAST skips exactly the tasks that succeeded.

:meth:`Runner.cancel` stops the current run of ONE task, as Snowflake's
SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS does: its running statement is interrupted in the
engine (each task run has its own interrupt key), or, waiting for a thread, it ends CANCELLED
without running. The rest of the graph run goes on: a CANCELLED task blocks its descendants
(NOT_RUN, like a failure), other branches and the finalizer still run, and the graph run ends
CANCELLED (FAILED if a task failed) once nothing is running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from itertools import islice
from typing import Any

from tasknb.local import rules
from tasknb.local.service.bodies import OWNER, to_db
from tasknb.local.service.workers import FairPool
from tasknb.local.store import Store

DEFAULT_MAX_WORKERS = 4  # tasks of one graph run executing at once (independent branches)
DEFAULT_MAX_THREADS = 32  # task runs executing at once, all graph runs together
INTERNAL_ERROR_CODE = 100000  # local: the engine failed in a way it did not classify
TIMEOUT_ERROR_CODE = 630  # Snowflake's "Statement reached its statement or warehouse timeout"

STOPPED_MESSAGE = "The local server was stopped while this task was running."
CANCELLED_CODE = 604  # Snowflake's 000604 "SQL execution canceled"
CANCELLED_MESSAGE = ("This task run was cancelled (SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS) "
                     "while it was {doing}.")
# How long and how often a cancel keeps interrupting a statement that was just starting.
CANCEL_REPEAT_SECONDS = 10.0
CANCEL_REPEAT_INTERVAL = 0.1

# The only SQL function that reads ancestors' return values (others are not computed).
PREDECESSOR_VALUE_FUNCTION = "GET_PREDECESSOR_RETURN_VALUE"
# Task-level states that let descendants run.
_PASSING = ("SUCCEEDED", "PASSED")
# A WHEN using these runs once every predecessor is done, whatever their outcome.
_BRANCHING_FUNCTIONS = ("SYSTEM$PREDECESSORS_STATE", "SYSTEM$TASK_COMPLETION_STATE")
# Internal states as SYSTEM$TASK_COMPLETION_STATE names them (a suspended task counts as done).
_COMPLETION_STATE = {"SUCCEEDED": "SUCCEEDED", "PASSED": "SUCCEEDED", "FAILED": "FAILED",
                     "SKIPPED": "SKIPPED", "CANCELLED": "CANCELLED", "NOT_RUN": "NOT_EXECUTED"}


def _interrupt_key(run: GraphRun, name: str) -> tuple[int, str]:
    """The engine interrupt key of task ``name``'s statements in ``run``."""
    return (run.pk, name)


def _job_task(job: Callable[[], None]) -> str | None:
    """The task a queued job (``partial(Runner._execute, run, name, ready_at)``) runs."""
    args = getattr(job, "args", ())
    return args[1] if len(args) > 1 else None


def _ancestors(name: str, tasks: dict[str, dict[str, Any]]) -> list[str]:
    """Every task above ``name`` in the graph (nearest first), in linear time.

        >>> _ancestors("C", {"A": {}, "B": {"predecessors": ["A"]}, "C": {"predecessors": ["B"]}})
        ['B', 'A']
    """
    order: list[str] = []
    seen: set[str] = set()
    queue = deque(tasks[name].get("predecessors") or ())
    while queue:
        current = queue.popleft()
        if current in seen or current not in tasks:
            continue
        seen.add(current)
        order.append(current)
        queue.extend(tasks[current].get("predecessors") or ())
    return order


def _reads_return_values(rec: dict[str, Any]) -> bool:
    """Whether a task's SQL can read an ancestor's return value (only that function does)."""
    text = f"{rec.get('definition') or ''} {rec.get('condition') or ''}".upper()
    return PREDECESSOR_VALUE_FUNCTION in text

log = logging.getLogger("tasknb.local")


@dataclass
class RunPlan:
    """Everything a graph run needs, fixed when it starts (the graph's version)."""

    database: str
    schema: str
    root: str
    root_id: str
    tasks: dict[str, dict[str, Any]]
    finalizer: str | None
    scheduled_time: datetime
    scheduled_from: str
    attempt: int
    group_id: str
    graph_version: int
    run_id: int
    config: dict[str, Any] | None
    fingerprint: str
    next_scheduled_time: datetime | None
    carried: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        """(database, schema, root) of the graph."""
        return (self.database, self.schema, self.root)


class GraphRun:
    """One running graph: task states, return values, and a completion event."""

    def __init__(self, plan: RunPlan, pk: int, clock_now: Callable[[], datetime],
                 manual: bool, note: Callable[[datetime], None] | None = None) -> None:
        self.plan = plan
        self.pk = pk
        self.lock = threading.Lock()
        self.status: dict[str, str] = {}
        self.return_values: dict[str, str | None] = {}
        self.running: set[str] = set()
        self.first_error: tuple[str, int, str] | None = None
        self.done = threading.Event()
        self.finalizer_started = False
        self.first_start: datetime | None = None  # when the run's first task query began
        self.cancel_requested: set[str] = set()  # Runner.cancel: these tasks' current runs
        self.executing: set[str] = set()  # tasks whose SQL has started (within ``running``)
        self.task_pks: dict[str, int | None] = {}  # this run's task_runs rows by task name
        self.final_state: str | None = None
        self.result_row: dict[str, Any] | None = None
        self._mono0 = time.monotonic()
        self._base = clock_now()
        self._clock_now = clock_now
        self._manual = manual
        self._note = note
        root = plan.tasks[plan.root]
        timeout = root.get("user_task_timeout_ms")
        timeout = rules.DEFAULT_TASK_TIMEOUT_MS if timeout is None else timeout
        self.timeout_ms = int(timeout or rules.MAX_TASK_TIMEOUT_MS)  # the root's: whole graph
        self.deadline = self._mono0 + self.timeout_ms / 1000.0
        members = [m for m in plan.tasks if m != plan.finalizer]
        self.children = rules.children_index({m: plan.tasks[m] for m in members})

    def now(self) -> datetime:
        """Run time: the real clock, or the manual clock plus the run's real elapsed time."""
        if self._manual:
            moment = self._base + timedelta(seconds=time.monotonic() - self._mono0)
            if self._note is not None:
                self._note(moment)
            return moment
        return self._clock_now()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the graph run has finished."""
        return self.done.wait(timeout)

    @property
    def root_running(self) -> bool:
        """Whether the root task itself is still executing (ALLOW_CHILD_OVERLAP)."""
        return self.plan.root in self.running


class Runner:
    """Executes graph runs on a bounded pool; see the module docstring."""

    def __init__(self, store: Store, engine: Callable[[], Any], clock_now: Callable[[], datetime],
                 *, manual: bool, on_complete: Callable[[GraphRun], None],
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 max_threads: int = DEFAULT_MAX_THREADS) -> None:
        self.store = store
        self._engine = engine
        self._clock_now = clock_now
        self._manual = manual
        self._on_complete = on_complete
        self._pool = FairPool(per_group=max_workers, max_threads=max(max_threads, max_workers))
        self._lock = threading.Lock()
        self.active: dict[int, GraphRun] = {}
        self._by_key: dict[tuple[str, str, str], dict[int, GraphRun]] = {}
        self._closed = False
        self._high: datetime | None = None

    # --- public --------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The time runs use. On a manual clock, time also moves by what runs really took, so
        runs started while the clock stands still are still ordered (never before a run that
        finished earlier)."""
        current = self._clock_now()
        if self._manual:
            with self._lock:
                if self._high is not None and self._high > current:
                    return self._high
        return current

    def hold_time(self, moment: datetime) -> None:
        """Manual clock: runs started from now on use at least ``moment`` (see :meth:`now`)."""
        self._note_time(moment)

    def _note_time(self, moment: datetime) -> None:
        with self._lock:
            if self._high is None or moment > self._high:
                self._high = moment

    def start(self, plans: list[RunPlan]) -> list[GraphRun]:
        """Record and start graph runs (one commit for all of them)."""
        if not plans:
            return []
        rows = []
        for plan in plans:
            rows.append({
                "database": plan.database, "schema": plan.schema, "root_name": plan.root,
                "root_id": plan.root_id, "run_id": plan.run_id,
                "graph_version": plan.graph_version, "state": "EXECUTING",
                "scheduled_time": to_db(plan.scheduled_time),
                "query_start_time": None,  # set when its first task starts
                "next_scheduled_time": to_db(plan.next_scheduled_time or plan.scheduled_time),
                "scheduled_from": plan.scheduled_from, "attempt": plan.attempt,
                "group_id": plan.group_id, "config": plan.config, "fingerprint": plan.fingerprint,
            })
        pks = self.store.insert_graph_runs(rows)
        runs = []
        for plan, pk in zip(plans, pks):
            run = GraphRun(plan, pk, self.now, self._manual, self._note_time)
            with self._lock:
                self.active[pk] = run
                self._by_key.setdefault(plan.key, {})[pk] = run
            runs.append(run)
        for run in runs:
            self._begin(run)
        return runs

    def active_for(self, key: tuple[str, str, str]) -> list[GraphRun]:
        """The graph runs of a root that have not finished."""
        with self._lock:
            return list(self._by_key.get(key, {}).values())

    def all_active(self) -> list[GraphRun]:
        """Every graph run that has not finished."""
        with self._lock:
            return list(self.active.values())

    @property
    def closed(self) -> bool:
        """Whether the runner is shutting down."""
        return self._closed

    def shutdown(self, wait: bool = True, cancel: Callable[[], None] | None = None) -> None:
        """Stop taking work; interrupt running statements (``cancel``) and wait for them.
        Tasks still waiting for a thread end CANCELLED without running."""
        self._closed = True
        if cancel is not None:
            cancel()
        for job in self._pool.shutdown(wait=False):
            job()  # the server is stopping: the task records CANCELLED and starts nothing
        self._pool.shutdown(wait=wait)

    def cancel(self, run: GraphRun, name: str) -> list[tuple[str, int | None]]:
        """Stop the current run of task ``name`` in ``run`` (see the module docstring); return
        the task run marked for cancellation as [(name, task run id)], empty when ``name`` is
        not running (or waiting for a thread) in it, or was already marked."""
        with run.lock:
            if (run.final_state is not None or name not in run.running
                    or name in run.cancel_requested):
                return []
            run.cancel_requested.add(name)
            marked = [(name, run.task_pks.get(name))]
        queued = self._pool.take_queued(run.pk)
        mine = [job for job in queued if _job_task(job) == name]
        for job in queued:  # the others keep their places, in their order
            if _job_task(job) != name:
                try:
                    self._pool.submit(run.pk, job)
                except RuntimeError:  # pool shut down: the job records the stop itself
                    job()
        for job in mine:
            job()  # waiting for a thread: records CANCELLED at once, in this thread
        if not mine:
            self._interrupt(run, name)
        return marked

    def _interrupt(self, run: GraphRun, name: str) -> None:
        """Interrupt task ``name``'s statements, again for a while: one that was starting as
        the cancel came may not have been running yet at the first attempt."""
        try:
            engine = self._engine()
        except Exception:  # noqa: BLE001 - no engine: nothing is running in it
            return
        interrupt = getattr(engine, "interrupt", None)
        if interrupt is None:  # an engine factory's stand-in without interrupts
            return
        key = _interrupt_key(run, name)
        interrupt(key)

        def repeat() -> None:
            deadline = time.monotonic() + CANCEL_REPEAT_SECONDS
            while not run.done.wait(CANCEL_REPEAT_INTERVAL) and time.monotonic() < deadline:
                with run.lock:
                    if name not in run.running:
                        return
                    busy = name in run.executing
                if busy:
                    interrupt(key)

        threading.Thread(target=repeat, name="tasknb-cancel", daemon=True).start()

    # --- scheduling inside a run ---------------------------------------------------------------
    def _begin(self, run: GraphRun) -> None:
        plan = run.plan
        to_submit: list[str] = []
        with run.lock:
            if plan.carried:
                for name, (state, value) in plan.carried.items():
                    if name in plan.tasks and state in ("SUCCEEDED", "SKIPPED", "PASSED"):
                        run.status[name] = state
                        run.return_values[name] = value
                rerun = [n for n, (s, _) in plan.carried.items()
                         if n in plan.tasks and s in ("FAILED", "CANCELLED")
                         and n != plan.finalizer]
                for name in sorted(rerun):
                    run.running.add(name)
                    to_submit.append(name)
                # and whatever the carried successes release that never got a record (a task
                # that was about to be scheduled when the server died)
                to_submit.extend(self._release_all(run))
            else:
                run.running.add(plan.root)
                to_submit.append(plan.root)
        self._submit(run, to_submit)
        if not to_submit:
            self._maybe_finish(run)

    def _release_all(self, run: GraphRun) -> list[str]:
        ready: list[str] = []
        for name in list(run.status):
            ready.extend(self._release_children(run, name))
        return ready

    def _submit(self, run: GraphRun, names: list[str]) -> None:
        """Record ``names`` SCHEDULED (one commit) and queue them for a thread."""
        if not names:
            return
        ready_at = run.now()
        try:
            pks: list[int | None] = list(self.store.insert_task_runs(
                self._scheduled_rows(run, names, ready_at)))
        except Exception:
            log.debug("ignored error", exc_info=True)
            pks = [None] * len(names)
        self._enqueue(run, names, pks, ready_at)

    def _scheduled_rows(self, run: GraphRun, names: list[str],
                        ready_at: datetime) -> list[dict[str, Any]]:
        plan = run.plan
        return [{
            "graph_run_id": run.pk, "database": plan.database, "schema": plan.schema,
            "name": name, "root_name": plan.root, "state": "SCHEDULED",
            "scheduled_time": to_db(plan.scheduled_time if name == plan.root else ready_at),
            "query_start_time": None, "attempt": plan.attempt, "run_id": plan.run_id,
            "graph_version": plan.graph_version, "scheduled_from": plan.scheduled_from,
            "group_id": plan.group_id, "query_text": plan.tasks[name]["definition"],
            "condition_text": plan.tasks[name].get("condition"),
        } for name in names]

    def _enqueue(self, run: GraphRun, names: list[str], pks: list[int | None],
                 ready_at: datetime) -> None:
        with run.lock:
            run.task_pks.update(zip(names, pks))
        for name in names:
            try:
                self._pool.submit(run.pk, partial(self._execute, run, name, ready_at))
            except RuntimeError:  # pool shut down: the server is stopping
                self._task_done(run, name, "CANCELLED", None, 0, STOPPED_MESSAGE)

    def _release_children(self, run: GraphRun, name: str) -> list[str]:
        """After ``name`` got a final status: children now runnable (caller holds run.lock)."""
        plan = run.plan
        ready: list[str] = []
        stack = list(run.children.get(name, ()))
        while stack:
            child = stack.pop(0)
            if child in run.status or child in run.running:
                continue
            preds = [p for p in plan.tasks[child].get("predecessors") or () if p in plan.tasks]
            if any(p not in run.status for p in preds):
                continue
            condition = (plan.tasks[child].get("condition") or "").upper()
            branching = any(f in condition for f in _BRANCHING_FUNCTIONS)
            if branching or all(run.status[p] in _PASSING for p in preds):
                # advanced branching: its WHEN reads the predecessors' states and decides
                if plan.tasks[child].get("state") != "started":
                    run.status[child] = "PASSED"  # suspended child: as though it succeeded
                    stack.extend(run.children.get(child, ()))
                else:
                    run.running.add(child)
                    ready.append(child)
            else:
                run.status[child] = "NOT_RUN"
                stack.extend(run.children.get(child, ()))
        return ready

    def _execute(self, run: GraphRun, name: str, ready_at: datetime) -> None:
        from tasknb.local.sql.engine import TaskContext, TaskSqlError

        plan = run.plan
        rec = plan.tasks[name]
        start = run.now()
        first = False
        with run.lock:
            cancelled = name in run.cancel_requested
            stopped = cancelled or self._closed
            if not stopped:
                run.executing.add(name)
                first = run.first_start is None
                if first:
                    run.first_start = start
            task_pk = run.task_pks.get(name)
        if stopped:  # cancelled (or the server stopping) while it waited for a thread
            message = (STOPPED_MESSAGE if self._closed and not cancelled
                       else CANCELLED_MESSAGE.format(doing="waiting to start"))
            self._task_done(run, name, "CANCELLED", None, CANCELLED_CODE, message)
            return
        try:
            self.store.start_task_run(task_pk, to_db(start), run.pk if first else None)
        except Exception:  # noqa: BLE001 - store closed while stopping
            self._task_done(run, name, "CANCELLED", None, 0,
                            "The local server stopped before this task could run.")
            return
        preds = [p for p in rec.get("predecessors") or () if p in plan.tasks]
        with run.lock:
            pred_values = {p: run.return_values.get(p) for p in preds}
            pred_states = {p: _COMPLETION_STATE.get(run.status.get(p, ""), "NOT_EXECUTED")
                           for p in preds}
            ancestors = {a: run.return_values.get(a) for a in _ancestors(name, plan.tasks)
                         if a not in pred_values and a in run.return_values
                         } if _reads_return_values(rec) else {}
        own_timeout = rec.get("user_task_timeout_ms") if name != plan.root else None
        if own_timeout is not None:  # a child's own USER_TASK_TIMEOUT_MS, from its start
            timeout_ms, deadline = own_timeout or rules.MAX_TASK_TIMEOUT_MS, None
        else:  # the root's, for the whole graph run
            timeout_ms, deadline = run.timeout_ms, run.deadline
        ctx = TaskContext(
            database=plan.database, schema=plan.schema, task_name=name,
            root_task_name=plan.root, graph_config=plan.config,
            predecessor_return_values=pred_values,
            session_parameters=dict(rec.get("session_parameters") or {}),
            timeout_ms=timeout_ms,
            deadline=deadline,
            interrupt_key=_interrupt_key(run, name),  # Runner.cancel interrupts by it
            ancestor_return_values=ancestors,
            predecessor_states=pred_states,
            runtime_info={
                "CURRENT_TASK_NAME": name,
                "CURRENT_TASK_UUID": rec.get("id"),
                "CURRENT_ROOT_TASK_NAME": plan.root,
                "CURRENT_ROOT_TASK_UUID": plan.root_id,
                "CURRENT_TASK_GRAPH_RUN_GROUP_ID": plan.group_id,
                "CURRENT_TASK_GRAPH_ORIGINAL_SCHEDULED_TIMESTAMP":
                    plan.scheduled_time.isoformat(),
                "CURRENT_TASK_GRAPH_ATTEMPT_NUMBER": plan.attempt,
            },
            now=start,
            warehouse=rec.get("warehouse") or None,
            role=OWNER,  # a task runs with its owner's privileges
        )
        state, code, message, value = "SUCCEEDED", None, None, None
        try:
            engine = self._engine()
            condition = rec.get("condition")
            if name in run.cancel_requested:
                raise TaskSqlError(CANCELLED_CODE, "SQL execution canceled")
            if condition and name != plan.finalizer and not engine.condition_holds(condition, ctx):
                state = "SKIPPED"
            else:
                engine.run(rec["definition"], ctx)
                value = ctx.return_value
        except TaskSqlError as exc:
            state, code, message = "FAILED", int(exc.code), str(exc.message)
            if name in run.cancel_requested:
                state, code = "CANCELLED", CANCELLED_CODE
                message = CANCELLED_MESSAGE.format(doing="running")
            elif self._closed:
                state, message = "CANCELLED", STOPPED_MESSAGE
        except Exception as exc:  # noqa: BLE001 - never let a task crash the server
            state, code = "FAILED", INTERNAL_ERROR_CODE
            message = (f"The local SQL engine failed while running this task: "
                       f"{type(exc).__name__}: {exc}")
        self._task_done(run, name, state, value, code, message)

    def _task_done(self, run: GraphRun, name: str, state: str, value: str | None,
                   code: int | None, message: str | None) -> None:
        """Record a task's end durably with what it releases, then queue those."""
        end = run.now()
        with run.lock:
            run.running.discard(name)
            run.executing.discard(name)
            run.status[name] = state
            run.return_values[name] = value
            if state in ("FAILED", "CANCELLED") and run.first_error is None:
                run.first_error = (name, int(code or 0), message or "")
            known = len(run.status)
            ready = [] if name == run.plan.finalizer else self._release_children(run, name)
            # this task's outcome and the children it passed over (suspended, blocked): those
            # are the keys just added, the last ones of the (insertion-ordered) dict
            passed_over = islice(reversed(run.status), len(run.status) - known)
            outcomes = {n: [run.status[n], run.return_values.get(n)]
                        for n in (name, *passed_over)}
            task_pk = run.task_pks.get(name)
        rows = self._scheduled_rows(run, ready, end)
        try:
            pks: list[int | None] = list(self.store.finish_task_run(
                task_pk or 0, run.pk, outcomes, rows, state=state, completed_time=to_db(end),
                error_code=code, error_message=message, return_value=value))
        except Exception:
            log.debug("ignored error", exc_info=True)
            pks = [None] * len(ready)
        self._enqueue(run, ready, pks, end)
        self._maybe_finish(run)

    def _maybe_finish(self, run: GraphRun) -> None:
        plan = run.plan
        with run.lock:
            if run.running or run.final_state is not None:
                return
            fin = plan.finalizer
            if fin and not run.finalizer_started and not self._closed:
                run.finalizer_started = True
                root_state = run.status.get(plan.root)
                if root_state != "SKIPPED" and plan.tasks[fin].get("state") == "started":
                    run.running.add(fin)
                    submit_finalizer = True
                else:
                    submit_finalizer = False
            else:
                submit_finalizer = False
            if not submit_finalizer:
                run.final_state = self._outcome(run)
        if submit_finalizer:
            self._submit(run, [fin])  # type: ignore[list-item]
            return
        self._finish(run)

    @staticmethod
    def _outcome(run: GraphRun) -> str:
        states = set(run.status.values())
        if run.status.get(run.plan.root) == "SKIPPED":
            return "SKIPPED"
        if "FAILED" in states:
            return "FAILED"
        if "CANCELLED" in states:
            return "CANCELLED"
        return "SUCCEEDED"

    def _finish(self, run: GraphRun) -> None:
        end = run.now()
        error = run.first_error
        task_states = {n: [s, run.return_values.get(n)] for n, s in run.status.items()}
        if run.cancel_requested:  # what never became due is recorded as not run
            task_states.update({m: ["NOT_RUN", None] for m in run.plan.tasks
                                if m not in task_states})
        fields: dict[str, Any] = {
            "state": run.final_state, "completed_time": to_db(end),
            "task_states": task_states,
        }
        if run.first_start is not None:
            fields["query_start_time"] = to_db(run.first_start)
        if error:
            fields.update(first_error_task_name=error[0], first_error_code=error[1],
                          first_error_message=error[2])
        try:
            self.store.complete_graph_run(run.pk, **fields)
        except Exception:
            log.debug("ignored error", exc_info=True)
        try:
            self._on_complete(run)  # may start a retry or a queued run: before leaving `active`
        finally:
            with self._lock:
                self.active.pop(run.pk, None)
                same_root = self._by_key.get(run.plan.key)
                if same_root is not None:
                    same_root.pop(run.pk, None)
                    if not same_root:
                        del self._by_key[run.plan.key]
            run.done.set()
