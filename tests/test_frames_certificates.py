"""Samples, certificates and counts that hold (issue 18, part A), with worked
numbers through the CLI on real (SQLite) workspaces built with store_helpers:

* a drawn sample freezes its frame; a section ingested later is flagged and
  certify refuses until the sample is voided (with a reason) and redrawn;
* a certified filing is locked until a supervisor reopens it, which
  supersedes the certificate; certify warns when QA audits are not done;
* a sample that covers every signed line is counted, not projected;
* pages that failed to read and gaps in the numbering are listed and stop
  certify unless a supervisor records why;
* in QA audits a rejection for another reason category disagrees.
"""
from __future__ import annotations

import json

import polars as pl
import pypdfium2 as pdfium
import pytest

from petitions.cli import main as cli_main
from petitions.counting import count_result, sample_items
from petitions.law.sampling import frame_hash
from petitions.stages.ingest import line_label, line_seq
from petitions.store import Workspace
from petitions.summary import summarize

from store_helpers import determine, filing_with_lines


def _pdf_text(path) -> str:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def _pages_text(path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf))]
    finally:
        pdf.close()


def _add_section(ws: Workspace, fid: int, section: int, n: int, *, pages: tuple[int, ...] = (1,),
                 errors: list[str] | None = None) -> list[int]:
    """A section of `n` signed lines per page, as a later ingest would add it
    (with a document whose failed pages are in errors_json)."""
    ids = []
    # The stored scan, content-addressed as ingest keeps it (certify checks it).
    import hashlib

    scan = f"%PDF-1.4 section {section} of filing {fid}".encode()
    digest = hashlib.sha256(scan).hexdigest()
    key = ws.crops.put_bytes(f"documents/{digest}.pdf", scan)
    with ws.transaction():
        doc = ws._db.execute(
            "INSERT INTO documents (filing_id, path, stored_path, sha256, pages, errors_json, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, ?, '2026-01-02T00:00:00Z')",
            (fid, f"section{section}.pdf", key, digest, len(pages), json.dumps(errors or []))).lastrowid
        sid = ws._db.execute("INSERT INTO sections (filing_id, number, document_id) VALUES (?, ?, ?)",
                             (fid, section, doc)).lastrowid
        for page in pages:
            pid = ws._db.execute("INSERT INTO pages (section_id, number) VALUES (?, ?)", (sid, page)).lastrowid
            for i in range(1, n + 1):
                ids.append(ws._db.execute(
                    "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'signed')",
                    (fid, sid, pid, line_label(section, page, i), line_seq(section, page, i), i)).lastrowid)
    return ids


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def filing57(tmp_path):
    """57 signed lines, every one valid (distinct voters); ca-initiative, required 40."""
    root = tmp_path / "ws"
    ws = Workspace(root, create=True)
    fid, ids = filing_with_lines(ws, ["signed"] * 57, required=40)
    ws.ensure_user("rev", "reviewer")
    for lid in ids:
        determine(ws, lid, "valid", voter_id=f"V{lid}")
    yield ws, fid, root, tmp_path
    ws.close()


