"""``Task._from_owned``/``TaskRun._from_owned`` (the client's no-copy path) read like ``from_api``.

The owned path builds the instance on the decoded dict itself, so the instance ``__dict__``
holds only the keys the server sent; every public view of the model must not tell.
"""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import httpx
import pandas as pd
import pytest

from tasknb import CronSchedule, MinutesSchedule, Task, TaskClient, TaskRun
from tasknb.frames import runs_frame, tasks_frame

BASE = "https://myorg-acct.snowflakecomputing.com"

TASK_BODIES: list[dict[str, Any]] = [
    {"name": "T", "definition": "select 1"},
    {
        "definition": "select 2",
        "state": "started",
        "name": "ROOT",  # keys in an order other than the fields'
        "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 5},
        "target_completion_interval": {"minutes": 7},
        "created_on": "2024-06-18T01:01:01Z",
        "last_committed_on": 1718672461,
        "last_suspended_on": "2024-06-18T01:01:01",
        "predecessors": None,
        "surprise": [1],
        "extra": "a key named like the extra field",
        "relations": "a key named like a property",
    },
    {
        "name": "CHILD",
        "definition": "select 3",
        "schedule": {"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *", "timezone": "UTC"},
        "predecessors": ["DB.S.ROOT"],
        "config": {"env": "prod"},
        "created_on": None,
        "warehouse": None,
        "task_relations": json.dumps({"Predecessors": ["DB.S.ROOT"]}),
    },
]


def _owned(cls: type, body: dict[str, Any]) -> Any:
    return cls._from_owned(json.loads(json.dumps(body)))  # a fresh dict, as the client has


def _attributes(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@pytest.mark.parametrize("body", TASK_BODIES)
def test_owned_task_reads_like_from_api(body: dict[str, Any]) -> None:
    expected = Task.from_api(body)
    task = _owned(Task, body)
    assert _attributes(task) == _attributes(expected)
    assert task == expected and repr(task) == repr(expected)
    assert asdict(task) == asdict(expected)
    assert pickle.loads(pickle.dumps(task)) == expected
    assert copy.deepcopy(task) == expected and replace(task, comment="c").comment == "c"
    assert task.role == expected.role and task.relations == expected.relations
    assert task.predecessors == expected.predecessors and isinstance(task.predecessors, list)
    for name in ("created_on", "last_committed_on", "last_suspended_on"):
        value = getattr(task, name)
        assert value is None or value.tzinfo is not None


def test_owned_task_moves_unknown_keys_to_extra_and_converts_in_place() -> None:
    body = json.loads(json.dumps(TASK_BODIES[1]))
    task = Task._from_owned(body)
    assert task.extra == {
        "surprise": [1],
        "extra": "a key named like the extra field",
        "relations": "a key named like a property",
    }
    assert task.relations == {}  # the property, not the stray key
    assert task.schedule == MinutesSchedule(
        5
    ) and task.target_completion_interval == MinutesSchedule(7)
    assert task.predecessors == [] and task.comment is None and task.owner is None
    assert vars(task) is body  # built on the body: no copy


def test_owned_rows_do_not_share_lists() -> None:
    first, second = _owned(Task, TASK_BODIES[0]), _owned(Task, TASK_BODIES[0])
    first.predecessors.append("X")
    first.extra["k"] = 1
    assert second.predecessors == [] and second.extra == {}


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"definition": "x"}, "Task body lacks the required field 'name'"),
        ({"name": "T", "definition": None}, "Task body lacks the required field 'definition'"),
        (["not", "a", "dict"], "expected a JSON object for Task, got list"),
    ],
)
def test_owned_task_refuses_what_from_api_refuses(body: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        Task.from_api(body)
    with pytest.raises(TypeError, match=match):
        Task._from_owned(body)


def test_owned_run_reads_like_from_api() -> None:
    body = {
        "run_id": 7,
        "root_task_name": "R",
        "state": "FAILED",
        "query_start_time": "2024-06-18T01:01:01Z",
        "completed_time": 1718672521000,
        "attempt_number": 2,
    }
    expected = TaskRun.from_api(body)
    run = _owned(TaskRun, body)
    assert _attributes(run) == _attributes(expected) and run == expected
    assert run.extra == {"attempt_number": 2} and run.duration.total_seconds() == 60
    assert run.scheduled_time is None and pickle.loads(pickle.dumps(run)) == expected
    with pytest.raises(TypeError, match="TaskRun body lacks the required field 'root_task_name'"):
        TaskRun._from_owned({"state": "FAILED"})


@dataclass
class _LabelledTask(Task):
    label: str = "none"


def test_owned_subclass_takes_the_copying_path() -> None:
    body = {"name": "T", "definition": "x", "other": 1}
    task = _LabelledTask._from_owned(body)
    assert type(task) is _LabelledTask and task == _LabelledTask.from_api(body)
    assert task.label == "none" and task.extra == {"other": 1}
    assert body == {"name": "T", "definition": "x", "other": 1}


def test_frames_of_owned_rows_equal_frames_of_from_api_rows() -> None:
    tasks = tasks_frame(_owned(Task, body) for body in TASK_BODIES)
    pd.testing.assert_frame_equal(tasks, tasks_frame(Task.from_api(body) for body in TASK_BODIES))
    assert pd.isna(tasks["schedule"][0])
    assert list(tasks["schedule"][1:]) == ["5 MINUTE", str(CronSchedule("0 2 * * *", "UTC"))]
    assert list(tasks["role"]) == ["root", "root", "child"]
    runs = [{"root_task_name": "A", "state": "SUCCEEDED"}, {"run_id": 2, "root_task_name": "B"}]
    pd.testing.assert_frame_equal(
        runs_frame(_owned(TaskRun, body) for body in runs),
        runs_frame(TaskRun.from_api(body) for body in runs),
    )


def test_client_lists_and_fetches_through_the_owned_path() -> None:
    rows = [TASK_BODIES[2], TASK_BODIES[1], TASK_BODIES[0]]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tasks"):
            return httpx.Response(200, json=rows)
        return httpx.Response(200, json=TASK_BODIES[1])

    client = TaskClient(
        BASE, auth=None, database="DB", schema="S", transport=httpx.MockTransport(handler)
    )
    with client:
        tasks = client.list_tasks()
        fetched = client.fetch_task("ROOT")
    assert tasks == [Task.from_api(row) for row in rows]
    assert fetched == Task.from_api(TASK_BODIES[1]) and fetched.extra["surprise"] == [1]


def test_frames_of_full_owned_rows_in_other_key_orders_keep_columns_apart() -> None:
    full = {f.name: None for f in fields(Task) if f.name != "extra"}
    rows = []
    for i in range(4):
        row = {**full, "name": f"T{i}", "definition": f"select {i}", "owner": f"O{i}"}
        keys = list(row)[::-1] if i % 2 else list(row)  # same keys, two orders
        rows.append({key: row[key] for key in keys})
    owned = [_owned(Task, row) for row in rows]
    copied = [Task.from_api(row) for row in rows]
    assert all(len(vars(task)) == len(fields(Task)) for task in owned)  # full, not sparse
    frame = tasks_frame(owned)
    pd.testing.assert_frame_equal(frame, tasks_frame(copied))
    pd.testing.assert_frame_equal(tasks_frame([*owned[:2], *copied[2:]]), frame)
    pd.testing.assert_frame_equal(tasks_frame([*copied[:2], *owned[2:]]), frame)
    assert list(frame["name"]) == ["T0", "T1", "T2", "T3"]
    assert list(frame["owner"]) == ["O0", "O1", "O2", "O3"]
