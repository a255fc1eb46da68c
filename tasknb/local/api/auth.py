"""Token checks for the local server (constant time; the token is never logged or echoed).

    >>> token_matches('Snowflake Token="s3cret"', "s3cret"), token_matches("Bearer nope", "s3cret")
    (True, False)

Accepted: ``Authorization: Bearer <token>`` (with or without
``X-Snowflake-Authorization-Token-Type``) and ``Authorization: Snowflake Token="<token>"``
(what snowflake-core sends after a connector login).
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

TOKEN_BYTES = 32
_SNOWFLAKE_TOKEN = re.compile(r'^Snowflake\s+Token\s*=\s*"([^"]*)"\s*$', re.IGNORECASE)
_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)
# Login body fields that may carry the secret, depending on the connector's authenticator.
LOGIN_SECRET_FIELDS = ("PASSWORD", "TOKEN", "PROGRAMMATIC_ACCESS_TOKEN", "OAUTH_TOKEN")


def new_token() -> str:
    """A fresh random token (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


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
