"""SHOW, DESCRIBE TASK, RESULT_SCAN(LAST_QUERY_ID()) and INFORMATION_SCHEMA on the local server,
over real HTTP through ``TaskClient.sql`` and in task runs (tasknb/local/sql/show.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from client_support import fresh_schema

from tasknb import MinutesSchedule, SqlError, Task, TaskClient
from tasknb.local.sql.show import COLUMNS, TERSE_COLUMNS
from tasknb.runs import execute_and_wait
from tasknb.testing import local_client


@pytest.fixture
def client(server) -> Iterator[TaskClient]:
    """A database of its own (SHOW's default scope is the current database)."""
    c = local_client(server, database=f"SHOW_{fresh_schema()}".upper(), schema="WORK")
    yield c
    c.close()


def _names(kind: str, terse: bool = False) -> list[str]:
    return [name for name, _ in (TERSE_COLUMNS if terse else COLUMNS)[kind]]


def _graph(client: TaskClient) -> None:
    client.create_task(Task("ROOT", "SELECT 1", schedule=MinutesSchedule(10), comment="nightly",
                            config={"env": "test"}))
    client.create_task(Task("CHILD", "SELECT 2", predecessors=["ROOT"], condition="1 = 1"))
    client.create_task(Task("OTHER_CHILD", "SELECT 3", predecessors=["ROOT"]))
    client.resume_task("CHILD")


def _code(client: TaskClient, statement: str) -> tuple[str, str]:
    with pytest.raises(SqlError) as raised:
        client.sql(statement)
    return raised.value.code, str(raised.value)


def test_show_tasks_has_snowflakes_columns_and_agrees_with_the_rest_listing(client) -> None:
    """docs.snowflake.com/en/sql-reference/sql/show-tasks, "Output": created_on, name, id,
    database_name, schema_name, owner, comment, warehouse, schedule, predecessors ("JSON array
    of any tasks identified in the AFTER parameter ... fully qualified"), state (started or
    suspended), definition, condition, allow_overlapping_execution (NULL for child tasks), ...
    config (root only), task_relations, last_suspended_reason; ordered lexicographically by
    database, schema and task name."""
    _graph(client)
    frame = client.sql("SHOW TASKS")
    assert list(frame.columns) == _names("TASKS")  # lower-case, in the documented order
    rows = {r["name"]: r for r in frame.to_dict("records")}
    assert list(frame["name"]) == sorted(rows)  # lexicographic: CHILD, OTHER_CHILD, ROOT
    rest = {t.name: t for t in client.list_tasks()}
    assert set(rows) == set(rest) == {"ROOT", "CHILD", "OTHER_CHILD"}
    for name, row in rows.items():
        task = rest[name]
        assert row["id"] == task.id and row["state"] == task.state
        assert row["definition"] == task.definition
        assert row["database_name"] == client.database and row["schema_name"] == client.schema.upper()
        assert row["owner"] == task.owner
        assert row["created_on"].tzinfo is not None
    assert rows["CHILD"]["state"] == "started" and rows["ROOT"]["state"] == "suspended"
    assert json.loads(rows["CHILD"]["predecessors"]) == [
        f"{client.database}.{client.schema.upper()}.ROOT"]
    assert json.loads(rows["ROOT"]["predecessors"]) == []
    assert rows["ROOT"]["schedule"] == "10 MINUTE" and rows["CHILD"]["schedule"] is None
    assert rows["CHILD"]["condition"] == "1 = 1"
    assert rows["ROOT"]["allow_overlapping_execution"] == "false"
    assert rows["CHILD"]["allow_overlapping_execution"] is None
    assert json.loads(rows["ROOT"]["config"]) == {"env": "test"} and rows["CHILD"]["config"] is None
    assert rows["ROOT"]["comment"] == "nightly"
    assert json.loads(rows["ROOT"]["task_relations"])["Predecessors"] == []


def test_show_tasks_clauses_filter_as_snowflake_documents(client) -> None:
    """docs.snowflake.com/en/sql-reference/sql/show-tasks: LIKE is case-insensitive with %
    and _; STARTS WITH is case-sensitive; ROOT ONLY; LIMIT <rows> [FROM '<name>']; TERSE
    returns created_on, name, kind (NULL), database_name, schema_name, schedule; IN ACCOUNT /
    DATABASE / SCHEMA set the scope."""
    _graph(client)
    names = lambda sql: list(client.sql(sql)["name"])
    assert names("SHOW TASKS LIKE '%child'") == ["CHILD", "OTHER_CHILD"]
    assert names("SHOW TASKS STARTS WITH 'C'") == ["CHILD"]
    assert names("SHOW TASKS STARTS WITH 'c'") == []
    assert names("SHOW TASKS ROOT ONLY") == ["ROOT"]
    assert names("SHOW TASKS LIMIT 1 FROM 'D'") == ["OTHER_CHILD"]
    terse = client.sql("SHOW TERSE TASKS LIKE 'ROOT'")
    assert list(terse.columns) == _names("TASKS", terse=True)
    assert terse["kind"].isna().all() and list(terse["schedule"]) == ["10 MINUTE"]
    schema = client.schema.upper()
    assert names(f"SHOW TASKS LIKE 'root' IN SCHEMA {client.database}.{schema}") == ["ROOT"]
    assert names(f"SHOW TASKS LIKE 'root' IN {schema}") == ["ROOT"]
    in_database = client.sql(f"SHOW TASKS LIKE 'root' IN DATABASE {client.database}")
    assert schema in set(in_database["schema_name"])
    in_account = client.sql("SHOW TASKS LIKE 'root' IN ACCOUNT")
    assert {client.database} <= set(in_account["database_name"])
    started = time.monotonic()  # the repo's LIKE matcher: no backtracking on hostile patterns
    assert names("SHOW TASKS LIKE '" + "%_" * 2000 + "!'") == []
    assert time.monotonic() - started < 10


def test_describe_task_answers_show_tasks_columns_for_one_task(client) -> None:
    """docs.snowflake.com/en/sql-reference/sql/desc-task: DESC[RIBE] TASK <name> gives the
    task's properties in the columns of SHOW TASKS; a missing task is 002003."""
    _graph(client)
    for statement in ("DESCRIBE TASK child", f"DESC TASK {client.database}.{client.schema}.CHILD"):
        frame = client.sql(statement)
        assert list(frame.columns) == _names("TASKS")
        assert list(frame["name"]) == ["CHILD"] and frame["state"][0] == "started"
    assert _code(client, "DESC TASK no_such_task")[0] == "002003"


def test_result_scan_after_show_in_a_task_run_and_a_block(client, server) -> None:
    """docs.snowflake.com/en/sql-reference/functions/result_scan: RESULT_SCAN(LAST_QUERY_ID())
    reads the previous statement's result, e.g. after SHOW ("SHOW TABLES; SELECT "name" FROM
    TABLE(RESULT_SCAN(LAST_QUERY_ID()))"; SHOW's column names are lower-case, so quoted)."""
    _graph(client)
    client.sql("CREATE TABLE suspended_tasks (name VARCHAR)")
    client.create_task(Task("AUDIT", "SHOW TASKS; INSERT INTO suspended_tasks SELECT \"name\" "
                            "FROM TABLE(RESULT_SCAN(LAST_QUERY_ID())) WHERE \"state\" = "
                            "'suspended'"))
    run = execute_and_wait(client, "AUDIT", poll_interval=0.05, timeout=60)
    assert run.state == "SUCCEEDED"
    found = client.sql("SELECT name FROM suspended_tasks ORDER BY name")
    assert list(found["NAME"]) == ["AUDIT", "OTHER_CHILD", "ROOT"]  # CHILD is started
    block = client.sql("BEGIN SHOW TASKS LIKE 'ROOT'; LET r RESULTSET := (SELECT \"schedule\" "
                       "FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))); RETURN TABLE(r); END")
    assert block.iloc[0, 0] == "10 MINUTE"
    code, message = _code(client, "SELECT * FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))")
    assert code == "000002" and "SHOW" in message
    code, message = _code(client, "SELECT * FROM TABLE(RESULT_SCAN('01b2c3d4-0000-0000-0000-"
                                  "000000000000'))")
    assert code == "000002" and "query id" in message


def test_show_lists_tables_views_streams_sequences_procedures_columns_not_bookkeeping(
        client) -> None:
    """docs.snowflake.com/en/sql-reference/sql/show-tables, show-views, show-streams,
    show-sequences, show-procedures, show-columns ("Output" of each: lower-case columns in
    that order); a stream is not a table or a view there, nor in INFORMATION_SCHEMA.TABLES
    (docs.snowflake.com/en/sql-reference/info-schema/tables: TABLE_TYPE is BASE TABLE or
    VIEW)."""
    client.sql("CREATE TABLE orders (id INT, note VARCHAR)")
    client.sql("INSERT INTO orders VALUES (1, 'a'), (2, 'b')")
    client.sql("CREATE VIEW big_orders AS SELECT id FROM orders WHERE id > 1")
    client.sql("CREATE STREAM orders_s ON TABLE orders APPEND_ONLY = TRUE")
    client.sql("CREATE SEQUENCE order_ids START = 5 INCREMENT = 2")
    client.sql("CREATE PROCEDURE touch(n INT) RETURNS VARCHAR LANGUAGE SQL AS "
               "$$ BEGIN RETURN 'ok'; END $$")
    tables = client.sql("SHOW TABLES")
    assert list(tables.columns) == _names("TABLES")
    assert list(tables["name"]) == ["ORDERS"] and list(tables["rows"]) == [2]
    assert list(tables["kind"]) == ["TABLE"]  # not the stream, nor the engine's offset table
    views = client.sql("SHOW VIEWS")
    assert list(views.columns) == _names("VIEWS") and list(views["name"]) == ["BIG_ORDERS"]
    streams = client.sql("SHOW STREAMS")
    assert list(streams.columns) == _names("STREAMS")
    assert list(streams["name"]) == ["ORDERS_S"] and list(streams["mode"]) == ["APPEND_ONLY"]
    sequences = client.sql("SHOW SEQUENCES LIKE 'order%'")
    assert list(sequences.columns) == _names("SEQUENCES")
    assert list(sequences["next_value"]) == [5] and list(sequences["interval"]) == [2]
    procedures = client.sql("SHOW PROCEDURES")
    assert list(procedures.columns) == _names("PROCEDURES")
    assert list(procedures["arguments"]) == ["TOUCH(INT) RETURN VARCHAR"]
    columns = client.sql("SHOW COLUMNS IN TABLE orders")
    assert list(columns.columns) == _names("COLUMNS")
    assert list(columns["column_name"]) == ["ID", "NOTE"]
    assert json.loads(columns["data_type"][0])["type"] == "FIXED"
    listed = client.sql("SELECT table_name, table_type FROM INFORMATION_SCHEMA.TABLES "
                        f"WHERE table_schema = '{client.schema.upper()}' ORDER BY table_name")
    assert listed.values.tolist() == [["BIG_ORDERS", "VIEW"], ["ORDERS", "BASE TABLE"]]
    qualified = client.sql(f"SELECT COUNT(*) FROM {client.database}.INFORMATION_SCHEMA.COLUMNS WHERE "
                           f"table_schema = '{client.schema.upper()}'")
    assert qualified.iloc[0, 0] == 3  # ORDERS.ID, ORDERS.NOTE, BIG_ORDERS.ID


def test_show_schemas_and_databases_are_the_rest_apis(client) -> None:
    """docs.snowflake.com/en/sql-reference/sql/show-schemas and show-databases ("Output":
    created_on, name, is_default, is_current, ...); the same containers the REST API lists."""
    schemas = client.sql("SHOW SCHEMAS")
    assert list(schemas.columns) == _names("SCHEMAS")
    assert set(schemas["name"]) == {s.name.strip('"') for s in client.list_schemas(client.database)}
    current = schemas[schemas["name"] == client.schema.upper()]
    assert list(current["is_current"]) == ["Y"] and list(current["database_name"]) == [client.database]
    databases = client.sql("SHOW DATABASES")
    assert list(databases.columns) == _names("DATABASES")
    assert set(databases["name"]) == {d.name.strip('"') for d in client.list_databases()}
    assert list(client.sql("SHOW TERSE DATABASES LIKE 'show%'").columns) == _names(
        "DATABASES", terse=True)


@pytest.mark.parametrize(("statement", "code"), [
    ("SHOW FOOS", "001003"),  # not a Snowflake object kind: a syntax error there too
    ("SHOW TASKS LIMIT many", "001003"),
    ("SHOW TABLES IN DATABASE a.b", "001003"),
    ("SHOW TERSE SEQUENCES", "001003"),
    ("SHOW DATABASES IN ACCOUNT", "001003"),
    ("SHOW WAREHOUSES", "000002"),  # Snowflake's, not the local engine's
    ("DESCRIBE TABLE t", "000002"),
    ("SHOW TABLES IN SCHEMA no_such_schema", "002003"),
    ("SHOW TASKS IN DATABASE no_such_database", "002003"),
])
def test_bad_show_input_is_a_one_line_snowflake_error(client, statement, code) -> None:
    """docs.snowflake.com/en/sql-reference/sql/show-tables (syntax): an unknown object kind or
    clause is a syntax error; a missing database or schema is 002003 "does not exist or not
    authorized"; what the local engine does not list is 000002 naming the command."""
    got, message = _code(client, statement)
    assert got == code, message
    assert "Traceback" not in message
    if code == "000002":
        assert statement.split()[1].upper() in message
