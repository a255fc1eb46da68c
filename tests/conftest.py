"""Shared fixtures. Others may append fixtures below the marked line.

* ``api``: builds a ``TaskClient`` over a ``MockTransport`` wrapped in the spec-validating
  transport, with no real sleeping (waits are recorded in ``api.sleeps``).
* ``rsa_key``: an RSA key pair generated at runtime.
* ``snowflake_home``: an isolated ``SNOWFLAKE_HOME`` with no SNOWFLAKE_* variables leaking in.
* ``server``: a local server on a manual clock at ``client_support.START``, one per test
  module (a module that needs another server defines its own ``server``).
* ``validating``: a real HTTP transport (loopback) that checks every request and response
  against the official specs and fails the test on a violation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_support import START, Api
from spec_validation import SpecValidatingTransport

from tasknb.local import LocalServer
from tasknb.testing import local_server

pytest_plugins = ["pytester"]  # for the test of the tasknb.testing pytest plugin


@pytest.fixture
def api() -> Iterator[Api]:
    state = Api()
    yield state
    if state.transport is not None:
        state.transport.assert_clean()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(clock="manual", start_time=START) as srv:
        yield srv


@pytest.fixture
def validating() -> Iterator[SpecValidatingTransport]:
    transport = SpecValidatingTransport(httpx.HTTPTransport())
    yield transport
    transport.assert_clean()


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def snowflake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, existing SNOWFLAKE_HOME; no SNOWFLAKE_* or proxy variable leaks in."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(("SNOWFLAKE_", "SF_SKIP", "SKIP_TOKEN")) or upper in {
            "PRIVATE_KEY_PASSPHRASE",
        }:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "snowflake-home"
    home.mkdir()
    monkeypatch.setenv("SNOWFLAKE_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return home


# ---- fixtures added by other parts of the project go below this line ----
