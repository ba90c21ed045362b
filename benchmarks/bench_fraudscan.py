"""Time the same-hand scan (``petitions fraud-scan``'s compute) on a
60,000-line filing, beside the irreducible floor measured in the same run:
one blocked pass of plain matrix products over every pair of lines.

    python benchmarks/bench_fraudscan.py [--lines 60000] [--dim 128] [--seed 0]
                                         [--threads 2] [--out benchmarks/out/fraudscan.json]
                                         [--reference REV]

The embeddings are synthetic (seeded): unit vectors of honest writers at
random, plus planted hands — each round-tabled section written by two or
three hands (a centre plus noise, like one person's signatures across
different names), some circulators holding two sections. The scan is
:func:`petitions.stages.fraud.find_clusters` with the shipped same-hand
model (:func:`sigverify.signatures.samehand.samehand_matrix`) for the
clusters' scores; embedding the crops is the signature stage's work and is
not timed here (a scan reads stored embeddings). Prints a JSON report and
writes it to ``--out``: wall times, the share of planted lines flagged and
of honest lines flagged on these synthetic vectors, the CPU count, threads
and load average (the machine may be shared: read timings with the load in
mind).

``--reference REV`` also runs ``find_clusters`` as it stood at git revision
REV (``petitions/stages/fraud.py`` read with ``git show``) on the same data,
times it, and checks that both return the same clusters — members, scope,
score, evidence, strongest pairs — and the same null (``identical_to_reference``;
the exit status is 1 when they differ).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def synthetic(lines: int, dim: int, seed: int, *, noise: float = 1.2):
    import numpy as np

    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 61, size=lines // 20 + 10)
    sec = np.repeat(np.arange(len(sizes)), sizes)[:lines]
    circ = sec.copy()
    nsec = int(sec.max()) + 1
    # one circulator in 60 holds its next section too
    for s in range(0, nsec - 1, 60):
        circ[sec == s + 1] = s
    emb = rng.normal(size=(lines, dim)).astype(np.float32)
    truth = np.full(lines, -1)
    hand = 0
    for s in range(3, nsec, 25):  # one section in 25 round-tabled
        rows = np.flatnonzero(sec == s)
        k = 2 + (s % 2)
        centres = rng.normal(size=(k, dim))
        who = rng.integers(0, k, len(rows))
        emb[rows] = centres[who] + noise * rng.normal(size=(len(rows), dim))
        truth[rows] = hand + who
        hand += k
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb.astype(np.float32), sec, circ, truth


def load_reference(rev: str):
    """``petitions.stages.fraud`` as it stood at git revision `rev`."""
    import importlib.util
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parent.parent
    src = subprocess.run(["git", "show", f"{rev}:petitions/stages/fraud.py"], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "fraud_reference.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("fraud_reference", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fraud_reference"] = mod
    spec.loader.exec_module(mod)
    return mod


def same_clusters(a, b) -> bool:
    """Two scans' clusters equal: members, scope, score, evidence, strength, pairs."""
    import numpy as np

    return len(a) == len(b) and all(
        np.array_equal(x.members, y.members) and x.scope == y.scope and x.score == y.score
        and x.evidence_z == y.evidence_z and x.mean_z == y.mean_z and np.array_equal(x.strength, y.strength)
        and x.pairs == y.pairs for x, y in zip(a, b))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=60_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (the target machine has 2 cores)")
    ap.add_argument("--reference", metavar="REV", help="also run find_clusters as of git revision REV and compare")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/fraudscan.json"))
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    from petitions.stages.fraud import ScanParams, find_clusters
    from sigverify.signatures.samehand import load_samehand_model, samehand_matrix

    emb, sec, circ, truth = synthetic(args.lines, args.dim, args.seed)
    model = load_samehand_model()
    load_before = os.getloadavg()

    # the floor: every pair's similarity once, in blocks, nothing kept
    t = time.perf_counter()
    n, b, chunk = len(emb), ScanParams().block, 8192
    passed = 0
    for a in range(0, n, b):
        for c0 in range(a, n, chunk):
            passed += int(np.count_nonzero(emb[a:a + b] @ emb[c0:c0 + chunk].T >= 0.9))
    floor_s = time.perf_counter() - t

    t = time.perf_counter()
    clusters, stats = find_clusters(emb, sec, circ, np.zeros(n, np.int64),
                                    probability=lambda x, y: samehand_matrix(x, y, model=model))
    scan_s = time.perf_counter() - t
    reference = None
    if args.reference:
        ref_mod = load_reference(args.reference)
        t = time.perf_counter()
        ref_clusters, ref_stats = ref_mod.find_clusters(emb, sec, circ, np.zeros(n, np.int64),
                                                        probability=lambda x, y: samehand_matrix(x, y, model=model))
        ref_s = time.perf_counter() - t
        strip = ({k: v for k, v in st.items() if k != "seconds"} for st in (stats, ref_stats))
        reference = {"rev": args.reference, "seconds": round(ref_s, 2), "phases": ref_stats.get("seconds"),
                     "identical_to_reference": same_clusters(clusters, ref_clusters) and next(strip) == next(strip),
                     "speedup": round(ref_s / scan_s, 2) if scan_s else None}
    flagged = np.zeros(n, bool)
    for c in clusters:
        flagged[c.members] = True
    planted = truth >= 0
    report = {
        "lines": n, "dim": args.dim, "seed": args.seed, "threads": args.threads,
        "scan_seconds": round(scan_s, 2), "all_pairs_floor_seconds": round(floor_s, 2),
        "scan_over_floor": round(scan_s / floor_s, 2) if floor_s else None,
        "target_seconds": 60, "meets_target": scan_s <= 60,
        "pairs": n * (n - 1) // 2, "clusters": len(clusters),
        "planted_lines": int(planted.sum()), "planted_flagged": float(flagged[planted].mean()),
        "honest_flagged": float(flagged[~planted].mean()),
        "stats": {k: (float(v) if isinstance(v, (int, float, np.floating)) else v) for k, v in stats.items()},
        "model_version": model.version, "reference": reference,
        "machine": {"cpus": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": os.getloadavg(),
                    "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 1 if reference is not None and not reference["identical_to_reference"] else 0


if __name__ == "__main__":
    sys.exit(main())
