"""The match model: named comparison levels, their weights, the decision rules.

Each comparison (first name, last name, middle name, suffix, address) is an
ordered list of named levels a reviewer can read, Splink-style. The
address is **one** comparison (house number, street, unit and locality
together), so a household's shared address counts once, not four times.

A :class:`MatchModel` holds a logistic model over the level indicators and
term-frequency features (fitted on fixture ground truth by
:func:`fit_model`), the thresholds of the decision, and where it came from.
It round-trips through JSON and its ``version`` is stored with every result.
"""
from __future__ import annotations

import dataclasses
import importlib.resources
import json
from dataclasses import dataclass, field

import numpy as np

#: Ordered levels, best first. The last level is the baseline of the model.
FIRST_LEVELS = ("exact", "nickname", "initial", "typo", "middle_as_first", "similar", "missing", "different")
LAST_LEVELS = ("exact", "part", "typo", "similar", "missing", "different")
MIDDLE_LEVELS = ("exact", "initial", "missing", "different")
#: "line_missing": the record carries a generational suffix the line does not
#: (a Jr/Sr household: the other generation may have signed).
SUFFIX_LEVELS = ("agree", "both_missing", "voter_missing", "line_missing", "conflict")
ADDRESS_LEVELS = ("exact", "unit_differs", "street_similar", "number_typo", "locality_differs",
                  "same_street", "missing", "different")

COMPARISONS = {
    "first": FIRST_LEVELS,
    "last": LAST_LEVELS,
    "middle": MIDDLE_LEVELS,
    "suffix": SUFFIX_LEVELS,
    "address": ADDRESS_LEVELS,
}

#: First-name levels under which the identity may be auto-accepted: equal,
#: nickname- or initial-equivalent (2 CCR §20931), or a keying typo of a
#: name that is not itself a known given name. Anything else may be another
#: member of the household.
FIRST_ACCEPT = ("exact", "nickname", "initial", "typo")
LAST_ACCEPT = ("exact", "part", "typo")
#: Address levels 2 CCR §20931 tolerates (unit / fraction missing or
#: different, abbreviated or misspelled street, a mistyped digit).
ADDRESS_ACCEPT = ("exact", "unit_differs", "street_similar", "number_typo", "locality_differs")
#: Address levels that mean "registered somewhere else".
ADDRESS_ELSEWHERE = ("same_street", "different")

#: Extra numeric features (besides level indicators).
TF_FEATURES = ("first_rarity", "last_rarity", "address_crowd")

#: Inputs of the second-stage *accept model*: it scores a line's candidate
#: that passes the identity gates (name-equivalent, address tolerated, no
#: suffix evidence against), where the choice between auto-accepting and a
#: person's look is made. Baselines: first exact, middle missing, suffix
#: both missing, address exact. ``weight`` is the pair log-odds,
#: ``other_mass`` log(1 + odds of the line's other candidates),
#: ``housemates`` log(1 + other voters of a tolerated surname at the written
#: address), and the ``x`` features are interactions (an initial, or a
#: nickname, with no middle name to back it); ``name_given_surname`` is
#: log10 of the share of the surname's voters with the candidate's first name
#: ("common in the family": over 10 %, "very common": over 30 %),
#: ``alone_at_address`` the voter is the only one registered at the address,
#: ``namesakes_county`` log(1 + voters of the same first name and surname);
#: ``middle_only_on_record`` / ``middle_only_on_line``: the middle-name level
#: is "missing" because only the record / only the line has one (baseline:
#: neither has one). A silent side is weaker evidence than two silent sides:
#: an unregistered housemate writes a middle name the record lacks, or none
#: where the record has one, about three times as often per valid line.
#: Surname rarity (``last_rarity``, a share of the voter file) is left out:
#: fitted with household lines weighted up it takes a large weight that a
#: voter file of another size (a small county) shifts far off the scale.
ACCEPT_FEATURES = ("first:nickname", "first:initial", "first:typo", "middle:exact", "middle:initial",
                   "middle:different", "suffix:agree", "suffix:voter_missing", "address:unit_differs",
                   "address:street_similar", "address:number_typo", "address:locality_differs",
                   "first_rarity", "address_crowd", "weight", "other_mass", "housemates",
                   "initial_x_middle_missing", "nickname_x_middle_missing", "housemates_x_middle_missing",
                   "name_given_surname", "name_given_surname_x_middle_missing", "name_given_surname_x_exact",
                   "first_rarity_x_exact", "name_common_in_family", "name_very_common_in_family",
                   "name_given_surname_sq", "alone_at_address", "namesakes_county", "exact_no_middle_common_in_family",
                   "middle_only_on_record", "middle_only_on_line")

