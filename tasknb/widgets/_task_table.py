"""The per-task rows of one graph run as an HTML table, for the panel and the explorer.

    >>> from tasknb.frames import task_runs_frame
    >>> from tasknb.models import TaskHistoryRow
    >>> frame = task_runs_frame([TaskHistoryRow("LOAD", state="FAILED", error_code="002003",
    ...                                         error_message="Object 'S' does not exist.",
    ...                                         run_id=7, attempt_number=1)])
    >>> html_text = task_runs_html(frame, graph_order=["ROOT", "LOAD"])
    >>> "002003" in html_text and "not run" in html_text and "&lt;NA&gt;" not in html_text
    True

Takes a ``tasknb.frames.task_runs_frame`` (``task_runs_df``). Every value is escaped, missing
ones are blank, error messages wrap and are never cut; tasks of the graph without a row (they
never started: a predecessor failed, or the run is still going) show as *not run*.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from tasknb.durations import format_duration
from tasknb.identifiers import name_key
from tasknb.widgets._html import WRAP_STYLE, format_time, state_badge
from tasknb.widgets._text import error_code_text, one_line, short_name

#: The pill for a task of the graph that has no row in the run.
NOT_RUN = "not run"
_CSS = (
    ".tasknb-task-runs th,.tasknb-task-runs td{padding:2px 10px 2px 0;text-align:left;"
    "vertical-align:top;white-space:nowrap}"
    f".tasknb-task-runs td.tasknb-wrap{{{WRAP_STYLE};min-width:18em}}"
)


def _value(value: object) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


def _time(value: object) -> str:
    text = _value(value)
    return format_time(value.to_pydatetime()) if text else ""  # type: ignore[union-attr]


#: At most this many task rows in a table; the rest are counted in the summary line.
TABLE_ROWS = 40
#: Rows that tell why a run went wrong come first.
_FIRST = {"FAILED": 0, "FAILED_AND_AUTO_SUSPENDED": 0, "CANCELLED": 1, "EXECUTING": 2}


def task_runs_html(frame: pd.DataFrame | None, *, graph_order: Sequence[str] = (),
                   show_attempts: bool = True, limit: int = TABLE_ROWS) -> str:
    """A summary line (how many tasks in each state), then one row per task run (``task`` ·
    state · attempt · started · duration · error · query id) and one *not run* row per task
    of ``graph_order`` that has none: failures first, at most ``limit`` rows."""
    if frame is None:
        return ""
    rows: list[tuple[int, int, str]] = []
    seen = set()
    counts: dict[str, int] = {}
    for index, row in enumerate(frame.itertuples(index=False)):
        seen.add(name_key(short_name(_value(row.name))))
        state = _value(row.state) or None
        counts[state or "unknown"] = counts.get(state or "unknown", 0) + 1
        rank = _FIRST.get(state or "", 3)
        if len(rows) >= limit and rank >= 3:
            continue  # counted above; only problems may still push ahead
        code = error_code_text(_value(row.error_code))
        message = one_line(_value(row.error_message))
        error = (f"[{html.escape(code)}] " if code else "") + html.escape(message)
        condition = _value(row.condition_text)
        title = f' title="condition: {html.escape(condition, quote=True)}"' if condition else ""
        cells = [
            f"<td><b>{html.escape(short_name(_value(row.name)))}</b></td>",
            f"<td{title}>{state_badge(state)}</td>",
        ]
        if show_attempts:
            cells.append(f"<td>{html.escape(_value(row.attempt_number))}</td>")
        duration = _value(row.duration_s)
        cells += [
            f"<td>{_time(row.query_start_time)}</td>",
            f"<td>{format_duration(float(duration)) if duration else ''}</td>",
            f"<td class='tasknb-wrap'>{error}</td>",
            f"<td><code>{html.escape(_value(row.query_id))}</code></td>",
        ]
        rows.append((rank, index, "<tr>" + "".join(cells) + "</tr>"))
    blanks = 5 if show_attempts else 4
    missing = [n for n in graph_order if name_key(short_name(n)) not in seen]
    if missing:
        counts[NOT_RUN] = len(missing)
    for offset, name in enumerate(missing):
        if len(rows) >= limit:
            break
        rows.append((3, len(frame) + offset,
                     f"<tr><td><b>{html.escape(short_name(name))}</b></td>"
                     f"<td>{state_badge(NOT_RUN)}</td>" + "<td></td>" * blanks + "</tr>"))
    if not rows:
        return "<div class='tasknb-task-runs'><i>no task runs recorded for this run</i></div>"
    total = len(frame) + len(missing)
    if total > limit:
        rows.sort()  # failures first when not every row fits
    shown = rows[:limit]
    summary = ", ".join(f"{n:,} {state.lower()}" for state, n in sorted(counts.items()))
    more = (f"; the {total - len(shown):,} others are in <code>tasknb.task_runs_df(client, "
            "root, run=...)</code>") if total > len(shown) else ""
    head = ["task", "state"] + (["attempt"] if show_attempts else []) + [
        "started", "duration", "error", "query id"]
    return (
        f"<style>{_CSS}</style>"
        f"<div class='tasknb-task-summary' style='{WRAP_STYLE}'><small>{html.escape(summary)}"
        f"{' · ' + str(len(shown)) + ' shown, failures first' if more else ''}{more}</small></div>"
        "<table class='tasknb-task-runs' style='border-collapse:collapse;font-size:90%'>"
        "<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>"
        f"<tbody>{''.join(r for _, _, r in shown)}</tbody></table>"
    )
