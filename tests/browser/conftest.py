"""Fixtures for the browser tests: one Chromium per session, one page per test.

    def test_x(browser_page, lab_factory): lab = lab_factory(root); browser_page.goto(...)

A missing chromium fails the tests loudly (never a skip). When a test fails, the page's
screenshot and the JupyterLab log are kept under test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import (
    ARTIFACTS_DIR,
    CHROMIUM_ARGS,
    VIEWPORT,
    JupyterLab,
    chromium_path,
)

DEFAULT_TIMEOUT_MS = 60_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _artifact_name(item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1])


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium launched headless through Playwright, shared by the session."""
    executable = chromium_path()  # raises with instructions when missing
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def lab_factory(request) -> Iterator[Callable[..., JupyterLab]]:
    """Start JupyterLab servers on given root dirs; each is stopped after the test.

    On failure the server logs are copied to test-artifacts/.
    """
    started: list[JupyterLab] = []

    def start(root_dir: Path, *, env: dict[str, str] | None = None) -> JupyterLab:
        lab = JupyterLab(root_dir, env=env)
        started.append(lab)
        return lab.start()

    yield start
    failed = getattr(request.node, "report_call", None)
    for index, lab in enumerate(started):
        if failed is not None and failed.failed:
            lab.save_log(f"{_artifact_name(request.node)}-jupyterlab-{index}.log")
        lab.close()


@pytest.fixture
def browser_page(chromium, request):
    """A fresh page (own context) with generous timeouts; screenshot kept on failure."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(DEFAULT_TIMEOUT_MS)
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = console_errors
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS_DIR / f"{_artifact_name(request.node)}-failure.png"))
    context.close()
