"""``tasks_df`` from the API's rows (#13): the same frame as from models, built column-wise.

``TaskClient.list_task_rows`` returns a listing's JSON objects unconverted, and ``tasks_df``
converts them a column at a time (``tasks_rows_frame``) instead of making a ``Task`` per
row. Every test here holds the row-built frame against ``tasks_frame`` of the models
``Task.from_api`` makes of the same rows: columns, dtypes and values identical.

The fields and their JSON types are those of Snowflake's Task resource, "List tasks":
https://docs.snowflake.com/en/developer-guide/snowflake-rest-api/reference/task
("GET /api/v2/databases/{database}/schemas/{schema}/tasks ... Lists tasks under the
database and schema"; ``created_on``, ``last_committed_on`` and ``last_suspended_on`` are
``string <date-time>``, ``schedule`` a ``TaskSchedule`` of ``schedule_type``
MINUTES_TYPE or CRON_TYPE).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest

from tasknb import CronSchedule, MinutesSchedule, Task, TaskClient
from tasknb.errors import InvalidResponse
from tasknb.frames import TASKS_COLUMNS, tasks_df, tasks_frame
from tasknb.frames._tasks import tasks_rows_frame
from tasknb.testing import local_client, local_server

START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)

ODD_ROWS: list[dict[str, Any]] = [
    {
        "name": "ROOT",
        "definition": "select 1",
        "state": "STARTED",  # an odd server's case still lands in the category
        "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 5, "seconds": 30},
        "target_completion_interval": {"minutes": 7},
        "created_on": "2024-06-18T01:01:01Z",
        "last_committed_on": 1718672461000,  # epoch milliseconds
        "last_suspended_on": "2024-06-18T01:01:01",  # naive: UTC
        "task_relations": '{"Predecessors":[],"FinalizerTask":"DB.S.CLEANUP"}',
        "config": {"env": "prod"},
        "task_auto_retry_attempts": 2,
        "allow_overlapping_execution": True,
        "surprise": [1],
    },
    {
        "name": "CHILD",
        "definition": "select 2",
        "predecessors": ["ROOT"],
        "created_on": "2024-06-18T03:01:01.123456+02:00",
        "last_committed_on": "1718672461",  # epoch seconds as text
        "state": "suspended",
        "warehouse": None,
    },
    {
        "name": "CLEANUP",
        "definition": "select 3",
        "finalize": "ROOT",
        "predecessors": None,
        "schedule": {"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *", "timezone": "UTC"},
        "created_on": "",
    },
    {"name": "BARE", "definition": "select 4"},
]


def _by_models(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return tasks_frame([Task.from_api(row) for row in rows])


def _assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(TASKS_COLUMNS)
    assert got.dtypes.equals(expected.dtypes)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_rows_frame_reads_odd_values_as_the_models_do() -> None:
    """Times as ISO text with Z, an offset or none, epoch ms and seconds; both schedule types;
    a finalizer; null predecessors; unknown fields; missing fields."""
    got = tasks_rows_frame(copy.deepcopy(ODD_ROWS))
    _assert_same_frame(got, _by_models(ODD_ROWS))
    row = got.set_index("name")
    assert row.loc["ROOT", "created_on"] == pd.Timestamp("2024-06-18 01:01:01", tz="UTC")
    assert row.loc["CHILD", "created_on"] == pd.Timestamp("2024-06-18 01:01:01.123456", tz="UTC")
    assert row.loc["ROOT", "last_committed_on"] == row.loc["CHILD", "last_committed_on"]
    assert str(got["created_on"].dtype) == "datetime64[us, UTC]"
    assert pd.isna(row.loc["CLEANUP", "created_on"]) and pd.isna(row.loc["BARE", "created_on"])
    assert row.loc["ROOT", "schedule"] == "5 MINUTE 30 SECONDS"
    assert row.loc["CLEANUP", "schedule"] == "USING CRON 0 2 * * * UTC"
    assert row.loc["ROOT", "target_completion_interval"] == "7 MINUTE"
    assert row["role"].tolist() == ["root", "child", "finalizer", "root"]
    assert row.loc["ROOT", "finalizer_task"] == "DB.S.CLEANUP"
    assert row.loc["CLEANUP", "predecessors"] == []
    assert row.loc["ROOT", "state"] == "started"
    assert row["task_auto_retry_attempts"].isna().tolist() == [False, True, True, True]


def test_digits_are_epoch_seconds_even_where_they_would_read_as_an_iso_date() -> None:
    """``parse_timestamp`` reads digits as epoch seconds; pandas would read "20240618" as a
    date, so a column of digit texts is never handed to its ISO-8601 parser."""
    rows = [{"name": "A", "definition": "x", "last_committed_on": "20240618"}]
    got = tasks_rows_frame(copy.deepcopy(rows))
    _assert_same_frame(got, _by_models(rows))
    assert got["last_committed_on"].iloc[0] == pd.Timestamp(20240618, unit="s", tz="UTC")


@pytest.mark.parametrize("orders", [1, 3, 70])  # one order, a few, more than are grouped
def test_rows_in_any_key_orders_make_the_same_frame(orders: int) -> None:
    """JSON objects are unordered ("An object is an unordered set of name/value pairs",
    RFC 8259 via the REST API's application/json): the frame cannot depend on key order."""
    base = copy.deepcopy(ODD_ROWS[0])
    rows = []
    for i in range(140):
        row = dict(base, name=f"T{i:03d}", comment=None if i % 4 else f"c{i}")
        if i % 2:
            row.pop("schedule")
            row["predecessors"] = [f"T{i - 1:03d}"]
        keys = list(row)
        random.Random(i % orders).shuffle(keys)  # ``orders`` distinct orders of each shape
        rows.append({k: row[k] for k in keys})
    assert len({tuple(row) for row in rows}) == {1: 2, 3: 6, 70: 70}[orders]  # 70: past 64
    got = tasks_rows_frame(copy.deepcopy(rows))
    _assert_same_frame(got, _by_models(rows))
    assert got["predecessors"].tolist()[:2] == [[], ["T000"]]
    assert got["comment"].isna().sum() == 105


def test_paused_gc_is_shared_by_nested_and_concurrent_listings() -> None:
    import gc
    import threading

    from tasknb._gc import paused_gc

    inside: list[bool] = []
    release = threading.Event()

    def listing() -> None:
        with paused_gc():
            inside.append(gc.isenabled())
            release.wait(5)

    assert gc.isenabled()
    worker = threading.Thread(target=listing)
    with paused_gc():
        worker.start()
        with paused_gc():
            inside.append(gc.isenabled())
        while len(inside) < 2:
            threading.Event().wait(0.01)
    assert not gc.isenabled()  # the worker's listing is still running
    release.set()
    worker.join(5)
    assert inside == [False, False] and gc.isenabled()


def test_rows_frame_of_no_rows_and_of_all_missing_columns_keeps_the_dtypes() -> None:
    empty, bare = tasks_rows_frame([]), tasks_rows_frame([{"name": "A", "definition": "x"}])
    full = _by_models(ODD_ROWS)
    assert empty.empty and empty.dtypes.equals(full.dtypes)
    assert bare.dtypes.equals(full.dtypes)
    _assert_same_frame(bare, tasks_frame([Task("A", "x")]))


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("created_on", "yesterday-ish", "yesterday-ish"),
        ("schedule", {"schedule_type": "HOURLY"}, "unknown schedule_type"),
    ],
)
def test_a_value_the_api_never_sends_is_a_clear_error_naming_the_task(
    field: str, value: Any, says: str
) -> None:
    class Listing:  # the rows of a server that answers something Task.from_api refuses
        def list_task_rows(self, **scope: Any) -> list[dict[str, Any]]:
            bad = {"name": "BROKEN", "definition": "x", "database_name": "DB",
                   "schema_name": "S", field: value}
            return [{"name": "FINE", "definition": "y"}, bad]

    with pytest.raises(ValueError, match=says):
        Task.from_api(Listing().list_task_rows()[1])
    with pytest.raises(InvalidResponse, match=f"task DB.S.BROKEN could not be read: .*{says}"):
        tasks_df(Listing())


