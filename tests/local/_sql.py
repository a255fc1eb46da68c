"""SQL over the local server's SQL API (``POST /api/v2/statements``), for the SQL feature tests."""

from __future__ import annotations

import time
from typing import Any

from local_api import Api


def submit(api: Api, statement: str, *, expect: int = 200) -> dict[str, Any]:
    """Run one statement in the api's database and schema; the JSON answer (polls a 202)."""
    response = api.http.post("/api/v2/statements", json={
        "statement": statement, "database": api.database, "schema": api.schema})
    deadline = time.monotonic() + 30
    while response.status_code == 202 and expect != 202 and time.monotonic() < deadline:
        time.sleep(0.02)
        response = api.http.get(f"/api/v2/statements/{response.json()['statementHandle']}")
    assert response.status_code == expect, response.text
    return response.json()


def rows(api: Api, statement: str) -> list[list[str | None]]:
    """The rows of a query, as the SQL API's JSON strings."""
    return submit(api, statement)["data"]


def error(api: Api, statement: str) -> tuple[str, str]:
    """(code, message) of a statement that must fail (422)."""
    body = submit(api, statement, expect=422)
    return body["code"], body["message"]


def task_history(api: Api, task: str) -> list[dict[str, Any]]:
    """A task's runs, newest first (the tasknb history extension)."""
    response = api.http.get(f"/tasknb/v1/databases/{api.database}/schemas/{api.schema}/tasks/"
                            f"{task}/history", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()
