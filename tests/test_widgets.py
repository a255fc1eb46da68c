"""The control panels, clicked from Python against the real local server over loopback.

No browser and no mocks of the client: each test starts ``tasknb.local`` on 127.0.0.1, builds a
small graph through the client, clicks the panel's buttons with ``Button.click()`` and checks
both the widgets (enabled, tooltips, hint line, confirm box, follow line, tables) and the
server (read back through a second client). Helpers live in ``tests/widget_support.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from widget_support import DB, FAST_POLL, RUN_WAIT, SC, local_server, schema_client
from widget_support import create_missing_source as _create_missing_source
from widget_support import ensure_schema as _ensure_schema
from widget_support import fail_once as _fail_once
from widget_support import graph as _graph
from widget_support import panel_on as _panel
from widget_support import shown as _shown
from widget_support import tick as _tick
from widget_support import wait_follow as _wait_follow

import tasknb
import tasknb.local
from tasknb.models import MinutesSchedule, Task
from tasknb.widgets import (
    RunExplorer,
    duration_chart,
    execute_and_wait,
    run_history,
)

# -- enabled / disabled, with reasons ----------------------------------------------------------


@pytest.fixture
def server(tmp_path) -> Iterator[tasknb.local.LocalServer]:
    yield from local_server(tmp_path)


@pytest.fixture
def client(server):
    yield from schema_client(server)


@pytest.fixture
def observer(server):
    """A second client: what the server says, independent of the panel's own client."""
    yield from schema_client(server)


def test_started_root_offers_suspend_and_execute_and_says_why_resume_and_retry_are_off(client):
    _graph(client, root_state="started")
    panel = _panel(client)
    b = panel.buttons
    assert not b["execute"].disabled and not b["suspend"].disabled
    assert b["resume"].disabled and b["resume"].tooltip == "ROOT is already started"
    assert b["retry"].disabled and "no recent graph run" in b["retry"].tooltip
    assert "ROOT is already started" in panel.hint.value
    assert "no recent graph run" in panel.hint.value
    assert "started" in panel.header.value and "root of a graph of 4 tasks" in panel.header.value


def test_suspended_root_offers_resume_not_suspend(client):
    _graph(client)
    panel = _panel(client)
    assert not panel.buttons["resume"].disabled
    assert panel.buttons["suspend"].disabled
    assert panel.buttons["suspend"].tooltip == "ROOT is already suspended"


def test_child_cannot_be_executed_and_is_locked_while_its_root_is_started(client):
    _graph(client, root_state="started")
    panel = _panel(client, "LOAD")
    reason = panel.buttons["execute"].tooltip
    assert panel.buttons["execute"].disabled
    assert "LOAD is a child task of ROOT" in reason and "root or standalone" in reason
    assert panel.buttons["suspend"].disabled
    assert "the root ROOT is started" in panel.buttons["suspend"].tooltip
    assert panel.buttons["retry"].disabled and "root ROOT" in panel.buttons["retry"].tooltip


def test_child_of_a_suspended_root_can_be_suspended_and_resumed(client, observer):
    _graph(client)
    panel = _panel(client, "PUBLISH")
    panel.buttons["suspend"].click()
    assert _shown(panel.confirm_box)
    assert "skipped in future graph runs of ROOT" in panel.preview.value
    panel.confirm_button.click()
    assert observer.fetch_task("PUBLISH").state == "suspended"
    panel.buttons["resume"].click()  # resuming a child is not costly: one step
    assert not _shown(panel.confirm_box)
    assert observer.fetch_task("PUBLISH").state == "started"


# -- two-step confirm --------------------------------------------------------------------------


def test_suspend_takes_two_steps_and_lists_what_it_affects(client, observer):
    _graph(client, root_state="started")
    panel = _panel(client)
    assert not _shown(panel.confirm_box)
    panel.buttons["suspend"].click()
    assert _shown(panel.confirm_box)
    assert observer.fetch_task("ROOT").state == "started"  # nothing happened yet
    for name in ("LOAD", "PUBLISH", "CLEANUP"):
        assert name in panel.preview.value
    assert panel.confirm_button.description == "Confirm suspend"
    panel.confirm_button.click()
    assert not _shown(panel.confirm_box)
    assert observer.fetch_task("ROOT").state == "suspended"
    assert panel.buttons["suspend"].disabled and not panel.buttons["resume"].disabled
    assert "ROOT suspended." in panel.notice.value
    assert "suspended</span> since " in panel.header.value  # last_suspended_on


