"""The graph view of a task panel: the drawing of its graph, redrawn only when it changes.

    >>> Drawing(enabled=False).update(None)
    False

Every task is coloured by its state in the latest run (the per-task rows the panel state
holds; REST marks when there are none). A graph larger than :data:`DRAW_MAX_TASKS` is never
drawn whole into a panel: a child's panel draws the child's neighbourhood
(``tasknb.graph.graph_from_tasks(focus=...)``), a root's panel gathers tasks into groups by
name prefix, and :attr:`Drawing.note` says in one line what was left out and how to see it.
The panel shows the result in ``tasknb.widgets.GraphView`` (zoom, pan, full texts on hover,
details on click) when anywidget is installed, else as an inline SVG.
"""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

import pandas as pd

from tasknb.widgets._html import error_html
from tasknb.widgets._state import TaskPanelState
from tasknb.widgets._text import error_line

#: At most this many tasks are drawn in a panel; above it, a neighbourhood or groups.
DRAW_MAX_TASKS = 150


def history_rows(frame: pd.DataFrame | None) -> list[SimpleNamespace] | None:
    """The rows of a ``task_runs_frame`` as plain objects (missing values ``None``), as the
    drawing reads TASK_HISTORY rows; ``None`` without a frame.

        >>> frame = pd.DataFrame({"name": ["A"], "error_code": [pd.NA]})
        >>> history_rows(frame)[0].error_code is None
        True
    """
    if frame is None:
        return None
    plain = frame.astype(object).where(frame.notna(), None)
    return [SimpleNamespace(**record) for record in plain.to_dict("records")]


class Drawing:
    """Draws the graph with tasknb.graph and keeps the SVG until the graph or runs change.

    After :meth:`update`: ``svg`` (the drawing), ``details`` and ``states`` (per task, for
    the interactive view), ``note`` (what was left out, as HTML; may be empty).
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.signature: Any = None
        self.svg = ""
        self.note = ""
        self.details: dict[str, dict[str, Any]] = {}
        self.states: dict[str, str] = {}

    def update(self, state: TaskPanelState) -> bool:
        """Redraw when something drawn changed; ``True`` when it did."""
        if not self.enabled or state.root is None:
            return False
        latest = state.latest
        signature = (
            tuple((t.name, t.state) for t in state.graph_tasks),
            state.root.state,
            None if latest is None else (latest.run_id, latest.state, latest.completed_time),
            id(state.task_runs),
        )
        if signature == self.signature:
            return False
        self.signature = signature
        tasks = list(state.graph_tasks)
        focus = None
        if len(tasks) > DRAW_MAX_TASKS and state.task is not None and not state.is_root:
            focus = state.task.name  # a child: its neighbourhood
        try:
            from tasknb.graph import graph_from_tasks

            # From the models the state already holds: no extra requests per redraw.
            graph = graph_from_tasks(
                tasks,
                runs=list(state.runs),
                states=history_rows(state.task_runs),
                focus=focus,
                max_tasks=DRAW_MAX_TASKS,
            )
            self.svg = graph.svg()
            self.details = dict(graph.details)
            run = graph.run
            self.states = {key: run.state_of(key) for key in self.details} if run else {}
            self.note = "".join(
                f"<div class='tasknb-draw-note' style='color:#616161'><i>{html.escape(line)}"
                "</i></div>"
                for line in graph.notes
            )
        except Exception as exc:  # noqa: BLE001 - a drawing failure is one line, not a traceback
            self.svg, self.details, self.states = "", {}, {}
            self.note = error_html(error_line(exc, doing="draw the graph"))
        return True
