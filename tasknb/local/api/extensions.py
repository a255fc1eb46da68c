"""Handlers of the tasknb extension endpoints under ``/tasknb/v1`` (same token).

``GET ping``; ``GET clock``; ``POST clock:advance {"seconds": N}`` (manual clock);
``POST databases/{db}/schemas/{s}/tasks/{name}:enable-dependents`` (SYSTEM$TASK_DEPENDENTS_ENABLE);
``POST .../tasks/{name}:cancel-ongoing`` (SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS);
``GET .../tasks/{name}/history`` (per-task runs) and ``.../graph-runs`` (every graph run of a
root, no time window).
"""

from __future__ import annotations

from datetime import timedelta

from tasknb.local import rules
from tasknb.local.api.http import Call, Reply, status
from tasknb.local.rules import bad_request, parse_int
from tasknb.local.service import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT
from tasknb.local.service.bodies import to_api_time

MAX_ADVANCE_SECONDS = 366 * 86_400


def _task(call: Call) -> tuple[str, str, str]:
    return call.params["database"], call.params["schema"], call.params["name"]


async def ping(call: Call) -> Reply:
    """GET /tasknb/v1/ping."""
    return status("ok")


async def clock(call: Call) -> Reply:
    """GET /tasknb/v1/clock: ``{"now", "mode": "manual" | "real"}``."""
    svc = call.service
    return Reply({"now": to_api_time(svc.now()), "mode": "manual" if svc.manual else "real"})


async def advance(call: Call) -> Reply:
    """POST /tasknb/v1/clock:advance ``{"seconds": N}``: ``{"now", "runs": [...]}``."""
    body = await call.json_body()
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
        raise bad_request('Send {"seconds": N} with N a number of seconds between 0 and '
                          f"{MAX_ADVANCE_SECONDS:,} (366 days).")
    runs = await call.run(call.service.advance, timedelta(seconds=seconds))
    return Reply({"now": to_api_time(call.service.now()), "runs": runs})


async def enable_dependents(call: Call) -> Reply:
    """POST .../tasks/{name}:enable-dependents: ``{"status", "resumed": [names]}``."""
    resumed = await call.run(call.service.enable_dependents, *_task(call))
    return Reply({"status": "Statement executed successfully.",
                  "resumed": [rules.render_identifier(n) for n in resumed]})


async def cancel_ongoing(call: Call) -> Reply:
    """POST .../tasks/{name}:cancel-ongoing: stop every executing run of the task's graph."""
    return status(await call.run(call.service.cancel_ongoing_executions, *_task(call)))


def _history_limit(call: Call) -> int:
    return parse_int(call.query.get("limit"), "limit", DEFAULT_HISTORY_LIMIT, 1,
                     MAX_HISTORY_LIMIT) or DEFAULT_HISTORY_LIMIT


async def task_history(call: Call) -> Reply:
    """GET .../tasks/{name}/history?limit=: per-task runs, newest first."""
    limit = _history_limit(call)
    return Reply(await call.run(call.service.task_history, *_task(call), limit))


async def graph_runs(call: Call) -> Reply:
    """GET .../tasks/{name}/graph-runs?limit=: every graph run of a root, newest first."""
    limit = _history_limit(call)
    return Reply(await call.run(call.service.graph_runs, *_task(call), limit))
