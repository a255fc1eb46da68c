"""Listing 10,000 tasks over Link-paged responses: TaskClient into models vs raw httpx + json.

    .venv/bin/python benchmarks/bench_client_list.py [--tasks 10000] [--pages 10] [--repeat 7]

Both sides read the same pre-built response bytes from one in-process ``httpx.MockTransport``
(no network), in the same run. The raw side is ``httpx.Client.get`` + ``json.loads`` following
the ``rel="last"`` page count of the first answer's ``Link`` (Snowflake sends it there only);
the client side is ``TaskClient.list_tasks()``, which also
parses every row into a ``Task`` (timestamps, schedules). Reported: best and median of
``--repeat`` runs, and the ratio client/raw (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasknb import TaskClient

BASE = "https://myorg-acct.snowflakecomputing.com"
LIST_PATH = "/api/v2/databases/DB/schemas/S/tasks"
TARGET_RATIO = 1.5
_LAST = re.compile(r'<([^>?]*)\?page=(\d+)>;\s*rel="last"')


def task_row(i: int) -> dict:
    root = i % 10 == 0
    return {
        "name": f"TASK_{i:05d}",
        "definition": f"insert into t_{i % 97} select * from staging where batch = {i}",
        "warehouse": "TRANSFORM_WH",
        "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 60} if root else None,
        "comment": "benchmark task",
        "predecessors": [] if root else [f"DB.S.TASK_{i - 1:05d}"],
        "task_relations": json.dumps({"Predecessors": [] if root else [f"DB.S.TASK_{i - 1:05d}"]}),
        "config": {"env": "prod"} if root else None,
        "suspend_task_after_num_failures": 10,
        "user_task_timeout_ms": 3_600_000,
        "allow_overlapping_execution": False,
        "overlap_policy": "NO_OVERLAP" if root else None,
        "created_on": "2026-03-01T08:00:00.123456Z",
        "id": f"01b{i:013d}",
        "owner": "SYSADMIN",
        "owner_role_type": "ROLE",
        "state": "started" if i % 3 else "suspended",
        "last_committed_on": "2026-03-02T08:00:00Z",
        "last_suspended_on": None,
        "database_name": "DB",
        "schema_name": "S",
    }


def build_pages(n_tasks: int, n_pages: int) -> list[tuple[bytes, dict[str, str]]]:
    rows = [task_row(i) for i in range(n_tasks)]
    size = -(-n_tasks // n_pages)
    handle = str(uuid.uuid4())
    pages = []
    for p in range(n_pages):
        chunk = rows[p * size : (p + 1) * size]
        headers = {
            "Content-Type": "application/json",
            "X-Snowflake-Request-ID": str(uuid.uuid4()),
        }
        if p == 0 and n_pages > 1:  # as Snowflake sends it: on the first answer only
            headers["Link"] = (f'</api/v2/results/{handle}?page=0>; rel="first",'
                               f'</api/v2/results/{handle}?page=1>; rel="next",'
                               f'</api/v2/results/{handle}?page={n_pages - 1}>; rel="last"')
        pages.append((json.dumps(chunk).encode(), headers))
    return pages


def transport_for(pages: list[tuple[bytes, dict[str, str]]]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 0))
        body, headers = pages[page]
        return httpx.Response(200, headers=headers, content=body)

    return httpx.MockTransport(handler)


def raw_list(client: httpx.Client) -> list[dict]:
    """The baseline: the first page, then ``?page=1..last`` of the ``rel="last"`` URL, with
    plain httpx, keeping the decoded rows (what snowflake-core does)."""
    response = client.get(LIST_PATH)
    rows: list[dict] = json.loads(response.content)
    match = _LAST.search(response.headers.get("link", ""))
    if match:
        for page in range(1, int(match.group(2)) + 1):
            rows.extend(json.loads(client.get(f"{match.group(1)}?page={page}").content))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    pages = build_pages(args.tasks, args.pages)
    transport = transport_for(pages)
    raw = httpx.Client(base_url=BASE, transport=transport)
    client = TaskClient(BASE, auth=None, database="DB", schema="S", transport=transport)

    assert len(raw_list(raw)) == args.tasks
    tasks = client.list_tasks()
    assert len(tasks) == args.tasks and tasks[-1].name == f"TASK_{args.tasks - 1:05d}"

    timings: dict[str, dict[str, list[float]]] = {
        clock: {"raw": [], "client": []} for clock in ("wall", "cpu")
    }
    for _ in range(args.repeat):  # interleaved so both sides see the same machine state
        for side, run in (("raw", lambda: raw_list(raw)), ("client", client.list_tasks)):
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            timings["wall"][side].append(time.perf_counter() - wall)
            timings["cpu"][side].append(time.process_time() - cpu)

    print(
        f"tasks={args.tasks} pages={args.pages} repeat={args.repeat} python={sys.version.split()[0]}"
    )
    ratios = {}
    for clock, sides in timings.items():
        raw_t, client_t = sides["raw"], sides["client"]
        ratios[clock] = statistics.median(client_t) / statistics.median(raw_t)
        print(
            f"{clock:4} raw httpx + json.loads {min(raw_t) * 1e3:6.1f} ms best "
            f"{statistics.median(raw_t) * 1e3:6.1f} ms median | TaskClient.list_tasks "
            f"{min(client_t) * 1e3:6.1f} ms best {statistics.median(client_t) * 1e3:6.1f} ms median"
            f" | ratio {min(client_t) / min(raw_t):.2f}x best, {ratios[clock]:.2f}x median"
        )
    print(
        f"target: client/raw <= {TARGET_RATIO}x (CPU time is the steadier figure on a busy machine)"
    )
    raw.close()
    client.close()
    return 0 if ratios["cpu"] <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
