"""The tasknb command line against the local server (real HTTP, spec-validated)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import pytest
from client_support import write_private
from spec_validation import SpecValidatingTransport

from tasknb import MinutesSchedule, Task, cli
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


@pytest.fixture
def validating() -> Iterator[SpecValidatingTransport]:
    transport = SpecValidatingTransport(httpx.HTTPTransport())
    yield transport
    transport.assert_clean()


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
