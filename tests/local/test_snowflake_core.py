"""Snowflake's own Python API (snowflake-core 1.14.0) drives the local server.

    pytest tests/local/test_snowflake_core.py -q

The connector logs in (``POST /session/v1/login-request`` with the server's token as the
password), then ``Root`` sends every Task call with ``Authorization: Snowflake Token="…"``, as
against a real account (task-semantics.md §12). Nothing here is mocked: a test passes only if
snowflake-core's strict response parsing accepts what the server sends (lowercase task state,
uppercase run state, integer run_id, string root_task_id, non-null next_scheduled_time, the
``seconds`` field of minute schedules, ``Link`` paging). Every call is answered at once (the
one asyncExec 202 is returned unpolled, as snowflake-core does): a polled 202 would make
snowflake-core sleep at least a second per poll. Covered: Task lifecycle, SHOW options, quoted
and $ names, execute, graph runs, retry, tags, the DAG API (deploy, run, dependents, drop),
databases and schemas.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import snowflake.connector
from snowflake.core import CreateMode, Root
from snowflake.core.exceptions import APIError, ConflictError, NotFoundError
from snowflake.core.tag import TagValue
from snowflake.core.task import Cron, Task
from snowflake.core.task.dagv1 import DAG, DAGOperation, DAGTask

import tasknb.local
from tasknb.local.server import LocalServer

DB, SC = "SFC_DB", "SFC"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

# Warnings raised inside the two third-party packages, nothing of ours: connector 5.2.0 warns
# when snowflake-core 1.14.0 reads `connection.rest` (which Root needs for host and port), and
# snowflake-core's own DAGOperation.drop still uses its deprecated FQN class.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:.*is retained only for backward compatibility:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'FQN' class is deprecated:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with tasknb.local.start(clock="manual", start_time=T0) as srv:
        srv.service.ensure_schema(DB, SC)
        yield srv


@pytest.fixture(scope="module", autouse=True)
def _no_proxy_environment() -> Iterator[None]:
    """snowflake-core honours HTTPS_PROXY even for http://127.0.0.1 and ignores NO_PROXY."""
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if "proxy" in key.lower():
                patch.delenv(key)
        yield


def _connect(server: LocalServer, password: str) -> Any:
    return snowflake.connector.connect(
        host="127.0.0.1", port=server.port, protocol="http", account="local", user="tester",
        password=password, database=DB, schema=SC, login_timeout=30,
        enable_server_session_keep_alive_auto_detection=False)


@pytest.fixture(scope="module")
def connection(server: LocalServer) -> Iterator[Any]:
    conn = _connect(server, server.token)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="module")
def schema(connection: Any) -> Any:
    return Root(connection).databases[DB].schemas[SC]


def test_login_with_a_wrong_token_is_refused(server: LocalServer) -> None:
    with pytest.raises(snowflake.connector.errors.DatabaseError, match="390100"):
        _connect(server, "not-the-token")


def test_task_lifecycle(server: LocalServer, schema: Any) -> None:
    tasks = schema.tasks
    created = tasks.create(Task(name="sfc_minutes", definition="select 1", comment="first",
                                schedule=timedelta(seconds=90)))
    task = created.fetch()
    assert task.name == "SFC_MINUTES"
    assert task.state == "suspended"
    assert task.schedule == timedelta(seconds=90)  # minutes 1 + seconds 30 (§12.3)
    assert task.comment == "first" and task.definition == "select 1"
    assert task.created_on is not None and task.database_name == DB

    tasks.create(Task(name="SFC_CRON", definition="select 2",
                      schedule=Cron("0 2 * * *", "America/Los_Angeles")))
    cron = tasks["SFC_CRON"].fetch().schedule
    assert cron == Cron("0 2 * * *", "America/Los_Angeles")

    with pytest.raises(ConflictError) as conflict:
        tasks.create(Task(name="SFC_MINUTES", definition="select 1"))
    assert conflict.value.status == 409
    tasks.create(Task(name="SFC_MINUTES", definition="select 99"),
                 mode=CreateMode.if_not_exists)
    assert tasks["SFC_MINUTES"].fetch().definition == "select 1"

    names = sorted(t.name for t in tasks.iter(like="SFC_%"))
    assert names == ["SFC_CRON", "SFC_MINUTES"]
    assert [t.name for t in tasks.iter(starts_with="SFC_C")] == ["SFC_CRON"]

    # create_or_alter replaces every property (comment dropped, schedule replaced)
    created.create_or_alter(Task(name="SFC_MINUTES", definition="select 3",
                                 schedule=timedelta(minutes=5)))
    altered = created.fetch()
    assert altered.definition == "select 3" and altered.comment is None
    assert altered.schedule == timedelta(minutes=5)
    assert altered.id == task.id and altered.created_on == task.created_on

    created.resume()
    assert created.fetch().state == "started"
    current = list(created.get_current_graphs())
    assert [r.state for r in current] == ["SCHEDULED"], current
    assert current[0].next_scheduled_time is not None
    assert current[0].scheduled_time == server.now() + timedelta(minutes=5)
    created.suspend()
    assert created.fetch().state == "suspended"
    assert list(created.get_current_graphs()) == []

    created.drop()
    with pytest.raises(NotFoundError) as missing:
        created.fetch()
    assert missing.value.status == 404
    assert "does not exist" in str(missing.value)
    created.drop(if_exists=True)  # no error


