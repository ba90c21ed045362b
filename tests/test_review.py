"""petitions.review: queues, cases, pages, voter look-up, rulings with undo (no Qt)."""
from __future__ import annotations

import json

import pytest

from gui_workspace_fixture import REVIEWER, REVIEWER2, SUPERVISOR, build_tiny_workspace
from petitions import summary
from petitions import review
from petitions.errors import UserError
from petitions.store import Workspace


@pytest.fixture()
def tiny(tmp_path):
    t = build_tiny_workspace(tmp_path / "ws")
    ws = Workspace(t.root)
    yield t, ws
    ws.close()


def test_queue_holds_the_lines_needing_review_in_filing_order(tiny):
    t, ws = tiny
    q = review.review_queue(ws, t.filing_id, user=REVIEWER)
    assert [it.line_db_id for it in q] == t.review_ids
    assert q[0].label == "S001-P01-L05" and q[0].reason == "signature_mismatch"
    assert q[0].signature_hash and len(q[0].exemplar_hashes) == 2


def test_sampled_lines_come_first(tiny):
    t, ws = tiny
    from petitions.counting import draw_sample

    draw_sample(ws, t.filing_id, seed="314159", user=SUPERVISOR, size=5)
    q = review.review_queue(ws, t.filing_id, user=REVIEWER)
    ranks = [it.sample_rank for it in q]
    sampled = [r for r in ranks if r is not None]
    assert sampled == sorted(sampled) and ranks[:len(sampled)] == sampled
    assert {it.line_db_id for it in q} == set(t.review_ids)


def test_reviewers_cannot_open_supervisor_queues(tiny):
    t, ws = tiny
    for mode in ("escalations", "second_opinion", "audit"):
        with pytest.raises(UserError, match="supervisor"):
            review.review_queue(ws, t.filing_id, user=REVIEWER, mode=mode)
    assert review.review_queue(ws, t.filing_id, user=SUPERVISOR, mode="escalations") == []


def test_case_shows_every_exemplar_and_never_party(tiny):
    t, ws = tiny
    case = review.load_case(ws, t.review_ids[2])   # line 7: two voters fit
    assert case.label == "S001-P01-L07"
    assert case.candidate.voter_id == "V007"
    assert [(e.captured_date, e.source) for e in case.candidate.exemplars] == [
        ("2004-06-01", "registration card"), ("2020-10-12", "e-pad")]
    assert [o.voter_id for o in case.others] == ["V021"]
    for c in (case.candidate, *case.others):
        assert not {"party", "race", "ethnicity"} & set(c.record)
    assert "DEM" not in json.dumps(case.shown) and "REP" not in json.dumps(case.shown)
    assert any("more than one voter" in w for w in case.why)
    assert case.shown["exemplar_hashes"] == [e.image_hash for e in case.candidate.exemplars]


def test_field_differences_are_marked(tiny):
    t, ws = tiny
    case = review.load_case(ws, t.line_ids[4])   # line 5: keyed "Soo Perk" for SOO PARK
    diffs = {d.name: d for d in case.candidate.diffs}
    assert diffs["Name"].agreement == "different" and diffs["Name"].differing == ("PARK",)
    # a blank unit is a tolerated variant (2 CCR §20931): equivalent under a named rule, not red
    assert (diffs["Address"].agreement, diffs["Address"].rule) == ("equivalent", "unit missing")
    assert not diffs["Address"].matters and diffs["Name"].matters
    assert diffs["Zip"].agreement == "exact"
    # "Los Angeles" keyed for LOS ANGELES: the same once case is set aside
    assert diffs["City"].agreement == "exact"
    case6 = review.load_case(ws, t.line_ids[5])
    a6 = {d.name: d for d in case6.candidate.diffs}["Address"]
    assert a6.agreement == "different" and "house number" in a6.rule


def test_rule_and_undo_restore_the_queue(tiny):
    t, ws = tiny
    case = review.load_case(ws, t.review_ids[0])
    res = review.rule(ws, case, user=REVIEWER, action="reject", reason_code="signature_mismatch")
    assert res.final_status == "invalid"
    stored = ws._rows("SELECT user, action, reason_code, shown_json FROM rulings WHERE id = ?", (res.ruling_id,))[0]
    assert stored["user"] == REVIEWER and json.loads(stored["shown_json"])["line"] == case.label
    assert t.review_ids[0] not in [i.line_db_id for i in review.review_queue(ws, t.filing_id, user=REVIEWER)]
    with pytest.raises(UserError, match="only they"):
        review.undo_ruling(ws, res.ruling_id, user=REVIEWER2)
    undo = review.undo_ruling(ws, res.ruling_id, user=REVIEWER)
    assert undo.final_status == "needs_review"
    assert [i.line_db_id for i in review.review_queue(ws, t.filing_id, user=REVIEWER)] == t.review_ids
    assert ws._scalar("SELECT COUNT(*) FROM rulings") == 2   # append-only: the history stays


