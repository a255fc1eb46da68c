"""No token, password, passphrase, JWT or key material in any repr, log line, error or output."""

from __future__ import annotations

import io
import logging
import pickle
import traceback

import httpx
import pytest
from client_support import error, ok, reply, write_private
from cryptography.hazmat.primitives import serialization
from spec_validation import SpecValidatingTransport

import tasknb
from tasknb import (
    AuthError,
    ConfigError,
    KeyPairAuth,
    OAuthAuth,
    PatAuth,
    RetryPolicy,
    Secret,
    TaskClient,
    TasknbError,
    cli,
)
from tasknb.auth import load_private_key
from tasknb.config import build_auth, resolve_connection
from tasknb.testing import local_client, local_server

PAT = "pat-7Hq2-SUPER-SECRET-VALUE"
OAUTH = "oauth-ya29-SECRET-ACCESS"
PASSWORD = "hunter2-SECRET-PASSWORD"
PASSPHRASE = "correct-horse-SECRET-PASSPHRASE"


@pytest.fixture(scope="module")
def key_material(tmp_path_factory, rsa_key) -> dict:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    plain = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path_factory.mktemp("keys") / "rsa_key.p8"
    path.write_bytes(pem)
    path.chmod(0o600)
    # distinctive fragments of the key (the base64 body lines)
    fragments = [line for line in plain.decode().splitlines() if not line.startswith("-----")]
    fragments += [line for line in pem.decode().splitlines() if not line.startswith("-----")]
    return {"path": path, "plain": plain.decode(), "fragments": fragments}


