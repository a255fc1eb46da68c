"""The tasknb extension routes under /tasknb/v1 over real HTTP: cancel-ongoing's refusals."""

from __future__ import annotations

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
