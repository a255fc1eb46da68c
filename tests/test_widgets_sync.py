"""Widgets that agree (issue 11): one source of truth per root, one clock, errors as one line.

Against the real local server over loopback, clicking with ``Button.click()``: a panel and an
explorer on the same root refresh together after an action from either (also a refused one),
times come from the server's clock (kept days away from this machine's), a panel that cannot
load is one line, and a child panel costs the same few requests however deep it sits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from widget_support import (
    DB,
    FAST_POLL,
    RUN_WAIT,
    SC,
    create_missing_source,
    ensure_schema,
    fail_once,
    graph,
    panel_on,
    schema_client,
    shown,
    wait_follow,
)

import tasknb
import tasknb.local
from tasknb.models import MinutesSchedule, Task
from tasknb.widgets import RunExplorer, TaskPanel

#: The server's manual clock runs this far ahead of this machine's (as the demo's may).
AHEAD = timedelta(days=5)


@pytest.fixture
def server(tmp_path) -> Iterator[tasknb.local.LocalServer]:
    start = datetime.now(timezone.utc).replace(microsecond=0) + AHEAD
    with tasknb.local.start(data_dir=tmp_path / "data", clock="manual", start_time=start) as srv:
        yield srv


@pytest.fixture
def client(server):
    yield from schema_client(server)


@pytest.fixture
def observer(server):
    yield from schema_client(server)


def _retry_enabled(panel: TaskPanel) -> bool:
    return not panel.buttons["retry"].disabled


# -- one source of truth per root ----------------------------------------------------------------


def test_a_retry_from_the_explorer_refreshes_the_panel_below_it(client):
    graph(client, failing=True)
    panel = panel_on(client)
    fail_once(client, panel)
    explorer = RunExplorer(client, "ROOT", poll_interval=FAST_POLL)
    assert _retry_enabled(panel) and "latest run" in panel.header.value
    explorer.state_filter.value = ("FAILED",)
    explorer.picker.value = explorer.picker.options[0][1]
    create_missing_source(client)
    explorer.retry_button.click()
    explorer.confirm_button.click()
    wait_follow(explorer.state.panel)
    assert explorer.state.panel.follow.state == "SUCCEEDED"
    # the panel was never refreshed by hand: it followed the explorer's retry
    assert not _retry_enabled(panel)
    assert "the latest graph run" in panel.buttons["retry"].tooltip
    assert "SUCCEEDED" in panel.header.value.split("latest run", 1)[1]
    assert "SUCCEEDED" in panel.runs_html.value


def test_a_retry_from_the_panel_refreshes_the_explorer_and_calls_it_an_attempt(client):
    graph(client, failing=True)
    panel = panel_on(client, confirm=False)
    fail_once_unconfirmed(panel)
    explorer = RunExplorer(client, "ROOT", poll_interval=FAST_POLL)
    explorer.picker.value = explorer.picker.options[0][1]
    assert not explorer.retry_button.disabled
    create_missing_source(client)
    panel.buttons["retry"].click()
    wait_follow(panel.state)
    assert panel.state.follow.state == "SUCCEEDED"
    assert explorer.count.value == "2 of 2 runs"  # refreshed without a click on it
    assert explorer.retry_button.disabled
    tooltip = explorer.retry_button.tooltip
    assert "attempt 2 of run" in tooltip and "newer run" not in tooltip, tooltip
    assert "· attempt 2</td>" in panel.runs_html.value  # the table names the retry too
    labels = [label for label, _run in explorer.picker.options]
    assert any("attempt 2" in label and label.startswith("SUCCEEDED") for label in labels), labels


def fail_once_unconfirmed(panel: TaskPanel) -> None:
    panel.buttons["execute"].click()
    wait_follow(panel.state)
    assert panel.state.follow.state == "FAILED"


def test_a_retry_refused_with_091456_refreshes_the_panel_and_keeps_the_refusal(client, observer):
    graph(client, failing=True)
    panel = panel_on(client, confirm=False)
    fail_once_unconfirmed(panel)
    create_missing_source(client)
    # someone else retries and succeeds; this panel still shows the failure
    failed = observer.get_complete_graphs("ROOT", error_only=True)[0]
    observer.execute_task("ROOT", retry_last=True)
    deadline = time.monotonic() + RUN_WAIT
    while len(observer.get_complete_graphs("ROOT", error_only=False)) < 2:
        assert time.monotonic() < deadline, "the retry never finished"
        time.sleep(FAST_POLL)
    assert _retry_enabled(panel)  # stale, as in the issue
    panel.buttons["retry"].click()
    line = panel.error_html.value
    assert shown(panel.error_html) and "091456" in line and "retry last run of ROOT failed" in line
    assert not _retry_enabled(panel), "the refusal must refresh the panel"
    assert "SUCCEEDED" in panel.header.value.split("latest run", 1)[1]
    assert panel.state.latest.run_id == failed.run_id  # the same run, its second attempt


def test_a_closed_panel_no_longer_refreshes_with_the_others(client):
    graph(client)
    first, second = panel_on(client), panel_on(client)
    second.close()
    before = second.state.last_refreshed
    first.buttons["resume"].click()
    first.confirm_button.click()
    assert second.state.last_refreshed == before
    assert "ROOT resumed." in first.notice.value


# -- one clock: the server's ---------------------------------------------------------------------


def test_every_time_shown_comes_from_the_servers_clock(client, server):
    graph(client)
    panel = panel_on(client)
    refreshed = panel.state.last_refreshed
    assert abs(refreshed - server.now()) < timedelta(seconds=5), (refreshed, server.now())
    assert refreshed - datetime.now(timezone.utc) > AHEAD - timedelta(minutes=1)
    assert refreshed.strftime("%Y-%m-%d %H:%M") in panel.header.value
    assert "(this machine)" not in panel.header.value


def test_last_hour_is_measured_from_now_not_from_the_next_scheduled_run(client, server):
    graph(client, root_state="started")  # scheduled every 60 minutes: a SCHEDULED run ahead
    server.advance("61 minutes")  # one scheduled run happens
    explorer = RunExplorer(client, "ROOT")
    states = sorted(run.state for run in explorer.state.panel.runs)
    assert states == ["SCHEDULED", "SUCCEEDED"], states
    nxt = next(r for r in explorer.state.panel.runs if r.state == "SCHEDULED")
    assert nxt.scheduled_time > server.now() + timedelta(minutes=30)  # in the future
    explorer.window.value = "last hour"
    shown_states = sorted(run.state for _label, run in explorer.picker.options)
    assert shown_states == ["SCHEDULED", "SUCCEEDED"], explorer.count.value
    server.advance("50 minutes")  # the finished run is now more than an hour old
    explorer.refresh_button.click()
    assert "SUCCEEDED" in [run.state for _label, run in explorer.picker.options]
    server.advance("30 minutes")
    explorer.refresh_button.click()
    finished = [run for _label, run in explorer.picker.options if run.state != "SCHEDULED"]
    assert all(r.completed_time >= server.now() - timedelta(hours=1) for r in finished)


def test_states_are_picked_with_visible_checkboxes(client):
    graph(client, failing=True)
    panel = panel_on(client, confirm=False)
    fail_once_unconfirmed(panel)
    explorer = RunExplorer(client, "ROOT")
    boxes = {box.description: box for box in explorer.state_filter.boxes}
    assert set(boxes) >= {"FAILED", "SUCCEEDED", "CANCELLED"}
    assert "none ticked: all" in explorer.state_filter.children[0].value
    boxes["SUCCEEDED"].value = True
    assert explorer.count.value == "0 of 1 runs"
    boxes["FAILED"].value = True  # several at once, no Ctrl-click
    assert explorer.state_filter.value == ("FAILED", "SUCCEEDED")
    assert explorer.count.value == "1 of 1 runs"
    with pytest.raises(Exception, match="unknown choice 'BROKEN'"):
        explorer.state_filter.value = ("BROKEN",)


# -- errors as widgets ---------------------------------------------------------------------------


def test_a_panel_that_cannot_load_is_one_wrapped_line_and_nothing_else(client):
    panel = TaskPanel(client, "NOPE", draw=False)
    assert panel.children == (panel.error_html,)
    text = panel.error_html.value
    assert "fetch NOPE failed:" in text and "002003" in text
    assert "white-space:normal" in text and "overflow-wrap:anywhere" in text
    assert "\n" not in text and "Traceback" not in text and not text.rstrip("</div>").endswith("..")
    assert "not loaded" not in text
    client.create_task(Task("NOPE", "select 1"))
    panel.refresh()  # created meanwhile: the full panel comes back
    assert len(panel.children) > 1 and panel.header in panel.children


def test_long_messages_are_kept_whole_and_end_with_one_full_stop(client):
    from tasknb.models import TaskRun
    from tasknb.widgets._follow import _finished_notice

    long = "Object 'X' does not exist or not authorized. " * 8
    notice = _finished_notice(TaskRun("R", state="FAILED", run_id=7, first_error_task_name="T",
                                      first_error_code=2003, first_error_message=long))
    assert notice.endswith("not authorized.") and not notice.endswith("..")
    assert "[002003]" in notice and notice.count("not authorized") == 8


# -- small items ---------------------------------------------------------------------------------


def test_run_squares_run_newest_first_like_the_table_and_codes_are_six_digits(client, server):
    graph(client, failing=True)
    panel = panel_on(client, confirm=False)
    fail_once_unconfirmed(panel)
    server.advance("1 minute")
    client.suspend_task("LOAD")  # skipped from now on: the next run succeeds
    panel.buttons["execute"].click()
    wait_follow(panel.state)
    strip = panel.strip.value
    assert strip.index("SUCCEEDED") < strip.index("FAILED")  # newest left
    table = panel.runs_html.value
    assert table.index("SUCCEEDED") < table.index("FAILED")  # newest on top
    assert "[002003]" in table and "[2003]" not in table
    assert "&lt;NA&gt;" not in table and "<NA>" not in table and "nan" not in table


# -- O(1) requests in the depth of the graph (issue 13) ------------------------------------------


class CountingTransport(httpx.BaseTransport):
    """Counts the requests a client sends (a real HTTP transport underneath)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_child_panel_costs_the_same_few_requests_at_any_depth(server):
    ensure_schema(server)
    with server.connect(database=DB, schema=SC) as setup:
        setup.create_task(Task("C0", "select 0", schedule=MinutesSchedule(60)))
        for i in range(1, 31):
            setup.create_task(Task(f"C{i}", f"select {i}", predecessors=[f"C{i - 1}"]))
    counts = {}
    for name in ("C0", "C3", "C30"):
        transport = CountingTransport()
        with tasknb.connect(base_url=server.url, token=server.token, database=DB, schema=SC,
                            transport=transport) as counted:
            panel = TaskPanel(counted, name, draw=False)
            assert panel.state.error == "" and panel.state.root_name == "C0"
            assert len(panel.state.graph_tasks) == 31
            opened = len(transport.paths)
            panel.refresh_button.click()
            counts[name] = (opened, len(transport.paths) - opened)
            panel.close()
    assert counts["C3"] == counts["C30"], counts  # depth costs nothing
    assert all(opened <= 10 and again <= 10 for opened, again in counts.values()), counts
