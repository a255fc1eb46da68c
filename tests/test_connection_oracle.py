"""Connection files read as the connector reads them, with snowflake-connector-python as the oracle.

Each case is a set of connection files, variables and arguments. The connector (run by
``tests/connector_oracle.py`` in a subprocess, logging in through a capture proxy on loopback)
shows the host it chose and what its login sent: the user, the key-pair JWT's ``iss``/``sub``
(the fingerprint tells which key and passphrase it loaded) or the token. tasknb must resolve
the same case to the same host, issuer, subject and token.

``DELIBERATE`` lists where tasknb differs on purpose (see ``tasknb.config``); those cases assert
both sides exactly, so that a change in the connector shows up here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tasknb import KeyPairAuth, PatAuth
from tasknb.config import build_auth, resolve_connection

ORACLE = Path(__file__).with_name("connector_oracle.py")
PASSPHRASE = "right-passphrase-of-the-key-file-0123456789"


def _entry(name: str, **values: str) -> str:
    # protocol http: the capture proxy then sees the login itself (tasknb's host is compared)
    values = {**values, "protocol": "http"}
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
    return f"[{name}]\n{body}\n"


def pat(prefix: str) -> dict[str, str]:
    """The keys of a programmatic-access-token connection."""
    return {"user": "alice", "authenticator": "PROGRAMMATIC_ACCESS_TOKEN",
            "token": prefix + "x" * 32}


def jwt(account: str, user: str, **more: str) -> dict[str, Any]:
    """A key-pair case: one connection ``c`` in connections.toml."""
    values = {"account": account, "user": user, "authenticator": "SNOWFLAKE_JWT",
              "private_key_file": "{key}", **more}
    return {"files": {"connections.toml": _entry("c", **values)}, "name": "c"}


# id -> case: files (text, "{key}"/"{encrypted}"/"{token_file}" filled in), env, name (the
# connection asked for; None = the default one), args (arguments to both sides)
CASES: dict[str, dict[str, Any]] = {
    "org-account": jwt("myorg-acct", "alice"),
    "mixed-case-account-and-user": jwt("MyOrg-Acct", "Alice"),
    "underscore-account-quoted-user": jwt("myorg_acct", '"quoted"'),
    "quoted-user-mixed-case-space": jwt("myorg-acct", '"Mixed Case"'),
    "locator-region-cloud-email-user": jwt("xy12345.us-east-2.aws", "alice@example.com"),
    "upper-locator-dotted-user": jwt("XY12345.US-EAST-2.AWS", "a.b-c_d"),
    "global-url": jwt("xy12345-abc.global", "alice"),
    "privatelink-account": jwt("MYORG_ACCT.privatelink", "alice"),
    "unicode-user": jwt("myorg-acct", "Ünïcode"),
    "org-with-underscores": jwt("MY_ORG-ACCT_1", "bob"),
    "explicit-host": jwt("myorg-acct", "alice", host="custom.example.com"),
    "region-key-is-ignored": jwt("xy12345", "alice", region="us-east-2.aws"),
    "china-region": jwt("xy12345.cn-north-1", "alice"),
    "china-region-with-cloud": jwt("xy12345.cn-northwest-1.aws", "alice"),
    "account-with-domain": jwt("myorg-acct.snowflakecomputing.com", "alice"),
    "account-as-url": jwt("https://myorg-acct.snowflakecomputing.com", "alice"),
    "private-key-path-alias": {"files": {"connections.toml": _entry(
        "c", account="myorg-acct", user="alice", authenticator="SNOWFLAKE_JWT",
        private_key_path="{key}")}, "name": "c"},
    "passphrase-in-the-file": jwt("myorg-acct", "alice", private_key_file="{encrypted}",
                                  private_key_file_pwd=PASSPHRASE),
    "passphrase-env-wins-over-file": {**jwt("myorg-acct", "alice", private_key_file="{encrypted}",
                                            private_key_file_pwd="wrong-one"),
                                      "env": {"PRIVATE_KEY_PASSPHRASE": PASSPHRASE}},
    "passphrase-only-in-env": {**jwt("myorg-acct", "alice", private_key_file="{encrypted}"),
                               "env": {"PRIVATE_KEY_PASSPHRASE": PASSPHRASE}},
    "env-overrides-account": {**jwt("myorg-acct", "alice"),
                              "env": {"SNOWFLAKE_CONNECTIONS_C_ACCOUNT": "other-acct"}},
    "env-overrides-user-quoted": {**jwt("myorg-acct", "alice"),
                                  "env": {"SNOWFLAKE_CONNECTIONS_C_USER": '"Env User"'}},
    "argument-overrides-file-user": {**jwt("myorg-acct", "alice"), "args": {"user": "carol"}},
    "argument-overrides-env-user": {**jwt("myorg-acct", "alice"), "args": {"user": "dave"},
                                    "env": {"SNOWFLAKE_CONNECTIONS_C_USER": "erin"}},
    "default-connection-by-env-name": {
        "files": {"connections.toml": _entry("a", account="acct-a", **pat("token-a-"))
                  + _entry("b", account="acct-b", **pat("token-b-"))},
        "env": {"SNOWFLAKE_DEFAULT_CONNECTION_NAME": "b"}, "name": None},
    "default-connection-by-config-name": {
        "files": {"connections.toml": _entry("a", account="acct-a", **pat("token-a-"))
                  + _entry("b", account="acct-b", **pat("token-b-")),
                  "config.toml": 'default_connection_name = "a"\n'}, "name": None},
    "env-name-wins-over-config-name": {
        "files": {"connections.toml": _entry("a", account="acct-a", **pat("token-a-"))
                  + _entry("b", account="acct-b", **pat("token-b-")),
                  "config.toml": 'default_connection_name = "a"\n'},
        "env": {"SNOWFLAKE_DEFAULT_CONNECTION_NAME": "b"}, "name": None},
    "connection-named-default": {
        "files": {"connections.toml": _entry("default", account="acct-d",
                                             **pat("token-d-"))}, "name": None},
    "config-toml-connections-only": {
        "files": {"config.toml": "[connections.c]\n" + _entry("c", account="acct-config",
                                                             **pat("token-c-")).partition("\n")[2]},
        "name": "c"},
    "connections-toml-wins-over-config-toml": {
        "files": {"connections.toml": _entry("c", account="acct-file",
                                             **pat("token-f-")),
                  "config.toml": "[connections.c]\n" + _entry(
                      "c", account="acct-config", **pat("token-c-")).partition("\n")[2]},
        "name": "c"},
    "pat-token-in-file": {"files": {"connections.toml": _entry(
        "c", account="myorg-acct", user="alice", authenticator="PROGRAMMATIC_ACCESS_TOKEN",
        token="pat-inline-" + "y" * 32)}, "name": "c"},
    "group-readable-token-file": {"files": {"connections.toml": _entry(
        "c", account="myorg-acct", user="alice", authenticator="PROGRAMMATIC_ACCESS_TOKEN",
        token_file_path="{token_file}")}, "name": "c"},
    "token-file-wins-over-token": {"files": {"connections.toml": _entry(
        "c", account="myorg-acct", user="alice", authenticator="PROGRAMMATIC_ACCESS_TOKEN",
        token="pat-inline-" + "y" * 32, token_file_path="{token_file}")}, "name": "c"},
}

ORG_ISS = "MYORG-ACCT.ALICE.SHA256:"  # + the key's fingerprint (the same key everywhere)
# where tasknb differs on purpose: case -> (what the connector did, what tasknb does)
DELIBERATE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # connector 4 and `snow` use .cn for China regions; 5.2 sends them to .com
    "china-region": ({"host": "xy12345.cn-north-1.snowflakecomputing.com"},
                     {"host": "xy12345.cn-north-1.snowflakecomputing.cn"}),
    "china-region-with-cloud": ({"host": "xy12345.cn-northwest-1.aws.snowflakecomputing.com"},
                                {"host": "xy12345.cn-northwest-1.aws.snowflakecomputing.cn"}),
    # an account given with its domain is that host; 5.2 adds the domain a second time
    "account-with-domain": (
        {"host": "myorg-acct.snowflakecomputing.com.snowflakecomputing.com"},
        {"host": "myorg-acct.snowflakecomputing.com", "iss": ORG_ISS}),
    # an account given as a URL is that host; 5.2 refuses it
    "account-as-url": ({"error": "Invalid character ':' in account identifier"},
                       {"host": "myorg-acct.snowflakecomputing.com", "iss": ORG_ISS}),
    # SNOWFLAKE_CONNECTIONS_<NAME>_<KEY> override one key in `snow`; connector 5.2 ignores them
    "env-overrides-account": ({"host": "myorg-acct.snowflakecomputing.com"},
                              {"host": "other-acct.snowflakecomputing.com"}),
    "env-overrides-user-quoted": ({"sub": "MYORG-ACCT.ALICE"},
                                  {"sub": 'MYORG-ACCT."ENV USER"'}),
    # PRIVATE_KEY_PASSPHRASE: `snow` reads it and it wins over the file; 5.2 never reads it
    "passphrase-env-wins-over-file": ({"error": "Authentication failed"}, {"iss": ORG_ISS}),
    "passphrase-only-in-env": ({"error": "no passphrase was provided"}, {"iss": ORG_ISS}),
    # private_key_path is the `snow` spelling of private_key_file; 5.2 does not know it
    "private-key-path-alias": ({"error": "'private_key' or 'private_key_file'"},
                               {"iss": ORG_ISS}),
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("keys")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    plain, encrypted, token = where / "rsa_key.p8", where / "rsa_key_enc.p8", where / "token"
    plain.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    token.write_text("pat-from-the-token-file-" + "z" * 32 + "\n")
    for path in (plain, encrypted):
        path.chmod(0o600)
    token.chmod(0o640)  # group-readable, as mounted secrets often are
    return {"key": plain, "encrypted": encrypted, "token_file": token}


def _home(case_id: str, case: dict[str, Any], root: Path, keys: dict[str, Path]) -> Path:
    home = root / case_id
    home.mkdir()
    for name, text in case["files"].items():
        path = home / name
        path.write_text(text.replace("{key}", str(keys["key"]))
                        .replace("{encrypted}", str(keys["encrypted"]))
                        .replace("{token_file}", str(keys["token_file"])))
        path.chmod(0o600)
    return home


@pytest.fixture(scope="module")
def answers(keys, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Both sides of every case: what the connector sent, what tasknb resolved."""
    root = tmp_path_factory.mktemp("homes")
    oracle_cases, ours = [], {}
    for case_id, case in CASES.items():
        home = _home(case_id, case, root, keys)
        env = {"SNOWFLAKE_HOME": str(home), "HOME": str(root), **case.get("env", {})}
        args = case.get("args", {})
        kwargs = dict(args)
        if case["name"] is not None:
            kwargs["connection_name"] = case["name"]  # None: the connector picks the default
        oracle_cases.append({"id": case_id, "env": env, "kwargs": kwargs})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # region and token-file warnings: tested elsewhere
            conn = resolve_connection(case["name"], overrides=args, env=env)
            auth = build_auth(conn)
        mine: dict[str, Any] = {"host": conn.base_url.partition("://")[2].partition("/")[0]}
        if isinstance(auth, KeyPairAuth):
            mine.update(iss=auth.issuer, sub=auth.subject, token=None)
        else:
            assert isinstance(auth, PatAuth)
            mine.update(iss=None, sub=None, token=auth._token.reveal())
        ours[case_id] = mine
    cases_file = root / "cases.json"
    cases_file.write_text(json.dumps(oracle_cases))
    ran = subprocess.run([sys.executable, str(ORACLE), str(cases_file)], capture_output=True,
                         text=True, timeout=600, check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    theirs = {result["id"]: result for result in json.loads(ran.stdout.strip().splitlines()[-1])}
    return {case_id: {"connector": theirs[case_id], "tasknb": ours[case_id]} for case_id in CASES}


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case_id", sorted(set(CASES) - set(DELIBERATE)))
def test_tasknb_reads_the_connection_as_the_connector_does(answers, case_id) -> None:
    connector, mine = answers[case_id]["connector"], answers[case_id]["tasknb"]
    assert connector.get("error") is None or connector.get("host"), connector
    assert mine["host"] == connector["host"]
    assert (mine["iss"], mine["sub"]) == (connector["iss"], connector["sub"])
    assert mine["token"] == connector["token"]


def _matches(expected: Any, actual: Any, fingerprint: str) -> bool:
    if expected == ORG_ISS:
        return actual == ORG_ISS + fingerprint
    return actual == expected


@pytest.mark.parametrize("case_id", sorted(DELIBERATE))
def test_deliberate_differences_are_exactly_these(answers, case_id) -> None:
    connector, mine = answers[case_id]["connector"], answers[case_id]["tasknb"]
    fingerprint = answers["org-account"]["connector"]["iss"].rpartition(".SHA256:")[2]
    theirs, ours = DELIBERATE[case_id]
    for field, expected in theirs.items():
        if field == "error":
            assert expected in (connector.get("error") or ""), connector
        else:
            assert connector.get(field) == expected, connector
    for field, expected in ours.items():
        assert _matches(expected, mine[field], fingerprint), (field, mine)
