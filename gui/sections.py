"""The sections screen (issue 18, item 5): every section of the filing with
its circulator's declaration as keyed (or its signature read from the
page), what is not in order, and any ruling on the whole section; the
declaration's crops as the segmenter cut them from the selected section's
first page. A supervisor rules a whole section invalid (a section code and
a reason) or restores it — :func:`petitions.rule_section` /
:func:`petitions.restore_section`, each an event; the grid holds no rule.

Reads and writes run on the main window's reader and writer threads.
"""
from __future__ import annotations

import petitions
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QGridLayout, QHBoxLayout, QHeaderView, QInputDialog,
                               QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gui.images import scaled_pixmap, to_qimage

COLUMNS = ("Section", "Batch", "Signed lines", "Circulator", "Address", "Circulated", "Signed", "Checks", "Ruling")
FIELDS = (("circulator_name", "Name"), ("circulator_address", "Address"), ("circulation_dates", "Dates"),
          ("circulator_signature", "Signature"))


class SectionsScreen(QWidget):
    message = Signal(str)
    changed = Signal()          # a section ruling was written
    loaded = Signal(int)        # sections shown

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sectionsScreen")
        self.user = self.filing_id = self.reader = self.writer = None
        self.is_supervisor = False
        self.views: list[dict] = []
        self.busy = False
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("sectionsTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 2, QHeaderView.ResizeMode.Stretch)
        self.table.currentCellChanged.connect(lambda *_: self._show_crops())
        self.crops: dict[str, QLabel] = {}
        grid = QGridLayout()
        for i, (key, title) in enumerate(FIELDS):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, i)
            lab = QLabel("(no crop)")
            lab.setObjectName(f"crop_{key}")
            lab.setMinimumSize(200, 40)
            self.crops[key] = lab
            grid.addWidget(lab, 1, i)
        self.rule_button = QPushButton("Rule section invalid…")
        self.rule_button.setToolTip("Supervisors: every signed line of the section counts invalid for the code")
        self.rule_button.clicked.connect(self._ask_rule)
        self.restore_button = QPushButton("Restore section…")
        self.restore_button.setToolTip("Supervisors: take the section ruling back (both stay on record)")
        self.restore_button.clicked.connect(self._ask_restore)
        row = QHBoxLayout()
        row.addWidget(self.rule_button)
        row.addWidget(self.restore_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Each section's circulator declaration, what is not in order, and any ruling on the "
                             "whole section. The checks only show; a supervisor rules."))
        lay.addWidget(self.table, 2)
        lay.addWidget(QLabel("Declaration as cut from the section's first page:"))
        lay.addLayout(grid)
        lay.addLayout(row)

    def attach(self, *, user: str, filing_id: int, is_supervisor: bool, reader, writer) -> None:
        self.user, self.filing_id, self.reader, self.writer = user, filing_id, reader, writer
        self.is_supervisor = is_supervisor
        for b in (self.rule_button, self.restore_button):
            b.setEnabled(is_supervisor)
        self.reload()

    def reload(self) -> None:
        fid = self.filing_id

        def read(ws):
            out = []
            for v in petitions.sections_of(ws, fid):
                d = v.to_dict()
                d["qimages"] = {k: (to_qimage(ws.crops.get_image(h[0])) if h else None) for k, h in v.crops.items()}
                out.append(d)
            return out

        self.reader.submit(read, self._show)

    def _show(self, views, error) -> None:
        if error:
            self.message.emit(f"Sections: {error}")
            return
        self.views = list(views or [])
        self.table.setRowCount(len(self.views))
        for i, v in enumerate(self.views):
            d = v["declaration"] or {}
            signed = {1: "yes", 0: "NO", None: ""}[d.get("signed")]
            if d.get("signed") is None and v["signature_ink"] is not None:
                signed = "ink on every page" if v["signature_ink"] else "NO INK"
            r = v["ruling"]
            cells = [v["section"], v["batch"] or "", v["signed_lines"], d.get("circulator_name") or v["circulator"] or "",
                     d.get("circulator_address") or "",
                     f"{d.get('circulated_from') or '?'} to {d.get('circulated_to') or '?'}" if d else "",
                     signed, "; ".join(p["message"] for p in v["problems"]) or "in order",
                     f"{r['reason_code']} by {r['ruled_by']}: {r['reason']}" if r else ""]
            for j, c in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(str(c)))
        self.table.resizeColumnsToContents()
        if self.views and self.table.currentRow() < 0:
            self.table.selectRow(0)
        self._show_crops()
        self.loaded.emit(len(self.views))

    def current_section(self) -> int | None:
        i = self.table.currentRow()
        return self.views[i]["section"] if 0 <= i < len(self.views) else None

    def _show_crops(self) -> None:
        i = self.table.currentRow()
        images = self.views[i]["qimages"] if 0 <= i < len(self.views) else {}
        for key, lab in self.crops.items():
            img = images.get(key)
            if img is None:
                lab.clear()
                lab.setText("(no crop)")
            else:
                lab.setPixmap(scaled_pixmap(img, 260, 60))

    # --------------------------------------------------------------- rulings
    def _ask_rule(self) -> None:
        codes = list(petitions.section_codes())
        code, ok = QInputDialog.getItem(self, "Rule section invalid", "Reason code", codes, 0, False)
        if not ok:
            return
        reason, ok = QInputDialog.getText(self, "Rule section invalid", "Why (recorded with the ruling)")
        if ok:
            self.rule(code, reason)

    def _ask_restore(self) -> None:
        reason, ok = QInputDialog.getText(self, "Restore section", "Why (recorded with the ruling)")
        if ok:
            self.restore(reason)

    def _write(self, fn, text) -> None:
        if self.busy or self.writer is None:
            return
        self.busy = True

        def done(result, error):
            self.busy = False
            self.message.emit(f"Not recorded: {error}" if error else text(result))
            if not error:
                self.changed.emit()
            self.reload()

        self.writer.submit(fn, done)

    def rule(self, code: str, reason: str) -> None:
        section, fid, user = self.current_section(), self.filing_id, self.user
        if section is None:
            return
        self._write(lambda ws: petitions.rule_section(ws, fid, section, user=user, code=code, reason=reason),
                    lambda ev: f"section {section} ruled {code}: its {ev['signed_lines']} signed line(s) count "
                               "as invalid")

    def restore(self, reason: str) -> None:
        section, fid, user = self.current_section(), self.filing_id, self.user
        if section is None:
            return
        self._write(lambda ws: petitions.restore_section(ws, fid, section, user=user, reason=reason),
                    lambda ev: f"section {section} restored")


def open_sections(win) -> SectionsScreen | None:
    """The main window's hook: the screen on its filing, in a window of its own."""
    from gui.dialogs import open_filing_screen

    return open_filing_screen(win, SectionsScreen, name="sectionsDialog", title="Sections", size=(1200, 600), attr="sections_screen")