def test_frozen_frame_refuses_certify_until_voided_and_redrawn(filing57, capsys):
    ws, fid, root, tmp = filing57
    w = ("-w", root)
    code, out, _ = _cli(capsys, "sample", *w, "--seed", "first-draw", "--size", 30, "--user", "sup")
    assert code == 0 and "from 57 signed lines" in out
    first = count_result(ws, fid)
    # 30 of 57 valid: rate 100.00 %, uncorrected 57; A = 1.9000, no duplicates -> 57 = 142.50 % of 40.
    assert (first.raw_count, first.sample_size, first.sample_valid) == (57, 30, 30)
    assert (first.projection["projected_valid"], first.outcome, first.percent_of_required) == (57, "qualifies", 142.5)
    assert first.frame_current is True and first.lines_outside_frame == 0

    # A second section is ingested after the draw: 21 more signed lines.
    for lid in _add_section(ws, fid, 2, 21):
        determine(ws, lid, "valid", voter_id=f"V{lid}")
    code, out, _ = _cli(capsys, "status", *w, "--json")
    c = json.loads(out)["count"]
    # The projection stays on the frozen 57-line frame; the 21 are flagged, not projected.
    assert (c["raw_count"], c["sample_size"], c["frame_hash"]) == (57, 30, first.frame_hash)
    assert c["projection"]["projected_valid"] == 57
    assert (c["frame_current"], c["lines_outside_frame"]) == (False, 21)
    assert c["outside_frame"][:2] == ["S002-P01-L01", "S002-P01-L02"]
    assert "OUTSIDE THE SAMPLE'S FRAME: 21 signed line(s)" in _cli(capsys, "status", *w)[1]

    code, _, err = _cli(capsys, "certify", *w, "--out", tmp / "c.pdf", "--official", "Pat Clerk", "--user", "sup")
    assert code == 2 and not (tmp / "c.pdf").exists()
    assert len(err.strip().splitlines()) == 1
    assert f"frame {first.frame_hash[:12]}… (57 lines) is not the filing's current set of signed lines" in err
    assert "21 signed line(s) were added after the sample was drawn (first S002-P01-L01)" in err
    # Nor can the old sample be extended over the new lines.
    code, _, err = _cli(capsys, "sample", *w, "--seed", "first-draw", "--size", 5, "--user", "sup")
    assert code == 2 and "cannot be extended" in err and "--void" in err

    # Voiding needs a supervisor and a reason.
    assert _cli(capsys, "sample", *w, "--void", "--reason", "late section", "--user", "rev")[0] == 2
    code, _, err = _cli(capsys, "sample", *w, "--void", "--user", "sup")
    assert code == 2 and "say why" in err
    code, out, _ = _cli(capsys, "sample", *w, "--void", "--reason", "section 2 filed the same day, ingested late",
                        "--user", "sup")
    assert code == 0 and "sample voided" in out and "78 signed lines" in out
    assert sample_items(ws, fid).height == 0
    voided = ws._rows("SELECT payload_json FROM events WHERE kind = 'sample_voided'")
    assert json.loads(voided[0]["payload_json"])["reason"] == "section 2 filed the same day, ingested late"

    code, out, _ = _cli(capsys, "sample", *w, "--seed", "second-draw", "--size", 40, "--user", "sup")
    assert code == 0 and "from 78 signed lines" in out
    labels = ws._rows("SELECT label FROM lines WHERE filing_id = ? ORDER BY seq", (fid,))
    new_hash = frame_hash([r["label"] for r in labels])
    res = count_result(ws, fid)
    # 40 of 78 valid: uncorrected 78; A = 1.9500, no duplicates -> 78 = 195.00 % of 40.
    assert (res.raw_count, res.sample_size, res.frame_hash, res.frame_current) == (78, 40, new_hash, True)
    assert (res.projection["projected_valid"], res.outcome) == (78, "qualifies")
    code, out, err = _cli(capsys, "certify", *w, "--out", tmp / "c.pdf", "--official", "Pat Clerk", "--user", "sup")
    assert code == 0, err
    assert f"frame certified: {new_hash} (78 signed lines)" in out
    assert "QUALIFIES" in out
    # No QA audit was drawn: a warning, on the certificate and in the event.
    assert "warning: no QA audit sample was drawn" in err
    ev = json.loads(ws._rows("SELECT payload_json FROM events WHERE kind = 'certified'")[0]["payload_json"])
    assert ev["frame_hash"] == new_hash and ev["raw_count"] == 78
    assert ev["qa_warnings"][0].startswith("no QA audit sample was drawn")
    text = " ".join(_pdf_text(tmp / "c.pdf").split())
    assert "Quality audits not completed" in text and new_hash in _pdf_text(tmp / "c.pdf").replace("\n", "")
    assert ws.verify_chain().ok


