"""Start and stop the local Task server: in a background thread, or in the foreground.

    >>> with start(clock="manual") as server:          # 127.0.0.1, a free port, a temp data dir
    ...     client = server.connect(database="DEMO", schema="PUBLIC")
    ...     runs = server.advance("1 day")               # doctest: +SKIP

``start()`` returns a :class:`LocalServer` handle (``.url``, ``.token``, ``.data_dir``,
``.service``, ``.connect()``, ``.advance()``, ``.now()``, ``.stop()``); ``serve()`` runs in the
foreground until interrupted, printing the URL and token (``tasknb server`` calls it). The token
is random unless given, is required on every request, and never appears in a repr or a log line.
"""

from __future__ import annotations

import atexit
import logging
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
import weakref
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from tasknb.local.api import auth
from tasknb.local.api.app import create_app
from tasknb.local.schedule import clock as scheduler
from tasknb.local.service import DEFAULT_COMPLETE_WINDOW, Service
from tasknb.local.service.bodies import from_db
from tasknb.local.service.runner import DEFAULT_MAX_WORKERS

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  # for `tasknb server`; start() picks a free port by default
STARTUP_TIMEOUT_SECONDS = 20.0
log = logging.getLogger("tasknb.local")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)?\s*$")
_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
          "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
          "weeks": 604800}


def parse_duration(delta: timedelta | float | str) -> timedelta:
    """``timedelta``, seconds, or text such as ``"10 minutes"``, ``"1 day"``, ``"90s"``.

        >>> parse_duration("2 hours"), parse_duration(30)
        (datetime.timedelta(seconds=7200), datetime.timedelta(seconds=30))
    """
    if isinstance(delta, timedelta):
        return delta
    if isinstance(delta, bool):
        raise TypeError("advance() takes a timedelta, a number of seconds or text like '1 day'")
    if isinstance(delta, (int, float)):
        return timedelta(seconds=delta)
    match = _DURATION.match(str(delta))
    unit = (match.group(2) or "s").lower() if match else None
    if not match or unit not in _UNITS:
        raise ValueError(f"Cannot read {delta!r} as a duration; use e.g. '10 minutes', '1 day', "
                         "90 (seconds) or a timedelta.")
    return timedelta(seconds=float(match.group(1)) * _UNITS[unit])


def _make_clock(clock: str, start_time: datetime | None, data_dir: Path) -> scheduler.Clock:
    if clock == "real":
        if start_time is not None:
            raise ValueError("start_time is only meaningful with clock='manual'")
        return scheduler.RealClock()
    if clock != "manual":
        raise ValueError(f"clock must be 'real' or 'manual', got {clock!r}")
    if start_time is None:
        from tasknb.local.store import STATE_FILE, Store

        if (data_dir / STATE_FILE).exists():
            store = Store(data_dir / STATE_FILE)
            try:
                # never behind a run already recorded (a kill can land between the two writes)
                saved = max(filter(None, (store.meta("manual_now"),
                                          store.latest_scheduled_time())), default=None)
            finally:
                store.close()
            if saved:
                start_time = from_db(saved)
    if start_time is not None and start_time.tzinfo is None:
        start_time = start_time.replace(tzinfo=timezone.utc)
    return scheduler.ManualClock(start_time)


class LocalServer:
    """A running local server; see the module docstring."""

    def __init__(self, service: Service, token: str, host: str, port: int, data_dir: Path,
                 temporary: bool, uv_server: uvicorn.Server, thread: threading.Thread) -> None:
        self.service = service
        self._token = token
        self.host = host
        self.port = port
        self.data_dir = data_dir
        self._temporary = temporary
        self._uv = uv_server
        self._thread = thread
        self._stopped = False

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        """The token every request must carry."""
        return self._token

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"LocalServer(url={self.url!r}, data_dir={str(self.data_dir)!r}, {state})"

    def connect(self, database: str | None = None, schema: str | None = None) -> Any:
        """A ``TaskClient`` for this server (creates the database/schema here if missing)."""
        if database is not None:
            self.service.ensure_schema(database, schema or "PUBLIC")
        import tasknb  # lazy: the local server never imports the client otherwise

        return tasknb.connect(base_url=self.url, token=self._token, database=database,
                              schema=schema)

    def advance(self, delta: timedelta | float | str) -> list[dict[str, Any]]:
        """Manual clock: fast-forward and return the graph runs the schedules produced."""
        return self.service.advance(parse_duration(delta))

    def now(self) -> datetime:
        """The server's current time."""
        return self.service.now()

    def stop(self) -> None:
        """Stop serving, wait for running tasks, close the store; remove a temp data dir."""
        if self._stopped:
            return
        self._stopped = True
        self._uv.should_exit = True
        self._thread.join(timeout=10)
        self.service.close()
        if self._temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalServer:  # noqa: PYI034 - final class in practice
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_RUNNING: weakref.WeakSet[LocalServer] = weakref.WeakSet()


