"""Handlers of the task operations (``/api/v2/databases/{db}/schemas/{s}/tasks...``).

Each one parses the query, calls one :class:`~tasknb.local.service.Service` method and shapes
the answer; the service checks the names, the body and the rules.
"""

from __future__ import annotations

from typing import Any

from tasknb.local import rules
from tasknb.local.api.http import Call, Reply, status
from tasknb.local.rules import parse_bool, parse_int


def _task(call: Call) -> tuple[str, str, str]:
    return call.params["database"], call.params["schema"], call.params["name"]


async def list_tasks(call: Call) -> Reply:
    """GET .../tasks?rootOnly=&like=&startsWith=&showLimit=&fromName=."""
    filters = call.list_filters()
    root_only = parse_bool(call.query.get("rootOnly"), "rootOnly", False)
    service = call.service

    def listing() -> Reply:
        return call.paged_json(service.tasks.list_tasks_json(
            call.params["database"], call.params["schema"], root_only=root_only, **filters))

    return await call.run(listing)


async def create_task(call: Call) -> Reply:
    """POST .../tasks?createMode=..."""
    body = await call.json_body()
    return status(await call.run(call.service.create_task, call.params["database"],
                                 call.params["schema"], body, call.query.get("createMode")))


async def fetch_task(call: Call) -> Reply:
    """GET .../tasks/{name}."""
    return Reply(call.service.fetch_task(*_task(call)))


async def create_or_alter_task(call: Call) -> Reply:
    """PUT .../tasks/{name}."""
    body = await call.json_body()
    return status(await call.run(call.service.create_or_alter_task, *_task(call), body))


async def delete_task(call: Call) -> Reply:
    """DELETE .../tasks/{name}?ifExists=."""
    if_exists = parse_bool(call.query.get("ifExists"), "ifExists", False)
    return status(await call.run(call.service.delete_task, *_task(call), if_exists))


async def execute_task(call: Call) -> Reply:
    """POST .../tasks/{name}:execute?retryLast=&asyncExec=.

    EXECUTE only schedules the run, so it is answered at once; with asyncExec the answer is a
    202 whose result handle is ready immediately (refusals stay synchronous 4xx).
    """
    retry_last = parse_bool(call.query.get("retryLast"), "retryLast", False)
    async_exec = parse_bool(call.query.get("asyncExec"), "asyncExec", False)
    run = await call.run(call.service.execute_task, *_task(call), retry_last=retry_last)
    if async_exec:
        return await call.accepted_done({"status": execute_status(run)})
    return status(execute_status(run))


def execute_status(run: dict[str, Any] | None) -> str:
    """The status text of an execute: the run started, or queued behind a running one.

        >>> execute_status({"run_id": 1767225600000})
        'Task execution started (run_id 1767225600000).'
    """
    if run is None:
        return ("Task execution queued: a run of this graph is in progress; the new run starts "
                "when it finishes.")
    return f"Task execution started (run_id {run['run_id']})."


async def resume_task(call: Call) -> Reply:
    """POST .../tasks/{name}:resume."""
    return status(await call.run(call.service.resume_task, *_task(call)))


async def suspend_task(call: Call) -> Reply:
    """POST .../tasks/{name}:suspend."""
    return status(await call.run(call.service.suspend_task, *_task(call)))


async def set_tags(call: Call) -> Reply:
    """POST .../tasks/{name}:set-tags?ifExists=."""
    if_exists = parse_bool(call.query.get("ifExists"), "ifExists", False)
    body = await call.json_body()
    return status(await call.run(call.service.set_tags, *_task(call), body, if_exists))


async def unset_tags(call: Call) -> Reply:
    """POST .../tasks/{name}:unset-tags?ifExists=."""
    if_exists = parse_bool(call.query.get("ifExists"), "ifExists", False)
    body = await call.json_body()
    return status(await call.run(call.service.unset_tags, *_task(call), body, if_exists))


async def get_tags(call: Call) -> Reply:
    """GET .../tasks/{name}:get-tags?withLineage=."""
    parse_bool(call.query.get("withLineage"), "withLineage", False)
    return await call.paged(call.service.get_tags(*_task(call)))


async def dependents(call: Call) -> Reply:
    """GET .../tasks/{name}/dependents?recursive=."""
    recursive = parse_bool(call.query.get("recursive"), "recursive", True)
    service = call.service

    def listing() -> Reply:
        return call.paged_json(service.tasks.dependents_json(*_task(call), recursive))

    return await call.run(listing)


def _result_limit(call: Call) -> int:
    return parse_int(call.query.get("resultLimit"), "resultLimit", rules.DEFAULT_RESULT_LIMIT,
                     1, rules.MAX_RESULT_LIMIT) or rules.DEFAULT_RESULT_LIMIT


async def current_graphs(call: Call) -> Reply:
    """GET .../tasks/{name}/current-graphs?resultLimit= (also the deprecated current_graphs)."""
    limit = _result_limit(call)
    return await call.paged(await call.run(call.service.current_graphs, *_task(call), limit))


async def complete_graphs(call: Call) -> Reply:
    """GET .../tasks/{name}/complete-graphs?resultLimit=&errorOnly= (also complete_graphs)."""
    limit = _result_limit(call)
    error_only = parse_bool(call.query.get("errorOnly"), "errorOnly", False)
    service = call.service

    def listing() -> Reply:
        return call.paged_json(service.history.complete_graphs_json(*_task(call), limit,
                                                                   error_only))

    return await call.run(listing)
