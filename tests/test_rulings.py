"""Rulings: append-only, who/when/why/what was shown, the second-person rule,
and the filing's count and sample built on them."""
from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from petitions.counting import count_result, draw_sample, sample_items
from petitions.errors import UserError
from petitions.status import line_status
from petitions.rulings import record_ruling
from petitions.law.resolution import SOFTWARE, decision_in_force, resolve, rulings_since_reset
from petitions.law.sampling import ticket_order
from petitions.store import Workspace
from store_helpers import determine, filing_with_lines


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", create=True)
    w.ensure_user("sup", "supervisor")
    w.ensure_user("rev1", "reviewer")
    w.ensure_user("rev2", "reviewer")
    yield w
    w.close()


def test_resolve_accept_reject_escalate_reopen():
    assert resolve([], "valid", [], 1) == ("valid", None, "auto")
    assert resolve([], "needs_review", ["signature_mismatch"], 1) == ("needs_review", "signature_mismatch", "review")
    assert resolve([{"user": "a", "action": "accept"}], "needs_review", ["x"], 2) == ("valid", None, "ruled")
    one = [{"user": "a", "action": "reject", "reason_code": "signature_mismatch"}]
    assert resolve(one, "needs_review", [], 1)[:2] == ("invalid", "signature_mismatch")
    # Two people needed for a signature rejection:
    assert resolve(one, "needs_review", [], 2) == ("needs_review", "signature_mismatch", "second_opinion")
    same_twice = one + [{"user": "a", "action": "reject", "reason_code": "signature_mismatch"}]
    assert resolve(same_twice, "needs_review", [], 2)[0] == "needs_review"
    two = one + [{"user": "b", "action": "reject", "reason_code": "signature_mismatch"}]
    assert resolve(two, "needs_review", [], 2)[:2] == ("invalid", "signature_mismatch")
    # Non-signature grounds need one person even under a two-person rule.
    nr = [{"user": "a", "action": "reject", "reason_code": "not_registered"}]
    assert resolve(nr, "needs_review", [], 2)[:2] == ("invalid", "not_registered")
    # An accept clears earlier rejections; reopen returns to the determination.
    assert resolve(one + [{"user": "b", "action": "accept"}], "needs_review", [], 2)[0] == "valid"
    assert resolve(one + [{"user": "s", "action": "reopen"}], "needs_review", ["duplicate"], 1) == \
        ("needs_review", "duplicate", "review")
    assert resolve([{"user": "a", "action": "escalate", "reason_code": None}], "needs_review", [], 1)[2] == "escalated"


def test_rulings_since_reset_keep_what_followed_the_last_accept_or_reopen():
    rej = {"user": "a", "action": "reject", "reason_code": "signature_mismatch"}
    acc = {"user": "b", "action": "accept"}
    reo = {"user": "s", "action": "reopen"}
    assert rulings_since_reset([]) == []
    assert rulings_since_reset([rej]) == [rej]
    assert rulings_since_reset([rej, acc, rej]) == [acc, rej]      # from the accept on
    assert rulings_since_reset([rej, reo, rej]) == [rej]           # after the reopen
    assert rulings_since_reset([rej, reo]) == []


def test_decision_in_force_names_who_decided():
    assert decision_in_force([], "valid", [], 1) == (SOFTWARE, "valid", None, None)
    assert decision_in_force([], "needs_review", ["duplicate"], 1) is None
    acc = {"id": 7, "user": "a", "action": "accept", "reason_code": None}
    assert decision_in_force([acc], "needs_review", [], 1) == ("a", "valid", None, 7)
    rej = {"id": 8, "user": "b", "action": "reject", "reason_code": "signature_mismatch"}
    # A rejection still waiting for a second person is the rejecter's decision.
    assert decision_in_force([acc, rej], "needs_review", [], 2) == ("b", "invalid", "signature_mismatch", 8)
    esc = {"id": 9, "user": "c", "action": "escalate", "reason_code": "other"}
    assert decision_in_force([esc], "needs_review", [], 1) == ("c", "escalate", "other", 9)
    reo = {"id": 10, "user": "s", "action": "reopen", "reason_code": None}
    assert decision_in_force([acc, reo], "needs_review", [], 1) is None


