"""Keying: type a line's printed name and address from its crops when no
keyed data came with the scans.

The list holds the filing's signed lines with nothing keyed
(:func:`petitions.review.keying_queue`); any other line can be opened by its
id to re-key it. Candidate voters update as you type (debounced, searched in
the reader thread with :class:`petitions.review.VoterDirectory`). Enter in
any field saves through :func:`petitions.pipeline.key_line` (in the writer
thread) and moves on to the next unkeyed line.
"""
from __future__ import annotations

import datetime as _dt

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from gui.case_view import _image_label, _set_image
from gui.lookup import FrameModel
from gui.workers import without_unlanded

CROP_W, CROP_H = 760, 90
KEY_FIELDS = (("name", "&Name:", "The printed name exactly as written (first and last name)"),
              ("address", "A&ddress:", "House number and street as written"),
              ("city", "Cit&y:", "City as written (blank if not written)"),
              ("zip", "&Zip:", "Zip code as written (blank if not written)"),
              ("date_signed", "Da&te signed:", "Date beside the signature as YYYY-MM-DD (blank if none)"))


class KeyingPanel(QWidget):
    """Emits requests; the main window runs them on its reader and writer."""

    queue_requested = Signal()                 # reload the unkeyed lines
    line_requested = Signal(str)               # open a line by id (label) to key or re-key
    search_requested = Signal(str, str, str)   # name, address, zip → candidate voters
    save_requested = Signal(int, dict)         # line_db_id, keyed values

    def __init__(self, parent=None):
        super().__init__(parent)
        self.line = None      # the KeyingLine open
        self.lines: list = []
        # Reads and writes run on other threads and answer later, in order. A
        # queue read that started before a save landed still lists the saved
        # line, and two reloads in a row would each ask for the first line: so
        # count the line requests not answered yet (only the answer to the
        # newest is shown), and remember the lines saved here.
        self._asked = 0
        self._saved: set[int] = set()
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Open &line:"))
        self.goto = QLineEdit()
        self.goto.setObjectName("keyingGoto")
        self.goto.setPlaceholderText("e.g. S001-P02-L07")
        self.goto.setToolTip("Open any line by its id to key or re-key it (Enter)")
        top.itemAt(0).widget().setBuddy(self.goto)
        self.goto.returnPressed.connect(lambda: self._request(self.goto.text().strip())
                                        if self.goto.text().strip() else None)
        top.addWidget(self.goto)
        self.status = QLabel("")
        self.status.setObjectName("keyingStatus")
        self.status.setWordWrap(True)
        top.addWidget(self.status, 1)
        lay.addLayout(top)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.queue = QListWidget()
        self.queue.setObjectName("keyingQueue")
        self.queue.setToolTip("Signed lines with nothing keyed yet, in filing order")
        self.queue.itemActivated.connect(self._activated)
        self.queue.itemClicked.connect(self._activated)
        split.addWidget(self.queue)
        right = QWidget()
        rl = QVBoxLayout(right)
        self.header = QLabel("No line open.")
        self.header.setObjectName("keyingHeader")
        self.header.setStyleSheet("font-size: 13pt; font-weight: bold;")
        rl.addWidget(self.header)
        self.name_crop = _image_label("The printed name as written on the line", CROP_W, CROP_H)
        self.addr_crop = _image_label("The address as written on the line", CROP_W, CROP_H)
        rl.addWidget(QLabel("Printed name on the line:"))
        rl.addWidget(self.name_crop)
        rl.addWidget(QLabel("Address on the line:"))
        rl.addWidget(self.addr_crop)
        form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        for key, label, tip in KEY_FIELDS:
            e = QLineEdit()
            e.setObjectName(f"key_{key}")
            e.setToolTip(tip + " — Enter saves and opens the next unkeyed line")
            e.returnPressed.connect(self.save)
            if key in ("name", "address", "zip"):
                e.textChanged.connect(lambda _t: self.timer.start())
            self.fields[key] = e
            form.addRow(label, e)
        self.fields["date_signed"].setPlaceholderText("YYYY-MM-DD")
        self.fields["zip"].setMaximumWidth(120)
        self.fields["date_signed"].setMaximumWidth(160)
        rl.addLayout(form)
        btns = QHBoxLayout()
        self.save_btn = QPushButton("Save and next [Enter]")
        self.save_btn.setObjectName("keyingSave")
        self.save_btn.setToolTip("Save what you keyed for this line and open the next unkeyed line (Enter)")
        self.save_btn.clicked.connect(self.save)
        self.skip_btn = QPushButton("Skip")
        self.skip_btn.setToolTip("Leave this line for later and open the next one")
        self.skip_btn.clicked.connect(self.skip)
        btns.addWidget(self.save_btn)
        btns.addWidget(self.skip_btn)
        btns.addStretch(1)
        rl.addLayout(btns)
        self.cand_label = QLabel("Candidate voters appear as you type.")
        self.cand_label.setObjectName("keyingCandidates")
        rl.addWidget(self.cand_label)
        self.model = FrameModel(self)
        self.table = QTableView()
        self.table.setObjectName("keyingCandidateTable")
        self.table.setModel(self.model)
        self.table.setCornerButtonEnabled(False)
        self.table.setToolTip("Voters whose name and address start with what you typed (party never shown)")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        rl.addWidget(self.table, 1)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 5)
        split.setSizes([200, 1150])
        lay.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self._search)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for e in self.fields.values():
            e.setEnabled(on)
        self.save_btn.setEnabled(on)
        self.skip_btn.setEnabled(on)

    # ------------------------------------------------------------ queue
    def _request(self, ident: str) -> None:
        self._asked += 1
        self.line_requested.emit(ident)

    def _answered(self) -> bool:
        """Count one answer to a line request; True if it answers the newest."""
        self._asked = max(0, self._asked - 1)
        return self._asked == 0

    def set_queue(self, lines: list) -> None:
        """The unkeyed lines as read. Lines saved here are left out until a
        read no longer lists them (then their writes have landed)."""
        self.lines = without_unlanded(lines, self._saved)
        self.queue.clear()
        for ln in self.lines:
            it = QListWidgetItem(ln.label)
            it.setData(Qt.ItemDataRole.UserRole, ln.line_db_id)
            it.setToolTip(f"{ln.label}: section {ln.section}, page {ln.page}, line {ln.number}")
            self.queue.addItem(it)
        n = len(self.lines)
        self.status.setText(f"{n} signed line{'s' if n != 1 else ''} with nothing keyed" if n
                            else "Every signed line has keyed data. Open a line by its id to re-key it.")
        if self.line is None and not self._asked and self.lines:
            self._request(str(self.lines[0].line_db_id))

    def _activated(self, item) -> None:
        lid = item.data(Qt.ItemDataRole.UserRole)
        for ln in self.lines:
            if ln.line_db_id == lid:
                self._request(str(lid))

    def open_line(self, line, images: dict) -> None:
        """Show a :class:`petitions.review.KeyingLine` with its decoded crops
        (unless another line has been asked for since)."""
        if not self._answered():
            return
        self.line = line
        self.header.setText(f"{line.label}  ·  section {line.section}, page {line.page}, line {line.number}"
                            + ("  ·  re-keying" if line.keyed else ""))
        _set_image(self.name_crop, images.get(line.name_hash), CROP_W, CROP_H, "no name crop")
        _set_image(self.addr_crop, images.get(line.address_hash), CROP_W, CROP_H, "no address crop")
        k = line.keyed or {}
        for key, e in self.fields.items():
            e.blockSignals(True)
            e.setText(str(k.get(key) or ""))
            e.blockSignals(False)
        self._set_enabled(True)
        self.fields["name"].setFocus()
        for i in range(self.queue.count()):
            if self.queue.item(i).data(Qt.ItemDataRole.UserRole) == line.line_db_id:
                self.queue.setCurrentRow(i)
        self.model.set_frame(None)
        self.cand_label.setText("Candidate voters appear as you type.")
        if any(k.get(f) for f in ("name", "address")):
            self.timer.start()

    def open_failed(self, message: str) -> None:
        if self._answered():
            self.status.setText(message)

    def save_failed(self, line_db_id: int, message: str) -> None:
        """The write did not land: the line goes back in the queue."""
        self._saved.discard(line_db_id)
        self.status.setText(f"Not saved: {message}")
        self.queue_requested.emit()

    def values(self) -> dict:
        return {k: e.text().strip() for k, e in self.fields.items()}

    # ----------------------------------------------------------- actions
    def _search(self) -> None:
        v = self.values()
        if not (v["name"] or v["address"]):
            self.model.set_frame(None)
            return
        self.cand_label.setText("Searching …")
        self.search_requested.emit(v["name"], v["address"], v["zip"])

    def show_candidates(self, query: tuple, df, err) -> None:
        v = self.values()
        if query != (v["name"], v["address"], v["zip"]):
            return   # typed on since: a newer search is coming
        if err:
            self.cand_label.setText(err)
            return
        self.model.set_frame(df)
        n = 0 if df is None else df.height
        self.cand_label.setText(f"{n} candidate voter{'s' if n != 1 else ''}" + (" (first 50)" if n >= 50 else ""))

    def save(self) -> None:
        if self.line is None:
            return
        v = self.values()
        if not v["name"] and not v["address"]:
            self.status.setText("Key at least the name or the address (or Skip).")
            return
        if v["date_signed"]:
            try:
                _dt.date.fromisoformat(v["date_signed"])
            except ValueError:
                self.status.setText(f"Date signed must look like 2024-03-01, not {v['date_signed']!r}.")
                self.fields["date_signed"].setFocus()
                return
        v["date_signed"] = v["date_signed"] or None
        lid = self.line.line_db_id
        self._saved.add(lid)
        self.save_requested.emit(lid, v)
        self._advance(lid)

    def skip(self) -> None:
        if self.line is not None:
            self._advance(self.line.line_db_id, drop=False)

    def _advance(self, lid: int, drop: bool = True) -> None:
        ids = [ln.line_db_id for ln in self.lines]
        nxt = None
        if lid in ids:
            i = ids.index(lid)
            rest = self.lines[i + 1:] + self.lines[:i]
            nxt = rest[0] if rest else None
            if drop:
                self.lines.pop(i)
                self.queue.takeItem(i)
        elif self.lines:
            nxt = self.lines[0]
        self.line = None
        if nxt is not None:
            self._request(str(nxt.line_db_id))
        else:
            self.header.setText("No more unkeyed lines.")
            self._set_enabled(False)
