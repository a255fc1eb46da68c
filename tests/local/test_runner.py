"""Real graph runs: order, branches, WHEN, return values, config, finalizer, retries, 202 polling."""

from __future__ import annotations

import threading
import time
from typing import Any

from local_api import Api


def sql(api: Api, statement: str) -> None:
    api.server.service.run_sql(api.database, "S", statement)


def history(api: Api, name: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/tasknb/v1/databases/{api.database}/schemas/S/tasks/{name}/history")
    assert response.status_code == 200, response.text
    return response.json()


def test_graph_runs_in_dependency_order_with_return_values_and_config(api: Api) -> None:
    sql(api, "create table log (step varchar, seen varchar)")
    api.create("root", "insert into log values ('root', system$get_task_graph_config('env'))",
               config={"env": "test"})
    api.create("a", "select system$set_return_value('from-a')", predecessors=["root"])
    api.create("b", "insert into log values ('b', system$get_predecessor_return_value('A'))",
               predecessors=["a"])
    api.create("c", "insert into log values ('c', null)", predecessors=["root"])
    for name in ("A", "B", "C"):
        api.action(name, "resume")
    run = api.execute("ROOT")
    assert run["state"] == "SUCCEEDED"
    assert isinstance(run["run_id"], int) and isinstance(run["graph_version"], int)
    assert isinstance(run["root_task_id"], str) and run["next_scheduled_time"]
    b = history(api, "B")[0]
    assert b["state"] == "SUCCEEDED"
    a = history(api, "A")[0]
    assert a["return_value"] == "from-a"
    assert a["completed_time"] <= b["query_start_time"]
    root = history(api, "ROOT")[0]
    assert root["completed_time"] <= a["query_start_time"]
    assert run["query_start_time"] == root["query_start_time"] >= run["scheduled_time"]
    assert run["completed_time"] >= b["completed_time"]
    rows = api.server.service.engine().query("select step, seen from log order by step",
                                             api.database, "S")
    assert [tuple(r) for r in rows] == [("b", "from-a"), ("c", None), ("root", "test")]


def test_failure_blocks_descendants_and_finalizer_still_runs(api: Api) -> None:
    sql(api, "create table out (v int)")
    api.create("root", "insert into out values (1)")
    api.create("bad", "select 1/0", predecessors=["root"])
    api.create("after_bad", "insert into out values (2)", predecessors=["bad"])
    api.create("fin", "insert into out values (3)", finalize="root")
    for name in ("BAD", "AFTER_BAD", "FIN"):
        api.action(name, "resume")
    run = api.execute("ROOT")
    assert run["state"] == "FAILED"
    assert run["first_error_task_name"] == "BAD"
    assert isinstance(run["first_error_code"], int) and run["first_error_code"] > 0
    assert run["first_error_message"]
    assert history(api, "AFTER_BAD") == []
    fin = history(api, "FIN")[0]
    assert fin["state"] == "SUCCEEDED"
    assert fin["query_start_time"] >= history(api, "BAD")[0]["completed_time"]
    failed_only = api.http.get(f"{api.base}/ROOT/complete_graphs",
                               params={"errorOnly": "True"}).json()
    assert [r["state"] for r in failed_only] == ["FAILED"]


def test_missing_table_fails_with_engine_message(api: Api) -> None:
    api.create("solo", "insert into no_such_table values (1)")
    run = api.execute("SOLO")
    assert run["state"] == "FAILED"
    assert "NO_SUCH_TABLE" in run["first_error_message"].upper()


def test_when_false_skips_task_and_descendants(api: Api) -> None:
    api.create("root")
    api.create("gated", condition="1 = 2", predecessors=["root"])
    api.create("below", predecessors=["gated"])
    for name in ("GATED", "BELOW"):
        api.action(name, "resume")
    assert api.execute("ROOT")["state"] == "SUCCEEDED"
    assert history(api, "GATED")[0]["state"] == "SKIPPED"
    assert history(api, "BELOW") == []


def test_suspended_child_is_passed_over_and_its_children_run(api: Api) -> None:
    api.create("root")
    api.create("sleepy", predecessors=["root"])
    api.create("after", predecessors=["sleepy"])
    api.action("AFTER", "resume")
    assert api.execute("ROOT")["state"] == "SUCCEEDED"
    assert history(api, "SLEEPY") == []
    assert history(api, "AFTER")[0]["state"] == "SUCCEEDED"


def test_independent_branches_run_in_parallel(api: Api) -> None:
    events: list[tuple[str, str, float]] = []
    service = api.server.service
    engine = service.engine()
    original = engine.run

    def slow_run(statement: str, ctx: Any) -> None:
        events.append(("start", ctx.task_name, time.monotonic()))
        if ctx.task_name in ("LEFT", "RIGHT"):
            time.sleep(0.3)
        original(statement, ctx)
        events.append(("end", ctx.task_name, time.monotonic()))

    engine.run = slow_run
    try:
        api.create("root")
        api.create("left", predecessors=["root"])
        api.create("right", predecessors=["root"])
        for name in ("LEFT", "RIGHT"):
            api.action(name, "resume")
        assert api.execute("ROOT")["state"] == "SUCCEEDED"
    finally:
        del engine.run
    starts = {n: t for kind, n, t in events if kind == "start"}
    ends = {n: t for kind, n, t in events if kind == "end"}
    assert starts["RIGHT"] < ends["LEFT"] and starts["LEFT"] < ends["RIGHT"]


def test_retry_last_codes_and_semantics(api: Api) -> None:
    never = api.create("never_ran") and api.action("NEVER_RAN", "execute", retryLast="True",
                                                   expect=400).json()
    assert never["code"] == "091457"
    assert "no suitable run" in never["message"]
    api.create("ok")
    api.execute("OK")
    no_fail = api.action("OK", "execute", retryLast="true", expect=400).json()
    assert no_fail["code"] == "091456"
    assert "had no failures" in no_fail["message"]

    sql(api, "create table src (v int)")
    api.create("root", "insert into src values (1)")
    api.create("needs", "insert into target select * from src", predecessors=["root"])
    api.action("NEEDS", "resume")
    first = api.execute("ROOT")
    assert first["state"] == "FAILED" and first["first_error_task_name"] == "NEEDS"
    sql(api, "create table target (v int)")
    retried = api.execute("ROOT", retryLast="True")
    assert retried["state"] == "SUCCEEDED"
    assert retried["attempt_number"] == 2
    assert retried["graph_run_group_id"] == first["graph_run_group_id"]
    assert retried["run_id"] == first["run_id"]
    assert len(history(api, "ROOT")) == 1  # the root succeeded and was not rerun
    assert [h["state"] for h in history(api, "NEEDS")] == ["SUCCEEDED", "FAILED"]


def test_modified_graph_cannot_be_retried(api: Api) -> None:
    api.create("root", "select 1/0")
    assert api.execute("ROOT")["state"] == "FAILED"
    api.http.put(f"{api.base}/ROOT", json={"name": "ROOT", "definition": "select 1"})
    refused = api.action("ROOT", "execute", retryLast="True", expect=400).json()
    assert refused["code"] == "091457"
    run = api.execute("ROOT")
    assert run["state"] == "SUCCEEDED" and run["graph_version"] == 2


def test_auto_retry_attempts(api: Api) -> None:
    api.create("root", "select 1/0", task_auto_retry_attempts=2)
    api.action("ROOT", "execute")
    assert api.server.service.wait_idle(30)
    runs = api.http.get(f"{api.base}/ROOT/complete-graphs").json()
    assert [r["attempt_number"] for r in runs] == [3, 2, 1]
    assert [r["scheduled_from"] for r in runs] == ["AUTOMATIC RETRY", "AUTOMATIC RETRY",
                                                   "EXECUTE_TASK"]
    assert len({r["graph_run_group_id"] for r in runs}) == 1


def test_auto_suspend_after_consecutive_failures(api: Api) -> None:
    api.create("root", "select 1/0", suspend_task_after_num_failures=2)
    api.action("ROOT", "resume")
    api.execute("ROOT")
    assert api.fetch("ROOT")["state"] == "started"
    api.execute("ROOT")
    assert api.fetch("ROOT")["state"] == "suspended"
    assert history(api, "ROOT")[0]["state"] == "FAILED_AND_AUTO_SUSPENDED"


def test_task_timeout_fails_the_run(api: Api) -> None:
    sql(api, "create table nums as select range as n from range(10)")
    heavy = ("select count(*) from nums a, nums b, nums c, nums d, nums e, nums f, nums g, "
             "nums h, nums i")
    api.create("slow", heavy, user_task_timeout_ms=200)
    started = time.monotonic()
    run = api.execute("SLOW")
    assert time.monotonic() - started < 20
    assert run["state"] == "FAILED"
    assert "time" in run["first_error_message"].lower()


def test_concurrent_executes_start_one_run_each_and_overlap_queues(api: Api) -> None:
    service = api.server.service
    engine = service.engine()
    original = engine.run
    gate = threading.Event()

    def gated(statement: str, ctx: Any) -> None:
        gate.wait(10)
        original(statement, ctx)

    engine.run = gated
    try:
        api.create("root")
        results: list[int] = []

        def call() -> None:
            results.append(api.http.post(f"{api.base}/ROOT:execute").status_code)

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [200] * 5
        current = api.http.get(f"{api.base}/ROOT/current-graphs").json()
        assert [r["state"] for r in current] == ["EXECUTING"]
    finally:
        gate.set()
        del engine.run
    assert service.wait_idle(30)
    assert service.wait_idle(30)
    runs = api.http.get(f"{api.base}/ROOT/complete-graphs").json()
    # one run executing + one queued (later executes replace the queued one)
    assert len(runs) == 2 and {r["state"] for r in runs} == {"SUCCEEDED"}


def test_async_execute_answers_202_and_result_polls_to_200(api: Api) -> None:
    api.create("root")
    response = api.http.post(f"{api.base}/ROOT:execute", params={"asyncExec": "true"})
    assert response.status_code == 202
    body = response.json()
    assert body["code"] == "392604"
    assert body["resultHandler"] == body["result_handler"]
    location = response.headers["Location"]
    assert location == f"/api/v2/results/{body['result_handler']}"
    deadline = time.monotonic() + 10
    while True:
        polled = api.http.get(location)
        if polled.status_code == 200 or time.monotonic() > deadline:
            break
        assert polled.status_code == 202
        time.sleep(0.05)
    assert polled.status_code == 200 and "status" in polled.json()
    assert api.http.get("/api/v2/results/not-a-handle").status_code == 400
    unknown = api.http.get("/api/v2/results/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and unknown.json()["code"] == "390404"


def test_unsupported_sql_fails_the_task_clearly(api: Api) -> None:
    api.create("proc", "call my_procedure()")
    run = api.execute("PROC")
    assert run["state"] == "FAILED"
    assert run["first_error_message"]


def test_suspend_lets_a_running_graph_finish(api: Api) -> None:
    service = api.server.service
    engine = service.engine()
    original = engine.run
    gate, reached = threading.Event(), threading.Event()

    def held(statement: str, ctx: Any) -> None:
        if ctx.task_name == "CHILD":
            reached.set()
            gate.wait(10)
        original(statement, ctx)

    engine.run = held
    try:
        api.create("root")
        api.create("child", predecessors=["root"])
        api.action("CHILD", "resume")
        api.action("ROOT", "resume")
        api.action("ROOT", "execute")
        assert reached.wait(10)
        api.action("ROOT", "suspend")
        assert api.fetch("ROOT")["state"] == "suspended"
        current = api.http.get(f"{api.base}/ROOT/current-graphs").json()
        assert [r["state"] for r in current] == ["EXECUTING"]
    finally:
        gate.set()
        del engine.run
    assert service.wait_idle(10)
    assert api.http.get(f"{api.base}/ROOT/complete-graphs").json()[0]["state"] == "SUCCEEDED"
    assert history(api, "CHILD")[0]["state"] == "SUCCEEDED"


def test_ancestor_values_branching_and_server_time(api: Api) -> None:
    sql(api, "create table seen (what varchar, v varchar)")
    api.create("root", "select system$set_return_value('from-root')")
    api.create("mid", "select 1/0", predecessors=["root"])
    api.create("ok_mid", "select 1", predecessors=["root"])
    api.create("grand", "insert into seen values ('ancestor', "
               "system$get_predecessor_return_value('ROOT'))", predecessors=["ok_mid"])
    api.create("on_failure", "insert into seen values ('branch', "
               "system$task_runtime_info('CURRENT_ROOT_TASK_NAME'))",
               predecessors=["mid", "ok_mid"],
               condition="SYSTEM$PREDECESSORS_STATE('AT_LEAST_ONE_FAILED')")
    api.create("clock", "insert into seen select 'now', current_timestamp::varchar",
               predecessors=["root"])
    for name in ("MID", "OK_MID", "GRAND", "ON_FAILURE", "CLOCK"):
        api.action(name, "resume")
    run = api.execute("ROOT")
    assert run["state"] == "FAILED" and run["first_error_task_name"] == "MID"
    rows = dict(api.server.service.engine().query("select what, v from seen", api.database, "S"))
    assert rows["ancestor"] == "from-root"
    assert rows["branch"] == "ROOT"
    assert rows["now"].startswith(api.server.now().strftime("%Y-%m-%d"))


def test_skipped_root_has_no_complete_row_and_no_finalizer(api: Api) -> None:
    api.create("root", condition="1 = 0")
    api.create("fin", finalize="root")
    api.action("FIN", "resume")
    api.action("ROOT", "execute")
    assert api.server.service.wait_idle(10)
    assert history(api, "ROOT")[0]["state"] == "SKIPPED"
    assert history(api, "FIN") == []
    assert api.http.get(f"{api.base}/ROOT/complete-graphs").json() == []
    runs = api.http.get(f"/tasknb/v1/databases/{api.database}/schemas/S/tasks/ROOT/graph-runs")
    assert [r["state"] for r in runs.json()] == ["SKIPPED"]
