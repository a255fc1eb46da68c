"""A timeline (Gantt) of one graph run: one bar per task from its start to its end.

    >>> from datetime import datetime, timedelta, timezone
    >>> from tasknb.frames import task_runs_frame
    >>> from tasknb.models import TaskHistoryRow
    >>> at = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    >>> frame = task_runs_frame([
    ...     TaskHistoryRow("ROOT", state="SUCCEEDED", run_id=1, scheduled_time=at,
    ...                    query_start_time=at, completed_time=at + timedelta(seconds=2)),
    ...     TaskHistoryRow("LOAD", state="FAILED", run_id=1, error_code="002003",
    ...                    scheduled_time=at + timedelta(seconds=2),
    ...                    query_start_time=at + timedelta(seconds=2),
    ...                    completed_time=at + timedelta(seconds=3))])
    >>> chart = timeline(frame, "ROOT", tasks=["ROOT", "LOAD", "REPORT"])
    >>> print(chart)
    ROOT run 1 (2026-03-01 08:00:00 UTC): 3 tasks, 1 succeeded, 1 failed (LOAD), 1 not run

Bars are coloured by state; a failing task carries a cross at its end; a task skipped by its
condition, still scheduled, or not run at all (after a failed or cancelled predecessor: it
has no TASK_HISTORY row) is a hollow mark at its scheduled time (not run: where the run
ended, on the last rows). Rows are ordered by start, and the chart grows by :data:`ROW_HEIGHT` per task, so 1,000
tasks stay readable (the notebook scrolls). Drawn with Altair (Vega-Lite 5), which JupyterLab
and VS Code render natively, offline, with tooltips; ``Timeline.chart`` is the Altair chart
for ``.properties()``, ``.save("run.html")`` and the like. Tier: REST + SQL (per-task runs
come from TASK_HISTORY).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tasknb._extras import needs

with needs("tasknb.timeline"):  # the notebook extra (pandas, altair)
    import pandas as pd

from tasknb import runs
from tasknb.durations import format_duration
from tasknb.identifiers import display_name, name_key
from tasknb.models import Task, TaskRun
from tasknb.runs import TASK_FAILED_STATES, latest_run

__all__ = ["NOT_RUN", "STATE_COLOURS", "Timeline", "timeline"]

#: The state of a task of the graph with no run in this graph run.
NOT_RUN = "NOT_RUN"
#: One colour per task-run state (the panels' colours, tasknb.runs), and one for tasks not run.
STATE_COLOURS = {**runs.STATE_COLOURS, NOT_RUN: "#bdbdbd"}
#: States drawn as a hollow mark at their scheduled time instead of a bar, and the mark.
MARK_SHAPES = {"SKIPPED": "diamond", "SCHEDULED": "triangle-right", NOT_RUN: "circle"}
MARKED_STATES = frozenset(MARK_SHAPES)
ROW_HEIGHT = 18  # px per task
TICKS = 8  # time-axis ticks asked for (Vega-Lite rounds them to nice moments)
BOTH_AXES_ROWS = 30  # from this many tasks on, the time axis is drawn below the rows too
MIN_HEIGHT = 80
DEFAULT_WIDTH = 720
LABEL_LIMIT = 260  # px of task name before an ellipsis (the full name is in the tooltip)
ERROR_TOOLTIP_CHARS = 300
VEGA_LITE_MIME = "application/vnd.vegalite.v5+json"
DATASET = "tasknb_timeline"


@dataclass
class Timeline:
    """A drawn graph run: ``frame`` (one row per bar or mark), ``summary``, ``chart`` (Altair).

    Shows itself in a notebook (Vega-Lite, with the summary as its text form).
    """

    frame: pd.DataFrame
    summary: str
    run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    _bare: Any = field(default=None, repr=False)  # the chart without its rows
    _rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def chart(self) -> Any:
        """The Altair chart, its rows included (for ``.save()``, ``.properties()``, ...)."""
        return self._bare.properties(datasets={DATASET: self._rows})

    def to_dict(self) -> dict[str, Any]:
        """The Vega-Lite specification (the rows under ``datasets``)."""
        spec = self._bare.to_dict(validate=False)
        spec["datasets"] = {DATASET: self._rows}
        return spec

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {VEGA_LITE_MIME: self.to_dict(), "text/plain": self.summary}

    def __str__(self) -> str:
        return self.summary

    def __repr__(self) -> str:
        return f"<Timeline: {self.summary}>"


def timeline(
    frame_or_client: Any,
    root: str | Task | None = None,
    *,
    run: int | TaskRun | None = None,
    tasks: Iterable[str | Task] | None = None,
    width: int = DEFAULT_WIDTH,
) -> Timeline:
    """The Gantt chart of one graph run of ``root``.

    ``frame_or_client`` is a ``task_runs_df``/``task_runs_frame`` frame, or a client: then
    the run's task rows are read with ``task_runs_df`` and the graph's tasks with
    ``fetch_task_dependents`` (to show the tasks that did not run). ``run`` is a run id or a
    ``TaskRun``; by default the latest run (for a client, REST's latest graph run; for a
    frame, its highest run id). ``tasks`` names the graph's tasks for a frame (any not in
    the run are drawn as not run). Every attempt of the run (retries) is drawn on its task's
    row. Raises ``ValueError`` when there is no such run.
    """
    if isinstance(frame_or_client, pd.DataFrame):
        frame = frame_or_client
        run_id = _run_id(run)
        graph_tasks = None if tasks is None else [_name(t) for t in tasks]
        root_name = None if root is None else _name(root)
    else:
        if root is None:
            raise TypeError("timeline(client, root): name the root task whose run to draw")
        frame, run_id, graph_tasks = _read(frame_or_client, root, run)
        if tasks is not None:
            graph_tasks = [_name(t) for t in tasks]
        root_name = _name(root)
    if run_id is None:
        ids = frame["run_id"].dropna()
        if ids.empty:
            raise ValueError(f"no graph run to draw{_of(root_name)}: the frame has no task runs")
        run_id = int(ids.max())
    rows = frame[frame["run_id"] == run_id]
    if rows.empty and not graph_tasks:
        raise ValueError(f"graph run {run_id}{_of(root_name)} has no task runs to draw")
    return _draw(rows, root_name, run_id, graph_tasks, width)


# -- reading -------------------------------------------------------------------------------


def _name(task: str | Task) -> str:
    return task.name if isinstance(task, Task) else str(task)


def _of(root: str | None) -> str:
    return f" of {display_name(root)}" if root else ""


def _run_id(run: int | TaskRun | None) -> int | None:
    if run is None:
        return None
    if isinstance(run, TaskRun):
        if run.run_id is None:
            raise ValueError(f"the run of {run.root_task_name} has no run_id to draw")
        return int(run.run_id)
    if isinstance(run, bool) or not isinstance(run, int):
        raise TypeError(f"run must be a run id (an integer) or a TaskRun, got {run!r}")
    return run


def _read(client: Any, root: str | Task, run: int | TaskRun | None) -> tuple[
        pd.DataFrame, int | None, list[str]]:
    from tasknb.frames import task_runs_df
    from tasknb.models import call_scope

    name = _name(root)
    scope = call_scope(task=root if isinstance(root, Task) else None)
    run_id = _run_id(run)
    if run_id is None:
        runs = [*client.get_current_graphs(name, **scope),
                *client.get_complete_graphs(name, error_only=False, **scope)]
        latest = latest_run(runs)
        if latest is not None and latest.run_id is not None:
            run_id = int(latest.run_id)
    frame = task_runs_df(client, root, run=run_id)
    graph = [task.name for task in client.fetch_task_dependents(name, **scope)]
    return frame, run_id, graph


# -- drawing -------------------------------------------------------------------------------


def _iso(moment: Any) -> str | None:
    return None if moment is None else pd.Timestamp(moment).tz_convert("UTC").isoformat()


def _py(series: pd.Series) -> list[Any]:
    """A column as Python values, ``None`` where missing (NaT, NA, NaN)."""
    return series.astype(object).where(series.notna(), None).tolist()


_ITEM_COLUMNS = ("name", "state", "attempt_number", "scheduled_time", "query_start_time",
                 "completed_time", "duration_s", "error_code", "error_message", "query_id")


def _items(rows: pd.DataFrame, graph_tasks: list[str] | None) -> list[dict[str, Any]]:
    """One item per bar or mark: task, state, start, end, and the tooltip's fields."""
    missing = [c for c in _ITEM_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"timeline() needs a task_runs_df frame; this one lacks "
                         f"{', '.join(missing)}")
    columns = {c: _py(rows[c]) for c in _ITEM_COLUMNS}
    latest_end = max((t for t in columns["completed_time"] if t is not None), default=None)
    items = []
    for (name, state, attempt, scheduled, started, ended, seconds, code, message,
         query_id) in zip(*(columns[c] for c in _ITEM_COLUMNS)):
        state = "UNKNOWN" if state is None else str(state)
        marked = state in MARKED_STATES or started is None
        start = scheduled if (marked and scheduled is not None) or started is None else started
        end = ended if ended is not None else start if marked else latest_end or start
        items.append({
            "task": display_name(str(name)),
            "state": state,
            "kind": "mark" if marked else "bar",
            "failed": state in TASK_FAILED_STATES,
            "start": _iso(start),
            "end": _iso(end),
            "attempt": None if attempt is None else int(attempt),
            "duration": None if seconds is None else format_duration(float(seconds)),
            "error": None if code is None else f"{code}: {(message or '')[:ERROR_TOOLTIP_CHARS]}",
            "query_id": query_id,
        })
    if graph_tasks:
        seen = {name_key(str(n)) for n in columns["name"]}
        ends = [i["end"] for i in items if i["end"]]
        last = max(ends) if ends else None
        for task in graph_tasks:
            if name_key(task) not in seen:
                seen.add(name_key(task))
                items.append({"task": display_name(task), "state": NOT_RUN, "kind": "mark",
                              "failed": False, "start": last, "end": last, "attempt": None,
                              "duration": None, "error": None, "query_id": None})
    return items


