"""Benchmarks for tasknb.frames: ratios against a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_frames.py            # both benchmarks
    .venv/bin/python benchmarks/bench_frames.py --quick    # fewer repeats, 50 roots

1. ``tasks_df`` of 10,000 tasks against ``pandas.DataFrame.from_records`` on the same JSON
   (the list of dicts a server returns, every spec field present). Target: at most 1.5x.
   The headline uses a client holding the parsed models (parsing JSON into models is the
   client's job, the same with or without frames); the end-to-end figure that also parses
   with ``Task.from_api`` is printed too.
2. ``runs_df`` over 200 roots with 20 ms of latency per request (a fake client that sleeps),
   concurrent (default ``max_workers``) against one-by-one (``max_workers=1``).
   Target: at least 5x faster.
3. ``task_runs_df`` of 10,000 task runs (``TaskHistoryRow`` models, as ``task_history``
   returns them) against ``pandas.DataFrame.from_records`` on the same rows as dicts.
   Target: at most 1.5x. The client's decoding of the SQL answer (``rows_from_frame``) is
   printed too.
4. ``timeline`` of a 1,000-task graph run: built, and built + its Vega-Lite spec (what the
   notebook receives). Target: under 1 s (the first call, with Altair's import, printed too).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from tasknb.frames import DEFAULT_MAX_WORKERS, runs_df, task_runs_df, tasks_df
from tasknb.models import TASK_HISTORY_FIELDS, Task, TaskHistoryRow, TaskRun

TASKS = 10_000
TASK_RUNS = 10_000
TIMELINE_TASKS = 1_000
ROOTS = 200
LATENCY_S = 0.020
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def task_json(count: int = TASKS) -> list[dict[str, Any]]:
    """Task bodies shaped like a listTasks answer: all spec fields, nulls where unset."""
    bodies = []
    for i in range(count):
        is_root = i % 20 == 0
        bodies.append(
            {
                "name": f"TASK_{i:05d}",
                "definition": f"insert into t{i} select * from s{i}",
                "warehouse": "WH_XS" if i % 3 else None,
                "schedule": (
                    {"schedule_type": "MINUTES_TYPE", "minutes": 10}
                    if is_root and i % 40
                    else {"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *", "timezone": "UTC"}
                    if is_root
                    else None
                ),
                "comment": None,
                "finalize": None,
                "task_auto_retry_attempts": 2 if is_root else None,
                "config": {"env": "prod"} if is_root else None,
                "session_parameters": None,
                "predecessors": [] if is_root else [f"TASK_{i - 1:05d}"],
                "user_task_managed_initial_warehouse_size": None,
                "target_completion_interval": None,
                "serverless_task_min_statement_size": None,
                "serverless_task_max_statement_size": None,
                "user_task_timeout_ms": 3_600_000,
                "suspend_task_after_num_failures": 10 if is_root else None,
                "condition": "SYSTEM$STREAM_HAS_DATA('S')" if i % 7 == 0 else None,
                "allow_overlapping_execution": False if is_root else None,
                "error_integration": None,
                "success_integration": None,
                "overlap_policy": "NO_OVERLAP" if is_root else None,
                "execute_as_user": None,
                "task_relations": '{"Predecessors":[]}',
                "created_on": (T0 + timedelta(seconds=i)).isoformat(),
                "id": f"01b2c3d4-{i:08d}",
                "owner": "SYSADMIN",
                "owner_role_type": "ROLE",
                "state": "started" if i % 5 else "suspended",
                "last_committed_on": (T0 + timedelta(seconds=i, minutes=5)).isoformat(),
                "last_suspended_on": None if i % 5 else (T0 + timedelta(hours=1)).isoformat(),
                "database_name": "DEMO",
                "schema_name": "PUBLIC",
            }
        )
    return bodies


class ModelClient:
    """list_tasks answers parsed models, like TaskClient after reading the response."""

    def __init__(self, tasks: list[Task]):
        self.tasks = tasks

    def list_tasks(self, **_: Any) -> list[Task]:
        return self.tasks


class JsonClient:
    """list_tasks parses the JSON on every call (end-to-end figure)."""

    def __init__(self, bodies: list[dict[str, Any]]):
        self.bodies = bodies

    def list_tasks(self, **_: Any) -> list[Task]:
        return [Task.from_api(body) for body in self.bodies]


class SlowRunsClient:
    """Answers current/complete graphs after ``latency`` seconds, like a remote server."""

    def __init__(self, latency: float = LATENCY_S):
        self.latency = latency

    def _runs(self, name: str, state: str) -> list[TaskRun]:
        time.sleep(self.latency)
        start = T0 + timedelta(minutes=hash(name) % 50)
        return [
            TaskRun(
                name,
                state=state,
                scheduled_time=start,
                query_start_time=start,
                completed_time=start + timedelta(seconds=30) if state != "EXECUTING" else None,
                next_scheduled_time=start + timedelta(hours=1),
                run_id=int(start.timestamp() * 1000),
                graph_version=1,
            )
        ]

    def get_current_graphs(self, name: str, **_: Any) -> list[TaskRun]:
        return self._runs(name, "EXECUTING")

    def get_complete_graphs(self, name: str, **_: Any) -> list[TaskRun]:
        return self._runs(name, "SUCCEEDED")


def timings(functions: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Interleaved repeats (so machine noise hits every contender alike), GC as in real use."""
    results: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            gc.collect()
            start = time.perf_counter()
            function()
            results[name].append(time.perf_counter() - start)
    return results


