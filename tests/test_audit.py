"""Supervisor QA audits on a hand-built filing in a real SQLite workspace:
reproducible per-population sample, blind queue, audit rulings, agreement
with worked numbers, and routing disagreements back (idempotently)."""
from __future__ import annotations

import json
from dataclasses import fields

import polars as pl
import pytest

from petitions.law.agreement import cohen_kappa
from petitions.audit import (SOFTWARE, BlindCase, agreement_report, draw_qa_sample, qa_populations, qa_queue,
                             qa_sample, record_audit, route_disagreements)
from petitions.cli import main as cli_main
from petitions.errors import UserError
from petitions.status import line_status
from petitions.rulings import record_ruling
from petitions.law.sampling import audit_sample, frame_hash, ticket_order
from petitions.store import Workspace
from store_helpers import determine, filing_with_lines

SEED = "qa-2026-03-02"
N_AUTO, N_RITA, N_RALF = 100, 10, 12


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    """100 auto-accepts; rita ruled 10 lines (6 accepts, 4 rejections), ralf
    12 accepts; supervisor sue ruled 1 line; 5 lines still wait for review;
    20 more lines are determined but not yet valid (used to grow the
    software population later)."""
    root = tmp_path_factory.mktemp("qa") / "ws"
    ws = Workspace(root, create=True)
    n = N_AUTO + N_RITA + N_RALF + 1 + 5 + 20
    fid, ids = filing_with_lines(ws, ["signed"] * n, user="sue")
    ws.ensure_user("rita", "reviewer")
    ws.ensure_user("ralf", "reviewer")
    ws.ensure_user("sam", "supervisor")
    auto = ids[:N_AUTO]
    rita = ids[N_AUTO:N_AUTO + N_RITA]
    ralf = ids[N_AUTO + N_RITA:N_AUTO + N_RITA + N_RALF]
    sue_line = ids[N_AUTO + N_RITA + N_RALF]
    pending = ids[N_AUTO + N_RITA + N_RALF + 1:N_AUTO + N_RITA + N_RALF + 6]
    later = ids[-20:]
    for lid in auto:
        determine(ws, lid, "valid")
    for lid in rita + ralf + [sue_line] + pending + later:
        determine(ws, lid, "needs_review", ["weak_match"])
    for i, lid in enumerate(rita):
        if i < 6:
            record_ruling(ws, lid, user="rita", action="accept")
        else:
            record_ruling(ws, lid, user="rita", action="reject", reason_code="not_registered")
    for lid in ralf:
        record_ruling(ws, lid, user="ralf", action="accept")
    record_ruling(ws, sue_line, user="sue", action="accept")
    yield ws, fid, {"auto": auto, "rita": rita, "ralf": ralf, "sue": [sue_line], "pending": pending, "later": later}
    ws.close()


def _labels(ws, ids):
    q = ",".join("?" * len(ids))
    return {r["id"]: r["label"] for r in ws._rows(f"SELECT id, label FROM lines WHERE id IN ({q})", ids)}


def test_populations_name_whose_decision_is_in_force(qa):
    ws, fid, g = qa
    pops = qa_populations(ws, fid)
    sizes = dict(pops.group_by("reviewer").len().iter_rows())
    assert sizes == {SOFTWARE: N_AUTO, "rita": N_RITA, "ralf": N_RALF, "sue": 1}
    rita = pops.filter(pl.col("reviewer") == "rita")
    assert rita["decision"].value_counts().sort("decision").rows() == [("invalid", 4), ("valid", 6)]
    assert set(rita.filter(pl.col("decision") == "invalid")["reason"]) == {"not_registered"}


