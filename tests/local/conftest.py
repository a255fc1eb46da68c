"""Fixtures for the local server tests: real servers on loopback, driven with plain httpx.

* ``server``: one manual-clock server per test module (tests use their own schema via ``api``).
* ``fresh_server``: a server of a test's own (for schedules, restarts, clocks).
* ``api``: an :class:`Api` bound to a new database/schema on ``server``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from local_api import T0, Api

import tasknb.local
from tasknb.local.server import LocalServer


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with tasknb.local.start(clock="manual", start_time=T0) as srv:
        yield srv


@pytest.fixture
def fresh_server(tmp_path: Any) -> Iterator[LocalServer]:
    with tasknb.local.start(clock="manual", start_time=T0, data_dir=tmp_path / "data") as srv:
        yield srv


def make_api(server: LocalServer) -> Api:
    database = "DB_" + uuid.uuid4().hex[:8].upper()
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"})
    assert http.post("/api/v2/databases", json={"name": database}).status_code == 200
    assert http.post(f"/api/v2/databases/{database}/schemas",
                     json={"name": "S"}).status_code == 200
    http.close()
    return Api(server, database, "S")


@pytest.fixture
def api(server: LocalServer) -> Iterator[Api]:
    client = make_api(server)
    yield client
    client.close()


@pytest.fixture
def fresh_api(fresh_server: LocalServer) -> Iterator[Api]:
    client = make_api(fresh_server)
    yield client
    client.close()
