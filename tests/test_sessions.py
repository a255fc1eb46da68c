"""Session logins through snowflake-connector-python, against the local server over real HTTP.

The connector logs in (password, password + MFA with a cached MFA token, externalbrowser with a
browser that the test plays); tasknb then sends the session token on every REST and SQL API
call, renews it when the server says it expired (390112), logs in again when the master token
expired too (390114), and ends the session when the client closes.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tasknb
from tasknb import AuthError, SessionAuth
from tasknb.testing import local_server

DB, SC = "SESSION_DB", "PUBLIC"


class Recording(httpx.BaseTransport):
    """A real HTTP transport that remembers the Authorization header of every request."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, request.headers.get("authorization", "")))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with local_server(clock="manual") as running:
        running.service.ensure_schema(DB, SC)
        yield running


@pytest.fixture(autouse=True)
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector's credential caches go to a fresh home, never the user's."""
    for name in list(os.environ):
        if name.upper().startswith("SNOWFLAKE_"):
            monkeypatch.delenv(name)
    (tmp_path / "home").mkdir()
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SNOWFLAKE_HOME", str(tmp_path / "snowflake"))


def _expire(server: Any, *, master: bool = False) -> None:
    answer = httpx.post(f"{server.url}/tasknb/v1/sessions:expire", json={"master": master},
                        headers={"Authorization": f"Bearer {server.token}"})
    assert answer.status_code == 200 and answer.json()["expired"] >= 1


def _connect(server: Any, transport: Recording, **login: Any) -> tasknb.TaskClient:
    return tasknb.connect(base_url=server.url, user="tester", database=DB, schema=SC,
                          transport=transport, login_timeout=60, **login)


def _session_headers(transport: Recording) -> list[str]:
    return [auth for path, auth in transport.seen if path.startswith("/api/v2/")]


def test_password_login_sends_the_session_token_renews_it_and_ends_it(server) -> None:
    transport = Recording()
    client = _connect(server, transport, authenticator="snowflake", password=server.token)
    assert isinstance(client.auth, SessionAuth)
    assert client.list_tasks() == [] and client.auth.logins == 1
    first = _session_headers(transport)[-1]
    assert first.startswith('Snowflake Token="') and server.token not in first
    _expire(server)  # the server now answers 390112 to that token
    refused = httpx.get(f"{server.url}/api/v2/databases", headers={"Authorization": first})
    assert refused.status_code == 401 and refused.json()["code"] == "390112"
    assert client.list_tasks() == []  # renewed with the master token and sent again
    assert (client.auth.logins, client.auth.renewals) == (1, 1)
    renewed = _session_headers(transport)[-1]
    assert renewed != first and server.token not in renewed
    assert [p for p, _ in transport.seen].count("/session/token-request") == 1
    frame = client.sql("SELECT 41 + 1 AS answer")  # the SQL API takes the session token too
    assert frame["ANSWER"].tolist() == [42]
    assert _session_headers(transport)[-1] == renewed
    client.close()
    assert ("/session", renewed) in transport.seen  # POST /session?delete=true
    gone = httpx.get(f"{server.url}/api/v2/databases", headers={"Authorization": renewed})
    assert gone.status_code == 401 and gone.json()["code"] == "390111"


def test_an_expired_master_token_means_a_new_login(server) -> None:
    transport = Recording()
    with _connect(server, transport, password=server.token) as client:  # password: SNOWFLAKE
        assert client.list_tasks() == []
        first = _session_headers(transport)[-1]
        _expire(server, master=True)
        assert client.list_tasks() == []
        assert (client.auth.logins, client.auth.renewals) == (2, 0)
        assert _session_headers(transport)[-1] != first
        renewal = [p for p, _ in transport.seen].count("/session/token-request")
        assert renewal == 1  # tried, answered 390114, then the connector logged in again


def test_a_wrong_password_is_one_line_without_the_password(server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-token-" + "x" * 32
    with (_connect(server, Recording(), authenticator="snowflake", password=wrong) as client,
          pytest.raises(AuthError) as refused):
        client.list_tasks()
    message = str(refused.value)
    assert message.startswith("login with authenticator SNOWFLAKE as tester failed: ")
    assert "Incorrect username or password" in message
    assert wrong not in message and wrong not in caplog.text and wrong not in repr(client)


def test_mfa_login_caches_the_mfa_token_for_the_next_login(server) -> None:
    transport = Recording()
    with _connect(server, transport, authenticator="username_password_mfa",
                  password=server.token, passcode="123456",
                  client_request_mfa_token=True) as client:
        assert client.list_tasks() == []
    without_passcode = _connect(server, Recording(), authenticator="username_password_mfa",
                                password=server.token, client_request_mfa_token=True)
    with without_passcode:
        assert without_passcode.list_tasks() == []  # the connector sent its cached MFA token


def test_mfa_login_without_a_passcode_or_cached_token_is_refused(server) -> None:
    # another user: the connector caches MFA tokens per user and host, also in memory
    with (tasknb.connect(base_url=server.url, user="nobody_cached", database=DB, schema=SC,
                         authenticator="username_password_mfa", password=server.token,
                         transport=Recording()) as client,
          pytest.raises(AuthError, match="MFA authentication is required")):
        client.list_tasks()


BROWSER = textwrap.dedent("""\
    #!{python}
    # plays the user's browser: opens the SSO page (plain HTTP on the local server), signs in
    # at the fake identity provider with the server token, follows the redirect to the
    # connector waiting on localhost
    import json, os, sys, urllib.request
    url = sys.argv[1].replace("https://", "http://", 1)
    with open(os.environ["FAKE_BROWSER_LOG"], "a") as log:
        log.write(url + "\\n")
    token = os.environ["FAKE_IDP_TOKEN"]
    request = urllib.request.Request(url + ":confirm", data=b"{{}}", method="POST", headers={{
        "Authorization": "Bearer " + token, "Content-Type": "application/json"}})
    with urllib.request.urlopen(request, timeout=30) as answer:
        redirect = json.load(answer)["redirect"]
    with urllib.request.urlopen(redirect, timeout=30) as page:
        page.read()
