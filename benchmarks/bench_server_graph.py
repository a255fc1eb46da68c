"""Per-task overhead of a 1,000-task graph run on the local server, beyond the SQL itself.

    .venv/bin/python benchmarks/bench_server_graph.py            # tree and chain, 1,000 tasks
    .venv/bin/python benchmarks/bench_server_graph.py --tasks 200

Two graphs of trivial statements (``SELECT 1``) are run through the service (the same code the
HTTP API calls): a tree (each task after task (i-1)//4, depth 5, branches in parallel) and a
chain (strictly sequential). The baseline, measured in the same run on the same engine, is the
same statements run one after another through ``SqlEngine.run`` (parse, transpile, execute):
that is "the SQL itself". Overhead per task = graph wall time / tasks - SQL time per task.
Target: under 10 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone

from tasknb.local.schedule.clock import ManualClock
from tasknb.local.service import Service
from tasknb.local.sql.engine import TaskContext

TARGET_MS = 10.0
DB, SCHEMA = "BENCH_DB", "PUBLIC"
DEFINITION = "SELECT 1"


def build(service: Service, root: str, tasks: int, parent_of) -> float:
    started = time.perf_counter()
    service.create_task(DB, SCHEMA, {"name": root, "definition": DEFINITION})
    names = [root] + [f"{root}_{i:04d}" for i in range(1, tasks)]
    for i in range(1, tasks):
        body = {"name": names[i], "definition": DEFINITION, "predecessors": [names[parent_of(i)]]}
        service.create_task(DB, SCHEMA, body)
    for name in names[1:]:
        service.resume_task(DB, SCHEMA, name)
    return time.perf_counter() - started


def sql_baseline(service: Service, tasks: int) -> float:
    engine = service.engine()
    started = time.perf_counter()
    for i in range(tasks):
        engine.run(DEFINITION, TaskContext(DB, SCHEMA, f"T{i}", "ROOT", timeout_ms=3_600_000))
    return (time.perf_counter() - started) / tasks


def run_graph(service: Service, root: str) -> tuple[float, str]:
    started = time.perf_counter()
    run = service.execute_task(DB, SCHEMA, root, wait=True, timeout=3600)
    elapsed = time.perf_counter() - started
    return elapsed, (run or {}).get("state", "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tasknb-bench-") as data_dir:
        service = Service(data_dir, clock=ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc)))
        try:
            service.create_database({"name": DB})
            shapes = {"TREE": lambda i: (i - 1) // 4, "CHAIN": lambda i: i - 1}
            for root, parent_of in shapes.items():
                built = build(service, root, args.tasks, parent_of)
                print(f"{root.lower()}: created and resumed {args.tasks} tasks in {built:.1f} s")
            sql_baseline(service, 50)  # warm up
            sql_ms = 1000 * statistics.median(
                sql_baseline(service, args.tasks) for _ in range(args.repeats)
            )
            print(f"SQL itself (SqlEngine.run of '{DEFINITION}'): {sql_ms:.2f} ms per statement")
            verdicts = []
            for root in shapes:
                results = [run_graph(service, root) for _ in range(args.repeats)]
                states = {state for _, state in results}
                wall = statistics.median(elapsed for elapsed, _ in results)
                per_task = 1000 * wall / args.tasks
                overhead = per_task - sql_ms
                verdict = "met" if overhead < TARGET_MS else "MISSED"
                verdicts.append(verdict)
                print(
                    f"{root.lower():5s} graph run: {wall:.2f} s wall ({states}), "
                    f"{per_task:.2f} ms per task, overhead {overhead:.2f} ms per task "
                    f"(target < {TARGET_MS:.0f} ms) -> {verdict}"
                )
        finally:
            service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
