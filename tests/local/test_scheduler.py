"""Schedules of the local server: validation, REST/SQL forms, next-run computation, clocks."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasknb.local.schedule.clock import ManualClock, RealClock
from tasknb.local.schedule.cron import NEVER, ScheduleError, parse_cron, resolve_timezone
from tasknb.local.schedule.schedules import (
    LocalSchedule,
    next_fire_after,
    parse_schedule,
    schedule_text,
    schedule_to_api,
)

UTC = timezone.utc
# Friday 2026-09-11 13:10:17 UTC (the "from" instants follow frostlake's CronScheduleTest)
FRI_1310 = datetime(2026, 9, 11, 13, 10, 17, tzinfo=UTC)
FRI_1312 = datetime(2026, 9, 11, 13, 12, 52, tzinfo=UTC)
FRI_1314 = datetime(2026, 9, 11, 13, 14, 52, tzinfo=UTC)


def every(minutes: int) -> LocalSchedule:
    return parse_schedule({"schedule_type": "MINUTES_TYPE", "minutes": minutes})


def cron(expr: str, tz: str = "UTC") -> LocalSchedule:
    return parse_schedule({"schedule_type": "CRON_TYPE", "cron_expr": expr, "timezone": tz})


def nxt(expr: str, after: datetime, tz: str = "UTC") -> str:
    fire = next_fire_after(cron(expr, tz), after)
    assert fire.tzinfo is not None and fire.utcoffset() == timedelta(0)
    return fire.strftime("%Y-%m-%d %H:%M %a")


# ------------------------------------------------------------------------- minutes schedules


def test_minutes_schedule_round_trips_with_seconds() -> None:
    body = {"schedule_type": "MINUTES_TYPE", "minutes": 1, "seconds": 30}
    s = parse_schedule(body)
    assert s.interval == timedelta(seconds=90)
    assert schedule_to_api(s) == body
    assert schedule_text(s) == "90 SECOND"
    plain = parse_schedule({"schedule_type": "MINUTES_TYPE", "minutes": 10})
    assert schedule_to_api(plain) == {"schedule_type": "MINUTES_TYPE", "minutes": 10, "seconds": 0}
    assert schedule_text(plain) == "10 MINUTE"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"schedule_type": "MINUTES_TYPE", "minutes": 0}, "less than 10 seconds"),
        ({"schedule_type": "MINUTES_TYPE", "minutes": 0, "seconds": 9}, "less than 10 seconds"),
        ({"schedule_type": "MINUTES_TYPE", "minutes": 11521}, "greater than 11,520 minutes"),
        ({"schedule_type": "MINUTES_TYPE", "minutes": 11520, "seconds": 1}, "greater than 11,520"),
        ({"schedule_type": "MINUTES_TYPE", "minutes": -5}, "negative"),
        ({"schedule_type": "MINUTES_TYPE", "minutes": 1, "seconds": 60}, "'seconds' must be 0-59"),
        ({"schedule_type": "MINUTES_TYPE", "minutes": "10"}, "must be an integer"),
        ({"schedule_type": "MINUTES_TYPE", "minutes": True}, "must be an integer"),
        ({"schedule_type": "MINUTES_TYPE"}, "needs an integer 'minutes'"),
        ({"schedule_type": "SECONDS_TYPE", "seconds": 30}, "MINUTES_TYPE or CRON_TYPE"),
        ({"minutes": 5}, "MINUTES_TYPE or CRON_TYPE"),
        ({"schedule_type": "CRON_TYPE", "timezone": "UTC"}, "needs 'cron_expr'"),
        ({"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *"}, "needs 'timezone'"),
    ],
)
def test_invalid_minutes_and_shapes_are_refused(body: dict, fragment: str) -> None:
    with pytest.raises(ScheduleError, match="schedule") as info:
        parse_schedule(body)
    assert fragment in str(info.value)


def test_bounds_are_inclusive() -> None:
    assert (
        parse_schedule({"schedule_type": "MINUTES_TYPE", "minutes": 0, "seconds": 10}).seconds == 10
    )
    assert parse_schedule({"schedule_type": "MINUTES_TYPE", "minutes": 11520}).minutes == 11520


def test_interval_fires_in_fixed_steps_from_the_anchor() -> None:
    s = every(10)
    anchor = datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC)
    assert next_fire_after(s, anchor, anchor=anchor) == anchor + timedelta(minutes=10)
    assert next_fire_after(s, anchor + timedelta(minutes=10), anchor=anchor) == anchor + timedelta(
        minutes=20
    )
    assert next_fire_after(s, anchor + timedelta(minutes=35), anchor=anchor) == anchor + timedelta(
        minutes=40
    )
    assert next_fire_after(s, anchor - timedelta(hours=1), anchor=anchor) == anchor + timedelta(
        minutes=10
    )
    assert next_fire_after(s, anchor) == anchor + timedelta(minutes=10)


def test_interval_is_real_time_across_dst() -> None:
    # an interval is counted in elapsed time, never in wall-clock time
    s = every(60)
    anchor = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)  # 01:00 PST, the night clocks spring forward
    assert next_fire_after(s, anchor, anchor=anchor) - anchor == timedelta(hours=1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_after(every(1), datetime(2026, 1, 1))


# ---------------------------------------------------------------------------- cron schedules


def test_cron_round_trips_and_renders_as_show_tasks() -> None:
    s = cron("0 2 * * *", "America/Los_Angeles")
    assert schedule_to_api(s) == {
        "schedule_type": "CRON_TYPE",
        "cron_expr": "0 2 * * *",
        "timezone": "America/Los_Angeles",
    }
    assert schedule_text(s) == "USING CRON 0 2 * * * America/Los_Angeles"


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("*/7 * * * *", FRI_1310, "2026-09-11 13:14 Fri"),
        ("0 */2 * * *", FRI_1310, "2026-09-11 14:00 Fri"),
        ("0 12 * * SUN", FRI_1310, "2026-09-13 12:00 Sun"),
        ("15,45 * * * *", FRI_1310, "2026-09-11 13:15 Fri"),
        ("10-40/10 * * * *", FRI_1310, "2026-09-11 13:20 Fri"),
        ("0 0 * * 0", FRI_1312, "2026-09-13 00:00 Sun"),
        ("0 0 * * 6", FRI_1312, "2026-09-12 00:00 Sat"),
        ("0 0 * * */2", FRI_1312, "2026-09-12 00:00 Sat"),
        ("5/15 * * * *", FRI_1314, "2026-09-11 13:20 Fri"),
        ("0 0 * * MON,3", FRI_1314, "2026-09-14 00:00 Mon"),
        ("*/61 * * * *", FRI_1314, "2026-09-11 14:00 Fri"),
        ("0   0  *  *  *", FRI_1314, "2026-09-12 00:00 Sat"),
        ("0 0 * JAN-DEC/2 *", FRI_1314, "2026-09-12 00:00 Sat"),
        # both day fields restricted: either may match
        ("0 0 1 * MON", FRI_1310, "2026-09-14 00:00 Mon"),
        ("0 0 L * 1", FRI_1312, "2026-09-14 00:00 Mon"),
        ("0 0 */2 * MON", FRI_1314, "2026-09-13 00:00 Sun"),
        # the L family and calendar edges
        ("0 0 L * *", FRI_1310, "2026-09-30 00:00 Wed"),
        ("0 0 1,L * *", FRI_1310, "2026-09-30 00:00 Wed"),
        ("0 0 * * 5L", FRI_1310, "2026-09-25 00:00 Fri"),
        ("0 0 * * FRIL", FRI_1310, "2026-09-25 00:00 Fri"),
        ("0 0 L 2 *", FRI_1310, "2027-02-28 00:00 Sun"),
        ("0 0 29 2 *", FRI_1310, "2028-02-29 00:00 Tue"),
        ("0 0 1 JAN,JUL *", FRI_1310, "2027-01-01 00:00 Fri"),
        ("0 0 1 */3 *", FRI_1310, "2026-10-01 00:00 Thu"),
        ("59 23 31 12 *", FRI_1310, "2026-12-31 23:59 Thu"),
    ],
)
def test_cron_next_fire_in_utc(expr: str, after: datetime, expected: str) -> None:
    assert nxt(expr, after) == expected


def test_cron_zones_are_honoured() -> None:
    assert nxt("30 9 * * 1-5", FRI_1310, "America/Los_Angeles") == "2026-09-11 16:30 Fri"
    assert nxt("0 6 * * MON-FRI", FRI_1312, "Europe/Warsaw") == "2026-09-14 04:00 Mon"
    assert nxt("0 0 * * *", FRI_1314, "Etc/GMT+5") == "2026-09-12 05:00 Sat"
    assert nxt("0 0 * * *", FRI_1314, "utc") == "2026-09-12 00:00 Sat"


def test_cron_next_fire_is_strictly_after() -> None:
    on_the_minute = datetime(2026, 9, 11, 13, 14, tzinfo=UTC)
    assert nxt("* * * * *", on_the_minute) == "2026-09-11 13:15 Fri"
    assert nxt("14 13 * * *", on_the_minute) == "2026-09-12 13:14 Sat"


def test_cron_naming_no_instant_never_fires() -> None:
    assert next_fire_after(cron("0 0 31 2 *"), FRI_1310) == NEVER
    assert next_fire_after(cron("0 0 31 4 *"), FRI_1310) == NEVER


def test_spring_forward_skips_the_missing_hour() -> None:
    # America/Los_Angeles, 2026-03-08: 02:00 PST jumps to 03:00 PDT; a 2 AM job does not run
    s = cron("0 2 * * *", "America/Los_Angeles")
    before = datetime(2026, 3, 7, 6, 0, tzinfo=UTC)  # 2026-03-06 22:00 PST
    first = next_fire_after(s, before)
    assert first == datetime(2026, 3, 7, 10, 0, tzinfo=UTC)  # 02:00 PST on the 7th
    second = next_fire_after(s, first)
    assert second == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # 02:00 PDT on the 9th: the 8th skipped


def test_fall_back_runs_the_repeated_hour_twice() -> None:
    # America/Los_Angeles, 2026-11-01: 02:00 PDT falls back to 01:00 PST; a 1 AM job runs twice
    s = cron("0 1 * * *", "America/Los_Angeles")
    start = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    fires = [next_fire_after(s, start)]
    for _ in range(3):
        fires.append(next_fire_after(s, fires[-1]))
    assert fires == [
        datetime(2026, 11, 1, 8, 0, tzinfo=UTC),  # 01:00 PDT
        datetime(2026, 11, 1, 9, 0, tzinfo=UTC),  # 01:00 PST
        datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    ]


def test_every_minute_cron_is_monotonic_through_fall_back() -> None:
    s = cron("*/30 * * * *", "America/Los_Angeles")
    t = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)  # 00:00 PDT
    seen = []
    for _ in range(8):
        t = next_fire_after(s, t)
        seen.append(t)
    assert seen == [
        datetime(2026, 11, 1, 7, 30, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(8)
    ]


def test_weekly_cron_keeps_local_time_across_dst() -> None:
    s = cron("0 9 * * MON", "Europe/Berlin")
    before = next_fire_after(s, datetime(2026, 3, 20, tzinfo=UTC))
    after = next_fire_after(s, before)
    assert before == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert after == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 ? * *",
        "*/0 * * * *",
        "10-5 * * * *",
        "0 0 L-3 * *",
        "0 24 * * *",
        "0 0 1 13 *",
        "0 0 1 0 *",
        "0 0 0 * *",
        "0 0 * * 1-5L",
        "0 0 * * 7L",
        "0,15, * * * *",
        "* * * * * *",
        "0 0 * * 7",
        "0 0 * * 1#2",
        "0 0 15W * *",
        "61 * * * *",
        "0 0 32 * *",
        "0 0 * * 8",
        "0 0 * * L",
        "* * *",
        "0 0 * FOO *",
        "a b c d e",
    ],
)
def test_malformed_cron_is_refused_with_snowflakes_sentence(expr: str) -> None:
    with pytest.raises(ScheduleError) as info:
        cron(expr)
    message = str(info.value)
    assert message.startswith("Invalid schedule was specified.")
    assert expr.split()[0] in message or "fields" in message


def test_sixth_field_hint_mentions_timezone() -> None:
    with pytest.raises(ScheduleError, match="'timezone'"):
        cron("0 0 * * * UTC")


@pytest.mark.parametrize("zone", ["PST", "+01:00", "Mars/Phobos", "*", "../../etc/passwd"])
def test_unknown_zone_is_named(zone: str) -> None:
    with pytest.raises(ScheduleError) as info:
        cron("0 0 * * *", zone)
    assert f'"{zone}" is not a recognized time zone' in str(info.value)


# -------------------------------------------------------------------------------------- clocks


def test_manual_clock_moves_only_forward() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.now() == start
    assert clock.advance(timedelta(days=1)) == start + timedelta(days=1)
    assert clock.set(start + timedelta(days=3)) == start + timedelta(days=3)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="forward"):
        clock.set(start)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_manual_clock_is_thread_safe() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))

    def bump() -> None:
        for _ in range(1000):
            clock.advance(timedelta(seconds=1))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=4000)


def test_real_clock_is_aware_utc() -> None:
    now = RealClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


# ------------------------------------------------------------- property: against brute force


_ZONES = ["UTC", "America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]
_DST_CHANGES = [
    datetime(2026, 3, 8, 10, tzinfo=UTC),  # America/Los_Angeles springs forward
    datetime(2026, 11, 1, 9, tzinfo=UTC),  # America/Los_Angeles falls back
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Europe/Berlin
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Australia/Lord_Howe (30-minute shift)
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
]
_FIELD = {
    "minute": st.sampled_from(["*", "0", "30", "*/15", "5,45", "10-20/5", "59"]),
    "hour": st.sampled_from(["*", "0", "1", "2", "3", "*/6", "1-3", "23"]),
    "day": st.sampled_from(["*", "1", "L", "15", "*/2", "28-31"]),
    "month": st.sampled_from(["*", "*/2", "3,10,11", "MAR-APR", "OCT-NOV"]),
    "weekday": st.sampled_from(["*", "0", "SUN", "1-5", "6", "5L", "MON,WED"]),
}


def brute_force(expr: str, zone_name: str, after: datetime, minutes: int) -> datetime | None:
    """Walk every UTC minute: a minute fires when its local wall time matches (the semantics)."""
    spec, zone = parse_cron(expr), resolve_timezone(zone_name)
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(minutes):
        local = moment.astimezone(zone)
        if (
            local.minute in spec.minutes
            and local.hour in spec.hours
            and spec.matches_day(local.date())
        ):
            return moment
        moment += timedelta(minutes=1)
    return None


@settings(max_examples=int(os.environ.get("TASKNB_CRON_EXAMPLES", "150")), deadline=None)
@given(
    minute=_FIELD["minute"],
    hour=_FIELD["hour"],
    day=_FIELD["day"],
    month=_FIELD["month"],
    weekday=_FIELD["weekday"],
    zone=st.sampled_from(_ZONES),
    after=st.one_of(
        st.datetimes(
            min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
        ),
        # close before a DST change of one of the zones, so the windows cross it
        st.builds(
            lambda change, back: change - timedelta(minutes=back),
            st.sampled_from(_DST_CHANGES),
            st.integers(min_value=0, max_value=48 * 60),
        ),
    ),
)
def test_next_fire_matches_brute_force(minute, hour, day, month, weekday, zone, after) -> None:
    expr = f"{minute} {hour} {day} {month} {weekday}"
    window = 3 * 24 * 60
    expected = brute_force(expr, zone, after, window)
    got = next_fire_after(cron(expr, zone), after)
    if expected is not None:
        assert got == expected, expr
    else:
        assert got > after + timedelta(minutes=window), expr
