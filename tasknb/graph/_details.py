"""What the interactive view shows for each task: full texts, as plain strings (synced to the browser).

    >>> from tasknb.models import Task
    >>> model = GraphModel.from_tasks([Task("R", "select 1", warehouse="WH", condition="a > 0")])
    >>> task_details(model, ["R"], RunMarks())["R"]["condition"]
    'a > 0'

Only what the browser needs: no models, no clients; every value is a string (or a list of
strings for ``last runs``), never elided: the view shows it in full on hover and on click.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from tasknb.dag import GraphModel
from tasknb.graph._dot import RunMarks, node_id
from tasknb.graph._states import STATE_WORDS
from tasknb.identifiers import display_name
from tasknb.models import Task, TaskRun
from tasknb.runs import run_group

LAST_RUNS_SHOWN = 5
"""How many recent graph runs a task's details list."""


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _schedule(task: Task) -> str:
    return "" if task.schedule is None else str(task.schedule)


def _run_line(run: TaskRun) -> str:
    moment = _when(run.completed_time or run.query_start_time or run.scheduled_time)
    line = f"run {run.run_id}: {run.state}" + (f" at {moment}" if moment else "")
    if run.first_error_task_name:
        line += f" (first error at {display_name(run.first_error_task_name)}"
        line += f": {run.first_error_message})" if run.first_error_message else ")"
    return line


def _recent(runs: Iterable[TaskRun]) -> list[str]:
    def due(run: TaskRun) -> tuple[bool, str]:
        moment = run.scheduled_time or run.query_start_time or run.completed_time
        return moment is not None, moment.isoformat() if moment else ""

    ordered = sorted(runs, key=due, reverse=True)
    seen, lines = set(), []
    for run in ordered:
        group = (run_group(run), run.state, run.completed_time)
        if group in seen:
            continue
        seen.add(group)
        lines.append(_run_line(run))
        if len(lines) >= LAST_RUNS_SHOWN:
            break
    return lines


def task_details(
    model: GraphModel,
    keys: Iterable[str],
    marks: RunMarks,
    *,
    runs: Iterable[TaskRun] = (),
) -> dict[str, dict[str, object]]:
    """``{name key: {field: text}}`` for the drawn tasks: what hover and click show in full.

    Fields: ``name``, ``node_id``, ``role``, ``task state``, ``state in run`` (when the run's
    per-task states are known), ``schedule``, ``warehouse``, ``condition``, ``definition``,
    ``config``, ``predecessors``, ``error``, ``last runs`` (recent graph runs, newest first).
    """
    recent = _recent(runs)
    finalizers = model.finalizer_keys
    details: dict[str, dict[str, object]] = {}
    for key in keys:
        task = model.tasks[key]
        role = "finalizer" if key in finalizers else task.role
        entry: dict[str, object] = {
            "name": display_name(task.name),
            "node_id": node_id(key),
            "role": role,
            "task state": task.state or "",
            "schedule": _schedule(task),
            "warehouse": task.warehouse or "serverless",
            "condition": task.condition or "",
            "definition": task.definition or "",
            "config": json.dumps(task.config, indent=2, sort_keys=True) if task.config else "",
            "predecessors": ", ".join(display_name(p) for p in task.predecessors or ()),
            "error": marks.errors.get(key, ""),
            "last runs": recent,
        }
        if marks.view is not None:
            state = marks.view.state_of(key)
            entry["state in run"] = STATE_WORDS[state]
            entry["state"] = state
        elif key in marks.by_task:
            entry["state"] = marks.by_task[key].upper()
        details[key] = entry
    return details
