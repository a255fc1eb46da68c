"""The tasknb command line against the local server (real HTTP, spec-validated)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from client_support import write_private

from tasknb import MinutesSchedule, Task, TaskClient, cli
from tasknb.testing import local_client, local_server


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    with local_server(clock="manual") as srv:
        client = local_client(srv, database="cli", schema="elt")
        client.create_task(
            Task("root", "select 1", schedule=MinutesSchedule(60), comment="nightly")
        )
        client.create_task(Task("load", "select 2", predecessors=["root"]))
        client.close()
        yield srv


@pytest.fixture
def env(server, snowflake_home, monkeypatch) -> str:
    monkeypatch.setenv("SNOWFLAKE_TOKEN", server.token)
    return server.url


def run(validating, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err, client_options={"transport": validating})
    return code, out.getvalue(), err.getvalue()


def test_tasks_table(env, validating) -> None:
    code, out, err = run(
        validating, "tasks", "--base-url", env, "--database", "cli", "--schema", "elt"
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "SCHEDULE", "PREDECESSORS", "WAREHOUSE", "COMMENT"]
    assert any(
        line.startswith("ROOT") and "60 MINUTE" in line and "nightly" in line for line in lines
    )
    assert any(line.startswith("LOAD") and "ROOT" in line for line in lines)


def test_tasks_json_and_root_only(env, validating) -> None:
    code, out, _ = run(
        validating,
        "tasks",
        "--root-only",
        "--json",
        "--base-url",
        env,
        "--database",
        "cli",
        "--schema",
        "elt",
    )
    rows = json.loads(out)
    assert code == 0 and [r["name"] for r in rows] == ["ROOT"]
    assert rows[0]["schedule"] == {"schedule_type": "MINUTES_TYPE", "minutes": 60}
    assert rows[0]["state"] == "suspended" and "created_on" in rows[0]


def test_show_execute_runs_dependents(env, validating, server) -> None:
    where = ["--base-url", env, "--database", "cli", "--schema", "elt"]
    code, out, _ = run(validating, "show", "root", *where)
    assert code == 0 and "definition" in out and "select 1" in out and "60 MINUTE" in out
    code, out, _ = run(validating, "dependents", "root", *where)
    assert code == 0 and [ln.split()[0] for ln in out.splitlines()[1:]] == ["ROOT", "LOAD"]
    code, out, _ = run(validating, "resume", "load", *where)
    assert code == 0 and out.strip()
    code, out, _ = run(validating, "execute", "root", "--json", *where)
    assert code == 0 and json.loads(out)["status"]
    server.advance("1 minute")
    code, out, _ = run(validating, "runs", "root", "--complete", "--json", *where)
    runs = json.loads(out)
    assert code == 0 and all(r["root_task_name"] == "ROOT" for r in runs)
    code, out, _ = run(validating, "runs", "root", *where)
    assert code == 0 and out.splitlines()[0].startswith("ROOT_TASK_NAME")
    code, out, _ = run(validating, "execute", "root", "--async", *where)
    assert code == 0 and ("accepted" in out or out.strip())
    code, out, _ = run(validating, "suspend", "load", *where)
    assert code == 0


def test_errors_are_one_line_and_non_zero(env, validating) -> None:
    code, out, err = run(
        validating, "show", "nope", "--base-url", env, "--database", "cli", "--schema", "elt"
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("tasknb: error: TaskNotFound: ")
    code, _, err = run(
        validating, "show", "my-task", "--base-url", env, "--database", "cli", "--schema", "elt"
    )
    assert code == 1 and "InvalidIdentifier" in err and err.count("\n") == 1


def test_connection_from_connections_toml(server, snowflake_home, validating) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    write_private(
        snowflake_home / "connections.toml",
        f'[local]\nhost = "{host}"\nport = {port}\nprotocol = "http"\ntoken = "{server.token}"\n'
        'database = "cli"\nschema = "elt"\n',
    )
    code, out, err = run(validating, "tasks", "--connection", "local")
    assert code == 0, err
    assert "ROOT" in out
    code, _, err = run(validating, "tasks", "--connection", "missing")
    assert code == 1 and "ConfigError" in err and "known ones are ['local']" in err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"], out=io.StringIO(), err=io.StringIO())
    assert info.value.code == 2


def test_server_and_demo_delegate_lazily(monkeypatch) -> None:
    import tasknb.demo
    import tasknb.local

    seen = {}
    monkeypatch.setattr(
        tasknb.local, "serve", lambda **kw: seen.setdefault("serve", kw), raising=False
    )
    monkeypatch.setattr(tasknb.demo, "main", lambda argv: seen.setdefault("demo", argv) and 0)
    assert cli.main(["server", "--port", "0", "--seed", "demo", "--token", "x"]) == 0
    assert seen["serve"] == {"port": 0, "seed": "demo", "token": "x"}
    assert cli.main(["demo", "--check", "--port", "0"]) == 0
    assert seen["demo"] == ["--check", "--port", "0"]


def test_server_help_names_the_real_defaults(capsys) -> None:
    from tasknb.local.server import DEFAULT_HOST, DEFAULT_PORT

    with pytest.raises(SystemExit) as info:
        cli.main(["server", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"port (default {DEFAULT_PORT};" in text
    assert f"interface (default {DEFAULT_HOST})" in text
    assert "8080" not in text


# -- terminal safety: what the server sends never drives the terminal ---------------------

EVIL = "nightly\x1b]0;pwned\x07\x1b[2J\rover\u202eright\x9b31m"
EVIL_SQL = "select 1\n-- \x1b[2J cleared\nunion all select 2"
EVIL_NAME = '"evil\x1b[2Jname"'
UNSAFE = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


@pytest.fixture(scope="module")
def hostile(server) -> list[str]:
    client = local_client(server, database="cli", schema="hostile")
    client.create_task(Task("hostile", EVIL_SQL, comment=EVIL))
    client.create_task(Task(EVIL_NAME, "select 1", comment="named badly"))
    # the error message quotes the value: "Numeric value 'y<ESC>z' is not recognized"
    client.create_task(Task("boom", "select cast('y' || chr(27) || 'z' as integer)"))
    client.execute_task("boom")
    client.close()
    return ["--base-url", server.url, "--database", "cli", "--schema", "hostile"]


def _assert_safe(text: str) -> None:
    found = [repr(c) for c in UNSAFE if c in text]
    assert not found, f"raw {', '.join(found)} reached the terminal: {text!r}"


def test_a_hostile_comment_and_name_are_shown_escaped_in_the_table(env, validating, hostile):
    code, out, err = run(validating, "tasks", *hostile)
    assert code == 0 and err == ""
    _assert_safe(out)
    # in a one-line cell a carriage return is whitespace, shown as a space
    assert "nightly\\x1b]0;pwned\\x07\\x1b[2J over\\u202eright\\x9b31m" in out
    assert '"evil\\x1b[2Jname"' in out
    widths = {len(line) for line in out.splitlines()[1:] if line.startswith("HOSTILE")}
    assert widths, out  # the row is there, on one line


def test_show_escapes_the_comment_and_keeps_the_definition_lines(env, validating, hostile):
    code, out, err = run(validating, "show", "hostile", *hostile)
    assert code == 0 and err == ""
    _assert_safe(out)
    assert "comment" in out and "nightly\\x1b]0;pwned\\x07\\x1b[2J\\x0dover\\u202eright" in out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("definition"))
    assert lines[start].endswith("select 1")
    assert lines[start + 1].strip() == "-- \\x1b[2J cleared"  # its own line, escaped
    assert lines[start + 2].strip() == "union all select 2"


def test_json_output_stays_exact(env, validating, hostile):
    code, out, _ = run(validating, "show", "hostile", "--json", *hostile)
    assert code == 0
    body = json.loads(out)
    assert body["comment"] == EVIL and body["definition"] == EVIL_SQL
    code, out, _ = run(validating, "tasks", "--json", *hostile)
    assert EVIL_NAME in [row["name"] for row in json.loads(out)]


def test_error_messages_quoting_names_and_table_values_are_escaped(env, validating, hostile):
    code, out, err = run(validating, "show", '"no\x1b[2Jsuch\x07"', *hostile)
    assert code == 1 and out == "" and err.count("\n") == 1
    _assert_safe(err)
    assert err.startswith("tasknb: error: TaskNotFound: ") and "no\\x1b[2Jsuch\\x07" in err
    code, out, err = run(validating, "runs", "boom", "--complete", *hostile)
    assert code == 0, err
    _assert_safe(out)
    failed = [line for line in out.splitlines() if line.startswith("BOOM") and "FAILED" in line]
    assert failed and "y\\x1bz" in failed[0], out


def test_status_text_is_escaped(env, validating, hostile, monkeypatch):
    monkeypatch.setattr(
        TaskClient, "resume_task", lambda self, name, **kw: "resumed \x1b[2J\x07 done"
    )
    code, out, _ = run(validating, "resume", "hostile", *hostile)
    assert code == 0 and out == "resumed \\x1b[2J\\x07 done\n"


def test_a_redirect_on_execute_is_one_line_naming_the_location_and_fails(
    snowflake_home, monkeypatch
) -> None:
    """A proxy's 302 is never a silent success: one line, the Location, exit 1, no resend."""
    monkeypatch.setenv("SNOWFLAKE_TOKEN", "pat-token-for-a-redirect-test")
    seen: list[httpx.Request] = []

    def proxy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://login.example.com/sso?ticket=s3"})

    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["execute", "nightly", "--base-url", "http://127.0.0.1:9", "--database", "d",
         "--schema", "s"],
        out=out,
        err=err,
        client_options={"transport": httpx.MockTransport(proxy)},
    )
    assert code == 1 and out.getvalue() == ""
    line = err.getvalue()
    assert line.count("\n") == 1 and line.startswith("tasknb: error: Redirected: ")
    assert "https://login.example.com/sso" in line and "ticket=s3" not in line
    assert [r.method for r in seen] == ["POST"]  # not followed, not resent


