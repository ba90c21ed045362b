"""Tests for the synthetic writer model (fixtures.signatures)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.feature import hog

from fixtures.signatures import render_forgery, render_many, render_signature, writer_traits

NAMES = ["Maria L. Gonzalez", "John Smith", "Wei Chen", "Olivia Brightwater",
         "Robert Jackson", "Fatima Khan", "Patrick Oneill", "Lucy Park"]


def _feature(img: np.ndarray) -> np.ndarray:
    """A simple baseline descriptor: Otsu ink, crop, fixed size, HOG."""
    _, ink = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    ink = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    r = cv2.resize(ink, (224, 96), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    return hog(r, orientations=9, pixels_per_cell=(16, 16), cells_per_block=(2, 2))


def test_deterministic_and_seed_sensitive():
    a = render_signature("Maria L. Gonzalez", 7, 3)
    b = render_signature("Maria L. Gonzalez", 7, 3)
    c = render_signature("Maria L. Gonzalez", 7, 4)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or np.any(a != c)
    f1 = render_forgery("Maria L. Gonzalez", 7, 11, 0)
    f2 = render_forgery("Maria L. Gonzalez", 7, 11, 0)
    np.testing.assert_array_equal(f1, f2)


@pytest.mark.parametrize("writer", range(6))
def test_image_conventions(writer):
    img = render_signature(NAMES[writer], writer, 0)
    assert img.dtype == np.uint8 and img.ndim == 2
    # Paper is white and the crop leaves a clean margin on every side.
    assert img.max() == 255
    border = np.concatenate([img[:3].ravel(), img[-3:].ravel(), img[:, :3].ravel(), img[:, -3:].ravel()])
    assert border.min() == 255
    ink = img < 200
    assert 0.01 < ink.mean() < 0.4
    # Tightly cropped: ink reaches within a few mm of each edge.
    ys, xs = np.nonzero(img < 250)
    assert ys.min() < 25 and xs.min() < 25
    assert img.shape[0] - ys.max() < 25 and img.shape[1] - xs.max() < 25


def test_physical_size_and_dpi_scaling():
    widths, heights = [], []
    for w in range(20):
        img = render_signature(NAMES[w % len(NAMES)], w, 1, dpi=300)
        widths.append(img.shape[1] / 300)
        heights.append(img.shape[0] / 300)
    # A signature is roughly 2-3 inches wide and under about an inch and a half tall.
    assert 1.6 < np.median(widths) < 3.4
    assert 0.3 < np.median(heights) < 1.5
    assert max(widths) < 4.5
    lo = render_signature("John Smith", 5, 2, dpi=150)
    hi = render_signature("John Smith", 5, 2, dpi=600)
    ratio = hi.shape[1] / lo.shape[1]
    assert 3.4 < ratio < 4.6


def test_writers_are_consistent_and_distinct():
    """Nearest-neighbour writer identification on a crude descriptor works well.

    Same name for everyone, so only the writers' habits can tell them apart.
    """
    n_writers, n_samples = 10, 4
    feats, labels = [], []
    for w in range(n_writers):
        for s in range(n_samples):
            feats.append(_feature(render_signature("Anna Martinez", 100 + w, s)))
            labels.append(w)
    F, y = np.stack(feats), np.array(labels)
    d = ((F[:, None] - F[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    acc = float((y[d.argmin(1)] == y).mean())
    assert acc >= 0.75, acc


def test_older_exemplars_differ_more():
    near, mid, far = [], [], []
    for w in range(16):
        now = _feature(render_signature("Grace Holloway", w, 0))
        for s in (1, 2):
            near.append(np.linalg.norm(now - _feature(render_signature("Grace Holloway", w, s))))
            mid.append(np.linalg.norm(now - _feature(render_signature("Grace Holloway", w, s, age_years=10))))
            far.append(np.linalg.norm(now - _feature(render_signature("Grace Holloway", w, s, age_years=30))))
    assert np.mean(near) < np.mean(mid) < np.mean(far)
    assert np.mean(far) > 1.1 * np.mean(near)


def test_skilled_forgery_between_genuine_and_random():
    gen, forg, rnd = [], [], []
    for w in range(10):
        name = NAMES[w % len(NAMES)]
        ref = _feature(render_signature(name, w, 0))
        gen.append(np.linalg.norm(ref - _feature(render_signature(name, w, 1))))
        forg.append(np.linalg.norm(ref - _feature(render_forgery(name, w, 500 + w, 0))))
        rnd.append(np.linalg.norm(ref - _feature(render_signature(name, 900 + w, 0))))
    assert np.mean(gen) < np.mean(forg) < np.mean(rnd)


def test_forger_uses_own_pen():
    """Ink darkness is a pen property: forgeries and genuines differ in it."""
    def ink_level(img):
        return float(np.median(img[img < 200]))
    g = [ink_level(render_signature("Lucy Park", 3, s)) for s in range(6)]
    f = [ink_level(render_forgery("Lucy Park", 3, fs, 0)) for fs in range(40, 46)]
    # Darkness varies between pens, so a verifier has to normalise it.
    assert np.ptp(g + f) > 30


def test_traits_describe_population():
    traits = [writer_traits(s) for s in range(300)]
    styles = {t["style"] for t in traits}
    assert styles == {"cursive", "print", "mixed", "scrawl"}
    t = writer_traits(12)
    assert t == writer_traits(12)
    for key in ("style", "slant_deg", "size", "pen_width", "speed"):
        assert key in t
    assert all(0.2 <= t["pen_width"] <= 1.0 for t in traits)
    print_conn = [t["connectivity"] for t in traits if t["style"] == "print"]
    cursive_conn = [t["connectivity"] for t in traits if t["style"] == "cursive"]
    assert max(print_conn) < min(cursive_conn)


def test_render_many_and_ages():
    names = ["Ann Lee", "Bo Diaz", "Cy Young"]
    out = render_many(names, [1, 2, 3], [0, 0, 0], dpi=150, ages=[0, 5, 20])
    assert len(out) == 3
    np.testing.assert_array_equal(out[2], render_signature("Cy Young", 3, 0, dpi=150, age_years=20))
    with pytest.raises(ValueError, match="ages"):
        render_many(names, [1, 2, 3], [0, 0, 0], ages=[0])


@pytest.mark.parametrize("name", ["José Núñez", "Mary-Kate O'Hara", "X", "li"])
def test_unusual_names_render(name):
    img = render_signature(name, 9, 0)
    assert (img < 200).any()


def test_name_without_letters_is_a_clear_error():
    with pytest.raises(ValueError, match="`name`"):
        render_signature("  ..  ", 1, 0)
    with pytest.raises(ValueError, match="`dpi`"):
        render_signature("Ann Lee", 1, 0, dpi=0)
