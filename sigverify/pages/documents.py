"""Read scanned petition documents as page images with their resolution.

PDF (the embedded scan is extracted at its native resolution; pages that are
not a single full-page image are rendered), single- and multi-page TIFF
(including 1-bit CCITT G4), PNG and JPEG files, or a folder of them.
Resolution comes from the file's metadata when present and plausible, and is
estimated from the page size (US Letter) otherwise.
"""
from __future__ import annotations

import ctypes
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from sigverify.errors import ImageInputError
from sigverify.imageio import MAX_PIXELS, to_gray_u8

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
#: Resolution used to render PDF pages that carry no single page image.
PDF_RENDER_DPI = 200.0


@dataclass
class PageImage:
    """One page of a document.

    Attributes
    ----------
    number : int
        1-based page number within the document (or the folder's order).
    image : (H, W) uint8 array or None
        0 ink, 255 paper. None in results that travel without pixels.
    dpi : float
    dpi_source : str
        ``'metadata'``, ``'estimated'`` or ``'given'``.
    path : str
        The file the page came from.
    """

    number: int
    image: np.ndarray | None
    dpi: float
    dpi_source: str
    path: str

    def meta(self) -> "PageImage":
        """The same page without its pixels (cheap to send between processes)."""
        return PageImage(self.number, None, self.dpi, self.dpi_source, self.path)


def _estimate_dpi(shape) -> float:
    h, w = shape[:2]
    return 0.5 * (max(h, w) / 11.0 + min(h, w) / 8.5)


def _resolve_dpi(meta_dpi, shape, given) -> tuple[float, str]:
    if given:
        return float(given), "given"
    if meta_dpi:
        # PNG stores pixels per metre: 200 dpi comes back as 199.9996.
        d = round(float(meta_dpi), 2)
        h, w = shape[:2]
        # Metadata is trusted only when it makes a sheet of paper; 72 dpi or
        # "1 dot per inch" defaults from cameras and editors do not.
        if 50 <= d <= 1600 and 3.0 <= min(h, w) / d <= 20.0 and 4.0 <= max(h, w) / d <= 26.0:
            return d, "metadata"
    return _estimate_dpi(shape), "estimated"


def _check_pixels(w: int, h: int, path: str, page: int | None) -> None:
    if w <= 0 or h <= 0:
        raise ImageInputError("page has no pixels", path=path, page=page)
    if w * h > MAX_PIXELS:
        raise ImageInputError(f"page image too large ({w} x {h} pixels; at most {MAX_PIXELS // 1_000_000} "
                              f"megapixels): not decoded", path=path, page=page)


