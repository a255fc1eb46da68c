"""The SQL engine's limits (issue 7 items 5, 6, 8, 11): one task never takes the server down.

Through the real server over loopback where the server shows the effect (task history), and
through :class:`SqlEngine` where the engine's own contract is tested (interrupt, cancel hook,
file handling).
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from _support import ServerProcess
from local_api import T0, Api

import tasknb.local
from tasknb.local.sql.engine import (
    DEFAULT_STATEMENT_TIMEOUT_SECONDS,
    SqlEngine,
    TaskContext,
    TaskSqlError,
)

ENGINE_FILE = "tasknb-engine.duckdb"
DATABASES_DIR = ENGINE_FILE + ".databases"


def ctx(**kw) -> TaskContext:
    base = {"database": "SALES", "schema": "PUBLIC", "task_name": "T1", "root_task_name": "T1"}
    base.update(kw)
    return TaskContext(**base)


@pytest.fixture
def engine():
    eng = SqlEngine()
    eng.ensure_schema("SALES", "PUBLIC")
    yield eng
    eng.close()


def history(api: Api, name: str) -> dict:
    """The newest run of task ``name`` in the server's per-task history."""
    response = api.http.get(
        f"/tasknb/v1/databases/{api.database}/schemas/{api.schema}/tasks/{name}/history")
    assert response.status_code == 200, response.text
    return response.json()[0]


def run_task(api: Api, name: str, definition: str, **props) -> dict:
    api.create(name, definition, **props)
    api.execute(name)
    return history(api, name)


def error_of(engine: SqlEngine, sql: str, **kw) -> TaskSqlError:
    with pytest.raises(TaskSqlError) as info:
        engine.run(sql, ctx(**kw))
    return info.value


# ----------------------------------------------------------------- item 5: memory ceiling


def test_repeat_of_two_billion_fails_the_statement_and_the_server_keeps_answering(
    api: Api,
) -> None:
    run = run_task(api, "HUGE", "SELECT length(repeat('x', 2000000000))")
    assert run["state"] == "FAILED", run
    assert run["error_code"] == 100082
    assert run["error_message"].startswith("Max LOB size (16777216) exceeded: REPEAT would build")
    assert "2000000000 bytes" in run["error_message"]
    assert api.http.get("/tasknb/v1/ping").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("SELECT lpad('x', 2000000000, 'ab')", "LPAD"),
        ("SELECT rpad('x', 900000000)", "RPAD"),
        ("SELECT space(3000000000)", "SPACE"),
        ("SELECT repeat(repeat('x', 10000000), 10000000)", "REPEAT"),
        ("SELECT array_generate_range(0, 2000000000)", "ARRAY_GENERATE_RANGE"),
        ("SELECT len(range(1000000000))", "RANGE"),
        ("SELECT len(list_resize([1], 1000000000))", "LIST_RESIZE"),
        ("CREATE TABLE t AS SELECT repeat(v, n) AS s FROM (SELECT 'ab' AS v, 100000000 AS n)",
         "REPEAT"),
    ],
)
def test_functions_that_build_chosen_size_values_are_checked_first(
    engine: SqlEngine, sql: str, function: str
) -> None:
    error = error_of(engine, sql)
    assert error.code == 100082, error
    assert f"{function} would build a value of" in error.message


def test_values_within_the_limit_and_row_sources_are_untouched(engine: SqlEngine) -> None:
    assert engine.query("SELECT length(repeat('ab', 1000)), length(lpad('x', 5, '-'))",
                        "SALES", "PUBLIC") == [(2000, 5)]
    # a range as a row source streams its rows: not a value, no limit
    assert engine.query("SELECT count(*) FROM range(3000000)", "SALES", "PUBLIC") == [(3000000,)]


def test_duckdb_memory_is_capped_below_the_machine(engine: SqlEngine) -> None:
    limit = engine.query("SELECT current_setting('memory_limit')", "SALES", "PUBLIC")[0][0]
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    amount, unit = limit.split()
    assert float(amount) * {"MiB": 2**20, "GiB": 2**30}[unit] <= total * 0.55


