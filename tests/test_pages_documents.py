"""Reading scanned documents, and batches that survive bad pages."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from fixtures.forms import FormLine, render_page, scan, write_document
from sigverify.errors import ImageInputError
from sigverify.pages import open_document, read_document, segment_document


@pytest.fixture(scope="module")
def pages():
    rng = np.random.default_rng(0)
    out = []
    for k, layout in enumerate(["single_row", "two_row", "single_row"]):
        img, _ = render_page([FormLine("Ann Lee", "1 Main St", "LA", "90012", "3/1/26", None, "signed")],
                             layout=layout, dpi=100, rng=rng, page_number=k + 1)
        out.append(scan(img, rng=rng, skew_deg=1.0 - k)[0])
    return out


def _bilevel(p):
    return np.where(p < 150, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("fmt, bilevel", [("pdf", False), ("pdf", True), ("tiff", True), ("tiff", False),
                                          ("png", False), ("jpeg", False)])
def test_formats_round_trip_with_resolution(tmp_path, pages, fmt, bilevel):
    src = [_bilevel(p) for p in pages] if bilevel else pages
    files = write_document(src, tmp_path / "doc", fmt=fmt, dpi=100)
    target = files[0] if fmt in ("pdf", "tiff") else tmp_path / "doc"
    got = list(read_document(target))
    assert [p.number for p in got] == [1, 2, 3]
    for p, want in zip(got, src):
        assert p.image.dtype == np.uint8 and p.image.shape == want.shape
        assert p.dpi == pytest.approx(100) and p.dpi_source == "metadata"
        err = np.abs(p.image.astype(int) - want).mean()
        assert err < (0.5 if (bilevel or fmt in ("png", "tiff")) else 6.0)


def test_resolution_estimated_without_metadata_or_given(tmp_path, pages):
    f = tmp_path / "page.png"
    cv2.imwrite(str(f), pages[0])  # OpenCV writes no pHYs chunk
    (p,) = read_document(f)
    assert p.dpi_source == "estimated" and p.dpi == pytest.approx(100, rel=0.01)
    (p,) = read_document(f, dpi=300)
    assert p.dpi == 300 and p.dpi_source == "given"


def _png_header(w, h):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


def test_bad_inputs_name_the_file(tmp_path, pages):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(ImageInputError, match="empty"):
        open_document(empty)
    with pytest.raises(ImageInputError, match="not found"):
        open_document(tmp_path / "missing.tif")
    (pdf,) = write_document(pages, tmp_path / "ok.pdf", fmt="pdf", dpi=100)
    trunc = tmp_path / "truncated.pdf"
    trunc.write_bytes(pdf.read_bytes()[:2000])
    with pytest.raises(ImageInputError, match="truncated.pdf"):
        list(read_document(trunc))
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(20_000, 20_000))
    with pytest.raises(ImageInputError, match="too large") as exc:
        list(read_document(huge))
    assert "huge.png" in str(exc.value)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(ImageInputError, match="junk.jpg"):
        list(read_document(junk))


def test_batch_reports_bad_pages_and_carries_on(tmp_path, pages):
    not_a_form = np.full_like(pages[0], 245)
    cv2.putText(not_a_form, "MEMO", (100, 300), cv2.FONT_HERSHEY_SIMPLEX, 3, 0, 5)
    (tif,) = write_document([pages[0], not_a_form, pages[2]], tmp_path / "mixed.tif", fmt="tiff", dpi=100)
    seen = []
    res = list(segment_document(tif, workers=2, progress=lambda d, t: seen.append((d, t))))
    assert [r.page.number for r in res] == [1, 2, 3]
    assert res[0].ok and res[2].ok and not res[1].ok
    assert res[1].error.page == 2 and "mixed.tif" in str(res[1].error)
    assert res[0].segmentation.template == "sigverify-single-row"
    assert res[0].segmentation.lines[0].state == "signed" and res[0].segmentation.lines[1].state == "blank"
    assert seen[-1] == (3, 3) and len(seen) == 3
    # Same answers in one process; cancel stops early.
    res1 = list(segment_document(tif, workers=1))
    assert [r.ok for r in res1] == [True, False, True]
    assert [ln.signature for ln in res1[2].segmentation.lines] == [ln.signature for ln in res[2].segmentation.lines]
    calls = []
    assert list(segment_document(tif, workers=1, cancel=lambda: calls.append(1) or len(calls) > 1))[0].ok
