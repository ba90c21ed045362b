"""A page whose layout fit is confident but not certain (issue 19 item 1:
"marked for a person to check") is stored as such by the ingest, said in its
summary, and none of its signed lines can be auto-accepted: triage holds them
at ``review_layout`` (the law's own test is in test_triage.py)."""
from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from fixtures.forms import FormLine, render_page, write_document  # noqa: E402
from petitions import stages  # noqa: E402
from petitions.cli import main as cli_main  # noqa: E402
from petitions.review.pages import page_view  # noqa: E402
from petitions.stages.decide import triage_inputs  # noqa: E402
from petitions.store import Workspace  # noqa: E402


def _two_pages(path: Path) -> Path:
    """Page 1 as printed; page 2 with one rule between two lines lost (as a
    faint rule a scanner dropped): the fit finds 20 of the form's 21 rules."""
    rng = np.random.default_rng(2)   # (seed 1's first page has two strokes the fit takes for rules: a check too)
    pages = []
    for k in range(2):
        lines = [FormLine(f"Signer {k}-{i}", f"{i + 10} Main St", "Los Angeles", "90012") for i in range(6)]
        page, _ = render_page(lines, page_number=k + 1, dpi=150, rng=rng)
        pages.append(page)
    rows = np.where((pages[1] < 128).mean(axis=1) > 0.5)[0]
    # the rules drawn across the table, as runs of dark rows; drop one inside the table
    starts = [int(r) for i, r in enumerate(rows) if i == 0 or rows[i - 1] != r - 1]
    y = starts[len(starts) // 2]
    band = pages[1][y - 1:y + 5]
    band[band < 128] = 255
    (doc,) = write_document(pages, path, fmt="pdf", dpi=150)
    return doc


def test_a_page_to_check_is_stored_said_and_its_lines_held_for_a_person(tmp_path, capsys, qtbot):
    doc = _two_pages(tmp_path / "section.pdf")
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        fid = stages.create_filing(ws, name="Check", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                                   user="sup", required=10)
    assert cli_main(["ingest", "-w", str(root), "--user", "sup", "--filing", "Check", str(doc)]) == 0
    out, err = capsys.readouterr()
    assert "section 1, 2 pages" in out
    assert "check: page 2: the layout fit is not certain" in err and "page 1:" not in err
    with Workspace(root) as ws:
        pages = ws._rows("SELECT id, number, segmentation_json FROM pages ORDER BY number")
        seg = {p["number"]: json.loads(p["segmentation_json"]) for p in pages}
        assert [seg[1]["check"], seg[2]["check"]] == [False, True]
        assert seg[1]["template"] == seg[2]["template"] == "sigverify-single-row"
        assert seg[2]["fit"]["found"] == seg[2]["fit"]["rules"] - 1 and seg[2]["fit"]["missing"]
        ev = ws._rows("SELECT payload_json FROM events WHERE kind = 'document_ingested'")
        assert json.loads(ev[0]["payload_json"])["check_pages"] == [2]
        df = triage_inputs(ws, fid)
        page_of = {r["id"]: r["page_id"] for r in ws._rows("SELECT id, page_id FROM lines")}
        page2 = next(p["id"] for p in pages if p["number"] == 2)
        held = {r["line_id"] for r in df.iter_rows(named=True) if r["layout_check"]}
        assert held and held == {lid for lid, pid in page_of.items() if pid == page2}
        views = {p["number"]: page_view(ws, p["id"]) for p in pages}
    assert [views[1].layout_check, views[2].layout_check] == [False, True]
    # The page as the reviewer sees it says so above the scan (the real widget).
    from gui.page_view import PageViewer

    viewer = PageViewer()
    qtbot.addWidget(viewer)
    viewer.show()
    viewer.show_page(views[2], None)
    assert viewer.layout_note.isVisible() and "not certain" in viewer.layout_note.text()
    viewer.show_page(views[1], None)
    assert not viewer.layout_note.isVisible()