# -- the demo's graph from the command line: SQL, per-task runs, following a run -----------


@pytest.fixture(scope="module")
def demo_server() -> Iterator[object]:
    with local_server(clock="manual", seed="demo") as srv:
        yield srv


@pytest.fixture
def demo(demo_server, snowflake_home, monkeypatch) -> list[str]:
    monkeypatch.setenv("SNOWFLAKE_TOKEN", demo_server.token)
    return ["--base-url", demo_server.url, "--database", "DEMO_DB", "--schema", "PIPELINES"]


def test_sql_prints_a_table_or_json(demo, validating) -> None:
    statement = "SELECT channel, sessions FROM DEMO_DB.RAW.WEB_SESSIONS ORDER BY day, channel LIMIT 3"
    code, out, err = run(validating, "sql", statement, *demo)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["CHANNEL", "SESSIONS"] and lines[-1] == "(3 rows)"
    code, out, _ = run(validating, "sql", statement, "--json", *demo)
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3 and isinstance(rows[0]["SESSIONS"], int)
    code, out, err = run(validating, "sql", "SELECT * FROM NO_SUCH_TABLE", *demo)
    assert code == 1 and out == "" and err.count("\n") == 1 and "002003" in err


def test_runs_tasks_shows_both_failures_of_one_run_with_attempts_and_units(
    demo, validating, demo_server
) -> None:
    code, out, _ = run(validating, "runs", "MARKETING_METRICS", "--complete", "--json", *demo)
    # the last hour holds the run made at the present, and a scheduled one after 06:00 or 18:00
    latest = max(json.loads(out), key=lambda run: run["scheduled_time"])
    code, out, err = run(validating, "runs", "MARKETING_METRICS", "--tasks", "--run",
                         str(latest["run_id"]), *demo)  # fmt: skip
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["NAME", "STATE", "RUN_ID", "ATTEMPT_NUMBER"]
    failed = {row.split()[0]: row for row in rows if " FAILED " in row}
    assert set(failed) == {"LOAD_AD_SPEND", "COMPUTE_CONVERSION"}
    assert "002003" in failed["LOAD_AD_SPEND"] and "100051" in failed["COMPUTE_CONVERSION"]
    assert all(f" {latest['run_id']}  1 " in row for row in rows)  # one run, attempt 1
    assert " ms " in out and "0.0 s" not in out  # 5 ms, as the panels say
    code, out, _ = run(validating, "runs", "MARKETING_METRICS", "--complete", *demo)
    assert out.splitlines()[0].split()[6:8] == ["RUN_ID", "ATTEMPT"]


