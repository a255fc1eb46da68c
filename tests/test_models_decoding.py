"""Reading API bodies into models: plain code, any key order, the same model as ``__init__``.

``Task.from_api``/``TaskRun.from_api`` (and ``_from_owned``, the client's no-copy path for
the rows it decoded itself) are ordinary functions, no generated source; the frames read
models through their attributes only, so nothing depends on how an instance stores its
fields or in which order.
"""

from __future__ import annotations

import ast
import copy
import json
import pickle
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tasknb import CronSchedule, MinutesSchedule, Task, TaskClient, TaskRun
from tasknb.frames import runs_frame, tasks_frame

BASE = "https://myorg-acct.snowflakecomputing.com"
PACKAGE = Path(__file__).resolve().parents[1] / "tasknb"

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


def _attributes(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _by_init(cls: type, body: dict[str, Any]) -> Any:
    """What the dataclass's own ``__init__`` builds from the same body (the reference)."""
    names = {f.name for f in fields(cls)} - {"extra"}
    values = {k: v for k, v in body.items() if k in names}
    for name, value in values.items():
        if name.endswith(("_on", "_time")) and value is not None:
            from tasknb.models import parse_timestamp

            values[name] = parse_timestamp(value)
        elif name in ("schedule", "target_completion_interval") and value is not None:
            from tasknb.models import parse_schedule

            values[name] = parse_schedule(value)
    if "predecessors" in values and values["predecessors"] is None:
        values["predecessors"] = []
    return cls(**values, extra={k: v for k, v in body.items() if k not in names})


@pytest.mark.parametrize("body", TASK_BODIES)
def test_from_api_builds_what_init_builds_and_leaves_the_body_alone(body: dict[str, Any]) -> None:
    snapshot = json.loads(json.dumps(body))
    task = Task.from_api(body)
    expected = _by_init(Task, snapshot)
    assert body == snapshot
    assert vars(task) == vars(expected)
    assert task == expected and repr(task) == repr(expected)
    assert asdict(task) == asdict(expected)
    assert pickle.loads(pickle.dumps(task)) == expected
    assert copy.deepcopy(task) == expected and replace(task, comment="c").comment == "c"
    assert task.predecessors == expected.predecessors and isinstance(task.predecessors, list)
    for name in ("created_on", "last_committed_on", "last_suspended_on"):
        value = getattr(task, name)
        assert value is None or value.tzinfo is not None


def _owned(cls: type, body: dict[str, Any]) -> Any:
    return cls._from_owned(json.loads(json.dumps(body)))  # a fresh dict, as the client has


@pytest.mark.parametrize("body", TASK_BODIES)
def test_the_owned_path_reads_like_from_api(body: dict[str, Any]) -> None:
    expected = Task.from_api(body)
    task = _owned(Task, body)
    assert _attributes(task) == _attributes(expected)
    assert task == expected and repr(task) == repr(expected)
    assert asdict(task) == asdict(expected)
    assert pickle.loads(pickle.dumps(task)) == expected
    assert copy.deepcopy(task) == expected and replace(task, comment="c").comment == "c"
    assert task.role == expected.role and task.relations == expected.relations
    assert isinstance(task.predecessors, list) and task.extra == expected.extra


def test_the_owned_path_builds_on_the_body_and_moves_unknown_keys_out() -> None:
    body = json.loads(json.dumps(TASK_BODIES[1]))
    task = Task._from_owned(body)
    assert vars(task) is body  # no copy
    assert "surprise" not in body and task.extra["surprise"] == [1]
    assert task.schedule == MinutesSchedule(5) and task.comment is None
    first, second = _owned(Task, TASK_BODIES[0]), _owned(Task, TASK_BODIES[0])
    first.predecessors.append("X")
    first.extra["k"] = 1
    assert second.predecessors == [] and second.extra == {}
    with pytest.raises(TypeError, match="Task body lacks the required field 'name'"):
        Task._from_owned({"definition": "x"})
    with pytest.raises(TypeError, match="expected a JSON object for TaskRun, got list"):
        TaskRun._from_owned([])


def test_unknown_keys_go_to_extra_and_values_are_converted() -> None:
    task = Task.from_api(TASK_BODIES[1])
    assert task.extra == {
        "surprise": [1],
        "extra": "a key named like the extra field",
        "relations": "a key named like a property",
    }
    assert task.relations == {}  # the property, not the stray key
    assert task.schedule == MinutesSchedule(5)
    assert task.target_completion_interval == MinutesSchedule(7)
    assert task.predecessors == [] and task.comment is None and task.owner is None


def test_models_do_not_share_lists_or_extras() -> None:
    first, second = Task.from_api(TASK_BODIES[0]), Task.from_api(TASK_BODIES[0])
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
def test_from_api_refuses_what_it_cannot_build(body: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        Task.from_api(body)


def test_runs_read_like_their_init() -> None:
    body = {
        "run_id": 7,
        "root_task_name": "R",
        "state": "FAILED",
        "query_start_time": "2024-06-18T01:01:01Z",
        "completed_time": 1718672521000,
        "attempt_number": 2,
    }
    run = TaskRun.from_api(body)
    assert vars(run) == vars(_by_init(TaskRun, body))
    assert run.extra == {"attempt_number": 2} and run.duration.total_seconds() == 60
    assert run.scheduled_time is None and pickle.loads(pickle.dumps(run)) == run
    assert list(run.to_api()) == ["root_task_name", "state", "query_start_time",
                                  "completed_time", "run_id", "attempt_number"]
    with pytest.raises(TypeError, match="TaskRun body lacks the required field 'root_task_name'"):
        TaskRun.from_api({"state": "FAILED"})


@dataclass
class _LabelledTask(Task):
    label: str = "none"


@dataclass
class _SameFieldsTask(Task):
    pass


def test_subclasses_are_read_with_their_own_fields() -> None:
    body = {"name": "T", "definition": "x", "label": "L", "other": 1}
    task = _LabelledTask.from_api(body)
    assert type(task) is _LabelledTask and task.label == "L" and task.extra == {"other": 1}
    assert _LabelledTask.from_api({"name": "T", "definition": "x"}).label == "none"
    assert _LabelledTask._from_owned(dict(body)) == task
    plain = _SameFieldsTask.from_api(body)
    assert type(plain) is _SameFieldsTask and plain.extra == {"label": "L", "other": 1}
    assert Task.from_api(body).extra == {"label": "L", "other": 1}


def test_frames_of_models_built_any_way_are_the_same() -> None:
    """Frames read attributes: instances whose fields were stored in another order (or set
    one by one) give the same frame as ``from_api``'s."""
    copied = [Task.from_api(body) for body in TASK_BODIES]
    reordered = []
    for task in copied:
        clone = copy.copy(task)
        clone.__dict__ = dict(reversed(list(vars(task).items())))
        reordered.append(clone)
    by_init = [_by_init(Task, body) for body in TASK_BODIES]
    owned = [_owned(Task, body) for body in TASK_BODIES]  # sparse: only the keys sent
    frame = tasks_frame(copied)
    pd.testing.assert_frame_equal(tasks_frame(reordered), frame)
    pd.testing.assert_frame_equal(tasks_frame(owned), frame)
    pd.testing.assert_frame_equal(tasks_frame([owned[0], by_init[1], reordered[2]]), frame)
    pd.testing.assert_frame_equal(tasks_frame(by_init), frame)
    pd.testing.assert_frame_equal(tasks_frame([reordered[0], *copied[1:]]), frame)
    assert list(frame["name"]) == ["T", "ROOT", "CHILD"]
    assert list(frame["schedule"][1:]) == ["5 MINUTE", str(CronSchedule("0 2 * * *", "UTC"))]
    assert list(frame["role"]) == ["root", "root", "child"]
    runs = [{"root_task_name": "A", "state": "SUCCEEDED"}, {"run_id": 2, "root_task_name": "B"}]
    pd.testing.assert_frame_equal(
        runs_frame(_by_init(TaskRun, body) for body in runs),
        runs_frame(TaskRun.from_api(body) for body in runs),
    )
    pd.testing.assert_frame_equal(
        runs_frame(_owned(TaskRun, body) for body in runs),
        runs_frame(TaskRun.from_api(body) for body in runs),
    )


def test_the_client_builds_the_models_from_api_builds() -> None:
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


@pytest.mark.parametrize("module", ["models.py", *sorted(
    str(path.relative_to(PACKAGE)) for path in (PACKAGE / "frames").glob("*.py"))])
def test_no_generated_code(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & {"exec", "eval", "compile"}, f"tasknb/{module} runs generated code"
