"""Graph runs as the service starts and reads them: execute, retry, schedule ticks, advance.

    >>> svc.execute_task("DB", "S", "ROOT", wait=True)["state"]     # doctest: +SKIP
    'SUCCEEDED'

A mixin of :class:`tasknb.local.service.Service` (it uses the service's store, lock, runner,
ticker and graph helpers): ``execute_task`` (overlap policy, queued runs), RETRY LAST plans,
the runner's completion callback (auto-retry, failure streak, auto-suspend, queued runs), the
ticker's fire callback, ``advance``, and the run queries behind current-graphs,
complete-graphs, graph-runs and per-task history.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import ApiError, fold_identifier, qualified, rule_error
from tasknb.local.service import bodies
from tasknb.local.service.bodies import from_db, to_db
from tasknb.local.service.runner import GraphRun, RunPlan

log = logging.getLogger("tasknb.local")

CURRENT_WINDOW = timedelta(days=8)  # CURRENT_TASK_GRAPHS looks 8 days ahead
RETRY_WINDOW = timedelta(days=14)  # RETRY LAST: the failed run started within 14 days
FIRE_BATCH = 50  # schedule ticks turned into graph runs per lock hold / commit
DEFAULT_HISTORY_LIMIT = 100
MAX_HISTORY_LIMIT = 10_000


class GraphRunsMixin:
    """Run operations of :class:`Service` (see the module docstring)."""

    def execute_task(self, database: str, schema: str, name: str, *, retry_last: bool = False,
                     wait: bool = False, timeout: float = 600.0) -> dict[str, Any] | None:
        """POST .../tasks/{name}:execute; return the graph run started (as a TaskRun dict).

        Returns None when the run was queued behind a running one (overlap policy).
        With ``wait=True`` blocks until the run has finished.
        """
        with self.lock:
            db, sc, folded, rec = self._task(database, schema, name)
            fqn = qualified(db, sc, folded)
            if not rules.is_root(rec):
                raise rule_error(f"Execute task cannot be called on non-root task {fqn}. Call "
                                 "EXECUTE TASK on the root task of its graph instead.")
            self._ensure_engine_schema(db, sc)
            key = (db, sc, folded)
            if retry_last:
                plan = self._retry_plan(db, sc, folded, "MANUAL RETRY")
            else:
                tasks = self.store.tasks_in(db, sc)
                members = rules.check_graph_runnable(folded, db, sc, tasks,
                                                     *self._index(db, sc))
                self._commit_version(db, sc, folded, members)
                plan = self._fresh_plan(db, sc, folded, self.runner.now(), "EXECUTE_TASK")
            if self._blocked(key, plan):
                self._pending[key] = plan  # replaces an earlier pending one
                return None
            [run] = self._start([plan])
        if wait:
            run.wait(timeout)
            return self._run_dict(run)
        return self._run_dict(run)

    def cancel_ongoing_executions(self, database: str, schema: str, task: str) -> str:
        """SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS: stop every executing graph run that
        ``task`` is part of (``Runner.cancel``: statements interrupted, the run CANCELLED);
        return Snowflake's answer text. Suspending a root does not do this (it lets runs end).
        """
        with self.lock:
            db, sc, folded, _ = self._task(database, schema, task)
            runs = [r for r in self.runner.all_active() if r.plan.database == db
                    and r.plan.schema == sc and folded in r.plan.tasks]
        marked = [pk for run in runs for _, pk in self.runner.cancel(run)]
        if not marked:
            return (f"Task {rules.render_identifier(folded)} has no currently running "
                    "executions. If the task was dropped or replaced after a previous execution "
                    "started, use SYSTEM$CANCEL_QUERY along with the query id to cancel the run.")
        return (f"Marked {len(marked)} task runs for cancellation. It may take a few seconds for "
                "cancellation to complete. Query ids canceled: "
                f"[{', '.join(str(pk) for pk in marked)}]")

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
        self._started_log.extend(runs)
        if len(self._started_log) > 10_000:
            del self._started_log[:5_000]
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
        tasks = self.store.tasks_in(db, sc)
        children, finalizers = self._index(db, sc)
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
            fingerprint=self._fingerprint(members, tasks),
            next_scheduled_time=self._next_after(key, scheduled))

    def _next_after(self, key: tuple[str, str, str], moment: datetime) -> datetime | None:
        return self.ticker.fire_after(key, moment)

    def _retry_plan(self, db: str, sc: str, root: str, scheduled_from: str) -> RunPlan:
        """RETRY LAST: rerun the failed/cancelled tasks of the latest graph run."""
        fqn = qualified(db, sc, root)
        rows = self.store.graph_runs("database = ? AND schema = ? AND root_name = ?",
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
        tasks = self.store.tasks_in(db, sc)
        members = rules.graph_members(root, tasks, *self._index(db, sc))
        if self._fingerprint(members, tasks) != last.get("fingerprint"):
            raise nothing
        first = self.store.graph_runs("group_id = ?", (last["group_id"],), order="id ASC",
                                      limit=1)[0]
        if self.clock.now() - from_db(first["scheduled_time"]) > RETRY_WINDOW:  # type: ignore[operator]
            raise nothing
        carried = {n: (s[0], s[1]) for n, s in (last.get("task_states") or {}).items()}
        if not any(s in ("FAILED", "CANCELLED") for s, _ in carried.values()):
            carried = {}  # interrupted before any task ended: rerun the whole graph
        plan = self._fresh_plan(db, sc, root, self.runner.now(), scheduled_from)
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
        with self.lock:
            rec = self.store.tasks_in(plan.database, plan.schema).get(plan.root)
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
                        self._suspend(plan.database, plan.schema, plan.root, new,
                                      "SUSPENDED_DUE_TO_ERRORS")
                        self._mark_auto_suspended(run)
                    elif streak != (rec.get("failure_streak") or 0):
                        with self._unlinked_write(plan.database, plan.schema), \
                                self.store.transaction() as tx:
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
        rows = self.store.task_runs("graph_run_id = ? AND name = ?", (run.pk, name), limit=1)
        if rows:
            self.store.update_task_run(rows[0]["id"], state="FAILED_AND_AUTO_SUSPENDED")

    def _fire_scheduled(self, due: list[tuple[tuple[str, str, str], datetime]]) -> list[Any]:
        """Ticker callback: start the graph runs of scheduled fires (overlap policy applies)."""
        mark = len(self._started_log)
        # A manual clock stands at this tick now: remember it before recording the tick's runs,
        # so a restart after a kill never moves the clock back and fires a tick twice.
        self._save_clock()
        for start in range(0, len(due), FIRE_BATCH):
            plans: list[RunPlan] = []
            with self.lock:  # per batch, so finishing runs are not held up by a long burst
                for key, when in due[start:start + FIRE_BATCH]:
                    plan = self._scheduled_plan(key, when)
                    if plan is not None:
                        plans.append(plan)
                if plans:
                    self._start(plans)
        if not self.manual:
            return self._started_log[mark:]
        # Manual clock: let the runs (and any retries or queued runs) finish before time moves.
        while True:
            active = self.runner.all_active()
            if not active:
                break
            for run in active:
                run.wait(600.0)
        return list(self._started_log[mark:])

    def _scheduled_plan(self, key: tuple[str, str, str], when: datetime) -> RunPlan | None:
        """The run a schedule tick starts, or None (gone, suspended, invalid, or skipped)."""
        db, sc, root = key
        tasks = self.store.tasks_in(db, sc)
        rec = tasks.get(root)
        if rec is None or rec["state"] != "started" or not rules.is_root(rec):
            return None
        try:
            self._ensure_engine_schema(db, sc)
            members = rules.check_graph_runnable(root, db, sc, tasks, *self._index(db, sc))
            self._commit_version(db, sc, root, members)
            plan = self._fresh_plan(db, sc, root, when, "SCHEDULE")
        except ApiError:
            return None
        if self._blocked(key, plan):
            return None  # this tick is skipped (overlap policy)
        return plan

    def advance(self, delta: timedelta | float) -> list[dict[str, Any]]:
        """Manual clock: fast-forward, running every schedule in order; return the runs."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=float(delta))
        if not self.manual:
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
        self._save_clock()
        return out

    def _save_clock(self) -> None:
        """Remember a manual clock's time, so a restart on this data dir continues from it."""
        if self.manual:
            self.store.set_meta("manual_now", to_db(self.clock.now()))

    def _run_dict(self, run: GraphRun) -> dict[str, Any]:
        rows = self.store.graph_runs("id = ?", (run.pk,))
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

    def current_graphs(self, database: str, schema: str, name: str,
                       result_limit: int = rules.DEFAULT_RESULT_LIMIT) -> list[dict[str, Any]]:
        """GET .../current-graphs: executing runs, plus the next scheduled one (8 days)."""
        db, sc, folded, rec = self._task(database, schema, name)
        rows = self.store.graph_runs(
            "database = ? AND schema = ? AND root_name = ? AND state = 'EXECUTING'",
            (db, sc, folded), order="scheduled_time DESC")
        out = [bodies.run_to_api(r) for r in rows]
        key = (db, sc, folded)
        nxt = self.ticker.next_fire(key)
        now = self.clock.now()
        if rec["state"] == "started" and nxt is not None and nxt - now <= CURRENT_WINDOW:
            after = self.ticker.fire_after(key, nxt) or nxt
            out.append(bodies.run_to_api({
                "root_name": folded, "database": db, "schema": sc, "state": "SCHEDULED",
                "scheduled_time": to_db(nxt), "next_scheduled_time": to_db(after),
                "root_id": rec["id"], "graph_version": int(rec.get("graph_version") or 1),
                "run_id": bodies.epoch_ms(nxt), "attempt": 1, "scheduled_from": "SCHEDULE"}))
        out.sort(key=lambda r: r["scheduled_time"], reverse=True)
        return out[:result_limit]

    def complete_graphs(self, database: str, schema: str, name: str,
                        result_limit: int = rules.DEFAULT_RESULT_LIMIT,
                        error_only: bool = False) -> list[dict[str, Any]]:
        """GET .../complete-graphs: runs completed within the window, newest first."""
        db, sc, folded, _ = self._task(database, schema, name)
        since = to_db(self.clock.now() - self.complete_window)
        states = "('FAILED', 'CANCELLED')" if error_only else "('SUCCEEDED', 'FAILED', 'CANCELLED')"
        rows = self.store.graph_runs(
            f"database = ? AND schema = ? AND root_name = ? AND state IN {states} "
            "AND completed_time >= ?", (db, sc, folded, since),
            order="completed_time DESC, id DESC", limit=result_limit)
        return [bodies.run_to_api(r) for r in rows]

    def graph_runs(self, database: str, schema: str, name: str,
                   limit: int = DEFAULT_HISTORY_LIMIT) -> list[dict[str, Any]]:
        """Every recorded graph run of a root, newest first (no time window)."""
        db, sc, folded, _ = self._task(database, schema, name)
        rows = self.store.graph_runs("database = ? AND schema = ? AND root_name = ?",
                                     (db, sc, folded), order="id DESC", limit=limit)
        return [bodies.run_to_api(r) for r in rows]

    def task_history(self, database: str, schema: str, name: str,
                     limit: int = DEFAULT_HISTORY_LIMIT) -> list[dict[str, Any]]:
        """Per-task runs (TASK_HISTORY-like), newest first."""
        folded = fold_identifier(name, "name")
        db, sc = self._schema(database, schema)
        if folded not in self.store.tasks_in(db, sc):
            has_rows = self.store.task_runs("database = ? AND schema = ? AND name = ?",
                                            (db, sc, folded), limit=1)
            if not has_rows:
                raise rules.not_found("Task", qualified(db, sc, folded))
        rows = self.store.task_runs("database = ? AND schema = ? AND name = ?",
                                    (db, sc, folded), order="id DESC", limit=limit)
        return [bodies.task_run_to_api(r) for r in rows]
