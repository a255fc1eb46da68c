"""The bridge notebooks use: one call gives a client, on the local server or on an account.

    >>> describe("my_connection")
    "Snowflake account from connection 'my_connection'"

``tasknb.notebook.client()`` talks to the local server with demo data,
``tasknb.notebook.client("my_connection")`` to a real account, in the same notebook. Which server `client(connection=None)` talks to, in order:

1. a connection name, given or in ``$TASKNB_CONNECTION``: ``tasknb.connect(name, ...)``;
2. ``$TASKNB_URL`` and ``$TASKNB_TOKEN`` (set by ``tasknb demo`` for its kernels): that
   local server;
3. otherwise an embedded local server with the demo data and a manual clock, started once
   and stopped when the kernel exits.

Nothing here prints or returns a token; `describe()` names the server without secrets.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .durations import parse_duration

if TYPE_CHECKING:
    from .client import TaskClient
    from .local import LocalServer

__all__ = [
    "CONNECTION_ENV",
    "DEMO_DATABASE",
    "DEMO_SCHEMA",
    "TOKEN_ENV",
    "URL_ENV",
    "advance",
    "client",
    "describe",
    "server",
]

CONNECTION_ENV = "TASKNB_CONNECTION"  # a connection name: run every notebook on that account
URL_ENV = "TASKNB_URL"  # a running local server (exported by `tasknb demo`)
TOKEN_ENV = "TASKNB_TOKEN"
DEMO_DATABASE = "DEMO_DB"  # where the demo seed puts its task graphs
DEMO_SCHEMA = "PIPELINES"
EMBEDDED_SEED = "demo"
EMBEDDED_CLOCK = "manual"  # notebooks fast-forward time with advance()
CLOCK_ADVANCE_PATH = "/tasknb/v1/clock:advance"
CLOCK_REQUEST_TIMEOUT_S = 120.0  # advancing a day may run many graphs

@dataclass(frozen=True)
class _Target:
    kind: str  # "account" | "attached" | "embedded"
    connection: str | None = None
    url: str | None = None
    token: str | None = None  # never shown: __repr__ below leaves it out

    def __repr__(self) -> str:
        return f"_Target(kind={self.kind!r}, connection={self.connection!r}, url={self.url!r})"


_lock = threading.Lock()
_embedded: LocalServer | None = None
_embedded_dir: tempfile.TemporaryDirectory[str] | None = None


def _target(connection: str | None) -> _Target:
    name = connection or os.environ.get(CONNECTION_ENV) or None
    if name:
        return _Target("account", connection=name)
    url = os.environ.get(URL_ENV)
    if url:
        token = os.environ.get(TOKEN_ENV)
        if not token:
            raise RuntimeError(
                f"{URL_ENV} is set but {TOKEN_ENV} is empty: export the local server's token "
                f"too (tasknb demo does both), or unset {URL_ENV} to use an embedded server"
            )
        return _Target("attached", url=url.rstrip("/"), token=token)
    return _Target("embedded")


def _start_embedded() -> LocalServer:
    global _embedded, _embedded_dir
    with _lock:
        if _embedded is None:
            from . import local

            _embedded_dir = tempfile.TemporaryDirectory(prefix="tasknb-notebook-")
            _embedded = local.start(
                seed=EMBEDDED_SEED, clock=EMBEDDED_CLOCK, data_dir=_embedded_dir.name
            )
            atexit.register(_stop_embedded)
        return _embedded


def _stop_embedded() -> None:
    global _embedded, _embedded_dir
    with _lock:
        server, _embedded = _embedded, None
        data_dir, _embedded_dir = _embedded_dir, None
    if server is not None:
        server.stop()
    if data_dir is not None:
        data_dir.cleanup()


def client(
    connection: str | None = None,
    *,
    database: str | None = None,
    schema: str | None = None,
) -> TaskClient:
    """A TaskClient for this notebook: the local server by default, an account given a name.

    ``client()`` gives the demo data in ``DEMO_DB.PIPELINES``;
    ``client("prod", database="ANALYTICS", schema="PIPELINES")`` an account. On the local server database and schema default to the demo's; on an account they
    default to the connection's.
    """
    target = _target(connection)
    if target.kind == "account":
        import tasknb

        return tasknb.connect(target.connection, database=database, schema=schema)
    database = database or DEMO_DATABASE
    schema = schema or DEMO_SCHEMA
    if target.kind == "attached":
        import tasknb

        return tasknb.connect(
            base_url=target.url, token=target.token, database=database, schema=schema
        )
    return _start_embedded().connect(database=database, schema=schema)


def server() -> LocalServer | None:
    """The embedded local server (started on first use), or None on an account or `tasknb demo`.

    ``srv = server()`` then ``srv.advance("10 minutes")`` when ``srv`` is not None.
    """
    if _target(None).kind != "embedded":
        return None
    return _start_embedded()


def describe(connection: str | None = None) -> str:
    """One line naming where `client(connection)` goes, never with a token.

        >>> describe("prod")
        "Snowflake account from connection 'prod'"

    With no connection: ``'embedded local server at http://127.0.0.1:PORT (demo data, ...)'``.
    """
    target = _target(connection)
    if target.kind == "account":
        return f"Snowflake account from connection {target.connection!r}"
    if target.kind == "attached":
        return f"local server at {target.url} (from ${URL_ENV})"
    return f"embedded local server at {_start_embedded().url} (demo data, manual clock)"


def advance(delta: timedelta | float | str, connection: str | None = None) -> list[Any]:
    """Fast-forward the local server's clock; on an account, wait for real.

    ``advance("1 hour")`` (any text ``tasknb.durations.parse_duration`` reads) returns the
    graph runs the schedules produced on the local server, ``[]`` on an account (time simply
    passes).
    """
    duration = parse_duration(delta)
    target = _target(connection)
    if target.kind == "embedded":
        return list(_start_embedded().advance(duration))
    if target.kind == "attached":
        return _advance_attached(target, duration.total_seconds())
    time.sleep(duration.total_seconds())
    return []


def _advance_attached(target: _Target, seconds: float) -> list[Any]:
    import httpx

    assert target.url is not None and target.token is not None
    response = httpx.post(
        target.url + CLOCK_ADVANCE_PATH,
        json={"seconds": seconds},
        headers={"Authorization": f"Bearer {target.token}"},
        timeout=CLOCK_REQUEST_TIMEOUT_S,
    )
    if response.status_code >= 400:
        raise RuntimeError(
            f"the local server at {target.url} refused to advance its clock "
            f"(HTTP {response.status_code}): {response.text[:200]}; "
            "is it running with clock='manual'?"
        )
    body = response.json()
    if isinstance(body, dict):
        runs = body.get("runs", [])
        return list(runs) if isinstance(runs, list) else []
    return list(body) if isinstance(body, list) else []
