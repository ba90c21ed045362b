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


def test_page_batches_cover_every_page_in_order():
    from sigverify.pages.batch import BATCH_PAGES, page_batches

    for total in (1, 2, 7, 40, 121):
        for workers in (1, 2, 8):
            b = page_batches(total, workers)
            assert [n for run in b for n in run] == list(range(1, total + 1))
            assert max(map(len, b)) <= BATCH_PAGES
    assert page_batches(8, 2) == [[n] for n in range(1, 9)]  # short: one page a task
    assert len(page_batches(400, 2)[0]) == BATCH_PAGES


def test_pool_tasks_of_several_pages_keep_order_progress_and_cancel(tmp_path, pages, monkeypatch):
    from sigverify.pages import batch

    (tif,) = write_document([pages[k % 3] for k in range(7)], tmp_path / "seven.tif", fmt="tiff", dpi=100)
    monkeypatch.setattr(batch, "page_batches", lambda total, workers: [[1, 2, 3], [4, 5], [6, 7]])
    seen = []
    res = list(segment_document(tif, workers=2, progress=lambda d, t: seen.append((d, t))))
    assert [r.page.number for r in res] == list(range(1, 8))
    assert seen == [(d, 7) for d in range(1, 8)]  # once a page, though pages come back three at a time
    ref = list(segment_document(tif, workers=1))
    assert [r.segmentation.to_dict() for r in res] == [r.segmentation.to_dict() for r in ref]
    for a, b in zip(res, ref):
        for ca, cb in zip(a.segmentation.crops, b.segmentation.crops):
            assert all(np.array_equal(ca[k], cb[k]) for k in cb)
    # Cancel as soon as the first task is back: the pages of tasks not yet
    # started are dropped.
    got = list(segment_document(tif, workers=2, progress=lambda d, t: seen.append(d), cancel=lambda: len(seen) > 7))
    assert len(got) < 7


# --------------------------------------------------------------------------
# bad input (issue 6, item 8): every case names the file (and the page when
# there is one), and the rest of the batch carries on.


def encrypted_pdf() -> bytes:
    """A one-page PDF whose trailer names a standard security handler.

    /U does not match the empty user password, so a reader must ask for
    one: what an office gets when a scanner's "protect PDF" box was ticked.
    """
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            b"<< /Filter /Standard /V 1 /R 2 /O <" + b"41" * 32 + b"> /U <" + b"42" * 32 + b"> /P -4 >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<00112233445566778899aabbccddeeff> "
            b"<00112233445566778899aabbccddeeff>] >>\nstartxref\n%d\n%%%%EOF\n") % (len(objs) + 1, xref)
    return bytes(out)


def _tiff_header(w, h) -> bytes:
    """An uncompressed 8-bit TIFF that claims w x h pixels and holds 16 bytes."""
    entries = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 0),
               (277, 3, 1), (278, 4, h), (279, 4, w * h)]
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    out = b"II*\x00" + struct.pack("<I", ifd_at) + struct.pack("<H", len(entries))
    for tag, typ, val in entries:
        val = data_at if tag == 273 else val
        out += struct.pack("<HHI", tag, typ, 1) + (struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val))
    return out + struct.pack("<I", 0) + b"\x80" * 16


def _jpeg_claiming(w, h) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((16, 16), 200, np.uint8))
    b = bytearray(buf.tobytes())
    sof = b.find(b"\xff\xc0")
    b[sof + 5: sof + 9] = struct.pack(">HH", h, w)
    return bytes(b)


def _peak_rss_mb_of(code: str) -> tuple[float, str]:
    """Run `code` in a fresh interpreter; its peak RSS growth (MB) and its output."""
    import subprocess
    import sys

    prog = ("import resource, sys\n"
            "from sigverify.pages import segment_document, open_document\n"
            "import cv2, numpy\n"
            "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            + code +
            "\nprint('RSS', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) / 1024)\n")
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rss = float(out.stdout.strip().splitlines()[-1].split()[1])
    return rss, out.stdout


def test_encrypted_pdf_is_named_as_such(tmp_path):
    f = tmp_path / "protected.pdf"
    f.write_bytes(encrypted_pdf())
    with pytest.raises(ImageInputError, match="encrypted") as exc:
        list(segment_document(f, workers=1))
    assert "protected.pdf" in str(exc.value) and "password" in str(exc.value)


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_pdf_says_truncated(tmp_path, pages, keep):
    (pdf,) = write_document(pages, tmp_path / "ok.pdf", fmt="pdf", dpi=100)
    data = pdf.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageInputError, match="truncated") as exc:
        list(segment_document(cut, workers=1))
    assert "cut.pdf" in str(exc.value)