def test_cancel_leaves_the_server_untouched(client, observer):
    _graph(client, root_state="started")
    panel = _panel(client)
    panel.buttons["suspend"].click()
    panel.cancel_button.click()
    assert not _shown(panel.confirm_box) and panel.pending is None
    assert observer.fetch_task("ROOT").state == "started"


def test_resume_of_a_scheduled_root_is_confirmed_with_its_schedule(client, observer):
    _graph(client)
    client.suspend_task("PUBLISH")
    panel = _panel(client)
    panel.buttons["resume"].click()
    assert _shown(panel.confirm_box)
    assert "60 MINUTE" in panel.preview.value
    assert "PUBLISH" in panel.preview.value  # still suspended, so skipped in runs
    panel.confirm_button.click()
    assert observer.fetch_task("ROOT").state == "started"


def test_confirm_false_acts_on_the_first_click(client, observer):
    _graph(client, root_state="started")
    panel = _panel(client, confirm=False)
    panel.buttons["suspend"].click()
    assert not _shown(panel.confirm_box)
    assert observer.fetch_task("ROOT").state == "suspended"


# -- execute and the live follow ---------------------------------------------------------------


def test_execute_starts_one_graph_run_and_follows_it_to_the_end(client, observer):
    _graph(client)
    panel = _panel(client, draw=True)
    drawing_before = panel.drawing_svg
    panel.buttons["execute"].click()
    assert "Tasks that will run: ROOT, LOAD, PUBLISH" in panel.preview.value
    assert "finalizer CLEANUP" in panel.preview.value
    started = time.monotonic()
    panel.confirm_button.click()
    assert time.monotonic() - started < 5, "the click must not wait for the run"
    assert _shown(panel.follow_box)
    _wait_follow(panel.state)
    follow = panel.state.follow
    assert follow.state == "SUCCEEDED" and not follow.active
    assert "SUCCEEDED" in panel.follow_label.value
    assert "last refreshed" in panel.follow_label.value
    assert not _shown(panel.stop_button)
    assert panel.progress.value == 1.0 and panel.progress.bar_style == "success"
    complete = observer.get_complete_graphs("ROOT", error_only=False)
    assert [r.state for r in complete] == ["SUCCEEDED"]
    assert str(complete[0].run_id) in panel.runs_html.value
    assert "SUCCEEDED" in panel.runs_html.value and "SUCCEEDED" in panel.header.value
    assert panel.drawing_svg and panel.drawing_svg != drawing_before
    assert panel.buttons["retry"].disabled
    assert "succeeded" in panel.buttons["retry"].tooltip


def test_a_run_in_progress_is_followed_live_and_named_in_the_suspend_preview(client, observer):
    client.create_task(Task("SLOW", "SELECT SYSTEM$WAIT(1)", schedule=MinutesSchedule(60)))
    client.resume_task("SLOW")
    panel = _panel(client, "SLOW", confirm=False, max_poll_interval=0.4)
    panel.buttons["execute"].click()
    deadline = time.monotonic() + RUN_WAIT
    while not panel.follow_label.value.startswith("EXECUTING") and time.monotonic() < deadline:
        time.sleep(FAST_POLL)  # the label follows the state in the follower's thread
    assert panel.follow_label.value.startswith("EXECUTING"), panel.follow_label.value
    assert _shown(panel.stop_button) and panel.state.follow.active
    assert [r.state for r in observer.get_current_graphs("SLOW")].count("EXECUTING") == 1
    preview = panel.state.preview("suspend")
    assert any("is allowed to finish" in line for line in preview.effects), preview.effects
    _wait_follow(panel.state)
    assert panel.state.follow.state == "SUCCEEDED"
    assert panel.progress.value == 1.0
    # cheap polling: the interval backs off while nothing changes (1 s run, 0.05 s start)
    assert 2 <= panel.state.follower.polls <= 12, panel.state.follower.polls