def test_certificate_locks_the_filing_until_reopened(filing57, capsys):
    ws, fid, root, tmp = filing57
    w = ("-w", root)
    assert _cli(capsys, "sample", *w, "--seed", "lock", "--size", 30, "--user", "sup")[0] == 0
    code, _, err = _cli(capsys, "certify", *w, "--out", tmp / "a.pdf", "--official", "Pat Clerk", "--user", "sup")
    assert code == 0, err
    s = summarize(ws, fid)
    assert (s["certification"]["state"], s["certification"]["result"]) == ("certified", "qualifies")
    assert "Certified qualifies on" in _cli(capsys, "status", *w)[1]

    # Locked: a ruling, a sample round, a void, a second certificate are all refused.
    code, _, err = _cli(capsys, "rule", *w, "--line", "S001-P01-L01", "--reopen", "--user", "sup")
    assert code == 2 and "was certified qualifies" in err and "petitions reopen" in err
    assert len(err.strip().splitlines()) == 1
    assert _cli(capsys, "sample", *w, "--seed", "lock", "--size", 5, "--user", "sup")[0] == 2
    assert _cli(capsys, "sample", *w, "--void", "--reason", "x", "--user", "sup")[0] == 2
    code, _, err = _cli(capsys, "certify", *w, "--out", tmp / "b.pdf", "--official", "Pat Clerk", "--user", "sup")
    assert code == 2 and "already certified" in err and not (tmp / "b.pdf").exists()
    assert ws._scalar("SELECT COUNT(*) FROM rulings") == 0
    # What the lock cannot stop (a section ingested after certification) is not silent either.
    for lid in _add_section(ws, fid, 2, 2):
        determine(ws, lid, "valid", voter_id=f"V{lid}")
    changed = summarize(ws, fid)["certification"]["changed_since"]
    assert changed == [f"signed lines now 59, certified frame {s['certification']['frame_hash'][:12]}…"]
    assert "COUNT CHANGED SINCE CERTIFIED: signed lines now 59" in _cli(capsys, "status", *w)[1]

    # Reopening needs a supervisor and a reason; it supersedes the certificate.
    assert _cli(capsys, "reopen", *w, "--reason", "x", "--user", "rev")[0] == 2
    code, out, _ = _cli(capsys, "reopen", *w, "--reason", "court order 26-CV-7: re-examine line 1", "--user", "sup")
    assert code == 0 and "superseded" in out
    assert _cli(capsys, "reopen", *w, "--reason", "again", "--user", "sup")[0] == 2
    s = summarize(ws, fid)["certification"]
    assert (s["state"], s["reopen_reason"]) == ("superseded", "court order 26-CV-7: re-examine line 1")
    from petitions.reports import last_certification

    assert last_certification(ws, fid)["superseded"]["reason"] == "court order 26-CV-7: re-examine line 1"
    code, _, err = _cli(capsys, "proponent-export", *w, "--out", tmp / "prop", "--user", "sup")
    assert code == 2 and "superseded" in err and not (tmp / "prop").exists()
    assert "Certificate SUPERSEDED" in _cli(capsys, "status", *w)[1]
    assert _cli(capsys, "rule", *w, "--line", "S001-P01-L01", "--reopen", "--user", "sup")[0] == 0
    assert _cli(capsys, "sample", *w, "--void", "--reason", "section 2 ingested after certification",
                "--user", "sup")[0] == 0
    assert _cli(capsys, "sample", *w, "--seed", "lock-2", "--size", 30, "--user", "sup")[0] == 0
    code, _, err = _cli(capsys, "certify", *w, "--out", tmp / "b.pdf", "--official", "Pat Clerk", "--user", "sup")
    assert code == 0, err
    assert summarize(ws, fid)["certification"]["certificates"] == 2
    assert ws.verify_chain().ok


