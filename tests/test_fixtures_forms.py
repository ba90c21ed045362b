"""The petition page renderer, scanner simulation and document writers."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fixtures.forms import FormLine, render_page, scan, transform_box, transform_truth, write_document


def _lines(states):
    return [FormLine("Ann Lee", "12 Main St", "Los Angeles", "90012", "03/01/26", None, s) for s in states]


@pytest.mark.parametrize("layout, count", [("single_row", 10), ("two_row", 8)])
def test_render_is_deterministic_and_labelled(layout, count):
    a, ta = render_page(_lines(["signed", "blank", "struck"]), layout=layout, section_number=3, page_number=2,
                        dpi=100, rng=np.random.default_rng(5))
    b, tb = render_page(_lines(["signed", "blank", "struck"]), layout=layout, section_number=3, page_number=2,
                        dpi=100, rng=np.random.default_rng(5))
    assert a.dtype == np.uint8 and a.shape == (1100, 850)
    assert np.array_equal(a, b) and ta == tb
    assert len(ta["lines"]) == count
    assert [ln["state"] for ln in ta["lines"][:4]] == ["signed", "blank", "struck", "blank"]
    # Line numbers run on through the section: page 2 starts after page 1's lines.
    assert ta["lines"][0]["number"] == count + 1


def test_signed_cells_hold_ink_and_blank_cells_do_not():
    page, t = render_page(_lines(["signed", "blank"]), dpi=100, rng=np.random.default_rng(1))

    def inner_ink(box):
        x, y, w, h = (int(round(v)) for v in box)
        return (page[y + 4: y + h - 4, x + 4: x + w - 4] < 128).mean()

    assert inner_ink(t["lines"][0]["signature"]) > 0.01
    assert inner_ink(t["lines"][0]["printed_name"]) > 0.005
    assert inner_ink(t["lines"][1]["signature"]) == 0.0
    # The cell's top rule is printed where the truth says.
    x, y, w, h = (int(round(v)) for v in t["lines"][1]["signature"])
    assert (page[y - 1: y + 2, x + 5: x + w - 5] < 128).any(axis=0).mean() > 0.95


def test_scan_transform_carries_truth_into_the_scan():
    page, t = render_page(_lines(["signed"]), dpi=100, rng=np.random.default_rng(2))
    img, M = scan(page, rng=np.random.default_rng(3), skew_deg=4, shift=(10, -6), scale=0.98, rotate180=True,
                  noise=0.03)
    assert img.shape == page.shape and M.shape == (3, 3)
    # The top-left registration mark (0.55 in, 0.55 in) lands on dark pixels of the scan.
    c = M @ np.array([55.0, 55.0, 1.0])
    assert img[int(round(c[1])), int(round(c[0]))] < 100
    tt = transform_truth(t, M)
    assert tt["lines"][0]["signature"] == transform_box(t["lines"][0]["signature"], M)


def test_scan_bilevel_and_jpeg():
    page, _ = render_page([], dpi=80, rng=np.random.default_rng(0))
    bl, _ = scan(page, rng=np.random.default_rng(0), bilevel=True, noise=0.05)
    assert set(np.unique(bl)) <= {0, 255}
    jp, _ = scan(page, rng=np.random.default_rng(0), jpeg_quality=40)
    assert jp.dtype == np.uint8 and len(np.unique(jp)) > 2


def test_write_document_formats(tmp_path):
    page, _ = render_page([], dpi=60, rng=np.random.default_rng(0))
    bl = np.where(page < 128, 0, 255).astype(np.uint8)
    (tif,) = write_document([bl, bl], tmp_path / "fax.tif", fmt="tiff", dpi=60)
    with Image.open(tif) as im:
        assert im.n_frames == 2 and im.info["compression"] == "group4"
        assert round(im.info["dpi"][0]) == 60
    (pdf,) = write_document([page, page, page], tmp_path / "scan.pdf", fmt="pdf", dpi=60)
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    assert len(doc) == 3 and doc[0].get_size() == pytest.approx((612.0, 792.0), abs=1.5)  # US Letter
    doc.close()
    pngs = write_document([page, page], tmp_path / "pages", fmt="png", dpi=60)
    assert [p.name for p in pngs] == ["page-001.png", "page-002.png"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="layout"):
        render_page([], layout="three_row", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="state"):
        render_page([FormLine(state="torn")], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="lines"):
        render_page(_lines(["signed"] * 9), layout="two_row", rng=np.random.default_rng(0))


def test_scan_perspective_is_a_homography_that_carries_truth():
    page, t = render_page(_lines(["signed"]), dpi=100, rng=np.random.default_rng(2))
    img, M = scan(page, rng=np.random.default_rng(3), perspective=0.05, skew_deg=1.0)
    assert M[2, :2].any() and M[2, 2] == pytest.approx(1.0)
    # Every registration mark's centre lands on the mark in the photo.
    for x, y in ((55.0, 55.0), (795.0, 55.0), (795.0, 1045.0), (55.0, 1045.0)):
        c = M @ np.array([x, y, 1.0])
        assert img[int(round(c[1] / c[2])), int(round(c[0] / c[2]))] < 100
    # Without perspective the random stream, and so the scan, is unchanged.
    a, Ma = scan(page, rng=np.random.default_rng(3), skew_deg=1.0)
    b, Mb = scan(page, rng=np.random.default_rng(3), skew_deg=1.0, perspective=0.0)
    assert np.array_equal(a, b) and np.array_equal(Ma, Mb)
