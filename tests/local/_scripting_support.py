"""What the scripting and procedure tests share: SQL over the SQL API, task history."""

from __future__ import annotations

from typing import Any

from local_api import Api


def sql(api: Api, statement: str) -> dict[str, Any]:
    """Run one statement through the SQL API (POST /api/v2/statements); it must succeed."""
    response = api.http.post("/api/v2/statements", json={
        "statement": statement, "database": api.database, "schema": api.schema})
    assert response.status_code == 200, response.text
    return response.json()


def rows(api: Api, query: str) -> list[list[Any]]:
    return sql(api, query)["data"]


def history(api: Api, name: str) -> list[dict[str, Any]]:
    response = api.http.get(
        f"/tasknb/v1/databases/{api.database}/schemas/{api.schema}/tasks/{name}/history")
    assert response.status_code == 200, response.text
    return response.json()


def run_task(api: Api, name: str, definition: str) -> dict[str, Any]:
    """Create a standalone task, execute it over REST, return its latest run's record."""
    api.create(name, definition)
    api.execute(name.upper())
    return history(api, name.upper())[0]
