"""Task schedules of the local server: interval and Snowflake cron, on an injectable clock.

    >>> s = parse_schedule({"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *", "timezone": "UTC"})
    >>> next_fire_after(s, datetime(2026, 1, 1, 3, tzinfo=timezone.utc)).isoformat()
    '2026-01-02T02:00:00+00:00'

Rules follow the behavioural reference (task-semantics.md §4):

* interval: ``minutes`` (plus the optional ``seconds`` 0-59 that snowflake-core sends); the
  total is at least 10 seconds and at most 11,520 minutes. The first run is one interval after
  the anchor (the resume time), then fixed steps from that anchor.
* cron: five fields (minute, hour, day-of-month, month, day-of-week with 0 = Sunday) in an IANA
  time zone. ``*``, lists, ranges, ``/n`` steps, month and day names, ``L`` (last day of month)
  and ``<d>L`` (last such weekday of the month). ``?``, ``W``, ``#``, a sixth field,
  day-of-week ``7``, a bare ``L`` in day-of-week and ``L-n`` are refused as Snowflake does.
  When both day fields are restricted a day matches if either matches. Wall-clock times are
  read in the schedule's zone: a time skipped by a spring-forward change never fires, a time
  repeated by a fall-back change fires twice.

Everything returned is an aware UTC datetime. A cron that names no real instant
(``0 0 31 2 *``) never fires: ``next_fire_after`` then returns :data:`NEVER`, a far-future
instant that compares later than any real time.
"""

from __future__ import annotations

import calendar
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "MAX_INTERVAL_MINUTES",
    "MIN_INTERVAL_SECONDS",
    "NEVER",
    "Clock",
    "CronSpec",
    "LocalSchedule",
    "ManualClock",
    "RealClock",
    "ScheduleError",
    "next_fire_after",
    "parse_cron",
    "parse_schedule",
    "schedule_text",
    "schedule_to_api",
]

MIN_INTERVAL_SECONDS = 10
MAX_INTERVAL_MINUTES = 11_520
MAX_SECONDS_FIELD = 59
MINUTES_TYPE = "MINUTES_TYPE"
CRON_TYPE = "CRON_TYPE"
NEVER = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)
#: How far ahead a cron is searched; 8 years covers every leap-day pattern.
CRON_SEARCH_DAYS = 8 * 366 + 1
#: Largest shift of a wall clock at a DST change, with margin (most zones: 1 h).
_DST_MARGIN = timedelta(hours=3)

INVALID_SCHEDULE = (
    "Invalid schedule was specified. Please refer to the docs on what constitutes a valid schedule."
)
TOO_SHORT = "Cannot set schedule less than 10 seconds."
TOO_LONG = "Cannot set schedule greater than 11,520 minutes."

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS = {k.upper(): v for k, v in _MONTHS.items()}
_DAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}


class ScheduleError(ValueError):
    """A schedule that Snowflake would refuse; the message says what is wrong and how to fix it.

    >>> try: parse_schedule({"schedule_type": "MINUTES_TYPE", "minutes": 0})
    ... except ScheduleError as e: print(str(e)[:41])
    Cannot set schedule less than 10 seconds.
    """


# --------------------------------------------------------------------------------------- cron


