"""Connections, read the way the Snowflake CLI and the Python connector read them.

    >>> resolve_connection(overrides={"base_url": "http://127.0.0.1:8080", "token": "t"},
    ...                    env={}).base_url
    'http://127.0.0.1:8080'

Where (first match wins for the directory):

* ``$SNOWFLAKE_HOME`` (default ``~/.snowflake``) **if that directory exists**,
* else the platform config dir (Linux: ``$XDG_CONFIG_HOME/snowflake`` or
  ``~/.config/snowflake``; macOS: ``~/Library/Application Support/snowflake``;
  Windows: ``%USERPROFILE%\\AppData\\Local\\snowflake``).

What: ``connections.toml`` holds one table per connection (``[myconn]``); ``config.toml``
holds ``default_connection_name`` and ``[connections.myconn]`` tables. When both files
exist, connections come only from ``connections.toml``. ``SNOWFLAKE_CONNECTIONS`` may hold
the whole connections TOML.

Which connection: the ``connection`` argument, else ``SNOWFLAKE_DEFAULT_CONNECTION_NAME``,
else ``default_connection_name``, else the one named ``default``.

Precedence of values: arguments > ``SNOWFLAKE_CONNECTIONS_<NAME>_<KEY>`` > the file >
generic variables (``SNOWFLAKE_ACCOUNT``, ``SNOWFLAKE_USER``, ...).

Files must be owner-only on Linux/macOS: group/world-writable is always an error;
group/world-readable is an error unless ``SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION``
is true, which turns it into a warning. A ``token_file_path`` readable by others (mounted
secrets often are) is read with a warning, as the connector reads it.

Where tasknb and the connector (snowflake-connector-python 5.2, the oracle of
``tests/test_connection_oracle.py``) read a connection differently, on purpose:
``xy12345.cn-north-1`` goes to ``.snowflakecomputing.cn`` (connector 4 and ``snow`` do that;
5.2 sends it to ``.com``); an account given as a URL (``https://...``) or with its domain is
used as that host (5.2 refuses the first and doubles the domain of the second);
``SNOWFLAKE_CONNECTIONS_<NAME>_<KEY>``, ``PRIVATE_KEY_PASSPHRASE`` and ``private_key_path``
are read as ``snow`` reads them (5.2 ignores all three). ``region`` is ignored with a warning,
as 5.2 ignores it.
"""

from __future__ import annotations

import os
import stat
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._extras import require
from ._secret import Secret
from .auth import KeyPairAuth, OAuthAuth, PatAuth
from .errors import ConfigError
from .sessions import SessionAuth, connector_login, connector_parameters

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "CONFIG_FILE",
    "CONNECTIONS_FILE",
    "SECRET_KEYS",
    "ConfigPermissionWarning",
    "ConfigRegionWarning",
    "Connection",
    "account_identifier",
    "build_auth",
    "config_dir",
    "connection_names",
    "resolve_connection",
]

CONNECTIONS_FILE = "connections.toml"
CONFIG_FILE = "config.toml"
DEFAULT_CONNECTION = "default"
SNOWFLAKE_DOMAIN = "snowflakecomputing.com"
SNOWFLAKE_DOMAIN_CN = "snowflakecomputing.cn"

#: values that are secrets: held as ``Secret`` and never printed
SECRET_KEYS = frozenset(
    {
        "password",
        "token",
        "private_key_raw",
        "private_key_file_pwd",
        "private_key_passphrase",
        "oauth_client_secret",
        "session_token",
        "master_token",
        "passcode",
    }
)
#: generic variables the CLI reads at the lowest precedence (SNOWFLAKE_<KEY>)
GENERIC_KEYS = (
    "account",
    "user",
    "password",
    "host",
    "port",
    "protocol",
    "region",
    "role",
    "warehouse",
    "database",
    "schema",
    "authenticator",
    "private_key_path",
    "private_key_file",
    "private_key_raw",
    "token",
    "token_file_path",
)
_SKIP_PERMISSION_VARS = (
    "SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION",
    "SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION",
)
_TRUE = {"1", "true", "yes", "on", "y"}
_TOKEN_AUTHENTICATORS = {"PROGRAMMATIC_ACCESS_TOKEN": PatAuth, "OAUTH": OAuthAuth}
_SESSION_AUTHENTICATORS = {  # logged in by the connector; tasknb then uses the session token
    "SNOWFLAKE",
    "EXTERNALBROWSER",
    "USERNAME_PASSWORD_MFA",
    "OAUTH_AUTHORIZATION_CODE",
    "OAUTH_CLIENT_CREDENTIALS",
    "WORKLOAD_IDENTITY",
}


