"""Task-graph drawings in JupyterLab (Chromium, 1440x900): they fit, and the interactive view explores.

    .venv/bin/pytest tests/browser/test_browser_graph.py -p no:cacheprovider   # shots in test-artifacts/

A throwaway notebook against the demo server (as ./dev.sh demo): the static drawing of
NIGHTLY_ELT (what nbval, exported HTML and GitHub see) and its GraphView, then two tasks whose
conditions differ only at their end (notebook 03's TEACH_ALERT ``= 0`` and TEACH_TRANSFORM
``> 0``), drawn in their own schema so the repository's notebooks are not touched.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .harness import (
    output_with_text,
    run_all_and_wait,
    screenshot,
    svg_from_img,
    wait_for_kernel_idle,
)
from .test_jupyterlab import write_notebook

VIEWPORT = {"width": 1440, "height": 900}
NIGHTLY = ["NIGHTLY_ELT", "LOAD_CUSTOMERS", "CLEAN_ORDERS", "AGGREGATE_DAILY", "PUBLISH_REPORT",
           "EXPORT_TO_PARTNER", "NIGHTLY_FINALIZER"]
ROWS = "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('BT_EXTRACT')::INT"
SCHEMA = "BROWSER_GRAPH"

CELLS = [
    """import ipywidgets as w
import tasknb
from tasknb import Task, notebook
client = notebook.client()""",
    'tasknb.draw_graph(client, "NIGHTLY_ELT")',
    """nightly = tasknb.draw_graph(client, "NIGHTLY_ELT", interactive=True)
nightly""",
    f"""teach = notebook.client(schema="{SCHEMA}")
rows = "{ROWS}"
teach.create_or_alter_task(Task("BT_EXTRACT", "SELECT 1", warehouse="DEMO_WH"))
teach.create_or_alter_task(Task("BT_TRANSFORM", "SELECT 2", predecessors=["BT_EXTRACT"],
                                condition=f"{{rows}} > 0"))
teach.create_or_alter_task(Task("BT_ALERT", "SELECT 3", predecessors=["BT_EXTRACT"],
                                condition=f"{{rows}} = 0"))
view = tasknb.draw_graph(teach, "BT_EXTRACT", interactive=True)
picked = w.Label("selected: none")
view.observe(lambda change: setattr(picked, "value", f"selected: {{change['new'] or 'none'}}"),
             names="selected")
