"""Snowflake cron expressions: the five fields, time zones, and the next matching instant.

    >>> spec = parse_cron("0 2 * * *")
    >>> next_cron(spec, resolve_timezone("UTC"), datetime(2026, 1, 1, 3, tzinfo=timezone.utc))
    datetime.datetime(2026, 1, 2, 2, 0, tzinfo=datetime.timezone.utc)

Five fields (minute, hour, day-of-month, month, day-of-week with 0 = Sunday) read in an IANA
time zone (task-semantics.md §4). ``*``, lists, ranges, ``/n`` steps, month and day names,
``L`` (last day of month) and ``<d>L`` (last such weekday of the month). ``?``, ``W``, ``#``, a
sixth field, day-of-week ``7``, a bare ``L`` in day-of-week and ``L-n`` are refused as
Snowflake does. When both day fields are restricted a day matches if either matches.
Wall-clock times are read in the zone: a time skipped by a spring-forward change never fires,
a time repeated by a fall-back change fires twice. A cron that names no real instant
(``0 0 31 2 *``) never fires: :func:`next_cron` returns :data:`NEVER`, a far-future instant.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

NEVER = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)
#: How far ahead a cron is searched; 8 years covers every leap-day pattern.
CRON_SEARCH_DAYS = 8 * 366 + 1
#: Largest shift of a wall clock at a DST change, with margin (most zones: 1 h).
_DST_MARGIN = timedelta(hours=3)

INVALID_SCHEDULE = (
    "Invalid schedule was specified. Please refer to the docs on what constitutes a valid schedule."
)

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS = {k.upper(): v for k, v in _MONTHS.items()}
_DAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}


class ScheduleError(ValueError):
    """A schedule that Snowflake would refuse; the message says what is wrong and how to fix it.

    >>> try: parse_cron("0 2 * *")
    ... except ScheduleError as e: print(str(e)[-70:])
    expected 5 fields (minute hour day-of-month month day-of-week), got 4.
    """


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


def next_cron(spec: CronSpec, zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant strictly after ``after`` (aware) that ``spec`` names in ``zone``
    (aware UTC), or :data:`NEVER`."""
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
