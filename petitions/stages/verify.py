"""Stage: compare each matched line's signature with the voter's exemplars (:mod:`sigverify`).

Each signature image's learned embedding (a line's crop or a voter's
exemplar) is computed once and kept in the workspace
(:mod:`petitions.store.embeddings`), keyed by the image's SHA-256 and the
embedding's version: re-scoring a line against another voter, a newly
calibrated model over the same network, and the same-hand scan
(:mod:`petitions.fraud`) then read vectors instead of images. A new network
or preprocessing is a new embedding version and computes new rows.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Sequence

import numpy as np

from petitions.stages.job import (
    CancelFn,
    ProgressFn,
    StageReport,
    check_cancel,
    never,
    noop_progress,
    stage_run,
)
from petitions.stages.voters import exemplars_for
from petitions.store import Workspace, canonical_json
from petitions.store import embeddings as embeddings_db
from petitions.store import results as results_db

__all__ = ["run_signatures", "embedding_version", "ensure_embeddings", "model_needs_classical"]


@lru_cache(maxsize=8)
def _net_digest(net_name: str) -> str:
    from importlib import resources

    data = resources.files("sigverify.models").joinpath(f"{net_name}.onnx").read_bytes()
    return hashlib.sha256(data).hexdigest()


def embedding_version(net_name: str, prep: dict | None) -> str:
    """The version an embedding is stored under: the network's name and the
    SHA-256 of its shipped weights, and the preprocessing's parameters — what
    the vector depends on (a recalibrated model over the same network reuses
    the stored vectors; a retrained network or other preprocessing does not).
    """
    from sigverify import PrepParams

    p = (PrepParams.from_dict(prep) if prep else PrepParams()).to_dict()
    prep_digest = hashlib.sha256(canonical_json(p).encode()).hexdigest()
    return f"{net_name}:{_net_digest(net_name)[:16]}:{prep_digest[:12]}"


def model_needs_classical(model) -> bool:
    """Whether the model's decision or its per-family scores read any
    hand-crafted feature family (anything but the learned embedding)."""
    names = list(model.single.inputs) + list(model.multi.inputs if model.multi else [])
    for fm in model.families.values():
        names += list(fm.inputs)
    return any("embedding." not in n for n in names)


def _image(ws: Workspace, h: str) -> np.ndarray:
    return ws.crops.get_image(h) if h else np.zeros((0, 0), np.uint8)


def _describe_reusing(ws: Workspace, hashes: list[str], *, params, net, ev: str | None, classical: bool,
                      workers: int) -> tuple[np.ndarray, dict[str, np.ndarray], list[tuple[str, np.ndarray, str]]]:
    """Errors and features of the images `hashes` (``''`` = no crop), in that
    order, reading stored embeddings under version `ev` and describing only
    what is missing (and, when `classical`, the hand-crafted families of all).

    Returns the errors (N,), the features by family, and the embeddings
    computed now (hash, vector, error) for the caller to keep.
    """
    from sigverify.signatures import describe

    n = len(hashes)
    stored = embeddings_db.get_embeddings(ws, [h for h in hashes if h], ev) if (net is not None and ev) else {}
    miss = [i for i, h in enumerate(hashes) if h not in stored]
    have = [i for i, h in enumerate(hashes) if h in stored]
    err = np.empty(n, dtype=object)
    feats: dict[str, np.ndarray] = {}

    def put(rows: list[int], e: np.ndarray, f: dict[str, np.ndarray]) -> None:
        for k, v in f.items():
            if k not in feats:
                feats[k] = np.zeros((n, v.shape[1]), np.float32)
            feats[k][rows] = v
        err[rows] = e

    new: list[tuple[str, np.ndarray, str]] = []
    if miss:
        _, e, f = describe([_image(ws, hashes[i]) for i in miss], params=params, workers=workers, embed_net=net,
                           classical=classical)
        put(miss, e, f)
        if net is not None:
            new = [(hashes[i], f["embedding"][j], str(e[j])) for j, i in enumerate(miss) if hashes[i]]
    if have:
        if classical:
            _, e, f = describe([_image(ws, hashes[i]) for i in have], params=params, workers=workers, classical=True)
            put(have, e, f)
        vec = np.zeros((len(have), _dim(stored)), np.float32)
        for j, i in enumerate(have):
            v, e_stored = stored[hashes[i]]
            if v is not None:
                vec[j] = v
            if not classical:
                err[i] = e_stored
        put(have, err[have], {"embedding": vec})
    return err, feats, new


def _dim(stored: dict) -> int:
    for v, _ in stored.values():
        if v is not None:
            return int(v.shape[0])
    from sigverify.signatures.embedding import EMBED_DIM

    return int(EMBED_DIM)


def ensure_embeddings(ws: Workspace, hashes: Sequence[str], *, net_name: str, prep: dict | None = None,
                      workers: int | None = None, batch_size: int = 2048,
                      cancel: CancelFn = never, progress: ProgressFn = noop_progress) -> tuple[np.ndarray, np.ndarray, int]:
    """The embeddings of images `hashes` under network `net_name`, computing
    (and keeping, one transaction per batch) only those not stored yet.

    Returns
    -------
    embedding : (N, D) float32
        Unit vectors; NaN rows where the image could not be used (or there
        is no crop, ``''``).
    error : (N,) object array of str
        ``''`` or the core's problem code (``'empty'`` for no crop).
    computed : int
        Images embedded now.
    """
    from sigverify import PrepParams
    from sigverify.signatures.embedding import load_embedding

    hashes = list(hashes)
    workers = workers or os.cpu_count() or 1
    ev = embedding_version(net_name, prep)
    params = PrepParams.from_dict(prep) if prep else PrepParams()
    uniq = list(dict.fromkeys(h for h in hashes if h))
    stored = embeddings_db.get_embeddings(ws, uniq, ev)
    missing = [h for h in uniq if h not in stored]
    computed = 0
    if missing:
        from sigverify.signatures import describe

        net = load_embedding(net_name)
        for start in range(0, len(missing), batch_size):
            check_cancel(cancel)
            part = missing[start:start + batch_size]
            images, lost = [], []
            for h in part:
                try:
                    images.append(ws.crops.get_image(h))
                except Exception:  # noqa: BLE001 - a crop that cannot be read is that line's problem, not the batch's
                    images.append(np.zeros((0, 0), np.uint8))
                    lost.append(len(images) - 1)
            _, e, f = describe(images, params=params, workers=workers, embed_net=net, classical=False)
            e = np.asarray(e, dtype=object)
            e[lost] = "unreadable"
            keep = [j for j in range(len(part)) if j not in set(lost)]  # a lost file is not kept as a result
            with ws.transaction():
                embeddings_db.add_embeddings(ws, ev, [part[j] for j in keep], f["embedding"][keep],
                                             [str(e[j]) for j in keep])
            for j, h in enumerate(part):
                stored[h] = (None if e[j] else f["embedding"][j].copy(), str(e[j]))
            computed += len(part)
            progress("embeddings", computed, len(missing))
    dim = _dim(stored)
    out = np.full((len(hashes), dim), np.nan, np.float32)
    err = np.full(len(hashes), "empty", dtype=object)
    for i, h in enumerate(hashes):
        if h in stored:
            v, e_ = stored[h]
            err[i] = e_
            if v is not None and not e_:
                out[i] = v
    return out, err, computed


def run_signatures(ws: Workspace, filing_id: int, *, user: str, batch_size: int = 512, workers: int | None = None,
                   progress: ProgressFn = noop_progress, cancel: CancelFn = never, model=None) -> StageReport:
    """Compare each matched line's signature with the candidate voter's exemplars.

    `workers` threads (default: every core) share each batch. `model`
    (default :func:`sigverify.load_default_model`) is for tests and
    benchmarks. The report's ``counts`` say how many embeddings were
    computed now (``embedded``) and read from the workspace (``reused``).
    """
    import sigverify
    from sigverify.signatures import score_described

    from petitions.certification import require_unlocked

    require_unlocked(ws, filing_id, "comparing signatures (petitions run)")
    workers = workers or os.cpu_count() or 1

    model = model or sigverify.load_default_model()
    params = sigverify.PrepParams.from_dict(model.prep) if model.prep else sigverify.PrepParams()
    net = None
    ev = None
    if model.embedding:
        from sigverify.signatures.embedding import load_embedding

        net = load_embedding(model.embedding)
        ev = embedding_version(model.embedding, model.prep)
    classical = model_needs_classical(model)
    pending = results_db.pending_signature_lines(ws, filing_id, model.version)
    report = StageReport("signature")
    report.counts = {"embedded": 0, "reused": 0}
    if not pending:
        return report
    run_id = ws.start_run("signature", filing_id=filing_id, user=user, model_json=model.to_json(),
                          model_version=model.version, params={"lines": len(pending), "batch_size": batch_size,
                                                               "embedding_version": ev})
    report.run_id = run_id
    with stage_run(ws, report, user):
        for start in range(0, len(pending), batch_size):
            check_cancel(cancel)
            batch = pending[start:start + batch_size]
            ex = exemplars_for(ws, [r["voter_id"] for r in batch])
            refs_meta = [ex.get(r["voter_id"], []) for r in batch]
            # Each distinct image once: lines of one voter share its exemplars.
            hashes = list(dict.fromkeys([r["signature_hash"] or "" for r in batch]
                                        + [e["image_hash"] for metas in refs_meta for e in metas]))
            row = {h: i for i, h in enumerate(hashes)}
            err, feats, new = _describe_reusing(ws, hashes, params=params, net=net, ev=ev, classical=classical,
                                                workers=workers)
            q_index = np.array([row[r["signature_hash"] or ""] for r in batch], np.int64)
            ref_index = [np.array([row[e["image_hash"]] for e in metas], np.int64) for metas in refs_meta]
            scores = score_described(feats, err, q_index, ref_index, model=model, workers=workers)
            rows = []
            for i, r in enumerate(batch):
                fam = {k: float(v[i]) for k, v in scores.family_scores.items()}
                best = int(scores.best_reference[i])
                rows.append((r["line_id"], run_id, r["voter_id"], float(scores.score[i]), str(scores.decision[i]),
                             str(scores.reason[i]) or None, canonical_json(fam), len(refs_meta[i]),
                             refs_meta[i][best]["image_hash"] if 0 <= best < len(refs_meta[i]) else None,
                             scores.model_version))
            with ws.transaction():
                if new and ev:
                    embeddings_db.add_embeddings(ws, ev, [h for h, _, _ in new], np.stack([v for _, v, _ in new]),
                                                 [e for _, _, e in new])
                results_db.add_signature_scores(ws, rows)
                ws.log_event("signature_batch", user=user, filing_id=filing_id,
                             payload={"run_id": run_id, "lines": len(rows),
                                      "consistent": int(sum(1 for r in rows if r[4] == "consistent")),
                                      "embedded": len(new)})
            report.counts["embedded"] += len(new)
            report.counts["reused"] += sum(1 for h in hashes if h) - len(new) if net is not None else 0
            report.processed += len(batch)
            progress("signature", report.processed, len(pending))
    return report
