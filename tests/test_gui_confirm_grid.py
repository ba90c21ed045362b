"""The confirm-invalid grid (issue 18, item 9), driven by keys in the real
window (pytest-qt, offscreen) on a real workspace: the tiny fixture filing
with lines 9-10 of page 1 read as struck and lines 9-10 of page 2 blank,
triaged — four lines proposed invalid, none invalid. C confirms one, V sends
one to review (escalated, not invalid), P confirms page 2 at once; the
store then holds exactly those rulings."""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import polars as pl  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from gui.confirm_grid import ConfirmGrid  # noqa: E402
from gui_helpers import open_window  # noqa: E402
from gui_workspace_fixture import REVIEWER, build_tiny_workspace  # noqa: E402
from petitions.stages.decide import run_triage  # noqa: E402
from petitions.status import line_status  # noqa: E402
from petitions.store import Workspace  # noqa: E402


def test_confirm_by_keys_a_line_send_one_to_review_and_a_whole_page(qtbot, tmp_path):
    tiny = build_tiny_workspace(tmp_path / "ws")
    with Workspace(tiny.root) as ws:
        with ws.transaction():
            ws._exec("UPDATE lines SET state = 'struck' WHERE id IN (?, ?)", (tiny.line_ids[8], tiny.line_ids[9]))
        run_triage(ws, tiny.filing_id, user="sam")
        assert (line_status(ws, tiny.filing_id)["status"] == "invalid").sum() == 0  # nothing invalid yet
    win = open_window(qtbot, tiny.root, user=REVIEWER)
    grid = win._open_confirm_grid()
    assert isinstance(grid, ConfirmGrid)
    qtbot.waitUntil(lambda: grid.table.rowCount() == 4, timeout=20_000)
    labels = [grid.table.item(i, 0).text() for i in range(4)]
    assert labels == ["S001-P01-L09", "S001-P01-L10", "S001-P02-L09", "S001-P02-L10"]
    assert [grid.table.item(i, 1).text() for i in range(4)] == ["struck", "struck", "blank", "blank"]
    assert grid.table.item(0, 2).text() == "Struck line" and grid.table.item(2, 2).text() == "Blank line"
    strips = [grid.table.cellWidget(i, 3) for i in range(4)]
    assert all(s.pixmap() is not None and not s.pixmap().isNull() for s in strips)  # the page-image strip per line
    assert strips[0].pixmap().width() > 3 * strips[0].pixmap().height()             # a row across the page
    assert grid.current_label() == "S001-P01-L09"

    def key(k):
        qtbot.keyClick(grid.table, k)
        qtbot.waitUntil(lambda: not grid.busy and win.writer.pending == 0 and win.reader.pending == 0,
                        timeout=20_000)

    key(Qt.Key.Key_C)
    qtbot.waitUntil(lambda: grid.table.rowCount() == 3, timeout=20_000)
    assert grid.current_label() == "S001-P01-L10"
    key(Qt.Key.Key_V)
    qtbot.waitUntil(lambda: grid.table.rowCount() == 2, timeout=20_000)
    assert grid.current_label() == "S001-P02-L09"
    key(Qt.Key.Key_P)
    qtbot.waitUntil(lambda: grid.table.rowCount() == 0, timeout=20_000)
    assert "0 line(s) proposed invalid" in grid.header.text()
    with Workspace(tiny.root) as ws:
        rows = ws._rows("SELECT l.label, r.user AS user, r.action, r.reason_code, r.shown_json FROM rulings r "
                        "JOIN lines l ON l.id = r.line_id ORDER BY r.id")
        st = line_status(ws, tiny.filing_id).filter(pl.col("state") != "signed")
    assert [(r["label"], r["user"], r["action"], r["reason_code"], json.loads(r["shown_json"])["via"]) for r in rows] == [
        ("S001-P01-L09", REVIEWER, "reject", "struck_line", "grid"),
        ("S001-P01-L10", REVIEWER, "escalate", None, "grid"),
        ("S001-P02-L09", REVIEWER, "reject", "blank_line", "grid (whole page)"),
        ("S001-P02-L10", REVIEWER, "reject", "blank_line", "grid (whole page)")]
    assert st.select("line_id", "status", "reason", "level").rows() == [
        ("S001-P01-L09", "invalid", "struck_line", "ruled"),
        ("S001-P01-L10", "needs_review", None, "escalated"),
        ("S001-P02-L09", "invalid", "blank_line", "ruled"),
        ("S001-P02-L10", "invalid", "blank_line", "ruled")]
    win.close()
