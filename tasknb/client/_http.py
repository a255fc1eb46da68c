"""The one request core under the client: retries, 202 polling, paging, error mapping.

    >>> RetryPolicy().max_retries
    4

Rules (each a named constant below):

* **Retries** use capped exponential backoff with full jitter
  (``uniform(0, min(cap, base * 2**attempt))``); a ``Retry-After`` header (seconds or an
  HTTP date) replaces the computed wait, capped at ``RETRY_AFTER_CAP``.
* **What is retried.** A connection that could not be opened (``ConnectError``,
  ``ConnectTimeout``, ``PoolTimeout``) never reached the server: always retried. ``429``
  means the server refused the request without doing anything: always retried.
  Read/write failures after sending, ``408``, ``503`` and ``504`` are retried only for
  requests that are safe to repeat (``GET``, ``PUT`` create-or-alter, ``DELETE``).
  A request that is not safe to repeat (``POST`` create, ``:execute``, ``:resume``,
  ``:suspend``, ``:set-tags``, ``:unset-tags``) is never resent once it may have reached the
  server: the error says so and how to check (``RequestMayHaveBeenApplied``).
* **202 Accepted**: ``Location`` (``/api/v2/results/<handle>``) is polled with GET and
  backoff until a final answer or ``result_timeout``; with ``wait=False`` the caller gets
  the handle instead.
* **Paging**: a ``Link`` with ``rel="last"`` and ``?page=N`` URLs (Snowflake's, sent on the
  first answer only) is walked page by page up to the last; a ``Link`` with only
  ``rel="next"`` is followed link by link; an answer whose pages cannot all be accounted for
  raises ``InvalidResponse`` instead of returning part of the rows; a
  ``{"result_handler": ..., "message": "Large result set..."}`` body fetches the pages from
  the results endpoint.
* **Errors** map to ``tasknb.errors`` with status, code, message and request id.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

try:  # orjson decodes 2-3x faster than json (its errors are ValueErrors too)
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency; json keeps it working without
    _loads = json.loads

from .._version import __version__ as _version
from ..errors import (
    ApiError,
    InvalidResponse,
    Redirected,
    RequestMayHaveBeenApplied,
    ResultTimeout,
    TaskAlreadyExists,
    TasknbError,
    TaskNotFound,
    TransportError,
    error_for_status,
)

logger = logging.getLogger("tasknb.http")
T = TypeVar("T")

API_PREFIX = "/api/v2"
USER_AGENT = f"tasknb/{_version}"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds to open a connection
DEFAULT_READ_TIMEOUT = 60.0  # Snowflake answers 202 after ~45 s, so a read may take that long
DEFAULT_WRITE_TIMEOUT = 30.0
DEFAULT_POOL_TIMEOUT = 10.0
DEFAULT_TIMEOUT = httpx.Timeout(
    DEFAULT_READ_TIMEOUT,
    connect=DEFAULT_CONNECT_TIMEOUT,
    write=DEFAULT_WRITE_TIMEOUT,
    pool=DEFAULT_POOL_TIMEOUT,
)
DEFAULT_MAX_RETRIES = 4  # resends after the first attempt
DEFAULT_BACKOFF_BASE = 0.5  # seconds; the first retry waits up to this long
DEFAULT_BACKOFF_CAP = 8.0  # seconds; no single computed wait is longer
RETRY_AFTER_CAP = 60.0  # seconds; a longer Retry-After is shortened to this
DEFAULT_RESULT_TIMEOUT = 600.0  # seconds to wait for a 202 to finish (as snowflake-core)
DEFAULT_POLL_INITIAL = 0.5  # seconds before the first poll of a 202
DEFAULT_POLL_FACTOR = 1.5
DEFAULT_POLL_CAP = 5.0  # seconds between polls at most
DEFAULT_MAX_PAGES = 10_000  # a guard against a server that links pages in a circle

RETRYABLE_STATUSES = frozenset({408, 429, 503, 504})
ALWAYS_RETRYABLE_STATUSES = frozenset({429})  # refused before any work: safe for every request
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_LARGE_RESULT = "large result set"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

        >>> RetryPolicy(max_retries=0).max_retries
        0

    ``sleep`` and ``rng`` are injectable so tests run without waiting.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    retry_after_cap: float = RETRY_AFTER_CAP
    poll_initial: float = DEFAULT_POLL_INITIAL
    poll_factor: float = DEFAULT_POLL_FACTOR
    poll_cap: float = DEFAULT_POLL_CAP
    result_timeout: float = DEFAULT_RESULT_TIMEOUT

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter wait before retry number ``attempt`` (0-based)."""
        return rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * (2**attempt)))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    >>> retry_after_seconds("3"), retry_after_seconds("soon")
    (3.0, None)
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _page_of(url: str) -> int | None:
    for key, val in parse_qsl(urlsplit(url).query):
        if key == "page" and val.isdigit():
            return int(val)
    return None


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "page"] + [("page", str(page))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def request_id_of(response: httpx.Response, body: Any = None) -> str | None:
    rid = response.headers.get("X-Snowflake-Request-ID")
    if not rid and isinstance(body, dict):
        rid = body.get("request_id")
    return str(rid) if rid else None


@dataclass
class Pending:
    """A request the server accepted (``202``) and is still running.

    ``location`` is the path to poll; ``handle`` the result handle; ``subject`` and
    ``idempotent`` are those of the request, for reading its final answer.
    """

    location: str
    handle: str | None
    request_id: str | None
    method: str
    path: str
    subject: str | None = None
    idempotent: bool = True


class HttpSession:
    """Sends the requests of one ``TaskClient`` over its ``httpx.Client``."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()

    @classmethod
    def open(
        cls,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> HttpSession:
        """A session over a new ``httpx.Client`` for ``base_url`` (JSON, no redirects followed).

            >>> session = HttpSession.open("http://127.0.0.1:8765", auth=None)
            >>> session.client.headers["Accept"], session.client.follow_redirects
            ('application/json', False)

        ``headers`` are added to every request; proxy variables are ignored for a loopback
        server and for an injected ``transport``.
        """
        url = httpx.URL(base_url)
        if url.scheme not in {"http", "https"} or not url.host:
            raise TasknbError(
                f"base_url must look like https://<account>.snowflakecomputing.com or "
                f"http://127.0.0.1:<port>, got {base_url!r}"
            )
        if timeout is not None and not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        client = httpx.Client(
            base_url=str(url).rstrip("/"),
            auth=auth,
            headers={
                "Accept": "application/json",
                "User-Agent": user_agent or USER_AGENT,
                **(headers or {}),
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            # proxy variables are for the internet: never route a loopback server through one
            trust_env=transport is None and url.host not in LOOPBACK_HOSTS,
        )
        return cls(client, retry=retry or RetryPolicy(), sleep=sleep, rng=rng)

    # -- one exchange, with retries -------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool,
        describe: str,
        check_hint: str | None = None,
    ) -> httpx.Response:
        """One request with retries; returns the first non-retryable response."""
        content = None
        headers = {}
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if params and "?" in url:  # a query in both: httpx's own rules
            request = self.client.build_request(
                method, url, params=params, content=content, headers=headers
            )
        else:
            request = self.client.build_request(
                method, self._full_url(url, params), content=content, headers=headers
            )
        attempt = 0
        while True:
            started = self.clock()
            try:
                response = self.client.send(request)
                response.read()
            except httpx.UnsupportedProtocol as exc:
                raise TransportError(f"{describe} cannot be sent: {_exc_text(exc)}") from exc
            except _NOT_SENT as exc:
                failure: Exception = exc
                retry_ok = True
                response = None
            except httpx.TransportError as exc:
                failure = exc
                retry_ok = idempotent
                response = None
                if not idempotent:
                    raise RequestMayHaveBeenApplied(
                        f"{describe} failed after it was sent ({_exc_text(exc)}); it was not "
                        "resent because it is not safe to repeat and may already have been "
                        f"applied. {check_hint or 'Check the current state before retrying.'}"
                    ) from exc
            else:
                if logger.isEnabledFor(logging.DEBUG):  # its arguments cost a header lookup
                    logger.debug(
                        "%s %s -> %s in %.3fs (request %s, attempt %d)",
                        request.method,
                        request.url,
                        response.status_code,
                        self.clock() - started,
                        response.headers.get("X-Snowflake-Request-ID", "-"),
                        attempt + 1,
                    )
                status = response.status_code
                if 300 <= status < 400:
                    raise _redirected(response, describe)
                if status not in RETRYABLE_STATUSES:
                    return response
                if not idempotent and status not in ALWAYS_RETRYABLE_STATUSES:
                    return response  # mapped to an error by the caller, with a hint
                retry_ok = True
                failure = None
            if not retry_ok or attempt >= self.retry.max_retries:
                if response is not None:
                    return response
                assert failure is not None
                raise TransportError(
                    f"{describe} failed: {_exc_text(failure)}"
                    + (f" (after {attempt + 1} attempts)" if attempt else "")
                ) from failure
            wait = self.retry.backoff(attempt, self.rng)
            if response is not None:
                after = retry_after_seconds(response.headers.get("Retry-After"))
                if after is not None:
                    wait = min(after, self.retry.retry_after_cap)
                response.close()
            logger.debug(
                "retrying %s %s in %.2fs (%s)",
                request.method,
                request.url,
                wait,
                response.status_code if response is not None else _exc_text(failure),
            )
            self.sleep(wait)
            attempt += 1

    def _full_url(self, url: str, params: dict[str, Any] | None) -> str:
        """``url`` (a path under ``base_url``, or absolute) with ``params`` as one absolute
        URL text, the query encoded as httpx encodes it: httpx then parses the URL once
        instead of three times (a tenth of a small request's cost on the client)."""
        if "://" not in url:
            base = str(self.client.base_url)  # its path ends in "/" (str may leave it out)
            url = base.rstrip("/") + "/" + url.lstrip("/")  # what httpx's merge does
        query = str(httpx.QueryParams(params)) if params else ""
        return f"{url}?{query}" if query else url

    # -- calls: send, follow 202, map errors, decode ------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool,
        subject: str | None = None,
        check_hint: str | None = None,
        wait: bool = True,
    ) -> Any:
        """Send, follow a 202 (or return its ``Pending`` when ``wait`` is false), map errors;
        return the decoded JSON body. ``subject`` names the task a 404/409 is about.

        ``params`` entries that are ``None`` are not sent (the server default applies).
        """
        response = self.send(
            method,
            path,
            params=_query(params),
            json_body=json_body,
            idempotent=idempotent,
            describe=f"{method} {path}",
            check_hint=check_hint,
        )
        if response.status_code == 202:
            pending = self.pending_of(
                response, method=method, path=path, subject=subject, idempotent=idempotent
            )
            return pending if not wait else self.result_of(pending)
        return self.final(response, method, path, subject=subject, idempotent=idempotent)

    def result_of(self, pending: Pending, *, timeout: float | None = None) -> Any:
        """Poll a 202 until its final answer; return its body or raise its error."""
        return self._final_of(pending, self.poll(pending, timeout=timeout))

    def check(self, pending: Pending) -> tuple[bool, Any]:
        """Poll once: ``(True, body)`` with the final answer, ``(False, None)`` while running."""
        response = self.poll_once(pending)
        if response.status_code == 202:
            pending.location = self.pending_of(
                response, method=pending.method, path=pending.path
            ).location
            return False, None
        return True, self._final_of(pending, response)

    def rows(
        self,
        path: str,
        params: Mapping[str, Any],
        parse: Callable[[dict[str, Any]], T],
        *,
        subject: str | None = None,
    ) -> Iterator[T]:
        """The rows of a list answer, every page, each read with ``parse`` (lazily).

        The rows are dicts decoded here and held by nobody else, so ``parse`` may build the
        model on them (``Task._from_owned``) instead of copying. A large-result marker body
        (``{"result_handler": ..., "message": "Large result set..."}``) is followed to the
        results endpoint.
        """
        describe = f"GET {path}"
        response = self.send(
            "GET", path, params=_query(params), idempotent=True, describe=describe
        )
        if response.status_code == 202:
            pending = self.pending_of(response, method="GET", path=path, subject=subject)
            response = self.poll(pending)
        body = self.final(response, "GET", path, subject=subject)
        if is_large_result_marker(body):
            url = f"{API_PREFIX}/results/{body.get('result_handler') or body.get('resultHandler')}"
            page_zero = self.send("GET", url, idempotent=True, describe=f"GET {url}")
            body = self.final(page_zero, "GET", url, subject=subject)
            if page_zero.links:  # else the marker's own Link tells the pages
                response = page_zero
        yield from _rows(body, describe, parse)
        for page_body in self.next_pages(response, describe=describe):
            yield from _rows(page_body, describe, parse)

    def final(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        *,
        subject: str | None = None,
        idempotent: bool = True,
    ) -> Any:
        """The decoded body of a final answer, or its error raised."""
        if response.status_code >= 400:
            raise self.error(response, method, path, subject=subject, idempotent=idempotent)
        if response.status_code == 202:
            raise InvalidResponse(f"{method} {path}: still running after polling")
        return self.decode(response, f"{method} {path}")

    def _final_of(self, pending: Pending, response: httpx.Response) -> Any:
        return self.final(
            response,
            pending.method,
            pending.path,
            subject=pending.subject,
            idempotent=pending.idempotent,
        )

    # -- decoding and errors --------------------------------------------------------------

    @staticmethod
    def decode(response: httpx.Response, describe: str) -> Any:
        """The JSON body of a success answer (``None`` when empty)."""
        data = response.content
        if not data:
            return None
        try:
            return _loads(data)
        except ValueError as exc:
            if not data.strip():
                return None
            rid = request_id_of(response)
            raise InvalidResponse(
                f"the answer to {describe} is not valid JSON ({exc}; {len(data)} bytes, "
                f"HTTP {response.status_code}{', request ' + rid if rid else ''}): the body "
                "was probably cut off; retry, and report the request id if it persists"
            ) from None

    @staticmethod
    def error(
        response: httpx.Response,
        method: str,
        path: str,
        *,
        subject: str | None = None,
        idempotent: bool = True,
    ) -> ApiError:
        """The ``ApiError`` of an error answer, with a hint on what to do.

        With a ``subject`` (the task a path names), a 404 that is not about the database or
        schema is a ``TaskNotFound`` and a 409 on create a ``TaskAlreadyExists``.
        """
        status = response.status_code
        hint = None
        if status in (408, 503, 504) and not idempotent:
            hint = (
                "not retried automatically because this request is not safe to repeat; "
                "check the task's state and runs before sending it again"
            )
        elif status == 401:
            hint = "check the token or key of this connection (it may have expired)"
        elif status == 403:
            hint = "check the role (role=/X-Snowflake-Role) and its privileges on the task"
        body: Any = None
        try:
            body = _loads(response.content) if response.content.strip() else None
        except ValueError:
            body = None
        code = message = None
        if isinstance(body, dict):
            code = body.get("error_code") or body.get("code")
            message = body.get("message")
            message = None if message is None else str(message)
        elif response.content.strip():
            message = response.text.strip()[:300]
        cls = error_for_status(status)
        if subject and status == 404 and not _names_container(message or ""):
            cls = TaskNotFound
            if not (message or "").strip():
                message = f"task {subject} does not exist or is not authorized"
        elif subject and status == 409 and method == "POST" and path.endswith("/tasks"):
            cls = TaskAlreadyExists
            hint = hint or 'pass create_mode="orReplace" or "ifNotExists"'
        return cls(
            status,
            str(code) if code is not None else None,
            message,
            request_id_of(response, body),
            method=method,
            path=path,
            hint=hint,
            body=body,
        )

    # -- 202 and paging -------------------------------------------------------------------

    def pending_of(
        self,
        response: httpx.Response,
        *,
        method: str,
        path: str,
        subject: str | None = None,
        idempotent: bool = True,
    ) -> Pending:
        location = response.headers.get("Location")
        body: Any = None
        try:
            body = _loads(response.content) if response.content.strip() else None
        except ValueError:
            body = None
        handle = None
        if isinstance(body, dict):
            handle = body.get("result_handler") or body.get("resultHandler")
        if not location and handle:
            location = f"{API_PREFIX}/results/{handle}"
        if not location:
            raise InvalidResponse(
                f"{method} {path} answered 202 Accepted without a Location header or result "
                "handle, so its result cannot be fetched"
            )
        self._check_same_origin(location, f"{method} {path}")
        if handle is None:
            handle = location.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or None
        return Pending(
            location, handle, request_id_of(response, body), method, path, subject, idempotent
        )

    def _check_same_origin(self, url: str, describe: str) -> None:
        """Refuse a link to another host (``describe`` names the request: "GET /api/...")."""
        target = httpx.URL(url)
        if target.is_relative_url:
            if not url.startswith("/"):
                raise InvalidResponse(
                    f"{describe}: the server sent a relative link {url!r} that does "
                    "not start with '/'"
                )
            return
        base = self.client.base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise InvalidResponse(
                f"{describe}: the server pointed to another host ({target.host}); "
                "refusing to send credentials there"
            )

    def poll(self, pending: Pending, *, timeout: float | None = None) -> httpx.Response:
        """Poll a 202 until the final answer (any status but 202) or the deadline."""
        budget = self.retry.result_timeout if timeout is None else timeout
        deadline = self.clock() + budget
        wait = self.retry.poll_initial
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise ResultTimeout(
                    f"{pending.method} {pending.path} was accepted but had not finished after "
                    f"{budget:g} s (result handle {pending.handle}); it keeps running on the "
                    "server: wait on it again later or check with get_current_graphs()"
                )
            self.sleep(min(wait, remaining))
            wait = min(wait * self.retry.poll_factor, self.retry.poll_cap)
            response = self.poll_once(pending)
            if response.status_code != 202:
                return response
            nxt = self.pending_of(response, method=pending.method, path=pending.path)
            pending.location = nxt.location

    def poll_once(self, pending: Pending) -> httpx.Response:
        describe = f"GET {pending.location} (result of {pending.method} {pending.path})"
        return self.send("GET", pending.location, idempotent=True, describe=describe)

    def next_pages(self, first: httpx.Response, *, describe: str) -> Iterator[Any]:
        """Yield the decoded body of every page after ``first``, or raise: never a short answer.

        Snowflake sends ``Link`` on the first answer only, with ``rel="last"`` naming the last
        ``?page=N``: pages ``1..N`` are then fetched by number (what snowflake-core does). A
        ``Link`` with only ``rel="next"`` is followed from page to page instead.
        """
        links = first.links
        last = links.get("last", {}).get("url")
        if last is not None:
            last_page = _page_of(last)
            if last_page is None:
                raise InvalidResponse(
                    f"{describe}: the Link header's rel=\"last\" URL {last!r} has no ?page=N, "
                    "so the number of pages is unknown; refusing to return part of the answer"
                )
            if last_page >= DEFAULT_MAX_PAGES:
                raise InvalidResponse(
                    f"{describe}: the server announced {last_page + 1} pages, more than the "
                    f"{DEFAULT_MAX_PAGES} this client reads; narrow the request (like=, "
                    "starts_with=, result_limit=)"
                )
            self._check_same_origin(last, describe)
            first_page = _page_of(str(first.request.url)) or 0
            for page in range(first_page + 1, last_page + 1):
                yield self._page(_with_page(last, page))
            return
        url = links.get("next", {}).get("url")
        seen = {str(first.request.url)}
        while url is not None:
            self._check_same_origin(url, describe)
            absolute = str(self.client.base_url.join(url))
            if absolute in seen:
                raise InvalidResponse(
                    f"{describe}: the server's rel=\"next\" links lead back to {url}, a page "
                    "already read; refusing to return an answer that may be missing pages"
                )
            if len(seen) >= DEFAULT_MAX_PAGES:
                raise InvalidResponse(
                    f"{describe}: more than {DEFAULT_MAX_PAGES} linked pages; narrow the request"
                )
            seen.add(absolute)
            response = self._fetch_page(url)
            yield self.decode(response, f"GET {url}")
            url = response.links.get("next", {}).get("url")

    def _fetch_page(self, url: str) -> httpx.Response:
        response = self.send("GET", url, idempotent=True, describe=f"GET {url}")
        if response.status_code == 202:  # a page still being prepared
            response = self.poll(self.pending_of(response, method="GET", path=url))
        if response.status_code != 200:
            raise self.error(response, "GET", url)
        return response

    def _page(self, url: str) -> Any:
        return self.decode(self._fetch_page(url), f"GET {url}")


def is_large_result_marker(body: Any) -> bool:
    """Whether a body is the "Large result set, use the Link header" marker."""
    return (
        isinstance(body, dict)
        and bool(body.get("result_handler") or body.get("resultHandler"))
        and _LARGE_RESULT in str(body.get("message", "")).lower()
    )


def _redirected(response: httpx.Response, describe: str) -> Redirected:
    """A 3xx as an error naming where it pointed (without its query, which may hold secrets)."""
    location = response.headers.get("Location")
    where = "without a Location"
    if location:
        target = response.request.url.join(location)
        where = f"to {target.copy_with(query=None, fragment=None)}"
    hint = (
        "tasknb does not follow redirects (they could carry the credentials elsewhere) and the "
        "request was not done there; point the connection at the final address "
        "(account/host, or https:// for a http:// URL)"
    )
    return Redirected(
        response.status_code,
        None,
        f"{describe} was redirected {where}",
        request_id_of(response),
        method=response.request.method,
        path=response.request.url.path,
        hint=hint,
        location=location,
    )


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The query parameters that are set (``None`` means "not sent")."""
    query = {k: v for k, v in (params or {}).items() if v is not None}
    return query or None


def _names_container(message: str) -> bool:
    text = message.lower()
    return text.startswith(("database ", "schema ")) or "database '" in text or "schema '" in text


def kind_of(body: Any) -> str:
    """How an unexpected body is named in an error ("nothing" for no body)."""
    return "nothing" if body is None else type(body).__name__


def _rows(body: Any, describe: str, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """One page of rows as models (``map`` keeps the per-row cost to the parse itself)."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise InvalidResponse(f"{describe}: expected a JSON array, got {kind_of(body)}")
    try:
        return list(map(parse, body))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidResponse(f"{describe}: a row could not be read: {exc}") from exc


def _exc_text(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown failure"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
