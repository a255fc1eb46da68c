"""Fault tests through a misbehaving transport: retries, no resends, 202, paging, errors."""

from __future__ import annotations

import email.utils
import random
import time

import httpx
import pytest
from client_support import error, ok, reply, task_body

from tasknb import (
    ApiError,
    Conflict,
    Forbidden,
    InvalidResponse,
    NotFound,
    RateLimited,
    Redirected,
    RequestMayHaveBeenApplied,
    ResultTimeout,
    RetryPolicy,
    ServiceUnavailable,
    TaskAlreadyExists,
    TaskNotFound,
    TransportError,
    Unauthorized,
)

P = "/api/v2/databases/DB/schemas/S/tasks"
RUNNING = {"code": "392604", "message": "Request execution in progress.", "resultHandler": "h1"}


def scripted(*steps):
    """A handler answering with each step in turn (a response, or an exception to raise)."""
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handler


# -- retries ------------------------------------------------------------------------------


def test_429_then_200_is_retried(api) -> None:
    client = api.client(scripted(error(429, "000429", "Too many requests"), reply(200, [])))
    assert client.list_tasks() == []
    assert len(api.requests) == 2
    assert len(api.sleeps) == 1 and 0 <= api.sleeps[0] <= 0.01


def test_429_on_execute_is_retried_because_the_server_refused_it(api) -> None:
    client = api.client(scripted(error(429, "000429", "Too many requests"), ok("Task executed.")))
    assert client.execute_task("root") == "Task executed."
    assert [r.url.path for r in api.requests] == [f"{P}/ROOT:execute"] * 2


def test_503_with_retry_after_seconds_is_honoured(api) -> None:
    busy = error(503, "000503", "Service unavailable")
    busy.headers["Retry-After"] = "2"
    client = api.client(scripted(busy, reply(200, task_body("T1"))))
    assert client.fetch_task("t1").name == "T1"
    assert api.sleeps == [2.0]


def test_retry_after_http_date_is_honoured_and_capped(api) -> None:
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    busy = error(503, "000503", "Service unavailable")
    busy.headers["Retry-After"] = later
    client = api.client(scripted(busy, reply(200, [])))
    client.list_tasks()
    assert api.sleeps == [30.0]  # FAST_RETRY.retry_after_cap


def test_retries_give_up_with_the_last_error(api) -> None:
    client = api.client(lambda r: error(504, "000504", "Gateway timeout"))
    with pytest.raises(ServiceUnavailable.__base__) as info:
        client.list_tasks()
    assert info.value.status == 504
    assert len(api.requests) == 4  # 1 + FAST_RETRY.max_retries
    delays = api.sleeps
    assert len(delays) == 3 and all(0 <= d <= 0.05 for d in delays)


def test_connect_error_is_retried_even_for_execute(api) -> None:
    client = api.client(scripted(httpx.ConnectError("refused"), ok("Task executed.")))
    assert client.execute_task("root") == "Task executed."
    assert len(api.requests) == 2


def test_connection_reset_on_execute_is_never_resent(api) -> None:
    client = api.client(scripted(httpx.ReadError("Connection reset by peer"), ok()))
    with pytest.raises(RequestMayHaveBeenApplied) as info:
        client.execute_task("root")
    assert len(api.requests) == 1
    text = str(info.value)
    assert "POST /api/v2/databases/DB/schemas/S/tasks/ROOT:execute" in text
    assert "not resent" in text and "get_current_graphs('root')" in text
    assert isinstance(info.value, TransportError)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.resume_task("t1"),
        lambda c: c.suspend_task("t1"),
        lambda c: c.create_task({"name": "T1", "definition": "select 1"}),
        lambda c: c.set_tags("t1", [{"tag_name": "X", "tag_value": "v"}]),
        lambda c: c.unset_tags("t1", [{"tag_name": "X"}]),
    ],
)
def test_other_non_idempotent_requests_are_never_resent(api, call) -> None:
    client = api.client(scripted(httpx.RemoteProtocolError("peer closed connection"), ok()))
    with pytest.raises(RequestMayHaveBeenApplied, match="not safe to repeat"):
        call(client)
    assert len(api.requests) == 1


