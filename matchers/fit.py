"""Fit a :class:`~matchers.model.MatchModel` on lines with known answers.

Supervised: every candidate pair the blocking produces is labelled by
whether its voter is the line's true voter; a ridge logistic regression
over the comparison levels and term-frequency features gives calibrated
pair probabilities. The accept threshold is then the lowest line score at
which auto-accepted identities reach the target precision on the training
lines (never below a floor).
"""
from __future__ import annotations

import datetime as _dt

import numpy as np
import polars as pl

from matchers.match import decide, design_matrix, prepare_lines, score_pairs, scored_pairs
from matchers.model import MatchModel, feature_names, fit_logistic


def fit_model(lines: pl.DataFrame, voters: pl.DataFrame, truth: pl.Series, *, version: str,
              operating_targets: dict[str, float] | None = None, min_accept: float = 0.5, l2: float = 1.0,
              description: dict | None = None, base: MatchModel | None = None) -> MatchModel:
    """Fit weights and the accept threshold.

    Parameters
    ----------
    lines : pl.DataFrame, shape (n_lines, ...)
        Keyed lines as for :func:`matchers.match_lines`.
    voters : pl.DataFrame
        Prepared voters.
    truth : pl.Series, shape (n_lines,)
        The true voter id of each line (null: the signer has no record).
    version : str
        Version string of the fitted model.
    operating_targets : dict, optional
        Named target precisions of auto-accepted identities; each gets the
        lowest threshold reaching it on the training lines. "strict" is the
        default threshold. Defaults to strict 0.9995, balanced 0.995,
        identity 0.985.

    Returns
    -------
    MatchModel
    """
    base = base or MatchModel()
    operating_targets = operating_targets or {"strict": 0.9995, "balanced": 0.995, "identity": 0.985}
    L = prepare_lines(lines)
    # the same two-pass candidates as matching (pass 2 depends on levels only)
    P, _ = scored_pairs(L, voters, base)
    P = P.drop("weight", "p")
    truth_li = pl.DataFrame({"_li": pl.int_range(len(truth), dtype=pl.UInt32, eager=True),
                             "_truth": truth.cast(pl.String)})
    P = P.join(truth_li, on="_li", how="left", maintain_order="left")
    y = (P["voter_id"] == P["_truth"]).fill_null(False).to_numpy().astype(np.float64)
    X = design_matrix(P)
    w, b = fit_logistic(X, y, l2=l2)
    model = MatchModel(
        version=version, features=feature_names(), weights=[round(float(v), 4) for v in w],
        intercept=round(b, 4), review_threshold=base.review_threshold, ambiguity_share=base.ambiguity_share,
        inactive_policy=base.inactive_policy, thresholds=base.thresholds,
    )
    # line-level calibration (Platt) of the top candidate's score
    P2 = score_pairs(P.drop("_truth"), model)
    model.accept_threshold = 0.0
    out = decide(L, P2, model)
    ok = (out["voter_id"] == truth.cast(pl.String)).fill_null(False)
    has = out["voter_id"].is_not_null().to_numpy()
    s_ = np.clip(out["score"].to_numpy()[has], 1e-12, 1 - 1e-12)
    if has.sum() > 10:
        wa, ba = fit_logistic(np.log(s_ / (1 - s_))[:, None], ok.to_numpy()[has].astype(np.float64), l2=1e-3)
        model.line_calibration = [round(float(wa[0]), 5), round(float(ba), 5)]
        out = decide(L, P2, model)
        ok = (out["voter_id"] == truth.cast(pl.String)).fill_null(False)
    # thresholds: lowest score whose accepted set reaches each target precision
    cand = out.select(pl.col("score"), pl.col("status") == "match").with_columns(ok.alias("ok"))
    cand = cand.filter(pl.col("status")).sort("score", descending=True)
    correct = np.cumsum(cand["ok"].to_numpy())
    prec = correct / np.arange(1, cand.height + 1)
    scores = cand["score"].to_numpy()
    n_true = max(int(truth.is_not_null().sum()), 1)

    def point(target: float) -> dict:
        good = np.flatnonzero(prec >= target)
        k = int(good[-1]) if good.size else 0
        thr = round(max(min_accept, min(float(scores[k]) if good.size else 0.999, 0.9999)), 4)
        sel = scores >= thr
        return {"accept_threshold": thr, "target_precision": target,
                "train_precision": round(float(prec[sel.sum() - 1]), 5) if sel.any() else None,
                "train_identities_accepted": round(float(correct[sel.sum() - 1]) / n_true, 4) if sel.any() else 0.0}

    model.operating_points = {name: point(tp) for name, tp in operating_targets.items()}
    model.accept_threshold = model.operating_points["strict"]["accept_threshold"]
    model.fitted_on = {
        "lines": int(lines.height), "voters": int(voters.height), "pairs": int(P.height),
        "positives": int(y.sum()), "date": _dt.date.today().isoformat(), **(description or {}),
    }
    model.metrics = {"train_log_loss": _log_loss(X, y, w, b)}
    return model


def _log_loss(X, y, w, b) -> float:
    z = np.clip(X @ w + b, -30, 30)
    p = 1 / (1 + np.exp(-z))
    return round(float(-np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))), 6)
