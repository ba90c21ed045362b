"""File ▸ New form template…: a template for a form of another layout,
made from a scan of the blank form (issue 19, docs/templates.md).

The person opens the scan, the workbench drafts the template and shows the
page with the cells it found drawn and numbered; the person names each
cell (and each declaration field) in a combo box, may give the template a
name, looks at the template on a filled sample scan, and saves it. The
measuring, drawing, checking and saving are ``petitions``'; this screen
only collects the names and shows what comes back, refusals in their own
words (one line, naming the file).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

import petitions
from gui.dialogs import PathEdit

SCAN_FILTER = "Scans (*.pdf *.tif *.tiff *.png *.jpg *.jpeg);;All files (*)"
#: Width (screen px) the page is shown at.
VIEW_WIDTH = 860


def to_colour_qimage(image: np.ndarray) -> QImage:
    """A (H, W, 3) BGR uint8 array (as OpenCV draws) as a QImage owning its pixels."""
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_BGR888).copy()



def _page_and_button(page_tip: str, label: str, tip: str, slot) -> tuple[QSpinBox, QPushButton, QHBoxLayout]:
    """A page number (1-based) and the button acting on that page, in one row."""
    page = QSpinBox()
    page.setRange(1, 9999)
    page.setToolTip(page_tip)
    button = QPushButton(label)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    row = QHBoxLayout()
    row.addWidget(page)
    row.addWidget(button)
    return page, button, row

class PageView(QScrollArea):
    """A drawn page, fitted to the view's width, scrollable."""

    def __init__(self, empty: str, parent=None):
        super().__init__(parent)
        self.label = QLabel(empty)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.image: QImage | None = None

    def show_image(self, image: np.ndarray) -> None:
        self.image = to_colour_qimage(image)
        self.label.setPixmap(QPixmap.fromImage(self.image.scaledToWidth(
            VIEW_WIDTH, Qt.TransformationMode.SmoothTransformation)))

    def clear_image(self, text: str) -> None:
        self.image = None
        self.label.setPixmap(QPixmap())
        self.label.setText(text)


