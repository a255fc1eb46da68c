"""Streams, SYSTEM$STREAM_HAS_DATA and triggered tasks on the local server, over REST.

Each test asserts the outcome Snowflake documents; the page is named in its docstring.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from _sql import error, rows, submit, task_history
from local_api import T0, Api

import tasknb.local

ORDERED = 'ORDER BY id, "METADATA$ACTION" DESC'
MERGE_STREAM = """
    MERGE INTO target t
    USING (SELECT * FROM src_s WHERE NOT (METADATA$ACTION = 'DELETE' AND METADATA$ISUPDATE)) c
    ON t.id = c.id
    WHEN MATCHED AND c.METADATA$ACTION = 'DELETE' THEN DELETE
    WHEN MATCHED AND c.METADATA$ACTION = 'INSERT' THEN UPDATE SET t.v = c.v
    WHEN NOT MATCHED AND c.METADATA$ACTION = 'INSERT' THEN INSERT (id, v) VALUES (c.id, c.v)"""


def _source(api: Api, *values: str) -> None:
    submit(api, "CREATE TABLE src (id INT, v VARCHAR)")
    if values:
        submit(api, f"INSERT INTO src VALUES {', '.join(values)}")


def test_a_stream_returns_the_net_change_with_its_metadata_columns(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/streams-intro: "METADATA$ACTION: Indicates the DML
    operation (INSERT, DELETE) recorded"; "METADATA$ISUPDATE: Indicates whether the operation
    was part of an UPDATE statement. Updates to rows in the source object are represented as a
    pair of DELETE and INSERT records"; "METADATA$ROW_ID: unique and immutable ID for the
    row"; a stream "returns the net change" (a row inserted and updated again is one INSERT)."""
    _source(api, "(1, 'a')", "(2, 'b')", "(3, 'c')")
    submit(api, "CREATE STREAM src_s ON TABLE src")
    assert rows(api, "SELECT * FROM src_s") == []  # the offset is the table as it is now
    submit(api, "INSERT INTO src VALUES (4, 'd')")
    submit(api, "UPDATE src SET v = 'B' WHERE id = 2")
    submit(api, "DELETE FROM src WHERE id = 3")
    submit(api, "UPDATE src SET v = 'D' WHERE id = 4")  # net: still one INSERT of row 4
    answer = submit(api, f"SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE FROM src_s {ORDERED}")
    assert answer["data"] == [["2", "B", "INSERT", "true"], ["2", "b", "DELETE", "true"],
                              ["3", "c", "DELETE", "false"], ["4", "D", "INSERT", "false"]]
    names = [c["name"] for c in submit(api, "SELECT * FROM src_s")["resultSetMetaData"]["rowType"]]
    assert names == ["ID", "V", "METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID"]
    ids = rows(api, "SELECT id, METADATA$ROW_ID FROM src_s WHERE id = 2")
    assert ids[0][1] == ids[1][1] and len(ids[0][1] or "") >= 16  # one row, one id


