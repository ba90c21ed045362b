"""Batches in the workbench (issue 17, items 6 and 9), on a real workspace
with the real main window: two reviewers each check out a batch and never
see each other's lines; the batch bar counts lines done and the lease; a
ruling renews the lease; giving back returns the lines. The supervisor's
dashboard shows who holds what and each person's throughput, and hands out
and reclaims batches; a reviewer's dashboard has no such controls and the
library refuses them a reviewer."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

import petitions
from gui_helpers import open_review, open_window, rule_by_key, wait_case
from gui_workspace_fixture import REVIEWER, REVIEWER2, SUPERVISOR, build_tiny_workspace
from petitions.store import Workspace


@pytest.fixture()
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


def _ids(panel) -> set[int]:
    return {it.line_db_id for it in panel.model.items}


def _idle(qtbot, win):
    qtbot.waitUntil(lambda: win.writer.pending == 0 and win.reader.pending == 0, timeout=30_000)


def _checkout(qtbot, win, size):
    bar = win.batches.bar
    bar.batch_size = size
    qtbot.mouseClick(bar.next_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.status is not None and len(win.review.model.items) == size, timeout=30_000)
    _idle(qtbot, win)
    return bar.status


def test_two_reviewers_check_out_and_never_see_each_others_lines(qtbot, tiny):
    rita, rp, rsaid = open_review(qtbot, tiny.root, user=REVIEWER)
    ray, yp, _ = open_review(qtbot, tiny.root, user=REVIEWER2)
    everything = set(tiny.review_ids)
    assert _ids(rp) == _ids(yp) == everything          # nobody holds a batch yet
    assert rita.batches.bar.text.text().startswith("No batch held")
    assert not rita.batches.bar.back_btn.isEnabled()

    st = _checkout(qtbot, rita, 5)
    assert (st["lines"], st["done"], st["left"]) == (5, 0, 5)
    assert "0 of 5 done" in rita.batches.bar.text.text() and "lease 29 min left" in rita.batches.bar.text.text()
    mine = _ids(rp)
    assert mine < everything and len(mine) == 5

    ray.review.refresh()                                # ray's queue no longer lists rita's lines
    qtbot.waitUntil(lambda: len(yp.model.items) == len(everything) - 5, timeout=30_000)
    assert not _ids(yp) & mine
    _checkout(qtbot, ray, 5)
    his = _ids(yp)
    assert len(his) == 5 and not his & mine

    # rita works a line: the bar counts it and the lease is renewed
    before = rita.batches.bar.status["lease_until"]
    wait_case(qtbot, rp)
    first = rp.current
    assert first in mine
    rule_by_key(qtbot, rp, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: (rita.batches.bar.status or {}).get("done") == 1, timeout=30_000)
    assert "1 of 5 done" in rita.batches.bar.text.text()
    assert rita.batches.bar.status["lease_until"] > before
    rp.refresh()
    qtbot.waitUntil(lambda: _ids(rp) == mine - {first}, timeout=30_000)

    # neither one's queue ever showed the other's lines
    ray.review.refresh()
    _idle(qtbot, ray)
    assert _ids(yp) == his

    # rita gives hers back: her queue is every waiting line but ray's batch
    qtbot.mouseClick(rita.batches.bar.back_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: rita.batches.bar.status is None and rita.batches.bar.loaded, timeout=30_000)
    qtbot.waitUntil(lambda: _ids(rp) == everything - his - {first}, timeout=30_000)
    assert any("given back" in m for m in rsaid) or "given back" in rita.statusBar().currentMessage()
    with Workspace(tiny.root) as ws:
        kinds = [r["kind"] for r in ws._rows("SELECT kind FROM events WHERE kind LIKE 'batch_%' ORDER BY id")]
    assert kinds == ["batch_checked_out", "batch_checked_out", "batch_given_back"]


def test_the_supervisor_assigns_reclaims_and_sees_throughput_a_reviewer_cannot(qtbot, tiny):
    ray, yp, _ = open_review(qtbot, tiny.root, user=REVIEWER2)
    ray_batch = _checkout(qtbot, ray, 4)
    wait_case(qtbot, yp)
    rule_by_key(qtbot, yp, Qt.Key.Key_A)
    _idle(qtbot, ray)

    sam = open_window(qtbot, tiny.root, user=SUPERVISOR)
    team = sam.batches.team
    assert team.controls is not None and team.controls.isVisibleTo(sam.dashboard)
    assert not team.holdings                           # not read while the dashboard is hidden
    sam.show_tab("dashboard")                          # shown: it reads who holds what
    qtbot.waitUntil(lambda: bool(team.holdings and team.throughput and team.assign_to.count() > 0), timeout=30_000)
    h = team.holdings_table
    assert [h.item(0, j).text() for j in (0, 1, 3, 4)] == [str(ray_batch["batch_id"]), REVIEWER2, "4", "1"]
    t = team.throughput_table
    assert (t.item(0, 0).text(), t.item(0, 1).text(), t.item(0, 3).text()) == (REVIEWER2, "1", "accepted 1")
    assert float(t.item(0, 2).text()) > 0

    # hand rita 3 lines
    team.assign_to.setCurrentIndex(team.assign_to.findData(REVIEWER))
    team.size.setValue(3)
    qtbot.mouseClick(team.assign_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: REVIEWER in {x["holder"] for x in team.holdings}, timeout=30_000)
    given = next(x for x in team.holdings if x["holder"] == REVIEWER)
    assert (given["lines"], given["assigned_by"]) == (3, SUPERVISOR)

    # reclaim ray's
    row = next(i for i in range(h.rowCount()) if h.item(i, 1).text() == REVIEWER2)
    h.selectRow(row)
    qtbot.mouseClick(team.reclaim_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: REVIEWER2 not in {x["holder"] for x in team.holdings}, timeout=30_000)

    # rita's window shows the batch she was handed, and only its lines
    rita, rp, _ = open_review(qtbot, tiny.root, user=REVIEWER)
    bar = rita.batches.bar
    qtbot.waitUntil(lambda: bar.status is not None, timeout=30_000)
    assert f"handed to you by {SUPERVISOR}" in bar.text.text() and "0 of 3 done" in bar.text.text()
    qtbot.waitUntil(lambda: len(rp.model.items) == 3, timeout=30_000)

    # a reviewer sees who holds what, but gets no controls …
    rteam = rita.batches.team
    assert rteam.controls is None and rteam.findChild(QWidget, "assignControls") is None
    assert rteam.findChild(QWidget, "assignBatch") is None and rteam.findChild(QWidget, "reclaimBatch") is None
    # … and the library refuses them (the same calls the controls make)
    with Workspace(tiny.root) as ws:
        with pytest.raises(petitions.UserError, match="only a supervisor may hand out batches"):
            petitions.assign_batch(ws, tiny.filing_id, to=REVIEWER, by=REVIEWER, size=2)
        with pytest.raises(petitions.UserError, match="only a supervisor may reclaim batches"):
            petitions.reclaim_batch(ws, given["batch_id"], by=REVIEWER2)
        with pytest.raises(petitions.UserError, match="a supervisor can reclaim it"):
            petitions.give_back_batch(ws, given["batch_id"], user=REVIEWER2)
        assert given["batch_id"] in {x["batch_id"] for x in petitions.batch_holdings(ws, tiny.filing_id)}