def test_draw_is_per_population_reproducible_and_stored(qa):
    ws, fid, g = qa
    events_before = ws._scalar("SELECT COUNT(*) FROM events")
    with pytest.raises(UserError, match="only a supervisor"):
        draw_qa_sample(ws, fid, seed=SEED, user="rita")
    info = draw_qa_sample(ws, fid, seed=SEED, user="sue")
    got = {p.population: len(p.items) for p in info.populations}
    # software: ⌈2 % × 100⌉ = 2; rita: 10 (the minimum, all of hers); ralf: max(10, ⌈5 % × 12⌉) = 10; sue: 1.
    assert got == {SOFTWARE: 2, "rita": 10, "ralf": 10, "sue": 1}
    assert info.round == 1 and info.drawn == 23
    # An observer recomputes the software part from the seed and the population's labels alone.
    pops = qa_populations(ws, fid)
    auto_labels = pops.filter(pl.col("reviewer") == SOFTWARE)["line_id"].to_list()
    expected = ticket_order(auto_labels, SEED)[:2]
    sw = next(p for p in info.populations if p.population == SOFTWARE)
    assert [(lab, t) for lab, t, _ in sw.items] == [(d.id, d.ticket) for d in expected]
    assert sw.frame_hash == frame_hash(auto_labels) and sw.frame_size == N_AUTO
    # Round 1 is exactly sampling.audit_sample's selection for every population.
    from petitions.stages.filings import get_filing
    ref = audit_sample(pops.select("line_id", "reviewer"), SEED, get_filing(ws, fid).ruleset.qa)
    assert {(lab, p.population) for p in info.populations for lab, _, _ in p.items} == set(
        zip(ref["line_id"], ref["reviewer"]))
    # Stored: one samples row per population, purpose 'qa', population named in params_json.
    rows = ws._rows("SELECT id, round, seed, frame_size, size, params_json FROM samples "
                    "WHERE filing_id = ? AND purpose = 'qa' ORDER BY id", (fid,))
    assert [(json.loads(r["params_json"])["population"], r["size"], r["frame_size"]) for r in rows] == [
        (SOFTWARE, 2, 100), ("ralf", 10, 12), ("rita", 10, 10), ("sue", 1, 1)]
    assert {r["seed"] for r in rows} == {SEED} and {r["round"] for r in rows} == {1}
    stored = qa_sample(ws, fid)
    assert stored.height == 23
    assert stored.filter(pl.col("population") == SOFTWARE).sort("rank")["line_id"].to_list() == [d.id for d in expected]
    ev = ws._rows("SELECT kind, payload_json FROM events WHERE id > ? ORDER BY id", (events_before,))
    assert [e["kind"] for e in ev] == ["sample_drawn"]
    payload = json.loads(ev[0]["payload_json"])
    assert payload["purpose"] == "qa" and payload["seed"] == SEED and payload["drawn"] == 23
    # Drawing again with nothing new is a no-op; another seed is refused.
    again = draw_qa_sample(ws, fid, seed=SEED, user="sue")
    assert again.round is None and again.drawn == 0
    assert ws._scalar("SELECT COUNT(*) FROM events") == events_before + 1
    with pytest.raises(UserError, match="same seed"):
        draw_qa_sample(ws, fid, seed="0" + SEED, user="sue")


def test_later_round_adds_only_new_lines_of_the_grown_quota(qa):
    ws, fid, g = qa
    before = set(qa_sample(ws, fid)["line_id"])
    for lid in g["later"][:50]:
        determine(ws, lid, "valid")   # 20 more auto-accepts: ⌈2 % × 120⌉ = 3
    info = draw_qa_sample(ws, fid, seed=SEED, user="sue")
    auto_labels = qa_populations(ws, fid).filter(pl.col("reviewer") == SOFTWARE)["line_id"].to_list()
    nxt = [d.id for d in ticket_order(auto_labels, SEED) if d.id not in before][:1]
    sw = next(p for p in info.populations if p.population == SOFTWARE)
    assert (sw.quota, sw.already_sampled) == (3, 2)
    assert [lab for lab, _, _ in sw.items] == nxt
    assert info.drawn == 1 and info.round == 2
    assert qa_sample(ws, fid).height == 23 + info.drawn


