"""Task schedules: a validated interval or cron (:class:`LocalSchedule`), its REST and SQL
forms, and when it fires next.

    >>> from datetime import timezone
    >>> s = parse_schedule({"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *", "timezone": "UTC"})
    >>> next_fire_after(s, datetime(2026, 1, 1, 3, tzinfo=timezone.utc)).isoformat()
    '2026-01-02T02:00:00+00:00'

Rules follow the behavioural reference (task-semantics.md §4). An interval is ``minutes``
(plus the optional ``seconds`` 0-59 that snowflake-core sends); the total is at least 10
seconds and at most 11,520 minutes. The first run is one interval after the anchor (the
resume time), then fixed steps from that anchor. A cron is read as :mod:`.cron` describes.
Everything returned is an aware UTC datetime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tasknb.local.schedule.clock import as_utc
from tasknb.local.schedule.cron import (
    INVALID_SCHEDULE,
    CronSpec,
    ScheduleError,
    next_cron,
    parse_cron,
    resolve_timezone,
)

MIN_INTERVAL_SECONDS = 10
MAX_INTERVAL_MINUTES = 11_520
MAX_SECONDS_FIELD = 59
MINUTES_TYPE = "MINUTES_TYPE"
CRON_TYPE = "CRON_TYPE"
TOO_SHORT = "Cannot set schedule less than 10 seconds."
TOO_LONG = "Cannot set schedule greater than 11,520 minutes."


@dataclass(frozen=True)
class LocalSchedule:
    """A validated schedule: an interval (``minutes`` + ``seconds``) or a cron in a zone.

    >>> parse_schedule({"schedule_type": "MINUTES_TYPE", "minutes": 10}).interval
    datetime.timedelta(seconds=600)
    """

    kind: str  # MINUTES_TYPE or CRON_TYPE
    minutes: int = 0
    seconds: int = 0
    cron_expr: str | None = None
    timezone: str | None = None
    _zone: ZoneInfo | None = field(default=None, compare=False, repr=False)

    @property
    def is_cron(self) -> bool:
        return self.kind == CRON_TYPE

    @property
    def interval(self) -> timedelta:
        """The interval of a minutes schedule (zero for a cron)."""
        return timedelta(minutes=self.minutes, seconds=self.seconds)

    @property
    def spec(self) -> CronSpec:
        """The parsed cron fields (cron schedules only)."""
        if self.cron_expr is None:
            raise ValueError("a minutes schedule has no cron fields")
        return parse_cron(self.cron_expr)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone or resolve_timezone(self.timezone or "UTC")


def _strict_int(body: dict[str, Any], key: str, *, required: bool) -> int:
    if key not in body or body[key] is None:
        if required:
            raise ScheduleError(
                f"{INVALID_SCHEDULE} A MINUTES_TYPE schedule needs an integer '{key}', "
                'e.g. {"schedule_type": "MINUTES_TYPE", "minutes": 10}.'
            )
        return 0
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScheduleError(f"{INVALID_SCHEDULE} '{key}' must be an integer, got {value!r}.")
    return value


def parse_schedule(body: dict[str, Any]) -> LocalSchedule:
    """Validate a REST ``schedule`` body and return the normalised schedule.

        >>> parse_schedule({"schedule_type": "MINUTES_TYPE", "minutes": 1, "seconds": 30}).interval
        datetime.timedelta(seconds=90)

    Raises ScheduleError with Snowflake's wording plus what to change.
    """
    if not isinstance(body, dict):
        raise ScheduleError(
            f"{INVALID_SCHEDULE} 'schedule' must be an object with a 'schedule_type' of "
            f"MINUTES_TYPE or CRON_TYPE, got {type(body).__name__}."
        )
    kind = body.get("schedule_type")
    if kind == MINUTES_TYPE:
        minutes = _strict_int(body, "minutes", required=True)
        seconds = _strict_int(body, "seconds", required=False)
        if minutes < 0 or seconds < 0:
            raise ScheduleError(
                f"{INVALID_SCHEDULE} 'minutes' and 'seconds' must not be negative "
                f"(got minutes={minutes}, seconds={seconds})."
            )
        if seconds > MAX_SECONDS_FIELD:
            raise ScheduleError(
                f"{INVALID_SCHEDULE} 'seconds' must be 0-59 (got {seconds}); put whole minutes "
                "in 'minutes'."
            )
        total = minutes * 60 + seconds
        if total < MIN_INTERVAL_SECONDS:
            raise ScheduleError(
                f"{TOO_SHORT} The schedule adds up to {total} second(s); use at least "
                f"{MIN_INTERVAL_SECONDS} seconds (e.g. minutes=1)."
            )
        if total > MAX_INTERVAL_MINUTES * 60:
            raise ScheduleError(
                f"{TOO_LONG} Got {minutes} minute(s) {seconds} second(s); for longer gaps use a "
                "cron schedule (e.g. '0 2 1 * *' for monthly)."
            )
        return LocalSchedule(kind=MINUTES_TYPE, minutes=minutes, seconds=seconds)
    if kind == CRON_TYPE:
        expr = body.get("cron_expr")
        zone_name = body.get("timezone")
        if not isinstance(expr, str) or not expr.strip():
            raise ScheduleError(
                f"{INVALID_SCHEDULE} A CRON_TYPE schedule needs 'cron_expr' with five fields, "
                "e.g. '0 2 * * *'."
            )
        if not isinstance(zone_name, str) or not zone_name.strip():
            raise ScheduleError(
                f"{INVALID_SCHEDULE} A CRON_TYPE schedule needs 'timezone', an IANA zone name "
                "such as 'UTC' or 'America/Los_Angeles'."
            )
        expr = expr.strip()
        parse_cron(expr)
        zone = resolve_timezone(zone_name)
        return LocalSchedule(kind=CRON_TYPE, cron_expr=expr, timezone=zone_name.strip(), _zone=zone)
    raise ScheduleError(
        f"{INVALID_SCHEDULE} 'schedule_type' must be MINUTES_TYPE or CRON_TYPE, got {kind!r}."
    )


def schedule_to_api(schedule: LocalSchedule) -> dict[str, Any]:
    """The REST representation (``seconds`` is always present on a minutes schedule).

    >>> schedule_to_api(LocalSchedule(MINUTES_TYPE, minutes=5))
    {'schedule_type': 'MINUTES_TYPE', 'minutes': 5, 'seconds': 0}
    """
    if schedule.is_cron:
        return {
            "schedule_type": CRON_TYPE,
            "cron_expr": schedule.cron_expr,
            "timezone": schedule.timezone,
        }
    return {"schedule_type": MINUTES_TYPE, "minutes": schedule.minutes, "seconds": schedule.seconds}


def schedule_text(schedule: LocalSchedule) -> str:
    """The schedule as SHOW TASKS writes it.

    >>> schedule_text(LocalSchedule(MINUTES_TYPE, minutes=10))
    '10 MINUTE'
    >>> schedule_text(LocalSchedule(MINUTES_TYPE, minutes=1, seconds=30))
    '90 SECOND'
    """
    if schedule.is_cron:
        return f"USING CRON {schedule.cron_expr} {schedule.timezone}"
    if schedule.seconds:
        return f"{schedule.minutes * 60 + schedule.seconds} SECOND"
    return f"{schedule.minutes} MINUTE"


def next_fire_after(
    schedule: LocalSchedule, after: datetime, *, anchor: datetime | None = None
) -> datetime:
    """The first fire time strictly after ``after`` (aware UTC).

        >>> from datetime import timezone
        >>> t0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
        >>> every_10 = LocalSchedule(MINUTES_TYPE, minutes=10)
        >>> next_fire_after(every_10, t0 + timedelta(minutes=25), anchor=t0).time()
        datetime.time(12, 30)

    Interval: the next ``anchor + k * interval`` (k >= 1) after ``after``; without an anchor,
    ``after + interval``. Cron: the next matching minute in the schedule's zone, or
    ``NEVER`` if the expression names no real instant.
    """
    after = as_utc(after, "after")
    if not schedule.is_cron:
        step = schedule.interval
        if anchor is None:
            return after + step
        base = as_utc(anchor, "anchor")
        if after < base:
            return base + step
        count = (after - base) // step + 1
        return base + count * step
    return next_cron(schedule.spec, schedule.zone, after)


