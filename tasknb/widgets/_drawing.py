"""The graph view of a task panel: the drawing of its graph, redrawn only when it changes.

    >>> Drawing(enabled=False).update(None) is None
    True

A graph larger than :data:`DRAW_MAX_TASKS` is never drawn whole into a panel (root or child):
the panel draws the neighbourhood of its task (the levels before and after it, as many as fit)
with one line saying how many tasks were left out and how to draw them.
"""

from __future__ import annotations

import html
from typing import Any

from tasknb.dag import GraphModel
from tasknb.identifiers import name_key
from tasknb.models import Task
from tasknb.widgets._html import error_html
from tasknb.widgets._state import TaskPanelState
from tasknb.widgets._text import error_line

#: At most this many tasks are drawn in a panel; above it, the task's neighbourhood.
DRAW_MAX_TASKS = 150


def neighbourhood(tasks: list[Task], name: str, limit: int | None = None) -> tuple[list[Task], int]:
    """The tasks within the most hops of ``name`` (up and down) that keep at most ``limit``
    tasks (default :data:`DRAW_MAX_TASKS`), and how many hops that is.

        >>> chain = [Task("T0", "x")] + [Task(f"T{i}", "x", predecessors=[f"T{i-1}"]) for i in range(1, 9)]
        >>> [t.name for t in neighbourhood(chain, "T4", limit=5)[0]], neighbourhood(chain, "T4", limit=5)[1]
        (['T2', 'T3', 'T4', 'T5', 'T6'], 2)
    """
    limit = DRAW_MAX_TASKS if limit is None else limit
    model = GraphModel.from_tasks(tasks)
    start = name_key(name)
    if start not in model.tasks:
        return [], 0
    links = {key: model.predecessors[key] + model.children[key] for key in model.tasks}
    for root, finalizer in model.finalizers.items():  # a finalizer sits next to its root
        links[root] = [*links[root], finalizer]
        links[finalizer] = [*links[finalizer], root]
    kept, frontier, hops = {start}, [start], 0
    while frontier:
        ring = {n for key in frontier for n in links.get(key, ()) if n not in kept}
        if not ring or len(kept) + len(ring) > limit:
            break
        kept |= ring
        frontier = list(ring)
        hops += 1
    return [t for key, t in model.tasks.items() if key in kept], hops


class Drawing:
    """Draws the graph with tasknb.graph and caches the SVG until the graph or runs change."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.signature: Any = None
        self.svg = ""

    def update(self, state: TaskPanelState) -> str | None:
        if not self.enabled or state.root is None:
            return None
        latest = state.latest
        signature = (
            tuple((t.name, t.state) for t in state.graph_tasks),
            state.root.state,
            None if latest is None else (latest.run_id, latest.state, latest.completed_time),
        )
        if signature == self.signature:
            return None
        self.signature = signature
        tasks = list(state.graph_tasks)
        note = ""
        if len(tasks) > DRAW_MAX_TASKS and state.task is not None:
            shown, hops = neighbourhood(tasks, state.task.name)
            left_out = len(tasks) - len(shown)
            note = (
                f"<div class='tasknb-draw-note' style='color:#616161'><i>Showing {len(shown)} of "
                f"{len(tasks):,} tasks: {html.escape(state.task.name)} and the tasks up to "
                f"{hops} step{'s' if hops != 1 else ''} before and after it ({left_out:,} left "
                f"out, more than {DRAW_MAX_TASKS} would not stay readable). Draw another part "
                f"with <code>tasknb.draw_graph(client, {html.escape(repr(state.root_name))}, "
                f"focus=...)</code>, or open a panel on another task.</i></div>"
            )
            tasks = shown
        try:
            from tasknb.graph import draw_graph, render_svg

            # From the models the state already holds: no extra requests per redraw.
            digraph = draw_graph(tasks, runs=list(state.runs))
            svg = render_svg(digraph)
            self.svg = note + (svg[svg.find("<svg"):] if "<svg" in svg else svg)
        except Exception as exc:  # noqa: BLE001 - a drawing failure is one line, not a traceback
            self.svg = note + error_html(error_line(exc, doing="draw the graph"))
        return self.svg
