"""The harness itself: settings JupyterLab reads, and a missing chromium fails loudly."""

from __future__ import annotations

import json

import pytest

from . import harness


def test_missing_chromium_raises_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv(harness.CHROMIUM_ENV_VAR, str(tmp_path / "nope"))
    monkeypatch.setattr(harness.shutil, "which", lambda name: None)
    monkeypatch.setattr(harness, "DEBIAN_CHROMIUM", str(tmp_path / "also-missing"))
    with pytest.raises(harness.BrowserSetupError, match="apt-get install -y chromium"):
        harness.chromium_path()


def test_chromium_path_prefers_the_env_override(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv(harness.CHROMIUM_ENV_VAR, str(fake))
    assert harness.chromium_path() == str(fake)


def test_lab_settings_silence_news_and_keep_cells_in_the_dom(tmp_path):
    harness.write_lab_settings(tmp_path)
    settings = tmp_path / "lab" / "user-settings" / "@jupyterlab"
    news = json.loads(
        (settings / "apputils-extension/notification.jupyterlab-settings").read_text()
    )
    assert news == {"fetchNews": "false", "checkForUpdates": False}  # fetchNews is a string
    tracker = json.loads((settings / "notebook-extension/tracker.jupyterlab-settings").read_text())
    assert tracker["windowingMode"] == "none"
    assert "extension_manager = 'readonly'" in (tmp_path / "jupyter_lab_config.py").read_text()
