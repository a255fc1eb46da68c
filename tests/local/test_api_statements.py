"""The local server's SQL API (sqlapi.yaml) over real HTTP, every exchange spec-validated.

Submit, poll, partitions, cancel, bindings, error codes, timeouts, idempotent requestId, and
that refused requests change nothing; tables written by tasks are read back through SQL.
"""

from __future__ import annotations

import collections
import json
import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_api import Api

from tasknb.local.api import statements as server_statements

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the spec validator
from spec_validation import SpecValidatingTransport

STATEMENTS = "/api/v2/statements"


class Sql:
    """httpx over the validating transport, placed in one database and schema."""

    def __init__(self, api: Api, transport: SpecValidatingTransport) -> None:
        self.api = api
        self.http = httpx.Client(base_url=api.server.url, transport=transport, timeout=30.0,
                                 headers={"Authorization": f"Bearer {api.server.token}",
                                          "Accept": "application/json",
                                          "User-Agent": "tasknb-tests/1"})
        # for requests the spec does not allow (the server must refuse them with a 400)
        self.raw = httpx.Client(base_url=api.server.url, timeout=30.0,
                                headers={"Authorization": f"Bearer {api.server.token}"})

    def submit(self, statement: str, *, expect: int = 200, params: dict[str, str] | None = None,
               raw: bool = False, **body: Any) -> dict[str, Any]:
        body = {"statement": statement, "database": self.api.database,
                "schema": self.api.schema, **body}
        http = self.raw if raw else self.http
        response = http.post(STATEMENTS, params=params, json=body)
        if response.status_code == 202 and expect != 202:
            # slower than the server's synchronous wait (a loaded machine): poll, as a client
            # does; a timeout is a 408 on the POST but a 422 on the GET
            return self.wait(response.json()["statementHandle"], 422 if expect == 408 else expect)
        assert response.status_code == expect, response.text
        return response.json()

    def status(self, handle: str, *, expect: int = 200, **params: str) -> httpx.Response:
        response = self.http.get(f"{STATEMENTS}/{handle}", params=params or None)
        assert response.status_code == expect, response.text
        return response

    def wait(self, handle: str, expect: int = 200) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            response = self.http.get(f"{STATEMENTS}/{handle}")
            if response.status_code != 202 or time.monotonic() > deadline:
                assert response.status_code == expect, response.text
                return response.json()
            time.sleep(0.02)

    def rows(self, statement: str) -> list[list[str | None]]:
        return self.submit(statement)["data"]


@pytest.fixture
def sql(api: Api, validating: SpecValidatingTransport) -> Iterator[Sql]:
    client = Sql(api, validating)
    yield client
    client.http.close()
    client.raw.close()


def test_result_set_shape_types_and_encodings(sql: Sql) -> None:
    body = sql.submit(
        "SELECT 42 AS n, 12.50::NUMBER(10,2) AS amount, 2.5::FLOAT AS ratio, 'x' AS label, "
        "TRUE AS ok, '1970-01-11'::DATE AS day, '1970-01-01 00:00:01.5'::TIMESTAMP_NTZ AS at, "
        "CURRENT_TIMESTAMP() AS now, PARSE_JSON('{\"a\": 1}') AS doc, NULL AS nothing")
    assert body["code"] == "090001" and body["sqlState"] == "00000"
    uuid.UUID(body["statementHandle"])
    assert body["statementStatusUrl"].endswith(f"{STATEMENTS}/{body['statementHandle']}")
    assert isinstance(body["createdOn"], int)
    meta = body["resultSetMetaData"]
    assert meta["format"] == "jsonv2" and meta["numRows"] == 1
    types = {c["name"]: (c["type"], c["precision"], c["scale"]) for c in meta["rowType"]}
    assert types["N"][0] == "fixed" and types["N"][2] == 0
    assert types["AMOUNT"] == ("fixed", 10, 2)
    assert types["RATIO"][0] == "real" and types["LABEL"][0] == "text"
    assert types["OK"][0] == "boolean" and types["DAY"][0] == "date"
    assert types["AT"] == ("timestamp_ntz", 0, 9) and types["NOW"][0] == "timestamp_ltz"
    assert types["DOC"][0] == "variant"
    assert meta["partitionInfo"] == [{"rowCount": 1, "uncompressedSize": pytest.approx(
        meta["partitionInfo"][0]["uncompressedSize"])}]
    row = dict(zip([c["name"] for c in meta["rowType"]], body["data"][0], strict=True))
    assert row["N"] == "42" and row["AMOUNT"] == "12.50" and row["RATIO"] == "2.5"
    assert row["OK"] == "true" and row["DAY"] == "10" and row["AT"] == "1.500000000"
    assert row["NOTHING"] is None and '"a"' in row["DOC"]
    assert float(row["NOW"]) == sql.api.server.service.now().timestamp()


