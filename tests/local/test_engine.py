"""The local server's SQL engine: Snowflake SQL on DuckDB with Snowflake's errors."""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tasknb.local.sql.engine import (
    MAX_RETURN_VALUE_BYTES,
    SqlEngine,
    TaskContext,
    TaskSqlError,
    UnsupportedSqlError,
)


@pytest.fixture
def engine():
    eng = SqlEngine()
    eng.ensure_schema("SALES", "PUBLIC")
    eng.ensure_schema("SALES", "RAW")
    eng.ensure_schema("OTHER", "PUBLIC")
    yield eng
    eng.close()


def ctx(**kw) -> TaskContext:
    base = {"database": "SALES", "schema": "PUBLIC", "task_name": "T1", "root_task_name": "T1"}
    base.update(kw)
    return TaskContext(**base)


def error_of(engine: SqlEngine, sql: str, **kw) -> TaskSqlError:
    with pytest.raises(TaskSqlError) as info:
        engine.run(sql, ctx(**kw))
    return info.value


# ------------------------------------------------------------------------------- name mapping


def test_qualified_and_unqualified_names_resolve_like_snowflake(engine: SqlEngine) -> None:
    engine.run(
        "CREATE TABLE orders (id INT, amount NUMBER(10,2));"
        "INSERT INTO orders VALUES (1, 10.5), (2, 3);"
        "CREATE TABLE RAW.sizes AS SELECT id, IFF(amount > 5, 'big', 'small') AS size FROM orders;"
        "CREATE TABLE OTHER.PUBLIC.copy AS SELECT * FROM SALES.RAW.sizes",
        ctx(),
    )
    assert engine.query("SELECT * FROM raw.sizes ORDER BY id", "SALES", "PUBLIC") == [
        (1, "big"),
        (2, "small"),
    ]
    assert engine.query("SELECT COUNT(*) FROM copy", "OTHER", "PUBLIC") == [(2,)]
    # the same bare name in another schema is another table
    engine.run("CREATE TABLE orders (x INT)", ctx(schema="RAW"))
    assert engine.query("SELECT COUNT(*) FROM orders", "SALES", "RAW") == [(0,)]


def test_data_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "engine.duckdb"
    first = SqlEngine(path)
    first.ensure_schema("DEMO", "PUBLIC")
    first.run("CREATE TABLE t (v INT); INSERT INTO t VALUES (41), (1)", ctx(database="DEMO"))
    first.close()
    second = SqlEngine(path)
    try:
        assert second.query("SELECT SUM(v) FROM t", "DEMO", "PUBLIC") == [(42,)]
    finally:
        second.close()


def test_drop_schema_and_database(tmp_path: Path) -> None:
    eng = SqlEngine(tmp_path / "engine.duckdb")
    eng.ensure_schema("DEMO", "S1")
    eng.run("CREATE TABLE t (v INT)", ctx(database="DEMO", schema="S1"))
    eng.drop_schema("DEMO", "S1")
    eng.ensure_schema("DEMO", "S1")
    assert error_of(eng, "SELECT * FROM t", database="DEMO", schema="S1").code == 2003
    eng.drop_database("DEMO")
    assert not list((tmp_path / "engine.duckdb.databases").glob("*.duckdb"))
    eng.drop_database("DEMO")  # absent: no error
    eng.close()


