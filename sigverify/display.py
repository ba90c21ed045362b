"""Signatures drawn like for like: trimmed to their ink, at one ink height,
with comparable contrast.

A petition crop is a whole cell (often 700 px wide around 35 px of faint
ink); an exemplar on file is usually a tight, dark capture. Scaled into
frames as they are, a genuine signature looks like a mismatch. These pure
functions prepare every image of a comparison the same way, so a reviewer
compares ink with ink. They never change what is stored: the original crop
stays available.

Pure numpy/OpenCV; no Qt, no database.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: The ink height (pixels) images are normalised to unless told otherwise.
DEFAULT_INK_HEIGHT = 96


@dataclass(frozen=True)
class DisplayImage:
    """One image prepared for display.

    Attributes
    ----------
    image : (H, W) uint8 array
        Ink trimmed, scaled and contrast-stretched (ink near 0, paper 255).
    ink_box : tuple of int or None
        ``(x, y, w, h)`` of the ink in the *original* image; None when no ink
        was found (then `image` is the whole original, stretched).
    scale : float
        Output pixels per original pixel.
    ink_height : int
        Height in pixels of the ink in `image` (0 when no ink was found).
    """

    image: np.ndarray
    ink_box: tuple[int, int, int, int] | None
    scale: float
    ink_height: int


def _gray(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=2)
    if arr.ndim != 2:
        raise ValueError("The parameter `image` must be 2-D (grayscale) or 3-D (colour)")
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return arr


def ink_mask(image: np.ndarray, *, min_contrast: int = 24) -> np.ndarray:
    """Pixels that are ink: darker than the paper by a margin Otsu picks.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
        A signature on light paper.
    min_contrast : int, keyword-only
        Ink must be at least this much darker than the paper (0-255); an
        image with less spread than this holds no ink.

    Returns
    -------
    (H, W) bool array

    Examples
    --------
    >>> img = np.full((20, 40), 250, np.uint8); img[5:9, 10:30] = 140
    >>> int(ink_mask(img).sum())
    80
    """
    g = _gray(image)
    if g.size == 0:
        return np.zeros(g.shape, bool)
    paper = float(np.percentile(g, 90))
    darkest = float(g.min())
    if paper - darkest < min_contrast:
        return np.zeros(g.shape, bool)
    t, _ = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    t = min(float(t), paper - min_contrast / 2)
    return g <= t


def ink_box(image: np.ndarray, *, min_contrast: int = 24, min_fraction: float = 0.02) -> tuple[int, int, int, int] | None:
    """The bounding box ``(x, y, w, h)`` of the ink, or None when there is none.

    Specks (connected pieces smaller than `min_fraction` of the largest
    piece, and at most 4 px) are left out, so a dust dot far from the
    signature does not stretch the box.

    Examples
    --------
    >>> img = np.full((50, 100), 255, np.uint8); img[10:30, 20:70] = 0
    >>> ink_box(img)
    (20, 10, 50, 20)
    """
    mask = ink_mask(image, min_contrast=min_contrast)
    if not mask.any():
        return None
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = areas >= max(min(4.0, float(areas.max())), min_fraction * float(areas.max()))
    st = stats[1:][keep]
    x0 = int(st[:, cv2.CC_STAT_LEFT].min())
    y0 = int(st[:, cv2.CC_STAT_TOP].min())
    x1 = int((st[:, cv2.CC_STAT_LEFT] + st[:, cv2.CC_STAT_WIDTH]).max())
    y1 = int((st[:, cv2.CC_STAT_TOP] + st[:, cv2.CC_STAT_HEIGHT]).max())
    return x0, y0, x1 - x0, y1 - y0


def stretch_contrast(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Map the ink's dark end to black and the paper to white (uint8 out).

    The ink level is the 5th percentile of the ink pixels (`mask`, or the
    darkest 5 % when None) and the paper the median of the rest, so faint
    grey ink is drawn as dark as a pen capture.

    Examples
    --------
    >>> img = np.full((10, 10), 230, np.uint8); img[4:6] = 150
    >>> s = stretch_contrast(img, img < 200)
    >>> int(s.min()), int(s.max())
    (0, 255)
    """
    g = _gray(image).astype(np.float32)
    if g.size == 0:
        return g.astype(np.uint8)
    if mask is None or not mask.any() or mask.all():
        lo, hi = float(np.percentile(g, 5)), float(np.percentile(g, 90))
    else:
        lo, hi = float(np.percentile(g[mask], 5)), float(np.median(g[~mask]))
    if hi - lo < 1:
        return g.astype(np.uint8)
    return np.clip((g - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def normalize_for_display(image: np.ndarray, *, ink_height: int = DEFAULT_INK_HEIGHT, margin: float = 0.08,
                          max_width: int | None = None, min_contrast: int = 24) -> DisplayImage:
    """Trim `image` to its ink, scale the ink to `ink_height` px and stretch its contrast.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
        A signature crop on light paper, any size.
    ink_height : int, keyword-only
        Height of the ink in the output, pixels.
    margin : float, keyword-only
        White border kept around the ink, as a fraction of `ink_height`.
    max_width : int, optional, keyword-only
        Cap on the output width; a very long, flat signature is scaled down to
        fit (its ink then ends shorter than `ink_height`: ``DisplayImage.ink_height``
        says by how much).
    min_contrast : int, keyword-only
        See :func:`ink_mask`.

    Returns
    -------
    DisplayImage
        With ``image`` of shape ``(ink_height + 2·margin, W)``, uint8. An image
        with no ink comes back whole, contrast-stretched, at scale 1.

    Examples
    --------
    >>> crop = np.full((200, 720), 255, np.uint8); crop[80:110, 300:400] = 128
    >>> d = normalize_for_display(crop, ink_height=60)
    >>> d.ink_height, d.ink_box, int(d.image.min())
    (60, (300, 80, 100, 30), 0)
    """
    if ink_height < 1:
        raise ValueError("The parameter `ink_height` must be at least 1")
    g = _gray(image)
    box = ink_box(g, min_contrast=min_contrast) if g.size else None
    if box is None:
        return DisplayImage(stretch_contrast(g), None, 1.0, 0)
    x, y, w, h = box
    mask = ink_mask(g, min_contrast=min_contrast)
    stretched = stretch_contrast(g, mask)[y:y + h, x:x + w]
    scale = ink_height / h
    if max_width is not None and w * scale > max_width:
        scale = max_width / w
    out_w, out_h = max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    ink = cv2.resize(stretched, (out_w, out_h), interpolation=interp)
    pad = int(round(margin * ink_height))
    canvas = np.full((out_h + 2 * pad, out_w + 2 * pad), 255, np.uint8)
    canvas[pad:pad + out_h, pad:pad + out_w] = ink
    return DisplayImage(canvas, box, scale, out_h)


def normalize_batch(images: Sequence[np.ndarray], *, ink_height: int = DEFAULT_INK_HEIGHT,
                    **kw) -> list[DisplayImage]:
    """:func:`normalize_for_display` for every image of a comparison (sizes differ,
    so the result is a list), all at the same ink height."""
    return [normalize_for_display(im, ink_height=ink_height, **kw) for im in images]
