"""Benchmark: what a TaskPanel costs on a deep child, in requests and time, at 20 ms latency.

    .venv/bin/python benchmarks/bench_panel.py            # 1,000-task chain, 5 repeats
    .venv/bin/python benchmarks/bench_panel.py --quick    # 200-task chain, 2 repeats

A 1,000-task chain (``C0000 -> C0001 -> ... -> C0999``) on the local server (a child process,
so the client never shares a GIL with it). Every request goes through a transport that waits
``--latency`` ms (default 20, a near cloud region) before sending and counts what it sends.

The chain runs once first, so each panel also reads the per-task rows of that run (TASK_HISTORY
through the SQL API: 1,000 rows).

* **child panel**: ``TaskPanel(client, "C0500", draw=False)`` opening, then its Refresh.
  Targets (issue 13): at most 10 requests and under 1 s, on open and on Refresh.
* **root panel** (the baseline, same run): ``TaskPanel(client, "C0000")``: the same graph
  from its root, which never had to walk. The ratio child / root should be about 1.
One warm-up open is not counted (a kernel's first panel also pays for its imports).

* **per-level walk** (the old way, measured once): one ``fetch_task`` per predecessor from
  C0500 up to the root, as the panel did before issue 13.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server_proc import ServerProcess

import tasknb
from tasknb.models import MinutesSchedule, Task
from tasknb.widgets import TaskPanel, execute_and_wait

DB, SC = "BENCH_DB", "PANELS"
REQUEST_TARGET = 10
SECONDS_TARGET = 1.0


class SlowTransport(httpx.BaseTransport):
    """A real HTTP transport that waits ``latency`` seconds before each request and counts."""

    def __init__(self, latency: float) -> None:
        self.inner = httpx.HTTPTransport()
        self.latency = latency
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        time.sleep(self.latency)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def build_chain(url: str, token: str, length: int) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        for path, body in (("/api/v2/databases", {"name": DB}),
                           (f"/api/v2/databases/{DB}/schemas", {"name": SC})):
            assert http.post(path, json=body).status_code in (200, 409)
    with tasknb.connect(base_url=url, token=token, database=DB, schema=SC) as client:
        client.create_task(Task("C0000", "select 0", schedule=MinutesSchedule(60)))
        for i in range(1, length):
            client.create_task(Task(f"C{i:04d}", f"select {i}", predecessors=[f"C{i - 1:04d}"]))


def measure(url: str, token: str, name: str, latency: float) -> tuple[int, float, int, float, int]:
    """(requests, seconds) to open a panel on ``name``, then to Refresh it; and its graph size."""
    transport = SlowTransport(latency)
    with tasknb.connect(base_url=url, token=token, database=DB, schema=SC,
                        transport=transport) as client:
        began = time.perf_counter()
        panel = TaskPanel(client, name, draw=False)
        opened_s = time.perf_counter() - began
        opened = transport.count
        assert panel.state.error == "", panel.state.error
        began = time.perf_counter()
        panel.refresh_button.click()
        refresh_s = time.perf_counter() - began
        again = transport.count - opened
        size = len(panel.state.graph_tasks)
        panel.close()
    return opened, opened_s, again, refresh_s, size


def old_walk(url: str, token: str, name: str, latency: float) -> tuple[int, float]:
    """The per-level walk panels did before: one fetch per predecessor up to the root."""
    transport = SlowTransport(latency)
    with tasknb.connect(base_url=url, token=token, database=DB, schema=SC,
                        transport=transport) as client:
        began = time.perf_counter()
        task = client.fetch_task(name)
        while task.predecessors:
            task = client.fetch_task(task.predecessors[0].split(".")[-1])
        return transport.count, time.perf_counter() - began


def spread(values: list[float], unit: float = 1000.0, suffix: str = " ms") -> str:
    return (f"{min(values) * unit:.0f} / {statistics.median(values) * unit:.0f} / "
            f"{max(values) * unit:.0f}{suffix}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--latency", type=float, default=20.0, help="ms before each request")
    args = parser.parse_args()
    length = 200 if args.quick else 1000
    repeats = 2 if args.quick else 5
    latency = args.latency / 1000.0
    child = f"C{length // 2:04d}"
    with ServerProcess(clock="manual") as (url, token):
        began = time.perf_counter()
        build_chain(url, token, length)
        print(f"built a {length}-task chain in {time.perf_counter() - began:.1f} s; "
              f"latency {args.latency:.0f} ms per request")
        began = time.perf_counter()
        with tasknb.connect(base_url=url, token=token, database=DB, schema=SC) as client:
            run = execute_and_wait(client, "C0000", timeout=600)  # panels show its task rows
        print(f"one graph run ({run.state}) in {time.perf_counter() - began:.1f} s")
        measure(url, token, child, latency)  # warm-up: first imports (pandas, graph) not counted
        results: dict[str, list[tuple[int, float, int, float, int]]] = {child: [], "C0000": []}
        for _ in range(repeats):  # interleaved, so that noise hits both alike
            for name, rows in results.items():
                rows.append(measure(url, token, name, latency))
        walk_requests, walk_s = old_walk(url, token, child, latency)
    ok = True
    for name, rows in results.items():
        opened = [r[0] for r in rows]
        again = [r[2] for r in rows]
        print(f"{name} (graph of {rows[0][4]} tasks): open {max(opened)} requests, "
              f"{spread([r[1] for r in rows])} (min/median/max); Refresh {max(again)} requests, "
              f"{spread([r[3] for r in rows])}")
    child_rows, root_rows = results[child], results["C0000"]
    ratio = statistics.median(r[1] for r in child_rows) / statistics.median(r[1] for r in root_rows)
    print(f"child / root open time (medians): {ratio:.2f}x")
    print(f"per-level walk (before issue 13), walk alone: {walk_requests} requests, {walk_s:.1f} s")
    worst_requests = max(max(r[0], r[2]) for r in child_rows)
    worst_s = max(max(r[1], r[3]) for r in child_rows)
    for label, good in (
        (f"at most {REQUEST_TARGET} requests on open and Refresh ({worst_requests})",
         worst_requests <= REQUEST_TARGET),
        (f"under {SECONDS_TARGET:.0f} s on open and Refresh ({worst_s:.2f} s worst)",
         worst_s < SECONDS_TARGET),
    ):
        print(("PASS " if good else "FAIL ") + label)
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