def test_runs_of_a_child_says_where_graph_runs_are(demo, validating) -> None:
    code, out, _ = run(validating, "runs", "COMPUTE_CONVERSION", *demo)
    assert code == 0 and out.splitlines()[0] == "(none)"
    assert "not a root task" in out and "tasknb runs MARKETING_METRICS --tasks" in out
    code, out, _ = run(validating, "runs", "MARKETING_METRICS", "--run", "1", *demo)
    assert code == 2 and "use it with --tasks" in _


def test_execute_wait_follows_the_run_and_exits_non_zero_when_it_failed(
    demo, validating
) -> None:
    code, out, err = run(validating, "execute", "MARKETING_METRICS", "--wait", *demo)
    assert code == 1, err
    assert out.startswith("MARKETING_METRICS: FAILED in ") and "attempt 1)" in out
    assert re.search(r"first error: (LOAD_AD_SPEND \(002003\)|COMPUTE_CONVERSION \(100051\))", out)
    assert "following the graph run of MARKETING_METRICS" in err
    code, out, _ = run(validating, "execute", "REFRESH_INVENTORY", "--wait", "--json", *demo)
    assert code == 0 and json.loads(out)["state"] == "SUCCEEDED"


def test_execute_async_returns_a_handle_and_the_default_says_how_to_follow(
    demo, validating
) -> None:
    code, out, _ = run(validating, "execute", "REFRESH_INVENTORY", "--async", *demo)
    assert code == 0 and out.startswith("accepted: not waiting")
    code, out, _ = run(validating, "execute", "REFRESH_INVENTORY", *demo)
    assert code == 0 and "--wait" in out
    with pytest.raises(SystemExit) as info:
        cli.main(["execute", "X", "--wait", "--async"], out=io.StringIO(), err=io.StringIO())
    assert info.value.code == 2


