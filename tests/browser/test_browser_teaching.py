"""Notebook 03's change-data-capture step in JupyterLab (Chromium): what a class sees.

    .venv/bin/pytest tests/browser/test_browser_teaching.py -p no:cacheprovider   # shots in test-artifacts/

The repository's 03_teaching_task_graphs.ipynb, Run All against a local server with the demo
data (as ./dev.sh demo). Step 8 is checked as rendered: the drawing of the triggered root and
its child (with the root's WHEN condition), the stream's three INSERT rows, the merged mart,
the per-task rows of the second run (the child read "the merge changed 2 rows") and the third
run SKIPPED with no row for the child; no traceback anywhere, no token on the page.
"""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from .harness import (
    error_outputs,
    run_all_and_wait,
    screenshot,
    svg_from_img,
    wait_for_kernel_idle,
)
from .test_jupyterlab import REPO_NOTEBOOKS

TEACHING = "03_teaching_task_graphs.ipynb"
ROOT, CHILD = "TEACH_CDC_MERGE", "TEACH_CDC_REPORT"


def _cell(page, source: str, output: str):
    """The one code cell whose source contains ``source``, once its output shows ``output``."""
    cell = page.locator(".jp-CodeCell",
                        has=page.locator(".jp-InputArea-editor", has_text=source))
    expect(cell).to_have_count(1)
    expect(cell.locator(".jp-OutputArea-output", has_text=output)).not_to_have_count(0)
    cell.scroll_into_view_if_needed()
    return cell


@pytest.mark.browser
def test_teaching_notebook_change_data_capture_step_renders(tmp_path, lab_factory, browser_page):
    from tasknb import local

    root_dir = tmp_path / "notebooks"  # JupyterLab may autosave: never into the repository
    shutil.copytree(REPO_NOTEBOOKS, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1200})
    with local.start(seed="demo", clock="manual", data_dir=tmp_path / "server") as server:
        lab = lab_factory(root_dir, env={"TASKNB_URL": server.url, "TASKNB_TOKEN": server.token})
        page.goto(lab.notebook_url(TEACHING))
        wait_for_kernel_idle(page)
        run_all_and_wait(page, timeout_ms=240_000)
        expect(error_outputs(page)).to_have_count(0)
        assert server.token not in page.content(), "the local server's token is on screen"

        # the drawing of the triggered graph: both tasks, the root's condition under its name
        drawings = {image: svg_from_img(image)
                    for image in page.locator(".jp-RenderedSVG img").all()}
        cdc = [image for image, svg in drawings.items() if f"<title>{ROOT}</title>" in svg]
        assert len(cdc) == 1, f"{len(cdc)} drawings of the change-data-capture graph"
        drawing, svg = cdc[0], drawings[cdc[0]]
        assert f"<title>{CHILD}</title>" in svg
        assert "STREAM_HAS_DATA" in svg
        drawing.scroll_into_view_if_needed()
        cell = drawing.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), "
                               "' jp-CodeCell ')][1]")
        screenshot(cell, "browser-03-cdc-graph.png")

        # the stream after the first inserts: three INSERT rows, none an update
        stream = _cell(page, "INSERT INTO TEACH_ORDERS VALUES", "pad").locator("table").first
        expect(stream).to_contain_text("METADATA$ACTION")
        rows = stream.locator("tbody tr")
        expect(rows).to_have_count(3)
        for row in rows.all():
            expect(row).to_contain_text("INSERT")
            expect(row).to_contain_text("False")

        # the second run: the mart after the update and the delete, the child's return value
        steps = _cell(page, "second_merge = execute_and_wait", "the merge changed 2 rows")
        mart, per_task = steps.locator("table").nth(0), steps.locator("table").nth(1)
        expect(mart.locator("tbody tr")).to_have_count(2)
        expect(mart).not_to_contain_text("pad")
        expect(per_task.locator("tbody tr", has_text=ROOT)).to_contain_text("SUCCEEDED")
        expect(per_task.locator("tbody tr", has_text=CHILD)).to_contain_text(
            "the merge changed 2 rows")
        screenshot(steps, "browser-03-cdc-second-run.png")

        # the third run: the stream is empty, the root SKIPPED, no row for the child
        skipped = _cell(page, 'print("stream has data:"', "stream has data: False")
        table = skipped.locator("table")
        expect(table.locator("tbody tr")).to_have_count(1)
        expect(table.locator("tbody tr")).to_contain_text(ROOT)
        expect(table.locator("tbody tr")).to_contain_text("SKIPPED")
        expect(table).not_to_contain_text(CHILD)
        screenshot(skipped, "browser-03-cdc-skipped.png")
