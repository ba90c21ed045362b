"""sigverify.display: signatures trimmed to their ink, one ink height, comparable contrast."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.display import ink_box, ink_mask, normalize_batch, normalize_for_display, stretch_contrast


def _scribble(h: int, w: int, *, ink: int, paper: int = 250, box=(0.1, 0.1, 0.8, 0.8), thick: int = 2,
              seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w), paper, np.uint8)
    x0, y0 = int(box[0] * w), int(box[1] * h)
    bw, bh = int(box[2] * w), int(box[3] * h)
    xs = np.linspace(x0, x0 + bw - 1, 20)
    ys = y0 + (bh - 1) * (0.5 + 0.5 * np.sin(xs / 7.0 + rng.uniform(0, 3)))
    ys[0], ys[1] = y0, y0 + bh - 1          # the ink spans its box exactly
    cv2.polylines(img, [np.stack([xs, ys], 1).astype(np.int32)], False, ink, thick)
    return img


def test_a_small_faint_signature_in_a_wide_crop_comes_out_like_a_dark_exemplar():
    crop = _scribble(200, 720, ink=140, box=(0.45, 0.4, 0.06, 0.15))       # ~40 × 30 px of mid-grey
    exemplar = _scribble(84, 260, ink=10, paper=255, box=(0.05, 0.1, 0.9, 0.8), seed=1)
    a, b = normalize_batch([crop, exemplar], ink_height=80)
    assert a.ink_height == b.ink_height == 80
    for d in (a, b):
        box = ink_box(d.image)
        assert box is not None and abs(box[3] - 80) <= 3
        assert d.image.min() <= 30 and d.image.max() == 255
    # trimmed: the 720-px crop is now about as wide as its ink
    assert a.image.shape[1] < 200


def test_no_ink_returns_the_whole_image():
    blank = np.full((40, 100), 240, np.uint8)
    d = normalize_for_display(blank)
    assert d.ink_box is None and d.ink_height == 0 and d.image.shape == blank.shape
    assert not ink_mask(blank).any()


def test_a_speck_does_not_stretch_the_box():
    img = _scribble(100, 300, ink=0, box=(0.3, 0.3, 0.4, 0.4))
    clean = ink_box(img)
    img[2, 2] = 0
    assert ink_box(img) == clean


def test_colour_and_float_input_and_width_cap():
    img = _scribble(60, 600, ink=0, box=(0.0, 0.4, 1.0, 0.2))
    colour = np.dstack([img] * 3)
    d = normalize_for_display(colour, ink_height=100, max_width=300)
    assert d.image.dtype == np.uint8 and d.image.shape[1] <= 300 + 2 * 8
    assert d.ink_height < 100                      # said, not hidden
    with pytest.raises(ValueError, match="ink_height"):
        normalize_for_display(img, ink_height=0)
    with pytest.raises(ValueError, match="`image`"):
        normalize_for_display(np.zeros((2, 2, 2, 2)))


def test_stretch_keeps_order_of_grey_levels():
    g = np.tile(np.arange(100, 250, dtype=np.uint8), (5, 1))
    s = stretch_contrast(g)
    assert np.all(np.diff(s[0].astype(int)) >= 0)