def test_nullable_false_sends_the_string_null(sql: Sql) -> None:
    body = sql.submit("SELECT NULL AS x", params={"nullable": "false"})
    assert body["data"] == [["null"]] and body["resultSetMetaData"]["nullable"] is False


def test_tables_written_by_a_task_are_read_through_sql(sql: Sql) -> None:
    sql.submit("CREATE TABLE ledger (id INT, note TEXT)")
    sql.api.create("writer", "INSERT INTO ledger VALUES (1, 'from the task')")
    run = sql.api.execute("writer")
    assert run["state"] == "SUCCEEDED"
    assert sql.rows(f"SELECT * FROM {sql.api.database}.{sql.api.schema}.ledger") == [
        ["1", "from the task"]]


def test_dml_answers_count_and_stats(sql: Sql) -> None:
    created = sql.submit("CREATE TABLE t (id INT)")
    assert created["data"] == [["Statement executed successfully."]]
    inserted = sql.submit("INSERT INTO t VALUES (1), (2), (3)")
    assert inserted["data"] == [["3"]] and inserted["stats"] == {"numRowsInserted": 3}
    deleted = sql.submit("DELETE FROM t WHERE id > 1")
    assert deleted["stats"] == {"numRowsDeleted": 2}
    assert sql.rows("SELECT id FROM t") == [["1"]]


def test_bindings_are_parameters_not_text(sql: Sql) -> None:
    sql.submit("CREATE TABLE people (name TEXT, age INT, born DATE)")
    hostile = "x'); DROP TABLE people; --"
    sql.submit("INSERT INTO people VALUES (?, ?, ?)", bindings={
        "1": {"type": "TEXT", "value": hostile}, "2": {"type": "FIXED", "value": "41"},
        "3": {"type": "DATE", "value": "1985-02-03"}})
    assert sql.rows("SELECT name, age, born FROM people") == [[hostile, "41", "5512"]]
    found = sql.submit("SELECT COUNT(*) FROM people WHERE age > ? AND name = ?", bindings={
        "1": {"type": "FIXED", "value": "40"}, "2": {"type": "TEXT", "value": hostile}})
    assert found["data"] == [["1"]]
    missing = sql.submit("SELECT ?, ?", expect=422, bindings={"1": {"type": "TEXT",
                                                                     "value": "a"}})
    assert missing["code"] == "002049" and missing["statementHandle"]


@pytest.mark.parametrize("bindings, fragment", [
    ({"1": {"type": "FIXED", "value": "twelve"}}, "bindings.1"),
    ({"1": {"type": "NOPE", "value": "1"}}, "bindings.1: type"),
    ({"2": {"type": "TEXT", "value": "x"}}, "without gaps"),
    ({"1": "x"}, "bindings.1 must be an object"),
    ([1, 2], "must be an object"),
])
def test_malformed_bindings_are_400_and_run_nothing(sql: Sql, bindings: Any,
                                                    fragment: str) -> None:
    sql.submit("CREATE TABLE kept (id INT)")
    body = sql.submit("INSERT INTO kept VALUES (?)", expect=400, bindings=bindings, raw=True)
    assert fragment in body["message"]
    assert sql.rows("SELECT COUNT(*) FROM kept") == [["0"]]


@pytest.mark.parametrize("body, fragment", [
    ({}, "'statement'"),
    ({"statement": "   "}, "'statement'"),
    ({"statement": "SELECT 1", "timeout": -1}, "'timeout'"),
    ({"statement": "SELECT 1", "timeout": "10"}, "'timeout'"),
    ({"statement": "SELECT 1", "database": 5}, "'database'"),
    ({"statement": "SELECT 1", "parameters": {"multi_statement_count": "2"}},
     "multi_statement_count"),
])
def test_malformed_bodies_are_400(sql: Sql, body: dict[str, Any], fragment: str) -> None:
    response = sql.raw.post(STATEMENTS, json=body)
    assert response.status_code == 400 and fragment in response.json()["message"]