class Document:
    """An opened document: ``count`` pages, ``read(number)`` one of them.

    Opening checks that the file is readable and counts its pages; decoding
    happens per page, so one bad page does not stop the others.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        p = str(self.path)
        if self.path.is_dir():
            self.kind = "folder"
            self._files = sorted(f for f in self.path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise ImageInputError("folder holds no PNG, JPEG or TIFF page images", path=p)
            self.count = len(self._files)
            return
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as fh:
                head = fh.read(8)
        except FileNotFoundError:
            raise ImageInputError("file not found", path=p) from None
        except OSError as exc:
            raise ImageInputError(f"cannot read file ({exc.strerror})", path=p) from None
        if size == 0:
            raise ImageInputError("file is empty (0 bytes)", path=p)
        if head.startswith(b"%PDF"):
            self.kind = "pdf"
            with _PDFIUM:
                self._pdf = _open_pdf(p)
                self.count = len(self._pdf)
        elif head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            self.kind = "tiff"
            self._tif = _open_pil(p)
            try:
                self.count = int(getattr(self._tif, "n_frames", 1))
            except Exception as exc:  # noqa: BLE001 - a broken chain of pages
                self._tif.close()
                raise ImageInputError(f"TIFF is damaged: its pages cannot be counted ({exc})", path=p) from None
        else:
            self.kind = "image"
            self.count = 1
        if self.count == 0:
            raise ImageInputError("document has no pages", path=p)

    def read(self, number: int, *, dpi: float | None = None) -> PageImage:
        """Decode page `number` (1-based).

        Raises
        ------
        ImageInputError
            The page cannot be decoded, with the file and page named.
        """
        if not 1 <= number <= self.count:
            raise ImageInputError(f"no page {number} (document has {self.count})", path=str(self.path))
        p = str(self.path)
        try:
            if self.kind == "pdf":
                with _PDFIUM:
                    img, meta_dpi = _pdf_page(self._pdf, number - 1, p)
            elif self.kind == "tiff":
                img, meta_dpi = _pil_frame(self._tif, number - 1, p)
            elif self.kind == "folder":
                f = self._files[number - 1]
                p = str(f)
                img, meta_dpi = _read_single(f, None)
            else:
                img, meta_dpi = _read_single(self.path, None)
        except ImageInputError as exc:
            if exc.path is None or (exc.page is None and self.count > 1):
                msg = str(exc).split(": ", 1)[-1] if exc.path else str(exc)
                raise ImageInputError(msg, path=p, page=number if self.count > 1 or self.kind != "image"
                                      else None) from None
            raise
        except Exception as exc:  # noqa: BLE001 - decoders fail in many ways on corrupt data
            raise ImageInputError(f"page image data is corrupt or truncated and cannot be decoded "
                                  f"({type(exc).__name__}: {exc})", path=p, page=number) from None
        d, src = _resolve_dpi(meta_dpi, img.shape, dpi)
        return PageImage(number, img, d, src, p)

    def close(self) -> None:
        if self.kind == "pdf":
            with _PDFIUM:
                self._pdf.close()
        elif self.kind == "tiff":
            self._tif.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_document(path: str | os.PathLike) -> Document:
    """Open a PDF, TIFF, PNG/JPEG file or a folder of page images."""
    return Document(path)


def read_document(path: str | os.PathLike, *, dpi: float | None = None) -> Iterator[PageImage]:
    """Yield every page of a document.

    Parameters
    ----------
    path : path-like
        PDF, TIFF (multi-page, CCITT G4), PNG, JPEG, or a folder of images.
    dpi : float, optional
        Force this resolution instead of the metadata / estimate.

    Yields
    ------
    PageImage

    Raises
    ------
    ImageInputError
        The document cannot be opened, or a page cannot be decoded (the page
        is named; use :func:`open_document` to skip bad pages).

    Examples
    --------
    >>> pages = list(read_document("scan.pdf"))  # doctest: +SKIP
    """
    with open_document(path) as doc:
        for i in range(1, doc.count + 1):
            yield doc.read(i, dpi=dpi)


# --------------------------------------------------------------------------
# formats


#: PDFium is not thread-safe: every call into it, from any thread of the
#: process (a workbench job beside a page view, two ingests), takes this lock.
#: Processes (the segmentation pool) each have their own PDFium.
_PDFIUM = threading.RLock()


def _open_pil(p: str):
    """Open an image's header (size, resolution, frames) without decoding it."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Opening reads the header only; the size is checked against our
            # own limit (with the numbers in the message) before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                im = Image.open(p)
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    except Exception as exc:  # noqa: BLE001
        raise ImageInputError(f"not a readable image ({type(exc).__name__}: {exc})", path=p) from None
    return im


def _pil_frame(im, index: int, p: str) -> tuple[np.ndarray, float | None]:
    from PIL import Image

    im.seek(index)
    w, h = im.size
    _check_pixels(w, h, p, index + 1)
    dpi = im.info.get("dpi")
    meta = float(dpi[0]) if dpi else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        if im.mode == "1":
            # 1-bit (G4 fax) pages: unpack to 0/255 directly.
            arr = np.asarray(im, dtype=bool)
            img = np.where(arr, np.uint8(255), np.uint8(0))
        elif im.mode in ("L", "RGB", "RGBA", "LA", "P", "I;16", "I;16B", "I", "F", "CMYK"):
            if im.mode in ("L",):
                img = np.asarray(im)
            elif im.mode in ("I;16", "I;16B", "I", "F"):
                img = to_gray_u8(np.asarray(im).astype(np.float32), path=p)
            else:
                img = np.asarray(im.convert("L"))
        else:
            img = np.asarray(im.convert("L"))
    return np.ascontiguousarray(img), meta


