"""The layout fit's foreign rules (issue 19 item 1): a straight line the form
lacks, drawn across the table, makes the page one for a person to check;
signers printing in capitals (the flat tops of a line's letters a straight
run in every cell they fill, bridged across letters but broken at each space
between words) are writing, not a rule, and leave the page certain."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from fixtures.forms import FormLine, render_page, scan
from sigverify.pages import load_template, segment_page
from sigverify.pages.fit import verdict

DPI = 200


def _page(seed: int = 2) -> tuple[np.ndarray, object]:
    rng = np.random.default_rng(seed)
    lines = [FormLine(f"Signer {i}", f"{i + 10} Main St", "Los Angeles", "90012") for i in range(5)]
    page, _ = render_page(lines, dpi=DPI, rng=rng)
    return page, load_template("sigverify-single-row")


#: Signers who print in capitals, as the demo's filings have them.
NAMES = ["STEVEN COLE", "LUIS GONZALEZ", "MARIA DELGADO", "JOHN PATTERSON", "ANNA KOWALSKI", "ROBERT WASHINGTON",
         "LINDA NGUYEN", "JAMES OCONNOR", "KAREN MITCHELL", "DAVID HERNANDEZ"]
ADDRESSES = ["6231 PALM #A", "8602 W 65TH STREET #606", "7510 W 26TH", "1200 SUNSET BLVD", "455 MAIN ST APT 12",
             "9981 VENTURA BLVD", "310 OAK AVE", "77 ELM STREET", "5120 MELROSE AVE", "2400 FIGUEROA ST"]
CITIES = ["LOS ANGELES", "SYLMAR", "VAN NUYS", "ENCINO", "LOS ANGELES", "NORTH HOLLYWOOD", "LOS ANGELES", "TARZANA",
          "LOS ANGELES", "RESEDA"]


def _capitals_page(seed: int) -> np.ndarray:
    """A full page of signers printing in capitals, scanned as the fixtures' filings are."""
    rng = np.random.default_rng(seed)
    lines = [FormLine(NAMES[i], ADDRESSES[i], CITIES[i], f"900{i:02d}", "08/16/2026") for i in range(10)]
    page, _ = render_page(lines, dpi=DPI, rng=rng)
    page, _ = scan(page, rng=rng, skew_deg=float(rng.uniform(-2.5, 2.5)), noise=float(rng.uniform(0, 0.03)),
                   jpeg_quality=int(rng.integers(70, 95)))
    return page


def test_a_page_as_printed_is_certain():
    page, _t = _page()
    seg = segment_page(page, dpi=DPI)
    assert verdict(seg.fit) == "certain" and not seg.check


@pytest.mark.parametrize("seed", [5, 11])
def test_printed_capitals_across_a_line_are_writing_not_a_rule(seed):
    # These pages were marked check before (a foreign rule at the capitals'
    # tops, 'h 6.100 in' and 'h 8.090 in'): the runs summed over the row
    # passed for a rule, though none was longer than a word.
    seg = segment_page(_capitals_page(seed), dpi=DPI)
    assert seg.fit.foreign == 0 and not seg.check, seg.fit


@pytest.mark.parametrize("to_cell", [None, "address"])
def test_a_straight_line_the_form_lacks_makes_the_page_one_to_check(to_cell):
    # Across the whole table, or from its left edge to the end of a cell
    # half way along: a rule of another layout, or a ruler-straight strike.
    page, t = _page()
    tx, _ty, tw, _th = t.table
    _x, y, _w, h = t.cell_box(8, "signature")
    if to_cell is None:
        x1 = tx + tw
    else:
        cx, _cy, cw, _ch = t.cell_box(8, to_cell)
        x1 = cx + cw
    yy = int((y + 0.55 * h) * DPI)
    cv2.line(page, (int(tx * DPI), yy), (int(x1 * DPI), yy), 0, 3)
    seg = segment_page(page, dpi=DPI)
    assert seg.fit.foreign >= 1 and seg.check, seg.fit
