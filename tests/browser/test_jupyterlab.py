"""JupyterLab in Debian's headless Chromium: widgets render and clicks reach the kernel.

    .venv/bin/pytest tests/browser -p no:cacheprovider     # screenshots land in test-artifacts/

`test_widget_round_trip_in_a_throwaway_notebook` proves the harness on its own notebook
(ipywidgets Button, Label, Output with an SVG), so a failure there is the environment, not tasknb.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from .harness import (
    error_outputs,
    output_with_text,
    run_all_and_wait,
    screenshot,
    svg_from_img,
    wait_for_kernel_idle,
)

SMOKE_CELLS = [
    """import ipywidgets as w
from IPython.display import SVG

def graph(state):  # a hand-written SVG: this notebook must not depend on a layout engine
    fill = "#c62828" if state == "FAILED" else "#2e7d32"
    return SVG(
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40">'
        f'<rect width="160" height="40" fill="{fill}"/>'
        '<text x="10" y="25" fill="white">LOAD_B</text></svg>'
    )

graph("FAILED")""",
    """label, out = w.Label("status: idle"), w.Output()
button = w.Button(description="Execute ROOT")

def on_click(_):
    label.value = "status: executed"
    out.outputs = ()
    out.append_display_data(graph("SUCCEEDED"))

button.on_click(on_click)
w.VBox([button, label, out])""",
    'print("cells " + "done")',  # the source never contains the awaited output text
]


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python",
    }  # fmt: skip
    nbformat.write(nb, path)
    return path


@pytest.mark.browser
def test_widget_round_trip_in_a_throwaway_notebook(tmp_path, lab_factory, browser_page):
    page = browser_page
    write_notebook(tmp_path / "smoke.ipynb", SMOKE_CELLS)
    lab = lab_factory(tmp_path)

    began = time.monotonic()
    page.goto(lab.notebook_url("smoke.ipynb"))
    wait_for_kernel_idle(page)
    run_all_and_wait(page)
    expect(output_with_text(page, "cells done")).to_have_count(1)

    svg = svg_from_img(page.locator(".jp-RenderedSVG img").first)  # SVG renders as <img>
    assert "LOAD_B" in svg and "#c62828" in svg

    label = page.locator(".widget-label", has_text="status:")
    expect(label).to_have_text("status: idle")
    page.get_by_role("button", name="Execute ROOT").click()
    expect(label).to_have_text("status: executed")  # the click went through the kernel
    redrawn = page.locator(".widget-output .jp-RenderedSVG img")
    expect(redrawn).to_have_count(1)
    assert "#2e7d32" in svg_from_img(redrawn)

    shot = screenshot(page.locator(".widget-vbox").first, "browser-smoke-panel.png")
    elapsed = time.monotonic() - began
    print(f"jupyterlab start {lab.started_in_s:.1f} s, goto->screenshot {elapsed:.1f} s, {shot}")

    # the harness fails loudly when a cell raises, with the traceback in the message
    write_notebook(tmp_path / "broken.ipynb", ["x = 1", "raise ValueError('on ' + 'purpose')"])
    page.goto(lab.notebook_url("broken.ipynb"))
    wait_for_kernel_idle(page)
    with pytest.raises(AssertionError, match="ValueError: on purpose"):
        run_all_and_wait(page)
    expect(error_outputs(page)).to_have_count(1)
