"""Train the same-hand network (issue 21, item 6): one hand across many
*different names*, as on round-tabled petition sheets — and export it for
:mod:`sigverify.signatures.samehand`.

    pip install -e '.[train]'          # PyTorch CPU (optional extra)
    nice python benchmarks/train_samehand.py --out sigverify/models

(The shipped network: these defaults — 1,200 hands x 8 names, 3 epochs from
the verifier's weights, about 25 minutes of training and 10 of rendering on
the loaded shared 2 cores.)

The verifier's network (``signature_embedding``) was trained to tell a
forger from the victim, on writers who each sign only their own name: it
never learned "one hand, different names", and it separates hands across
names barely better than chance. This network has the verifier's
architecture (so the same OpenCV DNN code, the same numpy reference and the
same stored-embedding path run it) and starts from its weights, then learns
on synthetic *hands* that each sign many different voters' names, in
signature cells cut from rendered, scanned petition pages
(:func:`hand_cells`: 1-bit TIFF or JPEG, noise, residual skew — what the
pipeline cuts), with a cosine-margin softmax over the hands. The name never
identifies a class, so what the network keeps is the hand's style.

One command does everything, reproducibly (fixed seeds; the cells are
rendered in chunks whose seeds do not depend on the number of processes):

1. renders ``--hands`` training hands (writer seeds 2,000,000+) signing
   ``--names`` names each, and two held-out sets of other hands —
   calibration (3,000,000+) and evaluation (5,000,000+) — and preprocesses
   every cell onto the core's canvas (``sigverify.preprocess``, resolution
   unknown, as the pipeline); canvases are cached in ``--work``;
2. fine-tunes the verifier's network on the training hands;
3. measures, on hands it never saw: ROC AUC of same-hand against
   different-hand pairs of *different names*, with a 95 % bootstrap over
   the hands, on the evaluation hands and on the real corpora's forgers
   (SigComp2011 Dutch and NFI forgers imitating several people, when the
   corpora are present; never used for any choice — but with ``--init
   verifier``, the default and the shipped network, the starting network
   was trained on those images, so the real figures are *not* held out and
   are written as such), beside the verifier's network on the same pairs;
4. calibrates P(one hand) as a logistic curve over the cosine distance on
   the calibration hands, and writes ``signature_samehand.onnx`` / ``.npz``
   (weights) and ``signature_samehand.json`` (calibration, provenance and
   the held-out figures) to ``--out``, plus a JSON report to ``--report``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

NAME = "signature_samehand"
CHUNK = 100  # hands per rendering chunk (its seed is fixed by its position)


def _signed_name(rng, firsts, surs) -> str:
    """A voter's name as people sign petitions (the shares of fixtures.signers)."""
    f, last = str(rng.choice(firsts)), str(rng.choice(surs))
    u = rng.random()
    if u < 0.45:
        return f"{f} {last}"
    if u < 0.80:
        return f"{f[0]}. {last}"
    if u < 0.92:
        return f"{f} {str(rng.choice(firsts))[0]} {last}"
    return last


def hand_cells(n_hands: int, names: int, *, seed: int, first_writer: int):
    """`n_hands` hands (writer seeds ``first_writer``+) each signing `names`
    different voters' names, cut from scanned petition pages.

    Returns (crops, hand) — hand = the writer seed of each crop."""
    from train_embedding import scanned_cells

    from fixtures import signatures as fs
    from fixtures.voters import load_tables

    rng = np.random.default_rng([seed, first_writer, 0x5A3E])
    t = load_tables()
    firsts, surs = t["first_names"]["name"].to_list(), t["surnames"]["name"].to_list()
    queue = []
    for i in range(n_hands):
        w = first_writer + i
        for k in range(names):
            queue.append((fs.render_signature(_signed_name(rng, firsts, surs), w, 100 + k, dpi=200), w))
    order = [int(j) for j in rng.permutation(len(queue))]
    crops, hand = [], []
    while order:
        layout = "two_row" if rng.random() < 0.25 else "single_row"
        take = 8 if layout == "two_row" else 10
        chunk = [queue[j] for j in order[:take]]
        order = order[take:]
        crops += scanned_cells([c[0] for c in chunk], layout, rng, skew=0.4)
        hand += [c[1] for c in chunk]
    return crops, np.array(hand, np.int64)


def _chunk(job):
    n, names, seed, first, work = job
    cache = Path(work) / f"samehand-chunk-{n}-{names}-{seed}-{first}.npz"
    if cache.exists():
        z = np.load(cache)
        return z["images"], z["error"], z["hand"]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import sigverify

    crops, hand = hand_cells(n, names, seed=seed, first_writer=first)
    prep = sigverify.preprocess(crops, dpi=None)
    out = prep.images.astype(np.float16), prep.error.astype(str), hand
    np.savez(cache, images=out[0], error=out[1], hand=out[2])
    return out


