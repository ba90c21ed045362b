"""Sampling against the reference package (consistent-sampler) and the
regulation's sample sizes (2 CCR §20520, EC 8084, 9115, 11225)."""
from __future__ import annotations

import hashlib

import consistent_sampler as cs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitions.errors import UserError
from petitions.law.rules import load_ruleset
from petitions.law.sampling import (
    audit_sample,
    draw_sample,
    frame_hash,
    sample_size,
    sampling_plan,
    ticket,
    ticket_order,
    trim_ticket,
)

SIX = ["A-1", "A-2", "A-3", "B-1", "B-2", "B-3"]


def reference(ids, seed, take=None):
    kw = {} if take is None else {"take": take}
    # digits=200 keeps the full ticket (the reference trims to 9 by default).
    return [(i, t) for t, i, _ in cs.sampler(ids, seed=seed, output="tuple", digits=200, **kw)]


def test_domain_vector_first_four():
    # shared/DOMAIN.md: seed 314159, without replacement → B-2, B-3, A-3, A-2.
    order = ticket_order(SIX, "314159")
    assert [d.id for d in order[:4]] == ["B-2", "B-3", "A-3", "A-2"]
    assert [trim_ticket(d.ticket) for d in order[:4]] == ["0.410310858", "0.470960291", "0.471438751", "0.567089805"]


def test_reference_docstring_vectors():
    # Examples printed in consistent_sampler's own docstrings.
    assert ticket("01382438112797316654", "AB-130") == (
        "0.26299714122838008416507544297546663599715395525154425586041245287750224561854")
    order = ticket_order(["ab-1", "ab-2", "cd-1", "ef-3"], "314159")
    assert [(d.id, trim_ticket(d.ticket)) for d in order] == [
        ("cd-1", "0.317685817"), ("ef-3", "0.832984519"), ("ab-1", "0.9098039269"), ("ab-2", "0.9231549043")]


def test_ticket_equals_reference_construction():
    seed_hash = hashlib.sha256(b"314159").hexdigest()
    digest = int(hashlib.sha256((seed_hash + "B-2").encode()).hexdigest(), 16)
    assert ticket("314159", "B-2") == "0." + f"{digest:064d}"[::-1]
    assert ticket("314159", "B-2") == cs.first_fraction("B-2", "314159")


def test_seed_is_a_string_not_a_number():
    # "0314159" and "314159" are different seeds: the Arlo bug.
    assert ticket("0314159", "A-1") != ticket("314159", "A-1")
    with pytest.raises(TypeError):
        ticket(314159, "A-1")


ids_strategy = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    min_size=1, max_size=40, unique=True)


@settings(max_examples=60, deadline=None)
@given(ids=ids_strategy, seed=st.text(max_size=20))
def test_matches_reference_on_random_frames(ids, seed):
    assert [tuple(d) for d in ticket_order(ids, seed)] == reference(ids, seed)


@settings(max_examples=40, deadline=None)
@given(ids=ids_strategy, seed=st.text(max_size=20), cuts=st.lists(st.integers(0, 15), max_size=4))
def test_rounds_extend_the_same_order(ids, seed, cuts):
    full = ticket_order(ids, seed)
    drawn = []
    for n in cuts:
        drawn += draw_sample(ids, seed, n, already=[d.id for d in drawn])
    assert drawn == full[: len(drawn)]


def test_draw_sample_matches_reference_take():
    ids = [f"S{s:03d}-P{p:02d}-L{l:02d}" for s in range(1, 6) for p in range(1, 5) for l in range(1, 11)]
    got = draw_sample(ids, "20240305-dice-83179", 37)
    assert [tuple(d) for d in got] == reference(ids, "20240305-dice-83179", take=37)
    # Asking for more than the frame gives the whole frame, in order.
    assert len(draw_sample(ids, "x", 10_000)) == len(ids)


def test_draw_sample_rejects_a_foreign_earlier_round():
    with pytest.raises(UserError, match="not the start"):
        draw_sample(SIX, "314159", 1, already=["B-3"])  # B-2 comes first
    with pytest.raises(UserError, match="not in this frame"):
        draw_sample(SIX, "314159", 1, already=["Z-9"])


