"""Session logins through snowflake-connector-python (the ``connector`` extra).

    >>> SessionAuth(lambda: SessionTokens(Secret("s" * 32), Secret("m" * 32)),
    ...             describe="EXTERNALBROWSER as ALICE")
    SessionAuth(EXTERNALBROWSER as ALICE, session=***)

For every authenticator the connector knows (``externalbrowser``, ``snowflake`` password,
``username_password_mfa`` with MFA-token caching, ``oauth_*`` flows, Okta URLs, workload
identity) the connector logs in from the same connection entry; tasknb takes the session and
master tokens it got and then owns the session over its own HTTP:

* every REST and SQL API call carries ``Authorization: Snowflake Token="<session token>"``;
* when Snowflake answers that the session token expired (``390112``), the master token renews
  it (``POST /session/token-request``, as the connector does) and the request is sent again;
  when the master token expired too (``390114``) or the session is gone (``390111``), the
  connector logs in again (an ``externalbrowser`` login opens the browser again, unless the
  connector cached the credential);
* ``close()`` (called by ``TaskClient.close()``) ends the session (``POST
  /session?delete=true``).

The connector is told to keep the session at its own close (``server_session_keep_alive``):
it hands the session over instead of ending it. Tokens are ``Secret``: never in a repr, a log
line or an error.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._extras import require
from ._secret import Secret
from .errors import AuthError

__all__ = [
    "MASTER_TOKEN_EXPIRED",
    "SESSION_EXPIRED",
    "SESSION_GONE",
    "SessionAuth",
    "SessionTokens",
    "connector_login",
    "connector_parameters",
]

SESSION_EXPIRED = "390112"  # the session token expired: renew it with the master token
MASTER_TOKEN_EXPIRED = "390114"  # the master token expired: log in again
SESSION_GONE = "390111"  # the session no longer exists: log in again
RELOGIN_CODES = frozenset({MASTER_TOKEN_EXPIRED, SESSION_GONE, "390113", "390115"})
SESSION_CODES = frozenset({SESSION_EXPIRED}) | RELOGIN_CODES
TOKEN_REQUEST_PATH = "/session/token-request"
LOGOUT_PATH = "/session"
#: connection keys that are tasknb's own, not the connector's
_TASKNB_ONLY = frozenset({"base_url"})
#: tasknb's names -> the connector's, where they differ
_CONNECTOR_NAMES = {"private_key_passphrase": "private_key_file_pwd"}


@dataclass(frozen=True)
class SessionTokens:
    """The two tokens of a login (both secrets)."""

    session: Secret
    master: Secret | None = None


def connector_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``snowflake.connector.connect`` keywords for resolved connection values.

        >>> connector_parameters({"base_url": "http://127.0.0.1:8123", "user": "ME",
        ...                       "password": Secret("pw"), "authenticator": "snowflake"})
        ... # doctest: +NORMALIZE_WHITESPACE
        {'user': 'ME', 'password': 'pw', 'authenticator': 'snowflake', 'host': '127.0.0.1',
         'protocol': 'http', 'port': 8123, 'account': 'local', 'server_session_keep_alive': True,
         'enable_server_session_keep_alive_auto_detection': False}

    Secrets are revealed (for the connector only); ``base_url`` becomes host/port/protocol;
    the connector keeps the session at its close (tasknb ends it).
    """
    params: dict[str, Any] = {}
    for key, value in values.items():
        if key in _TASKNB_ONLY or value is None:
            continue
        params[_CONNECTOR_NAMES.get(key, key)] = (
            value.reveal() if isinstance(value, Secret) else value)
    base_url = values.get("base_url")
    if base_url and not values.get("host"):
        parts = urlsplit(str(base_url))
        params["host"] = parts.hostname
        params["protocol"] = parts.scheme
        params["port"] = parts.port or (443 if parts.scheme == "https" else 80)
        params.setdefault("account", "local")
    params["server_session_keep_alive"] = True
    params["enable_server_session_keep_alive_auto_detection"] = False
    return params