MODEL_SCHEMA = 2


#: The level of each comparison that carries no weight (the model's baseline).
BASELINE = {"first": "different", "last": "different", "middle": "different", "suffix": "both_missing",
            "address": "different"}


def feature_names() -> list[str]:
    """Model inputs: one indicator per non-baseline level, then :data:`TF_FEATURES`."""
    names = []
    for comp, levels in COMPARISONS.items():
        names += [f"{comp}:{lv}" for lv in levels if lv != BASELINE[comp]]
    return names + list(TF_FEATURES)


@dataclass
class Thresholds:
    """String-similarity cut-offs that define the fuzzy levels (Jaro-Winkler, 0..1)."""

    first_typo: float = 0.88
    last_typo: float = 0.92
    last_similar: float = 0.84
    street_same: float = 0.95
    street_similar: float = 0.82
    #: a first name seen at most this many times in the voter file is not a
    #: "known" given name, so a near miss to it is a keying typo.
    known_name_min_count: int = 3


@dataclass
class MatchModel:
    """Weights, thresholds and provenance of the name-and-address matcher.

    Attributes
    ----------
    version : str
        Stored with every match result.
    features : list of str
        Names of the model's inputs: ``comparison:level`` indicators and the
        term-frequency features :data:`TF_FEATURES`.
    weights : list of float
        Log-odds weight of each feature (same order as `features`).
    intercept : float
        Log-odds of a candidate pair with every comparison at its baseline.
    accept_threshold : float
        Minimum line-level score for status ``match``.
    review_threshold : float
        Below this, a line with no name-equivalent candidate is ``no_match``.
    ambiguity_share : float
        A runner-up candidate holding at least this share of the score makes
        the line ``ambiguous``.
    inactive_policy : {"accept", "review"}
        Inactive voters are registered voters in California; "review" sends
        them to a person anyway.
    thresholds : Thresholds
    fitted_on : dict
        Description of the training data; ``metrics`` the fit's figures.
    """

    version: str = "unfitted-0"
    features: list[str] = field(default_factory=feature_names)
    weights: list[float] = field(default_factory=list)
    intercept: float = -6.0
    accept_threshold: float = 0.97
    review_threshold: float = 0.05
    ambiguity_share: float = 0.02
    inactive_policy: str = "accept"
    #: Platt scaling (a, b) of the line-level score: ``sigmoid(a * logit(s) + b)``.
    line_calibration: list[float] = field(default_factory=lambda: [1.0, 0.0])
    thresholds: Thresholds = field(default_factory=Thresholds)
    #: Second-stage accept model, ``{"features": [...], "weights": [...],
    #: "intercept": b}`` over :data:`ACCEPT_FEATURES`; empty: no second stage
    #: (every candidate's score is the Platt-calibrated share).
    accept_model: dict = field(default_factory=dict)
    #: Named accept thresholds fitted for a target precision each, with the
    #: training figures: {"strict": {"accept_threshold": .., "target_precision": ..,
    #: "train_precision": .., "train_valid_accepted": ..}, ...}.
    operating_points: dict = field(default_factory=dict)
    fitted_on: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    schema: int = MODEL_SCHEMA

    def __post_init__(self):
        if isinstance(self.thresholds, dict):
            self.thresholds = Thresholds(**self.thresholds)
        if not self.weights:
            self.weights = [_PRIOR_WEIGHTS.get(f, 0.0) for f in self.features]
        if len(self.weights) != len(self.features):
            raise ValueError("`weights` must have one entry per feature")
        if self.inactive_policy not in ("accept", "review"):
            raise ValueError("`inactive_policy` must be 'accept' or 'review'")
        if self.accept_model and len(self.accept_model.get("weights", [])) != len(self.accept_model.get("features", [])):
            raise ValueError("`accept_model` must have one weight per feature")

    def at_operating_point(self, name: str) -> MatchModel:
        """A copy whose ``accept_threshold`` is the named operating point's.

        "strict" (the default) keeps auto-accepted identities at the target
        precision even against unregistered housemates with the very same
        name; "identity" accepts every clear name-and-address identity and
        relies on the signature comparison to catch such housemates.
        """
        if name not in self.operating_points:
            raise ValueError(f"unknown operating point {name!r}; have {sorted(self.operating_points)}")
        return dataclasses.replace(self, accept_threshold=self.operating_points[name]["accept_threshold"])

    def weight_vector(self) -> np.ndarray:
        """(n_features,) float64 weights in :func:`feature_names` order."""
        w = dict(zip(self.features, self.weights))
        return np.array([w.get(f, 0.0) for f in feature_names()], dtype=np.float64)

    def accept_vector(self) -> tuple[np.ndarray, float] | None:
        """(n_accept_features,) weights in :data:`ACCEPT_FEATURES` order and
        the intercept of the accept model, or None when there is none."""
        if not self.accept_model:
            return None
        w = dict(zip(self.accept_model["features"], self.accept_model["weights"]))
        return (np.array([w.get(f, 0.0) for f in ACCEPT_FEATURES], dtype=np.float64),
                float(self.accept_model["intercept"]))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        data = json.loads(text)
        if data.get("schema", MODEL_SCHEMA) > MODEL_SCHEMA:
            raise ValueError(f"model schema {data['schema']} is newer than this program ({MODEL_SCHEMA})")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# Hand-set starting weights (log-odds), used only until a model is fitted.