def test_parallel_runs_do_not_interfere(engine: SqlEngine) -> None:
    engine.run("CREATE TABLE log (branch INT, i INT)", ctx())
    errors: list[BaseException] = []

    def branch(n: int) -> None:
        try:
            for i in range(20):
                engine.run(f"INSERT INTO log VALUES ({n}, {i})", ctx(task_name=f"B{n}"))
        except TaskSqlError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=branch, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert engine.query("SELECT COUNT(*), COUNT(DISTINCT branch) FROM log", "SALES", "PUBLIC") == [
        (80, 4)
    ]


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("sql", "code", "message"),
    [
        ("SELECT 1/0", 100051, "Division by zero"),
        ("SELECT 1.0/0.0", 100051, "Division by zero"),
        (
            "SELECT * FROM missing_table",
            2003,
            (
                "SQL compilation error:\nObject 'SALES.PUBLIC.MISSING_TABLE' does not exist or not "
                "authorized."
            ),
        ),
        (
            "INSERT INTO RAW.missing VALUES (1)",
            2003,
            "SQL compilation error:\nObject 'SALES.RAW.MISSING' does not exist or not authorized.",
        ),
        (
            "SELECT * FROM NODB.RAW.t",
            2003,
            "SQL compilation error:\nDatabase 'NODB' does not exist or not authorized.",
        ),
        (
            "SELECT * FROM SALES.NOPE.t",
            2003,
            "SQL compilation error:\nSchema 'SALES.NOPE' does not exist or not authorized.",
        ),
        ("SELECT 'abc'::INT", 100038, "Numeric value 'abc' is not recognized"),
        ("SELECT '2026-13-45'::DATE", 100040, "Date '2026-13-45' is not recognized"),
        ("SELECT 'soon'::TIMESTAMP", 100035, "Timestamp 'soon' is not recognized"),
        ("SELECT 'maybe'::BOOLEAN", 100037, "Boolean value 'maybe' is not recognized"),
    ],
)
def test_engine_errors_carry_snowflake_codes(
    engine: SqlEngine, sql: str, code: int, message: str
) -> None:
    error = error_of(engine, sql)
    assert (error.code, error.message) == (code, message)
    assert not isinstance(error, UnsupportedSqlError)


def test_syntax_invalid_identifier_and_existing_object(engine: SqlEngine) -> None:
    engine.run("CREATE TABLE orders (id INT)", ctx())
    syntax = error_of(engine, "SELECT 1 FROMM orders")
    assert syntax.code == 1003 and syntax.code_text == "001003"
    assert syntax.message.startswith("SQL compilation error:\nsyntax error line 1 at position")
    ident = error_of(engine, "SELECT 1;\nSELECT nocol FROM orders")
    assert ident.code == 904
    assert (
        ident.message
        == "SQL compilation error: error line 2 at position 7\ninvalid identifier 'NOCOL'"
    )
    exists = error_of(engine, "CREATE TABLE orders (a INT)")
    assert exists.code == 2002
    assert "Object 'SALES.PUBLIC.ORDERS' already exists." in exists.message
    not_null = error_of(engine, "CREATE TABLE nn (a INT NOT NULL); INSERT INTO nn VALUES (NULL)")
    assert (not_null.code, not_null.message) == (100072, "NULL result in a non-nullable column")


def test_first_failing_statement_stops_the_run_and_earlier_ones_stay_committed(
    engine: SqlEngine,
) -> None:
    engine.run("CREATE TABLE t (v INT)", ctx())
    error = error_of(engine, "INSERT INTO t VALUES (1); SELECT 1/0; INSERT INTO t VALUES (2)")
    assert error.code == 100051
    assert engine.query("SELECT v FROM t", "SALES", "PUBLIC") == [(1,)]


def test_explicit_transaction_rolls_back(engine: SqlEngine) -> None:
    engine.run("CREATE TABLE t (v INT)", ctx())
    engine.run("BEGIN TRANSACTION; INSERT INTO t VALUES (1); ROLLBACK", ctx())
    engine.run("BEGIN TRANSACTION; INSERT INTO t VALUES (2); COMMIT", ctx())
    assert engine.query("SELECT v FROM t", "SALES", "PUBLIC") == [(2,)]


