"""Fetch-task throughput of the local server against a trivial JSON endpoint on the same stack.

    .venv/bin/python benchmarks/bench_server_fetch.py            # 4 client threads, 3 s rounds
    .venv/bin/python benchmarks/bench_server_fetch.py --quick

The server runs in its own process (as ``tasknb server``). The baseline is
``GET /tasknb/v1/ping`` (same app, same authentication, a constant JSON body); the measured
call is ``GET /api/v2/databases/{db}/schemas/{schema}/tasks/{name}`` of a task with a
schedule, a config and two predecessors. Rounds alternate between the two so that drift hits
both. Target: fetch throughput at least half of the baseline's.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server_proc import ServerProcess

TARGET_RATIO = 0.5
DB, SCHEMA = "BENCH_DB", "PUBLIC"


def setup(url: str, headers: dict[str, str]) -> str:
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        client.post("/api/v2/databases", json={"name": DB}).raise_for_status()
        base = f"/api/v2/databases/{DB}/schemas/{SCHEMA}/tasks"
        client.post(
            base,
            json={
                "name": "ROOT",
                "definition": "SELECT 1",
                "schedule": {
                    "schedule_type": "CRON_TYPE",
                    "cron_expr": "0 2 * * *",
                    "timezone": "UTC",
                },
                "config": {"env": "bench", "batch": 100},
            },
        ).raise_for_status()
        client.post(base, json={"name": "A", "definition": "SELECT 1", "predecessors": ["ROOT"]})
        client.post(
            base,
            json={
                "name": "LOAD_ORDERS",
                "definition": "INSERT INTO t SELECT * FROM s",
                "predecessors": ["ROOT", "A"],
                "comment": "a task with two predecessors",
            },
        ).raise_for_status()
        return f"{base}/LOAD_ORDERS"


def throughput(url: str, headers: dict[str, str], path: str, seconds: float, threads: int) -> float:
    counts = [0] * threads
    errors: list[str] = []
    stop = time.monotonic() + seconds

    parsed = urlsplit(url)

    def worker(i: int) -> None:
        # http.client keeps the client's own cost small, so the server is what is measured
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        try:
            while time.monotonic() < stop:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    errors.append(f"{response.status} {body[:200]!r}")
                    return
                counts[i] += 1
        finally:
            conn.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    seconds = 0.5 if args.quick else 1.5
    with ServerProcess() as (url, token):
        headers = {"Authorization": f"Bearer {token}"}
        fetch_path = setup(url, headers)
        throughput(url, headers, "/tasknb/v1/ping", 0.5, args.threads)  # warm up
        ping, fetch, ratios = [], [], []
        for i in range(args.rounds):
            # pairs in ABBA order; the ratio of each pair cancels the machine's drift
            order = ("ping", "fetch") if i % 2 == 0 else ("fetch", "ping")
            got = {}
            for which in order:
                path = "/tasknb/v1/ping" if which == "ping" else fetch_path
                got[which] = throughput(url, headers, path, seconds, args.threads)
            ping.append(got["ping"])
            fetch.append(got["fetch"])
            ratios.append(got["fetch"] / got["ping"])
    base, measured = statistics.median(ping), statistics.median(fetch)
    ratio = statistics.median(ratios)
    rounds = lambda xs: ", ".join(f"{x:.0f}" for x in xs)
    print(f"trivial JSON endpoint (GET /tasknb/v1/ping): {base:8.0f} req/s  rounds {rounds(ping)}")
    print(
        f"fetch task (GET .../tasks/LOAD_ORDERS):      {measured:8.0f} req/s  rounds {rounds(fetch)}"
    )
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"pair ratios fetch/baseline: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"median ratio: {ratio:.2f} (target >= {TARGET_RATIO}) -> {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
