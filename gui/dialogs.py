"""Small dialogs: set-up forms (new workspace, new filing), certify, and a
notice that lists located problems (file / row / column, page, line).

The dialogs only collect what was typed; every check that decides anything
is made by :mod:`petitions` when the job runs, and its refusal is shown
here in its own words.
"""
from __future__ import annotations

import datetime as _dt
import getpass
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return ""


class PathEdit(QWidget):
    """A path typed or chosen with a Browse button."""

    def __init__(self, *, mode: str, caption: str, filter: str = "", tip: str = "", parent=None):
        super().__init__(parent)
        self.mode, self.caption, self.filter = mode, caption, filter
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setToolTip(tip or caption)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip(f"{caption} (opens a file chooser)")
        self.browse.clicked.connect(self._browse)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.browse)

    def _browse(self) -> None:
        if self.mode == "dir":
            p = QFileDialog.getExistingDirectory(self, self.caption, self.edit.text())
        elif self.mode == "save":
            p, _ = QFileDialog.getSaveFileName(self, self.caption, self.edit.text(), self.filter)
        else:
            p, _ = QFileDialog.getOpenFileName(self, self.caption, self.edit.text(), self.filter)
        if p:
            self.edit.setText(p)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, t: str) -> None:
        self.edit.setText(t)


class FormDialog(QDialog):
    """A form with OK / Cancel and an error line; `submitted(dict)` on OK.

    The dialog stays open until :meth:`done_ok` (the job succeeded) or
    shows :meth:`show_error` (the workspace refused, in its words)."""

    submitted = Signal(dict)

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.outer = QVBoxLayout(self)
        self.form = QFormLayout()
        self.outer.addLayout(self.form)
        self.error = QLabel("")
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outer.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_btn = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_btn.setToolTip("Go ahead (runs in the background; the window stays usable)")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip("Close without doing anything")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.outer.addWidget(self.buttons)

    def values(self) -> dict:  # pragma: no cover - overridden
        return {}

    def _submit(self) -> None:
        try:
            v = self.values()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.error.setText("Working …")
        self.ok_btn.setEnabled(False)
        self.submitted.emit(v)

    def show_error(self, message: str) -> None:
        self.ok_btn.setEnabled(True)
        self.error.setText(f"Not done: {message}")

    def done_ok(self) -> None:
        self.accept()


class NewWorkspaceDialog(FormDialog):
    def __init__(self, parent=None):
        super().__init__("New workspace", parent)
        self.folder = PathEdit(mode="dir", caption="Folder for the new workspace",
                               tip="An empty or new folder; the workspace store is created inside")
        self.user = QLineEdit(_login())
        self.user.setToolTip("Your name in the workspace; you are its first supervisor")
        self.form.addRow("&Folder:", self.folder)
        self.form.addRow("&Your name:", self.user)

    def values(self) -> dict:
        if not self.folder.text():
            raise ValueError("choose a folder")
        if not self.user.text().strip():
            raise ValueError("say who you are (recorded in the event log)")
        return {"folder": self.folder.text(), "user": self.user.text().strip()}


class NewFilingDialog(FormDialog):
    """Name, rule set, jurisdiction, district, required count, filing date and
    circulation window (blank dates are left for the rule set to settle)."""

    def __init__(self, rulesets: list[tuple[str, str]], parent=None):
        super().__init__("New filing", parent)
        self.name = QLineEdit()
        self.name.setToolTip("The filing's name, unique in the workspace (e.g. the measure's short title)")
        self.ruleset = QComboBox()
        for key, title in rulesets:
            self.ruleset.addItem(title, key)
        self.ruleset.setToolTip("The rule set the filing is verified under (built in; cannot change later)")
        self.jurisdiction = QLineEdit()
        self.jurisdiction.setPlaceholderText("e.g. City of Los Angeles")
        self.jurisdiction.setToolTip("Who the petition is filed with, e.g. “City of Los Angeles” or “State of California”")
        self.district = QLineEdit()
        self.district.setToolTip("District, if the petition is for one (optional)")
        self.required = QSpinBox()
        self.required.setRange(0, 10_000_000)
        self.required.setSpecialValueText("not set yet")
        self.required.setToolTip("Valid signatures required to qualify (needed before certifying)")
        self.filing_date, self.fd_set = self._date("Date the petition was filed")
        self.circ_start, self.cs_set = self._date("First day signatures could be gathered")
        self.circ_end, self.ce_set = self._date("Last day signatures could be gathered")
        self.form.addRow("&Name:", self.name)
        self.form.addRow("&Rule set:", self.ruleset)
        self.form.addRow("&Jurisdiction:", self.jurisdiction)
        self.form.addRow("&District:", self.district)
        self.form.addRow("Re&quired valid:", self.required)
        for label, (edit, box) in (("Filing date:", (self.filing_date, self.fd_set)),
                                   ("Circulation from:", (self.circ_start, self.cs_set)),
                                   ("Circulation to:", (self.circ_end, self.ce_set))):
            row = QHBoxLayout()
            row.addWidget(box)
            row.addWidget(edit, 1)
            self.form.addRow(label, row)

    @staticmethod
    def _date(tip: str):
        edit = QDateEdit(QDate.currentDate())
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tip)
        edit.setEnabled(False)
        box = QCheckBox()
        box.setToolTip(f"{tip}: tick to enter it")
        box.toggled.connect(edit.setEnabled)
        return edit, box

    @staticmethod
    def _value(edit: QDateEdit, box: QCheckBox) -> _dt.date | None:
        if not box.isChecked():
            return None
        d = edit.date()
        return _dt.date(d.year(), d.month(), d.day())

    def values(self) -> dict:
        if not self.name.text().strip():
            raise ValueError("give the filing a name")
        if not self.jurisdiction.text().strip():
            raise ValueError("say which jurisdiction the petition is filed with")
        return {"name": self.name.text().strip(), "ruleset": self.ruleset.currentData(),
                "jurisdiction": self.jurisdiction.text().strip(), "district": self.district.text().strip() or None,
                "required": self.required.value() or None,
                "filing_date": self._value(self.filing_date, self.fd_set),
                "circulation_start": self._value(self.circ_start, self.cs_set),
                "circulation_end": self._value(self.circ_end, self.ce_set)}