def test_ruling_is_recorded_with_who_what_and_an_event(ws):
    fid, ids = filing_with_lines(ws, ["signed", "signed"])
    determine(ws, ids[0], "needs_review", ["signature_mismatch"])
    shown = {"sig_score": 0.31, "voter_id": "V1", "exemplars": ["abc"]}
    res = record_ruling(ws, ids[0], user="rev1", action="reject", reason_code="signature_mismatch",
                        note="slant and letter forms differ", shown=shown)
    assert res.final_status == "invalid" and res.final_reason == "signature_mismatch"
    row = ws._rows("SELECT * FROM rulings WHERE id = ?", (res.ruling_id,))[0]
    assert row["user"] == "rev1" and row["role"] == "reviewer" and json.loads(row["shown_json"]) == shown
    ev = ws._rows("SELECT * FROM events WHERE kind = 'ruling'")[-1]
    assert json.loads(ev["payload_json"])["ruling_id"] == res.ruling_id and ev["line_id"] == ids[0]
    assert ws.verify_chain().ok
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ws._exec("UPDATE rulings SET action = 'accept'")
    # A change of mind is a new ruling that supersedes the old one.
    res2 = record_ruling(ws, ids[0], user="rev1", action="accept", shown=shown)
    assert res2.final_status == "valid"
    assert ws._scalar("SELECT supersedes FROM rulings WHERE id = ?", (res2.ruling_id,)) == res.ruling_id
    assert ws._scalar("SELECT COUNT(*) FROM rulings") == 2


def test_ruling_inputs_are_checked(ws):
    fid, ids = filing_with_lines(ws, ["signed"])
    with pytest.raises(UserError, match="needs a reason"):
        record_ruling(ws, ids[0], user="rev1", action="reject")
    with pytest.raises(UserError, match="unknown user"):
        record_ruling(ws, ids[0], user="mallory", action="accept")
    with pytest.raises(UserError, match="only a supervisor"):
        record_ruling(ws, ids[0], user="rev1", action="accept", kind="escalation")
    with pytest.raises(UserError):
        record_ruling(ws, ids[0], user="rev1", action="reject", reason_code="no_such_reason")


def test_second_opinion_must_come_from_another_person(ws):
    rs_two = "ca-initiative"
    fid, ids = filing_with_lines(ws, ["signed"], ruleset=rs_two)
    # Make this filing require two people for a signature rejection.
    from petitions.law.rules import RuleSet

    rs = RuleSet.from_json(ws._scalar("SELECT ruleset_json FROM filings WHERE id = ?", (fid,)))
    two = dataclasses.replace(rs, rejections_required=2)
    with ws.transaction():
        ws._exec("UPDATE filings SET ruleset_json = ? WHERE id = ?", (two.to_json(), fid))
    determine(ws, ids[0], "needs_review", ["signature_mismatch"])
    r1 = record_ruling(ws, ids[0], user="rev1", action="reject", reason_code="signature_mismatch")
    assert (r1.final_status, r1.final_reason) == ("needs_review", "signature_mismatch")
    with pytest.raises(UserError, match="another person"):
        record_ruling(ws, ids[0], user="rev1", action="reject", reason_code="signature_mismatch", kind="second_opinion")
    r2 = record_ruling(ws, ids[0], user="rev2", action="reject", reason_code="signature_mismatch", kind="second_opinion")
    assert r2.final_status == "invalid"


def test_audit_rulings_never_change_status(ws):
    fid, ids = filing_with_lines(ws, ["signed"])
    determine(ws, ids[0], "valid")
    record_ruling(ws, ids[0], user="sup", action="reject", reason_code="signature_mismatch", kind="audit")
    st = line_status(ws, fid)
    assert st["status"].to_list() == ["valid"]


def test_full_count_status_and_reasons(ws):
    fid, ids = filing_with_lines(ws, ["signed"] * 4 + ["blank"], ruleset="ca-nominating", required=2)
    determine(ws, ids[0], "valid")
    determine(ws, ids[1], "valid")
    determine(ws, ids[2], "needs_review", ["not_registered"])
    determine(ws, ids[3], "needs_review", ["signature_mismatch"])
    determine(ws, ids[4], "invalid", ["no_signature"])
    record_ruling(ws, ids[2], user="rev1", action="reject", reason_code="not_registered")
    res = count_result(ws, fid)
    assert res.method == "full_count"
    assert (res.raw_count, res.valid, res.invalid, res.pending) == (4, 2, 1, 1)
    assert res.invalid_by_reason == {"not_registered": 1, "no_signature": 1}
    assert res.outcome == "qualifies"


