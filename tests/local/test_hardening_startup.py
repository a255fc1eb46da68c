"""Hardening of the start (issue 7 items 8 and 10): damaged state files, ports, exposure.

* a missing, empty or corrupt state file next to database files stops the start with one line
  naming the file (the database files are kept), as does a port already in use;
* a server on a non-loopback interface warns and wants a strong token; the token can come from
  ``TASKNB_SERVER_TOKEN`` or a file instead of the command line; data files are private.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _support import REPO_ROOT, STATE_FILE, free_port
from local_api import T0

import tasknb.local

STRONG_TOKEN = "k7Qm2vX9pL4sT8wZ1nB6cR3yH5dF0gJ_aE"  # 34 characters, no pattern
NOT_LOCAL_HOST = "192.0.2.1"  # TEST-NET-1: never assigned here, so nothing is ever bound to it
REFUSAL_TIMEOUT_SECONDS = 30.0


# --- the state file and the port at start-up ---------------------------------------------------
def _cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and k != "TASKNB_SERVER_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_refused(args: list[str]) -> tuple[int, list[str]]:
    """Run ``tasknb server ARGS`` (the token in TASKNB_SERVER_TOKEN unless ARGS give one)
    expecting it to refuse to start; return (exit code, non-blank output lines)."""
    env = _cli_env() if "--token" in args else dict(_cli_env(), TASKNB_SERVER_TOKEN=STRONG_TOKEN)
    proc = subprocess.Popen([sys.executable, "-m", "tasknb.cli", "server", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=str(REPO_ROOT))
    try:
        output, _ = proc.communicate(timeout=REFUSAL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate(timeout=10)
        pytest.fail("the server started instead of refusing: "
                    + output.decode(errors="replace")[-2000:])
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    return proc.returncode, lines


@pytest.fixture
def data_with_a_table(tmp_path: Path) -> Iterator[tuple[Path, list[Path]]]:
    """A stopped server's data dir holding one database with a table of rows."""
    data = tmp_path / "data"
    with tasknb.local.start(data_dir=data, clock="manual", start_time=T0) as server:
        server.service.ensure_schema("KEEP", "S")
        server.service.run_sql("KEEP", "S", "create table t as select range as x "
                                            "from range(20000)")
    files = sorted(p for p in data.glob("*.databases/*.duckdb") if p.name.startswith("KEEP"))
    assert files, sorted(str(p) for p in data.rglob("*"))
    yield data, files


def _state_files(data: Path) -> list[Path]:
    return [data / (STATE_FILE + suffix) for suffix in ("", "-wal", "-shm")]


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_missing_or_empty_state_file_next_to_database_files_refuses_to_start(
        data_with_a_table: tuple[Path, list[Path]], damage: str) -> None:
    data, files = data_with_a_table
    sizes = {f: f.stat().st_size for f in files}
    for path in _state_files(data):
        path.unlink(missing_ok=True)
    if damage == "empty":
        (data / STATE_FILE).write_bytes(b"")
    code, lines = _run_refused(["--data-dir", str(data), "--port", str(free_port())])
    assert code != 0
    assert len(lines) == 1, lines
    assert STATE_FILE in lines[0] and str(data) in lines[0]
    assert {f: f.stat().st_size for f in files if f.exists()} == sizes  # nothing deleted
    with pytest.raises(Exception) as info:  # the library refuses the same way
        tasknb.local.start(data_dir=data)
    assert "\n" not in str(info.value) and STATE_FILE in str(info.value)
    assert {f: f.stat().st_size for f in files if f.exists()} == sizes


def test_a_new_or_empty_data_dir_still_starts(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / STATE_FILE).write_bytes(b"")  # e.g. killed while creating it
    for data in (tmp_path / "new", tmp_path / "empty"):
        with tasknb.local.start(data_dir=data) as server:
            assert server.service.list_databases() == []


def test_a_corrupt_state_file_is_one_line_naming_it(
        data_with_a_table: tuple[Path, list[Path]]) -> None:
    data, files = data_with_a_table
    for path in _state_files(data):
        path.unlink(missing_ok=True)
    (data / STATE_FILE).write_bytes(b"this is not an SQLite database\n" * 200)
    code, lines = _run_refused(["--data-dir", str(data), "--port", str(free_port())])
    assert code != 0
    assert len(lines) == 1, lines
    assert STATE_FILE in lines[0] and "Traceback" not in lines[0]
    with pytest.raises(Exception) as info:
        tasknb.local.start(data_dir=data)
    message = str(info.value)
    assert "\n" not in message and str(data / STATE_FILE) in message and "backup" in message
    assert all(f.exists() for f in files)


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        code, lines = _run_refused(["--port", str(port)])
        assert code != 0
        assert len(lines) == 1, lines
        assert str(port) in lines[0] and "in use" in lines[0] and "--port" in lines[0]
        with pytest.raises(OSError, match=f"{port}.*in use"):
            tasknb.local.start(port=port)


# --- exposure ----------------------------------------------------------------------------------
def test_a_non_loopback_host_wants_a_strong_token_and_never_binds_with_a_weak_one() -> None:
    for weak in ("eight-ch", "x" * 40):
        code, lines = _run_refused(["--host", NOT_LOCAL_HOST, "--port", str(free_port()),
                                    "--token", weak])
        assert code != 0
        assert len(lines) <= 2 and "32" in lines[-1] and "Traceback" not in "".join(lines), lines
        assert weak not in "".join(lines)
    with pytest.raises(ValueError, match="32"):
        tasknb.local.start(host=NOT_LOCAL_HOST, token="short-token")  # refused before binding