def test_duplicate_ids_are_refused():
    with pytest.raises(UserError, match="A-1"):
        ticket_order(["A-1", "A-2", "A-1"], "1")


def test_frame_hash_is_order_independent_and_documented():
    assert frame_hash(SIX) == frame_hash(list(reversed(SIX)))
    assert frame_hash(SIX) == hashlib.sha256("".join(i + "\n" for i in sorted(SIX)).encode()).hexdigest()
    assert frame_hash(SIX) != frame_hash(SIX[:-1])


def test_trim_ticket_matches_reference():
    for t in ["0.9991234567890", "0.123456789123", "0.999999999", "0.5"]:
        assert trim_ticket(t, 4) == cs.trim(t, 4)


@pytest.mark.parametrize(
    "ruleset, raw, expected",
    [
        # EC 9115 / 2 CCR §20520: max(500, ⌈3 % × N⌉), never more than N.
        ("ca-initiative", 400, 400),          # below the minimum: every line
        ("ca-initiative", 500, 500),
        ("ca-initiative", 16_666, 500),       # 3 % = 499.98 → 500
        ("ca-initiative", 16_667, 501),       # 3 % = 500.01 → 501 (rounded up)
        ("ca-initiative", 20_000, 600),       # exact: a float 0.03×20000 is 600.0000000000001
        ("ca-initiative", 20_001, 601),
        # EC 11225: max(500, ⌈5 % × N⌉).
        ("ca-recall-local", 25_000, 1_250),
        ("ca-recall-local", 10_000, 500),
        ("ca-recall-state", 700_000, 35_000),
        # EC 8084: full count under 100, 100 lines for 100–1,999, 5 % from 2,000.
        ("ca-in-lieu", 99, 99),
        ("ca-in-lieu", 100, 100),
        ("ca-in-lieu", 1_999, 100),
        ("ca-in-lieu", 2_000, 100),
        ("ca-in-lieu", 2_001, 101),
        ("ca-in-lieu", 10_000, 500),
        ("ca-nominating", 1_234, 1_234),
    ],
)
def test_sample_size(ruleset, raw, expected):
    assert sample_size(raw, load_ruleset(ruleset)) == expected


def test_sampling_plan_says_when_it_is_a_full_count():
    assert sampling_plan(99, load_ruleset("ca-in-lieu")).method == "full_count"
    assert sampling_plan(150, load_ruleset("ca-in-lieu")).method == "random_sample"
    assert sampling_plan(500, load_ruleset("ca-initiative")).method == "full_count"
    assert sampling_plan(501, load_ruleset("ca-initiative")).method == "random_sample"
    assert sampling_plan(10**6, load_ruleset("ca-nominating")).method == "full_count"
    with pytest.raises(UserError):
        sample_size(-1, load_ruleset("ca-initiative"))


def test_audit_sample_rates_and_reproducibility():
    import polars as pl

    qa = load_ruleset("ca-initiative").qa  # 2 % of auto-accepts; 5 % (min 10) per reviewer
    items = pl.DataFrame({
        "line_id": [f"L{i:04d}" for i in range(1_030)],
        "reviewer": ["software"] * 1_000 + ["ana"] * 25 + ["bo"] * 5,
    })
    got = audit_sample(items, "qa-2024-05-01", qa)
    sizes = dict(got.group_by("reviewer").len().iter_rows())
    assert sizes == {"software": 20, "ana": 10, "bo": 5}
    # Each reviewer's share is the start of that reviewer's ticket order.
    soft = [i for i in items["line_id"][:1_000]]
    expected = [d.id for d in ticket_order(soft, "qa-2024-05-01")[:20]]
    assert got.filter(pl.col("reviewer") == "software")["line_id"].to_list() == expected
    assert audit_sample(items.reverse(), "qa-2024-05-01", qa).sort("line_id").equals(got.sort("line_id"))
