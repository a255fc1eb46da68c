"""Handlers of the database and schema operations (``/api/v2/databases[/{db}/schemas[/{s}]]``).

Each one parses the query, calls one :class:`~tasknb.local.service.Service` method and shapes
the answer; the service checks the names and the body.
"""

from __future__ import annotations

from tasknb.local.api.http import Call, Reply, status
from tasknb.local.rules import parse_bool


async def list_databases(call: Call) -> Reply:
    """GET /api/v2/databases (``history`` is accepted: nothing dropped is kept)."""
    filters = call.list_filters()
    parse_bool(call.query.get("history"), "history", False)
    return await call.paged(await call.run(call.service.list_databases, **filters))


async def create_database(call: Call) -> Reply:
    """POST /api/v2/databases?createMode=..."""
    body = await call.json_body()
    return status(await call.run(call.service.create_database, body,
                                 call.query.get("createMode")))


async def fetch_database(call: Call) -> Reply:
    """GET /api/v2/databases/{database}."""
    return Reply(call.service.fetch_database(call.params["database"]))


async def create_or_alter_database(call: Call) -> Reply:
    """PUT /api/v2/databases/{database}."""
    body = await call.json_body()
    return status(await call.run(call.service.create_or_alter_database,
                                 call.params["database"], body))


async def delete_database(call: Call) -> Reply:
    """DELETE /api/v2/databases/{database}?ifExists=&restrict=."""
    if_exists = parse_bool(call.query.get("ifExists"), "ifExists", False)
    parse_bool(call.query.get("restrict"), "restrict", False)
    return status(await call.run(call.service.delete_database, call.params["database"],
                                 if_exists))


async def list_schemas(call: Call) -> Reply:
    """GET /api/v2/databases/{database}/schemas."""
    filters = call.list_filters()
    parse_bool(call.query.get("history"), "history", False)
    return await call.paged(await call.run(call.service.list_schemas, call.params["database"],
                                     **filters))


async def create_schema(call: Call) -> Reply:
    """POST /api/v2/databases/{database}/schemas?createMode=..."""
    body = await call.json_body()
    return status(await call.run(call.service.create_schema, call.params["database"], body,
                                 call.query.get("createMode")))


async def fetch_schema(call: Call) -> Reply:
    """GET /api/v2/databases/{database}/schemas/{schema}."""
    return Reply(call.service.fetch_schema(call.params["database"], call.params["schema"]))


async def create_or_alter_schema(call: Call) -> Reply:
    """PUT /api/v2/databases/{database}/schemas/{schema}."""
    body = await call.json_body()
    return status(await call.run(call.service.create_or_alter_schema, call.params["database"],
                                 call.params["schema"], body))


async def delete_schema(call: Call) -> Reply:
    """DELETE /api/v2/databases/{database}/schemas/{schema}?ifExists=&restrict=."""
    if_exists = parse_bool(call.query.get("ifExists"), "ifExists", False)
    parse_bool(call.query.get("restrict"), "restrict", False)
    return status(await call.run(call.service.delete_schema, call.params["database"],
                                 call.params["schema"], if_exists))
