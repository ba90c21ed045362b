"""numpy images to Qt images. QImage (not QPixmap) so workers can build them."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """A (H, W) uint8 grayscale array as a QImage that owns its pixels."""
    if image is None or image.size == 0:
        return QImage()
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    if arr.ndim == 3:  # colour: keep the first channel's brightness
        arr = np.ascontiguousarray(arr.mean(axis=2).astype(np.uint8))
    h, w = arr.shape
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8).copy()


def load_qimage(ws, digest: str | None) -> QImage:
    """The crop `digest` from a workspace as a QImage (empty if missing)."""
    if not digest:
        return QImage()
    try:
        return to_qimage(ws.crops.get_image(digest))
    except Exception:  # noqa: BLE001 - a missing crop shows as "no image", never crashes review
        return QImage()


def scaled_pixmap(image: QImage, width: int, height: int) -> QPixmap:
    """Fit `image` in width × height, keeping its aspect ratio."""
    if image.isNull():
        return QPixmap()
    return QPixmap.fromImage(image.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))
