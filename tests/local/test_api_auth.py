"""The local server's door: token length at start-up, and failed authentications rate-limited
per client address (issue 7 item 10: no limit allowed 532 guesses/s), over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

import tasknb.local
from tasknb.local.api import auth
from tasknb.local.api.auth import FailedAuthLimit, check_token
from tasknb.local.server import LocalServer

WRONG = {"Authorization": "Bearer " + "w" * 43}


@pytest.fixture
def door() -> Iterator[LocalServer]:
    """A server of the test's own: its failed-authentication budget starts full."""
    with tasknb.local.start() as srv:
        yield srv


def _from(address: str, server: LocalServer) -> httpx.Client:
    """A client whose connections leave from ``address`` (any 127.x.y.z is loopback)."""
    return httpx.Client(base_url=server.url,
                        transport=httpx.HTTPTransport(local_address=address))


def test_guessing_is_cut_to_a_trickle_and_answered_429(door: LocalServer) -> None:
    compared = limited = 0
    retry_after = None
    with httpx.Client(base_url=door.url) as http:
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            response = http.get("/api/v2/databases", headers=WRONG)
            if response.status_code == 401:
                compared += 1
            else:
                assert response.status_code == 429, response.text
                limited += 1
                body = response.json()
                assert body["code"] == body["error_code"] == auth.TOO_MANY_FAILURES
                assert "wait" in body["message"] and door.token not in body["message"]
                assert body["request_id"] == response.headers["X-Snowflake-Request-ID"]
                retry_after = int(response.headers["Retry-After"])
        # the burst, plus what refilled during the 1.5 s (was: every guess compared)
        assert compared <= auth.FAILED_AUTH_BURST + 2 * auth.FAILED_AUTH_PER_SECOND + 1
        assert limited > compared
        assert retry_after is not None and 1 <= retry_after <= 2
        # while the address waits, even the right token is not compared (a guess that is never
        # checked teaches nothing) ...
        right = {"Authorization": f"Bearer {door.token}"}
        answers = []
        for _ in range(5):  # the bucket refills continuously: a refill may fall between the two
            while http.get("/api/v2/databases", headers=WRONG).status_code != 429:
                pass  # be waiting first
            answers.append(http.get("/api/v2/databases", headers=right).status_code)
            if answers[-1] == 429:
                break
        assert answers[-1] == 429, answers  # compared every time would answer 200 five times
        # ... and once the wait is over it is let in at once
        time.sleep(retry_after + 0.1)
        assert http.get("/api/v2/databases", headers=right).status_code == 200


def test_connector_login_guesses_are_limited_too(door: LocalServer) -> None:
    statuses = []
    with httpx.Client(base_url=door.url) as http:
        for _ in range(auth.FAILED_AUTH_BURST + 5):
            response = http.post("/session/v1/login-request",
                                 json={"data": {"LOGIN_NAME": "me", "PASSWORD": "guess"}})
            statuses.append(response.status_code)
            if response.status_code == 200:
                assert response.json()["success"] is False
        assert statuses[:auth.FAILED_AUTH_BURST] == [200] * auth.FAILED_AUTH_BURST
        assert statuses[-1] == 429
        login = http.post("/session/v1/login-request",
                          json={"data": {"LOGIN_NAME": "me", "PASSWORD": door.token}})
        assert login.status_code == 429 and door.token not in login.text


def test_one_guessing_address_does_not_lock_out_another(door: LocalServer) -> None:
    with _from("127.0.0.2", door) as guesser, _from("127.0.0.1", door) as user:
        for _ in range(auth.FAILED_AUTH_BURST + 3):
            guesser.get("/api/v2/databases", headers=WRONG)
        assert guesser.get("/api/v2/databases", headers=WRONG).status_code == 429
        right = {"Authorization": f"Bearer {door.token}"}
        assert user.get("/api/v2/databases", headers=right).status_code == 200


def test_requests_without_a_secret_spend_nothing(door: LocalServer) -> None:
    with httpx.Client(base_url=door.url) as http:
        for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}) * 40:
            assert http.get("/api/v2/databases", headers=headers).status_code == 401
        assert http.post("/session/v1/login-request", json={"data": {}}).json()["success"] is False
        right = {"Authorization": f"Bearer {door.token}"}
        assert http.get("/api/v2/databases", headers=right).status_code == 200


def test_the_limit_refills_and_stays_bounded() -> None:
    now = [100.0]
    limit = FailedAuthLimit(burst=3, per_second=0.5, clock=lambda: now[0])
    for _ in range(3):
        assert limit.retry_after("a") is None
        limit.failed("a")
    assert limit.retry_after("a") == 2 and limit.retry_after("b") is None
    now[0] += 1.0
    assert limit.retry_after("a") == 1
    now[0] += 1.0
    assert limit.retry_after("a") is None
    limit.failed("a")
    assert limit.retry_after("a") == 2
    for i in range(auth.MAX_TRACKED_ADDRESSES + 10):  # a flood of addresses
        limit.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limit._tries) <= auth.MAX_TRACKED_ADDRESSES


@pytest.mark.parametrize("token", ["12345678", "x" * 31, "y" * 31 + " ", 'a"' * 20])
def test_short_or_unsendable_tokens_are_refused_in_one_line(token: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_token(token)
    message = str(refused.value)
    assert "\n" not in message and token not in message
    assert "at least 32" in message


def test_generated_and_long_tokens_pass() -> None:
    check_token(auth.new_token())
    check_token("k" * 32)
    assert len(auth.new_token()) >= auth.MIN_TOKEN_LENGTH
