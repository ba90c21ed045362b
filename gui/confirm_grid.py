"""The confirm-invalid grid (issue 18, item 9): a person confirms every line
software proposes invalid.

Blank, struck and empty lines (and withdrawn ones) are only *proposed*
invalid; nothing is invalid until a person confirms it here (or with
``petitions confirm-invalid``). Each proposed line is shown as a strip of
its page image — the whole row, as on paper — so a flourish read as a strike
is seen at once. Keys:

* **C** confirm the current line (that person's ruling, the proposed reason);
* **V** send it to review instead (escalated with a note: review it as a
  signature);
* **P** confirm every line of the current line's page shown in the grid;
* **Up / Down** move; **F5** reload.

All reads and writes go through the main window's reader and writer
threads (no database work on the GUI thread); the grid holds no rule.
"""
from __future__ import annotations

import petitions
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gui.images import scaled_pixmap, to_qimage

STRIP_H = 56     # strip height on screen, px
STRIP_W = 900    # strip width on screen, px
HELP = ("Nothing is invalid until a person confirms it. C confirm the line · V send it to review · "
        "P confirm the whole page · Up/Down move · F5 reload")


class ConfirmGrid(QWidget):
    """Every line proposed invalid, one row each: label, how the page was read,
    the proposed reason and the page-image strip."""

    message = Signal(str)
    changed = Signal()        # rulings were written (counts should refresh)
    loaded = Signal(int)      # rows shown after a (re)load

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("confirmGrid")
        self.user: str | None = None
        self.filing_id: int | None = None
        self.reader = self.writer = None
        self.rows: list[dict] = []
        self.busy = False
        self.header = QLabel(HELP)
        self.header.setObjectName("confirmHeader")
        self.header.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("confirmTable")
        self.table.setHorizontalHeaderLabels(["Line", "Read as", "Proposed", "Page image"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip(HELP)
        buttons = QHBoxLayout()
        for text, tip, slot in (("Confirm line (C)", "Confirm the current line invalid", self.confirm_current),
                                ("Send to review (V)", "Not what was proposed: review it as a signature",
                                 self.send_current_to_review),
                                ("Confirm the whole page (P)", "Confirm every line shown of the current line's page",
                                 self.confirm_page),
                                ("Reload (F5)", "Read the proposed lines again", self.reload)):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        for key, slot in (("C", self.confirm_current), ("V", self.send_current_to_review), ("P", self.confirm_page),
                          ("F5", self.reload)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    # ------------------------------------------------------------------ data
    def attach(self, *, user: str, filing_id: int, reader, writer) -> None:
        self.user, self.filing_id, self.reader, self.writer = user, filing_id, reader, writer
        self.reload()

    def reload(self) -> None:
        if self.reader is None or self.filing_id is None:
            return
        fid = self.filing_id

        def read(ws):
            rows = petitions.line_strips(ws, fid)
            for r in rows:  # QImage is made in the worker; only pixmaps need the GUI thread
                r["qimage"] = to_qimage(r.pop("strip")) if r.get("strip") is not None else None
            return rows

        self.reader.submit(read, self._show)

    def _show(self, rows, error) -> None:
        if error:
            self.message.emit(f"Cannot read the lines proposed invalid: {error}")
            return
        keep = self.current_label()
        self.rows = list(rows or [])
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            self.table.setItem(i, 0, QTableWidgetItem(r["line_id"]))
            self.table.setItem(i, 1, QTableWidgetItem(r["state"]))
            self.table.setItem(i, 2, QTableWidgetItem(petitions.reason_label(r["proposed"])))
            strip = QLabel()
            strip.setObjectName("confirmStrip")
            if r["qimage"] is not None:
                strip.setPixmap(scaled_pixmap(r["qimage"], STRIP_W, STRIP_H))
            else:
                strip.setText("(page image not available)")
            self.table.setCellWidget(i, 3, strip)
            self.table.setRowHeight(i, STRIP_H + 6)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(1)
        self.table.resizeColumnToContents(2)
        labels = [r["line_id"] for r in self.rows]
        if self.rows:
            self.table.selectRow(labels.index(keep) if keep in labels else 0)
        self.header.setText(f"<b>{len(self.rows)} line(s) proposed invalid.</b> {HELP}")
        self.table.setFocus()
        self.loaded.emit(len(self.rows))

    def current_label(self) -> str | None:
        i = self.table.currentRow()
        return self.rows[i]["line_id"] if 0 <= i < len(self.rows) else None

    # --------------------------------------------------------------- rulings
    def _write(self, fn, done_text) -> None:
        if self.writer is None or self.busy:
            return
        self.busy = True

        def finished(result, error):
            self.busy = False
            if error:
                self.message.emit(f"Not recorded: {error}")
            else:
                self.message.emit(done_text(result))
                self.changed.emit()
            self.reload()

        self.writer.submit(fn, finished)

    def confirm_current(self) -> None:
        label = self.current_label()
        if label is None:
            return
        fid, user = self.filing_id, self.user
        self._write(lambda ws: petitions.confirm_invalid(ws, fid, user=user, labels=[label], via="grid"),
                    lambda rep: f"{label} confirmed invalid" if rep.confirmed else f"{label}: not waiting any more")

    def send_current_to_review(self) -> None:
        label = self.current_label()
        if label is None:
            return
        fid, user = self.filing_id, self.user
        self._write(lambda ws: petitions.send_to_review(ws, fid, user=user, label=label, via="grid"),
                    lambda _rid: f"{label} sent to review (escalated): it is not invalid")

    def confirm_page(self) -> None:
        i = self.table.currentRow()
        if not 0 <= i < len(self.rows):
            return
        page = self.rows[i]["page_label"]
        labels = [r["line_id"] for r in self.rows if r["page_label"] == page]   # the lines shown, no others
        fid, user = self.filing_id, self.user
        self._write(lambda ws: petitions.confirm_invalid(ws, fid, user=user, labels=labels, via="grid (whole page)"),
                    lambda rep: f"page {page}: {len(rep.confirmed)} line(s) confirmed invalid")


def open_confirm_grid(win) -> ConfirmGrid | None:
    """The main window's hook: the screen on its filing, in a window of its own."""
    from gui.dialogs import open_filing_screen

    return open_filing_screen(win, ConfirmGrid, name="confirmGridDialog", title="Confirm invalid lines", size=(1200, 700), attr="confirm_grid", supervisor_flag=False)
