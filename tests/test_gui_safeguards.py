"""Mistakes hard to make, easy to undo (issue 20, item 4), through the real
window on a real workspace: a reject key waits for a second key (or a
visible countdown), nothing is dropped without a message, E asks for a
note, the QA audit keeps the keys and preselects no reason."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QInputDialog

from gui_helpers import open_review, open_window, rule_by_key, wait_case
from gui_workspace_fixture import REVIEWER, SUPERVISOR, build_tiny_workspace
from petitions.store import Workspace


@pytest.fixture
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


def _rulings(root):
    with Workspace(root) as ws:
        return ws._rows("SELECT line_id, user, kind, action, reason_code, note FROM rulings ORDER BY id")


def _written(qtbot, panel):
    qtbot.waitUntil(lambda: panel.writer.pending == 0, timeout=10_000)


def test_a_reject_key_waits_for_the_same_key_again(qtbot, tiny):
    win, panel, said = open_review(qtbot, tiny.root)
    panel.setFocus()
    lid = panel.current
    qtbot.keyClick(panel, Qt.Key.Key_6)
    assert panel.bar.isVisible() and "Press 6 again" in panel.bar_text.text()
    assert panel.current == lid and panel.writer.pending == 0
    qtbot.keyClick(panel, Qt.Key.Key_Escape)                  # changed my mind
    assert panel.pending is None and "cancelled" in panel.bar_text.text()
    qtbot.keyClick(panel, Qt.Key.Key_6)
    qtbot.keyClick(panel, Qt.Key.Key_N)                       # another key: not confirmed, said so
    assert panel.pending is None and any("not confirmed" in m for m in said[-2:])
    assert panel.current != lid
    _written(qtbot, panel)
    assert _rulings(tiny.root) == []
    wait_case(qtbot, panel)
    second = panel.current
    qtbot.keyClick(panel, Qt.Key.Key_6)
    qtbot.keyClick(panel, Qt.Key.Key_6)                       # confirmed
    _written(qtbot, panel)
    r = _rulings(tiny.root)
    assert [(x["line_id"], x["action"], x["reason_code"]) for x in r] == [(second, "reject", "signature_mismatch")]
    win.close()


def test_grace_period_counts_down_and_can_be_cancelled(qtbot, tiny, tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    win, panel, said = open_review(qtbot, tiny.root)
    win.set_reject_mode("grace")                              # the office's setting, kept
    assert panel.reject_mode == "grace" and win.reject_mode() == "grace"
    panel.setFocus()
    first = panel.current
    qtbot.keyClick(panel, Qt.Key.Key_6)
    assert "in 3 s" in panel.bar_text.text() and "Esc or U cancels" in panel.bar_text.text()
    qtbot.keyClick(panel, Qt.Key.Key_A)                       # not taken, and said so
    assert "not taken" in said[-1] and panel.current == first
    qtbot.keyClick(panel, Qt.Key.Key_U)
    assert panel.pending is None and "cancelled" in panel.bar_text.text()
    qtbot.keyClick(panel, Qt.Key.Key_6)
    qtbot.waitUntil(lambda: "in 2 s" in panel.bar_text.text(), timeout=5_000)   # the countdown is visible
    qtbot.waitUntil(lambda: panel.current != first, timeout=10_000)              # … and then it rejects
    _written(qtbot, panel)
    assert [(x["line_id"], x["action"]) for x in _rulings(tiny.root)] == [(first, "reject")]
    win.set_reject_mode("confirm")
    win.close()


def test_escalation_asks_for_a_note_and_stores_no_reason_it_was_not_given(qtbot, tiny):
    win, panel, said = open_review(qtbot, tiny.root)
    panel.setFocus()
    lid = panel.current
    qtbot.keyClick(panel, Qt.Key.Key_E)
    assert panel.note.isVisible() and panel.note.hasFocus() or panel.note.isVisible()
    qtbot.keyClick(panel.note, Qt.Key.Key_Return)             # empty: refused with a message
    assert "note is needed" in panel.bar_text.text() and panel.current == lid
    qtbot.keyClick(panel.note, Qt.Key.Key_Escape)
    assert not panel.note.isVisible() and "Nothing recorded" in panel.bar_text.text()
    rule_by_key(qtbot, panel, Qt.Key.Key_E, note="signature looks traced")
    _written(qtbot, panel)
    r = _rulings(tiny.root)
    assert len(r) == 1 and r[0]["line_id"] == lid and r[0]["action"] == "escalate"
    assert r[0]["reason_code"] is None and r[0]["note"] == "signature looks traced"
    win.close()


def test_other_needs_a_note_and_no_reason_is_preselected(qtbot, tiny, monkeypatch):
    win, panel, said = open_review(qtbot, tiny.root)
    panel.setFocus()
    offered = []

    def pick(choice):
        def fake(_parent, _title, _label, items, current, _editable):
            offered.append((items, current))
            return choice, True
        monkeypatch.setattr(QInputDialog, "getItem", fake)

    pick("— choose a reason —")                               # Enter on the untouched list
    qtbot.keyClick(panel, Qt.Key.Key_R)
    assert offered[-1][0][offered[-1][1]] == "— choose a reason —"
    assert "No reason was chosen" in said[-1]
    pick(next(x for x in offered[-1][0] if x.endswith("(other)")))
    qtbot.keyClick(panel, Qt.Key.Key_R)
    assert panel.note.isVisible()
    qtbot.keyClick(panel.note, Qt.Key.Key_Return)
    assert "note is needed" in panel.bar_text.text()
    qtbot.keyClicks(panel.note, "signed twice on one line")
    qtbot.keyClick(panel.note, Qt.Key.Key_Return)
    _written(qtbot, panel)
    r = _rulings(tiny.root)
    assert [(x["action"], x["reason_code"], x["note"]) for x in r] == [("reject", "other", "signed twice on one line")]
    win.close()


def test_qa_audit_keeps_the_keys_after_a_click_and_preselects_no_reason(qtbot, tiny):
    win, panel, _said = open_review(qtbot, tiny.root)
    for key in (Qt.Key.Key_A, Qt.Key.Key_A, Qt.Key.Key_A):
        wait_case(qtbot, panel)
        rule_by_key(qtbot, panel, key)
    _written(qtbot, panel)
    win.close()
    sup = open_window(qtbot, tiny.root, user=SUPERVISOR)
    sup.show_tab("supervisor")
    sup.supervisor.show_page("audit")
    page = sup.supervisor.audit
    qtbot.keyClicks(page.seed, "qa-seed")
    qtbot.mouseClick(page.draw_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.queue.count() >= 2 and page.view.case is not None, timeout=20_000)
    assert page.reason.currentData() is None                  # nothing preselected
    # a click on the list, then the keys: the list's type-ahead must not take them
    item = page.queue.item(1)
    qtbot.mouseClick(page.queue.viewport(), Qt.MouseButton.LeftButton, pos=page.queue.visualItemRect(item).center())
    qtbot.waitUntil(lambda: page.view.case is not None and page.view.case.label == item.text(), timeout=10_000)
    assert not page.queue.hasFocus()
    n = page.queue.count()
    qtbot.keyClick(page, Qt.Key.Key_R)                        # no reason chosen: refused with a message
    assert "Choose the reason" in page.notice.text() and page.queue.count() == n
    qtbot.keyClick(page, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: sup.writer.pending == 0 and page.queue.count() == n - 1, timeout=10_000)
    audits = [r for r in _rulings(tiny.root) if r["kind"] == "audit"]
    assert [(a["user"], a["action"]) for a in audits] == [(SUPERVISOR, "accept")]
    assert REVIEWER != SUPERVISOR
    sup.close()
