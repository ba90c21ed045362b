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
