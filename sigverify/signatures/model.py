"""The calibrated comparison model: distance vector → P(same writer).

A small logistic model over transformed pair distances, fitted with numpy
(iteratively reweighted least squares, L2 penalty) and stored as versioned
JSON data with its provenance. One model covers a pair with one exemplar;
a second covers a questioned signature against several exemplars, whose
inputs also say how much the voter's own exemplars differ from each other.
Per-family sub-models give the per-family scores the review screen shows.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "LogisticModel",
    "SignatureModel",
    "fit_logistic",
    "threshold_at_far",
    "load_default_model",
    "load_learned_model",
    "load_classical_model",
    "FEATURE_VERSION",
]

#: Changes whenever preprocessing, features or distances change meaning.
FEATURE_VERSION = "sigfeat-3"


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass
class LogisticModel:
    """``P = sigmoid(coef . (phi(x) - mean) / scale + intercept)``, with
    ``phi = log1p`` of the distances (they are all >= 0, heavy-tailed).

    Attributes
    ----------
    inputs : list of str
        Names of the input columns, in order.
    coef, mean, scale : list of float
    intercept : float
    """

    inputs: list[str]
    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]

    def logit(self, x: np.ndarray) -> np.ndarray:
        """(N, D) inputs → (N,) float64 log-odds of the same writer."""
        z = (np.log1p(np.maximum(np.asarray(x, np.float64), 0)) - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, D) inputs → (N,) float64 probability of the same writer."""
        return _sigmoid(self.logit(x))


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    *,
    weight: np.ndarray | None = None,
    l2: float = 1.0,
    iters: int = 50,
    recalibrate: bool = True,
) -> LogisticModel:
    """Fit :class:`LogisticModel` by Newton / IRLS with an L2 penalty.

    Parameters
    ----------
    x : (N, D) array
        Distances (>= 0).
    y : (N,) array of {0, 1}
        1 = same writer.
    names : list of str
        Input names (length D).
    weight : (N,) array, optional
        Sample weights; default balances the two classes (so that a score of
        0.5 means equal evidence, whatever the mix of the training pairs).
    l2 : float
        Penalty on the coefficients of the standardised inputs (strong
        penalties generalise better to unseen writers).
    recalibrate : bool
        Refit the scale and offset of the log-odds without penalty, so that
        the probabilities stay calibrated on the fitting pairs.
    """
    x = np.log1p(np.maximum(np.asarray(x, np.float64), 0))
    y = np.asarray(y, np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    n, d = z.shape
    if weight is None:
        pos = y.sum()
        weight = np.where(y > 0, 0.5 / max(pos, 1), 0.5 / max(n - pos, 1)) * n
    w = np.asarray(weight, np.float64)
    A = np.hstack([z, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    pen = np.full(d + 1, l2)
    pen[-1] = 0.0
    for _ in range(iters):
        p = _sigmoid(A @ beta)
        g = A.T @ (w * (p - y)) + pen * beta
        hdiag = w * p * (1 - p)
        H = (A * hdiag[:, None]).T @ A + np.diag(pen) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(H, g)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    coef, icpt = beta[:-1], beta[-1]
    if recalibrate:
        # The penalty shrinks the log-odds; a one-dimensional unpenalised
        # fit of (a * logit + b) restores calibrated probabilities.
        t = z @ coef
        ab = np.array([1.0, icpt])
        T = np.stack([t, np.ones(n)], axis=1)
        for _ in range(50):
            p = _sigmoid(T @ ab)
            g = T.T @ (w * (p - y))
            H = (T * (w * p * (1 - p))[:, None]).T @ T + 1e-9 * np.eye(2)
            step = np.linalg.solve(H, g)
            ab -= step
            if np.abs(step).max() < 1e-10:
                break
        coef, icpt = coef * ab[0], ab[1]
    return LogisticModel(list(names), coef.tolist(), float(icpt), mean.tolist(), scale.tolist())


def threshold_at_far(scores_negative: np.ndarray, far: float = 0.01) -> float:
    """Smallest score threshold at which at most `far` of the negatives
    (other writers' signatures) reach it (``score >= threshold``)."""
    s = np.sort(np.asarray(scores_negative, np.float64))[::-1]
    if s.size == 0:
        return 0.5
    k = int(np.floor(far * s.size))  # this many may pass
    if k >= s.size:
        return float(s[-1])
    return float(np.nextafter(s[k], np.inf))


@dataclass
class SignatureModel:
    """Versioned, JSON round-tripping comparison model.

    Attributes
    ----------
    version : str
        Model version, stored with every score it produces.
    feature_version : str
        :data:`FEATURE_VERSION` of the features it was fitted on.
    prep : dict
        :class:`~sigverify.signatures.preprocess.PrepParams` as a dict.
    single : LogisticModel
        One exemplar: inputs are the pair's distances.
    multi : LogisticModel or None
        Several exemplars: inputs are the mean and min distances to the
        exemplars, and each divided by the exemplars' own mutual distances.
    families : dict of str to LogisticModel
        Per-family single-exemplar models (scores shown per family).
    threshold : dict
        ``{'single': t1, 'multi': t2}``: a score at or above this is
        ``consistent``; chosen so that at most ``far`` of other writers'
        signatures pass on the fitting data.
    far : float
    provenance : dict
        Which data, writers, date, code.
    multi_prior : list of float
        Typical distance between two exemplars of one writer (per distance
        column of :func:`~sigverify.signatures.verify.pair_table`, fitting
        data); see :func:`~sigverify.signatures.verify.multi_inputs`.
    embedding : str
        Name of the learned embedding network in ``sigverify/models`` whose
        cosine distance (``'embedding.cos'``) the model uses; ``''`` = none
        (classical features only).
    """

    version: str
    feature_version: str
    prep: dict
    single: LogisticModel
    multi: LogisticModel | None
    families: dict[str, LogisticModel]
    threshold: dict[str, float]
    far: float = 0.01
    provenance: dict[str, Any] = field(default_factory=dict)
    multi_prior: list[float] = field(default_factory=list)
    embedding: str = ""

    def to_json(self) -> str:
        d = asdict(self)
        return json.dumps(d, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SignatureModel":
        d = json.loads(text)
        d["single"] = LogisticModel(**d["single"])
        d["multi"] = LogisticModel(**d["multi"]) if d.get("multi") else None
        d["families"] = {k: LogisticModel(**v) for k, v in d.get("families", {}).items()}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


CLASSICAL_MODEL = "signature_classical.json"
LEARNED_MODEL = "signature_learned.json"
#: The model :func:`load_default_model` returns (and ``verify`` uses).
DEFAULT_MODEL = LEARNED_MODEL  # better than the classical one on cross-validation (issue 21)


def _load(name: str) -> SignatureModel:
    text = resources.files("sigverify.models").joinpath(name).read_text(encoding="utf-8")
    return SignatureModel.from_json(text)


def load_default_model() -> SignatureModel:
    """The default model shipped with the package (``sigverify/models/``).

    Returns
    -------
    SignatureModel
    """
    return _load(DEFAULT_MODEL)


def load_classical_model() -> SignatureModel:
    """The model over the hand-crafted feature families only (issue 5),
    whatever the default is.

    Returns
    -------
    SignatureModel
    """
    return _load(CLASSICAL_MODEL)


LEARNED_MODEL = "signature_learned.json"


def load_learned_model() -> SignatureModel:
    """The model over the learned embedding shipped with the package
    (``sigverify/models/signature_learned.json``; issue 21), whatever the
    default is.

    Returns
    -------
    SignatureModel
    """
    return _load(LEARNED_MODEL)
