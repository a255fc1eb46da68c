"""One clock for every time a panel shows: the server's.

    >>> from datetime import datetime, timezone
    >>> clock = ServerClock(None)
    >>> clock.now().tzinfo is timezone.utc, clock.source
    (True, 'this machine')

The local server tells its time at ``GET /tasknb/v1/clock`` (its clock may be manual and days
away from this machine's); any other server (a Snowflake account) answers that path with a
404 whose ``Date`` header is its own time. :meth:`ServerClock.sync` makes that one request and
keeps the offset from this machine's clock, so ``now()`` costs nothing afterwards. When the
server cannot be asked (no HTTP client, or the request fails) the last offset stays; with
none yet, this machine's clock is used and ``source`` says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from tasknb.models import parse_timestamp

#: The local server's clock endpoint (a tasknb extension; Snowflake answers it with a 404).
CLOCK_PATH = "/tasknb/v1/clock"
#: Seconds one clock request may take before the previous offset is kept.
CLOCK_TIMEOUT_S = 5.0


def server_time_of(status: int, body: Any, date_header: str | None) -> datetime | None:
    """The server's time in one answer: the local server's ``now``, else the ``Date`` header.

        >>> server_time_of(200, {"now": "2026-12-06T01:02:03Z", "mode": "manual"}, None).day
        6
        >>> server_time_of(404, None, "Wed, 02 Dec 2026 04:15:00 GMT").hour
        4
        >>> server_time_of(404, None, None) is None
        True
    """
    if status == 200 and isinstance(body, dict) and body.get("now"):
        try:
            found = parse_timestamp(body["now"])
        except (TypeError, ValueError):
            found = None
        if found is not None:
            return found.astimezone(timezone.utc)
    if date_header:
        try:
            return parsedate_to_datetime(date_header).astimezone(timezone.utc)
        except (TypeError, ValueError):
            return None
    return None


class ServerClock:
    """The server's time as ``now()``: this machine's clock plus the offset last measured."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.offset: timedelta | None = None
        self.source = "this machine"

    def sync(self) -> ServerClock:
        """Ask the server for its time (one request); keep the old offset when it fails."""
        http = getattr(self.client, "_http", None)
        if http is None:
            return self
        try:
            sent = datetime.now(timezone.utc)
            response = http.get(CLOCK_PATH, timeout=CLOCK_TIMEOUT_S)
            received = datetime.now(timezone.utc)
            try:
                body = response.json()
            except ValueError:
                body = None
            found = server_time_of(response.status_code, body, response.headers.get("Date"))
        except Exception:  # noqa: BLE001 - a clock that cannot be read keeps its last offset
            return self
        if found is not None:
            self.offset = found - (sent + (received - sent) / 2)
            self.source = "the server"
        return self

    def now(self) -> datetime:
        """The server's time now (UTC), without a request."""
        return datetime.now(timezone.utc) + (self.offset or timedelta(0))
