"""Batched signature features: every kernel takes an (N, H, W) stack and
returns (N, D) float32, with array operations over the whole stack.

Families (complementary views of the same normalised signature):

``hog``
    Histograms of gradient orientation on an 8 x 8 pixel grid, 2 x 2 block
    L2-Hys normalisation — the same numbers as ``skimage.feature.hog``.
``hog16``
    The same on a 16 x 16 pixel grid: coarser, tolerant to small shifts.
``lbp``
    Uniform local binary patterns (P = 8, R = 1; the codes of
    ``skimage.feature.local_binary_pattern(..., method='uniform')``),
    histogrammed over the ink region of a coarse grid: stroke texture,
    curvature, junctions, endings.
``zoning``
    Ink density on a grid of zones: where the writing is.
``profiles``
    Row and column projections and the upper / lower contour of the ink:
    letter heights, ascenders and descenders, gaps between words.
``geometry``
    Global measurements taken before normalisation (aspect, slant, density,
    connectivity, tilt …), :data:`~sigverify.signatures.preprocess.GEOMETRY_NAMES`.
"""
from __future__ import annotations

import numpy as np

from sigverify.signatures.preprocess import Prepared

__all__ = [
    "FAMILIES",
    "extract_features",
    "hog_batch",
    "lbp_codes_batch",
    "lbp_histograms",
    "zoning_batch",
    "profiles_batch",
]

FAMILIES = ("hog", "hog16", "lbp", "zoning", "profiles", "geometry")


