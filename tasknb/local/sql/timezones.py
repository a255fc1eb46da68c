"""The session's TIMEZONE parameter: which zone a run's statements see.

    >>> session_time_zone({"timezone": "Europe/London"}), session_time_zone({})
    ('Europe/London', 'UTC')
    >>> set_time_zone_sql("Europe/London")
    "SET SESSION TimeZone = 'Europe/London'"
    >>> check_time_zone("utc")
    Traceback (most recent call last):
    ...
    tasknb.local.sql.errors.TaskSqlError: SQL compilation error:
    invalid value [utc] for parameter 'TIMEZONE'

Snowflake applies TIMEZONE per session (docs.snowflake.com/en/sql-reference/parameters#timezone):
CURRENT_TIMESTAMP, TIMESTAMP_LTZ values shown or converted, CURRENT_DATE and strings read as
TIMESTAMP_LTZ follow it; TIMESTAMP_NTZ values do not change. Locally a run (a task run, a SQL
API request) is one DuckDB cursor, so the zone is DuckDB's session ``TimeZone`` of that
cursor (ICU, bundled with DuckDB's Python package): set at the run's start from the task's or
request's ``TIMEZONE`` parameter, changed by ``ALTER SESSION SET TIMEZONE``. The names are
those of DuckDB's time-zone table, spelled exactly (Snowflake refuses ``'utc'``). The local
default is UTC (Snowflake's account default is America/Los_Angeles).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import duckdb

from tasknb.local.sql.errors import TaskSqlError
from tasknb.local.sql.names import sql_string

DEFAULT_TIME_ZONE = "UTC"
TIMEZONE_PARAMETER = "TIMEZONE"
#: Snowflake's code for a session parameter value it does not take (SQLSTATE 22023)
CODE_INVALID_PARAMETER_VALUE = 1422


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    """Every zone DuckDB's ICU knows, as spelled in its table."""
    with duckdb.connect(":memory:") as con:
        return frozenset(row[0] for row in con.execute("SELECT name FROM pg_timezone_names()")
                         .fetchall())


def check_time_zone(name: object) -> str:
    """``name`` if it is a time zone's exact name, else Snowflake's refusal."""
    if not isinstance(name, str) or name not in _zone_names():
        raise TaskSqlError(CODE_INVALID_PARAMETER_VALUE, "SQL compilation error:\ninvalid value "
                           f"[{name}] for parameter '{TIMEZONE_PARAMETER}'", "22023")
    return name


def session_time_zone(parameters: Mapping[str, object]) -> str:
    """The TIMEZONE of a task's or request's session parameters (checked), else UTC."""
    for key, value in parameters.items():
        if str(key).upper() == TIMEZONE_PARAMETER:
            return check_time_zone(value)
    return DEFAULT_TIME_ZONE


def set_time_zone_sql(zone: str) -> str:
    """The DuckDB statement that makes ``zone`` the cursor's session time zone."""
    return f"SET SESSION TimeZone = {sql_string(zone)}"


def is_time_zone_change(duck_sql: str) -> bool:
    """Whether a DuckDB statement of the engine changes its cursor's time zone."""
    return duck_sql.startswith("SET SESSION TimeZone")
