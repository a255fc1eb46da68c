"""Token checks for the local server (constant time; the token is never logged or echoed).

    >>> token_matches('Snowflake Token="s3cret"', "s3cret"), token_matches("Bearer nope", "s3cret")
    (True, False)

Accepted: ``Authorization: Bearer <token>`` (with or without
``X-Snowflake-Authorization-Token-Type``) and ``Authorization: Snowflake Token="<token>"``
(what snowflake-core sends after a connector login), with the server token or with a session
token of a connector login (:mod:`tasknb.local.api.logins`): an expired one is answered 401
with Snowflake's code 390112 (renew it), a closed or renewed one with 390111 (log in again).

A server token has at least :data:`MIN_TOKEN_LENGTH` characters (:func:`check_token`), and
failed authentications are rate-limited per client address (:class:`FailedAuthLimit`): a
guesser gets a few tries, then one every half second, answered 429 in between.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from tasknb.local import rules
from tasknb.local.api.logins import SessionStore
from tasknb.local.rules import ApiError

TOKEN_BYTES = 32  # new_token(): 43 URL-safe characters
MIN_TOKEN_LENGTH = 32  # a given token must be at least this long (item 10 of issue 7)
FAILED_AUTH_BURST = 30  # failed authentications an address may make before it is slowed down
FAILED_AUTH_PER_SECOND = 2.0  # ... and then at most this many per second
MAX_TRACKED_ADDRESSES = 4096  # a flood of addresses cannot grow the table without bound
TOO_MANY_FAILURES = "390429"  # local code (Snowflake documents none): the 429 of the limit
TOKEN_HINT = ("tasknb.local.start() returns it as .token; `tasknb server` prints it; `tasknb demo` "
              "writes it to the env file it names")
SESSION_EXPIRED = "390112"  # Snowflake's code: the session token expired (renew it)
SESSION_GONE = "390111"  # Snowflake's code: the session no longer exists (log in again)
SESSION_EXPIRED_MESSAGE = "Your session has expired. Please login again."
SESSION_GONE_MESSAGE = "Session no longer exists. New login required to access the service."
_TOKEN_CHARS = re.compile(r'[^\s"]+')
_SNOWFLAKE_TOKEN = re.compile(r'^Snowflake\s+Token\s*=\s*"([^"]*)"\s*$', re.IGNORECASE)
_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)
# Login body fields that may carry the secret, depending on the connector's authenticator.
LOGIN_SECRET_FIELDS = ("PASSWORD", "TOKEN", "PROGRAMMATIC_ACCESS_TOKEN", "OAUTH_TOKEN")


def new_token() -> str:
    """A fresh random token (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def check_token(token: str) -> None:
    """Refuse a server token that is short or cannot travel in a header (ValueError, one line).

        >>> check_token("x" * 32)
        >>> check_token("12345678")
        Traceback (most recent call last):
        ValueError: The server token has 8 characters; it must have at least 32 (no spaces or double quotes). Leave the token out to have one generated, or make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"
    """
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN_CHARS.fullmatch(token):
        problem = (f"has {len(token)} characters; it must have at least {MIN_TOKEN_LENGTH}"
                   if len(token) < MIN_TOKEN_LENGTH else "contains a space or a double quote;"
                   f" it must have at least {MIN_TOKEN_LENGTH} characters")
        raise ValueError(f"The server token {problem} (no spaces or double quotes). Leave the "
                         "token out to have one generated, or make one with: python -c "
                         '"import secrets; print(secrets.token_urlsafe(32))"')


def presented_token(header: str | None) -> str | None:
    """The token carried by an Authorization header, or None for any other form."""
    if not header:
        return None
    for pattern in (_BEARER, _SNOWFLAKE_TOKEN):
        match = pattern.match(header.strip())
        if match:
            return match.group(1)
    return None


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def token_matches(header: str | None, expected: str) -> bool:
    """Whether an Authorization header carries the expected token."""
    return same_secret(presented_token(header), expected)


def login_secrets(body: Any) -> list[str]:
    """The secrets a connector login body (``{"data": {...}}``) carries, in field order.

        >>> login_secrets({"data": {"LOGIN_NAME": "me", "PASSWORD": "pw", "TOKEN": 7}})
        ['pw']
    """
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return []
    return [v for v in (data.get(key) for key in LOGIN_SECRET_FIELDS) if isinstance(v, str)]

class FailedAuthLimit:
    """Per-address budget of failed authentications (a token bucket; no I/O, never sleeps).

        >>> now = [0.0]
        >>> limit = FailedAuthLimit(burst=2, per_second=1.0, clock=lambda: now[0])
        >>> limit.failed("10.0.0.1"); limit.failed("10.0.0.1")
        >>> limit.retry_after("10.0.0.1"), limit.retry_after("10.0.0.2")
        (1, None)
        >>> now[0] = 1.0
        >>> limit.retry_after("10.0.0.1") is None
        True

    ``retry_after(address)`` is None while the address may try a secret, else the whole
    seconds to wait (answer 429 without comparing: a guess that is never checked teaches
    nothing). ``failed(address)`` spends one try. Successes cost nothing.
    """

    def __init__(self, *, burst: int = FAILED_AUTH_BURST,
                 per_second: float = FAILED_AUTH_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._burst = float(burst)
        self._rate = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._tries: dict[str, tuple[float, float]] = {}  # address -> (tries left, at time)

    def _left(self, address: str, now: float) -> float:
        left, since = self._tries.get(address, (self._burst, now))
        return min(self._burst, left + (now - since) * self._rate)

    def retry_after(self, address: str) -> int | None:
        """None if ``address`` may present a secret now, else the seconds until it may."""
        with self._lock:
            left = self._left(address, self._clock())
        if left >= 1.0:
            return None
        return max(1, math.ceil((1.0 - left) / self._rate))

    def failed(self, address: str) -> None:
        """Spend one try of ``address``."""
        with self._lock:
            now = self._clock()
            if len(self._tries) >= MAX_TRACKED_ADDRESSES and address not in self._tries:
                self._forget_refilled(now)
            self._tries[address] = (max(0.0, self._left(address, now) - 1.0), now)

    def _forget_refilled(self, now: float) -> None:
        """Drop the addresses back at a full budget, else the half with the most tries left."""
        by_left = sorted(self._tries, key=lambda a: self._left(a, now), reverse=True)
        full = [a for a in by_left if self._left(a, now) >= self._burst]
        for address in full or by_left[: len(by_left) // 2]:
            del self._tries[address]


class TooManyFailures(ApiError):
    """The 429 of :class:`FailedAuthLimit`, with its ``Retry-After`` header."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, TOO_MANY_FAILURES,
                         "Too many failed authentications from this address: wait "
                         f"{retry_after} s, then send the local server's token ({TOKEN_HINT}).")
        self.headers = {"Retry-After": str(retry_after)}


class TokenGate:
    """The token of one server and the limit on failed attempts to present it.

        >>> gate = TokenGate("s3cret" * 6)
        >>> gate.require(f"Bearer {'s3cret' * 6}", "127.0.0.1", "Send the token.")
        >>> try: gate.require("Bearer nope", "127.0.0.1", "Send the token.")
        ... except ApiError as refusal: print(refusal.status, refusal.message)
        401 Send the token.

    A request that presents no secret at all is refused (401) without spending a try: it is
    not a guess. While an address has no tries left, anything it presents is answered 429
    without being compared.
    """

    def __init__(self, token: str, limit: FailedAuthLimit | None = None,
                 sessions: SessionStore | None = None) -> None:
        self._token = token
        self.limit = limit or FailedAuthLimit()
        self.sessions = sessions or SessionStore()

    def __repr__(self) -> str:  # never show the token
        return "TokenGate(token=<hidden>)"

    @property
    def token(self) -> str:
        """The server's token (for the connector's login answer)."""
        return self._token

    def require(self, header: str | None, address: str, message: str) -> None:
        """Pass if the Authorization ``header`` carries the token, else raise 401 (or 429)."""
        presented = presented_token(header)
        if presented is None:
            raise ApiError(401, rules.UNAUTHORIZED, message)
        state = self.sessions.state(presented)  # a session token the server issued: no guess
        if state == "valid":
            return
        if state == "expired":
            raise ApiError(401, SESSION_EXPIRED, SESSION_EXPIRED_MESSAGE)
        if state == "gone":
            raise ApiError(401, SESSION_GONE, SESSION_GONE_MESSAGE)
        if not self._attempt([presented], address):
            raise ApiError(401, rules.UNAUTHORIZED, message)

    def login(self, body: Any, address: str) -> bool:
        """Whether a connector login body carries the token (429 while ``address`` waits)."""
        presented = login_secrets(body)
        return bool(presented) and self._attempt(presented, address)

    def _attempt(self, presented: list[str], address: str) -> bool:
        wait = self.limit.retry_after(address)
        if wait is not None:
            raise TooManyFailures(wait)
        matched = False
        for secret in presented:  # compare every one: the time does not tell which matched
            matched = same_secret(secret, self._token) or matched
        if not matched:
            self.limit.failed(address)
        return matched
