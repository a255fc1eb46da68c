"""Graph runs that crash, get cancelled or wait for a worker (issue 7, items 5 and 7).

    pytest tests/local/test_hardening_runs.py -q

* A retry after ``kill -9`` re-runs only the tasks that did not succeed: each task's outcome is
  on disk as soon as it is known, so a payment recorded before the crash is not paid twice.
* ``Service.cancel_ongoing_executions`` (SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS) cancels
  the current run of the named task only, as Snowflake does, and really interrupts its DuckDB
  statement; its descendants do not run, the rest of the graph goes on, the run ends CANCELLED
  with per-task states once nothing runs, and a retry re-runs only the cancelled part.
  Suspending a root leaves its running run alone.
* Long statements cannot take every worker: a trivial graph finishes at once next to four
  long ones, and a task waiting for a worker is SCHEDULED (no query start), not EXECUTING.

Long tasks wait only on their first attempt (``SYSTEM$TASK_RUNTIME_INFO`` attempt number), so
the retries these tests make finish quickly.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _support import STATE_FILE, ServerProcess, wait_until

import tasknb.local
from tasknb.local.server import LocalServer

DB, SC = "RUNS_DB", "S"
BASE = f"/api/v2/databases/{DB}/schemas/{SC}/tasks"
EXT = f"/tasknb/v1/databases/{DB}/schemas/{SC}/tasks"
TOKEN = "hardening-runs-token-0123456789abcdef"
LONG_SECONDS = 120  # what a long task would take; every test stops it long before
QUICK_SECONDS = 3.0  # what "at once" allows on a busy 2-core machine
FIRST_ATTEMPT = "system$task_runtime_info('CURRENT_TASK_GRAPH_ATTEMPT_NUMBER')::int = 1"
# waits LONG_SECONDS on the first attempt only
WAIT_ON_FIRST_ATTEMPT = (f"select system$wait(w.seconds) from (select case when {FIRST_ATTEMPT} "
                         f"then {LONG_SECONDS} else 0 end as seconds) w")
# CPU-bound inside DuckDB on the first attempt (only an engine interrupt stops it)
HEAVY_ON_FIRST_ATTEMPT = ("select count(*) from range(1000000) a, "
                          f"range(case when {FIRST_ATTEMPT} then 1000000 else 1 end) b")
DONE = ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED")


def _ok(reply: httpx.Response) -> Any:
    assert reply.status_code == 200, reply.text
    return reply.json()


def _create(http: httpx.Client, name: str, definition: str = "select 1", **props: Any) -> None:
    _ok(http.post(BASE, json={"name": name, "definition": definition, **props}))


def _resume(http: httpx.Client, *names: str) -> None:
    for name in names:
        _ok(http.post(f"{BASE}/{name}:resume"))


def _history(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    return _ok(http.get(f"{EXT}/{name}/history"))  # type: ignore[no-any-return]


def _graph_runs(http: httpx.Client, root: str) -> list[dict[str, Any]]:
    return _ok(http.get(f"{EXT}/{root}/graph-runs"))  # type: ignore[no-any-return]


def _execute(http: httpx.Client, root: str, **params: str) -> None:
    reply = http.post(f"{BASE}/{root}:execute", params={"asyncExec": "true", **params})
    assert reply.status_code == 202, reply.text


def _state_of(http: httpx.Client, name: str) -> str | None:
    rows = _history(http, name)
    return rows[0]["state"] if rows else None


def _finished_run(http: httpx.Client, root: str, attempt: int = 1,
                  timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        runs = [r for r in _graph_runs(http, root) if r["attempt_number"] == attempt]
        return runs[0] if runs and runs[0]["state"] in DONE else None
    return wait_until(done, timeout, f"attempt {attempt} of {root} to finish")  # type: ignore[no-any-return]


def _count(http: httpx.Client, table: str) -> int:
    """Read a table's row count through a task of its own (the server is a child process)."""
    name = f"COUNT_{table}_{time.monotonic_ns()}"
    _create(http, name, f"select system$set_return_value((select count(*) from {table})::text)")
    _execute(http, name)
    row = wait_until(lambda: [r for r in _history(http, name) if r["state"] in DONE],
                      30, f"the count of {table}")[0]
    assert row["state"] == "SUCCEEDED", row
    return int(row["return_value"])