def test_execute_and_graph_runs(server: LocalServer, schema: Any) -> None:
    tasks = schema.tasks
    good = tasks.create(Task(name="SFC_GOOD", definition="select system$set_return_value('ok')"))
    bad = tasks.create(Task(name="SFC_BAD", definition="select 1/0"))
    good.execute()
    bad.execute()
    assert server.service.wait_idle(30)

    assert list(good.get_complete_graphs()) == []  # snowflake-core sends errorOnly=True
    [run] = list(good.get_complete_graphs(error_only=False))
    assert run.state == "SUCCEEDED" and run.root_task_name == "SFC_GOOD"
    assert isinstance(run.run_id, int) and isinstance(run.root_task_id, str)
    assert run.root_task_id == good.fetch().id
    assert run.completed_time is not None and run.next_scheduled_time is not None

    [failed] = list(bad.get_complete_graphs())
    assert failed.state == "FAILED"
    assert failed.first_error_task_name == "SFC_BAD"
    assert isinstance(failed.first_error_code, int) and failed.first_error_code == 100051
    assert "Division by zero" in failed.first_error_message

    bad.create_or_alter(Task(name="SFC_BAD", definition="select 1"))
    with pytest.raises(APIError) as refused:  # the graph changed: nothing suitable to retry
        bad.execute(retry_last=True)
    assert refused.value.status == 400
    assert "091457" in str(refused.value)


def test_execute_on_a_child_is_refused(schema: Any) -> None:
    tasks = schema.tasks
    tasks.create(Task(name="SFC_PARENT", definition="select 1"))
    child = tasks.create(Task(name="SFC_KID", definition="select 1", predecessors=["SFC_PARENT"]))
    with pytest.raises(APIError) as refused:
        child.execute()
    assert refused.value.status == 400
    assert "non-root" in str(refused.value)


