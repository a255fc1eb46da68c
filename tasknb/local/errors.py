"""The local server's refusals: Snowflake's error codes, the :class:`ApiError` a request gets,
and the :class:`StartupError` a start gets.

    >>> not_found("Task", "DB.S.T").message
    "Task 'DB.S.T' does not exist or not authorized."

Error codes are Snowflake's own numbers where the reference (docs/task-semantics.md) gives them.
Where it gives a message but no number, the code is :data:`TASK_RULE` (``091000``), a tasknb
local choice for "a task statement was refused"; it is documented as local, not Snowflake's.
The API turns an :class:`ApiError` into Snowflake's body ``{"code", "error_code", "message",
"request_id"}``.
"""

from __future__ import annotations

DOES_NOT_EXIST = "002003"
ALREADY_EXISTS = "002002"
ROOT_NOT_SUSPENDED = "091421"
RETRY_NO_FAILURES = "091456"
RETRY_NOTHING_SUITABLE = "091457"
SERVERLESS_ONLY = "091857"
BAD_REQUEST = "390400"
RESULT_NOT_FOUND = "390404"
UNAUTHORIZED = "390101"
TASK_RULE = "091000"  # local: Snowflake's number for these refusals is not documented
REQUEST_IN_PROGRESS = "392604"
# local: Snowflake's gateway answers an unknown route or method with an empty body and a wrong
# Content-Type without a documented number; tasknb sends a 6-digit code ending in the status
NO_SUCH_ENDPOINT = "390404"
METHOD_NOT_ALLOWED = "390405"
UNSUPPORTED_MEDIA_TYPE = "390415"


class ApiError(Exception):
    """A refusal the server answers with Snowflake's error body.

        >>> ApiError(404, DOES_NOT_EXIST, "Task 'DB.S.T' does not exist or not authorized.").status
        404
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class StartupError(Exception):
    """The local server cannot start: one line saying what is wrong and what to do.

        >>> str(StartupError("The state file /d/x is damaged; restore it from a backup."))
        'The state file /d/x is damaged; restore it from a backup.'
    """


class ListenError(StartupError, OSError):
    """The server cannot listen on the host and port asked for (the port is taken, the address
    is not this machine's); an :class:`OSError` too, as a failed bind always was."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def bad_request(message: str, code: str = BAD_REQUEST) -> ApiError:
    """A 400 with a clear message.

        >>> bad_request("showLimit must be an integer").status
        400
    """
    return ApiError(400, code, message)


def rule_error(message: str, code: str = TASK_RULE) -> ApiError:
    """A 400 for a statement Snowflake refuses (graph or lifecycle rule)."""
    return ApiError(400, code, message)


def not_found(kind: str, qualified: str) -> ApiError:
    """Snowflake's 002003 ``<Kind> '<NAME>' does not exist or not authorized.``"""
    return ApiError(404, DOES_NOT_EXIST, f"{kind} '{qualified}' does not exist or not authorized.")


def already_exists(name: str) -> ApiError:
    """Snowflake's 002002 ``Object '<NAME>' already exists.``"""
    return ApiError(409, ALREADY_EXISTS, f"Object '{name}' already exists.")


def root_not_suspended(root_fqn: str) -> ApiError:
    """Snowflake's 091421 suspended-root rule."""
    return rule_error(
        f"Unable to update graph with root task {root_fqn} since that root task is not "
        "suspended.", ROOT_NOT_SUSPENDED)