""")


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server) -> Path:
    script = tmp_path / "fake-browser"
    script.write_text(BROWSER.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "browser.log"
    monkeypatch.setenv("BROWSER", str(script))
    monkeypatch.setenv("FAKE_BROWSER_LOG", str(log))
    monkeypatch.setenv("FAKE_IDP_TOKEN", server.token)
    return log


def test_externalbrowser_login_through_a_browser_the_test_plays(server, browser, capsys) -> None:
    transport = Recording()
    with _connect(server, transport, authenticator="externalbrowser") as client:
        assert client.list_tasks() == []
        assert client.auth.logins == 1
        opened = browser.read_text().splitlines()
        assert len(opened) == 1 and opened[0].startswith(f"{server.url}/tasknb/v1/sso/")
        _expire(server)
        assert client.list_tasks() == []  # renewal needs no browser
        assert client.auth.renewals == 1 and len(browser.read_text().splitlines()) == 1
        header = _session_headers(transport)[-1]
        assert server.token not in header and server.token not in capsys.readouterr().out


def test_the_fake_identity_provider_refuses_strangers_and_replays(server) -> None:
    begin = httpx.post(f"{server.url}/session/authenticator-request", json={"data": {
        "AUTHENTICATOR": "EXTERNALBROWSER", "LOGIN_NAME": "tester",
        "BROWSER_MODE_REDIRECT_PORT": "45678"}}).json()
    assert begin["success"] is True
    sso = begin["data"]["ssoUrl"].replace("https://", "http://", 1)
    stranger = httpx.post(f"{sso}:confirm", headers={"Authorization": "Bearer " + "g" * 40})
    assert stranger.status_code == 401
    confirm = httpx.post(f"{sso}:confirm", headers={"Authorization": f"Bearer {server.token}"})
    redirect = confirm.json()["redirect"]
    assert redirect.startswith("http://localhost:45678/?token=")
    again = httpx.post(f"{sso}:confirm", headers={"Authorization": f"Bearer {server.token}"})
    assert again.status_code == 404  # confirmed once
    sso_token = redirect.partition("token=")[2]
    body = {"data": {"AUTHENTICATOR": "EXTERNALBROWSER", "TOKEN": sso_token,
                     "PROOF_KEY": "wrong"}}
    login = f"{server.url}/session/v1/login-request"
    assert httpx.post(login, json=body).json()["code"] == "390190"  # wrong proof key
    body["data"]["PROOF_KEY"] = begin["data"]["proofKey"]
    assert httpx.post(login, json=body).json()["success"] is True
    assert httpx.post(login, json=body).json()["success"] is False  # one time only
    bad_port = httpx.post(f"{server.url}/session/authenticator-request", json={"data": {
        "AUTHENTICATOR": "EXTERNALBROWSER", "BROWSER_MODE_REDIRECT_PORT": "99999"}}).json()
    assert bad_port["success"] is False and "BROWSER_MODE_REDIRECT_PORT" in bad_port["message"]


def test_token_request_with_an_unknown_master_token_changes_nothing(server) -> None:
    answer = httpx.post(f"{server.url}/session/token-request",
                        json={"oldSessionToken": "x" * 40, "requestType": "RENEW"},
                        headers={"Authorization": 'Snowflake Token="' + "m" * 40 + '"'})
    assert answer.status_code == 200 and answer.json()["code"] == "390115"
    odd = httpx.post(f"{server.url}/session/token-request", json={"requestType": "STEAL"},
                     headers={"Authorization": 'Snowflake Token="' + "m" * 40 + '"'})
    assert odd.status_code == 400 and "RENEW" in odd.json()["message"]
    bad = httpx.post(f"{server.url}/tasknb/v1/sessions:expire", json={"master": "yes"},
                     headers={"Authorization": f"Bearer {server.token}"})
    assert bad.status_code == 400 and "master" in bad.json()["message"]


def test_a_connection_file_entry_with_externalbrowser_logs_in(server, browser, tmp_path,
                                                             monkeypatch) -> None:
    home = Path(os.environ["SNOWFLAKE_HOME"])
    home.mkdir()
    entry = home / "connections.toml"
    entry.write_text(textwrap.dedent(f"""\
        [sso]
        account = "local"
        user = "alice@example.com"
        authenticator = "externalbrowser"
        base_url = "{server.url}"
        database = "{DB}"
        schema = "{SC}"
    """))
    entry.chmod(0o600)
    with tasknb.connect("sso", login_timeout=60) as client:
        assert repr(client.auth) == "SessionAuth(EXTERNALBROWSER as alice@example.com, session=***)"
        assert client.list_tasks() == []
    assert json.dumps(client.auth.describe)  # nothing secret is kept in what it shows


def test_oauth_client_credentials_flow_logs_in_through_the_fake_token_endpoint(server) -> None:
    transport = Recording()
    with _connect(server, transport, authenticator="oauth_client_credentials",
                  oauth_client_id="tasknb-tests", oauth_client_secret=server.token,
                  oauth_token_request_url=f"{server.url}/oauth/token-request") as client:
        assert client.list_tasks() == [] and client.auth.logins == 1
        assert repr(client.auth) == "SessionAuth(OAUTH_CLIENT_CREDENTIALS as tester, session=***)"
        assert server.token not in _session_headers(transport)[-1]
    refused = httpx.post(f"{server.url}/oauth/token-request", auth=("id", "g" * 40),
                         data={"grant_type": "client_credentials"})
    assert refused.status_code == 401 and "client secret" in refused.json()["message"]
    other = httpx.post(f"{server.url}/oauth/token-request", auth=("id", server.token),
                       data={"grant_type": "password"})
    assert other.status_code == 400 and "client_credentials" in other.json()["message"]
