"""Helpers for the widget tests: a local server on loopback, a small graph, clicking helpers.

Imported by tests/test_widgets*.py (fixtures are imported into each test module).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import tasknb
import tasknb.local
from tasknb.models import MinutesSchedule, Task
from tasknb.widgets import TaskPanel

DB, SC = "WIDGETS_DB", "PANELS"
FAST_POLL = 0.05  # seconds between polls while a test follows a run
RUN_WAIT = 30.0  # seconds a followed run may take before a test gives up


def local_server(tmp_path) -> Iterator[tasknb.local.LocalServer]:
    """A fresh local server on a manual clock (for a fixture: ``yield from``)."""
    with tasknb.local.start(data_dir=tmp_path / "data", clock="manual") as srv:
        yield srv


def schema_client(server) -> Iterator[tasknb.TaskClient]:
    """A client on the widget tests' schema, which it creates when missing."""
    ensure_schema(server)
    with server.connect(database=DB, schema=SC) as c:
        yield c


def ensure_schema(server) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        r = http.post("/api/v2/databases", json={"name": DB})
        assert r.status_code in (200, 409), r.text
        r = http.post(f"/api/v2/databases/{DB}/schemas", json={"name": SC})
        assert r.status_code in (200, 409), r.text


def graph(client, *, failing: bool = False, root_state: str = "suspended") -> None:
    """ROOT -> LOAD -> PUBLISH with finalizer CLEANUP; LOAD reads a table that may not exist."""
    client.create_task(
        Task("ROOT", "select 1", schedule=MinutesSchedule(60), comment="nightly root")
    )
    load = "select count(*) from missing_source" if failing else "select 2"
    client.create_task(Task("LOAD", load, predecessors=["ROOT"]))
    client.create_task(Task("PUBLISH", "select 3", predecessors=["LOAD"]))
    client.create_task(Task("CLEANUP", "select 4", finalize="ROOT"))
    for name in ("LOAD", "PUBLISH", "CLEANUP"):
        client.resume_task(name)
    if root_state == "started":
        client.resume_task("ROOT")


def wait_follow(panel_state, timeout: float = RUN_WAIT) -> None:
    follower = panel_state.follower
    assert follower is not None, "no run is being followed"
    follower.join(timeout)
    assert not follower.is_alive(), f"the run was still followed after {timeout} s"


def panel_on(client, name: str = "ROOT", **options) -> TaskPanel:
    options.setdefault("poll_interval", FAST_POLL)
    options.setdefault("draw", False)
    return TaskPanel(client, name, **options)


def shown(widget) -> bool:
    return widget.layout.display != "none"


def tick(server) -> None:
    """Move the manual clock on, so that successive runs have increasing times."""
    server.advance("1 minute")


def fail_once(client, panel) -> None:
    panel.buttons["execute"].click()
    panel.confirm_button.click()
    wait_follow(panel.state)
    assert panel.state.follow.state == "FAILED"


def create_missing_source(client) -> None:
    """Fix the cause outside the graph (RETRY LAST refuses a modified graph)."""
    client.create_task(Task("FIX_SOURCE", "create table missing_source as select 1 as id"))
    client.execute_task("FIX_SOURCE")
    deadline = time.monotonic() + RUN_WAIT
    while time.monotonic() < deadline:
        runs = client.get_complete_graphs("FIX_SOURCE", error_only=False)
        if runs:
            assert runs[0].state == "SUCCEEDED", runs[0].first_error_message
            return
        time.sleep(FAST_POLL)
    raise AssertionError("FIX_SOURCE never completed")