def test_sample_is_the_public_ticket_order_and_extends(ws):
    fid, ids = filing_with_lines(ws, ["signed"] * 12 + ["blank", "struck"])
    info = draw_sample(ws, fid, seed="314159", user="sup", size=5)
    labels = [r["label"] for r in ws._rows("SELECT label FROM lines WHERE state = 'signed' ORDER BY seq")]
    expected = [d.id for d in ticket_order(labels, "314159")]
    assert [lid for lid, _ in info.items] == expected[:5]
    assert info.frame_size == 12  # blank and struck lines are not in the raw count
    more = draw_sample(ws, fid, seed="314159", user="sup", size=3)
    assert more.round == 2 and [lid for lid, _ in more.items] == expected[5:8]
    items = sample_items(ws, fid)
    assert items["line_id"].to_list() == expected[:8] and items["rank"].to_list() == list(range(1, 9))
    with pytest.raises(UserError, match="same seed"):
        draw_sample(ws, fid, seed="271828", user="sup", size=1)
    with pytest.raises(UserError, match="string"):
        draw_sample(ws, fid, seed="", user="sup")


def test_sample_projection_counts_duplicates_within_the_sample(ws):
    fid, ids = filing_with_lines(ws, ["signed"] * 6, required=4)
    for i, lid in enumerate(ids):
        # Lines 1 and 4 are the same voter: the later one was flagged a duplicate by triage.
        determine(ws, lid, "needs_review" if i == 3 else "valid", ["duplicate"] if i == 3 else [],
                  voter_id="V0" if i in (0, 3) else f"V{i}")
    draw_sample(ws, fid, seed="1", user="sup", size=6)
    res = count_result(ws, fid)
    # Judged on own merits all 6 are valid; 1 duplicate found within the sample.
    assert (res.sample_size, res.sample_valid, res.sample_duplicates) == (6, 6, 1)
    # The sample is the whole frame, so the count is known: 6 genuine - 1 duplicate = 5,
    # counted, not projected (the regulation's A = 1 would give the duplicate no weight: 6).
    assert (res.method, res.counted_in_full, res.valid, res.projection) == ("full_count", True, 5, None)
    assert res.outcome == "qualifies"


def test_roles_are_enforced_in_the_library_not_just_the_gui(ws):
    from petitions.stages.filings import create_filing

    fid, ids = filing_with_lines(ws, ["signed"] * 3)
    with pytest.raises(UserError, match="only a supervisor"):
        create_filing(ws, name="Mine", ruleset="ca-recall-local", jurisdiction="City of Los Angeles", user="rev1")
    with pytest.raises(UserError, match="only a supervisor"):
        draw_sample(ws, fid, seed="7", user="rev1")
    with pytest.raises(UserError, match="draw_qa_sample"):
        draw_sample(ws, fid, seed="7", user="sup", purpose="qa")
    assert ws._scalar("SELECT COUNT(*) FROM samples") == 0
    assert ws._scalar("SELECT COUNT(*) FROM filings") == 1


def test_escalation_to_a_full_count(ws):
    from petitions.counting import order_full_count

    # 20 signed lines, required 19: a sample of 10, all valid, projects 20 = 105.26 % -> full-count band.
    fid, ids = filing_with_lines(ws, ["signed"] * 20, required=19)
    draw_sample(ws, fid, seed="9", user="sup", size=10)
    drawn = set(sample_items(ws, fid)["line_db_id"].to_list())
    rest = [lid for lid in ids if lid not in drawn]
    for lid in ids:
        pending = lid == rest[-1]
        determine(ws, lid, "needs_review" if pending else "valid", ["signature_mismatch"] if pending else [],
                  voter_id=f"V{lid}")
    res = count_result(ws, fid)
    assert (res.method, res.outcome, res.projection["projected_valid"]) == ("random_sample", "full_count", 20)
    with pytest.raises(UserError, match="only a supervisor"):
        order_full_count(ws, fid, user="rev1")
    order_full_count(ws, fid, user="sup")
    res = count_result(ws, fid)
    # Now a live full count: 19 valid of 19 required -> met (early stop allowed), 1 still pending.
    assert (res.method, res.valid, res.pending, res.outcome) == ("full_count", 19, 1, "qualifies")
    with pytest.raises(UserError, match="already"):
        order_full_count(ws, fid, user="sup")
    assert ws.verify_chain().ok


def test_full_count_needs_a_reason_outside_the_band(ws):
    from petitions.counting import order_full_count

    fid, ids = filing_with_lines(ws, ["signed"] * 4, required=2)
    for lid in ids:
        determine(ws, lid, "valid", voter_id=f"V{lid}")
    draw_sample(ws, fid, seed="9", user="sup", size=3)
    assert count_result(ws, fid).outcome == "qualifies"
    with pytest.raises(UserError, match="give a reason"):
        order_full_count(ws, fid, user="sup")
    order_full_count(ws, fid, user="sup", reason="court order 2026-CV-1")
    assert count_result(ws, fid).method == "full_count"
