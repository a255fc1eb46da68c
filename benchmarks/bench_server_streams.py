"""A stream over a 100,000-row table, read and merged by a task, against the same MERGE of a
plain table holding the same changes.

    .venv/bin/python benchmarks/bench_server_streams.py               # 100,000 rows, 5 rounds
    .venv/bin/python benchmarks/bench_server_streams.py --rows 20000

Each round changes 10% of the source (5% inserted, 2.5% updated, 2.5% deleted), then times,
through the service (the code the HTTP API calls):

* ``read``: ``SELECT count(*) FROM <stream>``; baseline: the same count of a table holding the
  change rows;
* ``merge``: a task run (EXECUTE, wait) whose MERGE reads the stream and so advances its
  offset; baseline: the same MERGE, from the table of change rows, as a task run;
* ``has data``: ``SYSTEM$STREAM_HAS_DATA`` on the stream just consumed (what a triggered task
  looks at every 30 s); baseline: the WHEN ``1 = 1``;
* ``day of polls``: a manual clock advanced one day with a started triggered task on the
  empty stream (2,880 looks); baseline: the same day without it.

Ratios are stream / baseline, per round; min, median and max are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone

from tasknb.local.schedule.clock import ManualClock
from tasknb.local.service import Service
from tasknb.local.sql.engine import TaskContext

DB, SCHEMA = "BENCH_DB", "PUBLIC"
MERGE = """MERGE INTO target t
USING (SELECT * FROM {source} WHERE NOT (METADATA$ACTION = 'DELETE' AND METADATA$ISUPDATE)) c
ON t.id = c.id
WHEN MATCHED AND c.METADATA$ACTION = 'DELETE' THEN DELETE
WHEN MATCHED THEN UPDATE SET t.v = c.v, t.n = c.n
WHEN NOT MATCHED AND c.METADATA$ACTION = 'INSERT' THEN INSERT (id, v, n) VALUES (c.id, c.v, c.n)"""


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = args.rows
    with tempfile.TemporaryDirectory(prefix="tasknb-bench-") as data_dir:
        service = Service(data_dir, clock=ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc)))
        engine = service.engine()
        ctx = TaskContext(DB, SCHEMA, "BENCH", "BENCH")

        def sql(text: str) -> None:
            service.run_sql(DB, SCHEMA, text)

        try:
            service.create_database({"name": DB})
            sql("CREATE TABLE src (id INT, v VARCHAR, n DOUBLE)")
            sql(f"INSERT INTO src SELECT i, 'value ' || i, i / 7 FROM range({rows}) r(i)")
            sql("CREATE TABLE target AS SELECT * FROM src")
            sql("CREATE STREAM src_s ON TABLE src")
            service.create_task(DB, SCHEMA, {"name": "apply_stream", "warehouse": "WH",
                                             "definition": MERGE.format(source="src_s")})
            service.create_task(DB, SCHEMA, {"name": "apply_table", "warehouse": "WH",
                                             "definition": MERGE.format(source="changes")})
            ratios: dict[str, list[float]] = {"read": [], "merge": [], "has data": []}
            times: dict[str, list[float]] = {k: [] for k in ratios}
            next_id = rows
            for round_number in range(args.rounds):
                tenth = rows // 10
                start = round_number * tenth
                sql(f"INSERT INTO src SELECT i, 'new ' || i, 0 FROM range({next_id}, "
                    f"{next_id + tenth // 2}) r(i)")
                next_id += tenth // 2
                sql(f"UPDATE src SET v = v || '!', n = n + 1 WHERE id >= {start} AND id < "
                    f"{start + tenth // 4}")
                sql(f"DELETE FROM src WHERE id >= {start + tenth // 4} AND id < "
                    f"{start + tenth // 2}")
                sql("CREATE OR REPLACE TABLE changes AS SELECT * FROM src_s")
                changed = engine.query("SELECT count(*) FROM changes", DB, SCHEMA)[0][0]
                read = timed(lambda: engine.query("SELECT count(*) FROM src_s", DB, SCHEMA))
                read_base = timed(lambda: engine.query("SELECT count(*) FROM changes", DB,
                                                       SCHEMA))
                merge_base = timed(lambda: service.execute_task(DB, SCHEMA, "apply_table",
                                                                wait=True))
                merge = timed(lambda: service.execute_task(DB, SCHEMA, "apply_stream",
                                                           wait=True))
                assert engine.query("SELECT count(*) FROM src_s", DB, SCHEMA) == [(0,)]
                poll = timed(lambda: engine.condition_holds(
                    "SYSTEM$STREAM_HAS_DATA('src_s')", ctx))
                poll_base = timed(lambda: engine.condition_holds("1 = 1", ctx))
                for key, value, base in (("read", read, read_base), ("merge", merge, merge_base),
                                         ("has data", poll, poll_base)):
                    ratios[key].append(value / base)
                    times[key].append(value)
                print(f"round {round_number + 1}: {changed:,} change rows; read {read * 1e3:.1f} "
                      f"ms (table {read_base * 1e3:.1f}), merge {merge * 1e3:.1f} ms (table "
                      f"{merge_base * 1e3:.1f}), has data {poll * 1e3:.1f} ms (1 = 1: "
                      f"{poll_base * 1e3:.2f})")
            # a triggered task on the (consumed, empty) stream while a manual clock advances
            # a day: 2,880 polls at the default 30 s; baseline: the same day without the task
            quiet = timed(lambda: service.advance(timedelta(days=1)))
            service.create_task(DB, SCHEMA, {"name": "triggered", "warehouse": "WH",
                                             "definition": MERGE.format(source="src_s"),
                                             "condition": "SYSTEM$STREAM_HAS_DATA('src_s')"})
            service.resume_task(DB, SCHEMA, "triggered")
            polled = [timed(lambda: service.advance(timedelta(days=1))) for _ in range(3)]
            ratios["day of polls"] = [value / quiet for value in polled]
            times["day of polls"] = polled
            print(f"advance 1 day: {quiet * 1e3:.1f} ms without a triggered task, "
                  f"{', '.join(f'{v * 1e3:.0f}' for v in polled)} ms with one")
            for key, values in ratios.items():
                print(f"{key}: ratio min {min(values):.2f} / median "
                      f"{statistics.median(values):.2f} / max {max(values):.2f}; stream "
                      f"{statistics.median(times[key]) * 1e3:.1f} ms median")
        finally:
            service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