def test_a_run_started_elsewhere_can_be_watched_from_the_panel(client, observer):
    client.create_task(Task("SLOW", "SELECT SYSTEM$WAIT(1)"))
    panel = _panel(client, "SLOW")
    assert not _shown(panel.watch_button)  # nothing is running
    observer.execute_task("SLOW")  # someone else starts a run
    deadline = time.monotonic() + RUN_WAIT
    while not _shown(panel.watch_button) and time.monotonic() < deadline:
        panel.refresh_button.click()
    assert _shown(panel.watch_button)
    assert any("A run is in progress" in line for line in panel.state.preview("execute").effects)
    panel.watch_button.click()
    assert not _shown(panel.watch_button) and _shown(panel.stop_button)
    _wait_follow(panel.state)
    assert panel.state.follow.state == "SUCCEEDED"
    assert not _shown(panel.watch_button)


def test_stop_watching_stops_polling_but_not_the_run(client):
    _graph(client)
    panel = _panel(client, poll_interval=0.2)
    panel.state.start_following()
    assert panel.state.follower.is_alive() and _shown(panel.stop_button)
    assert panel.buttons["execute"].disabled  # one followed run at a time
    panel.stop_button.click()
    assert not panel.state.follower.is_alive()
    assert "stopped watching" in panel.follow_label.value
    assert not panel.buttons["execute"].disabled


# -- cancel a running graph run ---------------------------------------------------------------


