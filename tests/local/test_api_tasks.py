"""Task CRUD over real HTTP: list filters, createMode, PUT replacement, delete, identifiers, errors."""

from __future__ import annotations

import json
import time

from local_api import Api


def test_create_fetch_returns_folded_suspended_task(api: Api) -> None:
    response = api.create("my_task", "select 42", comment="hello", warehouse="wh",
                          unknown_field={"ignored": True})
    assert response.json() == {"status": "Task MY_TASK successfully created."}
    assert response.headers["X-Snowflake-Request-ID"]
    task = api.fetch("MY_TASK")
    assert task["name"] == "MY_TASK"
    assert task["state"] == "suspended"
    assert task["definition"] == "select 42"
    assert task["comment"] == "hello"
    assert task["warehouse"] == "WH"
    assert task["database_name"] == api.database and task["schema_name"] == "S"
    assert task["created_on"].endswith("Z") and "T" in task["created_on"]
    assert isinstance(task["id"], str) and task["id"]
    assert json.loads(task["task_relations"]) == {"Predecessors": []}
    assert "unknown_field" not in task
    # fetched by the lower-case name too (unquoted identifiers fold)
    assert api.fetch("my_task")["id"] == task["id"]


def test_quoted_and_percent_encoded_names(api: Api) -> None:
    api.create('"My Task"')
    api.create("T$A")
    listed = [t["name"] for t in api.http.get(api.base).json()]
    assert listed == ['"My Task"', "T$A"]
    assert api.http.get(f"{api.base}/%22My%20Task%22").json()["name"] == '"My Task"'
    assert api.http.get(f"{api.base}/T%24A").json()["name"] == "T$A"
    assert api.http.post(f"{api.base}/T%24A:resume").status_code == 200
    assert api.fetch("T%24A")["state"] == "started"
    # "my task" (quoted, lower case) is a different object
    missing = api.http.get(f"{api.base}/%22my%20task%22")
    assert missing.status_code == 404


def test_invalid_identifier_is_400_with_clear_message(api: Api) -> None:
    response = api.http.post(api.base, json={"name": "my-task", "definition": "select 1"})
    assert response.status_code == 400
    body = response.json()
    assert "Invalid SQL Identifier" in body["message"] and "my-task" in body["message"]
    assert body["request_id"] == response.headers["X-Snowflake-Request-ID"]
    assert api.http.get(api.base).json() == []


def test_list_filters_and_order(api: Api) -> None:
    for name in ("beta", "alpha", "alpha_2", "gamma"):
        api.create(name)
    api.create("child", predecessors=["alpha"])
    names = lambda **q: [t["name"] for t in api.http.get(api.base, params=q).json()]
    assert names() == ["ALPHA", "ALPHA_2", "BETA", "CHILD", "GAMMA"]
    assert names(rootOnly="True") == ["ALPHA", "ALPHA_2", "BETA", "GAMMA"]
    assert names(rootOnly="false") == names()
    assert names(like="al%") == ["ALPHA", "ALPHA_2"]
    assert names(like="ALPHA\\_%") == ["ALPHA_2"]
    assert names(startsWith="AL") == ["ALPHA", "ALPHA_2"]
    assert names(startsWith="al") == []  # case-sensitive
    assert names(showLimit="2") == ["ALPHA", "ALPHA_2"]
    assert names(fromName="B", showLimit="2") == ["BETA", "CHILD"]
    bad = api.http.get(api.base, params={"showLimit": "0"})
    assert bad.status_code == 400 and "showLimit" in bad.json()["message"]
    bad = api.http.get(api.base, params={"rootOnly": "yes"})
    assert bad.status_code == 400 and "rootOnly" in bad.json()["message"]


