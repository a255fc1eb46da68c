"""The graph view of a task panel: the drawing of its graph, redrawn only when it changes.

    >>> Drawing(enabled=False).update(None) is None
    True
"""

from __future__ import annotations

from typing import Any

from tasknb.widgets._html import error_html
from tasknb.widgets._state import TaskPanelState
from tasknb.widgets._text import error_line

#: Above this many tasks a panel on the root does not draw the graph (a child's panel draws
#: only what is upstream and downstream of the child).
DRAW_MAX_TASKS = 150


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
        focus = None
        if len(tasks) > DRAW_MAX_TASKS:
            if state.is_root:
                self.svg = (
                    f"<i>A graph of {len(tasks)} tasks is too large to draw in a panel "
                    f"(more than {DRAW_MAX_TASKS}). Draw part of it with "
                    f"<code>tasknb.draw_graph(client, {state.root_name!r}, focus=...)</code>, "
                    f"or open a panel on one of its tasks.</i>"
                )
                return self.svg
            focus = state.task.name  # a child: what is upstream and downstream of it
        try:
            from tasknb.graph import draw_graph, render_svg

            # From the models the state already holds: no extra requests per redraw.
            digraph = draw_graph(tasks, runs=list(state.runs), focus=focus)
            svg = render_svg(digraph)
            self.svg = svg[svg.find("<svg"):] if "<svg" in svg else svg
        except Exception as exc:  # noqa: BLE001 - a drawing failure is one line, not a traceback
            self.svg = error_html(error_line(exc, doing="draw the graph"))
        return self.svg
