"""File ▸ New form template…: a template for a form of another layout,
made from a scan of the blank form (issue 19, docs/templates.md).

The person opens the scan, the workbench drafts the template and shows the
page with the cells it found drawn and numbered; the person names each
cell (and each declaration field) in a combo box, may give the template a
name, looks at the template on a filled sample scan, and saves it. The
measuring, drawing, checking and saving are ``petitions``'; this screen
only collects the names and shows what comes back, refusals in their own
words (one line, naming the file). Drafting, checking and saving read and
measure a whole scan (about a second), so each runs off the GUI thread
(:class:`gui.workers.CallThread`) while the window stays live.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

import petitions
from gui.dialogs import PathEdit
from gui.workers import CallThread

#: Steps still running when their window was closed: kept until they end,
#: so that no thread is destroyed while it runs.
_running: set = set()

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
    #: "draft", "check" or "save": the step has ended and what came back
    #: (or its refusal) is shown.
    step_done = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New form template")
        self.setModal(False)
        self.draft = None                   # petitions' DraftedTemplate of the blank form
        self.cell_names: list[QComboBox] = []
        self.field_names: list[QComboBox] = []
        self.saved_path: str | None = None
        self._task: CallThread | None = None   # the step running off the GUI thread
        self._then = None                      # (step, on_result, on_refusal) of that step

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

    @property
    def busy(self) -> bool:
        """A step (draft, check, save) is running."""
        return self._task is not None

    def _start(self, step: str, doing: str, fn, then, refused=None) -> None:
        """Run `fn()` off the GUI thread, the steps' buttons off meanwhile;
        then ``then(result)``, or the refusal shown in one line and
        ``refused()``. `doing` says what runs, in the summary."""
        if self._task is not None:
            return  # the buttons are off; Enter in a path field may still come here
        self.error.setText("")
        self.summary.setText(doing)
        self._then = (step, then, refused)
        self._set_running(True)
        task = self._task = CallThread(fn)   # no parent: it outlives a closed window (see _running)
        _running.add(task)
        task.finished.connect(lambda: _running.discard(task))
        task.done.connect(self._step_ended)
        task.start()

    def _step_ended(self, packet: tuple) -> None:
        result, error = packet
        step, then, refused = self._then
        self._task, self._then = None, None
        self._set_running(False)
        if error is None:
            then(result)
        else:
            self._fail(error)
            if refused is not None:
                refused()
        self.step_done.emit(step)

    def _set_running(self, on: bool) -> None:
        for w in (self.blank, self.page, self.draft_btn):
            w.setEnabled(not on)
        self._set_drafted(not on and self.draft is not None)
        if on:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    def wait(self, ms: int = 30_000) -> bool:
        """Wait for a running step to end (its result is shown on the next
        turn of the event loop). True when none is running any more."""
        return self._task is None or self._task.wait(ms)

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
        if self.busy:
            return
        path = self.blank.text()
        self._set_drafted(False)
        self.draft = None
        self._clear_form(self.cells_form, self.cell_names)
        self._clear_form(self.fields_form, self.field_names)
        if not path:
            self._fail("choose the scan of the blank form")
            self.blank_view.clear_image("No template: see the message.")
            return
        page = self.page.value()

        def work():
            dr = petitions.draft_form_template(path, page=page)
            return dr, petitions.draw_template_on_blank(dr)

        def nothing():
            self.blank_view.clear_image("No template: see the message.")
            self.summary.setText("Nothing drafted.")

        self._start("draft", f"Drafting a template from {Path(path).name} page {page}…", work,
                    lambda got: self._show_draft(path, page, got), nothing)

    def _show_draft(self, path: str, page: int, got) -> None:
        """Show the drafted blank form, and a combo box for each cell and field."""
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

    def _named(self):
        """A function drafting the template with the person's names again from
        the same blank form (so masks follow the names), for a step to run;
        None, with the refusal shown, before a draft."""
        if self.draft is None:
            self._fail("draft a template from the blank form first")
            return None
        cols, fields = self.names()
        dr, name = self.draft, self.name.text().strip() or None
        return lambda: petitions.draft_form_template(dr.path, page=dr.page, columns=cols, fields=fields,
                                                     name=name).template

    def _named_with(self, edit, missing: str):
        """``(_named(), edit's text)`` for a step, or None with the refusal
        shown (no draft yet, or `edit` empty: `missing` said)."""
        named = self._named()
        if named is None:
            return None
        text = edit.text()
        if not text:
            self._fail(missing)
            return None
        return named, text

    def check_sample(self) -> None:
        """Draw the named template's cells over a page of a filled scan."""
        got = self._named_with(self.sample, "choose a filled scan to check the template on")
        if got is None:
            return
        named, path = got
        page = self.sample_page.value()

        def shown(got) -> None:
            drawn, check = got
            self.sample_view.show_image(drawn)
            self.views.setCurrentWidget(self.sample_view)
            self.summary.setText(f"{Path(path).name} page {page}: "
                                 + ("the layout fit is not certain: look at every cell before using the template."
                                    if check else "every cell drawn where the segmenter puts it; look them over."))

        self._start("check", f"Checking the template on {Path(path).name} page {page}…",
                    lambda: petitions.check_template_page(named(), path, page=page), shown,
                    lambda: self.sample_view.clear_image("The template does not fit this page: see the message."))

    def save(self) -> None:
        """Write the named template; nothing is written on a refusal."""
        got = self._named_with(self.out, "choose where to save the template (Save as)")
        if got is None:
            return
        named, out = got

        def write():
            t = named()
            return t, petitions.save_form_template(t, out)

        def done(got) -> None:
            t, written = got
            self.saved_path = str(written)
            self.summary.setText(f"Saved {written}: {t.line_count} lines, cells {', '.join(t.cells)}"
                                 + (f"; fields {', '.join(t.fields)}" if t.fields else "") + ".")
            self.saved.emit(str(written))

        self._start("save", f"Saving the template as {out}…", write, done)