@pytest.mark.parametrize(
    "sql",
    [
        # strings doubled by a recursive CTE: 2^33 bytes at the end
        ("SELECT max(length(s)) FROM (WITH RECURSIVE r(s, n) AS (SELECT 'x', 0 UNION ALL "
        "SELECT s || s, n + 1 FROM r WHERE n < 33) SELECT s FROM r)"),
        # an aggregate of 300 values of 10 MB each
        ("SELECT length(string_agg(s, '')) FROM (SELECT repeat('x', 10000000) AS s "
        "FROM range(300))"),
    ],
)
def test_memory_beyond_the_engine_limit_fails_the_statement(sql: str) -> None:
    eng = SqlEngine(memory_limit=300 * 2**20)
    eng.ensure_schema("SALES", "PUBLIC")
    try:
        error = error_of(eng, sql)
        assert eng.query("SELECT 1", "SALES", "PUBLIC") == [(1,)]  # the engine goes on
    finally:
        eng.close()
    assert error.code == 603, error
    assert error.message.startswith(
        "SQL execution internal error: the statement needs more memory than the local "
        "engine's limit (")
    assert "\n" not in error.message


# ------------------------------------------------------------ item 5: statement timeout


def test_statement_timeout_session_parameter_stops_a_task(api: Api) -> None:
    started = time.monotonic()
    run = run_task(api, "SLOW", "SELECT SYSTEM$WAIT(20)",
                   session_parameters={"STATEMENT_TIMEOUT_IN_SECONDS": 1})
    assert time.monotonic() - started < 10
    assert run["state"] == "FAILED", run
    assert run["error_code"] == 630
    assert run["error_message"].startswith(
        "Statement reached its statement or warehouse timeout of 1 second(s)")


def test_the_local_server_has_a_default_statement_timeout_under_an_hour(api: Api) -> None:
    engine = api.server.service.engine()
    assert engine.statement_timeout_seconds == DEFAULT_STATEMENT_TIMEOUT_SECONDS
    assert 0 < DEFAULT_STATEMENT_TIMEOUT_SECONDS < 3600


def test_engine_statement_timeout_interrupts_duckdb_itself() -> None:
    eng = SqlEngine(statement_timeout_seconds=0.5)
    eng.ensure_schema("SALES", "PUBLIC")
    started = time.monotonic()
    try:
        error = error_of(eng, "SELECT sum(i) FROM range(100000000000) t(i)")
    finally:
        eng.close()
    assert time.monotonic() - started < 10
    assert error.code == 630
    assert "timeout of 0.5 second(s)" in error.message


def test_a_timeout_reports_the_configured_value_not_the_time_left(engine: SqlEngine) -> None:
    # a graph-wide deadline (the root's timeout, partly used by earlier tasks) ends this run
    deadline = time.monotonic() + 0.3
    error = error_of(engine, "SELECT SYSTEM$WAIT(10)", timeout_ms=3000, deadline=deadline)
    assert error.code == 630
    assert error.message == (
        "Statement reached its statement or warehouse timeout of 3 second(s) and was canceled. "
        "(USER_TASK_TIMEOUT_MS = 3000)")


def test_a_root_timeout_is_reported_as_configured_through_the_server(api: Api) -> None:
    run = run_task(api, "TIMED", "SELECT SYSTEM$WAIT(20)", user_task_timeout_ms=1500)
    assert run["state"] == "FAILED", run
    assert run["error_code"] == 630
    assert run["error_message"] == (
        "Statement reached its statement or warehouse timeout of 1.5 second(s) and was "
        "canceled. (USER_TASK_TIMEOUT_MS = 1500)")


# ----------------------------------------------------------- item 5: interrupting one run


def _run_in_thread(engine: SqlEngine, sql: str, **kw) -> tuple[threading.Thread, list]:
    outcome: list = []

    def target() -> None:
        try:
            engine.run(sql, ctx(**kw))
            outcome.append("finished")
        except TaskSqlError as error:
            outcome.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def _wait_running(engine: SqlEngine, key: str) -> None:
    give_up = time.monotonic() + 10
    while engine.running(key) == 0:
        assert time.monotonic() < give_up, f"no run with key {key} started"
        time.sleep(0.02)


def test_interrupt_stops_the_statements_of_one_run_only(engine: SqlEngine) -> None:
    heavy = "SELECT sum(i) FROM range(100000000000) t(i)"
    first, first_outcome = _run_in_thread(engine, heavy, interrupt_key="run-1")
    second, second_outcome = _run_in_thread(engine, "SELECT SYSTEM$WAIT(30)",
                                            interrupt_key="run-2")
    _wait_running(engine, "run-1")
    _wait_running(engine, "run-2")
    time.sleep(0.2)  # inside DuckDB's scan
    assert engine.interrupt("run-1") == 1
    first.join(10)
    assert not first.is_alive()
    assert second.is_alive()  # the other run goes on
    (error,) = first_outcome
    assert (error.code, error.message) == (604, "SQL execution canceled")
    assert engine.interrupt("run-2", reason="timeout") == 1
    second.join(10)
    assert second_outcome[0].code == 630
    assert engine.interrupt("run-1") == 0  # nothing left to stop