@dataclass(frozen=True)
class CronSpec:
    """A parsed five-field cron expression (without its zone).

    >>> 15 in parse_cron("*/15 9-17 * * MON-FRI").minutes
    True
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    last_weekdays: frozenset[int]  # "<d>L": the last such weekday of the month
    day_restricted: bool
    weekday_restricted: bool

    def matches_day(self, day: date) -> bool:
        """Whether the cron fires on this calendar day (any time)."""
        if day.month not in self.months:
            return False
        month_length = calendar.monthrange(day.year, day.month)[1]
        day_match = day.day in self.days or (self.last_day and day.day == month_length)
        weekday = (day.weekday() + 1) % 7
        weekday_match = weekday in self.weekdays or (
            weekday in self.last_weekdays and day.day + 7 > month_length
        )
        if self.day_restricted and self.weekday_restricted:
            return day_match or weekday_match
        if self.day_restricted:
            return day_match
        if self.weekday_restricted:
            return weekday_match
        return True


def _cron_error(expr: str, detail: str) -> ScheduleError:
    return ScheduleError(f"{INVALID_SCHEDULE} Cron expression '{expr}': {detail}")


_ELEMENT = re.compile(r"^(\*|[0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?(?:/([0-9]+))?$")


def _field_values(
    expr: str, text: str, name: str, low: int, high: int, names: dict[str, int] | None
) -> set[int]:
    values: set[int] = set()
    for element in text.split(","):
        match = _ELEMENT.match(element)
        if not match:
            raise _cron_error(
                expr,
                f"'{element}' is not valid in the {name} field; use *, a value, a range a-b, "
                "a list a,b or a step */n.",
            )
        start_text, end_text, step_text = match.groups()

        def value(token: str) -> int:
            upper = token.upper()
            if names is not None and upper in names:
                return names[upper]
            if not token.isdigit():
                raise _cron_error(
                    expr,
                    f"'{token}' is not a valid {name} (allowed: {low}-{high}"
                    + (", or names like " + ", ".join(list(names)[:3]) if names else "")
                    + ").",
                )
            number = int(token)
            if not low <= number <= high:
                raise _cron_error(expr, f"{name} {number} is out of range {low}-{high}.")
            return number

        if start_text == "*":
            if end_text is not None:
                raise _cron_error(expr, f"'{element}' is not valid in the {name} field.")
            start, end = low, high
        else:
            start = value(start_text)
            end = value(end_text) if end_text is not None else (high if step_text else start)
        if start > end:
            raise _cron_error(
                expr, f"range '{element}' in the {name} field runs backwards; write it low-high."
            )
        step = int(step_text) if step_text is not None else 1
        if step < 1:
            raise _cron_error(expr, f"step '/{step_text}' in the {name} field must be at least 1.")
        values.update(range(start, end + 1, step))
    return values


@lru_cache(maxsize=1024)
def parse_cron(expr: str) -> CronSpec:
    """Parse the five fields of a Snowflake cron expression (no zone).

    >>> sorted(parse_cron("0 0 * * 5L").last_weekdays)
    [5]
    """
    parts = expr.split()
    if len(parts) != 5:
        hint = ""
        if len(parts) == 6:
            hint = (
                " A sixth field (seconds or years) is not supported; if the last word is a time "
                "zone, send it in 'timezone' instead."
            )
        raise _cron_error(
            expr,
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}."
            + hint,
        )
    minute, hour, day, month, weekday = parts
    for text, fname in (
        (minute, "minute"),
        (hour, "hour"),
        (day, "day-of-month"),
        (month, "month"),
        (weekday, "day-of-week"),
    ):
        if "?" in text:
            raise _cron_error(expr, f"'?' is not supported in the {fname} field; use '*'.")
        if "#" in text:
            raise _cron_error(expr, f"'#' (nth weekday) is not supported in the {fname} field.")
    minutes = _field_values(expr, minute, "minute", 0, 59, None)
    hours = _field_values(expr, hour, "hour", 0, 23, None)

    last_day = False
    day_elements = []
    for element in day.split(","):
        if element.upper() == "L":
            last_day = True
        elif "L" in element.upper() or "W" in element.upper():
            raise _cron_error(
                expr,
                f"'{element}' is not supported in the day-of-month field; only a bare 'L' "
                "(last day of the month) is ('W' and 'L-n' are not).",
            )
        else:
            day_elements.append(element)
    days = (
        _field_values(expr, ",".join(day_elements), "day-of-month", 1, 31, None)
        if (day_elements)
        else set()
    )

    months = _field_values(expr, month, "month", 1, 12, _MONTHS)

    last_weekdays: set[int] = set()
    weekday_elements = []
    for element in weekday.split(","):
        upper = element.upper()
        if upper.endswith("L"):
            base = upper[:-1]
            if base in _DAYS:
                last_weekdays.add(_DAYS[base])
            elif base.isdigit() and int(base) <= 6:
                last_weekdays.add(int(base))
            else:
                raise _cron_error(
                    expr,
                    f"'{element}' is not valid in the day-of-week field; 'L' must follow one "
                    "weekday 0-6 or SUN-SAT (e.g. 5L = last Friday of the month).",
                )
        else:
            weekday_elements.append(element)
    weekdays = (
        _field_values(expr, ",".join(weekday_elements), "day-of-week", 0, 6, _DAYS)
        if weekday_elements
        else set()
    )

    return CronSpec(
        minutes=frozenset(minutes),
        hours=frozenset(hours),
        days=frozenset(days),
        last_day=last_day,
        months=frozenset(months),
        weekdays=frozenset(weekdays),
        last_weekdays=frozenset(last_weekdays),
        day_restricted=day != "*",
        weekday_restricted=weekday != "*",
    )


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {name.upper(): name for name in available_timezones()}


def resolve_timezone(name: str) -> ZoneInfo:
    """The IANA zone for ``name`` (case-insensitive), or a ScheduleError.

    >>> resolve_timezone("america/los_angeles").key
    'America/Los_Angeles'
    """
    canonical = _zone_names().get(name.strip().upper()) if isinstance(name, str) else None
    if canonical is None:
        raise ScheduleError(
            f'Invalid schedule was specified. "{name}" is not a recognized time zone. Please '
            "specify time zones accepted by the TIMEZONE parameter (IANA names such as 'UTC', "
            "'America/Los_Angeles' or 'Etc/GMT+5')."
        )
    return ZoneInfo(canonical)


# ----------------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class LocalSchedule:
    """A validated schedule: an interval (``minutes`` + ``seconds``) or a cron in a zone.

    >>> LocalSchedule.every(minutes=10).interval
    datetime.timedelta(seconds=600)
    """

    kind: str  # MINUTES_TYPE or CRON_TYPE
    minutes: int = 0
    seconds: int = 0
    cron_expr: str | None = None
    timezone: str | None = None
    _zone: ZoneInfo | None = field(default=None, compare=False, repr=False)

    @classmethod
    def every(cls, *, minutes: int = 0, seconds: int = 0) -> LocalSchedule:
        """An interval schedule, validated (``seconds=90`` becomes 1 minute 30 seconds)."""
        minutes, seconds = divmod(minutes * 60 + seconds, 60)
        return parse_schedule(
            {"schedule_type": MINUTES_TYPE, "minutes": minutes, "seconds": seconds}
        )

    @classmethod
    def cron(cls, cron_expr: str, timezone: str = "UTC") -> LocalSchedule:
        """A cron schedule, validated."""
        return parse_schedule(
            {"schedule_type": CRON_TYPE, "cron_expr": cron_expr, "timezone": timezone}
        )

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

    >>> schedule_to_api(LocalSchedule.every(minutes=5))
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

    >>> schedule_text(LocalSchedule.every(minutes=10)), schedule_text(LocalSchedule.every(seconds=90))
    ('10 MINUTE', '90 SECOND')
    """
    if schedule.is_cron:
        return f"USING CRON {schedule.cron_expr} {schedule.timezone}"
    if schedule.seconds:
        return f"{schedule.minutes * 60 + schedule.seconds} SECOND"
    return f"{schedule.minutes} MINUTE"