def test_simple_begin_end_block_runs_its_statements(engine: SqlEngine) -> None:
    engine.run(
        "BEGIN\n  CREATE TABLE b (v INT);\n  INSERT INTO b VALUES (1);\n"
        "  INSERT INTO b SELECT CASE WHEN v = 1 THEN 2 END FROM b;\nEND;",
        ctx(),
    )
    assert engine.query("SELECT SUM(v) FROM b", "SALES", "PUBLIC") == [(3,)]


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("CREATE FUNCTION f() RETURNS TABLE (a INT) AS 'SELECT 1'", "RETURNS TABLE"),
        ("CREATE FUNCTION f() RETURNS INT LANGUAGE PYTHON AS 'x'", "Python user-defined"),
        ("BEGIN COPY INTO @stage FROM t; END", "COPY INTO <location>"),
        ("COPY INTO @stage FROM t", "COPY INTO <location>"),
        ("CREATE STREAM s ON EXTERNAL TABLE t", "streams on external tables"),
        ("CREATE DATABASE d", "through the REST API"),
        ("USE SCHEMA RAW", "USE is not supported"),
        ("ATTACH '/tmp/x.duckdb' AS x", "ATTACH"),
        ("INSTALL httpfs", "extensions"),
        ("SET v = 1", "SET"),
        ("SELECT SYSTEM$NO_SUCH_THING()", "SYSTEM$NO_SUCH_THING is not available"),
    ],
)
def test_unsupported_sql_fails_clearly(engine: SqlEngine, sql: str, fragment: str) -> None:
    with pytest.raises(UnsupportedSqlError) as info:
        engine.run(sql, ctx())
    assert fragment in info.value.message
    assert info.value.message.endswith("The same definition runs on a real Snowflake account.")
    assert info.value.code_text == "000002"


def test_unsupported_statement_is_refused_before_anything_runs(engine: SqlEngine) -> None:
    engine.run("CREATE TABLE t (v INT)", ctx())
    with pytest.raises(UnsupportedSqlError):
        engine.run("INSERT INTO t VALUES (1); COPY INTO @stage FROM t", ctx())
    assert engine.query("SELECT COUNT(*) FROM t", "SALES", "PUBLIC") == [(0,)]