# -------------------------------------------------------------- item 5: the cancel hook


def test_cancel_function_calls_the_hook_with_the_resolved_task_name() -> None:
    calls: list[tuple[str, str, str]] = []

    def hook(database: str, schema: str, task: str) -> str:
        calls.append((database, schema, task))
        return f"Cancelled 1 ongoing execution(s) of task {task}."

    eng = SqlEngine(cancel_ongoing=hook)
    eng.ensure_schema("SALES", "PUBLIC")
    try:
        context = ctx()
        eng.run("SELECT SYSTEM$SET_RETURN_VALUE("
                "SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('nightly'))", context)
        eng.run("CREATE TABLE answers AS SELECT "
                "SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('OTHER.RAW.\"Mixed Case\"') AS a", ctx())
        eng.run("SELECT SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('raw.load')", ctx())
        assert context.return_value == "Cancelled 1 ongoing execution(s) of task NIGHTLY."
        assert eng.query("SELECT a FROM answers", "SALES", "PUBLIC") == [
            ("Cancelled 1 ongoing execution(s) of task Mixed Case.",)]
    finally:
        eng.close()
    assert calls == [("SALES", "PUBLIC", "NIGHTLY"), ("OTHER", "RAW", "Mixed Case"),
                     ("SALES", "RAW", "LOAD")]


def test_cancel_function_without_a_hook_is_a_clear_error(engine: SqlEngine) -> None:
    error = error_of(engine, "SELECT SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('T2')")
    assert error.code == 2
    assert "SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS is not available" in error.message
    assert "cancel_ongoing" in error.message


def test_cancel_hook_errors_fail_the_statement_with_their_code() -> None:
    def hook(database: str, schema: str, task: str) -> str:
        raise TaskSqlError(2003, f"Task '{database}.{schema}.{task}' does not exist.")

    eng = SqlEngine(cancel_ongoing=hook)
    eng.ensure_schema("SALES", "PUBLIC")
    try:
        error = error_of(eng, "SELECT SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('nope')")
        bad = error_of(eng, "SELECT SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('a.b.c.d')")
    finally:
        eng.close()
    assert (error.code, error.message) == (2003, "Task 'SALES.PUBLIC.NOPE' does not exist.")
    assert bad.code == 100357 and "'a.b.c.d' is not a task name" in bad.message


def test_a_hook_that_cancels_its_own_run_cancels_the_statement() -> None:
    holder: dict[str, SqlEngine] = {}

    def hook(database: str, schema: str, task: str) -> str:
        holder["engine"].interrupt("own-run")
        return "Cancelled."

    eng = holder["engine"] = SqlEngine(cancel_ongoing=hook)
    eng.ensure_schema("SALES", "PUBLIC")
    try:
        error = error_of(eng, "SELECT SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('T1'); "
                         "SELECT SYSTEM$WAIT(20)", interrupt_key="own-run")
    finally:
        eng.close()
    assert error.code == 604


def test_cancel_function_is_refused_in_a_when_condition(engine: SqlEngine) -> None:
    with pytest.raises(TaskSqlError) as info:
        engine.condition_holds("SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('T') = 'x'", ctx())
    assert "cannot be used in a WHEN condition" in info.value.message


# ---------------------------------------------------------------------- item 6: full disk


