"""The spec-validating transport itself: it must catch drift, or the other tests prove nothing."""

from __future__ import annotations

import httpx
import pytest
from client_support import BASE_URL, reply, task_body
from spec_validation import SpecValidatingTransport, SpecViolation, match_operation

P = "/api/v2/databases/DB/schemas/S/tasks"


def _send(request: httpx.Request, response: httpx.Response) -> SpecValidatingTransport:
    transport = SpecValidatingTransport(httpx.MockTransport(lambda r: response))
    transport.handle_request(request)
    return transport


def _get(url: str, **headers: str) -> httpx.Request:
    base = {"Accept": "application/json", "Authorization": "Bearer t"}
    return httpx.Request("GET", url, headers={**base, **headers})


def test_a_valid_exchange_passes_and_is_recorded() -> None:
    transport = _send(_get(f"{BASE_URL}{P}?rootOnly=false"), reply(200, [task_body("T")]))
    assert transport.exchanges == [("GET", "listTasks", 200)]
    transport.assert_clean()


@pytest.mark.parametrize(
    ("url", "match"),
    [
        (f"{BASE_URL}{P}?rootOnly=True", "must be spelled true or false"),
        (f"{BASE_URL}{P}?root_only=true", "not declared by listTasks"),
        (f"{BASE_URL}{P}?showLimit=0", "showLimit"),
        (f"{BASE_URL}/api/v2/databases/DB/schemas/S/task", "not an operation of the spec"),
        (f"{BASE_URL}{P}/my-task", "does not match"),
        (f"{BASE_URL}{P}/T1:execute", "GET .* not an operation"),
    ],
)
def test_request_violations_are_caught(url: str, match: str) -> None:
    with pytest.raises(SpecViolation, match=match):
        _send(_get(url), reply(200, []))


def test_missing_accept_header_is_caught() -> None:
    request = httpx.Request("GET", f"{BASE_URL}{P}", headers={"Authorization": "Bearer t"})
    with pytest.raises(SpecViolation, match="Accept"):
        _send(request, reply(200, []))


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (reply(200, [task_body("T", state="STARTED")]), "STARTED"),
        (reply(200, [{"name": "T"}]), "definition"),
        (reply(200, [task_body("T")], headers={"X-Snowflake-Request-ID": "abc"}), "uuid"),
        (reply(200, {"not": "a list"}), "array"),
        (reply(200, raw=b'[{"name": "T", "defin'), "not JSON"),
    ],
)
def test_response_violations_are_caught(response: httpx.Response, match: str) -> None:
    with pytest.raises(SpecViolation, match=match):
        _send(_get(f"{BASE_URL}{P}"), response)


def test_result_pages_are_checked_against_the_originating_operation() -> None:
    link = '</api/v2/results/h1?page=1>; rel="next", </api/v2/results/h1?page=1>; rel="last"'
    responses = iter(
        [reply(200, [task_body("A")], headers={"Link": link}), reply(200, [{"name": "B"}])]
    )
    transport = SpecValidatingTransport(httpx.MockTransport(lambda r: next(responses)))
    transport.handle_request(_get(f"{BASE_URL}{P}"))
    with pytest.raises(SpecViolation, match="as the answer of listTasks"):
        transport.handle_request(_get(f"{BASE_URL}/api/v2/results/h1?page=1"))


def test_loopback_servers_match_the_templated_spec_server() -> None:
    transport = _send(_get(f"http://127.0.0.1:54321{P}"), reply(200, []))
    assert transport.exchanges == [("GET", "listTasks", 200)]


def test_path_matching_decodes_names_and_keeps_verbs_apart() -> None:
    op, params = match_operation("POST", f"{P}/%22My%20Task%22:execute")
    assert op.operation_id == "executeTask" and params["name"] == '"My Task"'
    op, params = match_operation("GET", f"{P}/T1")
    assert op.operation_id == "fetchTask"
