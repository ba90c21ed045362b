"""The withdrawals screen (issue 18, item 6): load a CSV of withdrawal
requests, see what each would do — the voter the matcher found (or the id
given), the filing's lines it withdraws, or in plain words why it withdraws
none — and record them (supervisors). Recording is
:func:`petitions.import_withdrawals`: each request an event, each withdrawn
line proposed invalid for a person to confirm (the confirm-invalid grid).
Below, the requests already recorded for the filing.

Reads and writes run on the main window's reader and writer threads.
"""
from __future__ import annotations

from pathlib import Path

import petitions
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

PREVIEW_COLUMNS = ("Row", "Name", "Address", "Received", "Voter", "Match", "Lines withdrawn", "Why none")
RECORDED_COLUMNS = ("Received", "Name", "Voter", "Line", "Recorded by", "Source row")


def _table(columns, name: str) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setObjectName(name)
    t.setHorizontalHeaderLabels(list(columns))
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(len(columns) - 1, QHeaderView.ResizeMode.Stretch)
    return t


def _fill(table: QTableWidget, rows: list[list]) -> None:
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            table.setItem(i, j, QTableWidgetItem("" if v is None else str(v)))
    table.resizeColumnsToContents()


class WithdrawalsScreen(QWidget):
    message = Signal(str)
    changed = Signal()           # withdrawals were recorded
    previewed = Signal(int)      # requests shown from a loaded file
    recorded_shown = Signal(int)  # recorded requests shown

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("withdrawalsScreen")
        self.user = self.filing_id = self.reader = self.writer = None
        self.path: Path | None = None
        self.preview: dict | None = None
        self.busy = False
        self.info = QLabel("Load a CSV of withdrawal requests: name,address,date[,city,zip,voter_id] "
                           "(date: the day received). Nothing is recorded until you press Record.")
        self.info.setWordWrap(True)
        self.problems = QLabel("")
        self.problems.setObjectName("withdrawalProblems")
        self.problems.setWordWrap(True)
        self.preview_table = _table(PREVIEW_COLUMNS, "withdrawalPreview")
        self.recorded_table = _table(RECORDED_COLUMNS, "withdrawalsRecorded")
        self.load_button = QPushButton("Load CSV…")
        self.load_button.setToolTip("Read a file of withdrawal requests and show what each would withdraw")
        self.load_button.clicked.connect(self._choose)
        self.record_button = QPushButton("Record")
        self.record_button.setObjectName("recordWithdrawals")
        self.record_button.setToolTip("Record these requests (supervisors): each is an event; each withdrawn line "
                                      "waits for a person to confirm it invalid")
        self.record_button.setEnabled(False)
        self.record_button.clicked.connect(self.record)
        row = QHBoxLayout()
        row.addWidget(self.load_button)
        row.addWidget(self.record_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addLayout(row)
        lay.addWidget(self.preview_table, 2)
        lay.addWidget(self.problems)
        lay.addWidget(QLabel("<b>Recorded for this filing</b>"))
        lay.addWidget(self.recorded_table, 1)

    def attach(self, *, user: str, filing_id: int, is_supervisor: bool, reader, writer) -> None:
        self.user, self.filing_id, self.reader, self.writer = user, filing_id, reader, writer
        self.is_supervisor = is_supervisor
        if not is_supervisor:
            self.record_button.setToolTip("Only a supervisor records withdrawal requests")
        self.load_recorded()

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Withdrawal requests", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.load(path)

    def load(self, path) -> None:
        """Show what the requests in `path` would do (nothing is recorded)."""
        self.path = Path(path)
        fid, p = self.filing_id, self.path
        self.record_button.setEnabled(False)
        self.reader.submit(lambda ws: petitions.withdrawal_preview(ws, fid, p), self._show_preview)

    def _show_preview(self, result, error) -> None:
        if error:
            self.preview = None
            self.problems.setText(f"<b>Cannot read the file:</b> {error}")
            self.message.emit(f"Withdrawals: {error}")
            return
        self.preview = result
        reqs = result["requests"]
        _fill(self.preview_table, [
            [r["row"], r["name"], ", ".join(x for x in (r["address"], r["city"], r["zip"]) if x), r["date"],
             r["voter_id"] or "", r["match_status"] or "", ", ".join(r["lines"]), r["why"] or ""] for r in reqs])
        withdrawn = sum(len(r["lines"]) for r in reqs)
        none = sum(1 for r in reqs if r["why"])
        text = f"{len(reqs)} request(s): {withdrawn} line(s) would be withdrawn, {none} withdraw no line (listed why)"
        if result["problems"]:
            text += "<br><b>Rows not read:</b><br>" + "<br>".join(result["problems"])
        self.problems.setText(text)
        self.record_button.setEnabled(bool(reqs) and getattr(self, "is_supervisor", False))
        self.previewed.emit(len(reqs))

    def record(self) -> None:
        if self.path is None or self.busy or self.writer is None:
            return
        self.busy = True
        self.record_button.setEnabled(False)
        fid, user, p = self.filing_id, self.user, self.path

        def done(rep, error):
            self.busy = False
            if error:
                self.message.emit(f"Withdrawals not recorded: {error}")
                self.record_button.setEnabled(True)
                return
            self.message.emit(f"Withdrawals recorded: {len(rep.matched)} request(s) matched, {rep.lines_withdrawn} "
                              f"line(s) withdrawn (waiting for confirmation), {len(rep.unmatched)} unmatched")
            self.changed.emit()
            self.load_recorded()

        self.writer.submit(lambda ws: petitions.import_withdrawals(ws, fid, p, user=user), done)

    def load_recorded(self) -> None:
        fid = self.filing_id
        self.reader.submit(lambda ws: petitions.withdrawals_of(ws, fid), self._show_recorded)

    def _show_recorded(self, rows, error) -> None:
        if error:
            self.message.emit(f"Withdrawals: {error}")
            return
        rows = rows or []
        _fill(self.recorded_table, [[r["request_date"], r["name"], r["voter_id"] or "(not matched)",
                                     r["label"] or "", r["created_by"], f"{Path(r['source']).name} row "
                                     f"{r['row_number']}"] for r in rows])
        self.recorded_shown.emit(len(rows))


def open_withdrawals(win) -> WithdrawalsScreen | None:
    """The main window's hook: the screen on its filing, in a window of its own."""
    from gui.dialogs import open_filing_screen

    return open_filing_screen(win, WithdrawalsScreen, name="withdrawalsDialog", title="Withdrawals", size=(1100, 650), attr="withdrawals_screen")
