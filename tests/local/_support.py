"""Helpers for the contract-fuzz, crash, concurrency and snowflake-core tests of the local server.

    >>> TASK_SPEC.name
    'task.yaml'
    >>> with ServerProcess(data_dir, token="t" * 32) as proc:     # doctest: +SKIP
    ...     proc.http().get("/tasknb/v1/ping").json()
    {'status': 'ok'}

* :data:`SPEC_DIR`: the repository's own copy of the official OpenAPI files (``tests/specs/``).
* :func:`state_snapshot`: every object the server holds (memory and disk) plus run counts, to
  prove that a refused request changed nothing.
* :class:`ServerProcess`: ``tasknb server --data-dir D --port P`` (the token in ``TASKNB_SERVER_TOKEN``) in a child process,
  so a test can SIGKILL it and restart it on the same data directory.
"""

from __future__ import annotations

import copy
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT / "tests" / "specs" / "snowflake-rest-api"
TASK_SPEC = SPEC_DIR / "task.yaml"
STARTUP_TIMEOUT_SECONDS = 30.0
STATE_FILE = "tasknb-local.sqlite3"

_OBJECT_TABLES = ("databases", "schemas", "tasks", "tags")
_RUN_TABLES = ("graph_runs", "task_runs")


def disk_objects(data_dir: Path) -> dict[str, Any]:
    """Every row of the object tables and the run counts, read through a separate read-only
    SQLite connection (what a restart would load)."""
    conn = sqlite3.connect(f"file:{data_dir / STATE_FILE}?mode=ro", uri=True, timeout=10)
    try:
        out: dict[str, Any] = {
            table: sorted(tuple(row) for row in conn.execute(f"SELECT * FROM {table}"))
            for table in _OBJECT_TABLES}
        for table in _RUN_TABLES:
            out[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return out
    finally:
        conn.close()


def state_snapshot(service: Any) -> dict[str, Any]:
    """Objects in memory (the store's public dicts), the same on disk, and run counts.

    Call it while the server is idle (no request in flight, ``service.wait_idle()``): a
    finishing run legitimately updates its root (failure streak, auto-suspend).
    """
    store = service.store
    memory = copy.deepcopy({"databases": store.databases, "schemas": store.schemas,
                            "tasks": store.tasks, "tags": store.tags})
    # empty containers left behind by deletes are not state
    memory["tasks"] = {k: v for k, v in memory["tasks"].items() if v}
    memory["tags"] = {k: v for k, v in memory["tags"].items() if v}
    return {"memory": memory, "disk": disk_objects(Path(service.data_dir))}


def snapshot_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable differences between two :func:`state_snapshot` results."""
    out = []
    for part in ("memory", "disk"):
        for kind, old in before[part].items():
            new = after[part][kind]
            if old != new:
                out.append(f"{part}.{kind} changed: {_short_diff(old, new)}")
    return out


def _short_diff(old: Any, new: Any) -> str:
    if isinstance(old, int):
        return f"{old} -> {new}"
    if isinstance(old, dict) and isinstance(new, dict):
        added = [k for k in new if k not in old]
        removed = [k for k in old if k not in new]
        changed = [k for k in old if k in new and old[k] != new[k]]
        return f"added {added[:5]} removed {removed[:5]} changed {changed[:5]}"
    old_set, new_set = set(old), set(new)
    return f"added {sorted(new_set - old_set)[:3]} removed {sorted(old_set - new_set)[:3]}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``tasknb server`` (``python -m tasknb.cli server``) in a child process on a fixed data
    dir, port and token."""

    def __init__(self, data_dir: Path, *, token: str, port: int | None = None,
                 clock: str = "real") -> None:
        self.data_dir = Path(data_dir)
        self.token = token
        self.port = port or free_port()
        self.clock = clock
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["PYTHONUNBUFFERED"] = "1"
        env["TASKNB_SERVER_TOKEN"] = self.token  # never on the command line (ps shows it)
        with open(self.log_path, "ab") as log:  # a file, never a pipe nobody drains
            self.proc = subprocess.Popen(  # what `tasknb server ...` runs
                [sys.executable, "-m", "tasknb.cli", "server", "--data-dir", str(self.data_dir),
                 "--port", str(self.port), "--clock", self.clock],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO_ROOT))
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with httpx.Client(base_url=self.url, timeout=2.0, trust_env=False) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                       f"{self.output}")
                try:
                    reply = probe.get("/tasknb/v1/ping", headers=self.headers())
                    if reply.status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not answer within {STARTUP_TIMEOUT_SECONDS} s")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def http(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(), timeout=timeout,
                            trust_env=False)  # loopback: never through a proxy

    @property
    def output(self) -> str:
        """What the server printed so far (its URL and token lines, warnings)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the server."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGINT (Ctrl-C) and wait; SIGKILL if it does not exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:  # noqa: PYI034 - not subclassed
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it returns something true (returned), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
