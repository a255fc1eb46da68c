"""Connection files and variables, read as the Snowflake CLI and connector read them."""

from __future__ import annotations

import os

import pytest
from client_support import write_private
from cryptography.hazmat.primitives import serialization

import tasknb
from tasknb import ConfigError, KeyPairAuth, OAuthAuth, PatAuth, SessionAuth
from tasknb.config import (
    ConfigPermissionWarning,
    ConfigRegionWarning,
    build_auth,
    config_dir,
    connection_names,
    resolve_connection,
)

CONNECTIONS = """
[default]
account = "myorg-default"
token = "pat-default"
database = "D0"
schema = "S0"

[dev]
account = "myorg-dev"
user = "jane"
token = "pat-dev"
authenticator = "PROGRAMMATIC_ACCESS_TOKEN"
database = "DEV_DB"
schema = "PUBLIC"
role = "DEVELOPER"
warehouse = "WH"

[local]
host = "127.0.0.1"
port = 8765
protocol = "http"
token = "local-token"
"""


def test_config_dir_uses_snowflake_home_only_if_it_exists(snowflake_home, tmp_path) -> None:
    env = dict(os.environ)
    assert config_dir(env) == snowflake_home
    env["SNOWFLAKE_HOME"] = str(tmp_path / "missing")
    assert config_dir(env) == tmp_path / "xdg" / "snowflake"
    env.pop("XDG_CONFIG_HOME")
    env.pop("SNOWFLAKE_HOME")
    assert config_dir(env) == tmp_path / "user-home" / ".config" / "snowflake"