def test_a_sample_of_every_line_is_counted_not_projected(tmp_path, capsys):
    """20 signed lines; 18 valid voters, line 19 the same voter as line 1
    (flagged a duplicate), line 20 rejected as not registered. The rule set's
    sample (at least 500) takes all 20. The regulation's projection would be
    19 valid on own merits / 20 = 95.00 %, 20 x 95.00 % = 19, A = 1 so the
    duplicate has no weight: 19 = 100 % of 19 required (full-count band).
    Counted, it is 18 valid: insufficient."""
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed"] * 20, required=19)
        ws.ensure_user("rev", "reviewer")
        for i, lid in enumerate(ids[:18]):
            determine(ws, lid, "valid", voter_id=f"V{i}")
        determine(ws, ids[18], "needs_review", ["duplicate"], voter_id="V0")
        determine(ws, ids[19], "needs_review", ["weak_match"])
    w = ("-w", root)
    assert _cli(capsys, "rule", *w, "--line", "S001-P01-L20", "--reject", "not_registered", "--user", "rev")[0] == 0
    code, out, _ = _cli(capsys, "sample", *w, "--seed", "all-of-it", "--user", "sup")
    assert code == 0 and "20 lines drawn" in out
    c = json.loads(_cli(capsys, "status", *w, "--json")[1])["count"]
    assert (c["method"], c["counted_in_full"], c["raw_count"], c["sample_size"]) == ("full_count", True, 20, 20)
    assert (c["sample_valid"], c["sample_duplicates"], c["valid"], c["pending"]) == (19, 1, 18, 0)
    assert (c["outcome"], c["projection"]) == ("fails", None)
    assert "counted in full, not projected" in _cli(capsys, "status", *w)[1]
    code, out, err = _cli(capsys, "certify", *w, "--out", tmp_path / "c.pdf", "--official", "Pat Clerk",
                          "--user", "sup")
    assert code == 0, err
    assert "INSUFFICIENT (full count, every signed line sampled, raw count 20, required 19, valid 18)" in out
    text = " ".join(_pdf_text(tmp_path / "c.pdf").split())
    assert "Certificate of Insufficiency" in text and "Full count (every signed line drawn into the random sample)" in text
    assert "Valid 18 Invalid (all reasons) 2" in text
    assert "Not registered 1 [not_registered]" in text and "Duplicate 1 [duplicate]" in text
    # Duplicates are listed once, among the invalid lines: no contradicting second figure.
    assert "Duplicates found within the sample" not in text and "Duplicates 0" not in text
    assert "counted, not projected" in text and "INSUFFICIENT" in text


def test_unread_pages_and_numbering_gaps_stop_certify_unless_accepted(tmp_path, capsys):
    """Section 1 (10 lines), section 3 pages 1, 2 and 4 (3 lines each) whose
    scan failed on page 3: section 2 and page 3 are unaccounted for."""
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed"] * 10, ruleset="ca-nominating", required=15)
        ids += _add_section(ws, fid, 3, 3, pages=(1, 2, 4), errors=["page 3: the image data is corrupt"])
        for i, lid in enumerate(ids):
            determine(ws, lid, "valid", voter_id=f"V{i}")
        s = summarize(ws, fid)
    assert s["unread_pages"] == [{"file": "section3.pdf", "section": 3, "page": 3,
                                  "error": "page 3: the image data is corrupt"}]
    assert s["numbering_gaps"] == {"sections": [2], "pages": [{"section": 3, "missing": [3]}]}
    assert s["count"]["valid"] == 19
    w = ("-w", root)
    out = _cli(capsys, "status", *w)[1]
    assert "UNREAD PAGE: section3.pdf, section 3, page 3: page 3: the image data is corrupt" in out
    assert "Missing section numbers: 2" in out and "Missing pages in section 3: 3" in out
    assert _cli(capsys, "report", *w, "--out", tmp_path / "rep", "--user", "sup")[0] == 0
    assert (tmp_path / "rep" / "missing_pages.csv").read_text().splitlines() == [
        "kind,file,section,page,error", "unread_page,section3.pdf,3,3,page 3: the image data is corrupt",
        "missing_section,,2,,", "missing_page,,3,3,"]
    code, _, err = _cli(capsys, "certify", *w, "--out", tmp_path / "c.pdf", "--official", "P", "--user", "sup")
    assert code == 2 and "3 page(s) or section(s) of the filing are unaccounted for" in err
    assert "--accept-missing-pages" in err and not (tmp_path / "c.pdf").exists()
    reason = "section 2 withdrawn by the filer before verification; page 3 rescanned blank"
    code, out, err = _cli(capsys, "certify", *w, "--out", tmp_path / "c.pdf", "--official", "P", "--user", "sup",
                          "--accept-missing-pages", reason)
    assert code == 0, err
    with Workspace(root) as ws:
        ev = json.loads(ws._rows("SELECT payload_json FROM events WHERE kind = 'certified'")[0]["payload_json"])
    assert ev["accept_missing_pages"] == reason and len(ev["unaccounted_pages"]) == 3
    text = " ".join(_pdf_text(tmp_path / "c.pdf").split())
    assert "Pages not in the raw count" in text and "section 2 missing" in text
    assert "page 3: the image data is corrupt" in text and reason in text


