"""Run the local server in a child process for the server benchmarks (not a benchmark itself).

    with ServerProcess() as (url, token): ...
    with ServerProcess(data_dir=prepared) as (url, token): ...   # a data dir seeded in-process

The server runs as ``tasknb server`` does (``tasknb.local.server.serve``) on 127.0.0.1 with a
temporary data directory, so the benchmark's client never shares a GIL with the server.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 30.0

_CHILD = """
import sys
from tasknb.local.server import serve
serve(host="127.0.0.1", port=0, data_dir=sys.argv[1], clock=sys.argv[2])
"""


def data_dir_mb(path: str) -> float:
    """The size of every file under a server's data directory (state file, its WAL, database
    files), in MiB."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


class ServerProcess:
    """Start ``serve()`` in a subprocess; yields (url, token); stops it on exit."""

    def __init__(self, clock: str = "real", data_dir: str | None = None) -> None:
        self.clock = clock
        self.token = secrets.token_urlsafe(24)
        self._tmp = tempfile.TemporaryDirectory(prefix="tasknb-bench-")
        self.data_dir = data_dir or self._tmp.name
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> tuple[str, str]:
        # the token in the environment serve() reads, never on the command line (ps shows it)
        env = dict(os.environ, PYTHONUNBUFFERED="1", TASKNB_SERVER_TOKEN=self.token)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, self.data_dir, self.clock],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.strip().startswith("URL:"):
                self.url = line.split("URL:", 1)[1].strip()
                break
        if not self.url:
            self.__exit__()
            raise RuntimeError("the local server did not start")
        headers = {"Authorization": f"Bearer {self.token}"}
        httpx.get(f"{self.url}/tasknb/v1/ping", headers=headers, timeout=10).raise_for_status()
        return self.url, self.token

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()

    @property
    def pid(self) -> int:
        """The server process's id (to read its memory)."""
        assert self.proc is not None
        return self.proc.pid
