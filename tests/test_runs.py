"""tasknb.runs: the one rule for "the latest graph run", shared by drawings and panels."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tasknb.graph import graph_from_tasks
from tasknb.models import Task, TaskRun
from tasknb.runs import (
    ATTEMPT_FIELD,
    FINISHED_STATES,
    GROUP_FIELD,
    RUN_STATES,
    latest_run,
    latest_runs,
)

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def _run(state, *, minute=0, ends=None, run_id=7, group=None, attempt=None, root="ROOT"):
    extra = {}
    if group is not None:
        extra[GROUP_FIELD] = group
    if attempt is not None:
        extra[ATTEMPT_FIELD] = attempt
    start = T0 + timedelta(minutes=minute)
    done = None if state in ("EXECUTING", "SCHEDULED") else start + timedelta(minutes=ends or 1)
    return TaskRun(
        root, state=state, run_id=run_id, scheduled_time=start, query_start_time=start,
        completed_time=done, extra=extra,
    )


def test_a_retry_is_latest_even_when_it_finishes_before_its_original():
    original = _run("FAILED", minute=0, ends=10, group="G", attempt=1)
    retry = _run("SUCCEEDED", minute=1, ends=2, group="G", attempt=2)
    assert latest_run([original, retry]) is retry
    assert latest_run([retry, original]) is retry


def test_without_group_fields_the_run_id_groups_attempts_and_the_later_start_wins():
    original = _run("FAILED", minute=0, ends=10)  # REST gives neither group nor attempt
    retry = _run("SUCCEEDED", minute=1, ends=2)
    assert latest_run([original, retry]) is retry


def test_a_newer_run_group_beats_a_higher_attempt_of_an_older_one():
    old_retry = _run("FAILED", minute=5, group="OLD", attempt=3, run_id=1)
    old_first = _run("FAILED", minute=0, group="OLD", attempt=1, run_id=1)
    new = _run("SUCCEEDED", minute=60, group="NEW", attempt=1, run_id=2)
    assert latest_run([old_retry, new, old_first]) is new


def test_an_executing_run_describes_the_graph_and_scheduled_runs_describe_nothing():
    finished = _run("SUCCEEDED", minute=60, run_id=2)
    executing = _run("EXECUTING", minute=0, run_id=1)
    scheduled = _run("SCHEDULED", minute=120, run_id=3)
    assert latest_run([finished, executing, scheduled]) is executing
    assert latest_run([scheduled]) is None
    assert latest_run([]) is None


def test_latest_runs_keys_roots_by_snowflake_name_identity():
    quoted = _run("FAILED", root='DB.S."my root"')
    unquoted = _run("SUCCEEDED", root="db.s.my_root")
    shouted = _run("CANCELLED", root='"MY ROOT"')
    found = latest_runs([quoted, unquoted, shouted])
    assert set(found) == {"my root", "MY_ROOT", "MY ROOT"}
    assert found["my root"] is quoted and found["MY ROOT"] is shouted


def test_the_drawing_colours_the_root_with_the_same_latest_run():
    original = _run("FAILED", minute=0, ends=10, group="G", attempt=1)
    original.first_error_task_name = "LOAD"
    retry = _run("SUCCEEDED", minute=1, ends=2, group="G", attempt=2)
    tasks = [Task("ROOT", "select 1"), Task("LOAD", "select 2", predecessors=["ROOT"])]
    graph = graph_from_tasks(tasks, runs=[original, retry], show_legend=False)
    assert graph.latest_runs == {"ROOT": retry}
    assert "last run: SUCCEEDED" in graph.source and "last run: FAILED" not in graph.source


def test_the_states_are_the_rest_schema_states():
    assert set(RUN_STATES) == {"SCHEDULED", "EXECUTING", "SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"}
    assert FINISHED_STATES == set(RUN_STATES) - {"SCHEDULED", "EXECUTING"}