def test_attestation_block_stays_on_one_page(tmp_path):
    from petitions.certificate import CertificateData, write_certificate

    # Enough unaccounted pages to push the attestation towards a page break.
    for n in range(0, 60, 3):
        d = CertificateData(filing="F", kind="nominating", jurisdiction="City", required=10, raw_count=12,
                            method="full_count", valid_count=11, invalid_by_reason={"not_registered": 1},
                            duplicates=0, result="sufficient", official_name="Pat Clerk",
                            unread_pages=tuple(f"scan.pdf, page {i}: unreadable" for i in range(n)),
                            missing_pages_reason="rescanned")
        write_certificate(tmp_path / "c.pdf", d)
        pages = _pages_text(tmp_path / "c.pdf")
        last = pages[-1]
        assert "I certify that the petition" in last and "Pat Clerk, Elections Official" in last and "Date:" in last, n
        assert all("I certify" not in p for p in pages[:-1])


def test_a_different_reason_category_is_a_disagreement(tmp_path):
    from petitions.audit import agreement_report, draw_qa_sample, record_audit
    from petitions.errors import UserError
    from petitions.law.agreement import agreement_table, disagreements
    from petitions.law.rules import RuleSet, load_ruleset
    from petitions.rulings import record_ruling

    # Pure: with categories, two rejections agree only within one category.
    frame = pl.DataFrame({"line_id": ["a", "b", "c"], "reviewer": ["r"] * 3,
                          "original_decision": ["invalid", "invalid", "valid"],
                          "audit_decision": ["invalid", "invalid", "valid"],
                          "original_category": ["registration", "registration", None],
                          "audit_category": ["registration", "address", None]})
    assert agreement_table(frame)["agreements"].to_list() == [2]
    assert disagreements(frame)["line_id"].to_list() == ["b"]
    assert agreement_table(frame.drop("original_category", "audit_category"))["agreements"].to_list() == [3]

    # Rule-set data: a mapping reason -> category; unknown codes are refused.
    data = load_ruleset("ca-initiative").to_dict()
    assert "reason_categories" not in data["qa"]  # unset: left out, so the content hash is unchanged
    data["qa"]["reason_categories"] = {"not_registered": "registration", "cancelled": "registration"}
    rs = RuleSet.from_dict(data)
    assert (rs.qa.category("cancelled"), rs.qa.category("address_mismatch")) == ("registration", "address_mismatch")
    data["qa"]["reason_categories"] = {"nonsense": "x"}
    with pytest.raises(UserError, match="unknown reason code 'nonsense'"):
        RuleSet.from_dict(data)

    # Through the store, default categories (each reason its own): a reviewer
    # rejected 3 lines as not registered; the blind audit agrees on the first,
    # finds the second an address mismatch and the third cancelled.
    with Workspace(tmp_path / "ws", create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed"] * 3)
        ws.ensure_user("rev", "reviewer")
        for lid in ids:
            determine(ws, lid, "needs_review", ["weak_match"])
            record_ruling(ws, lid, user="rev", action="reject", reason_code="not_registered")
        draw_qa_sample(ws, fid, seed="qa", user="sup")
        for lid, code in zip(ids, ("not_registered", "address_mismatch", "cancelled")):
            record_audit(ws, lid, user="sup", action="reject", reason_code=code)
        rep = agreement_report(ws, fid)
        assert rep.overall["agreements"].to_list() == [1]
        assert rep.disagreements["line_id"].to_list() == ["S001-P01-L02", "S001-P01-L03"]


def _portable_section(ws: Workspace, fid: int, section: int, n: int) -> list[int]:
    """`n` signed lines in a new section, each determined valid with its own voter (both backends)."""
    with ws.transaction():
        sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, ?) RETURNING id", (fid, section))
        pid = ws._insert("INSERT INTO pages (section_id, number) VALUES (?, 1) RETURNING id", (sid,))
        ids = []
        for i in range(1, n + 1):
            lid = ws._insert("INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                             "VALUES (?, ?, ?, ?, ?, ?, 'signed') RETURNING id",
                             (fid, sid, pid, line_label(section, 1, i), line_seq(section, 1, i), i))
            ws._exec("INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, "
                     "ruleset_id, ruleset_version, created_at) VALUES (?, 'valid', 'auto', '[]', '{}', 't', '1', "
                     "'2026-01-01T00:00:00Z')", (lid,))
            ids.append(lid)
    return ids


