"""Tasks and task graphs as DataFrames: ``tasks_frame``/``tasks_df``, ``dependents_*``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from tasknb._gc import paused_gc
from tasknb.dag import GraphModel
from tasknb.errors import InvalidResponse
from tasknb.identifiers import display, display_name
from tasknb.models import Task, call_scope, finalizer_of, task_role

from ._account import place_in, tasks_of_schemas
from ._convert import (
    _BOOL,
    _INT,
    _OBJECT,
    _STRING,
    _TIMESTAMP,
    TaskRef,
    _category,
    _frame,
    _rows_transpose,
    _schedule_text,
    _task_name,
    _task_scope,
    _transpose,
)

TASK_STATE_CATEGORIES = ["started", "suspended"]
#: Concurrent listings of ``tasks_df`` over many schemas.
DEFAULT_LIST_WORKERS = 8
ROLE_CATEGORIES = ["root", "child", "finalizer"]

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


def tasks_frame(tasks: Iterable[Task]) -> pd.DataFrame:
    """One row per task, columns and dtypes as ``TASKS_COLUMNS`` (fixed order).

        >>> tasks_frame([]).dtypes["state"]
        CategoricalDtype(categories=['started', 'suspended'], ordered=False, categories_dtype=str)

    ``schedule`` is readable text (``10 MINUTE``, ``USING CRON 0 2 * * * UTC``),
    ``predecessors`` a list, ``role`` root/child/finalizer (a standalone task is a root),
    timestamps are timezone-aware UTC. The frame holds copies of the predecessor lists, so
    editing one never changes the models.
    """
    tasks = list(tasks)
    columns = _transpose(tasks, _TASK_ATTRS)
    columns["predecessors"] = [list(v) if v else [] for v in columns["predecessors"]]
    return _tasks_columns_frame(columns)


def tasks_rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``tasks_frame`` of the tasks a listing's rows describe, without building a model.

        >>> row = {"name": "T", "definition": "select 1", "created_on": "2026-03-01T02:00:00Z",
        ...        "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 10}}
        >>> tasks_rows_frame([row]).equals(tasks_frame([Task.from_api(row)]))
        True

    The rows are the JSON objects the API answered (``TaskClient.list_task_rows``), each
    with a name and a definition; their values are converted a column at a time (times
    parsed together), as ``Task.from_api`` converts them one task at a time. The frame
    keeps the rows' predecessor lists. A value that is not what the API documents (a
    schedule of an unknown type, a time that is no timestamp) raises ``ValueError``.
    """
    return _tasks_columns_frame(_rows_transpose(rows, _TASK_ATTRS))


def _tasks_columns_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The frame from the task fields' values column by column (models' or the API's)."""
    for name in ("schedule", "target_completion_interval"):  # most tasks have neither
        columns[name] = [None if v is None else _schedule_text(v) for v in columns[name]]
    predecessors = columns["predecessors"]
    if not all(type(v) is list for v in predecessors):
        columns["predecessors"] = predecessors = [
            v if type(v) is list else list(v or ()) for v in predecessors
        ]
    columns["role"] = list(map(task_role, columns["finalize"], predecessors))
    columns["finalizer_task"] = list(map(finalizer_of, columns["task_relations"]))
    return _frame(columns, TASKS_COLUMNS)



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



