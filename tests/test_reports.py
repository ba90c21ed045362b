"""Reports on real workspaces: the certificate (read back from the PDF),
tallies, the line / event CSVs and the proponents' inspection export.

The demo filing (real scans, segmentation, crops) is shared by the module;
hand-built filings cover the full count and multi-section tallies."""
from __future__ import annotations

import hashlib
import json
import os
import stat

import polars as pl
import pypdfium2 as pdfium
import pytest

from petitions.cli import main as cli_main
from petitions.counting import sample_items
from petitions.demo import REVIEWER, SUPERVISOR, run_demo
from petitions.errors import UserError
from petitions.stages.filings import create_filing
from petitions.stages.ingest import line_label, line_seq
from petitions.reports import (certify, count_lines, export_events_csv, export_lines_csv, proponent_export,
                               tallies)
from petitions.rulings import record_ruling
from petitions.store import Workspace
from store_helpers import determine, filing_with_lines

REASON_CYCLE = ("not_registered", "address_mismatch", "signature_mismatch")
N_ACCEPT = 8


def _pdf_text(path) -> str:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo filing (40 signatures, seed 1; ca-initiative, required 16).
    Every line of its random sample is then ruled by the reviewer: the first
    8 in filing order accepted, the rest rejected for three reasons in turn."""
    root = tmp_path_factory.mktemp("reports") / "ws"
    res = run_demo(root, signatures=40, seed=1, log=lambda m: None)
    ws = Workspace(root)
    fid = res.filing_id
    out = tmp_path_factory.mktemp("out")
    pending_before = count_lines(ws, fid).filter(pl.col("count_status") == "needs_review").height
    with pytest.raises(UserError) as refused:
        certify(ws, fid, user=SUPERVISOR, out_pdf=out / "early.pdf", official_name="Pat Clerk")
    sample = sample_items(ws, fid)["line_db_id"].to_list()
    seq = dict(ws._db.execute("SELECT id, seq FROM lines WHERE filing_id = ?", (fid,)).fetchall())
    sample.sort(key=seq.get)
    accepted, rejected = sample[:N_ACCEPT], {}
    for lid in accepted:
        record_ruling(ws, lid, user=REVIEWER, action="accept")
    for i, lid in enumerate(sample[N_ACCEPT:]):
        code = REASON_CYCLE[i % 3]
        record_ruling(ws, lid, user=REVIEWER, action="reject", reason_code=code)
        rejected[lid] = code
    yield {"ws": ws, "fid": fid, "root": root, "out": out, "refused": str(refused.value),
           "pending_before": pending_before, "early_pdf": out / "early.pdf", "sample": sample,
           "accepted": accepted, "rejected": rejected}
    ws.close()


def test_certify_refuses_while_sample_lines_pending_and_for_reviewers(demo):
    assert demo["pending_before"] > 0
    assert f"{demo['pending_before']} line(s) of the random sample still need review" in demo["refused"]
    assert not demo["early_pdf"].exists()
    with pytest.raises(UserError, match="only a supervisor"):
        certify(demo["ws"], demo["fid"], user=REVIEWER, out_pdf=demo["out"] / "x.pdf", official_name="R")


def test_certificate_of_insufficiency_numbers_read_back_from_pdf(demo):
    ws, fid = demo["ws"], demo["fid"]
    n = len(demo["sample"])
    raw = ws._scalar("SELECT COUNT(*) FROM lines WHERE filing_id = ? AND state = 'signed'", (fid,))
    events_before = ws._scalar("SELECT COUNT(*) FROM events")
    pdf_path = demo["out"] / "certificate.pdf"
    res = certify(ws, fid, user=SUPERVISOR, out_pdf=pdf_path, official_name="Pat Clerk",
                  official_title="City Clerk", office="Office of the City Clerk")
    # The demo's sample is the whole raw count, so the lines are counted, not
    # projected (the regulation's A = 1 would change nothing here, but its
    # rounding can): 8 valid of 24 required -> insufficient, a full count.
    assert n == raw == 38
    assert res.result == "insufficient"
    d = res.data
    assert (d.method, d.counted_in_full, d.projection) == ("full_count", True, None)
    assert (d.valid_count, d.sample_size, d.raw_count, d.required) == (N_ACCEPT, 38, 38, 24)
    assert d.invalid_by_reason == {"address_mismatch": 10, "not_registered": 10, "signature_mismatch": 10}
    text = _pdf_text(pdf_path)
    assert "Certificate of Insufficiency" in text
    assert "demo-1" in text and d.frame_hash in text.replace("\r", "").replace("\n", "")
    assert "INSUFFICIENT" in text
    flat = " ".join(text.split())
    assert "Full count (every signed line drawn into the random sample)" in flat
    assert "Valid 8 Invalid (all reasons) 30" in flat
    for lab, code in (("Not registered", "not_registered"), ("Different address (registered elsewhere)",
                      "address_mismatch"), ("Signature does not compare", "signature_mismatch")):
        assert f"{lab} 10 [{code}]" in flat
    assert "Raw count (signed lines filed) 38" in flat and "Sample size 38" in flat
    assert "Pat Clerk, City Clerk" in text
    # The event holds the numbers and the PDF's hash, in the chain.
    ev = ws._rows("SELECT kind, user, payload_json FROM events WHERE id > ?", (events_before,))
    assert [e["kind"] for e in ev] == ["certified"] and ev[0]["user"] == SUPERVISOR
    p = json.loads(ev[0]["payload_json"])
    assert p["pdf_sha256"] == hashlib.sha256(pdf_path.read_bytes()).hexdigest() == res.sha256
    assert (p["result"], p["valid"], p["sample_size"], p["projected_valid"], p["seed"]) == (
        "insufficient", 8, 38, None, "demo-1")
    assert p["counted_in_full"] is True and p["frame_hash"] == d.frame_hash
    assert ws.verify_chain().ok


def test_proponent_export_only_disqualified_lines_and_crops(demo, tmp_path):
    ws, fid = demo["ws"], demo["fid"]
    out = tmp_path / "for-proponents"
    rep = proponent_export(ws, fid, out, user=SUPERVISOR)
    labels = dict(ws._db.execute("SELECT id, label FROM lines WHERE filing_id = ?", (fid,)).fetchall())
    rejected = {labels[k]: v for k, v in demo["rejected"].items()}
    accepted = {labels[k] for k in demo["accepted"]}
    assert rep.lines == len(rejected) == 30
    disq = pl.read_csv(out / "disqualified_lines.csv", infer_schema=False)
    assert disq.columns == ["line_id", "section", "page", "line", "reason_code", "reason"]
    assert dict(zip(disq["line_id"], disq["reason_code"])) == rejected
    assert set(disq["reason"]) == {"Not registered", "Different address (registered elsewhere)",
                                   "Signature does not compare"}
    index = pl.read_csv(out / "index.csv", infer_schema=False)
    assert index.columns == ["line_id", "reason_code", "reason", "signature_png", "printed_name_png", "address_png"]
    pngs = sorted(p for p in (out / "crops").iterdir())
    listed = [v for c in ("signature_png", "printed_name_png", "address_png") for v in index[c].fill_null("") if v]
    assert len(pngs) == len(listed) == rep.images and rep.images >= 30
    assert all((out / v).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for v in listed)
    # Nothing about valid lines, no voter data, no demographics.
    everything = "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file())
    everything += "\n".join(p.name for p in pngs)
    assert not any(lab in everything for lab in accepted)
    for word in ("party", "birth", "voter_id", "registration_date", "score"):
        assert word not in everything.lower()
    # Read-only, with checksums that verify.
    for p in out.rglob("*"):
        if p.is_file():
            assert not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    sums = (out / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 3 + len(pngs)  # two CSVs, README, crops
    for line in sums:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert ws._scalar("SELECT COUNT(*) FROM events WHERE kind = 'proponent_export' AND filing_id = ?", (fid,)) == 1
    with pytest.raises(UserError, match="new or empty"):
        proponent_export(ws, fid, out)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_lines_and_events_csv(demo, tmp_path):
    ws, fid = demo["ws"], demo["fid"]
    lines = pl.read_csv(export_lines_csv(ws, fid, tmp_path / "lines.csv"), infer_schema=False)
    n_lines = ws._scalar("SELECT COUNT(*) FROM lines WHERE filing_id = ?", (fid,))
    assert lines.height == n_lines == 40
    assert lines.columns[:6] == ["line_id", "section", "page", "line", "state", "determination"]
    for c in ("status", "reason_code", "reason_label", "match_score", "signature_score", "voter_id"):
        assert c in lines.columns
    assert lines["status"].value_counts().sort("status").rows() == [("invalid", 32), ("valid", 8)]
    rej = lines.filter(pl.col("reason_code") == "signature_mismatch")
    assert rej.height == 10 and set(rej["reason_label"]) == {"Signature does not compare"}
    assert set(lines.filter(pl.col("state") != "signed")["reason_code"]) <= {"blank_line", "struck_line"}
    ev = pl.read_csv(export_events_csv(ws, tmp_path / "events.csv"), infer_schema=False)
    assert ev.height == ws._scalar("SELECT COUNT(*) FROM events")
    assert ev.columns == ["id", "ts", "user", "kind", "filing_id", "line_id", "payload_json", "prev_hash", "hash"]
    assert (ev["prev_hash"][1:] == ev["hash"][:-1]).all()
    # 38 the reviewer's; 2 the demo supervisor's confirmations of the lines
    # software proposed invalid (a blank and a struck line)
    assert ev.filter(pl.col("kind") == "ruling").height == 40


def _sectioned_filing(ws: Workspace) -> int:
    """Three sections, two circulators (Ann Lee: sections 1 and 3)."""
    ws.ensure_user("sup", "supervisor")
    ws.ensure_user("rev", "reviewer")
    fid = create_filing(ws, name="Tallies", ruleset="ca-nominating", jurisdiction="City of Los Angeles",
                        user="sup", required=5)
    plan = {1: ("Ann Lee", ["valid", "valid", "not_registered", "pending", "blank"]),
            2: ("Bob Ray", ["valid", "duplicate", "duplicate", "valid"]),
            3: ("Ann Lee", ["valid", "not_registered", "valid"])}
    with ws.transaction():
        made = []
        for sec, (circ, states) in plan.items():
            sid = ws._db.execute("INSERT INTO sections (filing_id, number, circulator_name) VALUES (?, ?, ?)",
                                (fid, sec, circ)).lastrowid
            pid = ws._db.execute("INSERT INTO pages (section_id, number) VALUES (?, 1)", (sid,)).lastrowid
            for i, what in enumerate(states, start=1):
                lid = ws._db.execute(
                    "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (fid, sid, pid, line_label(sec, 1, i), line_seq(sec, 1, i), i,
                     "blank" if what == "blank" else "signed")).lastrowid
                made.append((lid, what))
    for lid, what in made:
        if what == "valid":
            determine(ws, lid, "valid")
        elif what == "blank":
            determine(ws, lid, "invalid", ["blank_line"])
        else:
            determine(ws, lid, "needs_review", ["weak_match"])
            if what != "pending":
                record_ruling(ws, lid, user="rev", action="reject", reason_code=what)
    return fid


def test_tallies_per_section_and_circulator(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        fid = _sectioned_filing(ws)
        t = tallies(ws, fid)
        sec = {r["section"]: r for r in t.sections.to_dicts()}
        assert [(sec[s]["lines"], sec[s]["valid"], sec[s]["invalid"], sec[s]["pending"], sec[s]["not_counted"])
                for s in (1, 2, 3)] == [(4, 2, 1, 1, 1), (4, 2, 2, 0, 0), (3, 2, 1, 0, 0)]
        assert (sec[1]["invalid_not_registered"], sec[2]["invalid_duplicate"], sec[3]["invalid_not_registered"]) == (1, 2, 1)
        assert sec[1]["circulator"] == sec[3]["circulator"] == "Ann Lee"
        circ = {r["circulator"]: r for r in t.circulators.to_dicts()}
        assert (circ["Ann Lee"]["sections"], circ["Ann Lee"]["lines"], circ["Ann Lee"]["valid"],
                circ["Ann Lee"]["invalid_not_registered"], circ["Ann Lee"]["pending"]) == (2, 7, 4, 2, 1)
        assert (circ["Bob Ray"]["lines"], circ["Bob Ray"]["invalid_duplicate"]) == (4, 2)
        assert "invalid_blank_line" not in t.sections.columns  # blank lines are not invalid signatures
        # Full count, early stop allowed: 6 valid ≥ 5 required with 1 line pending → sufficient, noted.
        res = certify(ws, fid, user="sup", out_pdf=tmp_path / "cert.pdf", official_name="Pat Clerk")
        assert res.result == "sufficient" and res.data.valid_count == 6
        assert res.data.invalid_by_reason == {"duplicate": 2, "not_registered": 2} and res.data.duplicates == 2
        text = _pdf_text(tmp_path / "cert.pdf")
        assert "Certificate of Sufficiency" in text and "SUFFICIENT" in text and "1 line(s) were" in text
        with pytest.raises(UserError, match="certified sufficient"):
            proponent_export(ws, fid, tmp_path / "p")


def test_full_count_refuses_with_pending_lines_below_requirement(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed"] * 12, ruleset="ca-nominating", required=10)
        for lid in ids[:9]:
            determine(ws, lid, "valid")
        for lid in ids[9:]:
            determine(ws, lid, "needs_review", ["weak_match"])
        with pytest.raises(UserError, match="3 signed line"):
            certify(ws, fid, user="sup", out_pdf=tmp_path / "c.pdf", official_name="P")
        assert not (tmp_path / "c.pdf").exists()
        with pytest.raises(UserError, match="not been certified"):
            proponent_export(ws, fid, tmp_path / "p")
        ws.ensure_user("rev", "reviewer")
        for lid in ids[9:]:
            record_ruling(ws, lid, user="rev", action="reject", reason_code="cancelled")
        res = certify(ws, fid, user="sup", out_pdf=tmp_path / "c.pdf", official_name="P")
        assert res.result == "insufficient" and res.data.valid_count == 9
        assert res.data.invalid_by_reason == {"cancelled": 3}
        assert "Certificate of Insufficiency" in _pdf_text(tmp_path / "c.pdf")


def test_report_certify_and_export_cli(demo, tmp_path, capsys):
    root = str(demo["root"])
    assert cli_main(["report", "-w", root, "--out", str(tmp_path / "rep"), "--user", SUPERVISOR]) == 0
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["chain_head.txt", "events.csv", "lines.csv",
                                                                    "missing_pages.csv", "sample.csv", "tallies.csv"]
    # The export is an event naming who made it, with the chain head it was written against.
    from petitions.store import Workspace
    with Workspace(root) as ws:
        ev = ws._rows("SELECT user, payload_json FROM events WHERE kind = 'report_exported' ORDER BY id DESC")[0]
        head = (tmp_path / "rep" / "chain_head.txt").read_text().strip()
        assert ev["user"] == SUPERVISOR and head in ev["payload_json"] and len(head) == 64
    assert (tmp_path / "rep" / "missing_pages.csv").read_text().strip() == "kind,file,section,page,error"
    # The published sample: every ticket, in ticket order, recomputable from the seed.
    import csv

    from petitions.law.sampling import ticket
    sample = list(csv.DictReader(open(tmp_path / "rep" / "sample.csv")))
    assert sample and all(r["ticket"] == ticket(r["seed"], r["line_id"]) for r in sample)
    assert [r["ticket"] for r in sample] == sorted(r["ticket"] for r in sample)
    tal = pl.read_csv(tmp_path / "rep" / "tallies.csv")
    assert tal.filter(pl.col("level") == "section")["lines"].sum() == 38
    capsys.readouterr()
    assert cli_main(["certify", "-w", root, "--out", str(tmp_path / "c.pdf"), "--official", "Pat Clerk",
                     "--user", REVIEWER]) == 2
    err = capsys.readouterr().err
    assert "only a supervisor" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.pdf").exists()
    # Certified by the test above: a second certificate needs the filing reopened first.
    assert cli_main(["certify", "-w", root, "--out", str(tmp_path / "c.pdf"), "--official", "Pat Clerk",
                     "--office", "City Clerk", "--user", SUPERVISOR]) == 2
    assert "already certified" in capsys.readouterr().err and not (tmp_path / "c.pdf").exists()
    assert cli_main(["reopen", "-w", root, "--reason", "reissue for the city clerk's office",
                     "--user", SUPERVISOR]) == 0
    assert cli_main(["certify", "-w", root, "--out", str(tmp_path / "c.pdf"), "--official", "Pat Clerk",
                     "--office", "City Clerk", "--user", SUPERVISOR]) == 0
    assert "INSUFFICIENT" in capsys.readouterr().out and (tmp_path / "c.pdf").exists()
    assert cli_main(["proponent-export", "-w", root, "--out", str(tmp_path / "prop"), "--user", SUPERVISOR]) == 0
    assert "30 disqualified line(s)" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "prop" / "index.csv")
