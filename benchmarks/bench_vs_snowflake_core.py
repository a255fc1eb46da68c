"""tasknb against snowflake-core (Snowflake's own Python API) on the same local server and data.

    .venv/bin/python benchmarks/bench_vs_snowflake_core.py [--repeat 5]

One server process (real clock) holds, seeded in-process beforehand: 5,000 tasks in one schema,
200 roots with 5 completed graph runs each, and a 1,000-task graph. snowflake-core's ``Root`` is
built on a ``snowflake.connector`` connection that logs in to the same server (its token as the
password). Each pair is timed interleaved, end to end, to a pandas DataFrame:

* listing 5,000 tasks: ``tasknb.tasks_df`` against ``DataFrame([t.to_dict() for t in
  schema.tasks.iter()])``. Target: tasknb at least 3x faster.
* graph runs of 200 roots: ``tasknb.runs_df(client, roots)`` (current and complete runs; its
  requests run concurrently) against ``get_current_graphs`` + ``get_complete_graphs`` per root
  into one frame. Target: at least 2x. Timed beside them: the same requests with raw ``httpx``
  on as many threads and no tasknb code, the floor of any httpx client here.
* dependents of the 1,000-task graph: ``tasknb.dependents_df`` against
  ``fetch_task_dependents()`` into a frame. Target: at least 3x.

``--latency-ms 20`` puts a proxy between both clients and the server that delays every request
by that much (a notebook and its cloud region; loopback has no network), so that requests
waited on concurrently show as they would against Snowflake.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _latency_proxy import LatencyProxy
from _server_proc import ServerProcess
from bench_server_list import schema_of
from bench_server_list import seed as seed_listing
from bench_server_runs import create_graph, record_runs

import tasknb
from tasknb.frames._runs import DEFAULT_MAX_WORKERS
from tasknb.local.service import Service

DB, RUNS_SCHEMA, LIST_TASKS, ROOTS, RUNS_PER_ROOT = "BENCH", "PUBLIC", 5_000, 200, 5
TARGETS = {"listing": 3.0, "graph runs": 2.0, "dependents": 3.0}


def seed(data_dir: str) -> None:
    seed_listing(data_dir, [LIST_TASKS])  # creates DB and schema S5000, closes the service
    service = Service(data_dir)
    try:
        service.ensure_schema(DB, RUNS_SCHEMA)
        create_graph(service, "BIG", 1000)
        for i in range(ROOTS):
            create_graph(service, f"R{i:03d}", 1)
            record_runs(service, f"R{i:03d}", RUNS_PER_ROOT)
    finally:
        service.close()


def core_root(url: str, token: str) -> Any:
    import snowflake.connector
    from snowflake.core import Root

    port = int(url.rsplit(":", 1)[1])
    connection = snowflake.connector.connect(
        host="127.0.0.1", port=port, protocol="http", account="local", user="bench",
        password=token, database=DB, schema=RUNS_SCHEMA, login_timeout=30,
        enable_server_session_keep_alive_auto_detection=False)
    return connection, Root(connection)


def core_listing(root: Any) -> pd.DataFrame:
    tasks = root.databases[DB].schemas[schema_of(LIST_TASKS)].tasks
    return pd.DataFrame([t.to_dict() for t in tasks.iter()])


def core_runs(root: Any) -> pd.DataFrame:
    tasks = root.databases[DB].schemas[RUNS_SCHEMA].tasks
    rows = []
    for i in range(ROOTS):
        resource = tasks[f"R{i:03d}"]
        rows += [r.to_dict() for r in resource.get_current_graphs()]
        rows += [r.to_dict() for r in resource.get_complete_graphs(error_only=False)]
    return pd.DataFrame(rows)


def httpx_floor_runs(url: str, token: str, workers: int) -> Any:
    """The same 400 requests as raw ``httpx`` on as many threads as ``runs_df`` (no tasknb):
    what any httpx client costs here, the floor under ``runs_df``."""
    http_client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    paths = [f"/api/v2/databases/{DB}/schemas/{RUNS_SCHEMA}/tasks/R{i:03d}/{kind}"
             for i in range(ROOTS) for kind in ("current_graphs", "complete_graphs")]

    def get(path: str) -> Any:
        response = http_client.get(path)
        response.raise_for_status()
        return response.json()

    def run() -> pd.DataFrame:
        with ThreadPoolExecutor(workers) as pool:
            return pd.DataFrame([row for rows in pool.map(get, paths) for row in rows])

    return http_client, run


def core_dependents(root: Any) -> pd.DataFrame:
    resource = root.databases[DB].schemas[RUNS_SCHEMA].tasks["BIG"]
    return pd.DataFrame([t.to_dict() for t in resource.fetch_task_dependents()])


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="add this much to every request (both clients, through a proxy)")
    args = parser.parse_args()
    for key in [k for k in os.environ if "proxy" in k.lower()]:
        del os.environ[key]  # snowflake-core honours HTTPS_PROXY even for 127.0.0.1
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    roots = [f"R{i:03d}" for i in range(ROOTS)]
    with tempfile.TemporaryDirectory(prefix="tasknb-bench-core-") as data_dir:
        seed(data_dir)
        with ServerProcess(data_dir=data_dir) as (server_url, token), \
                (LatencyProxy(server_url, args.latency_ms / 1e3) if args.latency_ms
                 else nullcontext(server_url)) as url:
            client = tasknb.connect(base_url=url, token=token, database=DB, schema=RUNS_SCHEMA)
            connection, root = core_root(url, token)
            floor_client, floor_runs = httpx_floor_runs(url, token, DEFAULT_MAX_WORKERS)
            # each measure: its rows, then the sides timed interleaved (the floor: graph runs)
            measures: dict[str, tuple[int, dict[str, Any]]] = {
                "listing": (LIST_TASKS, {
                    "tasknb": lambda: tasknb.tasks_df(client, schema=schema_of(LIST_TASKS)),
                    "core": lambda: core_listing(root)}),
                "graph runs": (ROOTS * RUNS_PER_ROOT, {
                    "tasknb": lambda: tasknb.runs_df(client, roots, progress=False),
                    "core": lambda: core_runs(root), "floor": floor_runs}),
                "dependents": (1000, {
                    "tasknb": lambda: tasknb.dependents_df(client, "BIG"),
                    "core": lambda: core_dependents(root)}),
            }
            results: dict[str, dict[str, list[float]]] = {
                name: {side: [] for side in sides} for name, (_, sides) in measures.items()}
            for name, (rows, sides) in measures.items():  # warm up; the same rows every side
                assert all(len(fn()) == rows for fn in sides.values()), name
            for i in range(args.repeat):
                for name, (_, sides) in measures.items():
                    order = list(sides.items())
                    if i % 2:
                        order.reverse()
                    for side, fn in order:
                        results[name][side].append(timed(fn)[0])
            floor_client.close()
            connection.close()
            client.close()
    if args.latency_ms:
        print(f"every request {args.latency_ms:g} ms longer (a proxy between clients and server)")
    met = True
    spread = lambda xs, s=1.0: (f"{min(xs) * s:.2f}/{statistics.median(xs) * s:.2f}/"
                                f"{max(xs) * s:.2f}")
    for name, got in results.items():
        ratios = [c / t for c, t in zip(got["core"], got["tasknb"])]
        ratio = statistics.median(ratios)
        ok = ratio >= TARGETS[name]
        met = met and ok
        print(f"{name:11s} tasknb {spread(got['tasknb'], 1e3)} ms  snowflake-core "
              f"{spread(got['core'], 1e3)} ms  core/tasknb {spread(ratios)} (median "
              f"{ratio:.2f}, target >= {TARGETS[name]}) -> {'met' if ok else 'MISSED'}")
        if "floor" in got:
            core_floor = statistics.median(c / f for c, f in zip(got["core"], got["floor"]))
            ours_floor = statistics.median(t / f for t, f in zip(got["tasknb"], got["floor"]))
            print(f"{'':11s} raw httpx on {DEFAULT_MAX_WORKERS} threads, no tasknb (the floor): "
                  f"{spread(got['floor'], 1e3)} ms; core/floor median {core_floor:.2f}, "
                  f"tasknb/floor median {ours_floor:.2f}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
