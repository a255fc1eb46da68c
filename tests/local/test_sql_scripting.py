"""Snowflake Scripting in task bodies on the local server, over REST.

References: Snowflake's documentation pages named in each test (the search tool's stored
Snowflake docs) and the task semantics notes.
"""

from __future__ import annotations

import json
from pathlib import Path

from _scripting_support import history, rows, run_task, sql
from local_api import Api

ROOT = """
DECLARE
  run_label VARCHAR DEFAULT 'nightly';
  loaded INTEGER DEFAULT 0;
BEGIN
  LET OUTPUT_DIR STRING := SYSTEM$GET_TASK_GRAPH_CONFIG('output_dir')::string;
  CREATE TABLE IF NOT EXISTS stage_log (step VARCHAR, detail VARCHAR);
  FOR i IN 1 TO 3 DO
    INSERT INTO stage_log VALUES ('root', :OUTPUT_DIR || :i);
    loaded := loaded + SQLROWCOUNT;
  END FOR;
  CALL SYSTEM$SET_RETURN_VALUE(:run_label || ':' || :loaded);
END;
"""

CONFIG_CHILD = """
BEGIN
  LET value := (SELECT SYSTEM$GET_TASK_GRAPH_CONFIG('dir'));
  CREATE TABLE IF NOT EXISTS my_table(name VARCHAR, value VARCHAR);
  INSERT INTO my_table VALUES('my_task_root dir',:value);
END;
"""

VALUE_CHILD = """
EXECUTE IMMEDIATE $$
DECLARE
  parent VARCHAR;
BEGIN
  parent := SYSTEM$GET_PREDECESSOR_RETURN_VALUE('ROOT');
  INSERT INTO stage_log VALUES ('value_child', :parent);
  CALL SYSTEM$SET_RETURN_VALUE('seen ' || :parent);
END;
$$
"""

FINALIZER = """
BEGIN
  LET n INTEGER := (SELECT COUNT(*) FROM stage_log);
  INSERT INTO stage_log VALUES ('finalizer', :n);
END;
"""


def test_task_graphs_quickstart_shape_runs_end_to_end(api: Api) -> None:
    """The task-graph tutorial's shape: a scripting root using DECLARE, children and a
    finalizer. SYSTEM$GET_TASK_GRAPH_CONFIG (sql-reference/functions/
    system_get_task_graph_config) shows a root ``AS BEGIN LET OUTPUT_DIR STRING :=
    SYSTEM$GET_TASK_GRAPH_CONFIG('output_dir')::string; ... END;`` and a child ``BEGIN LET value
    := (SELECT SYSTEM$GET_TASK_GRAPH_CONFIG('dir')); CREATE TABLE IF NOT EXISTS my_table(name
    VARCHAR, value VARCHAR); INSERT INTO my_table VALUES('my_task_root dir',:value); END;``;
    SYSTEM$SET_RETURN_VALUE is called as ``CALL SYSTEM$SET_RETURN_VALUE(...)`` and read by a
    child with SYSTEM$GET_PREDECESSOR_RETURN_VALUE; the finalizer runs after every other task
    of the graph (task-semantics.md, finalizer).
    """
    api.create("root", ROOT, config={"output_dir": "/tmp/out/", "dir": "/my_prod_directory/"})
    api.create("config_child", CONFIG_CHILD, predecessors=["root"])
    api.create("value_child", VALUE_CHILD, predecessors=["root"])
    api.create("fin", FINALIZER, finalize="root")
    for name in ("CONFIG_CHILD", "VALUE_CHILD", "FIN"):
        api.action(name, "resume")
    run = api.execute("ROOT")
    assert run["state"] == "SUCCEEDED", run
    states = {name: history(api, name)[0]["state"]
              for name in ("ROOT", "CONFIG_CHILD", "VALUE_CHILD", "FIN")}
    assert states == dict.fromkeys(states, "SUCCEEDED")
    assert history(api, "ROOT")[0]["return_value"] == "nightly:3"
    assert history(api, "VALUE_CHILD")[0]["return_value"] == "seen nightly:3"
    assert rows(api, "SELECT name, value FROM my_table") == [
        ["my_task_root dir", "/my_prod_directory/"]]
    log = rows(api, "SELECT step, detail FROM stage_log ORDER BY step, detail")
    assert log == [["finalizer", "4"], ["root", "/tmp/out/1"], ["root", "/tmp/out/2"],
                   ["root", "/tmp/out/3"], ["value_child", "nightly:3"]]


