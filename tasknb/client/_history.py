"""Per-task run history through the SQL API: the statements and the rows they return.

    >>> text, values = history_statement("DB", root_id="01", task_name=None, schema=None,
    ...                                  run_id=7, since=None, error_only=False, limit=100)
    >>> "TABLE(DB.INFORMATION_SCHEMA.TASK_HISTORY(RESULT_LIMIT => ?, ROOT_TASK_ID => ?))" in text
    True
    >>> values
    [100, '01', 7]

Up to 7 days back the table function ``<DB>.INFORMATION_SCHEMA.TASK_HISTORY`` answers
(``RESULT_LIMIT``, ``ROOT_TASK_ID``/``TASK_NAME``, ``ERROR_ONLY`` as its arguments); beyond
that the view ``SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY`` (a year; on Snowflake it lags by up to
~45 minutes and has no NEXT_SCHEDULED_TIME). Every value is a ``?`` binding; the only names
in the text are the database (validated and quoted by ``tasknb.identifiers``) and fixed
column names. Time windows are computed by the server (``CURRENT_TIMESTAMP()``), so a server
with its own clock (the local server's manual clock) answers for its own "now".
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import InvalidResponse
from ..identifiers import normalize
from ..models import TASK_HISTORY_FIELDS, TaskHistoryRow, TaskRun, task_history_source
from ..runs import error_code_text

if TYPE_CHECKING:
    import pandas as pd

#: RESULT_LIMIT of the table function when none is given (Snowflake's maximum, so that
#: filters applied after the function, such as the run or the schema, see every row).
DEFAULT_FUNCTION_LIMIT = 10_000
#: Rows read from the ACCOUNT_USAGE view when no limit is given.
DEFAULT_VIEW_LIMIT = 100_000
#: States ``error_only`` keeps (Snowflake's ERROR_ONLY: failed or cancelled).
ERROR_STATES = ("FAILED", "FAILED_AND_AUTO_SUSPENDED", "CANCELLED")

_COLUMNS = tuple(name.upper() for name in TASK_HISTORY_FIELDS)
_TIMESTAMPS = frozenset(
    {"scheduled_time", "query_start_time", "completed_time", "next_scheduled_time"}
)
_INTEGERS = frozenset({"graph_version", "run_id", "attempt_number"})


def _projection(*, view: bool) -> str:
    if not view:
        return ", ".join(_COLUMNS)
    # the view has no NEXT_SCHEDULED_TIME (a finished run has no next one to tell)
    return ", ".join(
        "CAST(NULL AS TIMESTAMP_LTZ) AS NEXT_SCHEDULED_TIME" if c == "NEXT_SCHEDULED_TIME" else c
        for c in _COLUMNS
    )


def history_statement(
    database: str,
    *,
    root_id: str | None,
    task_name: str | None,
    schema: str | None,
    run_id: int | None,
    since: timedelta | None,
    error_only: bool,
    limit: int,
) -> tuple[str, list[Any]]:
    """The statement and its bindings for one history question (see the module docstring).

    ``root_id`` keeps one graph (ROOT_TASK_ID), ``task_name`` one task (with ``schema``);
    ``run_id`` one graph run (all its attempts); ``since`` back from the server's now
    (beyond ``models.TASK_HISTORY_WINDOW`` reads ACCOUNT_USAGE).
    """
    db = normalize(database, kind="database")
    view = task_history_source(since) == "account_usage"
    values: list[Any] = []
    where: list[str] = []
    if view:
        source = "SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY"
        where.append("DATABASE_NAME = ?")
        values.append(_unquoted(db))
        if root_id is not None:
            where.append("ROOT_TASK_ID = ?")
            values.append(root_id)
        if task_name is not None:
            where.append("NAME = ?")
            values.append(_unquoted(task_name))
    else:
        arguments = ["RESULT_LIMIT => ?"]
        values.append(limit)
        if root_id is not None:
            arguments.append("ROOT_TASK_ID => ?")
            values.append(root_id)
        if task_name is not None:
            arguments.append("TASK_NAME => ?")
            values.append(_unquoted(task_name))
        if error_only:
            arguments.append("ERROR_ONLY => TRUE")
        source = f"TABLE({db}.INFORMATION_SCHEMA.TASK_HISTORY({', '.join(arguments)}))"
    if schema is not None:
        where.append("SCHEMA_NAME = ?")
        values.append(_unquoted(schema))
    if run_id is not None:
        where.append("RUN_ID = ?")
        values.append(run_id)
    if since is not None:
        where.append("SCHEDULED_TIME >= DATEADD('second', ?, CURRENT_TIMESTAMP())")
        values.append(-math.ceil(since.total_seconds()))
    if error_only:
        where.append(f"STATE IN ({', '.join(repr(s) for s in ERROR_STATES)})")
    text = f"SELECT {_projection(view=view)} FROM {source}"
    if where:
        text += " WHERE " + " AND ".join(where)
    if view:
        text += " ORDER BY SCHEDULED_TIME DESC LIMIT ?"
        values.append(limit)
    return text, values


def _unquoted(name: str) -> str:
    """The name as TASK_HISTORY's columns hold it: ``MY_DB`` or the text inside quotes."""
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def _kind(field: str) -> str:
    if field in _TIMESTAMPS:
        return "timestamp"
    if field in _INTEGERS:
        return "integer"
    return "error_code" if field in ("error_code", "first_error_code") else "text"


