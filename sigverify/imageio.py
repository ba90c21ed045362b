"""Read single images (signature crops, exemplars) as 2-D grayscale arrays."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from sigverify.errors import ImageInputError

#: Refuse images larger than this many pixels rather than exhaust memory.
MAX_PIXELS = 200_000_000


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as grayscale.

    Parameters
    ----------
    path : path-like
        PNG, JPEG, TIFF, BMP (anything OpenCV decodes).

    Returns
    -------
    image : (H, W) uint8 array
        0 = black ink, 255 = white paper.

    Raises
    ------
    ImageInputError
        The file is missing, empty, not an image, or too large.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ImageInputError("file not found", path=str(p)) from None
    except OSError as exc:
        raise ImageInputError(f"cannot read file ({exc.strerror})", path=str(p)) from None
    if not data:
        raise ImageInputError("file is empty (0 bytes)", path=str(p))
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageInputError("not a readable image (corrupt or unsupported format)", path=str(p))
    return to_gray_u8(img, path=str(p))


def to_gray_u8(img: np.ndarray, *, path: str | None = None) -> np.ndarray:
    """Convert any decoded image (gray, BGR, BGRA, 16-bit, bool) to (H, W) uint8."""
    if img.size == 0 or img.ndim not in (2, 3):
        raise ImageInputError("image has no pixels", path=path)
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise ImageInputError(f"image too large ({img.shape[1]}x{img.shape[0]} pixels)", path=path)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    elif img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 3:
        if img.shape[2] == 4:
            # Transparent background means paper.
            alpha = img[:, :, 3:4].astype(np.float32) / 255.0
            rgb = img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)
            img = rgb.astype(np.uint8)
        if img.shape[2] == 1:
            img = img[:, :, 0]
        else:
            img = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(img)
