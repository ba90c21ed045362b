"""Batched clean-up of signature crops onto a fixed canvas.

A crop cut from a scanned form (or an exemplar from the voter file) becomes
a (H, W) float32 image with ink = 1 on a 0 background, of the same size for
every signature, so that the feature kernels can work on an (N, H, W) stack.

The only per-image Python step is bringing each crop, whatever its size, to
the working resolution and pasting it into a fixed-size *slot* (sizes differ,
so this cannot be one array operation). Everything after that — local
(Sauvola) binarization, form-line removal, despeckling, bounding box, slant,
the warp onto the canvas and stroke-width normalization — runs on a whole
chunk of slots at once, either as numpy array operations or as single OpenCV
calls on a *mosaic* (the slots stacked vertically into one tall 2-D image,
separated by blank margins so that neighbouring slots never interact).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

__all__ = [
    "PrepParams",
    "Prepared",
    "preprocess",
    "iter_prepared",
    "sauvola_threshold",
    "GEOMETRY_NAMES",
    "STROKE_NAMES",
    "stroke_quality",
    "stroke_quality_reference",
]

#: Names of the columns of :attr:`Prepared.geometry`.
GEOMETRY_NAMES = (
    "log_aspect",  # log(width / height) of the deslanted ink box
    "slant",  # tan of the mean slant of near-vertical strokes (+ = leaning right)
    "path_density",  # ink area / stroke width / box area: how much writing per box
    "components",  # connected pieces of ink per unit of box width (in heights)
    "centroid_y",  # ink centroid within the box, 0 = top, 1 = bottom
    "centroid_x",  # ink centroid within the box, 0 = left, 1 = right
    "tilt",  # baseline tilt: principal axis angle of the ink (radians)
    "spread_y",  # vertical spread of the ink (std / box height)
    "stroke_width",  # mean stroke width along the medial axis / box height
    "stroke_cv",  # coefficient of variation of the stroke width (pressure, pen stops)
    "stroke_blobs",  # share of the medial axis wider than 1.6 x the mean width (ink pooling)
    "stroke_length",  # medial-axis pixels / box height: how much line was drawn
    "stroke_jagged",  # ink outline / outline after a 3 x 3 majority vote (tremor, wobble)
    "stroke_fill",  # ink area / (medial-axis length x mean width)
)

#: Columns of :func:`stroke_quality`, the last ones of :data:`GEOMETRY_NAMES`.
STROKE_NAMES = GEOMETRY_NAMES[-6:]


@dataclass(frozen=True)
class PrepParams:
    """Settings of preprocessing; part of a model's feature version.

    Attributes
    ----------
    canvas : (int, int)
        Output image size (rows, columns).
    canvas_margin : int
        Blank border kept around the ink on the canvas, in pixels.
    work_dpi : float
        Resolution the crops are brought to before binarization when their
        dpi is known.
    slot : (int, int)
        Largest working image (rows, columns); bigger crops are scaled down
        to fit, preserving their aspect ratio.
    sauvola_window, sauvola_k, sauvola_r : int, float, float
        Local threshold ``T = m * (1 + k * (s / r - 1))`` over a square
        window (working-resolution pixels, odd).
    min_contrast : float
        Ink must also be this many grey levels darker than the paper.
    line_len : int
        Shortest straight run (working pixels) that may be a form line.
    line_span : float
        A straight run is a form line only if it spans this share of the crop
        width (horizontal lines) or height (vertical lines).
    min_speck : int
        Ink components smaller than this many pixels are dust.
    min_ink : int
        Fewer ink pixels than this after clean-up means "empty".
    stroke_target : float
        Stroke width (canvas pixels) that stroke-width normalization aims at.
    normalize : {'moments', 'box'}
        Position and size: ``'box'`` stretches the (deslanted) ink bounding
        box over the canvas; ``'moments'`` centres the ink centroid and maps
        ``spread`` standard deviations of the ink each side to the canvas
        edges (robust to one long flourish).
    spread : float
    trim : bool
        Cut each crop to the box of its dark pixels (ignoring printed lines
        that run across it) before anything else: a wide petition-line cell
        with a small signature in it is not shrunk to fit the working slot.
    stretch : bool
        Stretch the grey levels of faint crops (darkest ink to black, paper
        kept) before binarization.
    unknown_height : float
        When a crop's dpi is unknown, it is scaled so that its (trimmed)
        height is about this many working pixels (between x0.25 and x2):
        small, thin signatures from a line cell are enlarged before
        binarization instead of losing their faint strokes.
    """

    canvas: tuple[int, int] = (64, 192)
    canvas_margin: int = 3
    work_dpi: float = 100.0
    slot: tuple[int, int] = (160, 480)
    sauvola_window: int = 21
    sauvola_k: float = 0.2
    sauvola_r: float = 128.0
    min_contrast: float = 24.0
    line_len: int = 40
    line_span: float = 0.7
    min_speck: int = 4
    min_ink: int = 24
    stroke_target: float = 2.5
    normalize: str = "moments"
    spread: float = 2.0
    trim: bool = True
    stretch: bool = True
    unknown_height: float = 72.0

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "PrepParams":
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**kw)


@dataclass
class Prepared:
    """Signatures cleaned and normalised onto a common canvas.

    Attributes
    ----------
    images : (N, H, W) float32 array
        Ink = 1 on a 0 background, size, position, slant and stroke width
        normalized. All zeros where ``error`` is set.
    ink : (N,) float64 array
        Share of the original crop covered by ink (before form-line removal).
    error : (N,) object array of str
        ``''`` or a reason code: ``'unreadable'`` (not an image), ``'empty'``
        (no ink), ``'all_ink'`` (dark all over), ``'form_line_only'`` (only a
        printed line), ``'too_small'``.
    geometry : (N, G) float32 array
        Global shape measurements taken before normalization, columns
        :data:`GEOMETRY_NAMES`.
    params : PrepParams
    """

    images: np.ndarray
    ink: np.ndarray
    error: np.ndarray
    geometry: np.ndarray
    params: PrepParams = field(default_factory=PrepParams)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def ok(self) -> np.ndarray:
        """(N,) bool: True where the signature could be used."""
        return self.error == ""

    def take(self, index) -> "Prepared":
        """The prepared signatures at `index` (any numpy index)."""
        return Prepared(
            self.images[index], self.ink[index], self.error[index], self.geometry[index], self.params
        )

    @staticmethod
    def concat(parts: Sequence["Prepared"]) -> "Prepared":
        return Prepared(
            np.concatenate([p.images for p in parts]),
            np.concatenate([p.ink for p in parts]),
            np.concatenate([p.error for p in parts]),
            np.concatenate([p.geometry for p in parts]),
            parts[0].params,
        )


# ---------------------------------------------------------------- kernels


def sauvola_threshold(images: np.ndarray, *, window: int = 21, k: float = 0.2, r: float = 128.0) -> np.ndarray:
    """Sauvola local threshold of a stack of images, all at once.

    Same result as ``skimage.filters.threshold_sauvola(image, window_size=
    window, k=k, r=r)`` for each image (reflecting borders), computed with
    one box filter call over the stacked images.

    Parameters
    ----------
    images : (N, H, W) array
        Grey levels (any real dtype).
    window : int
        Odd side of the square window, pixels.
    k, r : float
        Sauvola's parameters: ``T = m * (1 + k * (s / r - 1))``.

    Returns
    -------
    threshold : (N, H, W) float32 array

    Examples
    --------
    >>> img = np.full((1, 30, 30), 250, np.uint8); img[0, 10:20, 14:16] = 40
    >>> t = sauvola_threshold(img, window=15)
    >>> bool(img[0, 15, 15] < t[0, 15, 15]), bool(img[0, 2, 2] < t[0, 2, 2])
    (True, False)
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError("The parameter `images` must be 3-D (N, H, W)")
    if window % 2 == 0 or window < 3:
        raise ValueError("The parameter `window` must be odd and >= 3")
    n, h, w = images.shape
    rad = window // 2
    x = images.astype(np.float64, copy=False)
    # Reflect each image on its own (like skimage), then one box filter over
    # the stack: rows of neighbouring images never fall in a window because
    # only the central (H, W) of each padded image is kept.
    pad = np.pad(x, ((0, 0), (rad, rad), (rad, rad)), mode="reflect")
    mosaic = pad.reshape(n * (h + 2 * rad), w + 2 * rad)
    mean = cv2.boxFilter(mosaic, cv2.CV_64F, (window, window), borderType=cv2.BORDER_REFLECT_101)
    sq = cv2.sqrBoxFilter(mosaic, cv2.CV_64F, (window, window), borderType=cv2.BORDER_REFLECT_101)
    mean = mean.reshape(n, h + 2 * rad, w + 2 * rad)[:, rad : rad + h, rad : rad + w]
    sq = sq.reshape(n, h + 2 * rad, w + 2 * rad)[:, rad : rad + h, rad : rad + w]
    std = np.sqrt(np.clip(sq - mean * mean, 0, None))
    return (mean * (1 + k * (std / r - 1))).astype(np.float32)


