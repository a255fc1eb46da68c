"""`tasknb demo`: the local Task server with demo data, and JupyterLab on notebooks/.

    ./dev.sh demo                         # what a newcomer runs
    python -m tasknb.demo --check         # start everything, verify it, stop (used by tests)

The local server's URL and token reach the notebooks' kernels as ``$TASKNB_URL`` and
``$TASKNB_TOKEN`` (JupyterLab passes its environment to the kernels it starts), so
``tasknb.notebook.client()`` attaches to this server. The token is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .durations import format_duration
from .notebook import DEMO_DATABASE, DEMO_SCHEMA, TOKEN_ENV, URL_ENV

__all__ = ["DEFAULT_NOTEBOOK_DIR", "build_parser", "lab_command", "main", "run_check"]

DEFAULT_NOTEBOOK_DIR = "notebooks"
DEMO_SEED = "demo"
DEFAULT_CLOCK = (
    "manual"  # the notebooks fast-forward time; "real" lets schedules fire by themselves
)
LAB_START_TIMEOUT_S = 90.0
LAB_STOP_TIMEOUT_S = 15.0
LAB_POLL_INTERVAL_S = 0.2
CHECK_KERNEL_TIMEOUT_S = 120.0
# what `--check` runs with the kernels' environment: the bridge must attach to this server
_KERNEL_PROBE = (
    "from tasknb import notebook\n"
    "client = notebook.client()\n"
    "print(notebook.describe())\n"
    "print(len(client.list_tasks()))\n"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tasknb demo",
        description="Start the local Task server with demo data and JupyterLab on the notebooks.",
    )
    parser.add_argument(
        "--notebook-dir",
        type=Path,
        default=None,
        help=f"folder JupyterLab opens (default: ./{DEFAULT_NOTEBOOK_DIR} if present, else .)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the local server's state here (default: a fresh temp dir per run)",
    )
    parser.add_argument("--port", type=int, default=0, help="local Task server port (0: any)")
    parser.add_argument(
        "--lab-port", type=int, default=None, help="JupyterLab port (default: Jupyter's)"
    )
    parser.add_argument(
        "--clock",
        choices=("manual", "real"),
        default=DEFAULT_CLOCK,
        help="manual: time moves only when a notebook advances it (default); real: wall clock",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open a browser tab (print the URL)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="start everything headless, verify the notebooks reach the server, then stop",
    )
    return parser


def notebook_dir_of(value: Path | None) -> Path:
    if value is not None:
        path = value.expanduser().resolve()
        if not path.is_dir():
            raise SystemExit(f"tasknb demo: --notebook-dir {value} is not a folder")
        return path
    default = Path.cwd() / DEFAULT_NOTEBOOK_DIR
    return default.resolve() if default.is_dir() else Path.cwd().resolve()


#: What JupyterLab leaves out of its file browser next to the notebooks: the jupytext pairs,
#: nbval's sanitize file and Python's caches (the .ipynb files are what a user opens).
HIDDEN_FILES = ("__pycache__", "*.pyc", "*.py", "*.cfg", ".ipynb_checkpoints")
#: JupyterLab defaults for the demo (overrides.json): no news prompt, no update check.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",  # a string in JupyterLab's schema
        "checkForUpdates": False,
    },
}


def write_lab_settings(folder: Path) -> Path:
    """An application settings dir holding the demo's :data:`LAB_SETTINGS` (overrides.json).

    The user's own JupyterLab settings still apply on top; nothing in ~/.jupyter changes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "overrides.json").write_text(json.dumps(LAB_SETTINGS, indent=2))
    return folder


