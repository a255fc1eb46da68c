"""``task_runs_df`` / ``task_runs_frame``: per-task runs as a typed frame.

Over real HTTP against the local server (spec-validated exchanges), and the pure builder on
models.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from client_support import fresh_schema

import tasknb
from tasknb import Task, TaskClient
from tasknb.frames import (
    TASK_RUN_STATE_CATEGORIES,
    TASK_RUNS_COLUMNS,
    task_runs_df,
    task_runs_frame,
)
from tasknb.models import TaskHistoryRow
from tasknb.runs import execute_and_wait
from tasknb.testing import local_client


@pytest.fixture
def client(server, validating) -> Iterator[TaskClient]:
    c = local_client(server, database="runsdb", schema=fresh_schema(), transport=validating)
    yield c
    c.close()


def _failing_graph(client: TaskClient) -> None:
    client.create_task(Task("ROOT", "SELECT 1"))
    client.create_task(Task("MISSING", "SELECT * FROM no_such_table", predecessors=["ROOT"]))
    client.create_task(Task("ALSO_MISSING", "SELECT * FROM nor_this", predecessors=["ROOT"]))
    client.create_task(Task("NEVER", "SELECT 1", predecessors=["ROOT"], condition="1 = 0"))
    for name in ("MISSING", "ALSO_MISSING", "NEVER"):
        client.resume_task(name)


def test_task_runs_df_is_typed_with_both_failures_of_one_run(client) -> None:
    _failing_graph(client)
    run = execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60)
    frame = task_runs_df(client, "ROOT")
    assert list(frame.columns) == list(TASK_RUNS_COLUMNS)
    assert [str(frame[c].dtype) for c in frame.columns] == [
        str(pd.Series([], dtype=d).dtype) if not isinstance(d, pd.CategoricalDtype) else "category"
        for d in TASK_RUNS_COLUMNS.values()]
    assert list(frame["state"].cat.categories) == TASK_RUN_STATE_CATEGORIES
    assert frame.attrs["source"] == "task_history"
    failed = frame[frame["state"] == "FAILED"].sort_values("name")
    assert failed["name"].tolist() == ["ALSO_MISSING", "MISSING"]
    assert failed["error_code"].tolist() == ["002003", "002003"]
    assert failed["error_message"].str.contains("NO_SUCH_TABLE").tolist() == [False, True]
    assert frame.loc[frame["name"] == "NEVER", "state"].tolist() == ["SKIPPED"]
    assert frame["run_id"].unique().tolist() == [run.run_id]
    assert frame["attempt_number"].tolist() == [1, 1, 1, 1]
    root = frame[frame["name"] == "ROOT"].iloc[0]
    assert root["duration_s"] == pytest.approx(root["duration"].total_seconds())
    assert root["duration_s"] == pytest.approx(
        (root["completed_time"] - root["query_start_time"]).total_seconds())
    assert root["query_id"] and frame["query_id"].notna().all()
    assert frame["scheduled_time"].dt.tz is not None


def test_filters_pass_through(client, server) -> None:
    _failing_graph(client)
    first = execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60)
    server.advance("2 hours")
    second = execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60)
    both = task_runs_df(client, "ROOT")
    assert sorted(set(both["run_id"])) == sorted({first.run_id, second.run_id})
    assert both["run_id"].is_monotonic_increasing
    one = task_runs_df(client, "ROOT", run=first)
    assert set(one["run_id"]) == {first.run_id} and len(one) == 4
    recent = task_runs_df(client, "ROOT", since="1 hour")
    assert set(recent["run_id"]) == {second.run_id}
    errors = task_runs_df(client, "ROOT", error_only=True)
    assert set(errors["state"]) == {"FAILED"} and len(errors) == 4
    older = task_runs_df(client, "ROOT", since=timedelta(days=30))
    assert older.attrs["source"] == "account_usage" and len(older) == 8
    assert list(older.columns) == list(TASK_RUNS_COLUMNS)
    by_task = task_runs_df(client, Task("ROOT", "x", database_name="RUNSDB",
                                        schema_name=client.schema))
    assert len(by_task) == 8


def test_empty_history_keeps_columns_and_dtypes(client) -> None:
    client.create_task(Task("IDLE", "SELECT 1"))
    frame = task_runs_df(client, "IDLE")
    assert frame.empty and list(frame.columns) == list(TASK_RUNS_COLUMNS)
    assert str(frame["run_id"].dtype) == "Int64" and frame["state"].dtype == "category"


def test_task_runs_frame_from_models() -> None:
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    rows = [
        TaskHistoryRow("A", state="SUCCEEDED", run_id=1, attempt_number=1,
                       query_start_time=at, completed_time=at + timedelta(seconds=1.5)),
        TaskHistoryRow("B", state="EXECUTING", run_id=1, query_start_time=at),
        TaskHistoryRow("C", state="SOMETHING_NEW", run_id=1),
        TaskHistoryRow("D", state="FAILED_AND_AUTO_SUSPENDED", error_code="100038", run_id=1),
    ]
    frame = task_runs_frame(rows)
    assert frame["duration_s"].tolist()[0] == 1.5 and pd.isna(frame["duration_s"][1])
    assert pd.isna(frame["duration"][1])
    assert pd.isna(frame["state"][2])  # unknown states are missing, never a wrong category
    assert frame["state"][3] == "FAILED_AND_AUTO_SUSPENDED"
    assert frame["error_code"][3] == "100038" and frame["error_code"].dtype == "string"


def test_exported_lazily() -> None:
    assert tasknb.task_runs_df is task_runs_df and tasknb.task_runs_frame is task_runs_frame
    assert "task_runs_df" in tasknb.__all__ and "TaskHistoryRow" in tasknb.__all__


# -- runs_df(since=...): longer graph-run history through SQL ---------------------------------


def test_runs_df_since_reads_complete_graphs_and_account_usage(client, server, validating) -> None:
    from tasknb.frames import RUN_SOURCE_CATEGORIES, RUNS_COLUMNS, runs_df

    _failing_graph(client)
    old = execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60)
    server.advance("3 days")
    new = execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60)
    rest = runs_df(client, "ROOT")
    assert rest["run_id"].tolist() == [new.run_id]  # REST: the last hour only
    assert set(rest["source"]) == {"complete"}
    before = len(validating.exchanges)
    week = runs_df(client, "ROOT", since="7 days")
    assert list(week.columns) == list(RUNS_COLUMNS)
    assert list(week["source"].cat.categories) == RUN_SOURCE_CATEGORIES
    assert week[["run_id", "source"]].values.tolist() == [
        [new.run_id, "complete_task_graphs"], [old.run_id, "account_usage"]]
    assert set(week["state"]) == {"FAILED"}
    assert week["first_error_code"].tolist() == [2003, 2003]
    assert week["completed_time"].is_monotonic_decreasing
    assert "SubmitStatement" in {op for _, op, _ in validating.exchanges[before:]}
    assert runs_df(client, "ROOT", since="1 day")["run_id"].tolist() == [new.run_id]
    assert runs_df(client, "ROOT", since="10 days", error_only=True)["run_id"].tolist() == [
        new.run_id, old.run_id]
    server.advance("2 hours")
    later = runs_df(client, "ROOT", since="7 days")
    assert set(later["source"]) == {"account_usage"}
    assert later["run_id"].tolist() == [new.run_id, old.run_id]


def test_runs_df_since_over_many_roots_keeps_the_others_rows(client) -> None:
    from tasknb.frames import runs_df

    _failing_graph(client)
    client.create_task(Task("SECOND_ROOT", "SELECT 1"))
    execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60)
    execute_and_wait(client, "SECOND_ROOT", poll_interval=0.05, timeout=60)
    frame = runs_df(client, ["ROOT", "SECOND_ROOT", "NO_SUCH_ROOT"], since="2 days",
                    progress=False)
    assert frame["root_task_name"].tolist() == ["ROOT", "SECOND_ROOT"]
    assert set(frame["source"]) == {"complete_task_graphs"}
    assert list(frame.attrs["errors"]) == ["NO_SUCH_ROOT"]
    assert "1 of 3 roots failed" in frame.attrs["error_summary"]


def test_runs_df_since_refuses_bad_windows(client) -> None:
    from tasknb.frames import runs_df

    client.create_task(Task("ROOT", "SELECT 1"))
    with pytest.raises(ValueError, match="cannot read 'lately' as a duration"):
        runs_df(client, "ROOT", since="lately")
    with pytest.raises(ValueError, match="cannot be negative"):
        runs_df(client, "ROOT", since=-5)
