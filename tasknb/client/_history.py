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
from ..models import TASK_HISTORY_FIELDS, TaskHistoryRow, task_history_source

if TYPE_CHECKING:
    import pandas as pd

#: RESULT_LIMIT of the table function when none is given (Snowflake's maximum, so that
#: filters applied after the function, such as the run or the schema, see every row).
DEFAULT_FUNCTION_LIMIT = 10_000
#: Rows read from the ACCOUNT_USAGE view when no limit is given.
DEFAULT_VIEW_LIMIT = 100_000
#: States ``error_only`` keeps (Snowflake's ERROR_ONLY: failed or cancelled).
ERROR_STATES = ("FAILED", "FAILED_AND_AUTO_SUSPENDED", "CANCELLED")
ERROR_CODE_DIGITS = 6  # Snowflake writes error codes zero-padded: 002003

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


def error_code_text(value: Any) -> str | None:
    """Snowflake's error code as text, zero-padded to six digits.

        >>> error_code_text(2003), error_code_text("100038"), error_code_text(None)
        ('002003', '100038', None)
    """
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        return text.zfill(ERROR_CODE_DIGITS)
    return text or None


def _values(frame: pd.DataFrame, column: str, field: str) -> list[Any]:
    import pandas as pd

    series = frame[column]
    if field in _TIMESTAMPS:
        stamps = pd.DatetimeIndex(series)
        if stamps.tz is None:
            stamps = stamps.tz_localize("UTC")
        mask = stamps.isna()
        moments = stamps.to_pydatetime()
        return [None if missing else moment for moment, missing in zip(moments, mask)]
    values = series.astype(object).where(series.notna(), None).tolist()
    if field == "error_code":
        return [error_code_text(v) for v in values]
    if field in _INTEGERS:
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
    columns = [_values(frame, column, field) for column, field in zip(_COLUMNS, TASK_HISTORY_FIELDS)]
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