def bench_tasks(repeats: int) -> None:
    bodies = task_json()
    models = [Task.from_api(body) for body in bodies]
    model_client, json_client = ModelClient(models), JsonClient(bodies)
    frame = tasks_df(model_client)
    assert len(frame) == TASKS and frame["created_on"].dt.tz is not None
    results = timings(
        {
            "from_records": lambda: pd.DataFrame.from_records(bodies),
            "tasks_df": lambda: tasks_df(model_client),
            "tasks_df_end_to_end": lambda: tasks_df(json_client),
        },
        repeats,
    )
    base = min(results["from_records"])
    print(f"tasks_df, {TASKS:,} tasks, {len(frame.columns)} typed columns, {repeats} repeats")
    for name, values in results.items():
        best, median = min(values), statistics.median(values)
        print(
            f"  {name:22s} min {best * 1e3:7.1f} ms  median {median * 1e3:7.1f} ms"
            f"  ratio (min) {best / base:4.2f}x"
        )
    ratio = min(results["tasks_df"]) / base
    median_ratio = statistics.median(results["tasks_df"]) / statistics.median(
        results["from_records"]
    )
    verdict = "meets" if ratio <= 1.5 else "MISSES"
    print(f"  => tasks_df / from_records = {ratio:.2f}x (median {median_ratio:.2f}x), "
          f"{verdict} the 1.5x target")


def bench_runs(roots: int) -> None:
    names = [f"ROOT_{i:03d}" for i in range(roots)]
    client = SlowRunsClient()
    start = time.perf_counter()
    serial = runs_df(client, names, max_workers=1, progress=False)
    one_by_one = time.perf_counter() - start
    start = time.perf_counter()
    concurrent = runs_df(client, names, progress=False)
    together = time.perf_counter() - start
    assert len(serial) == len(concurrent) == 2 * roots and not concurrent.attrs["errors"]
    speedup = one_by_one / together
    verdict = "meets" if speedup >= 5 else "MISSES"
    print(
        f"runs_df, {roots} roots x 2 requests, {LATENCY_S * 1e3:.0f} ms latency each, "
        f"max_workers={DEFAULT_MAX_WORKERS}"
    )
    print(f"  one-by-one   {one_by_one:6.2f} s")
    print(f"  concurrent   {together:6.2f} s")
    print(f"  => {speedup:.1f}x faster, {verdict} the 5x target")


def history_rows(count: int = TASK_RUNS, tasks_per_run: int = 100) -> list[TaskHistoryRow]:
    """Task runs shaped like a TASK_HISTORY answer: 100 tasks per graph run, some failed or
    skipped, every field set where Snowflake sets it."""
    rows = []
    for i in range(count):
        run, task = divmod(i, tasks_per_run)
        scheduled = T0 + timedelta(hours=run, seconds=task * 2)
        failed, skipped = task % 37 == 5, task % 23 == 3
        state = "FAILED" if failed else "SKIPPED" if skipped else "SUCCEEDED"
        rows.append(TaskHistoryRow(
            f"TASK_{task:03d}", database_name="DEMO", schema_name="PUBLIC",
            query_id=f"01b2c3d4-0000-{i:012d}", query_text=f"insert into t{task} select 1",
            condition_text="SYSTEM$STREAM_HAS_DATA('S')" if skipped else None, state=state,
            error_code="002003" if failed else None,
            error_message="SQL compilation error: Object 'X' does not exist" if failed else None,
            scheduled_time=scheduled, query_start_time=scheduled + timedelta(seconds=1),
            completed_time=scheduled + timedelta(seconds=1 + task % 9),
            next_scheduled_time=T0 + timedelta(hours=run + 1), root_task_id="01b2-root",
            graph_version=1, run_id=int((T0 + timedelta(hours=run)).timestamp() * 1000),
            return_value=None, scheduled_from="SCHEDULE", attempt_number=1,
            config='{"env": "prod"}', graph_run_group_id=f"group-{run}"))
    return rows


