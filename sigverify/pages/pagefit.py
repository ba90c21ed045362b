"""Registration of a phone photo of a page lying on a desk, from the
paper's edge and every rule of the template (issue 19, item 4).

A form without registration marks is normally registered from the outline
of its lines table (:func:`.geometry.table_quad`). On a phone photo in
uneven light a faint outer rule of the table can be lost; the outline then
snaps to the next rule in, the map comes out a few per cent narrow, and the
layout fit refuses the page. Two things here do not depend on that one rule:

* :func:`sheet_quads`: the sheet of paper against the darker desk around
  it, its four edges fitted as straight lines (the paper's corners map to
  the template's page corners, keystone included);
* :func:`fit_to_rules`: the homography, started from the sheet (or from the
  table outline), moved until ALL the template's rules lie on the photo's
  thin dark lines (:class:`RuleMap`, darkness relative to the paper beside
  it, so the dim side of the page counts as much as the lit one).

Only pages that would otherwise be refused come here (the segmenter's
second chances), and whatever is found is checked by the layout fit like
any other registration: a page of another layout is refused all the same.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from sigverify.pages import geometry as geo
from sigverify.pages.templates import FormTemplate

#: Resolution of the rule map (the page's halving at or above it is used).
RULE_MAP_DPI = 100.0
#: Dark features narrower than this (inches) are lines; the paper level is
#: what is left after closing them.
PAPER_KERNEL_IN = 0.1
#: A rule is dark along its length: the darkness kept on a run this long
#: (inches) in the rule's direction (a dot of ink or a letter does not hold).
RUN_IN = 0.12
#: Relative darkness (share of the paper level) at which a point counts as
#: fully on a rule; darker ink counts no more (a signature over a rule must
#: not outweigh the rules).
FULL_DARKNESS = 0.2
#: Sample spacing along the template's rules (inches).
STEP_IN = 0.04
#: The homography search: the steps (inches, at the table's corners) from
#: coarse to fine.
STEPS_IN = (0.12, 0.06, 0.03, 0.015, 0.008)


@dataclass
class RuleMap:
    """Where a photographed page has thin dark horizontal and vertical lines.

    ``h`` and ``v`` (float32, 0-1) are at ``factor`` full-resolution pixels
    per pixel; ``coarse`` holds the same maps blurred for the first, large
    steps of :func:`fit_to_rules`.
    """

    h: np.ndarray
    v: np.ndarray
    coarse: tuple[np.ndarray, np.ndarray]
    factor: float


def _odd(n: float) -> int:
    k = max(3, int(round(n)))
    return k + 1 - k % 2


def _grown(work: geo.Working, dpi: float) -> tuple[float, np.ndarray]:
    """The ~100 dpi level (factor, image) made from the page with every dark
    pixel grown by one (a 3x3 erosion of the paper) when the page is finer:
    a hairline, or a 1-bit scan's dashes of one, keeps its darkness there."""
    f, lev = work.level_for(dpi, RULE_MAP_DPI)
    if dpi <= 1.2 * RULE_MAP_DPI or not work.levels:
        return f, lev
    lev = cv2.erode(work.levels[0][1], np.ones((3, 3), np.uint8))
    for _ in range(int(round(np.log2(f)))):
        h, w = lev.shape[0] // 2, lev.shape[1] // 2
        lev = cv2.resize(lev[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)
    return f, lev


#: On a 1-bit scan, gaps up to this long (inches) between the dashes of a
#: broken rule are bridged in the rule map.
GAP_IN = 0.05


def rule_map(work: geo.Working, dpi: float) -> RuleMap:
    """The page's :class:`RuleMap` (cached on `work`)."""
    hit = work.__dict__.get("_rule_map")
    if hit is not None:
        return hit
    image = work.levels[0][1] if work.levels else work.gray
    bilevel = not cv2.countNonZero(cv2.inRange(image, 1, 254))
    f, lev = _grown(work, dpi) if bilevel else work.level_for(dpi, RULE_MAP_DPI)
    d = dpi / f
    paper = cv2.morphologyEx(lev, cv2.MORPH_CLOSE, np.ones((_odd(PAPER_KERNEL_IN * d),) * 2, np.uint8))
    paper_f = np.maximum(paper.astype(np.float32), 16.0)
    dark = (paper_f - lev.astype(np.float32)) / paper_f
    dark = np.clip(dark * (1.0 / FULL_DARKNESS), 0.0, 1.0)
    run = _odd(RUN_IN * d)
    dh: np.ndarray = dark
    dv: np.ndarray = dark
    if bilevel:
        # A 1-bit scan breaks a hairline into dashes: bridge the gaps along it.
        gap = _odd(GAP_IN * d)
        dh = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8))
        dv = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, np.ones((gap, 1), np.uint8))
    h = cv2.erode(dh, np.ones((1, run), np.uint8))
    v = cv2.erode(dv, np.ones((run, 1), np.uint8))
    s_fine, s_coarse = max(0.6, 0.008 * d), max(1.5, 0.03 * d)
    h_f, v_f = cv2.GaussianBlur(h, (0, 0), s_fine), cv2.GaussianBlur(v, (0, 0), s_fine)
    coarse = (cv2.GaussianBlur(h, (0, 0), s_coarse), cv2.GaussianBlur(v, (0, 0), s_coarse))
    out = RuleMap(h_f, v_f, coarse, f)
    work.__dict__["_rule_map"] = out
    return out


