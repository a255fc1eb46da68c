"""Graph runs of big graphs on the local server: complete-graphs cost per row, and memory.

    .venv/bin/python benchmarks/bench_server_runs.py complete-graphs        # 1,000 tasks, 500 runs
    .venv/bin/python benchmarks/bench_server_runs.py rss --runs 10000       # long: RSS vs runs
    .venv/bin/python benchmarks/bench_server_runs.py rss --runs 300 --tasks 200   # a quick look

``complete-graphs``: a 1,000-task graph (a root, 99 children, 900 grandchildren) and a 1-task root, each with
500 completed graph runs recorded as the runner records them (the big graph's with its 1,000
per-task states), served by the server in its own process. Measured, interleaved:
``GET .../complete-graphs`` (default ``resultLimit``, 500 rows each) of both, read as bytes.
Targets: the big graph's answer under 100 ms, and its cost per row within 1.5x of the
1-task root's (constant time per row, whatever the graph's size).

``rss``: a server (own process, manual clock) runs ``--runs`` graph runs of a ``--tasks``-task
graph (``:execute``, each waited for) and the server's RSS is read from /proc every
``--every`` runs. Targets: under 600 MB at the end, and flat after the first few hundred runs
(the last reading within 10% + 20 MB of the reading at 10% of the runs). Each reading is
appended to ``--csv`` as it is taken (runs, seconds, RSS MB, data dir MB, load average), so a
long run stopped early keeps what it measured. ``--data-dir`` puts the server's data directory
under that folder (e.g. /dev/shm: fsync costs nothing there, and does not change RSS).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _server_proc import ServerProcess, data_dir_mb

from tasknb.local.service import Service
from tasknb.local.service.bodies import to_db

DB, SCHEMA = "BENCH", "PUBLIC"
TARGET_MS = 100.0
TARGET_PER_ROW = 1.5
TARGET_RSS_MB = 600.0


def create_graph(service: Service, root: str, tasks: int) -> None:
    """A root, 99 children of it and the rest below those (at most 100 children a task)."""
    service.create_task(DB, SCHEMA, {"name": root, "definition": "SELECT 1"})
    for i in range(1, tasks):
        parent = root if i < 100 else f"{root}_C{i % 99 + 1:04d}"
        service.create_task(DB, SCHEMA, {"name": f"{root}_C{i:04d}", "definition": "SELECT 1",
                                         "predecessors": [parent]})


def record_runs(service: Service, root: str, runs: int) -> None:
    """``runs`` completed graph runs of ``root``, with every member's per-task state."""
    rec = service.store.tasks_in(DB, SCHEMA)[root]
    members = [n for n in service.store.tasks_in(DB, SCHEMA) if n.split("_C")[0] == root]
    now = datetime.now(timezone.utc)
    rows = []
    for i in range(runs):
        scheduled = now - timedelta(seconds=5 * (runs - i))
        rows.append({
            "database": DB, "schema": SCHEMA, "root_name": root, "root_id": rec["id"],
            "run_id": int(scheduled.timestamp() * 1000), "graph_version": 1,
            "state": "SUCCEEDED" if i % 7 else "FAILED", "scheduled_time": to_db(scheduled),
            "query_start_time": to_db(scheduled), "completed_time": to_db(scheduled
                                                                          + timedelta(seconds=2)),
            "next_scheduled_time": to_db(scheduled), "scheduled_from": "EXECUTE_TASK",
            "first_error_task_name": None if i % 7 else members[-1],
            "first_error_code": None if i % 7 else 100038,
            "first_error_message": None if i % 7 else "Numeric value 'x' is not recognized",
            "attempt": 1, "group_id": str(uuid.uuid4()), "config": None,
            "fingerprint": "bench",
            "task_states": {m: ["SUCCEEDED", None] for m in members},
        })
    service.store.insert_graph_runs(rows)


