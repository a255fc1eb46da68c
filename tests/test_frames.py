"""tasknb.frames: typed DataFrames from models, with a small in-memory client.

frames are pure functions of models, so a fake client holding models is enough here; the
real client against the local server is exercised by the client and widget tests.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from tasknb.frames import (
    DEPENDENTS_COLUMNS,
    RUNS_COLUMNS,
    TASKS_COLUMNS,
    dependents_df,
    dependents_frame,
    runs_df,
    runs_frame,
    tasks_df,
    tasks_frame,
)
from tasknb.models import CronSchedule, MinutesSchedule, Task, TaskRun

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


class Boom(Exception):
    """What the fake client raises for an unknown root (stands in for an API error)."""


class FakeClient:
    """Just the TaskClient method names frames uses, over lists of models."""

    def __init__(self, tasks=(), current=None, complete=None, delay=0.0, failing=()):
        self.tasks = list(tasks)
        self.current = current or {}
        self.complete = complete or {}
        self.delay = delay
        self.failing = set(failing)
        self.calls: list[tuple[str, tuple, dict]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def _enter(self, method, args, kwargs):
        with self._lock:
            self.calls.append((method, args, kwargs))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1

    def list_tasks(self, **kwargs):
        self._enter("list_tasks", (), kwargs)
        found = self.tasks
        if kwargs.get("root_only"):
            found = [t for t in found if not t.predecessors]
        if kwargs.get("starts_with"):
            found = [t for t in found if t.name.startswith(kwargs["starts_with"])]
        return list(found)

    def fetch_task_dependents(self, name, **kwargs):
        self._enter("fetch_task_dependents", (name,), kwargs)
        return list(self.tasks)

    def _runs(self, table, method, name, kwargs):
        self._enter(method, (name,), kwargs)
        if name in self.failing:
            raise Boom(f"task {name} does not exist or not authorized (request id r-{name})")
        return list(table.get(name, []))

    def get_current_graphs(self, name, **kwargs):
        return self._runs(self.current, "get_current_graphs", name, kwargs)

    def get_complete_graphs(self, name, **kwargs):
        return self._runs(self.complete, "get_complete_graphs", name, kwargs)


def _graph() -> list[Task]:
    return [
        Task(
            "ROOT",
            "select 1",
            warehouse="WH",
            schedule=MinutesSchedule(10),
            state="started",
            task_relations='{"Predecessors":[],"FinalizerTask":"DB.S.CLEANUP"}',
            created_on=T0,
            task_auto_retry_attempts=2,
            allow_overlapping_execution=False,
            database_name="DB",
            schema_name="S",
        ),
        Task("LOAD", "select 2", predecessors=["DB.S.ROOT"], state="suspended"),
        Task("MERGE", "select 3", predecessors=["ROOT", "LOAD"], condition="1 = 1"),
        Task("CLEANUP", "select 4", finalize="ROOT", state="started"),
        Task("ALONE", "select 5", schedule=CronSchedule("0 2 * * *", "UTC"), state="STARTED"),
    ]


def _run(root, state, *, start=T0, seconds=90, run_id=1, **extra) -> TaskRun:
    done = state not in {"SCHEDULED", "EXECUTING"}
    return TaskRun(
        root,
        state=state,
        scheduled_time=start,
        query_start_time=None if state == "SCHEDULED" else start,
        completed_time=start + timedelta(seconds=seconds) if done else None,
        next_scheduled_time=start + timedelta(minutes=10),
        run_id=run_id,
        graph_version=3,
        **extra,
    )


# ------------------------------------------------------------------------------ tasks


def test_tasks_frame_has_fixed_columns_and_typed_dtypes():
    frame = tasks_frame(_graph())

    assert list(frame.columns) == list(TASKS_COLUMNS)
    assert str(frame["created_on"].dtype) == "datetime64[us, UTC]"
    assert frame["created_on"].iloc[0] == pd.Timestamp("2026-03-01 02:00", tz="UTC")
    assert frame["task_auto_retry_attempts"].dtype == "Int64"
    assert frame["task_auto_retry_attempts"].iloc[0] == 2
    assert frame["task_auto_retry_attempts"].isna().sum() == 4
    assert frame["allow_overlapping_execution"].dtype == "boolean"
    assert list(frame["state"].cat.categories) == ["started", "suspended"]
    assert frame["name"].dtype == pd.StringDtype()


def test_tasks_frame_values_schedule_roles_predecessors_finalizer():
    frame = tasks_frame(_graph()).set_index("name")

    assert frame.loc["ROOT", "schedule"] == "10 MINUTE"
    assert frame.loc["ALONE", "schedule"] == "USING CRON 0 2 * * * UTC"
    assert pd.isna(frame.loc["LOAD", "schedule"])
    assert frame["role"].to_dict() == {
        "ROOT": "root",
        "LOAD": "child",
        "MERGE": "child",
        "CLEANUP": "finalizer",
        "ALONE": "root",
    }
    assert frame.loc["MERGE", "predecessors"] == ["ROOT", "LOAD"]
    assert frame.loc["ROOT", "predecessors"] == []
    assert frame.loc["ROOT", "finalizer_task"] == "DB.S.CLEANUP"
    assert pd.isna(frame.loc["LOAD", "finalizer_task"])
    # upper-case state from an odd server still lands in the category
    assert frame.loc["ALONE", "state"] == "started"


def test_tasks_frame_copies_predecessor_lists():
    tasks = _graph()
    frame = tasks_frame(tasks)
    frame.loc[2, "predecessors"].append("X")
    assert tasks[2].predecessors == ["ROOT", "LOAD"]


def test_empty_tasks_frame_keeps_columns_and_dtypes():
    empty = tasks_df(FakeClient([]))
    full = tasks_frame(_graph())

    assert empty.empty
    assert list(empty.columns) == list(full.columns)
    assert empty.dtypes.equals(full.dtypes)


def test_all_missing_columns_keep_their_dtype():
    frame = tasks_frame([Task("A", "select 1"), Task("B", "select 2")])
    assert frame.dtypes.equals(tasks_frame(_graph()).dtypes)
    assert frame["created_on"].isna().all()
    assert frame["state"].isna().all()


def test_tasks_frame_accepts_tasks_without_a_plain_dict():
    class Proxy:
        def __init__(self, task):
            self._task = task

        def __getattr__(self, name):
            return getattr(self._task, name)

    frame = tasks_frame([Proxy(t) for t in _graph()])
    assert frame["name"].tolist() == ["ROOT", "LOAD", "MERGE", "CLEANUP", "ALONE"]
    assert frame["role"].tolist()[3] == "finalizer"


def test_tasks_df_sends_only_the_filters_that_are_set():
    client = FakeClient(_graph())

    tasks_df(client)
    roots = tasks_df(client, like="R%", starts_with="RO", root_only=True, database="D", schema="S")

    assert client.calls[0] == ("list_tasks", (), {})
    assert client.calls[1][2] == {
        "like": "R%",
        "starts_with": "RO",
        "root_only": True,
        "database": "D",
        "schema": "S",
    }
    assert roots["name"].tolist() == ["ROOT"]


# ------------------------------------------------------------------------------ runs


def test_runs_frame_columns_duration_errors_and_source():
    failed = _run(
        "ROOT",
        "FAILED",
        seconds=75,
        first_error_task_name="MERGE",
        first_error_code=100038,
        first_error_message="Numeric value 'x' is not recognized",
    )
    frame = runs_frame([_run("ROOT", "EXECUTING", run_id=2), failed])

    assert list(frame.columns) == list(RUNS_COLUMNS)
    assert frame["source"].tolist() == ["current", "complete"]
    assert frame["state"].tolist() == ["EXECUTING", "FAILED"]
    assert list(frame["state"].cat.categories) == [
        "SCHEDULED",
        "EXECUTING",
        "SUCCEEDED",
        "FAILED",
        "CANCELLED",
        "SKIPPED",
    ]
    assert pd.isna(frame["duration"].iloc[0])
    assert frame["duration"].iloc[1] == pd.Timedelta(seconds=75)
    assert frame["duration_s"].iloc[1] == 75.0
    assert frame["first_error_code"].dtype == "Int64"
    assert frame["first_error_code"].iloc[1] == 100038
    assert frame["first_error_message"].iloc[1].startswith("Numeric value")
    assert str(frame["completed_time"].dtype) == "datetime64[us, UTC]"


def test_runs_frame_refuses_unknown_sources():
    with pytest.raises(ValueError, match="unknown run source 'past'"):
        runs_frame([_run("R", "FAILED")], source="past")
    with pytest.raises(ValueError, match="1 sources for 2 runs"):
        runs_frame([_run("R", "FAILED"), _run("R", "FAILED")], source=["complete"])


def test_empty_runs_frame_keeps_columns_and_dtypes():
    empty = runs_df(FakeClient(), "ROOT")
    full = runs_frame([_run("ROOT", "SUCCEEDED")])

    assert empty.empty
    assert list(empty.columns) == list(full.columns)
    assert empty.dtypes.equals(full.dtypes)


def test_runs_df_one_root_sends_error_only_explicitly_and_labels_sources():
    client = FakeClient(
        current={"ROOT": [_run("ROOT", "SCHEDULED", run_id=9)]},
        complete={"ROOT": [_run("ROOT", "SUCCEEDED", run_id=1)]},
    )

    frame = runs_df(client, "ROOT", result_limit=5)

    assert frame["run_id"].tolist() == [9, 1]
    assert frame["source"].tolist() == ["current", "complete"]
    assert ("get_complete_graphs", ("ROOT",), {"result_limit": 5, "error_only": False}) in (
        client.calls
    )
    assert ("get_current_graphs", ("ROOT",), {"result_limit": 5}) in client.calls
    assert frame.attrs["errors"] == {}


def test_runs_df_error_only_filters_current_runs_too():
    erroring = _run("ROOT", "EXECUTING", run_id=3, first_error_task_name="LOAD")
    client = FakeClient(
        current={"ROOT": [_run("ROOT", "SCHEDULED", run_id=4), erroring]},
        complete={"ROOT": [_run("ROOT", "FAILED", run_id=1, first_error_task_name="LOAD")]},
    )

    frame = runs_df(client, Task("ROOT", "x", database_name="DB", schema_name="S"), error_only=True)

    assert frame["run_id"].tolist() == [3, 1]
    complete_call = next(c for c in client.calls if c[0] == "get_complete_graphs")
    assert complete_call[2] == {"database": "DB", "schema": "S", "error_only": True}


def test_runs_df_include_flags_skip_requests():
    client = FakeClient(complete={"ROOT": [_run("ROOT", "SUCCEEDED")]})

    frame = runs_df(client, "ROOT", include_current=False)

    assert [c[0] for c in client.calls] == ["get_complete_graphs"]
    assert len(frame) == 1


def test_runs_df_one_root_raises_the_clients_error():
    with pytest.raises(Boom, match="GONE"):
        runs_df(FakeClient(failing={"GONE"}), "GONE")


def test_runs_df_many_roots_keeps_rows_when_one_root_fails():
    roots = ["A", "B", "C"]
    client = FakeClient(
        complete={name: [_run(name, "SUCCEEDED", run_id=i)] for i, name in enumerate(roots)},
        current={"C": [_run("C", "EXECUTING", run_id=7)]},
        failing={"B"},
    )

    frame = runs_df(client, roots, progress=False)

    assert frame["root_task_name"].tolist() == ["A", "C", "C"]
    assert frame["source"].tolist() == ["complete", "current", "complete"]
    assert list(frame.attrs["errors"]) == ["B"]
    assert "Boom: task B does not exist" in frame.attrs["errors"]["B"]
    assert "complete runs" in frame.attrs["errors"]["B"]
    assert frame.attrs["error_summary"].startswith("1 of 3 roots failed")
    assert "request id r-B" in frame.attrs["error_summary"]


def test_runs_df_many_roots_runs_concurrently_within_the_bound():
    roots = [f"R{i}" for i in range(12)]
    client = FakeClient(
        complete={name: [_run(name, "SUCCEEDED")] for name in roots}, delay=0.03
    )

    frame = runs_df(client, roots, max_workers=4, progress=False)

    assert len(frame) == 12
    assert 2 <= client.max_in_flight <= 4
    assert frame.attrs["error_summary"] == ""


def test_runs_df_shows_a_progress_bar_only_when_asked(capsys):
    client = FakeClient(complete={"A": [_run("A", "SUCCEEDED")]})

    runs_df(client, ["A", "B"], progress=True)
    shown = capsys.readouterr().err
    runs_df(client, ["A", "B"], progress=False)
    hidden = capsys.readouterr().err

    assert "graph runs" in shown and "/2" in shown
    assert hidden == ""


def test_runs_df_many_roots_asks_once_per_root_and_handles_none():
    client = FakeClient(complete={"A": [_run("A", "SUCCEEDED")]})

    frame = runs_df(client, ["A", "A"], include_current=False, progress=False)
    empty = runs_df(client, [], progress=False)

    assert len(client.calls) == 1 and len(frame) == 1
    assert empty.empty and list(empty.columns) == list(RUNS_COLUMNS)
    assert empty.attrs["errors"] == {} and empty.attrs["error_summary"] == ""


def test_runs_df_validates_arguments():
    with pytest.raises(ValueError, match="between 1 and 10000"):
        runs_df(FakeClient(), "R", result_limit=0)
    with pytest.raises(ValueError, match="max_workers"):
        runs_df(FakeClient(), ["R"], max_workers=0)
    with pytest.raises(TypeError, match="task name or a Task"):
        runs_df(FakeClient(), [42])


# ------------------------------------------------------------------------------ dependents


def test_dependents_frame_depth_roles_children():
    frame = dependents_frame(_graph()[:4]).set_index("task")

    assert list(frame.reset_index().columns) == list(DEPENDENTS_COLUMNS)
    assert frame["depth"].to_dict() == {"ROOT": 0, "LOAD": 1, "MERGE": 2, "CLEANUP": 3}
    assert frame["depth"].dtype == "Int64"
    assert frame.loc["ROOT", "children"] == ["LOAD", "MERGE"]
    assert frame.loc["CLEANUP", "role"] == "finalizer"
    assert frame.loc["LOAD", "state"] == "suspended"
    assert frame.loc["ROOT", "schedule"] == "10 MINUTE"
    assert frame.loc["MERGE", "condition"] == "1 = 1"


def test_dependents_frame_marks_cycles_with_missing_depth():
    tasks = [
        Task("R", "x"),
        Task("A", "x", predecessors=["R", "B"]),
        Task("B", "x", predecessors=["A"]),
    ]
    frame = dependents_frame(tasks).set_index("task")

    assert frame.loc["R", "depth"] == 0
    assert pd.isna(frame.loc["A", "depth"]) and pd.isna(frame.loc["B", "depth"])


def test_dependents_df_passes_recursive_and_scope_and_handles_empty():
    client = FakeClient(_graph())

    frame = dependents_df(client, "ROOT", recursive=False, schema="S")
    empty = dependents_df(FakeClient([]), "ROOT")

    assert client.calls[0] == ("fetch_task_dependents", ("ROOT",), {"recursive": False, "schema": "S"})
    assert len(frame) == 5
    assert empty.empty and empty.dtypes.equals(frame.dtypes)


def test_an_empty_database_or_schema_is_not_given_as_the_client_reads_it():
    """``""`` means "not given" (models.call_scope): a Task keeps its own place, and an empty
    string is never sent on as a scope (the client would read it as its default anyway)."""
    client = FakeClient(_graph())
    placed = Task("ROOT", "select 1", database_name="ELT", schema_name="PUBLIC")

    dependents_df(client, placed, database="", schema="")
    tasks_df(client, database="", schema="S")
    runs_df(client, [placed, placed, "ROOT"], database="", progress=False)

    assert client.calls[0][2] == {"recursive": True, "database": "ELT", "schema": "PUBLIC"}
    assert client.calls[1][2] == {"schema": "S"}
    run_scopes = sorted(
        (call[1][0], tuple(sorted(call[2].items())))
        for call in client.calls[2:]
        if call[0] == "get_current_graphs"
    )
    assert run_scopes == [("ROOT", ()), ("ROOT", (("database", "ELT"), ("schema", "PUBLIC")))]
