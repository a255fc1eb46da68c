"""Starting and stopping, authentication, the clock extension, schedules, paging, login."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from local_api import T0, Api

import tasknb.local
from tasknb.local.server import LocalServer


def test_start_binds_loopback_and_temp_dir_is_removed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = set(threading.enumerate())
    server = tasknb.local.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port != 0
        assert server.data_dir.is_dir()
        assert server.token not in repr(server)
        response = httpx.get(f"{server.url}/tasknb/v1/ping",
                             headers={"Authorization": f"Bearer {server.token}"})
        assert response.json() == {"status": "ok"}
    finally:
        server.stop()
    assert not server.data_dir.exists()
    assert server.token not in caplog.text
    leftovers = [t.name for t in set(threading.enumerate()) - before
                 if t.name.startswith("tasknb-")]
    assert leftovers == []  # a thread left inside DuckDB aborts the interpreter at exit
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/tasknb/v1/ping", timeout=2)


def test_token_forms_and_401_shape(server: LocalServer) -> None:
    url = f"{server.url}/api/v2/databases"
    good = [
        {"Authorization": f"Bearer {server.token}"},
        {"Authorization": f"bearer {server.token}",
         "X-Snowflake-Authorization-Token-Type": "PROGRAMMATIC_ACCESS_TOKEN"},
        {"Authorization": f'Snowflake Token="{server.token}"'},
    ]
    for headers in good:
        assert httpx.get(url, headers=headers).status_code == 200, headers
    bad = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {server.token}"},
        {"Authorization": f"Bearer {server.token}x"},
        {"Authorization": f'Snowflake Token="{server.token[:-1]}"'},
    ]
    for headers in bad:
        response = httpx.get(url, headers=headers)
        assert response.status_code == 401, headers
        body = response.json()
        assert body["code"] == "390101" and body["error_code"] == "390101"
        assert body["request_id"] == response.headers["X-Snowflake-Request-ID"]
        assert server.token not in response.text


def test_given_token_is_used(tmp_path: os.PathLike[str]) -> None:
    fixed = "my-fixed-token-of-at-least-32-chars"
    with tasknb.local.start(token=fixed) as server:
        assert server.token == fixed
        assert httpx.get(f"{server.url}/tasknb/v1/ping",
                         headers={"Authorization": f"Bearer {fixed}"}).status_code == 200


def test_unusable_tokens_are_refused_at_start() -> None:
    for token in ("short", "has space in it", 'has"quote"'):
        with pytest.raises(ValueError, match="token"):
            tasknb.local.start(token=token)


def test_connector_login_flow(server: LocalServer) -> None:
    refused = httpx.post(f"{server.url}/session/v1/login-request",
                         json={"data": {"LOGIN_NAME": "me", "PASSWORD": "wrong"}}).json()
    assert refused["success"] is False and refused["code"] == "390100"
    login = httpx.post(f"{server.url}/session/v1/login-request",
                       json={"data": {"LOGIN_NAME": "me", "PASSWORD": server.token}}).json()
    assert login["success"] is True
    data = login["data"]
    assert data["token"] and data["masterToken"] and data["sessionId"] == 1
    session = {"Authorization": f'Snowflake Token="{data["token"]}"'}
    assert httpx.get(f"{server.url}/api/v2/databases", headers=session).status_code == 200
    pat = httpx.post(f"{server.url}/session/v1/login-request",
                     json={"data": {"AUTHENTICATOR": "PROGRAMMATIC_ACCESS_TOKEN",
                                    "TOKEN": server.token}}).json()
    assert pat["success"] is True
    assert httpx.post(f"{server.url}/session", params={"delete": "true"},
                      headers=session).json()["success"] is True
    assert httpx.post(f"{server.url}/telemetry/send").status_code == 401


def test_clock_endpoints_and_schedules(fresh_api: Api) -> None:
    api = fresh_api
    clock = api.http.get("/tasknb/v1/clock").json()
    assert clock == {"now": "2026-01-05T08:00:00.000Z", "mode": "manual"}
    api.create("hourly", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 60})
    api.create("nightly", schedule={"schedule_type": "CRON_TYPE", "cron_expr": "30 2 * * *",
                                    "timezone": "UTC"})
    api.create("off", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 1})
    api.action("HOURLY", "resume")
    api.action("NIGHTLY", "resume")
    current = api.http.get(f"{api.base}/HOURLY/current-graphs").json()
    assert [r["state"] for r in current] == ["SCHEDULED"]
    assert current[0]["scheduled_time"] == "2026-01-05T09:00:00.000Z"
    assert current[0]["next_scheduled_time"] == "2026-01-05T10:00:00.000Z"
    response = api.http.post("/tasknb/v1/clock:advance", json={"seconds": 86_400})
    assert response.status_code == 200
    body = response.json()
    assert body["now"] == "2026-01-06T08:00:00.000Z"
    runs = body["runs"]
    hourly = [r for r in runs if r["root_task_name"] == "HOURLY"]
    nightly = [r for r in runs if r["root_task_name"] == "NIGHTLY"]
    assert len(hourly) == 24 and len(nightly) == 1
    assert nightly[0]["scheduled_time"] == "2026-01-06T02:30:00.000Z"
    times = [r["scheduled_time"] for r in runs]
    assert times == sorted(times)
    assert all(r["state"] == "SUCCEEDED" and r["scheduled_from"] == "SCHEDULE" for r in runs)
    assert [r["run_id"] for r in hourly][:2] == [
        int(datetime(2026, 1, 5, 9, tzinfo=timezone.utc).timestamp() * 1000),
        int(datetime(2026, 1, 5, 10, tzinfo=timezone.utc).timestamp() * 1000)]
    # the complete-graphs window is the past 60 minutes
    recent = api.http.get(f"{api.base}/HOURLY/complete-graphs").json()
    assert [r["scheduled_time"] for r in recent] == ["2026-01-06T08:00:00.000Z",
                                                     "2026-01-06T07:00:00.000Z"]
    every = api.http.get(f"/tasknb/v1/databases/{api.database}/schemas/S/tasks/HOURLY/graph-runs",
                         params={"limit": 1000}).json()
    assert len(every) == 24
    api.action("HOURLY", "suspend")
    assert api.server.advance("2 hours") == []
    assert api.http.post("/tasknb/v1/clock:advance", json={"seconds": -1}).status_code == 400
    assert api.http.post("/tasknb/v1/clock:advance", json={"minutes": 1}).status_code == 400


def test_interval_base_resets_on_resume(fresh_api: Api) -> None:
    api = fresh_api
    api.create("r", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 10})
    api.server.advance(timedelta(minutes=3))
    api.action("R", "resume")
    runs = api.server.advance("25 minutes")
    assert [r["scheduled_time"] for r in runs] == ["2026-01-05T08:13:00.000Z",
                                                   "2026-01-05T08:23:00.000Z"]


@pytest.mark.parametrize(("policy", "held_task", "expected_runs"), [
    ("NO_OVERLAP", "CHILD", 1),            # any task of the graph still running: tick skipped
    ("ALLOW_CHILD_OVERLAP", "CHILD", 2),   # only a child running: a new graph run starts
    ("ALLOW_CHILD_OVERLAP", "R", 1),       # the root itself running: tick skipped
    ("ALLOW_ALL_OVERLAP", "R", 2),
])
def test_overlap_policy_on_schedule_ticks(fresh_api: Api, policy: str, held_task: str,
                                          expected_runs: int) -> None:
    api = fresh_api
    service = api.server.service
    api.create("r", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 1},
               overlap_policy=policy)
    api.create("child", predecessors=["r"])
    api.action("CHILD", "resume")
    api.action("R", "resume")
    key = (api.database, "S", "R")
    engine = service.engine()
    gate = threading.Event()
    reached = threading.Event()
    original = engine.run

    def held(statement: str, ctx: Any) -> None:
        if ctx.task_name == held_task:
            reached.set()
            gate.wait(10)
        original(statement, ctx)

    engine.run = held
    service.manual = False  # fire without waiting, as the real-clock loop does
    try:
        first = service._fire_scheduled([(key, T0 + timedelta(minutes=1))])
        assert reached.wait(10)
        second = service._fire_scheduled([(key, T0 + timedelta(minutes=2))])
    finally:
        service.manual = True
        gate.set()
        del engine.run
    assert len(first) + len(second) == expected_runs
    assert service.wait_idle(10)


def test_real_clock_fires_schedules(tmp_path: os.PathLike[str]) -> None:
    with tasknb.local.start() as server:
        api = Api(server, "D", "S")
        server.service.ensure_schema("D", "S")
        api.create("fast", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 0,
                                     "seconds": 10})
        service = server.service
        api.action("FAST", "resume")
        key = ("D", "S", "FAST")
        # pull the next fire near: re-arm with an anchor 9.5 s in the past
        service.ticker.arm(key, api.fetch("FAST")["schedule"],
                           service.now() - timedelta(seconds=9.5))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            runs = api.http.get(f"{api.base}/FAST/complete-graphs").json()
            if runs:
                break
            time.sleep(0.1)
        assert runs and runs[0]["scheduled_from"] == "SCHEDULE"
        assert api.http.post("/tasknb/v1/clock:advance", json={"seconds": 1}).status_code == 400
        api.close()


def test_link_paging_for_large_lists(api: Api) -> None:
    service = api.server.service
    for i in range(1005):
        service.create_task(api.database, "S", {"name": f"T{i:04d}", "definition": "select 1"})
    response = api.http.get(api.base)
    assert response.status_code == 200
    first_page = response.json()
    assert len(first_page) == 1000
    link = response.headers["Link"]
    assert 'rel="first"' in link and 'rel="next"' in link and 'rel="last"' in link
    assert "?page=1>" in link
    last_path = link.split(",")[-1].split(";")[0].strip("<>")
    page = api.http.get(last_path)
    assert page.status_code == 200
    assert [t["name"] for t in page.json()] == [f"T{i:04d}" for i in range(1000, 1005)]
    limited = api.http.get(api.base, params={"showLimit": 10})
    assert "Link" not in limited.headers and len(limited.json()) == 10


def test_advance_reads_durations_as_tasknb_durations_does(fresh_server: LocalServer) -> None:
    start = fresh_server.now()
    fresh_server.advance("1 day")
    fresh_server.advance("90s")
    fresh_server.advance(timedelta(minutes=2))
    fresh_server.advance(30)
    assert fresh_server.now() - start == timedelta(days=1, seconds=90 + 120 + 30)
    with pytest.raises(ValueError, match="soon"):
        fresh_server.advance("soon")
    assert fresh_server.now() - start == timedelta(days=1, seconds=240)


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(OSError):
            tasknb.local.start(port=port)


def test_cron_that_never_fires_is_accepted_but_never_scheduled(fresh_api: Api) -> None:
    api = fresh_api
    api.create("feb31", schedule={"schedule_type": "CRON_TYPE", "cron_expr": "0 0 31 2 *",
                                  "timezone": "UTC"})
    api.action("FEB31", "resume")
    assert api.http.get(f"{api.base}/FEB31/current-graphs").json() == []
    assert api.server.advance("30 days") == []
    run = api.execute("FEB31")
    assert run["next_scheduled_time"] == run["scheduled_time"]