def test_no_file_or_network_access(engine: SqlEngine, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    read = error_of(engine, f"SELECT * FROM read_csv('{secret}')")
    assert read.code == 3001 and "cannot read or write files" in read.message
    http = error_of(engine, "SELECT * FROM read_csv('https://example.com/x.csv')")
    assert http.code == 3001


# --------------------------------------------------------------------------- SYSTEM$ functions


def test_set_return_value(engine: SqlEngine) -> None:
    engine.run("CREATE TABLE t (v INT); INSERT INTO t VALUES (1), (2)", ctx())
    c = ctx()
    engine.run("SELECT SYSTEM$SET_RETURN_VALUE('rows=' || COUNT(*)) FROM t", c)
    assert c.return_value == "rows=2"
    untouched = ctx()
    engine.run("SELECT 1", untouched)
    assert untouched.return_value is None
    too_big = ctx()
    with pytest.raises(TaskSqlError, match="maximum is 10,240 bytes"):
        engine.run(
            f"SELECT SYSTEM$SET_RETURN_VALUE(REPEAT('x', {MAX_RETURN_VALUE_BYTES + 1}))", too_big
        )


def test_predecessor_return_values(engine: SqlEngine) -> None:
    c = ctx(
        task_name="C",
        predecessor_return_values={"B": "from-b"},
        ancestor_return_values={"A": "from-a"},
    )
    engine.run(
        "CREATE TABLE pv AS SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE() AS only_one, "
        "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('B') AS b, SYSTEM$GET_PREDECESSOR_RETURN_VALUE('A') AS a",
        c,
    )
    assert engine.query("SELECT * FROM pv", "SALES", "PUBLIC") == [("from-b", "from-b", "from-a")]
    wrong_case = error_of(
        engine,
        "SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE('b')",
        task_name="C",
        predecessor_return_values={"B": "x"},
    )
    assert "did you mean 'B'" in wrong_case.message
    two = error_of(
        engine,
        "SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE()",
        task_name="C",
        predecessor_return_values={"A": "1", "B": "2"},
    )
    assert "needs a task name" in two.message and "A, B" in two.message


def test_graph_config_and_runtime_info(engine: SqlEngine) -> None:
    c = ctx(
        task_name="CHILD",
        root_task_name="ROOT",
        graph_config={"env": "dev", "paths": {"out": "s3://x"}, "ids": [7, 8]},
        runtime_info={"CURRENT_TASK_GRAPH_RUN_GROUP_ID": "g-1"},
    )
    engine.run(
        "CREATE TABLE cfg AS SELECT SYSTEM$GET_TASK_GRAPH_CONFIG('env') e, "
        "SYSTEM$GET_TASK_GRAPH_CONFIG('paths.out') p, SYSTEM$GET_TASK_GRAPH_CONFIG('ids[1]') i, "
        "SYSTEM$GET_TASK_GRAPH_CONFIG('nope') n, "
        "SYSTEM$TASK_RUNTIME_INFO('CURRENT_ROOT_TASK_NAME') r, "
        "SYSTEM$TASK_RUNTIME_INFO('current_task_graph_run_group_id') g",
        c,
    )
    assert engine.query("SELECT * FROM cfg", "SALES", "PUBLIC") == [
        ("dev", "s3://x", "8", None, "SALES.PUBLIC.ROOT", "g-1")
    ]
    whole = ctx(graph_config={"a": 1})
    engine.run("CREATE TABLE whole AS SELECT SYSTEM$GET_TASK_GRAPH_CONFIG() AS c", whole)
    assert engine.query("SELECT c FROM whole", "SALES", "PUBLIC") == [('{"a":1}',)]


def test_virtual_now_drives_current_timestamp(engine: SqlEngine) -> None:
    when = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    engine.run(
        "CREATE TABLE stamp AS SELECT CURRENT_TIMESTAMP() AS ts, CURRENT_DATE() AS d", ctx(now=when)
    )
    ((ts, d),) = engine.query("SELECT ts, d FROM stamp", "SALES", "PUBLIC")
    assert ts == when and d.isoformat() == "2026-03-01"


# ---------------------------------------------------------------------------------- timeouts


def test_timeout_interrupts_a_long_statement(engine: SqlEngine) -> None:
    started = time.monotonic()
    error = error_of(engine, "SELECT COUNT(*) FROM range(100000000000)", timeout_ms=200)
    assert time.monotonic() - started < 5
    assert error.code == 630 and error.code_text == "000630"
    assert error.message.startswith(
        "Statement reached its statement or warehouse timeout of 0.2 second(s) and was canceled."
    )


def test_timeout_interrupts_system_wait(engine: SqlEngine) -> None:
    started = time.monotonic()
    error = error_of(engine, "SELECT SYSTEM$WAIT(30)", timeout_ms=150)
    assert time.monotonic() - started < 5
    assert error.code == 630
    ok = ctx(timeout_ms=5000)
    engine.run("SELECT SYSTEM$WAIT(20, 'MILLISECONDS')", ok)


def test_cancel_all_cancels_running_statements(engine: SqlEngine) -> None:
    result: list[TaskSqlError] = []

    def run() -> None:
        try:
            engine.run("SELECT SYSTEM$WAIT(30)", ctx())
        except TaskSqlError as exc:
            result.append(exc)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.2)
    engine.cancel_all()
    t.join(5)
    assert [(e.code, e.message) for e in result] == [(604, "SQL execution canceled")]


