"""Persistence: restarts keep everything; kill -9 loses nothing acknowledged; interrupted runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from local_api import T0, Api

import tasknb.local
from tasknb.local.store import Store


def test_transaction_is_atomic(tmp_path: Path) -> None:
    store = Store.in_dir(tmp_path)
    with store.transaction() as tx:
        tx.put_database({"name": "DB", "created_on": "x"})
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put_database({"name": "OTHER", "created_on": "x"})
        raise RuntimeError("abort")
    assert sorted(store.databases) == ["DB"]
    store.close()
    reopened = Store.in_dir(tmp_path)
    assert sorted(reopened.databases) == ["DB"]
    reopened.close()


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with tasknb.local.start(data_dir=data, clock="manual", start_time=T0) as server:
        api = Api(server, "D", "S")
        server.service.ensure_schema("D", "S")
        api.create("root", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 30},
                   config={"k": "v"})
        api.create("child", "select 1/0", predecessors=["root"])
        api.create("fin", finalize="root")
        api.http.post(f"{api.base}/ROOT:set-tags", json=[{"tag_name": "t", "tag_value": "1"}])
        api.action("CHILD", "resume")
        api.action("ROOT", "resume")
        runs = server.advance("1 hour")
        assert [r["state"] for r in runs] == ["FAILED", "FAILED"]
        before = {n: api.fetch(n) for n in ("ROOT", "CHILD", "FIN")}
        history_before = api.http.get("/tasknb/v1/databases/D/schemas/S/tasks/CHILD/history").json()
        api.close()
    assert data.is_dir()  # a given data dir is kept
    with tasknb.local.start(data_dir=data, clock="manual") as server:
        api = Api(server, "D", "S")
        assert api.http.get("/tasknb/v1/clock").json()["now"] == "2026-01-05T09:00:00.000Z"
        for name, task in before.items():
            assert api.fetch(name) == task
        assert api.http.get(f"{api.base}/ROOT:get-tags").json()[0]["tag_value"] == "1"
        history = api.http.get("/tasknb/v1/databases/D/schemas/S/tasks/CHILD/history").json()
        assert history == history_before
        # the schedule is armed again after the restart
        runs = server.advance("30 minutes")
        assert [r["scheduled_time"] for r in runs] == ["2026-01-05T09:30:00.000Z"]
        assert api.execute("ROOT", retryLast="True")["attempt_number"] == 2
        api.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(data: Path, port: int, token: str) -> subprocess.Popen[bytes]:
    code = textwrap.dedent(f"""
        import tasknb.local
        tasknb.local.serve(port={port}, data_dir={str(data)!r}, token={token!r})
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_up(url: str, token: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/tasknb/v1/ping",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("server did not come up")


def test_kill_9_keeps_acknowledged_writes_and_records_the_interrupted_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port, token = _free_port(), "crash-test-token-of-32-characters-or-more"
    url = f"http://127.0.0.1:{port}"
    proc = _spawn(data, port, token)
    try:
        _wait_up(url, token)
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        assert http.post("/api/v2/databases", json={"name": "D"}).status_code == 200
        base = "/api/v2/databases/D/schemas/PUBLIC/tasks"
        acknowledged = []
        for i in range(40):
            if http.post(base, json={"name": f"T{i}", "definition": "select 1"}).status_code == 200:
                acknowledged.append(f"T{i}")
        assert http.post(base, json={"name": "LONG",
                                     "definition": "select system$wait(30)"}).status_code == 200
        assert http.post(f"{base}/LONG:execute").status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            current = http.get(f"{base}/LONG/current-graphs").json()
            if current and current[0]["state"] == "EXECUTING":
                break
            time.sleep(0.02)
        assert current[0]["state"] == "EXECUTING"
        http.close()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        output = proc.stdout.read().decode() if proc.stdout else ""
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
        assert "Token:" in output and token not in output  # a given token is never shown
    with tasknb.local.start(data_dir=data) as server:
        api = Api(server, "D", "PUBLIC")
        names = [t["name"] for t in api.http.get(api.base).json()]
        assert set(acknowledged) | {"LONG"} <= set(names)
        runs = api.http.get(f"{api.base}/LONG/complete-graphs").json()
        assert [r["state"] for r in runs] == ["CANCELLED"]
        assert "stopped while this run was executing" in runs[0]["first_error_message"]
        task_runs = api.http.get("/tasknb/v1/databases/D/schemas/PUBLIC/tasks/LONG/history").json()
        assert task_runs[0]["state"] == "CANCELLED"
        assert api.http.get(f"{api.base}/LONG/current-graphs").json() == []
        api.close()


def test_stop_cancels_running_runs_quickly(tmp_path: Path) -> None:
    server = tasknb.local.start(data_dir=tmp_path / "data")
    api = Api(server, "D", "S")
    server.service.ensure_schema("D", "S")
    api.create("long", "select system$wait(30)")
    api.action("LONG", "execute")
    time.sleep(0.3)
    api.close()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 10
    with tasknb.local.start(data_dir=tmp_path / "data") as again:
        api = Api(again, "D", "S")
        runs = api.http.get(f"{api.base}/LONG/complete-graphs").json()
        assert [r["state"] for r in runs] == ["CANCELLED"]
        api.close()


def test_manual_clock_continues_after_restart_without_advance(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with tasknb.local.start(data_dir=data, clock="manual", start_time=T0) as server:
        assert server.now() == T0
    with tasknb.local.start(data_dir=data, clock="manual") as server:
        assert server.now() == T0


def test_a_data_dir_serves_one_server_at_a_time(tmp_path: Path) -> None:
    with (tasknb.local.start(data_dir=tmp_path / "data"),
          pytest.raises(RuntimeError, match="in use by another local Task server")):
        tasknb.local.start(data_dir=tmp_path / "data")
    with tasknb.local.start(data_dir=tmp_path / "data") as again:  # released by stop()
        assert again.data_dir == tmp_path / "data"


def test_stored_results_are_purged_by_age_count_and_size(tmp_path: Path) -> None:
    from tasknb.local import store as store_module

    store = Store.in_dir(tmp_path)
    try:
        now = time.time()
        store.put_result("old", "done", 200, ["[1]"],
                         now=now - store_module.RESULT_RETENTION_SECONDS - 1)
        assert store.result("old", 0) is None  # past its hour of real time: not served
        store.put_result("new", "done", 200, ["[2]", "[3]"], now=now)
        assert store.result_stats()["results"] == 1  # the old one was purged on the write
        assert store.result("new", 1)["body"] == "[3]"  # only the page asked for
        assert store.result("new", 2) == {"state": "done", "status": 200, "page_count": 2,
                                          "body": None}
        for i in range(store_module.MAX_STORED_RESULTS + 5):
            store.put_result(f"h{i}", "done", 200, ["[0]"], now=now + i)
        assert store.result_stats()["results"] == store_module.MAX_STORED_RESULTS
        assert store.result("h0", 0, now=now + 1) is None  # the oldest went first
        big = "x" * (store_module.MAX_STORED_RESULT_BYTES // 2 + 1)
        store.put_result("big1", "done", 200, [big], now=now + 1000)
        store.put_result("big2", "done", 200, [big], now=now + 1001)
        stats = store.result_stats()
        assert stats["bytes"] <= store_module.MAX_STORED_RESULT_BYTES
        assert store.result("big1", 0, now=now + 1001) is None
        assert store.result("big2", 0, now=now + 1001)["body"] == big  # never the newest
    finally:
        store.close()


def test_list_pages_are_kept_within_count_bytes_and_age() -> None:
    from tasknb.local.api.results import ListPages

    pages = ListPages(max_results=3, max_bytes=100, retention_s=3600)
    handles = [pages.put([b"[1]", b"[2]"]) for _ in range(5)]
    assert pages.stats()["lists"] == 3
    assert pages.page(handles[0], 0) is None and pages.page(handles[-1], 1) == b"[2]"
    huge = pages.put([b"x" * 500])  # bigger than the budget: kept alone, as the newest
    assert pages.stats() == {"lists": 1, "bytes": 500} and pages.page(huge, 0) == b"x" * 500
    expiring = ListPages(retention_s=0.0)
    handle = expiring.put([b"[1]"])
    time.sleep(0.01)
    assert expiring.page(handle, 0) is None  # real time, whatever the server's clock says


def test_list_pages_outlive_the_manual_clock_and_are_read_one_by_one(tmp_path: Path) -> None:
    with tasknb.local.start(data_dir=tmp_path / "data", clock="manual", start_time=T0) as server:
        service = server.service
        service.ensure_schema("D", "S")
        for i in range(2001):
            service.create_task("D", "S", {"name": f"T{i:04d}", "definition": "select 1"})
        api = Api(server, "D", "S")
        first = api.http.get("/api/v2/databases/D/schemas/S/tasks")
        assert first.status_code == 200 and len(first.json()) == 1000
        last = first.links["last"]["url"]
        server.advance("2 days")  # the manual clock moves: the result's age is real time
        pages = [api.http.get(last.replace("page=2", f"page={n}")) for n in (0, 1, 2)]
        assert [p.status_code for p in pages] == [200, 200, 200]
        names = [t["name"] for p in pages for t in p.json()]
        assert names == [f"T{i:04d}" for i in range(2001)]
        beyond = api.http.get(last.replace("page=2", "page=3"))
        assert beyond.status_code == 400 and "pages 0 to 2" in beyond.json()["message"]
        api.close()
