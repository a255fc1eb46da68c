"""Snowflake's graph and lifecycle rules, through the API, plus the pure helpers in rules.py."""

from __future__ import annotations

import json

import pytest
from local_api import Api

from tasknb.local import rules
from tasknb.local.rules import ApiError


def test_fold_and_render_identifiers() -> None:
    assert rules.fold_identifier("abc_1$") == "ABC_1$"
    assert rules.fold_identifier('"abc"') == "abc"
    assert rules.fold_identifier('"a""b c"') == 'a"b c'
    assert rules.render_identifier("ABC") == "ABC"
    assert rules.render_identifier('a"b c') == '"a""b c"'
    for bad in ("1abc", "a-b", "", '"', '""', '"a"b"', "x" * 256):
        with pytest.raises(ApiError) as info:
            rules.fold_identifier(bad)
        assert info.value.status == 400
    assert rules.split_qualified('DB."s.x".T', "p") == ["DB", "s.x", "T"]


def test_like_and_filters() -> None:
    assert rules.LikePattern("a_c%").matches("ABCDEF")
    assert not rules.LikePattern("a\\_c").matches("abc")
    assert rules.filter_names(["b", "a", "c"], from_name="b") == ["b", "c"]
    assert rules.parse_bool("TRUE", "x", False) is True
    with pytest.raises(ApiError):
        rules.parse_int("abc", "showLimit", None, 1, 10)


def test_new_tasks_suspended_and_root_resume_leaves_children(api: Api) -> None:
    api.create("root")
    api.create("child", predecessors=["root"])
    api.action("ROOT", "resume")
    assert api.fetch("ROOT")["state"] == "started"
    assert api.fetch("CHILD")["state"] == "suspended"
    assert api.fetch("ROOT")["last_committed_on"]


def test_suspended_root_rule_091421(api: Api) -> None:
    api.create("root")
    api.create("child", predecessors=["root"])
    api.action("CHILD", "resume")  # allowed while the root is suspended
    api.action("ROOT", "resume")
    expected = f"Unable to update graph with root task {api.database}.S.ROOT since that root " \
               "task is not suspended."
    for response in (
        api.action("CHILD", "suspend", expect=400),
        api.action("CHILD", "resume", expect=400),
        api.http.put(f"{api.base}/CHILD", json={"name": "CHILD", "definition": "select 2",
                                                "predecessors": ["ROOT"]}),
        api.http.put(f"{api.base}/ROOT", json={"name": "ROOT", "definition": "select 2"}),
        api.create("child", "select 3", mode="orReplace", predecessors=["ROOT"], expect=400),
        api.create("other", predecessors=["root"], expect=400),
        api.http.delete(f"{api.base}/CHILD"),
        api.http.delete(f"{api.base}/ROOT"),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "091421"
        assert response.json()["message"] == expected
    assert api.fetch("CHILD")["definition"] == "select 1"
    api.action("ROOT", "suspend")
    api.action("CHILD", "suspend")
    assert api.fetch("CHILD")["state"] == "suspended"


def test_started_standalone_task_cannot_be_altered_but_can_be_dropped(api: Api) -> None:
    api.create("solo")
    api.action("SOLO", "resume")
    response = api.http.put(f"{api.base}/SOLO", json={"name": "SOLO", "definition": "select 9"})
    assert response.status_code == 400 and response.json()["code"] == "091421"
    assert api.http.delete(f"{api.base}/SOLO").status_code == 200


def test_cycles_and_second_roots_are_refused_on_root_resume(api: Api) -> None:
    api.create("r")
    api.create("a", predecessors=["r"])
    api.create("b", predecessors=["a"])
    cyc = api.http.put(f"{api.base}/A", json={"name": "A", "definition": "select 1",
                                              "predecessors": ["R", "B"]})
    assert cyc.status_code == 200  # allowed while suspended
    refused = api.action("R", "resume", expect=400).json()
    assert "Graph has at least one cycle containing task" in refused["message"]
    assert api.fetch("R")["state"] == "suspended"
    api.http.put(f"{api.base}/A", json={"name": "A", "definition": "select 1",
                                        "predecessors": ["R"]})
    api.create("r2")
    api.http.put(f"{api.base}/B", json={"name": "B", "definition": "select 1",
                                        "predecessors": ["A", "R2"]})
    refused = api.action("R", "resume", expect=400).json()
    assert "more than one root task" in refused["message"]
    refused = api.action("R2", "resume", expect=400).json()
    assert "more than one root task" in refused["message"]


def test_link_rules_at_write_time(api: Api) -> None:
    api.create("r", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 5})
    msg = lambda r: r.json()["message"]
    assert "cannot use itself as its predecessor" in msg(
        api.create("r", mode="orReplace", predecessors=["R"], expect=400))
    assert "Invalid predecessor" in msg(api.create("c", predecessors=["nope"], expect=400))
    assert "from a different schema" in msg(
        api.create("c", predecessors=["OTHER.S2.R"], expect=400))
    api.create("c", predecessors=[f"{api.database}.S.R"])  # qualified, same schema: fine
    assert api.fetch("C")["predecessors"] == ["R"]
    assert "both a schedule and a predecessor" in msg(api.create(
        "d", predecessors=["R"], schedule={"schedule_type": "MINUTES_TYPE", "minutes": 5},
        expect=400))
    assert "non-root task" in msg(api.create("d", predecessors=["R"], config={"a": 1},
                                             expect=400))
    assert "TASK_AUTO_RETRY_ATTEMPTS" in msg(api.create("d", predecessors=["R"],
                                                        task_auto_retry_attempts=2, expect=400))
    assert "overlap policy on non-root task" in msg(api.create(
        "d", predecessors=["R"], overlap_policy="ALLOW_ALL_OVERLAP", expect=400))
    assert "Cannot specify ALLOW_OVERLAPPING_EXECUTION" in msg(api.create(
        "e", overlap_policy="NO_OVERLAP", allow_overlapping_execution=True, expect=400))
    assert api.http.get(api.base).json().__len__() == 2


