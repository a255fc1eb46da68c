"""SQL stored procedures on the local server, over REST: CREATE/CALL/DROP PROCEDURE in tasks.

References: Snowflake's documentation pages named in each test (the search tool's stored
Snowflake docs) and the task semantics notes, §7.2 (return values).
"""

from __future__ import annotations

from typing import Any

from _scripting_support import history, rows, run_task, sql
from local_api import T0, Api

import tasknb.local

SUMMARIZE = """
CREATE OR REPLACE PROCEDURE summarize(min_amount NUMBER, label VARCHAR)
RETURNS VARCHAR
LANGUAGE SQL
EXECUTE AS OWNER
AS
$$
DECLARE
  c CURSOR FOR SELECT region, amount FROM orders ORDER BY region;
  total NUMBER DEFAULT 0;
  big INTEGER DEFAULT 0;
  failures INTEGER DEFAULT 0;
  last_code INTEGER;
  summary VARCHAR;
BEGIN
  FOR rec IN c DO
    IF (rec.amount >= min_amount) THEN
      big := big + 1;
      total := total + rec.amount;
    ELSE
      BEGIN
        SELECT 1 / 0;
      EXCEPTION
        WHEN STATEMENT_ERROR THEN
          failures := failures + 1;
          last_code := SQLCODE;
      END;
    END IF;
  END FOR;
  summary := label || ':' || big || ':' || total || ':' || failures || ':' || last_code;
  INSERT INTO audit VALUES (:summary);
  CALL SYSTEM$SET_RETURN_VALUE(:summary);
  RETURN summary;
END;
$$
"""


def _orders(api: Api) -> None:
    sql(api, "CREATE TABLE orders (region VARCHAR, amount INTEGER)")
    sql(api, "INSERT INTO orders VALUES ('a', 5), ('b', 20), ('c', 40), ('d', 1)")
    sql(api, "CREATE TABLE audit (line VARCHAR)")


def test_procedure_with_arguments_cursor_loop_handler_and_return_value_read_by_child(
        api: Api) -> None:
    """SYSTEM$SET_RETURN_VALUE (docs.snowflake.com/en/sql-reference/functions/
    system_set_return_value): "In a task graph, a task can call this function to set a return
    value. Another task that identifies this task as the predecessor task ... can retrieve
    the return value set by the predecessor task using SYSTEM$GET_PREDECESSOR_RETURN_VALUE."
    and "The value for the string_expression argument can be a string literal or a variable;
    for example, SYSTEM$SET_RETURN_VALUE(:VARIABLE)." Handling exceptions
    (developer-guide/snowflake-scripting/exceptions): "If the block in which the exception
    occurred has a handler for that exception, then execution resumes at the beginning of
    that exception handler." A division by zero is Snowflake's 100051.
    """
    _orders(api)
    sql(api, SUMMARIZE)
    sql(api, "CREATE TABLE seen (value VARCHAR)")
    api.create("root", "CALL summarize(10, 'big')")
    api.create("child", "INSERT INTO seen SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE('ROOT')",
               predecessors=["root"])
    api.action("CHILD", "resume")
    run = api.execute("ROOT")
    assert run["state"] == "SUCCEEDED", run
    expected = "big:2:60:2:100051"  # b and c reach 10; a and d fail 1/0 and are handled
    assert history(api, "ROOT")[0]["return_value"] == expected
    assert rows(api, "SELECT value FROM seen") == [[expected]]
    assert rows(api, "SELECT line FROM audit") == [[expected]]


def test_error_inside_a_procedure_fails_the_task_with_snowflakes_code_and_message(
        api: Api) -> None:
    """Handling exceptions (developer-guide/snowflake-scripting/exceptions): "If the current
    block and its enclosing blocks have no handler for the exception, the block stops
    executing and the client ... reports it as a Snowflake error"; a declared exception
    ``EXCEPTION (-20002, 'Raised MY_EXCEPTION.')`` carries its number and message. The run's
    ERROR_CODE and ERROR_MESSAGE (TASK_HISTORY) are the statement's.
    """
    sql(api, """CREATE PROCEDURE load_missing() RETURNS INT LANGUAGE SQL AS $$
BEGIN
  INSERT INTO no_such_table VALUES (1);
  RETURN 1;
END;
$$""")
    sql(api, """CREATE PROCEDURE refuse(flag BOOLEAN) RETURNS INT LANGUAGE SQL AS $$
DECLARE
  my_exception EXCEPTION (-20002, 'Raised MY_EXCEPTION.');
BEGIN
  IF (flag) THEN
    RAISE my_exception;
  END IF;
  RETURN 0;
END;
$$""")
    missing = run_task(api, "missing", "CALL load_missing()")
    assert missing["state"] == "FAILED"
    assert missing["error_code"] == 2003
    assert missing["error_message"].startswith(
        "Uncaught exception of type 'STATEMENT_ERROR' on line 3 at position 2 : ")
    assert f"Object '{api.database}.S.NO_SUCH_TABLE' does not exist or not authorized." in \
        missing["error_message"]
    raised = run_task(api, "raised", "CALL refuse(TRUE)")
    assert raised["state"] == "FAILED"
    assert raised["error_code"] == -20002
    assert raised["error_message"] == (
        "Uncaught exception of type 'MY_EXCEPTION' on line 6 at position 4 : "
        "Raised MY_EXCEPTION.")
    assert run_task(api, "quiet", "CALL refuse(FALSE)")["state"] == "SUCCEEDED"


