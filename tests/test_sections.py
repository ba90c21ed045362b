"""Sections as the law sees them (issue 18, item 5), through the CLI on real
workspaces, with worked numbers:

a nominating paper (full count, 8 required) of two sections — section 1:
6 signed lines, all valid; section 2: 4 signed lines (3 valid, 1 pending)
and a blank line. Before any section ruling: valid 9, pending 1, qualifies
(the requirement is met). Section 2's declaration is keyed without an
address, unsigned, dated 2026-05-22 although a signer dated 2026-05-25 —
the checks show it; a supervisor rules the section ``circulator_defect``:
valid 6, invalid 4 (circulator_defect 4), pending 0 -> insufficient, on the
certificate too. Restored (after reopening the certificate): valid 9 again,
both rulings and their events on record.
"""
from __future__ import annotations

import json

import polars as pl
import pytest
from pdf_helpers import pdf_words

from petitions.cli import main as cli_main
from petitions.errors import UserError
from petitions.law.resolution import apply_section_rulings
from petitions.law.sections import check_declaration
from petitions.stages.filings import create_filing
from petitions.stages.ingest import line_label, line_seq
from petitions.status import line_status
from petitions.store import Workspace, now_utc

from store_helpers import determine


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _section(ws, fid, number, states) -> list[int]:
    with ws.transaction():
        sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, ?) RETURNING id", (fid, number))
        pid = ws._insert("INSERT INTO pages (section_id, number) VALUES (?, 1) RETURNING id", (sid,))
        return [ws._insert(
            "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (fid, sid, pid, line_label(number, 1, i), line_seq(number, 1, i), i, st))
            for i, st in enumerate(states, start=1)]


def _build(ws) -> int:
    ws.ensure_user("sup", "supervisor")
    ws.ensure_user("ann", "reviewer", by="sup")
    fid = create_filing(ws, name="Cy nomination", ruleset="ca-nominating", jurisdiction="City of Los Angeles",
                        user="sup", required=8)
    s1 = _section(ws, fid, 1, ["signed"] * 6)
    s2 = _section(ws, fid, 2, ["signed"] * 4 + ["blank"])
    for lid in s1 + s2[:3]:
        determine(ws, lid, "valid")
    determine(ws, s2[3], "needs_review", ["signature_not_compared"])
    return fid


@pytest.fixture
def paper(tmp_path):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid = _build(ws)
    keyed = tmp_path / "keyed.csv"
    keyed.write_text("line_id,name,address,city,zip,date_signed\n" + "".join(
        f"{line_label(1, 1, i)},A{i},{i} Elm St,Los Angeles,90001,2026-05-0{i}\n" for i in range(1, 7)) + "".join(
        f"{line_label(2, 1, i)},B{i},{i} Oak St,Los Angeles,90001,2026-05-2{i + 1}\n" for i in range(1, 5)))
    assert cli_main(["key", "-w", str(root), "--user", "sup", str(keyed)]) == 0
    return root, fid


def _count(capsys, root) -> dict:
    code, out, _ = _cli(capsys, "status", "-w", root, "--json")
    assert code == 0
    return json.loads(out)


def test_declarations_keyed_checked_and_shown(paper, tmp_path, capsys):
    root, _ = paper
    decl = tmp_path / "decl.csv"
    decl.write_text("section,circulator_name,circulator_address,circulated_from,circulated_to,signed,declaration_date\n"
                    "1,Ann Lee,1 Elm St,2026-05-01,2026-05-20,yes,2026-05-21\n"
                    "2,Bo Diaz,,2026-05-01,2026-05-20,no,2026-05-22\n"
                    "9,Cy,2 Elm St,2026-05-01,2026-05-02,yes,\n"
                    "1,Ann Lee,1 Elm St,2026-05-01,2026-05-20,yes,2026-05-21\n")
    code, out, err = _cli(capsys, "sections", "-w", root, "--user", "ann", "--key", decl)
    assert code == 2 and "supervisor" in err  # a reviewer does not key declarations
    code, out, err = _cli(capsys, "sections", "-w", root, "--user", "sup", "--key", decl, "--json")
    assert code == 1  # two bad rows, named by row and column; the good rows are kept
    assert f"{decl} row 4, column section: no section 9" in err and "row 5, column section: section 1 appears twice" in err
    views = {v["section"]: v for v in json.loads(out)}
    assert views[1]["problems"] == []
    assert views[1]["declaration"]["circulator_name"] == "Ann Lee" and views[1]["signed_lines"] == 6
    assert sorted(p["code"] for p in views[2]["problems"]) == [
        "declared_before_last_signer", "no_address", "not_signed", "signed_after_circulation"]
    assert views[2]["signed_lines"] == 4
    code, out, _ = _cli(capsys, "sections", "-w", root)
    assert code == 0
    assert "section   2: 1 page(s), 4 signed line(s); Bo Diaz, (no address); circulated 2026-05-01 to 2026-05-20; " \
           "NOT signed, declared 2026-05-22" in out
    assert "check: declaration dated 2026-05-22, before the latest signer's date 2026-05-25" in out
    assert out.strip().endswith("2 section(s), 1 with declaration problems, 0 ruled invalid as a whole")
    # unchanged rows again are not a new entry
    code, out, _ = _cli(capsys, "sections", "-w", root, "--user", "sup", "--key", decl)
    assert "0 recorded, 2 unchanged" in out


def test_a_section_ruling_applies_to_its_lines_is_reversible_and_on_the_certificate(paper, tmp_path, capsys):
    root, fid = paper
    c = _count(capsys, root)["count"]
    assert (c["valid"], c["invalid"], c["pending"], c["outcome"]) == (9, 0, 1, "qualifies")
    # refused: a reviewer, no reason, a single line's reason, a section that does not exist
    code, _, err = _cli(capsys, "section", "-w", root, "--user", "ann", "--section", 2, "--rule", "circulator_defect",
                        "--reason", "unsigned declaration")
    assert code == 2 and "supervisor" in err
    code, _, err = _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 2, "--rule", "circulator_defect")
    assert code == 2 and "--reason" in err
    code, _, err = _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 2, "--rule", "duplicate",
                        "--reason", "x")
    assert code == 2 and "not a reason a whole section is ruled for" in err
    code, _, err = _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 7, "--rule", "wrong_county",
                        "--reason", "x")
    assert code == 2 and "no section 7" in err
    assert _count(capsys, root)["count"]["valid"] == 9  # nothing changed
    code, out, _ = _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 2, "--rule", "circulator_defect",
                        "--reason", "declaration unsigned")
    assert code == 0 and "its 4 signed line(s) count as invalid" in out
    s = _count(capsys, root)
    c = s["count"]
    assert (c["raw_count"], c["valid"], c["invalid"], c["pending"], c["outcome"]) == (5 + 5, 6, 4, 0, "fails")
    assert s["invalid_by_reason"] == {"circulator_defect": 4}  # the blank line is not an invalid signature
    assert [(r["section"], r["reason_code"], r["ruled_by"], r["signed_lines"]) for r in s["section_rulings"]] == [
        (2, "circulator_defect", "sup", 4)]
    with Workspace(root) as ws:
        st = line_status(ws, fid)
        sec2 = st.filter(pl.col("section") == 2)
        assert sec2.select("state", "status", "reason", "level").rows() == [
            ("signed", "invalid", "circulator_defect", "section")] * 4 + [("blank", "needs_review", None, "review")]
        assert (st.filter(pl.col("section") == 1)["status"] == "valid").all()
    code, out, _ = _cli(capsys, "status", "-w", root)
    assert "SECTION 2 RULED Circulator declaration defect [circulator_defect] by sup" in out
    assert "declaration unsigned (4 signed line(s) invalid)" in out
    pdf = tmp_path / "cert.pdf"
    code, out, err = _cli(capsys, "certify", "-w", root, "--user", "sup", "--out", pdf, "--official", "Pat Clerk")
    assert code == 0, err
    # section 1's declaration was never keyed: said on the certificate and by certify; section 2 was ruled on
    assert "warning: declaration not in order, no section ruling: section 1: the circulator's declaration was " \
           "not keyed, so not checked" in err and "section 2:" not in err
    text = pdf_words(pdf)
    assert "declarations not in order (no section ruling)" in text
    assert "Sections ruled invalid as a whole" in text and "[circulator_defect], 4 signed line(s)" in text
    assert "declaration unsigned" in text and "INSUFFICIENT" in text
    # locked: the section is restored only after the certificate is reopened
    code, _, err = _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 2, "--restore",
                        "--reason", "declaration signed after all")
    assert code == 2 and "refused until a supervisor reopens it" in err
    assert _cli(capsys, "reopen", "-w", root, "--user", "sup", "--reason", "circulator brought the signed page")[0] == 0
    code, out, _ = _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 2, "--restore",
                        "--reason", "declaration signed after all")
    assert code == 0 and "restored (was circulator_defect)" in out
    s = _count(capsys, root)
    assert (s["count"]["valid"], s["count"]["pending"], s["section_rulings"]) == (9, 1, [])
    code, _, err = _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 2, "--restore", "--reason", "x")
    assert code == 2 and "no section ruling in force" in err
    code, out, _ = _cli(capsys, "sections", "-w", root)
    assert "restored by sup" in out and "(2 ruling(s) on record)" in out
    with Workspace(root) as ws:
        events = [json.loads(e["payload_json"]) for e in ws._rows(
            "SELECT payload_json FROM events WHERE kind = 'section_ruled' ORDER BY id")]
        assert [(e["action"], e["reason_code"], e["signed_lines"]) for e in events] == [
            ("void", "circulator_defect", 4), ("restore", None, 4)]
        assert ws._scalar("SELECT COUNT(*) FROM section_rulings") == 2
        with pytest.raises(Exception, match="append-only"):
            with ws.transaction():
                ws._exec("DELETE FROM section_rulings")
        assert ws.verify_chain().ok


