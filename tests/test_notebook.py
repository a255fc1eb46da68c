"""tasknb.notebook: where a notebook's client goes, and durations for advance()."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tasknb import notebook


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (notebook.CONNECTION_ENV, notebook.URL_ENV, notebook.TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)


def test_connection_name_wins_over_a_local_url(monkeypatch):
    monkeypatch.setenv(notebook.URL_ENV, "http://127.0.0.1:9")
    monkeypatch.setenv(notebook.TOKEN_ENV, "s3cret-token")
    assert notebook._target("prod").kind == "account"
    monkeypatch.setenv(notebook.CONNECTION_ENV, "from_env")
    target = notebook._target(None)
    assert (target.kind, target.connection) == ("account", "from_env")
    assert notebook.describe() == "Snowflake account from connection 'from_env'"


def test_local_url_attaches_and_never_shows_the_token(monkeypatch):
    monkeypatch.setenv(notebook.URL_ENV, "http://127.0.0.1:8123/")
    monkeypatch.setenv(notebook.TOKEN_ENV, "s3cret-token")
    target = notebook._target(None)
    assert (target.kind, target.url) == ("attached", "http://127.0.0.1:8123")
    assert "s3cret" not in repr(target)
    assert "s3cret" not in notebook.describe()
    assert notebook.server() is None  # no LocalServer object in this kernel


def test_local_url_without_token_says_how_to_fix(monkeypatch):
    monkeypatch.setenv(notebook.URL_ENV, "http://127.0.0.1:8123")
    with pytest.raises(RuntimeError, match="TASKNB_TOKEN is empty"):
        notebook.client()


def test_no_settings_means_embedded():
    assert notebook._target(None).kind == "embedded"


def test_advance_refuses_what_it_cannot_read_before_touching_any_server(monkeypatch):
    monkeypatch.setenv(notebook.URL_ENV, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv(notebook.TOKEN_ENV, "t")
    with pytest.raises(ValueError, match="10 minutes"):
        notebook.advance("soon")


@pytest.fixture
def local_server(tmp_path):
    from tasknb import local

    with local.start(clock="manual", data_dir=tmp_path / "server") as server:
        yield server


def test_attached_advance_moves_the_local_servers_clock(monkeypatch, local_server):
    monkeypatch.setenv(notebook.URL_ENV, local_server.url)
    monkeypatch.setenv(notebook.TOKEN_ENV, local_server.token)
    before = local_server.now()
    assert notebook.advance("90 minutes") == []  # no schedules on an empty server
    assert (local_server.now() - before) == timedelta(minutes=90)


def test_attached_client_talks_to_the_local_server(monkeypatch, local_server):
    monkeypatch.setenv(notebook.URL_ENV, local_server.url)
    monkeypatch.setenv(notebook.TOKEN_ENV, local_server.token)
    with notebook.client(database="DB_X", schema="S_Y") as client:
        pass
    assert client.base_url.rstrip("/") == local_server.url.rstrip("/")
    assert (client.database, client.schema) == ("DB_X", "S_Y")
    assert local_server.token not in repr(client)


def test_attached_advance_with_a_wrong_token_says_what_failed(monkeypatch, local_server):
    monkeypatch.setenv(notebook.URL_ENV, local_server.url)
    monkeypatch.setenv(notebook.TOKEN_ENV, "not-the-token")
    with pytest.raises(RuntimeError, match="refused to advance its clock") as info:
        notebook.advance(60)
    assert "not-the-token" not in str(info.value)


@pytest.fixture
def embedded():
    yield
    notebook._stop_embedded()  # the kernel-lifetime server, stopped here instead of at exit


def test_embedded_server_has_the_demo_and_a_manual_clock(embedded):
    with notebook.client() as client:
        names = {task.name for task in client.list_tasks()}
    assert {"NIGHTLY_ELT", "MARKETING_METRICS", "REFRESH_INVENTORY"} <= names
    server = notebook.server()
    assert server is not None and notebook.server() is server  # started once per kernel
    assert notebook.describe().startswith(f"embedded local server at {server.url}")
    before = server.now()
    runs = notebook.advance("2 hours")
    assert server.now() - before == timedelta(hours=2)
    assert any(run["root_task_name"] == "REFRESH_INVENTORY" for run in runs)  # hourly task


# -- advance() on an account: fast-forward a manual local server, else wait visibly ---------


def _connection_to(server, home, name="local", clock_extra=""):
    from client_support import write_private

    host, port = server.url.removeprefix("http://").split(":")
    write_private(
        home / "connections.toml",
        f'[{name}]\nhost = "{host}"\nport = {port}\nprotocol = "http"\n'
        f'token = "{server.token}"\ndatabase = "TEACH"\nschema = "PUBLIC"\n'
        f'warehouse = "TEACH_WH"\n{clock_extra}',
    )
    return name


def test_advance_through_a_connection_fast_forwards_a_manual_local_server(
    local_server, snowflake_home, capsys
):
    name = _connection_to(local_server, snowflake_home)
    with notebook.client(name) as client:
        assert notebook.local_clock(client) == "manual" and notebook.on_local_server(client)
        assert notebook.warehouse_of(client) == "TEACH_WH"
    before = local_server.now()
    assert notebook.advance("3 minutes", name) == []
    assert local_server.now() - before == timedelta(minutes=3)
    said = capsys.readouterr().out
    assert "tasknb local server with a manual clock: fast-forwarded 3 min" in said
    assert local_server.token not in said


def test_advance_on_real_time_waits_with_a_progress_bar(tmp_path, snowflake_home, capsys):
    import time

    from tasknb import local

    with local.start(clock="real", data_dir=tmp_path / "real") as server:
        name = _connection_to(server, snowflake_home)
        with notebook.client(name) as client:
            assert notebook.local_clock(client) == "real"
        began = time.monotonic()
        assert notebook.advance("1.2 s", name) == []
        assert time.monotonic() - began >= 1.2  # it really waited
    bar = capsys.readouterr().err
    assert "waiting 1.2 s of real time (interrupt to stop)" in bar and "left" in bar


def test_advance_on_real_time_refuses_a_long_wait_saying_how_long(
    tmp_path, snowflake_home, capsys
):
    from tasknb import local

    with local.start(clock="real", data_dir=tmp_path / "real") as server:
        name = _connection_to(server, snowflake_home)
        with pytest.raises(ValueError, match=r"block this kernel for 24 h, longer than 15 min"):
            notebook.advance("1 day", name)
    assert capsys.readouterr().err == ""  # refused before waiting at all


def test_an_interrupted_wait_stops_and_says_so(tmp_path, snowflake_home, capsys, monkeypatch):
    from tasknb import local

    with local.start(clock="real", data_dir=tmp_path / "real") as server:
        name = _connection_to(server, snowflake_home)
        calls = []

        def sleep_then_interrupt(seconds):  # the user presses Stop (a KeyboardInterrupt)
            calls.append(seconds)
            if len(calls) == 2:
                raise KeyboardInterrupt

        monkeypatch.setattr(notebook.time, "sleep", sleep_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            notebook.advance("10 minutes", name)
    assert len(calls) == 2
    assert "stopped waiting after" in capsys.readouterr().err


def test_an_account_is_not_a_local_server():
    import httpx

    from tasknb import TaskClient

    def snowflake(request: httpx.Request) -> httpx.Response:  # Snowflake has no such path
        return httpx.Response(404, json={"code": "390404", "message": "Not found"})

    with TaskClient("https://acme.snowflakecomputing.com", auth=None,
                    transport=httpx.MockTransport(snowflake)) as client:
        assert notebook.local_clock(client) is None and not notebook.on_local_server(client)
        assert notebook.warehouse_of(client) is None
