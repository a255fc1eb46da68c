"""Graph runs as DataFrames: ``runs_frame`` from models, ``runs_df`` from a client."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta
from typing import Any

import pandas as pd

from tasknb.durations import parse_duration
from tasknb.models import Task, TaskRun
from tasknb.runs import FINISHED_STATES

from ._convert import (
    _DURATION,
    _INT,
    _STRING,
    _TIMESTAMP,
    TaskRef,
    _category,
    _describe_error,
    _error_summary,
    _frame,
    _task_name,
    _task_scope,
    _transpose,
)

#: Graph-run states as categories, in the order of a run's life (tasknb.runs holds the states).
RUN_STATE_CATEGORIES = ["SCHEDULED", "EXECUTING", "SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"]
#: Where a graph run came from: REST ``current``/``complete`` graphs, or SQL (``runs_df(since=)``):
#: COMPLETE_TASK_GRAPHS (the table function, the last hour) or ACCOUNT_USAGE (a year).
RUN_SOURCE_CATEGORIES = ["current", "complete", "complete_task_graphs", "account_usage"]

DEFAULT_MAX_WORKERS = 8
"""Concurrent requests for ``runs_df`` over many roots (each root costs two requests)."""



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

_RUN_ATTRS = tuple(
    name for name in RUNS_COLUMNS if name not in {"source", "duration", "duration_s"}
)



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
        raise ValueError(
            f"unknown run source {bad[0]!r}: use one of {', '.join(RUN_SOURCE_CATEGORIES)}"
        )
    columns = dict(_transpose(runs, _RUN_ATTRS))
    columns["source"] = sources
    durations = [run.duration for run in runs]
    columns["duration"] = durations
    columns["duration_s"] = [None if d is None else d.total_seconds() for d in durations]
    return _frame(columns, RUNS_COLUMNS)



def _fetch_runs(
    client: Any,
    name: str,
    source: str,
    scope: dict[str, str],
    error_only: bool | None,
    result_limit: int | None,
    since: timedelta | None = None,
) -> list[TaskRun]:
    kwargs: dict[str, Any] = dict(scope)
    if result_limit is not None:
        kwargs["result_limit"] = result_limit
    if source == "complete" and since is not None:
        return list(
            client.complete_graph_history(name, since=since, error_only=bool(error_only), **kwargs)
        )
    if source == "complete":
        # Always explicit: REST defaults errorOnly to false, snowflake-core to true.
        kwargs["error_only"] = bool(error_only)
        return list(client.get_complete_graphs(name, **kwargs))
    runs = list(client.get_current_graphs(name, **kwargs))
    if error_only:
        runs = [run for run in runs if run.first_error_task_name or run.first_error_code]
    return runs


def _labels(source: str, runs: list[TaskRun], since: timedelta | None) -> list[str]:
    """The ``source`` of each run: the request's, or for SQL history what each row says."""
    if source == "complete" and since is not None:
        return [str(run.extra.get("source") or "account_usage") for run in runs]
    return [source] * len(runs)


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
    since: str | float | timedelta | None = None,
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

    ``since`` (``"7 days"``, seconds, a timedelta) reads complete runs that far back through
    SQL instead (``TaskClient.complete_graph_history``: COMPLETE_TASK_GRAPHS for the last
    hour, SNOWFLAKE.ACCOUNT_USAGE.COMPLETE_TASK_GRAPHS before it, which on Snowflake lags by
    up to ~45 minutes); the ``source`` column says ``complete_task_graphs`` or
    ``account_usage`` for those rows (``current`` rows still come from REST). Tier: REST +
    SQL (a warehouse on Snowflake).
    """
    _validate_runs_args(result_limit, max_workers)
    window = None if since is None else parse_duration(since)
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
            fetched = _fetch_runs(
                client, names[0], source, scopes[0], error_only, result_limit, window
            )
            runs.extend(fetched)
            labels.extend(_labels(source, fetched, window))
        frame = runs_frame(runs, source=labels)
        frame.attrs["errors"] = {}
        frame.attrs["error_summary"] = ""
        return frame

    results, errors = _fetch_many(
        client, names, scopes, sources, error_only, result_limit, max_workers, progress, window
    )
    runs = []
    labels = []
    for index in range(len(names)):
        for source in sources:
            fetched = results.get((index, source), [])
            runs.extend(fetched)
            labels.extend(_labels(source, fetched, window))
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
    since: timedelta | None = None,
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
                    _fetch_runs,
                    client,
                    names[i],
                    source,
                    scopes[i],
                    error_only,
                    result_limit,
                    since,
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