def test_dag_deploy_run_dependents_drop(server: LocalServer, schema: Any) -> None:
    dag = DAG("SFC_DAG", schedule=timedelta(minutes=30), config={"batch": 7})
    with dag:
        extract = DAGTask("EXTRACT", definition="create or replace table sfc_raw as "
                                                "select range as x from range(10)")
        double = DAGTask("DOUBLE", definition="create or replace table sfc_double as "
                                              "select x * 2 as y from sfc_raw")
        count = DAGTask("COUNT", definition="select system$set_return_value("
                                            "(select count(*) from sfc_raw)::text)")
        DAGTask("CLEANUP", definition="select 'done'", is_finalizer=True)
        extract >> [double, count]
    operation = DAGOperation(schema)
    operation.deploy(dag)

    assert operation.iter_dags(like="SFC_DAG%") == ["SFC_DAG"]
    root = schema.tasks["SFC_DAG"].fetch()
    assert root.state == "started" and root.config == {"batch": 7}
    child = schema.tasks["SFC_DAG$DOUBLE"].fetch()
    assert child.predecessors == ["SFC_DAG$EXTRACT"] and child.state == "started"
    assert schema.tasks["SFC_DAG$CLEANUP"].fetch().finalize == "SFC_DAG"

    dependents = [t.name for t in schema.tasks["SFC_DAG"].fetch_task_dependents()]
    assert dependents[0] == "SFC_DAG"  # dagv1.drop relies on the root coming first
    assert set(dependents) == {"SFC_DAG", "SFC_DAG$EXTRACT", "SFC_DAG$DOUBLE",
                               "SFC_DAG$COUNT", "SFC_DAG$CLEANUP"}
    assert dependents.index("SFC_DAG$EXTRACT") < dependents.index("SFC_DAG$DOUBLE")
    direct = schema.tasks["SFC_DAG$EXTRACT"].fetch_task_dependents(recursive=False)
    assert sorted(t.name for t in direct) == ["SFC_DAG$COUNT", "SFC_DAG$DOUBLE",
                                              "SFC_DAG$EXTRACT"]

    current = operation.get_current_dag_runs(dag)
    assert [r.state for r in current] == ["SCHEDULED"], current

    operation.run(dag)
    assert server.service.wait_idle(30)
    [run] = operation.get_complete_dag_runs(dag, error_only=False)
    assert run.state == "SUCCEEDED" and run.dag_name == "SFC_DAG"
    assert operation.get_complete_dag_runs(dag) == []  # no failed run

    # the schedule really fires on the manual clock, and its runs parse too
    produced = server.advance("30 minutes")
    assert [r["root_task_name"] for r in produced] == ["SFC_DAG"]
    runs = operation.get_complete_dag_runs(dag, error_only=False)
    assert len(runs) == 2 and {r.state for r in runs} == {"SUCCEEDED"}

    operation.drop(dag, drop_finalizer=True)
    assert operation.iter_dags(like="SFC_DAG%") == []
    assert [t.name for t in schema.tasks.iter(like="SFC_DAG%")] == []


def test_dag_with_a_failing_task_reports_it(server: LocalServer, schema: Any) -> None:
    dag = DAG("SFC_FAILING")
    with dag:
        load = DAGTask("LOAD", definition="select * from sfc_no_such_table")
        DAGTask("AFTER", definition="select 1").add_predecessors(load)
    operation = DAGOperation(schema)
    operation.deploy(dag)
    operation.run(dag)
    assert server.service.wait_idle(30)
    [run] = operation.get_complete_dag_runs(dag)  # error_only by default
    assert run.state == "FAILED"
    assert run.first_error_task_name == "SFC_FAILING$LOAD"
    assert run.first_error_code == 2003 and "does not exist" in run.first_error_message

    # fix the data, not the graph, and retry the failed part: same run_id, now SUCCEEDED
    server.service.run_sql(DB, SC, "create table sfc_no_such_table as select 1 as x")
    operation.run(dag, retry_last=True)
    assert server.service.wait_idle(30)
    retried, first = operation.get_complete_dag_runs(dag, error_only=False)
    assert (first.state, retried.state) == ("FAILED", "SUCCEEDED")
    assert retried.run_id == first.run_id and retried.graph_version == first.graph_version
    with pytest.raises(APIError) as nothing_to_retry:
        operation.run(dag, retry_last=True)
    assert "091456" in str(nothing_to_retry.value)  # the last run had no failures
    operation.drop(dag, drop_finalizer=True)


def test_listing_pages_through_link_headers(server: LocalServer, schema: Any) -> None:
    """More tasks than one page: snowflake-core follows the Link header (§12.6)."""
    from tasknb.local.api.http import PAGE_SIZE

    server.service.ensure_schema(DB, "SFC_MANY")
    for n in range(PAGE_SIZE + 5):
        server.service.create_task(DB, "SFC_MANY", {"name": f"M{n:05d}", "definition": "select 1"})
    many = Root(schema.collection.root._connection).databases[DB].schemas["SFC_MANY"]
    names = [t.name for t in many.tasks.iter()]
    assert names == [f"M{n:05d}" for n in range(PAGE_SIZE + 5)]


