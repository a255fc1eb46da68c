"""Small HTML and SVG pieces for the panels: state badges, the runs table, the run strip.

    >>> "FAILED" in state_badge("FAILED")
    True

Pure functions of models and frames; every value is escaped. The run strip and
the duration chart are plain SVG, so they need no plotting library and render the same in
JupyterLab, classic Notebook and VS Code.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

import pandas as pd

from tasknb import runs
from tasknb.durations import format_duration
from tasknb.models import Task, TaskRun
from tasknb.runs import ATTEMPT_FIELD
from tasknb.widgets._text import error_code_text, one_line

#: One colour per run or task state, and per task state of a listing.
STATE_COLOURS = {**runs.STATE_COLOURS, "started": "#2e7d32", "suspended": "#757575"}
_FALLBACK_COLOUR = "#616161"
_TABLE_CSS = (
    ".tasknb-runs th,.tasknb-runs td{padding:2px 10px 2px 0;text-align:left;"
    "white-space:nowrap;vertical-align:top}"
    ".tasknb-runs td:last-child{white-space:normal;min-width:18em}"
)
#: How many runs the table shows at most.
TABLE_ROWS = 10
#: Size of one square of the run strip (px).
STRIP_CELL = 14


def _e(value: object) -> str:
    """Escaped text of a cell; missing values (``None``, ``NaN``, ``<NA>``, ``NaT``) are blank."""
    return html.escape(str(value) if _present(value) else "", quote=True)


def format_time(value: datetime | None) -> str:
    """UTC, to the second, without the offset noise.

        >>> format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
        '2026-01-02 03:04:05'
    """
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def state_badge(state: str | None) -> str:
    """A coloured pill for a task or run state.

        >>> state_badge("started").count("started")
        2
    """
    text = state or "unknown"
    colour = STATE_COLOURS.get(text, _FALLBACK_COLOUR)
    return (
        f'<span class="tasknb-state" data-state="{_e(text)}" style="background:{colour};'
        f'color:white;border-radius:8px;padding:0 6px;font-size:90%">{_e(text)}</span>'
    )


def _sorted_runs(runs: Iterable[TaskRun]) -> list[TaskRun]:
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(
        runs,
        key=lambda r: (r.completed_time or r.query_start_time or r.scheduled_time or epoch),
        reverse=True,
    )


def runs_table_html(frame: pd.DataFrame, *, limit: int = TABLE_ROWS,
                    attempts: Sequence[object] = ()) -> str:
    """A runs frame (``tasknb.frames.runs_frame``/``runs_df``) as a compact HTML table.

        >>> from tasknb.frames import runs_frame
        >>> "no graph runs" in runs_table_html(runs_frame([]))
        True

    Newest first (by scheduled time), state as a coloured badge, the first error in full.
    ``attempts`` (the attempt number of each row of ``frame``, in its order) marks retries:
    ``run 7 · attempt 2``.
    """
    if frame.empty:
        return '<div class="tasknb-runs"><i>no graph runs in the recent history</i></div>'
    ordered = frame.sort_values("scheduled_time", ascending=False, na_position="first")
    shown = ordered.head(limit)
    head = (
        "<tr><th>state</th><th>scheduled</th><th>completed</th>"
        "<th>duration</th><th>version</th><th>run id</th><th>first error</th></tr>"
    )
    rows = []
    positions = {label: i for i, label in enumerate(frame.index)}
    for label, row in zip(shown.index, shown.itertuples(index=False)):
        attempt = attempts[positions[label]] if len(attempts) == len(frame) else None
        retry = f" · attempt {_e(attempt)}" if attempt and int(attempt) > 1 else ""  # type: ignore[call-overload]
        error = ""
        if _present(row.first_error_task_name):
            full = str(row.first_error_message) if _present(row.first_error_message) else ""
            error = f"<b>{_e(row.first_error_task_name)}</b>"
            code = error_code_text(row.first_error_code)
            if code:
                error += f" [{_e(code)}]"
            if full:
                error += f": {_e(one_line(full))}"
        rows.append(
            "<tr>"
            f"<td>{state_badge(row.state if _present(row.state) else None)}</td>"
            f"<td>{_time(row.scheduled_time)}</td>"
            f"<td>{_time(row.completed_time)}</td>"
            f"<td>{_seconds(row.duration_s)}</td>"
            f"<td>{_e(row.graph_version) if _present(row.graph_version) else ''}</td>"
            f"<td>{_e(row.run_id) if _present(row.run_id) else ''}{retry}</td>"
            f"<td>{error}</td>"
            "</tr>"
        )
    more = len(frame) - len(shown)
    tail = f"<div><i>… and {more} older runs</i></div>" if more > 0 else ""
    return (
        f"<style>{_TABLE_CSS}</style>"
        '<table class="tasknb-runs" style="border-collapse:collapse;font-size:90%">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{tail}"
    )


def _present(value: object) -> bool:
    return value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value))


def _time(value: object) -> str:
    return format_time(value.to_pydatetime()) if _present(value) else ""  # type: ignore[union-attr]


def _seconds(value: object) -> str:
    return format_duration(float(value)) if _present(value) else ""  # type: ignore[arg-type]


def run_strip_svg(runs: Sequence[TaskRun], *, limit: int = 40) -> str:
    """One coloured square per graph run, newest left (as the runs table, newest on top);
    hover shows state, time and error.

        >>> run_strip_svg([]).startswith("<svg")
        True
    """
    ordered = _sorted_runs(runs)[:limit]
    width = max(len(ordered), 1) * (STRIP_CELL + 2)
    cells = []
    for i, run in enumerate(ordered):
        title = f"{run.state} {format_time(run.scheduled_time)} run {run.run_id}"
        attempt = run.extra.get(ATTEMPT_FIELD)
        if attempt and int(attempt) > 1:
            title += f" (attempt {attempt})"
        if run.first_error_task_name:
            code = error_code_text(run.first_error_code)
            title += f" — {run.first_error_task_name}" + (f" [{code}]" if code else "")
            title += f": {one_line(run.first_error_message)}"
        colour = STATE_COLOURS.get(run.state or "", _FALLBACK_COLOUR)
        cells.append(
            f'<rect x="{i * (STRIP_CELL + 2)}" y="0" width="{STRIP_CELL}" height="{STRIP_CELL}" '
            f'rx="2" fill="{colour}"><title>{_e(title)}</title></rect>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tasknb-strip" width="{width}" '
        f'height="{STRIP_CELL}" role="img" aria-label="recent graph runs">{"".join(cells)}</svg>'
    )


def duration_chart_svg(
    runs: Sequence[TaskRun], *, width: int = 640, height: int = 220, title: str = ""
) -> str:
    """Run duration over time, one dot per finished run coloured by outcome, p95 dashed.

        >>> "<svg" in duration_chart_svg([])
        True
    """
    done = [r for r in runs if r.duration is not None and r.scheduled_time is not None]
    done.sort(key=lambda r: r.scheduled_time)
    pad_l, pad_r, pad_t, pad_b = 56, 12, 24 if title else 10, 34
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="tasknb-chart" style="display:block;margin:4px 0 14px" width="{width}" '
        f'height="{height}" font-family="sans-serif" font-size="11" role="img" '
        f'aria-label="{_e(title or "run durations")}">'),
        (f'<rect x="{pad_l}" y="{pad_t}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#bdbdbd"/>'),
    ]
    if title:
        parts.append(f'<text x="{pad_l}" y="15" font-weight="bold">{_e(title)}</text>')
    if not done:
        parts.append(
            f'<text x="{pad_l + plot_w / 2}" y="{pad_t + plot_h / 2}" text-anchor="middle" '
            'fill="#757575">no finished runs</text></svg>'
        )
        return "".join(parts)
    seconds = [r.duration.total_seconds() for r in done]
    t0 = done[0].scheduled_time.timestamp()
    t1 = done[-1].scheduled_time.timestamp()
    span = (t1 - t0) or 1.0
    top = max(seconds) * 1.1 or 1.0
    ranked = sorted(seconds)
    p95 = ranked[min(len(ranked) - 1, round(0.95 * (len(ranked) - 1)))]

    def x(ts: float) -> float:
        return pad_l + (ts - t0) / span * plot_w if t1 > t0 else pad_l + plot_w / 2

    def y(value: float) -> float:
        return pad_t + plot_h - value / top * plot_h

    for frac in (0.0, 0.5, 1.0):
        value = top * frac
        parts.append(
            f'<text x="{pad_l - 4}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{format_duration(value)}</text>"
        )
    parts.append(
        f'<line x1="{pad_l}" x2="{pad_l + plot_w}" y1="{y(p95):.1f}" y2="{y(p95):.1f}" '
        f'stroke="#ef6c00" stroke-dasharray="4 3"><title>p95 {format_duration(p95)}</title></line>'
    )
    parts.append(
        f'<text x="{pad_l + plot_w - 2}" y="{y(p95) - 3:.1f}" text-anchor="end" '
        f'fill="#ef6c00">p95 {format_duration(p95)}</text>'
    )
    for run, value in zip(done, seconds):
        colour = STATE_COLOURS.get(run.state or "", _FALLBACK_COLOUR)
        when = format_time(run.scheduled_time)
        tip = f"{run.state} {when}: {format_duration(value)} (run {run.run_id})"
        parts.append(
            f'<circle cx="{x(run.scheduled_time.timestamp()):.1f}" cy="{y(value):.1f}" r="4" '
            f'fill="{colour}"><title>{_e(tip)}</title></circle>'
        )
    parts.append(
        f'<text x="{pad_l}" y="{height - 18}">{_e(format_time(done[0].scheduled_time))}</text>'
        f'<text x="{pad_l + plot_w}" y="{height - 18}" text-anchor="end">'
        f"{_e(format_time(done[-1].scheduled_time))}</text>"
    )
    legend_x = pad_l
    for state in ("SUCCEEDED", "FAILED", "CANCELLED"):
        parts.append(
            f'<circle cx="{legend_x + 4}" cy="{height - 5}" r="4" fill="{STATE_COLOURS[state]}"/>'
            f'<text x="{legend_x + 11}" y="{height - 1}">{state.lower()}</text>'
        )
        legend_x += 90
    parts.append("</svg>")
    return "".join(parts)


def task_details_html(task: Task) -> str:
    """The definition and settings of one task, for the details panes.

        >>> "select 1" in task_details_html(Task("T", "select 1"))
        True
    """
    rows = [
        ("state", state_badge(task.state)),
        ("role", _e(task.role)),
        ("schedule", _e(task.schedule) if task.schedule else "<i>none</i>"),
        ("warehouse", _e(task.warehouse) if task.warehouse else "<i>serverless</i>"),
        ("predecessors", _e(", ".join(task.predecessors)) if task.predecessors else ""),
        ("finalizes", _e(task.finalize) if task.finalize else ""),
        ("condition", f"<code>{_e(task.condition)}</code>" if task.condition else ""),
        ("config", f"<code>{_e(task.config)}</code>" if task.config else ""),
        ("auto retries", _e(task.task_auto_retry_attempts)),
        ("suspend after failures", _e(task.suspend_task_after_num_failures)),
        ("last suspended", _e(format_time(task.last_suspended_on))),
        ("comment", _e(task.comment)),
    ]
    body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    return (
        f'<div class="tasknb-task"><b>{_e(task.name)}</b>'
        f'<table style="font-size:90%">{body}</table>'
        f'<pre style="white-space:pre-wrap;background:#f5f5f5;padding:4px">'
        f"{_e(task.definition)}</pre></div>"
    )


def runs_from(runs: pd.DataFrame | Iterable[TaskRun]) -> list[TaskRun]:
    """Accept a runs frame (``runs_df``/``runs_frame``) or ``TaskRun`` models; return models.

        >>> runs_from([TaskRun("R", state="FAILED")])[0].state
        'FAILED'
    """
    if not isinstance(runs, pd.DataFrame):
        return list(runs)
    out = []
    for row in runs.to_dict("records"):
        values = {}
        for key in (
            "root_task_name", "state", "first_error_task_name", "first_error_code",
            "first_error_message", "scheduled_time", "query_start_time", "completed_time",
            "graph_version", "run_id",
        ):
            value = row.get(key)
            if not _present(value):
                value = None
            elif hasattr(value, "to_pydatetime"):
                value = value.to_pydatetime()
            elif key in {"first_error_code", "graph_version", "run_id"}:
                value = int(value)
            else:
                value = str(value)
            values[key] = value
        values["root_task_name"] = values["root_task_name"] or ""
        out.append(TaskRun(**values))
    return out


def run_history_html(runs: Sequence[TaskRun], *, limit: int = 40) -> str:
    """One row per root task: its name, a strip of recent runs and counts per outcome.

        >>> "no graph runs" in run_history_html([])
        True
    """
    if not runs:
        return "<div class='tasknb-history'><i>no graph runs</i></div>"
    by_root: dict[str, list[TaskRun]] = {}
    for run in runs:
        by_root.setdefault(run.root_task_name, []).append(run)
    rows = []
    for root in sorted(by_root):
        group = by_root[root]
        counts: dict[str, int] = {}
        for run in group:
            counts[run.state or "?"] = counts.get(run.state or "?", 0) + 1
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        rows.append(
            f"<tr><th style='text-align:left;padding-right:8px'>{_e(root)}</th>"
            f"<td>{run_strip_svg(group, limit=limit)}</td>"
            f"<td style='padding-left:8px'>{_e(summary)}</td></tr>"
        )
    return f"<table class='tasknb-history'>{''.join(rows)}</table>"


#: A message line wraps at the panel's width, long words too: never cut off.
WRAP_STYLE = "white-space:normal;overflow-wrap:anywhere;word-break:break-word;line-height:1.4"


def error_html(text: str) -> str:
    """An error line for a panel (escaped, wrapping), or nothing.

        >>> error_html("") == ""
        True
    """
    return (
        f'<div class="tasknb-error" style="color:#c62828;{WRAP_STYLE}">⚠ {html.escape(text)}</div>'
        if text
        else ""
    )


def message_html(text: str) -> str:
    """A notice line for a panel (escaped, wrapping), or nothing.

        >>> message_html("Run 7 succeeded.")[-22:]
        'Run 7 succeeded.</div>'
    """
    return f'<div class="tasknb-notice" style="{WRAP_STYLE}">{html.escape(text)}</div>' if text else ""