def test_checks_and_resolution_are_pure_and_exact():
    ok = {"circulator_name": "A", "circulator_address": "1 Elm", "circulated_from": "2026-05-01",
          "circulated_to": "2026-05-10", "signed": None, "declaration_date": None}
    assert [p.code for p in check_declaration(ok, signature_ink=True)] == []
    assert [p.code for p in check_declaration(ok, signature_ink=False)] == ["not_signed"]
    assert [p.code for p in check_declaration(None)][:2] == ["not_keyed", "no_name"]
    assert [p.code for p in check_declaration({**ok, "circulated_from": "2026-05-11", "signed": 1},
                                              circulation_end="2026-05-09")] == ["dates_reversed", "outside_window"]
    st = pl.DataFrame({"section": [1, 1, 2], "state": ["signed", "struck", "signed"],
                       "status": ["needs_review", "invalid", "valid"], "reason": ["weak_match", "struck_line", None],
                       "level": ["review", "auto", "auto"]})
    got = apply_section_rulings(st, {1: "wrong_county"})
    assert got.select("status", "reason", "level").rows() == [
        ("invalid", "wrong_county", "section"), ("invalid", "struck_line", "auto"), ("valid", None, "auto")]
    assert apply_section_rulings(st, {}).equals(st)


def test_a_reviewer_login_cannot_rule_on_a_section(pg_admin, capsys):
    from pg_server import fresh_database

    admin_url = fresh_database(pg_admin)
    suffix = admin_url.rsplit("/", 1)[1]
    ann, sue = f"ann_{suffix}", f"sue_{suffix}"
    with Workspace(admin_url, create=True) as admin:
        admin.ensure_user(ann, "reviewer", password="ann-pw")
        admin.ensure_user(sue, "supervisor", password="sue-pw")
        admin.ensure_user("sup", "supervisor")
        fid = create_filing(admin, name="Cy nomination", ruleset="ca-nominating", jurisdiction="City of Los Angeles",
                            user=admin.login, required=8)
        lines = _section(admin, fid, 1, ["signed"] * 3)
        for lid in lines:
            determine_server(admin, lid)
        sid = admin._scalar("SELECT id FROM sections WHERE filing_id = ?", (fid,))
    host = admin_url.split("@", 1)[1]
    ann_url, sue_url = f"postgresql://{ann}:ann-pw@{host}", f"postgresql://{sue}:sue-pw@{host}"
    code, _, err = _cli(capsys, "section", "-w", ann_url, "--section", 1, "--rule", "circulator_defect",
                        "--reason", "x")
    assert code == 2 and "supervisor" in err
    with Workspace(ann_url) as ws:
        # the database itself refuses a reviewer's hand-written section ruling
        with pytest.raises(Exception) as e:
            with ws.transaction():
                ws._insert("INSERT INTO section_rulings (section_id, action, reason_code, reason, ruled_by, "
                           "created_at) VALUES (?, 'void', 'circulator_defect', 'x', ?, ?) RETURNING id",
                           (sid, ann, now_utc()))
        assert "permission denied" in str(e.value)
        with pytest.raises(UserError):
            from petitions.sections import rule_section

            rule_section(ws, fid, 1, user=ann, code="circulator_defect", reason="x")
    with Workspace(sue_url) as ws:
        with pytest.raises(Exception) as e:  # a supervisor rules only as themself
            with ws.transaction():
                ws._insert("INSERT INTO section_rulings (section_id, action, reason_code, reason, ruled_by, "
                           "created_at) VALUES (?, 'void', 'circulator_defect', 'x', ?, ?) RETURNING id",
                           (sid, ann, now_utc()))
        assert "row-level security" in str(e.value)
    code, out, err = _cli(capsys, "section", "-w", sue_url, "--section", 1, "--rule", "wrong_county",
                          "--reason", "circulated in Orange County")
    assert code == 0, err
    with Workspace(sue_url) as ws:
        st = line_status(ws, fid)
        assert st["reason"].to_list() == ["wrong_county"] * 3 and (st["status"] == "invalid").all()