def _check_stack(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError("The parameter `images` must be 3-D (N, H, W)")
    if images.dtype.kind != "f":
        images = images.astype(np.float32)
    return images


def hog_batch(
    images: np.ndarray,
    *,
    orientations: int = 9,
    pixels_per_cell: tuple[int, int] = (8, 8),
    cells_per_block: tuple[int, int] = (2, 2),
    eps: float = 1e-5,
) -> np.ndarray:
    """Histograms of oriented gradients of a stack of images.

    Matches ``skimage.feature.hog(image, orientations, pixels_per_cell,
    cells_per_block, block_norm='L2-Hys')`` image by image (central
    differences, hard orientation bins over [0, 180), cell means, L2-Hys
    block normalisation), computed for the whole stack at once.

    Parameters
    ----------
    images : (N, H, W) float array
    orientations : int
    pixels_per_cell, cells_per_block : (int, int)

    Returns
    -------
    features : (N, D) array, same float dtype as `images`
        ``D = (H // ch - bh + 1) * (W // cw - bw + 1) * bh * bw * orientations``.

    Examples
    --------
    >>> x = np.zeros((2, 32, 32), np.float32); x[:, 8:24, 15:17] = 1
    >>> hog_batch(x).shape
    (2, 324)
    """
    images = _check_stack(images)
    dt = images.dtype
    n, h, w = images.shape
    ch, cw = pixels_per_cell
    bh, bw = cells_per_block
    nch, ncw = h // ch, w // cw
    if nch < bh or ncw < bw:
        raise ValueError("The parameter `images` is too small for the cell and block sizes")
    g_row = np.zeros_like(images)
    g_col = np.zeros_like(images)
    g_row[:, 1:-1, :] = images[:, 2:, :] - images[:, :-2, :]
    g_col[:, :, 1:-1] = images[:, :, 2:] - images[:, :, :-2]
    g_row = g_row[:, : nch * ch, : ncw * cw]
    g_col = g_col[:, : nch * ch, : ncw * cw]
    mag = np.hypot(g_row, g_col)
    ang = np.rad2deg(np.arctan2(g_row, g_col)) % 180
    width = 180.0 / orientations
    b = np.minimum((ang / width).astype(np.int8), orientations - 1)
    hist = np.empty((n, nch, ncw, orientations), dt)
    for o in range(orientations):  # a loop over the handful of bins, not images
        hist[..., o] = np.where(b == o, mag, 0).reshape(n, nch, ch, ncw, cw).sum(axis=(2, 4))
    hist /= ch * cw
    nbr, nbc = nch - bh + 1, ncw - bw + 1
    blocks = np.empty((n, nbr, nbc, bh, bw, orientations), dt)
    for i in range(bh):
        for j in range(bw):
            blocks[:, :, :, i, j] = hist[:, i : i + nbr, j : j + nbc]
    flat = blocks.reshape(n, nbr, nbc, -1)
    norm = np.sqrt((flat * flat).sum(axis=-1, keepdims=True) + eps**2)
    out = np.minimum(flat / norm, 0.2)
    out /= np.sqrt((out * out).sum(axis=-1, keepdims=True) + eps**2)
    return out.reshape(n, -1)


def lbp_codes_batch(images: np.ndarray) -> np.ndarray:
    """Uniform local binary pattern codes (P = 8, R = 1) of a stack.

    Identical to ``skimage.feature.local_binary_pattern(image, 8, 1,
    method='uniform')`` for each image (same bilinear sampling of the
    diagonal neighbours, zero outside the image, same uniformity count),
    when both are given the same float64 values.

    Parameters
    ----------
    images : (N, H, W) array

    Returns
    -------
    codes : (N, H, W) uint8 array, values 0..9
    """
    images = _check_stack(images)
    x = images
    n, h, w = x.shape
    pad = np.zeros((n, h + 2, w + 2), x.dtype)
    pad[:, 1:-1, 1:-1] = x
    P = 8
    ang = 2 * np.pi * np.arange(P, dtype=np.float64) / P
    rp = np.round(-np.sin(ang), 5)
    cp = np.round(np.cos(ang), 5)
    bits = np.empty((P, n, h, w), bool)
    for i in range(P):  # eight neighbours
        r, c = rp[i], cp[i]
        r0, c0 = int(np.floor(r)), int(np.floor(c))
        r1, c1 = int(np.ceil(r)), int(np.ceil(c))
        dr, dc = x.dtype.type(r - r0), x.dtype.type(c - c0)

        def px(a, b):
            return pad[:, 1 + a : 1 + a + h, 1 + b : 1 + b + w]

        if r0 == r1 and c0 == c1:
            tex = px(r0, c0)
        else:
            one = x.dtype.type(1)
            top = (one - dc) * px(r0, c0) + dc * px(r0, c1)
            bottom = (one - dc) * px(r1, c0) + dc * px(r1, c1)
            tex = (one - dr) * top + dr * bottom
        bits[i] = tex - x >= 0
    changes = (bits[:-1] != bits[1:]).sum(axis=0)
    ones = bits.sum(axis=0)
    return np.where(changes <= 2, ones, P + 1).astype(np.uint8)


def lbp_histograms(images: np.ndarray, *, grid: tuple[int, int] = (2, 4), ink_level: float = 0.05) -> np.ndarray:
    """Histograms of uniform LBP codes over the ink region of each grid zone,
    plus one for the whole image.

    Parameters
    ----------
    images : (N, H, W) float array, ink = 1
    grid : (int, int)
        Zones (rows, columns).
    ink_level : float
        Pixels at or below this level (blank paper) are not counted.

    Returns
    -------
    features : (N, (grid[0] * grid[1] + 1) * 10) float32
        Each histogram sums to 1 (or 0 for a blank zone).
    """
    images = _check_stack(images)
    n, h, w = images.shape
    # Quantised grey levels: the codes do not depend on float rounding.
    q = np.round(images * 255).astype(np.float32)
    codes = lbp_codes_batch(q)
    mask = images > ink_level
    gr, gc = grid
    zr = (np.arange(h) * gr) // h
    zc = (np.arange(w) * gc) // w
    zone = (zr[:, None] * gc + zc[None, :]).astype(np.int64)  # (H, W)
    nz = gr * gc
    idx = (np.arange(n)[:, None, None] * nz + zone[None]) * 10 + codes
    counts = np.bincount(idx[mask], minlength=n * nz * 10).reshape(n, nz, 10).astype(np.float32)
    glob = counts.sum(axis=1, keepdims=True)
    allz = np.concatenate([counts, glob], axis=1)
    tot = allz.sum(axis=2, keepdims=True)
    allz = np.divide(allz, tot, out=np.zeros_like(allz), where=tot > 0)
    return allz.reshape(n, -1)


def zoning_batch(images: np.ndarray, *, cell: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Mean ink in each zone of a regular grid.

    Parameters
    ----------
    images : (N, H, W) float array
    cell : (int, int)
        Zone size in pixels; H and W are cut to whole zones.

    Returns
    -------
    features : (N, (H // cell[0]) * (W // cell[1])) array, dtype of `images`
    """
    images = _check_stack(images)
    n, h, w = images.shape
    zh, zw = h // cell[0], w // cell[1]
    z = images[:, : zh * cell[0], : zw * cell[1]].reshape(n, zh, cell[0], zw, cell[1]).mean(axis=(2, 4))
    return np.sqrt(z).reshape(n, -1)


def _pool(a: np.ndarray, bins: int) -> np.ndarray:
    """Average (N, L) → (N, bins) over equal runs (L divisible by bins)."""
    n, L = a.shape
    return a.reshape(n, bins, L // bins).mean(axis=2)


def profiles_batch(images: np.ndarray, *, bins: int = 48, level: float = 0.3) -> np.ndarray:
    """Projection profiles and upper / lower contours.

    Parameters
    ----------
    images : (N, H, W) float array, ink = 1; W divisible by `bins`
    bins : int
        Columns are pooled into this many bins.
    level : float
        Ink level that counts as "ink" for the contours.

    Returns
    -------
    features : (N, H + 3 * bins) array, dtype of `images`
        Row profile (sums to 1), column profile (sums to 1, pooled), upper
        and lower contour (share of the height, pooled; 0.5 where a column
        is blank).
    """
    images = _check_stack(images)
    n, h, w = images.shape
    tot = images.sum(axis=(1, 2))[:, None]
    tot = np.where(tot > 0, tot, 1)
    rowp = images.sum(axis=2) / tot
    colp = _pool(images.sum(axis=1) / tot, bins) * (w // bins)
    ink = images > level
    has = ink.any(axis=1)
    top = np.where(has, ink.argmax(axis=1), h // 2) / h
    bot = np.where(has, h - 1 - ink[:, ::-1, :].argmax(axis=1), h // 2) / h
    feats = [rowp * h / 8, colp, _pool(top, bins), _pool(bot, bins)]
    return np.concatenate(feats, axis=1).astype(images.dtype)


def extract_features(prepared: Prepared) -> dict[str, np.ndarray]:
    """All feature families of prepared signatures.

    Parameters
    ----------
    prepared : Prepared
        From :func:`~sigverify.signatures.preprocess.preprocess`.

    Returns
    -------
    features : dict of str to (N, D_family) float32 arrays
        Keys :data:`FAMILIES`. Rows of unusable signatures are zeros.

    Examples
    --------
    >>> from sigverify.signatures.preprocess import preprocess
    >>> import cv2
    >>> crop = np.full((100, 300), 250, np.uint8)
    >>> _ = cv2.putText(crop, "Ann Lee", (10, 70), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2, 10, 3)
    >>> f = extract_features(preprocess([crop]))
    >>> sorted(f), f["hog"].dtype
    (['geometry', 'hog', 'hog16', 'lbp', 'profiles', 'zoning'], dtype('float32'))
    """
    x = prepared.images.astype(np.float32, copy=False)
    out = {
        "hog": hog_batch(x),
        "hog16": hog_batch(x, pixels_per_cell=(16, 16)),
        "lbp": lbp_histograms(x),
        "zoning": zoning_batch(x),
        "profiles": profiles_batch(x),
        "geometry": prepared.geometry.astype(np.float32, copy=False),
    }
    return {k: v.astype(np.float32, copy=False) for k, v in out.items()}
