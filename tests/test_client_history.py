"""``TaskClient.task_history`` over real HTTP against the local server, spec-validated.

The statements go through the SQL API (sqlapi.yaml checked by the validating transport);
the answers come from the server's own run records, shaped as Snowflake's TASK_HISTORY.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from client_support import fresh_schema
from spec_validation import SpecValidatingTransport

from tasknb import SqlError, Task, TaskClient, TasknbError
from tasknb.models import TaskHistoryRow
from tasknb.runs import execute_and_wait
from tasknb.testing import local_client


class Recording(SpecValidatingTransport):
    """Spec-validating real HTTP that also keeps the statements it sends."""

    def __init__(self) -> None:
        super().__init__(httpx.HTTPTransport())
        self.statements: list[dict] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/v2/statements"):
            self.statements.append(json.loads(request.read()))
        return super().handle_request(request)


@pytest.fixture
def transport() -> Iterator[Recording]:
    recording = Recording()
    yield recording
    recording.assert_clean()


@pytest.fixture
def client(server, transport) -> Iterator[TaskClient]:
    c = local_client(server, database="hist", schema=fresh_schema(), transport=transport)
    yield c
    c.close()


def _graph(client: TaskClient) -> None:
    """ROOT -> LOAD_A (missing table), LOAD_B (missing table), SKIPPED_ONE (WHEN false);
    LOAD_A -> AFTER_A (never runs)."""
    client.create_task(Task("ROOT", "SELECT 1"))
    client.create_task(Task("LOAD_A", "SELECT * FROM missing_a", predecessors=["ROOT"]))
    client.create_task(Task("LOAD_B", "SELECT * FROM missing_b", predecessors=["ROOT"]))
    client.create_task(Task("SKIPPED_ONE", "SELECT 1", predecessors=["ROOT"],
                            condition="1 = 2"))
    client.create_task(Task("AFTER_A", "SELECT 1", predecessors=["LOAD_A"]))
    for name in ("LOAD_A", "LOAD_B", "SKIPPED_ONE", "AFTER_A"):
        client.resume_task(name)


def _run(client: TaskClient, **kwargs) -> object:
    return execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60, **kwargs)


def test_one_row_per_task_of_a_graph_run(client, transport) -> None:
    _graph(client)
    run = _run(client)
    assert run.state == "FAILED"
    rows = client.task_history("ROOT")
    assert all(isinstance(r, TaskHistoryRow) for r in rows)
    states = {r.name: r.state for r in rows}
    assert states == {"ROOT": "SUCCEEDED", "LOAD_A": "FAILED", "LOAD_B": "FAILED",
                      "SKIPPED_ONE": "SKIPPED"}  # AFTER_A never ran: no row
    assert rows[0].name == "ROOT"  # due first
    failed = [r for r in rows if r.failed]
    assert {r.error_code for r in failed} == {"002003"}
    assert {("MISSING_A" in r.error_message, "MISSING_B" in r.error_message)
            for r in failed} == {(True, False), (False, True)}
    assert all(r.run_id == run.run_id and r.attempt_number == 1 for r in rows)
    assert all(r.root_task_id == run.root_task_id for r in rows)
    root = rows[0]
    assert root.query_id and root.query_text == "SELECT 1"
    assert root.scheduled_time.tzinfo is not None
    assert root.duration_s == (root.completed_time - root.query_start_time).total_seconds()
    assert root.duration_s >= 0
    assert root.database_name == "HIST" and root.schema_name == client.schema
    assert next(r for r in rows if r.name == "SKIPPED_ONE").condition_text == "1 = 2"
    assert root.graph_run_group_id and root.graph_version == 1
    # one statement: names and ids travel as bindings, never in the text
    [body] = transport.statements
    assert "ROOT_TASK_ID => ?" in body["statement"]
    assert run.root_task_id not in body["statement"]
    assert run.root_task_id in [b["value"] for b in body["bindings"].values()]
    assert "SubmitStatement" in {op for _, op, _ in transport.exchanges}


def test_run_and_error_only_filters(client, server) -> None:
    _graph(client)
    first = _run(client)
    server.advance("1 hour")
    client.suspend_task("LOAD_B")
    second = _run(client)
    assert first.run_id != second.run_id
    rows = client.task_history("ROOT", run=first)
    assert {r.run_id for r in rows} == {first.run_id} and len(rows) == 4
    by_id = client.task_history("ROOT", run=second.run_id)
    assert {r.name for r in by_id} == {"ROOT", "LOAD_A", "SKIPPED_ONE"}  # LOAD_B suspended
    everything = client.task_history("ROOT")
    assert [r.run_id for r in everything] == sorted(r.run_id for r in everything)
    assert len(everything) == 7
    errors = client.task_history("ROOT", error_only=True)
    assert {(r.name, r.run_id) for r in errors} == {
        ("LOAD_A", first.run_id), ("LOAD_B", first.run_id), ("LOAD_A", second.run_id)}
    limited = client.task_history("ROOT", result_limit=2)
    assert len(limited) == 2 and {r.run_id for r in limited} == {second.run_id}  # newest


def test_since_reads_the_servers_clock_and_account_usage_beyond_seven_days(
        client, server, transport) -> None:
    _graph(client)
    old = _run(client)
    server.advance("3 hours")
    new = _run(client)
    recent = client.task_history("ROOT", since="1 hour")
    assert {r.run_id for r in recent} == {new.run_id}
    assert {r.run_id for r in client.task_history("ROOT", since="1 day")} == {
        old.run_id, new.run_id}
    server.advance("8 days")
    assert client.task_history("ROOT") == []  # the table function keeps 7 days
    assert client.task_history("ROOT", since="7 days") == []
    year = client.task_history("ROOT", since="30 days")
    assert {r.run_id for r in year} == {old.run_id, new.run_id} and len(year) == 8
    assert all(r.next_scheduled_time is None for r in year)  # the view has none
    assert {r.error_code for r in year if r.failed} == {"002003"}
    assert "SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY" in transport.statements[-1]["statement"]
    only_old = client.task_history("ROOT", since="30 days", run=old.run_id, error_only=True)
    assert {(r.name, r.run_id) for r in only_old} == {("LOAD_A", old.run_id),
                                                      ("LOAD_B", old.run_id)}


def test_retries_keep_the_run_id_with_a_new_attempt(client) -> None:
    _graph(client)
    first = _run(client)
    client.sql("CREATE TABLE missing_b (x INT)")  # LOAD_B can succeed now
    retry = _run(client, retry_last=True)
    rows = client.task_history("ROOT", run=first.run_id)
    attempts = {(r.name, r.attempt_number): r.state for r in rows}
    assert attempts[("LOAD_B", 1)] == "FAILED" and attempts[("LOAD_B", 2)] == "SUCCEEDED"
    assert attempts[("LOAD_A", 2)] == "FAILED" and ("ROOT", 2) not in attempts
    assert {r.run_id for r in rows} == {first.run_id} and retry.state == "FAILED"
    assert [r.attempt_number for r in rows] == sorted(r.attempt_number for r in rows)


def test_a_child_a_schema_or_a_whole_database(server, client) -> None:
    _graph(client)
    _run(client)
    child = client.task_history("LOAD_A")
    assert [(r.name, r.state) for r in child] == [("LOAD_A", "FAILED")]
    qualified = client.task_history(f"HIST.{client.schema}.ROOT")
    assert len(qualified) == 4
    with local_client(server, database="hist", schema=fresh_schema()) as other:
        other.create_task(Task("ROOT", "SELECT 1"))
        _run(other)
        mine = client.task_history(schema=client.schema)
        assert {r.schema_name for r in mine} == {client.schema} and len(mine) == 4
        both = client.task_history(database="HIST")
        assert {client.schema, other.schema} <= {r.schema_name for r in both}
        assert len(other.task_history("ROOT")) == 1


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"run": "last"}, TypeError, "run must be a run id"),
    ({"since": "soon"}, ValueError, "cannot read 'soon' as a duration"),
    ({"since": "2 fortnights"}, ValueError, "unknown time unit"),
    ({"result_limit": 0}, ValueError, "result_limit must be an integer from 1 to 10000"),
    ({"result_limit": 20_000}, ValueError, "result_limit must be"),
    ({"error_only": "yes"}, TypeError, "error_only must be True or False"),
    ({"database": "no such db"}, TasknbError, "invalid database name"),
])
def test_bad_arguments_are_refused_before_sending(client, transport, kwargs, error,
                                                  fragment) -> None:
    with pytest.raises(error, match=fragment):
        client.task_history(**kwargs)
    assert transport.statements == []


def test_no_database_says_what_to_pass(server) -> None:
    with local_client(server) as bare, pytest.raises(TasknbError, match="pass database="):
        bare.task_history()


def test_unknown_root_is_task_not_found(client) -> None:
    from tasknb import NotFound

    with pytest.raises(NotFound):
        client.task_history("NO_SUCH_ROOT")


def test_without_a_warehouse_on_snowflake_the_error_names_the_setting() -> None:
    """Snowflake's 422 for a session without a warehouse (a fault the local server, which
    needs none, cannot make)."""
    from tasknb import PatAuth

    sent: list[dict] = []
    handle = str(uuid.uuid4())

    def snowflake(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(422, json={
            "code": "000606", "sqlState": "57P03", "statementHandle": handle,
            "message": "No active warehouse selected in the current session.  Select an "
                       "active warehouse with the 'use warehouse' command.\n",
            "createdOn": 1767600000000,
            "statementStatusUrl": f"https://myorg-acct.snowflakecomputing.com/api/v2/"
                                  f"statements/{handle}"},
            headers={"X-Snowflake-Request-ID": str(uuid.uuid4())})

    transport = SpecValidatingTransport(httpx.MockTransport(snowflake))
    c = TaskClient("https://myorg-acct.snowflakecomputing.com",
                   auth=PatAuth("p" * 40), database="ANALYTICS", transport=transport)
    try:
        with pytest.raises(SqlError) as info:
            c.task_history(since=timedelta(hours=2))
    finally:
        c.close()
    transport.assert_clean()
    assert info.value.code == "000606" and "warehouse" in str(info.value)
    assert "\n" not in str(info.value)
    [body] = sent
    assert "TABLE(ANALYTICS.INFORMATION_SCHEMA.TASK_HISTORY(RESULT_LIMIT => ?))" in \
        body["statement"]
    assert [b["value"] for b in body["bindings"].values()] == ["10000", "-7200"]