def test_503_on_execute_is_not_retried_and_says_why(api) -> None:
    client = api.client(scripted(error(503, "000503", "Service unavailable"), ok()))
    with pytest.raises(ServiceUnavailable, match="not retried automatically"):
        client.execute_task("root")
    assert len(api.requests) == 1


def test_read_error_on_a_read_is_retried(api) -> None:
    client = api.client(scripted(httpx.ReadError("reset"), reply(200, [task_body("A")])))
    assert [t.name for t in client.list_tasks()] == ["A"]
    assert len(api.requests) == 2


def test_connection_errors_exhaust_into_a_transport_error(api) -> None:
    client = api.client(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    with pytest.raises(TransportError, match="after 4 attempts"):
        client.list_tasks()


def test_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=4.0)
    rng = random.Random(7)
    waits = [policy.backoff(attempt, rng) for attempt in range(10) for _ in range(50)]
    assert max(waits) <= 4.0 and min(waits) >= 0.0
    assert max(policy.backoff(0, rng) for _ in range(200)) <= 1.0
    assert max(waits) > 3.0  # the cap is reached, not just the base


# -- bodies -------------------------------------------------------------------------------


def test_truncated_json_body_is_a_clear_error(api) -> None:
    truncated = reply(200, raw=b'[{"name": "T1", "definition": "sel')
    client = api.client(lambda r: truncated, allow_unparseable_bodies=True)
    with pytest.raises(InvalidResponse) as info:
        client.list_tasks()
    text = str(info.value)
    assert "GET /api/v2/databases/DB/schemas/S/tasks" in text
    assert "not valid JSON" in text and "cut off" in text
    assert truncated.headers["X-Snowflake-Request-ID"] in text


def test_unexpected_shape_is_a_clear_error(api) -> None:
    client = api.client(
        lambda r: reply(200, [task_body("T", schedule={"schedule_type": "SECONDS_TYPE"})])
    )
    with pytest.raises(InvalidResponse, match="a row could not be read: unknown schedule_type"):
        client.list_tasks()


# -- 202 ----------------------------------------------------------------------------------


def test_202_then_200_is_followed(api) -> None:
    accepted = reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"})
    client = api.client(
        scripted(
            accepted,
            reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"}),
            reply(200, task_body("T1")),
        )
    )
    assert client.fetch_task("t1").name == "T1"
    assert [r.url.path for r in api.requests] == [
        f"{P}/T1",
        "/api/v2/results/h1",
        "/api/v2/results/h1",
    ]
    assert len(api.sleeps) == 2


def test_202_on_execute_polls_but_never_resends_the_post(api) -> None:
    accepted = reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"})
    client = api.client(scripted(accepted, error(503, "000503", "busy"), ok("Task executed.")))
    assert client.execute_task("root") == "Task executed."
    assert [r.method for r in api.requests] == ["POST", "GET", "GET"]


def test_202_error_result_maps_to_the_error(api) -> None:
    accepted = reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"})
    client = api.client(
        scripted(
            accepted, error(404, "002003", "Task 'DB.S.ROOT' does not exist or not authorized.")
        )
    )
    with pytest.raises(TaskNotFound, match="does not exist"):
        client.execute_task("root")


def test_202_timeout(api) -> None:
    client = api.client(
        lambda r: reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"}),
        retry=RetryPolicy(poll_initial=0.001, poll_cap=0.001, result_timeout=0.05),
    )
    with pytest.raises(ResultTimeout, match="had not finished after 0.05 s"):
        client.execute_task("root")
    assert sum(1 for r in api.requests if r.method == "POST") == 1