def _as_utc(when: datetime, name: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {when.isoformat()})")
    return when.astimezone(timezone.utc)


def next_fire_after(
    schedule: LocalSchedule, after: datetime, *, anchor: datetime | None = None
) -> datetime:
    """The first fire time strictly after ``after`` (aware UTC).

        >>> t0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
        >>> next_fire_after(LocalSchedule.every(minutes=10), t0 + timedelta(minutes=25), anchor=t0).time()
        datetime.time(12, 30)

    Interval: the next ``anchor + k * interval`` (k >= 1) after ``after``; without an anchor,
    ``after + interval``. Cron: the next matching minute in the schedule's zone, or
    :data:`NEVER` if the expression names no real instant.
    """
    after = _as_utc(after, "after")
    if not schedule.is_cron:
        step = schedule.interval
        if anchor is None:
            return after + step
        base = _as_utc(anchor, "anchor")
        if after < base:
            return base + step
        count = (after - base) // step + 1
        return base + count * step
    return _next_cron(schedule.spec, schedule.zone, after)


def _wall_instants(day: date, hour: int, minute: int, zone: ZoneInfo) -> list[datetime]:
    """Instants at which a wall-clock time occurs: none in a gap, two in a fold."""
    found = []
    for fold in (0, 1):
        local = datetime.combine(day, time(hour, minute), tzinfo=zone).replace(fold=fold)
        instant = local.astimezone(timezone.utc)
        # a non-existent time does not round-trip to the same wall clock
        back = instant.astimezone(zone)
        if (back.hour, back.minute, back.date()) == (hour, minute, day) and instant not in found:
            found.append(instant)
    return found


