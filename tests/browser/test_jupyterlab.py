"""JupyterLab in Debian's headless Chromium: widgets render and clicks reach the kernel.

    .venv/bin/pytest tests/browser -p no:cacheprovider     # screenshots land in test-artifacts/

`test_widget_round_trip_in_a_throwaway_notebook` proves the harness on its own notebook
(ipywidgets Button, Label, Output with an SVG), so a failure there is the environment, not tasknb.
`test_investigate_failures_notebook_actions_in_the_panel` is the real thing: the repository's
02_investigate_failures.ipynb against a local server, Retry (or Execute) clicked in its
TaskPanel, the new run's state read on screen and checked against the server, then Suspend
and Resume with the header's state and the buttons following.
"""

from __future__ import annotations

import re
import shutil
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
    widget_button,
)

REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
INVESTIGATE = "02_investigate_failures.ipynb"
DEMO_DATABASE, DEMO_SCHEMA = "DEMO_DB", "PIPELINES"
# TaskPanel captions (tasknb.widgets.BUTTON_LABELS), in the order the test prefers them
ACTIONS = ("Retry last failed run", "Execute")
RUN_STATE = re.compile(r"^\s*(EXECUTING|SUCCEEDED|FAILED|CANCELLED|SKIPPED)\b")
ENDED = re.compile(r"^\s*(SUCCEEDED|FAILED|CANCELLED)\b")
FOLLOW_TIMEOUT_MS = 60_000
CONFIRM_WAIT_MS = 15_000

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


def complete_runs(server, root: str) -> list:
    """The complete graph runs of `root` (newest first), as the server reports them."""
    with server.connect(database=DEMO_DATABASE, schema=DEMO_SCHEMA) as client:
        return list(client.get_complete_graphs(root, error_only=False))


def click_and_confirm(panel, caption: str, outcome) -> None:
    """Click a panel button, then its Confirm step when the panel asks for one.

    `outcome` must be a locator that becomes visible only once the action took effect:
    waiting for "confirm or outcome" avoids guessing whether this action takes two steps.
    """
    widget_button(panel, caption).click()
    confirm = widget_button(panel, f"Confirm {caption.lower()}")
    expect(confirm.or_(outcome).filter(visible=True).first).to_be_visible()
    if confirm.is_visible():  # two steps: the preview says what will happen first
        expect(panel.locator(".tasknb-preview")).to_be_visible()
        confirm.click()
    expect(outcome.first).to_be_visible(timeout=FOLLOW_TIMEOUT_MS)


def header_badge(panel, state: str):
    """The state pill in the panel's header for a task state (started/suspended)."""
    return panel.locator(f".tasknb-header .tasknb-state[data-state='{state}']")


def fetch_state(server, name: str) -> str:
    with server.connect(database=DEMO_DATABASE, schema=DEMO_SCHEMA) as client:
        return client.fetch_task(name).state


def pick_panel_action(page):
    """(panel, caption) of the first TaskPanel whose Retry (else Execute) button is enabled."""
    panels = page.locator(".tasknb-panel")
    expect(panels.first).to_be_visible()
    for caption in ACTIONS:
        for index in range(panels.count()):
            panel = panels.nth(index)
            button = widget_button(panel, caption)
            if button.count() == 1 and button.is_enabled():
                return panel, caption
    raise AssertionError(
        f"no TaskPanel in {INVESTIGATE} has an enabled {' or '.join(ACTIONS)} button"
    )


@pytest.mark.browser
def test_investigate_failures_notebook_actions_in_the_panel(tmp_path, lab_factory, browser_page):
    from tasknb import local

    source = REPO_NOTEBOOKS / INVESTIGATE
    assert source.exists(), f"notebooks/{INVESTIGATE} is missing (issue 4 notebook)"
    root_dir = tmp_path / "notebooks"  # JupyterLab may autosave: never into the repository
    shutil.copytree(REPO_NOTEBOOKS, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1800})  # the whole panel in the shot

    with local.start(seed="demo", clock="manual", data_dir=tmp_path / "server") as server:
        # as under ./dev.sh demo: the kernel attaches to this server through tasknb.notebook
        lab = lab_factory(root_dir, env={"TASKNB_URL": server.url, "TASKNB_TOKEN": server.token})
        began = time.monotonic()
        page.goto(lab.notebook_url(INVESTIGATE))
        wait_for_kernel_idle(page)
        run_all_and_wait(page, timeout_ms=240_000)
        ran_in = time.monotonic() - began
        assert server.token not in page.content(), "the local server's token is on screen"

        panel, caption = pick_panel_action(page)
        panel.scroll_into_view_if_needed()
        task = panel.locator(".tasknb-header b").first.inner_text().strip()
        runs_before = complete_runs(server, task)
        table_rows = panel.locator("table.tasknb-runs tbody tr")
        rows_before = table_rows.count()
        follow = panel.locator(".widget-label", has_text=RUN_STATE)
        shown_before = follow.all_inner_texts()  # usually nothing: no run followed yet

        clicked = time.monotonic()
        # the panel follows the new graph run until it ends, then shows its state
        ended = follow.filter(has_text=ENDED)
        click_and_confirm(
            panel, caption, ended.filter(has_not_text=shown_before[0]) if shown_before else ended
        )
        followed_in = time.monotonic() - clicked
        runs_after = complete_runs(server, task)
        assert len(runs_after) == len(runs_before) + 1, "the click did not make one graph run"
        newest = max(runs_after, key=lambda run: run.completed_time)
        expect(follow).to_have_text(re.compile(rf"^\s*{newest.state}\b"))  # screen == server
        expect(panel.locator(".tasknb-header")).to_contain_text(f"latest run {newest.state}")
        expect(table_rows).to_have_count(rows_before + 1)  # the runs table redrew with it
        shot = screenshot(panel, "browser-02-investigate-failures-panel.png")

        # Suspend (two steps) and Resume: the task's state badge and the buttons follow
        expect(header_badge(panel, "started")).to_have_count(1)
        click_and_confirm(panel, "Suspend", header_badge(panel, "suspended"))
        expect(widget_button(panel, "Resume")).to_be_enabled()
        expect(widget_button(panel, "Suspend")).to_be_disabled()
        assert fetch_state(server, task) == "suspended"
        click_and_confirm(panel, "Resume", header_badge(panel, "started"))
        expect(widget_button(panel, "Suspend")).to_be_enabled()
        assert fetch_state(server, task) == "started"
    print(
        f"jupyterlab start {lab.started_in_s:.1f} s, open+run all {ran_in:.1f} s, "
        f"{caption} -> {newest.state} on screen in {followed_in:.1f} s, {shot}"
    )
