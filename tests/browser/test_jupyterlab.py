"""JupyterLab in Debian's headless Chromium: widgets render and clicks reach the kernel.

    .venv/bin/pytest tests/browser -p no:cacheprovider     # screenshots land in test-artifacts/

`test_widget_round_trip_in_a_throwaway_notebook` proves the harness on its own notebook
(ipywidgets Button, Label, Output with an SVG), so a failure there is the environment, not tasknb.
`test_investigate_failures_notebook_actions_in_the_panel` is the real thing: the repository's
02_investigate_failures.ipynb, Run All against a local server (demo data, as ./dev.sh demo);
then in its TaskPanel: Execute while the graph's source is gone -> FAILED on screen; the
source back, Retry last failed run -> the same run SUCCEEDED on screen; each state checked
against the server; then Suspend and Resume with the header's pill and the buttons following.
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
DEMO_DATABASE, DEMO_SCHEMA, WAREHOUSE = "DEMO_DB", "PIPELINES", "DEMO_WH"
# After the notebook's fix, the demo's MARKETING_METRICS graph reads this table through
# LOAD_AD_SPEND; moving it away (and back) makes the next run fail (and the retry succeed).
GRAPH_ROOT, READER, SOURCE = "MARKETING_METRICS", "LOAD_AD_SPEND", "RAW.MARKETING_SPEND"
MOVED = "MARKETING_SPEND_MOVED_BY_BROWSER_TEST"
ONE_OFF_TASK = "BROWSER_TEST_SQL"
RUN_STATE = re.compile(r"^\s*(EXECUTING|SUCCEEDED|FAILED|CANCELLED|SKIPPED)\b")
FOLLOW_TIMEOUT_MS = 60_000


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


def demo_client(server):
    return server.connect(database=DEMO_DATABASE, schema=DEMO_SCHEMA)


def run_sql(server, statement: str) -> None:
    """Run one statement on the local server through a one-off standalone task."""
    from tasknb.models import Task
    from tasknb.widgets import execute_and_wait

    with demo_client(server) as client:
        client.create_or_alter_task(Task(ONE_OFF_TASK, statement, warehouse=WAREHOUSE))
        try:
            run = execute_and_wait(client, ONE_OFF_TASK)
        finally:
            client.delete_task(ONE_OFF_TASK)
    assert run.state == "SUCCEEDED", f"{statement}: {run.first_error_message}"


def complete_runs(server, root: str) -> list:
    """The complete graph runs of `root`, as the server reports them."""
    with demo_client(server) as client:
        return list(client.get_complete_graphs(root, error_only=False))


def newest_run(server, root: str):
    return max(complete_runs(server, root), key=lambda run: run.completed_time)


def header_badge(panel, state: str):
    """The state pill in the panel's header for a task state (started/suspended)."""
    return panel.locator(f".tasknb-header .tasknb-state[data-state='{state}']")


def fetch_state(server, name: str) -> str:
    with demo_client(server) as client:
        return client.fetch_task(name).state


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


