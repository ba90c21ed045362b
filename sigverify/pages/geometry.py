"""Page geometry: working image, registration marks, table outline, transforms.

Registration maps template inches to scan pixels with one 3x3 transform.
It is found from the four solid corner squares of the project's forms (any
three fix an affine map; two, a scanner's turn, shift and scale), or from
the outer rule of the lines table when marks are missing or the form has
none. A mark the scan's edge cuts off is left out: its remains are not
centred on it. The four right-angle hypotheses (0/90/180/270)
are then told apart by how much scan ink lies under the template's rules,
which also picks between candidate templates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Nominal resolution of the reduced image used to find the page geometry
#: (the actual one is the scan's halved down to 40-80 dpi). Marks are 0.3 in
#: (12-24 px there); area averaging keeps thin rules visible as gray.
WORK_DPI = 50.0


@dataclass
class Working:
    """A reduced, binarized copy of a page used for geometry."""

    gray: np.ndarray  # (h, w) uint8 reduced page
    ink: np.ndarray  # (h, w) uint8, 255 where ink
    factor: float  # full-resolution pixels per working pixel
    threshold: float  # ink/paper gray threshold (valid at full resolution too)
    paper: float
    #: The intermediate halvings, (factor, image) from the original (1.0)
    #: down to `gray`: the segmenter reads line states from the ~100 dpi one
    #: instead of resampling the full-resolution page again.
    levels: tuple = ()

    def level_for(self, dpi_in: float, dpi_out: float) -> tuple[float, np.ndarray]:
        """The most reduced level still at or above ~`dpi_out` (factor, image)."""
        best = self.levels[0] if self.levels else (1.0, self.gray)
        for f, img in self.levels:
            if dpi_in / f >= 0.9 * dpi_out:
                best = (f, img)
        return best


def working_image(image: np.ndarray, dpi: float) -> Working:
    """Reduce a page to 40-80 dpi and binarize it.

    Parameters
    ----------
    image : (H, W) uint8 array
    dpi : float
        Resolution of `image` (estimated is fine).
    """
    small = image
    f = 1.0
    levels = [(1.0, image)]
    # Repeated exact halving: OpenCV's 2x area reduction is vectorized and
    # ~10x faster than a general area resize (a factor 3 one costs more than
    # decoding the page).
    while dpi / (2 * f) >= 0.8 * WORK_DPI and min(small.shape) >= 64:
        h, w = small.shape[0] // 2, small.shape[1] // 2
        small = cv2.resize(small[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)
        f *= 2.0
        levels.append((f, small))
    hist = gray_histogram(small)
    cdf = np.cumsum(hist) / max(1.0, hist.sum())
    paper = float(np.searchsorted(cdf, 0.5))
    ink_level = float(np.searchsorted(cdf, 0.003))
    # Halfway between paper and the darkest ink (the solid marks and bold
    # rules): robust to paper tone, stains and sensor noise.
    thr = ink_level + 0.5 * (paper - ink_level)
    # A thin rule fills only part of a reduced pixel; a quarter of the way
    # from paper to ink still marks it (noise averages away at this scale).
    thr_small = paper - 0.28 * (paper - ink_level) if f > 1.5 else thr
    if paper - ink_level < 40:
        # Almost no ink (a blank sheet): only clearly dark pixels count, or
        # the paper's own noise would make a field of "ink".
        thr = thr_small = paper - 20.0
    _, ink = cv2.threshold(small, thr_small - 1e-3, 255, cv2.THRESH_BINARY_INV)
    return Working(small, ink, f, thr, paper, tuple(levels))


_LANES: dict[int, np.ndarray] = {}


def gray_histogram(img: np.ndarray) -> np.ndarray:
    """Counts of each gray level (256,) float64, as ``cv2.calcHist`` gives them.

    A page is mostly paper, so neighbouring pixels keep adding to the same
    bin and a plain histogram waits on its own last increment at every pixel
    (half a millisecond for a 75 dpi page). Four columns in a row count into
    four separate 256-bin histograms (level + 256 * (column % 4), 16-bit),
    summed at the end: the same counts in about half the time.

    Examples
    --------
    >>> gray_histogram(np.array([[0, 255, 255, 7, 255]], np.uint8))[[0, 7, 255]]
    array([1., 1., 3.])
    """
    h, w = img.shape
    off = _LANES.get(w)
    if off is None:
        if len(_LANES) > 64:
            _LANES.clear()
        off = _LANES[w] = (np.arange(w) % 4 * 256).astype(np.uint16)
    lanes = img.astype(np.uint16)
    lanes += off
    hist = cv2.calcHist([lanes], [0], None, [1024], [0, 1024]).ravel()
    return hist.reshape(4, 256).sum(0, dtype=np.float64)


def components(mask: np.ndarray):
    """8-connected components with stats, as ``cv2.connectedComponentsWithStats``.

    16-bit labels whenever they cannot overflow (an 8-connected mask of N
    pixels has at most ~N/4 components, and no more than it has ink pixels):
    OpenCV labels them 2-3x faster.
    """
    mask = np.ascontiguousarray(mask)
    ltype = cv2.CV_16U if mask.size < 4 * 65535 or cv2.countNonZero(mask) < 65535 else cv2.CV_32S
    return cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, ltype, cv2.CCL_DEFAULT)


def blob_boxes(mask: np.ndarray) -> tuple[list, np.ndarray]:
    """Outer contours and bounding boxes of the 8-connected blobs of `mask`.

    Returns the contours (as ``cv2.findContours``, external only, in its
    order) and their boxes (N, 4: x, y, w, h). A blob's outer contour spans
    it, so the boxes are the ones :func:`components` gives, except that
    blobs inside another's hole are left out (their boxes are inside its
    box). On a mask of few, large blobs (the dilated page's rules) tracing
    the outlines costs a fraction of labelling every pixel with statistics;
    on text, with hundreds of small outlines, it does not.
    """
    cnts, _ = cv2.findContours(np.ascontiguousarray(mask), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not cnts:
        return [], np.zeros((0, 4), np.int64)
    pts = np.concatenate(cnts).reshape(-1, 2).astype(np.int64)
    starts = np.zeros(len(cnts), np.intp)
    np.cumsum([len(c) for c in cnts[:-1]], out=starts[1:])
    lo = np.minimum.reduceat(pts, starts, axis=0)
    hi = np.maximum.reduceat(pts, starts, axis=0)
    return list(cnts), np.column_stack([lo, hi - lo + 1])


def find_mark_candidates(work: Working, size_px: float) -> np.ndarray:
    """Solid, roughly square blobs about `size_px` working pixels wide.

    Returns
    -------
    (N, 5) float array
        centre x, centre y, width, height, fill ratio (working pixels).
    """
    # Marks sit in the page's corners (pick_corner_marks wants them in the
    # outer quarter on both axes): labelling only the four corner windows
    # skips the body text, three quarters of the cost.
    H, W = work.ink.shape
    wy, wx = int(np.ceil(0.3 * H)), int(np.ceil(0.3 * W))
    st, ce = [], []
    for y0 in (0, max(wy, H - wy)):
        for x0 in (0, max(wx, W - wx)):
            win = work.ink[y0: y0 + wy, x0: x0 + wx]
            n, _, stats, cent = components(win)
            if n > 1:
                stats = stats[1:].copy()
                stats[:, 0] += x0
                stats[:, 1] += y0
                st.append(stats)
                ce.append(cent[1:] + (x0, y0))
    if not st:
        return np.zeros((0, 5))
    s = np.concatenate(st)
    cent = np.concatenate(ce)
    w, h, area = s[:, 2].astype(float), s[:, 3].astype(float), s[:, 4].astype(float)
    fill = area / np.maximum(1.0, w * h)
    lo, hi = 0.55 * size_px, 1.6 * size_px
    keep = (w >= lo) & (w <= hi) & (h >= lo) & (h <= hi) & (fill > 0.68) & (np.maximum(w, h) / np.minimum(w, h) < 1.5)
    # A mark the scan's edge cuts off is still a solid blob in the corner,
    # but its centre is not the mark's: the part left can sit ~0.05 in
    # inside it, and a transform through it turns the whole table. Enlarged
    # or skewed paper pushes corner marks off the scan; the others suffice.
    x, y = s[:, 0], s[:, 1]
    keep &= (x > 0) & (y > 0) & (x + s[:, 2] < W) & (y + s[:, 3] < H)
    c = cent[keep]
    return np.column_stack([c, w[keep], h[keep], fill[keep]])


def pick_corner_marks(cands: np.ndarray, shape: tuple[int, int]) -> list[np.ndarray | None]:
    """The candidate nearest each image corner (TL, TR, BR, BL), or None.

    A mark must lie in the outer quarter of the page on both axes, so body
    text and the table never stand in for a missing mark.
    """
    h, w = shape
    if len(cands) == 0:
        return [None] * 4
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    # (4 corners, N candidates) at once.
    dx = np.abs(cands[None, :, 0] - corners[:, None, 0]) / w
    dy = np.abs(cands[None, :, 1] - corners[:, None, 1]) / h
    d = np.where((dx < 0.25) & (dy < 0.25), np.hypot(dx, dy), np.inf)
    best = d.argmin(1)
    return [cands[j] if np.isfinite(d[i, j]) else None for i, j in enumerate(best.tolist())]


def mark_window(image: np.ndarray, cand: np.ndarray, factor: float) -> tuple[float, float, int, int, np.ndarray]:
    """The full-resolution window around a mark candidate found at the working
    resolution: (cx, cy) the candidate's centre, (x0, y0) the window's corner,
    and the window."""
    cx, cy, w, h = cand[:4] * factor
    r = 0.5 * max(w, h) + 2 * factor + 2
    H, W = image.shape
    x0, y0 = max(0, int(cx - r)), max(0, int(cy - r))
    x1, y1 = min(W, int(cx + r) + 1), min(H, int(cy + r) + 1)
    return cx, cy, x0, y0, image[y0:y1, x0:x1]


def refine_centroid(image: np.ndarray, cand: np.ndarray, factor: float, threshold: float) -> np.ndarray:
    """Sub-pixel centre of a mark in the full-resolution image."""
    cx, cy, x0, y0, roi = mark_window(image, cand, factor)
    # roi < threshold, for uint8 pixels: at most the largest integer below it.
    _, ink = cv2.threshold(roi, math.ceil(threshold) - 1, 1, cv2.THRESH_BINARY_INV)
    # Only the largest mark is wanted: labels without OpenCV's per-component
    # statistics and a pixel count per label cost half as much.
    ltype = cv2.CV_16U if ink.size < 4 * 65535 else cv2.CV_32S
    n, lab = cv2.connectedComponentsWithAlgorithm(ink, 8, ltype, cv2.CCL_DEFAULT)
    if n <= 1:
        return np.array([cx, cy])
    # Mostly the window holds the mark alone: no pixel count needed.
    k = 1 if n == 2 else 1 + int(np.argmax(np.bincount(lab.ravel(), minlength=n)[1:]))
    mark = cv2.compare(lab, k, cv2.CMP_EQ)
    # Darkness-weighted centroid of the mark's own pixels: edges that are
    # partly ink (blur, JPEG) pull in proportion. (Every mark pixel weighs at
    # least 40, so the weights never sum to zero.)
    sel = cv2.dilate(mark, np.ones((3, 3), np.uint8))
    wts = np.subtract(np.float32(threshold + 40), roi, dtype=np.float32)
    np.maximum(wts, 0, out=wts)
    wts[sel == 0] = 0
    mo = cv2.moments(wts)
    if mo["m00"] <= 0:
        mo = cv2.moments(mark, True)
    return np.array([x0 + mo["m10"] / mo["m00"], y0 + mo["m01"] / mo["m00"]])


def fit_transform(src: np.ndarray, dst: np.ndarray, *, projective: bool = True) -> np.ndarray:
    """3x3 transform taking `src` points to `dst` points.

    Three points give an affine map. Four give a least-squares affine map,
    or a homography when the fit leaves a residual a flatbed scan cannot
    explain (a phone photo's perspective; see :func:`scan` in
    ``fixtures/forms.py`` for the test artefact). ``projective=False``
    returns the affine fit always (a cheap first look at a hypothesis).
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    A = np.ones((len(src), 3))
    A[:, :2] = src
    # Least squares through the 3x3 normal equations (exact for three
    # points): for a handful of points lstsq's SVD costs more than the rest
    # of the registration's arithmetic.
    try:
        sol = np.linalg.solve(A.T @ A, A.T @ dst)
    except np.linalg.LinAlgError:  # collinear points
        sol, *_ = np.linalg.lstsq(A, dst, rcond=None)
    M = np.vstack([sol.T, [0.0, 0.0, 1.0]])
    if projective and len(src) >= 4:
        res = np.abs(A @ sol - dst).max()
        span = np.ptp(dst, axis=0).max()
        # A mild keystone leaves the four corners only ~1-2 px off the best
        # affine fit, yet the middle of the page several px off: switch at
        # half a pixel per thousand (a flatbed's corner residual is ~0.2 px).
        if res > 0.0005 * span:
            Hm, _ = cv2.findHomography(src, dst, 0)
            if Hm is not None:
                M = Hm / Hm[2, 2]
    return M


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 rotation + uniform scale + shift taking two `src` points to two `dst` points.

    A flatbed scan's map from paper to pixels, fixed exactly by two points
    (two registration marks when the scan cut the others off).
    """
    s = np.asarray(src, np.float64)
    d = np.asarray(dst, np.float64)
    zs, zd = s[:, 0] + 1j * s[:, 1], d[:, 0] + 1j * d[:, 1]
    a = (zd[1] - zd[0]) / (zs[1] - zs[0])
    b = zd[0] - a * zs[0]
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag], [0.0, 0.0, 1.0]])


def apply(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 3x3 transform to (N, 2) points."""
    pts = np.asarray(pts, np.float64)
    p = pts @ M[:2, :2].T + M[:2, 2]
    if M[2, 0] != 0 or M[2, 1] != 0:
        wz = pts @ M[2, :2] + M[2, 2]
        p /= wz[:, None]
    return p


def jacobian(M: np.ndarray, at: tuple[float, float]) -> np.ndarray:
    """2x2 derivative of the transform at a point."""
    x, y = at
    e = 1e-3
    p = apply(M, np.array([[x, y], [x + e, y], [x, y + e]]))
    return np.column_stack([(p[1] - p[0]) / e, (p[2] - p[0]) / e])


def table_quad(work: Working) -> np.ndarray | None:
    """Corners (TL, TR, BR, BL, working pixels) of the largest ruled box.

    The rules of a lines table are all connected, so the table is the
    connected component with the largest bounding box; its minimum-area
    rectangle is the table's outline even when the page is skewed.
    """
    ink = cv2.dilate(work.ink, np.ones((2, 2), np.uint8))
    cnts, boxes = blob_boxes(ink)
    if not cnts:
        return None
    k = int(np.argmax(boxes[:, 2] * boxes[:, 3]))
    bw, bh = boxes[k, 2], boxes[k, 3]
    h, w = ink.shape
    if bw * bh < 0.08 * w * h:
        return None
    pts = cnts[k].reshape(-1, 2).astype(np.float32)
    hull = cv2.convexHull(pts)
    quad = order_corners(cv2.boxPoints(cv2.minAreaRect(hull)))
    x, y, bw, bh = (int(v) for v in boxes[k])
    # The table's own ink: inside its outer contour (not a box the skew brings into its bounds).
    region = np.zeros((bh, bw), np.uint8)
    cv2.drawContours(region, [cnts[k] - np.array([x, y], dtype=cnts[k].dtype)], -1, 255, -1)
    return _outer_rules(cv2.bitwise_and(work.ink[y:y + bh, x:x + bw], region), quad - (x, y)) + (x, y)


def _outer_rules(ink: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The table's outline from its outer rules, not from everything touching them.

    The rectangle around the table's ink also takes in a signature that
    loops across the outer rule (one stroke joined to the rules makes the
    table a fifth of an inch taller and skews it). The outer rules are the
    first and last rows (columns), across the table's direction, that are
    ink along half its width (height): a loop is never that wide. The
    direction is the one, within half a degree of the rectangle's, whose
    rows hold the sharpest rules.
    """
    # The ink's pixels (OpenCV's scan: np.nonzero's row-major order, at a fraction of its cost).
    nz = cv2.findNonZero(ink)
    if nz is None or len(nz) < 10:
        return quad
    nz = nz.reshape(-1, 2)
    xs, ys = nz[:, 0], nz[:, 1]
    c = quad.mean(0)
    e = quad[1] - quad[0]
    base = float(np.arctan2(e[1], e[0]))
    w = float(np.hypot(*(quad[1] - quad[0])))
    h = float(np.hypot(*(quad[3] - quad[0])))
    px, py = xs - c[0], ys - c[1]
    best = None
    # Rows are counted from a fixed offset below any row (leading empty rows
    # leave the four fullest alike), and -px is negated once for all angles.
    npx = -px
    off = int(np.ceil(np.abs(px).max() + np.abs(py).max())) + 1
    for da in np.radians(np.arange(-0.5, 0.501, 0.05)):
        a = base + da
        ca, sa = np.cos(a), np.sin(a)
        v = np.rint(npx * sa + py * ca).astype(np.int64)
        v += off
        rows = np.bincount(v)
        sharp = float(np.sort(rows)[-4:].sum())
        if best is None or sharp > best[0]:
            best = (sharp, a)
    a = best[1]
    ca, sa = np.cos(a), np.sin(a)
    u = px * ca + py * sa
    v = -px * sa + py * ca
    # The rectangle's own edges in this frame, for a rule too tilted (keystone) to fill a row.
    qu = (quad[:, 0] - c[0]) * ca + (quad[:, 1] - c[1]) * sa
    qv = -(quad[:, 0] - c[0]) * sa + (quad[:, 1] - c[1]) * ca
    edges = []
    for coord, _other, need, ext, rect in ((v, u, 0.5 * w, h, (qv[:2].mean(), qv[2:].mean())),
                                          (u, v, 0.5 * h, w, (qu[[0, 3]].mean(), qu[[1, 2]].mean()))):
        q = np.rint(coord).astype(np.int64)
        lo = q.min()
        counts = np.bincount(q - lo)
        full = np.flatnonzero(counts >= need)
        if len(full) < 2 or full[-1] - full[0] < 0.5 * ext:
            edges.append(rect)
            continue
        # The rule's centre line: the count-weighted mean over the rule's rows.
        def centre(i, counts=counts, need=need, lo=lo):
            j = np.arange(max(0, i - 2), min(len(counts), i + 3))
            wts = counts[j] * (counts[j] >= 0.3 * need)
            return float((j * wts).sum() / max(1, wts.sum())) + lo
        # A rule too tilted to fill a row (keystone) leaves the next one inside
        # as the "first full row": keep the rectangle's edge then.
        e0, e1 = centre(full[0]), centre(full[-1])
        r0, r1 = min(rect), max(rect)
        edges.append((e0 if abs(e0 - r0) <= 0.03 * ext else r0, e1 if abs(e1 - r1) <= 0.03 * ext else r1))
    (v0, v1), (u0, u1) = edges
    corners = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])
    # Each outer rule on its own (a phone photo's keystone tilts them apart):
    # its position in strips along it, a straight line through them, and
    # the corners where the four lines meet.
    lines = []
    for coord, along, lo_hi, span in ((v, u, (v0, v1), (u0, u1)), (u, v, (u0, u1), (v0, v1))):
        middle: list = []
        for edge in lo_hi:
            fit = _edge_line(coord, along, edge, span, middle=middle)
            if fit is None:
                lines = None
                break
            lines.append(fit)
        if lines is None:
            break
    if lines is not None:
        (ta, tb), (ba, bb), (la, lb), (ra, rb) = lines  # v = a u + b (top, bottom); u = a v + b (left, right)
        pts = []
        for (ha, hb), (wa, wb) in (((ta, tb), (la, lb)), ((ta, tb), (ra, rb)), ((ba, bb), (ra, rb)),
                                   ((ba, bb), (la, lb))):
            # v = ha u + hb and u = wa v + wb
            vv = (ha * wb + hb) / (1.0 - ha * wa)
            pts.append((wa * vv + wb, vv))
        cand = np.array(pts)
        if np.abs(cand - corners).max() <= 0.06 * max(w, h):
            corners = cand
    out = np.stack([c[0] + corners[:, 0] * ca - corners[:, 1] * sa,
                    c[1] + corners[:, 0] * sa + corners[:, 1] * ca], axis=1)
    return out


def _edge_line(coord: np.ndarray, along: np.ndarray, edge: float, span: tuple[float, float],
               strips: int = 8, middle: list | None = None) -> tuple[float, float] | None:
    """A straight outer rule near `edge` (in `coord`), as coord = a * along + b.

    In each of `strips` stretches along the rule, the row (of `coord`) within
    a few pixels of `edge`... nearest the outside that is ink along half the
    stretch; a line through those positions (the worst one left out when it
    strays). `middle`, a list shared by the calls on the same `coord`, keeps
    its median once found.
    """
    a0, a1 = span
    step = (a1 - a0) / strips
    if step <= 0:
        return None  # no stretch holds a pixel (a0 + k * step <= along < a0 + (k + 1) * step)
    reach = max(6.0, 0.05 * abs(a1 - a0))
    near = np.abs(coord - edge) <= reach
    cq, aq = coord[near], along[near]
    # Every stretch at once: each near pixel's stretch k, the one whose bounds
    # a0 + k * step <= along < a0 + (k + 1) * step hold it (the same bounds,
    # so the same pixels, as comparing with each), and the rows' counts per
    # stretch (a row index stays below n: |coord - edge| <= reach).
    bounds = np.array([a0 + k * step for k in range(strips + 1)])
    kk = np.searchsorted(bounds, aq, side="right") - 1
    inside = (kk >= 0) & (kk < strips)
    kk = kk[inside]
    n = int(2 * reach) + 2
    q = np.rint(cq[inside] - (edge - reach)).astype(np.int64)
    per = np.bincount(kk, minlength=strips)
    counts_all = np.bincount(kk * n + q, minlength=strips * n).reshape(strips, n).astype(np.float64)
    c3_all = counts_all.copy()  # each row with its two neighbours (added in that order)
    c3_all[:, 1:] += counts_all[:, :-1]
    c3_all[:, :-1] += counts_all[:, 1:]
    full_all = c3_all >= 0.5 * step
    outer_first = None  # whether the outermost row is the first (the rule is the low edge): decided once
    xs, ys = [], []
    for k in range(strips):
        lo, hi = a0 + k * step, a0 + (k + 1) * step
        if per[k] < 0.3 * step:
            continue
        counts = counts_all[k]
        full = np.flatnonzero(full_all[k])
        if not len(full):
            continue
        if outer_first is None:
            if middle is None:
                middle = []
            if not middle:  # the median of `coord`, kept in `middle` for the rule across from this one
                middle.append(float(np.median(coord)))
            outer_first = bool(edge < middle[0])
        i = full[0] if outer_first else full[-1]  # the outermost
        j = np.arange(max(0, i - 2), min(len(counts), i + 3))
        wts = counts[j]
        if wts.sum() <= 0:
            continue
        ys.append(float((j * wts).sum() / wts.sum()) + edge - reach)
        xs.append(0.5 * (lo + hi))
    if len(xs) < 4:
        return None
    xs, ys = np.array(xs), np.array(ys)
    a, b = np.polyfit(xs, ys, 1)
    r = np.abs(ys - (a * xs + b))
    if r.max() > 1.5 and len(xs) > 4:
        keep = r < r.max()
        a, b = np.polyfit(xs[keep], ys[keep], 1)
    return float(a), float(b)


def fine_ink(work: Working) -> np.ndarray:
    """Working-size ink found on the ~100 dpi level: hairline rules kept.

    A hairline (0.005 in) rule averaged down to the working resolution is
    too light for the working threshold and the table's outline breaks up.
    Here ink is local contrast on the finer level (darker than its 5x5
    neighbourhood's paper by a third of the print's contrast), and a working
    pixel is ink when any of the finer pixels it covers is.
    """
    hit = work.__dict__.get("_fine")
    if hit is not None:
        return hit
    f, lev = work.levels[0]
    for ff, img in work.levels:
        if ff <= work.factor / 2 or ff == work.levels[0][0]:
            _f, lev = ff, img
    dark = cv2.subtract(cv2.dilate(lev, np.ones((5, 5), np.uint8)), lev)
    need = max(25.0, 0.4 * (work.paper - work.threshold))
    _, ink = cv2.threshold(dark, need, 255, cv2.THRESH_BINARY)
    # A 1-bit scan breaks a hairline into dashes: bridge gaps of a pixel or two.
    ink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    h, w = work.ink.shape
    if ink.shape != (h, w):
        ink = cv2.resize(ink, (w, h), interpolation=cv2.INTER_AREA)
        _, ink = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY)
    work.__dict__["_fine"] = ink
    return ink


def page_ink(work: Working) -> np.ndarray | None:
    """Working-size ink on the sheet of paper only, for a photo of a page on a desk.

    The sheet is the largest bright region (Otsu's threshold on the working
    image) when something darker surrounds it; ink is local contrast (as
    :func:`fine_ink`, measured against the sheet's own paper) inside it, a
    few pixels in from its edge. None when the image is all page.
    """
    hit = work.__dict__.get("_page")
    if hit is not None:
        return hit if hit.size else None
    g = work.gray
    t, bright = cv2.threshold(cv2.GaussianBlur(g, (5, 5), 0), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if n < 2:
        work.__dict__["_page"] = np.zeros(0, np.uint8)
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    share = stats[k, cv2.CC_STAT_AREA] / float(g.size)
    if not 0.25 <= share <= 0.93:
        work.__dict__["_page"] = np.zeros(0, np.uint8)
        return None
    sheet = (lab == k).astype(np.uint8) * 255
    # The sheet with everything printed on it: fill its holes (the table, the text).
    cnts, _ = cv2.findContours(sheet, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    sheet = np.zeros_like(sheet)
    cv2.drawContours(sheet, cnts, -1, 255, -1)
    sheet = cv2.erode(sheet, np.ones((7, 7), np.uint8))
    paper = float(np.median(g[sheet > 0]))
    # Ink on the finer (~100 dpi) level, as fine_ink, against the sheet's paper.
    f, lev = work.levels[0]
    for ff, img in work.levels:
        if ff <= work.factor / 2 or ff == work.levels[0][0]:
            _f, lev = ff, img
    dark = cv2.subtract(cv2.dilate(lev, np.ones((5, 5), np.uint8)), lev)
    _, ink = cv2.threshold(dark, max(20.0, 0.2 * paper), 255, cv2.THRESH_BINARY)
    ink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    h, w = g.shape
    if ink.shape != (h, w):
        ink = cv2.resize(ink, (w, h), interpolation=cv2.INTER_AREA)
        _, ink = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY)
    ink = cv2.bitwise_and(ink, sheet)
    work.__dict__["_page"] = ink
    return ink


def table_quad_fine(work: Working) -> np.ndarray | None:
    """:func:`table_quad` on :func:`fine_ink`: for forms printed with hairline rules."""
    from dataclasses import replace
    return table_quad(replace(work, ink=fine_ink(work)))


def box_corners(box) -> np.ndarray:
    """The corners of an axis-aligned box (x, y, w, h), clockwise from the
    top left (the order of :func:`order_corners`), float64 (4, 2)."""
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Order four points as TL, TR, BR, BL in image coordinates."""
    pts = np.asarray(pts, np.float64)
    c = pts.mean(0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    # Image y points down: sorting by angle from -pi runs TL, TR, BR, BL.
    p = pts[np.argsort(ang)]
    s = p.sum(1)
    start = int(np.argmin(s))
    return np.roll(p, -start, axis=0)


def alignment_score(work: Working, M_small: np.ndarray, points: np.ndarray) -> float:
    """Share of template rule points (inches) that land on ink.

    `M_small` maps inches to working pixels. Ink is dilated by one pixel so
    a registration off by a pixel still scores fully.
    """
    p = apply(M_small, points)
    h, w = work.ink.shape
    q = np.rint(p).astype(np.int64)
    xi, yi = q[:, 0], q[:, 1]
    # 0 <= x < w and 0 <= y < h in one comparison each (negatives wrap to huge).
    inside = (xi.view(np.uint64) < w) & (yi.view(np.uint64) < h)
    n_in = int(np.count_nonzero(inside))
    if n_in / len(p) < 0.8:
        return 0.0
    ink = dilated_ink(work)
    at = (yi * w + xi)[inside] if n_in < len(p) else yi * w + xi
    return float(np.count_nonzero(ink.ravel()[at])) / len(p)


def dilated_ink(work: Working) -> np.ndarray:
    """The working ink dilated by one pixel (cached on `work`)."""
    ink = work.__dict__.get("_dil")
    if ink is None:
        ink = cv2.dilate(work.ink, np.ones((3, 3), np.uint8))
        work.__dict__["_dil"] = ink
    return ink


def chance_alignment(work: Working) -> float:
    """The alignment score points thrown at random would get: the share of
    the page that is (dilated) ink. A noise field or a dark photo scores
    high against any template; a real form's rules must beat this."""
    return float(np.count_nonzero(dilated_ink(work))) / max(1, work.ink.size)
