"""Duplicate policies: CA one_counts, WA reject_all_but_first, AZ earliest_dated."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitions.law.duplicates import apply_duplicate_policy

D = dt.date


def frame(rows):
    return pl.DataFrame(rows, schema={"line_id": pl.String, "order": pl.Int64, "voter_id": pl.String,
                                      "date_signed": pl.Date, "eligible": pl.Boolean}, orient="row")


# The same voter V1 on three lines: section 1 line 5 dated Mar 3, section 1 line 2
# dated Mar 5, section 2 line 1 dated Mar 3. V2 signs once, one line unmatched.
ROWS = [
    ("s1-l5", 105, "V1", D(2024, 3, 3), True),
    ("s1-l2", 102, "V1", D(2024, 3, 5), True),
    ("s2-l1", 201, "V1", D(2024, 3, 3), True),
    ("s1-l1", 101, "V2", D(2024, 3, 9), True),
    ("s1-l9", 109, None, None, True),
]


def ranks(policy, rows=ROWS):
    out = apply_duplicate_policy(frame(rows), policy)
    assert out["line_id"].to_list() == [r[0] for r in rows]  # order kept
    return dict(zip(out["line_id"], out["duplicate_rank"]))


def test_one_counts_first_in_filing_order():
    # California: one counts, the excess is invalid; first = section/page/line.
    assert ranks("one_counts") == {"s1-l5": 1, "s1-l2": 0, "s2-l1": 2, "s1-l1": 0, "s1-l9": None}


def test_reject_all_but_first_by_date_where_dated():
    # Washington: all but the first are rejected; first signed, filing order breaks ties.
    assert ranks("reject_all_but_first") == {"s1-l5": 0, "s1-l2": 2, "s2-l1": 1, "s1-l1": 0, "s1-l9": None}


def test_earliest_dated_voids_same_day_repeats():
    # Arizona A.R.S. §16-321(C): two signatures on the earliest day (Mar 3) → all
    # that day's are void, and the later one too: none of V1's lines counts.
    r = ranks("earliest_dated")
    assert r["s1-l1"] == 0 and r["s1-l9"] is None
    assert all(r[k] >= 1 for k in ("s1-l5", "s1-l2", "s2-l1"))


def test_earliest_dated_single_earliest_counts():
    rows = [("a", 1, "V1", D(2024, 3, 5), True), ("b", 2, "V1", D(2024, 3, 3), True),
            ("c", 3, "V1", D(2024, 3, 5), True), ("d", 4, "V1", None, True)]
    assert ranks("earliest_dated", rows) == {"a": 1, "b": 0, "c": 2, "d": 3}


def test_ineligible_lines_rank_last():
    # The first line is invalid for another reason: the second counts instead.
    rows = [("a", 1, "V1", None, False), ("b", 2, "V1", None, True)]
    for policy in ("one_counts", "reject_all_but_first", "earliest_dated"):
        assert ranks(policy, rows) == {"a": 1, "b": 0}


def test_groups_and_counts():
    out = apply_duplicate_policy(frame(ROWS), "one_counts")
    assert out["duplicate_group"].to_list() == ["V1", "V1", "V1", None, None]
    assert out["duplicate_count"].to_list() == [3, 3, 3, 1, None]


def test_eligible_column_is_optional_and_bad_policy_rejected():
    f = frame(ROWS).drop("eligible")
    assert apply_duplicate_policy(f, "one_counts")["duplicate_rank"].to_list() == [1, 0, 2, 0, None]
    with pytest.raises(ValueError, match="policy"):
        apply_duplicate_policy(f, "all_invalid")


def reference(rows, policy):
    """Slow twin: group in Python, sort by the policy's key, rank."""
    out = {}
    groups = {}
    for r in rows:
        if r[2] is not None:
            groups.setdefault(r[2], []).append(r)
        else:
            out[r[0]] = None
    for lines in groups.values():
        if policy == "one_counts":
            key = lambda r: (not r[4], r[1])  # noqa: E731
        else:
            key = lambda r: (not r[4], r[3] is None, r[3] or D.min, r[1])  # noqa: E731
        lines = sorted(lines, key=key)
        shift = 0
        if policy == "earliest_dated" and lines[0][4] and lines[0][3] is not None:
            if sum(1 for r in lines if r[4] and r[3] == lines[0][3]) > 1:
                shift = 1
        for k, r in enumerate(lines):
            out[r[0]] = k + shift
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["V1", "V2", "V3", None]),
                          st.one_of(st.none(), st.dates(D(2024, 1, 1), D(2024, 1, 4))), st.booleans()),
                min_size=1, max_size=30),
       st.sampled_from(["one_counts", "reject_all_but_first", "earliest_dated"]))
def test_matches_reference(parts, policy):
    rows = [(f"L{i}", 1000 - i * 7 % 97 * 10 - i, v, d, e) for i, (v, d, e) in enumerate(parts)]
    assert ranks(policy, rows) == reference(rows, policy)
