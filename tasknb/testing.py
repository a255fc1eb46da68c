"""The one bridge between the client and the local server, for tests and demos.

    >>> from tasknb.testing import local_server, local_client
    >>> with local_server(clock="manual") as server:
    ...     with local_client(server, database="demo", schema="public") as client:
    ...         client.list_tasks()
    []

``local_server(**kwargs)`` starts ``tasknb.local.start(...)`` and stops it on exit;
``local_client(server, ...)`` builds a ``TaskClient`` for it (creating the database and
schema on the server if missing) and accepts any ``TaskClient`` option, e.g. an
``httpx`` ``transport`` that validates every exchange against the spec.

pytest users get the fixtures ``tasknb_server`` (one manual-clock server per session) and
``tasknb_client`` (a client on a fresh schema per test) by adding
``pytest_plugins = ["tasknb.testing"]`` to a ``conftest.py``. pytest is optional: without it
the fixtures are simply not defined.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .auth import PatAuth
from .client import TaskClient

__all__ = ["DEFAULT_SCHEMA", "local_client", "local_server"]

DEFAULT_SCHEMA = "PUBLIC"
_schema_counter = itertools.count(1)


@contextmanager
def local_server(**kwargs: Any) -> Iterator[Any]:
    """Start a local Task server (``tasknb.local.start(**kwargs)``); stop it on exit.

    Without ``data_dir`` the server uses a temporary directory that ``stop()`` removes.
    """
    from .local import start

    server = start(**kwargs)
    try:
        yield server
    finally:
        server.stop()


def local_client(
    server: Any,
    *,
    database: str | None = None,
    schema: str | None = None,
    **options: Any,
) -> TaskClient:
    """A ``TaskClient`` for ``server`` (a ``LocalServer``) with its token.

    ``database``/``schema`` are created on the server when missing (schema defaults to
    ``PUBLIC`` when only a database is given). ``options`` go to ``TaskClient``
    (``transport=``, ``retry=``, ``timeout=``, ...).
    """
    if database is not None:
        schema = schema or DEFAULT_SCHEMA
        server.service.ensure_schema(database, schema)
    return TaskClient(
        server.url,
        auth=PatAuth(server.token),
        database=database,
        schema=schema,
        **options,
    )


# -- pytest plugin (pytest_plugins = ["tasknb.testing"]) ---------------------------------

try:  # pragma: no cover - exercised only when loaded as a pytest plugin
    import pytest as _pytest
except ImportError:  # pragma: no cover - pytest is a dev dependency
    _pytest = None

if _pytest is not None:

    @_pytest.fixture(scope="session")
    def tasknb_server() -> Iterator[Any]:
        """One local server (manual clock) for the whole test session."""
        with local_server(clock="manual") as server:
            yield server

    @_pytest.fixture
    def tasknb_client(tasknb_server: Any) -> Iterator[TaskClient]:
        """A client on a fresh schema of database ``TESTS`` on the session's server."""
        schema = f"T{next(_schema_counter):04d}"
        client = local_client(tasknb_server, database="TESTS", schema=schema)
        try:
            yield client
        finally:
            client.close()
