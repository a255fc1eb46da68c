"""``TaskClient``: one method per operation of the Snowflake REST API v2 Task endpoints.

    >>> client = TaskClient("http://127.0.0.1:8080", auth=None, database="DB", schema="S")
    >>> client.path_for("nightly", "execute")
    '/api/v2/databases/DB/schemas/S/tasks/NIGHTLY:execute'

Methods (snake_case of the spec's ``operationId``): ``list_tasks``, ``create_task``,
``fetch_task``, ``create_or_alter_task``, ``delete_task``, ``execute_task``,
``resume_task``, ``suspend_task``, ``fetch_task_dependents``, ``get_current_graphs``,
``get_complete_graphs``, ``get_tags``, ``set_tags``, ``unset_tags``. Each takes
``database=``/``schema=`` to override the client's defaults, and every query parameter of
the spec as a keyword argument (``None`` = not sent, so the server default applies).
A name may be qualified (``"DB.S.NIGHTLY"``). Booleans go on the wire as ``true``/``false``.

Graph runs: the hyphenated paths (``current-graphs``, ``complete-graphs``) are used; with
``deprecated_graph_paths=None`` (the default) a 404 with an empty body or a 405 on them
(an older deployment without the route) falls back once to the deprecated underscore paths
(``current_graphs``, ``complete_graphs``) and the client remembers it. ``True`` always uses
the underscore paths, ``False`` never does.

The package: ``_tasks`` holds ``TaskClient`` (one thin method per operation) and ``connect``;
``_http`` the whole request core (``HttpSession``: retries, ``Retry-After``, 202 polling,
``Link`` paging and large results, error mapping, never resending a non-idempotent request);
``_async`` the ``AsyncResult`` of a request the server is still running, polled through that
core; ``_sql`` the SQL API behind ``TaskClient.sql``.
"""

from __future__ import annotations

from ._http import RetryPolicy
from ._tasks import AsyncResult, TaskClient, connect

__all__ = ["AsyncResult", "RetryPolicy", "TaskClient", "connect"]
