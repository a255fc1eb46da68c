"""Handler of ``GET /api/v2/results/{handle}?page=N``: asynchronous answers and list pages."""

from __future__ import annotations

import uuid

from tasknb.local import rules
from tasknb.local.api.http import RESULT_RETENTION, Call, Reply, accepted
from tasknb.local.rules import ApiError, bad_request, parse_int
from tasknb.local.service.bodies import to_db


async def fetch_result(call: Call) -> Reply:
    """A stored result (handles live :data:`RESULT_RETENTION`); a 202 while it is pending."""
    handle = call.params["handle"]
    try:
        uuid.UUID(handle)
    except ValueError:
        raise bad_request(f"Invalid resultHandler: {handle[:80]}") from None
    store = call.service.store
    store.delete_results_before(to_db(call.service.now() - RESULT_RETENTION))
    row = store.result(handle)
    if row is None:
        raise ApiError(404, rules.RESULT_NOT_FOUND, f"Result handle {handle} does not exist "
                       "or has expired (handles are kept for one hour).")
    if row["state"] != "done":
        return accepted(handle)
    pages = row["pages"]
    page = parse_int(call.query.get("page"), "page", 0, 0, max(0, len(pages) - 1) if pages else 0)
    if pages:
        return Reply(pages[page or 0], int(row["status"] or 200))
    return Reply(row["body"], int(row["status"] or 200))