def test_finalizer_rules(api: Api) -> None:
    api.create("r")
    api.create("c", predecessors=["r"])
    api.create("f", finalize="r")
    root = api.fetch("R")
    assert json.loads(root["task_relations"])["FinalizerTask"] == f"{api.database}.S.F"
    fin = api.fetch("F")
    assert fin["finalize"] == "R"
    assert json.loads(fin["task_relations"])["FinalizedRootTask"] == f"{api.database}.S.R"
    msg = lambda r: r.json()["message"]
    assert "already have finalizer" in msg(api.create("f2", finalize="r", expect=400))
    assert "cannot finalize a non-root task" in msg(api.create("f3", finalize="c", expect=400))
    assert "Invalid finalized root task" in msg(api.create("f4", finalize="zz", expect=400))
    assert "cannot have children as a finalizer" in msg(
        api.create("g", predecessors=["f"], expect=400))
    assert "cannot have predecessors as a finalizer" in msg(
        api.create("f5", finalize="r", predecessors=["c"], expect=400))
    assert "cannot have a schedule and be a finalizer" in msg(api.create(
        "f6", finalize="r", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 5}, expect=400))
    deps = [t["name"] for t in api.http.get(f"{api.base}/R/dependents").json()]
    assert deps == ["R", "C", "F"]


def test_execute_only_on_root(api: Api) -> None:
    api.create("r")
    api.create("c", predecessors=["r"])
    api.create("f", finalize="r")
    for name in ("C", "F"):
        body = api.action(name, "execute", expect=400).json()
        assert body["message"].startswith("Execute task cannot be called on non-root task")


def test_dropping_a_predecessor_makes_started_children_suspended_roots(api: Api) -> None:
    api.create("r")
    api.create("a", predecessors=["r"])
    api.create("b", predecessors=["r", "a"])
    api.create("f", finalize="r")
    for name in ("A", "B", "F"):
        api.action(name, "resume")
    assert api.http.delete(f"{api.base}/R").status_code == 200
    a, b, f = api.fetch("A"), api.fetch("B"), api.fetch("F")
    assert a["predecessors"] == [] and a["state"] == "suspended"
    assert b["predecessors"] == ["A"] and b["state"] == "started"
    assert "finalize" not in f and f["state"] == "suspended"


def test_graph_size_and_predecessor_limits(api: Api) -> None:
    preds = [f"P{i}" for i in range(101)]
    body = api.create("x", predecessors=preds, expect=400).json()
    assert "at most 100" in body["message"]


