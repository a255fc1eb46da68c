"""Triggered tasks: a root with no schedule whose WHEN calls SYSTEM$STREAM_HAS_DATA.

    >>> rec = {"predecessors": [], "schedule": None, "condition": "SYSTEM$STREAM_HAS_DATA('S')"}
    >>> is_triggered(rec), poll_schedule(rec)
    (True, {'schedule_type': 'MINUTES_TYPE', 'minutes': 0, 'seconds': 30})

Snowflake's triggered-task page (docs.snowflake.com/en/user-guide/tasks-triggered): the task
runs when its stream has data, at most once every USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS
(default 30, 10 to 604800); a serverless one must be given TARGET_COMPLETION_INTERVAL. The
local server looks at the stream at that interval (on a manual clock: as time advances) and
starts a run, ``scheduled_from`` TRIGGER, only when the WHEN holds; otherwise nothing is
recorded. An EXECUTE of a triggered task evaluates the WHEN as any run does (SKIPPED when the
stream is empty).
"""

from __future__ import annotations

from typing import Any

from tasknb.local import rules
from tasknb.local.rules import rule_error

STREAM_FUNCTION = "SYSTEM$STREAM_HAS_DATA"
INTERVAL_PARAMETER = "USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS"
DEFAULT_INTERVAL_SECONDS = 30
MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS = 10, 604_800
SCHEDULED_FROM = "TRIGGER"


def is_triggered(rec: dict[str, Any]) -> bool:
    """Whether a task is a triggered task (a root without schedule, WHEN on a stream)."""
    return (rules.is_root(rec) and not rec.get("schedule")
            and STREAM_FUNCTION in (rec.get("condition") or "").upper())


def interval_seconds(rec: dict[str, Any]) -> int:
    """The task's minimum trigger interval (its session parameter, else 30 seconds)."""
    params = {str(k).upper(): v for k, v in (rec.get("session_parameters") or {}).items()}
    value = params.get(INTERVAL_PARAMETER, DEFAULT_INTERVAL_SECONDS)
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = DEFAULT_INTERVAL_SECONDS
    return min(max(seconds, MIN_INTERVAL_SECONDS), MAX_INTERVAL_SECONDS)


def poll_schedule(rec: dict[str, Any]) -> dict[str, Any]:
    """The interval at which the server looks whether the task's stream has data."""
    seconds = interval_seconds(rec)
    return {"schedule_type": "MINUTES_TYPE", "minutes": seconds // 60, "seconds": seconds % 60}


def check_task(spec: dict[str, Any], fqn: str) -> None:
    """Refuse what Snowflake refuses for a triggered task (a serverless one needs
    TARGET_COMPLETION_INTERVAL; the trigger interval parameter is 10 to 604800 seconds)."""
    params = {str(k).upper(): v for k, v in (spec.get("session_parameters") or {}).items()}
    if INTERVAL_PARAMETER in params:
        value = params[INTERVAL_PARAMETER]
        if (isinstance(value, bool) or not str(value).strip().isdigit()
                or not MIN_INTERVAL_SECONDS <= int(value) <= MAX_INTERVAL_SECONDS):
            raise rule_error(f"{INTERVAL_PARAMETER} must be an integer from "
                             f"{MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS:,}, got {value!r}.")
    if is_triggered(spec) and not spec.get("warehouse") and not spec.get(
            "target_completion_interval"):
        raise rule_error(f"Task {fqn} is a serverless triggered task (no schedule, no warehouse, "
                         f"WHEN {STREAM_FUNCTION}): it needs TARGET_COMPLETION_INTERVAL, e.g. "
                         '"target_completion_interval": {"schedule_type": "MINUTES_TYPE", '
                         '"minutes": 5}, or a warehouse.')
