"""The withdrawals screen (issue 18, item 6) in the real window (pytest-qt,
offscreen) on the tiny fixture workspace: a CSV of four requests is shown
before anything is recorded — V002's request withdraws line S001-P01-L02,
an unknown person and a request received after the filing date withdraw
none (each says why), a bad date is a row not read — then a supervisor
records it and the store holds the requests, their events and the line
proposed invalid for ``withdrawn``; a reviewer cannot record."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import polars as pl  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from gui_helpers import open_window  # noqa: E402
from gui_workspace_fixture import REVIEWER, SUPERVISOR, build_tiny_workspace  # noqa: E402
from petitions.review.confirm import proposed_invalid  # noqa: E402
from petitions.store import Workspace  # noqa: E402

CSV = ("name,address,city,zip,date,voter_id\n"
       "Jose Hernandez,107 N Broadway,Los Angeles,90012,2025-02-10,V002\n"
       "Nobody Here,1 Nowhere St,Los Angeles,90012,2025-02-10,\n"
       "Anna Kim,114 Figueroa St,Los Angeles,90012,2025-04-02,V003\n"
       "Grace Santos,156 Olive St,Los Angeles,90012,10/02/2025,\n")


def test_withdrawals_are_shown_then_recorded(qtbot, tmp_path):
    tiny = build_tiny_workspace(tmp_path / "ws")
    csv = tmp_path / "requests.csv"
    csv.write_text(CSV)
    rev = open_window(qtbot, tiny.root, user=REVIEWER)
    screen = rev._open_withdrawals()
    with qtbot.waitSignal(screen.previewed, timeout=30_000):
        screen.load(csv)
    assert not screen.record_button.isEnabled()   # a reviewer sees, but cannot record
    rev.close()

    win = open_window(qtbot, tiny.root, user=SUPERVISOR)
    screen = win._open_withdrawals()
    qtbot.waitUntil(lambda: win.reader.pending == 0, timeout=20_000)
    assert screen.recorded_table.rowCount() == 0
    with qtbot.waitSignal(screen.previewed, timeout=30_000):
        screen.load(csv)
    t = screen.preview_table
    rows = [[t.item(i, j).text() for j in range(t.columnCount())] for i in range(t.rowCount())]
    assert [(r[0], r[4], r[6]) for r in rows] == [("2", "V002", "S001-P01-L02"), ("3", "", ""), ("4", "V003", "")]
    assert rows[1][7] == "no voter in the file fits the name and address"
    assert rows[2][7].startswith("received 2025-04-02 after the petition was filed (2025-03-01)")
    assert f"{csv} row 5, column date: expected YYYY-MM-DD" in screen.problems.text()
    assert "1 line(s) would be withdrawn, 2 withdraw no line" in screen.problems.text()
    with Workspace(tiny.root) as ws:   # nothing recorded by looking
        assert ws._scalar("SELECT COUNT(*) FROM withdrawals") == 0
    assert screen.record_button.isEnabled()
    with qtbot.waitSignal(screen.recorded_shown, timeout=60_000):
        screen.record_button.click()
    r = screen.recorded_table
    got = sorted((r.item(i, 1).text(), r.item(i, 2).text(), r.item(i, 3).text()) for i in range(r.rowCount()))
    assert got == [("Anna Kim", "(not matched)", ""), ("Jose Hernandez", "V002", "S001-P01-L02"),
                   ("Nobody Here", "(not matched)", "")]
    with Workspace(tiny.root) as ws:
        kinds = [e["kind"] for e in ws._rows("SELECT kind FROM events WHERE kind LIKE 'withdrawal%' ORDER BY id")]
        assert kinds == ["withdrawal", "withdrawal_unmatched", "withdrawal_unmatched"]
        waiting = proposed_invalid(ws, tiny.filing_id).filter(pl.col("proposed") == "withdrawn")
        assert waiting["line_id"].to_list() == ["S001-P01-L02"]
    win.close()
