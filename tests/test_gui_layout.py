"""Fits the screens offices have (issue 20, item 5): at 1366×768 and
1024×700 no reject label is cut short, no tab title is elided, the queue's
petition and on-file thumbnails are in view, the exemplars are on screen,
and the case's ruling history is near its top."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from gui.queue_model import EX_COL, SIG_COL
from gui_helpers import open_review
from gui_workspace_fixture import build_tiny_workspace


@pytest.fixture
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


@pytest.mark.parametrize("size", [(1366, 768), (1024, 700)])
def test_nothing_is_cut_at_office_screen_sizes(qtbot, tiny, size, tmp_path):
    win, panel, _said = open_review(qtbot, tiny.root)
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    for _ in range(5):
        QApplication.processEvents()
    # every reject button shows its whole label
    for b in panel.reason_buttons:
        text_w = b.fontMetrics().horizontalAdvance(b.text())
        assert b.isVisible() and text_w <= b.width() - 6, (size, b.text(), text_w, b.width())
        assert "…" not in b.text() or b.text().endswith("all reasons…")
    # tab titles are whole (no "ertify and expo")
    for tabs in (win.tabs, win.supervisor.findChild(type(win.tabs))):
        if tabs is None:
            continue
        bar = tabs.tabBar()
        for i in range(bar.count()):
            assert bar.fontMetrics().horizontalAdvance(bar.tabText(i)) <= bar.tabRect(i).width(), bar.tabText(i)
    # the queue's two thumbnail columns are in view without scrolling sideways
    table = panel.table
    for col in (SIG_COL, EX_COL):
        right = table.columnViewportPosition(col) + table.columnWidth(col)
        assert table.columnViewportPosition(col) >= 0 and right <= table.viewport().width(), (size, col)
    # the exemplars are on screen with a usable width
    shown = [lab for lab in panel.view.ink.labels if lab is not panel.view.signature]
    assert shown and all(lab.isVisible() and lab.width() >= 100 for lab in shown)
    # history comes before the signatures in the case
    assert panel.view.history.y() < panel.view.signature.mapTo(panel.view, panel.view.signature.rect().topLeft()).y()
    win.grab().save(str(tmp_path / f"layout_{size[0]}.png"))
    win.close()