def prepare(work: Path, n_hands: int, names: int, seed: int, first_writer: int, processes: int = 1):
    """Canvases of :func:`hand_cells` in chunks of 100 hands (each cached in
    `work`: a larger set reuses a smaller one's chunks)."""
    t0 = time.perf_counter()
    jobs = [(min(CHUNK, n_hands - a), names, seed + a // CHUNK, first_writer + a, str(work))
            for a in range(0, n_hands, CHUNK)]
    if processes > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(processes) as pool:
            parts = pool.map(_chunk, jobs)
    else:
        parts = [_chunk(j) for j in jobs]
    out = {"images": np.concatenate([p[0] for p in parts]), "error": np.concatenate([p[1] for p in parts]),
           "hand": np.concatenate([p[2] for p in parts])}
    print(f"{len(out['hand'])} cells of {n_hands} hands rendered+preprocessed in {time.perf_counter() - t0:.0f} s",
          flush=True)
    return out


def synthetic_pairs(hand: np.ndarray, ok: np.ndarray, *, seed: int, max_neg: int = 60000):
    """All same-hand pairs (two different names of one hand) and random
    different-hand pairs, usable cells only: (a, b, same)."""
    idx = np.flatnonzero(ok)
    A, B = [], []
    for h in np.unique(hand[idx]):
        m = idx[hand[idx] == h]
        i, j = np.triu_indices(len(m), 1)
        A.append(m[i]), B.append(m[j])
    a_pos, b_pos = np.concatenate(A), np.concatenate(B)
    rng = np.random.default_rng(seed)
    a, b = rng.choice(idx, max_neg), rng.choice(idx, max_neg)
    keep = hand[a] != hand[b]
    a, b = a[keep], b[keep]
    return (np.r_[a_pos, a], np.r_[b_pos, b], np.r_[np.ones(len(a_pos), bool), np.zeros(len(a), bool)])


def real_forgers(data: Path, work: Path):
    """Canvases of the Dutch and NFI images with owner / hand labels (None
    when the corpora are absent; cached in `work`, outside the repository).
    Internal data: read, never copied into the repository."""
    from real_corpora import list_corpora

    import sigverify
    from sigverify.imageio import read_image

    c = list_corpora(data)
    if c is None:
        return None
    sel = np.flatnonzero(np.isin(c.corpus, ["dutch", "nfi"]))
    cache = work / f"samehand-real-{len(sel)}.npz"
    if cache.exists():
        z = np.load(cache)
        images, error = z["images"], z["error"]
    else:
        prep = sigverify.preprocess([read_image(c.files[i]) for i in sel], dpi=None)
        images, error = prep.images.astype(np.float16), prep.error.astype(str)
        np.savez(cache, images=images, error=error)
    return {"images": images, "error": error, "corpus": c.corpus[sel], "owner": c.owner[sel],
            "hand": c.hand[sel], "genuine": c.genuine[sel]}


def cosine_distance(e, a, b):
    return np.clip(1.0 - np.einsum("ij,ij->i", e[a], e[b]), 0.0, 2.0)


def evaluate(embed_fns: dict, ev: dict, real: dict | None) -> dict:
    """Held-out AUCs (95 % hand bootstrap) of each network in `embed_fns`."""
    from bench_embedding import auc_table, samehand_pairs

    out: dict = {}
    ok = ev["error"] == ""
    a, b, same = synthetic_pairs(ev["hand"], ok, seed=11)
    for name, fn in embed_fns.items():
        e = fn(ev["images"])
        out.setdefault(name, {})["synthetic"] = auc_table(-cosine_distance(e, a, b), same, ev["hand"][a],
                                                          np.ones(len(a), bool))
    if real is not None:
        rok = real["error"] == ""
        group = real["corpus"].astype(str)
        ra, rb, rs = samehand_pairs(real["hand"], real["owner"], group, rok, rng=np.random.default_rng(9))
        g = real["genuine"]
        for name, fn in embed_fns.items():
            e = fn(real["images"])
            d = -cosine_distance(e, ra, rb)
            out[name]["real"] = {
                c: auc_table(d, rs, real["hand"][ra], sel, genuine_a=g[ra], genuine_b=g[rb])
                for c, sel in (("pooled", np.ones(len(ra), bool)), ("dutch", real["corpus"][ra] == "dutch"),
                               ("nfi", real["corpus"][ra] == "nfi"))}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hands", type=int, default=1200, help="training hands (default 1200)")
    ap.add_argument("--names", type=int, default=8, help="different names each hand signs (default 8)")
    ap.add_argument("--eval-hands", type=int, default=200)
    ap.add_argument("--calib-hands", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--max-lr", type=float, default=2e-3)
    ap.add_argument("--init", choices=("scratch", "verifier"), default="verifier",
                    help="start from the shipped verifier network (default, as shipped: it was trained on the real "
                         "corpora, so their figures are then not held out) or from random weights (the real "
                         "corpora stay entirely held out; needs many more epochs)")
    ap.add_argument("--seed", type=int, default=2121)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--processes", type=int, default=2, help="rendering processes")
    ap.add_argument("--work", type=Path, default=Path("/tmp/samehand-work"))
    ap.add_argument("--data", type=Path, default=None, help="real corpora (default ../shared/data when present)")
    ap.add_argument("--out", type=Path, default=None, help="write the model files here (e.g. sigverify/models)")
    ap.add_argument("--report", type=Path, default=Path("benchmarks/out/train_samehand.json"))
    args = ap.parse_args(argv)

    import torch
    from train_embedding import embed_torch, export, fold_batchnorm, load_folded, train

    from sigverify.signatures.model import fit_logistic

    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(m, flush=True)  # noqa: E731
    tr = prepare(args.work, args.hands, args.names, args.seed, 2_000_000, args.processes)
    cal = prepare(args.work, args.calib_hands, args.names, args.seed + 1000, 3_000_000, args.processes)
    ev = prepare(args.work, args.eval_hands, args.names, args.seed + 2000, 5_000_000, args.processes)
    real = None
    if args.data is not None or (ROOT.parent / "shared" / "data").exists():
        from real_corpora import DEFAULT_DATA

        real = real_forgers(args.data or DEFAULT_DATA, args.work)

    base_npz = ROOT / "sigverify" / "models" / "signature_embedding.npz"
    ok = tr["error"] == ""
    _, labels = np.unique(tr["hand"][ok], return_inverse=True)
    t0 = time.perf_counter()
    net = train(tr["images"][ok].astype(np.float32), labels, epochs=args.epochs, seed=args.seed,
                net=load_folded(base_npz) if args.init == "verifier" else None, max_lr=args.max_lr, log=log)
    train_s = time.perf_counter() - t0
    log(f"trained in {train_s:.0f} s")
    folded = fold_batchnorm(net)
    base = load_folded(base_npz)
    fns = {"samehand": lambda x: embed_torch(folded, x.astype(np.float32)),
           "verifier": lambda x: embed_torch(base, x.astype(np.float32))}
    figures = evaluate(fns, ev, real)
    log(json.dumps(figures, indent=1))

    # calibration: the held-out calibration hands (never the evaluation hands, never the real forgers)
    cok = cal["error"] == ""
    ca, cb, cs = synthetic_pairs(cal["hand"], cok, seed=12)
    d = cosine_distance(fns["samehand"](cal["images"]), ca, cb)
    w = np.where(cs, 0.5 / cs.sum(), 0.5 / (~cs).sum()) * len(cs)
    model = fit_logistic(d[:, None], cs.astype(float), ["embedding.cos"], weight=w, l2=1.0)
    report = {
        "trained": dt.date.today().isoformat(), "train_seconds": round(train_s), "threads": args.threads,
        "load_avg": os.getloadavg(), "hands": args.hands, "names_per_hand": args.names, "epochs": args.epochs,
        "max_lr": args.max_lr, "seed": args.seed, "cells": int(ok.sum()), "held_out": figures,
        "calibration_pairs": {"same_hand": int(cs.sum()), "different_hands": int((~cs).sum())},
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1))
    if args.out is not None:
        onnx_path = export(net, args.out, NAME, {})
        digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:8]
        m = {"inputs": list(model.inputs), "coef": [float(c) for c in model.coef],
             "intercept": float(model.intercept), "mean": [float(v) for v in model.mean],
             "scale": [float(v) for v in model.scale]}
        doc = {
            "version": f"samehand-{dt.date.today().isoformat()}-{digest}",
            "embedding": NAME,
            "model": m,
            "provenance": {
                "network": f"{NAME}.onnx: the verifier's architecture, "
                           + ("fine-tuned from signature_embedding" if args.init == "verifier"
                              else f"trained from random weights ({args.epochs} epochs)")
                           + f" on {args.hands} synthetic hands each signing {args.names} different voters' names in "
                           "scanned petition cells (benchmarks/train_samehand.py)",
                "calibration": f"{args.calib_hands} held-out synthetic hands (writer seeds 3,000,000+), pairs of "
                               "different names, classes balanced",
                "held_out": {"synthetic": figures["samehand"]["synthetic"],
                             "synthetic_verifier_network_same_pairs": figures["verifier"]["synthetic"]},
                "real_forgers" + ("_not_held_out" if args.init == "verifier" else ""): {
                    "note": ("the network starts from signature_embedding, which was trained on every SigComp2011 "
                             "and NFI image: these figures are NOT held out (optimistic)") if args.init == "verifier"
                    else "never trained on, never used for any choice",
                    "samehand": figures["samehand"].get("real"),
                    "verifier_network_same_pairs": figures["verifier"].get("real")},
                "command": "python benchmarks/train_samehand.py " + " ".join(argv if argv is not None else
                                                                              sys.argv[1:]),
            },
        }
        (args.out / f"{NAME}.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
        log(f"wrote {onnx_path} and {NAME}.json ({doc['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