def test_loops_and_branches(api: Api) -> None:
    """Working with loops and branching (developer-guide/snowflake-scripting/loops,
    branch): FOR i IN start TO end (inclusive, REVERSE counts down), WHILE, REPEAT ... UNTIL,
    LOOP with BREAK, CONTINUE, IF/ELSEIF/ELSE and CASE."""
    body = """
DECLARE
  trail VARCHAR DEFAULT '';
  n INTEGER DEFAULT 0;
BEGIN
  FOR i IN REVERSE 1 TO 5 DO
    IF (i = 4) THEN
      CONTINUE;
    ELSEIF (i = 2) THEN
      BREAK;
    ELSE
      trail := trail || i;
    END IF;
  END FOR;
  WHILE (n < 3) DO
    n := n + 1;
  END WHILE;
  REPEAT
    n := n * 2;
  UNTIL (n > 20)
  END REPEAT;
  LOOP
    n := n - 5;
    IF (n < 10) THEN
      BREAK;
    END IF;
  END LOOP;
  CASE (n)
    WHEN 9 THEN trail := trail || '-nine';
    ELSE trail := trail || '-other';
  END CASE;
  CASE
    WHEN n > 100 THEN trail := trail || '-big';
    WHEN n > 1 THEN trail := trail || '-small';
  END CASE;
  CALL SYSTEM$SET_RETURN_VALUE(:trail || '/' || :n);
END;
"""
    run = run_task(api, "loops", body)
    assert run["state"] == "SUCCEEDED", run
    # 5, 3 kept (4 skipped, 2 breaks); n: 3 -> 6 -> 12 -> 24 -> 19 -> 14 -> 9
    assert run["return_value"] == "53-nine-small/9"