def connector_login(params: Mapping[str, Any], describe: str) -> SessionTokens:
    """Log in with snowflake-connector-python; the session's tokens (the connection is closed).

    Raises ``MissingExtra`` (naming ``pip install "tasknb[connector]"``) without the
    connector, and ``AuthError`` with the connector's message when the login fails.
    """
    require("connector", f"authenticator {describe}")
    from importlib.metadata import version

    import snowflake.connector
    from snowflake.connector.errors import Error as ConnectorError

    params = dict(params)
    if int(version("snowflake-connector-python").partition(".")[0]) < 5:
        # connector 3 and 4 do not know it (and would warn about an unknown parameter)
        params.pop("enable_server_session_keep_alive_auto_detection", None)
    with warnings.catch_warnings():
        # the connector's .rest (token, master_token) is kept for snowflake-core and the CLI
        # and warns that it is; tasknb reads exactly those two values
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            connection = snowflake.connector.connect(**params)
        except ConnectorError as exc:
            message = str(getattr(exc, "raw_msg", None) or exc).strip()
            raise AuthError(f"login with authenticator {describe} failed: {message}") from None
        try:
            token = connection.rest.token
            master = connection.rest.master_token
        finally:
            connection.close()  # keeps the session: server_session_keep_alive
    if not token:
        raise AuthError(f"login with authenticator {describe} gave no session token")
    return SessionTokens(Secret(token), Secret(master) if master else None)


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if code is not None else None


class SessionAuth(httpx.Auth):
    """A Snowflake session: ``Authorization: Snowflake Token="..."``, renewed when it expires.

    ``login`` returns the tokens of a new session (``connector_login`` bound to a connection
    entry, or anything with that shape); it runs at the first request, and again when the
    session cannot be renewed. ``logins``/``renewals`` count what happened (for tests).
    """

    requires_response_body = True  # the error code (390112, ...) is in the body of the 401

    def __init__(self, login: Callable[[], SessionTokens], *, describe: str) -> None:
        self._login = login
        self.describe = describe
        self._lock = threading.Lock()
        self._tokens: SessionTokens | None = None
        self._base: str | None = None
        self.logins = 0
        self.renewals = 0

    def __repr__(self) -> str:
        return f"SessionAuth({self.describe}, session=***)"

    def _current(self) -> SessionTokens:
        with self._lock:
            if self._tokens is None:
                self._tokens = self._login()
                self.logins += 1
            return self._tokens

    @staticmethod
    def _apply(request: httpx.Request, tokens: SessionTokens) -> None:
        request.headers["Authorization"] = f'Snowflake Token="{tokens.session.reveal()}"'
        request.headers.pop("X-Snowflake-Authorization-Token-Type", None)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        tokens = self._current()
        self._base = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self._apply(request, tokens)
        response = yield request
        if response.status_code != 401 or _code(response) not in SESSION_CODES:
            return
        # a 401 means nothing was applied: one resend on a fresh session is safe for any method
        code = _code(response)
        with self._lock:
            if self._tokens is tokens:  # no other request renewed it meanwhile
                renewed = None
                if code == SESSION_EXPIRED and tokens.master is not None:
                    renewed = yield self._renewal(request, tokens)
                fresh = self._renewed(tokens, renewed)
                if fresh is None:
                    fresh = self._login()
                    self.logins += 1
                self._tokens = fresh
            tokens = self._tokens
        self._apply(request, tokens)
        yield request

    def _renewal(self, request: httpx.Request, tokens: SessionTokens) -> httpx.Request:
        assert tokens.master is not None
        return httpx.Request(
            "POST", request.url.copy_with(path=TOKEN_REQUEST_PATH,
                                          params={"requestId": str(uuid.uuid4())}),
            json={"oldSessionToken": tokens.session.reveal(), "requestType": "RENEW"},
            headers={"Authorization": f'Snowflake Token="{tokens.master.reveal()}"',
                     "Accept": "application/json"})

    def _renewed(self, tokens: SessionTokens,
                 response: httpx.Response | None) -> SessionTokens | None:
        if response is None or response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        data = body.get("data") if isinstance(body, dict) and body.get("success") else None
        session = data.get("sessionToken") if isinstance(data, dict) else None
        if not isinstance(session, str) or not session:
            return None  # 390114 (the master token expired) and the like: log in again
        self.renewals += 1
        master = data.get("masterToken")
        return SessionTokens(Secret(session),
                             Secret(master) if isinstance(master, str) and master
                             else tokens.master)

    def close(self, client: httpx.Client | None = None) -> None:
        """End the session (``POST /session?delete=true``); best effort, never raises."""
        with self._lock:
            tokens, self._tokens = self._tokens, None
        if tokens is None or self._base is None:
            return
        try:
            sender = client or httpx.Client()
            try:
                sender.post(f"{self._base}{LOGOUT_PATH}", params={"delete": "true"}, json={},
                            headers={"Authorization":
                                     f'Snowflake Token="{tokens.session.reveal()}"'},
                            auth=None, timeout=10.0)
            finally:
                if client is None:
                    sender.close()
        except httpx.HTTPError:
            pass  # the session expires on the server by itself
