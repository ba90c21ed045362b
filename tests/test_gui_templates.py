"""File ▸ New form template… driven with real widgets (pytest-qt, offscreen):
a blank form's scan drafted, its cells named in combo boxes by keyboard, the
template checked on a filled sample and saved; bad files refused in one line
naming the file, nothing saved (issue 19 item 2)."""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

import gui  # noqa: E402,F401
from fixtures.forms import FormLine, layout_template, render_page, render_template_page, scan, write_document  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from sigverify.pages import load_template, segment_page  # noqa: E402

LA_COLUMNS = ["number", "printed_name", "signature", "address", "city", "zip", "official"]


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """An LA-style blank form (PDF, skewed) and a filled page of it (PNG); a
    built-in two-row blank form with its declaration and corner marks (TIFF);
    a page of another form; a 0-byte file, a corrupt one and a blank sheet."""
    out = tmp_path_factory.mktemp("scans")
    rng = np.random.default_rng(31)
    spec = layout_template("la-single-row")
    blank = scan(render_template_page(spec, [], dpi=200, rng=rng)[0], rng=rng, skew_deg=1.2, noise=0.02)[0]
    (blank_pdf,) = write_document([blank], out / "la-blank.pdf", fmt="pdf", dpi=200)
    lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, s) for s in ("signed", "blank", "struck")]
    filled = scan(render_template_page(spec, lines, dpi=200, rng=rng)[0], rng=rng, skew_deg=-2.0, noise=0.02)[0]
    (filled_png,) = write_document([filled], out / "la-filled.png", fmt="png", dpi=200)
    other = scan(render_page(lines, layout="two_row", dpi=200, rng=rng)[0], rng=rng)[0]
    (other_png,) = write_document([other], out / "other-form.png", fmt="png", dpi=200)
    two = scan(render_page([], layout="two_row", dpi=200, rng=rng)[0], rng=rng, skew_deg=-1.0, noise=0.02)[0]
    (two_tif,) = write_document([two], out / "two-row-blank.tif", fmt="tiff", dpi=200)
    empty = out / "empty.pdf"
    empty.write_bytes(b"")
    corrupt = out / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (sheet,) = write_document([np.full((2200, 1700), 250, np.uint8)], out / "blank-sheet.png", fmt="png", dpi=200)
    return dict(blank=blank_pdf, filled=filled_png, other=other_png, two=two_tif, empty=empty, corrupt=corrupt,
                sheet=sheet, spec=spec)


