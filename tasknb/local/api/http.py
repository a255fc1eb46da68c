"""What every handler shares: the call it answers, the reply it returns, bodies and pages.

    >>> Reply({"status": "ok"}).status
    200
    >>> no_method("PATCH").status, no_endpoint("Nothing here.").code
    (405, '390404')

A handler is ``async def handler(call: Call) -> Reply``: ``call.params`` holds the decoded
path parameters of its route, ``call.query`` the query string, ``await call.json_body()`` the
body (limited to :data:`MAX_BODY_BYTES`; a larger one is a 400 ``390400``: no operation
documents 413), and ``await call.run(fn, ...)`` runs a service call in a worker thread, so
that the event loop keeps answering while it works.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.requests import Request

from tasknb.local import rules
from tasknb.local.api.auth import TokenGate
from tasknb.local.rules import ApiError, bad_request, parse_int
from tasknb.local.service import Service
from tasknb.local.service.bodies import encode_json

MAX_BODY_BYTES = 1024 * 1024
PAGE_SIZE = 1000  # lists longer than this are paged through /api/v2/results/<h>?page=N
INLINE_ROWS = 100  # longer lists are encoded in a worker thread, off the event loop
ACCEPTED_MESSAGE = ("Request execution in progress. Use the provided location header or result "
                    "handler ID to perform query monitoring and management.")


@dataclass
class Reply:
    """What a handler returns: status, JSON body, extra headers; ``content`` is the body
    already encoded as JSON (a stored page is sent as it was stored, never decoded)."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


@dataclass
class Call:
    """One request as a handler sees it (see the module docstring)."""

    service: Service
    request: Request
    method: str
    params: dict[str, str]
    query: dict[str, str]
    address: str  # the client's address (the failed-authentication limit counts per address)
    gate: TokenGate = field(repr=False)

    async def json_body(self, *, required: bool = True) -> Any:
        """The decoded JSON body; None when empty and not ``required``."""
        ctype = self.request.headers.get("content-type")
        if ctype and not ctype.lower().split(";")[0].strip().endswith("json"):
            raise ApiError(415, rules.UNSUPPORTED_MEDIA_TYPE,
                           f"Unsupported Content-Type {ctype!r}: send application/json.")
        length = self.request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise _too_large(f"is {int(length):,} bytes")
        chunks = []
        size = 0
        async for chunk in self.request.stream():
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
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"The request body is not valid JSON: {exc}.") from None
        except RecursionError:
            raise bad_request("The request body is nested too deeply.") from None
        rules.check_text(body)  # a lone surrogate is no text: refused at the door, naming the field
        return body

    @staticmethod
    async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a worker thread."""
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    def list_filters(self) -> dict[str, Any]:
        """The ``like``/``startsWith``/``fromName``/``showLimit`` filters of a listing."""
        q = self.query
        return {"like": q.get("like"), "starts_with": q.get("startsWith"),
                "from_name": q.get("fromName"),
                "show_limit": parse_int(q.get("showLimit"), "showLimit", None, 1,
                                        rules.MAX_SHOW_LIMIT)}

    async def paged(self, rows: list[Any]) -> Reply:
        """A list answer: over :data:`PAGE_SIZE` rows, page 0 inline and every page stored
        apart (each encoded once, in a worker thread), with
        ``Link: <.../results/<h>?page=N>; rel="first|next|last"`` as Snowflake sends it."""
        if len(rows) <= INLINE_ROWS:  # too small to be worth a thread
            return Reply(rows)
        return await self.run(lambda: self.paged_json([encode_json(row) for row in rows]))

    def paged_json(self, rows: list[str]) -> Reply:
        """:meth:`paged` of rows already encoded as JSON text (call it in a worker thread)."""
        from tasknb.local.api.results import list_pages  # the handler module of those pages

        pages = [("[" + ",".join(rows[i:i + PAGE_SIZE]) + "]").encode()
                 for i in range(0, max(1, len(rows)), PAGE_SIZE)]
        if len(pages) == 1:
            return Reply(None, content=pages[0])
        handle = list_pages(self.service).put(pages)
        base = f"/api/v2/results/{handle}"
        last = len(pages) - 1
        link = (f'<{base}?page=0>; rel="first",<{base}?page=1>; rel="next",'
                f'<{base}?page={last}>; rel="last"')
        return Reply(None, headers={"Link": link}, content=pages[0])

    async def accepted_done(self, body: Any) -> Reply:
        """A 202 whose result (``body``) is already available at its Location."""
        handle = str(uuid.uuid4())
        await self.run(self.service.store.put_result, handle, "done", 200, [encode_json(body)])
        return accepted(handle)


def status(text: str) -> Reply:
    """The ``{"status": text}`` answer of most actions."""
    return Reply({"status": text})


def accepted(handle: str) -> Reply:
    """A 202 pointing at a result handle."""
    return Reply({"code": rules.REQUEST_IN_PROGRESS, "message": ACCEPTED_MESSAGE,
                  "resultHandler": handle, "result_handler": handle}, 202,
                 headers={"Location": f"/api/v2/results/{handle}"})


def no_endpoint(message: str) -> ApiError:
    """A 404 for a path the local server does not implement (Snowflake's gateway sends an empty
    body there; the local server says what exists instead)."""
    return ApiError(404, rules.NO_SUCH_ENDPOINT, message)


def no_method(method: str) -> ApiError:
    """A 405 for a method an endpoint does not take."""
    return ApiError(405, rules.METHOD_NOT_ALLOWED,
                    f"Method {method} is not allowed on this endpoint.")


def _too_large(size: str) -> ApiError:
    """The refusal of an oversized body: a 400 (task.yaml documents no 413) naming both sizes."""
    return bad_request(f"The request body {size}; the local server accepts at most "
                       f"{MAX_BODY_BYTES:,} bytes (1 MiB). Send a smaller body (for example a "
                       "shorter definition or comment).")
