"""tasknb.texts: long conditions and definitions shortened in the middle, never made to read alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasknb.texts import ELLIPSIS, elide_distinct, elide_middle, flatten

ROWS = "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('TEACH_EXTRACT')::INT"


def test_the_teaching_conditions_read_differently():
    alert, transform = elide_middle(f"{ROWS} = 0", 40), elide_middle(f"{ROWS} > 0", 40)

    assert alert != transform
    assert alert.endswith("= 0") and transform.endswith("> 0")
    assert alert.startswith("SYSTEM$GET_PRED") and ELLIPSIS in alert
    assert len(alert) == len(transform) == 40


def test_short_texts_stay_whole_on_one_line():
    assert elide_middle("select 1\n  from t", 40) == "select 1 from t"
    assert elide_middle(None, 10) == "" and flatten(None) == ""


def test_a_limit_below_one_is_refused_with_the_value():
    with pytest.raises(ValueError, match="at least 1 character, got 0"):
        elide_middle("text", 0)


def test_texts_differing_only_in_their_middle_keep_the_difference():
    a = "select * from db.schema_alpha.orders_table where x > 0 and y < 10"
    b = a.replace("alpha", "gamma")
    assert elide_middle(a, 30) == elide_middle(b, 30)  # the plain cut hides the difference

    short = elide_distinct([a, b, a], 30)

    assert set(short) == {a, b}
    assert "alpha" in short[a] and "gamma" in short[b]
    assert all(len(line) <= 30 for line in short.values())


@settings(deadline=None)  # a loaded 2-core machine: no per-example time limit
@given(st.text(min_size=0, max_size=300), st.integers(min_value=1, max_value=120))
def test_never_longer_than_the_limit_and_keeps_both_ends(text, limit):
    line = elide_middle(text, limit)
    flat = flatten(text)

    assert len(line) <= limit
    if len(flat) <= limit:
        assert line == flat
    elif limit >= 5:
        head, tail = line.split(ELLIPSIS, 1)[0], line.rsplit(ELLIPSIS, 1)[-1]
        assert flat.startswith(head) and flat.endswith(tail)


@settings(deadline=None)
@given(st.text(alphabet="ab =>0", min_size=20, max_size=80), st.data(),
       st.integers(min_value=8, max_value=40))
def test_two_texts_one_character_apart_never_read_the_same(base, data, limit):
    flat = flatten(base)
    if len(flat) < 2:
        return
    where = data.draw(st.integers(min_value=0, max_value=len(flat) - 1))
    other = flat[:where] + ("x" if flat[where] != "x" else "y") + flat[where + 1:]

    short = elide_distinct([flat, other], limit)

    assert short[flat] != short[other]
    assert all(len(line) <= limit for line in short.values())