def test_a_non_loopback_host_with_a_strong_token_warns_loudly() -> None:
    code, lines = _run_refused(["--host", NOT_LOCAL_HOST, "--port", str(free_port())])
    text = "\n".join(lines)
    assert re.search(r"WARNING.*plain HTTP.*" + re.escape(NOT_LOCAL_HOST), text), text
    assert code != 0 and "Traceback" not in text  # 192.0.2.1 is not this machine's address
    assert STRONG_TOKEN not in text


def test_loopback_needs_32_characters_but_no_random_pattern() -> None:
    """Every local process can knock on loopback: an 8-character token is refused there too."""
    with pytest.raises(ValueError, match="at least 32"):
        tasknb.local.start(token="eight-ch")
    fixed = "my-fixed-local-token-of-32-chars"
    for host in ("127.0.0.1", "localhost"):
        with tasknb.local.start(host=host, token=fixed) as server:
            assert httpx.get(f"{server.url}/tasknb/v1/ping",
                             headers={"Authorization": f"Bearer {fixed}"}).status_code == 200


def _start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "tasknb.cli", "server", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=str(REPO_ROOT))


def _wait_ping(port: int, token: str, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=2, trust_env=False) as http:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                return http.get(f"http://127.0.0.1:{port}/tasknb/v1/ping",
                                headers={"Authorization": f"Bearer {token}"}).status_code
            except httpx.TransportError:
                time.sleep(0.05)
    raise AssertionError(f"the server did not answer (exit code {proc.poll()})")


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Stop the server once it has printed its banner (it answers before it prints)."""
    deadline = time.monotonic() + 30
    while "Press Ctrl-C" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_token_from_the_environment_and_a_warning_for_token_on_the_command_line(
        tmp_path: Path) -> None:
    env = dict(_cli_env(), TASKNB_SERVER_TOKEN=STRONG_TOKEN)
    port = free_port()
    proc = _start_cli(["--port", str(port), "--data-dir", str(tmp_path / "d1")], env,
                      tmp_path / "env.log")
    try:
        assert _wait_ping(port, STRONG_TOKEN, proc) == 200
        # what ps shows of the running server: its command line, without the token
        command_line = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ")
        assert b"--port" in command_line and STRONG_TOKEN.encode() not in command_line
    finally:
        _stop(proc, tmp_path / "env.log")
    output = (tmp_path / "env.log").read_text()
    assert STRONG_TOKEN not in output and "TASKNB_SERVER_TOKEN" in output

    port = free_port()
    proc = _start_cli(["--port", str(port), "--token", STRONG_TOKEN, "--data-dir",
                       str(tmp_path / "d2")], _cli_env(), tmp_path / "cli.log")
    try:
        assert _wait_ping(port, STRONG_TOKEN, proc) == 200
    finally:
        _stop(proc, tmp_path / "cli.log")
    output = (tmp_path / "cli.log").read_text()
    assert re.search(r"WARNING.*--token.*process list.*TASKNB_SERVER_TOKEN", output), output
    assert STRONG_TOKEN not in output


def _serve_with_token_file(data: Path, token_file: Path, log: Path) -> None:
    """serve(token_file=...) in a child process: it answers with the file's token."""
    port = free_port()
    script = ("import sys; from tasknb.local.server import serve; "
              f"serve(port={port}, data_dir=sys.argv[1], token_file=sys.argv[2])")
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", script, str(data), str(token_file)],
                                stdout=out, stderr=subprocess.STDOUT, env=_cli_env(),
                                cwd=str(REPO_ROOT))
    try:
        assert _wait_ping(port, STRONG_TOKEN, proc) == 200
    finally:
        _stop(proc, log)


def test_token_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(STRONG_TOKEN + "\n")
    token_file.chmod(0o600)
    _serve_with_token_file(tmp_path / "d", token_file, tmp_path / "private.log")
    output = (tmp_path / "private.log").read_text()
    assert STRONG_TOKEN not in output and "chmod" not in output
    token_file.chmod(0o644)
    _serve_with_token_file(tmp_path / "d", token_file, tmp_path / "shared.log")
    output = (tmp_path / "shared.log").read_text()
    assert f"chmod 600 {token_file}" in output and STRONG_TOKEN not in output
    port = free_port()
    proc = _start_cli(["--port", str(port), "--token-file", str(token_file), "--data-dir",
                       str(tmp_path / "d3")], _cli_env(), tmp_path / "cli-file.log")
    try:
        assert _wait_ping(port, STRONG_TOKEN, proc) == 200  # tasknb server --token-file
    finally:
        _stop(proc, tmp_path / "cli-file.log")
    assert STRONG_TOKEN not in (tmp_path / "cli-file.log").read_text()
    (tmp_path / "blank").write_text("\n")
    with pytest.raises(ValueError, match="blank"):
        tasknb.local.server.serve(port=free_port(), token_file=tmp_path / "blank")
    with pytest.raises(ValueError, match="nowhere"):
        tasknb.local.server.serve(port=free_port(), token_file=tmp_path / "nowhere")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_and_state_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new"
    with tasknb.local.start(data_dir=data) as server:
        server.service.create_database({"name": "D"})
        assert _mode(data) == 0o700
        for path in _state_files(data):
            if path.exists():
                assert _mode(path) == 0o600, path
    old = tmp_path / "old"  # a data dir written by an earlier version, readable by all
    with tasknb.local.start(data_dir=old):
        pass
    old.chmod(0o755)
    for path in _state_files(old):
        if path.exists():
            path.chmod(0o644)
    with tasknb.local.start(data_dir=old):
        assert _mode(old) == 0o700
        assert _mode(old / STATE_FILE) == 0o600
