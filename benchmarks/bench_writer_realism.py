"""Is the synthetic writer model realistic?  Compare a baseline's error rates.

One simple classical writer-independent verifier -- Otsu-binarize, crop to
ink, resize to a fixed size, HOG on a grid (``skimage.feature.hog``),
Euclidean distance between questioned and reference, one global threshold --
is run on

(a) the real SigComp2011 development signatures (skipped when
    ``../shared/data/sigcomp2011-dev`` is absent), and
(b) synthetic writers from :mod:`fixtures.signatures`,

with one reference signature, and reports the random-forgery EER (other
writers' genuine signatures as impostors) and the skilled-forgery EER.
If the synthetic numbers are close to the real ones, the synthetic data is
neither too easy nor impossibly hard for the tests and the demo.

Usage::

    python benchmarks/bench_writer_realism.py [--out benchmarks/out/writer_realism.json]
        [--real-dir ../shared/data/sigcomp2011-dev] [--writers 40] [--genuine 12]
        [--forgeries 12] [--seed 2011]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.feature import hog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixtures.signatures import render_forgery, render_signature, writer_traits  # noqa: E402

SIZE = (96, 224)  # (rows, cols) after normalisation

FIRST = ["Maria", "John", "Wei", "Olivia", "Robert", "Fatima", "Patrick", "Lucy", "Ahmed",
         "Grace", "Daniel", "Sofia", "Kenji", "Esther", "Marcus", "Priya", "Tomas", "Helen",
         "Victor", "Nadia", "Samuel", "Irene", "Luis", "Beatrice"]
MIDDLE = ["", "", "L.", "Anne", "J.", "", "Marie", "T."]
LAST = ["Gonzalez", "Smith", "Chen", "Brightwater", "Jackson", "Khan", "Oneill", "Park",
        "Hassan", "Whitfield", "Moreno", "Kowalski", "Tanaka", "Abernathy", "Lindqvist",
        "Okafor", "Dubois", "Yamamoto", "Castellanos", "Fry", "Nguyen", "Baptiste", "Rivera",
        "Holloway"]


def baseline_features(images: list[np.ndarray]) -> np.ndarray:
    """Baseline features: binarize, crop to ink, resize, HOG.  (N, D) float32."""
    feats = []
    for im in images:
        g = im if im.ndim == 2 else cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)
        g = cv2.GaussianBlur(g, (3, 3), 0)
        _, ink = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        ys, xs = np.nonzero(ink)
        if len(ys):
            ink = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        r = cv2.resize(ink, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        feats.append(hog(r, orientations=9, pixels_per_cell=(16, 16), cells_per_block=(2, 2),
                         feature_vector=True).astype(np.float32))
    return np.stack(feats)


def eer(pos: np.ndarray, neg: np.ndarray) -> float:
    """Equal error rate for distances (small = same writer)."""
    thr = np.unique(np.concatenate([pos, neg]))
    pos_s, neg_s = np.sort(pos), np.sort(neg)
    frr = 1 - np.searchsorted(pos_s, thr, side="right") / len(pos)   # genuine above threshold
    far = np.searchsorted(neg_s, thr, side="right") / len(neg)      # impostor at or below
    i = int(np.argmin(np.abs(frr - far)))
    return float((frr[i] + far[i]) / 2)


def evaluate(feats: np.ndarray, writer: np.ndarray, is_forgery: np.ndarray) -> dict:
    """1-reference EERs: every genuine in turn is the reference.

    Positives: the writer's other genuines.  Random impostors: every genuine
    of the other writers.  Skilled impostors: the writer's forgeries.
    """
    sq = (feats ** 2).sum(1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * feats @ feats.T, 0))
    gen = np.flatnonzero(~is_forgery)
    pos, rnd, skl = [], [], []
    for r in gen:
        same = writer == writer[r]
        g_same = same & ~is_forgery
        g_same[r] = False
        pos.append(d[r, g_same])
        rnd.append(d[r, ~same & ~is_forgery])
        skl.append(d[r, same & is_forgery])
    pos, rnd, skl = map(np.concatenate, (pos, rnd, skl))
    return {
        "random_eer": round(eer(pos, rnd), 4),
        "skilled_eer": round(eer(pos, skl), 4) if len(skl) else None,
        "n_genuine_pairs": int(len(pos)),
        "n_random_pairs": int(len(rnd)),
        "n_skilled_pairs": int(len(skl)),
    }


def load_real(real_dir: Path):
    images, writer, forg = [], [], []
    for sub in sorted(real_dir.iterdir()):
        m = re.fullmatch(r"(\d{3})(_forg)?", sub.name)
        if not sub.is_dir() or not m:
            continue
        for f in sorted(sub.glob("*.png")):
            im = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            if im is None:
                continue
            images.append(im)
            writer.append(int(m.group(1)))
            forg.append(m.group(2) is not None)
    return images, np.array(writer), np.array(forg)


def make_synthetic(n_writers: int, n_genuine: int, n_forg: int, seed: int, dpi: int = 300):
    rng = np.random.default_rng(seed)
    images, writer, forg, names = [], [], [], []
    n_forgers = 4
    for w in range(n_writers):
        ws = seed * 1000 + w
        name = " ".join(p for p in (rng.choice(FIRST), rng.choice(MIDDLE), rng.choice(LAST)) if p)
        names.append(name)
        for s in range(n_genuine):
            images.append(render_signature(name, ws, s, dpi=dpi))
            writer.append(w)
            forg.append(False)
        forgers = [seed * 1000 + 500 + int(x) for x in rng.choice(400, n_forgers, replace=False)]
        for s in range(n_forg):
            images.append(render_forgery(name, ws, forgers[s % n_forgers], s, dpi=dpi))
            writer.append(w)
            forg.append(True)
    return images, np.array(writer), np.array(forg), names


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks/out/writer_realism.json"))
    ap.add_argument("--real-dir", default=str(ROOT.parent / "shared/data/sigcomp2011-dev"))
    ap.add_argument("--writers", type=int, default=40)
    ap.add_argument("--genuine", type=int, default=12)
    ap.add_argument("--forgeries", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2011)
    args = ap.parse_args(argv)

    result: dict = {
        "baseline": "otsu-binarize, crop, resize {}x{}, HOG 9 orient 16px cells 2x2 blocks, "
                    "Euclidean, 1 reference, global threshold".format(*SIZE),
        "reference_real_baseline_from_issue": {"random_eer": 0.11, "skilled_eer": 0.29},
    }
    real_dir = Path(args.real_dir)
    if real_dir.is_dir():
        t0 = time.perf_counter()
        ims, w, f = load_real(real_dir)
        result["real"] = {"writers": int(len(np.unique(w))), "images": len(ims),
                          **evaluate(baseline_features(ims), w, f),
                          "seconds": round(time.perf_counter() - t0, 2)}
    else:
        result["real"] = {"skipped": f"{real_dir} not found"}

    t0, c0 = time.perf_counter(), time.process_time()
    ims, w, f, names = make_synthetic(args.writers, args.genuine, args.forgeries, args.seed)
    t_render, c_render = time.perf_counter() - t0, time.process_time() - c0
    # CPU time is the fairer speed figure on a shared machine; wall time is
    # what a user waits.
    syn = {"writers": args.writers, "images": len(ims), "dpi": 300,
           "render_ms_per_signature_wall": round(1000 * t_render / len(ims), 3),
           "render_ms_per_signature_cpu": round(1000 * c_render / len(ims), 3)}
    syn.update(evaluate(baseline_features(ims), w, f))
    styles = [writer_traits(args.seed * 1000 + i)["style"] for i in range(args.writers)]
    syn["styles"] = {s: styles.count(s) for s in sorted(set(styles))}
    shapes = np.array([im.shape for im in ims])
    syn["median_size_px_300dpi"] = [int(v) for v in np.median(shapes, axis=0)]
    result["synthetic"] = syn
    if "random_eer" in result["real"]:
        result["gap"] = {k: round(syn[k] - result["real"][k], 4) for k in ("random_eer", "skilled_eer")}

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
