"""`tasknb demo`: the local server with demo data reaches the kernels JupyterLab starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tasknb import demo, notebook


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
