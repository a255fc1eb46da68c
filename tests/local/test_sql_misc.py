"""Errors in the user's SQL and the smaller constructs of real task SQL, over REST (issue 10).

Each test asserts the outcome Snowflake documents (the page is named in the docstring) on the
local server, through the SQL API and through task runs; what the local engine lacks is
refused with 000002 and a message naming the construct.
"""

from __future__ import annotations

from typing import Any

import pytest
from _scripting_support import run_task
from _sql import error, rows, submit
from local_api import Api


@pytest.mark.parametrize("statement", ["selec 1", "SELECT FROM WHERE", "SELECT * FRM t"])
def test_a_syntax_error_is_001003_not_unsupported(api: Api, statement: str) -> None:
    """docs.snowflake.com/en/developer-guide/sql-api/handling-responses: a failed statement
    answers 422 with Snowflake's error code; 001003 is "SQL compilation error: syntax error
    line <n> at position <m> unexpected '<token>'"."""
    code, message = error(api, statement)
    assert code == "001003", message
    assert "syntax error line 1 at position" in message
    assert "Unsupported" not in message


def test_a_task_with_a_typo_fails_with_001003(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/tasks-monitor: a failed run records ERROR_CODE and
    ERROR_MESSAGE of the statement that failed (here Snowflake's syntax-error code)."""
    run = run_task(api, "typo", "selec 1")
    assert run["state"] == "FAILED"
    assert run["error_code"] == 1003


def test_a_missing_table_is_002003(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/select: a name that does not resolve fails with
    002003 "Object '<db>.<schema>.<name>' does not exist or not authorized"."""
    code, message = error(api, "SELECT * FROM no_such_table")
    assert code == "002003"
    assert "NO_SUCH_TABLE' does not exist or not authorized" in message


def test_to_timestamp_ntz_reads_a_variant_and_a_string(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/functions/to_timestamp: "TO_TIMESTAMP_NTZ( <variant_expr> )"
    — "If the variant contains a string, a string conversion is performed"."""
    assert rows(api, "SELECT TO_TIMESTAMP_NTZ(PARSE_JSON('{\"at\": \"2024-03-01 10:30:00\"}'):at)"
                     ", TO_TIMESTAMP_NTZ('2024-03-02 08:00:00')") == [
        ["1709289000.000000000", "1709366400.000000000"]]


def test_alter_session_set_is_accepted(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/alter-session: "ALTER SESSION SET
    sessionParams"; a task run is a session of its own, so a task may set its parameters."""
    api.create("tagged", "ALTER SESSION SET QUERY_TAG = 'nightly'; "
                         "CREATE TABLE tag_done AS SELECT 1 AS ok")
    assert api.execute("tagged")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT ok FROM tag_done") == [["1"]]


def _statements(api: Api, text: str, **parameters: object) -> dict[str, Any]:
    """A request of any number of statements with session parameters (sqlapi.yaml
    ``parameters``); the JSON answer (the last statement's result, as on Snowflake)."""
    response = api.http.post("/api/v2/statements", json={
        "statement": text, "database": api.database, "schema": api.schema,
        "parameters": {"multi_statement_count": 0, **parameters}})
    assert response.status_code in (200, 422), response.text
    return response.json()


_ZONED = ("SELECT '2024-01-15 12:00:00+00:00'::TIMESTAMP_TZ::TIMESTAMP_LTZ::TIMESTAMP_NTZ, "
          "'2024-01-15 12:00:00'::TIMESTAMP_LTZ, '2024-01-15 12:00:00'::TIMESTAMP_NTZ")


def test_alter_session_set_timezone_applies_to_the_rest_of_the_session(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/parameters#timezone: TIMEZONE "specifies the time
    zone for the session"; TIMESTAMP_LTZ values are shown and converted in it, a string read
    as TIMESTAMP_LTZ is a time there, and TIMESTAMP_NTZ "is not affected". Noon UTC is 07:00 in
    New York; noon in New York is 17:00 UTC (epoch 1705338000)."""
    body = _statements(api, f"ALTER SESSION SET TIMEZONE = 'America/New_York'; {_ZONED}")
    assert body["data"] == [["1705302000.000000000", "1705338000.000000000",
                                 "1705320000.000000000"]]
    # a new session (request) starts in the local default, UTC
    assert rows(api, _ZONED) == [["1705320000.000000000", "1705320000.000000000",
                                  "1705320000.000000000"]]


def test_the_sql_api_timezone_parameter_sets_the_session_zone(api: Api) -> None:
    """sqlapi.yaml: ``parameters.timezone`` is the "Time zone to use when executing the
    statement"; CURRENT_DATE is the date in that zone (the manual clock stands at
    2026-01-05 08:00 UTC, still 2026-01-04 in Honolulu)."""
    body = _statements(api, "SELECT CURRENT_DATE::VARCHAR, '2024-01-15 12:00:00'::TIMESTAMP_LTZ",
                       timezone="Pacific/Honolulu")
    assert body["data"] == [["2026-01-04", "1705356000.000000000"]]  # noon there = 22:00 UTC


def test_a_task_run_is_a_session_of_its_own_for_timezone(api: Api) -> None:
    """docs.snowflake.com/en/user-guide/tasks-intro: a task's session parameters
    (``session_parameters``) set up each run's session; ALTER SESSION in one run does not
    carry over to the next run or to other sessions."""
    submit(api, "CREATE TABLE zones (label VARCHAR, local_day DATE, zone VARCHAR)")
    api.create("honolulu", "ALTER SESSION SET TIMEZONE = 'Pacific/Honolulu'; INSERT INTO zones "
                        "SELECT 'altered', CURRENT_DATE, NULL")
    api.create("paris", "INSERT INTO zones SELECT 'param', "
                        "'2024-06-01 12:00:00+00:00'::TIMESTAMP_TZ::TIMESTAMP_LTZ::DATE, "
                        "TO_VARCHAR('2024-06-01 12:00:00+00:00'::TIMESTAMP_TZ::TIMESTAMP_LTZ"
                        "::TIMESTAMP_NTZ)", session_parameters={"TIMEZONE": "Europe/Paris"})
    api.create("plain", "INSERT INTO zones SELECT 'plain', CURRENT_DATE, NULL")
    for task in ("honolulu", "paris", "plain"):
        assert api.execute(task)["state"] == "SUCCEEDED"
    assert rows(api, "SELECT label, local_day, zone FROM zones ORDER BY label") == [
        ["altered", "20457", None], ["param", "19875", "2024-06-01 14:00:00"],
        ["plain", "20458", None]]


@pytest.mark.parametrize("zone", ["Nowhere/Special", "utc"])
def test_an_unknown_time_zone_is_snowflakes_error(api: Api, zone: str) -> None:
    """docs.snowflake.com/en/sql-reference/parameters#timezone: the value is a time zone name
    of the IANA database, spelled as there; anything else fails "invalid value [<value>] for
    parameter 'TIMEZONE'"."""
    code, message = error(api, f"ALTER SESSION SET TIMEZONE = '{zone}'")
    assert message == f"SQL compilation error:\ninvalid value [{zone}] for parameter 'TIMEZONE'"
    assert code == "001422"
    body = _statements(api, "SELECT 1", timezone=zone)
    assert body["message"] == message


@pytest.mark.parametrize(("statement", "named"), [
    ("SELECT * FROM t AT(OFFSET => -60)", "time travel (AT (OFFSET"),
    ("SELECT * FROM t BEFORE(STATEMENT => '01a2')", "time travel (BEFORE (STATEMENT"),
    ("UPDATE t SET id = s.$1 FROM @my_stage s", "COPY the files into a table first"),
    ("COPY INTO @my_stage FROM t", "COPY INTO <location> (unloading"),
    ("GET @my_stage file:///tmp/", "GET (downloading"),
    ("SELECT CURRENT_WAREHOUSE()", "CURRENT_WAREHOUSE()"),
    ("SELECT CURRENT_ROLE()", "CURRENT_ROLE()"),
])
def test_what_the_engine_lacks_is_refused_by_name(api: Api, statement: str, named: str) -> None:
    """docs.snowflake.com/en/user-guide/data-time-travel (AT | BEFORE), docs.snowflake.com/en/
    sql-reference/sql/copy-into-location (unloading) and /get, /functions/current_warehouse: these
    run on Snowflake; locally they answer 000002 with a message naming the construct."""
    submit(api, "CREATE TABLE t (id INT)")
    code, message = error(api, statement)
    assert code == "000002", message
    assert named in message


def test_lateral_flatten_gives_value_index_path_and_key(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/functions/flatten: "FLATTEN( INPUT => <expr> ...)"
    returns SEQ, KEY ("For maps or objects, this column contains the key ... NULL" for arrays),
    PATH, INDEX ("The index of the element, if it is an array; otherwise NULL"), VALUE, THIS."""
    submit(api, "CREATE TABLE docs (id INT, doc VARIANT)")
    submit(api, "INSERT INTO docs SELECT 1, PARSE_JSON('{\"tags\": [10, 20], "
                "\"attrs\": {\"size\": 3}}')")
    api.create("explode", "CREATE TABLE tags AS SELECT d.id, f.index AS i, f.path AS p, "
                          "f.key AS k, f.value::INT AS tag FROM docs d, "
                          "LATERAL FLATTEN(input => d.doc:tags) f")
    assert api.execute("explode")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT id, i, p, k, tag FROM tags ORDER BY i") == [
        ["1", "0", "[0]", None, "10"], ["1", "1", "[1]", None, "20"]]
    assert rows(api, "SELECT key, index, value::INT FROM docs, LATERAL FLATTEN(doc:attrs)") == [
        ["size", None, "3"]]


def test_table_flatten_gives_the_same_columns_as_lateral_flatten(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/functions/flatten: "FLATTEN is a table function"
    used as ``TABLE(FLATTEN(...))`` or ``LATERAL FLATTEN(...)``, with the same output
    columns SEQ, KEY, PATH, INDEX, VALUE, THIS."""
    submit(api, "CREATE TABLE tf (id INT, doc VARIANT)")
    submit(api, "INSERT INTO tf SELECT 7, PARSE_JSON('{\"tags\": [\"x\", \"y\"]}')")
    assert rows(api, "SELECT t.id, f.seq, f.key, f.path, f.index, f.value::VARCHAR, f.this "
                     "FROM tf t, TABLE(FLATTEN(input => t.doc:tags)) f ORDER BY f.index") == [
        ["7", "1", None, "[0]", "0", "x", '["x","y"]'],
        ["7", "1", None, "[1]", "1", "y", '["x","y"]']]
    assert rows(api, "SELECT value::INT, index FROM TABLE(FLATTEN(INPUT => PARSE_JSON('[5, 6]')))"
                     " ORDER BY index") == [["5", "0"], ["6", "1"]]


def test_flatten_path_outer_recursive_and_mode(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/functions/flatten: PATH "the path to the element
    within a VARIANT data structure which needs to be flattened"; OUTER => TRUE "exactly one
    row is generated for zero-row expansions (with NULL in the KEY, INDEX, and VALUE
    columns)"; RECURSIVE => TRUE "expansion is performed for all sub-elements recursively";
    MODE "whether only objects, arrays, or both should be flattened"."""
    submit(api, "CREATE TABLE fo (id INT, doc VARIANT)")
    submit(api, """INSERT INTO fo SELECT 1, PARSE_JSON('{"a": {"b": [1, 2]}, "e": []}')""")
    assert rows(api, "SELECT f.path, f.index, f.value::INT FROM fo, LATERAL FLATTEN(input => "
                     "doc, path => 'a.b') f ORDER BY f.index") == [["a.b[0]", "0", "1"],
                                                                   ["a.b[1]", "1", "2"]]
    assert rows(api, "SELECT id, f.key, f.index, f.value FROM fo, LATERAL FLATTEN(input => "
                     "doc:e, outer => TRUE) f") == [["1", None, None, None]]
    assert rows(api, "SELECT count(*) FROM fo, LATERAL FLATTEN(input => doc:e) f") == [["0"]]
    assert rows(api, "SELECT f.path FROM fo, LATERAL FLATTEN(input => doc, recursive => TRUE) f"
                     " ORDER BY f.path") == [["a"], ["a.b"], ["a.b[0]"], ["a.b[1]"], ["e"]]
    assert rows(api, "SELECT count(*) FROM fo, LATERAL FLATTEN(input => doc, mode => 'ARRAY') f"
                     ) == [["0"]]
    assert rows(api, "SELECT f.key FROM fo, LATERAL FLATTEN(input => doc, mode => 'OBJECT') f "
                     "ORDER BY f.key") == [["a"], ["e"]]


def test_system_send_email_is_accepted_and_recorded_never_sent(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """docs.snowflake.com/en/sql-reference/stored-procedures/system_send_email:
    "SYSTEM$SEND_EMAIL('<integration_name>', '<email_address_1>[, ...]', '<email_subject>',
    '<email_content>')" returns TRUE "if the email message was sent"; the local server
    records the message in its log (logger tasknb.local.sql.email) and sends nothing."""
    with caplog.at_level("INFO", logger="tasknb.local.sql.email"):
        answer = rows(api, "SELECT SYSTEM$SEND_EMAIL('my_int', 'ops@example.com', "
                           "'Load failed', 'see the task history')")
    assert answer == [["true"]]
    assert "recipients=ops@example.com subject='Load failed'" in caplog.text
    assert "not sent" in caplog.text


def test_a_variant_column_holding_a_string_casts_to_the_string(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/data-types-semistructured ("Using values in a
    VARIANT"): a VARIANT holding a string cast to VARCHAR gives the string without its JSON
    quotes; a VARCHAR column holding quotes keeps them; numbers give their digits."""
    submit(api, "CREATE TABLE vc (v VARIANT, s VARCHAR, n INT)")
    submit(api, """INSERT INTO vc SELECT PARSE_JSON('"a"'), '"kept"', 5""")
    assert rows(api, "SELECT v::VARCHAR, TO_VARCHAR(v), CAST(v AS STRING), s::VARCHAR, "
                     "n::VARCHAR, PARSE_JSON('\"b\"')::VARCHAR FROM vc") == [
        ["a", "a", "a", '"kept"', "5", "b"]]


def test_to_varchar_and_to_date_take_snowflake_format_elements(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/functions-conversion#date-and-time-formats-in-
    conversion-functions: YYYY, YY, MM, MON, MMMM, DD, DY, HH24, HH12, AM/PM, MI, SS, FF0-FF9,
    TZH:TZM, and "text in double quotes" kept as it is, in TO_VARCHAR / TO_CHAR, TO_DATE and
    TO_TIMESTAMP[_NTZ]."""
    submit(api, "CREATE TABLE fmt (ts TIMESTAMP_NTZ, d DATE)")
    submit(api, "INSERT INTO fmt VALUES ('2024-03-05 14:07:09.123', '2024-03-05')")
    assert rows(api, """SELECT TO_VARCHAR(ts, 'YYYY-MM-DD HH24:MI:SS'), TO_CHAR(d, 'DD/MM/YY'),
        TO_CHAR(ts, 'DY DD MON YYYY HH12:MI:SS.FF3 AM'), TO_VARCHAR(ts, 'MMMM "the" DD')
        FROM fmt""") == [["2024-03-05 14:07:09", "05/03/24", "Tue 05 Mar 2024 02:07:09.123 PM",
                          "March the 05"]]
    assert rows(api, """SELECT TO_DATE('05/03/2024', 'DD/MM/YYYY')::VARCHAR,
        TO_TIMESTAMP_NTZ('2024-03-05 at 14', 'YYYY-MM-DD "at" HH24')::VARCHAR,
        TO_TIMESTAMP('05-Mar-2024 02:07:09 PM', 'DD-MON-YYYY HH12:MI:SS AM')::VARCHAR,
        TO_TIMESTAMP('2024-03-05T14:07:09.5+01:00', 'YYYY-MM-DD"T"HH24:MI:SS.FF1TZH:TZM')
            ::TIMESTAMP_NTZ::VARCHAR""") == [
        ["2024-03-05", "2024-03-05 14:00:00", "2024-03-05 14:07:09", "2024-03-05 13:07:09.5"]]


@pytest.mark.parametrize(("statement", "named"), [
    ("SELECT TO_VARCHAR(1234.5, '999,999.00')", "number format '999,999.00'"),
    ("SELECT TO_VARCHAR(CURRENT_TIMESTAMP, 'YYYY TZH:TZM')", "time-zone element (TZH, TZM)"),
    ("SELECT TO_VARCHAR(CURRENT_DATE, 'YYYY-MM-DD QQ')", "format element 'QQ'"),
])
def test_a_format_the_engine_cannot_map_is_refused_by_name(api: Api, statement: str,
                                                           named: str) -> None:
    """docs.snowflake.com/en/sql-reference/functions/to_char: these formats run on Snowflake;
    locally they answer 000002 naming the format or element (never a wrong string)."""
    code, message = error(api, statement)
    assert code == "000002", message
    assert named in message


def test_positional_columns_over_a_table(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/select: "$<col_position>" names a column by its
    position in the FROM clause's table, also a VARIANT one followed by a path."""
    submit(api, "CREATE TABLE pos (raw VARIANT, n INT)")
    submit(api, """INSERT INTO pos SELECT PARSE_JSON('{"id": "a1"}'), 5""")
    assert rows(api, 'SELECT UPPER($1:"id"::STRING), $2 + 1 FROM pos') == [["A1", "6"]]


def test_a_sql_user_defined_function_is_created_called_and_dropped(api: Api) -> None:
    """docs.snowflake.com/en/developer-guide/udf/sql/udf-sql-introduction: a SQL UDF "returns the
    result of an expression" over its arguments (cast to their declared types, the result to
    the RETURNS type); a task may call it; DROP FUNCTION removes it, after which a call fails
    with Snowflake's unknown-function code."""
    submit(api, "CREATE OR REPLACE FUNCTION to_cents(dollars NUMBER(10,2)) RETURNS NUMBER "
                "AS $$ dollars * 100 $$")
    submit(api, "CREATE FUNCTION label(v VARIANT) RETURNS VARCHAR LANGUAGE SQL AS "
                "'IFF(v:kind::VARCHAR = ''a'', ''first'', NVL(v:kind::VARCHAR, ''none''))'")
    assert rows(api, "SELECT to_cents(19.991), label(PARSE_JSON('{\"kind\": \"a\"}')), "
                     "label(PARSE_JSON('{}'))") == [["1999", "first", "none"]]
    submit(api, "CREATE TABLE prices (usd NUMBER(10,2))")
    submit(api, "INSERT INTO prices VALUES (1.25)")
    api.create("cents", "CREATE TABLE cents AS SELECT to_cents(usd) AS c FROM prices")
    assert api.execute("cents")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT c FROM cents") == [["125"]]
    submit(api, "DROP FUNCTION to_cents(NUMBER)")
    code, message = error(api, "SELECT to_cents(1)")
    assert code == "002140" and "TO_CENTS" in message


@pytest.mark.parametrize(("statement", "named"), [
    ("CREATE FUNCTION js(x FLOAT) RETURNS FLOAT LANGUAGE JAVASCRIPT AS 'return X;'",
     "JavaScript user-defined functions cannot run locally"),
    ("CREATE FUNCTION rows_of() RETURNS TABLE (a INT) AS 'SELECT 1'", "RETURNS TABLE"),
])
def test_what_udfs_cannot_do_locally_is_refused_by_name(api: Api, statement: str,
                                                        named: str) -> None:
    """docs.snowflake.com/en/developer-guide/udf/udf-overview: UDFs may be written in Java,
    JavaScript, Python, Scala or SQL, and tabular (UDTFs); locally only scalar SQL UDFs run."""
    code, message = error(api, statement)
    assert code == "000002" and named in message