def test_base_url_without_a_schema_speaks_of_flags(demo_server, snowflake_home, monkeypatch,
                                                   validating) -> None:
    monkeypatch.setenv("SNOWFLAKE_TOKEN", demo_server.token)
    code, _, err = run(validating, "tasks", "--base-url", demo_server.url)
    assert code == 1 and "pass --database" in err and "database=" not in err
    code, _, err = run(validating, "show", "NIGHTLY_ELT", "--base-url", demo_server.url,
                       "--database", "DEMO_DB")  # fmt: skip
    assert code == 1 and "pass --schema" in err


def test_the_demo_env_variables_reach_the_local_server(demo_server, snowflake_home,
                                                       monkeypatch, validating) -> None:
    monkeypatch.setenv("TASKNB_URL", demo_server.url)
    monkeypatch.setenv("TASKNB_TOKEN", demo_server.token)
    code, out, err = run(validating, "tasks", "--root-only")
    assert code == 0, err
    assert {"MARKETING_METRICS", "NIGHTLY_ELT"} <= {line.split()[0] for line in out.splitlines()}
    monkeypatch.setenv("TASKNB_TOKEN", "")
    code, _, err = run(validating, "tasks")
    assert code == 1 and "TASKNB_TOKEN is empty" in err


def test_server_on_a_port_in_use_is_one_line(tmp_path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "tasknb.cli", "server", "--port", str(port), "--data-dir",
             str(tmp_path / "data")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port 0" in result.stderr and "port=0" not in result.stderr


def test_tasks_of_every_schema_of_a_database_and_of_the_whole_account(
    server, env, validating
) -> None:
    with local_client(server, database="cli", schema="other") as other:
        other.create_task(Task("elsewhere", "select 3"), create_mode="orReplace")
    code, out, err = run(validating, "tasks", "--base-url", env, "--database", "cli", "--json")
    assert code == 0, err
    places = {(r["schema_name"], r["name"]) for r in json.loads(out)}
    assert {("ELT", "ROOT"), ("ELT", "LOAD"), ("OTHER", "ELSEWHERE")} <= places
    code, out, err = run(validating, "tasks", "--base-url", env, "--all")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["DATABASE_NAME", "SCHEMA_NAME", "NAME"]
    assert any(row.split()[:3] == ["CLI", "OTHER", "ELSEWHERE"] for row in rows)
