"""Audit agreement: percent agreement and Cohen's kappa per reviewer and reason."""
from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitions.law.agreement import agreement_report, agreement_table, cohen_kappa, disagreements


def kappa_reference(a, b):
    n = len(a)
    cats = sorted(set(a) | set(b))
    po = sum(x == y for x, y in zip(a, b)) / n
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in cats)
    return math.nan if math.isclose(pe, 1.0) else (po - pe) / (1 - pe)


def test_worked_kappa():
    # 50 audited lines: 20 both accept, 15 both reject, 5 accept→reject, 10 reject→accept.
    # po = 35/50 = 0.70; pe = (25·30 + 25·20)/2500 = 0.50; kappa = 0.20/0.50 = 0.40.
    orig = ["valid"] * 25 + ["invalid"] * 25
    audit = ["valid"] * 20 + ["invalid"] * 5 + ["invalid"] * 15 + ["valid"] * 10
    assert cohen_kappa(orig, audit) == pytest.approx(0.40)


def test_perfect_and_chance_agreement():
    assert cohen_kappa(["a", "r", "a", "r"], ["a", "r", "a", "r"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "a", "r", "r"], ["a", "r", "a", "r"]) == pytest.approx(0.0)
    assert math.isnan(cohen_kappa(["a", "a"], ["a", "a"]))  # undefined: one category only


AUDIT = pl.DataFrame({
    "line_id": [f"L{i}" for i in range(10)],
    "reviewer": ["ana"] * 4 + ["bo"] * 4 + ["software"] * 2,
    "original_decision": ["invalid", "invalid", "valid", "valid", "invalid", "valid", "invalid", "valid",
                          "valid", "valid"],
    "audit_decision": ["invalid", "valid", "valid", "valid", "invalid", "valid", "valid", "invalid",
                       "valid", "invalid"],
    "reason": ["signature_mismatch", "signature_mismatch", None, None, "not_registered", None,
               "signature_mismatch", None, None, None],
})


def test_per_reviewer_table():
    t = {r["group"]: r for r in agreement_table(AUDIT, "reviewer").iter_rows(named=True)}
    assert (t["ana"]["n"], t["ana"]["agreements"], t["ana"]["percent_agreement"]) == (4, 3, 75.0)
    # ana: po 0.75, pe = (2·1 + 2·3)/16 = 0.5 → kappa 0.5
    assert t["ana"]["kappa"] == pytest.approx(0.5)
    assert t["bo"]["percent_agreement"] == 50.0
    assert t["software"]["percent_agreement"] == 50.0
    assert t["software"]["kappa"] == pytest.approx(0.0)


def test_per_reason_and_overall():
    rep = agreement_report(AUDIT)
    assert rep.overall.row(0, named=True)["n"] == 10 and rep.overall["agreements"][0] == 6
    per_reason = {r["group"]: r for r in rep.per_reason.iter_rows(named=True)}
    assert per_reason["signature_mismatch"]["agreements"] == 1 and per_reason["signature_mismatch"]["n"] == 3
    assert per_reason["(none)"]["n"] == 6
    assert rep.disagreements["line_id"].to_list() == ["L1", "L6", "L7", "L9"]
    assert disagreements(AUDIT).height == 4


def test_empty_audit():
    assert agreement_table(AUDIT.head(0), "reviewer").height == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["x", "y", "z"]), st.sampled_from(["valid", "invalid", "escalate"]),
                          st.sampled_from(["valid", "invalid", "escalate"])), min_size=1, max_size=40))
def test_vectorized_matches_reference(rows):
    f = pl.DataFrame({"line_id": [str(i) for i in range(len(rows))], "reviewer": [r[0] for r in rows],
                      "original_decision": [r[1] for r in rows], "audit_decision": [r[2] for r in rows]})
    for row in agreement_table(f, "reviewer").iter_rows(named=True):
        sub = [r for r in rows if r[0] == row["group"]]
        expected = kappa_reference([r[1] for r in sub], [r[2] for r in sub])
        if math.isnan(expected):
            assert row["kappa"] is None
        else:
            assert row["kappa"] == pytest.approx(expected)
        assert row["percent_agreement"] == pytest.approx(100 * sum(r[1] == r[2] for r in sub) / len(sub))
