"""Helpers shared by the client tests (a plain module: import it, never ``conftest``).

    >>> ok().status_code
    200
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from spec_validation import SpecValidatingTransport

from tasknb import PatAuth, RetryPolicy, TaskClient

BASE_URL = "https://myorg-acct.snowflakecomputing.com"
TOKEN = "pat-SECRET-token-0123456789"
FAST_RETRY = RetryPolicy(
    max_retries=3,
    backoff_base=0.01,
    backoff_cap=0.05,
    retry_after_cap=30.0,
    poll_initial=0.01,
    poll_cap=0.02,
    result_timeout=5.0,
)


def new_request_id() -> str:
    return str(uuid.uuid4())


def reply(
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    """A Snowflake-shaped response: JSON body and an X-Snowflake-Request-ID header."""
    all_headers = {"X-Snowflake-Request-ID": new_request_id(), **(headers or {})}
    if raw is not None:
        all_headers.setdefault("Content-Type", "application/json")
        return httpx.Response(status, headers=all_headers, content=raw)
    if body is None:
        return httpx.Response(status, headers=all_headers)
    return httpx.Response(status, headers=all_headers, json=body)


def ok(status_text: str = "Request successfully completed") -> httpx.Response:
    return reply(200, {"status": status_text})


def error(status: int, code: str, message: str, request_id: str | None = None) -> httpx.Response:
    rid = request_id or new_request_id()
    body = {"message": message, "code": code, "error_code": code, "request_id": rid}
    return reply(status, body, headers={"X-Snowflake-Request-ID": rid})


def task_body(name: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "definition": "select 1",
        "state": "suspended",
        "database_name": "DB",
        "schema_name": "S",
        "created_on": "2024-06-18T01:01:01.111111Z",
        "predecessors": [],
    }
    body.update(extra)
    return body


def run_body(root: str = "ROOT", **extra: Any) -> dict[str, Any]:
    body = {
        "root_task_name": root,
        "database_name": "DB",
        "schema_name": "S",
        "state": "SUCCEEDED",
        "scheduled_time": "2024-06-18T01:00:00Z",
        "query_start_time": "2024-06-18T01:00:01Z",
        "completed_time": "2024-06-18T01:00:09Z",
        "next_scheduled_time": "2024-06-18T02:00:00Z",
        "root_task_id": "01b0-root",
        "graph_version": 1,
        "run_id": 1718672400000,
    }
    body.update(extra)
    return body


#: Where the shared manual-clock server of a test module starts (the ``server`` fixture).
START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
_schema_numbers = itertools.count(1)


def fresh_schema() -> str:
    """A schema name no other test of this session uses (``s1``, ``s2``, ...)."""
    return f"s{next(_schema_numbers)}"


@dataclass
class Api:
    """A client over a scripted server; ``requests`` lists what reached the server."""

    handler: Callable[[httpx.Request], httpx.Response] | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    transport: SpecValidatingTransport | None = None

    def client(
        self,
        handler: Callable[[httpx.Request], httpx.Response],
        *,
        auth: httpx.Auth | None = None,
        allow_unparseable_bodies: bool = False,
        allow_empty_error_bodies: bool = False,
        allow_large_result_marker: bool = False,
        from_a_proxy: bool = False,
        **options: Any,
    ) -> TaskClient:
        """``from_a_proxy``: answers no Snowflake sends (a redirect from a proxy) skip the
        spec check, which only describes Snowflake's own answers."""
        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        transport: httpx.BaseTransport = httpx.MockTransport(record)
        if not from_a_proxy:
            transport = self.transport = SpecValidatingTransport(
                transport,
                allow_unparseable_bodies=allow_unparseable_bodies,
                allow_empty_error_bodies=allow_empty_error_bodies,
                allow_large_result_marker=allow_large_result_marker,
            )
        options.setdefault("database", "DB")
        options.setdefault("schema", "S")
        options.setdefault("retry", FAST_RETRY)
        return TaskClient(
            BASE_URL,
            auth=auth if auth is not None else PatAuth(TOKEN),
            transport=transport,
            sleep=self.sleeps.append,
            **options,
        )


def write_private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