_POINTS: dict[int, tuple] = {}


def rule_points(t: FormTemplate) -> tuple[np.ndarray, np.ndarray]:
    """Points (inches, (1, N, 2) float32) along the template's horizontal
    rules and along its vertical ones: every cell edge of every line and the
    table's outline (cached per template)."""
    hit = _POINTS.get(id(t))
    if hit is not None and hit[0] is t:
        return hit[1]
    hs: set[tuple] = set()
    vs: set[tuple] = set()
    for line in range(1, t.line_count + 1):
        for name in t.cells:
            x, y, w, h = t.cell_box(line, name)
            hs.update({(round(y, 3), round(x, 3), round(x + w, 3)), (round(y + h, 3), round(x, 3), round(x + w, 3))})
            vs.update({(round(x, 3), round(y, 3), round(y + h, 3)), (round(x + w, 3), round(y, 3), round(y + h, 3))})
    tx, ty, tw, th = t.table
    hs.update({(round(ty, 3), tx, tx + tw), (round(ty + th, 3), tx, tx + tw)})
    vs.update({(round(tx, 3), ty, ty + th), (round(tx + tw, 3), ty, ty + th)})

    def sample(segs: set, horizontal: bool) -> np.ndarray:
        pts = set()
        for pos, a, b in segs:
            for s in np.arange(a, b + 1e-9, STEP_IN):
                pts.add((round(float(s), 2), pos) if horizontal else (pos, round(float(s), 2)))
        return np.array(sorted(pts), np.float32).reshape(1, -1, 2)

    out = (sample(hs, True), sample(vs, False))
    if len(_POINTS) > 64:
        _POINTS.clear()
    _POINTS[id(t)] = (t, out)
    return out


def _sample(a: np.ndarray, S: np.ndarray, pts: np.ndarray) -> float:
    """The mean of `a` (bilinear; 0 outside) at points `pts` ((1, N, 2)
    float32) carried by the 3x3 map `S`."""
    m = cv2.perspectiveTransform(pts, S)
    return float(cv2.remap(a, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0).mean())


