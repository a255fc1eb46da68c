"""``TaskClient``: one thin method per operation of the Task endpoints, and ``connect``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from tasknb._gc import paused_gc

from ..durations import parse_duration
from ..errors import ApiError, InvalidResponse, TasknbError
from ..identifiers import display, normalize, path_segment, split_qualified
from ..models import (
    Database,
    Schema,
    Tag,
    Task,
    TaskHistoryRow,
    TaskRun,
    call_scope,
    task_history_source,
)
from ._async import AsyncResult
from ._history import (
    DEFAULT_FUNCTION_LIMIT,
    DEFAULT_VIEW_LIMIT,
    graph_history_statement,
    graph_runs_from_frame,
    history_statement,
    rows_from_frame,
)
from ._http import API_PREFIX, DEFAULT_TIMEOUT, HttpSession, Pending, RetryPolicy, kind_of
from ._sql import DEFAULT_SQL_TIMEOUT, run_statement

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Self

#: Snowflake's function that cancels one task's current run (no REST equivalent).
CANCEL_FUNCTION = "SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS"

CREATE_MODES = {
    "errorifexists": "errorIfExists",
    "error_if_exists": "errorIfExists",
    "orreplace": "orReplace",
    "or_replace": "orReplace",
    "ifnotexists": "ifNotExists",
    "if_not_exists": "ifNotExists",
}
MIN_LIMIT, MAX_LIMIT = 1, 10_000  # showLimit and resultLimit range
_CLIENT_OPTIONS = {
    "timeout",
    "transport",
    "retry",
    "sleep",
    "rng",
    "deprecated_graph_paths",
    "headers",
    "user_agent",
}


def _bool(value: bool | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise TypeError(f"expected True or False, got {value!r}")
    return "true" if value else "false"


def _limit(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_LIMIT <= value <= MAX_LIMIT:
        raise ValueError(
            f"{name} must be an integer from {MIN_LIMIT} to {MAX_LIMIT}, got {value!r}"
        )
    return value


class TaskClient:
    """A client of the Task endpoints of one Snowflake account (or the local server).

        >>> with TaskClient("http://127.0.0.1:1", auth=None, database="db") as c:
        ...     c.database
        'DB'

    ``base_url`` is the scheme and host (``https://<account>.snowflakecomputing.com``);
    ``auth`` an ``httpx.Auth`` (see ``tasknb.auth``) or ``None``; ``database``/``schema``
    the defaults for every call; ``role``/``warehouse`` are sent as ``X-Snowflake-Role`` /
    ``X-Snowflake-Warehouse``. ``timeout`` (seconds or ``httpx.Timeout``), ``retry``
    (``RetryPolicy``) and ``transport`` (any ``httpx.BaseTransport``) are injectable.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        database: str | None = None,
        schema: str | None = None,
        role: str | None = None,
        warehouse: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        deprecated_graph_paths: bool | None = None,
        headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
    ) -> None:
        default_database, default_schema = _normalized_scope(database, schema)
        self._session = HttpSession.open(
            base_url,
            auth=auth,
            headers={
                **({"X-Snowflake-Role": role} if role else {}),
                **({"X-Snowflake-Warehouse": warehouse} if warehouse else {}),
                **(headers or {}),
            },
            user_agent=user_agent,
            timeout=timeout,
            transport=transport,
            retry=retry,
            sleep=sleep,
            rng=rng,
        )
        self._http = self._session.client
        self.base_url = str(self._http.base_url).rstrip("/")
        self.database, self.schema = default_database, default_schema
        self.auth = auth
        self.deprecated_graph_paths = deprecated_graph_paths

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        end_session = getattr(self.auth, "close", None)  # a session login ends its session
        if callable(end_session):
            end_session(self._http)
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"TaskClient(base_url={self.base_url!r}, database={self.database!r}, "
            f"schema={self.schema!r}, auth={self.auth!r})"
        )

    # -- names and paths ------------------------------------------------------------------

    def _target(
        self, name: str | None, database: str | None, schema: str | None
    ) -> tuple[str, str, str | None]:
        """Resolve (database, schema, name) from a possibly qualified name and defaults."""
        parts = split_qualified(name) if name is not None else []
        given_db, given_schema = _normalized_scope(database, schema)
        task = parts[-1] if parts else None
        if len(parts) == 3:
            db, sch = parts[0], parts[1]
        elif len(parts) == 2:
            db, sch = given_db or self.database, parts[0]
        else:
            db, sch = given_db or self.database, given_schema or self.schema
        if len(parts) >= 2 and (
            (given_schema and given_schema != sch)
            or (len(parts) == 3 and given_db and given_db != db)
        ):
            raise TasknbError(
                f"{name!r} is qualified but database=/schema= name another place; pass one"
            )
        if not db or not sch:
            missing = "database" if not db else "schema"
            raise TasknbError(
                f"no {missing} given: pass {missing}= to the call or the client "
                "(or a qualified name DB.SCHEMA.TASK)"
            )
        return db, sch, task

    def path_for(
        self,
        name: str | None = None,
        verb: str | None = None,
        *,
        database: str | None = None,
        schema: str | None = None,
        sub: str | None = None,
    ) -> str:
        """The URL path of a task operation (names validated, folded and percent-encoded)."""
        db, sch, task = self._target(name, database, schema)
        path = f"{API_PREFIX}/databases/{path_segment(db)}/schemas/{path_segment(sch)}/tasks"
        if task is not None:
            path += "/" + path_segment(task)
        if sub:
            path += "/" + sub
        if verb:
            path += ":" + verb
        return path

    def _subject(self, name: str | None, database: str | None, schema: str | None) -> str:
        db, sch, task = self._target(name, database, schema)
        return display(db, sch, task)

    # -- databases and schemas ------------------------------------------------------------

    def list_databases(
        self,
        *,
        like: str | None = None,
        starts_with: str | None = None,
        show_limit: int | None = None,
        from_name: str | None = None,
    ) -> list[Database]:
        """The databases the role can see (``GET /api/v2/databases``; every page).

        ``like`` is case-insensitive with ``%``/``_``; ``starts_with`` and ``from_name`` are
        case-sensitive; ``show_limit`` is 1..10000.
        """
        params = {
            "like": like,
            "startsWith": starts_with,
            "showLimit": _limit("show_limit", show_limit),
            "fromName": from_name,
        }
        return list(self._session.rows(f"{API_PREFIX}/databases", params, Database._from_owned))

    def list_schemas(
        self,
        database: str | None = None,
        *,
        like: str | None = None,
        starts_with: str | None = None,
        show_limit: int | None = None,
        from_name: str | None = None,
    ) -> list[Schema]:
        """The schemas of ``database`` (default: the client's) the role can see
        (``GET /api/v2/databases/{database}/schemas``; every page)."""
        given, _ = _normalized_scope(database, None)
        db = given or self.database
        if not db:
            raise TasknbError("no database given: pass list_schemas(database) or database= "
                              "to the client")
        params = {
            "like": like,
            "startsWith": starts_with,
            "showLimit": _limit("show_limit", show_limit),
            "fromName": from_name,
        }
        path = f"{API_PREFIX}/databases/{path_segment(db, kind='database')}/schemas"
        return list(self._session.rows(path, params, Schema._from_owned))

    # -- tasks ----------------------------------------------------------------------------

    def iter_tasks(
        self,
        *,
        database: str | None = None,
        schema: str | None = None,
        root_only: bool | None = None,
        like: str | None = None,
        starts_with: str | None = None,
        show_limit: int | None = None,
        from_name: str | None = None,
    ) -> Iterator[Task]:
        """Yield the tasks of a schema page by page (``listTasks``, lazily)."""
        return self._task_listing(
            Task._from_owned, database, schema, root_only, like, starts_with, show_limit,
            from_name,
        )

    def list_task_rows(
        self,
        *,
        database: str | None = None,
        schema: str | None = None,
        root_only: bool | None = None,
        like: str | None = None,
        starts_with: str | None = None,
        show_limit: int | None = None,
        from_name: str | None = None,
    ) -> list[dict[str, Any]]:
        """All tasks of a schema as the API's JSON objects, unconverted (every page).

        What ``list_tasks`` reads, before any ``Task`` is made: for building many rows at
        once (``tasknb.frames.tasks_df`` converts them a column at a time);
        ``Task.from_api(row)`` makes the model of one. Each row is checked to be an object
        with a name and a definition. Arguments as ``list_tasks``.
        """
        with paused_gc():  # thousands of rows at once, no cycles among them
            return list(
                self._task_listing(
                    Task._checked_row, database, schema, root_only, like, starts_with,
                    show_limit, from_name,
                )
            )

    def _task_listing(
        self,
        parse: Callable[[Any], Any],
        database: str | None,
        schema: str | None,
        root_only: bool | None,
        like: str | None,
        starts_with: str | None,
        show_limit: int | None,
        from_name: str | None,
    ) -> Iterator[Any]:
        path = self.path_for(database=database, schema=schema)
        params = {
            "rootOnly": _bool(root_only),
            "like": like,
            "startsWith": starts_with,
            "showLimit": _limit("show_limit", show_limit),
            "fromName": from_name,
        }
        return self._session.rows(path, params, parse)

    def list_tasks(
        self,
        *,
        database: str | None = None,
        schema: str | None = None,
        root_only: bool | None = None,
        like: str | None = None,
        starts_with: str | None = None,
        show_limit: int | None = None,
        from_name: str | None = None,
    ) -> list[Task]:
        """All tasks of a schema (``GET .../tasks``; every page).

        ``like`` is case-insensitive with ``%``/``_``; ``starts_with`` and ``from_name`` are
        case-sensitive; ``show_limit`` is 1..10000; ``root_only`` keeps tasks without
        predecessors.
        """
        with paused_gc():  # thousands of rows at once, no cycles among them
            return list(
                self.iter_tasks(
                    database=database,
                    schema=schema,
                    root_only=root_only,
                    like=like,
                    starts_with=starts_with,
                    show_limit=show_limit,
                    from_name=from_name,
                )
            )

    def create_task(
        self,
        task: Task | Mapping[str, Any],
        *,
        create_mode: str | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> str:
        """Create a task (``POST .../tasks``); returns the server's status text.

        ``create_mode``: ``"errorIfExists"`` (server default), ``"orReplace"`` or
        ``"ifNotExists"`` (snake_case spellings accepted). Never resent after it may have
        reached the server.
        """
        body = _task_body(task)
        mode = None
        if create_mode is not None:
            mode = CREATE_MODES.get(str(create_mode).replace("-", "_").lower())
            if mode is None:
                raise ValueError(
                    f"create_mode must be errorIfExists, orReplace or ifNotExists, "
                    f"got {create_mode!r}"
                )
        path = self.path_for(database=database, schema=schema)
        subject = self._subject(body["name"], database, schema)
        return _status(
            self._session.call(
                "POST",
                path,
                params={"createMode": mode},
                json_body=body,
                idempotent=False,
                subject=subject,
                check_hint=f"Check with fetch_task({body['name']!r}) whether it exists.",
            )
        )

    def fetch_task(
        self, name: str, *, database: str | None = None, schema: str | None = None
    ) -> Task:
        """One task (``GET .../tasks/{name}``)."""
        path = self.path_for(name, database=database, schema=schema)
        body = self._session.call(
            "GET", path, idempotent=True, subject=self._subject(name, database, schema)
        )
        if not isinstance(body, dict):
            raise InvalidResponse(f"GET {path}: expected a task object, got {kind_of(body)}")
        return Task._from_owned(body)  # decoded here, nobody else holds it

    def create_or_alter_task(
        self,
        task: Task | Mapping[str, Any],
        *,
        database: str | None = None,
        schema: str | None = None,
    ) -> str:
        """Create the task or replace its whole definition (``PUT .../tasks/{name}``).

        Properties left out are reset to their defaults (full replacement); the state is
        not changed. Safe to repeat, so it is retried like a read.
        """
        body = _task_body(task)
        path = self.path_for(body["name"], database=database, schema=schema)
        return _status(
            self._session.call(
                "PUT",
                path,
                json_body=body,
                idempotent=True,
                subject=self._subject(body["name"], database, schema),
            )
        )

    def delete_task(
        self,
        name: str,
        *,
        if_exists: bool | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> str:
        """Drop a task (``DELETE .../tasks/{name}``); ``if_exists=True`` ignores a missing one."""
        path = self.path_for(name, database=database, schema=schema)
        return _status(
            self._session.call(
                "DELETE",
                path,
                params={"ifExists": _bool(if_exists)},
                idempotent=True,
                subject=self._subject(name, database, schema),
            )
        )

    def execute_task(
        self,
        name: str,
        *,
        retry_last: bool | None = None,
        async_exec: bool = False,
        database: str | None = None,
        schema: str | None = None,
    ) -> Any:
        """Start one run of a task's graph now (``POST .../tasks/{name}:execute``).

        ``retry_last=True`` retries the last failed graph run from its failed tasks.
        Returns the status text; with ``async_exec=True`` returns an ``AsyncResult`` to
        ``wait()`` on. Never resent after it may have reached the server (a resend could
        start a second graph run).
        """
        path = self.path_for(name, "execute", database=database, schema=schema)
        subject = self._subject(name, database, schema)
        result = self._session.call(
            "POST",
            path,
            params={"retryLast": _bool(retry_last), "asyncExec": _bool(async_exec or None)},
            idempotent=False,
            subject=subject,
            check_hint=(
                f"Check with get_current_graphs({name!r}) (or `tasknb runs {name}`) whether "
                "a run started before executing again."
            ),
            wait=not async_exec,
        )
        if not async_exec:
            return _status(result)
        describe = f"execute {subject}"
        if isinstance(result, Pending):
            return AsyncResult.running(self._session, result, _status, describe=describe)
        return AsyncResult.finished(_status(result), describe=describe)

    def _action(self, verb: str, name: str, database: str | None, schema: str | None) -> str:
        path = self.path_for(name, verb, database=database, schema=schema)
        return _status(
            self._session.call(
                "POST",
                path,
                idempotent=False,
                subject=self._subject(name, database, schema),
                check_hint=f"Check the task's state with fetch_task({name!r}).",
            )
        )

    def resume_task(
        self, name: str, *, database: str | None = None, schema: str | None = None
    ) -> str:
        """Resume a task (``POST .../tasks/{name}:resume``); returns the status text."""
        return self._action("resume", name, database, schema)

    def suspend_task(
        self, name: str, *, database: str | None = None, schema: str | None = None
    ) -> str:
        """Suspend a task (``POST .../tasks/{name}:suspend``); returns the status text."""
        return self._action("suspend", name, database, schema)

    def fetch_task_dependents(
        self,
        name: str,
        *,
        recursive: bool | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> list[Task]:
        """The task and the tasks after it (``GET .../tasks/{name}/dependents``).

        ``recursive=False`` keeps only direct children (the server default is recursive).
        """
        path = self.path_for(name, database=database, schema=schema, sub="dependents")
        subject = self._subject(name, database, schema)
        params = {"recursive": _bool(recursive)}
        return list(self._session.rows(path, params, Task._from_owned, subject=subject))

    # -- graph runs -----------------------------------------------------------------------

    def _graphs(
        self,
        kind: str,
        name: str,
        params: dict[str, Any],
        database: str | None,
        schema: str | None,
    ) -> list[TaskRun]:
        subject = self._subject(name, database, schema)
        modern, legacy = f"{kind}-graphs", f"{kind}_graphs"
        use_legacy = self.deprecated_graph_paths is True
        path = self.path_for(
            name, database=database, schema=schema, sub=legacy if use_legacy else modern
        )
        try:
            return list(self._session.rows(path, params, TaskRun._from_owned, subject=subject))
        except ApiError as exc:
            route_missing = exc.status == 405 or (exc.status == 404 and exc.body is None)
            if use_legacy or self.deprecated_graph_paths is False or not route_missing:
                raise
        self.deprecated_graph_paths = True
        path = self.path_for(name, database=database, schema=schema, sub=legacy)
        return list(self._session.rows(path, params, TaskRun._from_owned, subject=subject))

    def get_current_graphs(
        self,
        name: str,
        *,
        result_limit: int | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> list[TaskRun]:
        """Graph runs executing now or scheduled in the next 8 days (``current-graphs``)."""
        params = {"resultLimit": _limit("result_limit", result_limit)}
        return self._graphs("current", name, params, database, schema)

    def get_complete_graphs(
        self,
        name: str,
        *,
        result_limit: int | None = None,
        error_only: bool | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> list[TaskRun]:
        """Finished graph runs of a root task (``complete-graphs``).

        ``error_only=True`` keeps failed and cancelled runs (the server default is false;
        note that snowflake-core sends true by default).
        """
        params = {
            "resultLimit": _limit("result_limit", result_limit),
            "errorOnly": _bool(error_only),
        }
        return self._graphs("complete", name, params, database, schema)

    # -- tags -----------------------------------------------------------------------------

    def get_tags(
        self,
        name: str,
        *,
        with_lineage: bool | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> list[Tag]:
        """Tags on a task (``GET .../tasks/{name}:get-tags``)."""
        path = self.path_for(name, "get-tags", database=database, schema=schema)
        subject = self._subject(name, database, schema)
        params = {"withLineage": _bool(with_lineage)}
        return list(self._session.rows(path, params, Tag.from_api, subject=subject))

    def _tags(
        self,
        verb: str,
        name: str,
        tags: Iterable[Tag | Mapping[str, Any]],
        if_exists: bool | None,
        database: str | None,
        schema: str | None,
        with_value: bool,
    ) -> str:
        body = [_tag_body(tag, with_value=with_value) for tag in tags]
        if not body:
            raise ValueError("no tags given")
        path = self.path_for(name, verb, database=database, schema=schema)
        return _status(
            self._session.call(
                "POST",
                path,
                params={"ifExists": _bool(if_exists)},
                json_body=body,
                idempotent=False,
                subject=self._subject(name, database, schema),
                check_hint=f"Check with get_tags({name!r}).",
            )
        )

    def set_tags(
        self,
        name: str,
        tags: Iterable[Tag | Mapping[str, Any]],
        *,
        if_exists: bool | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> str:
        """Set tag values on a task (``POST .../tasks/{name}:set-tags``)."""
        return self._tags("set-tags", name, tags, if_exists, database, schema, True)

    def unset_tags(
        self,
        name: str,
        tags: Iterable[Tag | Mapping[str, Any]],
        *,
        if_exists: bool | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> str:
        """Remove tags from a task (``POST .../tasks/{name}:unset-tags``)."""
        return self._tags("unset-tags", name, tags, if_exists, database, schema, False)

    # -- SQL API --------------------------------------------------------------------------

    def sql(
        self,
        statement: str,
        *,
        bindings: Sequence[Any] | None = None,
        database: str | None = None,
        schema: str | None = None,
        warehouse: str | None = None,
        role: str | None = None,
        timeout: float = DEFAULT_SQL_TIMEOUT,
    ) -> pd.DataFrame:
        """Run one SQL statement (``POST /api/v2/statements``); its result as a DataFrame.

        ``bindings`` are the values of the ``?`` placeholders, in order, sent typed (never
        spliced into the SQL). ``timeout`` (seconds) bounds the statement on the server; past
        it, or on KeyboardInterrupt, the statement is cancelled. A failed statement raises
        ``SqlError`` (``code``, ``sql_state``, ``statement_handle``). On Snowflake a statement
        needs a warehouse: pass ``warehouse=`` or set one on the connection (the client's
        ``warehouse``/``role`` are the defaults of ``warehouse=``/``role=``).
        """
        return run_statement(
            self._session,
            statement,
            bindings=bindings,
            database=database or self.database,
            schema=schema or self.schema,
            warehouse=warehouse or self._http.headers.get("X-Snowflake-Warehouse"),
            role=role or self._http.headers.get("X-Snowflake-Role"),
            timeout=timeout,
        )

    def task_history(
        self,
        root: str | None = None,
        *,
        database: str | None = None,
        schema: str | None = None,
        run: int | TaskRun | None = None,
        since: str | float | timedelta | None = None,
        error_only: bool = False,
        result_limit: int | None = None,
    ) -> list[TaskHistoryRow]:
        """Every task's runs (Snowflake's ``TASK_HISTORY``), one row per task per graph run.

        ``root`` (a root task, possibly qualified) keeps its graph (``ROOT_TASK_ID``: the
        root's id from :meth:`fetch_task`); a child or finalizer keeps that task's own runs;
        ``None`` keeps every task of ``database`` (of ``schema`` too when given). ``run`` (a
        run id or a ``TaskRun``) keeps one graph run with all its attempts; ``since`` (``"2
        days"``, seconds, a timedelta) how far back from the server's now (a run older than 7
        days needs a ``since`` that reaches it); ``error_only`` failed, auto-suspended and
        cancelled runs. Rows come ordered by run, attempt, then when each task was due.

        Read through :meth:`sql`: ``<DB>.INFORMATION_SCHEMA.TASK_HISTORY(...)`` (7 days; at
        most ``result_limit``, default and maximum 10,000, newest first), or, when ``since``
        is longer than 7 days, ``SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY`` (a year, default
        limit 100,000; on Snowflake it lags by up to ~45 minutes and needs a role that may
        read the SNOWFLAKE database). On Snowflake a statement needs a warehouse: set
        ``warehouse`` on the connection (or ``TaskClient(warehouse=...)``); without one the
        ``SqlError`` names that setting. The local server needs none.
        """
        window = None if since is None else parse_duration(since)
        if not isinstance(error_only, bool):
            raise TypeError(f"error_only must be True or False, got {error_only!r}")
        view = task_history_source(window) == "account_usage"
        if result_limit is None:
            limit = DEFAULT_VIEW_LIMIT if view else DEFAULT_FUNCTION_LIMIT
        elif view:
            if isinstance(result_limit, bool) or not isinstance(result_limit, int) \
                    or result_limit < 1:
                raise ValueError(f"result_limit must be a positive integer, got {result_limit!r}")
            limit = result_limit
        else:
            limit = _limit("result_limit", result_limit) or DEFAULT_FUNCTION_LIMIT
        run_id = _run_id(run)
        root_id = task_name = None
        if root is not None:
            db, sch, name = self._target(root, database, schema)
            task = self.fetch_task(name or root, database=db, schema=sch)
            if task.predecessors or task.finalize:
                task_name = task.name
            else:
                if not task.id:
                    raise InvalidResponse(
                        f"{self._subject(root, db, sch)} came back without an id, which "
                        "TASK_HISTORY's ROOT_TASK_ID needs"
                    )
                root_id = task.id
        else:
            given_db, sch = _normalized_scope(database, schema)
            db = given_db or self.database
            if not db:
                raise TasknbError(
                    "no database given: pass database= to task_history() or the client "
                    "(or a qualified root name DB.SCHEMA.TASK)"
                )
        statement, bindings = history_statement(
            db,
            root_id=root_id,
            task_name=task_name,
            schema=sch,
            run_id=run_id,
            since=window,
            error_only=error_only,
            limit=limit,
        )
        return rows_from_frame(self.sql(statement, bindings=bindings, database=db))

    def complete_graph_history(
        self,
        root: str,
        *,
        since: str | float | timedelta,
        error_only: bool = False,
        result_limit: int | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> list[TaskRun]:
        """Complete graph runs of ``root`` over a longer window than REST's, through SQL.

        ``since`` (``"7 days"``, seconds, a timedelta) how far back from the server's now;
        ``error_only`` failed and cancelled runs; at most ``result_limit`` runs (default and
        maximum 10,000), newest completion first. The last hour comes from
        ``<DB>.INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS``, older runs from
        ``SNOWFLAKE.ACCOUNT_USAGE.COMPLETE_TASK_GRAPHS`` (a year; on Snowflake it lags by up to
        ~45 minutes). Each run's ``extra["source"]`` says which (``complete_task_graphs`` or
        ``account_usage``); ``extra`` also holds ``attempt_number``, ``graph_run_group_id``,
        ``scheduled_from`` and ``config``. Needs a warehouse on Snowflake, like :meth:`sql`.
        """
        window = parse_duration(since)
        if not isinstance(error_only, bool):
            raise TypeError(f"error_only must be True or False, got {error_only!r}")
        limit = _limit("result_limit", result_limit) or DEFAULT_FUNCTION_LIMIT
        db, sch, name = self._target(root, database, schema)
        task = self.fetch_task(name or root, database=db, schema=sch)
        if not task.id:
            raise InvalidResponse(
                f"{self._subject(root, db, sch)} came back without an id, which "
                "COMPLETE_TASK_GRAPHS' ROOT_TASK_ID needs"
            )
        plain = task.name if not task.name.startswith('"') else None
        statement, bindings = graph_history_statement(
            db, root_id=task.id, root_name=plain, since=window, error_only=error_only,
            limit=limit,
        )
        return graph_runs_from_frame(self.sql(statement, bindings=bindings, database=db))

    def cancel_graph_runs(
        self, root: str, *, database: str | None = None, schema: str | None = None
    ) -> dict[str, str]:
        """Cancel the executing run of ``root``'s graph: the current run of every task in it.

        Snowflake's ``SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS`` cancels one task's current
        run only, so this runs ONE statement calling it for ``root`` and each task after it
        (from :meth:`fetch_task_dependents`, in its order, each name a binding) through
        :meth:`sql` (the REST Task API has no such call; on Snowflake it needs a warehouse).
        A cancelled task's dependents do not run and the graph run ends CANCELLED. Returns
        Snowflake's answer text per task name ("Marked 1 task runs for cancellation. ..." or
        "... has no currently running executions. ...").
        """
        db, sch, _ = self._target(root, database, schema)
        names = [task.name for task in self.fetch_task_dependents(root, database=db, schema=sch)]
        if not names:
            raise InvalidResponse(f"the dependents of {self._subject(root, db, sch)} are empty; "
                                  "the server should list the task itself first")
        calls = ", ".join(f"{CANCEL_FUNCTION}(?)" for _ in names)
        frame = self.sql(
            f"SELECT {calls}",
            bindings=[display(db, sch, name) for name in names],
            database=db,
            schema=sch,
        )
        if frame.shape != (1, len(names)):
            raise InvalidResponse(
                f"{CANCEL_FUNCTION} for {len(names)} tasks answered a {frame.shape[0]} x "
                f"{frame.shape[1]} result instead of one row with one column per task"
            )
        return {name: str(frame.iloc[0, i]) for i, name in enumerate(names)}


# -- helpers ------------------------------------------------------------------------------


def _run_id(run: int | TaskRun | None) -> int | None:
    """The run id of ``run=``: an integer, or a ``TaskRun``'s ``run_id``."""
    if run is None:
        return None
    if isinstance(run, TaskRun):
        if run.run_id is None:
            raise ValueError(f"the run of {run.root_task_name} has no run_id to look up")
        return int(run.run_id)
    if isinstance(run, bool) or not isinstance(run, int):
        raise TypeError(f"run must be a run id (an integer) or a TaskRun, got {run!r}")
    return run



def _normalized_scope(database: str | None, schema: str | None) -> tuple[str | None, str | None]:
    """The database and schema given (``models.call_scope``: ``None``/``""`` are not), folded."""
    given = call_scope(database, schema)
    return (
        normalize(given["database"], kind="database") if "database" in given else None,
        normalize(given["schema"], kind="schema") if "schema" in given else None,
    )


def _status(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("status"), str):
        return body["status"]
    if body is None:
        return ""
    raise InvalidResponse(f"expected a status object like {{'status': '...'}}, got {kind_of(body)}")



def _task_body(task: Task | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(task, Task):
        body = task.to_api()
    elif isinstance(task, Mapping):
        body = dict(task)
    else:
        raise TypeError(f"expected a Task or a mapping, got {type(task).__name__}")
    if not body.get("name"):
        raise ValueError("a task needs a name")
    if not body.get("definition"):
        raise ValueError(f"task {body['name']!r} needs a definition (the SQL it runs)")
    body["name"] = normalize(body["name"])
    return body


def _tag_body(tag: Tag | Mapping[str, Any], *, with_value: bool) -> dict[str, Any]:
    if isinstance(tag, Mapping):
        tag = Tag.from_api(tag)
    if not isinstance(tag, Tag):
        raise TypeError(f"expected a Tag or a mapping, got {type(tag).__name__}")
    body = tag.to_api(with_value=with_value)
    for key in ("tag_database", "tag_schema", "tag_name"):
        if key in body:
            body[key] = normalize(body[key], kind=key.replace("_", " "))
    if with_value and body.get("tag_value") is None:
        raise ValueError(f"tag {tag.tag_name!r} needs a value to be set")
    return body


def connect(
    connection: str | None = None,
    *,
    database: str | None = None,
    schema: str | None = None,
    **overrides: Any,
) -> TaskClient:
    """A ``TaskClient`` for a connection of ``connections.toml`` (like the ``snow`` CLI).

        >>> client = connect(base_url="http://127.0.0.1:8080", token="local-token",
        ...                  database="demo", schema="public")
        >>> client.database, client.auth
        ('DEMO', PatAuth(token=***))

    ``connection`` names a connection (default: as the Snowflake CLI picks it). Overrides
    are connection keys (``base_url``, ``token``, ``authenticator``, ``account``, ``user``,
    ``private_key_file``, ``private_key_passphrase``, ``role``, ``warehouse``, ``host``, ...)
    or client options (``timeout``, ``transport``, ``retry``, ``deprecated_graph_paths``).
    With ``base_url``/``account``/``host`` and no ``connection`` the files are not read.
    """
    from ..config import build_auth, resolve_connection

    client_options = {k: overrides.pop(k) for k in list(overrides) if k in _CLIENT_OPTIONS}
    auth = overrides.pop("auth", None)
    conn = resolve_connection(connection, overrides=overrides)
    if auth is None:
        auth = build_auth(conn)
    assert conn.base_url is not None
    return TaskClient(
        conn.base_url,
        auth=auth,
        **{**call_scope(conn.database, conn.schema), **call_scope(database, schema)},
        role=conn.get("role"),
        warehouse=conn.get("warehouse"),
        **client_options,
    )