def _values(frame: pd.DataFrame, column: str, kind: str) -> list[Any]:
    """One column of a ``client.sql`` frame as Python values (``None`` for missing)."""
    import pandas as pd

    series = frame[column]
    if kind == "timestamp":
        stamps = pd.DatetimeIndex(series)
        if stamps.tz is None:
            stamps = stamps.tz_localize("UTC")
        mask = stamps.isna()
        moments = stamps.to_pydatetime()
        return [None if missing else moment for moment, missing in zip(moments, mask)]
    values = series.astype(object).where(series.notna(), None).tolist()
    if kind == "error_code":
        return [error_code_text(v) for v in values]
    if kind == "integer":
        return [None if v is None else int(v) for v in values]
    return [None if v is None else str(v) for v in values]


def rows_from_frame(frame: pd.DataFrame) -> list[TaskHistoryRow]:
    """TaskHistoryRows from the frame ``client.sql`` returned for :func:`history_statement`,
    ordered by graph run, attempt, then when each task was due and started."""
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidResponse(
            f"the TASK_HISTORY answer lacks the column(s) {', '.join(missing)}"
        )
    columns = [
        _values(frame, column, _kind(field)) for column, field in zip(_COLUMNS, TASK_HISTORY_FIELDS)
    ]
    rows = []
    for values in zip(*columns):
        row = object.__new__(TaskHistoryRow)  # frozen: fill the instance dict directly
        row.__dict__.update(zip(TASK_HISTORY_FIELDS, values))
        rows.append(row)
    rows.sort(key=_order)
    return rows


def _order(row: TaskHistoryRow) -> tuple[Any, ...]:
    def moment(value: datetime | None) -> tuple[int, float]:
        return (1, 0.0) if value is None else (0, value.timestamp())

    return (
        row.run_id if row.run_id is not None else -1,
        row.attempt_number or 0,
        moment(row.scheduled_time),
        moment(row.query_start_time),
        row.name,
    )


# -- graph runs -----------------------------------------------------------------------------

#: How far back COMPLETE_TASK_GRAPHS (the table function) reaches; older runs: the view.
COMPLETE_FUNCTION_WINDOW = timedelta(minutes=60)
#: Where a complete graph run read through SQL came from (the ``source`` of ``runs_df``).
GRAPH_SOURCES = ("complete_task_graphs", "account_usage")
_GRAPH_COLUMNS = (
    "ROOT_TASK_NAME", "DATABASE_NAME", "SCHEMA_NAME", "STATE", "SCHEDULED_FROM",
    "FIRST_ERROR_TASK_NAME", "FIRST_ERROR_CODE", "FIRST_ERROR_MESSAGE", "SCHEDULED_TIME",
    "QUERY_START_TIME", "NEXT_SCHEDULED_TIME", "COMPLETED_TIME", "ROOT_TASK_ID",
    "GRAPH_VERSION", "RUN_ID", "ATTEMPT_NUMBER", "CONFIG", "GRAPH_RUN_GROUP_ID",
)  # fmt: skip
_GRAPH_TIMESTAMPS = frozenset(
    {"scheduled_time", "query_start_time", "next_scheduled_time", "completed_time"}
)
_GRAPH_INTEGERS = frozenset({"first_error_code", "graph_version", "run_id", "attempt_number"})
_GRAPH_ERROR_STATES = ("FAILED", "CANCELLED")