def tasks_df(
    client: Any,
    *,
    like: str | None = None,
    starts_with: str | None = None,
    root_only: bool = False,
    database: str | None = None,
    schema: str | None = None,
    account: bool = False,
    max_workers: int = DEFAULT_LIST_WORKERS,
    progress: bool = True,
) -> pd.DataFrame:
    """The tasks of a schema, of every schema of a database, or of the whole account.

        >>> class Listing:  # anything with TaskClient's list_tasks() will do
        ...     def list_tasks(self, **filters):
        ...         return [Task("LOAD_ORDERS", "select 1"), Task("LOAD_USERS", "select 2")]
        >>> tasks_df(Listing(), like="LOAD%").name.tolist()
        ['LOAD_ORDERS', 'LOAD_USERS']

    Where: no ``database``/``schema``, the client's schema; ``schema`` (with or without
    ``database``), that schema; ``database`` alone, every schema of it
    (``list_schemas``); ``account=True``, every schema of every database the role can see
    (``list_databases``). Many schemas are listed concurrently on at most ``max_workers``
    threads with a ``tqdm.auto`` progress bar (``progress=False`` hides it);
    ``database_name``/``schema_name`` are always filled in, and a database or schema whose
    listing fails is reported in ``frame.attrs["errors"]`` (its name -> one line) and
    ``frame.attrs["error_summary"]`` without losing the others' rows.

    Filters mirror the API: ``like`` (case-insensitive, ``%``/``_``), ``starts_with``
    (case-sensitive), ``root_only``. Only filters you set are sent. With a client that has
    ``list_task_rows`` (``TaskClient``) the frame is built from the API's rows, a column at
    a time, and no ``Task`` is made (``tasks_rows_frame``); otherwise from ``list_tasks``'
    models. Either way the frame keeps the listing's own predecessor lists (use
    ``tasks_frame`` on your own models to get copies). Tier: REST only.
    """
    filters: dict[str, Any] = {}
    if like is not None:
        filters["like"] = like
    if starts_with is not None:
        filters["starts_with"] = starts_with
    if root_only:
        filters["root_only"] = True
    if int(max_workers) < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    if account and (database or schema):
        raise ValueError("tasks_df(account=True) lists every database: leave out database= "
                         "and schema= (or pass database= alone for one database)")
    with paused_gc():  # thousands of rows and their columns, no cycles among them
        return _listing(client, account, database, schema, filters, max_workers, progress)


def _listing(client: Any, account: bool, database: str | None, schema: str | None,
             filters: dict[str, Any], max_workers: int, progress: bool) -> pd.DataFrame:
    list_rows = getattr(client, "list_task_rows", None)  # a client without it: models
    if account or (database and not schema):
        if account:
            databases = [db.name for db in client.list_databases()]
        else:
            databases = [database]
        tasks, errors = tasks_of_schemas(
            client, databases, filters, max_workers=max_workers, progress=progress,
            rows=list_rows is not None,
        )
        where = "the account" if account else f"database {database}"
    else:
        kwargs = {**call_scope(database, schema), **filters}
        tasks = list((list_rows or client.list_tasks)(**kwargs))  # this call's own
        place_in(tasks, database or getattr(client, "database", None),
                 schema or getattr(client, "schema", None))
        errors = {}
        where = "the schema"
    frame = _listing_frame(tasks, rows=list_rows is not None, where=where)
    frame.attrs["errors"] = errors
    frame.attrs["error_summary"] = _listing_summary(errors)
    return frame


def _listing_frame(tasks: list[Any], *, rows: bool, where: str) -> pd.DataFrame:
    """The frame of a listing's own tasks (its predecessor lists kept, not copied)."""
    if not rows:
        columns = _transpose(tasks, _TASK_ATTRS)
        return _tasks_columns_frame(columns)
    try:
        return tasks_rows_frame(tasks)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        failure: Exception = exc
    for row in tasks:  # name the task the server described wrongly
        try:
            Task.from_api(row)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            parts = (row.get(key) for key in ("database_name", "schema_name", "name"))
            name = "task " + display(*(str(part) for part in parts if part))
            failure = exc
            break
    else:
        name = "a task"
    raise InvalidResponse(
        f"listing the tasks of {where}: {name} could not be read: {failure}"
    ) from failure


def _listing_summary(errors: dict[str, str]) -> str:
    if not errors:
        return ""
    listed = "; ".join(f"{name}: {message}" for name, message in errors.items())
    noun = "listing" if len(errors) == 1 else "listings"
    return f"{len(errors)} {noun} failed, their tasks are missing: {listed}"


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

