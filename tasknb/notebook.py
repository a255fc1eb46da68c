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

from .durations import format_duration, parse_duration

if TYPE_CHECKING:
    from .client import TaskClient
    from .local import LocalServer

__all__ = [
    "CONNECTION_ENV",
    "DEMO_DATABASE",
    "DEMO_SCHEMA",
    "MAX_REAL_WAIT",
    "TOKEN_ENV",
    "URL_ENV",
    "advance",
    "client",
    "describe",
    "local_clock",
    "on_account",
    "on_local_server",
    "server",
    "warehouse_of",
]

CONNECTION_ENV = "TASKNB_CONNECTION"  # a connection name: run every notebook on that account
URL_ENV = "TASKNB_URL"  # a running local server (exported by `tasknb demo`)
TOKEN_ENV = "TASKNB_TOKEN"
DEMO_DATABASE = "DEMO_DB"  # where the demo seed puts its task graphs
DEMO_SCHEMA = "PIPELINES"
EMBEDDED_SEED = "demo"
EMBEDDED_CLOCK = "manual"  # notebooks fast-forward time with advance()
CLOCK_ADVANCE_PATH = "/tasknb/v1/clock:advance"
CLOCK_PATH = "/tasknb/v1/clock"  # answered only by tasknb's local server
CLOCK_REQUEST_TIMEOUT_S = 120.0  # advancing a day may run many graphs
PROBE_TIMEOUT_S = 5.0
#: advance() on real time (an account) waits at most this long; longer is refused.
MAX_REAL_WAIT = timedelta(minutes=15)
WAIT_TICK_S = 0.5  # how often the progress bar moves while waiting for real

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


def advance(
    delta: timedelta | float | str,
    connection: str | None = None,
    *,
    max_wait: timedelta | float | str = MAX_REAL_WAIT,
) -> list[Any]:
    """Let ``delta`` of time pass: fast-forward a local server's manual clock, else wait.

    ``advance("1 hour")`` (any text ``tasknb.durations.parse_duration`` reads) returns the
    graph runs the schedules produced on a local server with a manual clock (also one reached
    through a connection entry). On real time (an account) it waits with a progress bar that
    shows the time left, and stops on an interrupt; a wait longer than ``max_wait`` (default
    :data:`MAX_REAL_WAIT`) is refused up front with a message saying how long it would take.
    """
    duration = parse_duration(delta)
    target = _target(connection)
    if target.kind == "embedded":
        return list(_start_embedded().advance(duration))
    if target.kind == "attached":
        return _advance_attached(target, duration.total_seconds())
    with client(connection) as account:
        if local_clock(account) == "manual":
            runs = _post_advance(account._http, duration.total_seconds(), account.base_url)
            print(f"{account.base_url} is a tasknb local server with a manual clock: fast-"
                  f"forwarded {format_duration(duration.total_seconds())} ({len(runs)} graph runs)")
            return runs
    _wait_for_real(duration, parse_duration(max_wait))
    return []


def _wait_for_real(duration: timedelta, max_wait: timedelta) -> None:
    seconds = duration.total_seconds()
    wanted = format_duration(seconds)
    if duration > max_wait:
        raise ValueError(
            f"advance({wanted!r}) on an account waits for real: it would block this kernel "
            f"for {wanted}, longer than {format_duration(max_wait.total_seconds())}. Let the "
            "schedules run and come back later, or pass max_wait= to wait that long anyway."
        )
    from tqdm.auto import tqdm

    done = 0.0
    began = time.monotonic()
    bar = tqdm(
        total=round(seconds, 1),
        desc=f"waiting {wanted} of real time (interrupt to stop)",
        bar_format="{desc}: {bar} {remaining} left",
    )
    try:
        while done < seconds:
            time.sleep(min(WAIT_TICK_S, seconds - done))
            step = min(time.monotonic() - began, seconds) - done
            bar.update(round(step, 1))
            done += step
    except KeyboardInterrupt:
        bar.set_description(f"stopped waiting after {format_duration(done)} of {wanted}")
        raise
    finally:
        bar.close()


def local_clock(task_client: TaskClient) -> str | None:
    """``"manual"`` or ``"real"`` when ``task_client`` talks to a tasknb local server, else None.

    Asks the local server's clock endpoint, which Snowflake does not have: an account (or
    anything that does not answer it) is None.
    """
    import httpx

    try:
        response = task_client._http.get(CLOCK_PATH, timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        mode = response.json().get("mode")
    except (ValueError, AttributeError):
        return None
    return mode if mode in ("manual", "real") else None


def on_account(connection: str | None = None) -> bool:
    """Whether `client(connection)` goes through a connection entry (someone's account).

        >>> on_account("prod")
        True
    """
    return _target(connection).kind == "account"


def on_local_server(task_client: TaskClient) -> bool:
    """Whether ``task_client`` talks to a tasknb local server (never an account)."""
    return local_clock(task_client) is not None


def warehouse_of(task_client: TaskClient) -> str | None:
    """The warehouse the client sends with its requests (the connection's), if any."""
    return task_client._http.headers.get("X-Snowflake-Warehouse") or None


def _advance_attached(target: _Target, seconds: float) -> list[Any]:
    import httpx

    assert target.url is not None and target.token is not None
    with httpx.Client(
        base_url=target.url, headers={"Authorization": f"Bearer {target.token}"}
    ) as http:
        return _post_advance(http, seconds, target.url)


def _post_advance(http: Any, seconds: float, url: str) -> list[Any]:
    response = http.post(
        CLOCK_ADVANCE_PATH, json={"seconds": seconds}, timeout=CLOCK_REQUEST_TIMEOUT_S
    )
    if response.status_code >= 400:
        raise RuntimeError(
            f"the local server at {url} refused to advance its clock "
            f"(HTTP {response.status_code}): {response.text[:200]}; "
            "is it running with clock='manual'?"
        )
    body = response.json()
    if isinstance(body, dict):
        runs = body.get("runs", [])
        return list(runs) if isinstance(runs, list) else []
    return list(body) if isinstance(body, list) else []
