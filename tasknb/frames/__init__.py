"""Tasks, graph runs and task graphs as pandas DataFrames with fixed columns and dtypes.

    >>> from tasknb.models import MinutesSchedule, Task
    >>> tasks_frame([Task("NIGHTLY", "select 1", schedule=MinutesSchedule(10))])[["name", "schedule"]]
          name   schedule
    0  NIGHTLY  10 MINUTE

Two layers: pure builders from models (``tasks_frame``, ``runs_frame``, ``dependents_frame``,
``task_runs_frame``) and thin functions that take a client (``tasks_df``, ``runs_df``,
``dependents_df``, ``task_runs_df``). The client is duck-typed: anything with the TaskClient
method names (``list_tasks``, ``fetch_task_dependents``, ``get_current_graphs``,
``get_complete_graphs``, ``task_history``) will do.

Tiers: graph runs from REST are what ``current-graphs``/``complete-graphs`` return: one row per
*graph run*, the recent history (complete runs of the past 60 minutes on Snowflake). Task runs
(one row per task per graph run) and longer history need the SQL API (REST + SQL).
"""

from tasknb._extras import needs

with needs("tasknb.frames"):  # the notebook extra (pandas)
    from ._runs import (
        DEFAULT_MAX_WORKERS,
        RUN_SOURCE_CATEGORIES,
        RUN_STATE_CATEGORIES,
        RUNS_COLUMNS,
        runs_df,
        runs_frame,
    )
    from ._task_runs import (
        TASK_RUN_STATE_CATEGORIES,
        TASK_RUNS_COLUMNS,
        task_runs_df,
        task_runs_frame,
    )
    from ._tasks import (
        DEPENDENTS_COLUMNS,
        ROLE_CATEGORIES,
        TASK_STATE_CATEGORIES,
        TASKS_COLUMNS,
        dependents_df,
        dependents_frame,
        tasks_df,
        tasks_frame,
    )

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "DEPENDENTS_COLUMNS",
    "ROLE_CATEGORIES",
    "RUNS_COLUMNS",
    "RUN_SOURCE_CATEGORIES",
    "RUN_STATE_CATEGORIES",
    "TASKS_COLUMNS",
    "TASK_RUNS_COLUMNS",
    "TASK_RUN_STATE_CATEGORIES",
    "TASK_STATE_CATEGORIES",
    "dependents_df",
    "dependents_frame",
    "runs_df",
    "runs_frame",
    "task_runs_df",
    "task_runs_frame",
    "tasks_df",
    "tasks_frame",
]
