"""``client.sql`` against raw httpx on the same partitions (issue 9: within 2x).

    .venv/bin/python benchmarks/bench_client_sql.py [--rows 100000] [--repeat 5]

The local server runs in a child process (``_server_proc``). A table of ``--rows`` rows and
10 columns (integers, decimals, floats, text, a boolean, a timestamp) is made once. Then,
interleaved ``--repeat`` times:

* baseline: ``POST /api/v2/statements`` with raw httpx, every further partition fetched one
  by one with ``GET ?partition=N``, each body decoded with orjson, and one
  ``pandas.DataFrame`` built from all the rows (untyped: every cell stays a string);
* ``client.sql``: the same statement through ``TaskClient.sql`` (typed columns, partitions
  fetched concurrently).

Both submit the statement, so both include the server's run of it. Prints the best and median
times and their ratio, and the time ``to_frame`` takes for the decoded rows alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx
import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server_proc import ServerProcess

from tasknb import PatAuth, TaskClient
from tasknb.client._sql import to_frame

TARGET_RATIO = 2.0
QUERY = "SELECT * FROM bench ORDER BY id"


def _raw(http: httpx.Client) -> pd.DataFrame:
    meta, rows = _fetch(http)
    return pd.DataFrame(rows, columns=[c["name"] for c in meta["rowType"]])


def _fetch(http: httpx.Client) -> tuple[dict, list]:
    """Submit the query with raw httpx; its resultSetMetaData and every partition's rows."""
    first = http.post("/api/v2/statements", json={"statement": QUERY, "database": "BENCH",
                                                  "schema": "PUBLIC"})
    first.raise_for_status()
    body = orjson.loads(first.content)
    handle = body["statementHandle"]
    while first.status_code == 202:  # still running after the server's synchronous wait
        time.sleep(0.05)
        first = http.get(f"/api/v2/statements/{handle}")
        first.raise_for_status()
        body = orjson.loads(first.content)
    rows = list(body["data"])
    for number in range(1, len(body["resultSetMetaData"]["partitionInfo"])):
        page = http.get(f"/api/v2/statements/{handle}", params={"partition": number})
        page.raise_for_status()
        rows.extend(orjson.loads(page.content)["data"])
    return body["resultSetMetaData"], rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with ServerProcess() as (url, token):
        headers = {"Authorization": f"Bearer {token}"}
        http = httpx.Client(base_url=url, headers=headers, timeout=300.0)
        http.post("/api/v2/databases", json={"name": "BENCH"}).raise_for_status()
        client = TaskClient(url, auth=PatAuth(token), database="BENCH", schema="PUBLIC",
                            timeout=300.0)
        client.sql(
            "CREATE TABLE bench AS SELECT range AS id, range * 7 AS a, range % 1000 AS b, "
            "-range AS c, (range / 3)::NUMBER(18, 4) AS price, range * 0.5::DOUBLE AS ratio, "
            "'name ' || range AS name, md5(range::TEXT) AS digest, range % 2 = 0 AS even, "
            "'2026-01-01'::TIMESTAMP_NTZ + to_seconds(range) AS at "
            f"FROM range({args.rows})")
        raw_times, client_times = [], []
        frame = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            raw = _raw(http)
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            frame = client.sql(QUERY)
            client_times.append(time.perf_counter() - started)
            assert len(raw) == len(frame) == args.rows
        assert frame is not None
        meta, rows = _fetch(http)
        started = time.perf_counter()
        to_frame(meta["rowType"], rows)
        decode = time.perf_counter() - started
        partitions = len(meta["partitionInfo"])
        client.close()
        http.close()
    best = min(client_times) / min(raw_times)
    median = statistics.median(client_times) / statistics.median(raw_times)
    print(f"{args.rows:,} rows x 10 columns in {partitions} partitions, {args.repeat} rounds")
    print(f"raw httpx + orjson + DataFrame: best {min(raw_times):.3f} s, "
          f"median {statistics.median(raw_times):.3f} s")
    print(f"client.sql (typed):             best {min(client_times):.3f} s, "
          f"median {statistics.median(client_times):.3f} s")
    print(f"ratio: best {best:.2f}x, median {median:.2f}x (target within {TARGET_RATIO}x); "
          f"to_frame alone {decode:.3f} s; dtypes {sorted(set(map(str, frame.dtypes)))}")
    return 0 if median <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
