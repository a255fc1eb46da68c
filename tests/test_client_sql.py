"""``TaskClient.sql`` over real HTTP on loopback against the local server, spec-validated.

Every request the client sends and every answer of the server is checked against
sqlapi.yaml by the validating transport (``spec_validation``). Decoding of encodings the
local engine never produces (TIMESTAMP_TZ offsets, TIME, BINARY) is checked on the decoder.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pandas as pd
import pytest
from client_support import fresh_schema
from spec_validation import SpecValidatingTransport

from tasknb import ApiError, BadRequest, ResultTimeout, SqlError, TaskClient
from tasknb.client._sql import decode_column, to_bindings, to_frame
from tasknb.local.api import statements as server_statements
from tasknb.testing import local_client


@pytest.fixture
def client(server, validating) -> Iterator[TaskClient]:
    c = local_client(server, database="sqltest", schema=fresh_schema(),
                     transport=validating)
    yield c
    c.close()


def test_query_returns_a_typed_frame(client, validating) -> None:
    client.sql("CREATE TABLE orders (id INT, customer TEXT, amount NUMBER(10, 2), paid BOOLEAN, "
               "day DATE, at TIMESTAMP_NTZ, extra VARIANT)")
    inserted = client.sql(
        "INSERT INTO orders SELECT 1, 'ada', 12.50, TRUE, '2026-03-01', "
        "'2026-03-01 08:30:00.25', PARSE_JSON('{\"k\": [1, 2]}') "
        "UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL")
    assert inserted.iloc[0, 0] == 2
    frame = client.sql("SELECT * FROM orders ORDER BY id")
    assert list(frame.columns) == ["ID", "CUSTOMER", "AMOUNT", "PAID", "DAY", "AT", "EXTRA"]
    assert str(frame["ID"].dtype) == "Int64" and frame["ID"].tolist() == [1, 2]
    assert frame["CUSTOMER"].dtype == "string" and pd.isna(frame["CUSTOMER"][1])
    assert frame["AMOUNT"].dtype == "float64" and frame["AMOUNT"][0] == 12.5
    assert math.isnan(frame["AMOUNT"][1])
    assert str(frame["PAID"].dtype) == "boolean" and bool(frame["PAID"][0]) is True
    assert frame["PAID"][1] is pd.NA
    assert frame["DAY"][0] == pd.Timestamp("2026-03-01")
    assert frame["AT"][0] == pd.Timestamp("2026-03-01 08:30:00.25", tz="UTC")
    assert frame["EXTRA"][0] == {"k": [1, 2]} and frame["EXTRA"][1] is None
    assert frame.attrs["statement_handle"]
    operations = {op for _, op, _ in validating.exchanges}
    assert "SubmitStatement" in operations  # (and status polls when the machine is slow)
    assert operations <= {"SubmitStatement", "GetStatementStatus"}


def test_bindings_are_typed_and_never_spliced(client) -> None:
    client.sql("CREATE TABLE people (name TEXT, born DATE, score DOUBLE, at TIMESTAMP_NTZ)")
    hostile = "x'); DROP TABLE people; --"
    client.sql("INSERT INTO people VALUES (?, ?, ?, ?)",
               bindings=[hostile, date(1990, 5, 17), 2.5, datetime(2026, 1, 2, 3, 4, 5)])
    frame = client.sql("SELECT name, born, score, at FROM people WHERE name = ?",
                       bindings=[hostile])
    assert frame["NAME"].tolist() == [hostile]
    assert frame["BORN"][0] == pd.Timestamp("1990-05-17")
    assert frame["SCORE"][0] == 2.5
    assert frame["AT"][0] == pd.Timestamp("2026-01-02 03:04:05", tz="UTC")
    counted = client.sql("SELECT COUNT(*) AS n FROM people WHERE score > ? AND name <> ?",
                         bindings=[Decimal("1.5"), None])
    assert counted["N"].tolist() == [0]  # <> NULL is never true
    assert client.sql("SELECT ? AS flag", bindings=[True])["FLAG"].tolist() == [True]


def test_sql_errors_are_one_line_sql_errors(client) -> None:
    with pytest.raises(SqlError) as missing:
        client.sql("SELECT * FROM no_such_table")
    error = missing.value
    assert (error.status, error.code) == (422, "002003")
    assert error.sql_state and error.statement_handle
    assert "\n" not in str(error) and "NO_SUCH_TABLE" in str(error)
    with pytest.raises(SqlError) as syntax:
        client.sql("SELECT 1 +* FROM")
    assert syntax.value.code == "001003"
    with pytest.raises(SqlError) as zero:
        client.sql("SELECT 1 / 0")
    assert zero.value.code == "100051"
    assert isinstance(zero.value, ApiError)


def test_bad_binding_is_refused_before_sending(client) -> None:
    with pytest.raises(TypeError, match="binding 1"):
        client.sql("SELECT ?", bindings=[object()])


def test_server_refuses_a_malformed_binding_with_400(server, client, validating) -> None:
    response = client._http.post("/api/v2/statements", json={
        "statement": "SELECT ?", "database": client.database, "schema": client.schema,
        "bindings": {"1": {"type": "FIXED", "value": "twelve"}}})
    assert response.status_code == 400 and "bindings.1" in response.json()["message"]


def test_timeout_cancels_on_the_server(client) -> None:
    started = time.monotonic()
    with pytest.raises(SqlError) as info:
        client.sql("SELECT SYSTEM$WAIT(20)", timeout=1)
    # 408 on the POST (422 when a loaded machine made the client poll for it)
    assert info.value.code == "000630" and info.value.status in (408, 422)
    assert time.monotonic() - started < 8  # the 408 is the answer: not retried with backoff


def test_long_statement_is_polled_after_202(client, validating, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "SYNC_WAIT_SECONDS", 0.05)
    frame = client.sql("SELECT SYSTEM$WAIT(300, 'MILLISECONDS') AS waited")
    assert frame["WAITED"].tolist() == ["waited 300 milliseconds"]
    statuses = [(op, status) for _, op, status in validating.exchanges]
    assert ("SubmitStatement", 202) in statuses and ("GetStatementStatus", 200) in statuses


def test_keyboard_interrupt_cancels_the_statement(server, validating, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "SYNC_WAIT_SECONDS", 0.05)
    calls = []

    def interrupting_sleep(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt

    c = local_client(server, database="sqltest", schema=fresh_schema(),
                     transport=validating, sleep=interrupting_sleep)
    try:
        with pytest.raises(KeyboardInterrupt):
            c.sql("SELECT SYSTEM$WAIT(30)")
    finally:
        c.close()
    assert ("CancelStatement", 200) in [(op, s) for _, op, s in validating.exchanges]
    registry = server_statements.registry_of(server.service)
    cancelled = [s for s in registry._statements.values()
                 if s.request.statement == "SELECT SYSTEM$WAIT(30)"]
    assert cancelled and cancelled[0].done.wait(10)
    assert cancelled[0].error is not None and cancelled[0].error[0] == "000604"


def test_client_deadline_cancels_and_raises(server, validating, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "SYNC_WAIT_SECONDS", 0.05)
    monkeypatch.setattr("tasknb.client._sql.CANCEL_GRACE_SECONDS", -0.5)
    c = local_client(server, database="sqltest", schema=fresh_schema(),
                     transport=validating)
    try:
        with pytest.raises(ResultTimeout, match="cancelled"):
            c.sql("SELECT SYSTEM$WAIT(30)", timeout=1)
    finally:
        c.close()
    assert ("CancelStatement", 200) in [(op, s) for _, op, s in validating.exchanges]


def test_large_result_is_fetched_from_every_partition(client, validating, monkeypatch) -> None:
    monkeypatch.setattr(server_statements, "PARTITION_CELLS", 1000)
    frame = client.sql("SELECT range AS n, 'row ' || range AS label FROM range(5000)")
    assert len(frame) == 5000 and frame["N"].tolist() == list(range(5000))
    gets = [s for _, op, s in validating.exchanges if op == "GetStatementStatus"]
    # 10 partitions of 500 rows: the first came with the POST (or with the last status poll,
    # when the statement outlived the server's synchronous wait)
    assert gets.count(200) in (9, 10) and set(gets) <= {200, 202}


def test_empty_result_keeps_columns_and_dtypes(client) -> None:
    frame = client.sql("SELECT 1 AS a, 'x' AS b WHERE 1 = 0")
    assert list(frame.columns) == ["A", "B"] and len(frame) == 0
    assert str(frame["A"].dtype) == "Int64"


def test_missing_database_is_a_sql_error(server, validating) -> None:
    c = TaskClient(server.url, auth=None, transport=validating,
                   headers={"Authorization": f"Bearer {server.token}"})
    try:
        with pytest.raises(SqlError, match="does not exist"):
            c.sql("SELECT 1", database="NO_SUCH_DB")
    finally:
        c.close()


def test_invalid_arguments() -> None:
    c = TaskClient("http://127.0.0.1:1", auth=None)
    with pytest.raises(ValueError):
        c.sql("   ")
    with pytest.raises(ValueError):
        c.sql("SELECT 1", timeout=0)
    c.close()


def test_to_bindings_types() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert to_bindings([1, 1.5, "x", None, True, date(2026, 1, 2), moment, b"\x01"]) == {
        "1": {"type": "FIXED", "value": "1"},
        "2": {"type": "REAL", "value": "1.5"},
        "3": {"type": "TEXT", "value": "x"},
        "4": {"type": "TEXT", "value": None},
        "5": {"type": "BOOLEAN", "value": "true"},
        "6": {"type": "DATE", "value": "2026-01-02"},
        "7": {"type": "TIMESTAMP_TZ", "value": "2026-01-02T03:04:05+01:00"},
        "8": {"type": "BINARY", "value": "01"},
    }
    with pytest.raises(TypeError):
        to_bindings("abc")


def test_decoding_of_snowflake_encodings() -> None:
    tz = decode_column("timestamp_tz", 9, ["1577836800.000000000 1500", None])
    assert tz[0] == pd.Timestamp("2020-01-01 01:00:00+01:00") and pd.isna(tz[1])
    assert decode_column("timestamp_ltz", 3, ["-0.500"])[0] == pd.Timestamp(
        "1969-12-31 23:59:59.5", tz="UTC")
    assert decode_column("TIME", 9, ["3661.500000000"])[0] == pd.Timedelta(seconds=3661.5)
    assert decode_column("binary", 0, ["0aff"])[0] == b"\n\xff"
    big = decode_column("fixed", 0, [str(10**30)])
    assert big[0] == 10**30
    assert decode_column("date", 0, ["-1", None])[0] == pd.Timestamp("1969-12-31")


def test_to_frame_refuses_mismatched_rows() -> None:
    from tasknb import InvalidResponse

    with pytest.raises(InvalidResponse):
        to_frame([{"name": "A", "type": "text"}], [["x", "y"]])


def test_unauthorized_is_not_a_sql_error(server, validating) -> None:
    c = TaskClient(server.url, auth=None, database="sqltest", schema="PUBLIC",
                   transport=validating, headers={"Authorization": "Bearer wrong-token"})
    try:
        with pytest.raises(ApiError) as info:
            c.sql("SELECT 1")
        assert info.value.status == 401 and not isinstance(info.value, SqlError)
        assert not isinstance(info.value, BadRequest)
    finally:
        c.close()


def test_cancel_graph_runs_cancels_every_task_of_the_graph_in_one_statement(
        client, validating) -> None:
    """Snowflake cancels one task's run per call, so the client names them all: the root
    (done, nothing to cancel), the long child (cancelled) and its child (never runs)."""
    from tasknb import MinutesSchedule, Task

    client.create_task(Task("slow_root", "SELECT 1", schedule=MinutesSchedule(60)))
    client.create_task(Task('"slow child"', "SELECT SYSTEM$WAIT(60)",
                            predecessors=["slow_root"]))
    client.create_task(Task("after_slow", "SELECT 1", predecessors=['"slow child"']))
    for name in ("after_slow", '"slow child"'):
        client.resume_task(name)
    assert all(a.startswith("Task ") and "no currently running" in a
               for a in client.cancel_graph_runs("slow_root").values())
    client.execute_task("slow_root")
    deadline = time.monotonic() + 20
    while not any(r.state == "EXECUTING" for r in client.get_current_graphs("slow_root")):
        assert time.monotonic() < deadline, "the graph run never started"
        time.sleep(0.05)
    time.sleep(0.5)  # the child's statement is inside SYSTEM$WAIT
    before = len(validating.exchanges)
    started = time.monotonic()
    answers = client.cancel_graph_runs("slow_root")
    assert list(answers) == ["SLOW_ROOT", '"slow child"', "AFTER_SLOW"], answers
    assert answers['"slow child"'].startswith("Marked 1 task runs for cancellation"), answers
    assert "no currently running" in answers["SLOW_ROOT"]
    assert "no currently running" in answers["AFTER_SLOW"]
    statements = [op for _, op, _ in validating.exchanges[before:] if op == "SubmitStatement"]
    assert len(statements) == 1, validating.exchanges[before:]
    while not client.get_complete_graphs("slow_root"):
        assert time.monotonic() < started + 10, "the cancelled run never completed"
        time.sleep(0.05)
    [run] = client.get_complete_graphs("slow_root")
    assert run.state == "CANCELLED" and time.monotonic() - started < 10
    assert run.first_error_task_name == '"slow child"', run


class _RecordingTransport(httpx.HTTPTransport):
    """Real HTTP; keeps the JSON bodies of the statements it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.statements: list[dict] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/v2/statements"):
            self.statements.append(json.loads(request.read()))
        return super().handle_request(request)


