"""tasknb.durations: the one reading and writing of durations (notebooks, panels, local server)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from tasknb.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10 minutes", timedelta(minutes=10)),
        ("1 day", timedelta(days=1)),
        ("90s", timedelta(seconds=90)),
        ("1.5 hours", timedelta(minutes=90)),
        ("2 Weeks", timedelta(weeks=2)),
        ("250 ms", timedelta(milliseconds=250)),
        (" 30 ", timedelta(seconds=30)),
        (timedelta(minutes=2), timedelta(minutes=2)),
        (30, timedelta(seconds=30)),
        (0.5, timedelta(milliseconds=500)),
    ],
)
def test_parse_duration_reads_text_timedelta_and_numbers(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("soon", "cannot read"),
        ("10 fortnights", "unknown time unit 'fortnights'"),
        ("-5 minutes", "cannot read"),
        (-5, "negative"),
        (timedelta(seconds=-1), "negative"),
        (True, "cannot read"),
        (None, "cannot read"),
        (math.inf, "cannot read"),
        (1e20, "too long"),
    ],
)
def test_parse_duration_says_what_it_cannot_read_and_what_to_pass(bad, why):
    with pytest.raises(ValueError, match=why) as caught:
        parse_duration(bad)
    assert "10 minutes" in str(caught.value) or "positive" in str(caught.value) or (
        "use ms, seconds" in str(caught.value)
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 ms"),
        (0.035, "35 ms"),
        (0.9996, "1.0 s"),  # rounds up into the next unit, never "1000 ms"
        (2.44, "2.4 s"),
        (59.96, "1 min"),
        (185, "3 min 5 s"),
        (180, "3 min"),
        (3599.6, "1 h"),
        (7800, "2 h 10 min"),
        (-2.4, "-2.4 s"),
    ],
)
def test_format_duration_is_short_and_precise_where_it_matters(seconds, text):
    assert format_duration(seconds) == text


def test_format_duration_refuses_what_is_not_a_duration():
    with pytest.raises(ValueError, match="finite"):
        format_duration(math.nan)


def test_durations_needs_only_the_standard_library():
    import ast
    import sys
    from pathlib import Path

    import tasknb.durations

    tree = ast.parse(Path(tasknb.durations.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