# -------------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("SYSTEM$GET_PREDECESSOR_RETURN_VALUE('A')::INT > 3", True),
        ("SYSTEM$GET_PREDECESSOR_RETURN_VALUE() = '6'", False),
        ("SYSTEM$GET_PREDECESSOR_RETURN_VALUE('A')::FLOAT BETWEEN 4.5 AND 5.5", True),
        ("SYSTEM$GET_TASK_GRAPH_CONFIG('env') = 'dev' AND NOT FALSE", True),
        ("SYSTEM$GET_TASK_GRAPH_CONFIG('missing') IS NULL OR 1 = 0", True),
        ("NULL", False),
        ("UPPER('a') IN ('A', 'B')", True),
        ("SYSTEM$PREDECESSORS_STATE('ALL_SUCCEEDED')", True),
        ("SYSTEM$PREDECESSORS_STATE('AT_LEAST_ONE_FAILED')", False),
        ("SYSTEM$TASK_COMPLETION_STATE('A') = 'SUCCEEDED'", True),
    ],
)
def test_conditions_evaluate(engine: SqlEngine, condition: str, expected: bool) -> None:
    c = ctx(
        task_name="B",
        predecessor_return_values={"A": "5"},
        predecessor_states={"A": "SUCCEEDED"},
        graph_config={"env": "dev"},
    )
    assert engine.condition_holds(condition, c) is expected


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ("(SELECT COUNT(*) FROM t) > 0", "cannot read tables or columns"),
        ("x = 1", "cannot read tables or columns"),
        ("PARSE_JSON('1') = 1", "PARSE_JSON is not allowed"),
        ("RANDOM() > 0", "not allowed in a WHEN condition"),
        ("SYSTEM$SET_RETURN_VALUE('x') = 'x'", "cannot be used in a WHEN condition"),
    ],
)
def test_unsupported_conditions_are_refused(
    engine: SqlEngine, condition: str, fragment: str
) -> None:
    with pytest.raises(UnsupportedSqlError) as info:
        engine.condition_holds(condition, ctx())
    assert fragment in info.value.message


def test_condition_errors_are_task_errors(engine: SqlEngine) -> None:
    with pytest.raises(TaskSqlError) as info:
        engine.condition_holds("1/0 = 1", ctx())
    assert info.value.code == 100051
    with pytest.raises(TaskSqlError) as syntax:
        engine.condition_holds("1 = = 1", ctx())
    assert syntax.value.code == 1003


def test_closed_engine_refuses_work() -> None:
    eng = SqlEngine()
    eng.close()
    with pytest.raises(TaskSqlError, match="closed"):
        eng.run("SELECT 1", ctx())


def test_each_run_is_a_new_session(engine: SqlEngine) -> None:
    # runs may share pooled connections; a temporary table must not survive its run
    engine.run("CREATE TEMPORARY TABLE scratch (v INT); INSERT INTO scratch VALUES (1)", ctx())
    assert error_of(engine, "SELECT * FROM scratch").code == 2003
    # an open transaction does not leak either
    engine.run("CREATE TABLE t (v INT)", ctx())
    engine.run("BEGIN TRANSACTION; INSERT INTO t VALUES (1)", ctx())
    engine.run("INSERT INTO t VALUES (2)", ctx())
    assert engine.query("SELECT v FROM t", "SALES", "PUBLIC") == [(2,)]


def test_repeated_definitions_see_fresh_context(engine: SqlEngine) -> None:
    sql = "CREATE OR REPLACE TABLE rv AS SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE() AS v"
    for value in ("first", "second"):
        engine.run(sql, ctx(predecessor_return_values={"A": value}))
        assert engine.query("SELECT v FROM rv", "SALES", "PUBLIC") == [(value,)]


def test_semi_structured_columns_insert_overwrite_and_transient_tables(engine: SqlEngine) -> None:
    engine.run(
        "CREATE TRANSIENT TABLE events (payload VARIANT, tags ARRAY, attrs OBJECT);"
        'INSERT INTO events (payload) SELECT PARSE_JSON(\'{"user": {"id": 7}}\');'
        "CREATE TABLE ids AS SELECT payload:user.id::INT AS id FROM events",
        ctx(),
    )
    assert engine.query("SELECT id FROM ids", "SALES", "PUBLIC") == [(7,)]
    engine.run("INSERT OVERWRITE INTO ids SELECT 8", ctx())
    engine.run("INSERT OVERWRITE INTO ids SELECT 9", ctx())
    assert engine.query("SELECT id FROM ids", "SALES", "PUBLIC") == [(9,)]