def test_create_modes(api: Api) -> None:
    api.create("t1", "select 1")
    first = api.fetch("T1")
    conflict = api.create("t1", "select 2", expect=409).json()
    assert conflict["code"] == "002002" and conflict["error_code"] == "002002"
    assert conflict["message"] == "Object 'T1' already exists."
    api.create("t1", "select 3", mode="ifNotExists")
    assert api.fetch("T1")["definition"] == "select 1"
    api.create("t1", "select 4", mode="orReplace")
    replaced = api.fetch("T1")
    assert replaced["definition"] == "select 4"
    assert replaced["id"] != first["id"]
    bad = api.create("t1", mode="sometimes", expect=400).json()
    assert bad["message"].startswith("Not a valid createMode: sometimes.")


def test_put_is_full_replacement_keeping_identity(api: Api) -> None:
    api.create("t1", "select 1", comment="c", condition="1 = 1",
               schedule={"schedule_type": "MINUTES_TYPE", "minutes": 5},
               config={"a": 1}, user_task_timeout_ms=1000)
    before = api.fetch("T1")
    response = api.http.put(f"{api.base}/T1", json={"name": "t1", "definition": "select 2"})
    assert response.status_code == 200 and "status" in response.json()
    after = api.fetch("T1")
    assert after["id"] == before["id"] and after["created_on"] == before["created_on"]
    assert after["definition"] == "select 2"
    for key in ("comment", "condition", "schedule"):
        assert key not in after
    assert after["config"] == {}
    assert after["user_task_timeout_ms"] == 3_600_000
    # PUT on an absent task creates it, suspended
    response = api.http.put(f"{api.base}/NEW_ONE", json={"name": "NEW_ONE",
                                                         "definition": "select 1"})
    assert response.status_code == 200
    assert api.fetch("NEW_ONE")["state"] == "suspended"
    mismatch = api.http.put(f"{api.base}/T1", json={"name": "OTHER", "definition": "select 1"})
    assert mismatch.status_code == 400 and "path" in mismatch.json()["message"]


def test_put_round_trips_a_fetched_body(api: Api) -> None:
    api.create("root", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 1, "seconds": 30})
    api.create("child", predecessors=["root"])
    for name in ("ROOT", "CHILD"):
        body = api.fetch(name)
        response = api.http.put(f"{api.base}/{name}", json=body)
        assert response.status_code == 200, response.text
    assert api.fetch("ROOT")["schedule"] == {"schedule_type": "MINUTES_TYPE", "minutes": 1,
                                             "seconds": 30}
    assert api.fetch("CHILD")["predecessors"] == ["ROOT"]


def test_delete_and_if_exists(api: Api) -> None:
    api.create("t1")
    assert api.http.delete(f"{api.base}/T1").status_code == 200
    missing = api.http.delete(f"{api.base}/T1")
    assert missing.status_code == 404
    assert missing.json()["message"] == (
        f"Task '{api.database}.S.T1' does not exist or not authorized.")
    ok = api.http.delete(f"{api.base}/T1", params={"ifExists": "True"})
    assert ok.status_code == 200 and "status" in ok.json()


def test_schedule_with_seconds_and_invalid_schedules(api: Api) -> None:
    api.create("t1", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 0, "seconds": 30})
    assert api.fetch("T1")["schedule"]["seconds"] == 30
    too_short = api.create("t2", schedule={"schedule_type": "MINUTES_TYPE", "minutes": 0,
                                           "seconds": 5}, expect=400).json()
    assert "less than 10 seconds" in too_short["message"]
    bad_cron = api.create("t3", schedule={"schedule_type": "CRON_TYPE", "cron_expr": "* * * * ? *",
                                          "timezone": "UTC"}, expect=400).json()
    assert "schedule" in bad_cron["message"].lower()
    bad_zone = api.create("t4", schedule={"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *",
                                          "timezone": "PST"}, expect=400).json()
    assert "PST" in bad_zone["message"]
    api.create("t5", schedule={"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *",
                               "timezone": "America/Los_Angeles"})
    names = [t["name"] for t in api.http.get(api.base).json()]
    assert names == ["T1", "T5"]


