"""Stored results: ``GET /api/v2/results/{handle}?page=N`` (list pages, asynchronous answers).

    >>> pages = ListPages(max_results=2)
    >>> handle = pages.put([b"[1]", b"[2]"])
    >>> pages.page(handle, 1), pages.page(handle, 2), pages.page("nope", 0)
    (b'[2]', None, None)

The pages of a long list answer are kept in memory (:class:`ListPages`), each encoded once when
the list is made, at most :data:`~tasknb.local.store.MAX_STORED_RESULTS` lists,
:data:`MAX_LIST_BYTES` in all and :data:`~tasknb.local.store.RESULT_RETENTION_SECONDS` of real
time (the oldest go first; never the newest); a page is sent as it was kept, never decoded.
The results of asynchronous actions (``asyncExec``) are stored in SQLite
(:meth:`~tasknb.local.store.Store.put_result`, bounded the same way) and read off the event loop.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections import OrderedDict

from tasknb.local import rules
from tasknb.local.api.http import Call, Reply, accepted
from tasknb.local.rules import ApiError, bad_request, parse_int
from tasknb.local.service import Service
from tasknb.local.store import MAX_STORED_RESULTS, RESULT_RETENTION_SECONDS

MAX_LIST_BYTES = 64 * 1024 * 1024


class ListPages:
    """The pages of recent list answers, bounded by count, bytes and real-time age."""

    def __init__(self, *, max_results: int = MAX_STORED_RESULTS, max_bytes: int = MAX_LIST_BYTES,
                 retention_s: float = RESULT_RETENTION_SECONDS) -> None:
        self.max_results, self.max_bytes, self.retention_s = max_results, max_bytes, retention_s
        self._lock = threading.Lock()
        self._lists: OrderedDict[str, tuple[float, list[bytes], int]] = OrderedDict()
        self._bytes = 0

    def put(self, pages: list[bytes]) -> str:
        """Keep a list's pages; return its handle."""
        handle = str(uuid.uuid4())
        size = sum(len(p) for p in pages)
        now = time.monotonic()
        with self._lock:
            self._lists[handle] = (now, pages, size)
            self._bytes += size
            while len(self._lists) > 1:
                oldest, (stored, _, old_size) = next(iter(self._lists.items()))
                if (len(self._lists) <= self.max_results and self._bytes <= self.max_bytes
                        and now - stored <= self.retention_s):
                    break
                del self._lists[oldest]
                self._bytes -= old_size
        return handle

    def page(self, handle: str, number: int) -> bytes | None:
        """Page ``number`` of a kept list; None when the list or the page is not there."""
        with self._lock:
            kept = self._lists.get(handle)
        if kept is None or time.monotonic() - kept[0] > self.retention_s:
            return None
        pages = kept[1]
        return pages[number] if 0 <= number < len(pages) else None

    def knows(self, handle: str) -> int | None:
        """How many pages a kept list has (None: not kept)."""
        with self._lock:
            kept = self._lists.get(handle)
        return None if kept is None else len(kept[1])

    def stats(self) -> dict[str, int]:
        """How many lists are kept and their size in bytes."""
        with self._lock:
            return {"lists": len(self._lists), "bytes": self._bytes}


_PAGES: weakref.WeakKeyDictionary[Service, ListPages] = weakref.WeakKeyDictionary()
_PAGES_LOCK = threading.Lock()


def list_pages(service: Service) -> ListPages:
    """The kept list pages of a service (made on first use)."""
    with _PAGES_LOCK:
        pages = _PAGES.get(service)
        if pages is None:
            pages = _PAGES[service] = ListPages()
        return pages


async def fetch_result(call: Call) -> Reply:
    """A kept list page or a stored result; a 202 while it is pending."""
    handle = call.params["handle"]
    try:
        uuid.UUID(handle)
    except ValueError:
        raise bad_request(f"Invalid resultHandler: {handle[:80]}") from None
    page = parse_int(call.query.get("page"), "page", 0, 0, 2**31) or 0
    kept = list_pages(call.service)
    count = kept.knows(handle)
    if count is not None:
        body = kept.page(handle, page)
        if body is not None:
            return Reply(None, content=body)
        if page >= count:
            raise _no_page(page, count)
    row = await call.run(call.service.store.result, handle, page)
    if row is None:
        raise ApiError(404, rules.RESULT_NOT_FOUND, f"Result handle {handle} does not exist "
                       f"or has expired (results are kept for {RESULT_RETENTION_SECONDS / 3600:g}"
                       " hour, and only the most recent ones): list again.")
    if row["state"] != "done":
        return accepted(handle)
    if row["body"] is None:
        raise _no_page(page, int(row["page_count"]))
    return Reply(None, int(row["status"] or 200), content=row["body"].encode())


def _no_page(page: int, count: int) -> ApiError:
    return bad_request(f"Invalid value for page: {page} (this result has pages 0 to "
                       f"{max(0, count - 1)}).")