def test_cancel_graph_runs_sends_the_names_as_bindings(server) -> None:
    from tasknb import Task

    transport = _RecordingTransport()
    schema = fresh_schema()
    with local_client(server, database="sqltest", schema=schema, transport=transport) as c:
        c.create_task(Task("lone", "SELECT 1"))
        c.create_task(Task('"o\'brien"', "SELECT 1", predecessors=["lone"]))
        answers = c.cancel_graph_runs("lone")
    assert list(answers) == ["LONE", '"o\'brien"'], answers
    assert all("no currently running" in a for a in answers.values()), answers
    [body] = transport.statements
    assert "LONE" not in body["statement"].upper() and "BRIEN" not in body["statement"].upper()
    assert [b["value"] for b in body["bindings"].values()] == [
        f"SQLTEST.{schema.upper()}.LONE", f"SQLTEST.{schema.upper()}.\"o'brien\""]




def test_no_warehouse_on_snowflake_names_the_setting() -> None:
    """Snowflake's 422 for a session without a warehouse (the local server needs none)."""
    import json
    import uuid

    from tasknb import PatAuth

    sent = []
    handle = str(uuid.uuid4())

    def snowflake(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(422, json={
            "code": "000606", "sqlState": "57P03", "statementHandle": handle,
            "message": "No active warehouse selected in the current session.  Select an "
                       "active warehouse with the 'use warehouse' command.\n",
            "createdOn": 1767600000000,
            "statementStatusUrl": f"https://myorg-acct.snowflakecomputing.com/api/v2/statements/"
                                  f"{handle}"},
            headers={"X-Snowflake-Request-ID": str(uuid.uuid4())})

    transport = SpecValidatingTransport(httpx.MockTransport(snowflake))
    c = TaskClient("https://myorg-acct.snowflakecomputing.com", auth=PatAuth("pat-token"),
                   database="DB", schema="S", role="ANALYST", transport=transport)
    try:
        with pytest.raises(SqlError) as info:
            c.sql("SELECT * FROM t")
    finally:
        c.close()
    transport.assert_clean()
    message = str(info.value)
    assert "\n" not in message and "warehouse=" in message and handle in message
    assert sent[0]["role"] == "ANALYST" and "warehouse" not in sent[0]
    assert sent[0]["database"] == "DB" and sent[0]["schema"] == "S"


def test_a_submission_lost_after_sending_is_resent_with_the_same_request_id() -> None:
    """A connection dropped after the POST went out (a fault the local server cannot make)."""
    import uuid

    from tasknb import PatAuth

    request_ids = []
    handle = str(uuid.uuid4())
    base = "https://myorg-acct.snowflakecomputing.com"

    def flaky(request: httpx.Request) -> httpx.Response:
        request_ids.append(request.url.params["requestId"])
        if len(request_ids) == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(200, json={
            "code": "090001", "sqlState": "00000", "message": "Statement executed successfully.",
            "statementHandle": handle, "createdOn": 1767600000000,
            "statementStatusUrl": f"{base}/api/v2/statements/{handle}",
            "resultSetMetaData": {"numRows": 1, "format": "jsonv2", "rowType": [
                {"name": "X", "type": "fixed", "precision": 38, "scale": 0, "length": 0,
                 "nullable": True}], "partitionInfo": [{"rowCount": 1, "uncompressedSize": 7}]},
            "data": [["1"]]}, headers={"X-Snowflake-Request-ID": str(uuid.uuid4())})

    transport = SpecValidatingTransport(httpx.MockTransport(flaky))
    c = TaskClient(base, auth=PatAuth("pat-token"), database="DB", schema="S",
                   transport=transport)
    try:
        frame = c.sql("INSERT INTO t SELECT 1")
    finally:
        c.close()
    transport.assert_clean()
    assert frame["X"].tolist() == [1]
    assert len(request_ids) == 2 and request_ids[0] == request_ids[1]
