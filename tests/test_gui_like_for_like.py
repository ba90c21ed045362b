"""Signatures compared like for like (issue 20, item 1): the petition
signature and every exemplar trimmed to their ink and drawn at one ink
height, the original one key away, zoom on a key or the wheel."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QLabel

from gui_helpers import drawn_ink_height, open_review, wait_case
from gui_workspace_fixture import build_tiny_workspace


@pytest.fixture
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


def _ink_heights(panel):
    view = panel.view
    sig = drawn_ink_height(view.signature)
    shown = [lab for lab in view.ink.labels if lab is not view.signature]   # the case's exemplars
    assert all(lab.objectName() == "exemplarSignature" for lab in shown)
    exemplars = [drawn_ink_height(lab) for lab in shown]
    return sig, exemplars


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_petition_signature_and_exemplars_are_drawn_at_one_ink_height(qtbot, tiny, size):
    win, panel, _said = open_review(qtbot, tiny.root)
    win.resize(*size)
    qtbot.waitUntil(lambda: win.width() == size[0])
    for _ in range(3):               # three cases, each one like for like
        wait_case(qtbot, panel)
        qtbot.waitUntil(lambda: _ink_heights(panel)[0] > 0)
        sig, exemplars = _ink_heights(panel)
        assert len(exemplars) == 2 and min(exemplars) > 0
        for ex in exemplars:
            assert abs(sig - ex) <= 0.2 * max(sig, ex), (size, sig, exemplars)
        # big enough to compare: not the ~10-px sliver the whole cell gave
        assert sig >= 40, sig
        qtbot.keyClick(panel, Qt.Key.Key_N)


def test_the_original_crop_is_one_key_away_and_back(qtbot, tiny):
    win, panel, _said = open_review(qtbot, tiny.root)
    win.resize(1366, 768)
    qtbot.waitUntil(lambda: _ink_heights(panel)[0] > 0)
    like_sig, like_ex = _ink_heights(panel)
    qtbot.keyClick(panel, Qt.Key.Key_O)
    assert "Original crops" in panel.view.sig_mode.text()
    orig_sig, orig_ex = _ink_heights(panel)
    # the stored cell holds small, faint ink: drawn as scanned it is far smaller
    assert orig_sig < 0.6 * min(orig_ex)
    qtbot.keyClick(panel, Qt.Key.Key_O)
    assert _ink_heights(panel) == (like_sig, like_ex)


def test_zoom_opens_the_comparison_and_the_wheel_and_keys_zoom(qtbot, tiny):
    win, panel, _said = open_review(qtbot, tiny.root)
    qtbot.keyClick(panel, Qt.Key.Key_Z)
    dlg = panel.view.compare
    assert dlg is not None and dlg.isVisible()
    qtbot.addWidget(dlg)
    rows = [lab for lab, _h in dlg.rows]
    assert len(rows) == 3                           # the petition line and two on file
    before = [drawn_ink_height(lab) for lab in rows]
    assert max(before) - min(before) <= 0.2 * max(before)
    qtbot.keyClick(dlg, Qt.Key.Key_Plus)
    bigger = [drawn_ink_height(lab) for lab in rows]
    assert all(b > a for a, b in zip(before, bigger))
    ev = QWheelEvent(QPointF(10, 10), QPointF(10, 10), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    dlg.wheelEvent(ev)
    assert dlg.zoom == pytest.approx(1.0)
    assert [drawn_ink_height(lab) for lab in rows] == before
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    assert not dlg.isVisible()


def test_queue_thumbnails_are_like_for_like(qtbot, tiny):
    from gui.queue_model import EX_COL, SIG_COL

    win, panel, _said = open_review(qtbot, tiny.root)
    model = panel.model
    qtbot.waitUntil(lambda: model.data(model.index(0, SIG_COL), Qt.ItemDataRole.DecorationRole) is not None
                    and model.data(model.index(0, EX_COL), Qt.ItemDataRole.DecorationRole) is not None)
    from sigverify.display import ink_box
    from gui_helpers import grab_gray  # noqa: F401
    import numpy as np
    from PySide6.QtGui import QImage

    def ink_h(pm):
        img = pm.toImage().convertToFormat(QImage.Format.Format_Grayscale8)
        arr = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * img.height()).reshape(
            img.height(), img.bytesPerLine())[:, :img.width()]
        return ink_box(arr)[3]

    for row in range(3):
        a = ink_h(model.data(model.index(row, SIG_COL), Qt.ItemDataRole.DecorationRole))
        b = ink_h(model.data(model.index(row, EX_COL), Qt.ItemDataRole.DecorationRole))
        assert abs(a - b) <= 0.2 * max(a, b), (row, a, b)
