"""The learned signature embedding (issue 21): OpenCV's DNN module on the
shipped ONNX graph against the numpy reference of the same network, the
batch API, bad input, and that it separates writers and hands on tiny
synthetic data (fixtures.signatures; never the real corpora)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import sigverify
from sigverify.signatures.embedding import (
    EMBED_DIM,
    cosine_distance,
    embed_canvases,
    forward_reference,
    load_embedding,
)
from sigverify.signatures.model import SignatureModel, load_learned_model
from sigverify.signatures.preprocess import preprocess
from sigverify.signatures.samehand import load_samehand_model, samehand_from_embeddings, samehand_matrix

fs = pytest.importorskip("fixtures.signatures")

NAMES = ["Ann Lee", "Maria Gonzalez", "Robert Smith", "Li Wu", "Kim Baker", "Jose Ito", "Sue Novak", "Bo Okafor"]


def _writers(n_writers=6, n=3, dpi=150):
    # seeds far from the training script's synthetic writers (50,000+)
    return {w: [fs.render_signature(NAMES[w], w + 7, s, dpi=dpi) for s in range(n)] for w in range(n_writers)}


@pytest.fixture(scope="module")
def sigs():
    return _writers()


def test_opencv_dnn_equals_the_numpy_reference(sigs):
    prep = preprocess([sigs[0][0], sigs[1][0], sigs[2][1]], dpi=150)
    net = load_embedding()
    fast = embed_canvases(prep.images, net=net)
    slow = forward_reference(net.weights(), prep.images)
    assert fast.shape == (3, EMBED_DIM) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, slow, atol=2e-4)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


def test_reference_catches_a_changed_weight(sigs):
    prep = preprocess([sigs[0][0]], dpi=150)
    net = load_embedding()
    w = net.weights()
    k = next(k for k in w if k.endswith("weight"))
    w[k] = w[k] * 1.5
    assert np.abs(forward_reference(w, prep.images) - embed_canvases(prep.images, net=net)).max() > 1e-3


def test_network_version_names_its_weights(tmp_path):
    import hashlib
    from importlib import resources

    net = load_embedding()
    onnx = resources.files("sigverify.models").joinpath("signature_embedding.onnx").read_bytes()
    assert net.version == "signature_embedding-" + hashlib.sha256(onnx).hexdigest()[:12]
    (tmp_path / "signature_embedding.onnx").write_bytes(onnx[:-1] + bytes([onnx[-1] ^ 1]))  # other weights
    other = sigverify.signatures.embedding.EmbeddingNet("signature_embedding", path=tmp_path)
    assert other.version != net.version and other.version.startswith("signature_embedding-")


def test_embed_batch_api_bad_input_and_batch_independence(sigs):
    line_only = np.full((100, 400), 250, np.uint8)
    cv2.line(line_only, (0, 80), (399, 80), 0, 2)
    items = [sigs[0][0], np.zeros((0, 0), np.uint8), np.zeros((60, 200), np.uint8), line_only, None,
             "does/not/exist.png", sigs[1][0]]
    e, err = sigverify.embed(items, return_error=True)
    assert e.shape == (7, EMBED_DIM) and e.dtype == np.float32
    assert list(err) == ["", "empty", "all_ink", "form_line_only", "unreadable", "unreadable", ""]
    assert np.isnan(e[1:6]).all() and np.isfinite(e[[0, 6]]).all()
    alone = sigverify.embed([sigs[1][0]])
    np.testing.assert_allclose(alone[0], e[6], atol=1e-5)
    # threads give the same vectors
    many = [s for v in sigs.values() for s in v]
    np.testing.assert_allclose(sigverify.embed(many, workers=2), sigverify.embed(many, workers=1), atol=1e-5)
    assert sigverify.embed([]).shape == (0, EMBED_DIM)


def test_one_writers_signatures_lie_closer_than_other_writers(sigs):
    ws = sorted(sigs)
    e = {w: sigverify.embed(sigs[w], dpi=150) for w in ws}
    same = np.concatenate([cosine_distance(e[w][[0, 0, 1]], e[w][[1, 2, 2]]) for w in ws])
    other = np.concatenate([cosine_distance(e[w], e[v]) for w in ws for v in ws if v != w])
    assert same.mean() < 0.6 * other.mean()
    # and for most writers the nearest other signature is their own
    flat = np.concatenate([e[w] for w in ws])
    lab = np.repeat(ws, 3)
    d = 1 - flat @ flat.T
    np.fill_diagonal(d, np.inf)
    assert (lab[d.argmin(axis=1)] == lab).mean() >= 0.75


def test_learned_model_verifies_and_keeps_family_scores(sigs):
    model = load_learned_model()
    assert model.embedding and SignatureModel.from_json(model.to_json()) == model
    q, refs, same = [], [], []
    for w in sigs:
        for v in sigs:
            q.append(sigs[w][2])
            refs.append(sigs[v][:2])
            same.append(w == v)
    res = sigverify.verify(q, refs, dpi=150, model=model)
    same = np.array(same)
    assert ((res.score >= 0) & (res.score <= 1)).all()
    assert res.score[same].mean() > res.score[~same].mean() + 0.3
    assert "embedding" in res.family_scores and set(sigverify.FAMILIES) <= set(res.family_scores)
    assert res.model_version == model.version
    one = sigverify.verify(q[:6], [r[:1] for r in refs[:6]], dpi=150, model=model)
    assert (one.n_references == 1).all() and np.isfinite(one.score).all()


def test_learned_decision_needs_only_the_embedding_and_families_follow_the_review(sigs):
    # the shipped decision uses the embedding alone (fast); the hand-crafted families are
    # described for what a person will look at ('review'), for all lines, or for none
    from sigverify.signatures.verify import needs_classical

    model = load_learned_model()
    assert not needs_classical(model) and set(sigverify.FAMILIES) <= set(model.families)
    q, refs = [], []
    for w in sigs:
        for v in sigs:
            q.append(sigs[w][2])
            refs.append(sigs[v][:2])
    runs = {f: sigverify.verify(q, refs, dpi=150, model=model, families=f) for f in ("review", True, False)}
    base = runs["review"]
    assert (base.decision == "consistent").any() and (base.decision == "review").any()
    for r in runs.values():
        np.testing.assert_array_equal(r.score, base.score)
        assert list(r.decision) == list(base.decision)
        assert np.isfinite(r.family_scores["embedding"]).all()
    rev = base.decision == "review"
    for f in sigverify.FAMILIES:
        assert np.isfinite(base.family_scores[f][rev]).all() and np.isnan(base.family_scores[f][~rev]).all()
        assert np.isfinite(runs[True].family_scores[f]).all() and np.isnan(runs[False].family_scores[f]).all()
        # a line's family score does not depend on which other lines were described
        np.testing.assert_allclose(base.family_scores[f][rev], runs[True].family_scores[f][rev], rtol=1e-6)


def test_learned_model_bad_input_reasons():
    model = load_learned_model()
    good = fs.render_signature("Ann Lee", 3, 1, dpi=150)
    res = sigverify.verify(
        [good, good, good, np.zeros((0, 0), np.uint8), np.zeros((50, 150), np.uint8)],
        [[good], [], [np.zeros((0, 0), np.uint8), "does/not/exist.png"], [good], [good]],
        model=model,
    )
    assert list(res.reason) == ["", "no_exemplar", "bad_exemplar", "empty_signature", "unreadable_signature"]
    assert list(res.decision) == ["consistent", "review", "review", "review", "review"]


def test_samehand_one_hand_writing_two_names_scores_higher():
    # one synthetic hand writing two different names, against two hands
    same_a, same_b, diff_a, diff_b = [], [], [], []
    for w in range(6):
        same_a.append(fs.render_signature(NAMES[w], 200 + w, 1, dpi=150))
        same_b.append(fs.render_signature(NAMES[(w + 3) % 8], 200 + w, 2, dpi=150))
        diff_a.append(fs.render_signature(NAMES[w], 300 + w, 1, dpi=150))
        diff_b.append(fs.render_signature(NAMES[(w + 3) % 8], 400 + w, 2, dpi=150))
    s = sigverify.samehand_scores(same_a + diff_a, same_b + diff_b, dpi=150)
    assert (s.reason == "").all() and ((s.score >= 0) & (s.score <= 1)).all()
    assert s.score[:6].mean() > s.score[6:].mean()
    assert s.model_version == load_samehand_model().version


def test_samehand_bad_input_and_matrix_matches_pairs(sigs):
    a = [sigs[0][0], np.zeros((0, 0), np.uint8), sigs[1][0], None]
    b = [sigs[2][0], sigs[3][0], np.zeros((40, 200), np.uint8), None]
    s = sigverify.samehand_scores(a, b)
    assert list(s.reason) == ["", "a_empty_signature", "b_unreadable_signature", "a_unreadable_signature"]
    assert np.isfinite(s.score[0]) and np.isnan(s.score[1:]).all()
    e = sigverify.embed([x for v in sigs.values() for x in v])
    m = samehand_matrix(e[:5], e[5:9])
    i, j = np.meshgrid(np.arange(5), np.arange(4), indexing="ij")
    np.testing.assert_allclose(m, samehand_from_embeddings(e[:5][i.ravel()], e[5:9][j.ravel()]).reshape(5, 4),
                               atol=1e-6)
    with pytest.raises(ValueError, match="same length"):
        sigverify.samehand_scores(a, b[:2])


def test_multi_prior_is_taken_by_distance_name():
    # a model fitted on classical + embedding distances holds one prior per column; a decision on the
    # embedding alone must divide by the embedding's own prior, not the first classical column's
    from sigverify.signatures.compare import DISTANCE_NAMES
    from sigverify.signatures.verify import _prior_for

    full = [float(i) for i in range(len(DISTANCE_NAMES))] + [0.27]
    np.testing.assert_array_equal(_prior_for(full, ["embedding.cos"]), [0.27])
    np.testing.assert_array_equal(_prior_for(full, [*DISTANCE_NAMES, "embedding.cos"]), full)
    np.testing.assert_array_equal(_prior_for(full[:-1], list(DISTANCE_NAMES[:2])), [0.0, 1.0])
    assert _prior_for([], ["embedding.cos"]) is None
    with pytest.raises(ValueError, match="multi_prior"):
        _prior_for([0.1, 0.2], ["embedding.cos"])


def test_several_exemplar_score_by_hand(sigs):
    # the shipped several-exemplar decision recomputed from the embeddings: nearest distance and the
    # mean distance relative to the exemplars' own spread plus the model's embedding prior
    from sigverify.signatures.verify import describe, multi_inputs, score_described

    model = load_learned_model()
    crops = [sigs[0][2], sigs[1][2], sigs[0][0], sigs[0][1], sigs[1][0]]
    _, err, feats = describe(crops, dpi=150, embed_net=load_embedding(), classical=False)
    refs = [np.array([2, 3, 4]), np.array([2, 3, 4])]
    res = score_described(feats, err, np.array([0, 1]), refs, model=model)
    e = feats["embedding"]
    d_qr = np.concatenate([cosine_distance(e[[q] * 3], e[r]) for q, r in zip((0, 1), refs)])[:, None]
    ia, ib = np.triu_indices(3, 1)
    d_rr = np.concatenate([cosine_distance(e[r[ia]], e[r[ib]]) for r in refs])[:, None]
    prior = np.array([model.multi_prior[-1]])  # 'embedding.cos' is the last distance column
    x = multi_inputs(d_qr, np.repeat([0, 1], 3), 2, d_rr, np.repeat([0, 1], 3), prior=prior)
    names = ["mean.embedding.cos", "min.embedding.cos", "rel.embedding.cos"]
    want = model.multi.predict(x[:, [names.index(c) for c in model.multi.inputs]])
    np.testing.assert_allclose(res.score, want, rtol=1e-5)