def test_202_without_location_is_a_clear_error(api) -> None:
    client = api.client(lambda r: reply(202, {"code": "392604", "message": "in progress"}))
    with pytest.raises(InvalidResponse, match="without a Location"):
        client.fetch_task("t1")


def test_202_to_another_host_is_refused(api) -> None:
    client = api.client(
        lambda r: reply(
            202, RUNNING, headers={"Location": "https://evil.example.com/api/v2/results/h1"}
        )
    )
    with pytest.raises(InvalidResponse, match="another host"):
        client.fetch_task("t1")
    assert len(api.requests) == 1


# -- paging -------------------------------------------------------------------------------


def _names(n0: int, n: int) -> list[dict]:
    return [task_body(f"T{i:05d}") for i in range(n0, n0 + n)]


def test_three_pages_of_link_next_are_followed(api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 0))
        links = [
            '</api/v2/results/h9?page=0>; rel="first"',
            '</api/v2/results/h9?page=2>; rel="last"',
        ]
        if page < 2:
            links.append(f'</api/v2/results/h9?page={page + 1}>; rel="next"')
        return reply(200, _names(page * 3, 3), headers={"Link": ", ".join(links)})

    client = api.client(handler)
    tasks = client.list_tasks()
    assert [t.name for t in tasks] == [f"T{i:05d}" for i in range(9)]
    assert [str(r.url.raw_path.decode()) for r in api.requests] == [
        P,
        "/api/v2/results/h9?page=1",
        "/api/v2/results/h9?page=2",
    ]


def test_link_with_only_first_and_last_pages_is_walked(api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 0))
        link = '</api/v2/results/h2?page=0>; rel="first",</api/v2/results/h2?page=2>; rel="last"'
        return reply(200, _names(page * 2, 2), headers={"Link": link})

    client = api.client(handler)
    assert len(client.list_tasks()) == 6
    assert [r.url.params.get("page") for r in api.requests] == [None, "1", "2"]


