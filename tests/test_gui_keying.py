"""The keying panel when reads and writes answer late (real widgets, offscreen).

The main window runs the panel's requests on a reader and a writer thread;
their answers arrive later, in order. Here the test plays the main window
and delivers the answers itself, in the orders that thread timing produces.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from gui.keying import KeyingPanel  # noqa: E402
from petitions.review.keying import KeyingLine


def _line(i: int) -> KeyingLine:
    return KeyingLine(i, f"S001-P01-L{i:02d}", 1, 1, i, None, None, None, None)


@pytest.fixture
def panel(qtbot):
    p = KeyingPanel()
    qtbot.addWidget(p)
    p.asked, p.saved, p.reloads = [], [], []
    p.line_requested.connect(p.asked.append)
    p.save_requested.connect(lambda lid, v: p.saved.append((lid, v)))
    p.queue_requested.connect(lambda: p.reloads.append(True))
    return p


def test_a_late_queue_read_never_reopens_the_line_just_keyed(qtbot, panel):
    a, b, c = _line(1), _line(2), _line(3)
    panel.set_queue([a, b, c])
    panel.set_queue([a, b, c])  # a second reload before the first line arrived
    assert panel.asked == ["1"]  # asked for once, not twice
    panel.open_line(a, {})
    qtbot.keyClicks(panel.fields["name"], "Maria Garcia")
    qtbot.keyClick(panel.fields["name"], Qt.Key.Key_Return)
    assert panel.saved == [(1, {"name": "Maria Garcia", "address": "", "city": "", "zip": "", "date_signed": None})]
    assert panel.asked == ["1", "2"] and panel.line is None
    # A queue read that started before the save landed still lists line 1.
    panel.set_queue([a, b, c])
    assert [ln.line_db_id for ln in panel.lines] == [2, 3] and panel.asked == ["1", "2"]
    panel.open_line(b, {})
    assert panel.line is b and panel.fields["name"].text() == ""
    # Once a read no longer lists line 1 its write has landed; the queue is as read.
    panel.set_queue([b, c])
    assert [ln.line_db_id for ln in panel.lines] == [2, 3]


def test_only_the_newest_request_is_shown(qtbot, panel):
    a, b, c = _line(1), _line(2), _line(3)
    panel.set_queue([a, b, c])
    panel.open_line(a, {})
    qtbot.keyClicks(panel.goto, "S001-P01-L03")
    qtbot.keyClick(panel.goto, Qt.Key.Key_Return)   # open line 3 ...
    panel.skip()                                    # ... then skip on before it arrives
    assert panel.asked == ["1", "S001-P01-L03", "2"]
    panel.open_line(c, {})  # the answer to the goto: stale by now
    assert panel.line is None
    panel.open_line(b, {})
    assert panel.line is b


def test_a_failed_save_puts_the_line_back(qtbot, panel):
    a, b = _line(1), _line(2)
    panel.set_queue([a, b])
    panel.open_line(a, {})
    qtbot.keyClicks(panel.fields["address"], "12 Main St")
    qtbot.keyClick(panel.fields["address"], Qt.Key.Key_Return)
    panel.open_line(b, {})
    panel.save_failed(1, "database is locked")
    assert "Not saved" in panel.status.text() and panel.reloads == [True]
    panel.set_queue([a, b])  # the reload the failure asked for
    assert [ln.line_db_id for ln in panel.lines] == [1, 2] and panel.line is b
