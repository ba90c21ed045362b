"""Distances between signature feature vectors, pair by pair, all at once.

A questioned signature and a reference are compared family by family; each
family gives a few named distances. The distance vector of a pair is what
the calibrated model (:mod:`sigverify.signatures.model`) turns into a
probability of the same writer.
"""
from __future__ import annotations

import concurrent.futures as cf
import os

import numpy as np

from sigverify.signatures.features import PYRAMID
from sigverify.signatures.preprocess import GEOMETRY_NAMES

__all__ = ["DISTANCE_NAMES", "pair_distances", "indexed_pair_distances", "family_of"]


def _l1(a, b):
    d = np.subtract(a, b)
    return np.abs(d, out=d).mean(axis=1)


def _cos(a, b):
    num = (a * b).sum(axis=1)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return 1.0 - np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _corr(a, b):
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return _cos(a, b)


def _split_profiles(f, bins=48):
    h = f.shape[1] - 3 * bins
    return f[:, :h], f[:, h : h + bins], f[:, h + bins : h + 2 * bins], f[:, h + 2 * bins :]


def _shifted_l1(a, b, shape, max_shift=1):
    """Smallest mean |a - b| over small shifts of the (rows, cols) grid of b."""
    n = a.shape[0]
    ga = a.reshape(n, *shape)
    gb = b.reshape(n, *shape)
    best = None
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            sa = ga[:, max(dy, 0) : shape[0] + min(dy, 0), max(dx, 0) : shape[1] + min(dx, 0)]
            sb = gb[:, max(-dy, 0) : shape[0] + min(-dy, 0), max(-dx, 0) : shape[1] + min(-dx, 0)]
            d = np.abs(sa - sb).mean(axis=(1, 2))
            best = d if best is None else np.minimum(best, d)
    return best


HOG_GRID = (7, 23, 36)  # blocks (rows, cols) x block length on the 64 x 192 canvas
HOG_REGIONS = (2, 4)
GRAD_ORIENTATIONS = 9
GRAD_ZONES = 2  # the level of PYRAMID whose zones get a distance each

#: Names of the distance columns, in order; the family is the prefix.
DISTANCE_NAMES = (
    ("hog.l1", "hog.cos", "hog.coarse_cos", "hog16.cos", "hog16.l1")
    + tuple(f"hog.region{i}" for i in range(HOG_REGIONS[0] * HOG_REGIONS[1]))
    + tuple(f"grad.level{i}" for i in range(len(PYRAMID)))
    + tuple(f"grad.zone{i}" for i in range(PYRAMID[GRAD_ZONES][0] * PYRAMID[GRAD_ZONES][1]))
    + ("zoning.l1", "zoning.corr", "zoning.shift_l1")
    + ("profiles.rows", "profiles.cols", "profiles.upper", "profiles.lower")
    + tuple(f"geometry.{g}" for g in GEOMETRY_NAMES)
)


def family_of(name: str) -> str:
    return name.split(".", 1)[0]


def _regions(a, grid, regions):
    """(N, R*C*L) → list of (N, D_r) pieces on a regions[0] x regions[1] split."""
    n = a.shape[0]
    g = a.reshape(n, *grid)
    rs = np.array_split(np.arange(grid[0]), regions[0])
    cs = np.array_split(np.arange(grid[1]), regions[1])
    return [g[:, r[0] : r[-1] + 1, c[0] : c[-1] + 1].reshape(n, -1) for r in rs for c in cs]


def _coarse(a, grid):
    """Average 2 x 2 neighbouring blocks: a shift-tolerant view (the 2 x 2
    averages starting at every other row and column)."""
    n = a.shape[0]
    g = a.reshape(n, *grid)
    r, c = grid[0] - 1, grid[1] - 1  # averages exist up to here; every other one is kept
    g00, g10 = g[:, 0:r:2, 0:c:2], g[:, 1 : r + 1 : 2, 0:c:2]
    g01, g11 = g[:, 0:r:2, 1 : c + 1 : 2], g[:, 1 : r + 1 : 2, 1 : c + 1 : 2]
    out = np.add(g00, g10)
    out += g01
    out += g11
    out *= a.dtype.type(0.25)
    return out.reshape(n, -1)


