"""Every task of a run in the widgets (issue 9): the panel's latest run, the explorer's pick.

Against the real local server over loopback (TASK_HISTORY through its SQL API), clicking with
``Button.click()``. The graph: ROOT -> LOAD -> PUBLISH with the finalizer CLEANUP; LOAD reads a
table that is missing, so the first run fails at LOAD and PUBLISH never runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from widget_support import (
    FAST_POLL,
    create_missing_source,
    graph,
    local_server,
    panel_on,
    schema_client,
    wait_follow,
)

import tasknb.local
from tasknb.errors import SqlError
from tasknb.widgets import RunExplorer


@pytest.fixture
def server(tmp_path) -> Iterator[tasknb.local.LocalServer]:
    yield from local_server(tmp_path)


@pytest.fixture
def client(server):
    yield from schema_client(server)


def _row(table_html: str, task: str) -> str:
    """The <tr> of one task in a per-task table."""
    found = re.search(rf"<tr><td><b>{task}</b></td>.*?</tr>", table_html)
    assert found, f"no row for {task} in {table_html[:400]}"
    return found.group(0)


def _failed_panel(client, **options):
    graph(client, failing=True)
    panel = panel_on(client, confirm=False, **options)
    panel.buttons["execute"].click()
    wait_follow(panel.state)
    assert panel.state.follow.state == "FAILED"
    return panel


def test_the_panel_shows_every_task_of_the_latest_run(client):
    panel = _failed_panel(client)
    table = panel.task_runs_html.value
    assert "Tasks in the latest run" in panel.task_runs_title.value
    assert 'data-state="SUCCEEDED"' in _row(table, "ROOT")
    load = _row(table, "LOAD")
    assert 'data-state="FAILED"' in load and "[002003]" in load and "missing_source" in load.lower()
    assert 'data-state="not run"' in _row(table, "PUBLISH")  # after a failed predecessor
    assert 'data-state="SUCCEEDED"' in _row(table, "CLEANUP")  # the finalizer still runs
    query_ids = re.findall(r"<code>([^<]+)</code>", table)
    assert len(query_ids) == 3 and len(set(query_ids)) == 3  # ROOT, LOAD, CLEANUP ran
    assert "&lt;NA&gt;" not in table and "nan" not in table.lower().replace("nanos", "")


def test_after_a_retry_the_panel_shows_each_tasks_latest_attempt(client):
    panel = _failed_panel(client)
    create_missing_source(client)
    panel.buttons["retry"].click()
    wait_follow(panel.state)
    assert panel.state.follow.state == "SUCCEEDED"
    assert "attempt 2" in panel.task_runs_title.value
    table = panel.task_runs_html.value
    for task in ("ROOT", "LOAD", "PUBLISH", "CLEANUP"):
        assert 'data-state="SUCCEEDED"' in _row(table, task), task


def test_picking_a_run_in_the_explorer_shows_its_tasks_and_every_attempt(client):
    panel = _failed_panel(client)
    explorer = RunExplorer(client, "ROOT", poll_interval=FAST_POLL)
    assert explorer.task_runs_html.value == ""  # nothing picked yet
    explorer.picker.value = explorer.picker.options[0][1]
    table = explorer.task_runs_html.value
    assert f"Tasks of run {panel.state.latest.run_id}" in table
    assert 'data-state="FAILED"' in _row(table, "LOAD")
    assert 'data-state="not run"' in _row(table, "PUBLISH")
    (shown,) = explorer.timeline.outputs  # the run's timeline, one bar per task
    summary = shown["data"]["text/plain"]
    assert "4 tasks" in summary and "1 failed (LOAD)" in summary and "1 not run" in summary
    assert any(kind.startswith("application/vnd.vegalite") for kind in shown["data"])
    create_missing_source(client)
    explorer.retry_button.click()
    explorer.confirm_button.click()
    wait_follow(explorer.state.panel)
    table = explorer.task_runs_html.value  # the same run, now with its second attempt
    assert table.count("<tr><td><b>LOAD</b></td>") == 2
    attempts = re.findall(r"<tr><td><b>LOAD</b></td><td>.*?</td><td>(\d)</td>", table)
    assert sorted(attempts) == ["1", "2"]
    (shown,) = explorer.timeline.outputs  # redrawn with the second attempt
    assert "1 failed" not in shown["data"]["text/plain"], shown["data"]["text/plain"]


def test_without_per_task_history_the_panel_says_so_in_one_line_and_shows_the_rest(client):
    panel = _failed_panel(client)

    def no_warehouse(*_args, **_kwargs):  # the fault an account without a warehouse gives
        raise SqlError(422, "000606", "No active warehouse selected in the current session. "
                       "SQL statements need a warehouse on Snowflake: pass warehouse= to sql() "
                       "or set warehouse on the connection")

    panel.state.client.task_history = no_warehouse
    panel.state._task_runs_key = None  # as for a new run
    panel.refresh_button.click()
    text = panel.task_runs_html.value
    assert "per-task states unavailable" in text and "000606" in text and "warehouse" in text
    assert panel.state.error == "" and "FAILED" in panel.runs_html.value  # the rest is there
    assert not panel.buttons["retry"].disabled


def test_the_panels_drawing_is_interactive_and_coloured_by_each_tasks_state(client):
    from tasknb.widgets import GraphView

    panel = _failed_panel(client, draw=True)
    view = panel.drawing
    assert isinstance(view, GraphView) and "<svg" in view.svg
    assert view.states == {"ROOT": "SUCCEEDED", "LOAD": "FAILED", "PUBLISH": "NOT_RUN",
                           "CLEANUP": "SUCCEEDED"}
    assert "missing_source" in str(view.details["LOAD"]["error"]).lower()
    view.selected = "LOAD"  # what a click on the node sends from the browser
    assert panel.task_picker.value == "LOAD" and panel.details_box.selected_index == 0
    assert "select count(*) from missing_source" in panel.details.value
    create_missing_source(client)
    panel.buttons["retry"].click()
    wait_follow(panel.state)
    assert set(view.states.values()) == {"SUCCEEDED"}, view.states  # redrawn after the retry