def test_a_ruling_on_a_case_someone_has_ruled_on_since_is_refused(tiny):
    t, ws = tiny
    lid = t.review_ids[0]
    seen_by_2 = review.load_case(ws, lid)   # reviewer 2 opened the line ...
    first = review.rule(ws, review.load_case(ws, lid), user=REVIEWER, action="escalate")   # ... reviewer 1 escalated it
    n = ws._scalar("SELECT COUNT(*) FROM rulings")
    with pytest.raises(UserError, match=f"ruled on since you opened it .{REVIEWER}: escalate"):
        review.rule(ws, seen_by_2, user=REVIEWER2, action="accept")
    # the same person ruling twice from the same view is refused too
    with pytest.raises(UserError, match="ruled on since"):
        review.rule(ws, seen_by_2, user=REVIEWER, action="reject", reason_code="signature_mismatch")
    assert ws._scalar("SELECT COUNT(*) FROM rulings") == n
    # looked at again it is an escalation: not for the review queue, for a supervisor's
    fresh = review.load_case(ws, lid)
    with pytest.raises(UserError, match="not in the review queue .waiting at level escalated"):
        review.rule(ws, fresh, user=REVIEWER2, action="accept")
    done = review.rule(ws, fresh, user=SUPERVISOR, action="accept", mode="escalations")
    stored = ws._rows("SELECT supersedes FROM rulings WHERE id = ?", (done.ruling_id,))[0]
    assert stored["supersedes"] == first.ruling_id and done.final_status == "valid"


def test_a_line_outside_the_queue_can_be_read_but_not_ruled_on(tiny):
    t, ws = tiny
    decided = next(i for i in t.line_ids if i not in t.review_ids)   # triage decided it
    case = review.load_case(ws, decided)
    assert case.status != "needs_review"
    n = ws._scalar("SELECT COUNT(*) FROM rulings")
    for action, code in (("accept", None), ("reject", "signature_mismatch"), ("escalate", None)):
        with pytest.raises(UserError, match="not in the review queue"):
            review.rule(ws, case, user=REVIEWER, action=action, reason_code=code)
    with pytest.raises(UserError, match="not in the escalations"):
        review.rule(ws, review.load_case(ws, t.review_ids[0]), user=SUPERVISOR, action="accept", mode="escalations")
    assert ws._scalar("SELECT COUNT(*) FROM rulings") == n


def test_escalation_goes_to_supervisor_and_undo_returns_it(tiny):
    t, ws = tiny
    lid = t.review_ids[1]
    review.rule(ws, review.load_case(ws, lid), user=REVIEWER, action="escalate")
    esc = review.review_queue(ws, t.filing_id, user=SUPERVISOR, mode="escalations")
    assert [i.line_db_id for i in esc] == [lid]
    case = review.load_case(ws, lid)
    assert case.level == "escalated" and "escalated" in case.why[0]
    with pytest.raises(UserError):
        review.rule(ws, case, user=REVIEWER, action="accept", mode="escalations")
    res = review.rule(ws, case, user=SUPERVISOR, action="accept", mode="escalations")
    assert res.final_status == "valid"
    assert review.review_queue(ws, t.filing_id, user=SUPERVISOR, mode="escalations") == []
    review.undo_ruling(ws, res.ruling_id, user=SUPERVISOR)
    assert [i.line_db_id for i in review.review_queue(ws, t.filing_id, user=SUPERVISOR, mode="escalations")] == [lid]


def test_reviewers_table_leaves_out_undone_rulings(tiny):
    """A ruling its author undid, and the undo itself, are not the person's
    work: a reviewer's rejection, its undo and the re-ruling count once; a
    supervisor's escalation ruling undone (re-escalated) and ruled again
    counts once; the dashboard's table says so."""
    t, ws = tiny
    a, b, c = t.review_ids[:3]
    first = review.rule(ws, review.load_case(ws, a), user=REVIEWER, action="reject", reason_code="signature_mismatch")
    review.undo_ruling(ws, first.ruling_id, user=REVIEWER)
    review.rule(ws, review.load_case(ws, a), user=REVIEWER, action="accept")
    review.rule(ws, review.load_case(ws, b), user=REVIEWER, action="escalate")
    sup = review.rule(ws, review.load_case(ws, b), user=SUPERVISOR, action="accept", mode="escalations")
    review.undo_ruling(ws, sup.ruling_id, user=SUPERVISOR)
    review.rule(ws, review.load_case(ws, b), user=SUPERVISOR, action="reject", reason_code="not_registered",
                mode="escalations")
    review.rule(ws, review.load_case(ws, c), user=REVIEWER2, action="accept")
    assert ws._scalar("SELECT COUNT(*) FROM rulings") == 8   # every one stays on record
    by_user = {r["user"]: r for r in summary.dashboard(ws, t.filing_id)["reviewers"]}
    assert {u: (r["rulings"], r["accepted"], r["rejected"], r["escalated"]) for u, r in by_user.items()} == {
        REVIEWER: (2, 1, 0, 1), SUPERVISOR: (1, 0, 1, 0), REVIEWER2: (1, 1, 0, 0)}