def test_cursor_resultset_fetch_and_return_table(api: Api) -> None:
    """Working with cursors and RESULTSETs (developer-guide/snowflake-scripting/cursors,
    resultsets): ``DECLARE c CURSOR FOR SELECT ... WHERE x > ?``, ``OPEN c USING (...)``,
    ``FETCH c INTO v``, ``CLOSE c``; ``res RESULTSET DEFAULT (SELECT ...)``, ``FOR r IN res``,
    ``LET c2 CURSOR FOR res``, ``SELECT ... INTO :v`` and ``EXECUTE IMMEDIATE ... USING``."""
    sql(api, "CREATE TABLE nums (n INTEGER, tag VARCHAR)")
    sql(api, "INSERT INTO nums VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
    body = """
DECLARE
  c CURSOR FOR SELECT n FROM nums WHERE n > ? ORDER BY n;
  first_big INTEGER;
  res RESULTSET DEFAULT (SELECT n, tag FROM nums ORDER BY n);
  tags VARCHAR DEFAULT '';
  biggest INTEGER;
  counted INTEGER;
BEGIN
  OPEN c USING (2);
  FETCH c INTO first_big;
  CLOSE c;
  FOR r IN res DO
    tags := tags || r.tag;
  END FOR;
  SELECT MAX(n) INTO :biggest FROM nums;
  LET q VARCHAR := 'SELECT COUNT(*) AS k FROM nums WHERE n >= ?';
  LET counts RESULTSET := (EXECUTE IMMEDIATE :q USING (biggest));
  LET c2 CURSOR FOR counts;
  FOR row_of IN c2 DO
    counted := row_of.k;
  END FOR;
  CALL SYSTEM$SET_RETURN_VALUE(:first_big || :tags || :biggest || '/' || :counted);
END;
"""
    run = run_task(api, "cursors", body)
    assert run["state"] == "SUCCEEDED", run
    assert run["return_value"] == "3abcd4/1"


def test_exception_handlers_see_sqlcode_sqlerrm_sqlstate(api: Api) -> None:
    """Handling exceptions (developer-guide/snowflake-scripting/exceptions): handlers
    ``WHEN STATEMENT_ERROR``, ``WHEN EXPRESSION_ERROR``, ``WHEN <declared exception>``,
    ``WHEN OTHER``; "SQLCODE ... SQLERRM ... SQLSTATE" describe the exception; an exception
    not handled in a nested block goes to the enclosing block's handler; RAISE in a handler
    re-raises."""
    sql(api, "CREATE TABLE caught (kind VARCHAR, code INTEGER, state VARCHAR, message VARCHAR)")
    body = """
DECLARE
  my_exception EXCEPTION (-20002, 'Raised MY_EXCEPTION.');
BEGIN
  BEGIN
    SELECT * FROM no_such_table;
  EXCEPTION
    WHEN STATEMENT_ERROR THEN
      INSERT INTO caught VALUES ('statement', :SQLCODE, :SQLSTATE, :SQLERRM);
  END;
  BEGIN
    LET n INTEGER := 'not a number';
  EXCEPTION
    WHEN EXPRESSION_ERROR THEN
      INSERT INTO caught VALUES ('expression', :SQLCODE, :SQLSTATE, :SQLERRM);
  END;
  BEGIN
    BEGIN
      RAISE my_exception;
    EXCEPTION
      WHEN STATEMENT_ERROR THEN
        INSERT INTO caught VALUES ('wrong handler', 0, '', '');
    END;
  EXCEPTION
    WHEN my_exception THEN
      INSERT INTO caught VALUES ('declared', :SQLCODE, :SQLSTATE, :SQLERRM);
  END;
  BEGIN
    SELECT 1 / 0;
  EXCEPTION
    WHEN OTHER THEN
      RAISE;
  END;
EXCEPTION
  WHEN OTHER THEN
    INSERT INTO caught VALUES ('reraised', :SQLCODE, :SQLSTATE, :SQLERRM);
END;
"""
    run = run_task(api, "handlers", body)
    assert run["state"] == "SUCCEEDED", run
    found = {kind: (int(code), state, message)
             for kind, code, state, message in rows(api, "SELECT * FROM caught")}
    assert set(found) == {"statement", "expression", "declared", "reraised"}
    assert found["statement"][:2] == (2003, "42S02")
    assert "NO_SUCH_TABLE' does not exist or not authorized" in found["statement"][2]
    assert found["expression"][:2] == (100038, "22018")
    assert found["declared"] == (-20002, "P0001", "Raised MY_EXCEPTION.")
    assert found["reraised"] == (100051, "22012", "Division by zero")


def test_sqlrowcount_sqlfound_sqlnotfound(api: Api) -> None:
    """Determining the number of rows affected by DML commands (developer-guide/
    snowflake-scripting/dml-status): "SQLROWCOUNT: Number of rows affected by the last DML
    statement", "SQLFOUND: true if the last DML statement affected one or more rows",
    "SQLNOTFOUND: true if the last DML statement affected zero rows"; with the 2025_01
    behaviour change (enabled by default) "the variables return NULL when a non-DML statement
    is executed after the last DML statement"."""
    sql(api, "CREATE TABLE my_values (value NUMBER)")
    body = """
BEGIN
  INSERT INTO my_values VALUES (1), (2), (3);
  LET inserted INTEGER := SQLROWCOUNT;
  LET found BOOLEAN := SQLFOUND;
  DELETE FROM my_values WHERE value > 10;
  LET none_deleted BOOLEAN := SQLNOTFOUND;
  SELECT * FROM my_values;
  LET after_select VARCHAR := COALESCE(SQLROWCOUNT::VARCHAR, 'NULL');
  CALL SYSTEM$SET_RETURN_VALUE(:inserted || ' ' || :found || ' ' || :none_deleted || ' '
                               || :after_select);
END;
"""
    run = run_task(api, "counts", body)
    assert run["state"] == "SUCCEEDED", run
    assert run["return_value"] == "3 true true NULL"


def test_bind_variables_are_values_never_text(api: Api) -> None:
    """Using a variable in a SQL statement (developer-guide/snowflake-scripting/variables):
    "prefix the name of the variable with a colon" - the variable's value is bound, so a value
    that looks like SQL stays a value."""
    sql(api, "CREATE TABLE notes (body VARCHAR)")
    body = """
BEGIN
  LET text VARCHAR := 'x''); DROP TABLE notes; --';
  INSERT INTO notes VALUES (:text);
  LET tbl VARCHAR := 'notes';
  LET n INTEGER := (SELECT COUNT(*) FROM IDENTIFIER(:tbl));
  CALL SYSTEM$SET_RETURN_VALUE(:n);
END;
"""
    run = run_task(api, "binds", body)
    assert run["state"] == "SUCCEEDED", run
    assert run["return_value"] == "1"
    assert rows(api, "SELECT body FROM notes") == [["x'); DROP TABLE notes; --"]]


def test_what_the_engine_cannot_run_is_refused_in_one_line_and_not_caught(api: Api) -> None:
    """A statement the local engine lacks fails the run with 000002 and a one-line message,
    even inside a block with a WHEN OTHER handler (a handler must not hide a local gap the
    same definition would not have on Snowflake); a syntax error in a block is 001003."""
    body = """
BEGIN
  COPY INTO @my_stage FROM t;
EXCEPTION
  WHEN OTHER THEN
    RETURN 'hidden';
END;
"""
    refused = run_task(api, "refused", body)
    assert refused["state"] == "FAILED"
    assert refused["error_code"] == 2 and "COPY INTO" in refused["error_message"]
    assert "\n" not in refused["error_message"]
    broken = run_task(api, "broken", "BEGIN IF (1 = 1) THEN SELECT 1; END; END;")
    assert broken["state"] == "FAILED" and broken["error_code"] == 1003


def test_an_anonymous_block_is_one_statement_and_its_errors_are_uncaught_exceptions(
        api: Api) -> None:
    """Handling exceptions (developer-guide/snowflake-scripting/exceptions): an exception
    no block handles stops the block and is reported as a Snowflake error; the statements
    before it have run (each statement of a block commits on its own unless a transaction is
    open)."""
    sql(api, "CREATE TABLE steps (n INTEGER)")
    run = run_task(api, "block", "BEGIN\n  INSERT INTO steps VALUES (1);\n  SELECT 1 / 0;\n"
                                 "  INSERT INTO steps VALUES (2);\nEND;")
    assert run["state"] == "FAILED"
    assert run["error_code"] == 100051
    assert run["error_message"] == ("Uncaught exception of type 'STATEMENT_ERROR' on line 3 "
                                    "at position 2 : Division by zero")
    assert rows(api, "SELECT n FROM steps") == [["1"]]


def _section_examples() -> list[tuple[str, object]]:
    """(statement, expected rows or None) of the ```sql block of the docs section."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "local-server.md").read_text()
    section = text[text.index("## Task SQL: Snowflake Scripting and stored procedures"):]
    start = section.index("```sql\n") + 7
    block = section[start:section.index("\n```", start)]
    examples: list[tuple[str, object]] = []
    for chunk in block.split("\n\n"):
        code, _, comment = chunk.strip().partition("; -- returns ")
        examples.append((code.strip().rstrip(";"), json.loads(comment) if comment else None))
    return examples


def test_the_examples_of_the_docs_section_run(api: Api) -> None:
    """docs/local-server.md "Task SQL: Snowflake Scripting and stored procedures": every
    statement it shows runs on the local server and answers what its ``-- returns`` says."""
    examples = _section_examples()
    assert len(examples) >= 8
    for statement, expected in examples:
        answer = sql(api, statement)
        if expected is not None:
            assert answer["data"] == expected, statement
    js = run_task(api, "js", "CALL js_total()")
    assert js["error_code"] == 2 and "JS_TOTAL" in js["error_message"]


def test_logging_calls_are_accepted_and_change_nothing(api: Api) -> None:
    """Logging messages from Snowflake Scripting (developer-guide/logging-tracing/
    logging-snowflake-scripting): ``SYSTEM$LOG('info', 'message')`` and ``SYSTEM$LOG_INFO``
    ... ``SYSTEM$LOG_FATAL`` record a message in the event table; the local server has no
    event table, so they are accepted as statements and in expressions and record nothing."""
    body = """
BEGIN
  LET who VARCHAR := 'loader';
  SYSTEM$LOG('info', 'starting ' || :who);
  SYSTEM$LOG_WARN(:who);
  SELECT SYSTEM$LOG_ERROR('inside a query');
  CALL SYSTEM$SET_RETURN_VALUE('logged ' || :who);
END;
"""
    run = run_task(api, "logs", body)
    assert run["state"] == "SUCCEEDED", run
    assert run["return_value"] == "logged loader"


def test_a_loop_that_never_ends_stops_at_the_task_timeout(api: Api) -> None:
    """USER_TASK_TIMEOUT_MS (sql-reference/parameters): "Specifies the time limit on a single
    run of the task before it times out"; a scripting loop with no statement inside is held
    to it too (the interpreter checks the deadline at every iteration)."""
    api.create("spin", "BEGIN LOOP END LOOP; END", user_task_timeout_ms=1000)
    api.execute("SPIN")
    run = history(api, "SPIN")[0]
    assert run["state"] == "FAILED"
    assert run["error_code"] == 630 and "USER_TASK_TIMEOUT_MS = 1000" in run["error_message"]