def get_bytes(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> bytes:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body[:300]
    return body


def spread(values: list[float], scale: float = 1.0) -> str:
    return (f"{min(values) * scale:.2f}/{statistics.median(values) * scale:.2f}/"
            f"{max(values) * scale:.2f}")


def complete_graphs(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="tasknb-bench-runs-") as data_dir:
        service = Service(data_dir)
        try:
            service.ensure_schema(DB, SCHEMA)
            create_graph(service, "BIG", args.tasks)
            create_graph(service, "SOLO", 1)
            record_runs(service, "BIG", args.graph_runs)
            record_runs(service, "SOLO", args.graph_runs)
        finally:
            service.close()
        with ServerProcess(data_dir=data_dir) as (url, token):
            headers = {"Authorization": f"Bearer {token}"}
            parts = urlsplit(url)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            base = f"/api/v2/databases/{DB}/schemas/{SCHEMA}/tasks"
            big_ms, solo_ms, ratios = [], [], []
            for root in ("BIG", "SOLO"):  # warm up; check the answer
                assert get_bytes(conn, f"{base}/{root}/complete-graphs", headers).count(
                    b'"run_id"') == args.graph_runs
            for i in range(args.repeat):
                order = ("BIG", "SOLO") if i % 2 == 0 else ("SOLO", "BIG")
                took = {}
                for root in order:
                    started = time.perf_counter()
                    get_bytes(conn, f"{base}/{root}/complete-graphs", headers)
                    took[root] = time.perf_counter() - started
                big_ms.append(took["BIG"])
                solo_ms.append(took["SOLO"])
                ratios.append(took["BIG"] / took["SOLO"])
            conn.close()
    median_big = statistics.median(big_ms) * 1e3
    ratio = statistics.median(ratios)
    print(f"complete-graphs, {args.tasks:,}-task graph, {args.graph_runs} runs (ms, "
          f"min/median/max): {spread(big_ms, 1e3)} (target < {TARGET_MS:.0f} ms) -> "
          f"{'met' if median_big < TARGET_MS else 'MISSED'}")
    print(f"complete-graphs, 1-task root, {args.graph_runs} runs (ms): {spread(solo_ms, 1e3)}")
    print(f"ratio big/1-task: {spread(ratios)} (median {ratio:.2f}, target <= {TARGET_PER_ROW})"
          f" -> {'met' if ratio <= TARGET_PER_ROW else 'MISSED'}")
    return 0 if median_big < TARGET_MS and ratio <= TARGET_PER_ROW else 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rss(args: argparse.Namespace) -> int:
    csv = Path(args.csv) if args.csv else None
    if csv is not None:
        csv.write_text("runs,seconds,rss_mb,data_dir_mb,load_1min\n")
    with tempfile.TemporaryDirectory(prefix="tasknb-bench-rss-", dir=args.data_dir) as data_dir:
        service = Service(data_dir)
        try:
            service.ensure_schema(DB, SCHEMA)
            create_graph(service, "BIG", args.tasks)
            service.enable_dependents(DB, SCHEMA, "BIG")  # every task runs, not only the root
        finally:
            service.close()
        server = ServerProcess(clock="manual", data_dir=data_dir)
        with server as (url, token):
            headers = {"Authorization": f"Bearer {token}"}
            base = f"/api/v2/databases/{DB}/schemas/{SCHEMA}/tasks/BIG"
            readings: list[tuple[int, float]] = []
            started = time.perf_counter()

            def reading(run: int) -> None:
                """RSS now, printed and appended to ``readings`` (and to --csv)."""
                readings.append((run, rss_mb(server.pid)))
                took, disk, load = (time.perf_counter() - started, data_dir_mb(data_dir),
                                    os.getloadavg()[0])
                print(f"  {run:6d} runs  RSS {readings[-1][1]:7.1f} MB  data dir "
                      f"{disk:7.1f} MB  ({took:6.0f} s, load {load:.1f})", flush=True)
                if csv is not None:
                    with csv.open("a") as out:
                        out.write(f"{run},{took:.1f},{readings[-1][1]:.1f},{disk:.1f},"
                                  f"{load:.2f}\n")

            reading(0)
            with httpx.Client(base_url=url, headers=headers, timeout=600) as http_client:
                took_last = 0.0
                for run in range(1, args.runs + 1):
                    run_started = time.perf_counter()
                    answer = http_client.post(f"{base}:execute")
                    answer.raise_for_status()
                    time.sleep(0.8 * took_last)  # no polling while the run surely goes on
                    wait_idle(http_client, base)
                    took_last = time.perf_counter() - run_started
                    if run % args.every == 0 or run == args.runs:
                        reading(run)
    final = readings[-1][1]
    settled_at = max(1, args.runs // 10)
    settled = min(readings, key=lambda r: abs(r[0] - settled_at))[1]
    flat = final <= settled * 1.1 + 20
    print(f"RSS: start {readings[0][1]:.0f} MB, at {settled_at} runs {settled:.0f} MB, after "
          f"{args.runs:,} runs {final:.0f} MB (target < {TARGET_RSS_MB:.0f} MB and flat) -> "
          f"{'met' if final < TARGET_RSS_MB and flat else 'MISSED'}")
    return 0 if final < TARGET_RSS_MB and flat else 1


def wait_idle(http_client: httpx.Client, base: str) -> None:
    """Until the root has no executing run (current-graphs lists only the executing ones)."""
    pause = 0.005
    while True:
        current = http_client.get(f"{base}/current-graphs")
        current.raise_for_status()
        if not any(r.get("state") == "EXECUTING" for r in current.json()):
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("complete-graphs", "rss"))
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--graph-runs", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--csv", help="rss: append each reading to this CSV file")
    parser.add_argument("--data-dir", help="rss: make the server's data directory in this folder")
    args = parser.parse_args()
    return complete_graphs(args) if args.what == "complete-graphs" else rss(args)


if __name__ == "__main__":
    raise SystemExit(main())
