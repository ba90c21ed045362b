"""Stage: the same-hand scan — clusters of lines that one hand likely wrote
(round-tabling: a few people taking turns signing many voters' names).

Each signed line's signature crop is embedded once (the stored embeddings
of :func:`petitions.stages.verify.ensure_embeddings`, under the network the
same-hand model was calibrated on); everything after that is vector work:

1. **The null.** Two lines of different circulators were, nearly always,
   written by different people. The cosine similarities of a seeded random
   sample of such pairs give the scan its yardstick: a pair's similarity is
   measured in null standard deviations above the null median (``z``).
   Thresholds in those units hold whatever the network, and a better
   network simply separates more.
2. **One circulator's sections** (each section alone, and a circulator's
   sections together): all pairs of the group, average-linkage clustering
   on ``z``, cut where the average ``z`` within a cluster falls below
   ``link``. A cluster counts when it has at least ``min_size`` lines and
   its *evidence* — the mean ``z`` over its pairs times the square root of
   the number of pairs, what a group of different hands almost never
   reaches — is at least ``min_evidence``.
3. **Across circulators, filings and the workspace.** Blocked matrix
   products over every pair of lines (never the whole matrix at once) keep
   the pairs beyond a strict cut (a tail the null puts at ``strict_tail``
   per line); a line with at least ``min_strict`` such neighbours joins
   the clusters of step 2 it is a strict neighbour of, in one step (never
   a chain of lines, never a cluster of its own: ``local_only``). Clusters
   of step 2 whose lines are, on average, as close to each other's as one
   hand's (the same average-linkage test between the two groups) are
   joined too; a cluster then takes in the lines of its circulators as
   close to its lines of their own circulator as its own lines are.

Every cluster gets its scope (``section``, ``circulator``, ``filing`` or
``workspace``: the narrowest that holds it), a score (the same-hand model's
mean probability over the cluster's pairs, :func:`sigverify.signatures.samehand.samehand_matrix`)
and its evidence (the strongest pairs with their probabilities, the
sections, circulators and filings). Its lines go to review with the reason
``same_hand`` (triage, at the next determination); software never rejects
them. Each scan is an event in the chain.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from petitions.stages.job import CancelFn, ProgressFn, StageReport, check_cancel, never, noop_progress
from petitions.store import Workspace, canonical_json, now_utc

__all__ = ["ScanParams", "Cluster", "find_clusters", "scan_same_hand", "ScanResult", "SCOPES"]

SCOPES = ("section", "circulator", "filing", "workspace")


@dataclass(frozen=True)
class ScanParams:
    """Settings of a same-hand scan (stored with the scan).

    Attributes
    ----------
    link : float
        Average-linkage cut within a circulator's sections, in null standard
        deviations of pair similarity.
    min_size : int
        Fewest lines in a cluster.
    min_evidence : float
        Fewest null standard deviations of a cluster's evidence (mean ``z``
        over its pairs times the square root of the number of pairs).
    strict_tail : float
        Expected chance neighbours per line across the whole scan at the
        strict cut (the cut is set so that a line of a different hand passes
        it this often in all its pairs together, extrapolating the null's
        normal tail).
    min_strict : int
        Strict neighbours a line needs to join across circulators.
    local_only : bool
        Keep only clusters that hold a cluster of one circulator's sections
        (step 2), and let a strict pair across circulators join a line only
        to such a cluster's lines (or two such clusters), one step: never
        a chain of lines to each other, nor a cluster on its own. Growing
        a cluster, a line joins for its closeness to the cluster's lines of
        its own circulator, not to the whole cluster's average. A chain
        of strong pairs between honest lines of many circulators (writers
        of one style) is not one hand's work; a crew's lines are many
        within one circulator's sections.
    null_rounds : int
        Random deals of the lines into groups of the real groups' sizes; the
        strongest cluster found in them is the evidence floor (0: use
        ``min_evidence`` alone).
    floor_margin : float
        A cluster's evidence must be at least this times the floor.
    grow_z : float
        A line of one of a cluster's circulators joins the cluster when its
        mean ``z`` with the cluster's lines, times the square root of their
        number, reaches this (elsewhere: the strict cut).
    grow_ratio : float
        ... and when that mean ``z`` is at least this share of the mean
        ``z`` within the cluster (a line, or another cluster, as close to
        the cluster as its own lines are to each other).
    null_pairs : int
        Random cross-circulator pairs that make the null.
    block : int
        Rows per block of the all-pairs products.
    hub_k, hub_sample : int
        Each line's baseline is the mean of its ``hub_k`` highest
        similarities to ``hub_sample`` random lines of other circulators
        (0: no baseline); a pair's similarity is taken less its lines'
        baselines.
    center_shrink : float
        Each line's embedding is taken less its section's mean (what a scan
        gives all its lines), shrunk by ``n / (n + center_shrink)``; < 0: no
        centring.
    seed : str
        Seed (a string) of the null's random pairs.
    """

    link: float = 0.6
    min_size: int = 3
    min_evidence: float = 6.0
    strict_tail: float = 0.01
    min_strict: int = 2
    null_rounds: int = 2
    floor_margin: float = 1.0
    grow_z: float = 2.5
    grow_ratio: float = 0.4
    null_pairs: int = 200_000
    block: int = 1024
    center_shrink: float = -1.0
    hub_k: int = 30
    hub_sample: int = 2000
    seed: str = "same-hand-scan"
    local_only: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Cluster:
    """Lines one hand likely wrote (indices into the scan's rows)."""

    members: np.ndarray
    scope: str
    score: float
    evidence_z: float
    mean_z: float
    strength: np.ndarray                  # (k,) mean probability of each member with the others
    pairs: list[tuple[int, int, float]] = field(default_factory=list)   # strongest pairs (row, row, probability)


def _rng(seed: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "little"))