w.VBox([view, picked])""",
    'print(type(nightly).__name__, type(view).__name__, "cells " + "done")',
]


def _no_sideways_scrolling(page, locator) -> None:
    """Neither the element nor any ancestor up to the notebook scrolls sideways."""
    overflow = locator.evaluate(
        """(el) => { const out = [];
          for (let n = el; n && !n.classList.contains('jp-NotebookPanel'); n = n.parentElement) {
            if (n.scrollWidth > n.clientWidth + 1) out.push(`${n.className}: ${n.scrollWidth} > ${n.clientWidth}`);
          } return out; }"""
    )
    assert overflow == [], f"sideways scrolling: {overflow}"


def _inside(inner: dict, outer: dict) -> bool:
    return (inner["x"] >= outer["x"] - 1 and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1)


@pytest.mark.browser
def test_graphs_fit_at_1440_and_the_interactive_view_shows_full_conditions(
    tmp_path, lab_factory, browser_page
):
    from tasknb import local

    page = browser_page
    page.set_viewport_size(VIEWPORT)
    write_notebook(tmp_path / "graphs.ipynb", CELLS)
    with local.start(seed="demo", clock="manual", data_dir=tmp_path / "server") as server:
        server.service.ensure_schema("DEMO_DB", SCHEMA)
        lab = lab_factory(tmp_path, env={"TASKNB_URL": server.url, "TASKNB_TOKEN": server.token})
        began = time.monotonic()
        page.goto(lab.notebook_url("graphs.ipynb"))
        wait_for_kernel_idle(page)
        run_all_and_wait(page)
        expect(output_with_text(page, "cells done")).to_contain_text("GraphView GraphView")
        assert server.token not in page.content()

        # 1. the static drawing: an <img> no wider than its output, every task in view
        image = page.locator(".jp-RenderedSVG img").first
        image.scroll_into_view_if_needed()
        svg = svg_from_img(image)
        for name in NIGHTLY:
            assert f"<title>{name}</title>" in svg
        assert "NIGHTLY_ELT: run " in svg  # the run in the title
        output = page.locator(".jp-OutputArea-child:has(.jp-RenderedSVG img)").first
        assert _inside(image.bounding_box(), output.bounding_box())
        assert image.bounding_box()["x"] + image.bounding_box()["width"] <= VIEWPORT["width"]
        _no_sideways_scrolling(page, image)
        screenshot(output, "browser-graph-nightly-static.png")

        # 2. the interactive view of the same graph: fits, every task node inside the stage
        views = page.locator(".tasknb-graphview")
        expect(views).to_have_count(2)
        nightly = views.nth(0)
        nightly.scroll_into_view_if_needed()
        stage = nightly.locator(".tgv-stage")
        expect(stage.locator("svg g.tgv-node")).to_have_count(len(NIGHTLY))
        stage_box = stage.bounding_box()
        assert stage_box["x"] + stage_box["width"] <= VIEWPORT["width"]
        for node in stage.locator("svg g.tgv-node").all():
            assert _inside(node.bounding_box(), stage_box), node.get_attribute("data-task")
        _no_sideways_scrolling(page, stage)
        clean = stage.locator("g.tgv-node[data-task='CLEAN_ORDERS']")
        clean.hover()
        hover = nightly.locator(".tgv-hover")
        expect(hover).to_be_visible()
        expect(hover).to_contain_text("SYSTEM$GET_PREDECESSOR_RETURN_VALUE('NIGHTLY_ELT')::INT > 0")
        expect(hover).to_contain_text("succeeded")  # its state in the selected run
        expect(hover).to_contain_text("DEMO_WH")
        screenshot(nightly, "browser-graph-nightly-interactive-hover.png")

        # zoom and pan change what is shown; Fit shows it all again
        full = stage.locator("svg").get_attribute("viewBox")
        nightly.locator("button[data-action='in']").click()
        zoomed = stage.locator("svg").get_attribute("viewBox")
        assert zoomed != full and float(zoomed.split()[2]) < float(full.split()[2])
        box = stage.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 - 120, box["y"] + 20, steps=5)
        page.mouse.up()
        panned = stage.locator("svg").get_attribute("viewBox")
        assert float(panned.split()[0]) > float(zoomed.split()[0])  # dragged left: moved right
        nightly.locator("button[data-action='fit']").click()
        assert stage.locator("svg").get_attribute("viewBox") == full

        # 3. two conditions that differ only at their end read differently, in full on hover
        teach = views.nth(1)
        teach.scroll_into_view_if_needed()
        labels = {}
        for name in ("BT_ALERT", "BT_TRANSFORM"):
            node = teach.locator(f"g.tgv-node[data-task='{name}']")
            labels[name] = " ".join(node.locator("text").all_text_contents())
        assert labels["BT_ALERT"] != labels["BT_TRANSFORM"], labels
        assert labels["BT_ALERT"].endswith("= 0") and labels["BT_TRANSFORM"].endswith("> 0")
        teach.locator("g.tgv-node[data-task='BT_ALERT']").hover()
        expect(teach.locator(".tgv-hover")).to_contain_text(f"{ROWS} = 0")

        # clicking a task shows its details beside the drawing, and reaches the kernel
        teach.locator("g.tgv-node[data-task='BT_TRANSFORM']").click()
        details = teach.locator(".tgv-details")
        expect(details).to_be_visible()
        expect(details.locator(".tgv-field-condition")).to_have_text(
            re.compile(re.escape(f"{ROWS} > 0")))
        expect(details).to_contain_text("SELECT 2")
        expect(page.locator(".widget-label", has_text="selected:")).to_have_text(
            "selected: BT_TRANSFORM")
        details_box, stage_box = details.bounding_box(), teach.locator(".tgv-stage").bounding_box()
        assert details_box["x"] >= stage_box["x"] + stage_box["width"] - 1  # beside, not over
        assert details_box["x"] + details_box["width"] <= VIEWPORT["width"]
        shot = screenshot(teach, "browser-graph-teaching-details.png")
        assert not page.console_errors, page.console_errors
    print(f"graph browser test {time.monotonic() - began:.1f} s, {shot}")
