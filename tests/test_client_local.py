"""Every client method over real HTTP on loopback against the local server, spec-validated.

The validating transport wraps ``httpx.HTTPTransport``: each request the client sends and
each response the server returns is checked against the official spec.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from client_support import fresh_schema

import tasknb
from tasknb import (
    AsyncResult,
    BadRequest,
    MinutesSchedule,
    PatAuth,
    Tag,
    Task,
    TaskAlreadyExists,
    TaskClient,
    TaskNotFound,
    Unauthorized,
)
from tasknb.testing import local_client

_close_later: list[TaskClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _close_later:
        _close_later.pop().close()


@pytest.fixture
def client(server, validating) -> Iterator[TaskClient]:
    c = local_client(server, database="itest", schema=fresh_schema(), transport=validating)
    yield c
    c.close()


def _finished_runs(client: TaskClient, name: str, **kwargs: object) -> list:
    """Complete graph runs, waiting (real time, briefly) for a manual execute to finish."""
    deadline = time.monotonic() + 20
    while True:
        runs = client.get_complete_graphs(name, **kwargs)
        executing = [r for r in client.get_current_graphs(name) if r.state == "EXECUTING"]
        if (runs and not executing) or time.monotonic() > deadline:
            return runs
        time.sleep(0.05)


def _graph(client: TaskClient) -> None:
    client.create_task(Task("root", "select 1", schedule=MinutesSchedule(60), comment="the root"))
    client.create_task(Task("child_a", "select 2", predecessors=["root"]))
    client.create_task(Task("child_b", "select 3", predecessors=["child_a"]))


def test_create_list_fetch_and_alter(client, validating) -> None:
    _graph(client)
    tasks = client.list_tasks()
    assert sorted(t.name for t in tasks) == ["CHILD_A", "CHILD_B", "ROOT"]
    roots = client.list_tasks(root_only=True)
    assert [t.name for t in roots] == ["ROOT"]
    assert [t.name for t in client.list_tasks(like="child%")] == ["CHILD_A", "CHILD_B"]
    assert [t.name for t in client.list_tasks(starts_with="CHILD_B")] == ["CHILD_B"]
    assert len(client.list_tasks(show_limit=1)) == 1
    assert [t.name for t in client.list_tasks(from_name="CHILD_B")] == ["CHILD_B", "ROOT"]
    root = client.fetch_task("root")
    assert root.schedule == MinutesSchedule(60) and root.state == "suspended"
    assert root.created_on is not None and root.created_on.tzinfo is not None
    client.create_or_alter_task(Task("root", "select 42", schedule=MinutesSchedule(30)))
    altered = client.fetch_task("root")
    assert altered.definition == "select 42" and altered.comment is None  # full replacement
    assert {op for _, op, _ in validating.exchanges} >= {
        "createTask",
        "listTasks",
        "fetchTask",
        "createOrAlterTask",
    }


def test_create_modes_and_conflict(client) -> None:
    client.create_task(Task("t1", "select 1"))
    with pytest.raises(TaskAlreadyExists) as info:
        client.create_task(Task("t1", "select 1"))
    assert info.value.status == 409 and info.value.request_id
    client.create_task(Task("t1", "select 2"), create_mode="ifNotExists")
    assert client.fetch_task("t1").definition == "select 1"
    client.create_task(Task("t1", "select 3"), create_mode="orReplace")
    assert client.fetch_task("t1").definition == "select 3"


def test_dependents_resume_suspend(client) -> None:
    _graph(client)
    deps = client.fetch_task_dependents("root")
    assert [t.name for t in deps] == ["ROOT", "CHILD_A", "CHILD_B"]
    direct = client.fetch_task_dependents("root", recursive=False)
    assert [t.name for t in direct] == ["ROOT", "CHILD_A"]
    for name in ("child_b", "child_a", "root"):
        client.resume_task(name)
    assert client.fetch_task("root").state == "started"
    client.suspend_task("root")
    assert client.fetch_task("root").state == "suspended"


def test_execute_and_graph_runs(server, client) -> None:
    _graph(client)
    for name in ("child_b", "child_a"):
        client.resume_task(name)
    status = client.execute_task("root")
    assert isinstance(status, str) and status
    complete = _finished_runs(client, "root")
    assert complete and complete[0].root_task_name == "ROOT"
    assert complete[0].state in {"SUCCEEDED", "FAILED"}
    assert complete[0].scheduled_time.tzinfo is not None
    assert client.get_complete_graphs("root", error_only=True, result_limit=10) == [
        r for r in complete if r.failed
    ]
    client.resume_task("root")
    current = client.get_current_graphs("root", result_limit=5)
    assert current and all(r.root_task_name == "ROOT" for r in current)


def test_execute_async_and_retry_last(server, client) -> None:
    # fails until the table exists; RETRY LAST needs an unchanged graph, so fix the data
    client.create_task(Task("boom", "insert into audit_log select 1"))
    handle = client.execute_task("boom", async_exec=True)
    assert isinstance(handle, AsyncResult)
    assert isinstance(handle.wait(timeout=30), str)
    failed = _finished_runs(client, "boom", error_only=True)
    assert failed and failed[0].failed and failed[0].first_error_message
    server.service.run_sql("itest", client.schema, "create table audit_log (v int)")
    client.execute_task("boom", retry_last=True)
    runs = _finished_runs(client, "boom")
    deadline = time.monotonic() + 20
    while runs[0].state != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.05)
        runs = client.get_complete_graphs("boom")
    assert runs[0].state == "SUCCEEDED"


def test_deprecated_graph_paths(server, validating) -> None:
    c = local_client(
        server, database="itest", schema="legacy", transport=validating, deprecated_graph_paths=True
    )
    _close_later.append(c)
    c.create_task(Task("r", "select 1"), create_mode="orReplace")
    assert c.get_complete_graphs("r") == [] or c.get_complete_graphs("r")[0].root_task_name == "R"
    assert c.get_current_graphs("r") == []
    assert ("GET", "getCompleteGraphsDeprecated", 200) in validating.exchanges
    assert ("GET", "getCurrentGraphsDeprecated", 200) in validating.exchanges


def test_tags(client) -> None:
    client.create_task(Task("tagged", "select 1"))
    client.set_tags("tagged", [Tag("gov", "tags", "cost_center", "finance")])
    tags = client.get_tags("tagged", with_lineage=False)
    assert [(t.tag_name, t.tag_value) for t in tags] == [("COST_CENTER", "finance")]
    client.unset_tags("tagged", [Tag("gov", "tags", "cost_center")])
    assert client.get_tags("tagged") == []
    client.set_tags("missing", [Tag("gov", "tags", "x", "y")], if_exists=True)


def test_delete_and_not_found(client) -> None:
    client.create_task(Task('"My Task"', "select 1"))
    assert [t.name for t in client.list_tasks()] == ['"My Task"'] or client.fetch_task('"My Task"')
    client.delete_task('"My Task"')
    with pytest.raises(TaskNotFound) as info:
        client.fetch_task('"My Task"')
    assert "My Task" in str(info.value) and info.value.code
    client.delete_task('"My Task"', if_exists=True)


def test_special_names_round_trip(client) -> None:
    for name in ("dag$child", '"with space"', '"naïve.dot"', '"a/b:c"'):
        client.create_task(Task(name, "select 1"))
        assert client.fetch_task(name).name == tasknb.identifiers.normalize(name)


def test_server_refusal_is_a_bad_request(client) -> None:
    client.create_task(Task("solo", "select 1"))
    client.create_task(Task("kid", "select 1", predecessors=["solo"]))
    with pytest.raises(BadRequest) as info:
        client.execute_task("kid")  # not a root
    assert info.value.code and "root" in info.value.message.lower()


def test_wrong_token_is_unauthorized(server, validating) -> None:
    c = TaskClient(
        server.url,
        auth=PatAuth("not-the-token"),
        database="itest",
        schema="s0",
        transport=validating,
    )
    with c, pytest.raises(Unauthorized):
        c.list_tasks()


def test_connect_with_base_url_and_advance_history(server, validating) -> None:
    c = tasknb.connect(
        base_url=server.url,
        token=server.token,
        database="itest",
        schema="sched",
        transport=validating,
    )
    _close_later.append(c)
    server.service.ensure_schema("itest", "sched")
    c.create_task(Task("hourly", "select 1", schedule=MinutesSchedule(60)), create_mode="orReplace")
    c.resume_task("hourly")
    runs = server.advance(timedelta(hours=2))
    assert len(runs) >= 1
    assert all(
        r.state in {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"}
        for r in c.get_complete_graphs("hourly")
    )
    c.suspend_task("hourly")


def test_proxy_variables_never_capture_a_loopback_server(server, validating, monkeypatch) -> None:
    # a proxy that does not exist: if the client used it, the request would fail
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with TaskClient(server.url, auth=PatAuth(server.token), database="itest", schema="s0") as c:
        server.service.ensure_schema("itest", "s0")
        assert isinstance(c.list_tasks(), list)


def test_pytest_plugin_fixtures(pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tasknb.testing"]\n')
    pytester.makepyfile(
        """
        from tasknb import Task

        def test_one(tasknb_client):
            tasknb_client.create_task(Task("t", "select 1"))
            assert [t.name for t in tasknb_client.list_tasks()] == ["T"]

        def test_fresh_schema_each_time(tasknb_client, tasknb_server):
            assert tasknb_client.list_tasks() == []
            assert tasknb_client.base_url == tasknb_server.url
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


def test_five_thousand_tasks_list_whole_through_the_local_server(server, validating) -> None:
    """The local server pages like Snowflake (Link on the first answer only, 1,000 rows a page):
    every one of 5,000 tasks comes back, from list_tasks and from tasks_df."""
    schema = fresh_schema()
    server.service.ensure_schema("itest", schema)
    for i in range(5000):
        server.service.create_task("itest", schema, {"name": f"T{i:04d}", "definition": "select 1"})
    client = local_client(server, database="itest", schema=schema, transport=validating)
    _close_later.append(client)
    names = [task.name for task in client.list_tasks()]
    assert names == [f"T{i:04d}" for i in range(5000)]
    frame = tasknb.tasks_df(client)
    assert len(frame) == 5000 and frame["name"].is_unique