class TemplateDialog(QDialog):
    """Draft, name, check and save a form template (see the module)."""

    saved = Signal(str)  # the template file written

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New form template")
        self.setModal(False)
        self.draft = None                   # petitions' DraftedTemplate of the blank form
        self.cell_names: list[QComboBox] = []
        self.field_names: list[QComboBox] = []
        self.saved_path: str | None = None

        side = QWidget()
        lay = QVBoxLayout(side)
        src = QFormLayout()
        self.blank = PathEdit(mode="open", caption="Scan of the blank form", filter=SCAN_FILTER,
                              tip="A scan of the BLANK form: upright, the whole page, 150 dpi or more "
                                  "(200-300 dpi for hairline rules); PDF, TIFF, PNG or JPEG")
        self.blank.edit.returnPressed.connect(self.make_draft)
        self.page, self.draft_btn, row = _page_and_button(
            "The page of the scan that holds the blank form", "&Draft",
            "Find the form's rules, rows, columns, declaration lines and corner marks", self.make_draft)
        src.addRow("&Blank form:", self.blank)
        src.addRow("&Page:", row)
        lay.addLayout(src)
        self.summary = QLabel("Open a scan of the blank form and press Draft.")
        self.summary.setObjectName("templateSummary")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.cells_box = QGroupBox("&Columns: name each numbered cell of a line")
        self.cells_form = QFormLayout(self.cells_box)
        lay.addWidget(self.cells_box)
        self.fields_box = QGroupBox("Declaration &fields (F1, F2, …)")
        self.fields_form = QFormLayout(self.fields_box)
        lay.addWidget(self.fields_box)
        out = QFormLayout()
        self.name = QLineEdit()
        self.name.setToolTip("The template's name, shown in segments.json and messages (default: the file's name)")
        out.addRow("Template &name:", self.name)
        self.sample = PathEdit(mode="open", caption="A filled scan to check the template on", filter=SCAN_FILTER,
                               tip="A filled page of this form: every line's cells are drawn where the "
                                   "segmenter puts them")
        self.sample_page, self.check_btn, row = _page_and_button(
            "The page of the sample scan to check", "Chec&k on the sample",
            "Segment the sample page with the named template and draw its cells", self.check_sample)
        out.addRow("Sa&mple scan:", self.sample)
        out.addRow("Sample pa&ge:", row)
        self.out = PathEdit(mode="save", caption="Save the template as", filter="Template (*.json)",
                            tip="The template file (.json) to write")
        out.addRow("Save &as:", self.out)
        lay.addLayout(out)
        self.error = QLabel("")
        self.error.setObjectName("templateError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.error)
        btns = QHBoxLayout()
        self.save_btn = QPushButton("&Save template")
        self.save_btn.setToolTip("Write the template with the names given (drafted again from the blank form)")
        self.save_btn.clicked.connect(self.save)
        close = QPushButton("Close")
        close.setToolTip("Close this window (a saved template stays saved; an unsaved draft is dropped)")
        close.clicked.connect(self.reject)
        btns.addWidget(self.save_btn)
        btns.addWidget(close)
        lay.addLayout(btns)
        lay.addStretch(1)

        self.views = QTabWidget()
        self.blank_view = PageView("The blank form, with the cells found, shows here.")
        self.sample_view = PageView("A sample scan, with the template's cells drawn, shows here.")
        self.views.addTab(self.blank_view, "Blank form")
        self.views.addTab(self.sample_view, "Sample scan")
        self.views.tabBar().setToolTip("The blank form with the cells found, or the sample scan with the template")
        outer = QHBoxLayout(self)
        outer.addWidget(self.views, 3)
        outer.addWidget(side, 2)
        self.resize(1400, 900)
        # Enter in a path field does that field's step (draft, check, save), never a Browse… button.
        for b in self.findChildren(QPushButton):
            b.setAutoDefault(False)
            b.setDefault(False)
        self.sample.edit.returnPressed.connect(self.check_sample)
        self.out.edit.returnPressed.connect(self.save)
        self._set_drafted(False)

    # -------------------------------------------------------------- helpers
    def _set_drafted(self, ok: bool) -> None:
        for w in (self.cells_box, self.fields_box, self.name, self.sample, self.sample_page, self.check_btn,
                  self.out, self.save_btn):
            w.setEnabled(ok)

    def _fail(self, message: str) -> None:
        self.error.setText(message)

    def _busy(self, fn):
        """Run `fn()` with a wait cursor; a refusal (a user error) is shown
        as one line and None returned. A bug is raised."""
        self.error.setText("")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - a user error is shown in its words; a bug is raised
            if not petitions.is_user_error(exc):
                raise
            self._fail(str(exc))
            return None
        finally:
            QApplication.restoreOverrideCursor()

    @staticmethod
    def _combo(names, current: str, tip: str) -> QComboBox:
        c = QComboBox()
        c.setEditable(True)  # any other name is kept as a content cell
        c.addItems(list(names))
        c.setCurrentText(current)
        c.setToolTip(tip)
        return c

    def _clear_form(self, form: QFormLayout, combos: list) -> None:
        while form.rowCount():
            form.removeRow(0)
        combos.clear()

    # --------------------------------------------------------------- steps
    def make_draft(self) -> None:
        """Draft from the blank form's scan and show it with the cells numbered."""
        path = self.blank.text()
        self._set_drafted(False)
        self.draft = None
        self._clear_form(self.cells_form, self.cell_names)
        self._clear_form(self.fields_form, self.field_names)
        if not path:
            self._fail("choose the scan of the blank form")
            return
        page = self.page.value()

        def work():
            dr = petitions.draft_form_template(path, page=page)
            return dr, petitions.draw_template_on_blank(dr)

        got = self._busy(work)
        if got is None:
            self.blank_view.clear_image("No template: see the message.")
            self.summary.setText("Nothing drafted.")
            return
        self.draft, drawn = got
        t = self.draft.template
        self.blank_view.show_image(drawn)
        self.views.setCurrentWidget(self.blank_view)
        for k, (name, where) in enumerate(self.draft.cells, start=1):
            c = self._combo(petitions.TEMPLATE_COLUMN_NAMES, name, f"Cell {k} of each line: {where}")
            c.setObjectName(f"cell{k}")
            self.cells_form.addRow(f"Cell &{k}:" if k <= 9 else f"Cell {k}:", c)
            c.show()  # at once (a layout shows a new child only on the next event), so it can take the focus
            self.cell_names.append(c)
        for k, (name, where) in enumerate(self.draft.fields, start=1):
            c = self._combo(petitions.TEMPLATE_FIELD_NAMES, name, f"Field F{k}: {where}")
            c.setObjectName(f"field{k}")
            self.fields_form.addRow(f"F{k}:", c)
            c.show()
            self.field_names.append(c)
        self.fields_box.setVisible(bool(self.field_names))
        if not self.name.text():
            self.name.setText(Path(path).stem)
        if not self.out.text():
            self.out.setText(str(Path(path).with_suffix(".json")))
        marks = len(t.marks)
        self.summary.setText(
            f"{Path(path).name} page {page}: {t.line_count} lines from {t.line_top:.2f} in, every "
            f"{t.line_pitch:.3f} in; {len(t.cells)} cells a line, {len(t.fields)} declaration field(s), "
            + (f"{marks} corner marks." if marks else "no corner marks (pages are registered by the table).")
            + (" The names are guessed: check each against the numbers drawn on the form." if self.draft.guessed
               else ""))
        self._set_drafted(True)
        # Tab runs from the draft button through the cells and fields to the rest of the form.
        chain = [self.draft_btn, *self.cell_names, *self.field_names, self.name, self.sample.edit, self.sample_page,
                 self.check_btn, self.out.edit, self.save_btn]
        for a, b in zip(chain[:-1], chain[1:]):
            QWidget.setTabOrder(a, b)
        if self.cell_names:
            self.cell_names[0].setFocus()

    def names(self) -> tuple[list[str], list[str]]:
        """The cell and field names as given."""
        return ([c.currentText().strip() for c in self.cell_names], [c.currentText().strip() for c in self.field_names])

    def named_template(self):
        """The template with the person's names (drafted again from the same
        blank form, so masks follow the names), or None with the refusal shown."""
        if self.draft is None:
            self._fail("draft a template from the blank form first")
            return None
        cols, fields = self.names()
        dr = self.draft
        got = self._busy(lambda: petitions.draft_form_template(dr.path, page=dr.page, columns=cols,
                                                               fields=fields, name=self.name.text().strip() or None))
        return None if got is None else got.template

    def check_sample(self) -> None:
        """Draw the named template's cells over a page of a filled scan."""
        t = self.named_template()
        if t is None:
            return
        path = self.sample.text()
        if not path:
            self._fail("choose a filled scan to check the template on")
            return
        page = self.sample_page.value()
        got = self._busy(lambda: petitions.check_template_page(t, path, page=page))
        if got is None:
            self.sample_view.clear_image("The template does not fit this page: see the message.")
            return
        drawn, check = got
        self.sample_view.show_image(drawn)
        self.views.setCurrentWidget(self.sample_view)
        self.summary.setText(f"{Path(path).name} page {page}: "
                             + ("the layout fit is not certain: look at every cell before using the template."
                                if check else "every cell drawn where the segmenter puts it; look them over."))

    def save(self) -> None:
        """Write the named template; nothing is written on a refusal."""
        t = self.named_template()
        if t is None:
            return
        out = self.out.text()
        if not out:
            self._fail("choose where to save the template (Save as)")
            return
        got = self._busy(lambda: petitions.save_form_template(t, out))
        if got is None:
            return
        self.saved_path = str(got)
        self.summary.setText(f"Saved {got}: {t.line_count} lines, cells {', '.join(t.cells)}"
                             + (f"; fields {', '.join(t.fields)}" if t.fields else "") + ".")
        self.saved.emit(str(got))
