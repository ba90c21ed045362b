"""Helpers shared by the GUI tests: open the real main window and wait for it."""
from __future__ import annotations

from gui.main_window import MainWindow
from gui_workspace_fixture import REVIEWER


def open_window(qtbot, root, user=REVIEWER, **kw) -> MainWindow:
    """The main window on `root`, shown and ready, without restoring saved state."""
    win = MainWindow(root, user=user, restore_state=kw.pop("restore_state", False), **kw)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.is_ready, timeout=20_000)
    return win


def wait_case(qtbot, panel):
    """Until the panel shows the (prefetched) current case."""
    qtbot.waitUntil(lambda: panel.current is not None and panel.current in panel.cache
                    and panel.view.loaded is not None and panel.view.loaded.case.line_db_id == panel.current,
                    timeout=30_000)


def open_review(qtbot, root, user=REVIEWER):
    """The main window, its review panel showing its first case, and the list
    its messages (status-bar texts) go to."""
    win = open_window(qtbot, root, user=user)
    said: list[str] = []
    win.review.message.connect(said.append)
    wait_case(qtbot, win.review)
    return win, win.review, said


def grab_gray(widget, inset: int = 3):
    """What `widget` draws on screen, as a (H, W) uint8 array, without its
    frame (`inset` px each side)."""
    import numpy as np
    from PySide6.QtGui import QImage

    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())[:, :w]
    return arr[inset:h - inset, inset:w - inset].copy()


def drawn_ink_height(widget) -> int:
    """Height in screen pixels of the ink `widget` draws (0 when none)."""
    from sigverify.display import ink_box

    box = ink_box(grab_gray(widget))
    return 0 if box is None else box[3]


def rule_by_key(qtbot, panel, key, note: str = "cannot tell from the scan") -> None:
    """Press a ruling key as a reviewer does: a reject key twice (the second
    confirms), E followed by its note and Enter; any other key once."""
    from PySide6.QtCore import Qt

    qtbot.keyClick(panel, key)
    if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
        assert panel.pending is not None, "a reject key must wait for its confirmation"
        qtbot.keyClick(panel, key)
    elif key == Qt.Key.Key_E:
        assert panel.note.isVisible() and panel.asking is not None
        qtbot.keyClicks(panel.note, note)
        qtbot.keyClick(panel.note, Qt.Key.Key_Return)