def _order(items: list[dict[str, Any]]) -> list[str]:
    """Task rows top to bottom: by first start, then name; tasks that did not run last."""
    first: dict[str, tuple[bool, str]] = {}
    for item in items:
        key = (item["state"] == NOT_RUN, item["start"] or "~")
        if item["task"] not in first or key < first[item["task"]]:
            first[item["task"]] = key
    return sorted(first, key=lambda task: (first[task], task))


def _summary(root: str | None, run_id: int, items: list[dict[str, Any]]) -> tuple[
        str, dict[str, int]]:
    final: dict[str, dict[str, Any]] = {}
    for item in items:  # the last attempt of each task tells how it ended
        previous = final.get(item["task"])
        if previous is None or (item["attempt"] or 0) >= (previous["attempt"] or 0):
            final[item["task"]] = item
    counts: dict[str, int] = {}
    for item in final.values():
        counts[item["state"]] = counts.get(item["state"], 0) + 1
    starts = sorted(i["start"] for i in items if i["start"])
    when = ""
    if starts:
        when = f" ({pd.Timestamp(starts[0]).strftime('%Y-%m-%d %H:%M:%S')} UTC)"
    failed = sorted(t for t, i in final.items() if i["failed"])
    parts = [f"{len(final)} tasks"]
    for state in STATE_COLOURS:
        if counts.get(state):
            words = state.lower().replace("_", " ")
            text = f"{counts[state]} {words}"
            if state in TASK_FAILED_STATES:
                shown = ", ".join(failed[:5]) + (", ..." if len(failed) > 5 else "")
                text += f" ({shown})"
            parts.append(text)
    head = f"{display_name(root)} run {run_id}" if root else f"run {run_id}"
    return f"{head}{when}: {', '.join(parts)}", counts


