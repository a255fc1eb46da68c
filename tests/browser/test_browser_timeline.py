"""The run timeline in JupyterLab (Chromium): Vega-Lite renders natively, offline, with tooltips.

    .venv/bin/pytest tests/browser/test_browser_timeline.py -p no:cacheprovider   # shot in test-artifacts/

A throwaway notebook starts a manual-clock local server in the kernel, runs a graph whose
run has two failures, a skipped task and a task that never ran, and shows its timeline.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .harness import output_with_text, run_all_and_wait, screenshot, wait_for_kernel_idle
from .test_jupyterlab import write_notebook

CELLS = [
    """from tasknb import Task, timeline
from tasknb.runs import execute_and_wait
from tasknb import local
from tasknb.testing import local_client
server = local.start(clock="manual")  # stopped with the kernel
client = local_client(server, database="TL", schema="BROWSER")
client.create_task(Task("ROOT", "SELECT 1"))
client.create_task(Task("LOAD", "SELECT SYSTEM$WAIT(0.3)", predecessors=["ROOT"]))
client.create_task(Task("MISSING", "SELECT * FROM no_such_table", predecessors=["ROOT"]))
client.create_task(Task("ALSO_MISSING", "SELECT * FROM nor_this", predecessors=["LOAD"]))
client.create_task(Task("SKIP", "SELECT 1", predecessors=["ROOT"], condition="1 = 0"))
client.create_task(Task("AFTER", "SELECT 1", predecessors=["MISSING"]))
for name in ("LOAD", "MISSING", "ALSO_MISSING", "SKIP", "AFTER"):
    client.resume_task(name)
run = execute_and_wait(client, "ROOT", poll_interval=0.05)""",
    'chart = timeline(client, "ROOT")\nchart',
    'print(chart.summary.split(": ", 1)[1], "cells " + "done")',
]


@pytest.mark.browser
def test_the_timeline_renders_in_jupyterlab(tmp_path, lab_factory, browser_page) -> None:
    page = browser_page
    write_notebook(tmp_path / "timeline.ipynb", CELLS)
    lab = lab_factory(tmp_path)
    page.goto(lab.notebook_url("timeline.ipynb"))
    wait_for_kernel_idle(page)
    run_all_and_wait(page)
    expect(output_with_text(page, "cells done")).to_contain_text(
        "6 tasks, 2 succeeded, 2 failed (ALSO_MISSING, MISSING), 1 skipped, 1 not run")
    # JupyterLab's own Vega-Lite 5 renderer (no CDN): a drawn chart, not the text fallback
    rendered = page.locator(".jp-RenderedVegaCommon5").first
    expect(rendered).to_be_visible(timeout=30_000)
    drawn = rendered.locator("canvas, svg").first
    expect(drawn).to_be_visible()
    box = drawn.bounding_box()
    assert box["width"] > 400 and box["height"] > 6 * 15, box
    assert page.locator(".jp-OutputArea-output", has_text="<Timeline").count() == 0
    screenshot(rendered, "browser-timeline.png")
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                        ).count() == 0
