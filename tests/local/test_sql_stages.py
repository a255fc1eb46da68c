"""Internal stages on the local server: CREATE STAGE / FILE FORMAT, PUT, LIST, REMOVE and
COPY INTO <table>, over the SQL API and in task runs (tasknb.local.sql.stages, copy_into)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _sql import error, rows, submit, task_history
from hypothesis import given, settings
from hypothesis import strategies as st
from local_api import T0, Api

import tasknb.local
from tasknb.local.sql import stage_commands
from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.engine import SqlEngine
from tasknb.local.sql.errors import TaskSqlError, UnsupportedSqlError

COPY_COLUMNS = ["file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen",
                "first_error", "first_error_line", "first_error_character",
                "first_error_column_name"]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _answer(api: Api, statement: str) -> tuple[list[str], list[list[str | None]]]:
    body = submit(api, statement)
    return [c["name"] for c in body["resultSetMetaData"]["rowType"]], body["data"]


def _one_line_error(api: Api, statement: str) -> tuple[str, str]:
    code, message = error(api, statement)
    assert "\n" not in message or message.startswith("SQL compilation error:\n"), message
    assert "Traceback" not in message
    return code, message


def test_put_list_and_copy_load_each_file_once(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/put: PUT "uploads one or more data files from a
    local file system onto an internal stage"; AUTO_COMPRESS = TRUE (the default) gzips them
    (``contacts.csv`` becomes ``contacts.csv.gz``); the output has source, target, source_size,
    target_size, source_compression, target_compression, status and message.
    docs.snowflake.com/en/sql-reference/sql/list: name, size, md5, last_modified.
    docs.snowflake.com/en/sql-reference/sql/copy-into-table: "Snowflake maintains detailed
    metadata for each table into which data is loaded ... This load metadata expires after 64
    days"; a file already loaded is skipped unless FORCE = TRUE ("load all files, regardless of
    whether they've been loaded previously")."""
    source = _write(tmp_path, "contacts.csv", "1,Ada,2024-01-05\n2,Grace,2024-02-06\n")
    assert submit(api, "CREATE STAGE landing")["data"] == [["Statement executed successfully."]]
    columns, put = _answer(api, f"PUT file://{source} @landing/in")
    assert columns == ["source", "target", "source_size", "target_size", "source_compression",
                       "target_compression", "status", "message"]
    [kept] = Path(api.server.data_dir).rglob("contacts.csv.gz")
    stored = kept.read_bytes()
    assert gzip.decompress(stored) == source.read_bytes()
    assert put == [["contacts.csv", "contacts.csv.gz", str(source.stat().st_size),
                    str(len(stored)), "NONE", "GZIP", "UPLOADED", ""]]
    columns, listed = _answer(api, "LIST @landing")
    assert columns == ["name", "size", "md5", "last_modified"]
    assert [r[:3] for r in listed] == [["landing/in/contacts.csv.gz", str(len(stored)),
                                       hashlib.md5(stored).hexdigest()]]
    assert listed[0][3].endswith(" GMT")
    submit(api, "CREATE TABLE contacts (id INT, name VARCHAR, since DATE)")
    columns, loaded = _answer(api, "COPY INTO contacts FROM @landing")
    assert columns == COPY_COLUMNS
    assert loaded == [["landing/in/contacts.csv.gz", "LOADED", "2", "2", "1", "0", None, None,
                       None, None]]
    assert rows(api, "SELECT id, name, since::VARCHAR FROM contacts ORDER BY id") == [
        ["1", "Ada", "2024-01-05"], ["2", "Grace", "2024-02-06"]]
    assert _answer(api, "COPY INTO contacts FROM @landing") == (
        ["status"], [["Copy executed with 0 files processed."]])
    assert _answer(api, "COPY INTO contacts FROM @landing FORCE = TRUE")[1][0][1] == "LOADED"
    assert rows(api, "SELECT count(*) FROM contacts") == [["4"]]


