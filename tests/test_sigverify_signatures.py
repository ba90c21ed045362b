"""The signature core: fast batched kernels against slow per-image
references (scikit-image), preprocessing invariances, scoring and bad input.

Tiny synthetic data only (strokes drawn with OpenCV, fixtures.signatures)."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage.feature import hog
from skimage.filters import threshold_sauvola

import sigverify
from sigverify.signatures import features as F
from sigverify.signatures.model import LogisticModel, SignatureModel, fit_logistic, threshold_at_far
from sigverify.signatures.preprocess import GEOMETRY_NAMES, PrepParams, preprocess, sauvola_threshold
from sigverify.signatures.verify import describe


def scribble(seed: int, *, h=120, w=360, ink=30, paper=245, thick=3, dx=0):
    """A deterministic 'signature': a few smooth polylines of one 'writer'."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w), paper, np.uint8)
    for k in range(3):
        t = np.linspace(0, 1, 40)
        x = 20 + dx + t * (w - 60) + 8 * np.sin(2 * np.pi * (t * (2 + k) + rng.random()))
        y = h / 2 + (h / 4) * np.sin(2 * np.pi * (t * (3 + k) + rng.random())) * (0.5 + 0.5 * rng.random())
        pts = np.stack([x, y], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, int(ink), thick, cv2.LINE_AA)
    return img


@pytest.fixture(scope="module")
def canvases():
    prep = preprocess([scribble(s) for s in range(4)], dpi=300)
    assert (prep.error == "").all()
    return prep.images


# ------------------------------------------------- kernels vs references


