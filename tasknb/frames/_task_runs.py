"""Task runs (one row per task per graph run, from TASK_HISTORY) as a typed DataFrame.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    >>> frame = task_runs_frame([TaskHistoryRow("LOAD", state="FAILED", error_code="002003",
    ...                                         run_id=1, query_start_time=at,
    ...                                         completed_time=at)])
    >>> frame[["name", "state", "error_code", "duration_s"]]
       name   state error_code  duration_s
    0  LOAD  FAILED     002003         0.0
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pandas as pd

from tasknb.durations import parse_duration
from tasknb.models import TaskHistoryRow, TaskRun, task_history_source
from tasknb.runs import TASK_RUN_STATES

from ._convert import (
    _DURATION,
    _INT,
    _STRING,
    _TIMESTAMP,
    TaskRef,
    _category,
    _frame,
    _task_name,
    _task_scope,
    _transpose,
)

#: Task-run states as categories, in the order of a run's life (``tasknb.runs``).
TASK_RUN_STATE_CATEGORIES = list(TASK_RUN_STATES)

#: Fixed column order and dtypes of ``task_runs_frame``: who and how it ended first, then
#: which run, when, and what ran.
TASK_RUNS_COLUMNS: dict[str, Any] = {
    "name": _STRING,
    "state": _category(TASK_RUN_STATE_CATEGORIES),
    "error_code": _STRING,
    "error_message": _STRING,
    "run_id": _INT,
    "attempt_number": _INT,
    "scheduled_time": _TIMESTAMP,
    "query_start_time": _TIMESTAMP,
    "completed_time": _TIMESTAMP,
    "duration": _DURATION,
    "duration_s": "Float64",
    "query_id": _STRING,
    "condition_text": _STRING,
    "query_text": _STRING,
    "return_value": _STRING,
    "scheduled_from": _STRING,
    "graph_run_group_id": _STRING,
    "graph_version": _INT,
    "root_task_id": _STRING,
    "next_scheduled_time": _TIMESTAMP,
    "config": _STRING,
    "database_name": _STRING,
    "schema_name": _STRING,
}
_ROW_ATTRS = tuple(name for name in TASK_RUNS_COLUMNS if name not in {"duration", "duration_s"})


def task_runs_frame(rows: Iterable[TaskHistoryRow]) -> pd.DataFrame:
    """One row per task run, columns and dtypes as ``TASK_RUNS_COLUMNS`` (fixed order).

    ``state`` is categorical (``TASK_RUN_STATE_CATEGORIES``; an unknown state is missing),
    ``error_code`` Snowflake's six-digit text (``"002003"``), ``duration`` completion minus
    query start (``NaT`` while running or never started) and ``duration_s`` the same in
    seconds; timestamps are timezone-aware UTC.
    """
    rows = list(rows)
    columns = _transpose(rows, _ROW_ATTRS)
    starts, ends = columns["query_start_time"], columns["completed_time"]
    durations = [
        None if start is None or end is None else end - start for start, end in zip(starts, ends)
    ]
    columns["duration"] = durations
    columns["duration_s"] = [None if d is None else d.total_seconds() for d in durations]
    return _frame(columns, TASK_RUNS_COLUMNS)


def task_runs_df(
    client: Any,
    root: TaskRef,
    *,
    run: int | TaskRun | None = None,
    since: str | float | timedelta | None = None,
    error_only: bool = False,
    database: str | None = None,
    schema: str | None = None,
) -> pd.DataFrame:
    """Every task's runs of ``root``'s graph: one row per task per graph run, typed.

        >>> class History:  # anything with TaskClient's task_history() will do
        ...     def task_history(self, root, **filters):
        ...         return [TaskHistoryRow("ROOT", state="SUCCEEDED", run_id=7)]
        >>> task_runs_df(History(), "ROOT").attrs["source"]
        'task_history'

    ``run`` (a run id or a ``TaskRun``) keeps one graph run with all its attempts, ``since``
    (``"2 days"``) how far back, ``error_only`` failed and cancelled task runs. Rows come by
    run, attempt, then when each task was due; a task that did not run at all (after a
    failed predecessor) has no row. ``frame.attrs["source"]`` says where the rows came from:
    ``task_history`` (INFORMATION_SCHEMA.TASK_HISTORY, 7 days) or ``account_usage``
    (SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY when ``since`` is longer; on Snowflake it lags by
    up to ~45 minutes). Tier: REST + SQL (on Snowflake the connection needs a warehouse).
    """
    window = None if since is None else parse_duration(since)
    scope = _task_scope(root, database, schema)
    rows = client.task_history(
        _task_name(root), run=run, since=window, error_only=error_only, **scope
    )
    frame = task_runs_frame(rows)
    frame.attrs["source"] = task_history_source(window)
    return frame
