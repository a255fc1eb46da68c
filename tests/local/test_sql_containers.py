"""Databases and schemas made over REST, as the task SQL sees them (defects of issue #10)."""

from __future__ import annotations

from _sql import rows, submit
from local_api import Api


def test_a_schema_created_over_rest_is_visible_to_task_sql_in_other_schemas(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/name-resolution: a task's SQL may name any schema
    of the account as ``schema.object``; a schema exists from its CREATE on (POST .../schemas),
    whether or not a task has run in it yet (the raw/staging/mart layout)."""
    for schema in ("RAW", "MART"):
        created = api.http.post(f"/api/v2/databases/{api.database}/schemas",
                                json={"name": schema})
        assert created.status_code == 200, created.text
    api.create("layers", "CREATE TABLE RAW.EVENTS AS SELECT 1 AS id; "
                         "CREATE TABLE MART.DAILY AS SELECT count(*) AS n FROM RAW.EVENTS")
    run = api.execute("layers")
    assert run["state"] == "SUCCEEDED", run
    assert rows(api, "SELECT n FROM MART.DAILY") == [["1"]]


def test_replacing_a_database_after_runs_leaves_it_usable(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-database: CREATE OR REPLACE DATABASE
    drops the database and creates an empty one of the same name; tasks created in it run (the
    REST createMode=orReplace), however many runs the old one had, on every worker thread —
    also when each run ended with a query whose result nobody fetched (a task's last SELECT)."""
    submit(api, "CREATE TABLE counts (n INT)")
    api.create("tick", "INSERT INTO counts VALUES (1); SELECT * FROM counts")
    for _ in range(12):  # runs spread over the pool's threads, each keeping a cursor
        api.action("tick", "execute")
        assert api.server.service.wait_idle(30)
    for attempt in range(2):
        replaced = api.http.post("/api/v2/databases", params={"createMode": "orReplace"},
                                 json={"name": api.database})
        assert replaced.status_code == 200, replaced.text
        schema = api.http.post(f"/api/v2/databases/{api.database}/schemas", json={"name": "S"})
        assert schema.status_code == 200, schema.text
        submit(api, "CREATE TABLE counts (n INT)")
        api.create("tick", "INSERT INTO counts VALUES (1); SELECT * FROM counts", mode="orReplace")
        for _ in range(6):
            response = api.http.post(f"{api.base}/tick:execute")
            assert response.status_code == 200, (attempt, response.text)
            assert api.server.service.wait_idle(30)
        assert rows(api, "SELECT count(*) FROM counts") == [["6"]], attempt