def test_names_properties_and_listing_options(server: LocalServer, schema: Any) -> None:
    """Quoted and $ names travel percent-encoded (§12.2); properties round-trip strictly."""
    tasks = schema.tasks
    for name in ('"Np Quoted"', "NP$DOLLAR", "np_lower"):
        resource = tasks.create(Task(
            name=name, definition="select 1", config={"a": 1, "b": "x", "c": True},
            session_parameters={"TIMEZONE": "UTC"}, user_task_timeout_ms=1000,
            suspend_task_after_num_failures=3, task_auto_retry_attempts=2))
        task = resource.fetch()
        assert task.name == (name if name.startswith('"') else name.upper())
        assert task.config == {"a": 1, "b": "x", "c": True}
        assert task.session_parameters == {"TIMEZONE": "UTC"}
        assert (task.user_task_timeout_ms, task.suspend_task_after_num_failures,
                task.task_auto_retry_attempts) == (1000, 3, 2)
        resource.resume()
        resource.suspend()
        resource.execute()
        assert server.service.wait_idle(30)
        [run] = list(resource.get_complete_graphs(error_only=False))
        assert run.root_task_name == task.name and run.state == "SUCCEEDED"
        assert [t.name for t in resource.fetch_task_dependents()] == [task.name]
    # SHOW order is by name (bytes: $ < _ < lower case); like is case-insensitive; limit and
    # from_name (case-sensitive, inclusive) apply in that order
    assert [t.name for t in tasks.iter(like="np%")] == ["NP$DOLLAR", "NP_LOWER", '"Np Quoted"']
    assert [t.name for t in tasks.iter(like="np%", limit=2)] == ["NP$DOLLAR", "NP_LOWER"]
    assert [t.name for t in tasks.iter(like="np%", from_name="NP_L")] == \
        ["NP_LOWER", '"Np Quoted"']
    assert [t.name for t in tasks.iter(starts_with="NP", root_only=True, limit=1)] == \
        ["NP$DOLLAR"]


def test_tags(schema: Any) -> None:
    tasks = schema.tasks
    resource = tasks.create(Task(name="SFC_TAGGED", definition="select 1"))
    cost, owner = schema.tags["COST_CENTER"], schema.tags["OWNER"]
    resource.set_tags({cost: TagValue("42"), owner: TagValue("data-eng")})
    got = {tag.name: value.value for tag, value in resource.get_tags().items()}
    assert got == {"COST_CENTER": "42", "OWNER": "data-eng"}
    resource.unset_tags({owner})
    assert {tag.name for tag in resource.get_tags()} == {"COST_CENTER"}
    with pytest.raises(NotFoundError):
        tasks["SFC_NO_SUCH"].set_tags({cost: TagValue("1")})
    tasks["SFC_NO_SUCH"].set_tags({cost: TagValue("1")}, if_exists=True)


def test_databases_and_schemas_collections(connection: Any) -> None:
    root = Root(connection)
    assert DB in [d.name for d in root.databases.iter()]
    assert {"PUBLIC", SC} <= {s.name for s in root.databases[DB].schemas.iter()}
    with pytest.raises(NotFoundError):
        root.databases["SFC_NO_SUCH_DB"].fetch()


def test_private_api_async_execute_and_deprecated_paths(server: LocalServer, schema: Any) -> None:
    """What only the generated API sends (§12.2): asyncExec=True (the 202 comes back as-is, no
    polling), resultLimit, and the deprecated current_graphs/complete_graphs spellings."""
    tasks = schema.tasks
    tasks.create(Task(name="SFC_ASYNC", definition="select 1"))
    accepted = tasks._api.execute_task(DB, SC, "SFC_ASYNC", async_exec=True, retry_last=False)
    assert accepted.code == "392604" and accepted.result_handler
    assert server.service.wait_idle(30)
    assert tasks._api.execute_task(DB, SC, "SFC_ASYNC", retry_last=False).status
    assert server.service.wait_idle(30)
    complete = tasks._api.get_complete_graphs_deprecated(DB, SC, "SFC_ASYNC", result_limit=1,
                                                         error_only=False)
    assert len(complete) == 1 and complete[0].state == "SUCCEEDED"
    both = tasks._api.get_complete_graphs(DB, SC, "SFC_ASYNC", result_limit=5, error_only=False)
    assert len(both) == 2 and both[0].run_id > both[1].run_id  # newest first
    assert tasks._api.get_current_graphs_deprecated(DB, SC, "SFC_ASYNC", result_limit=5) == []