@atexit.register
def _stop_running_servers() -> None:
    """Stop servers left running at interpreter exit: threads left inside DuckDB abort Python."""
    for server in list(_RUNNING):
        try:
            server.stop()
        except Exception:
            log.debug("stopping a local server at exit failed", exc_info=True)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _NoDelayH11(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY: headers and body go out in two writes, and
    without it Nagle's algorithm plus delayed ACKs add ~40 ms to every loopback request."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                log.debug("TCP_NODELAY not available", exc_info=True)
        super().connection_made(transport)


def _uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    # access_log off: request lines would otherwise be logged (never the token, but keep quiet)
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          lifespan="off", server_header=False, timeout_graceful_shutdown=5,
                          http=_NoDelayH11)


def _prepare(data_dir: str | Path | None, token: str | None, clock: str,
             start_time: datetime | None, complete_window: timedelta,
             max_workers: int) -> tuple[Service, str, Path, bool]:
    if token is not None and not re.fullmatch(r'[^\s"]{8,}', token):
        raise ValueError("The token must be at least 8 characters with no spaces or double "
                         "quotes (it travels in an Authorization header).")
    temporary = data_dir is None
    path = Path(tempfile.mkdtemp(prefix="tasknb-local-")) if temporary else Path(data_dir)  # type: ignore[arg-type]
    path.mkdir(parents=True, exist_ok=True)
    service = Service(path, clock=_make_clock(clock, start_time, path),
                      complete_window=complete_window, max_workers=max_workers)
    return service, token or auth.new_token(), path, temporary


def start(*, data_dir: str | Path | None = None, host: str = DEFAULT_HOST, port: int = 0,
          token: str | None = None, seed: str | None = None, clock: str = "real",
          start_time: datetime | None = None,
          complete_window: timedelta = DEFAULT_COMPLETE_WINDOW,
          max_workers: int = DEFAULT_MAX_WORKERS) -> LocalServer:
    """Start the server in a background thread and return its handle.

        >>> server = start(clock="manual", start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> server.url.startswith("http://127.0.0.1:")     # doctest: +SKIP
        True

    ``data_dir=None`` uses a temporary directory removed by ``stop()``; ``port=0`` picks a free
    port; ``seed="demo"`` loads the demo data (tasknb.local.seed).
    """
    if seed not in (None, "demo"):
        raise ValueError(f"seed must be None or 'demo', got {seed!r}")
    service, token, path, temporary = _prepare(data_dir, token, clock, start_time,
                                               complete_window, max_workers)
    try:
        sock = _bind(host, port)
    except OSError:
        service.close()
        if temporary:
            shutil.rmtree(path, ignore_errors=True)
        raise
    actual_port = sock.getsockname()[1]
    uv = uvicorn.Server(_uvicorn_config(create_app(service, token), host, actual_port))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, name="tasknb-server",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            service.close()
            raise RuntimeError("The local Task server did not start; see the log above.")
        time.sleep(0.01)
    server = LocalServer(service, token, host, actual_port, path, temporary, uv, thread)
    _RUNNING.add(server)
    if seed == "demo":
        try:
            from tasknb.local.seed import seed_demo

            seed_demo(server)
        except BaseException:
            server.stop()
            raise
    return server


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          data_dir: str | Path | None = None, token: str | None = None,
          seed: str | None = None, clock: str = "real") -> None:
    """Run in the foreground until Ctrl-C, printing the URL and the token."""
    server = start(data_dir=data_dir, host=host, port=port, token=token, seed=seed, clock=clock)
    print("tasknb local Task server (Snowflake REST API v2)")
    print(f"  URL:      {server.url}")
    print(f"  Token:    {server.token}")
    print(f"  Data dir: {server.data_dir}{' (temporary)' if data_dir is None else ''}")
    print("Press Ctrl-C to stop.", flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on `kill` too
    try:
        while server._thread.is_alive():
            server._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