@pytest.mark.browser
def test_investigate_failures_notebook_actions_in_the_panel(tmp_path, lab_factory, browser_page):
    from tasknb import local

    source = REPO_NOTEBOOKS / INVESTIGATE
    assert source.exists(), f"notebooks/{INVESTIGATE} is missing (issue 4 notebook)"
    root_dir = tmp_path / "notebooks"  # JupyterLab may autosave: never into the repository
    shutil.copytree(REPO_NOTEBOOKS, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1800})  # the whole panel in the shot
    timings = {}

    with local.start(seed="demo", clock="manual", data_dir=tmp_path / "server") as server:
        # as under ./dev.sh demo: the kernel attaches to this server through tasknb.notebook
        lab = lab_factory(root_dir, env={"TASKNB_URL": server.url, "TASKNB_TOKEN": server.token})
        began = time.monotonic()
        page.goto(lab.notebook_url(INVESTIGATE))
        wait_for_kernel_idle(page)
        run_all_and_wait(page, timeout_ms=240_000)
        timings["open + run all"] = time.monotonic() - began
        assert server.token not in page.content(), "the local server's token is on screen"

        panel = page.locator(
            ".tasknb-panel", has=page.locator(".tasknb-header", has_text=GRAPH_ROOT)
        )
        expect(panel).to_have_count(1)
        panel.scroll_into_view_if_needed()
        with demo_client(server) as client:
            assert SOURCE in client.fetch_task(READER).definition, "the demo data changed"
        follow = panel.locator(".widget-label", has_text=RUN_STATE)
        rows = panel.locator("table.tasknb-runs tbody tr")
        runs_before, rows_before = len(complete_runs(server, GRAPH_ROOT)), rows.count()

        # 1. the source disappears; Execute in the panel: the run fails, on screen
        run_sql(server, f"ALTER TABLE {DEMO_DATABASE}.{SOURCE} RENAME TO {MOVED}")
        clicked = time.monotonic()
        click_and_confirm(panel, "Execute", follow.filter(has_text=re.compile(r"^\s*FAILED")))
        timings["Execute -> FAILED"] = time.monotonic() - clicked
        failed = newest_run(server, GRAPH_ROOT)
        assert failed.state == "FAILED" and failed.first_error_task_name.endswith(READER)
        assert len(complete_runs(server, GRAPH_ROOT)) == runs_before + 1
        expect(follow).to_contain_text(str(failed.run_id))  # screen == server
        expect(panel.locator(".tasknb-header")).to_contain_text(f"latest run FAILED at {READER}")
        expect(rows).to_have_count(rows_before + 1)
        expect(widget_button(panel, "Retry last failed run")).to_be_enabled()
        # the drawing (inline SVG) redrew: the failing task carries its error
        failing_node = panel.locator("svg g.node", has_text=READER)
        expect(failing_node).to_contain_text("error 002003")
        screenshot(panel, "browser-02-investigate-failures-panel-failed.png")

        # 2. the source is back; Retry last failed run: the same run succeeds, on screen
        run_sql(
            server,
            f"ALTER TABLE {DEMO_DATABASE}.{SOURCE.split('.')[0]}.{MOVED} "
            f"RENAME TO {SOURCE.split('.')[1]}",
        )
        clicked = time.monotonic()
        click_and_confirm(
            panel, "Retry last failed run", follow.filter(has_text=re.compile(r"^\s*SUCCEEDED"))
        )
        timings["Retry -> SUCCEEDED"] = time.monotonic() - clicked
        retried = newest_run(server, GRAPH_ROOT)
        assert (retried.state, retried.run_id) == ("SUCCEEDED", failed.run_id)  # same run
        expect(follow).to_contain_text(str(retried.run_id))
        expect(panel.locator(".tasknb-header")).to_contain_text("latest run SUCCEEDED")
        expect(rows).to_have_count(rows_before + 2)
        expect(widget_button(panel, "Retry last failed run")).to_be_disabled()
        expect(failing_node).not_to_contain_text("error")
        shot = screenshot(panel, "browser-02-investigate-failures-panel.png")

        # 3. Suspend (two steps) and Resume: the task's state pill and the buttons follow
        expect(header_badge(panel, "started")).to_have_count(1)
        click_and_confirm(panel, "Suspend", header_badge(panel, "suspended"))
        expect(widget_button(panel, "Resume")).to_be_enabled()
        expect(widget_button(panel, "Suspend")).to_be_disabled()
        assert fetch_state(server, GRAPH_ROOT) == "suspended"
        click_and_confirm(panel, "Resume", header_badge(panel, "started"))
        expect(widget_button(panel, "Suspend")).to_be_enabled()
        assert fetch_state(server, GRAPH_ROOT) == "started"
    timings["jupyterlab start"] = lab.started_in_s
    print(", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()), shot)
