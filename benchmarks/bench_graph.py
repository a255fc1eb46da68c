"""Benchmarks for tasknb.graph: DOT text of 1,000 tasks, 3,000 tasks drawn, the layout cache, a focus.

    .venv/bin/python benchmarks/bench_graph.py            # everything, with repeats
    .venv/bin/python benchmarks/bench_graph.py --quick    # fewer repeats, no full 3,000-task layout

1. Building the DOT text (``graph_from_tasks(..., max_tasks=None).source``, every task drawn,
   with the latest failed run marked) for 1,000 tasks in 40 layers, 1-3 predecessors each, plus a finalizer.
   Target: under 100 ms. Baseline in the same run: the same nodes and edges through the
   plain ``graphviz.Digraph.node()/edge()`` API with the same label and tooltip text.
2. Laying the same graph out to SVG with every available engine (system ``dot`` if on
   PATH, ``graphviz-pure`` always), cache bypassed. Recorded, no target.
3. 3,000 tasks (#13): ``graph_from_tasks`` with every task's state in a run, then the SVG a
   notebook gets (layout + ``responsive_svg``), cache bypassed. Targets: under 2 s, at most
   1 MB of SVG. Baseline in the same run: the same 3,000 tasks drawn whole (``max_tasks=None``,
   what ``draw_graph`` did before), once (it takes tens of seconds); skipped with ``--quick``.
4. The layout cache: the same drawing shown again (a panel redraw, a re-run cell) against its
   first layout, both measured here. Target: at least 10x faster.
5. A child panel's drawing (#13): task 500 of a 1,000-task chain, ``focus_tasks`` and its
   drawing to SVG. Target: under 0.5 s end to end.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from typing import Any

import graphviz

from tasknb.graph import (
    MAX_SVG_BYTES,
    RenderError,
    draw_graph,
    focus_tasks,
    graph_from_tasks,
    render_svg,
)
from tasknb.graph._render import _svg_cache, available_engines
from tasknb.models import MinutesSchedule, Task, TaskRun

TASKS = 1_000
BIG_TASKS = 3_000
LAYER_WIDTH = 25
DOT_TARGET_MS = 100.0
BIG_TARGET_S = 2.0
CACHE_TARGET_RATIO = 10.0
FOCUS_TARGET_S = 0.5


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


def _figures(values: list[float], scale: float = 1.0, unit: str = "s") -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return (f"min {low * scale:.3f} {unit}  median {mid * scale:.3f} {unit}  "
            f"max {high * scale:.3f} {unit}")


def bench_big(repeats: int, full: bool) -> None:
    tasks = big_graph(BIG_TASKS)
    states = {task.name: "SUCCEEDED" for task in tasks}
    states["TASK_1234"] = "FAILED"

    def drawn() -> str:
        _svg_cache.clear()
        return graph_from_tasks(tasks, states=states)._repr_mimebundle_()["image/svg+xml"]

    svg = drawn()
    values = timed(drawn, repeats)
    verdict = "meets" if max(values) < BIG_TARGET_S and len(svg) <= MAX_SVG_BYTES else "MISSES"
    print(f"{BIG_TASKS:,} tasks, states of one run, to the SVG a notebook gets ({repeats} repeats)")
    print(f"  collapsed (default)            {_figures(values)}  SVG {len(svg) / 1e3:,.0f} KB")
    print(f"  => {verdict} the {BIG_TARGET_S:.0f} s and {MAX_SVG_BYTES / 1e6:.0f} MB targets")
    if full:
        _svg_cache.clear()
        start = time.perf_counter()
        try:
            whole = render_svg(graph_from_tasks(tasks, states=states, max_tasks=None))
        except RenderError as error:  # the engine's own limit (RENDER_TIMEOUT_S)
            took = time.perf_counter() - start
            print(f"  drawn whole (max_tasks=None)   gave up after {took:.0f} s: {error}")
            print(f"  => collapsed is more than {took / statistics.median(values):.0f}x faster")
        else:
            took = time.perf_counter() - start
            print(f"  drawn whole (max_tasks=None)   {took:.2f} s once, "
                  f"SVG {len(whole) / 1e6:.1f} MB")
            print(f"  => collapsed is {took / statistics.median(values):.0f}x faster (median), "
                  f"{len(whole) / len(svg):.0f}x smaller")

    graph = graph_from_tasks(tasks, states=states)
    firsts, agains = [], []
    for _ in range(repeats):
        _svg_cache.clear()
        firsts += timed(graph.fitted_svg, 1)
        agains += timed(graph.fitted_svg, 1)
    ratio = statistics.median(firsts) / statistics.median(agains)
    verdict = "meets" if ratio >= CACHE_TARGET_RATIO else "MISSES"
    print("layout cache: the same drawing shown again")
    print(f"  first layout                   {_figures(firsts, 1e3, 'ms')}")
    print(f"  shown again (cached)           {_figures(agains, 1e3, 'ms')}")
    print(f"  => {ratio:,.0f}x faster (medians), {verdict} the {CACHE_TARGET_RATIO:.0f}x target")


def bench_focus(repeats: int) -> None:
    chain = [Task("T0", "select 0")]
    chain += [Task(f"T{i}", f"select {i}", predecessors=[f"T{i - 1}"]) for i in range(1, 1000)]

    def panel() -> str:
        _svg_cache.clear()
        return draw_graph(chain, focus="T500").fitted_svg()

    near = focus_tasks(chain, "T500")
    values = timed(panel, repeats)
    verdict = "meets" if max(values) < FOCUS_TARGET_S else "MISSES"
    print(f"task 500 of a 1,000-task chain ({repeats} repeats): {len(near.keys)} tasks drawn")
    print(f"  focus + drawing to SVG         {_figures(values)}")
    print(f"  note: {near.note}")
    print(f"  => {verdict} the {FOCUS_TARGET_S} s target")


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
    graph = graph_from_tasks(tasks, runs=runs, max_tasks=None)  # every task, as the baseline
    edges = graph.source.count(" -> ")

    ours = timed(lambda: graph_from_tasks(tasks, runs=runs, max_tasks=None).source, repeats)
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
    bench_big(3 if args.quick else 10, full=not args.quick)
    bench_focus(3 if args.quick else 10)


if __name__ == "__main__":
    main()
