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

import cv2
import numpy as np

from sigverify.signatures.preprocess import Prepared

__all__ = [
    "FAMILIES",
    "extract_features",
    "hog_batch",
    "hog_pair",
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


def _hog_cells(images: np.ndarray, orientations: int, cell: tuple[int, int]) -> np.ndarray:
    """Raw per-cell gradient-magnitude sums by orientation bin, (N, nch, ncw, O).

    One pass over the stack: central differences, then only the pixels with
    a non-zero gradient (a signature canvas is mostly blank) get an
    orientation bin, and one ``bincount`` over (image, cell, bin) sums them.
    """
    dt = images.dtype
    n, h, w = images.shape
    ch, cw = cell
    nch, ncw = h // ch, w // cw
    hh, ww = nch * ch, ncw * cw
    g_row = np.zeros((n, h, w), dt)
    g_col = np.zeros((n, h, w), dt)
    np.subtract(images[:, 2:, :], images[:, :-2, :], out=g_row[:, 1:-1, :])
    np.subtract(images[:, :, 2:], images[:, :, :-2], out=g_col[:, :, 1:-1])
    if (hh, ww) != (h, w):
        g_row = np.ascontiguousarray(g_row[:, :hh, :ww])
        g_col = np.ascontiguousarray(g_col[:, :hh, :ww])
    g_row = g_row.reshape(-1)
    g_col = g_col.reshape(-1)
    nz = np.flatnonzero((g_row != 0) | (g_col != 0))
    r = g_row[nz]
    c = g_col[nz]
    mag = np.sqrt(r * r + c * c)
    ang = np.rad2deg(np.arctan2(r, c))
    # == ang % 180 for ang in [-180, 180], bit for bit as numpy's float mod
    # (a tiny negative angle becomes 180.0 and falls in the last bin)
    ang[ang == 180] = 0
    ang += dt.type(180) * (ang < 0)
    b = np.minimum((ang / dt.type(180.0 / orientations)).astype(np.int64), orientations - 1)
    pix = np.arange(hh * ww, dtype=np.int64)
    pcell = ((pix // ww) // ch) * ncw + (pix % ww) // cw
    img, p = np.divmod(nz, hh * ww)
    idx = (img * (nch * ncw) + pcell[p]) * orientations + b
    hist = np.bincount(idx, weights=mag, minlength=n * nch * ncw * orientations)
    return hist.astype(dt).reshape(n, nch, ncw, orientations)


def _hog_blocks(hist: np.ndarray, cells_per_block: tuple[int, int], eps: float) -> np.ndarray:
    """L2-Hys block normalisation of cell histograms (N, nch, ncw, O) → (N, D)."""
    dt = hist.dtype
    n, nch, ncw, o = hist.shape
    bh, bw = cells_per_block
    nbr, nbc = nch - bh + 1, ncw - bw + 1
    blocks = np.empty((n, nbr, nbc, bh, bw, o), dt)
    for i in range(bh):
        for j in range(bw):
            blocks[:, :, :, i, j] = hist[:, i : i + nbr, j : j + nbc]
    flat = blocks.reshape(n, nbr, nbc, -1)
    norm = np.sqrt((flat * flat).sum(axis=-1, keepdims=True) + eps**2)
    out = np.minimum(flat / norm, 0.2)
    out /= np.sqrt((out * out).sum(axis=-1, keepdims=True) + eps**2)
    return out.reshape(n, -1)


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
    block normalisation), computed for the whole stack at once: one
    ``bincount`` over (image, cell, bin) of the pixels with a gradient.

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
    _, h, w = images.shape
    ch, cw = pixels_per_cell
    bh, bw = cells_per_block
    if h // ch < bh or w // cw < bw:
        raise ValueError("The parameter `images` is too small for the cell and block sizes")
    hist = _hog_cells(images, orientations, pixels_per_cell)
    hist /= ch * cw
    return _hog_blocks(hist, cells_per_block, eps)


def hog_pair(images: np.ndarray, *, orientations: int = 9, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """``hog_batch`` with 8 x 8 and with 16 x 16 pixel cells from one pass:
    a 16 x 16 cell's histogram is the sum of four 8 x 8 ones (H and W must be
    multiples of 16)."""
    images = _check_stack(images)
    n, h, w = images.shape
    if h % 16 or w % 16:
        return (
            hog_batch(images, orientations=orientations, eps=eps),
            hog_batch(images, orientations=orientations, pixels_per_cell=(16, 16), eps=eps),
        )
    h8 = _hog_cells(images, orientations, (8, 8))
    h16 = h8.reshape(n, h // 16, 2, w // 16, 2, orientations).sum(axis=(2, 4))
    h8 /= 64
    h16 /= 256
    return _hog_blocks(h8, (2, 2), eps), _hog_blocks(h16, (2, 2), eps)


_P = 8
_LBP_ANG = 2 * np.pi * np.arange(_P, dtype=np.float64) / _P
_LBP_R = np.round(-np.sin(_LBP_ANG), 5)
_LBP_C = np.round(np.cos(_LBP_ANG), 5)


def _uniform_lut() -> np.ndarray:
    """8-bit neighbour pattern → skimage's 'uniform' code (0..9): the number
    of set bits when the (non-circular) sequence changes at most twice."""
    v = np.arange(256)
    bits = (v[:, None] >> np.arange(_P)) & 1
    changes = (bits[:, :-1] != bits[:, 1:]).sum(axis=1)
    return np.where(changes <= 2, bits.sum(axis=1), _P + 1).astype(np.uint8)


_UNIFORM = _uniform_lut()


def lbp_codes_batch(images: np.ndarray) -> np.ndarray:
    """Uniform local binary pattern codes (P = 8, R = 1) of a stack.

    The codes of ``skimage.feature.local_binary_pattern(image, 8, 1,
    method='uniform')`` for each image (same bilinear sampling of the
    diagonal neighbours, zero outside the image, same uniformity count):
    the diagonal neighbours come from one 3 x 3 filter each over the stacked
    images, the eight comparisons are packed into a byte with shifts and a
    256-entry table gives the code. Exact ties in flat areas may come out
    differently from skimage's float64 rounding (a few pixels in 10,000).

    Parameters
    ----------
    images : (N, H, W) array

    Returns
    -------
    codes : (N, H, W) uint8 array, values 0..9
    """
    x = np.asarray(images)
    if x.ndim != 3:
        raise ValueError("The parameter `images` must be 3-D (N, H, W)")
    x = x.astype(np.float32, copy=False)
    n, h, w = x.shape
    pad = np.zeros((n, h + 2, w + 2), np.float32)
    pad[:, 1:-1, 1:-1] = x
    mosaic = pad.reshape(n * (h + 2), w + 2)  # zero rows keep images apart
    code = np.zeros((n, h, w), np.uint8)
    one = np.float32(1)
    for i in range(_P):  # eight neighbours
        r, c = _LBP_R[i], _LBP_C[i]
        r0, c0 = int(np.floor(r)), int(np.floor(c))
        r1, c1 = int(np.ceil(r)), int(np.ceil(c))
        if r0 == r1 and c0 == c1:
            tex = pad[:, 1 + r0 : 1 + r0 + h, 1 + c0 : 1 + c0 + w]
        else:
            dr, dc = np.float32(r - r0), np.float32(c - c0)
            k = np.zeros((3, 3), np.float32)
            k[1 + r0, 1 + c0] += (one - dr) * (one - dc)
            k[1 + r0, 1 + c1] += (one - dr) * dc
            k[1 + r1, 1 + c0] += dr * (one - dc)
            k[1 + r1, 1 + c1] += dr * dc
            t = cv2.filter2D(mosaic, cv2.CV_32F, k, borderType=cv2.BORDER_CONSTANT)
            tex = t.reshape(n, h + 2, w + 2)[:, 1:-1, 1:-1]
        bit = (tex >= x - _TIE).view(np.uint8)
        code |= bit << np.uint8(i) if i else bit
    return _UNIFORM[code]


#: Grey-level slack of the neighbour >= centre test: an exact tie of the
#: interpolated value counts as >=, whatever the float rounding (matters on
#: flat areas of quantised 0..255 levels; no real difference is that small).
_TIE = np.float32(1e-3)


def _lbp_codes_at(images: np.ndarray, at: np.ndarray) -> np.ndarray:
    """:func:`lbp_codes_batch` evaluated only at the flat indices `at` of
    (N, H, W) `images` (gathers of the eight neighbours; same arithmetic)."""
    x = images.astype(np.float32, copy=False)
    n, h, w = x.shape
    pad = np.zeros((n, h + 2, w + 2), np.float32)
    pad[:, 1:-1, 1:-1] = x
    flat = pad.reshape(-1)
    img, pix = np.divmod(at, h * w)
    r, c = np.divmod(pix, w)
    base = img * ((h + 2) * (w + 2)) + (r + 1) * (w + 2) + (c + 1)
    centre = flat[base]
    code = np.zeros(len(at), np.uint8)
    one = np.float32(1)
    for i in range(_P):
        rr, cc = _LBP_R[i], _LBP_C[i]
        r0, c0 = int(np.floor(rr)), int(np.floor(cc))
        r1, c1 = int(np.ceil(rr)), int(np.ceil(cc))

        def px(a, b):
            return flat[base + (a * (w + 2) + b)]

        if r0 == r1 and c0 == c1:
            tex = px(r0, c0)
        else:
            dr, dc = np.float32(rr - r0), np.float32(cc - c0)
            tex = (
                ((one - dr) * (one - dc)) * px(r0, c0)
                + ((one - dr) * dc) * px(r0, c1)
                + (dr * (one - dc)) * px(r1, c0)
                + (dr * dc) * px(r1, c1)
            )
        bit = (tex >= centre - _TIE).view(np.uint8)
        code |= bit << np.uint8(i) if i else bit
    return _UNIFORM[code]


def lbp_codes_reference(images: np.ndarray) -> np.ndarray:
    """Slow float reference of :func:`lbp_codes_batch` (used by the tests)."""
    x = np.asarray(images, np.float64)
    n, h, w = x.shape
    pad = np.zeros((n, h + 2, w + 2), x.dtype)
    pad[:, 1:-1, 1:-1] = x
    bits = np.empty((_P, n, h, w), bool)
    for i in range(_P):
        r, c = _LBP_R[i], _LBP_C[i]
        r0, c0 = int(np.floor(r)), int(np.floor(c))
        r1, c1 = int(np.ceil(r)), int(np.ceil(c))
        dr, dc = r - r0, c - c0

        def px(a, b):
            return pad[:, 1 + a : 1 + a + h, 1 + b : 1 + b + w]

        if r0 == r1 and c0 == c1:
            tex = px(r0, c0)
        else:
            tex = (1 - dr) * ((1 - dc) * px(r0, c0) + dc * px(r0, c1)) + dr * ((1 - dc) * px(r1, c0) + dc * px(r1, c1))
        bits[i] = tex - x >= -float(_TIE)  # exact ties count as >=, like the fast kernel
    changes = (bits[:-1] != bits[1:]).sum(axis=0)
    ones = bits.sum(axis=0)
    return np.where(changes <= 2, ones, _P + 1).astype(np.uint8)


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
    mask = images > ink_level
    gr, gc = grid
    zr = (np.arange(h) * gr) // h
    zc = (np.arange(w) * gc) // w
    zone = (zr[:, None] * gc + zc[None, :]).astype(np.int64).ravel()  # (H * W,)
    nz = gr * gc
    at = np.flatnonzero(mask)  # only ink pixels are counted (and coded)
    img, pix = np.divmod(at, h * w)
    idx = (img * nz + zone[pix]) * 10 + _lbp_codes_at(q, at)
    counts = np.bincount(idx, minlength=n * nz * 10).reshape(n, nz, 10).astype(np.float32)
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
    n = x.shape[0]
    parts = []
    for s in range(0, max(n, 1), _FEATURE_CHUNK):  # a few MB at a time: stays in cache
        xs = x[s : s + _FEATURE_CHUNK]
        hog8, hog16 = hog_pair(xs)
        parts.append({"hog": hog8, "hog16": hog16, "lbp": lbp_histograms(xs), "zoning": zoning_batch(xs), "profiles": profiles_batch(xs)})
    out = {k: np.concatenate([p[k] for p in parts]) if len(parts) > 1 else parts[0][k] for k in parts[0]}
    out["geometry"] = prepared.geometry.astype(np.float32, copy=False)
    return {k: out[k].astype(np.float32, copy=False) for k in FAMILIES}


#: Images per step of :func:`extract_features` (memory locality, not a limit).
_FEATURE_CHUNK = 64