def _setup(http: httpx.Client, *tables: str) -> None:
    _ok(http.post("/api/v2/databases", json={"name": DB}))
    _ok(http.post(f"/api/v2/databases/{DB}/schemas", json={"name": SC}))
    for table in tables:
        name = f"MAKE_{table}"
        _create(http, name, f"create table {table} (id int)")
        _execute(http, name)
        wait_until(lambda name=name: _state_of(http, name) == "SUCCEEDED", 30,
                    f"table {table}")


# --- issue 7 item 7: retry after kill -9 -------------------------------------------------------
def test_retry_after_kill_reruns_only_the_tasks_that_did_not_succeed(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", token=TOKEN).start()
    try:
        with server.http() as http:
            _setup(http, "LEDGER", "SLOW_RUNS")
            _create(http, "PAY", "insert into ledger values (1)")
            # five children of the payment: more than one graph run executes at once, so
            # some are still waiting for a worker when the server dies
            children = [f"SLOW{i}" for i in range(5)]
            for child in children:
                _create(http, child, f"insert into slow_runs values (1); {WAIT_ON_FIRST_ATTEMPT}",
                        predecessors=["PAY"])
            _create(http, "AFTER", "select 1", predecessors=children)
            _resume(http, *children, "AFTER")
            _execute(http, "PAY")
            wait_until(lambda: _state_of(http, "PAY") == "SUCCEEDED", 30, "the payment")
            wait_until(lambda: sum(_state_of(http, c) in ("EXECUTING", "SCHEDULED")
                                    for c in children) >= 4, 30, "the children to start")
            wait_until(lambda: _state_of(http, "SLOW0") == "EXECUTING", 30, "SLOW0 to start")
        server.kill()

        again = ServerProcess(server.data_dir, token=TOKEN, port=server.port).start()
        server = again
        with again.http() as http:
            [crashed] = _graph_runs(http, "PAY")
            assert crashed["state"] == "CANCELLED", crashed
            _ok(http.post(f"{BASE}/PAY:execute", params={"retryLast": "true"}))
            retry = _finished_run(http, "PAY", attempt=2)
            assert retry["state"] == "SUCCEEDED", retry
            assert _count(http, "LEDGER") == 1  # the payment was not made twice
            assert [r["attempt_number"] for r in _history(http, "PAY")] == [1]
            for child in children:  # every child that was interrupted ran again, and finished
                rows = _history(http, child)
                assert [r["state"] for r in rows] == ["SUCCEEDED", "CANCELLED"], (child, rows)
                assert rows[0]["attempt_number"] == 2
            assert [r["state"] for r in _history(http, "AFTER")] == ["SUCCEEDED"]
    finally:
        server.stop()


# --- issue 7 item 5: cancelling a running graph run --------------------------------------------
@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalServer]:
    with tasknb.local.start(data_dir=tmp_path / "data", token=TOKEN) as srv:
        srv.service.ensure_schema(DB, SC)
        yield srv


def _http(server: LocalServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30.0, trust_env=False,
                        headers={"Authorization": f"Bearer {server.token}"})