# ------------------------------------------------------------------ over the local server


@pytest.fixture(scope="module")
def client() -> Iterator[TaskClient]:
    with local_server(clock="manual", start_time=START) as srv, \
            local_client(srv, database="ROWS_DB", schema="GRAPH") as c:
        srv.service.ensure_schema("ROWS_DB", "OTHER")
        c.create_task(Task("ROOT", "select 1", warehouse="WH", schedule=MinutesSchedule(10),
                           config={"env": "test"}, comment="the root",
                           task_auto_retry_attempts=1, user_task_timeout_ms=60_000))
        c.create_task(Task("LOAD", "select 2", predecessors=["ROOT"], condition="1 = 1"))
        c.create_task(Task("MERGE", "select 3", predecessors=["ROOT", "LOAD"]))
        c.create_task(Task("CLEANUP", "select 4", finalize="ROOT"))
        c.create_task(Task("ALONE", "select 5", schedule=CronSchedule("0 2 * * *", "UTC")))
        c.resume_task("ALONE")
        c.create_task(Task("ELSEWHERE", "select 6"), schema="OTHER")
        yield c


def test_list_task_rows_are_the_json_objects_list_tasks_reads(client: TaskClient) -> None:
    rows = client.list_task_rows()
    assert all(type(row) is dict for row in rows)
    assert [row["name"] for row in rows] == [t.name for t in client.list_tasks()]
    assert [Task.from_api(row) for row in rows] == client.list_tasks()
    created = next(row for row in rows if row["name"] == "ROOT")["created_on"]
    assert isinstance(created, str)  # unconverted: as the server sent it
    json.dumps(rows)  # nothing but JSON values
    assert [row["name"] for row in client.list_task_rows(starts_with="M")] == ["MERGE"]


def test_tasks_df_over_http_equals_the_frame_of_the_models(client: TaskClient) -> None:
    got = tasks_df(client)
    _assert_same_frame(got, tasks_frame(client.list_tasks()))
    row = got.set_index("name")
    assert row.loc["ROOT", "finalizer_task"] == "ROWS_DB.GRAPH.CLEANUP"
    assert row.loc["ALONE", "state"] == "started"
    assert row.loc["MERGE", "predecessors"] == ["ROOT", "LOAD"]
    assert row.loc["ROOT", "created_on"].tzinfo is not None
    assert got.attrs == {"errors": {}, "error_summary": ""}


def test_tasks_df_of_a_database_fills_in_each_schema(client: TaskClient) -> None:
    got = tasks_df(client, database="ROWS_DB", progress=False)
    models = [t for s in ("GRAPH", "OTHER") for t in client.list_tasks(schema=s)]
    _assert_same_frame(got, tasks_frame(models))
    assert got.set_index("name").loc["ELSEWHERE", "schema_name"] == "OTHER"
    assert set(got["database_name"]) == {"ROWS_DB"}
