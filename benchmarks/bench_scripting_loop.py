"""A Snowflake Scripting FOR loop of 1,000 iterations with a statement inside, on the engine.

    .venv/bin/python benchmarks/bench_scripting_loop.py [--iterations 1000] [--repeat 7]

Baseline, same run: the same 1,000 INSERT statements written out one after another as a plain
definition (what the engine costs for 1,000 statements without the interpreter). Measured:

* ``FOR i IN 1 TO n DO INSERT INTO t VALUES (:i); END FOR`` (a bound variable per statement);
* ``FOR i IN 1 TO n DO total := total + i; END FOR`` (an expression per iteration);
* a SQL procedure called 100 times from a loop (``CALL add_row(:i)``).

Each runs in a fresh table on one in-memory engine, interleaved; reported: min / median / max
seconds of ``--repeat`` runs and the ratio of the minimums to the baseline's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasknb.local.sql.engine import SqlEngine, TaskContext

TARGET_SECONDS = 5.0  # "reasonable": a 1,000-iteration loop well inside a task's minute


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n = args.iterations
    engine = SqlEngine()
    engine.ensure_schema("BENCH", "S")
    engine.run("CREATE TABLE t (v INTEGER)", TaskContext("BENCH", "S", "T", "T"))
    engine.run("CREATE PROCEDURE add_row(v INTEGER) RETURNS INTEGER LANGUAGE SQL AS "
               "'BEGIN INSERT INTO t VALUES (:v); RETURN v; END'",
               TaskContext("BENCH", "S", "T", "T"))
    cases: dict[str, str] = {
        "plain statements (baseline)": "; ".join(f"INSERT INTO t VALUES ({i})"
                                                 for i in range(1, n + 1)),
        "FOR loop, INSERT :i": f"BEGIN FOR i IN 1 TO {n} DO INSERT INTO t VALUES (:i); "
                               "END FOR; END",
        "FOR loop, total := total + i": f"DECLARE total INTEGER DEFAULT 0; BEGIN FOR i IN 1 TO "
                                        f"{n} DO total := total + i; END FOR; RETURN total; END",
        "FOR loop, CALL add_row(:i) x100": "BEGIN FOR i IN 1 TO 100 DO CALL add_row(:i); "
                                           "END FOR; END",
    }

    def timed(sql: str) -> Callable[[], float]:
        def once() -> float:
            engine.run("DELETE FROM t", TaskContext("BENCH", "S", "T", "T"))
            start = time.perf_counter()
            engine.run(sql, TaskContext("BENCH", "S", "T", "T"))
            return time.perf_counter() - start
        return once

    runners = {name: timed(sql) for name, sql in cases.items()}
    for run in runners.values():  # warm the parse caches once
        run()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, run in runners.items():
            samples[name].append(run())
    base = min(samples["plain statements (baseline)"])
    print(f"{n} iterations, {args.repeat} repeats (seconds: min / median / max; ratio of mins)")
    for name, values in samples.items():
        print(f"  {name:34s} {min(values):.3f} / {statistics.median(values):.3f} / "
              f"{max(values):.3f}   {min(values) / base:.2f}x")
    loop = min(samples["FOR loop, INSERT :i"])
    print(f"target: the INSERT loop under {TARGET_SECONDS:.0f} s: "
          f"{'met' if loop < TARGET_SECONDS else 'MISSED'}")
    engine.close()


if __name__ == "__main__":
    main()