def test_corrupt_pdf_page_errors_and_the_others_carry_on(tmp_path, pages):
    (pdf,) = write_document(pages, tmp_path / "ok.pdf", fmt="pdf", dpi=100)
    data = bytearray(pdf.read_bytes())
    # Scramble the middle of page 2's embedded JPEG (its stream stays whole).
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    raw = doc[1].get_objects().__next__().get_data(decode_simple=False)
    import ctypes

    jpg = ctypes.string_at(raw, len(raw))
    doc.close()
    at = bytes(data).find(jpg[:400])
    assert at > 0
    rng = np.random.default_rng(3)
    lo, hi = at + len(jpg) // 4, at + 3 * len(jpg) // 4
    data[lo:hi] = rng.integers(0, 256, hi - lo).astype(np.uint8).tobytes()
    bad = tmp_path / "scrambled.pdf"
    bad.write_bytes(bytes(data))
    res = list(segment_document(bad, workers=1))
    assert [r.ok for r in res] == [True, False, True]
    assert res[1].error.page == 2 and "scrambled.pdf page 2" in str(res[1].error)
    # Garbage where a PDF should be: one error for the file.
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n" + rng.integers(0, 256, 3000).astype(np.uint8).tobytes() + b"\n%%EOF\n")
    with pytest.raises(ImageInputError, match="damaged") as exc:
        list(segment_document(junk, workers=1))
    assert "junk.pdf" in str(exc.value)


def test_truncated_jpeg_inside_a_pdf_is_a_page_error(tmp_path, pages, monkeypatch):
    from sigverify.pages import documents

    (pdf,) = write_document(pages[:1], tmp_path / "one.pdf", fmt="pdf", dpi=100)
    real = documents.ctypes.string_at
    monkeypatch.setattr(documents.ctypes, "string_at", lambda p, n: real(p, n)[: n // 2])
    with open_document(pdf) as doc:
        with pytest.raises(ImageInputError, match="truncated") as exc:
            doc.read(1)
    assert "one.pdf" in str(exc.value)


def test_zero_byte_files(tmp_path, pages):
    for name in ("empty.pdf", "empty.tif", "empty.png"):
        f = tmp_path / name
        f.write_bytes(b"")
        with pytest.raises(ImageInputError, match=r"empty \(0 bytes\)") as exc:
            list(segment_document(f, workers=1))
        assert name in str(exc.value)
    # In a folder of page images the empty file is one bad page among good ones.
    folder = tmp_path / "pages"
    write_document(pages[:2], folder, fmt="png", dpi=100)
    (folder / "page-001b.png").write_bytes(b"")
    res = list(segment_document(folder, workers=1))
    assert [r.ok for r in res] == [True, False, True]
    assert "page-001b.png" in str(res[1].error) and "empty" in str(res[1].error)


@pytest.mark.parametrize("kind", ["png", "tiff", "jpeg"])
def test_huge_image_is_refused_from_its_header(tmp_path, kind):
    data = {"png": _png_header, "tiff": _tiff_header, "jpeg": _jpeg_claiming}[kind](20_000, 20_000)
    f = tmp_path / f"huge.{kind}"
    f.write_bytes(data)
    code = (f"try:\n    res = list(segment_document({str(f)!r}, workers=1))\n"
            "    print('ERR', type(res[0].error).__name__, res[0].error)\n"
            "except Exception as e:\n    print('ERR', type(e).__name__, e)\n")
    rss, out = _peak_rss_mb_of(code)
    assert "ERR ImageInputError" in out and "too large" in out and "20000 x 20000" in out, out
    assert f"huge.{kind}" in out
    # 400 megapixels of gray would be 400 MB; the header alone costs nothing.
    assert rss < 100, rss


def test_not_a_petition_pages_are_page_errors_not_guesses(tmp_path, pages):
    rng = np.random.default_rng(7)
    h, w = pages[0].shape
    # A photo: smooth random shapes and texture; a blank sheet with paper noise.
    photo = cv2.GaussianBlur((rng.random((h // 8, w // 8)) * 255).astype(np.uint8), (0, 0), 2)
    photo = cv2.resize(photo, (w, h), interpolation=cv2.INTER_CUBIC)
    photo = np.clip(photo.astype(np.int16) + rng.normal(0, 12, (h, w)), 0, 255).astype(np.uint8)
    blank = np.clip(rng.normal(243, 3, (h, w)), 0, 255).astype(np.uint8)
    (tif,) = write_document([photo, pages[0], blank], tmp_path / "mixed.tif", fmt="tiff", dpi=100)
    res = list(segment_document(tif, workers=2))
    assert [r.ok for r in res] == [False, True, False]
    for r in (res[0], res[2]):
        assert r.segmentation is None
        assert "no petition form found" in str(r.error) and f"mixed.tif page {r.page.number}" in str(r.error)


def _corrupt_tiff_page(path, index: int) -> None:
    from PIL import Image

    with Image.open(path) as im:
        im.seek(index)
        offset = int(im.tag_v2[273][0])
        size = int(im.tag_v2[279][0])
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(11)
    data[offset + 8: offset + size] = rng.integers(0, 256, size - 8).astype(np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("bilevel", [False, True])
def test_multipage_tiff_with_a_corrupt_page(tmp_path, pages, bilevel):
    src = [_bilevel(p) for p in pages] if bilevel else pages
    (tif,) = write_document(src, tmp_path / "fax.tif", fmt="tiff", dpi=100)
    _corrupt_tiff_page(tif, 1)
    res = list(segment_document(tif, workers=1))
    assert [r.ok for r in res] == [True, False, True]
    err = str(res[1].error)
    assert res[1].error.page == 2 and "fax.tif page 2" in err
    # Deflate says the data is corrupt; G4 decodes noise, which is no form.
    assert ("corrupt" in err) if not bilevel else ("corrupt" in err or "no petition form" in err)
    assert res[2].segmentation.lines[0].state == "signed"
