"""Panels that agree, in JupyterLab in Debian's headless Chromium at 1440x900 (issue 11).

    .venv/bin/pytest tests/browser/test_panels_agree.py -p no:cacheprovider

A throwaway notebook shows a TaskPanel and a RunExplorer on the same failed graph (a local
server on loopback), and a TaskPanel on a task that does not exist. In the browser:

1. Retry from the explorer: the panel below, never clicked, turns SUCCEEDED with its Retry
   disabled; the explorer calls the retry attempt 2 of the same run.
2. A new failure executed from the panel shows up in the explorer; Retry from the panel: the
   explorer's Retry is disabled, saying attempt 2 came after.
3. The panel on a missing task is one wrapped line (002003) and nothing else.
Screenshots land in test-artifacts/ (browser-agree-*.png).
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from playwright.sync_api import expect

from tasknb.models import Task

from .harness import run_all_and_wait, screenshot, wait_for_kernel_idle, widget_button

DB, SC = "UI_DB", "PANELS"
VIEWPORT = {"width": 1440, "height": 900}
RUN_TIMEOUT_MS = 60_000
RUN_WAIT_S = 60.0

CELLS = [
    f"""import os, tasknb
client = tasknb.connect(base_url=os.environ["TASKNB_URL"], token=os.environ["TASKNB_TOKEN"],
                        database={DB!r}, schema={SC!r})""",
    "panel = tasknb.TaskPanel(client, 'ROOT', poll_interval=0.2, draw=False)\npanel",
    "explorer = tasknb.RunExplorer(client, 'ROOT', poll_interval=0.2)\nexplorer",
    "tasknb.TaskPanel(client, 'NOPE')",
]


def _make_graph(client) -> None:
    client.create_task(Task("ROOT", "select 1"))
    client.create_task(Task("LOAD", "select count(*) from missing_source", predecessors=["ROOT"]))
    client.create_task(Task("PUBLISH", "select 3", predecessors=["LOAD"]))
    for name in ("LOAD", "PUBLISH"):
        client.resume_task(name)


def _run_sql(client, statement: str) -> None:
    """Change the data outside the graph (RETRY LAST refuses a modified graph)."""
    from tasknb.widgets import execute_and_wait

    client.create_or_alter_task(Task("UI_FIX", statement))
    run = execute_and_wait(client, "UI_FIX", timeout=RUN_WAIT_S, poll_interval=0.1)
    assert run.state == "SUCCEEDED", run.first_error_message


def _complete(client) -> list:
    return client.get_complete_graphs("ROOT", error_only=False)


@pytest.mark.browser
def test_panel_and_explorer_agree_after_a_retry_from_either(tmp_path, lab_factory, browser_page):
    from tasknb import local
    from tasknb.widgets import execute_and_wait

    page = browser_page
    page.set_viewport_size(VIEWPORT)
    root = tmp_path / "nb"
    root.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, root / "agree.ipynb")

    with local.start(clock="manual", data_dir=tmp_path / "server") as server, \
            server.connect(database=DB, schema=SC) as client:
        _make_graph(client)
        failed = execute_and_wait(client, "ROOT", timeout=RUN_WAIT_S, poll_interval=0.1)
        assert failed.state == "FAILED"
        lab = lab_factory(root, env={"TASKNB_URL": server.url, "TASKNB_TOKEN": server.token})
        page.goto(lab.notebook_url("agree.ipynb"))
        wait_for_kernel_idle(page)
        run_all_and_wait(page)
        assert server.token not in page.content(), "the local server's token is on screen"

        panel = page.locator(".tasknb-panel", has=page.locator(".tasknb-header", has_text="ROOT"))
        explorer = page.locator(".tasknb-explorer")
        expect(panel).to_have_count(1)
        header = panel.locator(".tasknb-header")
        expect(header).to_contain_text("latest run FAILED at LOAD")
        panel_retry = widget_button(panel, "Retry last failed run")
        expect(panel_retry).to_be_enabled()

        # 1. retry from the explorer; the panel follows without a click
        explorer.locator("label", has_text="FAILED").locator("input").check()
        expect(explorer.locator(".widget-label", has_text="1 of 1 runs")).to_be_visible()
        explorer.locator(".widget-select select").select_option(index=0)
        expect(explorer.locator(".tasknb-task-runs")).to_contain_text("LOAD")
        _run_sql(client, "create table missing_source as select 1 as id")
        widget_button(explorer, "Retry this run").click()
        widget_button(explorer, "Confirm retry").click()
        expect(header).to_contain_text("latest run SUCCEEDED", timeout=RUN_TIMEOUT_MS)
        expect(panel_retry).to_be_disabled()
        explorer_retry = widget_button(explorer, "Retry this run")
        expect(explorer_retry).to_be_disabled()
        expect(explorer_retry).to_have_attribute("title", re.compile(r"attempt 2 of run"))
        runs = _complete(client)
        assert sorted(r.state for r in runs) == ["FAILED", "SUCCEEDED"]
        assert {r.run_id for r in runs} == {failed.run_id}  # one run, two attempts
        panel.scroll_into_view_if_needed()
        screenshot(panel, "browser-agree-panel-after-explorer-retry.png")

        # 2. a new failure from the panel, then retry from the panel; the explorer follows
        _run_sql(client, "drop table missing_source")
        server.advance("1 minute")
        widget_button(panel, "Execute").click()
        widget_button(panel, "Confirm execute").click()
        expect(header).to_contain_text("latest run FAILED at LOAD", timeout=RUN_TIMEOUT_MS)
        expect(explorer.locator(".widget-label", has_text="2 of 3 runs")).to_be_visible()
        newest = explorer.locator(".widget-select select option").first
        expect(newest).to_contain_text("FAILED")
        explorer.locator(".widget-select select").select_option(index=0)
        expect(widget_button(explorer, "Retry this run")).to_be_enabled()
        _run_sql(client, "create table missing_source as select 1 as id")
        widget_button(panel, "Retry last failed run").click()
        widget_button(panel, "Confirm retry last failed run").click()
        expect(header).to_contain_text("latest run SUCCEEDED", timeout=RUN_TIMEOUT_MS)
        expect(explorer_retry).to_be_disabled(timeout=RUN_TIMEOUT_MS)
        expect(explorer_retry).to_have_attribute("title", re.compile(r"attempt 2 of run"))
        expect(explorer.locator(".widget-label", has_text="of 4 runs")).to_be_visible()
        # the explorer's own follow line (its retry of step 1) is old news now: gone
        expect(explorer.locator(".widget-label", has_text="last refreshed")).to_be_hidden()
        panel.scroll_into_view_if_needed()
        screenshot(panel, "browser-agree-panel-after-panel-retry.png")
        shot = screenshot(explorer, "browser-agree-after-panel-retry.png")

        # 3. a panel that cannot load: one wrapped line, nothing else
        failing = page.locator(".tasknb-panel", has=page.locator(".tasknb-error"))
        failing = failing.filter(has_not=page.locator(".tasknb-header"))
        expect(failing).to_have_count(1)
        error = failing.locator(".tasknb-error")
        expect(error).to_contain_text("fetch NOPE failed")
        expect(error).to_contain_text("002003")
        assert failing.locator("button").count() == 0
        box, error_box = failing.bounding_box(), error.bounding_box()
        assert box["height"] <= error_box["height"] + 12, (box, error_box)  # nothing else
        fits = error.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
        assert fits, "the error line is cut off instead of wrapping"
        line_height = error.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
        assert error_box["height"] < 4 * line_height  # a line or two, not a panel
        failing.scroll_into_view_if_needed()
        screenshot(failing, "browser-agree-failing-panel.png")
    print(f"screenshots: {shot.parent}; {time.strftime('%H:%M:%S')}")
