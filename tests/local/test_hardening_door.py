"""Hardening at the door (issue 7 items 3 and 4): what one request can do to the local server.

* invalid Unicode (a lone surrogate in a body, bytes that are not UTF-8 in a path or a query) is
  a 400 naming the field, and nothing is stored;
* ``like=`` is matched in linear time: a hostile pattern neither takes long nor freezes others.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import httpx
import pytest
from _support import snapshot_diff, state_snapshot
from local_api import Api

from tasknb.local import rules
from tasknb.local.server import LocalServer


# --- invalid Unicode ---------------------------------------------------------------------------
def _raw_json(http: httpx.Client, method: str, url: str, body: Any) -> httpx.Response:
    """Send ``body`` as JSON text; json.dumps writes a lone surrogate as the escape ``\\ud800``."""
    return http.request(method, url, content=json.dumps(body),
                        headers={"Content-Type": "application/json"})


TASK_BODIES = [
    ("comment", {"name": "T2", "definition": "select 1", "comment": "bad \ud800 text"}),
    ("definition", {"name": "T2", "definition": "select '\udc00'"}),
    ("name", {"name": '"T\ud800"', "definition": "select 1"}),
    ("condition", {"name": "T2", "definition": "select 1", "condition": "\ud83d"}),
    ("config", {"name": "T2", "definition": "select 1", "config": {"k": ["ok", "\ud800"]}}),
    ("config", {"name": "T2", "definition": "select 1", "config": {"\udfff": 1}}),
    ("session_parameters", {"name": "T2", "definition": "select 1",
                            "session_parameters": {"QUERY_TAG": "\ud800"}}),
    ("predecessors", {"name": "T2", "definition": "select 1", "predecessors": ["\ud800"]}),
    ("warehouse", {"name": "T2", "definition": "select 1", "warehouse": '"W\ud800"'}),
    ("comment", {"name": "T2", "definition": "select 1", "comment": "\ude00\ud83d"}),  # reversed
]


@pytest.mark.parametrize(("field", "body"), TASK_BODIES)
def test_lone_surrogate_in_a_task_body_is_a_400_naming_the_field(api: Api, field: str,
                                                                 body: dict[str, Any]) -> None:
    api.create("T1")
    api.server.service.wait_idle(30)
    before = state_snapshot(api.server.service)
    for method, url in (("POST", api.base), ("PUT", f"{api.base}/T1"), ("PUT", f"{api.base}/T2")):
        sent = dict(body, name="T1") if url.endswith("/T1") and field != "name" else body
        response = _raw_json(api.http, method, url, sent)
        assert response.status_code == 400, (method, url, response.text)
        error = response.json()
        assert error["code"] == "390400"
        assert field in error["message"] and "Unicode" in error["message"], error["message"]
        error["message"].encode("utf-8")  # the answer itself holds no lone surrogate
    assert snapshot_diff(before, state_snapshot(api.server.service)) == []
    listing = api.http.get(api.base)
    assert listing.status_code == 200
    listing.content.decode("utf-8")  # strict: what the client's decoder needs
    assert [t["name"] for t in listing.json()] == ["T1"]


CONTAINER_AND_TAG_CASES = [
    ("comment", "POST", "/api/v2/databases", {"name": "NEWDB", "comment": "\ud800"}),
    ("name", "POST", "/api/v2/databases", {"name": '"D\ud800"'}),
    ("comment", "POST", "/api/v2/databases/{db}/schemas", {"name": "S2", "comment": "\udbff"}),
    ("comment", "PUT", "/api/v2/databases/{db}", {"name": "{db}", "comment": "x\ud800"}),
    ("comment", "PUT", "/api/v2/databases/{db}/schemas/S", {"name": "S", "comment": "\udc80"}),
    ("default_ddl_collation", "POST", "/api/v2/databases",
     {"name": "NEWDB", "default_ddl_collation": "\ud800"}),
    ("tag_value", "POST", "/api/v2/databases/{db}/schemas/S/tasks/T1:set-tags",
     [{"tag_name": "OWNER", "tag_value": "\ud800"}]),
    ("tag_name", "POST", "/api/v2/databases/{db}/schemas/S/tasks/T1:set-tags",
     [{"tag_name": '"O\ud800"', "tag_value": "x"}]),
    ("tag_schema", "POST", "/api/v2/databases/{db}/schemas/S/tasks/T1:unset-tags",
     [{"tag_name": "OWNER", "tag_schema": '"\ud800"'}]),
]


@pytest.mark.parametrize(("field", "method", "url", "body"), CONTAINER_AND_TAG_CASES)
def test_lone_surrogate_in_container_and_tag_bodies_is_a_400(api: Api, field: str, method: str,
                                                             url: str, body: Any) -> None:
    api.create("T1")
    api.server.service.wait_idle(30)
    before = state_snapshot(api.server.service)
    sent = json.loads(json.dumps(body).replace("{db}", api.database))
    response = _raw_json(api.http, method, url.format(db=api.database), sent)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"] and "Unicode" in response.json()["message"]
    assert snapshot_diff(before, state_snapshot(api.server.service)) == []
    assert api.http.get("/api/v2/databases").content.decode("utf-8")


def test_characters_outside_the_basic_plane_are_still_accepted(api: Api) -> None:
    smile = "\N{GRINNING FACE} caf\N{LATIN SMALL LETTER E WITH ACUTE}"
    api.create("T1", comment=smile, config={"k": smile})
    task = api.fetch("T1")
    assert task["comment"] == smile and task["config"] == {"k": smile}
    quoted = api.http.post(api.base, json={"name": f'"{smile}"', "definition": "select 1"})
    assert quoted.status_code == 200, quoted.text


@pytest.mark.parametrize(("what", "url"), [
    ("database", "/api/v2/databases/%22X%ED%A0%80%22"),
    ("schema", "/api/v2/databases/{db}/schemas/%22S%FF%22"),
    ("name", "/api/v2/databases/{db}/schemas/S/tasks/%22T%C3%28%22"),
    ("like", "/api/v2/databases/{db}/schemas/S/tasks?like=T%ED%A0%80%25"),
    ("startsWith", "/api/v2/databases?startsWith=%FF"),
    ("fromName", "/api/v2/databases/{db}/schemas?fromName=A%C0%AF"),
])
def test_bytes_that_are_not_utf8_in_paths_and_queries_are_a_400(api: Api, what: str,
                                                                url: str) -> None:
    response = api.http.get(url.format(db=api.database))
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert what in message and "UTF-8" in message, message


# --- LIKE in linear time -----------------------------------------------------------------------
def _reference_like(pattern: str, name: str) -> bool:
    """Snowflake LIKE by plain dynamic programming (slow but obviously right)."""
    tokens: list[str | None] = []  # None: %, "\0_": any one character, else a literal
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            tokens.append(next(chars, "\\").lower())
        elif char == "%":
            tokens.append(None)
        elif char == "_":
            tokens.append("\0_")
        else:
            tokens.append(char.lower())
    text = name.lower()
    reach = [True] + [False] * len(text)  # reach[j]: tokens so far can produce text[:j]
    for token in tokens:
        if token is None:
            for j in range(1, len(text) + 1):
                reach[j] = reach[j] or reach[j - 1]
        else:
            reach = [False] + [reach[j - 1] and (token == "\0_" or text[j - 1] == token)
                               for j in range(1, len(text) + 1)]
    return reach[-1]


def test_like_agrees_with_a_reference_matcher_on_random_patterns() -> None:
    rng = random.Random(20260105)
    alphabet = "aAb_%\\.$"
    names = ["".join(rng.choice("aAb_%\\.$") for _ in range(rng.randint(0, 7)))
             for _ in range(60)] + ["", "a", "A_B", "T%1", "back\\slash"]
    for _ in range(400):
        pattern = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        expected = [n for n in sorted(names) if _reference_like(pattern, n)]
        assert rules.filter_names(names, like=pattern) == expected, pattern
    assert rules.filter_names(["T_1", "TX1"], like="t\\_%") == ["T_1"]
    assert rules.filter_names(["a\\b", "ab"], like="a\\\\b") == ["a\\b"]
    assert rules.filter_names(["ends\\"], like="ends\\") == ["ends\\"]  # a trailing \ is literal


def test_a_hostile_like_over_5000_names_is_quick_and_never_freezes_the_server(
        fresh_server: LocalServer) -> None:
    service = fresh_server.service
    service.ensure_schema("HOSTILE", "S")
    names = [f"T{i:04d}_ABCDEFGHIJKLMNOPQRSTUVW" for i in range(5000)]  # 29 characters each
    for name in names:
        service.create_task("HOSTILE", "S", {"name": name, "definition": "select 1"})
    headers = {"Authorization": f"Bearer {fresh_server.token}"}
    pings: list[float] = []
    done, pinging = threading.Event(), threading.Event()

    def ping_all_along() -> None:
        with httpx.Client(base_url=fresh_server.url, headers=headers, timeout=60) as http:
            while not done.is_set():
                started = time.monotonic()
                assert http.get("/tasknb/v1/ping").status_code == 200
                pings.append(time.monotonic() - started)
                pinging.set()
                time.sleep(0.02)

    pinger = threading.Thread(target=ping_all_along, daemon=True)
    pinger.start()
    assert pinging.wait(30), "the server never answered a ping"
    pings.clear()  # the first ping paid for the connection; measure those beside the listings
    url = "/api/v2/databases/HOSTILE/schemas/S/tasks"
    try:
        with httpx.Client(base_url=fresh_server.url, headers=headers, timeout=30) as http:
            for pattern, expected in (("%%%%%%%%%%%!", 0), ("%" * 25 + "!", 0),
                                      ("%a%b%c%d%e%f%g%h%i%j%k%l%m%n%o%p%q%r%s%t%u%v%!", 0),
                                      ("%4999%", 1), ("T%_X", 0), ("%_%_%_%_%_%_%_%_%_%_%_%_%_!", 0)):
                started = time.monotonic()
                response = http.get(url, params={"like": pattern})
                elapsed = time.monotonic() - started
                assert response.status_code == 200, response.text
                assert len(response.json()) == expected, pattern
                assert elapsed < 5.0, (pattern, elapsed)
    finally:
        give_up = time.monotonic() + 10
        while not pings and time.monotonic() < give_up:
            time.sleep(0.01)
        done.set()
        pinger.join(timeout=60)
    assert pings, "the concurrent ping never answered"
    assert max(pings) < 0.5, f"a ping waited {max(pings):.2f} s behind the listing"
    with httpx.Client(base_url=fresh_server.url, headers=headers, timeout=30) as http:
        everything = http.get(url, params={"like": "T_%_%%_W", "showLimit": "10000"})
        assert everything.status_code == 200 and len(everything.json()) == 1000  # page 0 of 5
        assert 'rel="last"' in everything.headers["Link"]