def test_frame_void_lock_and_reopen_on_both_backends(workspace_location, tmp_path):
    from petitions.certification import certification_state, reopen
    from petitions.counting import draw_sample, void_sample
    from petitions.errors import UserError
    from petitions.reports import certify
    from petitions.rulings import record_ruling
    from petitions.stages.filings import create_filing

    with Workspace(workspace_location, create=True) as ws:
        sup = ws.login or "sup"
        if ws.login is None:
            ws.ensure_user(sup, "supervisor")
        fid = create_filing(ws, name="F", ruleset="ca-nominating", jurisdiction="City of Los Angeles", user=sup,
                            required=8)
        first = _portable_section(ws, fid, 1, 10)
        draw_sample(ws, fid, seed="s", user=sup, size=5)
        _portable_section(ws, fid, 2, 3)
        res = count_result(ws, fid)
        assert (res.raw_count, res.lines_outside_frame, res.frame_current) == (10, 3, False)
        with pytest.raises(UserError, match="3 signed line"):
            certify(ws, fid, user=sup, out_pdf=tmp_path / "c.pdf", official_name="P")
        void_sample(ws, fid, user=sup, reason="section 2 ingested late")
        draw_sample(ws, fid, seed="s2", user=sup, size=5)
        res = count_result(ws, fid)
        assert (res.raw_count, res.lines_outside_frame, res.frame_current) == (13, 0, True)
        cert = certify(ws, fid, user=sup, out_pdf=tmp_path / "c.pdf", official_name="P")
        assert cert.data.raw_count == 13 and cert.result == "qualifies"
        with pytest.raises(UserError, match="refused until a supervisor reopens"):
            record_ruling(ws, first[0], user=sup, action="reject", reason_code="not_registered")
        reopen(ws, fid, user=sup, reason="recheck line 1")
        assert certification_state(ws, fid)["state"] == "superseded"
        record_ruling(ws, first[0], user=sup, action="reject", reason_code="not_registered")
        assert ws.verify_chain().ok


