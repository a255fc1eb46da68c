"""The connector's session endpoints: logins, renewal, logout, and a fake single sign-on.

``POST /session/v1/login-request`` takes the server token as the password (``SNOWFLAKE``,
``USERNAME_PASSWORD_MFA`` with any passcode or a cached MFA token) or as the token
(``PROGRAMMATIC_ACCESS_TOKEN``, ``OAUTH``), or the one-time token of the fake SSO
(``EXTERNALBROWSER``), and answers with a new session token and master token
(:mod:`tasknb.local.api.logins`). ``POST /session/token-request`` renews the session token with
the master token (``390114`` once the master token expired: log in again); ``POST
/session?delete=true`` ends the session. ``POST /tasknb/v1/sessions:expire`` expires every
session (``{"master": true}``: the master tokens too), for tests of renewal. ``POST
/oauth/token-request`` is a fake OAuth token endpoint (client credentials, the server token as
the client secret) whose access tokens an ``OAUTH`` login accepts.

The fake SSO of ``externalbrowser``: ``POST /session/authenticator-request`` answers an
``ssoUrl`` (``https://HOST/tasknb/v1/sso/REQUEST``: the connector accepts only https; the local
server speaks plain HTTP, so a browser of a test opens it with ``http``). ``POST
/tasknb/v1/sso/REQUEST:confirm`` with the server token is the identity provider's "yes": it
answers the ``redirect`` URL (``http://localhost:PORT/?token=...``) that the browser then opens,
which hands the connector its one-time token.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import parse_qsl

from tasknb.local.api.auth import LOGIN_SECRET_FIELDS, SESSION_GONE, presented_token
from tasknb.local.api.http import Call, Reply
from tasknb.local.rules import ApiError, bad_request

LOGIN_REFUSED = {"success": False, "code": "390100", "data": None,
                 "message": "Incorrect username or password was specified. Use the local "
                            "server's token as the password or token."}
MFA_REQUIRED = {"success": False, "code": "394508", "data": None,
                "message": "MFA authentication is required: send a passcode (any code works on "
                           "the local server) or a cached MFA token."}
SSO_REFUSED = {"success": False, "code": "390190", "data": None,
               "message": "The single sign-on token is unknown, already used or does not match "
                          "its proof key: start the externalbrowser login again."}
MASTER_EXPIRED = {"success": False, "code": "390114", "data": None,
                  "message": "Authentication token has expired.  The user must authenticate "
                             "again."}
MASTER_UNKNOWN = {"success": False, "code": "390115", "data": None,
                  "message": "Master token is invalid or does not belong to this session: log "
                             "in again."}
DONE = {"success": True, "data": None, "code": None, "message": None}
SSO_PATH = "/tasknb/v1/sso"


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _session_parameter(data: dict[str, Any], key: str) -> Any:
    params = data.get("SESSION_PARAMETERS")
    return params.get(key) if isinstance(params, dict) else None


async def login(call: Call) -> Reply:
    """POST /session/v1/login-request (no token needed: this is where the connector gets it)."""
    body = await call.json_body(required=False)
    data = _data(body)
    authenticator = (_text(data, "AUTHENTICATOR") or "SNOWFLAKE").upper()
    user = _text(data, "LOGIN_NAME") or "LOCAL_USER"
    sessions = call.gate.sessions
    extra: dict[str, Any] = {}
    if authenticator == "EXTERNALBROWSER":
        user_of_sso = sessions.redeem_sso(_text(data, "TOKEN") or "",
                                          _text(data, "PROOF_KEY") or "")
        if user_of_sso is None:
            return Reply(SSO_REFUSED)
    elif authenticator == "USERNAME_PASSWORD_MFA":
        if not call.gate.login({"data": {"PASSWORD": data.get("PASSWORD")}}, call.address):
            return Reply(LOGIN_REFUSED)
        cached = _text(data, "TOKEN")
        if not _text(data, "PASSCODE") and not data.get("PASSCODE_IN_PASSWORD") and not (
                cached and sessions.valid_mfa_token(cached)):
            return Reply(MFA_REQUIRED)
        if _session_parameter(data, "CLIENT_REQUEST_MFA_TOKEN"):
            extra["mfaToken"] = sessions.issue_mfa_token(user)
    elif authenticator == "OAUTH" and sessions.valid_access_token(_text(data, "TOKEN") or ""):
        pass  # an access token of the fake OAuth token endpoint
    elif not call.gate.login({"data": {k: data.get(k) for k in LOGIN_SECRET_FIELDS}},
                             call.address):
        return Reply(LOGIN_REFUSED)
    opened = sessions.open(user)
    return Reply({"success": True, "code": None, "message": None, "data": {
        "token": opened.session, "masterToken": opened.master,
        "validityInSeconds": 3600, "masterValidityInSeconds": 14400,
        "sessionId": opened.session_id, "parameters": [], **extra,
        "sessionInfo": {"databaseName": None, "schemaName": None, "warehouseName": None,
                        "roleName": "ACCOUNTADMIN"},
    }})


async def authenticator_request(call: Call) -> Reply:
    """POST /session/authenticator-request: where an externalbrowser login is sent to sign in."""
    data = _data(await call.json_body(required=False))
    authenticator = (_text(data, "AUTHENTICATOR") or "").upper()
    port = str(data.get("BROWSER_MODE_REDIRECT_PORT") or "")
    if authenticator != "EXTERNALBROWSER" or not port.isdigit() or not 0 < int(port) < 65536:
        return Reply({"success": False, "code": "390400", "data": None,
                      "message": "The local server's single sign-on serves EXTERNALBROWSER "
                                 "logins that say their BROWSER_MODE_REDIRECT_PORT."})
    request, proof_key = call.gate.sessions.begin_sso(int(port), _text(data, "LOGIN_NAME") or "")
    host = call.request.headers.get("host") or "127.0.0.1"
    return Reply({"success": True, "code": None, "message": None, "data": {
        "ssoUrl": f"https://{host}{SSO_PATH}/{request}", "proofKey": proof_key}})


async def confirm_sso(call: Call) -> Reply:
    """POST /tasknb/v1/sso/{request}:confirm (with the server token): the IdP's "signed in"."""
    redirect = call.gate.sessions.confirm_sso(call.params["request"])
    if redirect is None:
        raise ApiError(404, "390404", "No single sign-on request waits under this id (each is "
                                      "confirmed once, within 5 minutes): start the login again.")
    return Reply({"redirect": redirect})