def test_put_options_and_wildcards(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/put: "You can use wildcard characters (*, ?) to
    upload multiple files"; OVERWRITE = FALSE (default) does not replace a file of the same
    name (status SKIPPED), OVERWRITE = TRUE does; AUTO_COMPRESS = FALSE keeps the file as is."""
    for name in ("a.csv", "b.csv", "c.txt"):
        _write(tmp_path, name, f"{name}\n")
    submit(api, "CREATE STAGE raw")
    put = rows(api, f"PUT 'file://{tmp_path}/*.csv' @raw AUTO_COMPRESS = FALSE")
    assert [(r[0], r[1], r[5], r[6]) for r in put] == [
        ("a.csv", "a.csv", "NONE", "UPLOADED"), ("b.csv", "b.csv", "NONE", "UPLOADED")]
    again = rows(api, f"PUT file://{tmp_path}/a.csv @raw AUTO_COMPRESS=FALSE")
    assert again[0][6] == "SKIPPED"
    _write(tmp_path, "a.csv", "changed\n")
    assert rows(api, f"PUT file://{tmp_path}/a.csv @raw AUTO_COMPRESS=FALSE OVERWRITE=TRUE"
                )[0][6] == "UPLOADED"
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(b"1\n"))
    assert rows(api, f"PUT file://{gz} @raw")[0][1:6:4] == ["d.csv.gz", "GZIP"]
    assert [r[0] for r in rows(api, "LIST @raw")] == ["raw/a.csv", "raw/b.csv", "raw/d.csv.gz"]


def test_json_files_load_into_a_variant_column_and_the_transform_form(
        api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/user-guide/data-load-transform: COPY INTO <table> FROM (SELECT
    $1, $1:field, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER ... FROM @stage) transforms
    while loading; a JSON file's $1 is the whole document, and STRIP_OUTER_ARRAY = TRUE makes
    each element of an outer array a row (docs.snowflake.com/en/sql-reference/sql/
    create-file-format)."""
    _write(tmp_path, "orders.json", json.dumps([{"customer": "Cafe", "qty": 6},
                                                {"customer": "Deli", "qty": 2}]))
    _write(tmp_path, "more.json", '{"customer": "Inn", "qty": 1}\n{"customer": "Bar", "qty": 3}\n')
    submit(api, "CREATE STAGE orders_stage FILE_FORMAT = (TYPE = JSON STRIP_OUTER_ARRAY = TRUE)")
    submit(api, f"PUT file://{tmp_path}/*.json @orders_stage")
    submit(api, "CREATE TABLE raw_orders (doc VARIANT)")
    loaded = rows(api, "COPY INTO raw_orders FROM @orders_stage")
    assert sorted((r[0], r[1], r[3]) for r in loaded) == [
        ("orders_stage/more.json.gz", "LOADED", "2"), ("orders_stage/orders.json.gz", "LOADED", "2")]
    assert rows(api, "SELECT doc:customer::VARCHAR, doc:qty::INT FROM raw_orders "
                     "ORDER BY 2") == [["Inn", "1"], ["Deli", "2"], ["Bar", "3"], ["Cafe", "6"]]
    submit(api, "CREATE TABLE orders (customer VARCHAR, qty INT, file VARCHAR, line INT, "
                "doc VARIANT)")
    submit(api, """COPY INTO orders FROM (SELECT o.$1:customer::VARCHAR, $1:qty, METADATA$FILENAME,
        METADATA$FILE_ROW_NUMBER, $1 FROM @orders_stage o) PATTERN = '.*orders.*'""")
    assert rows(api, "SELECT customer, qty, file, line, doc:qty::INT FROM orders ORDER BY line"
                ) == [["Cafe", "6", "orders.json.gz", "1", "6"], ["Deli", "2", "orders.json.gz",
                                                                  "2", "2"]]


def test_csv_file_format_options(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-file-format: FIELD_DELIMITER,
    SKIP_HEADER, FIELD_OPTIONALLY_ENCLOSED_BY (an enclosed field may hold the delimiter;
    ``""`` is an empty string), NULL_IF (strings read as NULL), EMPTY_FIELD_AS_NULL (default
    TRUE); a stage or COPY names one with FORMAT_NAME."""
    _write(tmp_path, "people.psv", 'id|name|note\n1|"Lovelace| Ada"|NULL\n2|""|\n3|Hopper|x\n')
    submit(api, """CREATE FILE FORMAT psv TYPE = CSV FIELD_DELIMITER = '|' SKIP_HEADER = 1
        FIELD_OPTIONALLY_ENCLOSED_BY = '"' NULL_IF = ('NULL')""")
    assert [r[1:5] for r in rows(api, "SHOW FILE FORMATS")] == [["PSV", api.database, "S",
                                                                 "CSV"]]
    submit(api, "CREATE STAGE people_stage")
    submit(api, f"PUT file://{tmp_path}/people.psv @people_stage")
    submit(api, "CREATE TABLE people (id INT, name VARCHAR, note VARCHAR)")
    loaded = rows(api, "COPY INTO people FROM @people_stage FILE_FORMAT = (FORMAT_NAME = 'psv')")
    assert loaded[0][1:4] == ["LOADED", "3", "3"]
    assert rows(api, "SELECT id, name, note FROM people ORDER BY id") == [
        ["1", "Lovelace| Ada", None], ["2", "", None], ["3", "Hopper", "x"]]
    code, message = _one_line_error(api, "CREATE FILE FORMAT f2 TYPE = XML")
    assert code == "000002" and "XML" in message


def test_on_error_abort_continue_and_skip_file(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/copy-into-table, ON_ERROR: ABORT_STATEMENT (the
    default for COPY) aborts the load when an error is found; CONTINUE loads the other rows
    (status PARTIALLY_LOADED, errors_seen, first_error, first_error_line); SKIP_FILE skips a
    file with an error (LOAD_FAILED) and loads the others."""
    _write(tmp_path, "bad.csv", "1,10\ntwo,20\n3,30,extra\n4,40\n")
    _write(tmp_path, "good.csv", "5,50\n")
    submit(api, "CREATE STAGE loads")
    submit(api, f"PUT file://{tmp_path}/*.csv @loads")
    submit(api, "CREATE TABLE nums (id INT, n INT)")
    code, message = _one_line_error(api, "COPY INTO nums FROM @loads")
    assert code == "100038" and "'two'" in message and "bad.csv.gz" in message, message
    assert rows(api, "SELECT count(*) FROM nums") == [["0"]]  # nothing of the statement stays
    skipped = {r[0]: r for r in rows(api, "COPY INTO nums FROM @loads ON_ERROR = SKIP_FILE")}
    assert skipped["loads/bad.csv.gz"][1:6] == ["LOAD_FAILED", "4", "0", "1", "2"]
    assert skipped["loads/good.csv.gz"][1:4] == ["LOADED", "1", "1"]
    assert rows(api, "SELECT id FROM nums") == [["5"]]
    result = rows(api, "COPY INTO nums FROM @loads ON_ERROR = 'CONTINUE'")
    assert len(result) == 1  # good.csv.gz was loaded before: its load is remembered
    file, status, parsed, loaded, limit, seen, first, line = result[0][:8]
    assert (file, status, parsed, loaded, limit, seen, line) == (
        "loads/bad.csv.gz", "PARTIALLY_LOADED", "4", "2", "4", "2", "2")
    assert "'two'" in first
    assert rows(api, "SELECT id, n FROM nums ORDER BY id") == [["1", "10"], ["4", "40"],
                                                               ["5", "50"]]


def test_files_pattern_purge_and_remove(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/copy-into-table: FILES = ('...') names files
    under the FROM path, PATTERN is a regular expression the file paths must match, PURGE =
    TRUE removes the loaded files. docs.snowflake.com/en/sql-reference/sql/remove: REMOVE
    @stage/path [PATTERN] removes files (output name, result)."""
    for name in ("2024/jan.csv", "2024/feb.csv", "2025/jan.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        _write(tmp_path, name, f"{name}\n")
        submit(api, "CREATE STAGE IF NOT EXISTS months")
        submit(api, f"PUT file://{tmp_path / name} @months/{name.split('/')[0]}")
    submit(api, "CREATE TABLE seen (v VARCHAR)")
    assert [r[0] for r in rows(api, "COPY INTO seen FROM @months/2024 FILES = ('jan.csv.gz')")
            ] == ["months/2024/jan.csv.gz"]
    assert [r[0] for r in rows(api, "COPY INTO seen FROM @months PATTERN = '.*feb.*' PURGE = TRUE")
            ] == ["months/2024/feb.csv.gz"]
    assert [r[0] for r in rows(api, "LIST @months")] == ["months/2024/jan.csv.gz",
                                                         "months/2025/jan.csv.gz"]
    assert rows(api, "LIST @months PATTERN = '.*2025.*'")[0][0] == "months/2025/jan.csv.gz"
    assert rows(api, "REMOVE @months/2025") == [["months/2025/jan.csv.gz", "removed"]]
    assert rows(api, "RM @months PATTERN = '.*jan.*'") == [["months/2024/jan.csv.gz", "removed"]]
    assert rows(api, "LIST @months") == []
    assert rows(api, "SELECT v FROM seen ORDER BY v") == [["2024/feb.csv"], ["2024/jan.csv"]]


def test_stages_are_schema_objects_kept_under_the_data_dir(fresh_api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-stage: CREATE [OR REPLACE] STAGE [IF NOT
    EXISTS]; a replaced stage starts empty; DROP STAGE and SHOW STAGES (type INTERNAL). The
    local server keeps staged files in its data dir, 0600 in 0700 folders."""
    api = fresh_api
    submit(api, "CREATE STAGE kept COMMENT = 'raw files'")
    submit(api, f"PUT file://{_write(tmp_path, 'k.csv', '1')} @kept")
    shown = {r[1]: r for r in rows(api, "SHOW STAGES")}
    assert shown["KEPT"][2:5] == [api.database, "S", ""] and shown["KEPT"][8:11:2] == [
        "raw files", "INTERNAL"]
    code, _ = _one_line_error(api, "CREATE STAGE kept")
    assert code == "002002"
    root = Path(api.server.data_dir)
    staged = [p for p in root.rglob("k.csv.gz")]
    assert len(staged) == 1 and stat.S_IMODE(staged[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(staged[0].parent.stat().st_mode) == 0o700
    submit(api, "CREATE OR REPLACE STAGE kept")
    assert rows(api, "LIST @kept") == [] and not staged[0].exists()
    submit(api, f"PUT file://{tmp_path / 'k.csv'} @kept")
    submit(api, "DROP STAGE kept")
    assert not list(root.rglob("k.csv.gz"))
    code, message = _one_line_error(api, "LIST @kept")
    assert code == "002003" and f"Stage '{api.database}.S.KEPT' does not exist" in message
    assert rows(api, "DROP STAGE IF EXISTS kept")[0][0].startswith("Statement executed")


def test_user_and_table_stages(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/user-guide/data-load-local-file-system-create-stage: every user has
    a user stage (@~) and every table a table stage (@%table); COPY INTO t FROM @%t loads the
    table's own stage."""
    submit(api, "CREATE TABLE events (id INT)")
    source = _write(tmp_path, "events.csv", "7\n8\n")
    assert rows(api, f"PUT file://{source} @%events")[0][6] == "UPLOADED"
    assert rows(api, "COPY INTO events FROM @%events")[0][:4] == [
        "%events/events.csv.gz", "LOADED", "2", "2"]
    submit(api, f"PUT file://{source} @~/mine OVERWRITE = TRUE")
    assert "mine/events.csv.gz" in [r[0] for r in rows(api, "LIST @~")]
    assert rows(api, "COPY INTO events FROM @~/mine FORCE = TRUE")[0][1] == "LOADED"
    assert rows(api, "SELECT sum(id) FROM events") == [["30"]]
    code, _ = _one_line_error(api, "LIST @%nothing_here")
    assert code == "002003"


def test_external_stages_are_created_but_not_reached(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-stage: an external stage names a cloud
    location (URL = 's3://...', STORAGE_INTEGRATION); CREATE succeeds as on Snowflake, using it
    fails with one line naming the stage (the local server reaches no cloud storage).
    docs.snowflake.com/en/sql-reference/sql/get: GET downloads to the client (refused by name)."""
    submit(api, "CREATE STAGE ext URL = 's3://bucket/path/' STORAGE_INTEGRATION = my_int "
                "FILE_FORMAT = (TYPE = PARQUET)")
    assert [r[10] for r in rows(api, "SHOW STAGES LIKE 'EXT'")] == ["EXTERNAL"]
    submit(api, "CREATE TABLE t (v VARIANT)")
    for statement in ("LIST @ext", "COPY INTO t FROM @ext", "REMOVE @ext"):
        code, message = _one_line_error(api, statement)
        assert code == "000002" and f"{api.database}.S.EXT" in message, message
        assert "external stages are not reachable from the local server" in message
    code, message = _one_line_error(api, "GET @ext/a.parquet file:///tmp/")
    assert code == "000002" and message.startswith("Unsupported feature in the local task "
                                                   "server: GET")
    code, message = _one_line_error(api, "COPY INTO t FROM 's3://bucket/x'")
    assert code == "000002" and "external location" in message
    code, message = _one_line_error(api, "COPY INTO @ext FROM t")
    assert code == "000002" and "unloading" in message


def test_hostile_input_is_a_one_line_4xx(api: Api, tmp_path: Path) -> None:
    """Bad input answers a 4xx with one line (docs/local-server.md), never a 500: stage paths
    that climb out (``..``), files PUT cannot read (a sysctl even root may not read, a folder,
    a FIFO, a missing or relative path), a huge PATTERN, a catastrophic-backtracking PATTERN
    (RE2 runs it in linear time), an invalid regular expression."""
    submit(api, "CREATE STAGE safe")
    source = _write(tmp_path, "x.csv", "1\n")
    for statement in (f"PUT file://{source} @safe/../../escape", "LIST @safe/..",
                      "REMOVE @safe/a/../../b", f"PUT file://{source} '@safe/./x'"):
        code, message = _one_line_error(api, statement)
        assert code == "001003" and "invalid stage path" in message, (statement, message)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, words in (("/proc/sys/vm/compact_memory", "permission denied"),
                        (str(tmp_path), "not a regular file"), (str(fifo), "not a regular file"),
                        (str(tmp_path / "missing.csv"), "File doesn't exist"),
                        ("relative/x.csv", "absolute path")):
        code, message = _one_line_error(api, f"PUT file://{path} @safe")
        assert code == "253006" and words in message, (path, message)
    submit(api, f"PUT file://{source} @safe/{'a' * 60}")
    code, message = _one_line_error(api, "LIST @safe PATTERN = '" + "(a|b)*" * 2000 + "'")
    assert code == "100048" and "more than the local server takes" in message
    started = time.monotonic()
    assert rows(api, "LIST @safe PATTERN = '(a*)*(a*)*(a*)*b'") == []
    assert time.monotonic() - started < 5
    code, message = _one_line_error(api, "LIST @safe PATTERN = '(unclosed'")
    assert code == "100048" and "Invalid regular expression" in message
    assert not list(Path(api.server.data_dir).rglob("escape*"))


def test_a_scheduled_task_copies_every_minute_and_loads_each_file_once(
        api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/user-guide/data-load-considerations-load ("Loading older files"):
    COPY uses the table's load metadata to skip files it already loaded, so a task that runs
    COPY INTO every minute loads each staged file once; a new file is loaded by the next run."""
    submit(api, "CREATE STAGE inbox FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1)")
    submit(api, "CREATE TABLE inbox_rows (id INT, v VARCHAR)")
    one = _write(tmp_path, "one.csv", "id,v\n1,a\n2,b\n")
    submit(api, f"PUT file://{one} @inbox")
    api.create("load_inbox", "COPY INTO inbox_rows FROM @inbox", warehouse="LOCAL_WH",
               schedule={"schedule_type": "MINUTES_TYPE", "minutes": 1})
    api.action("load_inbox", "resume")
    service = api.server.service
    service.advance(timedelta(minutes=2))
    assert service.wait_idle(30)
    assert rows(api, "SELECT id FROM inbox_rows ORDER BY id") == [["1"], ["2"]]
    two = _write(tmp_path, "two.csv", "id,v\n3,c\n")
    submit(api, f"PUT file://{two} @inbox")
    service.advance(timedelta(minutes=2))
    assert service.wait_idle(30)
    api.action("load_inbox", "suspend")
    runs = [r for r in task_history(api, "load_inbox")]
    assert len(runs) >= 4 and {r["state"] for r in runs} == {"SUCCEEDED"}
    assert rows(api, "SELECT id, v FROM inbox_rows ORDER BY id") == [["1", "a"], ["2", "b"],
                                                                     ["3", "c"]]


def test_stages_files_and_load_metadata_survive_a_restart(tmp_path: Path) -> None:
    """docs.snowflake.com/en/user-guide/data-load-local-file-system-create-stage: a named
    stage is a database object (it stays until dropped); the load metadata stays 64 days
    (docs.snowflake.com/en/sql-reference/sql/copy-into-table), across a restart too."""
    data_dir = tmp_path / "data"
    source = _write(tmp_path, "r.csv", "1\n")
    for attempt in range(2):
        with tasknb.local.start(clock="manual", start_time=T0, data_dir=data_dir) as server:
            http = httpx.Client(base_url=server.url,
                                headers={"Authorization": f"Bearer {server.token}"})
            if attempt == 0:
                assert http.post("/api/v2/databases", json={"name": "KEEP"}).status_code == 200
            api = Api(server, "KEEP", "PUBLIC")
            if attempt == 0:
                submit(api, "CREATE STAGE st")
                submit(api, f"PUT file://{source} @st")
                submit(api, "CREATE TABLE r (id INT)")
                assert rows(api, "COPY INTO r FROM @st")[0][1] == "LOADED"
            else:
                assert [r[0] for r in rows(api, "LIST @st")] == ["st/r.csv.gz"]
                assert rows(api, "COPY INTO r FROM @st") == [
                    ["Copy executed with 0 files processed."]]
                assert rows(api, "SELECT id FROM r") == [["1"]]
            http.close()
            api.close()


def test_dropping_the_schema_drops_its_stages_and_their_files(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/drop-schema: dropping a schema drops the objects
    in it (its stages and their files too)."""
    submit(api, "CREATE STAGE doomed")
    submit(api, f"PUT file://{_write(tmp_path, 'doomed.csv', '1')} @doomed")
    root = Path(api.server.data_dir)
    assert list(root.rglob("doomed.csv.gz"))
    response = api.http.delete(f"/api/v2/databases/{api.database}/schemas/{api.schema}")
    assert response.status_code == 200, response.text
    assert not list(root.rglob("doomed.csv.gz"))


def test_copy_through_the_client_and_a_procedure(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/developer-guide/sql-api/submitting-requests: statements go through
    the SQL API (here tasknb's client, ``TaskClient.sql``); docs.snowflake.com/en/developer-guide/
    stored-procedure/stored-procedures-snowflake-scripting: a procedure may run COPY INTO."""
    submit(api, "CREATE TABLE docs (v VARIANT)")
    client = api.server.connect(database=api.database, schema=api.schema)
    try:
        client.sql("CREATE STAGE client_stage")
        doc = _write(tmp_path, "doc.json", '{"k": 1}')
        put = client.sql(f"PUT file://{doc} @client_stage")
        assert list(put["status"]) == ["UPLOADED"]
        client.sql("""CREATE PROCEDURE load_docs() RETURNS VARCHAR LANGUAGE SQL AS $$
        BEGIN
          COPY INTO docs FROM @client_stage FILE_FORMAT = (TYPE = JSON);
          RETURN 'loaded';
        END; $$""")
        assert client.sql("CALL load_docs()").iloc[0, 0] == "loaded"
        assert client.sql("SELECT v:k::INT AS k FROM docs").iloc[0, 0] == 1
    finally:
        client.close()


def test_put_is_refused_where_other_machines_reach_the_server() -> None:
    """The local server's stance (docs/local-server.md): PUT reads files of the server's machine,
    so a server bound to an address other than loopback refuses it (``local_files``)."""
    engine = SqlEngine()
    try:
        engine.ensure_schema("D", "S")
        engine.run("CREATE STAGE s", TaskContext("D", "S", "", ""))
        engine.local_files = False
        with pytest.raises(UnsupportedSqlError, match="loopback"):
            engine.run("PUT file:///etc/hostname @s", TaskContext("D", "S", "", ""))
    finally:
        engine.close()


def test_select_from_a_stage(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/user-guide/querying-stage: "SELECT t.$1, t.$2 FROM @mystage1
    (file_format => 'myformat', pattern=>'.*data.*[.]csv.gz') t" queries staged files without
    loading them, with METADATA$FILENAME and METADATA$FILE_ROW_NUMBER; the same query feeds
    INSERT ... SELECT and CREATE TABLE ... AS."""
    _write(tmp_path, "data1.csv", "1,Ada\n2,Grace\n")
    _write(tmp_path, "other.csv", "9,Skip\n")
    submit(api, "CREATE STAGE mystage1")
    submit(api, f"PUT file://{tmp_path}/*.csv @mystage1")
    submit(api, "CREATE FILE FORMAT myformat TYPE = CSV")
    columns, found = _answer(api, """SELECT t.$1, t.$2, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER
        FROM @mystage1 (file_format => 'myformat', pattern => '.*data.*[.]csv.gz') t
        WHERE t.$1::INT > 0 ORDER BY 1""")
    assert columns[:2] == ["$1", "$2"]
    assert found == [["1", "Ada", "data1.csv.gz", "1"], ["2", "Grace", "data1.csv.gz", "2"]]
    submit(api, "CREATE TABLE names AS SELECT $2 AS name FROM @mystage1 WHERE $1 <> '9'")
    submit(api, "INSERT INTO names SELECT upper($2) FROM @mystage1/other")
    assert rows(api, "SELECT name FROM names ORDER BY name") == [["Ada"], ["Grace"], ["SKIP"]]
    code, message = _one_line_error(api, "SELECT $1 FROM @mystage1 (FILE_FORMAT => 'nope')")
    assert code == "002003" and "NOPE" in message


def test_truncate_and_replace_end_the_load_metadata(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/sql-reference/sql/truncate-table: TRUNCATE "also deletes the load
    metadata for the table, which allows the same files to be loaded into the table again";
    a table made again (CREATE OR REPLACE, DROP and CREATE) has no load metadata either; DELETE
    keeps it. A transaction around these statements still commits."""
    submit(api, "CREATE STAGE again")
    again = _write(tmp_path, "again.csv", "1\n2\n")
    submit(api, f"PUT file://{again} @again")
    submit(api, "CREATE TABLE target (id INT)")
    assert rows(api, "COPY INTO target FROM @again")[0][1] == "LOADED"
    submit(api, "DELETE FROM target")
    assert rows(api, "COPY INTO target FROM @again")[0][0].startswith("Copy executed with 0")
    api.create("empty_it", "BEGIN TRANSACTION; TRUNCATE TABLE target; COMMIT")
    assert api.execute("empty_it")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT count(*) FROM target") == [["0"]]
    assert rows(api, "COPY INTO target FROM @again")[0][1] == "LOADED"
    submit(api, "CREATE OR REPLACE TABLE target (id INT)")
    assert rows(api, "COPY INTO target FROM @again")[0][1] == "LOADED"
    submit(api, "DROP TABLE target")
    submit(api, "CREATE TABLE target (id INT)")
    assert rows(api, "COPY INTO target FROM @again")[0][1] == "LOADED"
    assert rows(api, "SELECT count(*) FROM target") == [["2"]]


def test_parquet_files_and_a_merge_from_a_stage(api: Api, tmp_path: Path) -> None:
    """docs.snowflake.com/en/user-guide/script-data-load-transform-parquet: a Parquet file's $1
    is an object of its row's columns ($1:name); docs.snowflake.com/en/user-guide/
    querying-stage: staged files can be queried "as the source of a MERGE" (a subquery)."""
    import duckdb

    parquet = tmp_path / "cities.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM (VALUES (1, 'Oslo'), (2, 'Lima')) AS t(id, city)) "
                    f"TO '{parquet}' (FORMAT PARQUET)")
    submit(api, "CREATE STAGE pq FILE_FORMAT = (TYPE = PARQUET)")
    # docs.snowflake.com/en/sql-reference/sql/put: files already compressed (Parquet is, inside)
    # are not compressed again
    put = rows(api, f"PUT file://{parquet} @pq")[0]
    assert (put[1], *put[4:7]) == ("cities.parquet", "PARQUET", "PARQUET", "UPLOADED")
    submit(api, "CREATE TABLE raw_cities (v VARIANT)")
    assert rows(api, "COPY INTO raw_cities FROM @pq")[0][1:4] == ["LOADED", "2", "2"]
    assert rows(api, "SELECT v:city::VARCHAR FROM raw_cities ORDER BY v:id::INT") == [
        ["Oslo"], ["Lima"]]
    submit(api, "CREATE TABLE cities (id INT, city VARCHAR)")
    submit(api, "INSERT INTO cities VALUES (1, 'old')")
    submit(api, """MERGE INTO cities c USING (SELECT $1:id::INT AS id, $1:city::VARCHAR AS city
        FROM @pq) s ON c.id = s.id WHEN MATCHED THEN UPDATE SET c.city = s.city
        WHEN NOT MATCHED THEN INSERT (id, city) VALUES (s.id, s.city)""")
    assert rows(api, "SELECT id, city FROM cities ORDER BY id") == [["1", "Oslo"], ["2", "Lima"]]


@settings(max_examples=300, deadline=None)
@given(head=st.sampled_from(["COPY INTO t FROM ", "PUT file:///tmp/x ", "LIST ", "REMOVE ",
                             "CREATE STAGE s ", "CREATE FILE FORMAT f ", "SELECT $1 FROM ",
                             "COPY INTO t FROM (SELECT $1 FROM "]),
       tail=st.text(alphabet="@%~/.'\"()=,;$ *?aAsS01_\\\n", max_size=40))
def test_the_stage_command_reader_answers_every_text_with_a_sql_error(head: str,
                                                                       tail: str) -> None:
    """Bad input is a one-line SQL error (docs/local-server.md), never another exception: any
    text after a stage command's first words is read, or refused with a TaskSqlError."""
    try:
        stage_commands.parse(head + tail)
    except TaskSqlError as refused:
        assert refused.code_text in ("001003", "000002"), refused
