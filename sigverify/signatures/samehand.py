"""One hand across different names (issue 21): the calibrated probability
that the same person physically wrote two signatures of *different*
people — the pattern of round-tabled petition sheets, where two or three
people take turns signing many voters' names.

This is writer identification, not verification of one name: the model was
calibrated on pairs of real signatures written under different names, where
one hand wrote both (a forger imitating two people; a forger's imitation
and their own signature) or two hands did. The evidence is the cosine
distance of the learned embeddings (:mod:`sigverify.signatures.embedding`),
so that a later all-pairs scan of a filing is one matrix product over
stored embeddings (:func:`samehand_matrix`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Sequence

import numpy as np

from sigverify.signatures.embedding import EmbeddingNet, cosine_distance, load_embedding
from sigverify.signatures.model import LogisticModel

__all__ = ["SameHandModel", "SameHandScores", "load_samehand_model", "samehand_scores", "samehand_from_embeddings",
           "samehand_matrix"]

DEFAULT_SAMEHAND = "signature_samehand.json"

#: Crop problems → reasons (as in :func:`sigverify.verify`).
_REASON = {
    "empty": "empty_signature",
    "form_line_only": "empty_signature",
    "all_ink": "unreadable_signature",
    "unreadable": "unreadable_signature",
    "too_small": "unreadable_signature",
}


@dataclass
class SameHandModel:
    """Calibration of embedding distances into P(one hand wrote both).

    Attributes
    ----------
    version : str
    embedding : str
        Name of the embedding network it was calibrated on.
    model : LogisticModel
        Input ``'embedding.cos'``.
    provenance : dict
    """

    version: str
    embedding: str
    model: LogisticModel
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> "SameHandModel":
        d = json.loads(text)
        return cls(d["version"], d["embedding"], LogisticModel(**d["model"]), d.get("provenance", {}))

    def probability(self, distance: np.ndarray) -> np.ndarray:
        """Cosine distances (any shape) → probabilities of one hand (float64)."""
        d = np.asarray(distance, np.float64)
        return self.model.predict(d.reshape(-1, 1)).reshape(d.shape)


def load_samehand_model() -> SameHandModel:
    """The same-hand model shipped in ``sigverify/models``."""
    text = resources.files("sigverify.models").joinpath(DEFAULT_SAMEHAND).read_text(encoding="utf-8")
    return SameHandModel.from_json(text)


@dataclass
class SameHandScores:
    """Scores of N pairs (a[i], b[i]).

    Attributes
    ----------
    score : (N,) float64
        Calibrated probability that one hand wrote both; NaN when a crop
        could not be used (see ``reason``).
    reason : (N,) object array of str
        ``''``, or ``'a_empty_signature'``, ``'b_unreadable_signature'`` …
        naming the side and the problem.
    distance : (N,) float32
        Cosine distance of the embeddings (NaN with a reason).
    model_version : str
    """

    score: np.ndarray
    reason: np.ndarray
    distance: np.ndarray
    model_version: str

    def __len__(self) -> int:
        return self.score.shape[0]


def samehand_from_embeddings(
    emb_a: np.ndarray, emb_b: np.ndarray, *, model: SameHandModel | None = None
) -> np.ndarray:
    """Pairwise (row i with row i) probabilities of one hand from stored
    embeddings: (N, D), (N, D) → (N,) float64 (NaN where a row is NaN)."""
    model = model or load_samehand_model()
    a, b = np.asarray(emb_a, np.float32), np.asarray(emb_b, np.float32)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError("The parameters `emb_a` and `emb_b` must be 2-D of the same shape")
    return model.probability(cosine_distance(a, b))


def samehand_matrix(emb_a: np.ndarray, emb_b: np.ndarray, *, model: SameHandModel | None = None) -> np.ndarray:
    """All-pairs probabilities of one hand: (N, D), (M, D) → (N, M) float64,
    one matrix product (the building block of a filing-wide scan)."""
    model = model or load_samehand_model()
    a, b = np.asarray(emb_a, np.float32), np.asarray(emb_b, np.float32)
    d = np.clip(1.0 - a @ b.T, 0.0, 2.0)
    return model.probability(d)


def samehand_scores(
    a_crops: Sequence,
    b_crops: Sequence,
    *,
    dpi=None,
    workers: int = 1,
    model: SameHandModel | None = None,
    net: EmbeddingNet | None = None,
) -> SameHandScores:
    """Probability that one hand wrote both signatures of each pair.

    Parameters
    ----------
    a_crops, b_crops : sequences of N 2-D arrays or image paths
        The two signatures of each pair (raw crops, light paper). A crop
        that cannot be used gives that pair a NaN score and a reason; the
        batch goes on. Each distinct crop (same object or path) is
        embedded once.
    dpi : float or None
        Scan resolution of all crops (None: unknown, as in the pipeline).
    workers : int
        Threads (-1 = every core).
    model : SameHandModel, optional
        Default :func:`load_samehand_model`.
    net : EmbeddingNet, optional
        Default: the network the model was calibrated on.

    Returns
    -------
    SameHandScores

    Examples
    --------
    >>> import cv2
    >>> def crop(text):
    ...     c = np.full((90, 300), 240, np.uint8)
    ...     _ = cv2.putText(c, text, (8, 60), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, 30, 2)
    ...     return c
    >>> s = samehand_scores([crop("Ann Lee"), crop("Bo Wu")], [crop("Kim Ito"), np.zeros((0, 0), np.uint8)])
    >>> s.score.shape, s.reason.tolist()
    ((2,), ['', 'b_empty_signature'])
    """
    from sigverify.signatures.embedding import embed

    a, b = list(a_crops), list(b_crops)
    if len(a) != len(b):
        raise ValueError("The parameters `a_crops` and `b_crops` must have the same length")
    n = len(a)
    model = model or load_samehand_model()
    net = net or load_embedding(model.embedding)
    flat = a + b
    first: dict = {}
    uniq: list[int] = []
    row = np.empty(len(flat), np.int64)
    for i, item in enumerate(flat):  # the items are alive in `flat`: ids are stable
        key = os.fspath(item) if isinstance(item, (str, os.PathLike)) else ("id", id(item))
        j = first.get(key)
        if j is None:
            j = first[key] = len(uniq)
            uniq.append(i)
        row[i] = j
    emb, err = embed([flat[i] for i in uniq], dpi=dpi, net=net, workers=workers, return_error=True)
    ea, eb = emb[row[:n]], emb[row[n:]]
    d = cosine_distance(np.nan_to_num(ea), np.nan_to_num(eb)) if n else np.zeros(0, np.float32)
    reason = np.full(n, "", dtype=object)
    for side, rows in (("b", row[n:]), ("a", row[:n])):  # a's problem named first when both
        e = err[rows]
        for code, why in _REASON.items():
            reason[e == code] = f"{side}_{why}"
    bad = reason != ""
    d = d.astype(np.float32)
    d[bad] = np.nan
    score = model.probability(d)
    score[bad] = np.nan
    return SameHandScores(score=score, reason=reason, distance=d, model_version=model.version)
