"""Every TaskClient method: path, method, query, body and parsed result, validated by the spec."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
from client_support import BASE_URL, TOKEN, ok, reply, run_body, task_body
from spec_validation import operations

from tasknb import (
    CronSchedule,
    InvalidIdentifier,
    MinutesSchedule,
    Tag,
    Task,
    TaskClient,
    TasknbError,
)

P = "/api/v2/databases/DB/schemas/S/tasks"


def _query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def test_every_operation_of_the_spec_has_a_method() -> None:
    def snake(name: str) -> str:
        return "".join("_" + c.lower() if c.isupper() else c for c in name)

    ids = {op.operation_id for op in operations() if op.spec == "task"}
    ids = {i for i in ids if not i.endswith("Deprecated")}
    assert len(ids) == 14
    for op in ids:
        assert callable(getattr(TaskClient, snake(op))), op


def test_list_tasks_sends_every_filter_and_parses_models(api) -> None:
    rows = [
        task_body("ROOT", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 10}),
        task_body(
            "CHILD",
            predecessors=["DB.S.ROOT"],
            schedule={"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *", "timezone": "UTC"},
            future_field="kept",
        ),
    ]
    client = api.client(lambda r: reply(200, rows))
    tasks = client.list_tasks(
        root_only=True, like="r%", starts_with="R", show_limit=10, from_name="A"
    )
    (request,) = api.requests
    assert request.method == "GET" and request.url.path == P
    assert _query(request) == {
        "rootOnly": "true",
        "like": "r%",
        "startsWith": "R",
        "showLimit": "10",
        "fromName": "A",
    }
    assert [t.name for t in tasks] == ["ROOT", "CHILD"]
    assert tasks[0].schedule == MinutesSchedule(10)
    assert tasks[1].schedule == CronSchedule("0 2 * * *", "UTC")
    assert tasks[1].extra == {"future_field": "kept"}
    assert tasks[0].created_on == datetime(2024, 6, 18, 1, 1, 1, 111111, tzinfo=timezone.utc)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Snowflake-Authorization-Token-Type"] == "PROGRAMMATIC_ACCESS_TOKEN"
    assert request.headers["Accept"] == "application/json"
    assert "content-type" not in request.headers


def test_list_tasks_sends_false_lowercase_and_omits_unset(api) -> None:
    client = api.client(lambda r: reply(200, []))
    assert client.list_tasks(root_only=False) == []
    assert client.list_tasks() == []
    assert _query(api.requests[0]) == {"rootOnly": "false"}
    assert _query(api.requests[1]) == {}


def test_database_and_schema_overrides_and_qualified_names(api) -> None:
    client = api.client(lambda r: reply(200, task_body("T")))
    client.fetch_task("t", database="other", schema='"My Schema"')
    client.fetch_task('db2.s2."x y"')
    client.fetch_task("s3.t3")
    paths = [r.url.raw_path.decode() for r in api.requests]
    assert paths == [
        "/api/v2/databases/OTHER/schemas/%22My%20Schema%22/tasks/T",
        "/api/v2/databases/DB2/schemas/S2/tasks/%22x%20y%22",
        "/api/v2/databases/DB/schemas/S3/tasks/T3",
    ]


def test_create_task_body_mode_and_status(api) -> None:
    client = api.client(lambda r: ok("Task NIGHTLY successfully created."))
    task = Task(
        "nightly",
        "insert into t select 1",
        warehouse="WH",
        schedule=MinutesSchedule(60),
        predecessors=[],
        config={"env": "prod"},
        created_on=datetime(2024, 1, 1, tzinfo=timezone.utc),  # read-only: not sent
        state="started",  # read-only: not sent
    )
    assert (
        client.create_task(task, create_mode="or_replace") == "Task NIGHTLY successfully created."
    )
    (request,) = api.requests
    assert request.method == "POST" and request.url.path == P
    assert _query(request) == {"createMode": "orReplace"}
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert body["name"] == "NIGHTLY"
    assert body["schedule"] == {"schedule_type": "MINUTES_TYPE", "minutes": 60}
    assert "state" not in body and "created_on" not in body


def test_create_task_refuses_bad_mode_and_bad_name_before_sending(api) -> None:
    client = api.client(lambda r: ok())
    with pytest.raises(ValueError, match="create_mode must be"):
        client.create_task(Task("T", "select 1"), create_mode="replace")
    with pytest.raises(InvalidIdentifier, match="quote it"):
        client.create_task(Task("my-task", "select 1"))
    with pytest.raises(ValueError, match="needs a definition"):
        client.create_task({"name": "T"})
    assert api.requests == []


def test_fetch_task_percent_encodes_special_names(api) -> None:
    client = api.client(lambda r: reply(200, task_body('"My Task"')))
    task = client.fetch_task('"My Task"')
    client.fetch_task("dag$child")
    client.fetch_task('"naïve.name"')
    paths = [r.url.raw_path.decode() for r in api.requests]
    assert paths == [
        f"{P}/%22My%20Task%22",
        f"{P}/DAG%24CHILD",
        f"{P}/%22na%C3%AFve.name%22",
    ]
    assert task.name == '"My Task"'


def test_create_or_alter_task_is_a_put_of_the_full_body(api) -> None:
    client = api.client(lambda r: ok())
    client.create_or_alter_task(Task("t1", "select 2", comment="c"))
    (request,) = api.requests
    assert request.method == "PUT" and request.url.path == f"{P}/T1"
    assert json.loads(request.content) == {
        "name": "T1",
        "definition": "select 2",
        "comment": "c",
        "predecessors": [],
    }


def test_delete_task_if_exists(api) -> None:
    client = api.client(lambda r: ok())
    client.delete_task("t1", if_exists=True)
    (request,) = api.requests
    assert request.method == "DELETE" and request.url.path == f"{P}/T1"
    assert _query(request) == {"ifExists": "true"}


def test_execute_resume_suspend_use_unencoded_verbs(api) -> None:
    client = api.client(lambda r: ok())
    client.execute_task("t$a", retry_last=False)
    client.resume_task("t$a")
    client.suspend_task("t$a")
    raw = [r.url.raw_path.decode() for r in api.requests]
    assert raw == [f"{P}/T%24A:execute?retryLast=false", f"{P}/T%24A:resume", f"{P}/T%24A:suspend"]
    assert all("content-type" not in r.headers for r in api.requests)


def test_execute_task_async_returns_a_waitable_handle(api) -> None:
    polls = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":execute"):
            assert _query(request) == {"asyncExec": "true"}
            return reply(
                202,
                {
                    "code": "392604",
                    "message": "Request execution in progress.",
                    "resultHandler": "h-1",
                },
                headers={"Location": "/api/v2/results/h-1"},
            )
        polls.append(request.url.path)
        if len(polls) < 2:
            return reply(
                202,
                {"code": "392604", "message": "in progress"},
                headers={"Location": "/api/v2/results/h-1"},
            )
        return ok("Task executed.")

    client = api.client(handler)
    handle = client.execute_task("root", async_exec=True)
    assert handle.handle == "h-1" and polls == []
    assert handle.done() is False
    assert handle.wait() == "Task executed."
    assert handle.result == "Task executed."
    assert polls == ["/api/v2/results/h-1", "/api/v2/results/h-1"]
    assert sum(1 for r in api.requests if r.method == "POST") == 1


def test_fetch_task_dependents(api) -> None:
    client = api.client(lambda r: reply(200, [task_body("ROOT"), task_body("CHILD")]))
    deps = client.fetch_task_dependents("root", recursive=False)
    (request,) = api.requests
    assert request.url.path == f"{P}/ROOT/dependents"
    assert _query(request) == {"recursive": "false"}
    assert [t.name for t in deps] == ["ROOT", "CHILD"]


def test_graph_runs_current_and_complete(api) -> None:
    runs = [
        run_body(
            state="FAILED",
            first_error_task_name="CHILD",
            first_error_code=100038,
            first_error_message="Numeric value 'x' is not recognized",
            attempt_number=1,
        ),
    ]
    client = api.client(lambda r: reply(200, runs))
    current = client.get_current_graphs("root", result_limit=5)
    complete = client.get_complete_graphs("root", result_limit=10, error_only=True)
    assert [r.url.path for r in api.requests] == [
        f"{P}/ROOT/current-graphs",
        f"{P}/ROOT/complete-graphs",
    ]
    assert _query(api.requests[0]) == {"resultLimit": "5"}
    assert _query(api.requests[1]) == {"resultLimit": "10", "errorOnly": "true"}
    run = complete[0]
    assert run.failed and run.first_error_code == 100038
    assert run.duration.total_seconds() == 8
    assert run.extra == {"attempt_number": 1}
    assert current[0].scheduled_time.tzinfo is not None


def test_result_limit_is_checked_before_sending(api) -> None:
    client = api.client(lambda r: reply(200, []))
    with pytest.raises(ValueError, match="result_limit must be an integer from 1 to 10000"):
        client.get_complete_graphs("root", result_limit=0)
    with pytest.raises(ValueError, match="show_limit"):
        client.list_tasks(show_limit=10_001)
    assert api.requests == []


def test_deprecated_graph_paths_on_request(api) -> None:
    client = api.client(lambda r: reply(200, [run_body()]), deprecated_graph_paths=True)
    client.get_current_graphs("root")
    client.get_complete_graphs("root")
    assert [r.url.path for r in api.requests] == [
        f"{P}/ROOT/current_graphs",
        f"{P}/ROOT/complete_graphs",
    ]


def test_deprecated_graph_paths_fallback_on_unknown_route(api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "-graphs" in request.url.path:
            return httpx.Response(404)  # an older deployment: no such route, empty body
        return reply(200, [run_body()])

    client = api.client(handler, allow_empty_error_bodies=True)
    assert len(client.get_complete_graphs("root")) == 1
    assert len(client.get_current_graphs("root")) == 1
    assert [r.url.path for r in api.requests] == [
        f"{P}/ROOT/complete-graphs",
        f"{P}/ROOT/complete_graphs",
        f"{P}/ROOT/current_graphs",  # remembered
    ]


def test_tags_get_set_unset(api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return reply(
                200,
                [
                    {
                        "tag_database": "GOV",
                        "tag_schema": "TAGS",
                        "tag_name": "COST",
                        "tag_value": "fin",
                        "level": "TASK",
                    }
                ],
            )
        return ok()

    client = api.client(handler)
    tags = client.get_tags("t1", with_lineage=True)
    assert tags == [Tag("GOV", "TAGS", "COST", "fin", level="TASK")]
    client.set_tags("t1", [Tag("gov", "tags", "cost", "ops")], if_exists=False)
    client.unset_tags("t1", [{"tag_database": "GOV", "tag_schema": "TAGS", "tag_name": "COST"}])
    get, set_, unset = api.requests
    assert get.url.raw_path.decode() == f"{P}/T1:get-tags?withLineage=true"
    assert set_.url.raw_path.decode() == f"{P}/T1:set-tags?ifExists=false"
    assert json.loads(set_.content) == [
        {"tag_database": "GOV", "tag_schema": "TAGS", "tag_name": "COST", "tag_value": "ops"}
    ]
    assert json.loads(unset.content) == [
        {"tag_database": "GOV", "tag_schema": "TAGS", "tag_name": "COST"}
    ]
    with pytest.raises(ValueError, match="needs a value"):
        client.set_tags("t1", [Tag("GOV", "TAGS", "COST")])


def test_missing_database_is_a_clear_error_before_sending() -> None:
    client = TaskClient(BASE_URL, auth=None, transport=httpx.MockTransport(lambda r: ok()))
    with pytest.raises(TasknbError, match="no database given"):
        client.list_tasks()
    with pytest.raises(TasknbError, match="base_url must look like"):
        TaskClient("myorg.snowflakecomputing.com", auth=None)


def test_role_and_warehouse_headers(api) -> None:
    client = api.client(lambda r: reply(200, []), role="ANALYST", warehouse="WH_XS")
    client.list_tasks()
    assert api.requests[0].headers["X-Snowflake-Role"] == "ANALYST"
    assert api.requests[0].headers["X-Snowflake-Warehouse"] == "WH_XS"
    assert api.requests[0].headers["User-Agent"].startswith("tasknb/")