def _array(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    a = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return a[:, : 3 * w].reshape(h, w, 3).copy()


def _red(img: QImage) -> int:
    a = _array(img)
    return int(((a[:, :, 0] > 180) & (a[:, :, 1] < 80) & (a[:, :, 2] < 80)).sum())


def _step(qtbot, dlg, act) -> None:
    """Do `act()` (a click, a key) and wait for the step it starts to end:
    drafting, checking and saving run off the GUI thread."""
    with qtbot.waitSignal(dlg.step_done, timeout=30_000):
        act()
    assert not dlg.busy


@pytest.fixture()
def dialog(qtbot):
    win = MainWindow(None, restore_state=False)
    qtbot.addWidget(win)
    win.show()
    # Needs no workspace: reachable from the File menu at once.
    assert win.template_action.isEnabled()
    win.template_action.trigger()
    dlg = win.template_dialog
    assert dlg.isVisible() and not dlg.save_btn.isEnabled()
    yield win, dlg
    win.close()


def test_draft_name_the_columns_by_keyboard_check_on_a_sample_and_save(qtbot, dialog, scans, tmp_path):
    win, dlg = dialog
    qtbot.keyClicks(dlg.blank.edit, str(scans["blank"]))
    steps: list[str] = []
    dlg.step_done.connect(steps.append)
    with qtbot.waitSignal(dlg.step_done, timeout=30_000):
        qtbot.keyClick(dlg.blank.edit, Qt.Key.Key_Return)   # Enter drafts ...
        # ... off the GUI thread: the window answers meanwhile, the steps' buttons off until it ends.
        assert dlg.busy and not dlg.draft_btn.isEnabled() and not dlg.blank.isEnabled()
        assert "Drafting a template from la-blank.pdf page 1" in dlg.summary.text()
        qtbot.keyClick(dlg.blank.edit, Qt.Key.Key_Return)   # a second Enter meanwhile starts nothing
    qtbot.wait(200)
    assert steps == ["draft"]   # one draft ran, not two
    assert not dlg.busy and dlg.draft_btn.isEnabled() and dlg.error.text() == ""
    assert "10 lines" in dlg.summary.text() and "7 cells" in dlg.summary.text() and "guessed" in dlg.summary.text()
    assert len(dlg.cell_names) == 7 and not dlg.field_names and not dlg.fields_box.isVisible()
    # The page is shown with the cells drawn (the signature cells red).
    assert dlg.blank_view.image is not None and _red(dlg.blank_view.image) > 2000
    # Each cell's combo says where the cell is; the guesses are there to change.
    assert "x 0.40" in dlg.cell_names[0].toolTip() and dlg.cell_names[0].currentText() == "number"
    # Name the columns from the keyboard: type over each guess, Tab to the next.
    for k, (combo, name) in enumerate(zip(dlg.cell_names, LA_COLUMNS)):
        le = combo.lineEdit()
        le.setFocus()
        qtbot.keyClick(le, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(le, name)
        assert combo.currentText() == name
        if k + 1 < len(dlg.cell_names):
            qtbot.keyClick(le, Qt.Key.Key_Tab)
            assert dlg.focusWidget() in (dlg.cell_names[k + 1], dlg.cell_names[k + 1].lineEdit())
    dlg.name.setText("county-la")
    # A name given twice: refused in one line, nothing saved.
    out = tmp_path / "county-la.json"
    dlg.out.setText(str(out))
    dlg.cell_names[3].setCurrentText("signature")
    _step(qtbot, dlg, lambda: qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton))
    assert "given twice" in dlg.error.text() and "la-blank.pdf" in dlg.error.text() and not out.exists()
    dlg.cell_names[3].setCurrentText("address")
    # Checked on a filled sample: every line's cells drawn over it.
    dlg.sample.setText(str(scans["filled"]))
    _step(qtbot, dlg, lambda: qtbot.mouseClick(dlg.check_btn, Qt.MouseButton.LeftButton))
    assert dlg.error.text() == "" and dlg.views.currentWidget() is dlg.sample_view
    assert dlg.sample_view.image is not None and _red(dlg.sample_view.image) > 2000
    assert f"{scans['filled'].name} page 1" in dlg.summary.text()
    # A page of another form: refused, naming the file and the page.
    dlg.sample.setText(str(scans["other"]))
    _step(qtbot, dlg, lambda: qtbot.mouseClick(dlg.check_btn, Qt.MouseButton.LeftButton))
    assert f"{scans['other'].name} page 1" in dlg.error.text() and dlg.sample_view.image is None
    # Saved: the template names the columns as given and reads filled pages.
    with qtbot.waitSignal(dlg.saved, timeout=10_000):
        qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    data = json.loads(out.read_text())
    assert list(data["cells"]) == LA_COLUMNS and data["name"] == "county-la" and data["lines"]["count"] == 10
    assert data["cells"]["official"]["content"] is False and data["cells"]["number"]["content"] is False
    assert str(out) in dlg.summary.text() and "Template saved" in win.statusBar().currentMessage()
    page = cv2.imread(str(scans["filled"]), cv2.IMREAD_GRAYSCALE)
    seg = segment_page(page, template=load_template(out), dpi=200)
    assert [ln.state for ln in seg.lines[:3]] == ["signed", "blank", "struck"]


def test_the_declaration_fields_and_corner_marks_are_drafted_and_named(qtbot, dialog, scans, tmp_path):
    _win, dlg = dialog
    dlg.blank.setText(str(scans["two"]))
    _step(qtbot, dlg, lambda: qtbot.mouseClick(dlg.draft_btn, Qt.MouseButton.LeftButton))
    assert dlg.error.text() == "" and "8 lines" in dlg.summary.text()
    assert "4 declaration field(s)" in dlg.summary.text() and "4 corner marks" in dlg.summary.text()
    # Every control says what it does (as everywhere in the workbench).
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QTabBar

    for cls in (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox):
        for w in dlg.findChildren(cls):
            p = w.parentWidget()
            assert w.toolTip().strip() or (isinstance(p, (QAbstractSpinBox, QComboBox, QTabBar))
                                           and p.toolTip().strip()), (type(w).__name__, w.objectName())
    assert [c.currentText() for c in dlg.field_names] == ["circulator_name", "circulator_address",
                                                          "circulation_dates", "circulator_signature"]
    dlg.field_names[2].setCurrentText("dates_circulated")
    out = tmp_path / "two.json"
    dlg.out.setText(str(out))
    _step(qtbot, dlg, lambda: qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton))
    data = json.loads(out.read_text())
    assert list(data["fields"]) == ["circulator_name", "circulator_address", "dates_circulated",
                                    "circulator_signature"]
    assert len(data["marks"]) == 4


@pytest.mark.parametrize("key, words", [("empty", "file is empty"), ("corrupt", "corrupt.png"),
                                        ("sheet", "no ruled lines table"), ("missing", "file not found")])
def test_a_bad_blank_form_is_refused_in_one_line_naming_the_file_and_nothing_is_saved(qtbot, dialog, scans,
                                                                                      tmp_path, key, words):
    _win, dlg = dialog
    path = scans[key] if key != "missing" else tmp_path / "nowhere.pdf"
    # A good draft first: a bad file afterwards leaves nothing of it to save.
    dlg.blank.setText(str(scans["blank"]))
    _step(qtbot, dlg, lambda: qtbot.mouseClick(dlg.draft_btn, Qt.MouseButton.LeftButton))
    assert dlg.save_btn.isEnabled()
    dlg.out.setText(str(tmp_path / "t.json"))
    dlg.blank.setText(str(path))
    _step(qtbot, dlg, lambda: qtbot.mouseClick(dlg.draft_btn, Qt.MouseButton.LeftButton))
    msg = dlg.error.text()
    assert words in msg and path.name in msg and "\n" not in msg and "Traceback" not in msg
    assert dlg.draft is None and not dlg.save_btn.isEnabled() and not dlg.cell_names
    assert dlg.blank_view.image is None
    dlg.save()   # even called directly: nothing is written
    assert not (tmp_path / "t.json").exists() and "draft a template" in dlg.error.text()