def test_sample_certificate_lists_a_ruled_duplicate_once(tmp_path, capsys):
    """30 signed lines, a sample of 10. Two sampled lines are the same voter;
    a reviewer rejected the later one as a duplicate. On own merits all 10
    are genuine, with 1 duplicate within the sample: rate 100.00 %,
    uncorrected 30; A = 3.0000, weight 6, duplicate estimate 6 -> 24 valid =
    120.00 % of 20: qualifies. The duplicate appears once: among the sample's
    duplicates, not also as an invalid line."""
    from petitions.counting import draw_sample

    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed"] * 30, required=20)
        ws.ensure_user("rev", "reviewer")
        draw_sample(ws, fid, seed="dups", user="sup", size=10)
        drawn = sorted(sample_items(ws, fid)["line_db_id"].to_list())
        first, later = drawn[0], drawn[1]
        for lid in ids:
            if lid == later:
                determine(ws, lid, "needs_review", ["duplicate"], voter_id=f"V{first}")
            else:
                determine(ws, lid, "valid", voter_id=f"V{lid}")
    label = f"S001-P01-L{ids.index(later) + 1:02d}"
    w = ("-w", root)
    assert _cli(capsys, "rule", *w, "--line", label, "--reject", "duplicate", "--user", "rev")[0] == 0
    c = json.loads(_cli(capsys, "status", *w, "--json")[1])["count"]
    assert (c["method"], c["sample_size"], c["sample_valid"], c["sample_duplicates"]) == ("random_sample", 10, 10, 1)
    assert (c["projection"]["projected_valid"], c["outcome"]) == (24, "qualifies")
    code, out, err = _cli(capsys, "certify", *w, "--out", tmp_path / "c.pdf", "--official", "P", "--user", "sup")
    assert code == 0, err
    text = " ".join(_pdf_text(tmp_path / "c.pdf").split())
    assert "Valid 10 Invalid (all reasons) 0" in text
    assert "Duplicates found within the sample 1" in text and "[duplicate]" not in text


def test_a_sample_drawn_before_frames_were_stored_is_checked_by_its_hash(filing57, capsys):
    """A store from before migration 0006 has the sample's frame hash and
    size but not its lines: a section added since is still caught."""
    ws, fid, root, tmp = filing57
    from petitions.counting import draw_sample

    draw_sample(ws, fid, seed="old", user="sup", size=30)
    with ws.transaction():
        ws._exec("DELETE FROM frame_lines")
    assert count_result(ws, fid).frame_current is True
    _add_section(ws, fid, 2, 4)
    res = count_result(ws, fid)
    assert (res.raw_count, res.frame_current, res.lines_outside_frame, res.outside_frame) == (57, False, 4, [])
    code, _, err = _cli(capsys, "certify", "-w", root, "--out", tmp / "c.pdf", "--official", "P", "--user", "sup")
    assert code == 2 and "4 signed line(s) were added after the sample was drawn;" in err


def test_the_workbench_says_a_reopened_certificate_is_superseded(filing57, qtbot, capsys):
    """The supervisor panel's certificate line, fed by last_certification
    (what the workbench reads), after certify and after reopen."""
    from gui.supervisor import SupervisorPanel
    from petitions import last_certification

    ws, fid, root, tmp = filing57
    w = ("-w", root)
    assert _cli(capsys, "sample", *w, "--seed", "gui", "--size", 30, "--user", "sup")[0] == 0
    assert _cli(capsys, "certify", *w, "--out", tmp / "c.pdf", "--official", "Pat Clerk", "--user", "sup")[0] == 0
    panel = SupervisorPanel()
    qtbot.addWidget(panel)
    panel.show_certification(last_certification(ws, fid))
    assert panel.cert_state.text().startswith("Certified <b>qualifies</b>")
    assert _cli(capsys, "reopen", *w, "--reason", "recount ordered", "--user", "sup")[0] == 0
    panel.show_certification(last_certification(ws, fid))
    text = panel.cert_state.text()
    assert "superseded" in text and "recount ordered" in text and "Certified <b>" not in text
