"""Tasks, graph runs and task graphs as pandas DataFrames with fixed columns and dtypes.

    >>> from tasknb.models import MinutesSchedule, Task
    >>> tasks_frame([Task("NIGHTLY", "select 1", schedule=MinutesSchedule(10))])[["name", "schedule"]]
          name   schedule
    0  NIGHTLY  10 MINUTE

Two layers: pure builders from models (``tasks_frame``, ``runs_frame``, ``dependents_frame``)
and thin functions that take a client (``tasks_df``, ``runs_df``, ``dependents_df``). The client
is duck-typed: anything with the TaskClient method names (``list_tasks``,
``fetch_task_dependents``, ``get_current_graphs``, ``get_complete_graphs``) will do.

Tier: REST only. Graph runs are what ``current-graphs``/``complete-graphs`` return: one row per
*graph run*, the recent history (complete runs of the past 60 minutes on Snowflake).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from tasknb.dag import GraphModel
from tasknb.identifiers import display_name
from tasknb.models import Task, TaskRun, call_scope
from tasknb.runs import FINISHED_STATES

__all__ = [
    "DEPENDENTS_COLUMNS",
    "ROLE_CATEGORIES",
    "RUNS_COLUMNS",
    "RUN_SOURCE_CATEGORIES",
    "RUN_STATE_CATEGORIES",
    "TASKS_COLUMNS",
    "TASK_STATE_CATEGORIES",
    "dependents_df",
    "dependents_frame",
    "runs_df",
    "runs_frame",
    "tasks_df",
    "tasks_frame",
]

TASK_STATE_CATEGORIES = ["started", "suspended"]
ROLE_CATEGORIES = ["root", "child", "finalizer"]
#: Graph-run states as categories, in the order of a run's life (tasknb.runs holds the states).
RUN_STATE_CATEGORIES = ["SCHEDULED", "EXECUTING", "SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"]
RUN_SOURCE_CATEGORIES = ["current", "complete"]

DEFAULT_MAX_WORKERS = 8
"""Concurrent requests for ``runs_df`` over many roots (each root costs two requests)."""

_STRING = pd.StringDtype()
_TIMESTAMP = pd.DatetimeTZDtype("us", "UTC")
_DURATION = "timedelta64[us]"
_INT = "Int64"
_BOOL = "boolean"
_OBJECT = "object"


def _category(values: list[str]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(categories=values, ordered=False)


# Fixed column order and dtypes. Kinds other than plain dtypes are converted by _column().
TASKS_COLUMNS: dict[str, Any] = {
    "name": _STRING,
    "database_name": _STRING,
    "schema_name": _STRING,
    "role": _category(ROLE_CATEGORIES),
    "state": _category(TASK_STATE_CATEGORIES),
    "schedule": _STRING,
    "predecessors": _OBJECT,
    "finalize": _STRING,
    "finalizer_task": _STRING,
    "warehouse": _STRING,
    "condition": _STRING,
    "definition": _STRING,
    "comment": _STRING,
    "config": _OBJECT,
    "session_parameters": _OBJECT,
    "task_auto_retry_attempts": _INT,
    "suspend_task_after_num_failures": _INT,
    "user_task_timeout_ms": _INT,
    "overlap_policy": _STRING,
    "allow_overlapping_execution": _BOOL,
    "target_completion_interval": _STRING,
    "user_task_managed_initial_warehouse_size": _STRING,
    "serverless_task_min_statement_size": _STRING,
    "serverless_task_max_statement_size": _STRING,
    "error_integration": _STRING,
    "success_integration": _STRING,
    "execute_as_user": _STRING,
    "created_on": _TIMESTAMP,
    "last_committed_on": _TIMESTAMP,
    "last_suspended_on": _TIMESTAMP,
    "id": _STRING,
    "owner": _STRING,
    "owner_role_type": _STRING,
    "task_relations": _STRING,
}

RUNS_COLUMNS: dict[str, Any] = {
    "root_task_name": _STRING,
    "run_id": _INT,
    "state": _category(RUN_STATE_CATEGORIES),
    "source": _category(RUN_SOURCE_CATEGORIES),
    "first_error_task_name": _STRING,
    "first_error_code": _INT,
    "first_error_message": _STRING,
    "scheduled_time": _TIMESTAMP,
    "query_start_time": _TIMESTAMP,
    "completed_time": _TIMESTAMP,
    "duration": _DURATION,
    "duration_s": "Float64",
    "next_scheduled_time": _TIMESTAMP,
    "graph_version": _INT,
    "root_task_id": _STRING,
    "database_name": _STRING,
    "schema_name": _STRING,
}

DEPENDENTS_COLUMNS: dict[str, Any] = {
    "task": _STRING,
    "depth": _INT,
    "role": _category(ROLE_CATEGORIES),
    "state": _category(TASK_STATE_CATEGORIES),
    "predecessors": _OBJECT,
    "children": _OBJECT,
    "schedule": _STRING,
    "warehouse": _STRING,
    "condition": _STRING,
    "finalize": _STRING,
}

# Task attributes read straight from the model, in TASKS_COLUMNS order.
_TASK_ATTRS = tuple(
    name for name in TASKS_COLUMNS if name not in {"role", "finalizer_task"}
)
_RUN_ATTRS = tuple(
    name for name in RUNS_COLUMNS if name not in {"source", "duration", "duration_s"}
)


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


def _timestamps(values: Sequence[Any]) -> Any:
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

        >>> _transpose([TaskRun("A", state="FAILED"), TaskRun("B")], ("root_task_name", "state"))
        {'root_task_name': ['A', 'B'], 'state': ['FAILED', None]}

    One ``attrgetter`` pass per column (in C, no Python loop per row): nothing here depends on
    how a model stores its fields.
    """
    return {name: list(map(attrgetter(name), items)) for name in attrs}


