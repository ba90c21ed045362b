"""Batched signature features: every kernel takes an (N, H, W) stack and
returns (N, D) float32, with array operations over the whole stack.

Families (complementary views of the same normalised signature):

``hog``
    Histograms of gradient orientation on an 8 x 8 pixel grid, 2 x 2 block
    L2-Hys normalisation — the same numbers as ``skimage.feature.hog``.
``hog16``
    The same on a 16 x 16 pixel grid: coarser, tolerant to small shifts.
``grad``
    Gradient-direction distributions pooled over a pyramid of zones (whole
    signature, 1 x 3, 2 x 3, 2 x 6, 4 x 6): which way the strokes run, tolerant to where
    exactly they are. The whole-signature distribution alone separates
    writers (and skilled imitations) better than any other single
    distance on the development data.
``zoning``
    Ink density on a grid of zones: where the writing is.
``profiles``
    Row and column projections and the upper / lower contour of the ink:
    letter heights, ascenders and descenders, gaps between words.
``geometry``
    Global measurements taken before normalisation (aspect, slant, density,
    connectivity, tilt …) and stroke quality (stroke-width distribution
    along the medial axis, line length, outline wobble: what slow, careful
    copying changes), :data:`~sigverify.signatures.preprocess.GEOMETRY_NAMES`.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from sigverify.signatures.preprocess import GEOMETRY_NAMES, Prepared

__all__ = [
    "FAMILIES",
    "extract_features",
    "hog_batch",
    "hog_pair",
    "orientation_pyramid",
    "orientation_pyramid_reference",
    "feature_dims",
    "zoning_batch",
    "profiles_batch",
]

FAMILIES = ("hog", "hog16", "grad", "zoning", "profiles", "geometry")


def _check_stack(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError("The parameter `images` must be 3-D (N, H, W)")
    if images.dtype.kind != "f":
        images = images.astype(np.float32)
    return images


@lru_cache(maxsize=16)
def _cell_offsets(n: int, h: int, w: int, ch: int, cw: int, orientations: int) -> np.ndarray:
    """(n * h * w,) int32 (int64 for huge stacks): first histogram bin of
    each pixel's (image, cell)."""
    ncw = w // cw
    pix = np.arange(h * w, dtype=np.int64)
    pcell = ((pix // w) // ch) * ncw + (pix % w) // cw
    first = (np.arange(n, dtype=np.int64)[:, None] * ((h // ch) * ncw) + pcell[None]) * orientations
    first = first.reshape(-1)
    if n * (h // ch) * ncw * orientations < 2**31:
        first = first.astype(np.int32)  # half the memory traffic of the gather
    first.flags.writeable = False
    return first


#: float32 degrees per radian exactly as numpy's float32 ``rad2deg`` uses it.
_RAD2DEG32 = np.float32(180.0) / np.float32(np.pi)


def _hog_cells(images: np.ndarray, orientations: int, cell: tuple[int, int]) -> np.ndarray:
    """Raw per-cell gradient-magnitude sums by orientation bin, (N, nch, ncw, O).

    One pass over the stack: central differences (only over the whole
    cells), then only the pixels with a non-zero gradient (a signature
    canvas is mostly blank) get an orientation bin, and one ``bincount``
    over (image, cell, bin) sums them.
    """
    dt = images.dtype
    n, h, w = images.shape
    ch, cw = cell
    nch, ncw = h // ch, w // cw
    hh, ww = nch * ch, ncw * cw
    g_row = np.empty((n, hh, ww), dt)
    g_col = np.empty((n, hh, ww), dt)
    # central differences, 0 on the image border (like skimage)
    g_row[:, 0] = 0
    if hh == h:
        np.subtract(images[:, 2:, :ww], images[:, :-2, :ww], out=g_row[:, 1:-1])
        g_row[:, -1] = 0
    else:
        np.subtract(images[:, 2 : hh + 1, :ww], images[:, : hh - 1, :ww], out=g_row[:, 1:])
    g_col[:, :, 0] = 0
    if ww == w:
        np.subtract(images[:, :hh, 2:], images[:, :hh, :-2], out=g_col[:, :, 1:-1])
        g_col[:, :, -1] = 0
    else:
        np.subtract(images[:, :hh, 2 : ww + 1], images[:, :hh, : ww - 1], out=g_col[:, :, 1:])
    g_row = g_row.reshape(-1)
    g_col = g_col.reshape(-1)
    moving = g_row != 0
    moving |= g_col != 0
    nz = np.flatnonzero(moving)
    r = np.take(g_row, nz)
    c = np.take(g_col, nz)
    mag = np.sqrt(r * r + c * c)
    ang = np.arctan2(r, c)
    if dt == np.float32:
        # numpy's float32 rad2deg is ``x * (180.0f / NPY_PIf)``: the same
        # multiplication, without its slow scalar loop
        np.multiply(ang, _RAD2DEG32, out=ang)
    else:
        np.rad2deg(ang, out=ang)
    # == ang % 180 for ang in [-180, 180], bit for bit as numpy's float mod
    # (a tiny negative angle becomes 180.0 and falls in the last bin)
    ang[ang == 180] = 0
    ang += dt.type(180) * (ang < 0)
    ang /= dt.type(180.0 / orientations)
    offsets = _cell_offsets(n, hh, ww, ch, cw, orientations)
    b = ang.astype(offsets.dtype)
    np.minimum(b, orientations - 1, out=b)
    b += np.take(offsets, nz)
    hist = np.bincount(b, weights=mag, minlength=n * nch * ncw * orientations)
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


#: Grids (rows, columns) of 8 x 8 pixel cells pooled by :func:`orientation_pyramid`.
PYRAMID = ((1, 1), (1, 3), (2, 3), (2, 6), (4, 6))


def orientation_pyramid(cells: np.ndarray, *, levels=PYRAMID) -> np.ndarray:
    """Gradient-direction distributions pooled over a pyramid of zones.

    Parameters
    ----------
    cells : (N, R, C, O) array
        Gradient magnitude per cell and orientation bin (as from HOG before
        block normalisation); R and C divisible by every level's grid.
    levels : sequence of (int, int)

    Returns
    -------
    features : (N, O * sum(r * c for r, c in levels)) float32
        Square roots of each zone's orientation histogram normalised to sum
        1 (so that a Euclidean distance is the Hellinger distance); 0 for a
        blank zone.
    """
    n, r, c, o = cells.shape
    out = []
    for gr, gc in levels:
        z = cells.reshape(n, gr, r // gr, gc, c // gc, o).sum(axis=(2, 4), dtype=np.float64).reshape(n, gr * gc, o)
        t = z.sum(axis=2, keepdims=True)
        out.append(np.sqrt(np.divide(z, t, out=np.zeros_like(z), where=t > 0)).reshape(n, -1))
    return np.concatenate(out, axis=1).astype(np.float32)


def orientation_pyramid_reference(images: np.ndarray, *, levels=PYRAMID, orientations: int = 9) -> np.ndarray:
    """Slow per-image, per-zone reference of :func:`orientation_pyramid`
    over the 8 x 8 HOG cells of `images` (float64; used by the tests)."""
    x = np.asarray(images, np.float64)
    n, h, w = x.shape
    out = []
    for im in x:
        gr = np.zeros_like(im)
        gc = np.zeros_like(im)
        gr[1:-1, :] = im[2:, :] - im[:-2, :]
        gc[:, 1:-1] = im[:, 2:] - im[:, :-2]
        mag = np.hypot(gr, gc)
        ang = np.rad2deg(np.arctan2(gr, gc)) % 180
        b = np.minimum((ang // (180 / orientations)).astype(int), orientations - 1)
        feats = []
        for gr_, gc_ in levels:
            zh, zw = (h // 8 // gr_) * 8, (w // 8 // gc_) * 8
            for r in range(gr_):
                for c in range(gc_):
                    z = (slice(r * zh, (r + 1) * zh), slice(c * zw, (c + 1) * zw))
                    hist = np.bincount(b[z].ravel(), weights=mag[z].ravel(), minlength=orientations)
                    t = hist.sum()
                    feats.append(np.sqrt(hist / t) if t > 0 else hist)
        out.append(np.concatenate(feats))
    return np.array(out, np.float32)


def hog_pair(images: np.ndarray, *, orientations: int = 9, eps: float = 1e-5, return_cells: bool = False):
    """``hog_batch`` with 8 x 8 and with 16 x 16 pixel cells from one pass:
    a 16 x 16 cell's histogram is the sum of four 8 x 8 ones.

    With `return_cells`, also the raw 8 x 8 cell histograms (N, H // 8,
    W // 8, orientations) (gradient magnitude sums, for
    :func:`orientation_pyramid`; H and W must then be multiples of 16)."""
    images = _check_stack(images)
    n, h, w = images.shape
    if h % 16 or w % 16:
        if return_cells:
            raise ValueError("The parameter `images` must have H and W divisible by 16 for `return_cells`")
        return (
            hog_batch(images, orientations=orientations, eps=eps),
            hog_batch(images, orientations=orientations, pixels_per_cell=(16, 16), eps=eps),
        )
    h8 = _hog_cells(images, orientations, (8, 8))
    h16 = h8.reshape(n, h // 16, 2, w // 16, 2, orientations).sum(axis=(2, 4))
    b8 = _hog_blocks(h8 / 64, (2, 2), eps)
    b16 = _hog_blocks(h16 / 256, (2, 2), eps)
    return (b8, b16, h8) if return_cells else (b8, b16)


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
    x = images[:, : zh * cell[0], : zw * cell[1]].reshape(n, zh, cell[0], zw, cell[1])
    if tuple(cell) != (8, 8) or images.dtype != np.float32:
        z = x.mean(axis=(2, 4))
    else:
        # The same sums as ``x.mean(axis=(2, 4))``, bit for bit, as whole-array
        # additions instead of numpy's per-8-pixel reduction calls: numpy
        # adds each run of 8 contiguous pixels as a pairwise tree
        # ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) and accumulates
        # the 8 rows of a zone one after the other onto 0; /64 is exact.
        a = np.add(x[..., 0], x[..., 1])
        a += np.add(x[..., 2], x[..., 3])
        b = np.add(x[..., 4], x[..., 5])
        b += np.add(x[..., 6], x[..., 7])
        a += b  # (n, zh, 8, zw)
        z = np.add(a[:, :, 0], np.float32(0.0))  # numpy starts from +0.0 (no -0.0)
        for i in range(1, 8):
            z += a[:, :, i]
        z *= np.float32(1 / 64)
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


def feature_dims(canvas: tuple[int, int]) -> dict[str, int]:
    """Length of each family's vector for images of size `canvas`."""
    return dict(_feature_dims(tuple(canvas)))


@lru_cache(maxsize=8)
def _feature_dims(canvas: tuple[int, int]) -> dict[str, int]:
    h, w = canvas
    empty = Prepared(np.zeros((1, h, w), np.float32), np.zeros(1), np.array([""], object), np.zeros((1, len(GEOMETRY_NAMES)), np.float32))
    return {k: v.shape[1] for k, v in extract_features(empty).items()}


def extract_features(prepared: Prepared, *, out: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """All feature families of prepared signatures.

    Parameters
    ----------
    prepared : Prepared
        From :func:`~sigverify.signatures.preprocess.preprocess`.
    out : dict of str to (N, D_family) float32 arrays, optional
        Arrays to fill (e.g. row ranges of a larger batch's arrays, see
        :func:`feature_dims`); returned.

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
    (['geometry', 'grad', 'hog', 'hog16', 'profiles', 'zoning'], dtype('float32'))
    """
    x = prepared.images.astype(np.float32, copy=False)
    n = x.shape[0]
    out = {} if out is None else out
    for s in range(0, n, _FEATURE_CHUNK):  # a few MB at a time: stays in cache
        xs = x[s : s + _FEATURE_CHUNK]
        hog8, hog16, cells = hog_pair(xs, return_cells=True)
        part = {
            "hog": hog8,
            "hog16": hog16,
            "grad": orientation_pyramid(cells),
            "zoning": zoning_batch(xs),
            "profiles": profiles_batch(xs),
        }
        for k, v in part.items():  # straight into the output (no concatenation copies)
            if k not in out:
                out[k] = np.empty((n, v.shape[1]), np.float32)
            out[k][s : s + len(xs)] = v
    if n == 0 and not out:
        out.update({k: np.zeros((0, d), np.float32) for k, d in feature_dims(x.shape[1:]).items()})
    if "geometry" in out and out["geometry"].shape[0] == n:
        out["geometry"][...] = prepared.geometry
    else:
        out["geometry"] = prepared.geometry.astype(np.float32, copy=False)
    return {k: out[k] for k in FAMILIES}


#: Images per step of :func:`extract_features` (memory locality, not a limit).
_FEATURE_CHUNK = 32
