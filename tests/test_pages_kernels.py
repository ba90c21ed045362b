"""The segmenter's fast kernels against slow references (the OpenCV / numpy
calls they replace): the same results, bit for bit."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.pages import geometry as geo
from sigverify.pages import segment as seg
from sigverify.pages.segment import _block_max, _block_up, _row_window


def _masks(seed: int, n: int = 12):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 90))
        yield ((rng.random((h, w)) < rng.random()) * rng.choice([1, 255])).astype(np.uint8)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 16, 29, 30, 31, 100])
def test_row_window_is_a_row_erosion_and_dilation(k):
    kernel = np.ones((1, k), np.uint8)
    for a in _masks(k):
        assert np.array_equal(_row_window(a, k, cv2.min, 255), cv2.erode(a, kernel))
        assert np.array_equal(_row_window(a, k, cv2.max, 0), cv2.dilate(a, kernel))


@pytest.mark.parametrize("s", [2, 3])
def test_block_max_and_block_up_match_dilation_and_nearest_resize(s):
    rng = np.random.default_rng(s)
    for _ in range(8):
        h, w = s * int(rng.integers(1, 20)), s * int(rng.integers(1, 40))
        a = rng.integers(0, 256, (h, w), dtype=np.uint8)
        ref = np.ascontiguousarray(cv2.dilate(a, np.ones((s, s), np.uint8), anchor=(0, 0))[::s, ::s])
        assert np.array_equal(_block_max(a, s), ref)
        small = rng.integers(0, 256, (h // s, w // s), dtype=np.uint8)
        ref_up = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        assert np.array_equal(_block_up(small, s), ref_up)


def _refine_reference(image, cand, factor, threshold):
    """The former refine_centroid: labels with statistics, numpy weights."""
    cx, cy, x0, y0, roi = geo.mark_window(image, cand, factor)
    n, lab, stats, cent = cv2.connectedComponentsWithStats((roi < threshold).astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.array([cx, cy])
    k = 1 + int(np.argmax(stats[1:, 4]))
    sel = cv2.dilate((lab == k).view(np.uint8), np.ones((3, 3), np.uint8))
    wts = np.clip(threshold + 40 - roi.astype(np.float32), 0, None) * sel
    mo = cv2.moments(wts)
    return np.array([x0 + mo["m10"] / mo["m00"], y0 + mo["m01"] / mo["m00"]])


@pytest.mark.parametrize("threshold", [97.0, 120.5, 128.25])
def test_refine_centroid_matches_reference(threshold):
    rng = np.random.default_rng(int(threshold))
    img = np.clip(rng.normal(235, 6, (200, 200)), 0, 255).astype(np.uint8)
    cv2.rectangle(img, (60, 70), (95, 104), 30, -1)  # the mark, 36 px
    cv2.circle(img, (110, 80), 4, 60, -1)  # a smaller blot beside it
    img = cv2.GaussianBlur(img, (3, 3), 0)
    cand = np.array([78.0 / 2, 87.0 / 2, 18.0, 18.0, 1.0])
    got = geo.refine_centroid(img, cand, 2.0, threshold)
    assert np.array_equal(got, _refine_reference(img, cand, 2.0, threshold))
    assert np.allclose(got, [77.5, 87.0], atol=0.5)


def test_alignment_score_matches_reference():
    rng = np.random.default_rng(3)
    ink = ((rng.random((60, 80)) < 0.3) * 255).astype(np.uint8)
    work = geo.Working(ink, ink, 1.0, 128.0, 240.0)
    pts = rng.uniform(-0.5, 9.0, (500, 2))
    for M in (np.diag([8.0, 6.0, 1.0]), np.array([[8.0, 0.3, -2.0], [-0.2, 6.5, 1.0], [1e-3, 2e-3, 1.0]])):
        p = geo.apply(M, pts)
        xi, yi = np.round(p[:, 0]).astype(int), np.round(p[:, 1]).astype(int)
        inside = (xi >= 0) & (xi < 80) & (yi >= 0) & (yi < 60)
        ref = 0.0 if inside.mean() < 0.8 else float((geo.dilated_ink(work)[yi[inside], xi[inside]] > 0).sum()) / len(p)
        assert geo.alignment_score(work, M, pts) == ref


@pytest.mark.parametrize("seed", range(6))
def test_core_matches_threshold_and_two_ands(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 60))
        bg = rng.integers(0, 256, (h, w), dtype=np.uint8)
        gray = rng.integers(0, 256, (h, w), dtype=np.uint8)
        ink = (rng.random((h, w)) < 0.5).astype(np.uint8)
        lo = float(rng.choice([rng.uniform(0, 60), rng.uniform(250, 300), -3.5, 8.0, 254.0, 255.0]))
        raw = cv2.subtract(bg, gray)
        peak = cv2.dilate(raw, np.ones((5, 5), np.uint8))
        half = cv2.compare(raw, cv2.subtract(peak, raw), cv2.CMP_GE)
        _, over = cv2.threshold(raw, lo, 255, cv2.THRESH_BINARY)
        ref = cv2.bitwise_and(cv2.bitwise_and(ink, half), over)
        assert np.array_equal(seg._core(ink, bg, gray, lo), ref)


def _strike_reference(ink, lay, written):
    """The former full-table strike pass: (rows, lines, W) row-band maxima."""
    H, W = ink.shape
    thick = cv2.dilate(ink.view(np.uint8), np.ones((7, 1), np.uint8))
    k = int(0.3 * seg.STATE_DPI)
    runs = cv2.dilate(cv2.erode(thick, np.ones((1, k), np.uint8)), np.ones((1, k), np.uint8))
    hit = np.zeros((len(lay.rows), len(lay.line_y), W), np.uint8)
    for r, (y0, y1, _n) in enumerate(lay.rows):
        for li in written:
            ly = int(lay.line_y[li])
            a, b = min(max(ly + y0, 0), H), min(max(ly + y1, 0), H)
            if b > a:
                hit[r, li] = runs[a:b].max(0)
    return hit


def _toy_layout(rng, H, W):
    n_lines, pitch = int(rng.integers(2, 6)), int(rng.integers(12, 30))
    line_y = np.arange(n_lines) * pitch + int(rng.integers(-5, 5))
    split = int(rng.integers(3, pitch - 3))
    rows = [(0, split, ["a", "b"]), (split, pitch + int(rng.integers(-2, 3)), ["c"])]
    cells = {"a": (0, 0, W // 2, split), "b": (W // 2, 0, W - W // 2 + 3, split),
             "c": (2, split, W - 4, pitch - split)}
    lo, hi, spans = seg._count_layout(cells, line_y, rows, H, W)[1:]
    return seg._StateLayout((H, W), np.ones((H, W), bool), cells, line_y, rows, row_lo=lo, row_hi=hi,
                            row_spans=spans)


@pytest.mark.parametrize("seed", range(8))
def test_strike_runs_match_full_table_opening(seed):
    rng = np.random.default_rng(seed)
    for _ in range(10):
        H, W = int(rng.integers(30, 120)), int(rng.integers(40, 160))
        lay = _toy_layout(rng, H, W)
        ink = np.zeros((H, W), bool)
        for _ in range(int(rng.integers(0, 6))):  # long strokes and specks
            y, x = int(rng.integers(0, H)), int(rng.integers(0, W))
            ink[y: y + int(rng.integers(1, 3)), x: x + int(rng.integers(1, 80))] = True
        ink |= rng.random((H, W)) < 0.05
        written = np.flatnonzero(rng.random(len(lay.line_y)) < 0.7)
        got = seg._strike_runs(ink, lay, written) if len(written) else None
        ref = _strike_reference(ink, lay, written.tolist())
        if got is None:
            assert not ref.any()
        else:
            assert np.array_equal(got, ref)


def test_box_sums_match_per_page_cell_counts():
    rng = np.random.default_rng(5)
    H, W = 90, 140
    lay = _toy_layout(rng, H, W)
    ink = (rng.random((H, W)) < 0.3).astype(np.uint8)
    I = cv2.integral(ink, sdepth=cv2.CV_32S)
    Y0, Y1, X0, X1 = seg._count_layout(lay.cells, lay.line_y, lay.rows, H, W)[0]
    ref = np.array([[ink[min(max(ly + c[1], 0), H): min(max(ly + c[1] + c[3], 0), H),
                         min(max(c[0], 0), W): min(max(c[0] + c[2], 0), W)].sum() for c in lay.cells.values()]
                    for ly in lay.line_y])
    assert np.array_equal(seg._box_sums(I, (Y0, Y1, X0, X1)), ref)


def _outer_blobs_reference(mask: np.ndarray):
    """Boxes of the 8-connected blobs with their holes filled, by labelling
    (a blob inside another's hole is part of the filled outer blob)."""
    h, w = mask.shape
    pad = np.pad((mask > 0).astype(np.uint8), 1)
    paper = np.zeros((h + 4, w + 4), np.uint8)  # floodFill's mask: 1 px wider each side
    cv2.floodFill(1 - pad, paper, (0, 0), 2, flags=4)  # the paper reachable from the border (4-connected)
    filled = (paper[1:-1, 1:-1] == 0)[1:-1, 1:-1].astype(np.uint8)
    n, _, stats, _ = geo.components(filled)
    return stats[1:n, :4].astype(np.int64)


def _rows_sorted(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


@pytest.mark.parametrize("seed", range(4))
def test_blob_boxes_match_labelling_of_the_outer_blobs(seed):
    rng = np.random.default_rng(seed)
    tested = 0
    for _ in range(20):
        h, w = int(rng.integers(5, 120)), int(rng.integers(5, 160))
        mask = (rng.random((h, w)) < rng.uniform(0.05, 0.6)).astype(np.uint8) * 255
        # a ring with a blob in its hole: the inner blob is no outer blob
        if h > 40 and w > 40:
            cv2.rectangle(mask, (5, 5), (35, 35), 255, 2)
            mask[15:25, 15:25] = 0
            mask[18:22, 18:22] = 255
        cnts, boxes = geo.blob_boxes(mask)
        ref = _outer_blobs_reference(mask)
        assert len(cnts) == len(boxes)
        assert np.array_equal(_rows_sorted(boxes), _rows_sorted(ref))  # the same blobs, in any order
        tested += len(ref)
    assert tested > 100


def test_boxes_in_original_are_the_corners_extremes():
    rng = np.random.default_rng(3)
    for _ in range(50):
        a = np.radians(rng.uniform(-5, 5))
        s = rng.uniform(100, 600)
        M = np.array([[s * np.cos(a), -s * np.sin(a), rng.uniform(-50, 50)],
                      [s * np.sin(a), s * np.cos(a), rng.uniform(-50, 50)], [0, 0, 1.0]])
        if rng.random() < 0.3:
            M[2, :2] = rng.uniform(-1e-3, 1e-3, 2)  # a perspective page
        boxes = np.column_stack([rng.uniform(0, 8, (7, 2)), rng.uniform(0.1, 3, (7, 2))])
        got = seg._boxes_in_original(M, boxes)
        for b, g in zip(boxes, got):
            x, y, w, h = b
            p = geo.apply(M, np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]))
            assert np.allclose(g, [*p.min(0), *(p.max(0) - p.min(0))], rtol=0, atol=1e-9)