class HistoryClient:
    """task_history answers parsed models, like TaskClient after decoding the SQL answer."""

    def __init__(self, rows: list[TaskHistoryRow]):
        self.rows = rows

    def task_history(self, root: str, **_: Any) -> list[TaskHistoryRow]:
        return self.rows


def _report(title: str, results: dict[str, list[float]], base_name: str, contender: str,
            target: float) -> None:
    base = min(results[base_name])
    print(title)
    for name, values in results.items():
        print(f"  {name:24s} min {min(values) * 1e3:7.1f} ms  median "
              f"{statistics.median(values) * 1e3:7.1f} ms  max {max(values) * 1e3:7.1f} ms"
              f"  ratio (min) {min(values) / base:4.2f}x")
    ratio = min(results[contender]) / base
    median_ratio = statistics.median(results[contender]) / statistics.median(results[base_name])
    verdict = "meets" if ratio <= target else "MISSES"
    print(f"  => {contender} / {base_name} = {ratio:.2f}x (median {median_ratio:.2f}x), "
          f"{verdict} the {target}x target")


def bench_task_runs(repeats: int) -> None:
    from tasknb.client._history import rows_from_frame

    rows = history_rows()
    records = [{name: getattr(row, name) for name in TASK_HISTORY_FIELDS} for row in rows]
    client = HistoryClient(rows)
    frame = task_runs_df(client, "ROOT")
    assert len(frame) == TASK_RUNS and frame["state"].dtype == "category"
    sql_frame = pd.DataFrame({name.upper(): [r[name] for r in records]
                              for name in TASK_HISTORY_FIELDS})
    results = timings(
        {
            "from_records": lambda: pd.DataFrame.from_records(records),
            "task_runs_df": lambda: task_runs_df(client, "ROOT"),
            "rows_from_frame (client)": lambda: rows_from_frame(sql_frame),
        },
        repeats,
    )
    _report(f"task_runs_df, {TASK_RUNS:,} task runs, {len(frame.columns)} typed columns, "
            f"{repeats} repeats", results, "from_records", "task_runs_df", 1.5)


def bench_timeline(repeats: int) -> None:
    from tasknb.frames import task_runs_frame

    rows = history_rows(TIMELINE_TASKS, tasks_per_run=TIMELINE_TASKS)
    frame = task_runs_frame(rows)
    names = [row.name for row in rows] + ["NEVER_RAN"]
    start = time.perf_counter()
    from tasknb.timeline import timeline

    first = timeline(frame, "ROOT", tasks=names).to_dict()
    cold = time.perf_counter() - start
    assert len(first["datasets"]["tasknb_timeline"]) == TIMELINE_TASKS + 1
    results = timings(
        {
            "timeline": lambda: timeline(frame, "ROOT", tasks=names),
            "timeline + spec": lambda: timeline(frame, "ROOT", tasks=names).to_dict(),
        },
        repeats,
    )
    print(f"timeline of a {TIMELINE_TASKS:,}-task graph run, {repeats} repeats "
          f"(first call, with Altair's import: {cold:.2f} s)")
    for name, values in results.items():
        print(f"  {name:24s} min {min(values) * 1e3:7.1f} ms  median "
              f"{statistics.median(values) * 1e3:7.1f} ms  max {max(values) * 1e3:7.1f} ms")
    worst = max(results["timeline + spec"])
    verdict = "meets" if worst < 1.0 else "MISSES"
    print(f"  => built with its spec in at most {worst:.2f} s, {verdict} the 1 s target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 50 roots")
    parser.add_argument("--only", choices=["tasks", "runs", "task_runs", "timeline"],
                        help="run one benchmark")
    args = parser.parse_args()
    repeats = 5 if args.quick else 15
    if args.only in (None, "tasks"):
        bench_tasks(repeats=repeats)
    if args.only in (None, "runs"):
        bench_runs(roots=50 if args.quick else ROOTS)
    if args.only in (None, "task_runs"):
        bench_task_runs(repeats=repeats)
    if args.only in (None, "timeline"):
        bench_timeline(repeats=repeats)


if __name__ == "__main__":
    main()
