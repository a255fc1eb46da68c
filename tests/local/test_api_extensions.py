"""The tasknb extension routes under /tasknb/v1 over real HTTP: cancel-ongoing's refusals."""

from __future__ import annotations

import time

from local_api import Api


def _cancel_path(api: Api, name: str) -> str:
    return f"/tasknb/v1/databases/{api.database}/schemas/{api.schema}/tasks/{name}:cancel-ongoing"


def test_cancel_ongoing_of_a_missing_task_is_404(api: Api) -> None:
    response = api.http.post(_cancel_path(api, "NOPE"))
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "002003" and "NOPE" in body["message"]
    missing_db = api.http.post("/tasknb/v1/databases/NO_DB/schemas/S/tasks/T:cancel-ongoing")
    assert missing_db.status_code == 404 and "NO_DB" in missing_db.json()["message"]


def test_cancel_ongoing_with_an_invalid_name_is_400(api: Api) -> None:
    response = api.http.post(_cancel_path(api, "my-task"))
    assert response.status_code == 400
    assert "my-task" in response.json()["message"]


def test_cancel_ongoing_takes_post_and_the_token_only(api: Api) -> None:
    api.create("T1")
    assert api.http.get(_cancel_path(api, "T1")).status_code == 405
    anonymous = api.http.post(_cancel_path(api, "T1"), headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert api.fetch("T1")["state"] == "suspended"


def _history_states(api: Api, name: str) -> list[str]:
    path = f"/tasknb/v1/databases/{api.database}/schemas/{api.schema}/tasks/{name}/history"
    return [row["state"] for row in api.http.get(path).json()]


def _until(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_cancel_ongoing_stops_the_running_graph_run(api: Api) -> None:
    api.create("LONG", "select system$wait(120)")
    assert api.http.post(_cancel_path(api, "LONG")).json()["status"].startswith(
        "Task LONG has no currently running executions.")
    api.action("LONG", "execute")
    _until(lambda: _history_states(api, "LONG") == ["EXECUTING"])
    asked = time.monotonic()
    answer = api.http.post(_cancel_path(api, "long"))  # the name folds as everywhere else
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"].startswith("Marked 1 task runs for cancellation."), answer.text
    _until(lambda: _history_states(api, "LONG") == ["CANCELLED"], seconds=10.0)
    assert time.monotonic() - asked < 10.0
    [run] = api.http.get(f"{api.base}/LONG/complete-graphs").json()
    assert run["state"] == "CANCELLED"


def test_runs_started_by_hand_on_the_manual_clock_are_a_second_apart(api: Api) -> None:
    api.create("BY_HAND")
    clock_before = api.http.get("/tasknb/v1/clock").json()["now"]
    for _ in range(3):
        api.action("BY_HAND", "execute")
        _until(lambda: not any(r["state"] == "EXECUTING" for r in api.http.get(
            f"{api.base}/BY_HAND/current-graphs").json()))
    runs = api.http.get(f"{api.base}/BY_HAND/complete-graphs").json()
    times = sorted(r["scheduled_time"] for r in runs)[-3:]
    assert len({t[:19] for t in times}) == 3, times  # three different seconds
    for run in runs:
        assert run["query_start_time"] >= run["scheduled_time"]  # never before its time
    assert api.http.get("/tasknb/v1/clock").json()["now"] == clock_before  # the clock stands