def _mount_tmpfs(where: Path, megabytes: int) -> bool:
    """Mount a tmpfs of that size (root only); whether it worked."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700",
                           "tmpfs", str(where)], check=False, capture_output=True)
    return done.returncode == 0


class _SmallDisk:
    """The engine's database files on a disk that fills up: a 4 MB tmpfs where mounting is
    allowed, else the server process's RLIMIT_FSIZE (CPython ignores SIGXFSZ, so a write
    past it fails with EFBIG instead of killing the process)."""

    LIMIT_MB = 4

    def __init__(self, data_dir: Path) -> None:
        self.mount_point = data_dir / DATABASES_DIR
        self.mounted = _mount_tmpfs(self.mount_point, self.LIMIT_MB)
        self.pid: int | None = None

    def limit(self, pid: int) -> None:
        self.pid = pid
        if not self.mounted:
            _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (self.LIMIT_MB * 2**20, hard))

    def free_space(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=256m", str(self.mount_point)],
                           check=True, capture_output=True)
        else:
            assert self.pid is not None
            _soft, hard = resource.prlimit(self.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (hard, hard))

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.mount_point)], check=False,
                           capture_output=True)


def _execute_and_wait(http: httpx.Client, base: str, name: str) -> dict:
    """Execute ``name`` and return its new run once finished (a task waiting for a thread is
    SCHEDULED, a running one EXECUTING; the run is new when the history has grown)."""
    history = f"/tasknb/v1/{base.removeprefix('/api/v2/')}/tasks/{name}/history"
    before = len(http.get(history).json())
    assert http.post(f"{base}/tasks/{name}:execute").status_code == 200
    give_up = time.monotonic() + 60
    while True:
        runs = http.get(history).json()
        if len(runs) > before and runs[0]["state"] not in ("SCHEDULED", "EXECUTING"):
            return runs[0]
        assert time.monotonic() < give_up, f"{name} did not finish within 60 s: {runs[:1]}"
        time.sleep(0.05)


def test_full_disk_fails_the_statement_clearly_and_recovers_once_space_is_back(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    disk = _SmallDisk(data_dir)
    try:
        with ServerProcess(data_dir, token="t" * 40) as server, server.http(60) as http:
            disk.limit(server.proc.pid)
            assert http.post("/api/v2/databases", json={"name": "FULL"}).status_code == 200
            base = "/api/v2/databases/FULL/schemas/S"
            assert http.post("/api/v2/databases/FULL/schemas",
                             json={"name": "S"}).status_code == 200
            for name, definition in [
                ("SMALL", "CREATE OR REPLACE TABLE small AS SELECT 42 AS v"),
                ("BIG", ("CREATE OR REPLACE TABLE big AS SELECT i, repeat('x', 200) || i AS v "
                         "FROM range(300000) t(i)")),
                ("COUNT", ("SELECT SYSTEM$SET_RETURN_VALUE((SELECT count(*) FROM big)::VARCHAR "
                           "|| '/' || (SELECT v FROM small)::VARCHAR)")),
            ]:
                response = http.post(f"{base}/tasks", json={"name": name,
                                                            "definition": definition})
                assert response.status_code == 200, response.text
            assert _execute_and_wait(http, base, "SMALL")["state"] == "SUCCEEDED"
            run = _execute_and_wait(http, base, "BIG")
            assert run["state"] == "FAILED", run
            assert run["error_code"] == 603
            assert "the local server's disk is full" in run["error_message"]
            assert ("No space left on device" in run["error_message"]
                    or "File too large" in run["error_message"])
            # the server keeps answering, and creates answer with their real status
            assert http.get("/tasknb/v1/ping").json() == {"status": "ok"}
            assert http.post("/api/v2/databases/FULL/schemas",
                             json={"name": "S2"}).status_code == 200
            # space comes back: the same task succeeds without a restart, earlier data kept
            disk.free_space()
            assert _execute_and_wait(http, base, "BIG")["state"] == "SUCCEEDED"
            counted = _execute_and_wait(http, base, "COUNT")
            assert counted["return_value"] == "300000/42", counted
    finally:
        disk.close()


# ------------------------------------------------------- item 8: damaged and unknown files


def test_a_damaged_database_file_fails_only_that_database_naming_the_file(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with tasknb.local.start(clock="manual", start_time=T0, data_dir=data_dir) as server:
        for database in ("GOOD", "BAD"):
            good = Api(server, database, "S")
            assert good.http.post("/api/v2/databases", json={"name": database}).status_code == 200
            assert good.http.post(f"/api/v2/databases/{database}/schemas",
                                  json={"name": "S"}).status_code == 200
            good.create("FILL", "CREATE TABLE t AS SELECT 1 AS v")
            assert good.execute("FILL")["state"] == "SUCCEEDED"
            good.close()
    (bad_file,) = [p for p in (data_dir / DATABASES_DIR).glob("BAD*.duckdb")]
    bad_file.write_bytes(b"this is not a DuckDB file" * 1000)
    with tasknb.local.start(clock="manual", start_time=T0, data_dir=data_dir) as server:
        good, bad = Api(server, "GOOD", "S"), Api(server, "BAD", "S")
        good.create("READ", "SELECT SYSTEM$SET_RETURN_VALUE((SELECT v FROM t)::VARCHAR)")
        assert good.execute("READ")["state"] == "SUCCEEDED"
        assert history(good, "READ")["return_value"] == "1"
        bad.create("READ", "SELECT v FROM t")
        assert bad.execute("READ")["state"] == "FAILED"
        run = history(bad, "READ")
        assert str(bad_file) in run["error_message"]
        assert "Other databases are not affected" in run["error_message"]
        assert good.http.get("/tasknb/v1/ping").status_code == 200
        good.close()
        bad.close()
    assert bad_file.read_bytes().startswith(b"this is not a DuckDB file")  # kept as it was


def test_files_of_databases_the_store_does_not_know_are_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / ENGINE_FILE
    first = SqlEngine(path)
    first.ensure_schema("GHOST", "PUBLIC")
    first.ensure_schema("KEPT", "PUBLIC")
    first.run("CREATE TABLE precious AS SELECT 536 AS kb", ctx(database="GHOST"))
    first.close()
    second = SqlEngine(path, databases={"KEPT"})
    second.close()
    orphaned = list((tmp_path / "orphaned").glob("GHOST*.duckdb"))
    assert len(orphaned) == 1
    assert not list((tmp_path / DATABASES_DIR).glob("GHOST*"))
    con = duckdb.connect(str(orphaned[0]), read_only=True)
    try:
        assert con.execute("SELECT kb FROM PUBLIC.precious").fetchall() == [(536,)]
    finally:
        con.close()


# ---------------------------------------------------------------------- item 11: names


def test_database_names_up_to_255_characters_work_and_survive_a_restart(tmp_path: Path) -> None:
    name = "D" * 120 + "_\u00e9t\u00e9_" + "X" * 130  # 255 characters, 257 bytes
    assert len(name) == 255
    data_dir = tmp_path / "data"
    with tasknb.local.start(clock="manual", start_time=T0, data_dir=data_dir) as server:
        api = Api(server, f'"{name}"', "S")
        assert api.http.post("/api/v2/databases", json={"name": f'"{name}"'}).status_code == 200
        response = api.http.post(f'/api/v2/databases/"{name}"/schemas', json={"name": "S"})
        assert response.status_code == 200, response.text
        api.create("FILL", "CREATE TABLE t AS SELECT 7 AS v")
        assert api.execute("FILL")["state"] == "SUCCEEDED", history(api, "FILL")
        api.close()
    with tasknb.local.start(clock="manual", start_time=T0, data_dir=data_dir) as server:
        assert server.service.engine().query("SELECT v FROM t", name, "S") == [(7,)]
    for file in (data_dir / DATABASES_DIR).iterdir():
        assert len(file.name.encode()) < 100


def test_files_of_the_earlier_naming_scheme_are_renamed_and_stay_readable(
    tmp_path: Path,
) -> None:
    directory = tmp_path / DATABASES_DIR
    directory.mkdir()
    legacy = directory / f"OLD_DB-{b'OLD_DB'.hex()}.duckdb"
    con = duckdb.connect(str(legacy))
    con.execute("CREATE SCHEMA s; CREATE TABLE s.t AS SELECT 'kept' AS v")
    con.close()
    eng = SqlEngine(tmp_path / ENGINE_FILE, databases={"OLD_DB"})
    try:
        assert eng.query("SELECT v FROM t", "OLD_DB", "S") == [("kept",)]
    finally:
        eng.close()
    assert not legacy.exists()
    assert len(list(directory.glob("OLD_DB-h*.duckdb"))) == 1


def test_identifier_with_a_non_name_is_a_one_line_error_without_escape_codes(api: Api) -> None:
    run = run_task(api, "PASSWD", "SELECT * FROM IDENTIFIER('/etc/passwd')")
    assert run["state"] == "FAILED"
    assert run["error_code"] == 904
    assert run["error_message"] == "SQL compilation error:\ninvalid identifier '/etc/passwd'"
    assert "\x1b" not in run["error_message"]


def test_database_files_are_private_to_their_owner(tmp_path: Path) -> None:
    """Issue 7 item 10: the tables of a database are the owner's only (0600), like the state."""
    old_umask = os.umask(0o022)  # the usual default: files 0644 unless the engine tightens them
    try:
        eng = SqlEngine(tmp_path / "engine.duckdb")
        try:
            eng.ensure_schema("SALES", "PUBLIC")
            eng.run("create table t (x int)", ctx())
        finally:
            eng.close()
    finally:
        os.umask(old_umask)
    paths = list(tmp_path.rglob("*"))
    assert sum(p.suffix == ".duckdb" for p in paths) >= 2, paths  # the engine's and SALES's
    for path in paths:
        assert path.stat().st_mode & 0o077 == 0, (path.name, oct(path.stat().st_mode))
