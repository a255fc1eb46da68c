"""Identifiers: folding, quoting, validation before any request, path encoding."""

from __future__ import annotations

import pytest

from tasknb import InvalidIdentifier
from tasknb.identifiers import (
    display,
    display_name,
    is_valid,
    name_key,
    normalize,
    path_segment,
    quote_identifier,
    same_name,
    split_qualified,
)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("nightly", "NIGHTLY"),
        ("Nightly_2", "NIGHTLY_2"),
        ("_x$y", "_X$Y"),
        ('"My Task"', '"My Task"'),
        ('"ABC"', "ABC"),
        ('"abc"', '"abc"'),
        ('"say ""hi"""', '"say ""hi"""'),
        ('"naïve"', '"naïve"'),
        ('"a.b"', '"a.b"'),
    ],
)
def test_normalize(name, canonical) -> None:
    assert normalize(name) == canonical


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("my-task", "quote it: '\"my-task\"'"),
        ("my task", "letters, digits, _ and \\$"),
        ("1st", "must not start with a digit"),
        ("", "it is empty"),
        ('"unterminated', "must end with"),
        ('"bad"quote"', 'inner " as ""'),
        ('""', "must end with"),
        ("naïve", "letters"),
        ("x" * 256, "longer than 255"),
        (".", "letters"),
    ],
)
def test_invalid_identifiers_are_refused_with_a_clear_message(name, why) -> None:
    with pytest.raises(InvalidIdentifier, match=why):
        normalize(name)
    assert not is_valid(name)


def test_invalid_identifier_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid database name"):
        normalize("a b", kind="database")


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("t$a", "T%24A"),
        ('"My Task"', "%22My%20Task%22"),
        ('"a/b:c?d#e%f"', "%22a%2Fb%3Ac%3Fd%23e%25f%22"),
        ('"naïve"', "%22na%C3%AFve%22"),
        ('"x.y"', "%22x.y%22"),
    ],
)
def test_path_segments_are_percent_encoded(name, segment) -> None:
    assert path_segment(name) == segment


def test_split_qualified_names() -> None:
    assert split_qualified("db.sch.t") == ["DB", "SCH", "T"]
    assert split_qualified('"d.b"."s ""q""".t') == ['"d.b"', '"s ""q"""', "T"]
    assert split_qualified("t") == ["T"]
    with pytest.raises(InvalidIdentifier, match="DATABASE.SCHEMA.NAME"):
        split_qualified("a.b.c.d")
    with pytest.raises(InvalidIdentifier, match="not closed"):
        split_qualified('db."open')
    with pytest.raises(InvalidIdentifier, match="empty"):
        split_qualified("db..t")


def test_quote_identifier_and_display() -> None:
    assert quote_identifier('say "hi"') == '"say ""hi"""'
    assert quote_identifier("T1") == "T1"
    assert normalize(quote_identifier("mixed Case")) == '"mixed Case"'
    assert display("DB", "S", "T") == "DB.S.T"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("my_task", "MY_TASK", True),
        ('"my task"', '"MY TASK"', False),  # quoted names are case-sensitive
        ('"MY_TASK"', "my_task", True),  # a quoted upper-case name is the unquoted one
        ('"my_task"', "my_task", False),
        ("db.sch.load", "LOAD", True),  # the last part of a qualified name counts
        ('DB."a.b".T', "t", True),
        (None, "T", False),
        ("", "", False),
    ],
)
def test_same_name_matches_as_snowflake_resolves_names(a, b, same):
    assert same_name(a, b) is same
    if a and b:
        assert (name_key(a) == name_key(b)) is same


def test_display_name_drops_qualification_and_quotes():
    assert display_name('DB.S."my ""x"" task"') == 'my "x" task'
    assert display_name("db.s.load") == "load"
