"""Token checks for the local server (constant time; the token is never logged or echoed).

    >>> token_matches('Snowflake Token="s3cret"', "s3cret"), token_matches("Bearer nope", "s3cret")
    (True, False)

Accepted: ``Authorization: Bearer <token>`` (with or without
``X-Snowflake-Authorization-Token-Type``) and ``Authorization: Snowflake Token="<token>"``
(what snowflake-core sends after a connector login).

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

TOKEN_BYTES = 32  # new_token(): 43 URL-safe characters
MIN_TOKEN_LENGTH = 32  # a given token must be at least this long (item 10 of issue 7)
FAILED_AUTH_BURST = 30  # failed authentications an address may make before it is slowed down
FAILED_AUTH_PER_SECOND = 2.0  # ... and then at most this many per second
MAX_TRACKED_ADDRESSES = 4096  # a flood of addresses cannot grow the table without bound
TOO_MANY_FAILURES = "390429"  # local code (Snowflake documents none): the 429 of the limit
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


def login_secret_matches(body: Any, expected: str) -> bool:
    """Whether a connector login body (``{"data": {...}}``) carries the token."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return False
    matched = False
    for key in LOGIN_SECRET_FIELDS:
        value = data.get(key)
        if isinstance(value, str) and same_secret(value, expected):
            matched = True
    return matched


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
