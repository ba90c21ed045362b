"""Is the registered page really this form? Its rules, both ways.

Registration puts a template onto a scan and scores how much ink lies under
the template's rules. That alone cannot tell a form of another layout whose
outer rule the registration fitted: an LA-style 10-line form registered as
an 8-block two-row form still has ink under most of the two-row form's
rules (its own rules cross them everywhere). So the fit is checked both
ways on the registered table, at :data:`FIT_DPI`:

* every rule of the template (each distinct horizontal rule position with
  the stretch of table width it covers, each vertical one with the stretch
  of the lines' height) must be found on the scan as a long straight run
  of ink there, and
* every long straight rule on the scan inside the lines region must be one
  of the template's.

Handwriting and strike-throughs are neither straight nor long enough to be
mistaken for a rule (a strike wanders over several pixel rows; a rule stays
in one or two), a stamp covers a fraction of the table's width.

:func:`layout_fit` returns the evidence; :func:`verdict` turns it into
``'certain'`` (everything found, nothing foreign), ``'check'`` (confident
but not certain: a person should look) or ``'refuse'``.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import cv2
import numpy as np

from sigverify.pages.templates import FormTemplate

#: Resolution the table is checked at.
FIT_DPI = 100.0
#: A found rule lies within this many inches of the template's.
RULE_MATCH_IN = 0.045
#: A run at least this long (inches) along a row (column) can be a rule.
H_RUN_IN = 0.3
V_RUN_IN = 0.25
#: A template rule is found when the scan's runs cover this share of the
#: stretch the template says it covers.
FOUND_SHARE = 0.5
#: A scan rule the template lacks must cover this share of the table's
#: width (lines' height) to count: less is writing, a stamp, a crease.
FOREIGN_H_SHARE = 0.4
FOREIGN_V_SHARE = 0.3
#: ... and a horizontal one must hold one unbroken run this share of the
#: table's width long: a printed rule crosses the cells it divides, where
#: the flat tops of a line's printed capitals break at every space between
#: words (the longest word a run of 1.24 in on the benchmark's pages, the
#: shortest foreign rule 6.3 in, on a 7.5 in table).
FOREIGN_H_RUN_SHARE = 0.25
#: Template rules shorter than this share of the table are not checked.
MIN_RULE_SHARE = 0.12
#: Margin (inches) resampled around the table.
MARGIN_IN = 0.12


@dataclass(frozen=True)
class LayoutFit:
    """Evidence that a registered page is the template's form.

    Attributes
    ----------
    expected : int
        Template rules checked (horizontal and vertical).
    found : int
        Of those, how many the scan holds.
    foreign : int
        Long straight rules on the scan inside the lines region that the
        template does not have.
    missing : tuple of str
        The template rules not found, e.g. ``"h 3.550 in"``.
    extra : tuple of str
        The foreign rules, e.g. ``"v 2.600 in"``.
    """

    expected: int
    found: int
    foreign: int
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def found_share(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    def describe(self) -> str:
        return (f"{self.found} of its {self.expected} rules found, "
                f"{self.foreign} rule(s) on the page it does not have")


def verdict(fit: LayoutFit) -> str:
    """``'certain'``, ``'check'`` or ``'refuse'`` for a :class:`LayoutFit`.

    Certain: every rule found, none foreign. Check (a person confirms the
    page): at most one rule in ten missing and at most two foreign ones
    (a level strike-through along a whole row, a rule a bilevel scan broke
    up), or no foreign rule and at most a quarter of the template's lost
    (faint rules). Anything more is a different layout, or a page too
    damaged to trust.
    """
    if fit.found == fit.expected and fit.foreign == 0:
        return "certain"
    if fit.found_share >= 0.9 and fit.foreign <= 2 and fit.expected - fit.found <= 3:
        return "check"
    if fit.foreign == 0 and fit.found_share >= 0.75:
        # Nothing on the page the form lacks, but rules lost (a hairline
        # form scanned bilevel at low resolution): a person confirms it.
        return "check"
    return "refuse"


def _merge(intervals: list[tuple[float, float]]) -> float:
    """Total length of a union of intervals."""
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


_RULES: dict[int, tuple] = {}


def template_rules(t: FormTemplate) -> tuple[dict[float, float], dict[float, float], tuple[float, float]]:
    """:func:`_template_rules`, cached per template (kept alive by the entry)."""
    hit = _RULES.get(id(t))
    if hit is None or hit[0] is not t:
        if len(_RULES) > 64:
            _RULES.clear()
        hit = _RULES[id(t)] = (t, _template_rules(t))
    return hit[1]


def _template_rules(t: FormTemplate) -> tuple[dict[float, float], dict[float, float], tuple[float, float]]:
    """The template's horizontal and vertical rules and the lines region.

    Returns ``(h, v, (y0, y1))``: ``h`` maps each horizontal rule's y
    (inches) to the length of table width it covers, ``v`` each vertical
    rule's x to the length of the lines region's height it covers, and the
    lines region's top and bottom.
    """
    hs: dict[float, list] = {}
    vs: dict[float, list] = {}
    for line in range(1, t.line_count + 1):
        for name in t.cells:
            x, y, w, h = t.cell_box(line, name)
            for yy in (y, y + h):
                hs.setdefault(round(yy, 3), []).append((x, x + w))
            for xx in (x, x + w):
                vs.setdefault(round(xx, 3), []).append((y, y + h))
    tx, ty, tw, th = t.table
    for yy in (ty, ty + th):
        hs.setdefault(round(yy, 3), []).append((tx, tx + tw))
    y0 = t.line_top
    y1 = t.line_top + (t.line_count - 1) * t.line_pitch + max(c.y + c.h for c in t.cells.values())
    for xx in (tx, tx + tw):
        vs.setdefault(round(xx, 3), []).append((y0, y1))
    h = _cluster({k: _merge(v) for k, v in hs.items()})
    v = _cluster({k: _merge(iv) for k, iv in vs.items()})
    return h, v, (y0, y1)


def _cluster(rules: dict[float, float], tol: float = 0.02) -> dict[float, float]:
    """Rules closer than `tol` are one printed rule (a table edge on a cell edge)."""
    out: dict[float, float] = {}
    for pos in sorted(rules):
        near = [p for p in out if abs(p - pos) < tol]
        if near:
            out[near[0]] = max(out[near[0]], rules[pos])
        else:
            out[pos] = rules[pos]
    return out


def _peaks(profile: np.ndarray, thresh: float, min_gap: int) -> list[int]:
    """Indices of local maxima of `profile` at least `thresh`, `min_gap` apart (strongest first)."""
    # Candidates: local maxima (within the gap) at or above the threshold.
    k = max(1, int(min_gap))
    peak = cv2.dilate(profile.astype(np.float32)[None, :], np.ones((1, 2 * k + 1), np.uint8))[0]
    idx = np.flatnonzero((profile >= thresh) & (profile >= peak - 1e-6))
    if not len(idx):
        return []
    # Strongest first, each kept unless within `min_gap` of one kept before:
    # a kept peak blocks its neighbourhood (one look-up a candidate instead
    # of a comparison with every kept one).
    gap = int(min_gap)
    order = idx[np.argsort(-profile[idx], kind="stable")].tolist()
    if gap <= 0:
        return sorted(order)
    # (A bytearray: Python's own indexing, several times numpy's per element.)
    blocked = bytearray(len(profile) + 2 * gap)
    cover = b"\x01" * (2 * gap - 1)
    out: list[int] = []
    for i in order:
        if blocked[i + gap]:
            continue
        out.append(i)
        blocked[i + 1: i + 2 * gap] = cover
    return sorted(out)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Ink by contrast with the paper beside it (uint8 0/1)."""
    dark = cv2.subtract(cv2.dilate(gray, np.ones((5, 5), np.uint8)), gray)
    # Well clear of the paper's noise, yet a faint hairline (resampled to
    # under a pixel) still counts: a fraction of the print's contrast.
    # The print's contrast: the 99.5th percentile of the darkness. The
    # threshold is capped at 40, reached when that percentile is 134 or more,
    # i.e. when over 0.5 % of the pixels are that dark (most pages): one count
    # instead of a histogram then.
    _, very = cv2.threshold(dark, 133, 1, cv2.THRESH_BINARY)
    if dark.size - cv2.countNonZero(very) < 0.995 * dark.size:
        thr = 40.0
    else:
        hist = cv2.calcHist([dark], [0], None, [256], [0, 256]).ravel()
        strong = int(np.searchsorted(np.cumsum(hist), 0.995 * dark.size))
        thr = max(20, min(40, 0.3 * strong))
    _, ink = cv2.threshold(dark, thr, 1, cv2.THRESH_BINARY)
    return ink


