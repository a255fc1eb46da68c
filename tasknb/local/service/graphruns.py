"""Graph runs as the service starts them: execute (overlap policy, queued runs), RETRY LAST,
cancel, schedule ticks, ``advance`` on a manual clock, and what happens when a run ends.

The :class:`~tasknb.local.service.runner.Runner` runs the plans made here; its completion
callback applies auto-retry, the failure streak and auto-suspend, and starts a queued run.
The :class:`~tasknb.local.schedule.ticker.Ticker` calls :meth:`GraphRuns.fire_scheduled` for
the schedule ticks that are due.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tasknb.local import rules
from tasknb.local.query_ids import task_query_id
from tasknb.local.rules import ApiError, qualified, rule_error
from tasknb.local.schedule.ticker import Ticker
from tasknb.local.service import bodies, triggers
from tasknb.local.service.bodies import from_db, to_db
from tasknb.local.service.graphs import Graphs, fingerprint
from tasknb.local.service.runner import DEFAULT_MAX_WORKERS, GraphRun, Runner, RunPlan
from tasknb.local.service.state import ServiceState
from tasknb.local.store import RUN_SUMMARY_COLUMNS

log = logging.getLogger("tasknb.local")

RETRY_WINDOW = timedelta(days=14)  # RETRY LAST: the failed run started within 14 days
FIRE_BATCH = 50  # schedule ticks turned into graph runs per lock hold / commit
BY_HAND_SPACING = timedelta(seconds=1)  # manual clock: runs started by hand, this far apart
TaskKey = tuple[str, str, str]


class GraphRuns:
    """The graph-run operations of one service; see the module docstring."""

    def __init__(self, state: ServiceState, graphs: Graphs, *,
                 max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self.state = state
        self.graphs = graphs
        self._pending: dict[TaskKey, RunPlan] = {}  # one queued manual execute per root
        # triggered roots found without data: (engine.finished_runs then, task id)
        self._trigger_checked: dict[TaskKey, tuple[int, str]] = {}
        # the runs started while a schedule tick is being fired (its answer lists them, with
        # the retries and queued runs they lead to); finished runs are kept nowhere else
        self._recorders: list[list[GraphRun]] = []
        self._recorders_lock = threading.Lock()
        self._last_run_id: dict[TaskKey, int] = state.store.last_run_ids()
        self._last_by_hand: datetime | None = None
        self.runner = Runner(state.store, state.engine, state.clock.now, manual=state.manual,
                             on_complete=self._graph_run_finished, max_workers=max_workers)
        self.ticker = Ticker(self.fire_scheduled, state.clock, manual=state.manual)

    def arm_started_roots(self) -> None:
        """At start-up: schedule every started root from its anchor, then start the loop."""
        for (database, schema), tasks in self.state.store.tasks.items():
            for name, rec in tasks.items():
                if rec["state"] != "started" or not rules.is_root(rec):
                    continue
                schedule = rec.get("schedule") or (
                    triggers.poll_schedule(rec) if triggers.is_triggered(rec) else None)
                if schedule:
                    anchor = from_db(rec.get("schedule_anchor")) or self.state.clock.now()
                    self.ticker.arm((database, schema, name), schedule, anchor)
        self.ticker.start()

    def forget_pending(self, key: TaskKey) -> None:
        """Drop the queued execute of a root (it was dropped)."""
        self._pending.pop(key, None)

    def close(self, cancel: Callable[[], Any] | None) -> None:
        """Stop the schedule loop and the runs' pool (``cancel`` interrupts the engine)."""
        self.ticker.stop()
        self.runner.shutdown(wait=True, cancel=cancel)

    def execute_task(self, database: str, schema: str, name: str, *, retry_last: bool = False,
                     wait: bool = False, timeout: float = 600.0) -> dict[str, Any] | None:
        """POST .../tasks/{name}:execute; return the graph run started (as a TaskRun dict).

        Returns None when the run was queued behind a running one (overlap policy).
        With ``wait=True`` blocks until the run has finished.
        """
        with self.state.lock:
            db, sc, folded, rec = self.state.task(database, schema, name)
            fqn = qualified(db, sc, folded)
            if not rules.is_root(rec):
                raise rule_error(f"Execute task cannot be called on non-root task {fqn}. Call "
                                 "EXECUTE TASK on the root task of its graph instead.")
            self.state.ensure_engine_schema(db, sc)
            key = (db, sc, folded)
            if retry_last:
                plan = self._retry_plan(db, sc, folded, "MANUAL RETRY", self._by_hand_time)
            else:
                tasks = self.state.store.tasks_in(db, sc)
                members = rules.check_graph_runnable(folded, db, sc, tasks,
                                                     *self.state.index(db, sc))
                self.graphs.commit_version(db, sc, folded, members)
                plan = self._fresh_plan(db, sc, folded, self._by_hand_time(), "EXECUTE_TASK")
            if self._blocked(key, plan):
                self._pending[key] = plan  # replaces an earlier pending one
                return None
            [run] = self._start([plan])
        if wait:
            run.wait(timeout)
            return self._run_dict(run)
        return self._run_dict(run)

    def cancel_ongoing_executions(self, database: str, schema: str, task: str) -> str:
        """SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS: stop the current run(s) of ``task``
        only, as Snowflake does (``Runner.cancel``: its statement interrupted, the task run
        CANCELLED, its descendants not run, the graph run CANCELLED once nothing runs; other
        tasks of the graph must be cancelled by name); return Snowflake's answer text.
        Suspending a root does not do this (it lets runs end).
        """
        with self.state.lock:
            db, sc, folded, _ = self.state.task(database, schema, task)
            runs = [r for r in self.runner.all_active() if r.plan.database == db
                    and r.plan.schema == sc and folded in r.plan.tasks]
        marked = [pk for run in runs for _, pk in self.runner.cancel(run, folded)]
        if not marked:
            return (f"Task {rules.render_identifier(folded)} has no currently running "
                    "executions. If the task was dropped or replaced after a previous execution "
                    "started, use SYSTEM$CANCEL_QUERY along with the query id to cancel the run.")
        return (f"Marked {len(marked)} task runs for cancellation. It may take a few seconds for "
                "cancellation to complete. Query ids canceled: "
                f"[{', '.join(task_query_id(pk) for pk in marked)}]")

    def cancel_ongoing_from_sql(self, database: str, schema: str, task: str) -> str:
        """The engine's ``cancel_ongoing`` hook: the names arrive folded (a quoted
        ``"slow child"`` as ``slow child``), so each is spelled as an identifier again."""
        return self.cancel_ongoing_executions(
            *(rules.render_identifier(name) for name in (database, schema, task)))

    def _blocked(self, key: tuple[str, str, str], plan: RunPlan) -> bool:
        active = self.runner.active_for(key)
        if not active:
            return False
        root = plan.tasks[plan.root]
        policy = root.get("overlap_policy") or "NO_OVERLAP"
        standalone = len(plan.tasks) == 1
        if standalone or policy == "NO_OVERLAP":
            return True
        if policy == "ALLOW_CHILD_OVERLAP":
            return any(r.root_running for r in active)
        return False

    def _start(self, plans: list[RunPlan]) -> list[GraphRun]:
        runs = self.runner.start(plans)
        with self._recorders_lock:
            for recorder in self._recorders:
                recorder.extend(runs)
        return runs

    def _next_run_id(self, key: tuple[str, str, str], moment: datetime) -> int:
        run_id = bodies.epoch_ms(moment)
        last = self._last_run_id.get(key)
        if last is not None and run_id <= last:
            run_id = last + 1
        self._last_run_id[key] = run_id
        return run_id

    def _fresh_plan(self, db: str, sc: str, root: str, scheduled: datetime,
                    scheduled_from: str) -> RunPlan:
        tasks = self.state.store.tasks_in(db, sc)
        children, finalizers = self.state.index(db, sc)
        members = rules.graph_members(root, tasks, children, finalizers)
        snapshot = {m: tasks[m] for m in members}
        rec = snapshot[root]
        key = (db, sc, root)
        return RunPlan(
            database=db, schema=sc, root=root, root_id=rec["id"], tasks=snapshot,
            finalizer=finalizers.get(root), scheduled_time=scheduled,
            scheduled_from=scheduled_from, attempt=1, group_id=str(uuid.uuid4()),
            graph_version=int(rec.get("graph_version") or 1),
            run_id=self._next_run_id(key, scheduled), config=rec.get("config"),
            fingerprint=fingerprint(members, tasks),
            next_scheduled_time=self._next_after(key, scheduled))

    def _next_after(self, key: tuple[str, str, str], moment: datetime) -> datetime | None:
        return self.ticker.fire_after(key, moment)

    def _by_hand_time(self) -> datetime:
        """The scheduled time of a run started by hand (EXECUTE, RETRY LAST): now. On a
        manual clock, which stands still between advances, at least
        :data:`BY_HAND_SPACING` after the previous one, so that runs started one after the
        other are told apart by their time (not all in one second); later runs never start
        before it (the runner's time moves with it, the clock itself does not)."""
        moment = self.runner.now()
        if self.state.manual:
            last = self._last_by_hand
            if last is not None and moment < last + BY_HAND_SPACING:
                moment = last + BY_HAND_SPACING
            self._last_by_hand = moment
            self.runner.hold_time(moment)
        return moment

    def _retry_plan(self, db: str, sc: str, root: str, scheduled_from: str,
                    when: Callable[[], datetime] | None = None) -> RunPlan:
        """RETRY LAST: rerun the failed/cancelled tasks of the latest graph run."""
        fqn = qualified(db, sc, root)
        rows = self.state.store.graph_runs("database = ? AND schema = ? AND root_name = ?",
                                     (db, sc, root), order="id DESC", limit=1)
        nothing = rule_error(f"Cannot perform retry: no suitable run of graph with root task "
                             f"{fqn} to retry.", rules.RETRY_NOTHING_SUITABLE)
        if not rows or rows[0]["state"] in ("EXECUTING", "SCHEDULED", "SKIPPED"):
            raise nothing
        last = rows[0]
        if last["state"] == "SUCCEEDED":
            raise rule_error(f"Cannot perform retry: run (GRAPH_RUN_GROUP_ID = {last['group_id']}"
                             f", attempt = {last['attempt']}) of graph with root task {fqn} had "
                             "no failures.", rules.RETRY_NO_FAILURES)
        tasks = self.state.store.tasks_in(db, sc)
        members = rules.graph_members(root, tasks, *self.state.index(db, sc))
        if fingerprint(members, tasks) != last.get("fingerprint"):
            raise nothing
        first = self.state.store.graph_runs("group_id = ?", (last["group_id"],), order="id ASC",
                                      limit=1)[0]
        if self.state.clock.now() - from_db(first["scheduled_time"]) > RETRY_WINDOW:  # type: ignore[operator]
            raise nothing
        carried = {n: (s[0], s[1]) for n, s in (last.get("task_states") or {}).items()}
        if not any(s in ("FAILED", "CANCELLED") for s, _ in carried.values()):
            carried = {}  # interrupted before any task ended: rerun the whole graph
        plan = self._fresh_plan(db, sc, root, (when or self.runner.now)(), scheduled_from)
        plan.attempt = int(last["attempt"] or 1) + 1
        plan.group_id = last["group_id"]
        plan.run_id = int(last["run_id"])
        plan.graph_version = int(last["graph_version"])
        plan.carried = carried
        return plan

    def _graph_run_finished(self, run: GraphRun) -> None:
        """Runner callback: auto-retry, failure streak and auto-suspend, queued runs."""
        plan = run.plan
        key = plan.key
        follow: list[RunPlan] = []
        if self.runner.closed:
            return
        with self.state.lock:
            rec = self.state.store.tasks_in(plan.database, plan.schema).get(plan.root)
            state = run.final_state
            if rec is not None and rec["id"] == plan.root_id:
                retries = rec.get("task_auto_retry_attempts") or 0
                if state == "FAILED" and plan.attempt <= retries:
                    try:
                        follow.append(self._retry_plan(plan.database, plan.schema, plan.root,
                                                       "AUTOMATIC RETRY"))
                    except ApiError:
                        pass
                elif state in ("FAILED", "SUCCEEDED"):
                    streak = rec.get("failure_streak") or 0
                    streak = streak + 1 if state == "FAILED" else 0
                    limit = rec.get("suspend_task_after_num_failures")
                    limit = rules.DEFAULT_SUSPEND_AFTER_FAILURES if limit is None else limit
                    new = {**rec, "failure_streak": streak}
                    if limit and streak >= limit and rec["state"] == "started":
                        self.suspend(plan.database, plan.schema, plan.root, new,
                                      "SUSPENDED_DUE_TO_ERRORS")
                        self._mark_auto_suspended(run)
                    elif streak != (rec.get("failure_streak") or 0):
                        with self.state.unlinked_write(plan.database, plan.schema), \
                                self.state.store.transaction() as tx:
                            tx.put_task(new)
            pending = self._pending.get(key)
            if pending is not None and not follow:
                others = [r for r in self.runner.active_for(key) if r is not run]
                if not others:
                    follow.append(self._pending.pop(key))
            if follow:
                try:
                    self._start(follow)
                except Exception:
                    log.debug("ignored error", exc_info=True)

    def _mark_auto_suspended(self, run: GraphRun) -> None:
        if run.first_error is None:
            return
        name = run.first_error[0]
        rows = self.state.store.task_runs("graph_run_id = ? AND name = ?", (run.pk, name), limit=1)
        if rows:
            self.state.store.update_task_run(rows[0]["id"], state="FAILED_AND_AUTO_SUSPENDED")

    def fire_scheduled(self, due: list[tuple[tuple[str, str, str], datetime]]) -> list[Any]:
        """Ticker callback: start the graph runs of scheduled fires (overlap policy applies)."""
        started: list[GraphRun] = []
        with self._recorders_lock:
            self._recorders.append(started)
        try:
            self._fire(due)
        finally:
            with self._recorders_lock:
                self._recorders.remove(started)
        return started

    def _fire(self, due: list[tuple[tuple[str, str, str], datetime]]) -> None:
        due = [(key, when) for key, when in due if not self._quiet_trigger(key)]
        if not due:
            return  # only triggered tasks whose streams are empty: nothing to record
        # A manual clock stands at this tick now: remember it before recording the tick's runs,
        # so a restart after a kill never moves the clock back and fires a tick twice.
        self.state.save_clock()
        for start in range(0, len(due), FIRE_BATCH):
            plans: list[RunPlan] = []
            with self.state.lock:  # per batch, so finishing runs are not held up by a long burst
                for key, when in due[start:start + FIRE_BATCH]:
                    plan = self._scheduled_plan(key, when)
                    if plan is not None:
                        plans.append(plan)
                if plans:
                    self._start(plans)
        if not self.state.manual:
            return
        # Manual clock: let the runs (and any retries or queued runs) finish before time moves.
        while True:
            active = self.runner.all_active()
            if not active:
                break
            for run in active:
                run.wait(600.0)

    def _scheduled_plan(self, key: tuple[str, str, str], when: datetime) -> RunPlan | None:
        """The run a schedule tick starts, or None (gone, suspended, invalid, or skipped)."""
        db, sc, root = key
        tasks = self.state.store.tasks_in(db, sc)
        rec = tasks.get(root)
        if rec is None or rec["state"] != "started" or not rules.is_root(rec):
            return None
        triggered = triggers.is_triggered(rec)
        if triggered and not self._stream_has_data(key, rec):
            return None  # a triggered task runs only when its stream has data
        try:
            self.state.ensure_engine_schema(db, sc)
            members = rules.check_graph_runnable(root, db, sc, tasks, *self.state.index(db, sc))
            self.graphs.commit_version(db, sc, root, members)
            plan = self._fresh_plan(db, sc, root, when,
                                    triggers.SCHEDULED_FROM if triggered else "SCHEDULE")
        except ApiError:
            return None
        if self._blocked(key, plan):
            return None  # this tick is skipped (overlap policy)
        return plan

    def _quiet_trigger(self, key: TaskKey) -> bool:
        """Whether ``key`` is a started triggered task whose stream has no data (a poll that
        starts nothing)."""
        with self.state.lock:
            rec = self.state.store.tasks_in(key[0], key[1]).get(key[2])
        return (rec is not None and rec["state"] == "started" and triggers.is_triggered(rec)
                and not self._stream_has_data(key, rec))

    def _stream_has_data(self, key: TaskKey, rec: dict[str, Any]) -> bool:
        """A triggered task's WHEN, looked at before any run is recorded (False on error);
        not looked at again while no statement has finished in the engine since it was false."""
        from tasknb.local.sql.context import TaskContext

        db, sc, root = key
        engine = self.state.engine()
        finished = getattr(engine, "finished_runs", None)
        if finished is not None and self._trigger_checked.get(key) == (finished, rec["id"]):
            return False
        try:
            holds = bool(engine.condition_holds(
                rec["condition"], TaskContext(db, sc, root, root, now=self.state.clock.now())))
        except Exception:
            log.debug("trigger check failed", exc_info=True)
            holds = False
        if not holds and finished is not None:
            self._trigger_checked[key] = (finished, rec["id"])
        return holds

    def advance(self, delta: timedelta | float) -> list[dict[str, Any]]:
        """Manual clock: fast-forward, running every schedule in order; return the runs."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=float(delta))
        if not self.state.manual:
            raise rules.bad_request("The local server runs on the real clock; start it with "
                                    "clock='manual' to fast-forward time.")
        if delta < timedelta(0):
            raise rules.bad_request(f"Time only moves forward; got {delta.total_seconds()} "
                                    "seconds.")
        if delta > timedelta(days=366):
            raise rules.bad_request("Advance at most 366 days at a time.")
        runs = self.ticker.advance(delta)
        seen: set[int] = set()
        out = []
        for run in runs:
            if run.pk not in seen:
                seen.add(run.pk)
                out.append(self._run_dict(run))
        self.state.save_clock()
        return out

    def _run_dict(self, run: GraphRun) -> dict[str, Any]:
        rows = self.state.store.graph_runs("id = ?", (run.pk,), columns=RUN_SUMMARY_COLUMNS)
        return bodies.run_to_api(rows[0])

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no graph run is executing (tests, seeding)."""
        deadline = datetime.now().timestamp() + timeout
        while True:
            active = self.runner.all_active()
            if not active:
                return True
            remaining = deadline - datetime.now().timestamp()
            if remaining <= 0:
                return False
            active[0].wait(remaining)

    def suspend(self, db: str, sc: str, name: str, rec: dict[str, Any], reason: str) -> None:
        with self.state.unlinked_write(db, sc), self.state.store.transaction() as tx:
            tx.put_task({**rec, "state": "suspended", "last_suspended_on": to_db(self.state.clock.now()),
                         "last_suspended_reason": reason})
        self.ticker.disarm((db, sc, name))

    def forget_schedules(self, match: Callable[[tuple[str, str, str]], bool]) -> None:
        for key in self.ticker.armed():
            if match(key):
                self.ticker.disarm(key)
