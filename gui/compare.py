"""The zoomed comparison: the petition signature above every signature on
file for the voter, like for like (trimmed to the ink, one ink height, one
contrast), with zoom on the mouse wheel or + / −; O shows the original crops;
Esc closes."""
from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget

from gui.images import CASE_INK_H, scaled_by

ZOOM_STEP = 1.25
ZOOM_MIN, ZOOM_MAX = 0.25, 4.0


class CompareDialog(QDialog):
    def __init__(self, loaded, *, original: bool = False, parent=None):
        super().__init__(parent)
        c = loaded.case
        self.setWindowTitle(f"Compare signatures: {c.label}")
        self.loaded = loaded
        self.original = original
        self.zoom = 1.0
        self.rows: list[tuple[QLabel, str]] = []
        lay = QVBoxLayout(self)
        self.hint = QLabel()
        self.hint.setObjectName("compareHint")
        lay.addWidget(self.hint)
        body = QWidget()
        col = QVBoxLayout(body)
        self._row(col, "<b>Petition line</b> " + html.escape(c.label), c.signature_hash)
        cand = c.candidate
        for ex in (cand.exemplars if cand else ()):
            self._row(col, f"<b>On file</b> for {html.escape(cand.voter_id)}: {html.escape(ex.captured_date or 'date unknown')}"
                      f" · {html.escape(ex.source or 'source unknown')}" + ("  ★ closest" if ex.best else ""),
                      ex.image_hash)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        lay.addWidget(scroll, 1)
        scroll.viewport().installEventFilter(self)   # the wheel zooms here, it does not scroll
        scr = self.screen().availableGeometry() if self.screen() else None
        self.resize(min(1100, scr.width() - 40) if scr else 1000, min(760, scr.height() - 60) if scr else 700)
        self._draw()

    def _row(self, col, caption: str, digest: str | None) -> None:
        cap = QLabel(caption)
        col.addWidget(cap)
        img = QLabel()
        img.setAlignment(Qt.AlignmentFlag.AlignLeft)
        img.setStyleSheet("background: white;")
        col.addWidget(img)
        self.rows.append((img, digest or ""))

    def _draw(self) -> None:
        base = 0.7   # the normalised ink (CASE_INK_H px) drawn at about 100 px at 100 %
        for lab, h in self.rows:
            disp, orig = self.loaded.display.get(h), self.loaded.images.get(h)
            img = orig if self.original else disp
            if img is None or img.isNull():
                lab.setText("no image")
                continue
            if self.original:
                lab.setPixmap(scaled_by(img, self.zoom))
            else:
                lab.setPixmap(scaled_by(img, base * self.zoom))
        ink = round(CASE_INK_H * base * self.zoom)
        what = "original crops" if self.original else f"trimmed to the ink, ink {ink} px high"
        self.hint.setText(f"Zoom {self.zoom:.0%} · {what} · wheel or + / − zoom · O original / like for like · Esc close")

    def set_zoom(self, z: float) -> None:
        self.zoom = min(max(z, ZOOM_MIN), ZOOM_MAX)
        self._draw()

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.Wheel:
            self.wheelEvent(ev)
            return True
        return super().eventFilter(obj, ev)

    def wheelEvent(self, ev) -> None:
        self.set_zoom(self.zoom * (ZOOM_STEP if ev.angleDelta().y() > 0 else 1 / ZOOM_STEP))
        ev.accept()

    def keyPressEvent(self, ev) -> None:
        k = ev.key()
        if k in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self.zoom * ZOOM_STEP)
        elif k == Qt.Key.Key_Minus:
            self.set_zoom(self.zoom / ZOOM_STEP)
        elif k == Qt.Key.Key_O:
            self.original = not self.original
            self._draw()
        elif k == Qt.Key.Key_Z:
            self.close()
        else:
            super().keyPressEvent(ev)
