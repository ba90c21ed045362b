"""Named reads and writes: signature images' learned embeddings, kept once
computed (issue 21).

A row is keyed by the image's SHA-256 (the crop's or the exemplar's content
address) and the embedding's version (the network and the preprocessing
that made it), so re-scoring and the same-hand scan read vectors instead of
images, and a new network computes new rows beside the old ones. The vector
is stored as little-endian float32 bytes; an image the core could not use
has no vector and its error code instead.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from petitions.store.workspace import Workspace, now_utc

__all__ = ["get_embeddings", "add_embeddings", "count_embeddings"]


def get_embeddings(ws: Workspace, hashes: Sequence[str], version: str) -> dict[str, tuple[np.ndarray | None, str]]:
    """The stored embeddings of these images under `version`:
    ``{image_hash: (vector (D,) float32 or None, error)}`` (images without a
    row are absent)."""
    out: dict[str, tuple[np.ndarray | None, str]] = {}
    for r in ws._rows_in("SELECT image_hash, dim, vector, error FROM embeddings "
                         "WHERE model_version = ? AND image_hash IN ({ids})", list(dict.fromkeys(hashes)), (version,)):
        v = None
        if r["vector"] is not None:
            v = np.frombuffer(bytes(r["vector"]), dtype="<f4", count=int(r["dim"]))
        out[r["image_hash"]] = (v, r["error"] or "")
    return out


def add_embeddings(ws: Workspace, version: str, hashes: Sequence[str], vectors: np.ndarray,
                   errors: Sequence[str]) -> None:
    """Keep the embeddings (N, D) of images `hashes` under `version`; a row
    with an error keeps no vector. An image already stored is left as it is."""
    vectors = np.asarray(vectors, dtype="<f4")
    ts = now_utc()
    rows = []
    for h, v, e in zip(hashes, vectors, errors):
        e = str(e or "")
        rows.append((h, version, int(v.shape[0]), None if e else v.tobytes(), e, ts))
    ws._many("INSERT INTO embeddings (image_hash, model_version, dim, vector, error, created_at) "
             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (image_hash, model_version) DO NOTHING", rows)


def count_embeddings(ws: Workspace, version: str | None = None) -> int:
    """How many embeddings are stored (under `version`, or all)."""
    if version is None:
        return int(ws._scalar("SELECT COUNT(*) FROM embeddings"))
    return int(ws._scalar("SELECT COUNT(*) FROM embeddings WHERE model_version = ?", (version,)))