def test_the_offset_advances_only_when_a_dml_statement_reading_it_commits(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/streams-intro: "Querying a stream alone does not
    advance its offset, even within an explicit transaction; the stream contents must be
    consumed in a DML statement"; "When the transaction commits, the stream advances"; a
    rolled back transaction leaves the offset where it was."""
    _source(api)
    submit(api, "CREATE STREAM src_s ON TABLE src")
    submit(api, "CREATE TABLE sink (id INT, v VARCHAR)")
    submit(api, "INSERT INTO src VALUES (1, 'a'), (2, 'b')")
    for _ in range(2):  # SELECTs, alone or in a task, leave the change in the stream
        assert len(rows(api, "SELECT * FROM src_s")) == 2
    api.create("peek", "SELECT count(*) FROM src_s")
    assert api.execute("peek")["state"] == "SUCCEEDED"
    api.create("undo", "BEGIN TRANSACTION; INSERT INTO sink SELECT id, v FROM src_s; ROLLBACK")
    assert api.execute("undo")["state"] == "SUCCEEDED"
    assert len(rows(api, "SELECT * FROM src_s")) == 2 and rows(api, "SELECT * FROM sink") == []
    inserted = submit(api, "INSERT INTO sink SELECT id, v FROM src_s")
    assert inserted["stats"] == {"numRowsInserted": 2}  # the statement's own answer is kept
    assert rows(api, "SELECT * FROM src_s") == []
    submit(api, "INSERT INTO src VALUES (3, 'c')")
    assert rows(api, "SELECT id, METADATA$ACTION FROM src_s") == [["3", "INSERT"]]


def test_append_only_and_show_initial_rows(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-stream: "APPEND_ONLY = TRUE ... tracks
    row inserts only. Update, delete, and truncate operations are not recorded";
    "SHOW_INITIAL_ROWS = TRUE: the first time the stream is consumed, the stream returns the
    rows that existed in the source object at the moment the stream was created"; SHOW STREAMS
    lists them with their mode; DROP STREAM removes one."""
    _source(api, "(1, 'a')", "(2, 'b')")
    submit(api, "CREATE STREAM inserts_s ON TABLE src APPEND_ONLY = TRUE")
    submit(api, "CREATE OR REPLACE STREAM initial_s ON TABLE src SHOW_INITIAL_ROWS = TRUE")
    assert rows(api, "SELECT id, METADATA$ACTION FROM initial_s ORDER BY id") == [
        ["1", "INSERT"], ["2", "INSERT"]]
    submit(api, "UPDATE src SET v = 'A' WHERE id = 1")
    submit(api, "DELETE FROM src WHERE id = 2")
    submit(api, "INSERT INTO src VALUES (3, 'c')")
    assert rows(api, "SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE FROM inserts_s") == [
        ["3", "c", "INSERT", "false"]]
    shown = submit(api, "SHOW STREAMS")
    columns = [c["name"].lower() for c in shown["resultSetMetaData"]["rowType"]]
    listed = {row[columns.index("name")]: row[columns.index("mode")] for row in shown["data"]}
    assert listed == {"INSERTS_S": "APPEND_ONLY", "INITIAL_S": "DEFAULT"}
    assert shown["data"][0][columns.index("table_name")] == f"{api.database}.S.SRC"
    submit(api, "DROP STREAM inserts_s")
    code, message = error(api, "SELECT * FROM inserts_s")
    assert code == "002003" and "INSERTS_S" in message.upper()
    assert [r[1] for r in rows(api, "SHOW STREAMS LIKE 'initial%'")] == ["INITIAL_S"]


def test_stream_commands_refuse_bad_input_and_change_nothing(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-stream: the source must exist
    (002003), a name already used is 002002 unless OR REPLACE / IF NOT EXISTS; DROP STREAM of
    a missing stream is 002003 and IF EXISTS makes it a no-op; SYSTEM$STREAM_HAS_DATA of a
    missing stream fails."""
    _source(api, "(1, 'a')")
    code, message = error(api, "CREATE STREAM s1 ON TABLE missing_table")
    assert code == "002003" and "MISSING_TABLE" in message
    submit(api, "CREATE STREAM s1 ON TABLE src")
    code, _ = error(api, "CREATE STREAM s1 ON TABLE src")
    assert code == "002002"
    submit(api, "CREATE STREAM IF NOT EXISTS s1 ON TABLE src")
    code, _ = error(api, "CREATE STREAM src ON TABLE src")  # the name of a table
    assert code == "002002"
    code, message = error(api, "CREATE STREAM v1 ON VIEW src")
    assert code == "000002" and "streams on views" in message
    code, _ = error(api, "DROP STREAM nope")
    assert code == "002003"
    submit(api, "DROP STREAM IF EXISTS nope")
    code, message = error(api, "SELECT SYSTEM$STREAM_HAS_DATA('nope')")
    assert code == "002003" and "NOPE" in message
    assert rows(api, "SELECT SYSTEM$STREAM_HAS_DATA('s1')") == [["false"]]
    assert [r[1] for r in rows(api, "SHOW STREAMS")] == ["S1"]


def test_a_triggered_task_merges_the_stream_and_is_skipped_when_it_is_empty(api: Api) -> None:
    """The CDC pipeline of docs.snowflake.com/en/user-guide/tasks-triggered: "Use triggered
    tasks to run tasks whenever there's a change in a stream" — CREATE TASK with a WHEN
    SYSTEM$STREAM_HAS_DATA and no SCHEDULE; it runs at most every
    USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS (default 30 s), TASK_HISTORY shows
    SCHEDULED_FROM = TRIGGER. docs.snowflake.com/en/user-guide/tasks-intro: a task whose WHEN
    is false "is skipped" and uses no warehouse (EXECUTE TASK evaluates the WHEN too)."""
    _source(api, "(1, 'a')", "(2, 'b')")
    submit(api, "CREATE TABLE target (id INT, v VARCHAR)")
    submit(api, "INSERT INTO target SELECT * FROM src")
    submit(api, "CREATE STREAM src_s ON TABLE src")
    api.create("apply_changes", MERGE_STREAM, warehouse="LOCAL_WH",
               condition="SYSTEM$STREAM_HAS_DATA('SRC_S')")
    api.action("apply_changes", "resume")
    service = api.server.service
    service.advance(timedelta(minutes=5))
    assert task_history(api, "apply_changes") == []  # no data: no run, nothing recorded
    submit(api, "INSERT INTO src VALUES (3, 'c')")
    submit(api, "UPDATE src SET v = 'B' WHERE id = 2")
    submit(api, "DELETE FROM src WHERE id = 1")
    runs = service.advance(timedelta(seconds=30))
    assert [(r["state"], r["scheduled_from"]) for r in runs] == [("SUCCEEDED", "TRIGGER")]
    assert rows(api, "SELECT id, v FROM target ORDER BY id") == [["2", "B"], ["3", "c"]]
    assert rows(api, "SELECT count(*) FROM src_s") == [["0"]]  # consumed by the MERGE
    assert service.advance(timedelta(minutes=10)) == []  # empty again: not triggered
    api.action("apply_changes", "suspend")
    api.action("apply_changes", "execute")  # EXECUTE evaluates the WHEN: false, SKIPPED
    assert service.wait_idle(30)
    history = task_history(api, "apply_changes")
    assert [h["state"] for h in history] == ["SKIPPED", "SUCCEEDED"]
    api.action("apply_changes", "resume")
    submit(api, "UPDATE src SET v = 'C' WHERE id = 3")
    assert [r["state"] for r in service.advance(timedelta(seconds=30))] == ["SUCCEEDED"]
    assert rows(api, "SELECT id, v FROM target ORDER BY id") == [["2", "B"], ["3", "C"]]


def test_the_trigger_interval_parameter_spaces_runs(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/tasks-triggered: "USER_TASK_MINIMUM_TRIGGER_INTERVAL_
    IN_SECONDS" (10 to 604800, default 30) is the least time between two triggered runs;
    values outside the range are refused."""
    _source(api)
    submit(api, "CREATE STREAM src_s ON TABLE src")
    submit(api, "CREATE TABLE sink (id INT)")
    slow = {"USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS": 120}
    api.create("drain", "INSERT INTO sink SELECT id FROM src_s", warehouse="LOCAL_WH",
               condition="SYSTEM$STREAM_HAS_DATA('src_s')", session_parameters=slow)
    api.action("drain", "resume")
    submit(api, "INSERT INTO src VALUES (1, 'a')")
    assert api.server.service.advance(timedelta(seconds=60)) == []
    assert len(api.server.service.advance(timedelta(seconds=60))) == 1
    response = api.http.post(api.base, json={
        "name": "too_often", "definition": "select 1", "warehouse": "LOCAL_WH",
        "condition": "SYSTEM$STREAM_HAS_DATA('src_s')",
        "session_parameters": {"USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS": 5}})
    assert response.status_code == 400 and "10 to 604,800" in response.json()["message"]


def test_a_serverless_triggered_task_needs_a_target_completion_interval(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/tasks-triggered: "To create a serverless task, you
    must include the TARGET_COMPLETION_INTERVAL parameter. Do not include the WAREHOUSE
    parameter." A refused create changes nothing."""
    body = {"name": "serverless_trigger", "definition": "select 1",
            "condition": "SYSTEM$STREAM_HAS_DATA('S1')"}
    refused = api.http.post(api.base, json=body)
    assert refused.status_code == 400
    assert "TARGET_COMPLETION_INTERVAL" in refused.json()["message"]
    assert api.http.get(f"{api.base}/serverless_trigger").status_code == 404
    api.create(**body, target_completion_interval={"schedule_type": "MINUTES_TYPE",
                                                   "minutes": 5})


def test_streams_and_their_offsets_survive_a_restart(tmp_path: Path) -> None:
    """docs.snowflake.com/en/user-guide/streams-intro: a stream "stores an offset" — an object
    of its schema, kept like its tables (the local server keeps both in the data dir)."""
    data_dir = tmp_path / "data"
    with tasknb.local.start(clock="manual", start_time=T0, data_dir=data_dir) as server:
        http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"})
        assert http.post("/api/v2/databases", json={"name": "CDC"}).status_code == 200
        api = Api(server, "CDC", "PUBLIC")
        _source(api, "(1, 'a')")
        submit(api, "CREATE STREAM src_s ON TABLE src")
        submit(api, "CREATE TABLE sink (id INT)")
        submit(api, "INSERT INTO src VALUES (2, 'b')")
        submit(api, "INSERT INTO sink SELECT id FROM src_s")
        submit(api, "INSERT INTO src VALUES (3, 'c')")
        http.close()
        api.close()
    with tasknb.local.start(clock="manual", data_dir=data_dir) as server:
        api = Api(server, "CDC", "PUBLIC")
        assert rows(api, "SELECT id, METADATA$ACTION FROM src_s") == [["3", "INSERT"]]
        assert [r[1] for r in rows(api, "SHOW STREAMS")] == ["SRC_S"]
        assert rows(api, "SELECT SYSTEM$STREAM_HAS_DATA('CDC.PUBLIC.SRC_S')") == [["true"]]
        api.close()


def test_a_procedure_called_by_a_task_consumes_the_stream(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/streams-intro: the offset advances when a DML
    statement that reads the stream commits, wherever it runs — here inside a SQL procedure
    (docs.snowflake.com/en/developer-guide/stored-procedure/stored-procedures-snowflake-scripting)
    that a task CALLs."""
    _source(api)
    submit(api, "CREATE STREAM src_s ON TABLE src")
    submit(api, "CREATE TABLE sink (id INT, v VARCHAR)")
    submit(api, """CREATE OR REPLACE PROCEDURE drain() RETURNS VARCHAR LANGUAGE SQL AS $$
        BEGIN
          INSERT INTO sink SELECT id, v FROM src_s WHERE METADATA$ACTION = 'INSERT';
          RETURN 'moved ' || SQLROWCOUNT;
        END;
        $$""")
    submit(api, "INSERT INTO src VALUES (1, 'a'), (2, 'b')")
    api.create("drainer", "CALL drain()")
    assert api.execute("drainer")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT id, v FROM sink ORDER BY id") == [["1", "a"], ["2", "b"]]
    assert rows(api, "SELECT SYSTEM$STREAM_HAS_DATA('src_s')") == [["false"]]


def test_an_append_only_stream_keeps_rows_deleted_since_their_insert(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/streams-intro ("Types of streams"): "Append-only streams
    track row inserts only. Update, delete, and truncate operations are not recorded"; "if 10
    rows are inserted into a table and then 5 of those rows are deleted before the offset for
    an append-only stream is advanced, the stream records 10 rows", while a standard stream
    "returns the net change" (an inserted and deleted row is not in it)."""
    _source(api)
    submit(api, "CREATE STREAM inserts_s ON TABLE src APPEND_ONLY = TRUE")
    submit(api, "CREATE STREAM net_s ON TABLE src")
    submit(api, "INSERT INTO src VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    submit(api, "DELETE FROM src WHERE id = 2")
    assert rows(api, "SELECT id, v, METADATA$ACTION FROM inserts_s ORDER BY id") == [
        ["1", "a", "INSERT"], ["2", "b", "INSERT"], ["3", "c", "INSERT"]]
    assert rows(api, "SELECT id FROM net_s ORDER BY id") == [["1"], ["3"]]
    submit(api, "CREATE TABLE landed (id INT, v VARCHAR)")
    submit(api, "INSERT INTO landed SELECT id, v FROM inserts_s")
    assert rows(api, "SELECT count(*) FROM landed") == [["3"]]
    assert rows(api, "SELECT SYSTEM$STREAM_HAS_DATA('inserts_s')") == [["false"]]
    submit(api, "INSERT INTO src VALUES (4, 'd')")
    submit(api, "TRUNCATE TABLE src")
    assert rows(api, "SELECT id FROM inserts_s") == [["4"]]
    assert rows(api, "SELECT SYSTEM$STREAM_HAS_DATA('inserts_s')") == [["true"]]
    # never consumed: from its empty start to the emptied table, the net change is nothing
    assert rows(api, "SELECT count(*) FROM net_s") == [["0"]]


def _section_examples() -> list[tuple[str, object]]:
    """(statement, expected rows or None) of the first ```sql block of the docs section."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "local-server.md").read_text()
    section = text[text.index("## Task SQL: streams"):]
    block = section[section.index("```sql\n") + 7:section.index("\n```", section.index("```sql"))]
    examples: list[tuple[str, object]] = []
    pending: list[str] = []
    for line in block.splitlines():
        code, _, comment = line.partition("; -- returns ")
        if comment or line.rstrip().endswith(";"):
            pending.append(code.rstrip().rstrip(";"))
            examples.append(("\n".join(pending), json.loads(comment) if comment else None))
            pending = []
        else:
            pending.append(line)
    assert not pending, pending
    return examples


def test_the_examples_of_this_section_run(api: Api) -> None:
    """docs/local-server.md "Task SQL: streams, …": every statement it shows runs on the
    local server and answers what its ``-- returns`` comment says."""
    examples = _section_examples()
    assert len(examples) >= 10
    for statement, expected in examples:
        answer = submit(api, statement)
        if expected is not None:
            assert answer["data"] == expected, statement


def test_a_transaction_inside_a_scripting_block_decides_the_offset(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/streams-intro: the offset moves when the transaction
    that consumed the stream commits; docs.snowflake.com/en/sql-reference/transactions: a
    ROLLBACK undoes the transaction (here inside a Snowflake Scripting BEGIN ... END block)."""
    _source(api)
    submit(api, "CREATE STREAM src_s ON TABLE src")
    submit(api, "CREATE TABLE sink (id INT, v VARCHAR)")
    submit(api, "INSERT INTO src VALUES (1, 'a')")
    block = ("BEGIN BEGIN TRANSACTION; INSERT INTO sink SELECT id, v FROM src_s; {end}; END")
    api.create("undo_in_block", block.format(end="ROLLBACK"))
    assert api.execute("undo_in_block")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT count(*) FROM src_s") == [["1"]]
    api.create("keep_in_block", block.format(end="COMMIT"))
    assert api.execute("keep_in_block")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT count(*) FROM src_s") == [["0"]]
    assert rows(api, "SELECT id, v FROM sink") == [["1", "a"]]


def test_a_stream_follows_its_source_columns(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/streams-intro: "Streams use the current table schema"
    — a column added to (or dropped from) the source shows in the stream's rows at once; the
    change rows recorded before it keep their place."""
    _source(api, "(1, 'a')")
    submit(api, "CREATE STREAM src_s ON TABLE src")
    submit(api, "INSERT INTO src VALUES (2, 'b')")
    submit(api, "ALTER TABLE src ADD COLUMN qty INT")
    submit(api, "INSERT INTO src VALUES (3, 'c', 7)")
    assert rows(api, "SELECT id, v, qty, METADATA$ACTION FROM src_s ORDER BY id") == [
        ["2", "b", None, "INSERT"], ["3", "c", "7", "INSERT"]]
    submit(api, "ALTER TABLE src DROP COLUMN v")
    names = [c["name"] for c in submit(api, "SELECT * FROM src_s")["resultSetMetaData"]["rowType"]]
    assert names == ["ID", "QTY", "METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID"]
    assert rows(api, "SELECT count(*) FROM src_s") == [["2"]]


def test_streams_go_with_their_schema_and_database(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/drop-schema and create-database: dropping or
    replacing a schema or database drops the objects in it, streams included; a stream of the
    same name can then be created again."""
    _source(api, "(1, 'a')")
    submit(api, "CREATE STREAM src_s ON TABLE src")
    replaced = api.http.post(f"/api/v2/databases/{api.database}/schemas",
                             params={"createMode": "orReplace"}, json={"name": "S"})
    assert replaced.status_code == 200, replaced.text
    assert rows(api, "SHOW STREAMS") == []
    code, _ = error(api, "SELECT SYSTEM$STREAM_HAS_DATA('src_s')")
    assert code == "002003"
    _source(api, "(2, 'b')")
    submit(api, "CREATE STREAM src_s ON TABLE src")
    submit(api, "INSERT INTO src VALUES (3, 'c')")
    assert rows(api, "SELECT id FROM src_s") == [["3"]]
    replaced = api.http.post("/api/v2/databases", params={"createMode": "orReplace"},
                             json={"name": api.database})
    assert replaced.status_code == 200, replaced.text
    assert api.http.post(f"/api/v2/databases/{api.database}/schemas",
                         json={"name": "S"}).status_code == 200
    assert api.database not in {row[2] for row in rows(api, "SHOW STREAMS IN ACCOUNT")}
