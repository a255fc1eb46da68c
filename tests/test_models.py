"""Models: from_api/to_api round trips, timestamps, schedules, unknown fields kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tasknb import CronSchedule, MinutesSchedule, Tag, Task, TaskRun
from tasknb.models import parse_schedule, parse_timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-18T01:01:01Z", datetime(2024, 6, 18, 1, 1, 1, tzinfo=timezone.utc)),
        ("2024-06-18T01:01:01.111111", datetime(2024, 6, 18, 1, 1, 1, 111111, tzinfo=timezone.utc)),
        ("2024-06-18T03:01:01+02:00", datetime(2024, 6, 18, 1, 1, 1, tzinfo=timezone.utc)),
        (1718672461, datetime(2024, 6, 18, 1, 1, 1, tzinfo=timezone.utc)),
        ("1718672461000", datetime(2024, 6, 18, 1, 1, 1, tzinfo=timezone.utc)),
        (None, None),
        ("", None),
    ],
)
def test_parse_timestamp_is_tz_aware(value, expected) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


def test_task_from_api_keeps_unknown_fields_and_parses_nested() -> None:
    body = {
        "name": "ROOT",
        "definition": "select 1",
        "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 1, "seconds": 30},
        "target_completion_interval": {"schedule_type": "MINUTES_TYPE", "minutes": 5},
        "task_relations": json.dumps({"Predecessors": [], "FinalizerTask": "DB.S.FIN"}),
        "state": "started",
        "last_suspended_reason": "USER_SUSPENDED",
        "predecessors": None,
    }
    task = Task.from_api(body)
    assert task.schedule == MinutesSchedule(1, 30)
    assert task.schedule.interval == timedelta(seconds=90)
    assert task.target_completion_interval == MinutesSchedule(5)
    assert task.finalizer_task == "DB.S.FIN"
    assert task.extra == {"last_suspended_reason": "USER_SUSPENDED"}
    assert task.predecessors == [] and task.role == "root"


def test_task_to_api_leaves_read_only_and_none_out() -> None:
    task = Task(
        "T",
        "select 1",
        schedule=CronSchedule("0 2 * * *", "Europe/Paris"),
        predecessors=["A"],
        state="started",
        id="x",
        created_on=datetime.now(timezone.utc),
    )
    assert task.to_api() == {
        "name": "T",
        "definition": "select 1",
        "schedule": {
            "schedule_type": "CRON_TYPE",
            "cron_expr": "0 2 * * *",
            "timezone": "Europe/Paris",
        },
        "predecessors": ["A"],
    }
    assert task.role == "child"


def test_schedules() -> None:
    assert str(MinutesSchedule(0, 30)) == "30 SECONDS"
    assert MinutesSchedule(10, 5).to_api() == {
        "schedule_type": "MINUTES_TYPE",
        "minutes": 10,
        "seconds": 5,
    }
    assert parse_schedule({"cron_expr": "* * * * *"}) == CronSchedule("* * * * *", "UTC")
    with pytest.raises(ValueError, match="unknown schedule_type 'SECONDS_TYPE'"):
        parse_schedule({"schedule_type": "SECONDS_TYPE"})


def test_task_run_fields_and_round_trip() -> None:
    body = {
        "root_task_name": "R",
        "database_name": "DB",
        "schema_name": "S",
        "state": "EXECUTING",
        "scheduled_time": "2024-06-18T01:00:00Z",
        "query_start_time": "2024-06-18T01:00:02Z",
        "next_scheduled_time": "2024-06-18T02:00:00Z",
        "root_task_id": "id",
        "graph_version": 3,
        "run_id": 17,
        "graph_run_group_id": "g",
    }
    run = TaskRun.from_api(body)
    assert not run.finished and run.duration is None
    assert run.extra == {"graph_run_group_id": "g"}
    again = TaskRun.from_api(run.to_api())
    assert again == run


def test_tags_keep_level_and_unknown_fields_and_omit_empty_parts() -> None:
    tag = Tag.from_api({"tag_name": "COST", "tag_value": "x", "level": "TASK", "new": 1})
    assert tag.level == "TASK" and tag.extra == {"new": 1}
    assert tag.to_api() == {"tag_name": "COST", "tag_value": "x"}
    assert tag.to_api(with_value=False) == {"tag_name": "COST"}
    assert hash(tag) == hash(Tag("", "", "COST", "x", level="TASK"))
    assert Tag("G", "T", "C").fully_qualified_name == "G.T.C"


def test_fast_from_api_builds_the_same_instance_as_init() -> None:
    from dataclasses import fields

    body = {
        "name": "T",
        "definition": "select 1",
        "created_on": "2024-06-18T01:01:01Z",
        "last_committed_on": 1718672461,
        "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 5},
        "comment": "c",
        "surprise": [1],
    }
    snapshot = json.loads(json.dumps(body))
    task = Task.from_api(body)
    expected = Task(
        "T",
        "select 1",
        comment="c",
        schedule=MinutesSchedule(5),
        created_on=datetime(2024, 6, 18, 1, 1, 1, tzinfo=timezone.utc),
        last_committed_on=datetime(2024, 6, 18, 1, 1, 1, tzinfo=timezone.utc),
        extra={"surprise": [1]},
    )
    assert task == expected and task.extra == {"surprise": [1]}
    assert vars(task) == vars(expected)  # the state __init__ leaves, every field set
    assert body == snapshot  # the input is not modified
    assert task.predecessors == [] and task.predecessors is not Task.from_api(body).predecessors
    run = TaskRun.from_api({"root_task_name": "R", "run_id": 1})
    assert vars(run) == vars(TaskRun("R", run_id=1))
    assert set(vars(run)) == {f.name for f in fields(TaskRun)}


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"definition": "x"}, "required field 'name'"),
        ({"name": "T"}, "required field 'definition'"),
        (["not", "a", "dict"], "expected a JSON object"),
    ],
)
def test_from_api_refuses_incomplete_bodies(body, match) -> None:
    with pytest.raises(TypeError, match=match):
        Task.from_api(body)


def test_subclasses_get_their_own_class_and_fields() -> None:
    from dataclasses import dataclass

    @dataclass
    class MyTask(Task):
        note: str | None = None

    task = MyTask.from_api({"name": "T", "definition": "x", "note": "n", "other": 1})
    assert type(task) is MyTask and task.note == "n" and task.extra == {"other": 1}
    assert type(Task.from_api({"name": "T", "definition": "x"})) is Task


def test_call_scope_is_the_one_reading_of_database_and_schema() -> None:
    from tasknb.models import call_scope

    assert call_scope() == {} and call_scope(None, None) == {}
    assert call_scope("", "") == {}  # empty text is "not given", as TaskClient reads it
    assert call_scope("DB", "S") == {"database": "DB", "schema": "S"}
    placed = Task("T", "select 1", database_name="ELT", schema_name="PUBLIC")
    assert call_scope(task=placed) == {"database": "ELT", "schema": "PUBLIC"}
    assert call_scope("", "RAW", task=placed) == {"database": "ELT", "schema": "RAW"}
    assert call_scope(task=Task("T", "select 1")) == {}


def test_the_client_reads_an_empty_scope_as_its_default() -> None:
    from tasknb import TaskClient, connect

    client = TaskClient("http://127.0.0.1:1", auth=None, database="DB", schema="")
    assert (client.database, client.schema) == ("DB", None)
    assert client.path_for("t", database="", schema="S") == "/api/v2/databases/DB/schemas/S/tasks/T"
    joined = connect(base_url="http://127.0.0.1:1", token="t", database="", schema="S")
    assert (joined.database, joined.schema) == (None, "S")
    client.close()
    joined.close()
