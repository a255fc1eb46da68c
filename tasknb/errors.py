"""One exception tree for everything tasknb raises.

    >>> str(TaskNotFound(404, "002003", "task DB.S.NIGHTLY does not exist", "8f2a"))
    'task DB.S.NIGHTLY does not exist (code 002003, request 8f2a)'

``TasknbError`` is the base of every error. ``ApiError`` and its subclasses are answers
from the server; the others are raised by the client before or around a request
(configuration, identifiers, transport failures, unreadable answers). Messages are one
readable line and never contain a token, a password or key material.

Standard library only.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "GatewayTimeout",
    "InvalidIdentifier",
    "InvalidResponse",
    "MethodNotAllowed",
    "MissingExtra",
    "NotFound",
    "RateLimited",
    "Redirected",
    "RequestMayHaveBeenApplied",
    "RequestTimeout",
    "ResultTimeout",
    "ServerError",
    "ServiceUnavailable",
    "SqlError",
    "TaskAlreadyExists",
    "TaskNotFound",
    "TasknbError",
    "TransportError",
    "Unauthorized",
    "error_for_status",
]


class TasknbError(Exception):
    """Base class of every error tasknb raises.

    >>> issubclass(TaskNotFound, TasknbError)
    True
    """


class ConfigError(TasknbError):
    """A connection could not be resolved from files, variables and arguments."""


class AuthError(TasknbError):
    """Credentials could not be loaded or used (missing key, wrong passphrase, ...)."""


class MissingExtra(TasknbError, ImportError):
    """A part of tasknb was used whose optional dependencies are not installed.

        >>> e = MissingExtra("notebook", "tasks_df()", ["pandas"])
        >>> e.extra, e.install
        ('notebook', 'pip install "tasknb[notebook]"')

    The message names what is missing and the one command that installs it.
    """

    def __init__(self, extra: str, feature: str, missing: list[str]) -> None:
        self.extra = extra
        self.feature = feature
        self.missing = list(missing)
        self.install = f'pip install "tasknb[{extra}]"'
        names = ", ".join(self.missing)
        super().__init__(
            f'{feature} needs {names}, which the "{extra}" extra installs: {self.install}'
        )


class InvalidIdentifier(TasknbError, ValueError):
    """A name is not a valid Snowflake identifier; raised before any request is sent."""


class TransportError(TasknbError):
    """The server could not be reached or the connection failed (after any retries)."""


class RequestMayHaveBeenApplied(TransportError):
    """A request that is not safe to repeat failed after it may have reached the server.

        >>> issubclass(RequestMayHaveBeenApplied, TransportError)
        True

    It was deliberately not resent (a resent ``:execute`` could start a second graph run).
    The message says how to check whether it took effect.
    """


class InvalidResponse(TasknbError):
    """The server answered something the client cannot read (truncated or invalid JSON,
    an unexpected shape, a missing ``Location``)."""


class ResultTimeout(TasknbError):
    """A long-running request (``202 Accepted``) did not finish within the time allowed."""


class ApiError(TasknbError):
    """An error answer from the server.

        >>> e = ApiError(400, "091421", "Unable to update graph", "01af-3")
        >>> (e.status, e.code, e.request_id)
        (400, '091421', '01af-3')

    ``status`` is the HTTP status, ``code`` Snowflake's error code (six digits, may be
    ``None``), ``message`` the server's message (or a description when the body was
    empty), ``request_id`` from ``X-Snowflake-Request-ID`` or the body. ``method`` and
    ``path`` name the request; ``hint`` says how to fix it when the client knows.
    """

    default_message = "the request failed"

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        hint: str | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code or None
        self.message = (message or "").strip() or self.default_message
        self.request_id = request_id or None
        self.method = method
        self.path = path
        self.hint = hint
        self.body = body
        super().__init__(self.status, self.code, self.message, self.request_id)

    def __str__(self) -> str:
        details = []
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request {self.request_id}")
        if not details:
            details.append(f"HTTP {self.status}")
        text = " ".join(self.message.split())  # one line, even for multi-line messages
        line = f"{text} ({', '.join(details)})"
        if self.hint:
            line += f"; {self.hint}"
        return line

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.status, self.code, self.message, self.request_id),
            {"method": self.method, "path": self.path, "hint": self.hint},
        )


def _rebuild(cls: type[ApiError], *args: Any) -> ApiError:
    return cls(*args)


class BadRequest(ApiError):
    """400: the request was refused (invalid body, identifier, graph or lifecycle rule)."""

    default_message = "the server refused the request as invalid"


class Unauthorized(ApiError):
    """401: the token is missing, invalid or expired."""

    default_message = "authentication failed"


class Forbidden(ApiError):
    """403: the role lacks a privilege, or the REST API is not enabled."""

    default_message = "the role used is not allowed to do this"


class NotFound(ApiError):
    """404: the database, schema, object or endpoint does not exist (or is not visible)."""

    default_message = "not found"


class TaskNotFound(NotFound):
    """404 on a task: the task does not exist or the role cannot see it."""


class MethodNotAllowed(ApiError):
    """405: this deployment does not offer that method on that path."""

    default_message = "method not allowed on this endpoint"


class RequestTimeout(ApiError):
    """408: the server gave up waiting for the request."""

    default_message = "the server timed out waiting for the request"


class Conflict(ApiError):
    """409: the object already exists, or its state conflicts with the request."""

    default_message = "the request conflicts with the current state"


class TaskAlreadyExists(Conflict):
    """409 on create: a task with that name exists (use ``create_mode="orReplace"``)."""


class Redirected(ApiError):
    """3xx: the server sent the request elsewhere; tasknb never follows a redirect.

        >>> str(Redirected(302, message="moved to https://x.example/api", hint="use https"))
        'moved to https://x.example/api (HTTP 302); use https'

    Following it could send the credentials to another host, and a redirected action was not
    done where it was asked: the error names the ``Location`` (``location``) instead.
    """

    default_message = "the server redirected the request"

    def __init__(self, *args: Any, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.location = location


class RateLimited(ApiError):
    """429: too many requests; the server refused this one without doing anything."""

    default_message = "rate limit exceeded"


class ServerError(ApiError):
    """5xx: the server failed."""

    default_message = "the server failed to answer the request"


class ServiceUnavailable(ServerError):
    """503: the service was unavailable."""

    default_message = "the service is unavailable"


class GatewayTimeout(ServerError):
    """504: a gateway timed out before the server answered."""

    default_message = "a gateway timed out waiting for the server"


class SqlError(ApiError):
    """A SQL statement failed (SQL API ``422``, or ``408`` when it reached its timeout).

        >>> e = SqlError(422, "002003", "SQL compilation error:\\nObject 'T' does not exist.",
        ...              sql_state="42S02", statement_handle="e4ce975e-f7ff-4b5e-b15e-bf25f59371ae")
        >>> str(e)
        "SQL compilation error: Object 'T' does not exist. (code 002003, SQL state 42S02, statement e4ce975e-f7ff-4b5e-b15e-bf25f59371ae)"

    ``sql_state`` is the statement's SQLSTATE, ``statement_handle`` its handle (look it up
    again with ``GET /api/v2/statements/{handle}``).
    """

    default_message = "the SQL statement failed"

    def __init__(
        self,
        *args: Any,
        sql_state: str | None = None,
        statement_handle: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sql_state = sql_state or None
        self.statement_handle = statement_handle or None

    def __str__(self) -> str:
        details = [f"code {self.code}"] if self.code else []
        if self.sql_state:
            details.append(f"SQL state {self.sql_state}")
        if self.statement_handle:
            details.append(f"statement {self.statement_handle}")
        elif self.request_id:
            details.append(f"request {self.request_id}")
        text = " ".join(self.message.split())
        line = f"{text} ({', '.join(details or [f'HTTP {self.status}'])})"
        return f"{line}; {self.hint}" if self.hint else line

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild, args, state = super().__reduce__()
        return rebuild, args, {**state, "sql_state": self.sql_state,
                               "statement_handle": self.statement_handle}


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    408: RequestTimeout,
    409: Conflict,
    429: RateLimited,
    503: ServiceUnavailable,
    504: GatewayTimeout,
}


def error_for_status(status: int) -> type[ApiError]:
    """The exception class for an HTTP error status.

    >>> error_for_status(503).__name__, error_for_status(502).__name__
    ('ServiceUnavailable', 'ServerError')
    """
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return ApiError