def test_untranslatable_sql_is_refused_not_silently_changed(engine: SqlEngine) -> None:
    engine.run("CREATE TABLE ts (t TIMESTAMP_NTZ)", ctx())
    with pytest.raises(UnsupportedSqlError, match="number format 'FM999.00'"):
        engine.run("SELECT TO_CHAR(1.5, 'FM999.00') FROM ts", ctx())
    with pytest.raises(UnsupportedSqlError, match="RECURSIVE => TRUE and a MODE"):
        engine.run("SELECT f.value FROM ts, LATERAL FLATTEN(input => PARSE_JSON('[1]'), "
                   "recursive => TRUE, mode => 'ARRAY') f", ctx())


_SOUP = [
    "SELECT", "FROM", "t", "a", "WHERE", "(", ")", "'x'", "1", "0", "/", ";", "BEGIN", "END",
    "CASE", "WHEN", "THEN", "INSERT", "INTO", "VALUES", ",", "SYSTEM$SET_RETURN_VALUE",
    "SYSTEM$GET_PREDECESSOR_RETURN_VALUE", "::", "INT", "$$", '"', "--", "/*", ":=", "LET",
    "CALL", "DECLARE", "EXCEPTION", "CREATE", "TABLE", "DROP", "UPDATE", "SET", "=", "NULL",
    "MERGE", "USING", "@", "`", "\\", "[", "]", "{", "?", "WITH", "AS", "UNION",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_SOUP), min_size=1, max_size=12))
@example(["CALL", ":=", "SYSTEM$SET_RETURN_VALUE", "0"])  # read as an assignment once
def test_any_input_fails_cleanly_or_runs(words: list[str]) -> None:
    # the server must never see anything but TaskSqlError from the engine
    sql = " ".join(words)
    eng = _shared_engine()
    for attempt in (
        lambda: eng.run(sql, ctx(timeout_ms=2000, predecessor_return_values={"A": "1"})),
        lambda: eng.condition_holds(sql, ctx()),
    ):
        try:
            attempt()
        except TaskSqlError as error:
            assert error.message and isinstance(error.code, int)


@functools.cache
def _shared_engine() -> SqlEngine:
    """One engine for all examples (hypothesis does not mix with function-scoped fixtures)."""
    eng = SqlEngine()
    eng.ensure_schema("SALES", "PUBLIC")
    return eng


def test_clock_functions_follow_ctx_now_on_every_run(engine: SqlEngine) -> None:
    # definitions are cached: each run must still see its own clock
    sql = "CREATE OR REPLACE TABLE stamp2 AS SELECT CURRENT_DATE() AS d"
    for day in (1, 2):
        engine.run(sql, ctx(now=datetime(2026, 3, day, tzinfo=timezone.utc)))
        ((d,),) = engine.query("SELECT d FROM stamp2", "SALES", "PUBLIC")
        assert d.day == day


def test_committed_rows_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "engine.duckdb"
    script = (
        "import os, sys\n"
        "from tasknb.local.sql.engine import SqlEngine, TaskContext\n"
        "e = SqlEngine(sys.argv[1]); e.ensure_schema('DEMO', 'PUBLIC')\n"
        "e.run('CREATE TABLE t (v INT); INSERT INTO t VALUES (1), (2)',"
        " TaskContext('DEMO', 'PUBLIC', 'T', 'T'))\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    reopened = SqlEngine(path)
    try:
        assert reopened.query("SELECT SUM(v) FROM t", "DEMO", "PUBLIC") == [(3,)]
    finally:
        reopened.close()


def test_sqlglot_warnings_do_not_leak_to_the_log(
    engine: SqlEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # a notebook running the server in-process would print them on stderr
    with caplog.at_level("WARNING", logger="sqlglot"), pytest.raises(TaskSqlError):
        # sqlglot parses this as a Command and logs a warning about it
        engine.run("ALTER TABLE orders SUSPEND RECLUSTER", ctx())
    assert [r for r in caplog.records if r.name.startswith("sqlglot")] == []