def test_cancel_interrupts_the_running_statement_and_retry_reruns_only_that(
        local: LocalServer) -> None:
    with _http(local) as http:
        _create(http, "ROOT", "select 1")
        _create(http, "HEAVY", HEAVY_ON_FIRST_ATTEMPT, predecessors=["ROOT"])
        _create(http, "SIDE", "select 1", predecessors=["ROOT"])
        _create(http, "AFTER", "select 1", predecessors=["HEAVY"])
        _create(http, "FIN", "select 1", finalize="ROOT")
        _resume(http, "HEAVY", "SIDE", "AFTER", "FIN")
        assert "no currently running executions" in \
            local.service.cancel_ongoing_executions(DB, SC, "ROOT")
        _execute(http, "ROOT")
        wait_until(lambda: _state_of(http, "HEAVY") == "EXECUTING", 30, "HEAVY to start")
        wait_until(lambda: _state_of(http, "SIDE") == "SUCCEEDED", 30, "SIDE to finish")
        # Snowflake cancels only the named task's current run: naming another task of the
        # graph (the root, done; AFTER, not started) cancels nothing
        for idle in ("ROOT", "AFTER"):
            assert "no currently running executions" in \
                local.service.cancel_ongoing_executions(DB, SC, idle)
        asked = time.monotonic()
        answer = local.service.cancel_ongoing_executions(DB, SC, "HEAVY")
        assert answer.startswith("Marked 1 task runs for cancellation."), answer
        run = _finished_run(http, "ROOT", timeout=QUICK_SECONDS)
        assert time.monotonic() - asked < QUICK_SECONDS
        assert run["state"] == "CANCELLED", run
        assert run["first_error_task_name"] == "HEAVY", run
        [heavy] = _history(http, "HEAVY")
        assert heavy["state"] == "CANCELLED" and heavy["completed_time"], heavy
        assert _history(http, "AFTER") == []  # a cancelled task's dependents do not run
        # the finalizer runs "regardless of success or failure" (it was not cancelled itself)
        assert [r["state"] for r in _history(http, "FIN")] == ["SUCCEEDED"]
        assert [r["state"] for r in _history(http, "SIDE")] == ["SUCCEEDED"]

        _ok(http.post(f"{BASE}/ROOT:execute", params={"retryLast": "true"}))
        retry = _finished_run(http, "ROOT", attempt=2)
        assert retry["state"] == "SUCCEEDED", retry
        assert len(_history(http, "ROOT")) == 1 and len(_history(http, "SIDE")) == 1
        assert [r["state"] for r in _history(http, "HEAVY")] == ["SUCCEEDED", "CANCELLED"]
        assert [r["state"] for r in _history(http, "AFTER")] == ["SUCCEEDED"]
        assert [r["state"] for r in _history(http, "FIN")] == ["SUCCEEDED", "SUCCEEDED"]


def test_cancelling_one_branch_lets_the_other_run_on(local: LocalServer) -> None:
    """Cancelling LEFT stops LEFT alone (Snowflake: "only cancels the current run of the
    specified task"): LEFT_AFTER never runs, RIGHT keeps executing and the graph run stays
    EXECUTING until RIGHT is cancelled too; then the run is CANCELLED. Where a graph run has
    both a cancelled and a failed task the docs name no precedence; this server says FAILED."""
    with _http(local) as http:
        _create(http, "ROOT", "select 1")
        _create(http, "LEFT", WAIT_ON_FIRST_ATTEMPT, predecessors=["ROOT"])
        _create(http, "RIGHT", WAIT_ON_FIRST_ATTEMPT, predecessors=["ROOT"])
        _create(http, "LEFT_AFTER", "select 1", predecessors=["LEFT"])
        _resume(http, "LEFT", "RIGHT", "LEFT_AFTER")
        _execute(http, "ROOT")
        wait_until(lambda: _state_of(http, "LEFT") == _state_of(http, "RIGHT") == "EXECUTING",
                    30, "both branches to start")
        answer = local.service.cancel_ongoing_executions(DB, SC, "LEFT")
        assert answer.startswith("Marked 1 task runs for cancellation."), answer
        wait_until(lambda: _state_of(http, "LEFT") == "CANCELLED", QUICK_SECONDS, "LEFT")
        time.sleep(0.3)
        assert _state_of(http, "RIGHT") == "EXECUTING"
        assert [r["state"] for r in _ok(http.get(f"{BASE}/ROOT/current-graphs"))] == \
            ["EXECUTING"]
        assert _history(http, "LEFT_AFTER") == []
        assert "no currently running" in local.service.cancel_ongoing_executions(DB, SC, "LEFT")
        assert local.service.cancel_ongoing_executions(DB, SC, "RIGHT").startswith("Marked 1")
        run = _finished_run(http, "ROOT", timeout=QUICK_SECONDS)
        assert run["state"] == "CANCELLED" and run["first_error_task_name"] == "LEFT", run
        assert _state_of(http, "RIGHT") == "CANCELLED"
        assert _history(http, "LEFT_AFTER") == []


