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
