"""An httpx transport that checks every request and response against the official spec.

    transport = SpecValidatingTransport(httpx.MockTransport(handler))
    client = TaskClient("https://myorg-acct.snowflakecomputing.com", auth=..., transport=transport)

It wraps any inner transport (a ``MockTransport`` for faults, ``httpx.HTTPTransport`` for the
local server over loopback) and validates with openapi-core against
``tests/specs/snowflake-rest-api/`` (task.yaml for the Task paths, result.yaml for
``/api/v2/results/{handle}``, sqlapi.yaml for ``/api/v2/statements...``). A violation raises ``SpecViolation`` (an ``AssertionError``,
which the client's retry loop never catches) and is recorded in ``violations``.

Beyond openapi-core it checks what openapi-core does not: no query parameter the operation
does not declare, booleans spelled ``true``/``false``, ``Accept``/``Content-Type``,
``Authorization: Bearer`` with a known token type, and that a path segment holds no raw
``:`` (names must be percent-encoded). A page or a 202 result fetched from the results
endpoint is also validated against the response schema of the operation that produced it.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

#: The repository's own copy of the official specifications (tests/specs/snowflake-rest-api/README.md)
SPEC_DIR = Path(__file__).resolve().parent / "specs" / "snowflake-rest-api"
SPEC_SERVER = "https://org-account.snowflakecomputing.com"
# the spec's only server is a placeholder account; these let real targets match too
EXTRA_SERVERS = [
    {
        "url": "https://{account}.snowflakecomputing.com",
        "variables": {"account": {"default": "org-account"}},
    },
    {"url": "http://127.0.0.1:{port}", "variables": {"port": {"default": "8080"}}},
    {"url": "http://localhost:{port}", "variables": {"port": {"default": "8080"}}},
]
TOKEN_TYPES = {"KEYPAIR_JWT", "OAUTH", "PROGRAMMATIC_ACCESS_TOKEN"}
#: (key, file) of every spec validated; sqlapi.yaml declares its parameters per path item
SPECS = (("task", "task.yaml"), ("result", "result.yaml"), ("sql", "sqlapi.yaml"),
         ("database", "database.yaml"), ("schema", "schema.yaml"))
RESULTS_PREFIX = "/api/v2/results/"
IDENTIFIER = re.compile(r'"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*', re.DOTALL)


_WARNINGS_LOCK = threading.Lock()


class SpecViolation(AssertionError):
    """A request or response that the official spec does not allow."""


@dataclass(frozen=True)
class Operation:
    spec: str  # "task", "result" or "sql"
    method: str
    pattern: str  # e.g. /api/v2/databases/{database}/schemas/{schema}/tasks/{name}:execute
    regex: re.Pattern[str]
    operation_id: str
    query_params: frozenset[str]
    bool_params: frozenset[str]


def _load_yaml(name: str) -> dict[str, Any]:
    path = SPEC_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"the official spec is expected at {path}: tests/specs/ is part of the repository"
        )
    return yaml.safe_load(path.read_text())


@cache
def _apps() -> dict[str, OpenAPI]:
    apps = {}
    for key, name in SPECS:
        data = copy.deepcopy(_load_yaml(name))
        data["servers"] = list(data.get("servers", [])) + EXTRA_SERVERS
        apps[key] = OpenAPI.from_dict(data, base_uri=(SPEC_DIR / name).as_uri())
    return apps


def _resolve_param(
    param: dict[str, Any], common: dict[str, Any], own: dict[str, Any] | None = None
) -> dict[str, Any]:
    ref = param.get("$ref")
    if ref:
        # "#/components/..." is the spec's own (sqlapi.yaml); "common.yaml#/..." the shared one
        source = own if own is not None and ref.startswith("#") else common
        return source["components"]["parameters"][ref.rsplit("/", 1)[-1]]
    return param


def _schema_type(param: dict[str, Any]) -> str | None:
    return (param.get("schema") or {}).get("type")


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the specs in :data:`SPECS`, with a regex for its concrete paths."""
    common = _load_yaml("common.yaml")
    found = []
    for key, name in SPECS:
        own = _load_yaml(name)
        for pattern, item in own["paths"].items():
            regex = re.compile(
                "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/:]+)", re.escape(pattern)) + "$"
            )
            for method, op in item.items():
                if method not in {"get", "post", "put", "delete", "patch"}:
                    continue
                declared = item.get("parameters", []) + op.get("parameters", [])
                params = [_resolve_param(p, common, own) for p in declared]
                query = [p for p in params if p.get("in") == "query"]
                found.append(
                    Operation(
                        spec=key,
                        method=method,
                        pattern=pattern,
                        regex=regex,
                        operation_id=op["operationId"],
                        query_params=frozenset(p["name"] for p in query),
                        bool_params=frozenset(
                            p["name"] for p in query if _schema_type(p) == "boolean"
                        ),
                    )
                )
    return tuple(found)