def test_procedures_call_procedures_take_defaults_and_named_arguments_and_drop(
        api: Api) -> None:
    """CALL (sql-reference/sql/call): ``CALL <procedure_name> ( [ [ <arg_name> => ] <arg> ,
    ... ] ) [ INTO :<snowflake_scripting_variable> ]``; CREATE PROCEDURE: an argument may have
    a ``DEFAULT``; DROP PROCEDURE "Removes the specified stored procedure from the current or
    specified schema", so a later CALL of it fails.
    """
    sql(api, "CREATE TABLE log (v VARCHAR)")
    sql(api, """CREATE OR REPLACE PROCEDURE inner_step(n INTEGER, suffix VARCHAR DEFAULT '!')
RETURNS VARCHAR LANGUAGE SQL AS
$$
BEGIN
  RETURN (n * 2) || suffix;
END;
$$""")
    sql(api, """CREATE OR REPLACE PROCEDURE outer_step() RETURNS VARCHAR LANGUAGE SQL AS
$$
DECLARE
  first VARCHAR;
  second VARCHAR;
BEGIN
  CALL inner_step(4) INTO :first;
  CALL inner_step(suffix => '?', n => 5) INTO :second;
  INSERT INTO log VALUES (:first), (:second);
  RETURN first || second;
END;
$$""")
    assert run_task(api, "nested", "CALL outer_step()")["state"] == "SUCCEEDED"
    assert sorted(rows(api, "SELECT v FROM log")) == [["10?"], ["8!"]]
    sql(api, "DROP PROCEDURE inner_step(INTEGER, VARCHAR)")
    again = run_task(api, "after_drop", "CALL outer_step()")
    assert again["state"] == "FAILED"
    assert "INNER_STEP" in again["error_message"] and again["error_code"] == 2140


def test_javascript_python_java_scala_procedures_are_created_but_not_called(api: Api) -> None:
    """CREATE PROCEDURE accepts LANGUAGE JAVASCRIPT, PYTHON, JAVA and SCALA on Snowflake; the
    local server has none of those runtimes: creating succeeds, and a CALL fails with one
    line that names the language and the procedure (000002, the local engine's lack)."""
    sql(api, """CREATE OR REPLACE PROCEDURE js_proc(x FLOAT) RETURNS FLOAT LANGUAGE JAVASCRIPT
AS $$ return X * 2; $$""")
    sql(api, """CREATE OR REPLACE PROCEDURE py_proc() RETURNS VARCHAR LANGUAGE PYTHON
RUNTIME_VERSION = '3.11' PACKAGES = ('snowflake-snowpark-python') HANDLER = 'run'
AS $$
def run(session):
    return 'x'
$$""")
    for name, call, language in (("js", "CALL js_proc(1.5)", "JavaScript"),
                                 ("py", "CALL py_proc()", "Python")):
        run = run_task(api, name, call)
        assert run["state"] == "FAILED"
        assert run["error_code"] == 2
        message = run["error_message"]
        assert "\n" not in message and language in message
        assert f"{api.database}.S.{call.split()[1].split('(')[0].upper()}" in message


def test_procedures_survive_a_restart(tmp_path: Any) -> None:
    """Snowflake keeps a procedure in its schema until it is dropped; the local server keeps
    it in the database's file, with the tables, across a restart."""
    data = tmp_path / "data"
    with tasknb.local.start(clock="manual", start_time=T0, data_dir=data) as first:
        api = Api(first, "KEEP", "S")
        assert api.http.post("/api/v2/databases", json={"name": "KEEP"}).status_code == 200
        assert api.http.post("/api/v2/databases/KEEP/schemas",
                             json={"name": "S"}).status_code == 200
        sql(api, "CREATE TABLE t (v INT)")
        sql(api, "CREATE PROCEDURE put(v INT) RETURNS INT LANGUAGE SQL AS "
                 "'BEGIN INSERT INTO t VALUES (:v); RETURN v; END'")
        api.close()
    with tasknb.local.start(clock="manual", data_dir=data) as second:
        api = Api(second, "KEEP", "S")
        assert run_task(api, "after", "CALL put(7)")["state"] == "SUCCEEDED"
        assert rows(api, "SELECT v FROM t") == [["7"]]
        api.close()


def test_a_runaway_recursion_fails_once_with_one_clear_message(api: Api) -> None:
    """A procedure that calls itself without end: the local server stops it at 50 nested
    calls with one message (not caught by a handler, not repeated per level)."""
    sql(api, "CREATE PROCEDURE again(n INTEGER) RETURNS INTEGER LANGUAGE SQL AS "
             "'BEGIN CALL again(:n + 1); RETURN n; END'")
    run = run_task(api, "runaway", "BEGIN CALL again(1); EXCEPTION WHEN OTHER THEN RETURN 0; END")
    assert run["state"] == "FAILED"
    assert run["error_message"] == (f"CALL {api.database}.S.AGAIN: procedures nested more than "
                                    "50 calls deep (the local server's limit).")


def test_call_through_the_sql_api_takes_bindings(api: Api) -> None:
    """SQL API (developer-guide/sql-api/submitting-requests, "Using bind variables in a
    statement"): ``?`` placeholders take the request's ``bindings``; a CALL's arguments may be
    bound that way too."""
    sql(api, "CREATE TABLE got (v INTEGER, s VARCHAR)")
    sql(api, "CREATE PROCEDURE keep(v INTEGER, s VARCHAR) RETURNS INTEGER LANGUAGE SQL AS "
             "'BEGIN INSERT INTO got VALUES (:v, :s); RETURN v; END'")
    response = api.http.post("/api/v2/statements", json={
        "statement": "CALL keep(?, ?)", "database": api.database, "schema": api.schema,
        "bindings": {"1": {"type": "FIXED", "value": "41"},
                     "2": {"type": "TEXT", "value": "it's bound"}}})
    assert response.status_code == 200, response.text
    assert rows(api, "SELECT v, s FROM got") == [["41", "it's bound"]]