def graph_history_statement(
    database: str,
    *,
    root_id: str,
    root_name: str | None,
    since: timedelta,
    error_only: bool,
    limit: int,
) -> tuple[str, list[Any]]:
    """Complete graph runs of one root ``since`` back, as one statement and its bindings.

        >>> text, values = graph_history_statement("DB", root_id="01", root_name="R",
        ...     since=timedelta(days=2), error_only=False, limit=10)
        >>> text.count("SELECT"), values
        (2, [10000, 'R', '01', -172800, '01', -172800, 10])

    The last hour from ``<DB>.INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS`` (no lag), older runs
    from ``SNOWFLAKE.ACCOUNT_USAGE.COMPLETE_TASK_GRAPHS`` (a year; on Snowflake it lags by up
    to ~45 minutes, so runs of the last ~1 h 45 min before the hour may be missing there);
    each row says which in ``SOURCE``. ``root_name`` (an unquoted name, or None) only narrows
    the table function; ``ROOT_TASK_ID`` picks the root.
    """
    db = normalize(database, kind="database")
    seconds = -math.ceil(since.total_seconds())
    columns = ", ".join(_GRAPH_COLUMNS)
    arguments = ["RESULT_LIMIT => ?"]
    values: list[Any] = [DEFAULT_FUNCTION_LIMIT]
    if root_name is not None:
        arguments.append("ROOT_TASK_NAME => ?")
        values.append(root_name)
    if error_only:
        arguments.append("ERROR_ONLY => TRUE")
    recent_where = "ROOT_TASK_ID = ? AND COMPLETED_TIME >= DATEADD('second', ?, CURRENT_TIMESTAMP())"
    values += [root_id, seconds]
    text = (
        f"SELECT {columns}, 'complete_task_graphs' AS SOURCE FROM "
        f"TABLE({db}.INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS({', '.join(arguments)})) "
        f"WHERE {recent_where}"
    )
    if since > COMPLETE_FUNCTION_WINDOW:
        window = int(COMPLETE_FUNCTION_WINDOW.total_seconds())
        older = (
            "ROOT_TASK_ID = ? AND COMPLETED_TIME >= DATEADD('second', ?, CURRENT_TIMESTAMP()) "
            f"AND COMPLETED_TIME < DATEADD('second', -{window}, CURRENT_TIMESTAMP())"
        )
        if error_only:
            older += f" AND STATE IN ({', '.join(repr(s) for s in _GRAPH_ERROR_STATES)})"
        values += [root_id, seconds]
        text += (
            f" UNION ALL SELECT {columns}, 'account_usage' AS SOURCE FROM "
            f"SNOWFLAKE.ACCOUNT_USAGE.COMPLETE_TASK_GRAPHS WHERE {older}"
        )
    text += " ORDER BY COMPLETED_TIME DESC LIMIT ?"
    values.append(limit)
    return text, values


def graph_runs_from_frame(frame: pd.DataFrame) -> list[TaskRun]:
    """TaskRuns from the frame of :func:`graph_history_statement`, newest completion first;
    ``extra`` holds ``source``, ``attempt_number``, ``graph_run_group_id``,
    ``scheduled_from`` and ``config``."""
    names = [*_GRAPH_COLUMNS, "SOURCE"]
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InvalidResponse(
            f"the COMPLETE_TASK_GRAPHS answer lacks the column(s) {', '.join(missing)}"
        )
    fields = [name.lower() for name in names]
    kinds = [
        "timestamp" if f in _GRAPH_TIMESTAMPS else "integer" if f in _GRAPH_INTEGERS else "text"
        for f in fields
    ]
    columns = [_values(frame, name, kind) for name, kind in zip(names, kinds)]
    return [TaskRun._from_owned(dict(zip(fields, values))) for values in zip(*columns)]