def test_sauvola_matches_skimage_per_image():
    imgs = np.stack([scribble(s, h=60, w=90) for s in range(3)]).astype(np.float64)
    fast = sauvola_threshold(imgs, window=15, k=0.2, r=128)
    for i in range(3):
        ref = threshold_sauvola(imgs[i], window_size=15, k=0.2, r=128)
        np.testing.assert_allclose(fast[i], ref, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hog_batch_matches_skimage(canvases, dtype):
    x = canvases.astype(dtype)
    fast = F.hog_batch(x)
    assert fast.dtype == dtype and fast.shape[0] == len(x)
    for i in range(len(x)):
        ref = hog(x[i], orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys")
        np.testing.assert_allclose(fast[i], ref, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hog_pair_matches_skimage_8_and_16_pixel_cells(canvases, dtype):
    x = canvases.astype(dtype)
    h8, h16 = F.hog_pair(x)
    for i in range(len(x)):
        for fast, ppc in ((h8, 8), (h16, 16)):
            ref = hog(x[i], orientations=9, pixels_per_cell=(ppc, ppc), cells_per_block=(2, 2), block_norm="L2-Hys")
            np.testing.assert_allclose(fast[i], ref, atol=1e-5)


def test_orientation_pyramid_matches_a_per_image_loop(canvases):
    _, _, cells = F.hog_pair(canvases, return_cells=True)
    fast = F.orientation_pyramid(cells)
    slow = F.orientation_pyramid_reference(canvases)
    assert fast.dtype == np.float32 and fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    # each zone's histogram is a distribution (squared roots sum to 1)
    sq = (fast.astype(np.float64) ** 2).reshape(len(fast), -1, 9).sum(axis=2)
    assert np.all((np.abs(sq - 1) < 1e-4) | (sq == 0))


def test_extract_features_fills_given_arrays_and_knows_its_sizes(canvases):
    prep = sigverify.Prepared(canvases, np.zeros(len(canvases)), np.array([""] * len(canvases), object),
                              np.zeros((len(canvases), len(GEOMETRY_NAMES)), np.float32))
    dims = F.feature_dims(canvases.shape[1:])
    out = {k: np.full((len(canvases) + 2, d), -1, np.float32) for k, d in dims.items()}
    f = F.extract_features(prep, out={k: v[1:-1] for k, v in out.items()})
    ref = F.extract_features(prep)
    for k in F.FAMILIES:
        assert f[k].shape == (len(canvases), dims[k])
        np.testing.assert_array_equal(out[k][1:-1], ref[k])
        assert (out[k][0] == -1).all() and (out[k][-1] == -1).all()
    empty = F.extract_features(prep.take(slice(0, 0)))
    assert {k: v.shape for k, v in empty.items()} == {k: (0, d) for k, d in dims.items()}


def test_despeckle_matches_skimage_remove_small_objects():
    from skimage.morphology import remove_small_objects

    from sigverify.signatures.preprocess import _despeckle

    rng = np.random.default_rng(3)
    ink = np.zeros((3, 40, 60), bool)
    ink[:, 8:30, 20:23] = True  # a stroke
    ink[:, 35:37, 5:6] = True  # a 2-pixel speck
    ink |= rng.random(ink.shape) < 0.02  # dust
    ink[:, :2] = ink[:, -2:] = False  # slots keep blank margins
    out, counts = _despeckle(ink, 4)
    for i in range(3):
        ref = remove_small_objects(ink[i], max_size=3, connectivity=2)
        np.testing.assert_array_equal(out[i], ref)
        from skimage.measure import label

        assert counts[i] == label(ref, connectivity=2).max()


def test_stroke_quality_matches_a_per_image_reference():
    from sigverify.signatures.preprocess import STROKE_NAMES, stroke_quality, stroke_quality_reference

    ims = np.zeros((4, 70, 260), np.uint8)
    for i, (scale, thick) in enumerate([(1.2, 1), (1.5, 3), (1.8, 2)]):
        cv2.putText(ims[i], "Ann Lee", (6, 45), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, 1, thick)
    ims[:, :2] = ims[:, -2:] = 0  # slots keep blank margins; image 3 is blank
    ims[:, :, :2] = ims[:, :, -2:] = 0
    ink = ims > 0
    height = np.array([30.0, 40.0, 45.0, 1.0])
    fast = stroke_quality(ink, height)
    ref = stroke_quality_reference(ink, height)
    assert fast.shape == (4, len(STROKE_NAMES)) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)
    assert (fast[3] == 0).all()
    # thicker pen, wider strokes
    assert fast[1, 0] * 40 > fast[0, 0] * 30


def test_zoning_and_profiles_match_per_image_loops(canvases):
    z = F.zoning_batch(canvases)
    p = F.profiles_batch(canvases)
    for i, im in enumerate(canvases):
        ref = np.array(
            [np.sqrt(im[r : r + 8, c : c + 8].mean()) for r in range(0, 64, 8) for c in range(0, 192, 8)]
        )
        np.testing.assert_allclose(z[i], ref, atol=1e-6)
        rows = im.sum(axis=1) / im.sum()
        np.testing.assert_allclose(p[i, :64], rows * 64 / 8, atol=1e-5)
        top = []
        for c in range(192):
            col = np.flatnonzero(im[:, c] > 0.3)
            top.append(col[0] / 64 if len(col) else 0.5)
        np.testing.assert_allclose(p[i, 64 + 48 : 64 + 96], np.array(top).reshape(48, 4).mean(1), atol=1e-6)


# ------------------------------------------------------- preprocessing


def _corr(a, b):
    """Correlation of two canvases after a slight blur: agreement of shape,
    tolerant to a pixel of difference in stroke position or width."""
    a = cv2.GaussianBlur(a, (0, 0), 1.5)
    b = cv2.GaussianBlur(b, (0, 0), 1.5)
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_preprocess_shapes_dtypes_and_geometry():
    prep = preprocess([scribble(1), scribble(2)], dpi=300)
    assert prep.images.shape == (2, 64, 192) and prep.images.dtype == np.float32
    assert prep.geometry.shape == (2, len(GEOMETRY_NAMES)) and prep.geometry.dtype == np.float32
    assert 0 < prep.ink[0] < 0.3 and list(prep.error) == ["", ""]
    assert 0.0 <= prep.images.min() and prep.images.max() <= 1.0
    feats = sigverify.extract_features(prep)
    assert set(feats) == set(sigverify.FAMILIES)
    assert all(v.dtype == np.float32 and v.shape[0] == 2 for v in feats.values())


def test_ink_colour_darkness_and_pen_do_not_matter():
    base = scribble(5, ink=20, thick=3)
    light = scribble(5, ink=170, paper=235, thick=2)
    blue = cv2.cvtColor(scribble(5, ink=60, thick=4), cv2.COLOR_GRAY2BGR)
    blue[..., 2] = np.maximum(blue[..., 2], 200)  # blue-ish ink on white
    prep = preprocess([base, light, blue, scribble(6)], dpi=300)
    assert (prep.error == "").all()
    assert _corr(prep.images[0], prep.images[1]) > 0.8
    assert _corr(prep.images[0], prep.images[2]) > 0.8
    assert _corr(prep.images[0], prep.images[1]) > _corr(prep.images[0], prep.images[3]) + 0.2


def test_resolution_and_one_bit_scans():
    hi = scribble(7, h=240, w=720, thick=6)  # "600 dpi"
    lo = cv2.resize(hi, (180, 60), interpolation=cv2.INTER_AREA)  # "150 dpi"
    onebit = hi > 128  # bool, 1-bit scan
    prep = preprocess([hi, lo, onebit], dpi=[600, 150, 600])
    assert (prep.error == "").all()
    assert _corr(prep.images[0], prep.images[1]) > 0.75
    assert _corr(prep.images[0], prep.images[2]) > 0.9


def test_form_lines_are_removed_without_cutting_strokes():
    clean = scribble(8)
    lined = clean.copy()
    cv2.line(lined, (0, 95), (359, 95), 0, 2)  # the printed signature line
    cv2.line(lined, (2, 0), (2, 119), 0, 2)  # a box edge
    prep = preprocess([clean, lined], dpi=300)
    assert (prep.error == "").all()
    assert _corr(prep.images[0], prep.images[1]) > 0.9
    # the lined crop had more ink before clean-up
    assert prep.ink[1] > prep.ink[0]


def test_faint_ink_gives_the_same_canvas_as_dark_ink():
    dark = scribble(6, ink=20, thick=2)
    faint = scribble(6, ink=200, paper=250, thick=2)  # a pale scan of a light pen
    prep = preprocess([dark, faint], dpi=300)
    assert (prep.error == "").all()
    assert _corr(prep.images[0], prep.images[1]) > 0.9
    # blank paper with a little noise is not stretched into "ink"
    rng = np.random.default_rng(0)
    blank = (245 + rng.normal(0, 3, (90, 300))).clip(0, 255).astype(np.uint8)
    assert preprocess([blank], dpi=300).error[0] == "empty"


def test_small_signature_in_a_wide_line_cell_with_unknown_dpi():
    sig = scribble(9, h=60, w=180, thick=1)
    cell = np.full((90, 900), 245, np.uint8)
    cell[15:75, 500:680] = sig
    cell[:2] = 0  # the cell's printed rules
    cell[-2:] = 0
    prep = preprocess([sig, cell])  # dpi unknown, as from the pipeline
    assert (prep.error == "").all()
    assert _corr(prep.images[0], prep.images[1]) > 0.92
    # trimming to the writing (and the unknown-dpi scaling that comes with it) is what does it
    untrimmed = preprocess([sig, cell], params=PrepParams(trim=False))
    assert _corr(untrimmed.images[0], untrimmed.images[1]) < _corr(prep.images[0], prep.images[1]) - 0.05


def test_trim_box_skips_printed_lines_and_keeps_the_ink():
    from sigverify.signatures.preprocess import PrepParams, _trim_box

    cell = np.full((100, 400), 250, np.uint8)
    cell[40:60, 150:260] = 30  # the writing
    cell[95:98, :] = 0  # a printed line below it
    cell[:, 3:5] = 0  # a box edge
    r0, r1, c0, c1 = _trim_box(cell, PrepParams())
    assert r0 <= 40 and r1 >= 60 and c0 <= 150 and c1 >= 260
    assert r1 <= 95 and c0 >= 5  # the lines are left out
    blank = np.full((50, 80), 250, np.uint8)
    assert _trim_box(blank, PrepParams()) == (0, 50, 0, 80)


def test_a_canvas_does_not_depend_on_the_rest_of_its_batch():
    crops = [scribble(s) for s in range(3)]
    alone = preprocess(crops[:1], dpi=300).images[0]
    others = [scribble(7, h=40, w=700), scribble(8, h=200, w=200), np.full((30, 30), 250, np.uint8)]
    mixed = preprocess(others + crops, dpi=300)
    np.testing.assert_array_equal(mixed.images[3], alone)


def test_indexed_pair_distances_equal_gathered_pair_distances(canvases):
    from sigverify.signatures.compare import DISTANCE_NAMES, indexed_pair_distances, pair_distances

    prep = sigverify.Prepared(canvases, np.zeros(len(canvases)), np.array([""] * len(canvases), object),
                              np.zeros((len(canvases), len(GEOMETRY_NAMES)), np.float32))
    f = F.extract_features(prep)
    ia = np.array([0, 1, 2, 3, 0, 2])
    ib = np.array([1, 2, 3, 0, 0, 1])
    fast = indexed_pair_distances(f, ia, ib, chunk=4)
    ref = pair_distances({k: v[ia] for k, v in f.items()}, {k: v[ib] for k, v in f.items()})
    assert fast.shape == (6, len(DISTANCE_NAMES))
    np.testing.assert_array_equal(fast, ref)
    assert np.allclose(fast[4], 0, atol=1e-6)  # a signature against itself
    with pytest.raises(ValueError, match="index_a"):
        indexed_pair_distances(f, ia, ib[:3])


def test_pair_distances_do_not_depend_on_chunk_or_threads(canvases):
    from sigverify.signatures.compare import indexed_pair_distances

    prep = sigverify.Prepared(canvases, np.zeros(len(canvases)), np.array([""] * len(canvases), object),
                              np.zeros((len(canvases), len(GEOMETRY_NAMES)), np.float32))
    f = F.extract_features(prep)
    rng = np.random.default_rng(0)
    ia, ib = rng.integers(0, len(canvases), 37), rng.integers(0, len(canvases), 37)
    ref = indexed_pair_distances(f, ia, ib, chunk=1000)
    for chunk, workers in ((1, 1), (5, 2), (8, -1)):
        np.testing.assert_array_equal(indexed_pair_distances(f, ia, ib, chunk=chunk, workers=workers), ref)


def test_coarse_hog_view_is_the_every_other_2x2_average():
    from sigverify.signatures.compare import HOG_GRID, _coarse

    a = np.random.default_rng(1).random((3, int(np.prod(HOG_GRID))), dtype=np.float32)
    g = a.reshape(3, *HOG_GRID)
    c = 0.25 * (g[:, :-1, :-1] + g[:, 1:, :-1] + g[:, :-1, 1:] + g[:, 1:, 1:])
    np.testing.assert_array_equal(_coarse(a, HOG_GRID), c[:, ::2, ::2].reshape(3, -1))


def test_zoning_equals_numpy_mean_bit_for_bit():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((5, 64, 192)) ** 2 * rng.uniform(1e-6, 1e4, (5, 64, 192))).astype(np.float32)
    x[0] = 0.0
    x[1, :8] = -0.0
    ref = np.sqrt(x.reshape(5, 8, 8, 24, 8).mean(axis=(2, 4))).reshape(5, -1)
    np.testing.assert_array_equal(F.zoning_batch(x).view(np.uint32), ref.view(np.uint32))
    # other cell sizes and dtypes take numpy's mean as is
    np.testing.assert_array_equal(F.zoning_batch(x, cell=(4, 8)), np.sqrt(x.reshape(5, 16, 4, 24, 8).mean(axis=(2, 4))).reshape(5, -1))


def test_hog_degrees_are_numpys_rad2deg():
    # the float32 HOG path multiplies by numpy's own float32 constant
    a = np.linspace(-np.pi, np.pi, 200_001, dtype=np.float32)
    np.testing.assert_array_equal((a * F._RAD2DEG32).view(np.uint32), np.rad2deg(a).view(np.uint32))


def test_iter_prepared_gives_the_rows_of_preprocess():
    from sigverify.signatures.preprocess import iter_prepared

    crops = [scribble(s, h=80 + 20 * s, w=300 + 15 * s) for s in range(7)] + [np.zeros((0, 0), np.uint8)]
    # Each crop prepared on its own: chunking and batch-mates change nothing.
    alone = [preprocess([c], dpi=300) for c in crops]
    whole = type(alone[0])(**{f: np.concatenate([getattr(a, f) for a in alone])
                              for f in ("images", "geometry", "ink", "error")})
    seen = []
    for idx, part in iter_prepared(crops, dpi=300, chunk=3):
        assert 0 < len(idx) <= 3
        seen += list(idx)
        np.testing.assert_array_equal(part.images, whole.images[idx])
        np.testing.assert_array_equal(part.geometry, whole.geometry[idx])
        np.testing.assert_array_equal(part.ink, whole.ink[idx])
        assert list(part.error) == list(whole.error[idx])
    assert sorted(seen) == list(range(len(crops)))


def test_bad_crops_get_reasons_not_exceptions():
    line_only = np.full((100, 400), 250, np.uint8)
    cv2.line(line_only, (0, 80), (399, 80), 0, 2)
    items = [
        np.zeros((0, 0), np.uint8),  # empty array
        np.full((80, 200), 250, np.uint8),  # blank paper
        np.zeros((80, 200), np.uint8),  # all black
        line_only,
        None,  # not an image
        np.full((2, 2), 0, np.uint8),
        scribble(3),
    ]
    prep = preprocess(items)
    assert list(prep.error) == ["empty", "empty", "all_ink", "form_line_only", "unreadable", "too_small", ""]
    assert not prep.images[:6].any()


def test_huge_crop_is_handled():
    big = np.full((3000, 9000), 250, np.uint8)
    cv2.putText(big, "Huge Name", (200, 2000), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 40, 10, 60)
    prep = preprocess([big], dpi=600)
    assert prep.error[0] == "" and prep.images[0].sum() > 100


# --------------------------------------------------------- scoring


def _synthetic(n_writers=4, n=3):
    fs = pytest.importorskip("fixtures.signatures")
    names = ["Ann Lee", "Maria Gonzalez", "Robert Smith", "Li Wu", "Kim Baker", "Jose Ito"]
    return {
        w: [fs.render_signature(names[w], w, s, dpi=150) for s in range(n)] for w in range(n_writers)
    }


def test_same_writer_scores_higher_than_other_writers():
    sig = _synthetic()
    q, refs, same = [], [], []
    for w in sig:
        for v in sig:
            q.append(sig[w][2])
            refs.append(sig[v][:2])
            same.append(w == v)
    res = sigverify.verify(q, refs, dpi=150)
    same = np.array(same)
    assert np.isfinite(res.score).all() and ((res.score >= 0) & (res.score <= 1)).all()
    assert res.score[same].mean() > res.score[~same].mean() + 0.2
    assert set(res.decision) <= {"consistent", "review"}
    # every classical family keeps its score (the review screen shows them), beside the learned one
    assert set(sigverify.FAMILIES) <= set(res.family_scores) <= set(sigverify.FAMILIES) | {"embedding"}
    assert res.model_version == sigverify.load_default_model().version
    # one exemplar works too, and best_reference points into references[i]
    one = sigverify.verify(q[:4], [r[:1] for r in refs[:4]], dpi=150)
    assert (one.best_reference == 0).all() and (one.n_references == 1).all()


def test_verify_bad_input_reasons():
    good = scribble(1)
    res = sigverify.verify(
        [good, good, good, np.zeros((0, 0), np.uint8), np.zeros((50, 150), np.uint8), good],
        [[good], [], [np.zeros((0, 0), np.uint8), "does/not/exist.png"], [good], [good], [None, good]],
    )
    assert list(res.decision[:5]) == ["consistent", "review", "review", "review", "review"]
    assert list(res.reason[:5]) == ["", "no_exemplar", "bad_exemplar", "empty_signature", "unreadable_signature"]
    assert np.isnan(res.score[1:5]).all()
    assert res.best_reference[5] == 1 and res.bad_references[5] == 1 and res.n_references[5] == 1
    assert res.best_reference[1] == -1


def test_threads_give_the_same_features():
    crops = [scribble(s) for s in range(6)]
    _, e1, f1 = describe(crops, dpi=300, workers=1)
    _, e2, f2 = describe(crops, dpi=300, workers=2, chunk=2)
    assert list(e1) == list(e2)
    for k in f1:
        np.testing.assert_array_equal(f1[k], f2[k])


def test_shared_exemplars_are_described_once_with_the_same_scores():
    a, b, c = scribble(1), scribble(2), scribble(3)
    q = [a, b, c, a.copy()]
    refs = [[b], [b, c], [b], [b]]  # one array object shared by every pair
    s1 = sigverify.verify(q, refs, dpi=300)
    s2 = sigverify.verify(q, refs, dpi=300, dedupe=False)
    np.testing.assert_allclose(s1.score, s2.score, rtol=1e-6)
    assert list(s1.decision) == list(s2.decision)
    np.testing.assert_allclose(s1.score[0], s1.score[3], rtol=1e-6)


# ------------------------------------------------------------ model


def test_model_json_round_trip_and_provenance():
    m = sigverify.load_default_model()
    m2 = SignatureModel.from_json(m.to_json())
    assert m2 == m
    d = json.loads(m.to_json())
    assert d["feature_version"] and d["provenance"]["data"] and d["provenance"]["fitted"]
    assert 0 < m.threshold["single"] < 1


def test_fit_logistic_and_threshold():
    rng = np.random.default_rng(0)
    x = np.abs(np.concatenate([rng.normal(0.2, 0.1, (300, 2)), rng.normal(1.0, 0.3, (300, 2))]))
    y = np.r_[np.ones(300), np.zeros(300)]
    m = fit_logistic(x, y, ["a", "b"], l2=1.0)
    assert isinstance(m, LogisticModel)
    p = m.predict(x)
    assert p[:300].mean() > 0.8 and p[300:].mean() < 0.2
    t = threshold_at_far(p[300:], 0.01)
    assert (p[300:] >= t).mean() <= 0.01


def test_core_imports_without_petitions_or_qt():
    code = (
        "import sys, sigverify; sigverify.verify; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('petitions', 'gui', 'PySide6', 'sqlite_utils', 'polars')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