def _wait_for(predicate, what: str, timeout: float = RUN_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(FAST_POLL)


def test_cancel_is_offered_only_while_a_run_executes_and_ends_it_cancelled(client, observer):
    client.create_task(Task("ROOT", "select 1", schedule=MinutesSchedule(60)))
    client.create_task(Task("LONG", "select system$wait(60)", predecessors=["ROOT"]))
    client.create_task(Task("AFTER", "select 1", predecessors=["LONG"]))
    for name in ("LONG", "AFTER"):
        client.resume_task(name)
    panel = _panel(client, max_poll_interval=0.2)
    cancel = panel.buttons["cancel"]
    assert cancel.disabled and cancel.tooltip == "ROOT has no recent graph run to cancel"
    assert "<b>Cancel run</b>: ROOT has no recent graph run to cancel" in panel.hint.value
    panel.buttons["execute"].click()
    panel.confirm_button.click()
    _wait_for(lambda: not cancel.disabled, "Cancel to be enabled by the executing run")
    [running] = [r for r in observer.get_current_graphs("ROOT") if r.state == "EXECUTING"]
    cancel.click()  # first step: what it will cancel
    assert _shown(panel.confirm_box) and panel.pending == "cancel"
    assert f"Cancel run {running.run_id} of ROOT?" in panel.preview.value
    assert "ROOT, LONG, AFTER" in panel.preview.value
    assert observer.get_complete_graphs("ROOT", error_only=False) == []  # nothing done yet
    asked = time.monotonic()
    panel.confirm_button.click()
    assert time.monotonic() - asked < 5, "the click must not wait for the run to end"
    _wait_follow(panel.state)
    assert time.monotonic() - asked < 10
    [run] = observer.get_complete_graphs("ROOT", error_only=False)
    assert run.state == "CANCELLED" and run.run_id == running.run_id
    assert run.first_error_task_name == "LONG", run
    assert panel.state.follow.state == "CANCELLED"
    assert "CANCELLED" in panel.header.value and "CANCELLED" in panel.runs_html.value
    assert panel.state.notice.startswith(f"Run {run.run_id} cancelled at LONG")
    assert cancel.disabled and "cancelled" in cancel.tooltip
    assert not panel.buttons["retry"].disabled  # a cancelled run can be retried


def test_a_cancel_that_fails_is_one_line_in_the_panel(client, observer):
    client.create_task(Task("SLOW", "select system$wait(60)"))
    observer.execute_task("SLOW")
    panel = _panel(client, "SLOW")
    _wait_for(lambda: panel.refresh() or not panel.buttons["cancel"].disabled,
              "the run to execute")
    observer.delete_task("SLOW")  # a standalone task can be dropped while it runs
    panel.buttons["cancel"].click()
    panel.confirm_button.click()
    text = panel.error_html.value
    assert _shown(panel.error_html) and "cancel run" in text and "SLOW failed:" in text, text
    assert "Traceback" not in text and "\n" not in text
    assert panel.state.follower is None  # nothing to follow after a failed cancel


# -- retry last --------------------------------------------------------------------------------


def test_failed_run_enables_retry_which_reruns_from_the_failure(client, observer):
    _graph(client, failing=True)
    panel = _panel(client)
    _fail_once(client, panel)
    assert "first error at LOAD" in panel.follow_label.value  # where it failed
    assert "failed at LOAD" in panel.notice.value  # and why, in one line
    assert "missing_source" in panel.notice.value.lower() and "\n" not in panel.notice.value
    failed = observer.get_complete_graphs("ROOT", error_only=True)[0]
    assert failed.first_error_task_name.endswith("LOAD")
    assert not panel.buttons["retry"].disabled
    panel.buttons["retry"].click()
    assert _shown(panel.confirm_box)
    assert f"Retries graph run {failed.run_id}" in panel.preview.value
    assert "Reruns LOAD, then PUBLISH" in panel.preview.value
    _create_missing_source(client)
    panel.confirm_button.click()
    _wait_follow(panel.state)
    assert panel.state.follow.state == "SUCCEEDED", panel.follow_label.value
    runs = observer.get_complete_graphs("ROOT", error_only=False)
    assert sorted(r.state for r in runs) == ["FAILED", "SUCCEEDED"]
    assert panel.buttons["retry"].disabled


def test_retry_refused_by_the_server_shows_one_line(client, observer):
    _graph(client, failing=True)
    panel = _panel(client)
    _fail_once(client, panel)
    # Another user modifies the graph after the failure: RETRY LAST is no longer allowed.
    observer.create_or_alter_task(Task("PUBLISH", "select 33", predecessors=["LOAD"]))
    panel.buttons["retry"].click()
    panel.confirm_button.click()
    line = panel.error_html.value
    assert _shown(panel.error_html)
    assert "retry last run of ROOT failed:" in line
    assert "request" in line and "Traceback" not in line and "\n" not in line


# -- errors ------------------------------------------------------------------------------------


def test_resume_of_a_task_deleted_behind_the_panels_back_is_one_readable_line(client, observer):
    client.create_task(Task("LONER", "select 1"))
    panel = _panel(client, "LONER")
    observer.delete_task("LONER")
    panel.buttons["resume"].click()
    assert _shown(panel.error_html)
    text = panel.error_html.value
    assert text.count("\n") == 0 and "Traceback" not in text
    assert "resume LONER failed:" in text
    assert "request " in text  # the request id, for support


def test_panel_on_a_missing_task_disables_everything_and_explains(client):
    panel = _panel(client, "NOPE")
    assert all(b.disabled for b in panel.buttons.values())
    assert _shown(panel.error_html) and "fetch NOPE failed:" in panel.error_html.value
    assert "not loaded" in panel.buttons["execute"].tooltip


def test_unexpected_exceptions_become_one_line_too(client):
    client.create_task(Task("LONER", "select 1"))
    panel = _panel(client, "LONER")

    class Broken:  # fault injection: a bug no server can cause, not a stand-in client
        def __getattr__(self, name):
            raise RuntimeError("socket closed\nsecond line")

    panel.state.client = Broken()
    panel.buttons["resume"].click()
    line = panel.error_html.value
    assert line.endswith("resume LONER failed: RuntimeError: socket closed second line</div>")


def test_a_server_that_went_away_is_one_line_and_keeps_the_panel_usable(client, server):
    client.create_task(Task("LONER", "select 1"))
    no_retries = tasknb.RetryPolicy(max_retries=0)
    quick = tasknb.connect(
        base_url=server.url, token=server.token, database=DB, schema=SC, retry=no_retries
    )
    panel = _panel(quick, "LONER")
    server.stop()
    panel.refresh_button.click()
    text = panel.error_html.value
    assert _shown(panel.error_html) and "fetch LONER failed:" in text
    assert "Traceback" not in text and "\n" not in text
    assert panel.header.value.count("LONER") >= 1  # the last known state stays on screen
    quick.close()


# -- standalone task ---------------------------------------------------------------------------


def test_a_panel_on_a_task_model_works_in_that_tasks_own_schema(client, server):
    import httpx

    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        r = http.post(f"/api/v2/databases/{DB}/schemas", json={"name": "ELSEWHERE"})
        assert r.status_code in (200, 409), r.text
    client.create_task(Task("AWAY", "select 1"), schema="ELSEWHERE")
    task = client.fetch_task("AWAY", schema="ELSEWHERE")
    panel = _panel(client, task)  # the client's own schema is PANELS
    assert panel.state.error == ""
    assert panel.state.task is not None and panel.state.task.schema_name == "ELSEWHERE"
    assert not panel.buttons["execute"].disabled


def test_standalone_task_executes_without_affecting_others(client, observer):
    client.create_task(Task("LONER", "select 1"))
    panel = _panel(client, "LONER", confirm=False)
    assert "standalone task" in panel.header.value
    panel.buttons["execute"].click()
    _wait_follow(panel.state)
    assert panel.state.follow.state == "SUCCEEDED"
    assert [r.state for r in observer.get_complete_graphs("LONER", error_only=False)] == [
        "SUCCEEDED"
    ]


# -- run explorer ------------------------------------------------------------------------------


def test_run_explorer_filters_picks_a_failure_and_retries_from_it(client, observer):
    _graph(client, failing=True)
    panel = _panel(client)
    _fail_once(client, panel)
    explorer = RunExplorer(client, "ROOT", poll_interval=FAST_POLL)
    explorer.state_filter.value = ("SUCCEEDED",)
    assert explorer.picker.options == () and explorer.count.value == "0 of 1 runs"
    explorer.state_filter.value = ("FAILED",)
    assert len(explorer.picker.options) == 1
    assert explorer.retry_button.disabled and "pick a failed run" in explorer.hint.value
    explorer.picker.value = explorer.picker.options[0][1]
    assert "LOAD" in explorer.run_details.value
    assert "missing_source" in explorer.run_details.value.lower()  # the error message
    assert "select count(*) from missing_source" in explorer.task_details.value  # definition
    assert not explorer.retry_button.disabled
    explorer.retry_button.click()
    assert _shown(explorer.confirm_box) and "Reruns LOAD" in explorer.preview.value
    _create_missing_source(client)
    explorer.confirm_button.click()
    _wait_follow(explorer.state.panel)
    assert explorer.state.panel.follow.state == "SUCCEEDED"
    assert explorer.state.selected is not None and explorer.state.selected.state == "FAILED"
    assert explorer.retry_button.disabled  # the failure was handled: a newer run succeeded
    assert "attempt 2 of run" in explorer.retry_button.tooltip  # attempts, not "a newer run"
    assert "newer run" not in explorer.retry_button.tooltip
    explorer.state_filter.value = ()
    assert explorer.count.value == "2 of 2 runs"


def test_run_explorer_refuses_to_retry_an_older_failure(client, server):
    _graph(client, failing=True)
    panel = _panel(client, confirm=False)
    _fail_once(client, panel)
    client.suspend_task("LOAD")  # LOAD is skipped now, so the next run succeeds
    _tick(server)
    panel.buttons["execute"].click()
    _wait_follow(panel.state)
    assert panel.state.follow.state == "SUCCEEDED"
    explorer = RunExplorer(client, "ROOT")
    explorer.state_filter.value = ("FAILED",)
    explorer.picker.value = explorer.picker.options[0][1]
    assert explorer.retry_button.disabled
    assert "only retries the latest graph run" in explorer.retry_button.tooltip


def test_run_explorer_time_window_is_measured_from_the_newest_run(tmp_path):
    from datetime import timedelta

    # a server that keeps a day of complete runs visible (Snowflake's REST shows one hour)
    with tasknb.local.start(
        data_dir=tmp_path / "day", clock="manual", complete_window=timedelta(days=1)
    ) as server:
        _ensure_schema(server)
        with server.connect(database=DB, schema=SC) as client:
            _graph(client, failing=True)
            panel = _panel(client, confirm=False)
            _fail_once(client, panel)
            server.advance("3 hours")
            client.suspend_task("LOAD")  # skipped from now on: the next run succeeds
            panel.buttons["execute"].click()
            _wait_follow(panel.state)
            explorer = RunExplorer(client, "ROOT")
            assert explorer.count.value == "2 of 2 runs"
            explorer.window.value = "last hour"
            assert explorer.count.value == "1 of 2 runs"
            assert explorer.picker.options[0][1].state == "SUCCEEDED"
            explorer.window.value = "last 24 hours"
            assert explorer.count.value == "2 of 2 runs"
            explorer.state_filter.value = ("FAILED",)
            assert explorer.count.value == "1 of 2 runs"


# -- large graphs ------------------------------------------------------------------------------


def test_a_large_graph_is_not_drawn_whole_but_a_child_panel_draws_its_neighbourhood(
    client, monkeypatch
):
    import tasknb.widgets._drawing as drawing_module

    monkeypatch.setattr(drawing_module, "DRAW_MAX_TASKS", 5)
    client.create_task(Task("C00", "select 0", schedule=MinutesSchedule(60)))
    for i in range(1, 20):
        client.create_task(Task(f"C{i:02d}", f"select {i}", predecessors=[f"C{i - 1:02d}"]))
    child_panel = _panel(client, "C10", draw=True)
    note = child_panel.drawing_note.value
    assert "showing C10 and 2 steps around it (5 of 20 tasks)" in note, note
    assert "left out" in note and "steps=" in note  # what was left out, how to see more
    svg = child_panel.drawing_svg.split("<svg", 1)[1]
    assert "C10" in svg and "C08" in svg and "C12" in svg
    assert ">C00<" not in svg and ">C19<" not in svg
    root_panel = _panel(client, "C00", draw=True)
    note = root_panel.drawing_note.value
    assert "20 tasks drawn as" in note and "groups by" in note and "focus=" in note, note


# -- charts ------------------------------------------------------------------------------------


def test_charts_draw_every_run_from_a_runs_frame(client):
    from tasknb.frames import runs_df

    _graph(client, failing=True)
    panel = _panel(client, confirm=False)
    _fail_once(client, panel)
    frame = runs_df(client, "ROOT")
    chart = duration_chart(frame, title="ROOT").html
    assert chart.count("<circle") == 1 + 3  # one run plus three legend dots
    assert "FAILED" in chart
    history = run_history(frame).html
    assert history.count("<rect") == 1 and "1 failed" in history


# -- one "latest run" for the header and the drawing -------------------------------------------


def test_header_and_drawing_agree_when_a_retry_finishes_before_its_original(client):
    """A retry (attempt 2 of the same run group) is the latest run, whatever the clocks say."""
    from datetime import datetime, timedelta, timezone

    from tasknb.models import TaskRun

    _graph(client)
    panel = _panel(client, draw=True)
    t0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    group = {"graph_run_group_id": "G-1"}
    original = TaskRun(
        "ROOT", state="FAILED", run_id=7, scheduled_time=t0, query_start_time=t0,
        completed_time=t0 + timedelta(minutes=10), first_error_task_name="LOAD",
        first_error_code=100038, first_error_message="Numeric value 'x' is not recognized",
        extra={**group, "attempt_number": 1},
    )
    retry = TaskRun(
        "ROOT", state="SUCCEEDED", run_id=7, scheduled_time=t0 + timedelta(minutes=1),
        query_start_time=t0 + timedelta(minutes=1), completed_time=t0 + timedelta(minutes=5),
        extra={**group, "attempt_number": 2},
    )
    panel.state.runs = [original, retry]  # complete-graphs order: newest completion first
    assert panel.state.latest is retry
    assert "latest run" in panel.header.value and "SUCCEEDED" in panel.header.value
    assert "at <b>" not in panel.header.value  # no failing task named in the header
    assert "last run: SUCCEEDED" in panel.drawing_svg
    assert "last run: FAILED" not in panel.drawing_svg
    assert "Numeric value" not in panel.drawing_svg


# -- execute_and_wait (for notebook cells) -----------------------------------------------------


def test_execute_and_wait_returns_the_finished_run_and_retries_from_the_failure(client, server):
    _graph(client, failing=True)
    failed = execute_and_wait(client, "ROOT", poll_interval=FAST_POLL, timeout=RUN_WAIT)
    assert failed.state == "FAILED" and failed.first_error_task_name.endswith("LOAD")
    _create_missing_source(client)
    _tick(server)
    retried = execute_and_wait(
        client, "ROOT", retry_last=True, poll_interval=FAST_POLL, timeout=RUN_WAIT
    )
    assert retried.state == "SUCCEEDED"
    assert retried.run_id == failed.run_id  # RETRY LAST keeps the run's original id
    assert retried.extra.get("attempt_number") == 2


# -- public import paths -----------------------------------------------------------------------


def test_the_public_import_paths_of_the_notebook_layer_keep_working():
    import tasknb.graph
    import tasknb.widgets
    from tasknb import runs

    for name in tasknb.widgets.__all__:
        assert getattr(tasknb.widgets, name) is not None, name
    for name in tasknb.graph.__all__:
        assert getattr(tasknb.graph, name) is not None, name
    assert tasknb.TaskPanel is tasknb.widgets.TaskPanel
    assert tasknb.RunExplorer is tasknb.widgets.RunExplorer
    assert tasknb.draw_graph is tasknb.graph.draw_graph
    assert tasknb.widgets.execute_and_wait is runs.execute_and_wait  # one definition
