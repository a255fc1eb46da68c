"""The whole account (#12): databases, schemas, and tasks_df over many schemas.

Real HTTP against the local server, every exchange validated against database.yaml,
schema.yaml and task.yaml. The one fault the local server cannot make (a role without
privileges on one schema) is a 403 shaped like Snowflake's, injected for that path only.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest
from spec_validation import SpecValidatingTransport

from tasknb import Task, TaskClient
from tasknb.frames import TASKS_COLUMNS, runs_df, tasks_df
from tasknb.models import Database, Schema
from tasknb.runs import execute_and_wait
from tasknb.testing import local_client, local_server

START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
LAYOUT = {"SALES": ["RAW", "MARTS"], "OPS": ["JOBS"], "EMPTY_DB": []}


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    with local_server(clock="manual", start_time=START) as srv:
        for database, schemas in LAYOUT.items():
            srv.service.ensure_schema(database, "PUBLIC")
            for schema in schemas:
                srv.service.ensure_schema(database, schema)
        with local_client(srv) as setup:
            for database, schemas in LAYOUT.items():
                for schema in schemas:
                    setup.create_task(Task(f"{schema}_ROOT", "SELECT 1"), database=database,
                                      schema=schema)
                    setup.create_task(Task(f"{schema}_CHILD", "SELECT 1",
                                           predecessors=[f"{schema}_ROOT"]),
                                      database=database, schema=schema)
        yield srv


@pytest.fixture
def client(server, validating) -> Iterator[TaskClient]:
    c = local_client(server, transport=validating)
    yield c
    c.close()


def test_list_databases_and_schemas(client, validating) -> None:
    databases = client.list_databases()
    assert all(isinstance(d, Database) for d in databases)
    assert set(LAYOUT) <= {d.name for d in databases}
    assert [d.name for d in client.list_databases(like="s%")] == ["SALES"]
    schemas = client.list_schemas("sales")
    assert all(isinstance(s, Schema) for s in schemas)
    assert {"RAW", "MARTS", "PUBLIC"} <= {s.name for s in schemas}
    assert all(s.database_name == "SALES" for s in schemas)
    assert [s.name for s in client.list_schemas("SALES", starts_with="MA")] == ["MARTS"]
    operations = {op for _, op, _ in validating.exchanges}
    assert {"listDatabases", "listSchemas"} <= operations


def test_list_schemas_needs_a_database(server) -> None:
    from tasknb import NotFound, TasknbError

    with local_client(server) as bare:
        with pytest.raises(TasknbError, match="no database given"):
            bare.list_schemas()
        with pytest.raises(NotFound):
            bare.list_schemas("NO_SUCH_DB")


def test_tasks_df_of_a_database_covers_every_schema(client) -> None:
    frame = tasks_df(client, database="SALES", progress=False)
    assert list(frame.columns) == list(TASKS_COLUMNS)
    assert sorted(zip(frame.schema_name, frame.name)) == [
        ("MARTS", "MARTS_CHILD"), ("MARTS", "MARTS_ROOT"), ("RAW", "RAW_CHILD"),
        ("RAW", "RAW_ROOT")]
    assert set(frame.database_name) == {"SALES"}
    assert frame.attrs["errors"] == {} and frame.attrs["error_summary"] == ""
    roots = tasks_df(client, database="SALES", root_only=True, progress=False)
    assert sorted(roots.name) == ["MARTS_ROOT", "RAW_ROOT"]
    one = tasks_df(client, database="SALES", schema="RAW")
    assert sorted(one.name) == ["RAW_CHILD", "RAW_ROOT"] and set(one.schema_name) == {"RAW"}


def test_tasks_df_of_the_account_covers_every_database(client) -> None:
    frame = tasks_df(client, account=True, progress=False, max_workers=3)
    mine = frame[frame.database_name.isin(list(LAYOUT))]
    assert sorted(zip(mine.database_name, mine.schema_name, mine.name)) == sorted(
        (db, schema, f"{schema}_{kind}") for db, schemas in LAYOUT.items()
        for schema in schemas for kind in ("ROOT", "CHILD"))
    assert frame.database_name.notna().all() and frame.schema_name.notna().all()
    assert frame.attrs["errors"] == {}
    with pytest.raises(ValueError, match="leave out database="):
        tasks_df(client, account=True, database="SALES")


class _Forbidden(SpecValidatingTransport):
    """Real HTTP, except the task listing of one schema: Snowflake's 403 for a role without
    USAGE on it. Counts the requests in flight, to see the listings run concurrently."""

    def __init__(self, path: str) -> None:
        super().__init__(httpx.HTTPTransport())
        self.path = path
        self.lock = threading.Lock()
        self.in_flight = self.most = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            return httpx.Response(403, json={
                "code": "003001", "error_code": "003001", "request_id": str(uuid.uuid4()),
                "message": "SQL access control error:\nInsufficient privileges to operate on "
                           "schema 'MARTS'"}, request=request)
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            return super().handle_request(request)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_a_failing_schema_keeps_the_others_rows(server, capsys) -> None:
    transport = _Forbidden("/api/v2/databases/SALES/schemas/MARTS/tasks")
    with local_client(server, transport=transport) as c:
        frame = tasks_df(c, account=True, progress=True)
    assert set(frame[frame.database_name == "SALES"].schema_name) == {"RAW"}
    assert "OPS" in set(frame.database_name)
    assert list(frame.attrs["errors"]) == ["SALES.MARTS"]
    assert frame.attrs["errors"]["SALES.MARTS"].startswith("Forbidden: ")
    assert "Insufficient privileges" in frame.attrs["errors"]["SALES.MARTS"]
    assert frame.attrs["error_summary"].startswith("1 listing failed, their tasks are missing")
    assert "\n" not in frame.attrs["error_summary"]
    assert transport.most > 1  # listed concurrently
    assert "tasks" in capsys.readouterr().err  # the progress bar (tqdm writes to stderr)


def test_runs_df_takes_qualified_names_from_any_schema(client) -> None:
    for name in ("SALES.RAW.RAW_ROOT", "OPS.JOBS.JOBS_ROOT"):
        execute_and_wait(client, name, poll_interval=0.05, timeout=60)
    frame = runs_df(client, ["SALES.RAW.RAW_ROOT", "OPS.JOBS.JOBS_ROOT"], progress=False)
    complete = frame[frame.source == "complete"]
    assert sorted(zip(complete.database_name, complete.root_task_name)) == [
        ("OPS", "JOBS_ROOT"), ("SALES", "RAW_ROOT")]
    assert frame.attrs["errors"] == {}
    roots = tasks_df(client, account=True, root_only=True, progress=False)
    from_models = runs_df(client, [t for t in _tasks(client, roots)], progress=False,
                          include_current=False)
    assert {"RAW_ROOT", "JOBS_ROOT"} <= set(from_models.root_task_name)
    assert from_models.attrs["errors"] == {}


def _tasks(client: TaskClient, frame) -> list[Task]:
    """Task models of a frame's rows (as a notebook would pass them on)."""
    return [Task(row.name, "x", database_name=row.database_name, schema_name=row.schema_name)
            for row in frame.itertuples()]


def test_listing_bodies_are_read_as_models() -> None:
    body = json.loads('{"name": "D", "created_on": "2026-03-01T08:00:00Z", "budget": null}')
    database = Database.from_api(body)
    assert database.created_on == START and database.extra == {"budget": None}
    with pytest.raises(TypeError, match="lacks the required field 'name'"):
        Schema.from_api({"database_name": "D"})