def test_second_opinion_never_from_the_first_rejecter(tmp_path):
    t = build_tiny_workspace(tmp_path / "ws2", rejections_required=2)
    with Workspace(t.root) as ws:
        lid = t.review_ids[0]
        res = review.rule(ws, review.load_case(ws, lid), user=SUPERVISOR, action="reject",
                          reason_code="signature_mismatch")
        assert res.final_status == "needs_review"
        assert review.review_queue(ws, t.filing_id, user=SUPERVISOR, mode="second_opinion") == []
        # another supervisor sees it
        ws.ensure_user("sue", "supervisor")
        q = review.review_queue(ws, t.filing_id, user="sue", mode="second_opinion")
        assert [i.line_db_id for i in q] == [lid]
        res2 = review.rule(ws, review.load_case(ws, lid), user="sue", action="reject",
                           reason_code="signature_mismatch", mode="second_opinion")
        assert res2.final_status == "invalid"


def test_other_needs_a_note(tiny):
    t, ws = tiny
    case = review.load_case(ws, t.review_ids[0])
    with pytest.raises(UserError, match="note"):
        review.rule(ws, case, user=REVIEWER, action="reject", reason_code="other")


def test_voter_search_by_name_and_address(tiny):
    t, ws = tiny
    vd = review.VoterDirectory.open(ws)
    assert "party" not in vd.frame.columns
    hits = vd.search(name="garc mar")
    assert set(hits["voter_id"]) == {"V001", "V021"}
    assert vd.search(address="107 broad")["voter_id"].to_list() == ["V002"]
    assert vd.search().height == 0
    assert vd.get(["V003", "nope"]).keys() == {"V003"}


def test_page_view_has_boxes_and_status(tiny):
    t, ws = tiny
    pv = review.page_view(ws, t.page_ids[1])
    assert len(pv.lines) == 10 and pv.image_hash
    by_num = {ln.number: ln for ln in pv.lines}
    assert by_num[9].status == "invalid" and by_num[9].reason == "blank_line"
    assert by_num[1].status == "needs_review"
    assert by_num[1].boxes["signature"] == [40, 80, 300, 60]
    assert [p["lines"] for p in review.pages_of(ws, t.filing_id)] == [10, 10]


def test_dashboard_counts(tiny):
    t, ws = tiny
    d = summary.dashboard(ws, t.filing_id)
    assert d["lines"] == 20 and d["auto_valid"] == 4 and d["needs_review"] == 14
    assert d["count"]["raw_count"] == 18
    assert sum(d["needs_review_by_reason"].values()) == 14
    assert d["sections"][0]["pending"] == 14


def test_reject_codes_follow_the_rule_set():
    from petitions.law.rules import load_ruleset

    codes = review.reject_codes(load_ruleset("ca-initiative"))
    assert "signature_mismatch" in codes and "blank_line" not in codes and "ambiguous_identity" not in codes
    assert "wrong_party" not in codes


def test_voter_search_uses_the_matcher_index_on_a_prepared_file():
    matchers = pytest.importorskip("matchers")
    from gui_workspace_fixture import voters_frame

    vd = review.VoterDirectory(matchers.prepare_voters(voters_frame()))
    assert "party" not in vd.frame.columns
    hits = vd.search(name="garcia maria")
    assert set(hits["voter_id"].to_list()[:2]) == {"V001", "V021"}
    assert "party" not in hits.columns and "score" in hits.columns
    assert vd.search(address="107 broad")["voter_id"][0] == "V002"


def test_case_shows_the_duplicate_group(tmp_path):
    """Lines matched to the same voter are shown to staff as one group."""
    from petitions.review.case import load_case
    from petitions.store import Workspace
    from store_helpers import determine, filing_with_lines

    ws = Workspace(tmp_path / "dups", create=True)
    fid, ids = filing_with_lines(ws, ["signed"] * 4)
    determine(ws, ids[0], "valid", voter_id="V1")
    determine(ws, ids[1], "valid", voter_id="V2")
    determine(ws, ids[2], "needs_review", ["duplicate"], voter_id="V1")
    determine(ws, ids[3], "needs_review", ["duplicate"], voter_id="V1")
    case = load_case(ws, ids[2])
    assert [d["label"] for d in case.same_voter] == ["S001-P01-L01", "S001-P01-L04"]
    assert [d["earlier"] for d in case.same_voter] == [True, False]
    assert load_case(ws, ids[1]).same_voter == ()
    ws.close()
