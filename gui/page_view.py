"""A scanned page with its line boxes coloured by status, each also marked
with a symbol and a line style (colour is never the only cue). Click a line
to open its case; wheel or +/- to zoom, drag to pan."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QComboBox, QGraphicsRectItem, QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView,
                               QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget)

from petitions import reason_label

#: status -> (colour, symbol, pen style, words)
STATUS_STYLE = {
    "valid": ("#2e7d32", "✓", Qt.PenStyle.SolidLine, "valid"),
    "invalid": ("#c62828", "✗", Qt.PenStyle.DashLine, "invalid"),
    "needs_review": ("#ef6c00", "?", Qt.PenStyle.DotLine, "needs review"),
}


class LineBox(QGraphicsRectItem):
    def __init__(self, line, rect: QRectF, viewer: "PageViewer"):
        super().__init__(rect)
        self.line = line
        self.viewer = viewer
        colour, _sym, style, words = STATUS_STYLE.get(line.status, STATUS_STYLE["needs_review"])
        pen = QPen(QColor(colour), 4, style)
        pen.setCosmetic(True)
        self.setPen(pen)
        c = QColor(colour)
        c.setAlpha(40)
        self.setBrush(QBrush(c))
        why = f" — {reason_label(line.reason)}" if line.reason else ""
        self.setToolTip(f"{line.label}: {words}{why} ({line.level}). Click to open the case.")
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, ev) -> None:
        self.viewer.line_clicked.emit(self.line.line_db_id)
        ev.accept()


class PageViewer(QWidget):
    line_clicked = Signal(int)
    page_requested = Signal(int)   # page_id the user picked

    def __init__(self, parent=None):
        super().__init__(parent)
        self.page = None
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Page:"))
        self.pages = QComboBox()
        self.pages.setObjectName("pagePicker")
        self.pages.setToolTip("Pick a scanned page (section / page)")
        self.pages.currentIndexChanged.connect(self._picked)
        top.addWidget(self.pages, 1)
        for text, tip, slot in (("−", "Zoom out (-)", lambda: self.zoom(1 / 1.25)),
                                ("+", "Zoom in (+)", lambda: self.zoom(1.25)),
                                ("Fit", "Fit the page in the window (0)", self.fit)):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            top.addWidget(b)
        legend = QLabel("  ".join(f"<span style='color:{c}'><b>{sym}</b></span> {w} ({'solid' if s == Qt.PenStyle.SolidLine else 'dashed' if s == Qt.PenStyle.DashLine else 'dotted'})"
                                  for c, sym, s, w in STATUS_STYLE.values()))
        legend.setToolTip("Line boxes: colour, symbol and line style all tell the status")
        top.addWidget(legend)
        lay.addLayout(top)
        self.layout_note = QLabel("This page's layout fit is not certain: check that every line's box sits on the "
                                  "form's line before ruling its lines (they wait at review_layout).")
        self.layout_note.setObjectName("layoutCheckNote")
        self.layout_note.setWordWrap(True)
        self.layout_note.setStyleSheet("background: #fff3e0; color: #8a4b00; padding: 4px;")
        self.layout_note.setToolTip("The segmenter found the form's rules on this page with a doubt (a rule not "
                                    "found, or one the form lacks); no line of it was accepted unseen")
        self.layout_note.hide()
        lay.addWidget(self.layout_note)
        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene)
        self.view.setObjectName("pageView")
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.view.setToolTip("The scanned page. Wheel or +/- to zoom, drag to pan, click a line to open it.")
        self.view.wheelEvent = self._wheel
        lay.addWidget(self.view, 1)
        self.boxes: dict[int, LineBox] = {}

    def set_pages(self, pages: list[dict]) -> None:
        self.pages.blockSignals(True)
        self.pages.clear()
        for p in pages:
            self.pages.addItem(f"Section {p['section']} · page {p['number']} ({p['lines']} lines)", p["page_id"])
        self.pages.blockSignals(False)
        if pages:
            self.pages.setCurrentIndex(0)
            self._picked(0)

    def _picked(self, i: int) -> None:
        pid = self.pages.itemData(i)
        if pid is not None:
            self.page_requested.emit(int(pid))

    def select_page(self, page_id: int) -> None:
        i = self.pages.findData(page_id)
        if i >= 0 and i != self.pages.currentIndex():
            self.pages.setCurrentIndex(i)

    def show_page(self, page, image) -> None:
        """`page`: a :class:`petitions.review.PageView`; `image`: its QImage."""
        self.page = page
        self.layout_note.setVisible(bool(getattr(page, "layout_check", False)))
        self.scene.clear()
        self.boxes.clear()
        if image is not None and not image.isNull():
            self.scene.addPixmap(QPixmap.fromImage(image))
        else:
            if page.width and page.height:
                self.scene.addRect(QRectF(0, 0, page.width, page.height), QPen(QColor("#999")))
            note = QGraphicsSimpleTextItem("The scan of this page is not stored in the workspace: line boxes only.")
            note.setPos(10, 10)
            self.scene.addItem(note)
        font = QFont()
        font.setPointSize(18)
        font.setBold(True)
        for ln in page.lines:
            xs = [b for b in ln.boxes.values() if b]
            if not xs:
                continue
            x0 = min(b[0] for b in xs)
            y0 = min(b[1] for b in xs)
            x1 = max(b[0] + b[2] for b in xs)
            y1 = max(b[1] + b[3] for b in xs)
            box = LineBox(ln, QRectF(x0 - 3, y0 - 3, x1 - x0 + 6, y1 - y0 + 6), self)
            self.scene.addItem(box)
            self.boxes[ln.line_db_id] = box
            colour, sym, _style, _w = STATUS_STYLE.get(ln.status, STATUS_STYLE["needs_review"])
            tag = QGraphicsSimpleTextItem(f"{sym} {ln.number}")
            tag.setFont(font)
            tag.setBrush(QBrush(QColor(colour)))
            tag.setPos(max(x0 - 60, 0), y0)
            self.scene.addItem(tag)
        self.fit()

    def fit(self) -> None:
        if not self.scene.items():
            return
        self.view.fitInView(self.scene.itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self.view.scale(factor, factor)

    def _wheel(self, ev) -> None:
        self.zoom(1.25 if ev.angleDelta().y() > 0 else 1 / 1.25)

    def keyPressEvent(self, ev) -> None:
        if ev.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif ev.key() == Qt.Key.Key_Minus:
            self.zoom(1 / 1.25)
        elif ev.key() == Qt.Key.Key_0:
            self.fit()
        else:
            super().keyPressEvent(ev)