def _sauvola_slots(slots: np.ndarray, p: PrepParams) -> np.ndarray:
    """Sauvola threshold for uint8 slots that already carry paper-coloured
    margins (no per-image reflection needed: one box filter over the mosaic).

    The local mean and deviation over a 21-pixel window vary slowly, so they
    are computed at half resolution (2 x 2 means, an 11-pixel window) and
    the threshold surface is interpolated back: a quarter of the work for
    the same ink."""
    n, h, w = slots.shape
    mosaic = slots.reshape(n * h, w)
    half = cv2.resize(mosaic, (w // 2, n * h // 2), interpolation=cv2.INTER_AREA).astype(np.float32)
    k = p.sauvola_window // 2 | 1
    win = (k, k)
    mean = cv2.boxFilter(half, cv2.CV_32F, win, borderType=cv2.BORDER_REPLICATE)
    sq = cv2.sqrBoxFilter(half, cv2.CV_32F, win, borderType=cv2.BORDER_REPLICATE)
    # OpenCV's vectorized element-wise calls (no numpy temporaries)
    std = cv2.max(cv2.subtract(sq, cv2.multiply(mean, mean)), 0.0)
    std = cv2.sqrt(std)
    # T = m * (1 + k * (s / r - 1)) = m * ((1 - k) + s * k / r)
    t = cv2.multiply(mean, cv2.addWeighted(std, p.sauvola_k / p.sauvola_r, std, 0.0, 1 - p.sauvola_k))
    return cv2.resize(t, (w, n * h), interpolation=cv2.INTER_LINEAR).reshape(n, h, w)


def _to_gray(crop) -> np.ndarray:
    """One crop (array-like) → (H, W) uint8, 0 = ink. Raises ValueError."""
    from sigverify.imageio import to_gray_u8  # shared conversion rules

    a = np.asarray(crop)
    if a.dtype == object or a.ndim not in (2, 3):
        raise ValueError("not an image")
    if a.dtype.kind == "f":
        # floats: 0..1 (or 0..255) grey levels, light paper
        hi = 255.0 if np.nanmax(a, initial=0) > 1.0 else 1.0
        a = np.clip(np.nan_to_num(a, nan=hi) * (255.0 / hi), 0, 255).astype(np.uint8)
    elif a.dtype.kind in "iu" and a.dtype != np.uint8 and a.dtype != np.uint16:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return to_gray_u8(a)


def _trim_box(g: np.ndarray, p: PrepParams) -> tuple[int, int, int, int]:
    """Rows and columns (r0, r1, c0, c1) of a crop holding its dark pixels,
    printed lines across the crop aside, with a small blank margin; the
    whole crop when nothing is dark. Array operations on the one crop."""
    H, W = g.shape
    f = max(1, min(H, W) // 40)  # a large crop is measured on every f-th pixel
    gs = np.ascontiguousarray(g[::f, ::f])
    h, w = gs.shape
    sub = gs.reshape(-1)[:: max(1, gs.size // 1024)]
    j = int(0.8 * (sub.size - 1))
    paper = int(np.partition(sub, j)[j])
    dark = (gs < paper - p.min_contrast).view(np.uint8)
    # dark pixels per row and per column (OpenCV's reductions)
    rows = cv2.reduce(dark, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).reshape(h)
    cols = cv2.reduce(dark, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).reshape(w)
    line_r = rows > p.line_span * w  # a printed line across the crop
    line_c = cols > p.line_span * h
    any_r, any_c = line_r.any(), line_c.any()
    if any_r:
        cols = cols - np.count_nonzero(dark[line_r], axis=0)
    if any_c:
        rows = rows - np.count_nonzero(dark[:, line_c], axis=1)
    if any_r:
        rows[line_r] = 0
    if any_c:
        cols[line_c] = 0
    rr = np.flatnonzero(rows)
    cc = np.flatnonzero(cols)
    if len(rr) == 0 or len(cc) == 0:
        return 0, H, 0, W
    m = 1 + (2 + max(H, W) // 50) // f

    def bounds(idx, lines, size):
        # the margin never takes in a printed line next to the writing
        lo, hi = max(int(idx[0]) - m, 0), min(int(idx[-1]) + 1 + m, size)
        if lines is None:
            return lo, hi
        lines = np.flatnonzero(lines)
        before = lines[(lines < idx[0]) & (lines >= lo)]
        after = lines[(lines > idx[-1]) & (lines < hi)]
        return (before.max() + 1 if len(before) else lo), (after.min() if len(after) else hi)

    r0, r1 = bounds(rr, line_r if any_r else None, h)
    c0, c1 = bounds(cc, line_c if any_c else None, w)
    return int(r0) * f, min(int(r1) * f, H), int(c0) * f, min(int(c1) * f, W)


def _margin(p: PrepParams) -> int:
    return p.sauvola_window // 2 + 1


def _plan(grays, dpis, p: PrepParams):
    """Working size of each crop: (nh, nw, scale); (0, 0, 0) for unusable."""
    hs, ws = p.slot
    m = _margin(p)
    plan = np.zeros((len(grays), 2), np.int64)
    scale = np.zeros(len(grays))
    for i, g in enumerate(grays):
        if g is None:
            continue
        h, w = g.shape
        if dpis[i]:
            s = min(p.work_dpi / dpis[i], 1.5)
        elif p.trim:
            s = float(np.clip(p.unknown_height / h, 0.25, 2.0))
        else:
            s = 1.0
        s = min(s, (hs - 2 * m) / h, (ws - 2 * m) / w)
        plan[i] = (max(1, round(h * s)), max(1, round(w * s)))
        scale[i] = s
    return plan, scale


def _rescale(g: np.ndarray, nh: int, nw: int) -> np.ndarray:
    """Bring one crop to about (nh, nw) pixels.

    Shrinking by an integer factor f uses OpenCV's fast exact-factor area
    averaging (the crop is cut to a multiple of f: at most f - 1 edge pixels,
    so the result may be a pixel smaller than asked); what is left of the
    scale (between 1/2 and 1) is bilinear. Enlarging is bilinear.
    """
    h, w = g.shape
    f = int(round(min(h / nh, w / nw)))
    if f < 2 or not (nh - 1 <= h // f <= nh and nw - 1 <= w // f <= nw):
        f = int(min(h / nh, w / nw) + 1e-6)
    if f >= 2:
        g = cv2.resize(g[: h - h % f, : w - w % f], (w // f, h // f), interpolation=cv2.INTER_AREA)
        h, w = g.shape
        if nh - 1 <= h <= nh and nw - 1 <= w <= nw:
            return g
    return cv2.resize(g, (nw, nh), interpolation=cv2.INTER_LINEAR if (nh >= h or f >= 2) else cv2.INTER_AREA)


def _load_slots(grays, plan, p: PrepParams):
    """Per-image step: rescale to working resolution, paste into a slot.

    The slot size is the largest working size of this chunk (rounded up), so
    a chunk of small crops costs little.

    Returns slots (n, Hs, Ws) uint8 (paper-filled), paper (n,) float32;
    `plan` is updated in place to the sizes actually pasted.
    """
    n = len(grays)
    m = _margin(p)
    hs = int(-(-(plan[:, 0].max() + 2 * m) // 8) * 8)
    ws = int(-(-(plan[:, 1].max() + 2 * m) // 8) * 8)
    slots = np.empty((n, hs, ws), np.uint8)
    paper = np.full(n, 255.0, np.float32)
    for i, g in enumerate(grays):
        nh, nw = plan[i]
        if g is None or nh == 0:
            slots[i] = 255
            continue
        if (nh, nw) != g.shape:
            g = _rescale(g, int(nh), int(nw))
            nh, nw = g.shape
            plan[i] = (nh, nw)
        # paper level: a high percentile of a subsample (ink is a minority)
        sub = g.ravel()[:: max(1, g.size // 1024)]
        j = int(0.8 * (sub.size - 1))
        jlo = int(0.01 * (sub.size - 1))
        part = np.partition(sub, (jlo, j))
        pl, lo = int(part[j]), int(part[jlo])
        if p.stretch and pl - lo >= 2 * p.min_contrast:
            # faint ink (a light pen, a pale scan): stretch darkest ink..paper
            # to 0..paper so that binarization sees the same contrast as for
            # a dark pen (at most x3: blank paper noise is never stretched)
            a = min(pl / max(pl - lo, 1), 3.0)
            g = cv2.convertScaleAbs(g, alpha=a, beta=pl - a * pl)
        paper[i] = pl
        slots[i] = pl
        slots[i, m : m + nh, m : m + nw] = g
    return slots, paper


def _slot_masks(sizes: np.ndarray, m: int, shape) -> np.ndarray:
    """(n, Hs, Ws) bool: True inside each slot's crop."""
    _, hs, ws = shape
    rr = np.arange(hs)[None, :, None]
    cc = np.arange(ws)[None, None, :]
    return ((rr >= m) & (rr < m + sizes[:, 0, None, None])) & ((cc >= m) & (cc < m + sizes[:, 1, None, None]))


def _remove_form_lines(ink: np.ndarray, sizes: np.ndarray, m: int, p: PrepParams):
    """Remove long straight horizontal / vertical lines that span the crop,
    restoring stroke pixels that cross them. Returns (ink, removed_any)."""
    n, hs, ws = ink.shape
    u8 = ink.reshape(n * hs, ws).view(np.uint8)
    L = p.line_len
    removed = None
    for axis in (0, 1):  # 0: horizontal lines, 1: vertical lines
        if axis == 0:
            tol = cv2.dilate(u8, np.ones((3, 1), np.uint8))  # tolerate 1 px of drift
            cand = cv2.morphologyEx(tol, cv2.MORPH_OPEN, np.ones((1, L), np.uint8))
        else:
            tol = cv2.dilate(u8, np.ones((1, 3), np.uint8))
            cand = cv2.morphologyEx(tol, cv2.MORPH_OPEN, np.ones((L, 1), np.uint8))
        cand &= u8
        # Only a slot whose candidates together span enough of the crop can
        # hold a line: label the candidates of those slots only (components
        # never cross slots: the margins are blank).
        c3 = cand.reshape(n, hs, ws)
        prof = c3.max(axis=1) if axis == 0 else c3.max(axis=2)
        has = prof.any(axis=1)
        first = prof.argmax(axis=1)
        last = prof.shape[1] - 1 - prof[:, ::-1].argmax(axis=1)
        span = (last - first + 1) / np.maximum(sizes[:, 0 if axis == 1 else 1], 1)
        sel = np.flatnonzero(has & (span >= p.line_span))
        if len(sel) == 0:
            continue
        if len(sel) == n:
            at, lab_at, nlab = _ink_labels(cand)
        else:
            at, lab_at, nlab = _ink_labels(np.ascontiguousarray(c3[sel]).reshape(len(sel) * hs, ws))
            at = sel[at // (hs * ws)] * (hs * ws) + at % (hs * ws)
        pos = at // ws if axis == 1 else at % ws  # along the line
        lo = np.full(nlab, np.iinfo(np.int64).max)
        hi = np.full(nlab, -1)
        np.minimum.at(lo, lab_at, pos)
        np.maximum.at(hi, lab_at, pos)
        slot_of = np.zeros(nlab, np.int64)
        slot_of[lab_at] = at // ws // hs
        extent = (hi - lo + 1) / np.maximum(sizes[slot_of, 0 if axis == 1 else 1], 1)
        keep = extent >= p.line_span
        keep[0] = False
        if not keep[1:].any():
            continue
        line = np.zeros_like(u8)
        line.reshape(-1)[at[keep[lab_at]]] = 1
        # Thickening the line a little catches its anti-aliased fringe.
        k = np.ones((3, 1) if axis == 0 else (1, 3), np.uint8)
        r = cv2.dilate(line, k) & u8
        removed = r if removed is None else (removed | r)
    if removed is None:
        return ink, np.zeros(n, bool)
    rest = u8 & (1 - removed)
    # A stroke crossing the line continues on both sides: close the gap across
    # the line direction and put back only pixels of the removed line.
    bridge_h = cv2.morphologyEx(rest, cv2.MORPH_CLOSE, np.ones((9, 1), np.uint8))
    bridge_v = cv2.morphologyEx(rest, cv2.MORPH_CLOSE, np.ones((1, 9), np.uint8))
    restored = removed & (bridge_h | bridge_v)
    out = (rest | restored).reshape(n, hs, ws).astype(bool)
    any_removed = (removed & (1 - restored)).reshape(n, hs, ws).any(axis=(1, 2))
    return out, any_removed


def _ink_labels(u8: np.ndarray):
    """Connected components (8-connected) of a 0/1 mosaic, on its ink pixels
    only: flat indices of the ink, the label of each, number of labels.
    (Labels without per-component statistics: OpenCV's statistics pass
    costs several times the labelling; everything else is measured on the
    few ink pixels.)"""
    nlab, lab = cv2.connectedComponents(u8, connectivity=8, ltype=cv2.CV_32S)
    at = _flat_nonzero(u8)
    return at, lab.reshape(-1)[at], nlab


def _flat_nonzero(u8: np.ndarray) -> np.ndarray:
    """np.flatnonzero of a 2-D uint8 image, in raster order (OpenCV's
    vectorized scan: several times faster on a sparse mosaic)."""
    pts = cv2.findNonZero(u8)
    if pts is None:
        return np.zeros(0, np.int64)
    pts = pts.reshape(-1, 2).astype(np.int64)
    return pts[:, 1] * u8.shape[1] + pts[:, 0]


def _despeckle(ink: np.ndarray, min_area: int):
    """Drop connected components smaller than `min_area`; count the rest per slot."""
    n, hs, ws = ink.shape
    u8 = ink.reshape(n * hs, ws).view(np.uint8)
    at, lab_at, nlab = _ink_labels(u8)
    area = np.bincount(lab_at, minlength=nlab)
    good = area >= min_area
    good[0] = False
    slot_of = np.zeros(nlab, np.int64)
    slot_of[lab_at] = at // (hs * ws)
    counts = np.bincount(slot_of[1:][good[1:]], minlength=n)
    if good[1:].all():
        return ink, counts
    ink = ink.copy()
    ink.reshape(-1)[at[~good[lab_at]]] = False
    return ink, counts


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


_SQUARE = np.ones((3, 3), np.uint8)


def _image_sums(u8: np.ndarray, n: int) -> np.ndarray:
    """Sum of each image of a uint8 mosaic (OpenCV's row reduction)."""
    return cv2.reduce(u8, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).reshape(n, -1).sum(axis=1, dtype=np.int64)


def stroke_quality(ink: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Stroke-quality measurements of binary signatures: slow, careful
    copying changes how evenly the pen lays down ink and how smooth the
    strokes are.

    The medial axis is the ridge of the city-block distance to the paper
    (capped at 6): ink pixels at least as far as their 8 neighbours; the
    stroke width there is ``2 * distance - 1``. All steps are whole-mosaic
    OpenCV passes and per-image sums.

    Parameters
    ----------
    ink : (N, H, W) bool array
        Ink at working resolution; the border rows / columns of each image
        must be blank (the images are processed as one vertical mosaic).
    height : (N,) float array
        Ink box height in pixels (the scale reference: the measurements do
        not depend on the resolution).

    Returns
    -------
    features : (N, 6) float32
        Columns :data:`STROKE_NAMES`: mean width / height; coefficient of
        variation of the width; share of the axis wider than 1.6 x the mean
        width; axis length (pixels) / height; outline length / outline
        length after a 3 x 3 majority vote (>= about 1, larger = more
        wobble); ink area / (axis length x mean width). Zeros for an image
        without ink.
    """
    n, h, w = ink.shape
    u8 = np.ascontiguousarray(ink).reshape(n * h, w).view(np.uint8)
    # city-block distance by repeated erosion with a cross: strokes vanish
    # after a few cheap passes
    eroded = cv2.erode(u8, _CROSS)
    dist = cv2.add(u8, eroded)
    cur = eroded
    for _ in range(4):  # capped at 6
        if not cv2.countNonZero(cur):
            break
        cur = cv2.erode(cur, _CROSS)
        cv2.add(dist, cur, dst=dist)
    ridge = cv2.bitwise_and(cv2.compare(dist, cv2.dilate(dist, _SQUARE), cv2.CMP_GE), u8)
    # the width takes only the values 2 * d - 1, d = 1 .. 6: every per-image
    # statistic follows from how many axis pixels of each image have each
    # d (exact integer sums, so the same numbers as summing pixel by pixel)
    pts = cv2.findNonZero(ridge)
    hist = np.zeros((n, 8), np.int64)
    if pts is not None:
        pts = pts.reshape(-1, 2)
        x, y = pts[:, 0], pts[:, 1]
        d = dist[y, x].astype(np.int32)
        d += (y // h) * 8
        hist = np.bincount(d, minlength=n * 8).reshape(n, 8)
    widths = 2.0 * np.arange(8) - 1.0
    cnt = hist.sum(axis=1).astype(np.float64)
    c1 = np.maximum(cnt, 1)
    mean = (hist @ np.arange(-1, 15, 2)).astype(np.float64) / c1
    var = (hist @ np.arange(-1, 15, 2) ** 2).astype(np.float64) / c1 - mean * mean
    cv = np.sqrt(np.maximum(var, 0)) / np.maximum(mean, 1e-9)
    blobs = (hist * (widths[None, :] > 1.6 * mean[:, None])).sum(axis=1).astype(np.float64) / c1
    area = _image_sums(u8, n)
    # the outline (ink pixels with a 4-neighbour of paper) is lengthened by
    # single-pixel bumps and notches (a trembling pen); a majority vote over
    # 3 x 3 pixels smooths them away
    sm = cv2.medianBlur(u8, 3)
    jag = (area - _image_sums(eroded, n)) / np.maximum(_image_sums(sm, n) - _image_sums(cv2.erode(sm, _CROSS), n), 1)
    hgt = np.maximum(np.asarray(height, np.float64), 1.0)
    out = np.stack([mean / hgt, cv, blobs, cnt / hgt, jag, area / np.maximum(cnt * mean, 1e-9)], axis=1)
    out[cnt == 0] = 0
    return out.astype(np.float32)


def stroke_quality_reference(ink: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Slow per-image reference of :func:`stroke_quality` (scipy.ndimage
    distance transform, maximum and median filters; used by the tests)."""
    from scipy import ndimage

    def boundary(im):
        p = np.pad(im, 1)
        inner = im & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
        return int(im.sum() - inner.sum())

    out = []
    for im, hgt in zip(np.asarray(ink, bool), height):
        hgt = max(float(hgt), 1.0)
        dist = np.minimum(ndimage.distance_transform_cdt(im, metric="taxicab"), 6).astype(np.float64)
        ridge = (dist > 0) & (dist >= ndimage.maximum_filter(dist, size=3, mode="constant"))
        wd = 2.0 * dist[ridge] - 1.0
        if wd.size == 0:
            out.append(np.zeros(6))
            continue
        mean = wd.mean()
        smooth = ndimage.median_filter(im.astype(np.uint8), size=3, mode="constant") > 0
        out.append([
            mean / hgt,
            wd.std() / mean,
            float(np.mean(wd > 1.6 * mean)),
            wd.size / hgt,
            boundary(im) / max(boundary(smooth), 1),
            im.sum() / (wd.size * mean),
        ])
    return np.array(out, np.float32)


def _prepare_chunk(grays, plan, error, p: PrepParams) -> Prepared:
    n = len(grays)
    hc, wc = p.canvas
    m = _margin(p)
    slots, paper = _load_slots(grays, plan, p)
    _, hs, ws = slots.shape
    inside = _slot_masks(plan, m, slots.shape)

    dark_paper = (paper < 96) & (error == "")
    error[dark_paper] = "all_ink"

    # 1. local binarization; ink colour and darkness stop mattering here
    t = _sauvola_slots(slots, p)
    t = np.minimum(t, paper[:, None, None] - np.float32(p.min_contrast), out=t)
    ink = (slots < t) & inside
    area = np.maximum(plan[:, 0] * plan[:, 1], 1)
    ink_share = ink.sum(axis=(1, 2)) / area

    # 2. printed lines and box edges
    ink, had_lines = _remove_form_lines(ink, plan, m, p)

    # 3. dust
    ink, ncomp = _despeckle(ink, p.min_speck)
    inkf = ink.astype(np.float32)
    rows = inkf.sum(axis=2)  # (n, hs)
    count = rows.sum(axis=1).astype(np.float64)
    few = (count < p.min_ink) & (error == "")
    error[few & had_lines] = "form_line_only"
    error[few & ~had_lines] = "empty"
    ok = error == ""

    # 4. slant from the gradients of near-vertical strokes (half resolution)
    mos = cv2.pyrDown(inkf.reshape(n * hs, ws))
    gx = cv2.Sobel(mos, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(mos, cv2.CV_32F, 0, 1, ksize=3)
    vert = np.abs(gx) > 2.0 * np.abs(gy)  # strokes within ~27 deg of vertical
    gxv = np.where(vert, gx, 0).reshape(n, -1)
    sxy = np.einsum("ij,ij->i", gxv, gy.reshape(n, -1), dtype=np.float64)
    sxx = np.einsum("ij,ij->i", gxv, gxv, dtype=np.float64)
    slant = np.clip(np.divide(sxy, sxx, out=np.zeros(n), where=sxx > 0), -0.8, 0.8)

    # 5. moments and deslanted bounding box, from row sums (no per-pixel pass)
    ys = np.arange(hs, dtype=np.float64)
    xs = np.arange(ws, dtype=np.float32)
    cnt = np.maximum(count, 1)
    rowsx = (inkf @ xs).astype(np.float64)  # (n, hs): sum of x over each row
    rowsxx = (inkf @ (xs * xs)).astype(np.float64)
    rows = rows.astype(np.float64)
    cy = rows @ ys / cnt
    cx = rowsx.sum(axis=1) / cnt
    vy = rows @ (ys * ys) / cnt - cy * cy
    vx = rowsxx.sum(axis=1) / cnt - cx * cx
    cxy = rowsx @ ys / cnt - cx * cy
    tilt = 0.5 * np.arctan2(2 * cxy, vx - vy)

    has = rows > 0
    y0 = np.where(has, ys[None], hs).min(axis=1)
    y1 = np.where(has, ys[None], -1).max(axis=1) + 1
    left = ink.argmax(axis=2).astype(np.float64)
    # last ink column of each row: first one of the mirrored rows (OpenCV's
    # flip; argmax along a reversed view is several times slower)
    flipped = cv2.flip(ink.reshape(n * hs, ws).view(np.uint8), 1).view(bool).reshape(n, hs, ws)
    right = (ws - 1 - flipped.argmax(axis=2)).astype(np.float64)
    shift = slant[:, None] * (ys[None] - cy[:, None])
    x0 = np.where(has, left - shift, np.inf).min(axis=1)
    x1 = np.where(has, right - shift, -np.inf).max(axis=1) + 1
    x0 = np.where(ok, x0, 0)
    x1 = np.where(ok, x1, 1)
    bh = np.maximum(y1 - y0, 1.0)
    bw = np.maximum(x1 - x0, 1.0)

    # 6. stroke width (2 * area / boundary length) at working resolution
    er = cv2.erode(ink.reshape(n * hs, ws).view(np.uint8), _CROSS).reshape(n, hs * ws)
    boundary = count - er.sum(axis=1)
    sw = 2.0 * count / np.maximum(boundary, 1)

    geometry = np.stack(
        [
            np.log(bw / bh),
            slant,
            count / np.maximum(sw, 0.5) / (bw * bh),
            ncomp / np.maximum(bw / bh, 0.25),
            (cy - y0) / bh,
            (cx - slant * 0 - x0) / bw,
            tilt,
            np.sqrt(np.maximum(vy, 0)) / bh,
        ],
        axis=1,
    ).astype(np.float32)
    geometry = np.hstack([geometry, stroke_quality(ink, bh)])

    # 7. warp onto the canvas: fill the inner canvas with the deslanted box,
    # or (moments) put the ink centroid in the middle and scale the ink's
    # spread to a fixed share of the canvas: robust to one long flourish.
    mc = p.canvas_margin
    if p.normalize == "moments":
        sx = np.sqrt(np.maximum(vx - 2 * slant * cxy + slant * slant * vy, 1e-6))
        sy = np.sqrt(np.maximum(vy, 1e-6))
        bh = 2 * p.spread * sy
        bw = 2 * p.spread * sx
        y0 = cy - p.spread * sy
        x0 = cx - p.spread * sx
    fy = bh / (hc - 2 * mc)  # working pixels per canvas pixel
    fx = bw / (wc - 2 * mc)
    # anti-aliasing before the warp, by how much each image shrinks: a few
    # quantised levels, so that an image's canvas never depends on the other
    # images of its batch
    # (up to about 1.4 working pixels per canvas pixel there is little to
    # alias: no blur)
    sig = np.round(np.clip(0.45 * np.maximum(fy, 1.0), 0.5, 1.5) * 4) / 4
    sig[~ok] = 0.5
    src = np.empty_like(inkf)
    for level in np.unique(sig):
        at = np.flatnonzero(sig == level)
        part = inkf if len(at) == n else inkf[at]
        if level <= 0.5:
            blurred = part
        else:
            blurred = cv2.GaussianBlur(part.reshape(len(at) * hs, ws), (0, 0), float(level))
            blurred = blurred.reshape(len(at), hs, ws)
        if len(at) == n:
            src = blurred
        else:
            src[at] = blurred
    src = src.reshape(n * hs, ws)
    v = np.arange(hc, dtype=np.float64)
    u = np.arange(wc, dtype=np.float32)
    ysrc = y0[:, None] + (v[None] - mc + 0.5) * fy[:, None] - 0.5  # (n, hc)
    xoff = (x0 - 0.5 + (0.5 - mc) * fx)[:, None] + slant[:, None] * (ysrc - cy[:, None])  # (n, hc)
    map_x = xoff.astype(np.float32)[:, :, None] + (u[None, None, :] * fx[:, None, None].astype(np.float32))
    # rows beyond an image's own slot read nothing (not the next slot's ink);
    # rows are rounded to remap's 1/32-pixel grid before the slot's offset is
    # added, so that float32 rounding of the mosaic coordinate never depends
    # on where in the batch the image is
    ysrc = np.where((ysrc >= -1) & (ysrc <= hs), np.round(ysrc * 32) / 32, -2.0 - np.arange(n)[:, None] * hs)
    map_y = np.broadcast_to((ysrc + (np.arange(n) * hs)[:, None]).astype(np.float32)[:, :, None], (n, hc, wc))
    canvas = cv2.remap(
        src,
        map_x.reshape(n * hc, wc),
        np.ascontiguousarray(map_y).reshape(n * hc, wc),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    ).reshape(n, hc, wc)

    # 8. stroke-width normalization: binarize, thin or thicken each image by
    # one step towards the target width, blur slightly (anti-aliasing).
    # (two blank rows around each canvas: the filters never mix neighbours)
    hp = hc + 4
    b = np.zeros((n, hp, wc), np.uint8)
    b[:, 2:-2] = canvas > 0.25
    bm = b.reshape(n * hp, wc)
    bc = b.sum(axis=(1, 2), dtype=np.int64)
    be = cv2.erode(bm, _CROSS)
    wcan = 2.0 * bc / np.maximum(bc - be.reshape(n, -1).sum(axis=1, dtype=np.int64), 1)
    choose = np.where(wcan > p.stroke_target + 1.0, 1, np.where(wcan < p.stroke_target - 0.8, 2, 0))
    sel = bm.copy().reshape(n, hp, wc)
    if (choose == 1).any():
        # thinning must not wipe out thin parts: keep the original where the
        # eroded image has nothing nearby
        thin = np.where(cv2.dilate(be, _CROSS) > 0, be, bm).reshape(n, hp, wc)
        sel[choose == 1] = thin[choose == 1]
    if (choose == 2).any():
        dil = cv2.dilate(bm, _CROSS).reshape(n, hp, wc)
        sel[choose == 2] = dil[choose == 2]
    sel[:, :2] = 0
    sel[:, -2:] = 0
    out = cv2.GaussianBlur(sel.reshape(n * hp, wc).astype(np.float32), (5, 5), 0.7).reshape(n, hp, wc)[:, 2:-2]
    out = np.ascontiguousarray(out)

    bad = ~ok
    out[bad] = 0
    geometry[bad] = 0
    return Prepared(out, ink_share.astype(np.float64), error, geometry, p)


def preprocess(
    crops: Sequence[np.ndarray],
    *,
    dpi: float | Sequence[float] | None = None,
    params: PrepParams | None = None,
    chunk: int = 64,
) -> Prepared:
    """Clean signature crops and normalize them onto a common canvas.

    Parameters
    ----------
    crops : sequence of (H_i, W_i) or (H_i, W_i, C) arrays
        Raw crops, light paper and dark ink: uint8 / uint16 / bool / float
        grey or colour; any size. Items that are not images get the error
        ``'unreadable'`` rather than stopping the batch.
    dpi : float or sequence of float, optional
        Scan resolution of all crops or of each; unknown (None) crops are
        fitted into the working slot.
    params : PrepParams, optional
    chunk : int
        Crops processed per array operation (memory vs. overhead).

    Returns
    -------
    Prepared
        ``images`` (N, H, W) float32 (ink = 1), ``ink`` (N,), ``error`` (N,),
        ``geometry`` (N, G) float32.

    Examples
    --------
    >>> crop = np.full((120, 360), 245, np.uint8)
    >>> _ = cv2.putText(crop, "Jane Roe", (10, 80), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2, 20, 3)
    >>> prep = preprocess([crop], dpi=300)
    >>> prep.images.shape, prep.images.dtype, prep.error[0]
    ((1, 64, 192), dtype('float32'), '')
    """
    p = params or PrepParams()
    crops = list(crops)
    n = len(crops)
    hc, wc = p.canvas
    # each chunk's results go straight to their final rows (no concatenate
    # and re-order copies of the canvases)
    out = Prepared(
        np.empty((n, hc, wc), np.float32),
        np.empty(n),
        np.empty(n, dtype=object),
        np.empty((n, len(GEOMETRY_NAMES)), np.float32),
        p,
    )
    for idx, part in iter_prepared(crops, dpi=dpi, params=p, chunk=chunk):
        out.images[idx] = part.images
        out.ink[idx] = part.ink
        out.error[idx] = part.error
        out.geometry[idx] = part.geometry
    return out


def iter_prepared(
    crops: Sequence[np.ndarray],
    *,
    dpi: float | Sequence[float] | None = None,
    params: PrepParams | None = None,
    chunk: int = 64,
):
    """:func:`preprocess`, one chunk of similar-sized crops at a time.

    Yields ``(index, part)``: the positions in `crops` of a chunk's crops
    and their :class:`Prepared` (exactly the rows ``preprocess(crops)``
    would give them). A consumer that extracts features chunk by chunk
    never holds the canvases of the whole batch.
    """
    p = params or PrepParams()
    crops = list(crops)
    n = len(crops)
    if dpi is None or np.isscalar(dpi):
        dpis = [dpi] * n
    else:
        dpis = list(dpi)
        if len(dpis) != n:
            raise ValueError("The parameter `dpi` must be a number or one value per crop")
    if n == 0:
        return
    grays: list = []
    error = np.full(n, "", dtype=object)
    kept = np.ones(n)  # share of each crop kept by trimming
    for i, crop in enumerate(crops):
        try:
            if crop is not None and np.size(crop) == 0:
                error[i] = "empty"
                grays.append(None)
                continue
            g = _to_gray(crop)
        except Exception:  # noqa: BLE001 - an undecodable item is a per-item error
            error[i] = "unreadable"
            g = None
        if g is not None and (g.shape[0] < 4 or g.shape[1] < 4):
            error[i] = "too_small" if g.size else "empty"
            g = None
        if g is not None and p.trim:
            r0, r1, c0, c1 = _trim_box(g, p)
            kept[i] = (r1 - r0) * (c1 - c0) / g.size
            g = g[r0:r1, c0:c1]
        grays.append(g)
    plan, _ = _plan(grays, dpis, p)
    # similar sizes share a chunk, so slots stay small
    # (heights in steps of 16 px, then widths) keeps the padding small
    order = np.lexsort((plan[:, 1], plan[:, 0] // 16))
    for s in range(0, n, chunk):
        idx = order[s : s + chunk]
        part = _prepare_chunk([grays[j] for j in idx], plan[idx], error[idx].copy(), p)
        part.ink = part.ink * kept[idx]
        yield idx, part