def test_queue_is_blind_and_audits_are_checked(qa):
    ws, fid, g = qa
    queue = qa_queue(ws, fid)
    assert len(queue) == qa_sample(ws, fid).height
    names = {f.name for f in fields(BlindCase)}
    assert not names & {"status", "determination", "reason", "level", "match_score", "sig_score", "reviewer",
                        "history", "population", "det_reasons"}
    assert all(isinstance(c, BlindCase) and c.label.startswith("S001-") for c in queue)
    sue_label = _labels(ws, g["sue"])[g["sue"][0]]
    # Nobody audits their own decision: sue's line is not in her queue, and refused if tried.
    assert sue_label not in {c.label for c in qa_queue(ws, fid, user="sue")}
    assert sue_label in {c.label for c in queue}
    with pytest.raises(UserError, match="own"):
        record_audit(ws, g["sue"][0], user="sue", action="accept")
    with pytest.raises(UserError, match="only a supervisor"):
        record_audit(ws, g["ralf"][0], user="rita", action="accept")
    with pytest.raises(UserError, match="not in the QA audit sample"):
        record_audit(ws, g["pending"][0], user="sue", action="accept")
    # The audit ruling never changes the line's status and stores the blind case as shown.
    before = line_status(ws, fid).filter(pl.col("line_db_id") == g["sue"][0])["status"][0]
    res = record_audit(ws, g["sue"][0], user="sam", action="accept")
    assert res.final_status == before == "valid"
    shown = json.loads(ws._scalar("SELECT shown_json FROM rulings WHERE id = ?", (res.ruling_id,)))
    assert shown["blind"] is True and "status_before" not in shown
    with pytest.raises(UserError, match="already audited"):
        record_audit(ws, g["sue"][0], user="sue", action="accept")


def test_agreement_per_reviewer_and_reason_with_worked_numbers(qa):
    ws, fid, g = qa
    sample = qa_sample(ws, fid)
    sampled = set(sample["line_db_id"])
    sw_lines = [lid for lid in g["auto"] + g["later"] if lid in sampled]
    # Software: the auditor rejects the first sampled auto-accept on signature grounds, accepts the rest.
    for i, lid in enumerate(sw_lines):
        record_audit(ws, lid, user="sue", action="reject" if i == 0 else "accept",
                     reason_code="signature_mismatch" if i == 0 else None)
    # rita (6 accepts then 4 rejections): audit rejects her first accept and accepts her first rejection.
    rita_orig = ["valid"] * 6 + ["invalid"] * 4
    rita_audit = ["invalid"] + ["valid"] * 5 + ["valid"] + ["invalid"] * 3
    for lid, dec in zip(g["rita"], rita_audit):
        if dec == "valid":
            record_audit(ws, lid, user="sue", action="accept")
        else:
            record_audit(ws, lid, user="sue", action="reject", reason_code="not_registered")
    ralf_sampled = [lid for lid in g["ralf"] if lid in sampled]
    for lid in ralf_sampled:
        record_audit(ws, lid, user="sue", action="accept")

    rep = agreement_report(ws, fid)
    per = {r["group"]: r for r in rep.per_reviewer.to_dicts()}
    assert per[SOFTWARE]["n"] == len(sw_lines) and per[SOFTWARE]["agreements"] == len(sw_lines) - 1
    assert per["rita"]["n"] == 10 and per["rita"]["agreements"] == 8
    assert per["rita"]["percent_agreement"] == pytest.approx(80.0)
    # Cohen's kappa for rita: p_o = 0.8, p_e = 0.6·0.6 + 0.4·0.4 = 0.52 → (0.8 − 0.52) / 0.48 = 0.58333…
    assert per["rita"]["kappa"] == pytest.approx(0.28 / 0.48)
    assert per["rita"]["kappa"] == pytest.approx(cohen_kappa(rita_orig, rita_audit))
    assert per["ralf"]["n"] == 10 and per["ralf"]["percent_agreement"] == 100.0
    assert per["ralf"]["kappa"] is None  # everyone said valid: chance explains everything
    assert per["sue"]["n"] == 1 and per["sue"]["agreements"] == 1
    reasons = {r["group"]: r for r in rep.per_reason.to_dicts()}
    assert reasons["not_registered"]["n"] == 4 and reasons["not_registered"]["agreements"] == 3
    assert reasons["(accepted)"]["n"] == len(sw_lines) + 6 + 10 + 1
    assert reasons["(accepted)"]["agreements"] == len(sw_lines) - 1 + 5 + 10 + 1
    overall = rep.overall.to_dicts()[0]
    assert overall["n"] == rep.audited_count == len(sw_lines) + 21
    assert rep.disagreements.height == 3 and rep.awaiting == rep.sampled - rep.audited_count
    assert sorted(rep.disagreements["reviewer"].to_list()) == ["rita", "rita", SOFTWARE]


