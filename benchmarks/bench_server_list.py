"""Listing many tasks from the local server: linear cost, and the server keeps answering.

    .venv/bin/python benchmarks/bench_server_list.py            # 1,000 vs 20,000 tasks
    .venv/bin/python benchmarks/bench_server_list.py --quick    # 1,000 vs 5,000, fewer repeats

The server runs in its own process on a data directory seeded in-process beforehand (tasks in
groups of ten: a scheduled root and a chain of nine children). Measured, interleaved, in one run:

* **server cost per row**: the whole listing read with ``http.client`` (bytes only, no JSON
  decoding), 1,000 tasks (one page) against N tasks (page 0, then ``/api/v2/results/<h>?page=k``
  up to the ``rel="last"`` page). Target: N's cost per row within 1.5x of 1,000's.
* **end to end**: ``tasknb.tasks_df`` of N tasks against the floor, raw ``httpx`` + ``json.loads`` +
  ``DataFrame.from_records`` over the same pages. Target: within 1.5x.
* **a concurrent fetch**: one client GETs one task in a loop while another lists N tasks;
  p99 of those GETs. Target: under 50 ms.
* **bounded disk**: ``--listings`` listings of 5,000 tasks, every page read; then the size of
  the data directory's files. Target (1,000 listings): under 50 MB.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _server_proc import ServerProcess, data_dir_mb

import tasknb
from tasknb.local.service import Service

DB = "BENCH"
TARGET_PER_ROW = 1.5
TARGET_FLOOR = 1.5
TARGET_P99_S = 0.050
TARGET_DISK_MB = 50.0
DISK_TASKS = 5_000
_LAST = re.compile(r'<([^>]*)\?page=(\d+)>;\s*rel="last"')


def schema_of(count: int) -> str:
    return f"S{count}"


def seed(data_dir: str, sizes: list[int]) -> None:
    """Create one group of ten tasks through the service, then copy its records group by group
    straight into the store (creating 20,000 tasks one by one takes minutes); then close the
    service for the server process to open the directory."""
    service = Service(data_dir)
    try:
        service.create_database({"name": DB})
        for count in sizes:
            schema = schema_of(count)
            service.create_schema(DB, {"name": schema})
            for i in range(10):
                body: dict = {"name": f"T{i:05d}", "comment": "benchmark task",
                              "definition": f"insert into t_{i} select * from s where b = {i}"}
                if i == 0:
                    body["schedule"] = {"schedule_type": "MINUTES_TYPE", "minutes": 60}
                    body["config"] = {"env": "bench"}
                else:
                    body["predecessors"] = [f"T{i - 1:05d}"]
                service.create_task(DB, schema, body)
            group = [dict(rec) for rec in service.store.tasks_in(DB, schema).values()]
            with service.store.transaction() as tx:
                for start in range(10, count, 10):
                    for rec in group:
                        i = start + int(rec["name"][1:])
                        tx.put_task({**rec, "name": f"T{i:05d}", "id": str(uuid.uuid4()),
                                     "definition": f"insert into t_{i % 97} select * from s "
                                                   f"where b = {i}",
                                     "predecessors": [f"T{i - 1:05d}"] if i % 10 else []})
    finally:
        service.close()


def raw_bytes(url: str, headers: dict[str, str], count: int) -> int:
    """Read every page of the listing as bytes (the server's cost; the client does nothing)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.request("GET", f"/api/v2/databases/{DB}/schemas/{schema_of(count)}/tasks",
                     headers=headers)
        response = conn.getresponse()
        total = len(response.read())
        assert response.status == 200
        found = _LAST.search(response.getheader("Link") or "")
        if found:
            for page in range(1, int(found.group(2)) + 1):
                conn.request("GET", f"{found.group(1)}?page={page}", headers=headers)
                response = conn.getresponse()
                total += len(response.read())
                assert response.status == 200
        return total
    finally:
        conn.close()