def _schedule_text(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------- builders


def tasks_frame(tasks: Iterable[Task]) -> pd.DataFrame:
    """One row per task, columns and dtypes as ``TASKS_COLUMNS`` (fixed order).

        >>> tasks_frame([]).dtypes["state"]
        CategoricalDtype(categories=['started', 'suspended'], ordered=False, categories_dtype=str)

    ``schedule`` is readable text (``10 MINUTE``, ``USING CRON 0 2 * * * UTC``),
    ``predecessors`` a list, ``role`` root/child/finalizer (a standalone task is a root),
    timestamps are timezone-aware UTC. The frame holds copies of the predecessor lists, so
    editing one never changes the models.
    """
    return _tasks_frame(list(tasks), copy_lists=True)


def _tasks_frame(tasks: list[Task], *, copy_lists: bool) -> pd.DataFrame:
    columns = _transpose(tasks, _TASK_ATTRS)
    columns["schedule"] = [None if v is None else str(v) for v in columns["schedule"]]
    columns["target_completion_interval"] = [
        None if v is None else str(v) for v in columns["target_completion_interval"]
    ]
    predecessors = columns["predecessors"]
    finalize = columns["finalize"]
    columns["role"] = [
        "finalizer" if fin else "child" if preds else "root"
        for fin, preds in zip(finalize, predecessors)
    ]
    if copy_lists:
        columns["predecessors"] = [list(v) if v else [] for v in predecessors]
    elif not all(type(v) is list for v in predecessors):
        columns["predecessors"] = [v if type(v) is list else list(v or ()) for v in predecessors]
    columns["finalizer_task"] = [
        task.finalizer_task if relations and "FinalizerTask" in relations else None
        for task, relations in zip(tasks, columns["task_relations"])
    ]
    return _frame(columns, TASKS_COLUMNS)


def _source_of(run: TaskRun) -> str:
    return "complete" if run.state in FINISHED_STATES else "current"


def runs_frame(
    runs: Iterable[TaskRun], *, source: str | Iterable[str] | None = None
) -> pd.DataFrame:
    """One row per graph run, columns and dtypes as ``RUNS_COLUMNS`` (fixed order).

        >>> runs_frame([TaskRun("R", state="FAILED", first_error_code=100038)]).first_error_code.dtype
        Int64Dtype()

    ``source`` is ``"current"`` or ``"complete"`` for all rows, one value per row, or ``None``
    to derive it from the state (SCHEDULED/EXECUTING runs are current). ``duration`` is
    ``completed_time - query_start_time`` (``NaT`` while running), ``duration_s`` the same
    in seconds for plotting.
    """
    runs = list(runs)
    if source is None:
        sources = [_source_of(run) for run in runs]
    elif isinstance(source, str):
        sources = [source] * len(runs)
    else:
        sources = list(source)
        if len(sources) != len(runs):
            raise ValueError(
                f"runs_frame got {len(sources)} sources for {len(runs)} runs: "
                "pass one source per run, a single string, or None"
            )
    bad = sorted({s for s in sources if s not in RUN_SOURCE_CATEGORIES})
    if bad:
        raise ValueError(f"unknown run source {bad[0]!r}: use 'current' or 'complete'")
    columns = dict(_transpose(runs, _RUN_ATTRS))
    columns["source"] = sources
    durations = [run.duration for run in runs]
    columns["duration"] = durations
    columns["duration_s"] = [None if d is None else d.total_seconds() for d in durations]
    return _frame(columns, RUNS_COLUMNS)


def dependents_frame(tasks: Iterable[Task]) -> pd.DataFrame:
    """The task graph as rows: task, depth, role, state, predecessors, children, ...

        >>> dependents_frame([Task("R", "x"), Task("C", "y", predecessors=["R"])])[["task", "depth"]]
          task  depth
        0    R      0
        1    C      1

    Rows come in the given order (the server answers root first, then topological order).
    ``depth`` is the longest path from the first tasks (0); the finalizer sits one past the
    deepest task of its graph; tasks on a cycle get ``<NA>``. ``predecessors``/``children``
    list the display names of linked tasks that are part of the answer.
    """
    tasks = list(tasks)
    model = GraphModel.from_tasks(tasks)
    depths = model.depths()
    names = {key: display_name(task.name) for key, task in model.tasks.items()}
    columns: dict[str, list[Any]] = {name: [] for name in DEPENDENTS_COLUMNS}
    for key, task in model.tasks.items():
        columns["task"].append(task.name)
        columns["depth"].append(depths[key])
        columns["role"].append(task.role)
        columns["state"].append(task.state)
        columns["predecessors"].append(list(task.predecessors or ()))
        columns["children"].append([names[child] for child in model.children[key]])
        columns["schedule"].append(_schedule_text(task.schedule))
        columns["warehouse"].append(task.warehouse)
        columns["condition"].append(task.condition)
        columns["finalize"].append(task.finalize)
    return _frame(columns, DEPENDENTS_COLUMNS)


# ---------------------------------------------------------------------------- client side


def tasks_df(
    client: Any,
    *,
    like: str | None = None,
    starts_with: str | None = None,
    root_only: bool = False,
    database: str | None = None,
    schema: str | None = None,
) -> pd.DataFrame:
    """The tasks of a schema as a DataFrame (``list_tasks`` + ``tasks_frame``).

        >>> class Listing:  # anything with TaskClient's list_tasks() will do
        ...     def list_tasks(self, **filters):
        ...         return [Task("LOAD_ORDERS", "select 1"), Task("LOAD_USERS", "select 2")]
        >>> tasks_df(Listing(), like="LOAD%").name.tolist()
        ['LOAD_ORDERS', 'LOAD_USERS']

    Filters mirror the API: ``like`` (case-insensitive, ``%``/``_``), ``starts_with``
    (case-sensitive), ``root_only``. Only filters you set are sent. The frame keeps the
    predecessor lists of the models the client just returned (use ``tasks_frame`` on your own
    models to get copies). Tier: REST only.
    """
    kwargs: dict[str, Any] = call_scope(database, schema)
    if like is not None:
        kwargs["like"] = like
    if starts_with is not None:
        kwargs["starts_with"] = starts_with
    if root_only:
        kwargs["root_only"] = True
    # The models are this call's own, so the frame may keep their predecessor lists.
    return _tasks_frame(list(client.list_tasks(**kwargs)), copy_lists=False)


def _task_name(task: TaskRef) -> str:
    if isinstance(task, Task):
        return task.name
    if isinstance(task, str) and task.strip():
        return task
    raise TypeError(f"expected a task name or a Task, got {task!r}")


def _task_scope(task: TaskRef, database: str | None, schema: str | None) -> dict[str, str]:
    return call_scope(database, schema, task=task if isinstance(task, Task) else None)


def dependents_df(
    client: Any,
    task: TaskRef,
    recursive: bool = True,
    *,
    database: str | None = None,
    schema: str | None = None,
) -> pd.DataFrame:
    """A task and its dependents as rows (``fetch_task_dependents`` + ``dependents_frame``).

    ``dependents_df(client, "NIGHTLY")[["task", "depth", "role"]]``: ``recursive=False`` lists direct children only. Tier: REST only (needs a warehouse on
    Snowflake).
    """
    found = client.fetch_task_dependents(
        _task_name(task), recursive=recursive, **_task_scope(task, database, schema)
    )
    return dependents_frame(found)


def _fetch_runs(
    client: Any,
    name: str,
    source: str,
    scope: dict[str, str],
    error_only: bool | None,
    result_limit: int | None,
) -> list[TaskRun]:
    kwargs: dict[str, Any] = dict(scope)
    if result_limit is not None:
        kwargs["result_limit"] = result_limit
    if source == "complete":
        # Always explicit: REST defaults errorOnly to false, snowflake-core to true.
        kwargs["error_only"] = bool(error_only)
        return list(client.get_complete_graphs(name, **kwargs))
    runs = list(client.get_current_graphs(name, **kwargs))
    if error_only:
        runs = [run for run in runs if run.first_error_task_name or run.first_error_code]
    return runs


def _describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    kind = type(error).__name__
    return f"{kind}: {text}" if text else kind


def _validate_runs_args(result_limit: int | None, max_workers: int) -> None:
    if result_limit is not None and not 1 <= int(result_limit) <= 10_000:
        raise ValueError(f"result_limit must be between 1 and 10000, got {result_limit}")
    if int(max_workers) < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")


def runs_df(
    client: Any,
    task_or_tasks: TaskRef | Iterable[TaskRef],
    *,
    error_only: bool | None = None,
    result_limit: int | None = None,
    include_current: bool = True,
    include_complete: bool = True,
    max_workers: int = DEFAULT_MAX_WORKERS,
    progress: bool = True,
    database: str | None = None,
    schema: str | None = None,
) -> pd.DataFrame:
    """Current and complete graph runs of one root task, or of many, in one frame.

    For example ``runs_df(client, "NIGHTLY", error_only=True)``. ``error_only`` is sent to complete-graphs explicitly (``None``/``False``: all runs; REST's
    default) and also keeps only current runs that already carry an error. ``result_limit``
    (1-10000) passes through to both calls.

    One root (a name or a ``Task``): errors are raised as the client raised them. Many roots
    (a list, tuple, set ...): the requests run concurrently on at most ``max_workers``
    threads with a ``tqdm.auto`` progress bar (``progress=False`` hides it); a root whose
    request fails does not lose the others' rows. Failures are reported on the frame:
    ``frame.attrs["errors"]`` maps each failed root to one readable line and
    ``frame.attrs["error_summary"]`` says it in a sentence (``""`` when all succeeded).
    Rows are ordered by root (as given, duplicates dropped), then current before complete,
    then as the server answered. Tier: REST only; complete runs cover the recent history (60 minutes).
    """
    _validate_runs_args(result_limit, max_workers)
    sources = [
        source
        for source, wanted in (("current", include_current), ("complete", include_complete))
        if wanted
    ]
    single = isinstance(task_or_tasks, (str, Task))
    roots: list[TaskRef] = [task_or_tasks] if single else list(task_or_tasks)  # type: ignore[list-item]
    names, scopes, seen = [], [], set()
    for root in roots:  # each root once, in the order given
        name, scope = _task_name(root), _task_scope(root, database, schema)
        identity = (name, tuple(sorted(scope.items())))
        if identity not in seen:
            seen.add(identity)
            names.append(name)
            scopes.append(scope)

    if single:
        runs: list[TaskRun] = []
        labels: list[str] = []
        for source in sources:
            fetched = _fetch_runs(client, names[0], source, scopes[0], error_only, result_limit)
            runs.extend(fetched)
            labels.extend([source] * len(fetched))
        frame = runs_frame(runs, source=labels)
        frame.attrs["errors"] = {}
        frame.attrs["error_summary"] = ""
        return frame

    results, errors = _fetch_many(
        client, names, scopes, sources, error_only, result_limit, max_workers, progress
    )
    runs = []
    labels = []
    for index in range(len(names)):
        for source in sources:
            fetched = results.get((index, source), [])
            runs.extend(fetched)
            labels.extend([source] * len(fetched))
    frame = runs_frame(runs, source=labels)
    frame.attrs["errors"] = errors
    frame.attrs["error_summary"] = _error_summary(errors, len(names))
    return frame


def _fetch_many(
    client: Any,
    names: list[str],
    scopes: list[dict[str, str]],
    sources: list[str],
    error_only: bool | None,
    result_limit: int | None,
    max_workers: int,
    progress: bool,
) -> tuple[dict[tuple[int, str], list[TaskRun]], dict[str, str]]:
    """Run every (root, source) request on a bounded pool; collect rows and failures."""
    from tqdm.auto import tqdm

    jobs = [(index, source) for index in range(len(names)) for source in sources]
    results: dict[tuple[int, str], list[TaskRun]] = {}
    failures: dict[int, list[str]] = {}
    pending = {index: len(sources) for index in range(len(names))}
    if not jobs:
        return results, {}
    workers = max(1, min(int(max_workers), len(jobs)))
    bar = tqdm(
        total=len(names), unit="root", desc="graph runs", disable=not progress, leave=False
    )
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tasknb-runs") as pool:
            futures = {
                pool.submit(
                    _fetch_runs, client, names[i], source, scopes[i], error_only, result_limit
                ): (i, source)
                for i, source in jobs
            }
            for future in as_completed(futures):
                index, source = futures[future]
                try:
                    results[(index, source)] = future.result()
                except Exception as error:  # noqa: BLE001 - reported per root, never lost
                    failures.setdefault(index, []).append(
                        f"{source} runs: {_describe_error(error)}"
                    )
                pending[index] -= 1
                if pending[index] == 0:
                    bar.update(1)
    finally:
        bar.close()
    errors = {
        names[index]: "; ".join(sorted(messages)) for index, messages in sorted(failures.items())
    }
    return results, errors


def _error_summary(errors: dict[str, str], total: int) -> str:
    if not errors:
        return ""
    listed = "; ".join(f"{name}: {message}" for name, message in errors.items())
    noun = "root" if total == 1 else "roots"
    return f"{len(errors)} of {total} {noun} failed, their rows are missing: {listed}"
