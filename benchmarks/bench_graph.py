"""Benchmarks for tasknb.graph: DOT text of a 1,000-task graph, and its layout to SVG.

    .venv/bin/python benchmarks/bench_graph.py            # DOT build + layout with each engine
    .venv/bin/python benchmarks/bench_graph.py --quick    # fewer repeats, one layout

1. Building the DOT text (``graph_from_tasks(...).source``, with the latest failed run
   marked) for 1,000 tasks in 40 layers, 1-3 predecessors each, plus a finalizer.
   Target: under 100 ms. Baseline in the same run: the same nodes and edges through the
   plain ``graphviz.Digraph.node()/edge()`` API with the same label and tooltip text.
2. Laying the same graph out to SVG with every available engine (system ``dot`` if on
   PATH, ``graphviz-pure`` always), cache bypassed. Recorded, no target.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from typing import Any

import graphviz

from tasknb.graph import graph_from_tasks, render_svg
from tasknb.graph._render import _svg_cache, available_engines
from tasknb.models import MinutesSchedule, Task, TaskRun

TASKS = 1_000
LAYER_WIDTH = 25
DOT_TARGET_MS = 100.0


def big_graph(count: int = TASKS, width: int = LAYER_WIDTH, seed: int = 7) -> list[Task]:
    """A root, ``count - 2`` children in layers of ``width``, and a finalizer."""
    rng = random.Random(seed)
    tasks = [
        Task(
            "ROOT",
            "select 1",
            schedule=MinutesSchedule(60),
            warehouse="WH_XS",
            state="started",
            task_relations='{"Predecessors":[],"FinalizerTask":"DEMO.PUBLIC.CLEANUP"}',
        )
    ]
    layer, made = ["ROOT"], 1
    while made < count - 1:
        nxt = []
        for _ in range(min(width, count - 1 - made)):
            name = f"TASK_{made:04d}"
            preds = rng.sample(layer, k=min(len(layer), rng.randint(1, 3)))
            tasks.append(
                Task(
                    name,
                    f"insert into t{made} select * from s{made}",
                    predecessors=preds,
                    state="suspended" if made % 17 == 0 else "started",
                    condition="SYSTEM$STREAM_HAS_DATA('S')" if made % 11 == 0 else None,
                )
            )
            nxt.append(name)
            made += 1
        layer = nxt
    tasks.append(Task("CLEANUP", "call cleanup()", finalize="ROOT", state="started"))
    return tasks


def failed_run() -> TaskRun:
    return TaskRun(
        "ROOT",
        state="FAILED",
        first_error_task_name="TASK_0100",
        first_error_code=100038,
        first_error_message="Numeric value 'abc' is not recognized",
        run_id=1,
    )


def plain_graphviz(tasks: list[Task]) -> str:
    """Baseline: the same drawing through graphviz's node()/edge() calls (quoting included)."""
    graph = graphviz.Digraph(graph_attr={"rankdir": "LR"}, node_attr={"shape": "box"})
    for task in tasks:
        graph.node(
            task.name,
            label=graphviz.escape(task.name),
            tooltip=graphviz.escape(f"{task.name}\n{task.definition}"),
            style="rounded,filled,dashed" if task.state == "suspended" else "rounded,filled",
        )
    for task in tasks:
        for pred in task.predecessors:
            graph.edge(pred, task.name)
        if task.finalize:
            graph.edge(task.finalize, task.name, style="dashed")
    return graph.source


def timed(function: Any, repeats: int) -> list[float]:
    values = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        function()
        values.append(time.perf_counter() - start)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, one layout")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    tasks, runs = big_graph(), [failed_run()]
    graph = graph_from_tasks(tasks, runs=runs)
    edges = graph.source.count(" -> ")

    ours = timed(lambda: graph_from_tasks(tasks, runs=runs).source, repeats)
    base = timed(lambda: plain_graphviz(tasks), repeats)
    best, median = min(ours) * 1e3, statistics.median(ours) * 1e3
    verdict = "meets" if best < DOT_TARGET_MS else "MISSES"
    print(f"DOT text, {len(tasks):,} tasks, {edges:,} edges, {repeats} repeats")
    print(f"  graph_from_tasks(...).source   min {best:6.1f} ms  median {median:6.1f} ms")
    print(
        f"  plain graphviz node()/edge()   min {min(base) * 1e3:6.1f} ms  "
        f"median {statistics.median(base) * 1e3:6.1f} ms"
    )
    print(
        f"  => {best:.1f} ms ({best / (min(base) * 1e3):.2f}x the plain API), "
        f"{verdict} the {DOT_TARGET_MS:.0f} ms target"
    )

    layouts = 1 if args.quick else 3
    for name in available_engines():
        values = []
        for _ in range(layouts):
            _svg_cache.clear()
            start = time.perf_counter()
            svg = render_svg(graph, engine=name)
            values.append(time.perf_counter() - start)
        print(
            f"layout to SVG with {name}: min {min(values):.2f} s over {layouts} run(s), "
            f"{len(svg) / 1e6:.1f} MB of SVG"
        )


if __name__ == "__main__":
    main()