class CertifyDialog(FormDialog):
    """Who certifies, and where the certificate PDF goes. A refusal (e.g.
    lines still pending) is shown here in the workspace's words."""

    def __init__(self, default_pdf: str = "", parent=None):
        super().__init__("Certify the filing", parent)
        self.official_name = QLineEdit()
        self.official_name.setToolTip("The certifying official's name, printed on the signature line")
        self.official_title = QLineEdit("Elections Official")
        self.official_title.setToolTip("The official's title, printed under the name")
        self.office = QLineEdit()
        self.office.setToolTip("The office, e.g. “Registrar of Voters, County of …”")
        self.pdf = PathEdit(mode="save", caption="Save the certificate as", filter="PDF (*.pdf)",
                            tip="Where the certificate PDF is written")
        self.pdf.setText(default_pdf)
        self.form.addRow("Official's &name:", self.official_name)
        self.form.addRow("&Title:", self.official_title)
        self.form.addRow("&Office:", self.office)
        self.form.addRow("Certificate &PDF:", self.pdf)
        self.ok_btn.setText("Certify")
        self.ok_btn.setToolTip("Certify the result as it stands and write the PDF (refused while lines are pending)")

    def values(self) -> dict:
        if not self.pdf.text():
            raise ValueError("choose where the certificate PDF goes")
        return {"official_name": self.official_name.text(), "official_title": self.official_title.text(),
                "office": self.office.text(), "out_pdf": self.pdf.text()}


class NoticeDialog(QDialog):
    """A message and, when there are any, every located problem in a list
    (non-modal: the window stays usable while it is read)."""

    def __init__(self, title: str, message: str, problems: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.message = message
        self.problems = list(problems or [])
        lay = QVBoxLayout(self)
        text = QLabel(message)
        text.setObjectName("noticeMessage")
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(text)
        if self.problems:
            lay.addWidget(QLabel(f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}, "
                                 "each with where it is:"))
            self.list = QListWidget()
            self.list.setObjectName("problemList")
            self.list.setToolTip("Every problem found, with its file, row and column (or page and line)")
            self.list.addItems(self.problems)
            lay.addWidget(self.list, 1)
            self.resize(720, 420)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this message")
        box.rejected.connect(self.reject)
        lay.addWidget(box)


SCAN_SUFFIXES = (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


def scans_in(folder: str | Path) -> list[Path]:
    """The scan files directly in `folder`, in name order."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in SCAN_SUFFIXES)


def open_filing_screen(win, screen_cls, *, name: str, title: str, size: tuple[int, int], attr: str,
                       supervisor_flag: bool = True):
    """Open one of the filing's own screens (confirm-invalid grid, withdrawals,
    sections) in a non-modal window of its own, wired to the main window's
    status bar, refresh and reader/writer connections; None (and a message)
    when no filing is open. The screen is kept as ``win.<attr>``."""
    s = getattr(win, "session", None)
    if s is None or s.filing_id is None or win.reader is None:
        win.statusBar().showMessage("Open a workspace with a filing first", 5000)
        return None
    dlg = QDialog(win)
    dlg.setObjectName(name)
    dlg.setWindowTitle(f"{title} — {s.filing_name}")
    screen = screen_cls(dlg)
    QVBoxLayout(dlg).addWidget(screen)
    screen.message.connect(lambda m: win.statusBar().showMessage(m, 8000))
    screen.changed.connect(win.refresh)
    dlg.resize(*size)
    dlg.setModal(False)
    dlg.show()
    extra = {"is_supervisor": s.is_supervisor} if supervisor_flag else {}
    screen.attach(user=s.user, filing_id=s.filing_id, reader=win.reader, writer=win.writer, **extra)
    setattr(win, attr, screen)
    return screen