def _wide_masks(seed: int, n: int = 10):
    """0/1 masks whose widths straddle the 64-bit words of the packed fit kernels."""
    rng = np.random.default_rng(seed)
    for w in (1, 5, 63, 64, 65, 127, 128, 129, 200)[: n]:
        h = int(rng.integers(1, 40))
        a = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if rng.random() < 0.5:  # long runs too, as rules make
            a = cv2.dilate(a, np.ones((1, int(rng.integers(2, 40))), np.uint8))
        yield a


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7, 25, 30, 31, 63])
def test_packed_fit_windows_are_erosions_and_dilations(k):
    from sigverify.pages import fit

    zero = np.uint64(0)
    for a in _wide_masks(k):
        w = a.shape[1]
        bits = fit._pack(a)
        for kern, axis in ((np.ones((1, k), np.uint8), 1), (np.ones((k, 1), np.uint8), 0)):
            if axis == 1:
                er = fit._unpack(fit._bit_window(bits, w, k, np.bitwise_and, fit._ONES), w)
                di = fit._unpack(fit._bit_window(bits, w, k, np.bitwise_or, zero), w)
            else:
                er = fit._unpack(fit._row_bits_window(bits, k, np.bitwise_and, fit._ONES), w)
                di = fit._unpack(fit._row_bits_window(bits, k, np.bitwise_or, zero), w)
            assert np.array_equal(er, cv2.erode(a, kern))
            assert np.array_equal(di, cv2.dilate(a, kern))
        assert np.array_equal(fit._bit_rowsum(bits, w), a.sum(1).astype(np.float64))