def operation_ids() -> set[str]:
    return {op.operation_id for op in operations()}


def match_operation(method: str, path: str) -> tuple[Operation, dict[str, str]]:
    for op in operations():
        if op.method != method.lower():
            continue
        m = op.regex.match(path)
        if m:
            return op, {k: unquote(v) for k, v in m.groupdict().items()}
    raise SpecViolation(f"{method} {path} is not an operation of the spec")


class _SpecRequest:
    """openapi-core's Request protocol over an ``httpx.Request``."""

    def __init__(
        self,
        op: Operation,
        path_params: dict[str, str],
        query: list[tuple[str, str]],
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        content_type: str,
        host_url: str = SPEC_SERVER,
    ) -> None:
        self.host_url = host_url
        self.path = op.pattern
        self.path_pattern = op.pattern
        self.method = op.method
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(
            path=path_params,
            query=ImmutableMultiDict(query),
            header=Headers(list(headers)),
            cookie=ImmutableMultiDict(),
        )


class _SpecResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("content-type", "application/json")
        self.data = response.content


class SpecValidatingTransport(httpx.BaseTransport):
    """Wraps ``inner``; validates each exchange; raises ``SpecViolation`` on the first fault.

    ``allow_unparseable_bodies`` lets a fault test send a truncated JSON body on purpose
    (the client must then raise ``InvalidResponse``); ``allow_empty_error_bodies`` lets a
    test send a 404/405 with no body, as a real gateway does for an unknown route.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        allow_unparseable_bodies: bool = False,
        allow_empty_error_bodies: bool = False,
        allow_large_result_marker: bool = False,
    ) -> None:
        self.inner = inner
        self.allow_large_result_marker = allow_large_result_marker
        self.allow_unparseable_bodies = allow_unparseable_bodies
        self.allow_empty_error_bodies = allow_empty_error_bodies
        self.violations: list[str] = []
        self.exchanges: list[tuple[str, str, int]] = []  # (method, operationId, status)
        self._origins: dict[str, tuple[_SpecRequest, Operation]] = {}
        self._lock = threading.Lock()

    # -- checks ---------------------------------------------------------------------------

    def _fail(self, message: str) -> None:
        with self._lock:
            self.violations.append(message)
        raise SpecViolation(message)

    def _check_request(self, request: httpx.Request) -> tuple[_SpecRequest, Operation]:
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        method = request.method
        try:
            op, path_params = match_operation(method, raw_path)
        except SpecViolation as exc:
            self._fail(str(exc))
        query = parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True)
        where = f"{method} {raw_path}"
        for key in ("database", "schema", "name"):
            # the spec's pattern is unanchored on its second branch ("my-task" passes it);
            # the intended rule (and snowflake-core's) is a full match
            if key in path_params and not IDENTIFIER.fullmatch(path_params[key]):
                self._fail(
                    f"{where}: path parameter {key}={path_params[key]!r} does not match "
                    "the Identifier pattern as a whole"
                )
        for key, value in query:
            if key not in op.query_params:
                self._fail(
                    f"{where}: query parameter {key!r} is not declared by {op.operation_id} "
                    f"(declared: {sorted(op.query_params)})"
                )
            if key in op.bool_params and value not in {"true", "false"}:
                self._fail(f"{where}: boolean {key}={value!r} must be spelled true or false")
        headers = request.headers
        if headers.get("accept") != "application/json":
            self._fail(f"{where}: Accept must be application/json, got {headers.get('accept')!r}")
        body = request.content or None
        content_type = headers.get("content-type", "")
        if body is not None and content_type != "application/json":
            self._fail(f"{where}: a body needs Content-Type: application/json")
        if body is None and content_type:
            self._fail(f"{where}: Content-Type sent without a body")
        auth = headers.get("authorization")
        if auth is not None:
            if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
                self._fail(f"{where}: Authorization must be 'Bearer <token>'")
            kind = headers.get("x-snowflake-authorization-token-type")
            if kind is not None and kind not in TOKEN_TYPES:
                self._fail(f"{where}: unknown token type {kind!r}")
        spec_request = _SpecRequest(
            op,
            path_params,
            query,
            headers.items(),
            body,
            content_type or "application/json",
            host_url=f"{request.url.scheme}://{request.url.netloc.decode('ascii')}",
        )
        self._validate(lambda: _apps()[op.spec].validate_request(spec_request), where)
        return spec_request, op

    def _validate(self, call: Any, where: str) -> None:
        try:
            # catch_warnings swaps process-wide filters: one validation at a time, or a client
            # fetching partitions in threads would validate with another thread's filters
            with _WARNINGS_LOCK, warnings.catch_warnings():
                # openapi-core warns that it cannot check the oauth2 scheme; not our concern
                warnings.filterwarnings("ignore", message="Unsupported scheme type")
                # sqlapi.yaml's parameters use allowEmptyValue, which openapi-core deprecates
                warnings.filterwarnings("ignore", message="Use of allowEmptyValue")
                call()
        except SpecViolation:
            raise
        except Exception as exc:  # noqa: BLE001 - any validation failure is a violation
            cause = exc.__cause__ or exc.__context__
            detail = f"{type(exc).__name__}: {exc}" + (f" <- {cause}" if cause else "")
            self._fail(f"{where}: {detail}")

    def _check_response(
        self,
        request: httpx.Request,
        spec_request: _SpecRequest,
        op: Operation,
        response: httpx.Response,
    ) -> None:
        where = f"{request.method} {request.url.raw_path.decode()} -> {response.status_code}"
        body = response.content
        if body.strip():
            try:
                decoded = json.loads(body)
            except ValueError:
                if self.allow_unparseable_bodies:
                    return
                self._fail(f"{where}: the body is not JSON")
            if self.allow_large_result_marker and _is_marker(decoded):
                # snowflake-core's "Large result set" body (task-semantics §12.6), which the
                # spec does not describe; the pages it points to are validated as the op's
                handle = decoded["result_handler"]
                with self._lock:
                    self._origins[handle] = (spec_request, op)
                return
        elif response.status_code >= 400 and self.allow_empty_error_bodies:
            return
        spec_response = _SpecResponse(response)
        self._validate(
            lambda: _apps()[op.spec].validate_response(spec_request, spec_response), where
        )
        # pages and 202 results: remember where they came from, validate them as that op
        origin = (spec_request, op)
        if op.spec == "result":
            handle = spec_request.parameters.path["result_handler"]
            origin = self._origins.get(handle, origin)
            if response.status_code == 200 and origin[1].spec == "task":
                origin_request, origin_op = origin
                self._validate(
                    lambda: _apps()["task"].validate_response(origin_request, spec_response),
                    f"{where} (as the answer of {origin_op.operation_id})",
                )
        for url in _linked_urls(response):
            path = urlsplit(url).path
            if path.startswith(RESULTS_PREFIX):
                with self._lock:
                    self._origins[unquote(path[len(RESULTS_PREFIX) :])] = origin

    # -- transport ------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        spec_request, op = self._check_request(request)
        response = self.inner.handle_request(request)
        try:
            content = response.read()
        finally:
            response.close()
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in {"content-encoding", "transfer-encoding", "content-length"}
        ]
        rebuilt = httpx.Response(
            response.status_code,
            headers=headers,
            content=content,
            request=request,
            extensions=response.extensions,
        )
        with self._lock:
            self.exchanges.append((request.method, op.operation_id, response.status_code))
        self._check_response(request, spec_request, op, rebuilt)
        return rebuilt

    def close(self) -> None:
        self.inner.close()

    def assert_clean(self) -> None:
        if self.violations:
            raise SpecViolation("; ".join(self.violations))


def _is_marker(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"result_handler", "message"}
        and "large result set" in str(body["message"]).lower()
    )


def _linked_urls(response: httpx.Response) -> list[str]:
    urls = []
    location = response.headers.get("location")
    if location:
        urls.append(location)
    link = response.headers.get("link")
    if link:
        urls.extend(re.findall(r"<([^>]*)>", link))
    return urls
