"""The same-hand network (issue 21 item 6): its own shipped ONNX graph, run
by OpenCV's DNN module like the verifier's and equal to the numpy reference
of the same layers; the same-hand model reads it; and on synthetic hands it
never trained on (fixtures.signatures, writer seeds far from the training
script's), one hand writing *different names* lies closer than two hands —
where the verifier's network, trained to tell a forger from the victim on
people signing their own names, barely separates them."""
from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

import sigverify
from sigverify.signatures.embedding import EMBED_DIM, embed_canvases, forward_reference, load_embedding
from sigverify.signatures.preprocess import preprocess
from sigverify.signatures.samehand import load_samehand_model, samehand_matrix

fs = pytest.importorskip("fixtures.signatures")

NAMES = ["Ann Lee", "Maria Gonzalez", "Robert Smith", "Li Wu", "Kim Baker", "Jose Ito", "Sue Novak", "Bo Okafor",
         "P. Hernandez", "Tran", "Olga Kowalczyk", "J. Brown"]


@pytest.fixture(scope="module")
def hands():
    """8 hands (writer seeds 9,100,000+) each signing 4 different names."""
    crops, hand = [], []
    for h in range(8):
        for k in range(4):
            crops.append(fs.render_signature(NAMES[(h * 5 + k * 3) % len(NAMES)], 9_100_000 + h, k, dpi=200))
            hand.append(h)
    return crops, np.array(hand)


def _auc(emb, hand):
    s = emb @ emb.T
    i, j = np.triu_indices(len(hand), 1)
    same = hand[i] == hand[j]
    pos, neg = s[i, j][same], s[i, j][~same]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def test_the_samehand_model_reads_its_own_network():
    model = load_samehand_model()
    assert model.embedding == "signature_samehand"
    net = load_embedding(model.embedding)
    onnx = resources.files("sigverify.models").joinpath("signature_samehand.onnx").read_bytes()
    assert net.version == "signature_samehand-" + hashlib.sha256(onnx).hexdigest()[:12]
    assert net.version != load_embedding().version  # not the verifier's weights


def test_opencv_dnn_equals_the_numpy_reference(hands):
    crops, _ = hands
    prep = preprocess(crops[:3], dpi=None)
    net = load_embedding("signature_samehand")
    fast = embed_canvases(prep.images, net=net)
    slow = forward_reference(net.weights(), prep.images)
    assert fast.shape == (3, EMBED_DIM)
    np.testing.assert_allclose(fast, slow, atol=2e-4)


def test_one_hand_across_different_names_lies_closer_than_two_hands(hands):
    crops, hand = hands
    same = sigverify.embed(crops, net=load_embedding("signature_samehand"))
    verifier = sigverify.embed(crops)
    assert np.isfinite(same).all()
    auc_same, auc_ver = _auc(same, hand), _auc(verifier, hand)
    # measured when written (clean renders, 8 hands x 4 names): 0.855 for the same-hand network, 0.769 for
    # the verifier's; in petition cells the gap is 0.71 against 0.63 (see the model card)
    assert auc_same >= 0.82
    assert auc_same > auc_ver + 0.05


def test_samehand_scores_use_the_samehand_network(hands):
    crops, hand = hands
    a = [crops[0], crops[0]]
    b = [crops[1], crops[4]]  # hand 0 writing another name; hand 1
    s = sigverify.samehand_scores(a, b)
    assert (s.reason == "").all()
    e = sigverify.embed([crops[0], crops[1], crops[4]], net=load_embedding("signature_samehand"))
    m = samehand_matrix(e[:1], e[1:])
    np.testing.assert_allclose(s.score, m[0], atol=1e-5)
