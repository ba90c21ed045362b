"""Triage: software accepts only; invalid only for no-judgement reasons.

A slow per-row reference (`reference_row`) states the rules plainly; hypothesis
checks the vectorized polars version against it on random lines.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petitions.law.reasons import REASONS
from petitions.law.rules import TriageRules, load_ruleset
from petitions.law.triage import INPUT_COLUMNS, LEVELS, MATCH_REASON_CODES, OPTIONAL_COLUMNS, triage

D = dt.date
START, END, FILED = D(2024, 1, 1), D(2024, 4, 1), D(2024, 4, 5)
RS = load_ruleset("ca-initiative")

CLEAN = dict(line_id="L", state="signed", has_keyed=True, match_status="match", match_reason=None,
             match_score=0.99, voter_id="V1", voter_status="active", registration_date=D(2020, 1, 1),
             sig_score=0.9, sig_decision="consistent", sig_reason=None, duplicate_rank=0,
             date_signed=D(2024, 3, 1))


def run(rows, ruleset=RS, **dates):
    dates = {"circulation_start": START, "circulation_end": END, "filing_date": FILED, **dates}
    extra = {c: t for c, t in OPTIONAL_COLUMNS.items() if any(c in r for r in rows)}
    return triage(pl.DataFrame(rows, schema={**INPUT_COLUMNS, **extra}), ruleset, **dates)


def one(ruleset=RS, dates=None, **changes):
    out = run([{**CLEAN, **changes}], ruleset, **(dates or {}))
    return out.row(0, named=True)


def test_clean_line_is_auto_accepted_with_inputs():
    r = one()
    assert (r["determination"], r["level"], r["reasons"]) == ("valid", "auto_accept", [])
    inputs = json.loads(r["inputs"])
    assert inputs["line"]["sig_score"] == 0.9 and inputs["line"]["match_status"] == "match"
    assert inputs["rules"]["ruleset_id"] == "ca-initiative" and inputs["rules"]["ruleset_version"] == RS.version
    assert inputs["rules"]["ruleset_hash"] == RS.content_hash
    assert inputs["rules"]["signature_rule"] == "sig_decision == 'consistent'"


@pytest.mark.parametrize("changes, level, reasons", [
    ({"match_status": "review", "match_reason": "ambiguous"}, "review_identity", ["ambiguous_identity"]),
    ({"match_status": "review", "match_reason": "address_mismatch"}, "review_identity", ["address_mismatch"]),
    ({"match_status": "review", "match_reason": "out_of_district"}, "review_identity", ["out_of_jurisdiction"]),
    ({"match_status": "review", "match_reason": "something_new"}, "review_identity", ["other"]),
    ({"match_status": "no_match", "match_reason": "not_found", "voter_id": None}, "review_identity",
     ["not_registered"]),
    ({"match_status": "no_match", "match_reason": None, "voter_id": None}, "review_identity", ["not_registered"]),
    ({"match_status": None, "voter_id": None}, "review_identity", ["identity_not_checked"]),
    ({"has_keyed": False, "match_status": None, "voter_id": None}, "needs_keying", ["not_keyed"]),
    ({"voter_status": "cancelled"}, "review_voter", ["cancelled"]),
    ({"voter_status": None}, "review_voter", ["registration_unknown"]),
    ({"registration_date": D(2024, 3, 2)}, "review_voter", ["registered_after_signing"]),
    ({"registration_date": None}, "review_voter", ["registration_unknown"]),
    # The signature model's 'review' is never a rejection, only a suspicion.
    ({"sig_decision": "review", "sig_score": 0.01}, "review_signature", ["signature_mismatch"]),
    ({"sig_decision": None, "sig_score": None}, "review_signature", ["signature_not_compared"]),
    ({"duplicate_rank": 1}, "review_duplicate", ["duplicate"]),
    ({"duplicate_rank": 3}, "review_duplicate", ["duplicate"]),
    ({"date_signed": D(2023, 12, 31)}, "review_dates", ["outside_window"]),
    ({"date_signed": D(2024, 4, 2)}, "review_dates", ["outside_window"]),
    ({"sig_reason": "empty_signature", "sig_score": None, "sig_decision": None}, "missing_signature",
     ["no_signature"]),
    ({"match_status": "review", "match_reason": "name_mismatch"}, "review_identity", ["name_mismatch"]),
    ({"match_status": "review", "match_reason": "weak_match"}, "review_identity", ["weak_match"]),
    ({"match_status": "no_match", "match_reason": "po_box_only", "voter_id": None}, "review_identity",
     ["incomplete_address"]),
])
def test_anything_unclear_needs_review_never_invalid(changes, level, reasons):
    r = one(**changes)
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", level, reasons)


def test_window_edges_are_inclusive():
    assert one(date_signed=START)["determination"] == "valid"
    assert one(date_signed=END)["determination"] == "valid"


def test_every_problem_is_listed_level_names_the_first():
    r = one(match_status="review", match_reason="ambiguous;address_mismatch", sig_decision="review",
            duplicate_rank=1, date_signed=D(2024, 6, 1), voter_status="cancelled")
    assert r["level"] == "review_identity"
    assert r["reasons"] == ["ambiguous_identity", "address_mismatch", "cancelled", "signature_mismatch",
                            "duplicate", "outside_window"]


@pytest.mark.parametrize("changes, level, reason", [
    ({"state": "blank"}, "blank_line", "blank_line"),
    ({"state": "struck"}, "struck_line", "struck_line"),
    ({"has_keyed": False, "match_status": "no_match", "match_reason": "no_name", "voter_id": None,
      "sig_reason": "empty_signature", "sig_score": None, "sig_decision": None}, "empty_line", "no_signature"),
])
def test_no_judgement_reasons_are_only_proposed_for_a_person_to_confirm(changes, level, reason):
    # Nothing is invalid until a person confirms it: the segmenter can read
    # a flourish as a strike (issue 18, item 9).
    r = one(**changes)
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", "confirm_invalid", [reason])
    assert REASONS[reason].software_may_decide
    assert json.loads(r["inputs"])["line"]["state"] == changes.get("state", "signed")


def test_ruleset_controls_which_levels_are_proposed_invalid():
    none_auto = dataclasses.replace(RS, triage=dataclasses.replace(RS.triage, auto_invalid_levels=()))
    r = one(none_auto, state="blank")
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", "blank_line", ["blank_line"])
    strict = dataclasses.replace(RS, triage=dataclasses.replace(RS.triage, auto_invalid_levels=(
        "blank_line", "struck_line", "empty_line", "missing_signature")))
    r = one(strict, sig_reason="no_signature", sig_score=None, sig_decision=None)
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", "confirm_invalid", ["no_signature"])


def test_a_withdrawn_line_is_proposed_invalid_for_withdrawal_first():
    r = one(withdrawn=True)
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", "confirm_invalid", ["withdrawn"])
    r = one(withdrawn=True, sig_score=0.1, sig_decision="review")
    assert (r["level"], r["reasons"]) == ("confirm_invalid", ["withdrawn", "signature_mismatch"])
    assert one(withdrawn=False)["determination"] == "valid"


def test_a_paper_beyond_the_office_limit_goes_to_review_with_the_other_lines():
    r = one(other_filing_rank=1, other_filing_lines="Jones: S001-P01-L03")
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", "review_other_filing",
                                                              ["signed_other_filing"])
    assert json.loads(r["inputs"])["line"]["other_filing_lines"] == "Jones: S001-P01-L03"
    assert one(other_filing_rank=0)["determination"] == "valid"


def test_a_signed_line_on_a_page_whose_layout_fit_is_not_certain_waits_for_a_person():
    # Issue 19 item 1: a fit confident but not certain is marked for a person
    # to check; none of that page's lines is accepted unseen.
    r = one(layout_check=True)
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", "review_layout", ["layout_uncertain"])
    assert json.loads(r["inputs"])["line"]["layout_check"] is True
    assert not REASONS["layout_uncertain"].final and "review_layout" in LEVELS
    # another problem names the level; the page's doubt is still listed
    r = one(layout_check=True, duplicate_rank=1)
    assert (r["level"], r["reasons"]) == ("review_duplicate", ["duplicate", "layout_uncertain"])
    # a blank line of such a page is only proposed, as any blank line: a person confirms it
    r = one(layout_check=True, state="blank")
    assert (r["determination"], r["level"], r["reasons"]) == ("needs_review", "confirm_invalid", ["blank_line"])
    assert one(layout_check=False)["determination"] == "valid"


def test_signature_threshold_when_set():
    rs = dataclasses.replace(RS, triage=TriageRules(min_signature_score=0.8))
    assert one(rs, sig_score=0.8, sig_decision="review")["determination"] == "valid"       # edge: ≥
    assert one(rs, sig_score=0.7999, sig_decision="consistent")["determination"] == "needs_review"


def test_match_score_threshold_when_set():
    rs = dataclasses.replace(RS, triage=TriageRules(min_match_score=0.95))
    assert one(rs, match_score=0.95)["determination"] == "valid"
    r = one(rs, match_score=0.9499)
    assert (r["determination"], r["reasons"]) == ("needs_review", ["weak_match"])


def test_signature_core_vocabulary():
    # sigverify: empty_signature = no ink; no_exemplar / unreadable = not compared (score NaN).
    r = one(sig_reason="empty_signature", sig_score=float("nan"), sig_decision="review")
    assert (r["level"], r["reasons"]) == ("missing_signature", ["no_signature"])
    r = one(sig_reason="no_exemplar", sig_score=float("nan"), sig_decision="review")
    assert (r["level"], r["reasons"]) == ("review_signature", ["signature_not_compared"])
    r = one(sig_reason="low_score", sig_score=0.12, sig_decision="review")
    assert r["reasons"] == ["signature_mismatch"]


def test_an_unkeyed_line_without_ink_is_not_auto_invalid():
    # Not keyed yet is no evidence that the line has no name.
    r = one(has_keyed=False, match_status=None, voter_id=None, sig_reason="empty_signature",
            sig_score=None, sig_decision="review")
    assert r["determination"] == "needs_review" and r["level"] == "missing_signature"


def test_registration_tests():
    # before_signing: registered the day after signing → review; same day → fine.
    assert one(registration_date=D(2024, 3, 1))["determination"] == "valid"
    assert one(registration_date=D(2024, 3, 2))["reasons"] == ["registered_after_signing"]
    # Undated line: compared with the circulation start, the earliest it could be signed.
    assert one(date_signed=None, registration_date=D(2024, 1, 2))["reasons"] == ["registered_after_signing"]
    assert one(date_signed=None, registration_date=D(2024, 1, 1))["determination"] == "valid"
    # before_filing: registered after signing but before filing is fine.
    rs = dataclasses.replace(RS, registration_test="before_filing")
    assert one(rs, registration_date=D(2024, 3, 2))["determination"] == "valid"
    assert one(rs, registration_date=D(2024, 4, 6))["reasons"] == ["registered_after_signing"]


def test_inactive_voters_count_in_california_only_if_the_rules_say_so():
    assert one(voter_status="inactive")["determination"] == "valid"
    rs = dataclasses.replace(RS, inactive_voters_count=False)
    assert one(rs, voter_status="inactive")["reasons"] == ["inactive"]


def test_referendum_window_from_ruleset_limit():
    rs = load_ruleset("ca-referendum")  # 30 days (EC 9237)
    dates = {"circulation_start": D(2024, 1, 1), "circulation_end": None}
    assert one(rs, dates, date_signed=D(2024, 1, 31))["determination"] == "valid"
    assert one(rs, dates, date_signed=D(2024, 2, 1))["reasons"] == ["outside_window"]


def test_order_and_columns_preserved_and_bad_state_rejected():
    rows = [{**CLEAN, "line_id": f"L{i}", "state": s} for i, s in enumerate(["signed", "blank", "struck"] * 3)]
    out = run(rows)
    assert out.columns == ["line_id", "determination", "reasons", "level", "inputs"]
    assert out["line_id"].to_list() == [r["line_id"] for r in rows]
    with pytest.raises(ValueError, match="state"):
        run([{**CLEAN, "state": "smudged"}])
    with pytest.raises(ValueError, match="columns"):
        triage(pl.DataFrame({"line_id": ["x"]}), RS)


# ---------------------------------------------------------------- reference


def reference_row(r, rs, start, end, filed):
    """The rules written out for one line, in plain Python (slow twin)."""
    t = rs.triage
    empty_sig = r["sig_reason"] in ("empty_signature", "no_signature", "blank", "empty", "blank_signature")
    no_name = r["match_reason"] == "no_name" or (not r["has_keyed"] and r["match_status"] is not None)
    has_voter = r["voter_id"] is not None
    clear = (r["match_status"] == "match" and has_voter
             and (t.min_match_score is None or (r["match_score"] is not None and r["match_score"] >= t.min_match_score)))
    reasons = []
    if not clear:
        codes = []
        if r["match_status"] in ("review", "no_match") and r["match_reason"]:
            parts = r["match_reason"].replace(",", ";").replace("|", ";").split(";")
            codes = [MATCH_REASON_CODES.get(p.strip().lower(), "other") for p in parts if p.strip()]
        if not codes:
            if not r["has_keyed"] and r["match_status"] is None:
                codes = ["not_keyed"]
            elif r["match_status"] is None:
                codes = ["identity_not_checked"]
            elif r["match_status"] == "no_match":
                codes = ["not_registered"]
            elif r["match_status"] == "match" and not has_voter:
                codes = ["identity_not_checked"]
            elif r["match_status"] == "match":
                codes = ["weak_match"]
            else:
                codes = ["ambiguous_identity"]
        reasons += codes
    voter = []
    if has_voter:
        ref = r["date_signed"] or start or end or filed if rs.registration_test == "before_signing" else filed or end
        if r["voter_status"] == "cancelled":
            voter.append("cancelled")
        if r["voter_status"] == "inactive" and not rs.inactive_voters_count:
            voter.append("inactive")
        if r["registration_date"] is not None and ref is not None and r["registration_date"] > ref:
            voter.append("registered_after_signing")
        if r["registration_date"] is None or ref is None or r["voter_status"] not in ("active", "inactive", "cancelled"):
            voter.append("registration_unknown")
    reasons += voter
    sig = None
    if has_voter and not empty_sig:
        ok = (r["sig_decision"] == "consistent" if t.min_signature_score is None
              else r["sig_score"] is not None and r["sig_score"] >= t.min_signature_score)
        if not ok:
            compared = ((r["sig_score"] is not None or r["sig_decision"] is not None)
                        and r["sig_reason"] not in ("no_exemplar", "bad_exemplar", "unreadable_signature"))
            sig = "signature_mismatch" if compared else "signature_not_compared"
            reasons.append(sig)
    dup = r["duplicate_rank"] is not None and r["duplicate_rank"] >= 1
    if dup:
        reasons.append("duplicate")
    d = r["date_signed"]
    outside = d is not None and ((start and d < start) or (end and d > end) or (filed and d > filed))
    if outside:
        reasons.append("outside_window")
    unsure = bool(r.get("layout_check"))
    if unsure and r["state"] == "signed":
        reasons.append("layout_uncertain")
    reasons = list(dict.fromkeys(reasons))
    if r["state"] == "blank":
        level, rs_reasons = "blank_line", ["blank_line"]
    elif r["state"] == "struck":
        level, rs_reasons = "struck_line", ["struck_line"]
    elif empty_sig and no_name:
        level, rs_reasons = "empty_line", ["no_signature"]
    elif empty_sig:
        level = "missing_signature"
        # Invalid carries only the final reason; review lists what else to check.
        rs_reasons = (["no_signature"] if level in t.auto_invalid_levels
                      else list(dict.fromkeys(["no_signature"] + reasons)))
    elif not r["has_keyed"] and r["match_status"] is None:
        level, rs_reasons = "needs_keying", reasons
    elif not clear:
        level, rs_reasons = "review_identity", reasons
    elif voter:
        level, rs_reasons = "review_voter", reasons
    elif sig:
        level, rs_reasons = "review_signature", reasons
    elif dup:
        level, rs_reasons = "review_duplicate", reasons
    elif outside:
        level, rs_reasons = "review_dates", reasons
    elif unsure:
        level, rs_reasons = "review_layout", reasons
    else:
        level, rs_reasons = "auto_accept", []
    if level in t.auto_invalid_levels:
        level = "confirm_invalid"
    det = "valid" if level == "auto_accept" else "needs_review"
    return det, rs_reasons, level


maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
dates = st.dates(D(2023, 10, 1), D(2024, 6, 1))
line = st.fixed_dictionaries({
    "line_id": st.just("x"),
    "state": st.sampled_from(["signed", "signed", "signed", "blank", "struck"]),
    "has_keyed": st.booleans(),
    "match_status": maybe(st.sampled_from(["match", "review", "no_match"])),
    "match_reason": maybe(st.sampled_from(["ambiguous", "address_mismatch", "not_found", "inactive", "no_name",
                                           "cancelled;out_of_district", "weak_match", "weird", ""])),
    "match_score": maybe(st.floats(0, 1)),  # NaN handled in its own test
    "voter_id": maybe(st.sampled_from(["V1", "V2"])),
    "voter_status": maybe(st.sampled_from(["active", "inactive", "cancelled"])),
    "registration_date": maybe(dates),
    "sig_score": maybe(st.floats(0, 1)),
    "sig_decision": maybe(st.sampled_from(["consistent", "review"])),
    "sig_reason": maybe(st.sampled_from(["empty_signature", "low_score", "no_exemplar", "unreadable_signature"])),
    "duplicate_rank": maybe(st.integers(0, 3)),
    "date_signed": maybe(dates),
    "layout_check": maybe(st.booleans()),
})
rulesets = st.builds(
    lambda test, inactive, mm, ms, levels: dataclasses.replace(
        RS, registration_test=test, inactive_voters_count=inactive,
        triage=TriageRules(min_match_score=mm, min_signature_score=ms, auto_invalid_levels=levels)),
    st.sampled_from(["before_signing", "before_filing"]), st.booleans(),
    maybe(st.floats(0, 1)), maybe(st.floats(0, 1)),
    st.lists(st.sampled_from(["blank_line", "struck_line", "empty_line", "missing_signature"]), unique=True)
    .map(tuple))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(line, min_size=1, max_size=25), rs=rulesets,
       start=maybe(st.just(START)), end=maybe(st.just(END)), filed=maybe(st.just(FILED)))
def test_vectorized_triage_equals_reference(rows, rs, start, end, filed):
    rows = [{**r, "line_id": f"L{i}"} for i, r in enumerate(rows)]
    out = run(rows, rs, circulation_start=start, circulation_end=end, filing_date=filed)
    for r, got in zip(rows, out.iter_rows(named=True)):
        assert (got["determination"], got["reasons"], got["level"]) == reference_row(r, rs, start, end, filed), r
        assert got["level"] in LEVELS
        # The law: software never makes a line invalid; it proposes.
        assert got["determination"] != "invalid"
        if got["level"] == "confirm_invalid":
            assert REASONS[got["reasons"][0]].software_may_decide
        if got["determination"] == "valid":
            assert r["match_status"] == "match" and got["reasons"] == []
            assert r["state"] == "signed"


def test_reason_codes_used_are_all_in_the_table():
    for code in MATCH_REASON_CODES.values():
        assert code in REASONS


def test_vectorized_on_a_larger_frame():
    rows = [{**CLEAN, "line_id": f"L{i}", "duplicate_rank": i % 3, "sig_decision": ["consistent", "review"][i % 2]}
            for i in range(3_000)]
    out = run(rows)
    counts = dict(out.group_by("level").len().iter_rows())
    assert counts == {"auto_accept": 500, "review_signature": 1_500, "review_duplicate": 1_000}
