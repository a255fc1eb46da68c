"""The connector's session endpoints, so that snowflake-core can log in to the local server.

``POST /session/v1/login-request`` takes the token as the password (or ``TOKEN``) and answers
with it as the session token; the other endpoints acknowledge what the connector sends.
"""

from __future__ import annotations

import uuid

from tasknb.local.api.http import Call, Reply

LOGIN_REFUSED = {"success": False, "code": "390100", "data": None,
                 "message": "Incorrect username or password was specified. Use the local "
                            "server's token as the password or token."}
DONE = {"success": True, "data": None, "code": None, "message": None}


async def login(call: Call) -> Reply:
    """POST /session/v1/login-request (no token needed: this is where the connector gets it)."""
    body = await call.json_body(required=False)
    if not call.gate.login(body, call.address):
        return Reply(LOGIN_REFUSED)
    token = call.gate.token
    return Reply({"success": True, "code": None, "message": None, "data": {
        "token": token, "masterToken": token, "sessionId": 1, "parameters": [],
        "sessionInfo": {"databaseName": None, "schemaName": None, "warehouseName": None,
                        "roleName": "ACCOUNTADMIN"},
    }})


async def token_request(call: Call) -> Reply:
    """POST /session/token-request: the session token stays the server's token."""
    token = call.gate.token
    return Reply({"success": True, "data": {"sessionToken": token, "masterToken": token,
                                            "sessionId": 1}})


async def acknowledge(call: Call) -> Reply:
    """POST /session (logout) and /telemetry/send."""
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
