"""Take the README's screenshots: the control panel and a drawn task graph, in JupyterLab.

    .venv/bin/python docs/images/make_screenshots.py     # writes docs/images/*.png

Starts the local server with the demo data, a JupyterLab on 127.0.0.1 (the browser test's
harness, tests/browser/harness.py) and Debian's headless Chromium, runs a small notebook and
saves element screenshots. Nothing is downloaded; nothing secret is on screen.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.harness import (
    CHROMIUM_ARGS,
    JupyterLab,
    chromium_path,
    run_all_and_wait,
    wait_for_kernel_idle,
    widget_button,
)

PANEL_PNG = HERE / "task-panel.png"
GRAPH_PNG = HERE / "task-graph.png"
EXPLORER_PNG = HERE / "run-explorer.png"
VIEWPORT = {"width": 1500, "height": 2200}
FOLLOW_TIMEOUT_MS = 60_000

CELLS = [
    """\
import tasknb
from tasknb import notebook
from tasknb.widgets import execute_and_wait

client = notebook.client()
execute_and_wait(client, "MARKETING_METRICS").state""",
    """\
explorer = tasknb.RunExplorer(client, "MARKETING_METRICS")
explorer.state_filter.value = ("FAILED",)
explorer.picker.value = explorer.picker.options[0][1]
explorer""",
    """\
panel = tasknb.TaskPanel(client, "MARKETING_METRICS")
panel""",
]


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from tasknb import local
    from tasknb.graph import draw_graph, render_svg

    with tempfile.TemporaryDirectory(prefix="tasknb-shots-") as tmp:
        root = Path(tmp) / "notebooks"
        root.mkdir()
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
        nb.metadata["kernelspec"] = {
            "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python",
        }  # fmt: skip
        nbformat.write(nb, root / "shots.ipynb")
        with local.start(seed="demo", clock="manual", data_dir=Path(tmp) / "server") as server:
            env = {"TASKNB_URL": server.url, "TASKNB_TOKEN": server.token}
            with JupyterLab(root, env=env) as lab, sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(90_000)
                page.goto(lab.notebook_url("shots.ipynb"))
                wait_for_kernel_idle(page)
                run_all_and_wait(page)
                page.locator(".tasknb-explorer").first.screenshot(path=str(EXPLORER_PNG))
                panel = page.locator(".tasknb-panel").first
                widget_button(panel, "Retry last failed run").click()
                expect(panel.locator(".tasknb-preview")).to_be_visible()
                panel.screenshot(path=str(PANEL_PNG))
                # the drawing on its own page, at its natural size
                with server.connect(database="DEMO_DB", schema="PIPELINES") as client:
                    svg = render_svg(draw_graph(client, "NIGHTLY_ELT"))
                svg = svg[svg.find("<svg"):]
                page.set_content(f"<html><body style='margin:8px;background:white'>{svg}</body></html>")
                page.locator("svg").first.screenshot(path=str(GRAPH_PNG))
                browser.close()
    for path in (PANEL_PNG, GRAPH_PNG, EXPLORER_PNG):
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