def test_cancel_from_sql_stops_another_graph_run(local: LocalServer) -> None:
    with _http(local) as http:
        _create(http, "LONG_ROOT", WAIT_ON_FIRST_ATTEMPT)
        _create(http, "CANCELLER", "select system$set_return_value(answer) from (select "
                "system$user_task_cancel_ongoing_executions('RUNS_DB.S.long_root') as answer)")
        _execute(http, "LONG_ROOT")
        wait_until(lambda: _state_of(http, "LONG_ROOT") == "EXECUTING", 30, "LONG_ROOT")
        _execute(http, "CANCELLER")
        [row] = wait_until(lambda: [r for r in _history(http, "CANCELLER") if r["state"] in DONE],
                            QUICK_SECONDS, "the canceller")
        assert row["state"] == "SUCCEEDED", row
        assert row["return_value"].startswith("Marked 1 task runs for cancellation."), row
        run = _finished_run(http, "LONG_ROOT", timeout=QUICK_SECONDS)
        assert run["state"] == "CANCELLED", run
        [long_row] = _history(http, "LONG_ROOT")
        assert long_row["state"] == "CANCELLED" and "cancelled" in long_row["error_message"]


def test_suspending_the_root_leaves_a_running_run_alone_until_cancelled(
        local: LocalServer) -> None:
    with _http(local) as http:
        _create(http, "ROOT", WAIT_ON_FIRST_ATTEMPT)
        _execute(http, "ROOT")
        wait_until(lambda: _state_of(http, "ROOT") == "EXECUTING", 30, "ROOT to start")
        _ok(http.post(f"{BASE}/ROOT:suspend"))
        time.sleep(0.5)
        assert _state_of(http, "ROOT") == "EXECUTING"  # Snowflake: suspend lets it finish
        assert [r["state"] for r in _ok(http.get(f"{BASE}/ROOT/current-graphs"))] == \
            ["EXECUTING"]
        answer = local.service.cancel_ongoing_executions(DB, SC, "ROOT")
        assert answer.startswith("Marked 1 task runs"), answer
        assert _finished_run(http, "ROOT", timeout=QUICK_SECONDS)["state"] == "CANCELLED"
        assert _ok(http.get(f"{BASE}/ROOT/current-graphs")) == []


def test_retry_after_kill_also_skips_successes_of_a_run_recorded_without_outcomes(
        tmp_path: Path) -> None:
    # a data dir from before outcomes were written as tasks ended: the interrupted graph run
    # has no task_states at all, only its task rows say what succeeded
    server = ServerProcess(tmp_path / "data", token=TOKEN).start()
    try:
        with server.http() as http:
            _setup(http, "LEDGER")
            _create(http, "PAY", "insert into ledger values (1)")
            _create(http, "SLOW", WAIT_ON_FIRST_ATTEMPT, predecessors=["PAY"])
            _create(http, "AFTER", "select 1", predecessors=["PAY", "SLOW"])
            _resume(http, "SLOW", "AFTER")
            _execute(http, "PAY")
            wait_until(lambda: _state_of(http, "SLOW") == "EXECUTING", 30, "SLOW to start")
        server.kill()
        with sqlite3.connect(server.data_dir / STATE_FILE) as db:
            assert db.execute("UPDATE graph_runs SET task_states = NULL "
                              "WHERE root_name = 'PAY'").rowcount == 1
        db.close()
        server = ServerProcess(server.data_dir, token=TOKEN, port=server.port).start()
        with server.http() as http:
            _ok(http.post(f"{BASE}/PAY:execute", params={"retryLast": "true"}))
            assert _finished_run(http, "PAY", attempt=2)["state"] == "SUCCEEDED"
            assert _count(http, "LEDGER") == 1
            assert [r["state"] for r in _history(http, "SLOW")] == ["SUCCEEDED", "CANCELLED"]
            assert [r["state"] for r in _history(http, "AFTER")] == ["SUCCEEDED"]
    finally:
        server.stop()