def floor_frame(http_client: httpx.Client, count: int) -> pd.DataFrame:
    """raw httpx + json.loads + DataFrame.from_records over the same pages."""
    response = http_client.get(f"/api/v2/databases/{DB}/schemas/{schema_of(count)}/tasks")
    response.raise_for_status()
    rows = json.loads(response.content)
    found = _LAST.search(response.headers.get("Link", ""))
    if found:
        for page in range(1, int(found.group(2)) + 1):
            more = http_client.get(f"{found.group(1)}?page={page}")
            more.raise_for_status()
            rows.extend(json.loads(more.content))
    return pd.DataFrame.from_records(rows)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _fetch_loop(url: str, headers: dict[str, str], path: str, stop: Any, ready: Any,
                out: Any) -> None:
    """In a process of its own (the listing client's GIL must not delay it): GET one task in a
    loop until ``stop``; put the latencies on ``out``."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    latencies = []
    try:
        while not stop.is_set():
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            if ready.is_set():
                latencies.append(time.perf_counter() - started)
            ready.set()
            time.sleep(0.002)
    finally:
        conn.close()
        out.put(latencies)


def concurrent_p99(url: str, headers: dict[str, str], client: tasknb.TaskClient,
                   count: int, idle_s: float | None = None) -> tuple[float, int, float]:
    """p99 and number of single-task GETs (from another process) made while one listing of
    ``count`` tasks ran."""
    path = f"/api/v2/databases/{DB}/schemas/{schema_of(count)}/tasks/T00005"
    context = multiprocessing.get_context("spawn")
    stop, ready, out = context.Event(), context.Event(), context.Queue()
    child = context.Process(target=_fetch_loop, args=(url, headers, path, stop, ready, out))
    child.start()
    ready.wait(60)
    if idle_s is None:
        listing = timed(lambda: tasknb.tasks_df(client, database=DB, schema=schema_of(count)))
    else:  # the baseline: the same GETs while nothing else runs
        listing = timed(lambda: time.sleep(idle_s))
    stop.set()
    latencies = out.get(timeout=60)
    child.join(60)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("inf")
    return p99, len(ordered), listing


def spread(values: list[float], scale: float = 1.0, unit: str = "") -> str:
    return (f"{min(values) * scale:.2f}/{statistics.median(values) * scale:.2f}/"
            f"{max(values) * scale:.2f}{unit}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="the large listing")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--listings", type=int, default=1000,
                        help="listings of 5,000 tasks for the disk check")
    parser.add_argument("--quick", action="store_true",
                        help="5,000 tasks, 3 repeats, 50 listings")
    args = parser.parse_args()
    big = 5_000 if args.quick else args.tasks
    repeat = 3 if args.quick else args.repeat
    small = 1_000
    listings = 50 if args.quick else args.listings
    with tempfile.TemporaryDirectory(prefix="tasknb-bench-list-") as data_dir:
        started = time.perf_counter()
        seed(data_dir, sorted({small, big, DISK_TASKS}))
        print(f"seeded {small:,} + {big:,} tasks in {time.perf_counter() - started:.1f} s")
        with ServerProcess(data_dir=data_dir) as (url, token):
            headers = {"Authorization": f"Bearer {token}"}
            client = tasknb.connect(base_url=url, token=token)
            with httpx.Client(base_url=url, headers=headers, timeout=120) as http_client:
                for count in (small, big):  # warm up (engine, caches, connections)
                    raw_bytes(url, headers, count)
                    floor_frame(http_client, count)
                small_row, big_row, floor, ours, ratios_row, ratios_floor = [], [], [], [], [], []
                for i in range(repeat):
                    s = timed(lambda: raw_bytes(url, headers, small)) / small
                    b = timed(lambda: raw_bytes(url, headers, big)) / big
                    small_row.append(s)
                    big_row.append(b)
                    ratios_row.append(b / s)
                    pair = [("floor", lambda: floor_frame(http_client, big)),
                            ("tasknb", lambda: tasknb.tasks_df(client, database=DB,
                                                               schema=schema_of(big)))]
                    if i % 2:
                        pair.reverse()
                    got = {name: timed(fn) for name, fn in pair}
                    floor.append(got["floor"])
                    ours.append(got["tasknb"])
                    ratios_floor.append(got["tasknb"] / got["floor"])
                p99s, counts, idle = [], [], []
                for _ in range(repeat):
                    p99, made, took = concurrent_p99(url, headers, client, big)
                    p99s.append(p99)
                    counts.append(made)
                    idle.append(concurrent_p99(url, headers, client, big, idle_s=took)[0])
            before_mb = data_dir_mb(data_dir)
            disk_started = time.perf_counter()
            for _ in range(listings):
                raw_bytes(url, headers, DISK_TASKS)
            disk_s = time.perf_counter() - disk_started
            after_mb = data_dir_mb(data_dir)
            client.close()
    per_row = statistics.median(ratios_row)
    to_floor = statistics.median(ratios_floor)
    worst_p99 = max(p99s)
    print(f"server cost per row, {small:,} tasks (us, min/median/max): "
          f"{spread(small_row, 1e6)}")
    print(f"server cost per row, {big:,} tasks (us): {spread(big_row, 1e6)}")
    print(f"per-row ratio {big:,}/{small:,}: {spread(ratios_row)} (median {per_row:.2f}, "
          f"target <= {TARGET_PER_ROW}) -> {'met' if per_row <= TARGET_PER_ROW else 'MISSED'}")
    print(f"floor (httpx + json + from_records), {big:,} tasks (s): {spread(floor)}")
    print(f"tasknb.tasks_df, {big:,} tasks (s): {spread(ours)}")
    print(f"tasknb/floor: {spread(ratios_floor)} (median {to_floor:.2f}, target <= "
          f"{TARGET_FLOOR}) -> {'met' if to_floor <= TARGET_FLOOR else 'MISSED'}")
    print(f"concurrent GET p99 during a {big:,}-task listing (ms): {spread(p99s, 1e3)} over "
          f"{min(counts)}-{max(counts)} GETs each (target < {TARGET_P99_S * 1e3:.0f} ms) -> "
          f"{'met' if worst_p99 < TARGET_P99_S else 'MISSED'}")
    print(f"same GETs with no listing running, p99 (ms): {spread(idle, 1e3)}")
    print(f"data directory after {listings:,} listings of {DISK_TASKS:,} tasks "
          f"({disk_s:.0f} s): {after_mb:.1f} MB (before them {before_mb:.1f} MB; target < "
          f"{TARGET_DISK_MB:.0f} MB) -> {'met' if after_mb < TARGET_DISK_MB else 'MISSED'}")
    met = after_mb < TARGET_DISK_MB and per_row <= TARGET_PER_ROW and to_floor <= TARGET_FLOOR and worst_p99 < TARGET_P99_S
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