def _read_single(path: Path, page: int | None) -> tuple[np.ndarray, float | None]:
    p = str(path)
    data = path.read_bytes()
    if not data:
        raise ImageInputError("file is empty (0 bytes)", path=p)
    im = _open_pil(p)  # header only: size and resolution before decoding
    w, h = im.size
    _check_pixels(w, h, p, page)
    dpi = im.info.get("dpi")
    meta = float(dpi[0]) if dpi else None
    if getattr(im, "n_frames", 1) > 1 or im.format == "TIFF":
        img, meta2 = _pil_frame(im, 0, p)
        im.close()
        return img, meta2 or meta
    im.close()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ImageInputError("not a readable image (corrupt or unsupported format)", path=p, page=page)
    if img.shape[:2] != (h, w) and img.shape[:2] != (w, h):
        raise ImageInputError("image data is truncated", path=p, page=page)
    return img, meta


def _open_pdf(p: str):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(p)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise ImageInputError("PDF is encrypted (password protected); save an unprotected copy", path=p) from None
        if not _has_pdf_end(p):
            raise ImageInputError(f"PDF is truncated (the file ends before the document does: an interrupted "
                                  f"copy or download?) and cannot be opened ({msg})", path=p) from None
        raise ImageInputError(f"PDF is damaged and cannot be opened ({msg})", path=p) from None


def _has_pdf_end(p: str) -> bool:
    """Whether the file ends with a PDF end-of-file marker (%%EOF)."""
    try:
        with open(p, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 2048))
            return b"%%EOF" in fh.read()
    except OSError:
        return False


def _pdf_page(pdf, index: int, p: str) -> tuple[np.ndarray, float | None]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    page = pdf[index]
    try:
        pw, ph = page.get_size()
        rot = page.get_rotation()
        imgs = list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3))
        if len(imgs) == 1 and rot == 0:
            obj = imgs[0]
            l, b, r, t = obj.get_bounds()
            m = obj.get_matrix()
            upright = abs(m.b) < 1e-6 and abs(m.c) < 1e-6 and m.a > 0 and m.d > 0
            if upright and (r - l) * (t - b) >= 0.9 * pw * ph:
                w, h = obj.get_px_size()
                _check_pixels(w, h, p, index + 1)
                img = _pdf_image(obj, w, h)
                if img is not None:
                    # The scan's own resolution: pixels over the inches it fills.
                    return img, w / ((r - l) / 72.0)
        scale = PDF_RENDER_DPI / 72.0
        _check_pixels(int(pw * scale), int(ph * scale), p, index + 1)
        bmp = page.render(scale=scale, grayscale=True)
        arr = bmp.to_numpy()
        return to_gray_u8(np.array(arr, copy=True), path=p), PDF_RENDER_DPI
    except pdfium.PdfiumError as exc:
        raise ImageInputError(f"PDF page cannot be read ({exc})", path=p, page=index + 1) from None
    finally:
        page.close()


def _pdf_image(obj, w: int, h: int) -> np.ndarray | None:
    """Decode an embedded image at its native resolution, or None."""
    filters = obj.get_filters()
    if filters == ["DCTDecode"]:
        # The scanner's JPEG, decoded by OpenCV straight from the stream.
        raw = obj.get_data(decode_simple=False)
        data = ctypes.string_at(raw, len(raw))
        if not data.rstrip(b"\x00\r\n \t").endswith(b"\xff\xd9"):
            # libjpeg would fill the missing rows with gray and carry on.
            raise ImageInputError("the page's scanned image is truncated (its JPEG data is cut off)")
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is not None and img.shape == (h, w):
            return img
    bmp = obj.get_bitmap(render=False)
    arr = np.array(bmp.to_numpy(), copy=True)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        # pdfium bitmaps are BGR(A) unless rev_byteorder; gray is what we need.
        arr = cv2.cvtColor(arr[:, :, :3], cv2.COLOR_BGR2GRAY)
    elif arr.ndim == 3:
        arr = arr[:, :, 0]
    if arr.shape != (h, w):
        return None
    return to_gray_u8(arr)
