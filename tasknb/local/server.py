"""Start and stop the local Task server: in a background thread, or in the foreground.

    >>> with start(clock="manual", start_time=datetime(2026, 1, 5, tzinfo=timezone.utc)) as server:
    ...     server.url.startswith("http://127.0.0.1:"), server.advance("1 day"), server.now()
    (True, [], datetime.datetime(2026, 1, 6, 0, 0, tzinfo=datetime.timezone.utc))

``start()`` returns a :class:`LocalServer` handle (``.url``, ``.token``, ``.data_dir``,
``.service``, ``.connect()``, ``.advance()``, ``.now()``, ``.stop()``); ``serve()`` runs in the
foreground until interrupted, printing the URL (``tasknb server`` calls it). The token is random
unless given (``serve()`` also reads ``TASKNB_SERVER_TOKEN`` or a token file), is required on
every request, and never appears in a repr or a log line; only a generated one is printed.
A host other than loopback needs a strong token and gets a loud warning.
"""

from __future__ import annotations

import atexit
import errno
import gc
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from tasknb.durations import parse_duration
from tasknb.local.api import auth
from tasknb.local.api.app import create_app
from tasknb.local.errors import ListenError, StartupError
from tasknb.local.schedule import clock as scheduler
from tasknb.local.service import DEFAULT_COMPLETE_WINDOW, Service
from tasknb.local.service.bodies import from_db
from tasknb.local.service.runner import DEFAULT_MAX_WORKERS

try:  # DuckDB imports numpy from whichever thread first converts a result, and the server's
    import numpy  # noqa: F401  # threads may be importing it while another thread reads it
except ImportError:  # half-made: so it is imported here, in the importing thread, once
    pass  # (the [local] extra does not need numpy)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  # for `tasknb server`; start() picks a free port by default