def lab_command(
    notebook_dir: Path,
    *,
    port: int | None = None,
    token: str | None = None,
    open_browser: bool = True,
    quiet: bool = False,
    settings_dir: Path | None = None,
) -> list[str]:
    """The `jupyter lab` command line, run with this Python.

    >>> lab_command(Path("/nb"), port=8899, open_browser=False)[1:4]
    ['-m', 'jupyterlab', '--ServerApp.root_dir=/nb']
    """
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebook_dir}"]
    cmd.append("--ServerApp.ip=127.0.0.1")
    cmd += [f"--ContentsManager.hide_globs={pattern}" for pattern in HIDDEN_FILES]
    cmd.append("--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")
    if settings_dir is not None:
        cmd.append(f"--LabApp.app_settings_dir={settings_dir}")
    if port is not None:
        cmd += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if token is not None:
        cmd.append(f"--IdentityProvider.token={token}")
    if not open_browser:
        cmd.append("--no-browser")
    if quiet:
        cmd.append("--ServerApp.log_level=WARN")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers run as root; jupyter refuses without it
    return cmd


def kernel_environment(url: str, token: str) -> dict[str, str]:
    """This process's environment plus the local server for the kernels JupyterLab starts."""
    env = dict(os.environ)
    env[URL_ENV] = url
    env[TOKEN_ENV] = token
    env.pop("TASKNB_CONNECTION", None)  # the demo is the local server, not an account
    return env


