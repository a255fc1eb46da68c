"""Every Task operation, checked against the official OpenAPI (tests/spec_validation.py).

The validating transport wraps a real loopback connection: requests and responses (bodies,
status codes, declared headers) must match task.yaml / result.yaml, errors included. Requests the
spec itself refuses (bad bodies, out-of-range parameters) are tested in test_api_tasks.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tasknb.local.server import LocalServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spec_validation import SpecValidatingTransport


@pytest.fixture
def spec_http(server: LocalServer) -> Iterator[tuple[httpx.Client, SpecValidatingTransport, str]]:
    server.service.ensure_schema("CONTRACT_DB", "S")
    transport = SpecValidatingTransport(httpx.HTTPTransport())
    client = httpx.Client(base_url=server.url, transport=transport, timeout=30,
                          headers={"Authorization": f"Bearer {server.token}",
                                   "X-Snowflake-Authorization-Token-Type":
                                       "PROGRAMMATIC_ACCESS_TOKEN",
                                   "Accept": "application/json"})
    yield client, transport, "/api/v2/databases/CONTRACT_DB/schemas/S/tasks"
    client.close()
    server.service.delete_database("CONTRACT_DB")


def test_every_task_operation_matches_the_spec(
        server: LocalServer, spec_http: tuple[httpx.Client, SpecValidatingTransport, str]) -> None:
    http, transport, base = spec_http
    statuses = []

    def call(method: str, url: str, **kwargs: object) -> httpx.Response:
        response = http.request(method, url, **kwargs)  # type: ignore[arg-type]
        statuses.append((method, url.split("?")[0], response.status_code))
        return response

    assert call("POST", base, json={
        "name": "ROOT", "definition": "select 1", "config": {"a": "b"}, "comment": "c",
        "schedule": {"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *",
                     "timezone": "Europe/Paris"}}).status_code == 200
    assert call("POST", base, json={"name": "CHILD", "definition": "select 1/0",
                                    "predecessors": ["ROOT"]}).status_code == 200
    assert call("POST", base, params={"createMode": "orReplace"},
                json={"name": "FIN", "definition": "select 1", "finalize": "ROOT"}
                ).status_code == 200
    assert call("POST", base, json={"name": "ROOT", "definition": "select 1"}).status_code == 409
    assert call("GET", base, params={"rootOnly": "true", "like": "%", "showLimit": 10}
                ).status_code == 200
    assert call("GET", f"{base}/ROOT").status_code == 200
    assert call("GET", f"{base}/MISSING").status_code == 404
    assert call("PUT", f"{base}/CHILD", json={"name": "CHILD", "definition": "select 1/0",
                                              "predecessors": ["ROOT"], "comment": "x"}
                ).status_code == 200
    for name in ("CHILD", "FIN", "ROOT"):
        assert call("POST", f"{base}/{name}:resume").status_code == 200
    assert call("POST", f"{base}/CHILD:suspend").status_code == 400  # 091421
    assert call("POST", f"{base}/ROOT:execute", params={"retryLast": "false"}).status_code == 200
    assert server.service.wait_idle(30)
    response = call("POST", f"{base}/ROOT:execute", params={"asyncExec": "true",
                                                            "retryLast": "true"})
    assert response.status_code == 202
    location = response.headers["Location"]
    deadline = time.monotonic() + 10
    while call("GET", location).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.service.wait_idle(30)
    for path in ("current-graphs", "current_graphs"):
        assert call("GET", f"{base}/ROOT/{path}", params={"resultLimit": 5}).status_code == 200
    for path in ("complete-graphs", "complete_graphs"):
        response = call("GET", f"{base}/ROOT/{path}", params={"resultLimit": 5,
                                                             "errorOnly": "true"})
        assert response.status_code == 200
        assert [r["state"] for r in response.json()] == ["FAILED", "FAILED"]
    assert call("GET", f"{base}/ROOT/dependents", params={"recursive": "false"}
                ).status_code == 200
    assert call("POST", f"{base}/ROOT:set-tags", params={"ifExists": "false"},
                json=[{"tag_name": "T", "tag_value": "v"}]).status_code == 200
    assert call("GET", f"{base}/ROOT:get-tags", params={"withLineage": "true"}
                ).status_code == 200
    assert call("POST", f"{base}/ROOT:unset-tags", json=[{"tag_name": "T"}]).status_code == 200
    assert call("POST", f"{base}/ROOT:suspend").status_code == 200
    assert call("DELETE", f"{base}/FIN").status_code == 200
    assert call("DELETE", f"{base}/FIN", params={"ifExists": "true"}).status_code == 200
    transport.assert_clean()
    operations = {op for _, op, _ in transport.exchanges}
    assert {"listTasks", "createTask", "fetchTask", "createOrAlterTask", "deleteTask",
            "executeTask", "resumeTask", "suspendTask", "fetchTaskDependents",
            "getCurrentGraphs", "getCurrentGraphsDeprecated", "getCompleteGraphs",
            "getCompleteGraphsDeprecated", "setTags", "unsetTags", "getTags",
            "fetchResult"} <= operations