def agreement(rmap: RuleMap, M: np.ndarray, t: FormTemplate, coarse: bool = False) -> float:
    """How well `M` (inches -> full-resolution pixels) puts the template's
    rules on the photo's lines: the mean over the horizontal rules' points
    and the vertical rules' points (each half the weight), 0-1. `coarse`:
    on the blurred maps, every 4th point."""
    hp, vp = rule_points(t)
    if coarse:
        hp, vp = hp[:, ::4], vp[:, ::4]
    f = rmap.factor
    S = np.array([[1.0 / f, 0, 0.5 / f - 0.5], [0, 1.0 / f, 0.5 / f - 0.5], [0, 0, 1.0]]) @ M
    hm, vm = rmap.coarse if coarse else (rmap.h, rmap.v)
    return 0.5 * _sample(hm, S, hp) + 0.5 * _sample(vm, S, vp)


#: Directions of the homography search, as moves of the table's four
#: corners (TL, TR, BR, BL; x, y) in template inches: each corner on its
#: own, and the whole table shifted, stretched and turned.
_SX = np.array([-1.0, 1.0, 1.0, -1.0])
_SY = np.array([-1.0, -1.0, 1.0, 1.0])


def _directions() -> list[np.ndarray]:
    dirs = []
    for k in range(4):
        for axis in range(2):
            m = np.zeros((4, 2))
            m[k, axis] = 1.0
            dirs.append(m)
    dirs.append(np.tile([1.0, 0.0], (4, 1)))  # shift x
    dirs.append(np.tile([0.0, 1.0], (4, 1)))  # shift y
    dirs.append(np.stack([_SX, np.zeros(4)], 1))  # stretch x
    dirs.append(np.stack([np.zeros(4), _SY], 1))  # stretch y
    dirs.append(np.stack([-_SY, _SX], 1))  # turn
    return dirs


_DIRS = _directions()


def fit_to_rules(rmap: RuleMap, M0: np.ndarray, t: FormTemplate, steps: tuple[float, ...] = STEPS_IN
                 ) -> tuple[np.ndarray, float]:
    """The homography near `M0` that best puts all the template's rules on
    the photo's lines (:func:`agreement`), and its agreement.

    A pattern search over moves of the table's corners in template inches,
    from coarse steps (on the blurred maps) to fine ones: a lost outer rule
    is one rule among many, so it no longer decides the fit.
    """
    tq = geo.box_corners(t.table)
    delta = np.zeros((4, 2))

    def at(dl: np.ndarray) -> np.ndarray:
        G = cv2.getPerspectiveTransform(tq.astype(np.float32), (tq + dl).astype(np.float32)).astype(np.float64)
        return M0 @ G

    for step in steps:
        coarse = step >= 0.05
        best = agreement(rmap, at(delta), t, coarse)
        for _ in range(6):
            improved = False
            for d in _DIRS:
                for sgn in (1.0, -1.0):
                    cand = delta + sgn * step * d
                    s = agreement(rmap, at(cand), t, coarse)
                    if s > best + 1e-5:
                        best, delta, improved = s, cand, True
            if not improved:
                break
    M = at(delta)
    return M, agreement(rmap, M, t)


def sheet_quads(work: geo.Working) -> list[np.ndarray]:
    """Where the sheet of paper may be on a photo of it lying on something
    darker: the four corners (TL, TR, BR, BL in image order, full-resolution
    pixels) of each distinct candidate, largest first; none when no
    four-sided bright region stands out (on a flatbed scan a candidate may
    be something else four-sided, the table's inside say: harmless, the
    template's rules and the layout fit decide).

    The sheet is the largest bright region of the working image, at Otsu's
    threshold or, when a lamp to one side dims the far edge of the paper
    below it, at a lower one; a region that is no quadrilateral (the desk
    let in) is no candidate. A lower threshold can still let in a light
    stripe of the desk along one edge and stay four-sided, so every
    candidate is handed on and the template's rules pick
    (:func:`candidates`). Each side is a straight line fitted to the
    region's outline between the corners, and the corners are where the
    lines meet.
    """
    g = cv2.GaussianBlur(work.gray, (5, 5), 0)
    otsu, _ = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    below = g[g <= otsu]
    if not below.size:
        return []
    desk = float(below.mean())
    outlines = [got for k in range(4) if (got := _sheet_outline(g, otsu - 0.2 * k * (otsu - desk))) is not None]
    out: list[np.ndarray] = []
    f = work.factor
    for _area, cnt, rough in sorted(outlines, key=lambda o: -o[0]):
        c = _sheet_sides(cnt, rough, g.shape)
        if c is None:
            continue
        c = (c + 0.5) * f - 0.5  # working pixel centres to full-resolution pixel centres
        if all(np.abs(c - o).max() > 0.005 * f * max(g.shape) for o in out):
            out.append(c)
    return out