def _stored(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the state file, read while no server runs on it."""
    with sqlite3.connect(data_dir / STATE_FILE) as db:
        rows = db.execute(sql).fetchall()
    db.close()
    return rows


def test_each_task_outcome_is_on_disk_at_its_end_and_gone_once_its_run_ends(
        tmp_path: Path) -> None:
    """EXECUTE TASK ... RETRY LAST "executes the failed (or cancelled) tasks of the last graph
    run; tasks that succeeded are not executed again"
    (https://docs.snowflake.com/en/sql-reference/sql/execute-task). So every task's outcome is
    durable when the task ends, before anything after it runs: one row per task (constant work
    per task, issue 13), folded into the run's per-task states once the run ends or a restart
    closes it, after which no outcome row is left behind."""
    server = ServerProcess(tmp_path / "data", token=TOKEN).start()
    try:
        with server.http() as http:
            _setup(http, "LEDGER")
            _create(http, "PAY", "insert into ledger values (1)")
            _create(http, "OFF", "select 1", predecessors=["PAY"])  # suspended: passed over
            _create(http, "SLOW", WAIT_ON_FIRST_ATTEMPT, predecessors=["PAY"])
            _resume(http, "SLOW")
            _execute(http, "PAY")
            wait_until(lambda: _state_of(http, "SLOW") == "EXECUTING", 30, "SLOW to start")
        server.kill()
        # killed mid-run: PAY's end and the child it passed over are on disk as outcome rows
        assert sorted(_stored(server.data_dir, "SELECT name, state FROM task_outcomes")) == [
            ("OFF", "PASSED"), ("PAY", "SUCCEEDED")]
        server = ServerProcess(server.data_dir, token=TOKEN, port=server.port).start()
        with server.http() as http:
            [crashed] = _graph_runs(http, "PAY")
            assert crashed["state"] == "CANCELLED", crashed
            _ok(http.post(f"{BASE}/PAY:execute", params={"retryLast": "true"}))
            assert _finished_run(http, "PAY", attempt=2)["state"] == "SUCCEEDED"
            assert _count(http, "LEDGER") == 1  # PAY did not run again
        server.stop()
        states = dict(_stored(server.data_dir, "SELECT attempt, task_states FROM graph_runs "
                                               "WHERE root_name = 'PAY'"))
        assert json.loads(states[1]) == {"PAY": ["SUCCEEDED", None], "OFF": ["PASSED", None],
                                         "SLOW": ["CANCELLED", None]}
        assert json.loads(states[2]) == {"PAY": ["SUCCEEDED", None], "OFF": ["PASSED", None],
                                         "SLOW": ["SUCCEEDED", None]}
        assert _stored(server.data_dir, "SELECT COUNT(*) FROM task_outcomes") == [(0,)]
    finally:
        server.stop()


# --- issue 7 item 5: workers a long statement cannot monopolise --------------------------------
def test_a_trivial_graph_finishes_at_once_beside_four_long_ones(local: LocalServer) -> None:
    longs = [f"LONG{i}" for i in range(4)]
    with _http(local) as http:
        for name in longs:
            _create(http, name, WAIT_ON_FIRST_ATTEMPT)
            _execute(http, name)
        wait_until(lambda: all(_state_of(http, n) == "EXECUTING" for n in longs), 30,
                    "the long tasks to start")
        _create(http, "TRIVIAL", "select 1")
        started = time.monotonic()
        _execute(http, "TRIVIAL")
        run = _finished_run(http, "TRIVIAL", timeout=QUICK_SECONDS)
        assert run["state"] == "SUCCEEDED", run
        assert time.monotonic() - started < QUICK_SECONDS
        assert all(_state_of(http, n) == "EXECUTING" for n in longs)


def test_a_task_waiting_for_a_worker_is_scheduled_not_executing(tmp_path: Path) -> None:
    # two tasks of one graph run at a time: the third child waits, and says so
    with tasknb.local.start(data_dir=tmp_path / "data", token=TOKEN, max_workers=2) as srv:
        srv.service.ensure_schema(DB, SC)
        kids = ["K1", "K2", "K3"]
        with _http(srv) as http:
            _create(http, "ROOT", "select 1")
            for kid in kids:
                _create(http, kid, WAIT_ON_FIRST_ATTEMPT, predecessors=["ROOT"])
            _resume(http, *kids)
            _execute(http, "ROOT")
            rows = wait_until(
                lambda: [r for k in kids for r in _history(http, k)]
                if all(_history(http, k) for k in kids) else None, 10, "every child's record")
            states = sorted(r["state"] for r in rows)
            assert states == ["EXECUTING", "EXECUTING", "SCHEDULED"], rows
            [waiting] = [r for r in rows if r["state"] == "SCHEDULED"]
            assert waiting["query_start_time"] is None, waiting
            assert waiting["scheduled_time"], waiting
            [current] = _ok(http.get(f"{BASE}/ROOT/current-graphs"))
            assert current["state"] == "EXECUTING", current
            # the waiting one is cancelled without ever running; the others go on
            name = waiting["name"]
            answer = srv.service.cancel_ongoing_executions(DB, SC, name)
            assert answer.startswith("Marked 1 task runs"), answer
            [cancelled] = wait_until(lambda: [r for r in _history(http, name)
                                               if r["state"] == "CANCELLED"], QUICK_SECONDS, name)
            assert cancelled["query_start_time"] is None, cancelled
            assert [_state_of(http, k) for k in kids if k != name] == ["EXECUTING"] * 2
            for kid in kids:
                if kid != name:
                    answer = srv.service.cancel_ongoing_executions(DB, SC, kid)
                    assert answer.startswith("Marked 1 task runs"), answer
            assert _finished_run(http, "ROOT", timeout=QUICK_SECONDS)["state"] == "CANCELLED"
            assert sorted(_state_of(http, k) or "" for k in kids) == ["CANCELLED"] * 3


def test_the_pool_limits_each_graph_run_and_takes_turns_between_them() -> None:
    from tasknb.local.service.workers import FairPool

    pool = FairPool(per_group=1, max_threads=1)
    order: list[str] = []
    release = threading.Event()

    def job(label: str, block: bool = False) -> Any:
        def run() -> None:
            order.append(label)
            if block:
                release.wait(10)
        return run

    try:
        pool.submit("A", job("a1", block=True))
        wait_until(lambda: order == ["a1"], 5, "a1 to start")
        for label in ("a2", "a3"):
            pool.submit("A", job(label))
        pool.submit("B", job("b1"))
        time.sleep(0.2)
        assert order == ["a1"]  # one thread, busy: the others wait
        release.set()
        wait_until(lambda: len(order) == 4, 5, "every job")
        assert order == ["a1", "b1", "a2", "a3"]  # B's turn comes before A's second job
    finally:
        release.set()
        assert pool.shutdown() == []

    wide = FairPool(per_group=1, max_threads=4)
    started = threading.Barrier(3, timeout=10)
    try:
        wide.submit("A", started.wait)  # a blocked group never holds up another one
        wide.submit("B", started.wait)
        started.wait()  # both jobs are running at once
    finally:
        wide.shutdown()