def rule_profiles(gray: np.ndarray, d: float = FIT_DPI, bridge: bool = True, ink: np.ndarray | None = None,
                  col_profile: bool = True, ver_rows: tuple[int, int] | None = None) -> tuple:
    """Long straight runs of ink: per row and per column, their pixel counts.

    Parameters
    ----------
    gray : (h, w) uint8 array
        A registered (deskewed) resample at `d` dpi, 0 ink, 255 paper.
    d : float
        Its resolution.
    bridge : bool
        Close gaps of 0.04 in along a run first (a bilevel scan's broken
        hairline; typed words then become runs too).
    ink : (h, w) uint8 array, optional
        `gray`'s ink (0/1), if already found.
    ver_rows : (int, int), optional
        Only rows ``a:b`` of the vertical runs are wanted: `ver` (and
        `cols`) cover just those rows, found on a band reaching far enough
        beyond them that they are the same as on the whole resample.

    Returns
    -------
    rows : (h,) float array
        Pixels of horizontal runs at least :data:`H_RUN_IN` long in each
        row, plus the better of its two neighbours (a rule may straddle two
        pixel rows).
    cols : (w,) float array
        The same for vertical runs at least :data:`V_RUN_IN` long.
    hor, ver : (h, w) uint8 arrays
        The runs themselves (1 on a run).
    """
    if ink is None:
        ink = _ink(gray)
    hk = max(3, int(round(H_RUN_IN * d)))
    vk = max(3, int(round(V_RUN_IN * d)))
    # A hairline a bilevel scan broke into dashes is still one rule: bridge
    # gaps of a few pixels along the run first.
    g = max(3, int(round(0.04 * d))) if bridge else 1
    hink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((1, g), np.uint8)) if g > 1 else ink
    hor = cv2.morphologyEx(hink, cv2.MORPH_OPEN, np.ones((1, hk), np.uint8))
    vsrc, cut = ink, None
    if ver_rows is not None:
        # A pixel's vertical runs depend on the ink at most g + vk rows away
        # (the closing's and the opening's reach): a band that much wider
        # than the rows wanted gives them exactly, for a fraction of the work.
        a, b = ver_rows
        lo, hi = max(0, a - g - vk), min(ink.shape[0], b + g + vk)
        vsrc, cut = ink[lo:hi], (a - lo, max(a - lo, b - lo))
    vink = cv2.morphologyEx(vsrc, cv2.MORPH_CLOSE, np.ones((g, 1), np.uint8)) if g > 1 else vsrc
    ver = cv2.morphologyEx(vink, cv2.MORPH_OPEN, np.ones((vk, 1), np.uint8))
    if cut is not None:
        ver = ver[cut[0]:cut[1]]
    r = _rowsum(hor)
    c = _colsum(ver) if col_profile else None

    return _pair_max(r), (_pair_max(c) if c is not None else None), hor, ver


