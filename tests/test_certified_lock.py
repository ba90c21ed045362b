"""A certified filing is locked at every door (issue 17, item 5 with issue
18's certificates): ingest, keying, withdrawals and `petitions run` (match,
signatures, triage) are refused through the CLI with one line that names
the filing and the way out, nothing is stored, and the lock lifts when a
supervisor reopens the filing. On both backends.

The certificate here is the ``certified`` event that ``petitions certify``
writes (the lock reads only the event chain); the whole certify path on a
real filing is in tests/test_frames_certificates.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from petitions.cli import main as cli_main
from petitions.stages.filings import create_filing
from petitions.store import Workspace


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def certified(workspace_location, tmp_path):
    ws = Workspace(workspace_location, create=True)
    sup = ws.login or "sup"
    if ws.login is None:
        ws.ensure_user(sup, "supervisor")
    fid = create_filing(ws, name="Measure Q", ruleset="ca-initiative", jurisdiction="City of Los Angeles", user=sup,
                        required=10)
    with ws.transaction():
        sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, 1) RETURNING id", (fid,))
        pid = ws._insert("INSERT INTO pages (section_id, number) VALUES (?, 1) RETURNING id", (sid,))
        ws._insert("INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                   "VALUES (?, ?, ?, 'S001-P01-L01', 1001001, 1, 'signed') RETURNING id", (fid, sid, pid))
        ws.log_event("certified", user=sup, filing_id=fid,
                     payload={"result": "qualifies", "frame_hash": "ab" * 32, "pdf_sha256": "cd" * 32})
    loc = str(workspace_location)
    user = () if ws.login else ("--user", sup)
    yield ws, fid, loc, user, tmp_path
    ws.close()


def _scan(tmp_path):
    """A real one-page PDF scan (a blank form page)."""
    from fixtures.forms import write_document

    page = np.full((2200, 1700), 255, np.uint8)
    return write_document([page], tmp_path / "section2.pdf", fmt="pdf", dpi=200)[0]


def _refused(code, err, what):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "filing Measure Q was certified qualifies" in lines[0] and what in lines[0]
    assert "until a supervisor reopens it (petitions reopen --reason TEXT)" in lines[0]
    assert "Traceback" not in err


def test_every_door_of_a_certified_filing_is_locked_until_reopened(certified, capsys):
    ws, fid, loc, user, tmp = certified
    w = ("-w", loc)
    scan = _scan(tmp)
    keyed = tmp / "keyed.csv"
    keyed.write_text("line_id,name,address,city,zip\nS001-P01-L01,Ann Lee,12 Main St,Los Angeles,90012\n")
    withdrawals = tmp / "withdrawals.csv"
    withdrawals.write_text("name,address,date\nAnn Lee,12 Main St,2025-01-02\n")
    events_before = ws._scalar("SELECT COUNT(*) FROM events")

    _refused(*_cli(capsys, "ingest", *w, *user, scan, scan)[::2], "ingesting scans")
    _refused(*_cli(capsys, "key", *w, *user, keyed)[::2], "importing keyed entries (keyed.csv)")
    _refused(*_cli(capsys, "run", *w, *user)[::2], "matching (petitions run)")
    _refused(*_cli(capsys, "withdrawals", *w, *user, withdrawals)[::2], "importing withdrawals")
    # nothing was stored, nothing logged
    assert ws._scalar("SELECT COUNT(*) FROM documents") == 0
    assert ws._scalar("SELECT COUNT(*) FROM keyed_entries") == 0
    assert ws._scalar("SELECT COUNT(*) FROM runs") == 0
    assert ws._scalar("SELECT COUNT(*) FROM events") == events_before

    # the library's other doors refuse too (the workbench calls these)
    from petitions.errors import UserError
    from petitions.stages.decide import run_triage
    from petitions.stages.fraud import scan_same_hand
    from petitions.stages.keying import key_line
    from petitions.stages.verify import run_signatures

    line = ws._scalar("SELECT id FROM lines WHERE filing_id = ?", (fid,))
    for call, what in ((lambda: run_signatures(ws, fid, user=ws.login or "sup"), "comparing signatures"),
                       (lambda: run_triage(ws, fid, user=ws.login or "sup"), "triage"),
                       (lambda: scan_same_hand(ws, user=ws.login or "sup", filing_id=fid), "a same-hand scan"),
                       (lambda: key_line(ws, line, name="A", address="B", user=ws.login or "sup"),
                        "keying line S001-P01-L01")):
        with pytest.raises(UserError, match=what) as err:
            call()
        assert "filing Measure Q was certified" in str(err.value)
    assert ws._scalar("SELECT COUNT(*) FROM keyed_entries") == 0

    # a supervisor reopens it: keying is taken again
    code, out, err = _cli(capsys, "reopen", *w, *user, "--reason", "late section found in the mail room")
    assert code == 0, err
    code, out, err = _cli(capsys, "key", *w, *user, keyed)
    assert code == 0, err
    assert "1 new or changed" in out
    assert ws._scalar("SELECT COUNT(*) FROM keyed_entries") == 1
    assert json.loads(ws._rows("SELECT payload_json FROM events WHERE kind = 'certification_reopened'")[0]
                      ["payload_json"])["reason"] == "late section found in the mail room"
    assert ws.verify_chain().ok


def test_a_run_on_another_filing_of_the_office_leaves_a_certified_one_as_it_stands(tmp_path):
    """The limits across filings re-triage the office's other filings after a
    run; a certified one is not re-triaged (its count is locked) and the run
    says so."""
    from test_intake_period import _filing

    from petitions.stages.run import retriage_office

    with Workspace(tmp_path / "ws", create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        ann = _filing(ws, "Ann (nomination)", office="Council 5", candidate="Ann", voters=["V1", "V2"])
        bob = _filing(ws, "Bob (nomination)", office="Council 5", candidate="Bob", voters=["V1", "V4"])
        _filing(ws, "Cy (nomination)", office="Council 5", candidate="Cy", voters=["V2"])
        with ws.transaction():
            ws.log_event("certified", user="sup", filing_id=ann, payload={"result": "qualifies"})
        before = ws._scalar("SELECT COUNT(*) FROM determinations WHERE line_id IN "
                            "(SELECT id FROM lines WHERE filing_id = ?)", (ann,))
        reports = {r.stage: r for r in retriage_office(ws, bob, user="sup")}
        assert reports["triage (Ann (nomination))"].status.startswith("not rerun: certified")
        assert reports["triage (Cy (nomination))"].processed > 0
        assert ws._scalar("SELECT COUNT(*) FROM determinations WHERE line_id IN "
                          "(SELECT id FROM lines WHERE filing_id = ?)", (ann,)) == before
