"""Projection and outcome exactly as 2 CCR §§20530-20532, with band edges."""
from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitions.errors import UserError
from petitions.law.projection import full_count_outcome, full_count_status, outcome, project
from petitions.law.rules import OutcomeBands, load_ruleset


def test_worked_example_county_recall_handbook():
    p = project(25_000, 1_250, 900, 1)
    assert p.rate_pct == Decimal("72.00")
    assert p.uncorrected == 18_000
    assert p.a_factor == Decimal("20.0000")
    assert p.weight == Decimal(380)
    assert p.duplicate_estimate == 380
    assert p.projected_valid == 17_620


def test_each_rounding_step_matters():
    # N=10,007, n=500, valid=333: 66.6 % exactly → 6,664.662 → 6,665 (rounded up).
    p = project(10_007, 500, 333, 0)
    assert p.rate_pct == Decimal("66.60") and p.uncorrected == 6_665
    # The rate is rounded before it is applied: 2/3 → 66.67 %, so
    # 100,000 × 66.67 % = 66,670, where the unrounded rate gives 66,667.
    p = project(100_000, 3, 2, 0)
    assert p.rate_pct == Decimal("66.67")
    assert p.uncorrected == 66_670 != math.ceil(Fraction(100_000 * 2, 3))
    # A to four decimals: 25,013 / 1,251 = 19.99440… → 19.9944; weight
    # 19.9944 × 18.9944 = 379.78162... → 2 dups → ⌈759.5632…⌉ = 760.
    p = project(25_013, 1_251, 900, 2)
    assert p.a_factor == Decimal("19.9944")
    assert p.weight == Decimal("19.9944") * Decimal("18.9944")
    assert p.duplicate_estimate == math.ceil(Decimal("19.9944") * Decimal("18.9944") * 2) == 760


def test_rate_rounds_half_up():
    # 1/8 = 12.5 % exactly; 1/16 = 6.25 %; 1/32 = 3.125 % → 3.13 (half up).
    assert project(3_200, 32, 1, 0).rate_pct == Decimal("3.13")
    # 1/800 = 0.125 % → 0.13
    assert project(8_000, 800, 1, 0).rate_pct == Decimal("0.13")


def test_float_arithmetic_would_be_off_by_one():
    # 0.29 × 100 as binary float is 28.999999999999996; decimals give 29 exactly.
    p = project(100, 100, 29, 0)
    assert p.uncorrected == 29


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 800_000).flatmap(lambda N: st.tuples(
    st.just(N), st.integers(1, N).flatmap(lambda n: st.tuples(
        st.just(n), st.integers(0, n), st.integers(0, n))))))
def test_projection_matches_a_fraction_reference(args):
    N, (n, v, d) = args
    p = project(N, n, v, d)
    # Slow twin in exact rationals, half-up rounding written out by hand.
    rate = Fraction(math.floor(Fraction(v * 100, n) * 100 + Fraction(1, 2)), 100)
    unc = math.ceil(N * rate / 100)
    a = Fraction(math.floor(Fraction(N, n) * 10_000 + Fraction(1, 2)), 10_000)
    est = math.ceil(a * (a - 1) * d)
    assert (p.uncorrected, p.duplicate_estimate, p.projected_valid) == (unc, est, unc - est)
    assert Fraction(p.rate_pct) == rate and Fraction(p.a_factor) == a


@pytest.mark.parametrize("raw, sample, valid, dups, match", [
    (100, 101, 50, 0, "larger than the raw count"),
    (100, 0, 0, 0, "at least 1"),
    (100, 10, 11, 0, "valid count"),
    (100, 10, 5, 11, "duplicates"),
    (-1, 1, 1, 0, "negative"),
    (100, 10, -1, 0, "negative"),
    (100, 10, 1.5, 0, "whole number"),
])
def test_bad_input_is_a_user_error(raw, sample, valid, dups, match):
    with pytest.raises(UserError, match=match):
        project(raw, sample, valid, dups)


@pytest.mark.parametrize("projected, result", [
    (11_001, "qualifies"),   # 110.01 %: strictly above 110
    (11_000, "full_count"),  # exactly 110 %: inclusive upper edge
    (9_500, "full_count"),   # exactly 95 %: inclusive lower edge
    (9_499, "fails"),
    (0, "fails"),
    (-5, "fails"),
])
def test_initiative_bands_ec_9030(projected, result):
    assert outcome(projected, 10_000).result == result
    assert outcome(projected, 10_000, load_ruleset("ca-initiative")).result == result


@pytest.mark.parametrize("projected, result", [
    (11_001, "qualifies"), (11_000, "full_count"), (9_000, "full_count"), (8_999, "fails"), (9_499, "full_count"),
])
def test_local_recall_bands_ec_11225(projected, result):
    assert outcome(projected, 10_000, load_ruleset("ca-recall-local")).result == result


def test_band_edges_decided_exactly_not_on_rounded_percent():
    # 33,001 / 30,000 = 110.0033 % → displays 110.00 but is above 110 %.
    o = outcome(33_001, 30_000)
    assert o.percent_of_required == Decimal("110.00") and o.result == "qualifies"
    # 95 % of 15,001 = 14,250.95: 14,250 fails, 14,251 goes to a full count.
    assert outcome(14_250, 15_001).result == "fails"
    assert outcome(14_251, 15_001).result == "full_count"


def test_outcome_of_worked_example():
    o = outcome(17_620, 15_000)
    assert o.percent_of_required == Decimal("117.47") and o.result == "qualifies"
    assert o.qualify_above == 16_500 and o.full_count_from == 14_250


def test_custom_bands():
    b = OutcomeBands(qualify_above_pct=Decimal("105"), full_count_from_pct=Decimal("100"))
    assert outcome(1_050, 1_000, b).result == "full_count"
    assert outcome(1_051, 1_000, b).result == "qualifies"
    assert outcome(999, 1_000, b).result == "fails"


def test_required_must_be_positive():
    with pytest.raises(UserError):
        outcome(10, 0)


def test_full_count_live_counter_and_early_stop():
    s = full_count_status(999, 1_000, 5)
    assert (s.met, s.can_stop, s.cannot_reach, s.still_needed, s.result) == (False, False, False, 1, None)
    s = full_count_status(1_000, 1_000, 5)
    assert (s.met, s.can_stop, s.still_needed, s.result) == (True, True, 0, "sufficient")
    s = full_count_status(1_000, 1_000, 5, early_stop=False)
    assert s.met and not s.can_stop
    s = full_count_status(990, 1_000, 9)
    assert s.cannot_reach and s.result == "insufficient"
    s = full_count_status(990, 1_000, 10)
    assert not s.cannot_reach and s.result is None
    assert full_count_outcome(1_000, 1_000) == "sufficient"
    assert full_count_outcome(999, 1_000) == "insufficient"