def _center(emb: np.ndarray, section: np.ndarray, shrink: float) -> np.ndarray:
    """Each line's embedding less its section's mean (shrunk toward zero for
    small sections: ``n / (n + shrink)``), back on the unit sphere.

    What every line of a section shares — the scanner, a 1-bit scan's
    texture, the paper — is not a hand; without this, the honest lines of
    one scan resemble each other more than the lines of other scans do.
    Within a section written by two or three hands, each hand still stands
    apart from the section's mean. ``shrink`` < 0 leaves the embeddings as
    they are."""
    if shrink < 0 or len(emb) == 0:
        return emb
    _, inv, cnt = np.unique(section, return_inverse=True, return_counts=True)
    sums = np.zeros((len(cnt), emb.shape[1]), np.float64)
    np.add.at(sums, inv, emb)
    mean = sums / (cnt + shrink)[:, None]
    out = emb - mean[inv].astype(np.float32)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norm, 1e-6)).astype(np.float32)


def _hubness(emb: np.ndarray, circulator: np.ndarray, params: ScanParams) -> np.ndarray:
    """How much each line resembles lines of *other* circulators: the mean
    of its ``hub_k`` highest similarities to a seeded sample of
    ``hub_sample`` lines (N,). A line of a 1-bit scan, or a plain printed
    signature, is close to many others everywhere; its closeness to the
    lines of its own circulator then means less (the correction of
    cross-domain similarity local scaling)."""
    n = len(emb)
    if params.hub_k <= 0 or n < 2:
        return np.zeros(n, np.float32)
    rng = _rng(params.seed + ":hub")
    sample = np.sort(rng.choice(n, size=min(n, params.hub_sample), replace=False))
    k = min(params.hub_k, len(sample) - 1)
    out = np.empty(n, np.float32)
    es = np.ascontiguousarray(emb[sample].T)
    cs = circulator[sample]
    for a in range(0, n, 4096):
        s = emb[a:a + 4096] @ es
        np.copyto(s, -np.inf, where=circulator[a:a + 4096, None] == cs[None, :])
        np.negative(s, out=s)
        top = -np.partition(s, k - 1, axis=1)[:, :k]
        fin = np.isfinite(top)
        # a line with no other circulator in the sample (one circulator only) has no baseline
        out[a:a + 4096] = np.where(fin, top, 0.0).sum(axis=1) / np.maximum(fin.sum(axis=1), 1)
    return out


