"""Columns of Python values to typed pandas arrays, and the shared pieces of the builders.

    >>> _frame({"n": [1, None]}, {"n": _INT}).n.dtype
    Int64Dtype()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from tasknb.models import Task, call_scope, parse_schedule, parse_timestamp

_STRING = pd.StringDtype()
_TIMESTAMP = pd.DatetimeTZDtype("us", "UTC")
_DURATION = "timedelta64[us]"
_INT = "Int64"
_BOOL = "boolean"
_OBJECT = "object"


def _category(values: list[str]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(categories=values, ordered=False)



TaskRef = str | Task

# ---------------------------------------------------------------------------- conversions


def _as_text(values: Sequence[Any]) -> list[Any]:
    return [None if v is None else v if isinstance(v, str) else str(v) for v in values]


_MISSING_TEMPLATES: dict[str, Any] = {}


def _missing(dtype: Any, length: int) -> Any:
    """A column of ``length`` missing values of ``dtype`` (the common all-empty case, cheap)."""
    if dtype == _OBJECT:
        return np.full(length, None, dtype=object)
    key = repr(dtype)
    template = _MISSING_TEMPLATES.get(key)
    if template is None:
        template = _MISSING_TEMPLATES[key] = pd.Series([None], dtype=dtype).array
    return template.take(np.full(length, -1, dtype=np.intp), allow_fill=True)


def _categorical(values: Sequence[Any], dtype: pd.CategoricalDtype) -> pd.Categorical:
    """Values to categories, case-insensitively; unknown values become missing."""
    codes_of: dict[Any, int] = {}
    for code, category in enumerate(dtype.categories):
        codes_of[category] = codes_of[category.lower()] = codes_of[category.upper()] = code
    codes = np.fromiter(
        map(codes_of.get, values, repeat(-1, len(values))), dtype=np.int8, count=len(values)
    )
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _iso_texts(values: Sequence[Any]) -> bool:
    """Whether the values are ISO-8601 texts (or missing): what the API sends for a time."""
    found = False
    for value in values:
        if value is None:
            continue
        if type(value) is not str or value.isdigit():  # epoch seconds/ms: parse_timestamp's
            return False
        found = True
    return found


def _timestamps(values: Sequence[Any]) -> Any:
    """Timestamps as ``datetime64[us, UTC]``: datetimes, or the API's values read as
    ``models.parse_timestamp`` reads them (naive means UTC), ISO-8601 texts all at once.

        >>> [str(t) for t in _timestamps(["2024-06-18T03:01:01+02:00", None, "1718672461"])]
        ['2024-06-18 01:01:01+00:00', 'NaT', '2024-06-18 01:01:01+00:00']
    """
    if _iso_texts(values):
        try:
            parsed = pd.to_datetime(list(values), utc=True, format="ISO8601")
            return pd.DatetimeIndex(parsed).as_unit("us").array
        except (TypeError, ValueError):  # texts pandas cannot read: parse_timestamp's verdict
            pass
    if not all(v is None or isinstance(v, datetime) for v in values):
        values = [parse_timestamp(v) for v in values]  # raises ValueError on a non-timestamp
    try:
        index = pd.DatetimeIndex(values)
    except (TypeError, ValueError):  # mixed offsets or odd values: the general parser
        index = pd.DatetimeIndex(pd.to_datetime(pd.Series(values, dtype=_OBJECT), utc=True))
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("us").array


def _column(values: Sequence[Any], dtype: Any) -> Any:
    """Convert one column of Python values to its declared dtype (tolerant of odd inputs)."""
    length = len(values)
    if length == 0 or (values[0] is None and values.count(None) == length):
        return _missing(dtype, length)
    if dtype is _STRING:
        try:
            return pd.array(np.array(values, dtype=object), dtype=_STRING)
        except (TypeError, ValueError):
            return pd.array(_as_text(values), dtype=_STRING)
    if dtype is _TIMESTAMP:
        return _timestamps(values)
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical(values, dtype)
    if dtype == _INT:
        try:
            return pd.array(list(values), dtype=_INT)
        except (TypeError, ValueError):
            numbers = pd.to_numeric(pd.Series(values, dtype=_OBJECT), errors="coerce")
            return pd.array(numbers.round(), dtype=_INT)
    if dtype == _DURATION:
        return pd.to_timedelta(pd.Series(values, dtype=_OBJECT)).dt.as_unit("us").array
    if dtype == _OBJECT:
        try:
            return np.fromiter(values, dtype=object, count=length)
        except (TypeError, ValueError):  # numpy < 1.23 cannot build object arrays this way
            column = np.empty(length, dtype=object)
            for index, value in enumerate(values):
                column[index] = value
            return column
    return pd.array(list(values), dtype=dtype)


def _frame(columns: Mapping[str, Sequence[Any]], spec: Mapping[str, Any]) -> pd.DataFrame:
    data = {name: _column(columns[name], dtype) for name, dtype in spec.items()}
    return pd.DataFrame(data, columns=list(spec), copy=False)


def _transpose(items: list[Any], attrs: tuple[str, ...]) -> dict[str, Sequence[Any]]:
    """``{attr: [values...]}`` for a list of models, read through their attributes only.

        >>> from tasknb.models import TaskRun
        >>> _transpose([TaskRun("A", state="FAILED"), TaskRun("B")], ("root_task_name", "state"))
        {'root_task_name': ['A', 'B'], 'state': ['FAILED', None]}

    One ``attrgetter`` pass per column (in C, no Python loop per row): nothing here depends on
    how a model stores its fields.
    """
    return {name: list(map(attrgetter(name), items)) for name in attrs}


def _schedule_text(value: Any) -> str | None:
    """A schedule as readable text: a model's, or the API's body of one (``10 MINUTE``)."""
    if value is None:
        return None
    return str(parse_schedule(value) if isinstance(value, dict) else value)


#: More distinct key orders than this among a listing's rows: read them value by value.
_MAX_ROW_SHAPES = 64


def _rows_transpose(rows: list[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """``{name: [values...]}`` for rows as the API sent them (a field left out is ``None``).

        >>> _rows_transpose([{"name": "A", "state": "started"}, {"name": "B"}], ("name", "state"))
        {'name': ['A', 'B'], 'state': ['started', None]}

    A server writes its rows with a few key orders (a root has a schedule, a child
    predecessors): the rows of each order are transposed at once in C (``zip``) and put back
    in place; a field no row has is ``None`` throughout without reading any row.
    """
    count = len(rows)
    present = set().union(*rows)
    shapes: dict[tuple[str, ...], list[int]] = {}
    for index, row in enumerate(rows):
        shapes.setdefault(tuple(row), []).append(index)
        if len(shapes) > _MAX_ROW_SHAPES:  # rows in many orders: one value at a time
            return {
                name: list(map(dict.get, rows, repeat(name, count))) if name in present
                else [None] * count
                for name in names
            }
    if len(shapes) == 1:  # the common case: every row has the same fields in the same order
        (shape,) = shapes
        transposed = dict(zip(shape, map(list, zip(*map(dict.values, rows)))))
        return {name: transposed.get(name) or [None] * count for name in names}
    columns = {name: np.full(count, None, dtype=object) for name in names if name in present}
    for shape, indices in shapes.items():
        group = [rows[i] for i in indices]
        where = np.array(indices, dtype=np.intp)
        for name, values in zip(shape, zip(*map(dict.values, group))):
            column = columns.get(name)
            if column is not None:
                column[where] = np.fromiter(values, dtype=object, count=len(values))
    return {
        name: columns[name].tolist() if name in columns else [None] * count for name in names
    }


def _task_name(task: TaskRef) -> str:
    if isinstance(task, Task):
        return task.name
    if isinstance(task, str) and task.strip():
        return task
    raise TypeError(f"expected a task name or a Task, got {task!r}")


def _task_scope(task: TaskRef, database: str | None, schema: str | None) -> dict[str, str]:
    return call_scope(database, schema, task=task if isinstance(task, Task) else None)


def _describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    kind = type(error).__name__
    return f"{kind}: {text}" if text else kind


def _error_summary(errors: dict[str, str], total: int) -> str:
    if not errors:
        return ""
    listed = "; ".join(f"{name}: {message}" for name, message in errors.items())
    noun = "root" if total == 1 else "roots"
    return f"{len(errors)} of {total} {noun} failed, their rows are missing: {listed}"
