"""Fit a :class:`~sigverify.signatures.model.SignatureModel` from labelled
signatures (writer ids, genuine or forged). Used by the benchmark script to
build the shipped model; never at import time.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from sigverify.signatures.compare import family_of
from sigverify.signatures.model import FEATURE_VERSION, SignatureModel, fit_logistic, threshold_at_far
from sigverify.signatures.preprocess import PrepParams
from sigverify.signatures.verify import distance_names, multi_inputs, multi_names, pair_table

__all__ = ["training_pairs", "training_sets", "fit_model"]


def training_pairs(writer: np.ndarray, genuine: np.ndarray, *, rng: np.random.Generator, max_random: int = 20000):
    """Index pairs (a, b, label, kind) for the one-exemplar model.

    ``a`` is a genuine exemplar; ``b`` is another genuine signature of the
    same writer (label 1, kind 0), a genuine signature of another writer
    (random forgery: label 0, kind 1) or a skilled forgery of that writer
    (label 0, kind 2).
    """
    writer = np.asarray(writer)
    genuine = np.asarray(genuine, bool)
    gi = np.flatnonzero(genuine)
    a, b, kind = [], [], []
    for w in np.unique(writer[gi]):  # a few dozen writers
        g = gi[writer[gi] == w]
        i, j = np.triu_indices(len(g), 1)
        a.append(g[i]), b.append(g[j]), kind.append(np.zeros(len(i), np.int8))
        f = np.flatnonzero(~genuine & (writer == w))
        if len(f):
            aa, bb = np.meshgrid(g, f, indexing="ij")
            a.append(aa.ravel()), b.append(bb.ravel()), kind.append(np.full(aa.size, 2, np.int8))
    ra = rng.choice(gi, max_random)
    rb = rng.choice(gi, max_random)
    keep = writer[ra] != writer[rb]
    a.append(ra[keep]), b.append(rb[keep]), kind.append(np.ones(keep.sum(), np.int8))
    a, b, kind = (np.concatenate(v) for v in (a, b, kind))
    return a, b, (kind == 0).astype(np.int8), kind


def training_sets(writer, genuine, *, k: int = 3, per_writer: int = 60, rng: np.random.Generator):
    """Sets of `k` genuine exemplars with a questioned signature each.

    Returns refs (S, k) indices, questioned (S,), label (S,), kind (S,)
    (kinds as in :func:`training_pairs`).
    """
    writer = np.asarray(writer)
    genuine = np.asarray(genuine, bool)
    gi = np.flatnonzero(genuine)
    refs, qs, kinds = [], [], []
    for w in np.unique(writer[gi]):
        g = gi[writer[gi] == w]
        if len(g) < k + 1:
            continue
        f = np.flatnonzero(~genuine & (writer == w))
        others = gi[writer[gi] != w]
        for _ in range(per_writer):
            perm = rng.permutation(g)
            r = perm[:k]
            for kind, pool in ((0, perm[k:]), (1, others), (2, f)):
                if len(pool) == 0:
                    continue
                refs.append(r)
                qs.append(rng.choice(pool))
                kinds.append(kind)
    refs = np.array(refs, np.int64)
    kinds = np.array(kinds, np.int8)
    return refs, np.array(qs, np.int64), (kinds == 0).astype(np.int8), kinds


def _weights(kind, skilled: float = 0.0):
    """Half the weight on genuine pairs, the other half on forgeries: random
    ones, and a share `skilled` on skilled forgeries (when there are any).

    Fitting on random forgeries alone generalised best to new writers on
    the development data (skilled-forgery error too), so the default is 0.
    """
    w = np.zeros(len(kind))
    shares = {0: 0.5, 1: 0.5 - skilled, 2: skilled}
    if not (kind == 2).any():
        shares = {0: 0.5, 1: 0.5}
    for k, s in shares.items():
        m = kind == k
        if m.any() and s > 0:
            w[m] = s * len(kind) / m.sum()
    return w


def fit_model(
    feats: dict[str, np.ndarray],
    writer: np.ndarray,
    genuine: np.ndarray,
    *,
    provenance: dict[str, Any],
    version: str,
    params: PrepParams | None = None,
    rng: np.random.Generator | None = None,
    far: float = 0.01,
    l2: float = 3000.0,
    skilled_weight: float = 0.0,
    k_multi: int = 3,
    inputs: list[str] | None = None,
    embedding: str = "",
) -> SignatureModel:
    """Fit the single-, multi-exemplar and per-family models and thresholds.

    Parameters
    ----------
    feats : dict of str to (N, D) float32
        Features of N usable signatures.
    writer : (N,) array
        Writer id (for a forgery: the writer imitated).
    genuine : (N,) bool array
    provenance : dict
        Stored in the model: which data, which writers.
    version : str
    l2 : float
        Penalty of the logistic fits (see :func:`fit_logistic`).
    skilled_weight : float
        Share of the fitting weight on skilled forgeries.
    inputs : list of str, optional
        Distance columns (:func:`~sigverify.signatures.verify.distance_names`)
        the decision models use; default all of them. The per-family models
        cover every family present either way.
    embedding : str
        Name of the embedding network when `feats` has ``'embedding'``
        (stored in the model so that scoring computes it).
    """
    rng = rng or np.random.default_rng(0)
    params = params or PrepParams()
    a, b, y, kind = training_pairs(writer, genuine, rng=rng)
    names = distance_names(feats)
    inputs = list(names) if inputs is None else list(inputs)
    use = [names.index(c) for c in inputs]
    d = pair_table(feats, a, b)
    w = _weights(kind, skilled_weight)
    single = fit_logistic(d[:, use], y, inputs, weight=w, l2=l2)
    t_single = threshold_at_far(single.predict(d[kind == 1][:, use]), far)

    fams = {}
    for f in dict.fromkeys(family_of(n) for n in names):
        cols = [i for i, n in enumerate(names) if family_of(n) == f]
        fams[f] = fit_logistic(d[:, cols], y, [names[i] for i in cols], weight=w, l2=l2)

    refs, qs, ys, kinds = training_sets(writer, genuine, k=k_multi, rng=rng)
    multi = None
    prior = None
    t_multi = t_single
    if len(qs):
        s = len(qs)
        owner = np.repeat(np.arange(s), k_multi)
        d_qr = pair_table(feats, np.repeat(qs, k_multi), refs.ravel())
        ia, ib = np.triu_indices(k_multi, 1)
        rr_a = refs[:, ia].ravel()
        rr_b = refs[:, ib].ravel()
        rr_owner = np.repeat(np.arange(s), len(ia))
        d_rr = pair_table(feats, rr_a, rr_b)
        spread = d_rr.reshape(s, len(ia), -1).mean(axis=1)
        prior = np.median(spread, axis=0)
        x = multi_inputs(d_qr, owner, s, d_rr, rr_owner, prior=prior)
        mnames = multi_names(names)
        muse = [mnames.index(c) for c in multi_names(inputs)]
        multi = fit_logistic(x[:, muse], ys, multi_names(inputs), weight=_weights(kinds, skilled_weight), l2=l2)
        t_multi = threshold_at_far(multi.predict(x[kinds == 1][:, muse]), far)

    prov = dict(provenance)
    prov.setdefault("fitted", _dt.date.today().isoformat())
    prov["feature_version"] = FEATURE_VERSION
    prov["fit"] = {"l2": l2, "skilled_weight": skilled_weight, "k_multi": k_multi, "far": far, "inputs": inputs}
    prov["pairs"] = {"genuine": int((kind == 0).sum()), "random": int((kind == 1).sum()), "skilled": int((kind == 2).sum())}
    return SignatureModel(
        version=version,
        feature_version=FEATURE_VERSION,
        prep=params.to_dict(),
        single=single,
        multi=multi,
        families=fams,
        threshold={"single": t_single, "multi": t_multi},
        far=far,
        provenance=prov,
        multi_prior=[] if prior is None else [float(v) for v in prior],
        embedding=embedding if "embedding" in feats else "",
    )