_PRIOR_WEIGHTS = {
    "first:exact": 5.0, "first:nickname": 4.0, "first:initial": 2.0, "first:typo": 3.5,
    "first:middle_as_first": 1.5, "first:similar": 0.5, "first:missing": 0.0,
    "last:exact": 5.0, "last:part": 3.5, "last:typo": 3.5, "last:similar": 1.0, "last:missing": -2.0,
    "middle:exact": 1.0, "middle:initial": 0.5, "middle:missing": 0.5,
    "suffix:agree": 0.5, "suffix:conflict": -4.0, "suffix:line_missing": -1.0, "suffix:voter_missing": -0.5,
    "address:exact": 6.0, "address:unit_differs": 5.0, "address:street_similar": 4.5,
    "address:number_typo": 3.0, "address:locality_differs": 3.0, "address:same_street": 0.5,
    "address:missing": 0.0,
    "first_rarity": 0.3, "last_rarity": 0.3, "address_crowd": -0.5,
}


def load_default_model() -> MatchModel:
    """The fitted model shipped in ``matchers/models/default.json``.

    Falls back to the hand-set prior weights when no fitted model is
    shipped (a fresh checkout before ``benchmarks/bench_matcher.py --fit``).
    """
    res = importlib.resources.files("matchers").joinpath("models", "default.json")
    if res.is_file():
        return MatchModel.from_json(res.read_text("utf-8"))
    return MatchModel()


def fit_logistic(X: np.ndarray, y: np.ndarray, *, l2: float = 1.0, n_iter: int = 50,
                 sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method.

    Parameters
    ----------
    X : (n, d) float64 array
    y : (n,) bool or {0, 1} array
    l2 : float
        Ridge penalty on the weights (not the intercept).
    sample_weight : (n,) float array, optional
        Weight of each row in the log-likelihood (default 1).

    Returns
    -------
    weights : (d,) float64 array
    intercept : float
    """
    X = np.nan_to_num(np.asarray(X, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    A = np.hstack([X, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    ym = float(np.average(y, weights=sw)) if n else 0.5
    beta[-1] = np.log((ym + 1e-9) / (1 - ym + 1e-9))
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0

    def loss(b):
        z = A @ b
        return float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)) + 0.5 * np.sum(reg * b * b))

    cur = loss(beta)
    for _ in range(n_iter):
        z = np.clip(A @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-z))
        g = A.T @ (sw * (p - y)) + reg * beta
        W = sw * p * (1 - p)
        H = (A * W[:, None]).T @ A + np.diag(reg + 1e-6)
        step = np.linalg.solve(H, g)
        t = 1.0
        while t > 1e-4:  # backtracking: Newton steps may overshoot near separation
            cand = beta - t * step
            new = loss(cand)
            if new <= cur:
                break
            t *= 0.5
        beta, done = cand, abs(cur - new) < 1e-9 * max(1.0, abs(cur))
        cur = new
        if done:
            break
    return beta[:-1], float(beta[-1])
