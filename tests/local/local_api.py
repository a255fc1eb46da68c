"""The plain-httpx driver of the local server tests (import it, never ``conftest``).

    >>> T0.isoformat()
    '2026-01-05T08:00:00+00:00'
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx

from tasknb.local.server import LocalServer

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


class Api:
    """httpx over loopback, rooted at one database and schema."""

    def __init__(self, server: LocalServer, database: str, schema: str) -> None:
        self.server = server
        self.database = database
        self.schema = schema
        self.http = httpx.Client(base_url=server.url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {server.token}"})
        self.base = f"/api/v2/databases/{database}/schemas/{schema}/tasks"

    def close(self) -> None:
        self.http.close()

    def create(self, name: str, definition: str = "select 1", *, mode: str | None = None,
               expect: int = 200, **props: Any) -> httpx.Response:
        params = {"createMode": mode} if mode else None
        response = self.http.post(self.base, params=params,
                                  json={"name": name, "definition": definition, **props})
        assert response.status_code == expect, response.text
        return response

    def fetch(self, name: str) -> dict[str, Any]:
        response = self.http.get(f"{self.base}/{name}")
        assert response.status_code == 200, response.text
        return response.json()

    def action(self, name: str, verb: str, expect: int = 200, **params: Any) -> httpx.Response:
        response = self.http.post(f"{self.base}/{name}:{verb}", params=params or None)
        assert response.status_code == expect, response.text
        return response

    def execute(self, name: str, **params: Any) -> dict[str, Any]:
        """Execute synchronously and wait for the graph run; return the finished run."""
        self.action(name, "execute", **params)
        assert self.server.service.wait_idle(30)
        runs = self.http.get(f"{self.base}/{name}/complete-graphs").json()
        return runs[0]
