"""The HTTP API of the local server: Snowflake's /api/v2 paths over :class:`Service`.

``create_app(service, token)`` is the ASGI app that server.py runs. For each request it finds
the route (:mod:`tasknb.local.api.routes`), checks the token (:mod:`tasknb.local.api.auth`;
failed attempts are rate-limited per client address), calls the route's handler and writes
its reply as JSON. Every answer carries ``X-Snowflake-Request-ID``; errors carry
``{"code", "error_code", "message", "request_id"}`` with a 6-digit code, and an unexpected
error is a logged 500 that names only the exception type.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from tasknb.local.api import auth
from tasknb.local.api.http import Call, Reply, no_method
from tasknb.local.api.routes import ROUTES, is_session_path, match, unmatched
from tasknb.local.rules import ApiError
from tasknb.local.service import Service

log = logging.getLogger("tasknb.local")

UNAUTHORIZED_MESSAGE = ("Authentication failed: send the local server's token as "
                        "'Authorization: Bearer <token>' or 'Authorization: Snowflake "
                        f"Token=\"<token>\"' ({auth.TOKEN_HINT}).")
SESSION_UNAUTHORIZED_MESSAGE = ("Authentication failed: session token missing or not this "
                                "server's.")
UNKNOWN_ADDRESS = "unknown"


class LocalApp:
    """The ASGI application; see the module docstring."""

    def __init__(self, service: Service, gate: auth.TokenGate) -> None:
        self.service = service
        self._gate = gate

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
            reply = Reply({"code": exc.code, "error_code": exc.code, "message": exc.message,
                           "request_id": request_id}, exc.status,
                          headers=dict(getattr(exc, "headers", {})))
        except Exception as exc:
            log.exception("unexpected error answering %s %s", request.method, scope.get("path"))
            reply = Reply({"code": "000000", "error_code": "000000",
                           "message": f"Internal error in the local server ({type(exc).__name__})"
                                      "; see the server log.", "request_id": request_id}, 500)
        headers = {"X-Snowflake-Request-ID": request_id, **reply.headers}
        content = reply.content
        if content is None:
            content = json.dumps(reply.body, separators=(",", ":")).encode()
        response = Response(content, status_code=reply.status, headers=headers,
                            media_type="application/json")
        await response(scope, receive, send)

    async def _handle(self, request: Request, scope: dict[str, Any]) -> Reply:
        raw = scope.get("raw_path") or scope["path"].encode()
        parts = raw.decode("latin-1").split("?", 1)[0].split("/")[1:]
        if parts and parts[-1] == "":
            parts = parts[:-1]
        client = scope.get("client")
        address = client[0] if client else UNKNOWN_ADDRESS
        found = match(ROUTES, parts)
        if found is None or not found[0].public:
            message = (SESSION_UNAUTHORIZED_MESSAGE if is_session_path(parts)
                       else UNAUTHORIZED_MESSAGE)
            self._gate.require(request.headers.get("authorization"), address, message)
        if found is None:
            raise unmatched(request.method, parts)
        route, params = found
        handler = route.handlers.get(request.method)
        if handler is None:
            raise no_method(request.method)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
        return await handler(Call(self.service, request, request.method, params, query,
                                  address, self._gate))


def create_app(service: Service, token: str, *,
               limit: auth.FailedAuthLimit | None = None) -> LocalApp:
    """The ASGI app for a service and its token (``limit``: the failed-authentication limit)."""
    return LocalApp(service, auth.TokenGate(token, limit))
