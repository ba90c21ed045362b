"""Train the writer-independent signature embedding (issue 21) and export
it for :mod:`sigverify.signatures.embedding`.

    pip install -e '.[train]'          # PyTorch CPU (optional extra)
    python benchmarks/train_embedding.py --folds 4 --out sigverify/models

One command does everything, reproducibly (fixed seeds, one thread):

1. reads the real corpora in ``../shared/data/`` (internal use only; see
   their READMEs) and synthetic writers from ``fixtures.signatures``, and
   preprocesses every crop onto the core's canvas exactly as the pipeline
   does (``sigverify.preprocess``, scan resolution unknown); the canvases
   and labels are cached in ``--work`` (the shipped network was trained
   from a cache written before the SigComp2011 ``NN_FFFFWWW`` forger names
   were parsed: a fresh cache has the right forgers, see the model card);
2. leave-writers-out cross-validation: for each of ``--folds`` folds of
   owners (per corpus), trains on the other folds — leaving out every hand
   that wrote anything in the held-out fold — and embeds the held-out
   fold; the out-of-fold embeddings (``oof_fold<k>.npz``) and the fold
   networks (``fold<k>_net.pt``) are saved outside the repository for the
   calibration and the benchmark;
3. trains the final model on everything and exports it as ONNX (read by
   OpenCV's DNN module) and as an ``.npz`` of weights (read by the numpy
   reference forward used in tests).

Optional stage 2 (``--finetune-epochs N``, off by default and not in the
shipped network: it did not help, see the model card) fine-tunes each
network on synthetic petition-domain writers (:func:`petition_domain`);
``--finetune-from DIR`` starts it from saved networks.

The network classifies *hands* (each genuine writer; each forger, or for
BHSig each writer's set of forgeries) with a cosine-margin softmax
(CosFace), so that signatures of one hand lie close together and a skilled
forgery lies away from the signatures it imitates.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from real_corpora import DEFAULT_DATA, list_corpora, train_mask, writer_folds  # noqa: E402

import sigverify  # noqa: E402
from sigverify.imageio import read_image  # noqa: E402

SYN_FIRST = ["Ann", "Maria", "Jose", "Li", "Robert", "Ngozi", "Kim", "Alexander", "Sue", "Francisco", "Mo",
             "Elizabeth", "Guadalupe", "Mohammed", "Tran", "Olga", "Pat", "Jean-Luc", "Aisha", "Bo"]
SYN_LAST = ["Lee", "Garcia", "Smith", "Nguyen", "Okafor", "Johnson", "Wu", "Hernandez-Lopez", "Ito", "Kowalczyk",
            "Baker", "Okonkwo-Adeyemi", "Schmidt", "Rossi", "Haddad", "Kim", "Brown", "Dubois", "Singh", "Novak"]


def synthetic(n_writers: int, n_genuine: int, n_forgers: int, per_forger: int, *, seed: int = 21):
    """Synthetic writers (seeds 50,000+) and forgers who each imitate
    several of them: (images, owner, hand, genuine)."""
    from fixtures import signatures as fs

    rng = np.random.default_rng(seed)
    names = [f"{rng.choice(SYN_FIRST)} {rng.choice(SYN_LAST)}" for _ in range(n_writers)]
    images, owner, hand, genuine = [], [], [], []
    for i in range(n_writers):
        w = 50_000 + i
        dpi = int(rng.choice([150, 200, 300]))
        for s in range(n_genuine):
            images.append(fs.render_signature(names[i], w, s, dpi=dpi, age_years=float(rng.choice([0, 0, 5, 10]))))
            owner.append(f"syn:{w}"), hand.append(f"syn:{w}"), genuine.append(True)
    for j in range(n_forgers):
        f = 90_000 + j
        for t in rng.choice(n_writers, per_forger, replace=False):
            images.append(fs.render_forgery(names[t], 50_000 + int(t), f, j, dpi=200))
            owner.append(f"syn:{50_000 + int(t)}"), hand.append(f"syn:f{f}"), genuine.append(False)
    return images, np.array(owner), np.array(hand), np.array(genuine)


def petition_domain(n_hands: int, *, seed: int = 2121, per_forger: int = 4, other_names: int = 4,
                    first_writer: int = 700_000):
    """Synthetic writers as the *pipeline* sees them (issue 21, item 4): the
    voter's exemplars are clean renders of the full registered name at
    several ages (registration card, DMV pad, envelopes: 0-30 years old),
    the questioned signatures are written from the same name (the hand's
    habit shortens both alike; 10 % of them in a shorter form, "F. Last" or
    the surname, as :func:`fixtures.signers.draw_signers` draws them) in
    signature cells cut from rendered petition pages after a scanner's
    degradations (1-bit, JPEG, noise, skew) — small, faint, broken strokes.

    Hands (writer seeds `first_writer`+, never a county's 63-bit seeds; the
    held-out calibration set uses another range): each has 3
    exemplars and 2 petition crops of their own name; one in 8 is also a
    forger imitating `per_forger` others on petitions; one in 8 writes
    `other_names` other people's names in their own hand (round-tabling).
    Returns (images, owner, hand, genuine, petition) like :func:`synthetic`
    plus whether each image is a petition crop.
    """
    from fixtures import signatures as fs
    from fixtures.voters import load_tables

    rng = np.random.default_rng(seed)
    t = load_tables()
    firsts, surs = t["first_names"]["name"].to_list(), t["surnames"]["name"].to_list()

    # A voter's exemplars carry the full registered name (with the middle name, as the fixtures' county
    # renders them); on a petition people sign it the same way (the hand's habit shortens both alike),
    # except a minority of lines signed in a shorter form, as in fixtures.signers (SIGNATURE_VARIANT_SHARE:
    # half "F. Last", half the surname).
    from fixtures.signers import SIGNATURE_VARIANT_SHARE

    people = [(str(rng.choice(firsts)), str(rng.choice(firsts)) if rng.random() < 0.6 else "", str(rng.choice(surs)))
              for _ in range(n_hands)]
    names = [" ".join(p for p in person if p) for person in people]

    def signed(i):
        f, m, last = people[i]
        u = rng.random()
        if u < 1 - SIGNATURE_VARIANT_SHARE:
            return names[i]
        if u < 1 - SIGNATURE_VARIANT_SHARE / 2:
            return f"{f[0]}. {last}"
        return last

    images, owner, hand, genuine, petition = [], [], [], [], []
    queue = []  # (signature image, owner, hand, genuine) to be put on petition pages

    def add(img, o, h, g, pet):
        images.append(img), owner.append(o), hand.append(h), genuine.append(g), petition.append(pet)

    for i in range(n_hands):
        w = first_writer + i
        for k, age in enumerate(sorted(rng.choice([0, 1, 2, 4, 6, 10, 15, 20, 30], 3, replace=False))):
            add(fs.render_signature(names[i], w, 10 + k, dpi=200, age_years=float(age)), f"pd:{w}", f"pd:{w}", True,
                False)
        for k in range(2):
            queue.append((fs.render_signature(signed(i), w, 20 + k, dpi=200), f"pd:{w}", f"pd:{w}", True))
    for i in range(0, n_hands, 8):  # forgers imitating others on petitions
        f = first_writer + i
        for tgt in rng.choice(n_hands, per_forger, replace=False):
            if tgt == i:
                continue
            queue.append((fs.render_forgery(signed(int(tgt)), first_writer + int(tgt), f, 30 + int(tgt), dpi=200),
                          f"pd:{first_writer + int(tgt)}", f"pd:{f}", False))
    for i in range(4, n_hands, 8):  # one hand writing other voters' names in its own hand
        w = first_writer + i
        for tgt in rng.choice(n_hands, other_names, replace=False):
            if tgt == i:
                continue
            queue.append((fs.render_signature(signed(int(tgt)), w, 40 + int(tgt), dpi=200), f"pd:{first_writer + int(tgt)}",
                          f"pd:{w}", False))
    order = rng.permutation(len(queue))
    for p0 in range(0, len(order), 10):
        chunk = [queue[j] for j in order[p0:p0 + 10]]
        layout = "two_row" if rng.random() < 0.25 else "single_row"
        chunk = chunk[:8] if layout == "two_row" else chunk
        for j in order[p0 + len(chunk):p0 + 10]:  # the two-row form holds 8: the rest go on the next pages
            queue.append(queue[j])
            order = np.append(order, len(queue) - 1)
        for c, cell in zip(chunk, scanned_cells([c[0] for c in chunk], layout, rng, skew=0.3)):
            add(cell, c[1], c[2], c[3], True)
    return images, np.array(owner), np.array(hand), np.array(genuine), np.array(petition)


def scanned_cells(signatures, layout: str, rng: np.random.Generator, *, skew: float) -> list[np.ndarray]:
    """The signature cells of one rendered petition page holding `signatures`,
    as the pipeline cuts them: the page scanned (1-bit a third of the time,
    else JPEG; noise; a residual skew within ±`skew` degrees after the
    pipeline's deskew) and each cell cut from its box with a small margin."""
    from fixtures.forms import FormLine, render_page, scan, transform_truth

    page, truth = render_page([FormLine(printed_name="", signature=s) for s in signatures], layout=layout, dpi=200,
                              rng=rng)
    tiff = rng.random() < 1 / 3
    page, tr = scan(page, rng=rng, skew_deg=float(rng.uniform(-skew, skew)), noise=float(rng.uniform(0, 0.03)),
                    bilevel=tiff, jpeg_quality=None if tiff else int(rng.integers(70, 95)))
    truth = transform_truth(truth, tr)
    cells = []
    for ln in truth["lines"][:len(signatures)]:
        x, y, bw, bh = ln["signature"]
        mx, my = rng.uniform(-0.01, 0.01) * bw, rng.uniform(-0.03, 0.03) * bh
        x0, y0 = int(max(0, x - mx)), int(max(0, y - my))
        x1, y1 = int(min(page.shape[1], x + bw + mx)), int(min(page.shape[0], y + bh + my))
        cells.append(page[y0:y1, x0:x1].copy())
    return cells


def prepare(args):
    """Canvases and labels of every training image (cached as npz)."""
    cache = Path(args.cache)
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        return {k: z[k] for k in z.files}
    c = list_corpora(Path(args.data))
    if c is None:
        raise SystemExit(f"no real corpus under {args.data}")
    t0 = time.perf_counter()
    imgs = [read_image(f) for f in c.files]
    prep = sigverify.preprocess(imgs, dpi=None)  # as the pipeline: resolution unknown
    print(f"real: {len(imgs)} images preprocessed in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    si, so, sh, sg = synthetic(args.syn_writers, 6, args.syn_writers // 8, 4)
    sprep = sigverify.preprocess(si, dpi=None)
    print(f"synthetic: {len(si)} images rendered+preprocessed in {time.perf_counter() - t0:.0f} s", flush=True)
    out = {
        "images": np.concatenate([prep.images, sprep.images]).astype(np.float16),
        "error": np.concatenate([prep.error, sprep.error]).astype(str),
        "corpus": np.concatenate([c.corpus, np.full(len(si), "syn")]),
        "owner": np.concatenate([c.owner, so]),
        "hand": np.concatenate([c.hand, sh]),
        "genuine": np.concatenate([c.genuine, sg]),
        "files": np.array([str(Path(f).relative_to(Path(args.data))) for f in c.files] + [""] * len(si)),
    }
    np.savez(cache, **out)
    return out


def prepare_petition_domain(work: Path, n_hands: int, seed: int, first_writer: int = 700_000):
    """Canvases of :func:`petition_domain` (cached as npz in `work`)."""
    cache = work / f"petition-domain-v3-{n_hands}-{seed}-{first_writer}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        return {k: z[k] for k in z.files}
    t0 = time.perf_counter()
    im, o, h, g, pet = petition_domain(n_hands, seed=seed, first_writer=first_writer)
    prep = sigverify.preprocess(im, dpi=None)
    print(f"petition domain: {len(im)} images rendered+preprocessed in {time.perf_counter() - t0:.0f} s", flush=True)
    out = {"images": prep.images.astype(np.float16), "error": prep.error.astype(str), "owner": o, "hand": h,
           "genuine": g, "petition": pet}
    np.savez(cache, **out)
    return out


# ------------------------------------------------------------------ model


def build_net(dim: int = 128):
    import torch.nn as nn

    def block(cin, cout, k=3, s=1):
        return [nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(1, 16, 5, 2),  # 64x192 -> 32x96
        nn.MaxPool2d(2),  # 16x48
        *block(16, 32),
        nn.MaxPool2d(2),  # 8x24
        *block(32, 64),
        *block(64, 64),
        nn.MaxPool2d(2),  # 4x12
        *block(64, 128),
        nn.AvgPool2d(2),  # 2x6
        nn.Flatten(),
        nn.Linear(128 * 12, dim),
    )


def augment(x, rng_t):
    """Random small affine warps (rotation, scale, shear, shift) and stroke
    thickening of a (B, 1, H, W) batch."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    ang = (torch.rand(b, generator=rng_t) - 0.5) * 2 * 0.09
    sc = 1 + (torch.rand(b, generator=rng_t) - 0.5) * 0.2
    sx = 1 + (torch.rand(b, generator=rng_t) - 0.5) * 0.2
    sh = (torch.rand(b, generator=rng_t) - 0.5) * 0.3
    tx = (torch.rand(b, generator=rng_t) - 0.5) * 0.1
    ty = (torch.rand(b, generator=rng_t) - 0.5) * 0.1
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([
        torch.stack([cos * sc * sx, -sin * sc + sh, tx], 1),
        torch.stack([sin * sc, cos * sc, ty], 1),
    ], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    y = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    thick = torch.rand(b, generator=rng_t) < 0.25
    if thick.any():
        y[thick] = F.max_pool2d(y[thick], 3, 1, 1)
    return y


def build_folded(dim: int = 128):
    """:func:`build_net` with each BatchNorm folded into its convolution (the
    exported layout, :func:`fold_batchnorm`): what a fine-tune starts from."""
    import torch.nn as nn

    def block(cin, cout, k=3, s=1):
        return [nn.Conv2d(cin, cout, k, s, k // 2, bias=True), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(1, 16, 5, 2), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
        nn.MaxPool2d(2), *block(64, 128), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(128 * 12, dim),
    )


def load_folded(npz_path, dim: int = 128):
    """The folded network from the weights of :func:`export` (``<name>.npz``)."""
    import torch

    net = build_folded(dim)
    z = np.load(npz_path)
    state = {}
    for key in z.files:
        i, _kind, k = key.split(".", 2)
        state[f"{i}.{k}"] = torch.from_numpy(z[key])
    net.load_state_dict(state)
    return net.eval()


def load_fold_net(path, dim: int = 128):
    """A fold network saved by :func:`main` (``fold<k>_net.pt``), folded."""
    import torch

    net = build_net(dim)
    net.load_state_dict(torch.load(path))
    return fold_batchnorm(net.eval())


def train(images, labels, *, epochs: int, seed: int, dim: int = 128, batch: int = 64, log=print, net=None,
          max_lr: float = 3e-3):
    """Train on (N, H, W) canvases with integer hand labels; returns the
    network in eval mode. With `net`, fine-tune it instead of a new
    network: the class weights start at each class's mean embedding
    ("imprinting"), so the first steps do not undo what it knows."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    rng_t = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_cls = int(labels.max()) + 1
    if net is None:
        net = build_net(dim)
        W = torch.nn.Parameter(torch.randn(n_cls, dim) * 0.01)
    else:
        e = embed_torch(net, images)
        w0 = np.zeros((n_cls, dim), np.float32)
        np.add.at(w0, labels, e)
        W = torch.nn.Parameter(torch.from_numpy(w0 / np.maximum(np.linalg.norm(w0, axis=1, keepdims=True), 1e-6)))
    opt = torch.optim.AdamW(list(net.parameters()) + [W], lr=max_lr * 2 / 3, weight_decay=5e-4)
    steps = epochs * (len(images) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=steps, pct_start=0.15)
    x_all = torch.from_numpy(np.asarray(images, np.float32))[:, None]
    y_all = torch.from_numpy(np.asarray(labels, np.int64))
    s, m = 30.0, 0.3
    step = 0
    for ep in range(epochs):
        net.train()
        perm = rng.permutation(len(images))
        t0, tot, cnt = time.perf_counter(), 0.0, 0
        for i in range(0, len(perm) - batch + 1, batch):
            idx = torch.from_numpy(perm[i : i + batch])
            x = augment(x_all[idx], rng_t)
            y = y_all[idx]
            e = F.normalize(net(x), dim=1)
            cos = e @ F.normalize(W, dim=1).T
            logits = s * (cos - m * F.one_hot(y, n_cls))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            tot += loss.item() * len(idx)
            cnt += len(idx)
        log(f"  epoch {ep + 1}/{epochs}: loss {tot / cnt:.3f} ({time.perf_counter() - t0:.0f} s)")
    net.eval()
    return net


def embed_torch(net, images, batch: int = 512):
    import torch
    import torch.nn.functional as F

    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.asarray(images[i : i + batch], np.float32))[:, None]
            out.append(F.normalize(net(x), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 128), np.float32)


def export(net, out_dir: Path, name: str, meta: dict):
    """ONNX for OpenCV's DNN module (BatchNorm folded into the
    convolutions) and the same weights as npz for the numpy reference."""
    import torch

    net = fold_batchnorm(net)
    x = torch.zeros(1, 1, 64, 192)
    onnx_path = out_dir / f"{name}.onnx"
    torch.onnx.export(net, x, str(onnx_path), input_names=["canvas"], output_names=["embedding"],
                      dynamic_axes={"canvas": {0: "n"}, "embedding": {0: "n"}}, opset_version=13, dynamo=False)
    weights = {}
    for i, mod in enumerate(net):
        for k, v in mod.state_dict().items():
            weights[f"{i}.{type(mod).__name__}.{k}"] = v.numpy().astype(np.float32)
    np.savez_compressed(out_dir / f"{name}.npz", **weights)
    return onnx_path


def fold_batchnorm(net):
    """A copy of `net` whose BatchNorm layers are folded into the preceding
    convolutions (and removed)."""
    import copy

    import torch
    import torch.nn as nn

    layers = []
    mods = list(copy.deepcopy(net))
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
            bn = mods[i + 1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=True)
            with torch.no_grad():
                conv.weight.copy_(m.weight * scale[:, None, None, None])
                b = m.bias if m.bias is not None else torch.zeros_like(bn.running_mean)
                conv.bias.copy_((b - bn.running_mean) * scale + bn.bias)
            layers.append(conv)
            i += 2
            continue
        layers.append(m)
        i += 1
    return nn.Sequential(*layers).eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default=str(ROOT / "sigverify" / "models"), help="where the final model goes")
    ap.add_argument("--work", default="/tmp/sigverify-embedding", help="caches and out-of-fold embeddings "
                    "(outside the repository: derived from data that must not be committed)")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--only-folds", default=None, help="comma-separated folds to run (parallel runs)")
    ap.add_argument("--skip-final", action="store_true")
    ap.add_argument("--final-only", action="store_true")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--syn-writers", type=int, default=160)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (machine shared: default 1)")
    ap.add_argument("--name", default="signature_embedding")
    ap.add_argument("--finetune-epochs", type=int, default=0,
                    help="stage 2: fine-tune each network this many epochs with the petition-domain writers (0 = off)")
    ap.add_argument("--finetune-lr", type=float, default=1e-3)
    ap.add_argument("--finetune-share", type=float, default=0.25,
                    help="share of the base training hands (real and synthetic) kept beside the petition-domain "
                    "writers in stage 2")
    ap.add_argument("--pd-hands", type=int, default=400, help="petition-domain synthetic hands (stage 2)")
    ap.add_argument("--pd-seed", type=int, default=2121)
    ap.add_argument("--finetune-from", default=None, metavar="DIR",
                    help="skip stage 1: start from the saved fold networks (WORK/fold<k>_net.pt) and the final "
                    "network's weights DIR/<name>.npz")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    args.cache = str(work / f"canvases-syn{args.syn_writers}.npz")
    d = prepare(args)
    ok = d["error"] == ""
    print(f"{ok.sum()} usable of {len(ok)}; errors: {dict(zip(*np.unique(d['error'][~ok], return_counts=True)))}",
          flush=True)
    real = d["corpus"] != "syn"
    from real_corpora import Corpus

    c = Corpus(list(d["files"][real]), d["corpus"][real], d["owner"][real], d["hand"][real], d["genuine"][real])
    fold = np.full(len(ok), -1)
    fold[real] = writer_folds(c, args.folds, seed=args.seed)

    def labels_of(sel):
        _, lab = np.unique(d["hand"][sel], return_inverse=True)
        return lab

    folds = range(args.folds) if args.only_folds is None else [int(v) for v in args.only_folds.split(",")]
    pd = None
    if args.finetune_epochs:
        pd = prepare_petition_domain(work, args.pd_hands, args.pd_seed)
        pd_ok = pd["error"] == ""
        print(f"petition domain: {pd_ok.sum()} usable crops, {len(np.unique(pd['hand'][pd_ok]))} hands", flush=True)

    def finetune(net, sel, seed):
        """Stage 2: the base network fine-tuned on its own training images
        plus the petition-domain writers (:func:`petition_domain`)."""
        if args.finetune_share < 1:  # the hands of a seeded share of the base images (cheaper)
            hands = np.unique(d["hand"][sel])
            keep = np.random.default_rng(seed).permutation(hands)[: int(round(args.finetune_share * len(hands)))]
            sel = sel & np.isin(d["hand"], keep)
        images = np.concatenate([d["images"][sel], pd["images"][pd_ok]])
        _, lab = np.unique(np.concatenate([d["hand"][sel], pd["hand"][pd_ok]]), return_inverse=True)
        print(f"  fine-tune: {len(images)} images, {lab.max() + 1} hands", flush=True)
        return train(images, lab, epochs=args.finetune_epochs, seed=seed, net=net, max_lr=args.finetune_lr,
                     log=lambda m: print(m, flush=True))

    if not args.final_only:
        for f in folds:
            t0 = time.perf_counter()
            tm = np.ones(len(ok), bool)
            tm[real] = train_mask(c, fold[real], f)
            tm &= ok & (fold != f)
            test = np.flatnonzero(fold == f)
            if args.finetune_from is None:
                print(f"fold {f}: training on {tm.sum()} images, {len(np.unique(d['hand'][tm]))} hands", flush=True)
                net = train(d["images"][tm], labels_of(tm), epochs=args.epochs, seed=args.seed + f,
                            log=lambda m: print(m, flush=True))
                np.savez(work / f"oof_fold{f}.npz", index=test, embedding=embed_torch(net, d["images"][test]))
                # the fold network itself (outside the repository): later fine-tunes start from it
                torch.save(net.state_dict(), work / f"fold{f}_net.pt")
                net = fold_batchnorm(net)
            else:
                net = load_fold_net(work / f"fold{f}_net.pt")
            if pd is not None:
                net = finetune(net, tm, args.seed + 100 + f)
                np.savez(work / f"oof_ft_fold{f}.npz", index=test, embedding=embed_torch(net, d["images"][test]))
            print(f"fold {f} done in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.skip_final:
        return
    t0 = time.perf_counter()
    if args.finetune_from is None:
        print(f"final: training on {ok.sum()} images, {len(np.unique(d['hand'][ok]))} hands", flush=True)
        net = train(d["images"][ok], labels_of(ok), epochs=args.epochs, seed=args.seed,
                    log=lambda m: print(m, flush=True))
    else:
        net = load_folded(Path(args.finetune_from) / f"{args.name}.npz")
    if pd is not None:
        net = finetune(net, ok, args.seed + 100)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/train_embedding.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": args.seed, "epochs": args.epochs, "folds": args.folds, "syn_writers": args.syn_writers,
        "finetune_epochs": args.finetune_epochs, "finetune_lr": args.finetune_lr,
        "finetune_share": args.finetune_share,
        "petition_domain": {"hands": args.pd_hands, "seed": args.pd_seed,
                            "images": int(pd_ok.sum()) if pd is not None else 0},
        "images": int(ok.sum()), "hands": int(len(np.unique(d["hand"][ok]))),
        "per_corpus_images": {k: int(v) for k, v in zip(*np.unique(d["corpus"][ok], return_counts=True))},
        "seconds": time.perf_counter() - t0, "torch": torch.__version__,
    }
    export(net, out, args.name, meta)
    (work / f"{args.name}.train.json").write_text(json.dumps(meta, indent=1))
    # the final model's embeddings of everything (benchmark speed-ups, not for accuracy figures)
    np.savez(work / "final_embeddings.npz", embedding=embed_torch(net, d["images"]))
    print(json.dumps(meta, indent=1), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
