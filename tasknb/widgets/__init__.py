"""Notebook panels: ``TaskPanel`` (one task or graph), ``RunExplorer`` and run charts.

The package keeps state apart from view: ``_state`` (what a panel knows and may do,
traitlets, calls the client), ``_hub`` (the widgets of one root graph refresh together),
``_clock`` (the server's time), ``_follow`` (the background poller of a followed run),
``_explorer`` (filters and the picked run), ``_text`` (one-line messages), ``_html``
(badges, tables, strips and charts as escaped HTML/SVG), ``_parts`` (pieces both views
share), ``_panel`` (``TaskPanel``), ``_run_explorer`` (``RunExplorer``), ``_drawing`` (a
panel's graph view), ``_charts`` (run charts for cells) and ``_graphview`` (``GraphView``,
the interactive drawing; anywidget, imported on first use).
Run semantics live in ``tasknb.runs``, names in ``tasknb.identifiers``.
"""

from __future__ import annotations

from tasknb._extras import needs
from tasknb.runs import execute_and_wait

with needs("tasknb.widgets"):  # the notebook extra (ipywidgets, pandas, graphviz)
    from tasknb.widgets._charts import Chart, duration_chart, run_history
    from tasknb.widgets._follow import FOLLOW_TIMEOUT_S, MAX_POLL_INTERVAL_S, POLL_INTERVAL_S
    from tasknb.widgets._panel import TaskPanel
    from tasknb.widgets._parts import BUTTON_LABELS
    from tasknb.widgets._run_explorer import RunExplorer

_LAZY = {"GraphView": "tasknb.widgets._graphview"}  # needs anywidget (the notebook extra)

__all__ = [
    "BUTTON_LABELS",
    "FOLLOW_TIMEOUT_S",
    "MAX_POLL_INTERVAL_S",
    "POLL_INTERVAL_S",
    "Chart",
    "GraphView",
    "RunExplorer",
    "TaskPanel",
    "duration_chart",
    "execute_and_wait",
    "run_history",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tasknb.widgets' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