def test_large_result_marker_fetches_the_result_pages(api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == P:
            marker = {
                "result_handler": "big",
                "message": "Large result set. Use provided Link header.",
            }
            return reply(200, marker)
        page = int(request.url.params.get("page", 0))
        link = '</api/v2/results/big?page=1>; rel="last"'
        return reply(200, _names(page * 2, 2), headers={"Link": link})

    client = api.client(handler, allow_large_result_marker=True)
    assert len(client.list_tasks()) == 4
    assert [r.url.raw_path.decode() for r in api.requests] == [
        P,
        "/api/v2/results/big",
        "/api/v2/results/big?page=1",
    ]


def _snowflake_pages(pages: int, per_page: int = 3, handle: str = "hs"):
    """Pages shaped like Snowflake's: ``Link`` (first/next/last) on the first answer only,
    later pages fetched by ``?page=N`` from the results endpoint and answered without one."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith(P):
            base = f"/api/v2/results/{handle}"
            link = (f'<{base}?page=0>; rel="first",<{base}?page=1>; rel="next",'
                    f'<{base}?page={pages - 1}>; rel="last"')
            return reply(200, _names(0, per_page), headers={"Link": link})
        page = int(request.url.params["page"])
        return reply(200, _names(page * per_page, per_page))

    return handler


def test_every_page_of_a_snowflake_shaped_listing_is_read(api) -> None:
    """Five pages with Link on the first only: 15 rows, not the 6 of the first two pages."""
    client = api.client(_snowflake_pages(5))
    tasks = client.list_tasks()
    assert [t.name for t in tasks] == [f"T{i:05d}" for i in range(15)]
    assert [r.url.params.get("page") for r in api.requests] == [None, "1", "2", "3", "4"]


def test_snowflake_shaped_dependents_and_graph_runs_are_complete(api) -> None:
    client = api.client(_snowflake_pages(4, per_page=2))
    assert len(client.fetch_task_dependents("t1")) == 8


def test_a_next_only_chain_without_last_is_followed_to_its_end(api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 0))
        headers = {}
        if page < 3:
            headers["Link"] = f'</api/v2/results/nx?page={page + 1}>; rel="next"'
        return reply(200, _names(page * 2, 2), headers=headers)

    client = api.client(handler)
    assert len(client.list_tasks()) == 8
    assert [r.url.params.get("page") for r in api.requests] == [None, "1", "2", "3"]


def test_next_links_that_go_round_in_a_circle_raise(api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 0))
        target = 1 if page == 2 else page + 1
        return reply(200, _names(page, 1),
                     headers={"Link": f'</api/v2/results/c?page={target}>; rel="next"'})

    client = api.client(handler)
    with pytest.raises(InvalidResponse, match="a page already read"):
        client.list_tasks()


def test_a_last_link_without_a_page_number_raises_instead_of_a_short_answer(api) -> None:
    client = api.client(scripted(
        reply(200, _names(0, 2), headers={"Link": '</api/v2/results/x>; rel="last"'})
    ))
    with pytest.raises(InvalidResponse, match="number of pages is unknown"):
        client.list_tasks()


def test_a_failing_later_page_raises_and_returns_nothing(api) -> None:
    pages = _snowflake_pages(3)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return error(404, "000709", "Statement not found.")
        return pages(request)

    client = api.client(handler)
    with pytest.raises(NotFound):
        client.list_tasks()


# -- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.list_tasks(),
        lambda c: c.execute_task("t1"),
        lambda c: c.suspend_task("t1"),
        lambda c: c.delete_task("t1"),
    ],
    ids=["list", "execute", "suspend", "delete"],
)
def test_a_redirect_is_an_error_naming_the_location_and_is_not_followed(api, status, call):
    location = "https://login.proxy.example/sso?token=SECRET123"
    client = api.client(scripted(reply(status, headers={"Location": location})), from_a_proxy=True)
    with pytest.raises(Redirected) as caught:
        call(client)
    text = str(caught.value)
    assert "https://login.proxy.example/sso" in text and "SECRET123" not in text
    assert caught.value.status == status and "not follow redirects" in text
    assert len(api.requests) == 1  # never followed, never retried


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message", "cls"),
    [
        (401, "390144", "JWT token is invalid.", Unauthorized),
        (403, "003001", "Insufficient privileges to operate on task 'T1'.", Forbidden),
        (404, "002003", "Task 'DB.S.T1' does not exist or not authorized.", TaskNotFound),
        (409, "002002", "Object 'T1' already exists.", Conflict),
        (429, "000429", "Too many requests.", RateLimited),
    ],
)
def test_error_statuses_map_to_exceptions(api, status, code, message, cls) -> None:
    rid = "01b5c3d2-0000-4a5b-8c9d-0123456789ab"
    client = api.client(
        lambda r: error(status, code, message, request_id=rid), retry=RetryPolicy(max_retries=0)
    )
    with pytest.raises(cls) as info:
        if status == 409:  # fetchTask declares no 409 in the spec; create does
            client.create_task({"name": "T1", "definition": "select 1"})
        else:
            client.fetch_task("t1")
    err = info.value
    assert isinstance(err, ApiError)
    assert (err.status, err.code, err.request_id) == (status, code, rid)
    assert str(err).startswith(f"{message} (code {code}, request {rid})")


def test_task_not_found_reads_well_even_without_a_body(api) -> None:
    client = api.client(
        lambda r: httpx.Response(
            404, headers={"X-Snowflake-Request-ID": "8f2a1c3e-0000-4000-8000-000000000001"}
        ),
        allow_empty_error_bodies=True,
    )
    with pytest.raises(TaskNotFound) as info:
        client.fetch_task("nightly")
    assert str(info.value) == (
        "task DB.S.NIGHTLY does not exist or is not authorized "
        "(request 8f2a1c3e-0000-4000-8000-000000000001)"
    )
    assert f"{type(info.value).__name__}: {info.value}".startswith(
        "TaskNotFound: task DB.S.NIGHTLY"
    )


def test_missing_schema_is_not_a_missing_task(api) -> None:
    client = api.client(
        lambda r: error(404, "002003", "Schema 'DB.S' does not exist or not authorized.")
    )
    with pytest.raises(NotFound) as info:
        client.fetch_task("t1")
    assert type(info.value) is NotFound


def test_409_on_create_is_task_already_exists_with_a_hint(api) -> None:
    client = api.client(lambda r: error(409, "002002", "Object 'T1' already exists."))
    with pytest.raises(TaskAlreadyExists, match='create_mode="orReplace"'):
        client.create_task({"name": "t1", "definition": "select 1"})


def test_401_hint_and_request_id_from_the_body(api) -> None:
    body = {"message": "JWT token is invalid.", "code": "390144", "request_id": "body-rid"}
    client = api.client(
        lambda r: httpx.Response(
            401,
            json=body,
            headers={"X-Snowflake-Request-ID": "0b5c3d20-0000-4000-8000-000000000000"},
        )
    )
    with pytest.raises(Unauthorized, match="check the token or key"):
        client.list_tasks()
    client2 = api.client(lambda r: httpx.Response(401, json=body))
    with pytest.raises(Unauthorized) as info:
        client2.list_tasks()
    assert info.value.request_id == "body-rid"


def test_read_timeout_on_execute_is_never_resent(api) -> None:
    client = api.client(scripted(httpx.ReadTimeout("timed out"), ok()))
    with pytest.raises(RequestMayHaveBeenApplied, match="ReadTimeout"):
        client.execute_task("root")
    assert len(api.requests) == 1


def test_timeouts_are_configurable_with_named_defaults() -> None:
    from tasknb import TaskClient
    from tasknb.client._http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT

    default = TaskClient("https://a.snowflakecomputing.com", auth=None)
    assert default._http.timeout.connect == DEFAULT_CONNECT_TIMEOUT
    assert default._http.timeout.read == DEFAULT_READ_TIMEOUT
    custom = TaskClient("https://a.snowflakecomputing.com", auth=None, timeout=3.5)
    assert custom._http.timeout.read == 3.5 and custom._http.timeout.connect == 3.5
    default.close()
    custom.close()


def test_202_polling_backs_off_up_to_the_cap(api) -> None:
    running = [reply(202, RUNNING, headers={"Location": "/api/v2/results/h1"}) for _ in range(6)]
    client = api.client(
        scripted(*running, ok("done")),
        retry=RetryPolicy(poll_initial=0.1, poll_factor=2.0, poll_cap=0.5, result_timeout=60),
    )
    assert client.resume_task("t1") == "done"
    assert api.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5])


def test_a_page_answered_202_is_polled(api) -> None:
    link = '</api/v2/results/h5?page=1>; rel="next", </api/v2/results/h5?page=1>; rel="last"'
    client = api.client(
        scripted(
            reply(200, _names(0, 2), headers={"Link": link}),
            reply(202, RUNNING, headers={"Location": "/api/v2/results/h5?page=1"}),
            reply(200, _names(2, 2)),
        )
    )
    assert [t.name for t in client.list_tasks()] == [f"T{i:05d}" for i in range(4)]
    assert len(api.requests) == 3


@pytest.mark.parametrize("rel", ["last", "next"])
def test_a_cross_origin_link_is_refused_naming_the_request_once(api, rel) -> None:
    """The refusal names the listing once ("GET /api/...", never "GET GET /api/...")."""
    link = f'<https://evil.example.com/api/v2/results/h1?page=1>; rel="{rel}"'
    client = api.client(scripted(reply(200, _names(0, 1), headers={"Link": link})))
    with pytest.raises(InvalidResponse, match="another host") as caught:
        client.list_tasks()
    message = str(caught.value)
    assert message.startswith(f"GET {P}: the server pointed to another host (evil.example.com)")
    assert "GET GET" not in message
    assert len(api.requests) == 1