class Leaks:
    """Collects every text a user could see and checks none holds a secret."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = [s for s in secrets if s]
        self.texts: list[str] = []

    def add(self, *values: object) -> None:
        for value in values:
            self.texts.append(str(value))
            self.texts.append(repr(value))
            if isinstance(value, BaseException):
                self.texts.append("".join(traceback.format_exception(value)))

    def check(self) -> None:
        assert self.texts, "nothing was collected: the test drove no code path"
        for text in self.texts:
            for secret in self.secrets:
                assert secret not in text, f"a secret leaked into: {text[:200]!r}"


def test_reprs_never_show_secrets(key_material, snowflake_home) -> None:
    jwt_auth = KeyPairAuth(
        "myorg-acct", "jane", private_key_file=key_material["path"], passphrase=PASSPHRASE
    )
    jwt = jwt_auth.token().reveal()
    leaks = Leaks([PAT, OAUTH, PASSWORD, PASSPHRASE, jwt, *key_material["fragments"]])
    conn = resolve_connection(
        overrides={
            "account": "myorg-acct",
            "token": PAT,
            "password": PASSWORD,
            "private_key_passphrase": PASSPHRASE,
            "private_key_raw": key_material["plain"],
        },
        env={},
    )
    client = TaskClient("https://myorg-acct.snowflakecomputing.com", auth=PatAuth(PAT))
    leaks.add(
        Secret(PAT),
        f"{Secret(PAT)}",
        f"{Secret(PAT):>40}",
        PatAuth(PAT),
        OAuthAuth(OAUTH),
        jwt_auth,
        conn,
        conn.values,
        client,
        jwt_auth.token(),
    )
    assert "***" in repr(conn) and "***" in repr(PatAuth(PAT))
    assert pickle.loads(pickle.dumps(Secret(PAT))).reveal() == PAT  # still usable
    leaks.check()
    client.close()


def test_errors_never_show_secrets(key_material, snowflake_home, tmp_path) -> None:
    leaks = Leaks([PAT, PASSWORD, PASSPHRASE, *key_material["fragments"]])
    attempts = [
        lambda: load_private_key(path=key_material["path"], passphrase="wrong-" + PASSPHRASE),
        lambda: load_private_key(path=key_material["path"]),
        lambda: load_private_key(raw=key_material["plain"][:200], passphrase=PASSPHRASE),
        lambda: build_auth(
            resolve_connection(overrides={"account": "a", "password": PASSWORD,
                                          "authenticator": "bogus"}, env={})
        ),
        lambda: build_auth(
            resolve_connection(
                overrides={"account": "a", "authenticator": "OAUTH", "password": PASSWORD}, env={}
            )
        ),
        lambda: resolve_connection(
            "x",
            env={
                "SNOWFLAKE_HOME": str(snowflake_home),
                "SNOWFLAKE_CONNECTIONS": f"[x\ntoken='{PAT}'",
            },
        ),
        lambda: tasknb.connect("missing"),
    ]
    path = write_private(snowflake_home / "connections.toml", f'[bad]\ntoken = "{PAT}\n')
    attempts.append(lambda: resolve_connection("bad"))
    for attempt in attempts:
        with pytest.raises(TasknbError) as info:
            attempt()
        assert isinstance(info.value, (AuthError, ConfigError))
        leaks.add(info.value)
    leaks.check()
    assert path.exists()


def test_http_errors_and_debug_logs_never_show_secrets(caplog, rsa_key) -> None:
    caplog.set_level(logging.DEBUG)
    steps = iter(
        [
            error(429, "000429", "slow down"),
            reply(200, []),
            httpx.ReadError("Connection reset by peer"),
            error(401, "390144", "JWT token is invalid."),
            reply(200, raw=b'[{"name": "T'),
            error(404, "002003", "Task 'DB.S.T' does not exist or not authorized."),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        step = next(steps)
        if isinstance(step, Exception):
            raise step
        return step

    transport = SpecValidatingTransport(httpx.MockTransport(handler), allow_unparseable_bodies=True)
    auth = PatAuth(PAT)
    client = TaskClient(
        "https://myorg-acct.snowflakecomputing.com",
        auth=auth,
        database="DB",
        schema="S",
        transport=transport,
        retry=RetryPolicy(max_retries=1, backoff_base=0.001),
        sleep=lambda s: None,
    )
    leaks = Leaks([PAT])
    client.list_tasks()
    for call in (
        lambda: client.execute_task("t"),
        lambda: client.list_tasks(),
        lambda: client.list_tasks(),
        lambda: client.fetch_task("t"),
    ):
        with pytest.raises(TasknbError) as info:
            call()
        leaks.add(info.value)
    leaks.add(*[record.getMessage() for record in caplog.records])
    assert any(r.name == "tasknb.http" for r in caplog.records)
    leaks.check()
    client.close()


def test_real_http_logs_and_cli_output_never_show_the_token(caplog, snowflake_home, monkeypatch):
    caplog.set_level(logging.DEBUG)
    with local_server(clock="manual") as server:
        token = server.token
        leaks = Leaks([token])
        client = local_client(server, database="sec", schema="s")
        client.create_task(tasknb.Task("t", "select 1"))
        client.execute_task("t")
        leaks.add(client, client.list_tasks(), client.fetch_task("t"))
        client.close()
        monkeypatch.setenv("SNOWFLAKE_TOKEN", token)
        outputs = []
        for argv in (
            ["tasks", "--json"],
            ["show", "t"],
            ["runs", "t"],
            ["show", "missing"],
            ["execute", "t", "--async"],
        ):
            out, err = io.StringIO(), io.StringIO()
            cli.main(
                [*argv, "--base-url", server.url, "--database", "sec", "--schema", "s"],
                out=out,
                err=err,
            )
            outputs += [out.getvalue(), err.getvalue()]
        monkeypatch.setenv("SNOWFLAKE_TOKEN", "wrong-" + token)
        err = io.StringIO()
        assert (
            cli.main(
                ["tasks", "--base-url", server.url, "--database", "sec", "--schema", "s"],
                out=io.StringIO(),
                err=err,
            )
            == 1
        )
        outputs.append(err.getvalue())
        assert "Unauthorized" in err.getvalue()
        leaks.add(*outputs)
        leaks.add(*[record.getMessage() for record in caplog.records])
        assert any("httpx" in r.name or "httpcore" in r.name for r in caplog.records)
        leaks.check()


def test_authorization_header_is_only_on_the_wire(api) -> None:
    client = api.client(lambda r: ok(), auth=PatAuth(PAT))
    client.resume_task("t")
    assert api.requests[0].headers["Authorization"] == f"Bearer {PAT}"
    assert PAT not in repr(api.requests[0]) and PAT not in repr(client)
