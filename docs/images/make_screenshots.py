"""Take the README's screenshots from the real notebooks, as JupyterLab shows them.

    .venv/bin/python docs/images/make_screenshots.py     # writes docs/images/*.png

Starts the local server with the demo data, a JupyterLab on 127.0.0.1 (the browser test's
harness, tests/browser/harness.py) and Debian's headless Chromium 1440 px wide, runs
notebooks/01_explore.ipynb and notebooks/02_investigate_failures.ipynb unchanged (Run All),
and saves element screenshots of their outputs: the drawing 01 ends with, the RunExplorer of
02 on the failed run, and 02's TaskPanel. Nothing is downloaded; nothing secret is on screen.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.harness import (
    CHROMIUM_ARGS,
    JupyterLab,
    chromium_path,
    run_all_and_wait,
    wait_for_kernel_idle,
)

PANEL_PNG = HERE / "task-panel.png"
GRAPH_PNG = HERE / "task-graph.png"
EXPLORER_PNG = HERE / "run-explorer.png"
VIEWPORT = {"width": 1440, "height": 2400}  # 1440 px wide as in the browser tests; tall: no cut
NOTEBOOKS = ("01_explore.ipynb", "02_investigate_failures.ipynb")


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tasknb import local

    with tempfile.TemporaryDirectory(prefix="tasknb-shots-") as tmp:
        root = Path(tmp) / "notebooks"
        root.mkdir()
        for name in NOTEBOOKS:
            shutil.copy(REPO / "notebooks" / name, root / name)
        with local.start(seed="demo", clock="manual", data_dir=Path(tmp) / "server") as server:
            env = {"TASKNB_URL": server.url, "TASKNB_TOKEN": server.token}
            with JupyterLab(root, env=env) as lab, sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(180_000)
                page.goto(lab.notebook_url(NOTEBOOKS[0]))
                wait_for_kernel_idle(page)
                run_all_and_wait(page)
                # what 01 ends with: the drawing of the largest graph, in its output area
                last = page.locator(".jp-CodeCell").last.locator(".jp-OutputArea-output").last
                last.scroll_into_view_if_needed()
                last.screenshot(path=str(GRAPH_PNG))
                page.goto(lab.notebook_url(NOTEBOOKS[1]))
                wait_for_kernel_idle(page)
                run_all_and_wait(page)
                for selector, path in ((".tasknb-explorer", EXPLORER_PNG),
                                       (".tasknb-panel", PANEL_PNG)):
                    element = page.locator(selector).first
                    element.scroll_into_view_if_needed()
                    element.screenshot(path=str(path))
                browser.close()
    for path in (PANEL_PNG, GRAPH_PNG, EXPLORER_PNG):
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