async def oauth_token(call: Call) -> Reply:
    """POST /oauth/token-request: a fake OAuth token endpoint (client credentials grant).

    The client secret (HTTP Basic, or ``client_secret`` in the form) is the server token; the
    answer is a new access token that an ``OAUTH`` login accepts.
    """
    form = dict(parse_qsl((await call.request.body()).decode("utf-8", "replace")))
    if form.get("grant_type") != "client_credentials":
        raise ApiError(400, "390400", "The local server's OAuth token endpoint serves the "
                                      "client_credentials grant only.")
    secret = form.get("client_secret")
    header = call.request.headers.get("authorization") or ""
    if header.lower().startswith("basic "):
        try:
            secret = base64.b64decode(header[6:].strip()).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            secret = None
    if not secret or not call.gate.login({"data": {"PASSWORD": secret}}, call.address):
        raise ApiError(401, "390100", "invalid_client: use the local server's token as the "
                                      "client secret.")
    return Reply({"access_token": call.gate.sessions.issue_access_token(),
                  "token_type": "Bearer", "expires_in": 600})


async def token_request(call: Call) -> Reply:
    """POST /session/token-request: a new session token for the master token presented."""
    body = await call.json_body(required=False)
    master = presented_token(call.request.headers.get("authorization"))
    if master is None:
        raise ApiError(401, SESSION_GONE, "Send the master token: Authorization: Snowflake "
                                          'Token="<masterToken>".')
    request_type = str((body or {}).get("requestType") or "RENEW").upper()
    if request_type not in {"RENEW", "ISSUE"}:
        raise bad_request(f"requestType {request_type!r} is not RENEW or ISSUE.")
    old = (body or {}).get("oldSessionToken")
    try:
        session = call.gate.sessions.renew(master, old if isinstance(old, str) else None)
    except KeyError:
        call.gate.limit.failed(call.address)  # an unknown master token is a guess
        return Reply(MASTER_UNKNOWN)
    if session is None:
        return Reply(MASTER_EXPIRED)
    return Reply({"success": True, "code": None, "message": None, "data": {
        "sessionToken": session, "validityInSecondsST": 3600}})


async def logout(call: Call) -> Reply:
    """POST /session?delete=true: end the session of the token presented (even if expired)."""
    token = presented_token(call.request.headers.get("authorization"))
    if token is not None and call.gate.sessions.close(token):
        return Reply(DONE)
    call.gate.require(call.request.headers.get("authorization"), call.address,
                      "Authentication failed: session token missing or not this server's.")
    return Reply(DONE)


async def expire(call: Call) -> Reply:
    """POST /tasknb/v1/sessions:expire ``{"master": false}``: expire every session token."""
    body = await call.json_body(required=False) or {}
    master = body.get("master", False) if isinstance(body, dict) else None
    if not isinstance(master, bool):
        raise bad_request('Send {"master": true} to expire the master tokens too, or no body.')
    return Reply({"expired": call.gate.sessions.expire(master=master), "master": master})


async def acknowledge(call: Call) -> Reply:
    """POST /telemetry/send."""
    return Reply(DONE)


async def query_request(call: Call) -> Reply:
    """POST /queries/v1/query-request: the connector's SYSTEM$CLIENT_VERSION_INFO() probe."""
    return Reply({"success": True, "code": None, "message": None, "data": {
        "queryId": str(uuid.uuid4()), "queryResultFormat": "json", "parameters": [],
        "rowtype": [{"name": "SYSTEM$CLIENT_VERSION_INFO()", "type": "text",
                     "nullable": True, "length": 16777216, "precision": None,
                     "scale": None, "byteLength": 16777216}],
        "rowset": [["[]"]], "total": 1, "returned": 1, "statementTypeId": 4096,
        "finalDatabaseName": None, "finalSchemaName": None, "finalWarehouseName": None,
        "finalRoleName": "ACCOUNTADMIN"}})
