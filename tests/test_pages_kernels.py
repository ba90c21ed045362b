"""The segmenter's fast kernels against slow references (the OpenCV / numpy
calls they replace): the same results, bit for bit."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.pages import geometry as geo
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
