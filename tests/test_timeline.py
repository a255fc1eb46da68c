"""``tasknb.timeline``: the Gantt of one graph run.

From a real run on the local server over HTTP (spec-validated), and from frames built from
models (retries, 1,000 tasks, bad input). The Vega-Lite spec is validated against Altair's
Vega-Lite 5 schema, which is what JupyterLab renders.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest
from client_support import START, fresh_schema

import tasknb
from tasknb import Task, TaskClient
from tasknb.frames import task_runs_frame
from tasknb.models import TaskHistoryRow
from tasknb.runs import execute_and_wait
from tasknb.testing import local_client
from tasknb.timeline import NOT_RUN, ROW_HEIGHT, STATE_COLOURS, VEGA_LITE_MIME, Timeline, timeline


@pytest.fixture
def client(server, validating) -> Iterator[TaskClient]:
    c = local_client(server, database="tl", schema=fresh_schema(), transport=validating)
    yield c
    c.close()


def _items(chart: Timeline) -> dict[str, dict]:
    return {item["task"]: item for item in chart.to_dict()["datasets"]["tasknb_timeline"]}


def test_a_run_on_the_local_server(client) -> None:
    client.create_task(Task("ROOT", "SELECT 1"))
    client.create_task(Task("LOAD", "SELECT SYSTEM$WAIT(0.2)", predecessors=["ROOT"]))
    client.create_task(Task("MISSING", "SELECT * FROM no_such_table", predecessors=["ROOT"]))
    client.create_task(Task("ALSO_MISSING", "SELECT * FROM nor_this", predecessors=["LOAD"]))
    client.create_task(Task("SKIP", "SELECT 1", predecessors=["ROOT"], condition="1 = 0"))
    client.create_task(Task("AFTER", "SELECT 1", predecessors=["MISSING"]))
    for name in ("LOAD", "MISSING", "ALSO_MISSING", "SKIP", "AFTER"):
        client.resume_task(name)
    run = execute_and_wait(client, "ROOT", poll_interval=0.05, timeout=60)
    chart = timeline(client, "ROOT")
    assert chart.run_id == run.run_id
    assert str(chart).startswith(f"ROOT run {run.run_id} (2026-03-01 08:00")
    assert "6 tasks, 2 succeeded, 2 failed (ALSO_MISSING, MISSING), 1 skipped, 1 not run" in str(
        chart)
    items = _items(chart)
    assert {t: i["state"] for t, i in items.items()} == {
        "ROOT": "SUCCEEDED", "LOAD": "SUCCEEDED", "MISSING": "FAILED",
        "ALSO_MISSING": "FAILED", "SKIP": "SKIPPED", "AFTER": NOT_RUN}
    assert items["LOAD"]["kind"] == "bar" and items["LOAD"]["start"] < items["LOAD"]["end"]
    assert items["SKIP"]["kind"] == "mark" and items["AFTER"]["kind"] == "mark"
    assert items["MISSING"]["failed"] and items["MISSING"]["error"].startswith("002003: ")
    assert not items["LOAD"]["failed"]
    assert items["ROOT"]["row"] == 0 and items["AFTER"]["row"] == len(items) - 1  # not run last
    assert items["AFTER"]["start"] == max(i["end"] for i in items.values())
    # a valid Vega-Lite 5 spec (Altair validates it against the schema JupyterLab renders)
    spec = chart.chart.to_dict()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")
    bundle = chart._repr_mimebundle_()
    assert set(bundle) == {VEGA_LITE_MIME, "text/plain"}
    assert bundle["text/plain"] == chart.summary
    # every layer repeats the shared time axis (JupyterLab's Vega-Lite drops it otherwise)
    axes = [layer["encoding"]["x"].get("axis") for layer in spec["layer"]]
    assert all(a and a["orient"] == "top" and a["title"] == "time (UTC)" for a in axes), axes
    colours = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(colours["domain"], colours["range"]))["FAILED"] == STATE_COLOURS["FAILED"]
    # a frame of task runs draws the same run
    again = timeline(tasknb.task_runs_df(client, "ROOT"), "ROOT",
                     tasks=[t.name for t in client.fetch_task_dependents("ROOT")])
    assert again.summary == chart.summary


def _row(name: str, state: str, start: float, end: float | None, *, attempt: int = 1,
         run_id: int = 1, code: str | None = None) -> TaskHistoryRow:
    begin = START + timedelta(seconds=start)
    return TaskHistoryRow(
        name, state=state, run_id=run_id, attempt_number=attempt, scheduled_time=begin,
        query_start_time=begin, error_code=code, error_message="boom" if code else None,
        completed_time=None if end is None else START + timedelta(seconds=end))


def test_retries_share_a_row_and_the_latest_attempt_tells_the_ending() -> None:
    frame = task_runs_frame([
        _row("ROOT", "SUCCEEDED", 0, 1),
        _row("LOAD", "FAILED", 1, 2, code="002003"),
        _row("LOAD", "SUCCEEDED", 10, 12, attempt=2),
        _row("OTHER_RUN", "SUCCEEDED", 0, 1, run_id=2),
    ])
    chart = timeline(frame, "ROOT", run=1)
    assert chart.counts == {"SUCCEEDED": 2}
    rows = chart.to_dict()["datasets"]["tasknb_timeline"]
    loads = [r for r in rows if r["task"] == "LOAD"]
    assert [(r["attempt"], r["state"], r["row"]) for r in loads] == [
        (1, "FAILED", 1), (2, "SUCCEEDED", 1)]
    assert "OTHER_RUN" not in {r["task"] for r in rows}
    latest = timeline(frame)  # the highest run id
    assert latest.run_id == 2 and latest.counts == {"SUCCEEDED": 1}


def test_an_executing_task_runs_to_the_latest_known_moment() -> None:
    frame = task_runs_frame([
        _row("ROOT", "SUCCEEDED", 0, 5),
        _row("SLOW", "EXECUTING", 5, None),
        TaskHistoryRow("LATER", state="SCHEDULED", run_id=1,
                       scheduled_time=START + timedelta(seconds=30)),
    ])
    items = _items(timeline(frame))
    assert items["SLOW"]["kind"] == "bar"
    assert items["SLOW"]["end"] == items["ROOT"]["end"]
    assert items["LATER"]["kind"] == "mark"
    assert items["LATER"]["start"] == (START + timedelta(seconds=30)).isoformat()


def test_a_thousand_tasks_stay_readable() -> None:
    rows = [_row(f"TASK_{i:04d}_WITH_A_RATHER_LONG_NAME_FOR_A_LABEL", "SUCCEEDED", i, i + 3)
            for i in range(1000)]
    chart = timeline(task_runs_frame(rows), "ROOT")
    spec = chart.chart.to_dict()
    assert spec["height"] == ROW_HEIGHT * 1000  # the chart grows, rows keep their height
    y = spec["layer"][0]["encoding"]["y"]
    assert y["axis"]["labelLimit"] >= 200 and y["sort"] == {"field": "row", "op": "min"}
    orients = {layer["encoding"]["x"].get("axis", {}).get("orient")
               for layer in spec["layer"] if layer["encoding"]["x"].get("axis") is not None}
    assert orients == {"top", "bottom"}  # the time axis above and below the long chart
    assert len(spec["datasets"]["tasknb_timeline"]) == 1000


def test_bad_input_says_what_to_pass(client) -> None:
    empty = task_runs_frame([])
    with pytest.raises(ValueError, match="no graph run to draw of ROOT"):
        timeline(empty, "ROOT")
    with pytest.raises(ValueError, match="graph run 5 has no task runs"):
        timeline(task_runs_frame([_row("A", "SUCCEEDED", 0, 1)]), run=5)
    with pytest.raises(TypeError, match="name the root task"):
        timeline(client)
    with pytest.raises(TypeError, match="run must be a run id"):
        timeline(empty, run="latest")
    with pytest.raises(ValueError, match="needs a task_runs_df frame"):
        timeline(pd.DataFrame({"run_id": [1], "name": ["A"]}))


def test_exported_lazily_and_callable_as_the_module() -> None:
    import importlib

    import tasknb.timeline as module

    frame = task_runs_frame([_row("A", "SUCCEEDED", 0, 1)])
    assert tasknb.Timeline is Timeline and "timeline" in tasknb.__all__
    # tasknb.timeline is the function or (once the module is imported) the module: both draw
    assert isinstance(tasknb.timeline(frame), Timeline)
    assert isinstance(module(frame), Timeline)
    assert importlib.import_module("tasknb").timeline(frame).summary == timeline(frame).summary
