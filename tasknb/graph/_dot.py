"""DOT statements for a task graph: quoting, styles, labels, tooltips, the legend.

    >>> quote('say "hi" \\\\ bye')
    '"say \\\\"hi\\\\" \\\\\\\\ bye"'

Pure text building (no graphviz, no layout): fast enough for a 1,000-task graph, and every
user-provided string goes through ``quote`` so names with quotes, backslashes, spaces,
``<...>`` or non-ASCII characters stay literal.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tasknb.dag import GraphModel
from tasknb.durations import format_duration
from tasknb.graph._states import NOT_RUN, STATE_STYLES, STATE_WORDS, TASK_STATES, RunView
from tasknb.identifiers import display_name, name_key
from tasknb.models import CronSchedule, Task, TaskRun
from tasknb.runs import error_code_text, latest_runs
from tasknb.texts import elide_distinct, elide_middle, flatten

COMPACT_ABOVE = 150
"""Above this many tasks, labels show the name only (details stay in the tooltips)."""

LABEL_TEXT_MAX = 40
"""Longest condition or error line in a label; elided in the middle (see ``tasknb.texts``)."""
TOOLTIP_TEXT_MAX = 4000
"""Longest text in a tooltip of the static SVG (the interactive view's details keep all)."""
_BOILERPLATE = re.compile(r"SQL compilation error:\s*", re.IGNORECASE)
LEGEND_ID = "__tasknb_legend__"
NODE_ID_PREFIX = "tasknb_task_"
"""SVG ``id`` of a task's node: this prefix and the hex of its UTF-8 name key (see ``node_id``)."""

GRAPH_ATTRS = {
    "rankdir": "LR",
    "nodesep": "0.25",
    "ranksep": "0.5",
    "fontname": "Helvetica",
    "fontsize": "11",
    "labelloc": "t",
    "labeljust": "l",
}
NODE_ATTRS = {
    "shape": "box",
    "style": "rounded,filled",
    "fontname": "Helvetica",
    "fontsize": "10",
    "fillcolor": "#ffffff",
    "color": "#4a5568",
    "penwidth": "1.2",
}
EDGE_ATTRS = {"color": "#4a5568", "arrowsize": "0.7", "fontname": "Helvetica"}

# name -> DOT attributes; later styles override earlier ones for the same attribute.
NODE_STYLES: dict[str, dict[str, str]] = {
    "started": {"fillcolor": "#e8f1fb", "color": "#2b6cb0"},
    "suspended": {
        "fillcolor": "#f2f2f2",
        "color": "#8a8a8a",
        "style": "rounded,filled,dashed",
        "fontcolor": "#6b6b6b",
    },
    "finalizer": {"peripheries": "2", "fillcolor": "#f3e8ff", "color": "#6b46c1"},
    "succeeded": {"color": "#2f855a", "penwidth": "2"},
    "executing": {"color": "#d69e2e", "penwidth": "2.5"},
    "cancelled": {"fillcolor": "#e2e8f0", "color": "#4a4a4a", "penwidth": "2"},
    "run_failed": {"color": "#c53030", "penwidth": "2.5"},
    "failed": {"fillcolor": "#fde2e1", "color": "#c53030", "penwidth": "3", "fontcolor": "#9b2c2c"},
    "task_succeeded": {"fillcolor": "#dcf5e3", "color": "#2f855a", "penwidth": "2"},
    "task_executing": {"fillcolor": "#dbeafe", "color": "#1d4ed8", "penwidth": "2.5"},
    "skipped": {"fillcolor": "#fff1dc", "color": "#c05621", "penwidth": "2"},
    "scheduled": {"fillcolor": "#f8fafc", "color": "#64748b", "penwidth": "1.5"},
    "not_run": {
        "fillcolor": "#eeeeee",
        "color": "#b0b0b0",
        "style": "rounded,filled,dotted",
        "fontcolor": "#9a9a9a",
    },
    "focus": {"penwidth": "3.5", "fontname": "Helvetica-Bold"},
}
EDGE_STYLES: dict[str, dict[str, str]] = {
    "predecessor": {},
    "finalizer": {
        "style": "dashed",
        "color": "#6b46c1",
        "arrowhead": "odiamond",
        "label": "finally",
        "fontsize": "9",
        "fontcolor": "#6b46c1",
    },
    "not_run": {"color": "#b0b0b0", "style": "dotted"},
}
_LEGEND_ROWS = (
    ("started", "task started (resumed)"),
    ("suspended", "task suspended (dashed)"),
    ("finalizer", "finalizer: runs last, whatever happened"),
    ("failed", "first failing task of the latest run"),
    ("not_run", "not run: after the failure (dotted)"),
    ("succeeded", "latest run succeeded / ran before the failure"),
    ("executing", "latest run executing"),
    ("run_failed", "root: latest run failed"),
)
_STATE_LEGEND = {
    "SUCCEEDED": "succeeded in this run",
    "FAILED": "failed in this run (error in the label)",
    "SKIPPED": "skipped: its condition was false",
    NOT_RUN: "not run (after a failure, suspended, or cut short)",
    "CANCELLED": "cancelled",
    "EXECUTING": "executing now",
    "SCHEDULED": "waiting to run",
}
_ROOT_MARKS = {
    "SUCCEEDED": "succeeded",
    "EXECUTING": "executing",
    "CANCELLED": "cancelled",
    "FAILED": "run_failed",
}


def quote(text: str) -> str:
    """A double-quoted DOT string whose content renders literally (newlines become breaks).

        >>> quote("a\\nb")
        '"a\\\\nb"'
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def _attrs(values: dict[str, str]) -> str:
    return " ".join(f"{key}={quote(value)}" for key, value in values.items())


def node_id(key: str) -> str:
    """The SVG ``id`` of a task's node: readable by the interactive view, whatever the name.

        >>> node_id("LOAD")
        'tasknb_task_4c4f4144'
    """
    return NODE_ID_PREFIX + key.encode("utf-8").hex()


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


@dataclass
class RunMarks:
    """What the latest graph run per root tells about each drawn task."""

    by_task: dict[str, str] = field(default_factory=dict)  # key -> style name
    errors: dict[str, str] = field(default_factory=dict)  # key -> error text
    root_runs: dict[str, TaskRun] = field(default_factory=dict)  # root key -> run
    view: RunView | None = None  # per-task states of one run, when known (SQL tier)


def mark_states(model: GraphModel, view: RunView) -> RunMarks:
    """Marks for every task from its own state in one run (``TASK_HISTORY``): no inference."""
    marks = RunMarks(view=view)
    for key in model.tasks:
        marks.by_task[key] = STATE_STYLES[view.state_of(key)]
        if key in view.errors:
            marks.errors[key] = view.errors[key]
    return marks


def mark_runs(model: GraphModel, runs: Iterable[TaskRun]) -> RunMarks:
    """Infer per-task marks from graph runs (REST gives graph-level records only).

    The first failing task is red. Tasks downstream of it did not run (a failure blocks its
    descendants; the finalizer still runs). Tasks upstream of it ran and succeeded, since a
    task only starts after its predecessors succeeded. Nothing else is claimed per task.
    """
    marks = RunMarks()
    for root_key, run in latest_runs(runs).items():
        if root_key not in model.tasks:
            continue
        marks.root_runs[root_key] = run
        state = (run.state or "").upper()
        failing = name_key(run.first_error_task_name) if run.first_error_task_name else None
        root_mark = _ROOT_MARKS.get(state)
        if failing and failing in model.tasks:
            finalizers = model.finalizer_keys
            # A task starts only once its resumed predecessors succeeded, so what is upstream
            # of the failure ran and succeeded; suspended tasks were skipped, and a failing
            # finalizer says nothing about the tasks before it (some may have been skipped).
            earlier = set() if failing in finalizers else model.upstream(failing)
            for key in earlier - {failing} - finalizers:
                if (model.tasks[key].state or "").lower() != "suspended":
                    marks.by_task.setdefault(key, "succeeded")
            for key in model.downstream(failing) - {failing} - finalizers:
                marks.by_task[key] = "not_run"
            marks.by_task[failing] = "failed"
            code = error_code_text(run.first_error_code)
            code = f" {code}" if code else ""
            marks.errors[failing] = f"error{code}: {run.first_error_message or 'no message'}"
        if root_mark and marks.by_task.get(root_key) != "failed":
            marks.by_task[root_key] = root_mark
    return marks


def _run_line(run: TaskRun) -> str:
    moment = _when(run.completed_time or run.query_start_time or run.scheduled_time)
    return f"last run: {run.state}" + (f" {moment}" if moment else "")


def _state_line(key: str, view: RunView, task: Task | None = None) -> str:
    state = view.state_of(key)
    line = STATE_WORDS[state]
    if state == NOT_RUN and task is not None and (task.state or "").lower() == "suspended":
        line += ": suspended"
    seconds = view.seconds(key)
    if seconds is not None and state not in ("SKIPPED", NOT_RUN):
        line += f" in {format_duration(seconds)}"
    if view.attempts.get(key, 0) > 1:
        line += f" (attempt {view.attempts[key]})"
    return line


def _label(
    task: Task, key: str, role: str, marks: RunMarks, compact: bool, short: dict[str, str]
) -> str:
    lines = [display_name(task.name)]
    if compact:
        return lines[0]
    if role == "root":
        if isinstance(task.schedule, CronSchedule):
            lines.append(f"cron {task.schedule.cron_expr} {task.schedule.timezone}")
        elif task.schedule is not None:
            lines.append(f"every {task.schedule}")
        lines.append(f"wh: {task.warehouse}" if task.warehouse else "serverless")
        run = marks.root_runs.get(key)
        if run is not None and marks.view is None:
            lines.append(_run_line(run))
    elif role == "finalizer":
        lines.append("finalizer")
    if task.condition:
        lines.append(f"when {short.get(' '.join(task.condition.split()), task.condition)}")
    if marks.view is not None:
        lines.append(_state_line(key, marks.view, task))
    if key in marks.errors:
        lines.extend(_error_lines(marks.errors[key]))
    return "\n".join(lines)


def _error_lines(error: str) -> list[str]:
    """An error in a label: Snowflake's "SQL compilation error:" boilerplate dropped, then at
    most two lines of ``LABEL_TEXT_MAX``, the second cut in the middle (the tooltip has it all).

        >>> _error_lines("error 002003: SQL compilation error: Object 'DB.RAW.AD_SPEND' "
        ...              "does not exist or not authorized.")
        ["error 002003: Object 'DB.RAW.AD_SPEND'", 'does not exist or not authorized.']
    """
    text = _BOILERPLATE.sub("", flatten(error), count=1)
    first, *rest = textwrap.wrap(text, LABEL_TEXT_MAX, break_long_words=True) or [""]
    if not rest:
        return [first]
    return [first, elide_middle(" ".join(rest), LABEL_TEXT_MAX)]


def _tooltip(task: Task, role: str, marks: RunMarks, key: str) -> str:
    state = task.state or "state unknown"
    lines = [f"{display_name(task.name)} ({role}, {state})"]
    if task.schedule is not None:
        lines.append(f"schedule: {task.schedule}")
    lines.append(f"warehouse: {task.warehouse or 'serverless'}")
    if task.condition:
        lines.append(f"when: {elide_middle(task.condition, TOOLTIP_TEXT_MAX)}")
    if task.predecessors:
        lines.append("after: " + ", ".join(display_name(p) for p in task.predecessors))
    if task.finalize:
        lines.append(f"finalizes: {display_name(task.finalize)}")
    if task.last_suspended_on is not None and (task.state or "").lower() == "suspended":
        lines.append(f"suspended since {_when(task.last_suspended_on)}")
    mark = marks.by_task.get(key)
    if marks.view is not None:
        lines.append(f"in this run: {_state_line(key, marks.view, task)}")
    if key in marks.errors:
        lines.append(elide_middle(marks.errors[key], TOOLTIP_TEXT_MAX))
    elif marks.view is not None:
        pass
    elif mark == "not_run":
        lines.append("latest run: not run (after the failing task)")
    elif mark == "succeeded" and key not in marks.root_runs:
        lines.append("latest run: succeeded (ran before the failing task)")
    run = marks.root_runs.get(key)
    if run is not None and marks.view is None:
        lines.append(_run_line(run) + (f" (run {run.run_id})" if run.run_id is not None else ""))
    lines.append("definition: " + elide_middle(task.definition or "", TOOLTIP_TEXT_MAX))
    return "\n".join(lines)


def _node_style(task: Task, role: str, mark: str | None, focused: bool) -> dict[str, str]:
    style: dict[str, str] = {}
    state = (task.state or "").lower()
    if state in NODE_STYLES:
        style.update(NODE_STYLES[state])
    if role == "finalizer":
        style.update(NODE_STYLES["finalizer"])
        if state == "suspended":
            style["style"] = NODE_STYLES["suspended"]["style"]
    if mark:
        style.update(NODE_STYLES[mark])
        if state == "suspended":  # keep the dash: suspended stays visible under run marks
            style["style"] = NODE_STYLES["suspended"]["style"]
    if focused:
        style.update(NODE_STYLES["focus"])
    return style


def _swatch(name: str, text: str) -> str:
    style = {**NODE_ATTRS, **NODE_STYLES[name]}
    return (
        f'<tr><td bgcolor="{style["fillcolor"]}" color="{style["color"]}" border="2"'
        f' width="18"> </td><td align="left">{text}</td></tr>'
    )


def legend_lines(used: Iterable[str] | None = None, *, states: Iterable[str] | None = None) -> list[str]:
    """A cluster holding one HTML-table node: a swatch and a line of text per style.

    ``used`` names the styles present in the drawing: task states always appear, the
    finalizer and run styles only when drawn (``None``: every row). ``states``: the
    per-task run states drawn (a run's view), listed first.
    """
    shown = None if used is None else set(used) | {"started", "suspended"}
    rows = []
    drawn_states = set(states or ())
    for state in TASK_STATES:
        if state in drawn_states:
            rows.append(_swatch(STATE_STYLES[state], _STATE_LEGEND[state]))
    for name, text in _LEGEND_ROWS:
        if shown is not None and name not in shown:
            continue
        if drawn_states and name in ("failed", "not_run", "succeeded", "executing", "run_failed"):
            continue  # the run's own states replace the inferred marks
        style = {**NODE_ATTRS, **NODE_STYLES[name]}
        rows.append(
            f'<tr><td bgcolor="{style["fillcolor"]}" color="{style["color"]}" border="2"'
            f' width="18"> </td><td align="left">{text}</td></tr>'
        )
    rows.append('<tr><td>&#8594;</td><td align="left">runs after (predecessor)</td></tr>')
    if shown is None or "finalizer" in shown:
        rows.append(
            '<tr><td><font color="#6b46c1">- - -&gt;</font></td>'
            '<td align="left">finalizer link (dashed)</td></tr>'
        )
    table = (
        '<<table border="0" cellspacing="2" cellpadding="2">' + "".join(rows) + "</table>>"
    )
    return [
        "subgraph cluster_legend {",
        '\tlabel="Legend" fontsize="10" style="rounded" color="#a0aec0"',
        f"\t{quote(LEGEND_ID)} [shape=plaintext style=\"\" fontsize=\"9\" label={table}]",
        "}",
    ]


def graph_body(
    model: GraphModel,
    keys: Iterable[str],
    *,
    marks: RunMarks,
    focus: str | None = None,
    show_legend: bool = True,
    edges: bool = True,
) -> list[str]:
    """The DOT statements (one per line, tab-indented) for the tasks ``keys`` of ``model``.

    ``edges=False``: the nodes only (a collapsed drawing links its groups itself).
    """
    keep = list(keys)
    kept = set(keep)
    compact = len(keep) > COMPACT_ABOVE
    finalizers = model.finalizer_keys
    short = elide_distinct((model.tasks[key].condition for key in keep), LABEL_TEXT_MAX)
    lines: list[str] = []
    for key in keep:
        task = model.tasks[key]
        role = "finalizer" if key in finalizers else task.role
        attrs = {
            "id": node_id(key),
            "label": _label(task, key, role, marks, compact, short),
            "tooltip": _tooltip(task, role, marks, key),
            **_node_style(task, role, marks.by_task.get(key), key == focus),
        }
        lines.append(f"\t{quote(key)} [{_attrs(attrs)}]")
    if not edges:
        return lines
    not_run = EDGE_STYLES["not_run"]
    for key in keep:
        for pred in model.predecessors[key]:
            if pred in kept:
                blocked = marks.by_task.get(key) == "not_run"
                extra = f" [{_attrs(not_run)}]" if blocked else ""
                lines.append(f"\t{quote(pred)} -> {quote(key)}{extra}")
    sinks = []
    for root, finalizer in model.finalizers.items():
        if root in kept and finalizer in kept:
            lines.append(
                f"\t{quote(root)} -> {quote(finalizer)} [{_attrs(EDGE_STYLES['finalizer'])}]"
            )
            sinks.append(quote(finalizer))
    if sinks:
        lines.append("\t{rank=sink; " + "; ".join(sinks) + "}")
    if show_legend:
        used = {marks.by_task[key] for key in keep if key in marks.by_task}
        if any(key in finalizers for key in keep):
            used.add("finalizer")
        states = None
        if marks.view is not None:
            states = {marks.view.state_of(key) for key in keep}
        lines.extend("\t" + line for line in legend_lines(used, states=states))
    return lines


GROUP_ID_PREFIX = "tasknb_group_"
_URGENT_MARKS = ("failed", "task_executing", "executing", "cancelled", "run_failed")
_MARK_WORDS = {
    "failed": "failed", "task_succeeded": "succeeded", "succeeded": "succeeded",
    "skipped": "skipped", "not_run": "not run", "cancelled": "cancelled",
    "task_executing": "executing", "executing": "executing", "scheduled": "waiting",
    "run_failed": "failed run",
}  # fmt: skip
GROUP_MEMBERS_LISTED = 30


def _group_mark(marks: list[str]) -> str | None:
    for urgent in _URGENT_MARKS:
        if urgent in marks:
            return urgent
    if not marks:
        return None
    return max(set(marks), key=marks.count)


def _counts_line(members: list[str], model: GraphModel, marks: RunMarks) -> str:
    counts: dict[str, int] = {}
    for key in members:
        mark = marks.by_task.get(key)
        word = _MARK_WORDS.get(mark, "") if mark else (model.tasks[key].state or "")
        if word:
            counts[word] = counts.get(word, 0) + 1
    return " · ".join(f"{count:,} {word}" for word, count in sorted(
        counts.items(), key=lambda item: -item[1]))


def collapsed_body(
    model: GraphModel,
    keys: Iterable[str],
    groups: dict[str, str],
    *,
    marks: RunMarks,
    focus: str | None = None,
    show_legend: bool = True,
) -> list[str]:
    """DOT statements for ``keys`` with the tasks of each group (``{key: label}``) as one node.

    Tasks outside ``groups`` are drawn as themselves; links between groups are drawn once,
    labelled with how many task links they stand for.
    """
    keep = list(keys)
    alone = [key for key in keep if key not in groups]
    members: dict[str, list[str]] = {}
    for key in keep:
        if key in groups:
            members.setdefault(groups[key], []).append(key)
    lines = graph_body(model, alone, marks=marks, focus=focus, show_legend=False, edges=False)
    node_of = {key: quote(key) for key in alone}
    for label, keys_in in members.items():
        gid = GROUP_ID_PREFIX + label.encode("utf-8").hex()
        for key in keys_in:
            node_of[key] = quote(gid)
        listed = [display_name(model.tasks[k].name) for k in keys_in[:GROUP_MEMBERS_LISTED]]
        more = len(keys_in) - len(listed)
        counts = _counts_line(keys_in, model, marks)
        tooltip = f"{label}: {len(keys_in):,} tasks ({counts})\n" + "\n".join(listed)
        if more:
            tooltip += f"\n… and {more:,} more"
        style = dict(NODE_STYLES["started"])
        mark = _group_mark([marks.by_task[k] for k in keys_in if k in marks.by_task])
        if mark:
            style.update(NODE_STYLES[mark])
        attrs = {
            "id": gid,
            "shape": "box3d",
            "label": f"{label}\n{len(keys_in):,} tasks" + (f"\n{counts}" if counts else ""),
            "tooltip": tooltip,
            **style,
        }
        lines.append(f"\t{quote(gid)} [{_attrs(attrs)}]")
    links: dict[tuple[str, str], int] = {}
    for key in keep:
        for pred in model.predecessors[key]:
            if pred in node_of and node_of[pred] != node_of[key]:
                pair = (node_of[pred], node_of[key])
                links[pair] = links.get(pair, 0) + 1
    for (source, target), count in links.items():
        extra = f' [label="{count:,}" fontsize="8"]' if count > 1 else ""
        lines.append(f"\t{source} -> {target}{extra}")
    for root, finalizer in model.finalizers.items():
        if root in node_of and finalizer in node_of:
            lines.append(
                f"\t{node_of[root]} -> {node_of[finalizer]} [{_attrs(EDGE_STYLES['finalizer'])}]"
            )
    if show_legend:
        used = {marks.by_task[key] for key in keep if key in marks.by_task}
        finalizers = model.finalizer_keys
        if any(key in finalizers for key in keep):
            used.add("finalizer")
        states = None
        if marks.view is not None:
            states = {marks.view.state_of(key) for key in keep}
        lines.extend("\t" + line for line in legend_lines(used, states=states))
    return lines


def stub_lines(cut_above: dict[str, int], cut_below: dict[str, int]) -> list[str]:
    """Placeholder nodes for what a focused drawing left out next to each kept task."""
    lines = []
    style = 'shape=plaintext style="" fontcolor="#718096" fontsize="9"'
    for key, count in cut_above.items():
        stub = quote(f"__above__{key}")
        lines.append(f"\t{stub} [{style} label={quote(f'… {count:,} more before')}]")
        lines.append(f'\t{stub} -> {quote(key)} [style="dotted" color="#a0aec0"]')
    for key, count in cut_below.items():
        stub = quote(f"__below__{key}")
        lines.append(f"\t{stub} [{style} label={quote(f'… {count:,} more after')}]")
        lines.append(f'\t{quote(key)} -> {stub} [style="dotted" color="#a0aec0"]')
    return lines