def test_dependents_order_and_recursive_flag(api: Api) -> None:
    api.create("r")
    api.create("a", predecessors=["r"])
    api.create("b", predecessors=["a"])
    api.create("c", predecessors=["r"])
    names = lambda **q: [t["name"] for t in
                         api.http.get(f"{api.base}/R/dependents", params=q).json()]
    assert names() == ["R", "A", "C", "B"]
    assert names(recursive="False") == ["R", "A", "C"]
    assert names(recursive="true")[0] == "R"
    assert [t["name"] for t in api.http.get(f"{api.base}/A/dependents").json()] == ["A", "B"]


def test_resume_and_suspend_are_idempotent(api: Api) -> None:
    api.create("r")
    api.action("R", "suspend")
    api.action("R", "resume")
    api.action("R", "resume")
    assert api.fetch("R")["state"] == "started"
    api.action("R", "suspend")
    suspended = api.fetch("R")
    assert suspended["state"] == "suspended" and suspended["last_suspended_on"]


def test_graph_size_limit_is_checked_on_resume() -> None:
    tasks = {"R": {"predecessors": []}}
    for i in range(rules.MAX_GRAPH_TASKS):
        tasks[f"C{i}"] = {"predecessors": ["R" if i < 100 else f"C{i % 100}"]}
    with pytest.raises(ApiError) as info:
        rules.check_graph_runnable("R", "DB", "S", tasks)
    assert "1001 tasks" in info.value.message
    del tasks["C999"]
    assert len(rules.check_graph_runnable("R", "DB", "S", tasks)) == 1000


def test_property_rules(api: Api) -> None:
    msg = lambda r: r.json()["message"]
    assert "SEARCH_PATH" in msg(api.create("a", session_parameters={"SEARCH_PATH": "x"},
                                           expect=400))
    assert "AUTOCOMMIT = false" in msg(api.create("a", session_parameters={"AUTOCOMMIT": False},
                                                  expect=400))
    refused = api.create("a", warehouse="wh", expect=400, target_completion_interval={
        "schedule_type": "MINUTES_TYPE", "minutes": 5}).json()
    assert refused["code"] == "091857"
    assert "non-serverless" in msg(api.create(
        "a", warehouse="wh", user_task_managed_initial_warehouse_size="SMALL", expect=400))
    api.create("a", session_parameters={"TIMEZONE": "UTC", "QUERY_TAG": "x"},
               user_task_managed_initial_warehouse_size="x-small",
               target_completion_interval={"schedule_type": "MINUTES_TYPE", "minutes": 5})
    task = api.fetch("A")
    assert task["session_parameters"] == {"TIMEZONE": "UTC", "QUERY_TAG": "x"}
    assert task["user_task_managed_initial_warehouse_size"] == "XSMALL"
    assert task["target_completion_interval"]["minutes"] == 5


def test_history_of_unknown_task_is_404(api: Api) -> None:
    response = api.http.get(f"/tasknb/v1/databases/{api.database}/schemas/S/tasks/NOPE/history")
    assert response.status_code == 404 and response.json()["code"] == "002003"
    assert api.http.get("/tasknb/v1/nothing").status_code == 404


def test_replacing_a_database_drops_its_tasks(api: Api) -> None:
    api.create("t1")
    response = api.http.post("/api/v2/databases", params={"createMode": "orReplace"},
                             json={"name": api.database})
    assert response.status_code == 200
    assert api.http.get(api.base).status_code == 404  # schema S went with the old database
    assert [s["name"] for s in api.http.get(
        f"/api/v2/databases/{api.database}/schemas").json()] == ["PUBLIC"]


def test_enable_dependents_extension(api: Api) -> None:
    api.create("root")
    api.create("a", predecessors=["root"])
    api.create("b", predecessors=["a"])
    api.create("f", finalize="root")
    url = f"/tasknb/v1/databases/{api.database}/schemas/S/tasks/ROOT:enable-dependents"
    response = api.http.post(url)
    assert response.status_code == 200, response.text
    assert response.json()["resumed"] == ["A", "B", "F", "ROOT"]
    assert {api.fetch(n)["state"] for n in ("ROOT", "A", "B", "F")} == {"started"}
    refused = api.http.post(url.replace("ROOT:", "A:"))
    assert refused.status_code == 400 and refused.json()["code"] == "091421"