def _start_server(args: argparse.Namespace, stack: ExitStack):
    from . import local

    data_dir = args.data_dir
    if data_dir is None:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tasknb-demo-")))
    server = local.start(seed=DEMO_SEED, data_dir=data_dir, port=args.port, clock=args.clock)
    stack.callback(server.stop)
    return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_lab(url: str, token: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    request = urllib.request.Request(
        f"{url}/api/status", headers={"Authorization": f"token {token}"}
    )
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"tasknb demo: jupyter lab exited ({proc.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(
                f"tasknb demo: jupyter lab did not start in {format_duration(LAB_START_TIMEOUT_S)}"
            )
        time.sleep(LAB_POLL_INTERVAL_S)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=LAB_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _lab_get(url: str, token: str, path: str) -> Any:
    request = urllib.request.Request(f"{url}{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _lab_listing(url: str, token: str) -> list[tuple[str, str]]:
    """(name, type) of every item JupyterLab's file browser shows at its root."""
    listing = _lab_get(url, token, "/api/contents?content=1")
    return [(item["name"], item["type"]) for item in listing["content"]]


def _lab_setting(url: str, token: str, plugin: str) -> dict[str, Any]:
    """A plugin's settings as JupyterLab applies them: defaults with overrides, then the user's."""
    answer = _lab_get(url, token, f"/lab/api/settings/{plugin}")
    properties = answer.get("schema", {}).get("properties", {})
    values = {key: spec.get("default") for key, spec in properties.items()}
    values.update(answer.get("settings") or {})
    return values


def run_check(args: argparse.Namespace) -> int:
    """Start the server and a headless JupyterLab, verify them, stop both; 0 when all is well.

    Checks: the server answers with the demo tasks; JupyterLab answers and lists the
    notebooks; a Python started with the kernels' environment attaches to this server
    through `tasknb.notebook.client()` and sees the same tasks.
    """
    notebook_dir = notebook_dir_of(args.notebook_dir)
    with ExitStack() as stack:
        began = time.monotonic()
        server = _start_server(args, stack)
        tasks = server.connect(database=DEMO_DATABASE, schema=DEMO_SCHEMA).list_tasks()
        if not tasks:
            print(f"tasknb demo --check: no demo tasks in {DEMO_DATABASE}.{DEMO_SCHEMA}")
            return 1
        env = kernel_environment(server.url, server.token)
        probe = subprocess.run(
            [sys.executable, "-c", _KERNEL_PROBE],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHECK_KERNEL_TIMEOUT_S,
        )
        lines = probe.stdout.split("\n")
        if probe.returncode != 0 or len(lines) < 2 or lines[1] != str(len(tasks)):
            print("tasknb demo --check: a kernel could not reach the local server:")
            print((probe.stdout + probe.stderr)[-2000:].replace(server.token, "***"))
            return 1
        lab_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tasknb-lab-")))
        port, lab_token = _free_port(), secrets.token_hex(16)
        log = lab_dir / "jupyterlab.log"
        env.update(
            JUPYTER_RUNTIME_DIR=str(lab_dir / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
        )
        settings = write_lab_settings(lab_dir / "settings")
        cmd = lab_command(notebook_dir, port=port, token=lab_token, open_browser=False,
                          quiet=True, settings_dir=settings)
        cmd.append(f"--LabApp.workspaces_dir={lab_dir / 'workspaces'}")
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            stack.callback(_stop, proc)
            lab_url = f"http://127.0.0.1:{port}"
            _wait_for_lab(lab_url, lab_token, proc, log)
            listed = _lab_listing(lab_url, lab_token)
            notebooks = sorted(name for name, kind in listed if kind == "notebook")
            others = sorted(name for name, kind in listed if kind != "notebook")
            news = _lab_setting(lab_url, lab_token, "@jupyterlab/apputils-extension:notification")
        if news.get("fetchNews") != "false":
            print(f"tasknb demo --check: JupyterLab would ask about news ({news})")
            return 1
        print(
            f"local server: {server.url} ({len(tasks)} demo tasks in {DEMO_DATABASE}.{DEMO_SCHEMA})"
        )
        print(f"kernels attach: {lines[0]}")
        print(f"jupyterlab: {lab_url} on {notebook_dir} ({', '.join(notebooks) or 'no notebooks'})")
        print(f"jupyterlab also lists: {', '.join(others) or 'nothing else'}; news prompt: off")
        print(f"demo check ok in {format_duration(time.monotonic() - began)}")
    return 0


ENV_FILE = "tasknb-demo.env"


def write_env_file(folder: Path, url: str, token: str) -> Path:
    """A shell file (0600, only this user can read it) that points ``tasknb`` at the server.

    ``source`` it and ``tasknb tasks`` reaches the demo: the command line reads
    ``$TASKNB_URL``/``$TASKNB_TOKEN`` like the notebooks' kernels do. The token is written
    only here, never printed.
    """
    path = folder / ENV_FILE
    text = (
        "# tasknb demo: `source` this file, then tasknb commands reach the demo's local server\n"
        f"export {URL_ENV}={shlex.quote(url)}\n"
        f"export {TOKEN_ENV}={shlex.quote(token)}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # also when the file was already there
    return path


def cli_line(env_file: Path) -> str:
    """The one line to paste into a shell to use ``tasknb`` commands on the demo."""
    script = Path(sys.executable).parent / "tasknb"
    command = str(script) if script.exists() else "tasknb"
    return f"source {shlex.quote(str(env_file))} && {shlex.quote(command)} tasks"


def run_demo(args: argparse.Namespace) -> int:
    """Start the server, then JupyterLab in the foreground; Ctrl-C stops both."""
    notebook_dir = notebook_dir_of(args.notebook_dir)
    with ExitStack() as stack:
        server = _start_server(args, stack)
        # 0700, removed on exit: the env file (the token) and JupyterLab's demo settings
        private = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tasknb-demo-")))
        env_file = write_env_file(private, server.url, server.token)
        print(f"tasknb: local Task server with demo data at {server.url} ({args.clock} clock)")
        print(
            f"tasknb: notebooks get it as ${URL_ENV} / ${TOKEN_ENV}; "
            f"demo tasks are in {DEMO_DATABASE}.{DEMO_SCHEMA}"
        )
        print(f"tasknb: command line (the token is in that 0600 file): {cli_line(env_file)}")
        print(f"tasknb: starting JupyterLab on {notebook_dir} (Ctrl-C stops everything)")
        sys.stdout.flush()
        settings = write_lab_settings(private / "lab-settings")
        cmd = lab_command(notebook_dir, port=args.lab_port, open_browser=not args.no_browser,
                          settings_dir=settings)
        proc = subprocess.Popen(cmd, env=kernel_environment(server.url, server.token))
        stack.callback(_stop, proc)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `tasknb demo` (and `python -m tasknb.demo`).

    main(["--check"])  # -> 0 when server, kernels and JupyterLab all work
    """
    args = build_parser().parse_args(argv)
    # SIGTERM (a service manager, `timeout`, CI) stops JupyterLab and the server cleanly too
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return run_check(args) if args.check else run_demo(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
