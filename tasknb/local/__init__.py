"""The embedded local Task server: Snowflake's Task REST API on 127.0.0.1, with real runs.

    >>> import tasknb.local
    >>> with tasknb.local.start(clock="manual") as server:
    ...     server.service.ensure_schema("DEMO", "PUBLIC")
    ...     server.service.list_tasks("DEMO", "PUBLIC")
    []

``start()`` runs it in a background thread and returns a ``LocalServer``; ``serve()`` runs it in
the foreground (``tasknb server``). ``Service`` is the same server as a plain Python API.
Imports are lazy so that ``import tasknb.local`` stays cheap; without the ``local`` extra it
raises ``MissingExtra`` naming ``pip install "tasknb[local]"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasknb._extras import require

if TYPE_CHECKING:
    from tasknb.local.server import LocalServer, serve, start
    from tasknb.local.service import Service

__all__ = ["LocalServer", "Service", "serve", "start"]

# every way into the server passes here: without the extra, one line naming the install command
require("local", "the local server (tasknb.local)")


def __getattr__(name: str) -> Any:
    if name in ("LocalServer", "serve", "start"):
        from tasknb.local import server

        return getattr(server, name)
    if name == "Service":
        from tasknb.local.service import Service

        return Service
    raise AttributeError(f"module 'tasknb.local' has no attribute {name!r}")
