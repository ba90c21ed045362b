"""Round-tabled sections in the filing generator (issue 21 item 6): seeded,
deterministic, with ground truth of which lines and which hand."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from fixtures.roundtable import apply_roundtable, hand_seed, plan_roundtable
from fixtures.signers import draw_signers
from fixtures.voters import generate_county


def test_plan_is_seeded_and_follows_the_crew_pattern():
    secs = list(range(1, 21))
    a = plan_roundtable(secs, crews=5, seed=9)
    assert a == plan_roundtable(secs, crews=5, seed=9)
    assert a != plan_roundtable(secs, crews=5, seed=10)
    assert [c["hands"] for c in a] == [2, 3, 2, 3, 2]
    assert [len(c["sections"]) for c in a] == [1, 2, 1, 1, 2]
    assert [c["share"] for c in a] == [1.0, 1.0, 0.5, 1.0, 1.0]
    used = [s for c in a for s in c["sections"]]
    assert len(used) == len(set(used)) and set(used) <= set(secs)
    seeds = [s for c in a for s in c["hand_seeds"]]
    assert len(set(seeds)) == len(seeds) and seeds[0] == hand_seed(9, 1, 0)
    assert plan_roundtable(secs, crews=0, seed=9) == []
    with pytest.raises(ValueError, match="need more than"):
        plan_roundtable([1, 2], crews=2, seed=0)


def test_apply_marks_lines_and_hands_with_truth():
    county = generate_county(3_000, seed=4)
    signers = draw_signers(county, 240, seed=4)
    sections = np.repeat(np.arange(1, 9), 30)
    plan = plan_roundtable(list(range(1, 9)), crews=3, seed=4)
    out = apply_roundtable(signers, sections, plan, seed=4)
    assert out.height == signers.height
    signed = (out["state"] == "signed").to_numpy()
    rt = out["roundtable"].to_numpy()
    for c in plan:
        in_crew = np.isin(sections, c["sections"]) & signed
        share = rt[in_crew].mean()
        assert share == (1.0 if c["share"] == 1.0 else pytest.approx(0.5, abs=0.05))
        hands = out.filter(pl.Series(in_crew & rt))["hand"].unique().to_list()
        assert set(hands) <= {f"C{c['crew']}-H{h + 1}" for h in range(c["hands"])} and len(hands) >= 2
    # honest lines untouched; round-tabled ones are forgeries in the hand's own seed
    honest = ~rt
    assert out.filter(pl.Series(honest)).drop("roundtable", "hand").equals(signers.filter(pl.Series(honest)))
    f = out.filter(pl.col("roundtable"))
    assert (f["kind"] == "roundtabled").all() and f["forged"].all() and (~f["expected_valid"]).all()
    assert (f["expected_reason"] == "signature_mismatch").all()
    seeds = {s for c in plan for s in c["hand_seeds"]}
    assert set(f["writer_seed"].to_list()) <= seeds
    assert (out.filter(~pl.col("roundtable"))["hand"].is_null()).all()
    # seeded: the same again
    assert out.equals(apply_roundtable(signers, sections, plan, seed=4))


def test_build_filing_writes_roundtabled_sections_with_truth(tmp_path):
    from fixtures.filing import build_filing

    f = build_filing(tmp_path / "f", signatures=160, seed=3, roundtable=2)
    spec = json.loads(f.spec.read_text())
    crews = spec["roundtable"]
    assert [c["crew"] for c in crews] == [1, 2]
    truth = pl.read_csv(f.truth)
    assert {"roundtable", "hand"} <= set(truth.columns)
    sec_of = truth["line_id"].str.slice(1, 3).cast(pl.Int64)
    by_sec = {s["section"]: s for s in spec["sections"]}
    for c in crews:
        lines = truth.filter(sec_of.is_in(c["sections"]) & (pl.col("state") == "signed"))
        assert lines["roundtable"].all()  # crews 1 and 2 round-table whole sections
        assert {by_sec[s]["circulator"] for s in c["sections"]} == {c["circulator"]}
    assert truth.filter(~sec_of.is_in([s for c in crews for s in c["sections"]]))["roundtable"].sum() == 0
    # every planned hand signed some line
    assert truth.filter(pl.col("roundtable"))["hand"].n_unique() == sum(c["hands"] for c in crews)
