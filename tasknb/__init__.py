"""tasknb: see and steer Snowflake Tasks from a Jupyter notebook.

    >>> import tasknb
    >>> client = tasknb.connect(base_url="http://127.0.0.1:8080", token="t", database="DB",
    ...                         schema="PUBLIC")
    >>> client.path_for("nightly", "execute")
    '/api/v2/databases/DB/schemas/PUBLIC/tasks/NIGHTLY:execute'

The client side (``connect``, ``TaskClient``, models, errors, auth) is imported eagerly and
needs only httpx. Notebook helpers that need pandas, graphviz or ipywidgets are exported
lazily: they are listed in ``_LAZY`` (name -> module) and imported on first access, so
``import tasknb`` stays light. To export another lazy name, add one line to ``_LAZY``.
Without the ``notebook`` extra, using one raises ``MissingExtra`` with the install command.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._extras import needs
from ._secret import Secret
from ._version import __version__
from .auth import KeyPairAuth, OAuthAuth, PatAuth, TokenAuth
from .client import AsyncResult, RetryPolicy, TaskClient, connect
from .config import Connection, resolve_connection
from .errors import (
    ApiError,
    AuthError,
    BadRequest,
    ConfigError,
    Conflict,
    Forbidden,
    GatewayTimeout,
    InvalidIdentifier,
    InvalidResponse,
    MethodNotAllowed,
    MissingExtra,
    NotFound,
    RateLimited,
    Redirected,
    RequestMayHaveBeenApplied,
    RequestTimeout,
    ResultTimeout,
    ServerError,
    ServiceUnavailable,
    SqlError,
    TaskAlreadyExists,
    TasknbError,
    TaskNotFound,
    TransportError,
    Unauthorized,
)
from .models import CronSchedule, MinutesSchedule, Schedule, Tag, Task, TaskHistoryRow, TaskRun
from .sessions import SessionAuth

#: names exported lazily: public name -> module that defines it (heavy imports live there)
_LAZY: dict[str, str] = {
    "tasks_df": "tasknb.frames",
    "runs_df": "tasknb.frames",
    "draw_graph": "tasknb.graph",
    # frames and graph helper: builders from models, rendering at the edge
    "dependents_df": "tasknb.frames",
    "tasks_frame": "tasknb.frames",
    "runs_frame": "tasknb.frames",
    "dependents_frame": "tasknb.frames",
    "task_runs_df": "tasknb.frames",
    "task_runs_frame": "tasknb.frames",
    "timeline": "tasknb.timeline",
    "Timeline": "tasknb.timeline",
    "draw_dependents": "tasknb.graph",
    "graph_from_tasks": "tasknb.graph",
    "render_svg": "tasknb.graph",
    "TaskGraph": "tasknb.graph",
    "focus_tasks": "tasknb.graph",
    "GraphView": "tasknb.widgets",
    "TaskPanel": "tasknb.widgets",
    "RunExplorer": "tasknb.widgets",
    "duration_chart": "tasknb.widgets",
    "run_history": "tasknb.widgets",
}

__all__ = [
    "ApiError",
    "AsyncResult",
    "AuthError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "Connection",
    "CronSchedule",
    "Forbidden",
    "GatewayTimeout",
    "GraphView",
    "InvalidIdentifier",
    "InvalidResponse",
    "KeyPairAuth",
    "MethodNotAllowed",
    "MinutesSchedule",
    "MissingExtra",
    "NotFound",
    "OAuthAuth",
    "PatAuth",
    "RateLimited",
    "Redirected",
    "RequestMayHaveBeenApplied",
    "RequestTimeout",
    "ResultTimeout",
    "RetryPolicy",
    "RunExplorer",
    "Schedule",
    "Secret",
    "ServerError",
    "ServiceUnavailable",
    "SessionAuth",
    "SqlError",
    "Tag",
    "Task",
    "TaskAlreadyExists",
    "TaskClient",
    "TaskGraph",
    "TaskHistoryRow",
    "TaskNotFound",
    # lazy (see _LAZY)
    "TaskPanel",
    "TaskRun",
    "TasknbError",
    "Timeline",
    "TokenAuth",
    "TransportError",
    "Unauthorized",
    "__version__",
    "connect",
    "dependents_df",
    "dependents_frame",
    "draw_dependents",
    "draw_graph",
    "duration_chart",
    "focus_tasks",
    "graph_from_tasks",
    "render_svg",
    "resolve_connection",
    "run_history",
    "runs_df",
    "runs_frame",
    "task_runs_df",
    "task_runs_frame",
    "tasks_df",
    "tasks_frame",
    "timeline",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tasknb' has no attribute {name!r}")
    with needs(f"tasknb.{name}"):  # a missing extra names the one command that installs it
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