STARTUP_TIMEOUT_SECONDS = 20.0
log = logging.getLogger("tasknb.local")
TOKEN_ENV = "TASKNB_SERVER_TOKEN"  # where `tasknb server` reads the token (not from ps)
MIN_DISTINCT_TOKEN_CHARACTERS = 10  # a token like "x" * 40 or "abab..." is not random
LOOPBACK_NAMES = ("localhost",)


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
            store = Store.in_dir(data_dir)  # a damaged file: one-line StartupError
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


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only.

        >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
        (True, True, True)
        >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.20"), is_loopback("my-laptop")
        (False, False, False)
    """
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve to any interface


def check_token(token: str, host: str) -> None:
    """Refuse a token that cannot protect a server on ``host`` (ValueError, one line).

    Everywhere the API's rule (auth.check_token: at least 32 characters, no spaces or double
    quotes; a short token is guessed too soon even on loopback, where every local process can
    knock); elsewhere also a token that looks random.

        >>> check_token("a-fixed-local-token-of-32-characters", "127.0.0.1")
        >>> check_token("x" * 40, "0.0.0.0")
        Traceback (most recent call last):
        ValueError: A server on 0.0.0.0 needs a random token of at least 32 characters; this one repeats a few characters. Leave --token out to have one generated.
    """
    if is_loopback(host):
        auth.check_token(token)
        return
    try:
        auth.check_token(token)
    except ValueError as exc:
        raise ValueError(f"A server on {host} can be reached from other machines: {exc}") from None
    periodic = (token + token).find(token, 1) < len(token)
    if len(set(token)) < MIN_DISTINCT_TOKEN_CHARACTERS or periodic:
        raise ValueError(f"A server on {host} needs a random token of at least 32 characters; "
                         "this one repeats a few characters. Leave --token out to have one "
                         "generated.")


def exposure_warning(host: str) -> str | None:
    """The warning for a server that other machines can reach, or None on loopback.

        >>> exposure_warning("127.0.0.1") is None
        True
    """
    if is_loopback(host):
        return None
    return (f"WARNING: serving plain HTTP (no TLS) on {host}: any machine that can reach "
            "it may try the token, and the token and your data travel unencrypted. Use the "
            f"default host {DEFAULT_HOST} unless other machines must connect, and then only "
            "behind a TLS proxy on a trusted network.")


def _prepare(data_dir: str | Path | None, token: str | None, clock: str,
             start_time: datetime | None, complete_window: timedelta,
             max_workers: int, seed: str | None = None) -> tuple[Service, str, Path, bool]:
    temporary = data_dir is None
    path = Path(tempfile.mkdtemp(prefix="tasknb-local-")) if temporary else Path(data_dir)  # type: ignore[arg-type]
    try:
        if seed == "demo" and start_time is None:
            from tasknb.local.seed import copy_demo_build

            # the week of demo history is built once and copied; its clock goes on at the present
            if copy_demo_build(path) and clock == "manual":
                start_time = scheduler.RealClock().now()
        service = Service(path, clock=_make_clock(clock, start_time, path),
                          complete_window=complete_window, max_workers=max_workers)
    except BaseException:
        if temporary:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return service, token or auth.new_token(), path, temporary


def _listen(host: str, port: int) -> socket.socket:
    try:
        return _bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(f"Port {port} on {host} is already in use (another tasknb server?): "
                              "choose another with --port, or port=0 for a free one.") from exc
        raise ListenError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Use an "
                          f"address of this machine (the default is {DEFAULT_HOST}).") from exc


def start(*, data_dir: str | Path | None = None, host: str = DEFAULT_HOST, port: int = 0,
          token: str | None = None, seed: str | None = None, clock: str = "real",
          start_time: datetime | None = None,
          complete_window: timedelta = DEFAULT_COMPLETE_WINDOW,
          max_workers: int = DEFAULT_MAX_WORKERS) -> LocalServer:
    """Start the server in a background thread and return its handle.

    ``data_dir=None`` uses a temporary directory removed by ``stop()``; ``port=0`` picks a free
    port; ``seed="demo"`` loads the demo data (tasknb.local.seed). A host other than loopback
    is logged as a warning and needs a strong token (:func:`check_token`). Raises
    :class:`~tasknb.local.errors.StartupError` (one line) when the data directory's state
    cannot be used, and :class:`~tasknb.local.errors.ListenError` when the port is taken.
    """
    return _start(data_dir=data_dir, host=host, port=port, token=token, seed=seed, clock=clock,
                  start_time=start_time, complete_window=complete_window,
                  max_workers=max_workers, warn=log.warning)


def _start(*, data_dir: str | Path | None, host: str, port: int, token: str | None,
           seed: str | None, clock: str, start_time: datetime | None,
           complete_window: timedelta, max_workers: int,
           warn: Callable[[str], object]) -> LocalServer:
    if seed not in (None, "demo"):
        raise ValueError(f"seed must be None or 'demo', got {seed!r}")
    if token is not None:
        check_token(token, host)
    warning = exposure_warning(host)
    if warning:
        warn(warning)
    service, token, path, temporary = _prepare(data_dir, token, clock, start_time,
                                               complete_window, max_workers, seed)
    service.state.set_local_files(is_loopback(host))  # PUT reads this machine's files
    try:
        sock = _listen(host, port)
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
            raise StartupError("The local Task server did not start; see the log above.")
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


def read_token(token_file: str | Path | None = None,
               environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The server token from a file or ``TASKNB_SERVER_TOKEN``, and where it came from.

        >>> read_token(environ={"TASKNB_SERVER_TOKEN": "from-the-environment"})
        ('from-the-environment', 'from TASKNB_SERVER_TOKEN')
        >>> read_token(environ={})
        (None, 'generated')
    """
    if token_file is not None:
        path = Path(token_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"Cannot read the token file {path}: {exc.strerror or exc}.") from None
        if not text:
            raise ValueError(f"The token file {path} is blank: write the token in it, or leave "
                             "--token-file out to have one generated.")
        if path.stat().st_mode & 0o077:
            log.warning("The token file %s can be read by other users; make it private with: "
                        "chmod 600 %s", path, path)
        return text, f"from {path}"
    value = (os.environ if environ is None else environ).get(TOKEN_ENV, "").strip()
    return (value, f"from {TOKEN_ENV}") if value else (None, "generated")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


SWITCH_INTERVAL_S = 0.001


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          data_dir: str | Path | None = None, token: str | None = None,
          seed: str | None = None, clock: str = "real",
          token_file: str | Path | None = None) -> None:
    """Run in the foreground until Ctrl-C, printing the URL (and the token if generated).

    The token is ``token``, else read from ``token_file``, else from ``TASKNB_SERVER_TOKEN``,
    else generated (and then printed: a given one never is). Warnings go to stderr.
    """
    source = "as given"
    if token is None:
        token, source = read_token(token_file)
    # The process is the server's own: hand the GIL over sooner (Python's default is 5 ms), so
    # a short request is answered while a worker thread builds a long listing.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    server = _start(data_dir=data_dir, host=host, port=port, token=token, seed=seed,
                    clock=clock, start_time=None, complete_window=DEFAULT_COMPLETE_WINDOW,
                    max_workers=DEFAULT_MAX_WORKERS, warn=_to_stderr)
    # What is loaded now (the store's objects, the modules) lives as long as the process: kept
    # out of the cyclic GC's full collections, which otherwise scan it all (60-70 ms with
    # 20,000 tasks loaded, a pause every request waits out; benchmarks/bench_server_list.py)
    gc.collect()
    gc.freeze()
    print("tasknb local Task server (Snowflake REST API v2)")
    print(f"  URL:      {server.url}")
    print(f"  Token:    {server.token if source == 'generated' else '(' + source + ')'}")
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


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
