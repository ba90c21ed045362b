"""Setting a workspace up from the File menu, driven through real widgets
(pytest-qt, offscreen): new workspace, voter file (a bad one first: its
located problems are listed), exemplars, a new filing, scans (a broken file
and a duplicate reported per file), keying unkeyed lines, keyed entries and
the pipeline; every long step a background job."""
from __future__ import annotations

import csv
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

import gui  # noqa: E402,F401
from gui.main_window import MainWindow  # noqa: E402
from petitions.store import Workspace  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The demo's synthetic county and filing (voter file, exemplars, scans, keyed CSV)."""
    from fixtures.filing import build_filing

    out = tmp_path_factory.mktemp("inputs")
    files = build_filing(out, signatures=12, seed=1)
    return out, files.params


def run(qtbot, job, timeout=60_000):
    """Wait until the job's outcome has reached its dialog. (Not until its
    thread has finished: a quick job's thread can be done while its report
    still waits in the event loop.)"""
    assert job is not None
    qtbot.waitUntil(lambda: job.completed, timeout=timeout)
    return job


def test_set_up_a_workspace_from_the_file_menu(qtbot, inputs, tmp_path):
    src, spec = inputs
    win = MainWindow(None, restore_state=False)
    qtbot.addWidget(win)
    win.show()
    assert not win.scans_action.isEnabled() and "open a workspace" in win.scans_action.toolTip()

    # New workspace: you are its first supervisor.
    dlg = win.new_workspace()
    dlg.folder.setText(str(tmp_path / "county-ws"))
    dlg.user.setText("clerk")
    qtbot.mouseClick(dlg.ok_btn, Qt.MouseButton.LeftButton)
    assert not dlg.isVisible() and win.session is not None and win.session.role == "supervisor"
    root = win.session.root
    assert win.voters_action.isEnabled() and not win.scans_action.isEnabled()

    # A bad voter file: the form stays open and every located problem is listed.
    good = src / "county" / "voters.csv"
    with good.open(newline="") as fh:
        rows = list(csv.reader(fh))
    zi = rows[0].index("zip") if "zip" in rows[0] else None
    bad_rows = [r[:] for r in rows]
    if zi is not None:
        bad_rows[1][zi] = "ABC"
        bad_rows[3][zi] = "9"
    else:  # a county layout: break a date instead
        bad_rows[1][-1] = "not a date"
    bad = tmp_path / "bad-voters.csv"
    with bad.open("w", newline="") as fh:
        csv.writer(fh).writerows(bad_rows)
    dlg = win.import_voter_file()
    dlg.path.setText(str(bad))
    qtbot.mouseClick(dlg.ok_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.error.text().startswith("Not done"), timeout=30_000)
    notice = win.notices[-1]
    assert len(notice.problems) >= 2 and notice.list.count() == len(notice.problems)
    assert all("row" in p and "column" in p for p in notice.problems)
    with Workspace(root) as ws:
        assert ws._scalar("SELECT COUNT(*) FROM voter_files") == 0
    dlg.path.setText(str(good))
    qtbot.mouseClick(dlg.ok_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=30_000)

    run(qtbot, win.import_exemplars(str(src / "county" / "exemplars.csv")))
    with Workspace(root) as ws:
        assert ws._scalar("SELECT rows FROM voter_files WHERE active = 1") == len(rows) - 1
        assert ws._scalar("SELECT COUNT(*) FROM exemplars") > 0

    # New filing from a built-in rule set.
    dlg = win.new_filing()
    assert dlg.ruleset.findData(spec["ruleset"]) >= 0
    qtbot.keyClicks(dlg.name, "Measure X")
    dlg.ruleset.setCurrentIndex(dlg.ruleset.findData(spec["ruleset"]))
    qtbot.keyClicks(dlg.jurisdiction, spec["jurisdiction"])
    dlg.required.setValue(7)
    dlg.fd_set.setChecked(True)
    qtbot.mouseClick(dlg.ok_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.session.filing_id is not None, timeout=30_000)
    with Workspace(root) as ws:
        f = ws._rows("SELECT name, ruleset_id, jurisdiction, required, filing_date, created_by FROM filings")
    assert f[0]["name"] == "Measure X" and f[0]["ruleset_id"] == spec["ruleset"] and f[0]["required"] == 7
    assert f[0]["filing_date"] and f[0]["created_by"] == "clerk"

    # Scans: each file a section; a broken file is reported, the rest ingested.
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a PDF")
    scans = [src / s["path"] for s in spec["sections"]]
    job = run(qtbot, win.add_scans([str(junk)] + [str(p) for p in scans]))
    assert job.error is None
    notice = win.notices[-1]
    assert any(p.startswith("junk.pdf:") for p in notice.problems)
    assert "section 1" in notice.message
    with Workspace(root) as ws:
        assert ws._scalar("SELECT COUNT(*) FROM sections") == len(scans)
        n_signed = ws._scalar("SELECT COUNT(*) FROM lines WHERE state = 'signed'")
    run(qtbot, win.add_scan_folder(str(scans[0].parent)))
    assert "already ingested" in win.notices[-1].message

    # Keying: with no keyed data yet, every signed line waits; Enter saves and moves on.
    win.show_tab("keying")
    k = win.keying
    qtbot.waitUntil(lambda: len(k.lines) == n_signed and k.line is not None, timeout=30_000)
    first = k.line.line_db_id
    qtbot.keyClicks(k.fields["name"], "Maria Garcia")
    qtbot.keyClicks(k.fields["address"], "12 Main St")
    qtbot.keyClick(k.fields["address"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: k.line is not None and k.line.line_db_id != first, timeout=30_000)
    qtbot.waitUntil(lambda: win.writer.pending == 0, timeout=30_000)
    assert len(k.lines) == n_signed - 1
    with Workspace(root) as ws:
        keyed = ws._rows("SELECT line_id, name, address, source FROM keyed_entries")
    assert keyed == [{"line_id": first, "name": "Maria Garcia", "address": "12 Main St", "source": "workbench"}]

    # Keyed entries CSV, then the pipeline.
    job = run(qtbot, win.import_keyed(str(src / "keyed.csv")))
    assert job.error is None
    job = run(qtbot, win.run_pipeline(), timeout=120_000)
    assert job.error is None and not job.was_cancelled
    with Workspace(root) as ws:
        assert ws._scalar("SELECT COUNT(*) FROM current_keyed") == n_signed
        assert ws._scalar("SELECT COUNT(DISTINCT line_id) FROM determinations") == ws._scalar(
            "SELECT COUNT(*) FROM lines")
        assert ws.verify_chain().ok
    qtbot.waitUntil(lambda: "Measure X" in win.strip.text(), timeout=30_000)
    win.close()