def _next_cron(spec: CronSpec, zone: ZoneInfo, after: datetime) -> datetime:
    after_local = after.astimezone(zone)
    floor = after_local.replace(tzinfo=None, second=0, microsecond=0)
    if not _no_transition(zone, after - _DST_MARGIN, after + _DST_MARGIN):
        floor -= _DST_MARGIN
    hours = sorted(spec.hours)
    minutes = sorted(spec.minutes)
    best: datetime | None = None
    best_wall: datetime | None = None
    start = floor.date()
    for offset in range(CRON_SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if best_wall is not None and datetime.combine(day, time()) > best_wall + _DST_MARGIN:
            break
        if not spec.matches_day(day):
            continue
        for hour in hours:
            for minute in minutes:
                wall = datetime.combine(day, time(hour, minute))
                if wall < floor:
                    continue
                if best_wall is not None and wall > best_wall + _DST_MARGIN:
                    return best  # type: ignore[return-value]
                for instant in _wall_instants(day, hour, minute, zone):
                    if instant > after and (best is None or instant < best):
                        best, best_wall = instant, wall
                if (
                    best is not None
                    and best_wall == wall
                    and _no_transition(zone, after, best + _DST_MARGIN)
                ):
                    return best
    return best if best is not None else NEVER


def _no_transition(zone: ZoneInfo, start: datetime, end: datetime) -> bool:
    """True when the zone's UTC offset is the same at both instants (no DST change between)."""
    return start.astimezone(zone).utcoffset() == end.astimezone(zone).utcoffset()


# -------------------------------------------------------------------------------------- clocks


class Clock(Protocol):
    """Where the server reads the time: real, or manual for teaching and tests."""

    def now(self) -> datetime: ...


class RealClock:
    """The wall clock, in UTC.

    >>> RealClock().now().tzinfo is timezone.utc
    True
    """

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that moves only when told to (thread-safe).

    >>> c = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> c.advance(timedelta(days=1)).isoformat()
    '2026-01-02T00:00:00+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = _as_utc(start, "start") if start is not None else RealClock().now()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (not negative) and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock only moves forward; got a negative step of {delta}")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (aware, not earlier than now) and return it."""
        target = _as_utc(when, "when")
        with self._lock:
            if target < self._now:
                raise ValueError(
                    f"a clock only moves forward; {target.isoformat()} is before "
                    f"{self._now.isoformat()}"
                )
            self._now = target
            return self._now
