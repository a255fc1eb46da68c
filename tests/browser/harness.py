"""Start JupyterLab and drive it with Debian's Chromium through Playwright.

    with JupyterLab(root_dir, env={"TASKNB_URL": url, "TASKNB_TOKEN": token}) as lab:
        page.goto(lab.notebook_url("demo.ipynb"))
        wait_for_kernel_idle(page); run_all_and_wait(page)      # raises with the traceback
        widget_button(page, "Execute").click()

Everything here follows docs/testing-notebooks.md (shared): Debian's `chromium` binary passed
as `executable_path` (never `playwright install`), JupyterLab on 127.0.0.1 with a random token
on a free port, every Jupyter directory in a temp dir, no news or update checks.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from typing_extensions import Self

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"

CHROMIUM_ENV_VAR = "TASKNB_CHROMIUM"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # required as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # these three keep the browser off the network
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1100}

SERVER_START_TIMEOUT_S = 90.0
SERVER_STOP_TIMEOUT_S = 15.0
STATUS_POLL_INTERVAL_S = 0.2
KERNEL_IDLE_TEXT = "Python 3 (ipykernel) | Idle"

LAB_CONFIG = """\
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'
c.LabApp.extension_manager = 'readonly'
"""
# user settings: no "Jupyter news" pop-up; keep every cell in the DOM so locators find outputs
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


class BrowserSetupError(RuntimeError):
    """Chromium or JupyterLab could not be started; the message says how to fix it."""


def chromium_path() -> str:
    """Debian's chromium: $TASKNB_CHROMIUM, else `chromium` on PATH, else /usr/bin/chromium.

        chromium_path()  # -> "/usr/bin/chromium"

    Raises BrowserSetupError (never a skip: a skipped browser test proves nothing).
    """
    candidates = [os.environ.get(CHROMIUM_ENV_VAR), shutil.which("chromium"), DEBIAN_CHROMIUM]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise BrowserSetupError(
        "Debian's chromium is not installed, so the browser test cannot run. "
        "Run ./dev.sh test (it installs it) or `apt-get install -y chromium`; "
        f"set {CHROMIUM_ENV_VAR}=/path/to/chromium to use another build. "
        "Never run `playwright install`."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_lab_settings(config_dir: Path) -> None:
    """Write jupyter_lab_config.py and the user settings JupyterLab reads at start."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_lab_config.py").write_text(LAB_CONFIG)
    for rel, value in LAB_USER_SETTINGS.items():
        path = config_dir / "lab" / "user-settings" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class JupyterLab:
    """A JupyterLab server for one test session, in its own temp dir.

        with JupyterLab(root_dir, env={"TASKNB_URL": url}) as lab:
            lab.notebook_url("02_investigate_failures.ipynb")

    `env` is added to the server's environment, which kernels inherit.
    """

    def __init__(self, root_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.root_dir = Path(root_dir)
        self.extra_env = dict(env or {})
        self.token = secrets.token_hex(16)
        self.port = 0
        self.started_in_s = 0.0
        self._tmp = tempfile.TemporaryDirectory(prefix="tasknb-lab-")
        self.home = Path(self._tmp.name)
        self.log_path = self.home / "jupyterlab.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, path: str) -> str:
        """The URL that opens `path` (relative to root_dir) alone in JupyterLab.

        `reset` starts from an empty workspace, so tabs (and kernel states in the status
        bar) of notebooks opened earlier in the session cannot be mistaken for this one.
        """
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def environment(self) -> dict[str, str]:
        home = self.home
        return {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "IPYTHONDIR": str(home / "ipython"),
            **self.extra_env,
        }

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
            "--ServerApp.log_level=WARN",
        ]  # fmt: skip
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # otherwise jupyter lab exits at once as root
        return cmd

    def start(self) -> JupyterLab:
        write_lab_settings(self.home / "config")
        self.port = free_port()
        began = time.monotonic()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            self.command(),
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._wait_ready()
        self.started_in_s = time.monotonic() - began
        return self

    def _wait_ready(self) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        assert self._proc is not None
        while True:
            if self._proc.poll() is not None:  # died: fail fast with its log
                raise BrowserSetupError(
                    f"jupyter lab exited with code {self._proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise BrowserSetupError(
                    f"jupyter lab did not answer /api/status within {SERVER_START_TIMEOUT_S:.0f} s:"
                    f"\n{self.log_tail()}"
                )
            time.sleep(STATUS_POLL_INTERVAL_S)

    def stop(self) -> None:
        """Terminate the server this object started (and only it); kill it after a timeout."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def save_log(self, name: str) -> Path:
        """Copy the server log to test-artifacts/<name> and return its path."""
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        target = ARTIFACTS_DIR / name
        target.write_text(self.log_tail(200_000))
        return target

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- driving the page -----------------------------------------------------------------------


def wait_for_kernel_idle(page, timeout_ms: float = 90_000) -> None:
    """Wait until the status bar says the notebook's kernel exists and is idle.

    The toolbar's execution indicator reads idle before any kernel exists, so it is not used.
    """
    page.locator(".jp-StatusBar-Widget", has_text=KERNEL_IDLE_TEXT).first.wait_for(
        timeout=timeout_ms
    )


def run_all_cells(page) -> None:
    """Run ▸ Run All Cells through the main menu (what a user clicks)."""
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()


# True once every non-empty code cell shows an execution count, or a traceback is on screen
# (Run All stops at the first error, so later cells would never get a count).
_ALL_CELLS_RAN_JS = """() => {
  const tab = document.querySelector("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current");
  const root = (tab && document.getElementById(tab.dataset.id)) || document;
  const tracebacks = [...root.querySelectorAll(
      ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
      .filter((el) => el.textContent.includes("Traceback"));
  if (tracebacks.length) return true;
  const cells = [...root.querySelectorAll(".jp-Notebook .jp-CodeCell")]
      .filter((cell) => (cell.querySelector(".cm-content")?.textContent || "").trim() !== "");
  return cells.length > 0 && cells.every((cell) =>
      /\\[\\d+\\]/.test(cell.querySelector(".jp-InputPrompt")?.textContent || ""));
}"""


def run_all_and_wait(page, timeout_ms: float = 180_000) -> None:
    """Run All, then wait until every code cell ran; fail with the traceback if one raised."""
    run_all_cells(page)
    page.wait_for_function(_ALL_CELLS_RAN_JS, timeout=timeout_ms)
    errors = error_outputs(page)
    if errors.count():
        raise AssertionError("a notebook cell raised:\n" + errors.first.inner_text()[-3000:])


def output_with_text(page, text: str):
    """A cell output (never the cell source) containing `text`."""
    return page.locator(".jp-OutputArea-output", has_text=text)


def error_outputs(page):
    """Tracebacks rendered in cell outputs (JupyterLab renders them as stderr text)."""
    return page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        has_text="Traceback",
    )


def widget_button(scope, label: str):
    """The ipywidgets Button whose caption is exactly `label` (an icon may precede it).

    `get_by_role(name=...)` is unreliable here: the Font Awesome glyph is CSS content and
    becomes part of the accessible name. The text content is the caption alone.
    """
    caption = re.compile(rf"^\s*{re.escape(label)}\s*$")
    return scope.locator("button.widget-button", has_text=caption)


def svg_from_img(img_locator) -> str:
    """The SVG text of an `<img src="data:image/svg+xml,...">` JupyterLab renders for SVG."""
    src = img_locator.get_attribute("src") or ""
    assert src.startswith("data:image/svg+xml"), f"not an inline SVG image: {src[:80]!r}"
    return unquote(src.split(",", 1)[1])


def screenshot(locator, name: str) -> Path:
    """Save an element screenshot as test-artifacts/<name> and return its path."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / name
    locator.screenshot(path=str(path))
    assert path.stat().st_size > 0, f"empty screenshot {path}"
    return path
