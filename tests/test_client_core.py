"""The request core (``tasknb.client._http.HttpSession``) used on its own, without a TaskClient.

Everything a call needs (202 polling, the large-result marker, error recasting, paging) lives
in the core, so a session over an ``httpx.Client`` does the whole job and ``AsyncResult``
polls through the session it is given.
"""

from __future__ import annotations

import httpx
import pytest
from client_support import BASE_URL, FAST_RETRY, TOKEN, error, ok, reply, task_body
from spec_validation import SpecValidatingTransport

from tasknb import AsyncResult, NotFound, PatAuth, TaskAlreadyExists, TaskNotFound
from tasknb.client._http import HttpSession, Pending
from tasknb.models import Task

P = "/api/v2/databases/DB/schemas/S/tasks"
RUNNING = {"code": "392604", "message": "Request execution in progress.", "resultHandler": "h1"}


def session_over(*answers: httpx.Response, **spec_options) -> tuple[HttpSession, list]:
    """A bare session whose server answers with each response in turn (spec-checked)."""
    queue, seen = list(answers), []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    transport = SpecValidatingTransport(httpx.MockTransport(handler), **spec_options)
    session = HttpSession.open(
        BASE_URL, auth=PatAuth(TOKEN), transport=transport, retry=FAST_RETRY, sleep=lambda s: None
    )
    return session, seen


def test_a_call_follows_202_to_the_final_body() -> None:
    session, seen = session_over(
        reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"}),
        reply(200, task_body("T1")),
    )
    body = session.call("GET", f"{P}/T1", idempotent=True, subject="DB.S.T1")
    assert body["name"] == "T1"
    assert [r.url.path for r in seen] == [f"{P}/T1", "/api/v2/results/h1"]


def test_a_call_without_waiting_returns_the_pending_request_with_its_subject() -> None:
    session, seen = session_over(reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"}))
    pending = session.call(
        "POST", f"{P}/T1:execute", idempotent=False, subject="DB.S.T1", wait=False
    )
    assert isinstance(pending, Pending)
    assert (pending.handle, pending.subject, pending.idempotent) == ("h1", "DB.S.T1", False)
    assert len(seen) == 1


def test_async_result_polls_through_the_session_it_was_given() -> None:
    session, seen = session_over(
        reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"}),
        reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"}),
        ok("Task T1 is executed."),
    )
    pending = session.call("POST", f"{P}/T1:execute", idempotent=False, wait=False)
    result = AsyncResult.running(session, pending, lambda body: body["status"], describe="x")
    assert result.done() is False
    assert result.wait() == "Task T1 is executed."
    assert result.done() is True and result.result == "Task T1 is executed."
    assert [r.method for r in seen] == ["POST", "GET", "GET"]


def test_an_async_result_without_a_session_cannot_be_running() -> None:
    pending = Pending("/api/v2/results/h1", "h1", None, "POST", f"{P}/T1:execute")
    with pytest.raises(TypeError, match="needs the session"):
        AsyncResult(None, pending, str)


def test_errors_are_recast_in_the_core_for_the_named_subject() -> None:
    session, _ = session_over(
        error(404, "002003", "Task 'DB.S.T1' does not exist or not authorized."),
        error(404, "002003", "Schema 'DB.S' does not exist or not authorized."),
        error(409, "002002", "Object 'T1' already exists."),
    )
    with pytest.raises(TaskNotFound):
        session.call("GET", f"{P}/T1", idempotent=True, subject="DB.S.T1")
    with pytest.raises(NotFound) as missing_schema:
        session.call("GET", f"{P}/T1", idempotent=True, subject="DB.S.T1")
    assert type(missing_schema.value) is NotFound
    with pytest.raises(TaskAlreadyExists, match="orReplace"):
        session.call("POST", P, json_body={"name": "T1", "definition": "select 1"},
                     idempotent=False, subject="DB.S.T1")


def test_rows_follow_the_large_result_marker_in_the_core() -> None:
    marker = {"result_handler": "big", "message": "Large result set. Use provided Link header."}
    session, seen = session_over(
        reply(200, marker),
        reply(200, [task_body("A"), task_body("B")],
              headers={"Link": '</api/v2/results/big?page=1>; rel="last"'}),
        reply(200, [task_body("C")]),
        allow_large_result_marker=True,
    )
    rows = session.rows(P, {"like": None}, Task._from_owned)
    assert seen == []  # lazily: nothing is sent before the first row is asked for
    assert [t.name for t in rows] == ["A", "B", "C"]
    assert [r.url.raw_path.decode() for r in seen] == [
        P,
        "/api/v2/results/big",
        "/api/v2/results/big?page=1",
    ]