def pair_distances(fa: dict[str, np.ndarray], fb: dict[str, np.ndarray]) -> np.ndarray:
    """Distance vectors of N pairs of signatures.

    Parameters
    ----------
    fa, fb : dict of str to (N, D_family) float32 arrays
        Features of the first and second signature of each pair, from
        :func:`~sigverify.signatures.features.extract_features`.

    Returns
    -------
    distances : (N, len(DISTANCE_NAMES)) float32 array
        Column ``j`` is the distance :data:`DISTANCE_NAMES` ``[j]``; 0 means
        identical.
    """
    cols = []
    a, b = fa["hog"], fb["hog"]
    cols += [_l1(a, b), _cos(a, b), _cos(_coarse(a, HOG_GRID), _coarse(b, HOG_GRID))]
    cols += [_cos(x, y) for x, y in zip(_regions(a, HOG_GRID, HOG_REGIONS), _regions(b, HOG_GRID, HOG_REGIONS))]
    cols += [_cos(fa["hog16"], fb["hog16"]), _l1(fa["hog16"], fb["hog16"])]
    a, b = fa["grad"], fb["grad"]
    o = GRAD_ORIENTATIONS
    bounds = np.cumsum([0] + [r * c * o for r, c in PYRAMID])
    diff2 = (a - b) ** 2
    # Hellinger distance of each zone's direction distribution, averaged
    # over the zones of each level; and each zone of one level on its own
    zone = [diff2[:, bounds[i] : bounds[i + 1]].reshape(len(a), -1, o).sum(axis=2) for i in range(len(PYRAMID))]
    cols += [np.sqrt(z).mean(axis=1) for z in zone]
    cols += list(np.sqrt(zone[GRAD_ZONES]).T)
    a, b = fa["zoning"], fb["zoning"]
    nz = a.shape[1]
    cols += [_l1(a, b), _corr(a, b), _shifted_l1(a, b, (8, nz // 8), max_shift=2)]
    pa, pb = _split_profiles(fa["profiles"]), _split_profiles(fb["profiles"])
    cols += [_l1(x, y) for x, y in zip(pa, pb)]
    ga, gb = fa["geometry"], fb["geometry"]
    cols += list(np.abs(ga - gb).T)
    return np.stack(cols, axis=1).astype(np.float32)


def indexed_pair_distances(
    feats: dict[str, np.ndarray],
    index_a: np.ndarray,
    index_b: np.ndarray,
    *,
    chunk: int = 128,
    workers: int = 1,
) -> np.ndarray:
    """:func:`pair_distances` of the pairs ``(feats[index_a[i]], feats[index_b[i]])``.

    The rows are gathered `chunk` pairs at a time, so that a batch of many
    pairs never materialises two full copies of the (long) HOG vectors and
    each step's arrays stay in cache (a few MB: no fresh pages to fault in
    either). Every distance is computed row by row, so the result does not
    depend on `chunk` or `workers`.

    Parameters
    ----------
    feats : dict of str to (M, D_family) float32 arrays
    index_a, index_b : (N,) int arrays
        Rows of the first and second signature of each pair.
    chunk : int
        Pairs per step (memory locality, not a limit).
    workers : int
        Threads (numpy releases the GIL in the array operations); 1 = this
        thread only, -1 = every core.

    Returns
    -------
    distances : (N, len(DISTANCE_NAMES)) float32 array
    """
    ia = np.asarray(index_a, np.int64)
    ib = np.asarray(index_b, np.int64)
    if ia.shape != ib.shape or ia.ndim != 1:
        raise ValueError("The parameters `index_a` and `index_b` must be 1-D of the same length")
    out = np.empty((len(ia), len(DISTANCE_NAMES)), np.float32)
    if workers is None or workers < 0:
        workers = os.cpu_count() or 1

    def run(s):
        a, b = ia[s : s + chunk], ib[s : s + chunk]
        out[s : s + chunk] = pair_distances({k: v[a] for k, v in feats.items()}, {k: v[b] for k, v in feats.items()})

    starts = range(0, len(ia), chunk)
    if workers <= 1 or len(starts) <= 1:
        for s in starts:
            run(s)
    else:
        with cf.ThreadPoolExecutor(max_workers=min(workers, len(starts))) as ex:
            list(ex.map(run, starts))
    return out