def test_connections_toml_tables_without_prefix(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    assert connection_names() == ["default", "dev", "local"]
    conn = resolve_connection("dev")
    assert conn.base_url == "https://myorg-dev.snowflakecomputing.com"
    assert (conn.database, conn.schema, conn.get("role")) == ("DEV_DB", "PUBLIC", "DEVELOPER")
    assert conn.sources == [str(snowflake_home / "connections.toml")]


def test_a_connection_named_default_is_the_default(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    assert resolve_connection().name == "default"


def test_default_connection_name_from_config_toml_then_env(snowflake_home, monkeypatch) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    write_private(snowflake_home / "config.toml", 'default_connection_name = "dev"\n')
    assert resolve_connection().name == "dev"
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "local")
    assert resolve_connection().name == "local"
    assert resolve_connection("default").name == "default"  # an explicit name wins


def test_config_toml_connections_section(snowflake_home) -> None:
    write_private(
        snowflake_home / "config.toml",
        'default_connection_name = "cli"\n[connections.cli]\naccount = "org-cli"\ntoken = "t"\n',
    )
    conn = resolve_connection()
    assert conn.name == "cli" and conn.base_url == "https://org-cli.snowflakecomputing.com"


def test_when_both_files_exist_connections_come_only_from_connections_toml(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    write_private(
        snowflake_home / "config.toml", '[connections.only_in_config]\naccount = "x"\ntoken = "t"\n'
    )
    assert "only_in_config" not in connection_names()
    with pytest.raises(ConfigError, match="'only_in_config' cannot be found.*known ones are"):
        resolve_connection("only_in_config")


def test_env_overrides_per_connection_beat_the_file(snowflake_home, monkeypatch) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS_DEV_DATABASE", "FROM_ENV")
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS_DEV_ROLE", "ENV_ROLE")
    monkeypatch.setenv("SNOWFLAKE_DATABASE", "GENERIC")  # lowest precedence
    monkeypatch.setenv("SNOWFLAKE_WAREHOUSE", "GENERIC_WH")
    conn = resolve_connection("dev")
    assert conn.database == "FROM_ENV" and conn.get("role") == "ENV_ROLE"
    assert conn.get("warehouse") == "WH"  # the file beats the generic variable
    conn = resolve_connection("dev", overrides={"database": "ARG"})
    assert conn.database == "ARG"  # arguments beat everything
    conn = resolve_connection("local")
    assert conn.get("warehouse") == "GENERIC_WH"


def test_snowflake_connections_variable_holds_the_whole_toml(snowflake_home, monkeypatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS", '[ci]\naccount = "org-ci"\ntoken = "t"\n')
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "ci")
    assert resolve_connection().base_url == "https://org-ci.snowflakecomputing.com"


def test_local_host_port_protocol(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    assert resolve_connection("local").base_url == "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("values", "url"),
    [
        ({"account": "myorg-acct"}, "https://myorg-acct.snowflakecomputing.com"),
        ({"account": "my_org-acct_1"}, "https://my-org-acct-1.snowflakecomputing.com"),
        (
            {"account": "xy12345.us-east-2.aws"},
            "https://xy12345.us-east-2.aws.snowflakecomputing.com",
        ),
        (
            {"account": "xy12345.cn-north-1"},
            "https://xy12345.cn-north-1.snowflakecomputing.cn",
        ),
        (
            {"account": "https://MyOrg-Acct.snowflakecomputing.com/"},
            "https://myorg-acct.snowflakecomputing.com",
        ),
        (
            {"account": "a", "host": "a.privatelink.snowflakecomputing.com"},
            "https://a.privatelink.snowflakecomputing.com",
        ),
        ({"account": "a", "port": 8443}, "https://a.snowflakecomputing.com:8443"),
        ({"base_url": "http://127.0.0.1:9000/"}, "http://127.0.0.1:9000"),
    ],
)
def test_host_rules(values, url) -> None:
    assert resolve_connection(overrides={**values, "token": "t"}, env={}).base_url == url


def test_explicit_target_reads_no_files(snowflake_home) -> None:
    (snowflake_home / "connections.toml").write_text("this is not toml")
    conn = resolve_connection(overrides={"base_url": "http://127.0.0.1:1", "token": "t"})
    assert conn.sources == [] and conn.name is None


def test_no_connection_at_all_says_where_it_looked(snowflake_home) -> None:
    with pytest.raises(ConfigError, match="no connection to use.*snowflake-home"):
        resolve_connection()


def test_missing_named_connection_lists_known_ones(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    with pytest.raises(
        ConfigError, match=r"'prod' cannot be found .* \['default', 'dev', 'local'\]"
    ):
        resolve_connection("prod")


def test_group_readable_file_is_an_error_unless_relaxed(snowflake_home, monkeypatch) -> None:
    path = snowflake_home / "connections.toml"
    path.write_text(CONNECTIONS)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users.*chmod 0600"):
        resolve_connection("dev")
    monkeypatch.setenv("SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION", "true")
    with pytest.warns(ConfigPermissionWarning, match="readable by other users"):
        assert resolve_connection("dev").name == "dev"


def test_group_writable_file_is_always_an_error(snowflake_home, monkeypatch) -> None:
    path = snowflake_home / "connections.toml"
    path.write_text(CONNECTIONS)
    path.chmod(0o620)
    monkeypatch.setenv("SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION", "true")
    with pytest.raises(ConfigError, match="writable by other users"):
        resolve_connection("dev")


def test_invalid_toml_is_a_clear_error(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml", "[dev\naccount=")
    with pytest.raises(ConfigError, match="connections.toml is not valid TOML"):
        resolve_connection("dev")


# -- auth from a connection ---------------------------------------------------------------


def test_auth_pat_oauth_and_token_file(snowflake_home, tmp_path) -> None:
    assert isinstance(
        build_auth(resolve_connection(overrides={"account": "a", "token": "t"}, env={})), PatAuth
    )
    conn = resolve_connection(
        overrides={"account": "a", "token": "t", "authenticator": "oauth"}, env={}
    )
    assert isinstance(build_auth(conn), OAuthAuth)
    token_file = write_private(tmp_path / "token", "from-file\n")
    conn = resolve_connection(
        overrides={"account": "a", "token": "inline", "token_file_path": str(token_file)}, env={}
    )
    auth = build_auth(conn)
    assert auth._token.reveal() == "from-file"  # the connector prefers the file


def test_auth_keypair_from_connection_file(snowflake_home, tmp_path, rsa_key, monkeypatch) -> None:
    key_path = tmp_path / "rsa_key.p8"
    key_path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    write_private(
        snowflake_home / "connections.toml",
        f'[kp]\naccount = "myorg-acct"\nuser = "jane"\nprivate_key_path = "{key_path}"\n',
    )
    monkeypatch.setenv("PRIVATE_KEY_PASSPHRASE", "pw")
    auth = build_auth(resolve_connection("kp"))
    assert isinstance(auth, KeyPairAuth)
    assert auth.subject == "MYORG-ACCT.JANE"


@pytest.mark.parametrize(
    "authenticator", ["SNOWFLAKE", "externalbrowser", "https://okta.example.com"]
)
def test_session_login_authenticators_log_in_through_the_connector(authenticator) -> None:
    conn = resolve_connection(overrides={"account": "a", "user": "me", "password": "pw-" * 11,
                                         "authenticator": authenticator}, env={})
    auth = build_auth(conn)  # the login itself waits for the first request
    assert isinstance(auth, SessionAuth) and auth.logins == 0
    assert repr(auth) == f"SessionAuth({authenticator.upper()} as me, session=***)"


def test_password_only_is_a_snowflake_password_login() -> None:
    conn = resolve_connection(overrides={"account": "a", "password": "pw"}, env={})
    assert repr(build_auth(conn)) == "SessionAuth(SNOWFLAKE, session=***)"


def test_an_unknown_authenticator_names_the_known_ones() -> None:
    conn = resolve_connection(overrides={"account": "a", "authenticator": "magic"}, env={})
    with pytest.raises(ConfigError, match="unknown authenticator 'MAGIC'.*EXTERNALBROWSER"):
        build_auth(conn)


def test_connect_builds_a_client_from_the_default_connection(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml", CONNECTIONS)
    client = tasknb.connect("dev", schema="other")
    assert client.base_url == "https://myorg-dev.snowflakecomputing.com"
    assert (client.database, client.schema) == ("DEV_DB", "OTHER")
    assert isinstance(client.auth, PatAuth)
    assert client._http.headers["X-Snowflake-Role"] == "DEVELOPER"
    client.close()


def test_a_token_file_readable_by_others_is_read_with_a_warning(snowflake_home, tmp_path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("mounted-secret-token\n")
    token_file.chmod(0o644)  # as mounted secrets often are; the connector reads it too
    conn = resolve_connection(
        overrides={"account": "a", "token_file_path": str(token_file)}, env={}
    )
    with pytest.warns(ConfigPermissionWarning, match="token.*readable by other users"):
        auth = build_auth(conn)
    assert auth._token.reveal() == "mounted-secret-token"
    token_file.chmod(0o666)  # writable by others: anyone could plant a token
    with pytest.raises(ConfigError, match="writable by other users"):
        build_auth(conn)


def test_region_is_ignored_with_a_warning_saying_where_it_goes() -> None:
    with pytest.warns(ConfigRegionWarning, match="put the region in the account instead "
                                                 r"\(account = 'xy12345.us-east-2.aws'\)"):
        conn = resolve_connection(overrides={"account": "xy12345", "region": "us-east-2.aws",
                                             "token": "t"}, env={})
    assert conn.base_url == "https://xy12345.snowflakecomputing.com"


def test_private_key_passphrase_in_the_environment_wins_over_the_file(snowflake_home) -> None:
    write_private(snowflake_home / "connections.toml",
                  '[k]\naccount = "a"\nprivate_key_file = "/k.p8"\nprivate_key_file_pwd = "file"\n')
    env = {"SNOWFLAKE_HOME": str(snowflake_home), "PRIVATE_KEY_PASSPHRASE": "from-env"}
    assert resolve_connection("k", env=env).get("private_key_passphrase").reveal() == "from-env"
    argument = resolve_connection("k", env=env, overrides={"private_key_passphrase": "arg"})
    assert argument.get("private_key_passphrase").reveal() == "arg"  # an argument wins over both
    plain = resolve_connection("k", env={"SNOWFLAKE_HOME": str(snowflake_home)})
    assert plain.get("private_key_passphrase").reveal() == "file"