def _draw(rows: pd.DataFrame, root: str | None, run_id: int, graph_tasks: list[str] | None,
          width: int) -> Timeline:
    with needs("timeline()"):
        import altair as alt

    items = _items(rows, graph_tasks)
    order = _order(items)
    rank: dict[str, int] = {}
    summary, counts = _summary(root, run_id, items)
    states = [s for s in STATE_COLOURS if any(i["state"] == s for i in items)]
    states += sorted({i["state"] for i in items} - set(states))
    colour = alt.Color(
        "state:N",
        scale=alt.Scale(domain=states, range=[STATE_COLOURS.get(s, "#616161") for s in states]),
        legend=alt.Legend(title="state", orient="top"),
    )
    starts = [i["start"] for i in items if i["start"]]
    ends = [i["end"] for i in items if i["end"]]
    span = (pd.Timestamp(max(ends)) - pd.Timestamp(min(starts))).total_seconds() if starts else 0
    time_format = "%H:%M:%S.%L" if span < 60 else "%H:%M:%S" if span < 86_400 else "%m-%d %H:%M"
    def x_at(orient: str, field: str = "start", *, shown: bool = True) -> Any:
        # a layer sharing the axis repeats its definition: older Vega-Lite (JupyterLab 4's)
        # drops a shared axis when one layer says none
        axis = alt.Axis(format=time_format, title="time (UTC)", labelOverlap=True,
                        tickCount=TICKS, orient=orient) if shown else None
        return alt.X(f"{field}:T", scale=alt.Scale(type="utc"), axis=axis)

    x = x_at("top")
    y = alt.Y("task:N", sort=alt.EncodingSortField("row", op="min"), title=None,
              axis=alt.Axis(labelLimit=LABEL_LIMIT, labelFontSize=11))
    tooltip = [
        alt.Tooltip("task:N"), alt.Tooltip("state:N"), alt.Tooltip("attempt:Q"),
        alt.Tooltip("start:T", format="%Y-%m-%d %H:%M:%S.%L", title="start (UTC)"),
        alt.Tooltip("end:T", format="%Y-%m-%d %H:%M:%S.%L", title="end (UTC)"),
        alt.Tooltip("duration:N"), alt.Tooltip("error:N"), alt.Tooltip("query_id:N"),
    ]
    for row, task in enumerate(order):
        rank[task] = row
    for item in items:
        item["row"] = rank[item["task"]]
    # rows go in as a named dataset, so Altair neither validates nor copies 1,000 of them
    base = alt.Chart(alt.NamedData(name=DATASET))
    bars = base.transform_filter(alt.datum.kind == "bar").mark_bar(
        height={"band": 0.7}, cornerRadius=2).encode(
        x=x, x2="end:T", y=y, color=colour, tooltip=tooltip)
    shapes = [*MARK_SHAPES, "UNKNOWN"]
    shape = alt.Shape("state:N", legend=None, scale=alt.Scale(
        domain=shapes, range=[*MARK_SHAPES.values(), "square"]))
    marks = base.transform_filter(alt.datum.kind == "mark").mark_point(
        filled=False, size=70, strokeWidth=2).encode(
        x=x_at("bottom") if len(order) > BOTH_AXES_ROWS else x, y=y, color=colour, shape=shape,
        tooltip=tooltip)
    crosses = base.transform_filter(alt.datum.failed).mark_point(
        shape="cross", filled=True, size=90, color=STATE_COLOURS["FAILED"],
        stroke="white", strokeWidth=0.5).encode(
        x=x_at("top", "end", shown=len(order) <= BOTH_AXES_ROWS), y=y, tooltip=tooltip)
    height = max(MIN_HEIGHT, ROW_HEIGHT * len(order))
    layers = alt.layer(bars, marks, crosses)
    if len(order) > BOTH_AXES_ROWS:  # a long chart: the time axis above and below
        layers = layers.resolve_axis(x="independent")
    chart = layers.properties(
        width=width, height=height,
        title=alt.TitleParams(summary, anchor="start", fontSize=13, limit=width + LABEL_LIMIT),
    ).configure_view(stroke=None)
    frame = pd.DataFrame(items, columns=[
        "task", "state", "kind", "failed", "start", "end", "attempt", "duration", "error",
        "query_id"])
    return Timeline(frame=frame, summary=summary, run_id=run_id, counts=counts, _bare=chart,
                    _rows=items)


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`timeline`.

    Importing ``tasknb.timeline`` (the module) sets the attribute ``tasknb.timeline`` to the
    module, hiding the function of the same name that ``tasknb`` exports; so that
    ``tasknb.timeline(client, "ROOT")`` works either way, calling the module calls the
    function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Timeline:
        return timeline(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