def test_bad_bodies_are_4xx_and_change_nothing(api: Api) -> None:
    cases = [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"definition": "select 1"}', "name is required"),
        (b'{"name": "T"}', "definition is required"),
        (b'{"name": 5, "definition": "select 1"}', "Invalid SQL Identifier"),
        (b'{"name": "T", "definition": "select 1", "user_task_timeout_ms": "10"}', "integer"),
        (b'{"name": "T", "definition": "select 1", "suspend_task_after_num_failures": true}',
         "integer"),
        (b'{"name": "T", "definition": "select 1", "predecessors": "A"}', "array"),
        (b'{"name": "T", "definition": "select 1", "config": [1]}', "config"),
        (b'{"name": "T", "definition": "select 1", "schedule": 10}', "schedule"),
        (b'{"name": "T", "definition": "select 1", "task_auto_retry_attempts": 31}', "between"),
        (b'{"name": "T", "definition": "select 1", "overlap_policy": "SOMETIMES"}',
         "overlap_policy"),
        (b"", "empty"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ]
    for raw, fragment in cases:
        response = api.http.post(api.base, content=raw,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (raw, response.text)
        body = response.json()
        assert fragment in body["message"], (raw, body)
        assert body["code"] and body["request_id"]
    assert api.http.get(api.base).json() == []
    wrong_type = api.http.post(api.base, content=b"name=T", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    huge = {"name": "T", "definition": "select '" + "x" * (1024 * 1024 + 10) + "'"}
    too_big = api.http.post(api.base, json=huge)
    assert too_big.status_code == 400 and too_big.json()["code"] == "390400"
    assert api.http.get(api.base).json() == []


def test_missing_database_and_schema(api: Api) -> None:
    response = api.http.get("/api/v2/databases/NOPE/schemas/S/tasks")
    assert response.status_code == 404
    assert response.json()["message"] == "Database 'NOPE' does not exist or not authorized."
    response = api.http.get(f"/api/v2/databases/{api.database}/schemas/NOPE/tasks/T")
    assert response.json()["message"] == (
        f"Schema '{api.database}.NOPE' does not exist or not authorized.")


def test_databases_and_schemas(api: Api) -> None:
    http = api.http
    assert http.post("/api/v2/databases", json={"name": "x_db", "comment": "c"}).status_code == 200
    fetched = http.get("/api/v2/databases/X_DB").json()
    assert fetched["name"] == "X_DB" and fetched["comment"] == "c" and fetched["created_on"]
    assert http.post("/api/v2/databases", json={"name": "x_db"}).status_code == 409
    assert http.post("/api/v2/databases", params={"createMode": "ifNotExists"},
                     json={"name": "x_db"}).status_code == 200
    schemas = [s["name"] for s in http.get("/api/v2/databases/X_DB/schemas").json()]
    assert schemas == ["PUBLIC"]
    assert http.post("/api/v2/databases/X_DB/schemas", json={"name": "raw"}).status_code == 200
    assert http.get("/api/v2/databases/X_DB/schemas/RAW").json()["database_name"] == "X_DB"
    assert [d["name"] for d in http.get("/api/v2/databases", params={"like": "x\\_%"}).json()] == [
        "X_DB"]
    assert http.post("/api/v2/databases/X_DB/schemas/RAW/tasks",
                     json={"name": "T", "definition": "select 1"}).status_code == 200
    assert http.delete("/api/v2/databases/X_DB/schemas/RAW").status_code == 200
    assert http.get("/api/v2/databases/X_DB/schemas/RAW/tasks").status_code == 404
    assert http.put("/api/v2/databases/X_DB", json={"name": "X_DB", "comment": "new"}
                    ).status_code == 200
    assert http.get("/api/v2/databases/X_DB").json()["comment"] == "new"
    assert http.put("/api/v2/databases/X_DB/schemas/FRESH", json={"name": "fresh"}
                    ).status_code == 200
    assert http.get("/api/v2/databases/X_DB/schemas/FRESH").json()["name"] == "FRESH"
    assert http.put("/api/v2/databases/X_DB", json={"name": "OTHER"}).status_code == 400
    bad = http.put("/api/v2/databases/X_DB", json={"name": "X_DB",
                                                   "data_retention_time_in_days": -1})
    assert bad.status_code == 400 and "data_retention_time_in_days" in bad.json()["message"]
    bad = http.post("/api/v2/databases", json={"name": "Y", "log_level": 5})
    assert bad.status_code == 400 and http.get("/api/v2/databases/Y").status_code == 404
    assert http.delete("/api/v2/databases/X_DB", params={"restrict": "null"}).status_code == 400
    assert http.delete("/api/v2/databases/X_DB").status_code == 200
    assert http.get("/api/v2/databases/X_DB").status_code == 404
    assert http.delete("/api/v2/databases/X_DB", params={"ifExists": "true"}).status_code == 200
    assert http.delete("/api/v2/databases/X-DB", params={"ifExists": "true"}).status_code == 400
    assert http.delete("/api/v2/databases/NOPE/schemas/a-b",
                       params={"ifExists": "true"}).status_code == 400


def test_tags(api: Api) -> None:
    api.create("t1")
    url = f"{api.base}/T1"
    body = [{"tag_name": "owner", "tag_value": "data"},
            {"tag_database": "GOV", "tag_schema": "TAGS", "tag_name": "tier", "tag_value": "1"}]
    assert api.http.post(f"{url}:set-tags", json=body).status_code == 200
    tags = api.http.get(f"{url}:get-tags").json()
    assert {(t["tag_database"], t["tag_schema"], t["tag_name"], t["tag_value"]) for t in tags} == {
        (api.database, "S", "OWNER", "data"), ("GOV", "TAGS", "TIER", "1")}
    assert api.http.post(f"{url}:unset-tags", json=[{"tag_name": "OWNER"}]).status_code == 200
    assert [t["tag_name"] for t in api.http.get(f"{url}:get-tags").json()] == ["TIER"]
    missing = api.http.post(f"{api.base}/NOPE:set-tags", json=body)
    assert missing.status_code == 404
    assert api.http.post(f"{api.base}/NOPE:set-tags", params={"ifExists": "True"},
                         json=body).status_code == 200
    bad = api.http.post(f"{url}:set-tags", json=[{"tag_name": "x"}])
    assert bad.status_code == 400


def test_unknown_routes_and_methods(api: Api) -> None:
    assert api.http.get("/api/v2/warehouses").status_code == 404
    assert api.http.patch(f"{api.base}/T1").status_code == 405
    assert api.http.post(f"{api.base}/T1:explode").status_code == 404
    response = api.http.get(f"{api.base}/T1:resume")
    assert response.status_code == 405
    assert response.headers["X-Snowflake-Request-ID"]


def test_every_200_has_a_json_body(api: Api) -> None:
    api.create("t1")
    started = time.monotonic()
    for response in (api.action("T1", "resume"), api.action("T1", "suspend"),
                     api.http.delete(f"{api.base}/T1")):
        assert response.status_code == 200
        assert isinstance(response.json()["status"], str)
    assert time.monotonic() - started < 5


def test_an_empty_query_value_is_refused_not_defaulted(api: Api) -> None:
    api.create("t1")
    assert api.http.get(api.base, params={"showLimit": ""}).status_code == 400
    assert api.http.post(api.base, params={"createMode": ""},
                         json={"name": "T2", "definition": "select 1"}).status_code == 400
    assert api.http.delete(f"{api.base}/T1", params={"ifExists": ""}).status_code == 400
    assert [t["name"] for t in api.http.get(api.base).json()] == ["T1"]