@pytest.mark.parametrize("body, field", [
    ({"statement": "INSERT INTO kept VALUES ('\\ud800')"}, "statement"),
    ({"statement": "INSERT INTO kept VALUES (?)",
      "bindings": {"1": {"type": "TEXT", "value": "\\udc00"}}}, "bindings.1.value"),
])
def test_a_lone_surrogate_is_400_naming_the_field_and_runs_nothing(
        sql: Sql, body: dict[str, Any], field: str) -> None:
    """Issue 7 item 3 at the SQL API's door: JSON escapes that are no Unicode text."""
    sql.submit("CREATE TABLE kept (v TEXT)")
    payload = json.dumps({**body, "database": sql.api.database, "schema": sql.api.schema})
    response = sql.raw.post(STATEMENTS, content=payload.replace("\\\\u", "\\u").encode(),
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert field in response.json()["message"] and "Unicode" in response.json()["message"]
    assert sql.rows("SELECT COUNT(*) FROM kept") == [["0"]]


def test_invalid_json_is_400(sql: Sql) -> None:
    response = sql.raw.post(STATEMENTS, content=b"{not json",
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_a_request_without_user_agent_is_400_and_runs_nothing(sql: Sql) -> None:
    """sqlapi.yaml: the User-Agent header is required (``allowEmptyValue: false``)."""
    sql.submit("CREATE TABLE ua_kept (n INT)")
    anonymous = httpx.Client(base_url=sql.api.server.url, timeout=30.0,
                             headers={"Authorization": f"Bearer {sql.api.server.token}"})
    del anonymous.headers["User-Agent"]
    with anonymous:
        refused = anonymous.post(STATEMENTS, json={
            "statement": "INSERT INTO ua_kept VALUES (1)", "database": sql.api.database,
            "schema": sql.api.schema})
    assert refused.status_code == 400 and "User-Agent" in refused.json()["message"]
    assert sql.rows("SELECT COUNT(*) FROM ua_kept") == [["0"]]


@pytest.mark.parametrize("statement, code", [
    ("SELECT * FROM no_such_table", "002003"),
    ("SELECT 1 +* FROM", "001003"),
    ("SELECT 1 / 0", "100051"),
    ("CALL some_procedure()", "002140"),
    ("COPY INTO @stage FROM t", "000002"),
])
def test_sql_errors_are_422_with_snowflake_codes(sql: Sql, statement: str, code: str) -> None:
    body = sql.submit(statement, expect=422)
    assert body["code"] == code and body["sqlState"] and body["message"]
    again = sql.status(body["statementHandle"], expect=422).json()
    assert again["code"] == code and again["statementHandle"] == body["statementHandle"]


def test_unsupported_statement_names_what_is_not_supported(sql: Sql) -> None:
    body = sql.submit("COPY INTO @stage FROM t", expect=422)
    assert "COPY INTO" in body["message"] and "not supported" in body["message"]


def test_missing_database_and_schema(sql: Sql) -> None:
    assert sql.submit("SELECT 1", database="NO_SUCH_DB", expect=422)["code"] == "002003"
    assert sql.submit("SELECT 1", schema="NO_SUCH_SCHEMA", expect=422)["code"] == "002003"
    no_db = sql.http.post(STATEMENTS, json={"statement": "SELECT 1"})
    assert no_db.status_code == 422 and no_db.json()["code"] == "090105"


def test_multi_statement_needs_the_count(sql: Sql) -> None:
    refused = sql.submit("CREATE TABLE m (id INT); INSERT INTO m VALUES (1)", expect=422)
    assert refused["code"] == "000008"
    assert sql.submit("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'M'"
                      )["data"] == [["0"]]  # nothing ran
    done = sql.submit("CREATE TABLE m (id INT); INSERT INTO m VALUES (1)",
                      parameters={"multi_statement_count": 2})
    assert done["stats"] == {"numRowsInserted": 1}
    assert sql.rows("SELECT id FROM m") == [["1"]]


def test_async_answers_202_then_the_result(sql: Sql, validating) -> None:
    accepted = sql.submit("SELECT SYSTEM$WAIT(200, 'MILLISECONDS') AS w", expect=202,
                          params={"async": "true"})
    assert accepted["code"] == "333334"
    handle = accepted["statementHandle"]
    assert accepted["statementStatusUrl"].endswith(handle)
    body = sql.wait(handle)
    assert body["data"] == [["waited 200 milliseconds"]]
    assert ("GetStatementStatus", 202) in [(op, s) for _, op, s in validating.exchanges]


def test_a_slow_statement_answers_202(sql: Sql, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "SYNC_WAIT_SECONDS", 0.05)
    accepted = sql.submit("SELECT SYSTEM$WAIT(300, 'MILLISECONDS')", expect=202)
    assert sql.wait(accepted["statementHandle"])["resultSetMetaData"]["numRows"] == 1


def test_cancel_interrupts_a_running_statement(sql: Sql) -> None:
    started = time.monotonic()
    accepted = sql.submit("SELECT SYSTEM$WAIT(30)", expect=202, params={"async": "true"})
    handle = accepted["statementHandle"]
    time.sleep(0.2)
    cancelled = sql.http.post(f"{STATEMENTS}/{handle}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["message"] == "successfully canceled"
    body = sql.wait(handle, expect=422)
    assert body["code"] == "000604" and time.monotonic() - started < 10
    again = sql.http.post(f"{STATEMENTS}/{handle}/cancel")
    assert again.status_code == 200 and "nothing to cancel" in again.json()["message"]


def test_timeout_cancels_with_000630(sql: Sql) -> None:
    started = time.monotonic()
    body = sql.submit("SELECT SYSTEM$WAIT(30)", timeout=1, expect=408)
    assert body["code"] == "000630" and time.monotonic() - started < 10
    assert sql.status(body["statementHandle"], expect=422).json()["code"] == "000630"


def test_partitions(sql: Sql, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "PARTITION_CELLS", 100)
    body = sql.submit("SELECT range AS n, range * 2 AS twice FROM range(120) ORDER BY n")
    meta = body["resultSetMetaData"]
    assert meta["numRows"] == 120
    assert [p["rowCount"] for p in meta["partitionInfo"]] == [50, 50, 20]
    assert body["data"][0] == ["0", "0"] and len(body["data"]) == 50
    handle = body["statementHandle"]
    second = sql.status(handle, partition="1")
    assert second.json()["data"][0] == ["50", "100"] and "resultSetMetaData" not in second.json()
    assert 'rel="next"' in second.headers["link"] and 'rel="prev"' in second.headers["link"]
    assert sql.status(handle, partition="2").json()["data"][-1] == ["119", "238"]
    refused = sql.status(handle, partition="3", expect=400)
    assert "3 partition(s)" in refused.json()["message"]


def test_request_id_makes_a_submission_idempotent(sql: Sql) -> None:
    sql.submit("CREATE TABLE once (id INT)")
    request_id = str(uuid.uuid4())
    first = sql.submit("INSERT INTO once VALUES (1)", params={"requestId": request_id})
    second = sql.submit("INSERT INTO once VALUES (1)", params={"requestId": request_id})
    assert first["statementHandle"] == second["statementHandle"]
    assert sql.rows("SELECT COUNT(*) FROM once") == [["1"]]
    bad = sql.raw.post(STATEMENTS, params={"requestId": "not-a-uuid"},
                        json={"statement": "SELECT 1"})
    assert bad.status_code == 400


def test_unknown_and_invalid_handles(sql: Sql) -> None:
    assert sql.status(str(uuid.uuid4()), expect=404).json()["message"]
    invalid = sql.raw.get(f"{STATEMENTS}/nope")
    assert invalid.status_code == 400 and "not a statement handle" in invalid.json()["message"]
    response = sql.http.post(f"{STATEMENTS}/{uuid.uuid4()}/cancel")
    assert response.status_code == 404


def test_too_many_pending_statements_is_429(sql: Sql, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "MAX_PENDING_STATEMENTS", 1)
    busy = sql.submit("SELECT SYSTEM$WAIT(30)", expect=202, params={"async": "true"})
    try:
        refused = sql.http.post(STATEMENTS, json={"statement": "SELECT 1",
                                                  "database": sql.api.database})
        assert refused.status_code == 429 and "cancel" in refused.json()["message"]
    finally:
        sql.http.post(f"{STATEMENTS}/{busy['statementHandle']}/cancel")


def test_the_token_is_required(sql: Sql) -> None:
    response = httpx.post(sql.api.server.url + STATEMENTS, json={"statement": "SELECT 1"})
    assert response.status_code == 401
    wrong = httpx.post(sql.api.server.url + STATEMENTS, json={"statement": "SELECT 1"},
                       headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401


def _failing_graph(api: Api) -> None:
    api.create("root", "SELECT 1")
    api.create("bad", "SELECT * FROM no_such_table", predecessors=["root"])
    api.action("bad", "resume")
    assert api.execute("root")["state"] == "FAILED"


HISTORY = "TABLE(INFORMATION_SCHEMA.TASK_HISTORY({}))"


def test_task_history_answers_from_the_run_records(sql: Sql) -> None:
    _failing_graph(sql.api)
    body = sql.submit("SELECT * FROM " + HISTORY.format("") + " ORDER BY name")
    meta = body["resultSetMetaData"]
    names = [c["name"] for c in meta["rowType"]]
    assert names[:7] == ["NAME", "DATABASE_NAME", "SCHEMA_NAME", "QUERY_ID", "QUERY_TEXT",
                         "CONDITION_TEXT", "STATE"]
    assert "GRAPH_RUN_GROUP_ID" in names and "ATTEMPT_NUMBER" in names
    types = {c["name"]: c["type"] for c in meta["rowType"]}
    assert types["SCHEDULED_TIME"] == "timestamp_ltz" and types["ERROR_CODE"] == "fixed"
    rows = [dict(zip(names, row, strict=True)) for row in body["data"]]
    assert [(r["NAME"], r["STATE"]) for r in rows] == [("BAD", "FAILED"), ("ROOT", "SUCCEEDED")]
    bad = rows[0]
    assert bad["ERROR_CODE"] == "2003" and "NO_SUCH_TABLE" in bad["ERROR_MESSAGE"]
    assert bad["DATABASE_NAME"] == sql.api.database and bad["QUERY_TEXT"].startswith("SELECT")
    assert bad["ATTEMPT_NUMBER"] == "1" and bad["QUERY_ID"]
    assert rows[0]["RUN_ID"] == rows[1]["RUN_ID"]  # one graph run


QUERY_ID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_each_task_run_has_its_own_query_id_in_snowflakes_form(sql: Sql) -> None:
    """QUERY_ID is "ID of the SQL statement executed by the task" (TASK_HISTORY docs): a
    36-character id like ``01b2c3d4-0000-…``, one per task run, the same after a restart."""
    _failing_graph(sql.api)
    sql.api.execute("root")
    ids = [row[0] for row in sql.rows("SELECT query_id FROM " + HISTORY.format("")
                                      + " WHERE state <> 'SCHEDULED'")]
    assert len(ids) == 4 and len(set(ids)) == 4  # two graph runs of two tasks
    assert all(QUERY_ID_SHAPE.fullmatch(query_id) for query_id in ids), ids


def test_task_history_arguments(sql: Sql) -> None:
    _failing_graph(sql.api)
    only_errors = sql.rows("SELECT name FROM " + HISTORY.format("ERROR_ONLY => TRUE"))
    assert only_errors == [["BAD"]]
    bound = sql.submit("SELECT state FROM " + HISTORY.format("TASK_NAME => ?, RESULT_LIMIT => ?")
                       + " WHERE name <> ?", bindings={
                           "1": {"type": "TEXT", "value": "root"},
                           "2": {"type": "FIXED", "value": "5"},
                           "3": {"type": "TEXT", "value": "nothing"}})
    assert bound["data"] == [["SUCCEEDED"]]
    assert len(sql.rows("SELECT name FROM " + HISTORY.format("RESULT_LIMIT => 1"))) == 1
    recent = sql.rows("SELECT COUNT(*) FROM " + HISTORY.format(
        "SCHEDULED_TIME_RANGE_START => DATEADD('hour', -1, CURRENT_TIMESTAMP())"))
    assert recent == [["2"]]
    future = sql.rows("SELECT COUNT(*) FROM " + HISTORY.format(
        "SCHEDULED_TIME_RANGE_START => DATEADD('hour', 1, CURRENT_TIMESTAMP())"))
    assert future == [["0"]]
    other = sql.rows(f"SELECT COUNT(*) FROM TABLE({sql.api.database}.INFORMATION_SCHEMA."
                     "TASK_HISTORY()) ")
    assert other == [["2"]]


@pytest.mark.parametrize("arguments, fragment", [
    ("RESULT_LIMIT => 20000", "exceeds maximum allowable value (10,000)"),
    ("RESULT_LIMIT => 0", "RESULT_LIMIT must be"),
    ("BOGUS => 1", "unknown argument BOGUS"),
    ("'ROOT'", "named arguments"),
    ("SCHEDULED_TIME_RANGE_START => 'yesterday'", "must be a timestamp"),
])
def test_task_history_refuses_bad_arguments(sql: Sql, arguments: str, fragment: str) -> None:
    body = sql.submit("SELECT * FROM " + HISTORY.format(arguments), expect=422)
    assert fragment in body["message"] and body["statementHandle"]


def test_task_history_keeps_seven_days(fresh_api: Api, validating) -> None:
    sql = Sql(fresh_api, validating)
    try:
        _failing_graph(fresh_api)
        assert sql.rows("SELECT COUNT(*) FROM " + HISTORY.format("")) == [["2"]]
        advanced = sql.raw.post("/tasknb/v1/clock:advance", json={"seconds": 8 * 86_400})
        assert advanced.status_code == 200
        assert sql.rows("SELECT COUNT(*) FROM " + HISTORY.format("")) == [["0"]]
    finally:
        sql.http.close()
        sql.raw.close()


def test_a_result_beyond_the_row_cap_fails_without_fetching_it_all(sql: Sql,
                                                                    monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "MAX_RESULT_ROWS", 1000)
    started = time.monotonic()
    body = sql.submit("SELECT * FROM range(1000000000)", expect=422)
    assert body["code"] == "000002" and "1,000 rows" in body["message"]
    assert time.monotonic() - started < 10  # streamed: a billion rows were never fetched
    assert sql.submit("SELECT * FROM range(1000)")["resultSetMetaData"]["numRows"] == 1000


def test_old_results_are_forgotten_past_the_cell_budget(sql: Sql, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "MAX_KEPT_CELLS", 10)
    first = sql.submit("SELECT * FROM range(10)")["statementHandle"]
    second = sql.submit("SELECT * FROM range(10)")["statementHandle"]
    sql.submit("SELECT 1")
    assert sql.status(first, expect=404).json()["message"]
    assert sql.status(second).json()["data"][0] == ["0"]


def test_expression_columns_are_named_as_snowflake_names_them(sql: Sql) -> None:
    body = sql.submit("SELECT COUNT(*), SYSTEM$WAIT(1, 'MILLISECONDS'), 1 AS one, "
                      "CURRENT_DATE() FROM range(3)")
    names = [c["name"] for c in body["resultSetMetaData"]["rowType"]]
    assert names == ["COUNT(*)", "SYSTEM$WAIT(1, 'MILLISECONDS')", "ONE", "CURRENT_DATE"]
    assert body["data"][0][:3] == ["3", "waited 1 milliseconds", "1"]


def test_task_history_values_are_parameters_not_text(sql: Sql) -> None:
    definition = "SELECT '?', 'it''s', ':tasknb_p0' FROM no_such_table"
    sql.api.create("quoted", definition)
    assert sql.api.execute("quoted")["state"] == "FAILED"
    body = sql.submit("SELECT query_text, ? AS marker FROM " + HISTORY.format("TASK_NAME => ?"),
                      bindings={"1": {"type": "TEXT", "value": "m"},
                                "2": {"type": "TEXT", "value": "QUOTED"}})
    assert body["data"] == [[definition, "m"]]


def test_complete_and_current_task_graphs(sql: Sql) -> None:
    _failing_graph(sql.api)
    body = sql.submit("SELECT root_task_name, state, first_error_task_name, first_error_code "
                      "FROM TABLE(INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS(ROOT_TASK_NAME => ?))",
                      bindings={"1": {"type": "TEXT", "value": "root"}})
    assert body["data"] == [["ROOT", "FAILED", "BAD", "2003"]]
    names = [c["name"] for c in sql.submit(
        "SELECT * FROM TABLE(INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS())")["resultSetMetaData"][
        "rowType"]]
    assert names[:4] == ["ROOT_TASK_NAME", "DATABASE_NAME", "SCHEMA_NAME", "STATE"]
    assert "COMPLETED_TIME" in names and "GRAPH_RUN_GROUP_ID" in names
    assert sql.rows("SELECT COUNT(*) FROM TABLE(INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS("
                    "ERROR_ONLY => TRUE))") == [["1"]]
    current = sql.submit("SELECT * FROM TABLE(INFORMATION_SCHEMA.CURRENT_TASK_GRAPHS())")
    assert current["data"] == []
    assert "COMPLETED_TIME" not in [c["name"] for c in current["resultSetMetaData"]["rowType"]]
    refused = sql.submit("SELECT * FROM TABLE(INFORMATION_SCHEMA.CURRENT_TASK_GRAPHS("
                         "ERROR_ONLY => TRUE))", expect=422)
    assert "unknown argument ERROR_ONLY" in refused["message"]


def test_account_usage_views_cover_every_database_for_a_year(fresh_api: Api,
                                                             validating) -> None:
    sql = Sql(fresh_api, validating)
    try:
        _failing_graph(fresh_api)
        sql.raw.post("/tasknb/v1/clock:advance", json={"seconds": 30 * 86_400})
        assert sql.rows("SELECT COUNT(*) FROM " + HISTORY.format("")) == [["0"]]  # 7 days
        history = sql.rows("SELECT h.name, h.state FROM SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY h "
                           "ORDER BY h.name")
        assert history == [["BAD", "FAILED"], ["ROOT", "SUCCEEDED"]]
        graphs = sql.rows("SELECT root_task_name, state "
                          "FROM SNOWFLAKE.ACCOUNT_USAGE.COMPLETE_TASK_GRAPHS")
        assert graphs == [["ROOT", "FAILED"]]
        sql.raw.post("/tasknb/v1/clock:advance", json={"seconds": 340 * 86_400})
        assert sql.rows("SELECT COUNT(*) FROM SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY") == [["0"]]
    finally:
        sql.http.close()
        sql.raw.close()


def test_cancelling_a_queued_statement_ends_it_at_once(sql: Sql, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "MAX_RUNNING_STATEMENTS", 1)
    monkeypatch.setattr(server_statements, "_REGISTRIES", server_statements.weakref.
                        WeakKeyDictionary())  # a registry with one slot
    busy = sql.submit("SELECT SYSTEM$WAIT(30)", expect=202, params={"async": "true"})
    queued = sql.submit("SELECT 1", expect=202, params={"async": "true"})
    try:
        started = time.monotonic()
        response = sql.http.post(f"{STATEMENTS}/{queued['statementHandle']}/cancel")
        assert response.status_code == 200 and time.monotonic() - started < 2
        assert sql.status(queued["statementHandle"], expect=422).json()["code"] == "000604"
    finally:
        sql.http.post(f"{STATEMENTS}/{busy['statementHandle']}/cancel")
    assert sql.wait(busy["statementHandle"], expect=422)["code"] == "000604"


# --- fuzzing: arbitrary bodies and query strings never get a 5xx or change data when refused --
def test_fuzzed_submissions_never_fail_the_server(sql: Sql) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sql.submit("CREATE TABLE sentinel (id INT)")
    sql.submit("INSERT INTO sentinel VALUES (1)")
    scalars = (st.none() | st.booleans() | st.integers(-3, 10**12)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=5)
    statements = st.sampled_from([
        "SELECT 1", "SELECT ?", "SELECT ?, ?", "INSERT INTO sentinel VALUES (?)",
        "DELETE FROM sentinel WHERE id = ?", "SELECT 1; SELECT 2", "",
        "SELECT * FROM " + HISTORY.format("RESULT_LIMIT => ?"),
        "SELECT * FROM " + HISTORY.format("TASK_NAME => ?, SCHEDULED_TIME_RANGE_START => ?"),
        "SELECT SYSTEM$WAIT(?)",
    ])
    binding = st.fixed_dictionaries({"type": st.sampled_from(
        ["FIXED", "REAL", "TEXT", "BOOLEAN", "DATE", "TIMESTAMP_NTZ", "BINARY", "x"]) | values,
        "value": values})
    well_formed = st.fixed_dictionaries({
        "statement": statements, "database": st.just(sql.api.database),
        "schema": st.just(sql.api.schema)}, optional={
        "bindings": st.dictionaries(st.sampled_from(["1", "2"]), binding, max_size=2)})
    noisy = st.fixed_dictionaries({"statement": statements | st.text(max_size=30) | values},
                                  optional={
        "database": st.sampled_from([sql.api.database, "NOPE"]) | values,
        "schema": st.sampled_from([sql.api.schema, "NOPE"]) | values,
        "timeout": st.integers(-1, 3) | values,
        "bindings": st.dictionaries(st.sampled_from(["1", "2", "0", "x"]), binding | values,
                                    max_size=2) | values,
        "parameters": st.dictionaries(st.sampled_from(["multi_statement_count", "query_tag"]),
                                      values, max_size=2) | values})
    body = well_formed | noisy
    params = st.dictionaries(st.sampled_from(["async", "nullable", "requestId"]),
                             st.sampled_from(["true", "false", "", "x"]), max_size=2)
    statuses: collections.Counter[int] = collections.Counter()

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(body, params)
    def submit(payload: Any, query: dict[str, str]) -> None:
        before = sql.rows("SELECT COUNT(*) FROM sentinel")
        response = sql.raw.post(STATEMENTS, params=query, json=payload)
        statuses[response.status_code] += 1
        assert response.status_code in (200, 202, 400, 408, 422, 429), response.text
        if response.status_code in (400, 422):
            assert response.json()["message"]
            assert sql.rows("SELECT COUNT(*) FROM sentinel") == before  # refused: unchanged
        if response.status_code in (200, 202, 408, 422):
            uuid.UUID(response.json()["statementHandle"])
        if response.status_code == 202:  # e.g. SYSTEM$WAIT(10**12): stopped at the end
            running.append(response.json()["statementHandle"])

    running: list[str] = []
    try:
        submit()
    finally:
        for handle in running:
            sql.raw.post(f"{STATEMENTS}/{handle}/cancel")
    assert statuses[400] and statuses[200] and statuses[422], statuses


def test_a_statement_over_its_timeout_changes_nothing(sql: Sql) -> None:
    sql.submit("CREATE OR REPLACE TABLE timed_out (n INTEGER)")
    sql.submit("INSERT INTO timed_out VALUES (1)")
    started = time.monotonic()
    body = sql.submit("INSERT INTO timed_out SELECT COUNT(*) FROM range(100000000000) t(x)",
                      timeout=1, expect=408)
    assert body["code"] == "000630" and time.monotonic() - started < 15
    assert "timeout of 1 second" in body["message"]
    assert sql.rows("SELECT n FROM timed_out") == [["1"]]  # the insert was rolled back


def test_a_binding_cast_with_double_colons_parses(sql: Sql) -> None:
    body = sql.submit("SELECT ?::int + 1 AS n, '?::x' AS s",
                      bindings={"1": {"type": "TEXT", "value": "41"}})
    assert body["data"] == [["42", "?::x"]]  # the string is left alone
    assert body["resultSetMetaData"]["rowType"][0]["type"] == "fixed"


@pytest.mark.parametrize("statement", ["SHOW WAREHOUSES", "DESCRIBE TABLE t", "DESC TABLE t"])
def test_show_and_describe_are_refused_without_speaking_of_tasks(sql: Sql,
                                                                 statement: str) -> None:
    body = sql.submit(statement, expect=422)
    assert body["code"] == "000002"
    assert "inside a task" not in body["message"]
    assert "local engine" in body["message"]


def test_history_time_columns_are_typed_timestamp_ltz_as_on_snowflake(sql: Sql) -> None:
    for table, columns in (
            ("TABLE(INFORMATION_SCHEMA.TASK_HISTORY())",
             ("SCHEDULED_TIME", "QUERY_START_TIME", "COMPLETED_TIME", "NEXT_SCHEDULED_TIME")),
            ("TABLE(INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS())",
             ("SCHEDULED_TIME", "QUERY_START_TIME", "COMPLETED_TIME", "NEXT_SCHEDULED_TIME"))):
        row_type = sql.submit(f"SELECT * FROM {table}")["resultSetMetaData"]["rowType"]
        types = {column["name"]: column["type"] for column in row_type}
        assert {types[c] for c in columns} == {"timestamp_ltz"}, (table, types)


def test_a_cast_to_timestamp_tz_is_typed_timestamp_tz(sql: Sql) -> None:
    body = sql.submit("SELECT '2026-01-05 08:00:00+00:00'::TIMESTAMP_TZ AS tz, "
                      "'2026-01-05 08:00:00+00:00'::TIMESTAMP_LTZ AS ltz")
    types = [column["type"] for column in body["resultSetMetaData"]["rowType"]]
    assert types == ["timestamp_tz", "timestamp_ltz"]
    assert body["data"] == [["1767600000.000000000 1440", "1767600000.000000000"]]


def test_call_and_blocks_answer_their_result(sql: Sql) -> None:
    """CALL answers one column named after the procedure holding its return value; an
    anonymous block answers "anonymous block", and ``RETURN TABLE(...)`` the table (Snowflake's
    CALL and "Snowflake Scripting: returning a table" pages)."""
    sql.submit("CREATE OR REPLACE PROCEDURE add_one(x NUMBER) RETURNS NUMBER LANGUAGE SQL "
               "AS $$ BEGIN RETURN x + 1; END; $$")
    called = sql.submit("CALL add_one(?)", bindings={"1": {"type": "FIXED", "value": "41"}})
    assert [c["name"] for c in called["resultSetMetaData"]["rowType"]] == ["ADD_ONE"]
    assert called["data"] == [["42"]]
    block = sql.submit("EXECUTE IMMEDIATE $$ DECLARE r RESULTSET DEFAULT (SELECT 1 AS a UNION "
                       "ALL SELECT 2 ORDER BY a); BEGIN RETURN TABLE(r); END; $$")
    assert block["data"] == [["1"], ["2"]]
    anonymous = sql.submit("BEGIN RETURN 'done'; END")
    assert anonymous["resultSetMetaData"]["rowType"][0]["name"] == "anonymous block"
    assert anonymous["data"] == [["done"]]