class ConfigPermissionWarning(UserWarning):
    """A connection or token file is readable by others (a warning, not a refusal)."""


class ConfigRegionWarning(UserWarning):
    """``region`` is set: ignored, as the connector ignores it."""


@dataclass
class Connection:
    """A resolved connection: where to send requests and with which credentials.

        >>> Connection(name="x", values={"token": Secret("t")})
        Connection(name='x', base_url=None, database=None, schema=None, sources=[], values={'token': ***})

    ``values`` holds every key after precedence was applied; secret ones are ``Secret``.
    """

    name: str | None
    values: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    base_url: str | None = None

    @property
    def database(self) -> str | None:
        return self.values.get("database")

    @property
    def schema(self) -> str | None:
        return self.values.get("schema")

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k!r}: {'***' if k in SECRET_KEYS else repr(v)}" for k, v in self.values.items()
        )
        return (
            f"Connection(name={self.name!r}, base_url={self.base_url!r}, "
            f"database={self.database!r}, schema={self.schema!r}, sources={self.sources!r}, "
            f"values={{{shown}}})"
        )


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The directory the connection files are read from (see the module docstring).

    >>> config_dir({"SNOWFLAKE_HOME": "/"})
    PosixPath('/')
    """
    env = os.environ if env is None else env
    home = Path(env.get("SNOWFLAKE_HOME") or "~/.snowflake").expanduser()
    if home.is_dir():
        return home
    if sys.platform == "win32":  # pragma: no cover - platform specific
        base = Path(env.get("USERPROFILE") or Path.home()) / "AppData" / "Local"
        return base / "snowflake"
    if sys.platform == "darwin":  # pragma: no cover - platform specific
        return Path("~/Library/Application Support/snowflake").expanduser()
    xdg = env.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path("~/.config").expanduser()) / "snowflake"


def _check_permissions(path: Path, env: Mapping[str, str]) -> None:
    if sys.platform == "win32":  # pragma: no cover - POSIX permissions only
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"{path} is writable by other users (mode {stat.S_IMODE(mode):o}); "
            f"fix it with: chmod 0600 {path}"
        )
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        message = (
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); "
            f"fix it with: chmod 0600 {path}"
        )
        if any(str(env.get(v, "")).lower() in _TRUE for v in _SKIP_PERMISSION_VARS):
            warnings.warn(message, ConfigPermissionWarning, stacklevel=4)
            return
        raise ConfigError(
            message + " (or set SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION=true to only warn)"
        )


def _read_toml(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    _check_permissions(path, env)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


@dataclass
class _Files:
    directory: Path
    connections: dict[str, dict[str, Any]]
    default_name: str | None
    sources: list[str]


def _load_files(env: Mapping[str, str]) -> _Files:
    directory = config_dir(env)
    connections_path = directory / CONNECTIONS_FILE
    config_path = directory / CONFIG_FILE
    connections: dict[str, dict[str, Any]] = {}
    default_name = None
    sources: list[str] = []
    config: dict[str, Any] = {}
    if config_path.is_file():
        config = _read_toml(config_path, env)
        sources.append(str(config_path))
        default_name = config.get("default_connection_name")
    if connections_path.is_file():
        data = _read_toml(connections_path, env)
        sources.insert(0, str(connections_path))
        connections = {k: v for k, v in data.items() if isinstance(v, dict)}
    elif isinstance(config.get("connections"), dict):
        connections = {k: v for k, v in config["connections"].items() if isinstance(v, dict)}
    text = env.get("SNOWFLAKE_CONNECTIONS")
    if text:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"SNOWFLAKE_CONNECTIONS is not valid TOML: {exc}") from None
        connections = {k: v for k, v in data.items() if isinstance(v, dict)}
        sources.insert(0, "SNOWFLAKE_CONNECTIONS")
    return _Files(directory, connections, default_name, sources)


def connection_names(env: Mapping[str, str] | None = None) -> list[str]:
    """The names of the connections defined in the files (sorted)."""
    return sorted(_load_files(os.environ if env is None else env).connections)


def _env_overrides(name: str, env: Mapping[str, str]) -> dict[str, Any]:
    prefix = "SNOWFLAKE_CONNECTIONS_" + name.upper().replace("-", "_").replace(".", "_") + "_"
    return {k[len(prefix) :].lower(): v for k, v in env.items() if k.upper().startswith(prefix)}


def _generic_values(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        key: env[f"SNOWFLAKE_{key.upper()}"]
        for key in GENERIC_KEYS
        if env.get(f"SNOWFLAKE_{key.upper()}")
    }


def _hostname(values: Mapping[str, Any]) -> str | None:
    host = values.get("host")
    if host:
        return str(host)
    account = values.get("account")
    if not account:
        return None
    account = account_identifier(str(account))
    if account.endswith((SNOWFLAKE_DOMAIN, SNOWFLAKE_DOMAIN_CN)):
        return account
    # a China region (xy12345.cn-north-1) lives under .cn, as in connector 4 and `snow`
    # (connector 5.2 sends it to .com, where no China account is)
    region = account.partition(".")[2].partition(".")[0]
    domain = SNOWFLAKE_DOMAIN_CN if region.startswith("cn-") else SNOWFLAKE_DOMAIN
    # TLS certificates use hyphens: org_account -> org-account in the first label
    first, dot, rest = account.partition(".")
    return f"{first.replace('_', '-')}{dot}{rest}.{domain}"


def account_identifier(account: str) -> str:
    """The account as a host prefix: lower case, no scheme, path or surrounding spaces.

        >>> account_identifier(" https://MyOrg-Acct.snowflakecomputing.com/console ")
        'myorg-acct.snowflakecomputing.com'
    """
    text = account.strip()
    if "://" in text:
        text = text.partition("://")[2]
    return text.partition("/")[0].lower()


def _base_url(values: Mapping[str, Any]) -> str | None:
    if values.get("base_url"):
        return str(values["base_url"]).rstrip("/")
    host = _hostname(values)
    if host is None:
        return None
    if "://" in host:  # a full URL given as host
        return host.rstrip("/")
    protocol = str(values.get("protocol") or "https").lower()
    port = values.get("port")
    default_port = {"https": 443, "http": 80}.get(protocol)
    netloc = host if not port or int(port) == default_port else f"{host}:{int(port)}"
    return f"{protocol}://{netloc}"


def _wrap_secrets(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (
            Secret(str(v))
            if k in SECRET_KEYS and v is not None and not isinstance(v, Secret)
            else v
        )
        for k, v in values.items()
        if v is not None
    }


def resolve_connection(
    connection: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Connection:
    """Resolve a connection from the files, the variables and ``overrides``.

        >>> c = resolve_connection(overrides={"account": "myorg-acct", "token": "t"}, env={})
        >>> c.base_url
        'https://myorg-acct.snowflakecomputing.com'

    When ``connection`` is ``None`` and ``overrides`` give a ``base_url`` or an ``account``,
    the files are optional (a local server or an explicit target needs none). Otherwise the
    named (or default) connection must exist, and the error lists the known ones.
    """
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    explicit_target = bool(
        overrides.get("base_url") or overrides.get("account") or overrides.get("host")
    )
    name = connection
    file_values: dict[str, Any] = {}
    sources: list[str] = []
    if connection is not None or not explicit_target:
        files = _load_files(env)
        if name is None:
            name = env.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME") or files.default_name
            if name is None and DEFAULT_CONNECTION in files.connections:
                name = DEFAULT_CONNECTION
        if name is None:
            raise ConfigError(
                "no connection to use: no connection named 'default', no "
                "default_connection_name and no SNOWFLAKE_DEFAULT_CONNECTION_NAME (looked in "
                f"{', '.join(files.sources) or str(files.directory)}). Create connections.toml "
                "there as for the `snow` CLI, or pass base_url= and token="
            )
        if name not in files.connections:
            known = sorted(files.connections)
            where = ", ".join(files.sources) or f"{files.directory} (no connection files there)"
            raise ConfigError(
                f"connection {name!r} cannot be found in {where}; known ones are {known}. "
                "Define it in connections.toml, or pass base_url=/account= to connect()"
            )
        file_values = dict(files.connections[name])
        sources = files.sources
    values: dict[str, Any] = _generic_values(env)
    values.update(file_values)
    if name is not None:
        values.update(_env_overrides(name, env))
    if env.get("PRIVATE_KEY_PASSPHRASE"):  # the environment wins over the file, as in `snow`
        for key in ("private_key_file_pwd", "private_key_passphrase"):
            values.pop(key, None)
        values["private_key_passphrase"] = env["PRIVATE_KEY_PASSPHRASE"]
    values.update(overrides)
    if "private_key_path" in values and "private_key_file" not in values:
        values["private_key_file"] = values.pop("private_key_path")
    if "private_key_file_pwd" in values:
        pwd = values.pop("private_key_file_pwd")
        values.setdefault("private_key_passphrase", pwd)
    if values.get("region") and not values.get("host") and not values.get("base_url"):
        warnings.warn(
            f"connection {name!r}: region = {values['region']!r} is ignored, as "
            "snowflake-connector-python ignores it; put the region in the account instead "
            f"(account = '{str(values.get('account', 'xy12345')).partition('.')[0]}."
            f"{values['region']}')", ConfigRegionWarning, stacklevel=2)
    resolved = Connection(
        name=name,
        values=_wrap_secrets(values),
        sources=sources,
    )
    resolved.base_url = _base_url(resolved.values)
    if resolved.base_url is None:
        raise ConfigError(
            f"connection {name!r} says nowhere to connect: set account (e.g. 'myorg-myacct'), "
            "host, or base_url"
        )
    return resolved


def _read_token_file(path: str, env: Mapping[str, str] | None = None) -> Secret:
    file = Path(path).expanduser()
    if file.is_file():  # read like the connector: others may read it (mounted secrets): a warning
        _check_permissions(file, {_SKIP_PERMISSION_VARS[0]: "true"})
    try:
        text = file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read token_file_path {path!r}: {exc.strerror or exc}") from None
    if not text:
        raise ConfigError(f"token_file_path {path!r} is empty")
    return Secret(text)


def build_auth(conn: Connection) -> httpx.Auth | None:
    """The ``httpx.Auth`` for a resolved connection.

        >>> build_auth(Connection("x", {"token": Secret("t")}))
        PatAuth(token=***)

    ``authenticator`` picks the scheme: ``PROGRAMMATIC_ACCESS_TOKEN`` (also the default when
    only a token is given), ``OAUTH``, or ``SNOWFLAKE_JWT`` (also the default when a private
    key is given): tasknb signs those itself. Every other login the connector knows
    (``SNOWFLAKE`` password, also the default when only a password is given,
    ``EXTERNALBROWSER``, ``USERNAME_PASSWORD_MFA``, ``OAUTH_*``, Okta URLs,
    ``WORKLOAD_IDENTITY``) is a ``SessionAuth`` that logs in through snowflake-connector-python
    at the first request (``MissingExtra`` now if it is not installed).
    """
    values = conn.values
    authenticator = str(values.get("authenticator") or "").upper() or None
    token: Secret | None = None
    if values.get("token_file_path"):  # the connector prefers the file when both are set
        token = _read_token_file(str(values["token_file_path"]))
    elif values.get("token"):
        token = Secret(values["token"])
    has_key = bool(values.get("private_key_file") or values.get("private_key_raw"))
    if authenticator is None:
        authenticator = (
            "SNOWFLAKE_JWT" if has_key else "PROGRAMMATIC_ACCESS_TOKEN" if token else None
        )
    if authenticator is None:
        if values.get("password"):
            return _session_auth(conn, "SNOWFLAKE")
        return None
    if authenticator in _TOKEN_AUTHENTICATORS:
        if token is None:
            raise ConfigError(
                f"authenticator {authenticator} needs a token: set token or token_file_path"
            )
        return _TOKEN_AUTHENTICATORS[authenticator](token)
    if authenticator in {"SNOWFLAKE_JWT", "KEYPAIR_JWT"}:
        if not has_key:
            raise ConfigError("authenticator SNOWFLAKE_JWT needs private_key_file (or _raw)")
        return KeyPairAuth(
            str(values.get("account") or ""),
            str(values.get("user") or ""),
            private_key_file=values.get("private_key_file"),
            private_key_raw=values.get("private_key_raw"),
            passphrase=values.get("private_key_passphrase"),
        )
    if authenticator in _SESSION_AUTHENTICATORS or authenticator.startswith("HTTPS://"):
        return _session_auth(conn, authenticator)
    raise ConfigError(
        f"unknown authenticator {authenticator!r}: use PROGRAMMATIC_ACCESS_TOKEN, OAUTH, "
        f"SNOWFLAKE_JWT, or one of the connector's: {', '.join(sorted(_SESSION_AUTHENTICATORS))} "
        "or an https://<okta>.okta.com URL"
    )


def _session_auth(conn: Connection, authenticator: str) -> SessionAuth:
    """A session login through the connector (checked now: the extra must be installed)."""
    user = conn.get("user")
    describe = f"{authenticator} as {user}" if user else authenticator
    require("connector", f"authenticator {authenticator}", ["snowflake.connector"])
    params = connector_parameters(conn.values)
    return SessionAuth(lambda: connector_login(params, describe), describe=describe)
