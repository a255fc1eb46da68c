"""`tasknb demo`: the local server with demo data reaches the kernels JupyterLab starts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tasknb import demo, notebook
from tasknb.errors import SqlError


def test_lab_command_is_loopback_headless_and_root_safe(tmp_path):
    cmd = demo.lab_command(tmp_path, port=8899, token="lab-token", open_browser=False, quiet=True)
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--no-browser" in cmd
    assert "--ServerApp.port=8899" in cmd and "--ServerApp.port_retries=0" in cmd
    assert ("--allow-root" in cmd) == (os.geteuid() == 0)
    assert "--no-browser" not in demo.lab_command(tmp_path)


def test_kernels_get_the_local_server_not_an_account(monkeypatch):
    monkeypatch.setenv(notebook.CONNECTION_ENV, "prod")
    env = demo.kernel_environment("http://127.0.0.1:5555", "server-token")
    assert env[notebook.URL_ENV] == "http://127.0.0.1:5555"
    assert env[notebook.TOKEN_ENV] == "server-token"
    assert notebook.CONNECTION_ENV not in env


def test_a_notebook_dir_that_is_not_a_folder_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="is not a folder"):
        demo.notebook_dir_of(tmp_path / "missing")


def test_demo_check_starts_server_lab_and_kernel_bridge(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(nb, tmp_path / "hello.ipynb")
    (tmp_path / "hello.py").write_text("# the jupytext pair\n")  # build files, not for users
    (tmp_path / "sanitize.cfg").write_text("[x]\n")
    (tmp_path / "__pycache__").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKNB_")}
    result = subprocess.run(
        [sys.executable, "-m", "tasknb.demo", "--check", "--notebook-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "kernels attach: local server at http://127.0.0.1:" in out  # not an embedded one
    assert "hello.ipynb" in out and "demo check ok" in out
    assert "jupyterlab also lists: nothing else; news prompt: off" in out


def test_the_env_file_is_private_and_lets_the_command_line_reach_the_server(tmp_path):
    import shutil
    import stat

    from tasknb import local

    with local.start(seed="demo", clock="manual", data_dir=tmp_path / "server") as server:
        env_file = demo.write_env_file(tmp_path, server.url, server.token)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        line = demo.cli_line(env_file)
        assert server.token not in line and line.startswith(f"source {env_file} && ")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKNB_", "SNOWFLAKE"))}
        env["HOME"] = str(tmp_path)  # no connection files: only the env file can help
        result = subprocess.run([shutil.which("bash") or "/bin/bash", "-c", line], env=env,
                                capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "MARKETING_METRICS" in result.stdout and "NIGHTLY_ELT" in result.stdout
    assert server.token not in result.stdout + result.stderr


def test_lab_hides_build_files_and_the_news_prompt(tmp_path):
    settings = demo.write_lab_settings(tmp_path / "settings")
    cmd = demo.lab_command(tmp_path, settings_dir=settings)
    assert f"--LabApp.app_settings_dir={settings}" in cmd
    assert {f"--ContentsManager.hide_globs={glob}" for glob in ("*.py", "*.cfg")} <= set(cmd)
    overrides = (settings / "overrides.json").read_text()
    assert '"fetchNews": "false"' in overrides


FORWARD = ("01_explore.ipynb", "02_investigate_failures.ipynb", "03_teaching_task_graphs.ipynb")
# 01 -> 02 -> 03, then 03 -> 02 -> 01 on the same server: each notebook from a fresh server,
# after every other one, and twice (the demo server keeps what each changed)
NOTEBOOK_ORDER = FORWARD + tuple(reversed(FORWARD))
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run_notebook(name: str, step: int, where: str) -> nbformat.NotebookNode:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    runner = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        runner.execute()
    except CellExecutionError as exc:  # the cell's error in one line, with the step
        last = re.sub(r"\x1b\[[0-9;]*m", "", str(exc).strip().splitlines()[-1])[:400]
        pytest.fail(f"step {step}: {name} failed {where}: {last}")
    return nb


def _printed(nb: nbformat.NotebookNode) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


CDC_NOTEBOOK = "03_teaching_task_graphs.ipynb"
MERGED_MART = [(1, "pen", 5), (2, "ink", 2)]  # 3 orders merged, then pen updated, pad deleted


def _cdc_outcome(client) -> tuple[list[tuple], list[str]]:
    """Notebook 03's change-data-capture step: the mart's rows, the root's last three runs.

    Read through SQL on the server the notebook used (TASK_HISTORY by task name keeps a
    dropped task's runs), so that it holds after the notebook dropped its objects too.
    """
    history = client.sql(
        "SELECT state FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => 'TEACH_CDC_MERGE'))"
        " ORDER BY run_id DESC LIMIT 3"
    )
    try:
        mart = client.sql("SELECT id, item, qty FROM TEACH_ORDERS_MART ORDER BY id")
    except SqlError as error:  # dropped (account mode): only the history is left
        assert error.code == "002003", error
        return [], list(reversed(history["STATE"]))
    return list(mart.itertuples(index=False, name=None)), list(reversed(history["STATE"]))


def test_notebooks_run_in_both_orders_on_one_demo_server(tmp_path, monkeypatch):
    """The newcomer's path: under ./dev.sh demo every kernel attaches to one shared server.

    Each run of 03 merges a stream into its mart with a procedure called by a task, then the
    next run is skipped: "If the specified stream contains no change data, the task skips the
    current run" (Snowflake, SYSTEM$STREAM_HAS_DATA).
    """
    from tasknb import local

    with local.start(seed="demo", clock="manual", data_dir=tmp_path / "server") as server:
        for name, value in demo.kernel_environment(server.url, server.token).items():
            if name.startswith("TASKNB_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        for step, name in enumerate(NOTEBOOK_ORDER, 1):
            nb = _run_notebook(name, step, "on the shared demo server")
            printed = _printed(nb)
            assert f"local server at {server.url} (from $TASKNB_URL)" in printed, name
            assert server.token not in printed
            assert "TaskRun(" not in json.dumps([c.get("outputs", []) for c in nb.cells]), name
            if name == CDC_NOTEBOOK:
                with server.connect(database=notebook.DEMO_DATABASE,
                                    schema=notebook.DEMO_SCHEMA) as client:
                    mart, states = _cdc_outcome(client)
                assert mart == MERGED_MART, f"step {step}"
                assert states == ["SUCCEEDED", "SUCCEEDED", "SKIPPED"], f"step {step}"


def test_notebook_03_in_account_mode_finishes_without_sleeping_silently(
    tmp_path, monkeypatch, snowflake_home
):
    """A connection entry pointing at a local server: 03 treats it as an account.

    It states the privileges first, runs its stream-and-procedure step (a merge, then a run
    skipped: "If the specified stream contains no change data, the task skips the current
    run", Snowflake, SYSTEM$STREAM_HAS_DATA) and drops everything it made.
    """
    import time

    from client_support import write_private

    from tasknb import local

    with local.start(clock="manual", data_dir=tmp_path / "server") as server:
        server.service.ensure_schema("TEACH", "PUBLIC")
        host, port = server.url.removeprefix("http://").split(":")
        write_private(
            snowflake_home / "connections.toml",
            f'[teach]\nhost = "{host}"\nport = {port}\nprotocol = "http"\n'
            f'token = "{server.token}"\ndatabase = "TEACH"\nschema = "PUBLIC"\n'
            'warehouse = "TEACH_WH"\n',
        )
        for name in (notebook.URL_ENV, notebook.TOKEN_ENV):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(notebook.CONNECTION_ENV, "teach")
        monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        began = time.monotonic()
        nb = _run_notebook(CDC_NOTEBOOK, 1, "in account mode")
        took = time.monotonic() - began
        left = server.service.list_tasks("TEACH", "PUBLIC")
        with server.connect(database="TEACH", schema="PUBLIC") as client:
            mart, states = _cdc_outcome(client)
            tables_left = client.sql(
                "SELECT table_name FROM INFORMATION_SCHEMA.TABLES WHERE table_name LIKE 'TEACH%'"
            )
            with pytest.raises(SqlError, match="TEACH_MERGE_ORDERS"):
                client.sql("CALL TEACH_MERGE_ORDERS('gone?')")
    printed = _printed(nb)
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
    created = printed.index("On this account the notebook will")
    assert created < outputs.index("TEACH_EXTRACT")  # said before anything was created
    assert "in warehouse TEACH_WH (from the connection): needs USAGE on it" in printed
    assert "CREATE TASK" in printed and "EXECUTE TASK" in printed
    assert "CREATE TABLE, CREATE STREAM and CREATE PROCEDURE" in " ".join(printed.split())
    assert "TEACH_WH" in outputs.split("On this account", 1)[1]  # the tasks use that warehouse
    # every advance() said what it did instead of sleeping: three 3-minute steps, fast-forwarded
    assert printed.count("tasknb local server with a manual clock: fast-forwarded 3 min") == 3
    assert took < 150, f"03 took {took:.0f} s in account mode"
    assert left == [] and "dropped: " in printed  # cleaned up at the end
    # the stream-and-procedure step ran (merged, then skipped) and its objects are gone
    assert states == ["SUCCEEDED", "SUCCEEDED", "SKIPPED"] and mart == []
    assert tables_left.empty and "STREAM TEACH_ORDERS_STREAM" in printed.split("dropped: ")[-1]
    assert server.token not in outputs


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_demo_foreground_serves_lab_and_stops_everything_on_sigterm(tmp_path):
    import threading
    import time

    lab_port = demo._free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKNB_")}
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_PLATFORM_DIRS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tasknb.demo", "--no-browser", "--lab-port", str(lab_port),
         "--notebook-dir", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any(f"127.0.0.1:{lab_port}/lab?token=" in line for line in lines):
            assert proc.poll() is None, "".join(lines)[-3000:]
            assert time.monotonic() < deadline, "".join(lines)[-3000:]
            time.sleep(0.2)
        server_line = next(line for line in lines if "local Task server with demo data" in line)
        server_port = int(re.search(r"127\.0\.0\.1:(\d+)", server_line).group(1))
        while not (_port_open(lab_port) and _port_open(server_port)):  # a loaded machine
            assert time.monotonic() < deadline, "".join(lines)[-3000:]
            time.sleep(0.2)
        cli_line = next(line for line in lines if line.startswith("tasknb: command line"))
        env_file = Path(re.search(r"source (\S+) && ", cli_line).group(1))
        assert env_file.stat().st_mode & 0o077 == 0 and "TASKNB_TOKEN=" in env_file.read_text()
        token = env_file.read_text().split("TASKNB_TOKEN=")[1].split()[0]
        assert not any(token in line for line in lines)  # only in the 0600 file
    finally:
        proc.terminate()  # what `timeout`, systemd or CI send
        proc.wait(timeout=60)
        reader.join(timeout=10)
        proc.stdout.close()
    assert proc.returncode == 128 + 15, "".join(lines)[-3000:]  # SIGTERM, cleaned up
    assert not _port_open(lab_port), "jupyter lab outlived tasknb demo"
    assert not _port_open(server_port), "the local server outlived tasknb demo"
    assert not env_file.exists(), "the env file (with the token) outlived tasknb demo"