def test_route_disagreements_reopens_to_review_queue_once(qa):
    ws, fid, g = qa
    from petitions.review.queue import review_queue

    dis = agreement_report(ws, fid).disagreements
    dis_lines = set(dis["line_db_id"])
    with pytest.raises(UserError, match="only a supervisor"):
        route_disagreements(ws, fid, user="ralf")
    rep = route_disagreements(ws, fid, user="sam")
    assert len(rep.routed) == 3 and not rep.already_routed
    st = line_status(ws, fid).filter(pl.col("line_db_id").is_in(list(dis_lines)))
    assert st["status"].to_list() == ["needs_review"] * 3 and st["level"].to_list() == ["review"] * 3
    queued = {it.line_db_id for it in review_queue(ws, fid, user="rita")}
    assert dis_lines <= queued
    # The software's disputed accept got a needs_review determination carrying the auditor's reason.
    sw_line = dis.filter(pl.col("reviewer") == SOFTWARE)["line_db_id"][0]
    det = ws._rows("SELECT determination, level, reasons_json FROM current_determination WHERE line_id = ?",
                   (sw_line,))[0]
    assert (det["determination"], det["level"], json.loads(det["reasons_json"])) == (
        "needs_review", "qa_audit", ["signature_mismatch"])
    # Each reopen names its audit ruling; one routed event per disagreement, in the chain.
    for r in dis.iter_rows(named=True):
        note = ws._scalar("SELECT note FROM rulings WHERE line_id = ? AND action = 'reopen' ORDER BY id DESC LIMIT 1",
                         (r["line_db_id"],))
        assert f"audit ruling {r['audit_ruling_id']}" in note
    n_events = ws._scalar("SELECT COUNT(*) FROM events WHERE kind = 'qa_disagreement_routed'")
    assert n_events == 3
    again = route_disagreements(ws, fid, user="sam")
    assert again.routed == [] and len(again.already_routed) == 3
    assert ws._scalar("SELECT COUNT(*) FROM events WHERE kind = 'qa_disagreement_routed'") == 3
    # The agreement report still shows what was audited.
    assert agreement_report(ws, fid).disagreements.height == 3
    assert ws.verify_chain().ok


def test_audit_cli(qa, capsys):
    ws, fid, g = qa
    root = str(ws.root)
    assert cli_main(["audit", "report", "-w", root, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["audited"] >= 24 and len(out["disagreements"]) == 3
    assert cli_main(["audit", "draw", "-w", root, "--seed", SEED, "--user", "sue"]) == 0
    assert "nothing new drawn" in capsys.readouterr().out
    assert cli_main(["audit", "draw", "-w", root, "--seed", "other", "--user", "sue"]) == 2
    err = capsys.readouterr().err
    assert "same seed" in err and len(err.strip().splitlines()) == 1
    assert cli_main(["audit", "route", "-w", root, "--user", "sam"]) == 0
    assert "0 disagreement(s) sent back" in capsys.readouterr().out
    assert cli_main(["audit", "route", "-w", root, "--user", "nobody"]) == 2
    assert cli_main(["audit", "queue", "-w", root, "--json"]) == 0
    awaiting = json.loads(capsys.readouterr().out)
    assert all("status" not in c and "reason" not in c for c in awaiting)
    if awaiting:
        label = awaiting[0]["label"]
        assert cli_main(["audit", "rule", "-w", root, "--user", "sam", "--line", label, "--accept"]) == 0
        assert "audit accept recorded" in capsys.readouterr().out
