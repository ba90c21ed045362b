"""numpy images to Qt images. QImage (not QPixmap) so workers can build them."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap

import petitions

#: Ink height (px) signatures are normalised to for the case view; drawn
#: smaller or larger from there, all images of a case at one scale.
CASE_INK_H = 140
#: Ink height for the queue's thumbnails.
THUMB_INK_H = 34


def to_qimage(image: np.ndarray) -> QImage:
    """A (H, W) uint8 grayscale array as a QImage that owns its pixels."""
    if image is None or image.size == 0:
        return QImage()
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    if arr.ndim == 3:  # colour: keep the first channel's brightness
        arr = np.ascontiguousarray(arr.mean(axis=2).astype(np.uint8))
    h, w = arr.shape
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8).copy()


def _array(ws, digest: str | None) -> np.ndarray | None:
    if not digest:
        return None
    try:
        return ws.crops.get_image(digest)
    except Exception:  # noqa: BLE001 - a missing crop shows as "no image", never crashes review
        return None


def load_qimage(ws, digest: str | None) -> QImage:
    """The crop `digest` from a workspace as a QImage (empty if missing)."""
    arr = _array(ws, digest)
    return QImage() if arr is None else to_qimage(arr)


def load_signature(ws, digest: str | None, ink_height: int = CASE_INK_H) -> tuple[QImage, QImage]:
    """Worker-side: ``(like_for_like, original)`` of a signature crop.

    The first is trimmed to the ink, scaled to `ink_height` and contrast
    stretched (``petitions.normalize_for_display``); the second is the crop
    as stored. Both empty when the crop is missing.
    """
    arr = _array(ws, digest)
    if arr is None:
        return QImage(), QImage()
    return to_qimage(petitions.normalize_for_display(arr, ink_height=ink_height).image), to_qimage(arr)


def load_thumbs(ws, digests) -> dict[str, QImage]:
    """Worker-side: like-for-like thumbnails (ink at :data:`THUMB_INK_H`) by hash."""
    out = {}
    for h in digests:
        arr = _array(ws, h)
        out[h] = QImage() if arr is None else to_qimage(
            petitions.normalize_for_display(arr, ink_height=THUMB_INK_H).image)
    return out


def scaled_pixmap(image: QImage, width: int, height: int) -> QPixmap:
    """Fit `image` in width × height, keeping its aspect ratio."""
    if image.isNull():
        return QPixmap()
    return QPixmap.fromImage(image.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))


def scaled_by(image: QImage, factor: float) -> QPixmap:
    """`image` scaled by `factor` (smooth)."""
    if image.isNull():
        return QPixmap()
    w, h = max(int(round(image.width() * factor)), 1), max(int(round(image.height() * factor)), 1)
    return QPixmap.fromImage(image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))