def determine_server(ws, line_id) -> None:
    with ws.transaction():
        ws._insert("INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, ruleset_id, "
                   "ruleset_version, created_at) VALUES (?, 'valid', 'test', '[]', '{}', 'test', '1', ?) RETURNING id",
                   (line_id, now_utc()))


def test_a_section_ruling_slipped_in_behind_the_software_is_seen(paper, capsys):
    root, fid = paper
    assert _cli(capsys, "section", "-w", root, "--user", "sup", "--section", 1, "--rule", "wrong_county",
                "--reason", "circulated in Orange County")[0] == 0
    assert _cli(capsys, "verify-log", "-w", root, "--no-files")[0] == 0
    with Workspace(root) as ws:
        sid = ws._scalar("SELECT id FROM sections WHERE filing_id = ? AND number = 2", (fid,))
        with ws.transaction():   # a row written straight into the table, no event
            ws._insert("INSERT INTO section_rulings (section_id, action, reason_code, reason, ruled_by, created_at) "
                       "VALUES (?, 'void', 'circulator_defect', 'x', 'sup', ?) RETURNING id", (sid, now_utc()))
    code, out, err = _cli(capsys, "verify-log", "-w", root, "--no-files")
    assert code == 1 and "has no section_ruled event" in out + err


def test_one_connection_sees_a_section_ruling_and_its_restore_at_once(paper):
    """line_status keeps its frame on the connection between reads; a ruling
    on a whole section (and its restore) must show on the very next read of
    the same connection, not only in a fresh process."""
    from petitions.sections import restore_section, rule_section
    from petitions.status import line_status

    root, fid = paper
    with Workspace(root) as ws:
        def section2():
            st = line_status(ws, fid).filter((pl.col("section") == 2) & (pl.col("state") == "signed"))
            return st.sort("seq")["status"].to_list(), st["reason"].to_list()

        before = section2()
        assert before[0] == ["valid", "valid", "valid", "needs_review"]
        assert line_status(ws, fid) is line_status(ws, fid)  # kept while nothing changed
        rule_section(ws, fid, 2, user="sup", code="circulator_defect", reason="declaration unsigned")
        after = section2()
        assert after[0] == ["invalid"] * 4 and set(after[1]) == {"circulator_defect"}
        # section 1 is untouched
        s1 = line_status(ws, fid).filter(pl.col("section") == 1)["status"].to_list()
        assert s1 == ["valid"] * 6
        restore_section(ws, fid, 2, user="sup", reason="declaration found signed on the back")
        assert section2() == before