def test_packed_runs_match_rule_profiles_on_a_form_page():
    from fixtures.forms import FormLine, render_page
    from sigverify.pages import fit

    rng = np.random.default_rng(5)
    page, _truth = render_page([FormLine("Ann Lee", "1 Main St", "LA", "90012", state=s)
                                for s in ("signed", "struck", "blank")], rng=rng, dpi=100)
    ink = fit._ink(page)
    h = ink.shape[0]
    for rows in ((0, h), (40, h // 2), (h // 3, h // 3)):
        _r, _c, hor, ver = fit.rule_profiles(page, 100.0, ink=ink, col_profile=False, ver_rows=rows)
        hbits, vpacked = fit._packed_runs(ink, 100.0, rows)
        assert hor.any()
        assert np.array_equal(fit._unpack(hbits, ink.shape[1]), hor)
        assert np.array_equal(vpacked, ver)


def test_peaks_match_the_plain_suppression():
    from sigverify.pages import fit

    def reference(profile, thresh, min_gap):
        k = max(1, int(min_gap))
        peak = cv2.dilate(profile.astype(np.float32)[None, :], np.ones((1, 2 * k + 1), np.uint8))[0]
        idx = np.flatnonzero((profile >= thresh) & (profile >= peak - 1e-6))
        kept: list[int] = []
        for i in idx[np.argsort(-profile[idx], kind="stable")].tolist():
            if all(abs(i - j) >= max(1, int(min_gap)) for j in kept) or int(min_gap) <= 0:
                kept.append(i)
        return sorted(kept)

    rng = np.random.default_rng(7)
    for _ in range(300):
        p = rng.integers(0, 6, int(rng.integers(1, 200))).astype(np.float64)
        p = np.convolve(p, np.ones(int(rng.integers(1, 6))), "same")
        th, gap = float(rng.uniform(0, p.max() + 1)), int(rng.integers(0, 10))
        assert fit._peaks(p, th, gap) == reference(p, th, gap)


# The table outline's fast paths (cv2.findNonZero, the stretches of an outer
# rule counted in one bincount) against the former code.

def _outer_rules_reference(ink: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The former version (np.nonzero, one pass per stretch)."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 10:
        return quad
    c = quad.mean(0)
    e = quad[1] - quad[0]
    base = float(np.arctan2(e[1], e[0]))
    w = float(np.hypot(*(quad[1] - quad[0])))
    h = float(np.hypot(*(quad[3] - quad[0])))
    px, py = xs - c[0], ys - c[1]
    best = None
    for da in np.radians(np.arange(-0.5, 0.501, 0.05)):
        a = base + da
        ca, sa = np.cos(a), np.sin(a)
        v = np.rint(-px * sa + py * ca).astype(np.int64)
        lo = v.min()
        rows = np.bincount(v - lo)
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
            fit = _edge_line_reference(coord, along, edge, span, middle=middle)
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


def _edge_line_reference(coord: np.ndarray, along: np.ndarray, edge: float, span: tuple[float, float],
               strips: int = 8, middle: list | None = None) -> tuple[float, float] | None:
    """The former version (np.nonzero, one pass per stretch)."""
    a0, a1 = span
    step = (a1 - a0) / strips
    reach = max(6.0, 0.05 * abs(a1 - a0))
    near = np.abs(coord - edge) <= reach
    cq, aq = coord[near], along[near]
    outer_first = None  # whether the outermost row is the first (the rule is the low edge): decided once
    xs, ys = [], []
    for k in range(strips):
        lo, hi = a0 + k * step, a0 + (k + 1) * step
        sel = (aq >= lo) & (aq < hi)
        if sel.sum() < 0.3 * step:
            continue
        q = np.rint(cq[sel] - (edge - reach)).astype(np.int64)
        counts = np.bincount(q, minlength=int(2 * reach) + 2).astype(np.float64)
        before, after = np.zeros_like(counts), np.zeros_like(counts)
        before[1:], after[:-1] = counts[:-1], counts[1:]
        c3 = counts + before + after  # each row with its two neighbours
        full = np.flatnonzero(c3 >= 0.5 * step)
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


def _table_outline_args(seed: int):
    """(ink, quad) table_quad hands to _outer_rules on a scanned, skewed page with no marks."""
    from fixtures.forms import FormLine, render_page, scan

    rng = np.random.default_rng(seed)
    lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", state=s) for s in ("signed", "struck", "blank", "signed")]
    page, _truth = render_page(lines, layout="two_row" if seed % 2 else "single_row", rng=rng, dpi=150)
    img, _M = scan(page, rng=rng, skew_deg=float(rng.uniform(-4, 4)), noise=0.02)
    work = geo.working_image(img, 150.0)
    got = []
    orig = geo._outer_rules

    def spy(ink, quad):
        got.append((ink.copy(), quad.copy()))
        return orig(ink, quad)

    geo._outer_rules = spy
    try:
        geo.table_quad(work)
    finally:
        geo._outer_rules = orig
    return got


@pytest.mark.parametrize("seed", range(4))
def test_outer_rules_match_the_former_code_on_a_scanned_table(seed):
    args = _table_outline_args(seed)
    assert args
    for ink, quad in args:
        new, ref = geo._outer_rules(ink, quad), _outer_rules_reference(ink, quad)
        assert new.dtype == ref.dtype and np.array_equal(new, ref)
        # Also with the outline's ink thinned out (fewer stretches full) and nearly empty.
        rng = np.random.default_rng(seed)
        for keep in (0.5, 0.0005):
            thin = (ink & (rng.random(ink.shape) < keep)).astype(np.uint8) * 255
            assert np.array_equal(geo._outer_rules(thin, quad), _outer_rules_reference(thin, quad))


def test_edge_line_matches_the_former_code():
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(1, 400))
        along = rng.uniform(-60, 60, n)
        edge = float(rng.uniform(-20, 20))
        coord = np.where(rng.random(n) < 0.5, edge + rng.normal(0, 1.5, n) + 0.02 * along, rng.uniform(-40, 40, n))
        coord = np.round(coord * rng.choice([1, 2, 4])) / rng.choice([1, 2, 4])  # ties at the stretch edges too
        a0 = float(rng.uniform(-70, 0))
        span = (a0, a0 + float(rng.choice([0.0, -5.0, rng.uniform(5, 140)])))
        strips = int(rng.integers(1, 10))
        m_new: list = []
        m_ref: list = []
        got = geo._edge_line(coord, along, edge, span, strips, middle=m_new)
        want = _edge_line_reference(coord, along, edge, span, strips, middle=m_ref)
        assert got == want
        if m_new:
            assert m_new == m_ref


# The crops' masks and selections (OpenCV row sums, np.take) against the former code.

def _cut_cells_reference(image, M, t, name: str, cd: float, table_box, shown: np.ndarray,
               paper: np.ndarray) -> np.ndarray:
    """The former _cut_cells (numpy any(), fancy-indexed selections)."""
    n_lines = t.line_count
    A1, (w, h) = seg._crop_transform(M, t.cell_box(1, name), cd)
    out = np.full((n_lines, h, w), 255, np.uint8)
    Ht, Wt = shown.shape
    # The former full-table nearest resize to `cd`, evaluated only where needed:
    # up-sampled pixel u reads table pixel floor(u * Wt / Wup).
    Wup, Hup = int(round(Wt * cd / seg.STATE_DPI)), int(round(Ht * cd / seg.STATE_DPI))
    fx, fy = Wt / max(1, Wup), Ht / max(1, Hup)
    tx, ty = table_box[0], table_box[1]
    x0 = int(round((t.cells[name].x - tx) * cd))
    # Cells lie inside the table box; pixels past its rounded edge read the
    # last row/column (nearest resize semantics) and past Wup/Hup are paper.
    X = x0 + np.arange(w)
    xok = (X >= 0) & (X < Wup)
    cols = np.minimum((np.maximum(X, 0) * fx).astype(np.intp), Wt - 1)
    c_lo, c_hi = int(cols.min()), int(cols.max()) + 1
    y0s = np.array([int(round((t.line_top + i * t.line_pitch + t.cells[name].y - ty) * cd))
                    for i in range(n_lines)])
    Y = y0s[:, None] + np.arange(h)[None, :]
    yok = (Y >= 0) & (Y < Hup)
    R = np.minimum((np.maximum(Y, 0) * fy).astype(np.intp), Ht - 1)
    strip = shown[:, c_lo:c_hi]
    cols_rel = cols - c_lo
    # Crop rows that hold ink, from the table's rows (lines, h).
    rmask = strip.any(1)[R] & yok
    # Crop columns that hold ink (lines, w): the table rows of each line.
    if fy <= 1.0:  # every table row between a line's first and last is one of its rows
        tcols = np.zeros((n_lines, c_hi - c_lo), bool)
        for i in np.flatnonzero(rmask.any(1)).tolist():
            r = R[i][yok[i]]
            tcols[i] = strip[r[0]: r[-1] + 1].any(0)
        cmask = tcols[:, cols_rel]
    else:
        rows = strip[R] & yok[:, :, None]
        cmask = rows.any(1)[:, cols_rel]
    if not xok.all():
        cmask &= xok
    has = rmask.any(1) & cmask.any(1)
    # First and last ink row / column of every line.
    ry0 = rmask.argmax(1)
    ry1 = h - rmask[:, ::-1].argmax(1)
    rx0 = cmask.argmax(1)
    rx1 = w - cmask[:, ::-1].argmax(1)
    dy_line = t.line_pitch * cd
    scale = np.where(paper > 0, 255.0 / np.maximum(paper, 1e-6), 1.0).tolist()
    boxes = np.zeros((n_lines, 4), np.int32)
    lines = np.flatnonzero(has)
    boxes[lines] = np.column_stack([ry0[lines], ry1[lines], rx0[lines], rx1[lines]])
    # Crop pixel (cx0, cy0) of line i is the first line's crop transform
    # moved right cx0 and down cy0 + i pitches (template inches are exact;
    # M may be projective): all lines' transforms at once.
    S = np.zeros((len(lines), 3, 3))
    S[:, 0, 0] = S[:, 1, 1] = S[:, 2, 2] = 1.0
    S[:, 0, 2] = rx0[lines]
    S[:, 1, 2] = ry0[lines] + lines * dy_line
    A_all = A1 @ S
    x_all = xok.all()
    for k, (i, (cy0, cy1, cx0, cx1)) in enumerate(zip(lines.tolist(), boxes[lines].tolist())):
        sel = strip[R[i, cy0:cy1]][:, cols_rel[cx0:cx1]]
        if not x_all:
            sel &= xok[None, cx0:cx1]
        raw = seg._warp_A(image, A_all[k], (cx1 - cx0, cy1 - cy0))
        if paper[i] > 0:
            cv2.convertScaleAbs(raw, dst=raw, alpha=scale[i])
        seg._masked_copy(raw, sel, out[i, cy0:cy1, cx0:cx1])
    out.setflags(write=False)
    return out, boxes


@pytest.mark.parametrize("layout", ["single_row", "two_row"])
def test_cut_cells_match_the_former_code_on_scanned_pages(layout):
    from fixtures.forms import FormLine, render_page, scan

    rng = np.random.default_rng(3 if layout == "two_row" else 4)
    lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", state=s, overflow=o)
             for s, o in (("signed", ""), ("struck", ""), ("blank", ""), ("signed", "down"), ("signed", ""))]
    page, _truth = render_page(lines, layout=layout, rng=rng, dpi=200)
    calls = []
    orig = seg._cut_cells

    def spy(*a):
        got = orig(*a)
        calls.append((a, got))
        return got

    seg._cut_cells = spy
    try:
        for skew, scale in ((0.0, 1.0), (2.5, 0.98), (-4.0, 1.02)):
            img, _M = scan(page, rng=rng, skew_deg=skew, scale=scale, noise=0.02)
            seg.segment_page(img, dpi=200.0)
    finally:
        seg._cut_cells = orig
    assert len(calls) == 9
    for a, (crops, boxes) in calls:
        ref_crops, ref_boxes = _cut_cells_reference(*a)
        assert np.array_equal(crops, ref_crops) and np.array_equal(boxes, ref_boxes)
        assert (boxes[:, 1] > boxes[:, 0]).any()  # some line's crop holds writing
