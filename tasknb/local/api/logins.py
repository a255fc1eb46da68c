"""Connector sessions of the local server: session and master tokens, renewal, expiry, SSO.

    >>> store = SessionStore()
    >>> login = store.open("TESTER")
    >>> store.state(login.session)
    'valid'
    >>> store.expire(master=False)
    1
    >>> store.state(login.session), store.renew(login.master, login.session) is not None
    ('expired', True)

A login (``open``) issues a random session token and master token, as Snowflake does. The
session token authorizes API calls until it expires; ``renew(master, old)`` issues a new one
while the master token is valid (the old one is then gone); ``close`` ends the session.
``expire()`` ends the validity of every current session (and master) token on demand, so that
renewal and re-login can be tested. Tokens are stored only as SHA-256 digests (a lookup leaks
no timing about the token itself) and never logged or shown.

The fake single sign-on of ``externalbrowser``: ``begin_sso(port)`` records the connector's
redirect port and a proof key; ``confirm_sso(request)`` (the "identity provider", once the
browser proved who it is with the server token) issues a one-time SSO token and the URL the
browser is sent back to; ``redeem_sso(token, proof_key)`` accepts it once in a login.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Login", "SessionStore"]

SESSION_VALIDITY_S = 3600  # what the login answer says (Snowflake: one hour)
MASTER_VALIDITY_S = 4 * 3600  # Snowflake: four hours
SSO_VALIDITY_S = 300  # an SSO request/token unused this long is dropped
MAX_SESSIONS = 10_000  # the oldest are forgotten past this (a login loop cannot grow memory)
MAX_SSO_REQUESTS = 1000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class Login:
    """What a login hands out (the two tokens are secrets: never logged)."""

    session_id: int
    user: str
    session: str
    master: str

    def __repr__(self) -> str:
        return f"Login(session_id={self.session_id}, user={self.user!r}, tokens=<hidden>)"


@dataclass
class _Session:
    session_id: int
    user: str
    master_digest: str
    session_expired: bool = False
    master_expired: bool = False


@dataclass
class _SsoRequest:
    port: int
    proof_key: str
    user: str
    at: float
    token_digest: str | None = None


class SessionStore:
    """The sessions of one server (thread-safe); see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._ids = 0
        self._by_session: dict[str, _Session] = {}  # session-token digest -> session
        self._gone: dict[str, None] = {}  # digests of closed or renewed tokens (oldest first)
        self._sso: dict[str, _SsoRequest] = {}  # request id -> request
        self._mfa: dict[str, str] = {}  # MFA-token digest -> user (what a connector caches)
        self._access: dict[str, None] = {}  # digests of OAuth access tokens issued

    def __repr__(self) -> str:
        return f"SessionStore(sessions={len(self._by_session)})"

    def open(self, user: str) -> Login:
        """A new session for ``user``: fresh session and master tokens."""
        session, master = _new_token(), _new_token()
        with self._lock:
            self._ids += 1
            if len(self._by_session) >= MAX_SESSIONS:
                del self._by_session[next(iter(self._by_session))]
            self._by_session[_digest(session)] = _Session(self._ids, user, _digest(master))
            return Login(self._ids, user, session, master)

    def state(self, token: str) -> str | None:
        """``'valid'``, ``'expired'``, ``'gone'`` (closed or renewed) or None (unknown)."""
        digest = _digest(token)
        with self._lock:
            found = self._by_session.get(digest)
            if found is not None:
                return "expired" if found.session_expired else "valid"
            return "gone" if digest in self._gone else None

    def renew(self, master: str, old_session: str | None) -> str | None:
        """A new session token for the session of ``master``; None if the master expired.

        Raises KeyError when ``master`` belongs to no session.
        """
        master_digest = _digest(master)
        with self._lock:
            for digest, found in self._by_session.items():
                if found.master_digest == master_digest and (
                        old_session is None or digest == _digest(old_session)):
                    break
            else:
                raise KeyError("no session has this master token")
            if found.master_expired:
                return None
            session = _new_token()
            del self._by_session[digest]
            self._forget(digest)
            found.session_expired = False
            self._by_session[_digest(session)] = found
            return session

    def close(self, token: str) -> bool:
        """End the session of ``token`` (valid or expired); False if it is unknown."""
        digest = _digest(token)
        with self._lock:
            if self._by_session.pop(digest, None) is None:
                return False
            self._forget(digest)
            return True

    def _forget(self, digest: str) -> None:
        self._gone[digest] = None
        if len(self._gone) > MAX_SESSIONS:
            del self._gone[next(iter(self._gone))]

    def expire(self, *, master: bool = False) -> int:
        """Expire every current session token (and master token too); how many sessions."""
        with self._lock:
            for found in self._by_session.values():
                found.session_expired = True
                found.master_expired = found.master_expired or master
            return len(self._by_session)

    def issue_mfa_token(self, user: str) -> str:
        """A token that stands for a passcode in later logins of ``user`` (MFA token caching)."""
        token = _new_token()
        with self._lock:
            if len(self._mfa) >= MAX_SESSIONS:
                del self._mfa[next(iter(self._mfa))]
            self._mfa[_digest(token)] = user
        return token

    def valid_mfa_token(self, token: str) -> bool:
        """Whether ``token`` is an MFA token this server issued."""
        with self._lock:
            return _digest(token) in self._mfa

    def issue_access_token(self) -> str:
        """An OAuth access token of the fake token endpoint (good for OAUTH logins)."""
        token = _new_token()
        with self._lock:
            if len(self._access) >= MAX_SESSIONS:
                del self._access[next(iter(self._access))]
            self._access[_digest(token)] = None
        return token

    def valid_access_token(self, token: str) -> bool:
        """Whether ``token`` is an OAuth access token this server issued."""
        with self._lock:
            return _digest(token) in self._access

    # -- the fake single sign-on of externalbrowser ---------------------------------------

    def begin_sso(self, port: int, user: str) -> tuple[str, str]:
        """(request id, proof key) for a connector waiting on ``localhost:port``."""
        request, proof_key = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        with self._lock:
            self._drop_stale_sso()
            if len(self._sso) >= MAX_SSO_REQUESTS:
                del self._sso[next(iter(self._sso))]
            self._sso[request] = _SsoRequest(port, proof_key, user, self._clock())
        return request, proof_key

    def confirm_sso(self, request: str) -> str | None:
        """The redirect URL (with a one-time SSO token) for ``request``; None if unknown."""
        token = _new_token()
        with self._lock:
            self._drop_stale_sso()
            found = self._sso.get(request)
            if found is None or found.token_digest is not None:
                return None
            found.token_digest = _digest(token)
            return f"http://localhost:{found.port}/?token={token}"

    def redeem_sso(self, token: str, proof_key: str) -> str | None:
        """The user of a confirmed SSO ``token`` presented with its proof key (once), else None."""
        digest = _digest(token)
        with self._lock:
            for request, found in self._sso.items():
                if found.token_digest == digest and secrets.compare_digest(
                        found.proof_key.encode(), proof_key.encode()):
                    del self._sso[request]
                    return found.user
            return None

    def _drop_stale_sso(self) -> None:
        now = self._clock()
        for request in [r for r, f in self._sso.items() if now - f.at > SSO_VALIDITY_S]:
            del self._sso[request]