def _sheet_outline(g: np.ndarray, thr: float) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(area, outline, rough corners) of the largest region brighter than
    `thr`, when it is a quadrilateral covering a quarter to 93 % of the image."""
    _t, bright = cv2.threshold(g, thr, 255, cv2.THRESH_BINARY)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if n < 2:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if not 0.25 <= stats[k, cv2.CC_STAT_AREA] / float(g.size) <= 0.93:
        return None
    cnts, _ = cv2.findContours((lab == k).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cnt = max(cnts, key=cv2.contourArea)
    hull = cv2.convexHull(cnt)
    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02):
        a = cv2.approxPolyDP(hull, eps * peri, True)
        if len(a) == 4:
            area = float(cv2.contourArea(cnt))
            quad = float(cv2.contourArea(a))
            # Four-sided: the region fills its quadrilateral (a corner of
            # the desk let in, or a bite the shadow took, does not).
            if quad > 0 and abs(area / quad - 1.0) < 0.02:
                return area, cnt, geo.order_corners(a.reshape(4, 2).astype(np.float64))
            return None
    return None


def _sheet_sides(cnt: np.ndarray, rough: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """The corners where straight lines fitted to the outline's four sides meet."""
    pts = cnt.reshape(-1, 2).astype(np.float64)
    h, w = shape
    # Outline points on the image's border are where the photo cut the sheet, not its edge.
    inner = (pts[:, 0] > 1) & (pts[:, 1] > 1) & (pts[:, 0] < w - 2) & (pts[:, 1] < h - 2)
    lines = []
    for i in range(4):
        a, b = rough[i], rough[(i + 1) % 4]
        ab = b - a
        L = float(np.hypot(*ab))
        if L < 10:
            return None
        u = ab / L
        rel = pts - a
        along = rel @ u
        off = rel @ np.array([-u[1], u[0]])
        sel = inner & (along > 0.1 * L) & (along < 0.9 * L) & (np.abs(off) < max(3.0, 0.03 * L))
        if np.count_nonzero(sel) < 10:
            return None
        lines.append(cv2.fitLine(pts[sel].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel().astype(np.float64))
    corners = []
    for i in range(4):
        (vx1, vy1, x1, y1), (vx2, vy2, x2, y2) = lines[i - 1], lines[i]
        A = np.array([[vx1, -vx2], [vy1, -vy2]])
        if abs(np.linalg.det(A)) < 1e-6:
            return None
        s, _u = np.linalg.solve(A, np.array([x2 - x1, y2 - y1]))
        corners.append((x1 + s * vx1, y1 + s * vy1))
    c = np.array(corners)
    if np.abs(c - rough).max() > 0.05 * max(h, w):
        return None
    return c


def edge_variants(M: np.ndarray, t: FormTemplate) -> list[np.ndarray]:
    """`M` (a table outline's map) as it would be had the outline taken the
    next rule in (or out) for one of the table's outer rules: for each side,
    the table stretched (shrunk) about the opposite side so that its outer
    rule moves to where the neighbouring rule was. A lost outer rule puts
    every inner rule off by a share of the table, beyond what the search of
    :func:`fit_to_rules` walks out of; one of these starts is right."""
    hp, vp = rule_points(t)
    xs = np.unique(np.round(vp[0, :, 0], 3))
    ys = np.unique(np.round(hp[0, :, 1], 3))
    out = []
    for pos, axis in ((xs, 0), (ys, 1)):
        if len(pos) < 3:
            continue
        lo, hi = float(pos[0]), float(pos[-1])
        for edge, fixed, nxt in ((lo, hi, float(pos[1])), (hi, lo, float(pos[-2]))):
            a = (fixed - nxt) / (fixed - edge)  # the outline's edge at the next rule: x -> a x + b
            for k in (a, 1.0 / a):
                # The map that was right is M after undoing x -> k x + fixed (1 - k).
                C = np.eye(3)
                C[axis, axis] = 1.0 / k
                C[axis, 2] = -fixed * (1 - k) / k
                out.append(M @ C)
    return out


def sheet_hypotheses(corners: np.ndarray, t: FormTemplate) -> list[tuple[np.ndarray, int]]:
    """Maps (inches -> full-resolution pixels) putting the template's page
    corners on the sheet's, one per quarter turn: (M, rotation)."""
    pq = geo.box_corners((0.0, 0.0, *t.page_size))
    return [(geo.fit_transform(pq, np.roll(corners, -k, axis=0)), 90 * k) for k in range(4)]


#: At most this many maps per template are fitted to the rules (the best
#: starts by :func:`agreement`): each costs a few tenths of a second.
MAX_FITS = 3


def candidates(work: geo.Working, dpi: float, t: FormTemplate, starts: list[tuple[np.ndarray, int]],
               plausible) -> list[tuple[float, np.ndarray, int]]:
    """Maps (inches -> full-resolution pixels) of template `t` on a photo,
    each fitted to all its rules (:func:`fit_to_rules`), best first:
    ``(agreement, M, rotation)``.

    Started from `starts` (e.g. the table outline's map) and from the
    sheet's corners (:func:`sheet_quads`, each quarter turn); only starts
    `plausible(M)` accepts are tried, and of those the :data:`MAX_FITS`
    whose rules already agree best.
    """
    starts = [(M, rot) for M, rot in starts if plausible(M)]
    hyps = list(starts)
    for M, rot in starts:
        hyps += [(V, rot) for V in edge_variants(M, t)]
    for corners in sheet_quads(work):
        hyps += sheet_hypotheses(corners, t)
    hyps = [(M, rot) for M, rot in hyps if plausible(M)]
    if not hyps:
        return []
    rmap = rule_map(work, dpi)
    ranked = sorted(((agreement(rmap, M, t, coarse=True), i) for i, (M, _rot) in enumerate(hyps)), reverse=True)
    # The starts as they are compete too (a fit to a rule map a damaged page
    # shows poorly must not lose a map that was right).
    out = [(agreement(rmap, M, t), M, rot) for M, rot in starts]
    for _s, i in ranked[:MAX_FITS]:
        M, rot = hyps[i]
        M, s = fit_to_rules(rmap, M, t)
        if plausible(M):
            out.append((s, M, rot))
    out.sort(key=lambda c: -c[0])
    return out


def even_light(work: geo.Working, dpi: float) -> geo.Working:
    """`work` with its ~100 dpi level (the one the layout fit resamples)
    made from the page with every dark pixel grown by one (a 3x3 erosion of
    the paper, as for a 1-bit scan's hairlines: a hairline keeps its
    darkness through the halving) and its light evened out: each pixel
    scaled by the paper level around it, so that the page reads as if lit
    like its brightest part (a hairline on the dim side of a photo keeps
    the contrast it has on the lit side)."""
    f, lev = _grown(work, dpi)
    d = dpi / f
    paper = cv2.morphologyEx(lev, cv2.MORPH_CLOSE, np.ones((_odd(0.15 * d),) * 2, np.uint8))
    paper_f = cv2.GaussianBlur(paper.astype(np.float32), (0, 0), max(1.0, 0.05 * d))
    target = float(np.percentile(paper_f, 90))
    even = lev.astype(np.float32) * (target / np.maximum(paper_f, 16.0))
    return replace(work, levels=((f, np.clip(even, 0, 255).astype(np.uint8)),))
