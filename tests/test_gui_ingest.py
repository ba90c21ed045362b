"""File ▸ Add scans through the real window (pytest-qt, offscreen): every
file on one shared pool of segmentation processes (petitions.ingest_files),
a progress bar over the pages of all the files, each bad file reported by
name while the others go on, and Cancel keeping what was committed (issue 19)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

import gui  # noqa: E402,F401
import petitions  # noqa: E402
from fixtures.forms import FormLine, render_page, scan, write_document  # noqa: E402
from gui_helpers import open_window  # noqa: E402
from petitions import stages  # noqa: E402
from petitions.store import Workspace  # noqa: E402

CLERK = "clerk"


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """Four sections of two pages each (PDF and TIFF), a corrupt PDF, an empty file."""
    out = tmp_path_factory.mktemp("docs")
    rng = np.random.default_rng(41)
    paths = []
    for k in range(4):
        pages = []
        for pg in range(2):
            lines = [FormLine("Ann Lee", "1 Main St", "Los Angeles", "90012", "03/01/26")] * (3 + k + pg)
            pages.append(scan(render_page(lines, section_number=k + 1, page_number=pg + 1, dpi=150, rng=rng)[0],
                              rng=rng, skew_deg=float(rng.uniform(-2, 2)))[0])
        fmt = "pdf" if k % 2 == 0 else "tiff"
        (p,) = write_document(pages, out / f"section-{k + 1}.{'pdf' if fmt == 'pdf' else 'tif'}", fmt=fmt, dpi=150)
        paths.append(str(p))
    junk = out / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4 this is not a PDF")
    empty = out / "empty.tif"
    empty.write_bytes(b"")
    return paths, str(junk), str(empty)


@pytest.fixture()
def workspace(tmp_path):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        ws.ensure_user(CLERK, "supervisor")
        fid = stages.create_filing(ws, name="Measure Q", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                                   user=CLERK, required=10)
    return root, fid


def _sections(root) -> list[tuple[int, str]]:
    with Workspace(root) as ws:
        return [(r["number"], r["path"]) for r in ws._rows(
            "SELECT s.number, d.path FROM sections s JOIN documents d ON d.id = s.document_id ORDER BY s.number")]


def test_add_scans_ingests_every_file_on_one_pool_and_names_each_bad_file(qtbot, workspace, documents,
                                                                           monkeypatch):
    root, fid = workspace
    good, junk, empty = documents
    pools, one_by_one = [], []
    real_pool = petitions.worker_pool

    def counting_pool(*a, **kw):
        pools.append(1)
        return real_pool(*a, **kw)

    monkeypatch.setattr(petitions, "worker_pool", counting_pool)
    monkeypatch.setattr(petitions, "ingest_document", lambda *a, **kw: one_by_one.append(a))
    win = open_window(qtbot, root, user=CLERK, filing=fid)
    files = [good[0], junk, good[1], empty, good[2]]
    job = win.add_scans(files)
    seen = []
    job.thread.progress_changed.connect(lambda st, d, t, _left: seen.append((st, d, t)))
    qtbot.waitUntil(lambda: job.completed, timeout=180_000)
    assert job.error is None and not job.was_cancelled
    # One pool for all the files, none ingested one by one.
    assert pools == [1] and one_by_one == []
    # The good files are sections in the order given; each bad one is named with its problem.
    assert [p for _n, p in _sections(root)] == [good[0], good[1], good[2]]
    notice = win.notices[-1]
    assert [p.split(":")[0] for p in notice.problems] == ["junk.pdf", "empty.tif"]
    assert "file is empty" in notice.problems[1]
    assert "section-1.pdf: section 1, 2 page(s)" in notice.message and "section-3.pdf: section 3" in notice.message
    # The bar ran over the pages of all the files, to the end.
    assert seen and {st for st, _d, _t in seen} == {"pages"} and seen[-1] == ("pages", 6, 6)
    assert job.stage.text() == "pages: 6 of 6"
    # Again with one file more: the three already in are skipped as such.
    job = win.add_scans(files[:3] + [good[3]])
    qtbot.waitUntil(lambda: job.completed, timeout=180_000)
    assert win.notices[-1].message.count("already ingested") == 2
    assert [p for _n, p in _sections(root)][-1] == good[3]
    win.close()


def test_cancel_keeps_the_files_committed_and_lists_the_others_as_not_stored(qtbot, workspace, documents):
    root, fid = workspace
    good, _junk, _empty = documents
    win = open_window(qtbot, root, user=CLERK, filing=fid)
    job = win.add_scans(good)

    def cancel_in_the_second_file(stage, done, total, _left):
        if done == 3:   # the second file's first page: the first file is committed
            job.thread.cancel()

    # In the job's thread, at once: the cancel lands at this very page.
    job.thread.progress_changed.connect(cancel_in_the_second_file, Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: job.completed, timeout=180_000)
    assert job.was_cancelled and job.error is None
    assert [p for _n, p in _sections(root)] == [good[0]]
    results = win.last_scan_results
    assert [r[1] is not None for r in results] == [True, False, False, False]
    assert all(r[2] == "cancelled; nothing of this file was stored" for r in results[1:])
    with Workspace(root) as ws:
        # nothing of the cancelled files: no pages, no lines, no document rows
        assert ws._scalar("SELECT COUNT(*) FROM documents") == 1
        assert ws._scalar("SELECT COUNT(*) FROM pages") == 2
    # They go in on the next try.
    job = win.add_scans(good)
    qtbot.waitUntil(lambda: job.completed, timeout=180_000)
    assert [p for _n, p in _sections(root)] == good
    win.close()


def test_scans_of_another_form_are_read_with_the_template_made_in_the_workbench(qtbot, workspace, tmp_path):
    """A form the workbench does not know is refused per file (suggesting a
    template); with the template drafted from its blank form, it is read."""
    from fixtures.forms import layout_template, render_template_page

    root, fid = workspace
    rng = np.random.default_rng(43)
    spec = layout_template("la-single-row")
    blank = scan(render_template_page(spec, [], dpi=200, rng=rng)[0], rng=rng, skew_deg=0.8, noise=0.02)[0]
    (blank_pdf,) = write_document([blank], tmp_path / "blank.pdf", fmt="pdf", dpi=200)
    t = petitions.draft_form_template(blank_pdf, columns=["number", "printed_name", "signature", "address", "city",
                                                          "zip", "official"]).template
    t_json = petitions.save_form_template(t, tmp_path / "la.json")
    lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, s) for s in ("signed", "blank", "struck")]
    page = scan(render_template_page(spec, lines, dpi=200, rng=rng)[0], rng=rng, skew_deg=-1.5, noise=0.02)[0]
    (filled,) = write_document([page], tmp_path / "la-section.pdf", fmt="pdf", dpi=200)
    win = open_window(qtbot, root, user=CLERK, filing=fid)
    assert win.scans_tpl_action.isEnabled()
    job = win.add_scans([str(filled)])
    qtbot.waitUntil(lambda: job.completed, timeout=180_000)
    assert _sections(root) == []
    assert "template draft" in win.notices[-1].problems[0] and win.notices[-1].problems[0].startswith("la-section.pdf")
    job = win.add_scans_with_template(str(t_json), [str(filled)])
    qtbot.waitUntil(lambda: job.completed, timeout=180_000)
    assert job.error is None and [p for _n, p in _sections(root)] == [str(filled)]
    with Workspace(root) as ws:
        states = [r["state"] for r in ws._rows("SELECT state FROM lines ORDER BY seq")]
    assert states == ["signed", "blank", "struck"] + ["blank"] * 7
    # The template is kept with the filing: the next scans are read with it
    # without its file, chosen from the templates the filing was read with.
    t_json.unlink()
    page2 = scan(render_template_page(spec, lines[::-1], dpi=200, rng=rng)[0], rng=rng, skew_deg=1.0, noise=0.02)[0]
    (filled2,) = write_document([page2], tmp_path / "la-section-2.pdf", fmt="pdf", dpi=200)
    assert win.add_scans_with_template(paths=[str(filled2)]) is None   # the choice comes first
    qtbot.waitUntil(lambda: win.template_chooser is not None and win.template_chooser.isVisible(), timeout=20_000)
    items = win.template_chooser.comboBoxItems()
    assert len(items) == 2 and items[0].startswith(f"{t.name}: 1 section(s) read with it") and \
        items[1] == win.OTHER_TEMPLATE
    win.template_chooser.setTextValue(items[0])
    win.template_chooser.accept()
    qtbot.waitUntil(lambda: win.template_job is not None and win.template_job.completed, timeout=180_000)
    assert win.template_job.error is None and [p for _n, p in _sections(root)] == [str(filled), str(filled2)]
    with Workspace(root) as ws:
        states = [r["state"] for r in ws._rows("SELECT state FROM lines ORDER BY seq")]
    assert states[10:13] == ["struck", "blank", "signed"]
    # A template file that is not there: one line naming it, nothing stored.
    job = win.add_scans_with_template(str(tmp_path / "none.json"), [str(filled)])
    qtbot.waitUntil(lambda: job.completed, timeout=60_000)
    assert "none.json" in job.error and "not found" in job.error
    win.close()
