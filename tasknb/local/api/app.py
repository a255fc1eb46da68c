"""The HTTP API of the local server: Snowflake's /api/v2 paths over :class:`Service`.

    >>> app = create_app(service, token="s3cret")      # an ASGI app; server.py runs it
    >>> # GET /api/v2/databases/DB/schemas/S/tasks/T1  (Authorization: Bearer s3cret)

Routing reads the raw path so that percent-encoded names (``T%24A``, ``%22My%20Task%22``) are
decoded per segment and a ``:verb`` suffix is split off only when it is unencoded. Every answer
carries ``X-Snowflake-Request-ID``; errors carry ``{"code", "error_code", "message",
"request_id"}`` with a 6-digit code. Bodies are limited to :data:`MAX_BODY_BYTES` (a larger
one is a 400 ``390400``: no operation documents 413). Extension endpoints (same token)
live under ``/tasknb/v1``: ``GET clock``, ``POST clock:advance {"seconds": N}``,
``GET databases/{db}/schemas/{schema}/tasks/{name}/history`` (per-task runs) and
``.../graph-runs`` (every graph run of a root, no time window),
``POST databases/{db}/schemas/{schema}/tasks/{name}:enable-dependents``
(SYSTEM$TASK_DEPENDENTS_ENABLE), ``GET ping``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.requests import Request
from starlette.responses import Response

from tasknb.local import rules
from tasknb.local.api import auth
from tasknb.local.rules import ApiError, bad_request, parse_bool, parse_int
from tasknb.local.service import Service
from tasknb.local.service.bodies import to_api_time, to_db

MAX_BODY_BYTES = 1024 * 1024
PAGE_SIZE = 1000  # lists longer than this are paged through /api/v2/results/<h>?page=N
RESULT_RETENTION = timedelta(hours=1)
MAX_ADVANCE_SECONDS = 366 * 86_400
ACCEPTED_MESSAGE = ("Request execution in progress. Use the provided location header or result "
                    "handler ID to perform query monitoring and management.")
TASK_VERBS = ("execute", "resume", "suspend", "set-tags", "unset-tags", "get-tags")
TASK_SUBRESOURCES = ("dependents", "current-graphs", "current_graphs", "complete-graphs",
                     "complete_graphs")

log = logging.getLogger("tasknb.local")


class _Reply:
    """What a handler returns: status, JSON body, extra headers."""

    def __init__(self, body: Any, status: int = 200, headers: dict[str, str] | None = None,
                 paged: bool = False) -> None:
        self.body = body
        self.status = status
        self.headers = headers or {}
        self.paged = paged


def _split_item(segment: str) -> tuple[str, str | None]:
    """``T%24A:resume`` -> (``T$A``, ``resume``); an encoded colon stays in the name."""
    if ":" in segment:
        head, _, verb = segment.rpartition(":")
        if head:
            return unquote(head), verb
    return unquote(segment), None


class LocalApp:
    """The ASGI application; see the module docstring."""

    def __init__(self, service: Service, token: str) -> None:
        self.service = service
        self._token = token

    def __repr__(self) -> str:  # never show the token
        return f"LocalApp(data_dir={str(self.service.data_dir)!r})"

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        try:
            reply = await self._handle(request, scope)
        except ApiError as exc:
            reply = _Reply({"code": exc.code, "error_code": exc.code, "message": exc.message,
                            "request_id": request_id}, exc.status)
        except Exception as exc:
            log.exception("unexpected error answering %s %s", request.method, scope.get("path"))
            reply = _Reply({"code": "000000", "error_code": "000000",
                            "message": f"Internal error in the local server ({type(exc).__name__})"
                                       "; see the server log.", "request_id": request_id}, 500)
        headers = {"X-Snowflake-Request-ID": request_id, **reply.headers}
        content = json.dumps(reply.body, separators=(",", ":")).encode()
        response = Response(content, status_code=reply.status, headers=headers,
                            media_type="application/json")
        await response(scope, receive, send)

    # --- plumbing ------------------------------------------------------------------------------
    async def _handle(self, request: Request, scope: dict[str, Any]) -> _Reply:
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        parts = [p for p in path.split("/")][1:]
        if parts and parts[-1] == "":
            parts = parts[:-1]
        method = request.method
        if parts[:2] == ["session", "v1"] or parts[:1] in (["session"], ["queries"],
                                                            ["telemetry"]):
            return await self._session(request, parts, method)
        if not auth.token_matches(request.headers.get("authorization"), self._token):
            raise ApiError(401, rules.UNAUTHORIZED,
                           "Authentication failed: send the local server's token as "
                           "'Authorization: Bearer <token>' or 'Authorization: Snowflake "
                           "Token=\"<token>\"' (tasknb.local.start() returns it as .token; "
                           "`tasknb server` prints it).")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
        if parts[:2] == ["api", "v2"]:
            return await self._api(request, parts[2:], method, query)
        if parts[:2] == ["tasknb", "v1"]:
            return await self._extension(request, parts[2:], method, query)
        raise _no_endpoint(f"No endpoint at {path}. The local server answers /api/v2/... "
                           "(Snowflake REST API) and /tasknb/v1/... .")

    async def _json_body(self, request: Request, *, required: bool = True) -> Any:
        ctype = request.headers.get("content-type")
        if ctype and not ctype.lower().split(";")[0].strip().endswith("json"):
            raise ApiError(415, rules.UNSUPPORTED_MEDIA_TYPE,
                           f"Unsupported Content-Type {ctype!r}: send application/json.")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise _too_large(f"is {int(length):,} bytes")
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _too_large(f"has more than {MAX_BODY_BYTES:,} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            if required:
                raise bad_request("The request body is empty; send a JSON document.")
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"The request body is not valid JSON: {exc}.") from None
        except RecursionError:
            raise bad_request("The request body is nested too deeply.") from None

    @staticmethod
    async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    def _status(self, text: str) -> _Reply:
        return _Reply({"status": text})

    def _list(self, rows: list[Any]) -> _Reply:
        if len(rows) <= PAGE_SIZE:
            return _Reply(rows)
        pages = [rows[i:i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)]
        handle = str(uuid.uuid4())
        now = self.service.now()
        self.service.store.put_result(handle, "done", 200, pages[0], to_db(now), pages=pages)
        base = f"/api/v2/results/{handle}"
        last = len(pages) - 1
        link = (f'<{base}?page=0>; rel="first",<{base}?page=1>; rel="next",'
                f'<{base}?page={last}>; rel="last"')
        return _Reply(pages[0], headers={"Link": link})

    # --- connector compatibility (snowflake-core) ----------------------------------------------
    async def _session(self, request: Request, parts: list[str], method: str) -> _Reply:
        if method != "POST":
            raise ApiError(405, rules.METHOD_NOT_ALLOWED, "Use POST for the session endpoints.")
        if parts == ["session", "v1", "login-request"]:
            body = await self._json_body(request, required=False)
            if not auth.login_secret_matches(body, self._token):
                return _Reply({"success": False, "code": "390100", "data": None,
                               "message": "Incorrect username or password was specified. "
                                          "Use the local server's token as the password or "
                                          "token."})
            return _Reply({"success": True, "code": None, "message": None, "data": {
                "token": self._token, "masterToken": self._token, "sessionId": 1,
                "parameters": [], "sessionInfo": {"databaseName": None, "schemaName": None,
                                                  "warehouseName": None, "roleName": "ACCOUNTADMIN"},
            }})
        if not auth.token_matches(request.headers.get("authorization"), self._token):
            raise ApiError(401, rules.UNAUTHORIZED, "Authentication failed: session token "
                           "missing or not this server's.")
        if parts == ["session", "token-request"]:
            return _Reply({"success": True, "data": {"sessionToken": self._token,
                                                     "masterToken": self._token,
                                                     "sessionId": 1}})
        if parts == ["session"] or parts == ["telemetry", "send"]:
            return _Reply({"success": True, "data": None, "code": None, "message": None})
        if parts == ["queries", "v1", "query-request"]:
            return _Reply({"success": True, "code": None, "message": None, "data": {
                "queryId": str(uuid.uuid4()), "queryResultFormat": "json", "parameters": [],
                "rowtype": [{"name": "SYSTEM$CLIENT_VERSION_INFO()", "type": "text",
                             "nullable": True, "length": 16777216, "precision": None,
                             "scale": None, "byteLength": 16777216}],
                "rowset": [["[]"]], "total": 1, "returned": 1, "statementTypeId": 4096,
                "finalDatabaseName": None, "finalSchemaName": None, "finalWarehouseName": None,
                "finalRoleName": "ACCOUNTADMIN"}})
        raise _no_endpoint("No such session endpoint on the local server.")

    # --- /api/v2 -------------------------------------------------------------------------------
    async def _api(self, request: Request, parts: list[str], method: str,
                   q: dict[str, str]) -> _Reply:
        svc = self.service
        n = len(parts)
        if n >= 1 and parts[0] == "results":
            if n == 2 and method == "GET":
                return self._result(unquote(parts[1]), q)
            raise self._no_route(method)
        if not parts or parts[0] != "databases":
            raise _no_endpoint("The local server implements databases, schemas, tasks and "
                               "results under /api/v2.")
        listing = {"like": q.get("like"), "starts_with": q.get("startsWith"),
                   "from_name": q.get("fromName"),
                   "show_limit": parse_int(q.get("showLimit"), "showLimit", None, 1,
                                           rules.MAX_SHOW_LIMIT)} if method == "GET" else {}
        if n == 1:
            if method == "GET":
                parse_bool(q.get("history"), "history", False)  # nothing dropped is kept
                return self._list(svc.list_databases(**listing))
            if method == "POST":
                body = await self._json_body(request)
                return self._status(await self._call(svc.create_database, body,
                                                     q.get("createMode")))
            raise self._no_route(method)
        db = unquote(parts[1])
        if n == 2:
            if method == "GET":
                return _Reply(svc.fetch_database(db))
            if method == "PUT":
                body = await self._json_body(request)
                return self._status(await self._call(svc.create_or_alter_database, db, body))
            if method == "DELETE":
                if_exists = parse_bool(q.get("ifExists"), "ifExists", False)
                parse_bool(q.get("restrict"), "restrict", False)
                return self._status(await self._call(svc.delete_database, db, if_exists))
            raise self._no_route(method)
        if parts[2] != "schemas":
            raise _no_endpoint("Unknown path under /api/v2/databases/{database}.")
        if n == 3:
            if method == "GET":
                parse_bool(q.get("history"), "history", False)  # nothing dropped is kept
                return self._list(svc.list_schemas(db, **listing))
            if method == "POST":
                body = await self._json_body(request)
                return self._status(await self._call(svc.create_schema, db, body,
                                                     q.get("createMode")))
            raise self._no_route(method)
        sc = unquote(parts[3])
        if n == 4:
            if method == "GET":
                return _Reply(svc.fetch_schema(db, sc))
            if method == "PUT":
                body = await self._json_body(request)
                return self._status(await self._call(svc.create_or_alter_schema, db, sc, body))
            if method == "DELETE":
                if_exists = parse_bool(q.get("ifExists"), "ifExists", False)
                parse_bool(q.get("restrict"), "restrict", False)
                return self._status(await self._call(svc.delete_schema, db, sc, if_exists))
            raise self._no_route(method)
        if parts[4] != "tasks":
            raise _no_endpoint("The local server implements tasks only inside a schema.")
        if n == 5:
            if method == "GET":
                root_only = parse_bool(q.get("rootOnly"), "rootOnly", False)
                return self._list(svc.list_tasks(db, sc, root_only=root_only, **listing))
            if method == "POST":
                body = await self._json_body(request)
                return self._status(await self._call(svc.create_task, db, sc, body,
                                                     q.get("createMode")))
            raise self._no_route(method)
        name, verb = _split_item(parts[5])
        if n == 6 and verb is None:
            if method == "GET":
                return _Reply(svc.fetch_task(db, sc, name))
            if method == "PUT":
                body = await self._json_body(request)
                return self._status(await self._call(svc.create_or_alter_task, db, sc, name,
                                                     body))
            if method == "DELETE":
                if_exists = parse_bool(q.get("ifExists"), "ifExists", False)
                return self._status(await self._call(svc.delete_task, db, sc, name, if_exists))
            raise self._no_route(method)
        if n == 6:
            return await self._task_verb(request, method, db, sc, name, verb or "", q)
        if n == 7 and verb is None and parts[6] in TASK_SUBRESOURCES:
            if method != "GET":
                raise self._no_route(method)
            sub = parts[6].replace("_", "-")
            if sub == "dependents":
                recursive = parse_bool(q.get("recursive"), "recursive", True)
                return self._list(svc.dependents(db, sc, name, recursive))
            limit = parse_int(q.get("resultLimit"), "resultLimit", rules.DEFAULT_RESULT_LIMIT,
                              1, rules.MAX_RESULT_LIMIT) or rules.DEFAULT_RESULT_LIMIT
            if sub == "current-graphs":
                return self._list(svc.current_graphs(db, sc, name, limit))
            error_only = parse_bool(q.get("errorOnly"), "errorOnly", False)
            return self._list(await self._call(svc.complete_graphs, db, sc, name, limit,
                                               error_only))
        raise _no_endpoint("Unknown task endpoint.")

    async def _task_verb(self, request: Request, method: str, db: str, sc: str, name: str,
                         verb: str, q: dict[str, str]) -> _Reply:
        svc = self.service
        if verb not in TASK_VERBS:
            raise _no_endpoint(f"Unknown task action :{verb}. Known: "
                               + ", ".join(":" + v for v in TASK_VERBS) + ".")
        expected = "GET" if verb == "get-tags" else "POST"
        if method != expected:
            raise self._no_route(method)
        if verb == "get-tags":
            parse_bool(q.get("withLineage"), "withLineage", False)
            return self._list(svc.get_tags(db, sc, name))
        if verb in ("set-tags", "unset-tags"):
            if_exists = parse_bool(q.get("ifExists"), "ifExists", False)
            body = await self._json_body(request)
            fn = svc.set_tags if verb == "set-tags" else svc.unset_tags
            return self._status(await self._call(fn, db, sc, name, body, if_exists))
        if verb == "resume":
            return self._status(await self._call(svc.resume_task, db, sc, name))
        if verb == "suspend":
            return self._status(await self._call(svc.suspend_task, db, sc, name))
        retry_last = parse_bool(q.get("retryLast"), "retryLast", False)
        async_exec = parse_bool(q.get("asyncExec"), "asyncExec", False)
        # EXECUTE only schedules the run, so it is answered at once; with asyncExec the answer
        # is a 202 whose result handle is ready immediately (refusals stay synchronous 4xx).
        run = await self._call(svc.execute_task, db, sc, name, retry_last=retry_last)
        if async_exec:
            return self._accepted_done({"status": _execute_status(run)})
        return self._status(_execute_status(run))

    def _accepted_done(self, body: Any) -> _Reply:
        """A 202 whose result (``body``) is already available at its Location."""
        handle = str(uuid.uuid4())
        self.service.store.put_result(handle, "done", 200, body, to_db(self.service.now()))
        return _Reply({"code": rules.REQUEST_IN_PROGRESS, "message": ACCEPTED_MESSAGE,
                       "resultHandler": handle, "result_handler": handle}, 202,
                      headers={"Location": f"/api/v2/results/{handle}"})

    def _result(self, handle: str, q: dict[str, str]) -> _Reply:
        try:
            uuid.UUID(handle)
        except ValueError:
            raise bad_request(f"Invalid resultHandler: {handle[:80]}") from None
        store = self.service.store
        store.delete_results_before(to_db(self.service.now() - RESULT_RETENTION))
        row = store.result(handle)
        if row is None:
            raise ApiError(404, rules.RESULT_NOT_FOUND, f"Result handle {handle} does not exist "
                           "or has expired (handles are kept for one hour).")
        if row["state"] != "done":
            return _Reply({"code": rules.REQUEST_IN_PROGRESS, "message": ACCEPTED_MESSAGE,
                           "resultHandler": handle, "result_handler": handle}, 202,
                          headers={"Location": f"/api/v2/results/{handle}"})
        pages = row["pages"]
        page = parse_int(q.get("page"), "page", 0, 0, max(0, len(pages) - 1) if pages else 0)
        if pages:
            return _Reply(pages[page or 0], int(row["status"] or 200))
        return _Reply(row["body"], int(row["status"] or 200))

    @staticmethod
    def _no_route(method: str) -> ApiError:
        return ApiError(405, rules.METHOD_NOT_ALLOWED,
                        f"Method {method} is not allowed on this endpoint.")

    # --- /tasknb/v1 ----------------------------------------------------------------------------
    async def _extension(self, request: Request, parts: list[str], method: str,
                         q: dict[str, str]) -> _Reply:
        svc = self.service
        if parts == ["ping"] and method == "GET":
            return _Reply({"status": "ok"})
        if parts == ["clock"] and method == "GET":
            return _Reply({"now": to_api_time(svc.now()),
                           "mode": "manual" if svc.manual else "real"})
        if parts == ["clock:advance"] and method == "POST":
            body = await self._json_body(request)
            seconds = body.get("seconds") if isinstance(body, dict) else None
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                    or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
                raise bad_request('Send {"seconds": N} with N a number of seconds between 0 and '
                                  f"{MAX_ADVANCE_SECONDS:,} (366 days).")
            runs = await self._call(svc.advance, timedelta(seconds=seconds))
            return _Reply({"now": to_api_time(svc.now()), "runs": runs})
        if (len(parts) == 6 and parts[0] == "databases" and parts[2] == "schemas"
                and parts[4] == "tasks" and method == "POST"):
            name, verb = _split_item(parts[5])
            if verb == "enable-dependents":
                resumed = await self._call(svc.enable_dependents, unquote(parts[1]),
                                           unquote(parts[3]), name)
                return _Reply({"status": "Statement executed successfully.",
                               "resumed": [rules.render_identifier(n) for n in resumed]})
        if (len(parts) == 7 and parts[0] == "databases" and parts[2] == "schemas"
                and parts[4] == "tasks" and parts[6] in ("history", "graph-runs")
                and method == "GET"):
            db, sc, name = unquote(parts[1]), unquote(parts[3]), unquote(parts[5])
            from tasknb.local.service import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT

            limit = parse_int(q.get("limit"), "limit", DEFAULT_HISTORY_LIMIT, 1,
                              MAX_HISTORY_LIMIT) or DEFAULT_HISTORY_LIMIT
            if parts[6] == "history":
                return _Reply(await self._call(svc.task_history, db, sc, name, limit))
            return _Reply(await self._call(svc.graph_runs, db, sc, name, limit))
        raise _no_endpoint("Unknown tasknb extension endpoint. Known: GET /tasknb/v1/clock, "
                           "POST /tasknb/v1/clock:advance, GET /tasknb/v1/databases/{db}/schemas/"
                           "{schema}/tasks/{name}/history.")


def _no_endpoint(message: str) -> ApiError:
    """A 404 for a path the local server does not implement (Snowflake's gateway sends an empty
    body there; the local server says what exists instead)."""
    return ApiError(404, rules.NO_SUCH_ENDPOINT, message)


def _too_large(size: str) -> ApiError:
    """The refusal of an oversized body: a 400 (task.yaml documents no 413) naming both sizes."""
    return bad_request(f"The request body {size}; the local server accepts at most "
                       f"{MAX_BODY_BYTES:,} bytes (1 MiB). Send a smaller body (for example a "
                       "shorter definition or comment).")


def _execute_status(run: dict[str, Any] | None) -> str:
    if run is None:
        return ("Task execution queued: a run of this graph is in progress; the new run starts "
                "when it finishes.")
    return f"Task execution started (run_id {run['run_id']})."


def create_app(service: Service, token: str) -> LocalApp:
    """The ASGI app for a service and its token."""
    return LocalApp(service, token)
