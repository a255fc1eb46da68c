"""The tasks of many schemas at once: every schema of a database, or of every database.

    >>> from tasknb.models import Schema, Task
    >>> class Account:  # anything with list_schemas() and list_tasks() will do
    ...     def list_schemas(self, database):
    ...         return [Schema("A", database_name=database), Schema("B", database_name=database)]
    ...     def list_tasks(self, *, database, schema):
    ...         return [Task(f"T_{schema}", "select 1")]
    >>> tasks, errors = tasks_of_schemas(Account(), ["DB"], {}, max_workers=2, progress=False)
    >>> [(t.database_name, t.schema_name, t.name) for t in tasks], errors
    ([('DB', 'A', 'T_A'), ('DB', 'B', 'T_B')], {})

Listings run on a bounded thread pool with a ``tqdm.auto`` progress bar; a database or a
schema whose listing fails is reported (``errors``: its qualified name -> one line) without
losing the other rows. ``INFORMATION_SCHEMA`` holds no tasks and is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from tasknb.identifiers import display, name_key

from ._convert import _describe_error

SKIPPED_SCHEMAS = frozenset({"INFORMATION_SCHEMA"})

_T = TypeVar("_T")


def _pooled(
    jobs: Sequence[tuple[str, Callable[[], _T]]],
    *,
    max_workers: int,
    progress: bool,
    unit: str,
    desc: str,
) -> tuple[dict[str, _T], dict[str, str]]:
    """Run ``(label, call)`` jobs on at most ``max_workers`` threads: results and failures."""
    from tqdm.auto import tqdm

    results: dict[str, _T] = {}
    errors: dict[str, str] = {}
    if not jobs:
        return results, errors
    bar = tqdm(total=len(jobs), unit=unit, desc=desc, disable=not progress, leave=False)
    try:
        workers = max(1, min(int(max_workers), len(jobs)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tasknb-list") as pool:
            futures = {pool.submit(call): label for label, call in jobs}
            for future in as_completed(futures):
                label = futures[future]
                try:
                    results[label] = future.result()
                except Exception as error:  # noqa: BLE001 - reported per label, never lost
                    errors[label] = _describe_error(error)
                bar.update(1)
    finally:
        bar.close()
    return results, errors


def schemas_of(
    client: Any, databases: Sequence[str], *, max_workers: int, progress: bool
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """``(database, schema)`` of every schema of ``databases`` (listing order), and failures."""
    jobs = [(db, lambda db=db: client.list_schemas(db)) for db in databases]
    listed, errors = _pooled(jobs, max_workers=max_workers, progress=progress,
                             unit="database", desc="schemas")
    found = []
    for db in databases:
        for schema in listed.get(db, []):
            if name_key(schema.name) not in SKIPPED_SCHEMAS:
                found.append((db, schema.name))
    return found, errors


def tasks_of_schemas(
    client: Any,
    databases: Sequence[str],
    filters: dict[str, Any],
    *,
    max_workers: int,
    progress: bool,
    rows: bool = False,
) -> tuple[list[Any], dict[str, str]]:
    """The tasks of every schema of ``databases``, each with its database and schema names.

    Models (``list_tasks``), or with ``rows=True`` the API's rows (``list_task_rows``).
    """
    scopes, errors = schemas_of(client, databases, max_workers=max_workers, progress=progress)
    list_in = client.list_task_rows if rows else client.list_tasks
    jobs = [
        (display(db, schema),
         lambda db=db, schema=schema: list_in(database=db, schema=schema, **filters))
        for db, schema in scopes
    ]
    listed, failures = _pooled(jobs, max_workers=max_workers, progress=progress,
                               unit="schema", desc="tasks")
    errors.update(failures)
    tasks: list[Any] = []
    for (db, schema), (label, _) in zip(scopes, jobs):
        found = listed.get(label, [])
        place_in(found, db, schema)
        tasks.extend(found)
    return tasks, dict(sorted(errors.items()))


def place_in(tasks: list[Any], database: str | None, schema: str | None) -> None:
    """Fill in the database and schema of listed tasks (models or the API's rows) where the
    answer left them out.

        >>> rows = [{"name": "T"}, {"name": "U", "schema_name": "OTHER"}]
        >>> place_in(rows, "DB", "S"); [(r["database_name"], r["schema_name"]) for r in rows]
        [('DB', 'S'), ('DB', 'OTHER')]
    """
    for task in tasks:
        if type(task) is dict:
            if task.get("database_name") is None:
                task["database_name"] = database
            if task.get("schema_name") is None:
                task["schema_name"] = schema
            continue
        if task.database_name is None:
            task.database_name = database
        if task.schema_name is None:
            task.schema_name = schema
