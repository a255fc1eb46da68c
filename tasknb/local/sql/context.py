"""What a task's SQL runs as, and what it can see of its graph run."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class TaskContext:
    """Where and as what a task's SQL runs, and what it can see of its graph run.

        >>> TaskContext("DB", "PUBLIC", "CLEAN", "INGEST", predecessor_return_values={"INGEST": "42"}).task_name
        'CLEAN'

    ``predecessor_return_values`` holds the return values of the enabled immediate
    predecessors by bare name; ``ancestor_return_values`` those of further ancestors (used when a
    name is not an immediate predecessor). ``predecessor_states`` (bare name -> SUCCEEDED,
    FAILED, SKIPPED, CANCELLED or NOT_EXECUTED) feeds SYSTEM$PREDECESSORS_STATE and
    SYSTEM$TASK_COMPLETION_STATE. ``now`` (the server clock) is what CURRENT_TIMESTAMP and
    CURRENT_DATE return, so history made with a manual clock carries its virtual dates.
    ``runtime_info`` answers SYSTEM$TASK_RUNTIME_INFO (keys such as
    CURRENT_TASK_GRAPH_RUN_GROUP_ID). A task run's ``warehouse`` (None: serverless) and ``role``
    (its owner) are what CURRENT_WAREHOUSE() and CURRENT_ROLE() return; without a ``role`` (SQL
    API statements) both are refused by name.

    Limits: ``timeout_ms`` is the task's configured USER_TASK_TIMEOUT_MS (0 or None: none),
    the value a timeout error reports; ``deadline`` (a ``time.monotonic()`` instant), when
    given, ends the run there instead of ``timeout_ms`` after its start (a graph-wide deadline
    shared by the tasks of one run). ``session_parameters["STATEMENT_TIMEOUT_IN_SECONDS"]``
    bounds each statement (default: the engine's). ``interrupt_key`` (any hashable, e.g. a
    graph run id) names the run for :meth:`SqlEngine.interrupt`.

    SQL API statements: ``bindings`` are the values of the statement's ``?`` placeholders
    (DuckDB parameters, never spliced into the text); with ``keep_result`` the run sets
    ``result`` to the last statement's ``(columns, rows)``, columns as ``(name, DuckDB type)``,
    at most ``max_result_rows + 1`` rows when that is set.
    """

    database: str
    schema: str
    task_name: str
    root_task_name: str
    graph_config: dict[str, Any] | None = None
    predecessor_return_values: dict[str, str | None] = field(default_factory=dict)
    session_parameters: dict[str, Any] = field(default_factory=dict)
    timeout_ms: int | None = None
    return_value: str | None = None
    ancestor_return_values: dict[str, str | None] = field(default_factory=dict)
    predecessor_states: dict[str, str] = field(default_factory=dict)
    runtime_info: dict[str, Any] = field(default_factory=dict)
    now: datetime | None = None
    warehouse: str | None = None
    role: str | None = None
    deadline: float | None = None
    interrupt_key: Hashable | None = None
    bindings: list[Any] | None = None
    keep_result: bool = False
    max_result_rows: int | None = None
    result: tuple[list[tuple[str, str]], list[tuple[Any, ...]]] | None = None