def _null(emb: np.ndarray, circulator: np.ndarray, params: ScanParams,
          base: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation of cross-circulator pair
    similarity, less each pair's baseline ``(base_i + base_j) / 2``."""
    n = len(emb)
    rng = _rng(params.seed)
    m = params.null_pairs
    i = rng.integers(0, n, m)
    j = rng.integers(0, n, m)
    keep = circulator[i] != circulator[j]
    if keep.sum() < 100:  # one circulator only: every pair but a line with itself
        keep = i != j
    i, j = i[keep], j[keep]
    if len(i) < 2:
        return 0.0, 1.0
    s = np.einsum("ij,ij->i", emb[i], emb[j])
    adj = s - (base[i] + base[j]) / 2
    s = adj[s < 1.0 - 1e-5]  # one image twice (a copy) says nothing about different writers
    if len(s) < 2:
        return 0.0, 1.0
    med = float(np.median(s))
    sd = float(1.4826 * np.median(np.abs(s - med)))
    return med, max(sd, 1e-6)


def _strict_cut(n: int, params: ScanParams) -> float:
    """z beyond which a pair is a strict neighbour: the normal tail at
    ``strict_tail / n`` (n candidate partners per line)."""
    from statistics import NormalDist

    tail = min(0.5, params.strict_tail / max(n, 1))
    return float(NormalDist().inv_cdf(1.0 - tail))


def _local_clusters(emb: np.ndarray, rows: np.ndarray, base: np.ndarray, sd: float, params: ScanParams,
                    min_evidence: float) -> list[tuple[np.ndarray, float]]:
    """Average-linkage clusters of one group's rows that pass size and
    evidence, with their evidence."""
    from scipy.spatial.distance import squareform

    k = len(rows)
    if k < params.min_size:
        return []
    z = _zmat(emb, rows, rows, base, sd)
    cap = float(np.max(z)) + 1.0
    d = cap - z
    np.fill_diagonal(d, 0.0)
    d = np.maximum((d + d.T) / 2, 0.0)
    lab = _average_cut(squareform(d, checks=False), k, cap - params.link)
    out = []
    counts = np.bincount(lab)
    big = np.flatnonzero(counts >= params.min_size)
    if not len(big):
        return out
    order = np.argsort(lab, kind="stable")
    starts = np.r_[0, np.cumsum(counts)]
    off = z.copy()
    np.fill_diagonal(off, -np.inf)
    for c in big:  # only clusters large enough to count (most are single lines)
        idx = np.sort(order[starts[c]:starts[c + 1]])
        if min_evidence > 0:
            # the evidence of any subset of the cluster (pruning only drops
            # lines) is at most its strongest pair's z times the root of the
            # number of pairs: a cluster that cannot reach `min_evidence`
            # needs no pruning (the margin is far above rounding)
            top = float(off.take(idx, axis=0).take(idx, axis=1).max())
            if top * math.sqrt(len(idx) * (len(idx) - 1) / 2) < min_evidence * (1 - 1e-9):
                continue
        idx = _prune(z, idx, params)
        if len(idx) < params.min_size:
            continue
        sub = z.take(idx, axis=0).take(idx, axis=1)  # C order, as np.ix_ gives (sums in its order)
        npairs = len(idx) * (len(idx) - 1) / 2
        mean_z = float((sub.sum() - np.trace(sub)) / 2 / npairs)
        if mean_z * math.sqrt(npairs) >= min_evidence:
            out.append((rows[idx], mean_z * math.sqrt(npairs)))
    return out


def _average_cut(y: np.ndarray, k: int, t: float) -> np.ndarray:
    """Flat clusters (labels from 1) of average linkage over the condensed
    distances `y` of `k` points, cut at distance `t`: what
    ``fcluster(linkage(y, "average"), t, "distance")`` returns, by the same
    compiled routines without the public functions' checks of their input
    (a scan calls this some thousands of times on matrices it built itself,
    finite and symmetric; the checks cost more than the clustering)."""
    global _PRIVATE_LINKAGE
    if _PRIVATE_LINKAGE:
        try:
            from scipy.cluster import _hierarchy
            from scipy.cluster.hierarchy import _LINKAGE_METHODS

            z = _hierarchy.nn_chain(np.ascontiguousarray(y, np.float64), k, _LINKAGE_METHODS["average"])
            lab = np.zeros(k, dtype="i")
            _hierarchy.cluster_dist(np.ascontiguousarray(z, np.float64), lab, float(t), int(k))
            return lab
        except (ImportError, AttributeError, KeyError, TypeError, ValueError):
            # another SciPy's private layout: the public route from now on, same result
            _PRIVATE_LINKAGE = False
    from scipy.cluster.hierarchy import fcluster, linkage

    return np.asarray(fcluster(linkage(y, method="average"), t=t, criterion="distance"))


#: Whether SciPy's compiled linkage routines are called directly (cleared
#: the first time they are not there as this code expects).
_PRIVATE_LINKAGE = True


def _prune(z: np.ndarray, idx: np.ndarray, params: ScanParams) -> np.ndarray:
    """Drop from a linkage cluster the lines less close to the others than
    ``grow_ratio`` of the cluster's own mean ``z`` (average linkage admits a
    line whose similarity to a tight group is only middling: its projection
    on the group's direction is one number, not an average of many)."""
    for _ in range(5):
        k = len(idx)
        if k < params.min_size:
            return idx
        sub = z.take(idx, axis=0).take(idx, axis=1)  # C order, as np.ix_ gives (sums in its order)
        row = (sub.sum(axis=1) - np.diag(sub)) / (k - 1)
        inner = float(row.mean())
        keep = row >= params.grow_ratio * inner
        if keep.all():
            return idx
        idx = idx[keep]
    return idx


def _group_clusters(emb, section, circulator, base, sd, params, min_evidence, cancel) -> list[tuple[np.ndarray, float]]:
    """Local clusters of every circulator's sections together and of each
    section alone."""
    out: list[tuple[np.ndarray, float]] = []
    order = np.lexsort((section, circulator))
    bounds = np.flatnonzero(np.r_[True, circulator[order][1:] != circulator[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        check_cancel(cancel)
        rows = order[a:b]
        out += _local_clusters(emb, rows, base, sd, params, min_evidence)
        secs = np.unique(section[rows])
        if len(secs) > 1:
            for s in secs:
                out += _local_clusters(emb, rows[section[rows] == s], base, sd, params, min_evidence)
    return out


def _permutation_floor(emb, section, circulator, base, sd, params, cancel) -> float:
    """The evidence a cluster must beat: the strongest cluster the same
    procedure finds when the lines are dealt at random into groups of the
    real groups' sizes (``null_rounds`` deals), where no group is one hand's
    work. Writers of a similar style cluster there as they do in the real
    groups, so this floor holds whatever the embedding captures. With fewer
    than five circulators the deals would keep real clusters together, and
    ``min_evidence`` alone is the floor."""
    best = params.min_evidence
    if len(np.unique(circulator)) < 5:
        # too few groups: a deal keeps most of a real cluster together
        return float(best)
    rng = _rng(params.seed + ":deal")
    for _ in range(params.null_rounds):
        perm = rng.permutation(len(emb))
        found = _group_clusters(emb[perm], section, circulator, base[perm], sd, params, params.min_evidence, cancel)
        if found:
            best = max(best, max(ev for _, ev in found))
    return float(best)


_CHUNK = 8192  # columns per block of the all-pairs products


def _strict_pairs(emb: np.ndarray, circulator: np.ndarray, base: np.ndarray, cut: float, params: ScanParams,
                  cancel: CancelFn) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of different circulators whose similarity less their
    baseline passes `cut`, by blocked matrix products: rows
    ``[a, a + block)`` against columns ``[a, n)`` in column chunks, so
    memory stays at block × chunk.

    One reduction per block (each row's highest similarity) rules out, by a
    bound, nearly every row: a row whose best similarity less its own
    baseline and the chunk's lowest column baseline misses the cut (with a
    margin far above float32 rounding) has no pair there. Only the few rows
    left get their baselines subtracted in place and are compared — the
    same float32 operations, in the same order, as the pair-by-pair test,
    so the pairs kept do not depend on the bound. In the chunks that hold
    the row block's own columns, a line's similarity with itself and with
    the rows before it are set aside first (they are not pairs of this
    block, and a line's similarity with itself would pass every bound)."""
    n = len(emb)
    out_i, out_j = [], []
    b = max(64, int(params.block))
    chunk = _CHUNK
    half = (base / 2).astype(np.float32)
    half64 = half.astype(np.float64)
    margin = 1e-4  # far above float32 rounding of values of order 1
    for a in range(0, n, b):
        check_cancel(cancel)
        ea = emb[a:a + b]
        ha = half[a:a + b]
        for c0 in range(a, n, chunk):
            s = ea @ emb[c0:c0 + chunk].T
            if c0 < a + len(ea):  # a line with itself and pairs already seen (j <= i) are no pairs
                w = min(a + len(ea) - c0, s.shape[1])
                np.copyto(s[:, :w], -np.inf, where=np.tri(len(ea), w, a - c0, dtype=bool))
            hb = half[c0:c0 + chunk]
            rows = np.flatnonzero(s.max(axis=1) - half64[a:a + b] >= cut + float(half64[c0:c0 + chunk].min()) - margin)
            if not len(rows):  # nearly every block: one reduction, no mask
                continue
            sub = s[rows]
            sub -= ha[rows, None]
            sub -= hb[None, :]
            ri, jj = np.nonzero(sub >= cut)
            if len(ri):
                ii = rows[ri] + a
                jj = jj + c0
                keep = (jj > ii) & (circulator[ii] != circulator[jj])
                out_i.append(ii[keep])
                out_j.append(jj[keep])
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64)


def _zmat(emb: np.ndarray, a: np.ndarray, b: np.ndarray, base: np.ndarray, sd: float) -> np.ndarray:
    """``z`` of every pair of rows `a` × `b`: similarity less the pair's
    baseline, in null standard deviations."""
    return (emb[a] @ emb[b].T - (base[a][:, None] + base[b][None, :]) / 2) / sd


def _inner_mean_z(sums: np.ndarray, sizes: np.ndarray, bmean: np.ndarray, sd: float) -> np.ndarray:
    """Mean ``z`` over the pairs within each cluster, from the sums of its
    unit vectors (``|sum|² = k + 2 Σ_pairs cos``) and its mean baseline."""
    sq = np.einsum("ij,ij->i", sums, sums)
    npairs = np.maximum(sizes * (sizes - 1) / 2, 1)
    return ((sq - sizes) / 2 / npairs - bmean) / sd


def _grow(emb: np.ndarray, circulator: np.ndarray, found: list[np.ndarray], base: np.ndarray, sd: float,
          params: ScanParams) -> list[np.ndarray]:
    """Add to each cluster the lines of its circulators as close to it as
    its own hand: a line's mean ``z`` with the cluster's lines at least
    ``grow_ratio`` of the cluster's own, and times the square root of the
    cluster's size at least ``grow_z``. One matrix product for all clusters;
    a line joins the cluster it is closest to."""
    if not found:
        return found
    n = len(emb)
    sums = np.stack([emb[m].sum(axis=0) for m in found])            # (C, D)
    sizes = np.array([len(m) for m in found], np.float64)
    bmean = np.array([base[m].mean() for m in found])
    inner = _inner_mean_z(sums, sizes, bmean, sd)
    mz = ((emb @ sums.T) / sizes - (base[:, None] + bmean[None, :]) / 2) / sd   # (N, C): mean z with each cluster
    t = mz * np.sqrt(sizes)
    own = np.zeros((n, len(found)), bool)
    for k, m in enumerate(found):
        own[:, k] = np.isin(circulator, np.unique(circulator[m]))
    like = mz >= params.grow_ratio * inner                            # as close as the cluster's own lines are
    # Across circulators, only the strict pairs join lines (step 3): growing a
    # big cluster there would take in every writer of a similar style.
    ok = like & own & (t >= params.grow_z)
    if params.local_only:
        # ... and a line of a circulator joins for its closeness to the
        # cluster's lines of that same circulator (a cluster spanning several
        # circulators is no licence to take in lines near its average)
        ok_sub = np.zeros_like(ok)
        t_sub = np.full(t.shape, -np.inf)
        for k, m in enumerate(found):
            for c in np.unique(circulator[m]):
                sm = m[circulator[m] == c]
                rows = np.flatnonzero(circulator == c)
                sz = float(len(sm))
                mzs = ((emb[rows] @ emb[sm].sum(axis=0)) / sz - (base[rows] + base[sm].mean()) / 2) / sd
                ts = mzs * np.sqrt(sz)
                hit = (mzs >= params.grow_ratio * inner[k]) & (ts >= params.grow_z)
                ok_sub[rows, k] |= hit
                t_sub[rows, k] = np.maximum(t_sub[rows, k], np.where(hit, ts, -np.inf))
        ok = ok_sub
        t = np.where(ok, t_sub, t)
    member = np.zeros((n, len(found)), bool)
    for k, m in enumerate(found):
        member[m, k] = True
    t = np.where(ok | member, t, -np.inf)
    t[member] = np.inf                                               # members stay where they are
    best = np.argmax(t, axis=1)
    has = np.isfinite(t[np.arange(n), best]) | member.any(axis=1)
    return [np.flatnonzero(has & (best == k)) for k in range(len(found))]


def find_clusters(
    emb: np.ndarray,
    section: np.ndarray,
    circulator: np.ndarray,
    filing: np.ndarray,
    *,
    probability: Callable[[np.ndarray, np.ndarray], np.ndarray],
    params: ScanParams | None = None,
    cancel: CancelFn = never,
) -> tuple[list[Cluster], dict]:
    """Clusters of rows that one hand likely wrote (the pure scan).

    Parameters
    ----------
    emb : (N, D) float32
        Unit embeddings of the lines' signatures (usable ones only).
    section, circulator, filing : (N,) int arrays
        Each row's section (unique across filings), circulator (one person
        across their sections) and filing.
    probability : callable (A (n, D), B (m, D)) -> (n, m) float64
        The same-hand model's pair probabilities
        (:func:`sigverify.signatures.samehand.samehand_matrix`).
    params : ScanParams, optional

    Returns
    -------
    clusters : list of Cluster
        Strongest evidence first.
    stats : dict
        The null (``null_median``, ``null_sd``), the strict cut, strict pairs.
    """
    params = params or ScanParams()
    section, circulator, filing = (np.asarray(a, np.int64) for a in (section, circulator, filing))
    raw = np.ascontiguousarray(emb, np.float32)   # what the same-hand model reads
    emb = _center(raw, section, params.center_shrink)
    n = len(emb)
    stats: dict = {"lines": n}
    if n < params.min_size:
        return [], stats
    import time

    t0 = time.perf_counter()
    hub = _hubness(emb, circulator, params)
    base = (hub - np.median(hub)).astype(np.float64)
    med, sd = _null(emb, circulator, params, base)
    base = base + med
    strict_z = _strict_cut(n, params)
    stats.update(null_median=med, null_sd=sd, strict_z=strict_z)

    # 2. each circulator's sections (and each section alone), against the
    # floor the same procedure reaches on randomly dealt groups
    t1 = time.perf_counter()
    floor = _permutation_floor(emb, section, circulator, base, sd, params, cancel) if params.null_rounds else \
        params.min_evidence
    stats["evidence_floor"] = floor
    groups = [g for g, _ in _group_clusters(emb, section, circulator, base, sd, params, floor * params.floor_margin,
                                            cancel)]

    # 3. strict neighbours across circulators (blocked products over all pairs)
    t2 = time.perf_counter()
    si, sj = _strict_pairs(emb, circulator, base, strict_z * sd, params, cancel)
    t3 = time.perf_counter()
    stats["strict_pairs"] = int(len(si))
    deg = np.bincount(np.r_[si, sj], minlength=n)
    core = deg >= params.min_strict
    strong = core[si] | core[sj]
    if params.local_only:
        # one step only: a strict pair joins a line to a cluster of one
        # circulator's sections (or two such clusters), never a chain of
        # lines to each other (honest writers of one style chain up)
        in_local = np.zeros(n, bool)
        for g in groups:
            in_local[g] = True
        strong &= in_local[si] | in_local[sj]
    ei, ej = [si[strong]], [sj[strong]]
    for g in groups:  # a local cluster is connected: a chain through its rows
        ei.append(g[:-1])
        ej.append(g[1:])

    # 3b. local clusters of one hand across circulators: average linkage between groups
    if len(groups) > 1:
        sums = np.stack([emb[g].sum(axis=0) for g in groups])
        sizes = np.array([len(g) for g in groups], np.float64)
        between = (sums @ sums.T) / np.outer(sizes, sizes)
        bmean = np.array([base[g].mean() for g in groups])
        zb = (between - (bmean[:, None] + bmean[None, :]) / 2) / sd
        ev = zb * np.sqrt(np.outer(sizes, sizes))
        inner = _inner_mean_z(sums, sizes, bmean, sd)
        like = zb >= params.grow_ratio * np.maximum.outer(inner, inner)  # one hand: as close as within each
        gi, gj = np.nonzero(np.triu(like & (zb >= params.link) & (ev >= floor * params.floor_margin), 1))
        for a, b in zip(gi, gj):
            ei.append(groups[a][:1])
            ej.append(groups[b][:1])
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ei_a, ej_a = np.concatenate(ei).astype(np.int64), np.concatenate(ej).astype(np.int64)
    g = coo_matrix((np.ones(len(ei_a), np.int8), (ei_a, ej_a)), shape=(n, n))
    ncomp, comp = connected_components(g, directed=False)
    in_edge = np.zeros(n, bool)
    in_edge[ei_a] = True
    in_edge[ej_a] = True
    sizes_c = np.bincount(comp[in_edge], minlength=ncomp)
    big = sizes_c >= params.min_size
    if params.local_only:
        # a cluster grows from one circulator's sections: strict pairs across
        # circulators only join lines to such a cluster (or two of them)
        anchored = np.zeros(ncomp, bool)
        for g in groups:
            anchored[comp[g[0]]] = True
        big &= anchored
    found = [np.flatnonzero((comp == c) & in_edge) for c in np.flatnonzero(big)]
    found = _grow(emb, circulator, found, base, sd, params)
    clusters: list[Cluster] = []
    for members in found:
        members = members[np.lexsort((members, section[members], filing[members]))]
        z = _zmat(emb, members, members, base, sd)
        k = len(members)
        npairs = k * (k - 1) / 2
        mean_z = float((z.sum() - np.trace(z)) / 2 / npairs)
        evidence = mean_z * math.sqrt(npairs)
        # a chain of pairwise links is not one hand: its lines are, on
        # average, no closer than the linkage cut
        if evidence < floor * params.floor_margin or mean_z < params.link:
            continue
        p = np.asarray(probability(raw[members], raw[members]), np.float64)
        off = ~np.eye(k, dtype=bool)
        score = float(p[off].mean())
        strength = (p.sum(axis=1) - np.diag(p)) / (k - 1)
        iu, ju = np.triu_indices(k, 1)
        top = np.argsort(-p[iu, ju], kind="stable")[:20]
        pairs = [(int(members[iu[t]]), int(members[ju[t]]), float(p[iu[t], ju[t]])) for t in top]
        if len(np.unique(section[members])) == 1:
            scope = "section"
        elif len(np.unique(circulator[members])) == 1:
            scope = "circulator"
        elif len(np.unique(filing[members])) == 1:
            scope = "filing"
        else:
            scope = "workspace"
        clusters.append(Cluster(members, scope, score, evidence, mean_z, strength, pairs))
    clusters.sort(key=lambda c: (-c.evidence_z, int(c.members[0])))
    stats["seconds"] = {"null": round(t1 - t0, 2), "local": round(t2 - t1, 2), "all_pairs": round(t3 - t2, 2),
                        "clusters": round(time.perf_counter() - t3, 2)}
    return clusters, stats


@dataclass
class ScanResult:
    """What a scan found (the stage report's ``counts`` too)."""

    scan_id: int | None
    lines: int
    clusters: int
    flagged: int
    embedded: int
    unusable: int
    filings: list[int]
    scopes: dict[str, int]
    stats: dict


def _circulator_key(name: str | None, section_id: int) -> str:
    """One circulator across their sections: the name as written, in one
    case and spacing; a section without a name stands alone."""
    n = " ".join(str(name or "").split()).casefold()
    return f"name:{n}" if n else f"section:{section_id}"


def _inputs_sha256(rows: list[dict], model_version: str, embedding_version: str, params: ScanParams) -> str:
    """What a scan reads: the lines and their crops, the model, the embedding and the settings."""
    return hashlib.sha256(canonical_json({
        "model_version": model_version, "embedding_version": embedding_version, "params": params.to_dict(),
        "lines": [[int(r["line_id"]), r["signature_hash"]] for r in rows]}).encode()).hexdigest()


def current_scan_up_to_date(ws: Workspace, filing_id: int, params: ScanParams | None = None) -> int | None:
    """The id of the filing's scan in force when it was made of exactly what
    a scan would read now (the same lines and crops, model, embedding and
    settings), else None: a rerun of ``petitions run`` then records no
    second, identical scan."""
    from sigverify.signatures.samehand import load_samehand_model

    from petitions.stages.verify import embedding_version
    from petitions.store import fraud as fraud_db

    scan = fraud_db.current_scan_id(ws, filing_id)
    if scan is None:
        return None
    payload = fraud_db.scan_event(ws, scan)
    if payload is None or payload.get("filing_id", filing_id) != filing_id:
        return None
    model = load_samehand_model()
    now = _inputs_sha256(fraud_db.scan_lines(ws, filing_id), model.version,
                         embedding_version(model.embedding, None), params or ScanParams())
    return scan if payload.get("inputs_sha256") == now else None


def scan_same_hand(ws: Workspace, *, user: str, filing_id: int | None = None, params: ScanParams | None = None,
                   workers: int | None = None, retriage: bool = True, progress: ProgressFn = noop_progress,
                   cancel: CancelFn = never) -> ScanResult:
    """Scan one filing (or every filing of the workspace) for lines one hand
    likely wrote, record the clusters with the scan's event, and determine
    the affected filings again so that the clusters' lines wait in review
    with the reason ``same_hand``.

    Only a supervisor runs it. Never rejects a line.
    """
    from sigverify.signatures.samehand import load_samehand_model, samehand_matrix

    from petitions.stages.decide import run_triage
    from petitions.stages.verify import embedding_version, ensure_embeddings
    from petitions.store import fraud as fraud_db

    from petitions.certification import certification_state, require_unlocked

    ws.require_supervisor(user, "run a same-hand scan")
    if filing_id is not None:
        # its flags would move lines back into review behind the certificate
        require_unlocked(ws, filing_id, "a same-hand scan")
    params = params or ScanParams()
    model = load_samehand_model()
    ev = embedding_version(model.embedding, None)
    rows = fraud_db.scan_lines(ws, filing_id)
    progress("same-hand scan", 0, 3)
    emb, err, embedded = ensure_embeddings(ws, [r["signature_hash"] for r in rows], net_name=model.embedding,
                                           workers=workers, cancel=cancel, progress=progress)
    ok = np.flatnonzero(err == "")
    progress("same-hand scan", 1, 3)
    use = [rows[i] for i in ok]
    sec_code = np.array([r["section_id"] for r in use], np.int64)
    circ_names = [_circulator_key(r["circulator"], r["section_id"]) for r in use]
    _, circ_code = np.unique(np.array(circ_names, dtype=object), return_inverse=True) if use else (None, np.zeros(0))
    fil_code = np.array([r["filing_id"] for r in use], np.int64)
    clusters, stats = find_clusters(emb[ok], sec_code, np.asarray(circ_code, np.int64), fil_code,
                                    probability=lambda a, b: samehand_matrix(a, b, model=model), params=params,
                                    cancel=cancel)
    progress("same-hand scan", 2, 3)
    flagged = sorted({int(use[m]["line_id"]) for c in clusters for m in c.members})
    filings = sorted({int(use[m]["filing_id"]) for c in clusters for m in c.members})
    scopes = {s: sum(1 for c in clusters if c.scope == s) for s in SCOPES}
    ts = now_utc()
    with ws.transaction():
        scan_id = fraud_db.add_scan(ws, filing_id=filing_id, model_version=model.version, embedding_version=ev,
                                    params_json=canonical_json(params.to_dict()), lines=len(rows),
                                    clusters=len(clusters), flagged=len(flagged), created_at=ts, created_by=user)
        line_rows = []
        for number, c in enumerate(clusters, start=1):
            mem = [use[m] for m in c.members]
            label = {int(m): use[m]["label"] for m in c.members}
            evidence = {
                "lines": len(mem), "evidence_z": round(c.evidence_z, 3), "mean_pair_z": round(c.mean_z, 3),
                "mean_pair_probability": round(c.score, 4),
                "sections": sorted({(r["filing_id"], r["section"]) for r in mem}),
                "circulators": sorted({str(r["circulator"] or "") for r in mem}),
                "filings": sorted({r["filing_id"] for r in mem}),
                "pairs": [[label[a], label[b], round(p, 4)] for a, b, p in c.pairs],
            }
            cid = fraud_db.add_cluster(ws, scan_id, number, c.scope, c.score, len(mem), canonical_json(evidence))
            line_rows += [(cid, int(r["line_id"]), int(r["filing_id"]), float(s)) for r, s in zip(mem, c.strength)]
        fraud_db.add_cluster_lines(ws, line_rows)
        ws.log_event("same_hand_scan", user=user, filing_id=filing_id,
                     payload={"scan_id": scan_id, "lines": len(rows), "usable": len(use), "clusters": len(clusters),
                              "flagged": len(flagged), "scopes": scopes, "model_version": model.version,
                              "embedding_version": ev, "params": params.to_dict(),
                              "null": {k: stats.get(k) for k in ("null_median", "null_sd", "strict_z")},
                              "flagged_sha256": hashlib.sha256(json.dumps(flagged).encode()).hexdigest(),
                              "filing_id": filing_id,
                              "inputs_sha256": _inputs_sha256(rows, model.version, ev, params)})
    if retriage:
        # the clusters' lines go to review now; and lines a previous scan
        # flagged but this one does not are determined again too
        targets = [filing_id] if filing_id is not None else sorted({r["filing_id"] for r in rows})
        for f in targets:
            # a certified filing keeps its count (the scan is on record; a
            # supervisor reopens the filing to act on it)
            if certification_state(ws, f)["state"] != "certified":
                run_triage(ws, f, user=user)
    progress("same-hand scan", 3, 3)
    return ScanResult(scan_id, len(rows), len(clusters), len(flagged), embedded, len(rows) - len(use), filings,
                      scopes, stats)


def scan_report(result: ScanResult) -> StageReport:
    """The scan as a stage report (for ``petitions run``-style printing)."""
    rep = StageReport("same_hand")
    rep.processed = result.lines
    rep.counts = {"clusters": result.clusters, "flagged": result.flagged, "embedded": result.embedded}
    return rep


def same_hand_clusters(ws: Workspace, filing_id: int) -> list[dict]:
    """The clusters of the scan in force that hold lines of the filing, as
    people read them: ``id``, ``scan_id``, ``number``, ``scope``, ``score``,
    ``size`` (all its lines, every filing), ``lines_here`` and ``evidence``
    (dict), in the scan's order (strongest evidence first)."""
    from petitions.store import fraud as fraud_db

    out = []
    for r in fraud_db.clusters_of_filing(ws, filing_id):
        d = dict(r)
        d["evidence"] = json.loads(d.pop("evidence_json") or "{}")
        out.append(d)
    return out


def same_hand_cluster(ws: Workspace, cluster_id: int) -> dict:
    """One cluster with its lines (``lines``: line_id, filing_id, label,
    section, circulator, signature_hash, strength, voter_id) in filing
    order; :class:`~petitions.errors.UserError` if there is none."""
    from petitions.errors import UserError
    from petitions.store import fraud as fraud_db

    c = fraud_db.cluster(ws, cluster_id)
    if c is None:
        raise UserError(f"no same-hand cluster with id {cluster_id}")
    d = dict(c)
    d["evidence"] = json.loads(d.pop("evidence_json") or "{}")
    d["lines"] = fraud_db.cluster_lines(ws, cluster_id)
    return d
