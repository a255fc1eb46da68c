"""Query ids as Snowflake writes them, for the local server's task runs.

    >>> task_query_id(273)
    '01c0ffee-0000-0000-0000-000000000111'
    >>> task_query_id(273) != task_query_id(274)
    True

Snowflake's query ids are 36 characters in the 8-4-4-4-12 hex form of a UUID (``01b2…``); code
that reads ``TASK_HISTORY.QUERY_ID`` often checks or parses that shape. The local server keeps
one record per task run with an integer key, so its query id is that key in the same form: stable
across restarts, unique per run, and the same in TASK_HISTORY and in the cancel message.
"""

from __future__ import annotations

PREFIX = "01c0ffee"  # Snowflake's ids start with 01; the rest marks the local server


def task_query_id(record_id: int) -> str:
    """The query id of the task run stored under ``record_id``."""
    low = f"{record_id & 0xFFFF_FFFF_FFFF:012x}"
    high = f"{(record_id >> 48) & 0xFFFF:04x}"
    return f"{PREFIX}-0000-{high}-0000-{low}"
