"""Questioned signatures against voters' exemplars → calibrated scores.

The whole batch is one computation: every crop (questioned and exemplar) is
preprocessed and described once, the distance vectors of all (questioned,
exemplar) pairs are computed in one array operation, and the model turns
them into probabilities. Software only ever *accepts*: the decisions are
``consistent`` (safe to accept) or ``review`` (a person looks), never
reject.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from sigverify.signatures.compare import DISTANCE_NAMES, family_of, indexed_pair_distances
from sigverify.signatures.features import FAMILIES, extract_features, feature_dims
from sigverify.signatures.model import SignatureModel, load_default_model
from sigverify.signatures.preprocess import PrepParams, Prepared, iter_prepared

__all__ = [
    "SignatureScores",
    "verify",
    "describe",
    "score_described",
    "multi_inputs",
    "MULTI_INPUT_NAMES",
    "distance_names",
    "multi_names",
    "pair_table",
    "needs_classical",
]

#: Questioned-signature problems → review reasons.
_Q_REASON = {
    "empty": "empty_signature",
    "form_line_only": "empty_signature",
    "all_ink": "unreadable_signature",
    "unreadable": "unreadable_signature",
    "too_small": "unreadable_signature",
}

MULTI_INPUT_NAMES = (
    [f"mean.{n}" for n in DISTANCE_NAMES]
    + [f"min.{n}" for n in DISTANCE_NAMES]
    + [f"rel.{n}" for n in DISTANCE_NAMES]
)


@dataclass
class SignatureScores:
    """Scores of N questioned signatures against their exemplars.

    Attributes
    ----------
    score : (N,) float64
        Calibrated probability that the questioned signature and the
        exemplars are by the same writer; NaN when there was nothing to
        compare (see ``reason``).
    decision : (N,) object array of str
        ``'consistent'`` or ``'review'`` — never reject.
    reason : (N,) object array of str
        ``''`` when consistent; otherwise ``'low_score'``, ``'no_exemplar'``,
        ``'bad_exemplar'`` (no exemplar could be read), ``'empty_signature'``,
        ``'unreadable_signature'``.
    family_scores : dict of str to (N,) float64
        Per-family probability (``hog``, ``hog16``, ``grad``, ``zoning``, ``profiles``,
        ``geometry``): which aspects agree. NaN where ``score`` is NaN.
    best_reference : (N,) int64
        Index into ``references[i]`` of the most similar exemplar, -1 if none.
    n_references : (N,) int64
        Exemplars actually used (readable ones).
    threshold : (N,) float64
        Threshold that applied to each pair (depends on the exemplar count).
    model_version : str
    bad_references : (N,) int64
        Exemplars that could not be used (unreadable, empty …).
    """

    score: np.ndarray
    decision: np.ndarray
    reason: np.ndarray
    family_scores: dict[str, np.ndarray]
    best_reference: np.ndarray
    n_references: np.ndarray
    threshold: np.ndarray
    model_version: str
    bad_references: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return self.score.shape[0]


def _load(item):
    """An array as is; a path read with :func:`sigverify.imageio.read_image`
    (None when it cannot be read: the crop becomes ``'unreadable'``)."""
    if isinstance(item, (str, os.PathLike)):
        from sigverify.errors import ImageInputError
        from sigverify.imageio import read_image

        try:
            return read_image(item)
        except ImageInputError:
            return None
    return item


def _describe_chunk(crops, dpis, params, out=None, *, embed_net=None, classical=True):
    """Preprocess and describe crops, features straight from each
    preprocessing chunk to its rows of `out` (the canvases of the whole
    batch never exist at once). With `embed_net`, the learned embedding of
    each canvas is added as the family ``'embedding'``; ``classical=False``
    skips the hand-crafted families."""
    crops = [_load(c) for c in crops]
    n = len(crops)
    p = params or PrepParams()
    dims = _dims(p, embed_net, classical)
    if out is None:
        out = {k: np.empty((n, d), np.float32) for k, d in dims.items()}
    ink = np.empty(n)
    err = np.empty(n, dtype=object)
    scratch = None  # one chunk's features, reused
    cdims = {k: d for k, d in dims.items() if k != "embedding"}
    for idx, part in iter_prepared(crops, dpi=dpis, params=p, chunk=_PREP_CHUNK):
        m = len(idx)
        if classical:
            if scratch is None:
                scratch = {k: np.empty((_PREP_CHUNK, d), np.float32) for k, d in cdims.items()}
            f = extract_features(part, out={k: v[:m] for k, v in scratch.items()})
            for k in FAMILIES:
                out[k][idx] = f[k]
        if embed_net is not None:
            from sigverify.signatures.embedding import embed_canvases

            out["embedding"][idx] = embed_canvases(part.images, net=embed_net)
        ink[idx] = part.ink
        err[idx] = part.error
    return ink, err, {k: out[k] for k in dims}


def _dims(p, embed_net, classical):
    dims = feature_dims(p.canvas) if classical else {}
    if embed_net is not None:
        from sigverify.signatures.embedding import EMBED_DIM

        dims = {**dims, "embedding": EMBED_DIM}
    return dims


#: Crops per preprocessing chunk in :func:`describe`.
_PREP_CHUNK = 64


def describe(
    crops: Sequence[np.ndarray],
    *,
    dpi=None,
    params: PrepParams | None = None,
    workers: int = 1,
    chunk: int | None = None,
    embed_net=None,
    classical: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Preprocess and extract features of many crops, optionally on several
    threads.

    Threads, not processes: the heavy steps are OpenCV and numpy calls that
    release the GIL, and the crops are not copied (pickled) to workers.

    Parameters
    ----------
    crops : sequence of 2-D arrays or image paths
        Paths are read inside the workers; an unreadable file becomes the
        error ``'unreadable'``.
    dpi : float, sequence of float or None
    params : PrepParams, optional
    workers : int
        Threads to use (1 = this thread only; -1 = every core).
    chunk : int, optional
        Crops per task. Default: as large as possible (up to 2,048: large
        tasks sort more crops by size, so less padding in each stack) while
        still giving every worker work.
    embed_net : EmbeddingNet, optional
        Also embed each crop with the learned network (family
        ``'embedding'``, (N, 128) unit vectors) from the same canvases.
    classical : bool
        Compute the hand-crafted families (default True).

    Returns
    -------
    ink : (N,) float64
    error : (N,) object array of str
    features : dict of str to (N, D) float32
    """
    crops = list(crops)
    n = len(crops)
    dpis = [dpi] * n if dpi is None or np.isscalar(dpi) else list(dpi)
    if workers is None or workers < 0:
        workers = os.cpu_count() or 1
    if chunk is None:
        chunk = int(min(2048, max(256, -(-n // workers))))
    if n <= chunk:
        return _describe_chunk(crops, dpis, params, embed_net=embed_net, classical=classical)
    bounds = list(range(0, n, chunk))
    p = params or PrepParams()
    # every chunk writes its features straight into its rows of the result
    feats = {k: np.empty((n, d), np.float32) for k, d in _dims(p, embed_net, classical).items()}
    ink = np.empty(n)
    err = np.empty(n, dtype=object)

    def run(s):
        e = min(s + chunk, n)
        ink[s:e], err[s:e], _ = _describe_chunk(crops[s:e], dpis[s:e], params, out={k: v[s:e] for k, v in feats.items()},
                                                embed_net=embed_net, classical=classical)

    if workers <= 1:
        for s in bounds:
            run(s)
        return ink, err, feats
    # our threads are the parallelism: OpenCV's own thread pool would only
    # oversubscribe the cores (restored afterwards)
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with cf.ThreadPoolExecutor(max_workers=workers) as ex:
            list(ex.map(run, bounds))
    finally:
        cv2.setNumThreads(cv_threads)
    return ink, err, feats


def distance_names(feats: dict[str, np.ndarray]) -> list[str]:
    """Names of the columns of :func:`pair_table` for these features: the
    classical distances (when their families are present), then
    ``'embedding.cos'`` (when the learned embedding is)."""
    names = list(DISTANCE_NAMES) if all(k in feats for k in FAMILIES) else []
    if "embedding" in feats:
        names.append("embedding.cos")
    return names


def multi_names(names: Sequence[str]) -> list[str]:
    """Column names of :func:`multi_inputs` over distance columns `names`."""
    return [f"{p}.{n}" for p in ("mean", "min", "rel") for n in names]


def pair_table(feats: dict[str, np.ndarray], index_a, index_b, *, workers: int = 1) -> np.ndarray:
    """Every distance of the pairs ``(index_a[i], index_b[i])``: the
    classical ones (:func:`~sigverify.signatures.compare.indexed_pair_distances`)
    and the cosine distance of the learned embeddings, columns
    :func:`distance_names`.

    Returns
    -------
    (N, K) float32
    """
    ia = np.asarray(index_a, np.int64)
    ib = np.asarray(index_b, np.int64)
    names = distance_names(feats)
    if len(ia) == 0:
        return np.zeros((0, len(names)), np.float32)
    parts = []
    if all(k in feats for k in FAMILIES):
        parts.append(indexed_pair_distances({k: feats[k] for k in FAMILIES}, ia, ib, workers=workers))
    if "embedding" in feats:
        from sigverify.signatures.embedding import cosine_distance

        e = feats["embedding"]
        parts.append(cosine_distance(e[ia], e[ib])[:, None])
    return np.hstack(parts) if len(parts) > 1 else parts[0]


def _cols(x: np.ndarray, names: Sequence[str], wanted: Sequence[str]) -> np.ndarray:
    """Columns `wanted` of `x` (whose columns are `names`)."""
    if list(wanted) == list(names):
        return x
    pos = {n: i for i, n in enumerate(names)}
    missing = [w for w in wanted if w not in pos]
    if missing:
        raise ValueError(f"the model needs inputs that were not computed: {missing[:3]}")
    return x[:, [pos[w] for w in wanted]]


def _prior_for(prior: Sequence[float], names: Sequence[str]) -> np.ndarray | None:
    """The model's exemplar-spread prior for the distance columns `names`.

    ``multi_prior`` holds one value per distance column of the features the
    model was *fitted* on (:func:`distance_names`: the classical distances,
    then ``'embedding.cos'``), which can be more columns than a call
    computes: a decision on the embedding alone describes no classical
    family. Each column gets its own value, never another column's.
    """
    if not prior:
        return None
    prior = [float(v) for v in prior]
    if len(prior) == len(names):
        return np.asarray(prior)
    fitted = {len(DISTANCE_NAMES) + 1: [*DISTANCE_NAMES, "embedding.cos"], len(DISTANCE_NAMES): list(DISTANCE_NAMES),
              1: ["embedding.cos"]}.get(len(prior))
    if fitted is None or not set(names) <= set(fitted):
        raise ValueError(f"the model's multi_prior has {len(prior)} values, which do not name the distances {list(names)[:3]}")
    by_name = dict(zip(fitted, prior))
    return np.asarray([by_name[n] for n in names])


def multi_inputs(
    d_qr: np.ndarray,
    owner: np.ndarray,
    n_pairs: int,
    d_rr: np.ndarray,
    rr_owner: np.ndarray,
    prior: np.ndarray | None = None,
):
    """Inputs of the several-exemplar model for each questioned signature.

    Parameters
    ----------
    d_qr : (M, K) distances questioned–exemplar; ``owner[m]`` is its pair.
    d_rr : (L, K) distances between exemplars of the same pair;
        ``rr_owner[l]`` is its pair.
    prior : (K,) typical exemplar-to-exemplar distance (from the model's
        fitting data), added to each voter's own spread so that two nearly
        identical exemplars do not make every difference look large.
        None: the median spread of this call (used when fitting).

    Returns
    -------
    x : (n_pairs, 3 K) float64: mean, min, and mean relative to the
        exemplars' own spread.
    """
    k = d_qr.shape[1]
    cnt = np.bincount(owner, minlength=n_pairs).astype(np.float64)
    s = np.zeros((n_pairs, k))
    np.add.at(s, owner, d_qr)
    mean = s / np.maximum(cnt, 1)[:, None]
    mn = np.full((n_pairs, k), np.inf)
    np.minimum.at(mn, owner, d_qr)
    mn[~np.isfinite(mn)] = 0
    c2 = np.bincount(rr_owner, minlength=n_pairs).astype(np.float64)
    s2 = np.zeros((n_pairs, k))
    if len(rr_owner):
        np.add.at(s2, rr_owner, d_rr)
    spread = s2 / np.maximum(c2, 1)[:, None]
    if prior is None:
        prior = np.median(spread[c2 > 0], axis=0) if (c2 > 0).any() else np.zeros(k)
    rel = mean / (spread + np.asarray(prior) + 1e-6)
    return np.hstack([mean, mn, rel])


def verify(
    questioned: Sequence[np.ndarray],
    references: Sequence[Sequence[np.ndarray]],
    *,
    model: SignatureModel | None = None,
    dpi=None,
    ref_dpi=None,
    workers: int = 1,
    dedupe: bool = True,
    families: bool | str = "review",
) -> SignatureScores:
    """Compare each questioned signature with its writer's exemplars.

    Parameters
    ----------
    questioned : sequence of N 2-D arrays (or image paths)
        Raw crops of the signatures to check (uint8 grey, light paper; any
        size). A crop that is empty, dark all over or not an image (or a
        path that cannot be read) gets ``review`` with a reason instead of
        stopping the batch.
    references : sequence of N sequences of 2-D arrays
        ``references[i]`` are the exemplars (0, 1 or more) on file for the
        voter that questioned signature ``i`` is claimed to be.
    model : SignatureModel, optional
        Default :func:`~sigverify.signatures.model.load_default_model`.
    dpi : float, sequence of N floats, or None
        Resolution of the questioned crops (None: unknown).
    ref_dpi : float, sequence of N floats, or None
        Resolution of the exemplars of each pair (default: `dpi`).
    workers : int
        Threads for preprocessing and features (-1 = every core).
    dedupe : bool
        Describe each distinct crop once: the same array object (or the
        same path) given several times — a voter's exemplars shared by
        several lines of the batch — is preprocessed and described once
        (at its first dpi).
    families : {'review', True, False}
        Per-family scores (``family_scores``) of the hand-crafted families,
        when the model's decision does not need them (a learned model):
        ``'review'`` (default) describes them only for the lines that go to
        review with a score — what a person looks at; the others get NaN
        there (their ``'embedding'`` family is always scored) — ``True``
        for every line, ``False`` for none. Decisions and scores do not
        depend on it.

    Returns
    -------
    SignatureScores

    Examples
    --------
    >>> import cv2
    >>> def crop(text):
    ...     c = np.full((90, 300), 240, np.uint8)
    ...     _ = cv2.putText(c, text, (8, 60), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, 30, 2)
    ...     return c
    >>> s = verify([crop("Ann Lee"), np.zeros((0, 0), np.uint8)], [[crop("Ann Lee")], []])
    >>> s.decision[1], s.reason[1]
    ('review', 'empty_signature')
    """
    model = model or load_default_model()
    params = PrepParams.from_dict(model.prep) if model.prep else PrepParams()
    q = list(questioned)
    refs = [list(r) for r in references]
    n = len(q)
    if len(refs) != n:
        raise ValueError("The parameters `questioned` and `references` must have the same length")
    kref = np.array([len(r) for r in refs], np.int64)

    def per_pair(v, name):
        if v is None or np.isscalar(v):
            return [v] * n
        v = list(v)
        if len(v) != n:
            raise ValueError(f"The parameter `{name}` must be a number or one value per pair")
        return v

    qd = per_pair(dpi, "dpi")
    rd = per_pair(ref_dpi if ref_dpi is not None else dpi, "ref_dpi")
    flat = q + [im for r in refs for im in r]
    flat_dpi = qd + [rd[i] for i in range(n) for _ in range(kref[i])]
    row = np.arange(len(flat))
    flat_u, dpi_u = flat, flat_dpi
    if dedupe:
        first: dict = {}
        uniq: list[int] = []
        for i, item in enumerate(flat):  # objects are alive in `flat`: ids are stable
            key = (item if isinstance(item, (str, os.PathLike)) else id(item), flat_dpi[i])
            j = first.get(key)
            if j is None:
                j = first[key] = len(uniq)
                uniq.append(i)
            row[i] = j
        flat_u = [flat[i] for i in uniq]
        dpi_u = [flat_dpi[i] for i in uniq]
    net = None
    if model.embedding:
        from sigverify.signatures.embedding import load_embedding

        net = load_embedding(model.embedding)
    classical = net is None or needs_classical(model)
    _, err, feats = describe(flat_u, dpi=dpi_u, params=params, workers=workers, embed_net=net, classical=classical)
    starts = n + np.concatenate([[0], np.cumsum(kref)])
    ref_index = [row[starts[i] : starts[i + 1]] for i in range(n)]
    res = score_described(feats, err, row[:n], ref_index, model=model, workers=workers)
    if classical or not families or not (set(model.families) - {"embedding"}):
        return res
    # The decision needed only the embedding: the hand-crafted families (what the review screen
    # explains a low score with) are described for the lines a person will look at, or all.
    lines = np.flatnonzero(np.isfinite(res.score) & ((res.decision == "review") | (families != "review")))
    if len(lines) == 0:
        return res
    need = np.unique(np.concatenate([row[:n][lines]] + [ref_index[i] for i in lines]))
    sub = {int(g): j for j, g in enumerate(need)}
    _, err2, f2 = describe([flat_u[g] for g in need], dpi=[dpi_u[g] for g in need], params=params, workers=workers)
    f2["embedding"] = feats["embedding"][need]
    part = score_described(f2, err[need], np.array([sub[int(row[i])] for i in lines], np.int64),
                           [np.array([sub[int(g)] for g in ref_index[i]], np.int64) for i in lines], model=model,
                           workers=workers)
    for k, v in part.family_scores.items():
        res.family_scores[k][lines] = v
    return res


def needs_classical(model: SignatureModel) -> bool:
    """Whether the model's *decision* (not its per-family scores) uses a
    hand-crafted distance."""
    inputs = list(model.single.inputs) + (list(model.multi.inputs) if model.multi is not None else [])
    return any("embedding" not in c for c in inputs)


def score_described(
    feats: dict[str, np.ndarray],
    error: np.ndarray,
    q_index: np.ndarray,
    ref_index: Sequence[np.ndarray],
    *,
    model: SignatureModel,
    workers: int = 1,
) -> SignatureScores:
    """Score pairs of already described signatures (see :func:`describe`).

    Parameters
    ----------
    feats : dict of str to (M, D) float32
        Features of M signatures.
    error : (M,) object array of str
        Preprocessing error of each ('' = usable).
    q_index : (N,) int array
        Row of each questioned signature.
    ref_index : sequence of N int arrays
        Rows of the exemplars of each questioned signature.
    model : SignatureModel
    workers : int
        Threads for the pair distances (-1 = every core); the scores do not
        depend on it.

    Returns
    -------
    SignatureScores
    """
    q_index = np.asarray(q_index, np.int64)
    n = len(q_index)
    kref = np.array([len(r) for r in ref_index], np.int64)
    err = np.asarray(error, dtype=object)
    ref_owner = np.repeat(np.arange(n), kref)
    ref_local = np.concatenate([np.arange(k) for k in kref]) if n else np.zeros(0, np.int64)
    ref_global = np.concatenate([np.asarray(r, np.int64) for r in ref_index]) if n else np.zeros(0, np.int64)
    qe = err[q_index]
    q_ok = qe == ""
    r_ok = err[ref_global] == ""
    use = r_ok & q_ok[ref_owner]
    m_owner = ref_owner[use]
    m_ref = ref_global[use]
    m_local = ref_local[use]
    used = np.bincount(m_owner, minlength=n)

    names = distance_names(feats)
    d = pair_table(feats, q_index[m_owner], m_ref, workers=workers)
    lg = model.single.logit(_cols(d, names, model.single.inputs)) if len(d) else np.zeros(0)

    # best exemplar: highest single-pair log-odds
    best = np.full(n, -1, np.int64)
    if len(lg):
        order = np.lexsort((-lg, m_owner))
        first = np.ones(len(order), bool)
        first[1:] = m_owner[order][1:] != m_owner[order][:-1]
        best[m_owner[order][first]] = m_local[order][first]

    score = np.full(n, np.nan)
    thr = np.full(n, np.nan)
    one = used == 1
    multi = used >= 2
    # one exemplar: the single model as is
    if one.any():
        sel = one[m_owner]
        score[m_owner[sel]] = 1.0 / (1.0 + np.exp(-lg[sel]))
        thr[one] = model.threshold["single"]
    if multi.any():
        sel = multi[m_owner]
        if model.multi is not None:
            # distances between each pair's own exemplars (a voter's spread)
            own = m_ref[sel]
            owner = m_owner[sel]
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            sizes = np.diff(np.r_[starts, len(owner)])
            ia, ib, io = [], [], []
            for sz in np.unique(sizes):  # one step per distinct exemplar count
                st = starts[sizes == sz]
                a, b = np.triu_indices(sz, 1)
                ia.append(own[(st[:, None] + a[None]).ravel()])
                ib.append(own[(st[:, None] + b[None]).ravel()])
                io.append(np.repeat(owner[st], len(a)))
            ia, ib, io = (np.concatenate(v) for v in (ia, ib, io))
            d_rr = pair_table(feats, ia, ib, workers=workers)
            x = multi_inputs(d[sel], owner, n, d_rr, io, prior=_prior_for(model.multi_prior, names))
            score[multi] = model.multi.predict(_cols(x[multi], multi_names(names), model.multi.inputs))
            thr[multi] = model.threshold["multi"]
        else:
            s = np.zeros(n)
            np.add.at(s, m_owner[sel], lg[sel])
            score[multi] = 1.0 / (1.0 + np.exp(-s[multi] / used[multi]))
            thr[multi] = model.threshold["single"]

    fam = {}
    for f, fm in model.families.items():
        if not set(fm.inputs) <= set(names):  # not described (see verify's `families`)
            fam[f] = np.full(n, np.nan)
            continue
        fl = fm.logit(_cols(d, names, fm.inputs)) if len(d) else np.zeros(0)
        s = np.zeros(n)
        np.add.at(s, m_owner, fl)
        fs = 1.0 / (1.0 + np.exp(-s / np.maximum(used, 1)))
        fs[used == 0] = np.nan
        fam[f] = fs

    reason = np.full(n, "", dtype=object)
    reason[(score < thr)] = "low_score"
    reason[(used == 0) & (kref > 0)] = "bad_exemplar"
    reason[kref == 0] = "no_exemplar"
    for code, why in _Q_REASON.items():
        reason[qe == code] = why
    score[reason != ""] = np.where(reason[reason != ""] == "low_score", score[reason != ""], np.nan)
    decision = np.where(reason == "", "consistent", "review").astype(object)
    bad_refs = np.bincount(ref_owner[~r_ok], minlength=n).astype(np.int64)
    return SignatureScores(
        score=score,
        decision=decision,
        reason=reason,
        family_scores=fam,
        best_reference=best,
        n_references=used.astype(np.int64),
        threshold=thr,
        model_version=model.version,
        bad_references=bad_refs,
    )


__all__ += ["FAMILIES", "family_of", "Prepared"]
