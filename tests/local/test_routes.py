"""The route table: every route is reachable, names are decoded per segment, and a path no
route takes gets a 404 saying what exists (over real HTTP where the answer matters)."""

from __future__ import annotations

import pytest
from local_api import Api

from tasknb.local.api.routes import ROUTES, TASK_VERBS, match, split_verb, unmatched


def _sample(path: str) -> list[str]:
    """A concrete path for a route pattern: each {param} becomes a name with a $ in it."""
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{"):
            name, _, verb = segment[1:].partition("}")
            segment = f"{name.upper()}%24X{verb}"
        parts.append(segment)
    return parts


@pytest.mark.parametrize("route", ROUTES, ids=[r.path for r in ROUTES])
def test_every_route_is_reached_by_its_own_paths(route) -> None:
    found = match(ROUTES, _sample(route.path))
    assert found is not None and found[0] is route, "an earlier route shadows this one"
    assert all(value.endswith("$X") for value in found[1].values())
    assert route.handlers and set(route.handlers) <= {"GET", "POST", "PUT", "DELETE"}


def test_a_verb_is_split_off_only_when_unencoded() -> None:
    assert split_verb("T%24A:resume") == ("T$A", "resume")
    assert split_verb("A%3Aresume") == ("A:resume", None)
    found = match(ROUTES, ["api", "v2", "databases", "D", "schemas", "S", "tasks", "A%3Aresume"])
    assert found is not None and found[0].path.endswith("/tasks/{name}")
    assert found[1]["name"] == "A:resume"


def test_unmatched_paths_say_what_exists() -> None:
    task = ["api", "v2", "databases", "D", "schemas", "S", "tasks", "T:explode"]
    message = unmatched("POST", task).message
    assert "Unknown task action :explode" in message
    assert all(f":{verb}" in message for verb in TASK_VERBS)
    assert unmatched("GET", ["api", "v2", "warehouses"]).status == 404
    assert unmatched("GET", ["api", "v2", "results", "h", "x"]).status == 405
    assert unmatched("GET", ["nothing"]).message.startswith("No endpoint at /nothing.")


def test_an_unknown_extension_endpoint_lists_the_known_ones(api: Api) -> None:
    response = api.http.get("/tasknb/v1/nothing")
    assert response.status_code == 404
    message = response.json()["message"]
    assert "GET /tasknb/v1/ping" in message and ":cancel-ongoing" in message
    assert api.http.post("/tasknb/v1/ping").status_code == 405
