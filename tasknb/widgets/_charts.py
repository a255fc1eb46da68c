"""Run charts for notebook cells: durations over time, and a strip of recent runs per root.

    >>> "<svg" in duration_chart([]).html
    True

Plain SVG and HTML (``tasknb.widgets._html``): no plotting library, and the same picture in
JupyterLab, classic Notebook and VS Code.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from tasknb.models import TaskRun
from tasknb.widgets._html import duration_chart_svg, run_history_html, runs_from


class Chart:
    """Inline SVG/HTML that renders in JupyterLab, classic Notebook and VS Code.

        >>> "<svg" in duration_chart([]).html
        True

    Hover a dot or a square to see the run's state, time and first error.
    """

    def __init__(self, html_text: str) -> None:
        self.html = html_text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<tasknb chart, {len(self.html)} characters of HTML>"


def duration_chart(
    runs: pd.DataFrame | Iterable[TaskRun], *, title: str = "", width: int = 640
) -> Chart:
    """Graph-run durations over time, coloured by outcome, with the p95 dashed.

        >>> from datetime import datetime, timedelta, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> run = TaskRun("R", state="SUCCEEDED", scheduled_time=t, query_start_time=t,
        ...               completed_time=t + timedelta(seconds=3))
        >>> duration_chart([run], title="R").html.count("<circle")  # the run and three legend dots
        4

    Takes a runs frame (``runs_df``) or ``TaskRun`` models. No plotting library needed.
    """
    return Chart(duration_chart_svg(runs_from(runs), title=title, width=width))


def run_history(runs: pd.DataFrame | Iterable[TaskRun], *, limit: int = 40) -> Chart:
    """One row per root task: a strip of its recent runs (newest left) and outcome counts.

        >>> "1 failed" in run_history([TaskRun("R", state="FAILED", run_id=1)]).html
        True
    """
    return Chart(run_history_html(runs_from(runs), limit=limit))