# Bit-packed morphology for layout_fit: the same openings and closings as
# rule_profiles' OpenCV calls, 64 pixels of a row in one machine word.

#: All 64 bits set.
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


def _pack(ink: np.ndarray) -> np.ndarray:
    """A 0/1 uint8 image's rows as bits: (h, words + 2) uint64, column j at
    bit j % 64 of word 1 + j // 64, a pad word either side (zero)."""
    h, w = ink.shape
    nw = -(-w // 64)
    out = np.zeros((h, 8 * (nw + 2)), np.uint8)
    out[:, 8: 8 + -(-w // 8)] = np.packbits(ink, axis=1, bitorder="little")
    return out.view("<u8")


def _unpack(bits: np.ndarray, w: int) -> np.ndarray:
    """:func:`_pack`'s inverse: the (h, w) 0/1 uint8 image."""
    return np.unpackbits(bits[:, 1:].view(np.uint8), axis=1, count=w, bitorder="little")


def _shifted(x: np.ndarray, s: int) -> np.ndarray:
    """Packed rows moved along: bit b of a row of the result is bit b + s of
    that row of `x`, |s| < 64, for every bit of a row's data (the rows are
    moved as one run of words: a row's pad words take what crosses from the
    next row)."""
    if s == 0:
        return x
    f = x.reshape(-1)
    if s > 0:
        y = f >> np.uint64(s)
        y[:-1] |= f[1:] << np.uint64(64 - s)
    else:
        y = f << np.uint64(-s)
        y[1:] |= f[:-1] >> np.uint64(64 + s)
    return y.reshape(x.shape)


def _bit_window(x: np.ndarray, w: int, k: int, op, fill: np.uint64) -> np.ndarray:
    """``cv2.erode`` (`op` ``np.bitwise_and``, `fill` all ones) or ``cv2.dilate``
    (``np.bitwise_or``, 0) of packed rows of width `w` with a (1, `k`) kernel:
    bit j becomes `op` over bits j - k // 2 ... j - k // 2 + k - 1, the pixels
    past the image's edges counting as `fill` (OpenCV's default border)."""
    if k <= 1:
        return x
    nw = x.shape[1] - 2
    x = np.array(x, order="C")
    x[:, 0] = fill
    x[:, -1] = fill
    r = w - 64 * (nw - 1)
    if r < 64:  # the last word's bits past the image
        tail = np.uint64((1 << r) - 1)
        x[:, nw] = (x[:, nw] & tail) | (fill & ~tail)
    # cur's bit b: op over x's bits b ... b + span - 1 (windows doubled, then one more for the rest).
    cur, span = x, 1
    while 2 * span <= k:
        cur = op(cur, _shifted(cur, span))
        span *= 2
    if span < k:
        cur = op(cur, _shifted(cur, k - span))
    return _shifted(cur, -(k // 2))


def _row_bits_window(x: np.ndarray, k: int, op, fill: np.uint64) -> np.ndarray:
    """As :func:`_bit_window` with a (`k`, 1) kernel: row i becomes `op` over
    rows i - k // 2 ... i - k // 2 + k - 1, rows past the edges `fill`."""
    if k <= 1:
        return x
    h = x.shape[0]
    a = k // 2
    pad = np.full((h + k - 1, x.shape[1]), fill, np.uint64)
    pad[a: a + h] = x
    cur, span = pad, 1
    while 2 * span <= k:
        n = cur.shape[0] - span
        cur = op(cur[:n], cur[span: span + n])
        span *= 2
    if span < k:
        n = cur.shape[0] - (k - span)
        cur = op(cur[:n], cur[k - span: k - span + n])
    return cur[:h]


def _bit_rowsum(x: np.ndarray, w: int) -> np.ndarray:
    """:func:`_rowsum` of packed rows of width `w` (bits past it not counted)."""
    nw = x.shape[1] - 2
    c = np.bitwise_count(x[:, 1: nw + 1])
    r = w - 64 * (nw - 1)
    if r < 64:
        c[:, -1] = np.bitwise_count(x[:, nw] & np.uint64((1 << r) - 1))
    return c.sum(1, dtype=np.int64).astype(np.float64)


def _packed_runs(ink: np.ndarray, d: float, ver_rows: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rule_profiles`' runs (``bridge=True``), `hor` packed (:func:`_pack`)
    and `ver` over rows ``ver_rows`` (uint8): the same pixels, bit for bit."""
    h, w = ink.shape
    hk = max(3, int(round(H_RUN_IN * d)))
    vk = max(3, int(round(V_RUN_IN * d)))
    g = max(3, int(round(0.04 * d)))
    zero = np.uint64(0)
    bits = _pack(ink)
    # Closing (dilate, erode) then opening (erode, dilate), as cv2.morphologyEx.
    hor = _bit_window(_bit_window(bits, w, g, np.bitwise_or, zero), w, g, np.bitwise_and, _ONES)
    hor = _bit_window(_bit_window(hor, w, hk, np.bitwise_and, _ONES), w, hk, np.bitwise_or, zero)
    a, b = ver_rows
    lo, hi = max(0, a - g - vk), min(h, b + g + vk)
    v = bits[lo:hi]
    v = _row_bits_window(_row_bits_window(v, g, np.bitwise_or, zero), g, np.bitwise_and, _ONES)
    v = _row_bits_window(_row_bits_window(v, vk, np.bitwise_and, _ONES), vk, np.bitwise_or, zero)
    ver = _unpack(v[a - lo: max(a - lo, b - lo)], w)
    return hor, ver


def _rowsum(a: np.ndarray) -> np.ndarray:
    """Sum of each row of a uint8 array, float64 (one OpenCV reduction)."""
    if a.size == 0:
        return np.zeros(a.shape[0])
    return cv2.reduce(a, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S)[:, 0].astype(np.float64)


def _colsum(a: np.ndarray) -> np.ndarray:
    """Sum of each column of a uint8 array, float64."""
    if a.size == 0:
        return np.zeros(a.shape[1])
    return cv2.reduce(a, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S)[0].astype(np.float64)


def _pair_max(p: np.ndarray) -> np.ndarray:
    """Each entry, or it plus its left or right neighbour if more (0 past the ends)."""
    q = p.copy()
    q[1:] = np.maximum(q[1:], p[1:] + p[:-1])
    q[:-1] = np.maximum(q[:-1], p[:-1] + p[1:])
    return q


def _per_template(cache: dict, t: FormTemplate, key: tuple, build):
    """``build()`` once per template object and `key` (the template is kept
    with the value, so an id reused by another template is not a hit)."""
    hit = cache.get(key)
    if hit is None or hit[0] is not t:
        if len(cache) > 64:
            cache.clear()
        hit = cache[key] = (t, build())
    return hit[1]


_LABELS: dict[tuple, tuple] = {}


def _off_labels(t: FormTemplate, shape: tuple[int, int], d: float) -> np.ndarray:
    """255 off the template's printed labels (each grown by 2-3 pixels), 0 on
    them, over the table resample of `shape` at `d` dpi (cached per template)."""
    def build() -> np.ndarray:
        m = MARGIN_IN
        tx, ty, _tw, _th = t.table
        mask = np.full(shape, 255, np.uint8)
        for line in range(1, t.line_count + 1):
            for name, cell in t.cells.items():
                x, y, _w, _h = t.cell_box(line, name)
                for dx, dy, mw, mh in cell.masks:
                    x0, y0 = int((x + dx - tx + m) * d) - 2, int((y + dy - ty + m) * d) - 2
                    x1, y1 = int((x + dx + mw - tx + m) * d) + 3, int((y + dy + mh - ty + m) * d) + 3
                    mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 0
        mask.setflags(write=False)
        return mask

    return _per_template(_LABELS, t, (id(t), tuple(shape), float(d)), build)


_LABEL_BITS: dict[tuple, tuple] = {}


def _off_label_bits(t: FormTemplate, shape: tuple[int, int], d: float) -> np.ndarray:
    """:func:`_off_labels` as packed bits (:func:`_pack`; cached per template)."""
    def build() -> np.ndarray:
        bits = _pack(_off_labels(t, shape, d) & np.uint8(1))
        bits.setflags(write=False)
        return bits

    return _per_template(_LABEL_BITS, t, (id(t), tuple(shape), float(d)), build)


#: A printed rule on a registered page keeps to one row: the row of its
#: runs, column by column, varies by at most this (pixels, standard deviation).
STRAIGHT_PX = 1.0


def _straight(hor: np.ndarray, p: int) -> bool:
    """Whether the horizontal runs around row `p` are a level, straight rule.

    A hand-drawn stroke along a row, however level it looks, climbs or
    wanders a few pixels over its length; a printed rule on a registered
    page does not.
    """
    a, b = max(0, p - 4), min(hor.shape[0], p + 5)
    return _straight_band(hor[a:b], a)


def _straight_band(band: np.ndarray, a: int) -> bool:
    """:func:`_straight` of the rows `band` (the first of them row `a`)."""
    band = band.astype(np.float64)
    n = band.sum(0)
    on = n > 0
    if np.count_nonzero(on) < 3:
        return False
    # Each column's ink-weighted mean row: integer sums, exact in any order.
    rows = np.arange(a, a + band.shape[0], dtype=np.float64)
    centre = (rows @ band)[on] / n[on]
    x = np.flatnonzero(on).astype(np.float64)
    # Level: a rule on a registered page does not climb (a ruler-drawn
    # strike does); straight: nor does it wander about its line. The least
    # squares line in closed form (np.polyfit's, without its overhead).
    xm, cm = x.sum() / len(x), centre.sum() / len(centre)  # np.mean's sums, without its overhead
    dx = x - xm
    sxx = float(dx @ dx)
    slope = float(dx @ (centre - cm)) / sxx if sxx > 0 else 0.0
    icpt = cm - slope * xm
    drift = abs(slope) * (x[-1] - x[0])
    resid = centre - (slope * x + icpt)
    return drift <= 2.0 * STRAIGHT_PX and float(resid.std()) <= STRAIGHT_PX


def _ends_on_rules(hor: np.ndarray, p: int, stops: np.ndarray, tol: float, min_len: float = 0.0) -> bool:
    """Whether the longest horizontal run around row `p` is at least
    `min_len` pixels long and starts and ends at a vertical rule."""
    a, b = max(0, p - 2), min(hor.shape[0], p + 3)
    if not len(stops):
        return False
    # The run edges: where the columns' "any ink" changes, off the ends counting as none.
    on = np.zeros(hor.shape[1] + 2, bool)
    hor[a:b].any(0, out=on[1:-1])
    edges = np.flatnonzero(on[1:] != on[:-1])
    if not len(edges):
        return False
    starts, ends = edges[::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    x0, x1 = float(starts[k]), float(ends[k] - 1)
    if x1 - x0 + 1 < min_len:
        return False
    return bool(np.abs(stops - x0).min() <= tol and np.abs(stops - x1).min() <= tol)


_CHECKS: dict[tuple, tuple] = {}


def _rule_checks(t: FormTemplate, shape: tuple[int, int], d: float, tol: int) -> dict:
    """Per axis, the template rules :func:`layout_fit` checks (those covering at
    least :data:`MIN_RULE_SHARE` of the table), in the rules' order:
    ``(idx, need, names)``, each rule's window of profile indices (``pos``
    +/- `tol` pixels; past the profile's ends the index one past its end),
    the run length (inches) that finds it, and its name in ``missing``.
    Cached per template and resample size."""
    def build() -> dict:
        m = MARGIN_IN
        tx, ty, tw, _th = t.table
        h_rules, v_rules, (ly0, ly1) = template_rules(t)
        out = {}
        for axis, rules, n, o, span in (("h", h_rules, shape[0], ty - m, tw),
                                        ("v", v_rules, shape[1], tx - m, ly1 - ly0)):
            idx, need, names = [], [], []
            for pos, cover in rules.items():
                if cover < MIN_RULE_SHARE * span:
                    continue
                c = int(round((pos - o) * d))
                idx.append([i if 0 <= i < n else n for i in range(c - tol, c + tol + 1)])
                need.append(FOUND_SHARE * cover)
                names.append(f"{axis} {pos:.3f} in")
            a = np.array(idx, np.intp).reshape(len(idx), 2 * tol + 1)
            a.setflags(write=False)
            out[axis] = (a, np.array(need, np.float64), names)
        return out

    return _per_template(_CHECKS, t, (id(t), tuple(shape), float(d), tol), build)


def layout_fit(gray: np.ndarray, t: FormTemplate, d: float = FIT_DPI) -> LayoutFit:
    """Check a registered page against template `t`, rules both ways.

    Parameters
    ----------
    gray : (h, w) uint8 array
        The page resampled deskewed at `d` dpi over the template's table
        box grown by :data:`MARGIN_IN` on every side (inches ``(tx - m, ty
        - m)`` at pixel (0, 0)).
    t : FormTemplate

    Returns
    -------
    LayoutFit
    """
    m = MARGIN_IN
    tx, ty, tw, _th = t.table
    h_rules, v_rules, (ly0, ly1) = template_rules(t)
    H = gray.shape[0]
    ink = _ink(gray)
    # Column counts only over the lines region, row counts only over the table's width.
    ya, yb = max(0, int(round((ly0 - (ty - m)) * d))), min(H, int(round((ly1 - (ty - m)) * d)))
    # rule_profiles' runs, the horizontal ones as bits (a fraction of the work).
    W = gray.shape[1]
    hor_bits, ver_in = _packed_runs(ink, d, (ya, yb))
    rows = _pair_max(_bit_rowsum(hor_bits, W))
    # Rules the scan has and the template lacks: runs off the template's
    # printed labels (typed words become runs once bridged).
    off_labels = _off_labels(t, gray.shape, d)
    f_bits = hor_bits & _off_label_bits(t, gray.shape, d)
    f_rows = _pair_max(_bit_rowsum(f_bits, W))
    pair = _pair_max

    def f_hor(a: int, b: int) -> np.ndarray:
        # Rows a:b of the runs off the labels (0/1 uint8), for the few rows tested.
        return _unpack(f_bits[a:b], W)
    f_ver_in = cv2.bitwise_and(ver_in, off_labels[ya:yb])
    cols = pair(_colsum(ver_in))
    f_cols = pair(_colsum(f_ver_in))
    tol = int(round(RULE_MATCH_IN * d))
    # Where a horizontal rule may end: the template's vertical rules, and any
    # vertical rule the scan shows (pixels in the resample).
    stops: list[np.ndarray] = []

    def v_stops() -> np.ndarray:
        # Found when first needed: most pages have no level pen line to test.
        if not stops:
            s = [(x - (tx - m)) * d for x in v_rules] + [float(i) for i in _peaks(cols / d, 0.15 * (ly1 - ly0), 3)]
            stops.append(np.array(s, np.float64))
        return stops[0]

    tol_ends = 0.08 * d
    min_run = FOREIGN_H_RUN_SHARE * tw * d
    expected = found = 0
    missing, extra = [], []

    checks = _rule_checks(t, gray.shape, d, tol)
    for axis, rules, prof, fprof, o, span in (("h", h_rules, rows, f_rows, ty - m, tw),
                                              ("v", v_rules, cols, f_cols, tx - m, ly1 - ly0)):
        # Each template rule's strongest run within `tol` pixels of it, all at
        # once: windows of `prof` (counts, never negative) whose pixels past
        # its ends read a 0 appended to it.
        idx, need, names = checks[axis]
        padded = np.zeros(len(prof) + 1)
        padded[:-1] = prof
        got = padded[idx].max(1) / d if len(idx) else np.zeros(0)
        ok = got >= need
        expected += len(names)
        found += int(np.count_nonzero(ok))
        missing += [names[i] for i in np.flatnonzero(~ok).tolist()]
        # Foreign rules: strong runs, inside the lines region (rows) or the table (columns).
        share = FOREIGN_H_SHARE if axis == "h" else FOREIGN_V_SHARE
        if axis == "h":
            a, b = ly0 - 0.02, ly1 + 0.02
        else:
            a, b = tx + 0.02, tx + tw - 0.02
        known = sorted(rules)
        for p in _peaks(fprof / d, share * span, max(2, tol)):
            pos = o + p / d
            if not (a <= pos <= b):
                continue
            # The nearest template rule is one of the two either side of `pos`.
            j = bisect.bisect_left(known, pos)
            if any(abs(known[i] - pos) <= RULE_MATCH_IN for i in (j - 1, j) if 0 <= i < len(known)):
                continue
            if axis == "h":
                # A printed rule runs from one vertical rule to another; a pen
                # line stops anywhere (the cheaper test first: most such lines
                # fail it). Both on just the rows they read.
                a0, a2 = max(0, p - 4), max(0, p - 2)
                near = f_hor(a0, min(H, p + 5))
                if not _ends_on_rules(near[a2 - a0: min(H, p + 3) - a0], p - a2, v_stops(), tol_ends, min_run):
                    continue
                straight = _straight_band(near, a0)  # _straight(f_hor, p)
            else:
                straight = _straight_band(f_ver_in[:, max(0, p - 4): p + 5].T, max(0, p - 4))
            if not straight:
                continue  # pen strokes (a strike, a flourish, tall letters), not a printed rule
            extra.append(f"{axis} {pos:.3f} in")
    return LayoutFit(expected, found, len(extra), tuple(missing), tuple(extra))
