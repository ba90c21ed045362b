"""The workbench's same-hand view (issue 21): a cluster side by side, every
signature beside its voter's signatures on file, ruled by a person line by
line or section by section through the review screen's checks. The real
window (pytest-qt, offscreen) on a real workspace scanned for real."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from gui_helpers import open_window  # noqa: E402
from gui_workspace_fixture import REVIEWER, SUPERVISOR, build_tiny_workspace  # noqa: E402
from petitions.stages.fraud import ScanParams, scan_same_hand  # noqa: E402
from petitions.status import line_status  # noqa: E402
from petitions.store import Workspace  # noqa: E402


@pytest.fixture()
def scanned(tmp_path):
    """The tiny workspace with one signature copied onto six other voters'
    lines, scanned: one cluster of (at least) those seven lines."""
    tiny = build_tiny_workspace(tmp_path / "ws")
    with Workspace(tiny.root) as ws:
        rows = ws._rows("SELECT id, signature_hash FROM lines WHERE state = 'signed' ORDER BY seq")
        with ws.transaction():
            for r in rows[4:10]:
                ws._db.execute("UPDATE lines SET signature_hash = ? WHERE id = ?", (rows[0]["signature_hash"], r["id"]))
        scan_same_hand(ws, user=SUPERVISOR, filing_id=tiny.filing_id, params=ScanParams(null_rounds=0))
    return tiny, [rows[0]["id"]] + [r["id"] for r in rows[4:10]]


def _status(root, fid, line_id):
    with Workspace(root) as ws:
        st = line_status(ws, fid)
    return st.filter(st["line_db_id"] == line_id).row(0, named=True)["status"]


def test_cluster_view_shows_signatures_beside_exemplars_and_rules_through_review(qtbot, scanned):
    tiny, copies = scanned
    win = open_window(qtbot, tiny.root, user=REVIEWER)
    view = win.show_clusters()
    qtbot.addWidget(view)
    assert view.clusters.count() >= 1 and view.cluster is not None
    shown = set(view.cases)
    assert set(copies) <= shown
    # every line: its signature and its voter's two signatures on file
    for lid in copies:
        row = next(i for i in range(view.grid.rowCount())
                   if view.grid.itemAtPosition(i, 0) and view.cases[lid].label in
                   view.grid.itemAtPosition(i, 0).widget().text())
        assert not view.grid.itemAtPosition(row, 1).widget().pixmap().isNull()
        exemplars = view.grid.itemAtPosition(row, 2).widget().findChildren(type(view.header))
        assert len(exemplars) == 2 and all(not x.pixmap().isNull() for x in exemplars)
    assert "software has rejected nothing" in view.header.text()
    # line by line: a person accepts one line (recorded as theirs)
    first = copies[0]
    assert view.rule_line(first, "accept")
    assert _status(tiny.root, tiny.filing_id, first) == "valid"
    with Workspace(tiny.root) as ws:
        r = ws._one("SELECT user, action FROM current_ruling WHERE line_id = ?", (first,))
    assert (r["user"], r["action"]) == (REVIEWER, "accept")
    # ruling it again from a stale view is refused, as on the review screen
    assert not view.rule_line(first, "accept") and "not in the review queue" in view.message.text()
    # section by section: every remaining line of the section, one ruling each
    ok, refused = view.rule_section(view.cases[copies[1]].section, "reject")
    assert ok == len(shown) - 1 and refused == 1   # the line accepted above is no longer waiting
    with Workspace(tiny.root) as ws:
        rej = ws._rows("SELECT line_id, user, reason_code FROM current_ruling WHERE action = 'reject'")
    assert {r["line_id"] for r in rej} == shown - {first}
    assert {(r["user"], r["reason_code"]) for r in rej} == {(REVIEWER, "signature_mismatch")}
