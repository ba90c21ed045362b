"""Agreement between original rulings and supervisors' blind audit re-rulings.

Supervisors re-rule a random sample of the software's accepts and of each
reviewer's rulings (Colorado reviews at least 2 % of software approvals)
and watch how often they agree: percent agreement, and Cohen's kappa, which
discounts the agreement two raters would reach by chance given how often
each uses each decision. Both are reported per reviewer and per reason
code, so drift over a long day or a misunderstood reason shows up.

Computed for all groups at once: the decisions are coded to integers and a
(groups × K × K) confusion tensor is filled with one ``np.add.at``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["AgreementReport", "agreement_table", "agreement_report", "cohen_kappa", "disagreements"]

REQUIRED = ("line_id", "reviewer", "original_decision", "audit_decision")


def _confusion(group_codes: np.ndarray, n_groups: int, a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    conf = np.zeros((n_groups, k, k), dtype=np.int64)
    np.add.at(conf, (group_codes, a, b), 1)
    return conf


def _stats(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n, agreements, percent agreement, kappa for each (K, K) confusion matrix.

    kappa = (p_o − p_e) / (1 − p_e), with p_o the observed agreement and
    p_e = Σ_k (row_k / n)(col_k / n). Undefined (NaN) when p_e = 1: both
    sides used a single, identical decision throughout, so chance explains
    everything.
    """
    n = conf.sum(axis=(1, 2))
    agree = np.trace(conf, axis1=1, axis2=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        po = agree / n
        pe = (conf.sum(axis=2) * conf.sum(axis=1)).sum(axis=1) / (n.astype(np.float64) ** 2)
        kappa = np.where(np.isclose(pe, 1.0), np.nan, (po - pe) / (1.0 - pe))
    return n, agree, po * 100.0, kappa


def cohen_kappa(original, audit) -> float:
    """Cohen's kappa between two equal-length sequences of decisions.

    Examples
    --------
    >>> round(cohen_kappa(["a", "a", "r", "r"], ["a", "r", "r", "r"]), 4)
    0.5
    """
    original, audit = np.asarray(original, dtype=object), np.asarray(audit, dtype=object)
    if original.shape != audit.shape or original.ndim != 1 or original.size == 0:
        raise ValueError("cohen_kappa needs two non-empty sequences of the same length")
    cats, inv = np.unique(np.concatenate([original, audit]).astype(str), return_inverse=True)
    a, b = inv[: original.size], inv[original.size:]
    conf = _confusion(np.zeros(original.size, dtype=np.int64), 1, a, b, cats.size)
    return float(_stats(conf)[3][0])


def agreement_table(frame: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Percent agreement and Cohen's kappa, overall or per value of `by`.

    Parameters
    ----------
    frame : pl.DataFrame
        One row per audited line: ``line_id``, ``reviewer`` (who made the
        original ruling; e.g. ``"software"`` for auto-accepts),
        ``original_decision``, ``audit_decision`` (e.g. ``valid`` /
        ``invalid`` / ``escalate``), ``reason`` (the original ruling's reason
        code, null for accepts); optionally ``original_category`` and
        ``audit_category`` (the reasons' agreement categories): two
        rejections then agree only within one category.
    by : str, optional
        ``"reviewer"`` or ``"reason"`` (any column); overall if None.

    Returns
    -------
    pl.DataFrame
        ``group`` (the `by` value; ``"all"`` overall), ``n``,
        ``agreements``, ``percent_agreement`` (0–100), ``kappa`` (null when
        undefined), sorted by group. A group with a null `by` value is
        shown as ``"(none)"``.
    """
    missing = set(REQUIRED) - set(frame.columns)
    if missing:
        raise ValueError(f"agreement needs columns {sorted(missing)}")
    if frame.height == 0:
        return pl.DataFrame(schema={"group": pl.String, "n": pl.Int64, "agreements": pl.Int64,
                                    "percent_agreement": pl.Float64, "kappa": pl.Float64})
    compared = _compared(frame)
    orig = compared["o"].fill_null("(none)").to_numpy().astype(str)
    audit = compared["a"].fill_null("(none)").to_numpy().astype(str)
    cats, inv = np.unique(np.concatenate([orig, audit]), return_inverse=True)
    a, b = inv[: orig.size], inv[orig.size:]
    if by is None:
        groups, gcodes = np.array(["all"]), np.zeros(orig.size, dtype=np.int64)
    else:
        keys = frame[by].cast(pl.String).fill_null("(none)").to_numpy().astype(str)
        groups, gcodes = np.unique(keys, return_inverse=True)
    n, agree, pct, kappa = _stats(_confusion(gcodes, groups.size, a, b, cats.size))
    return pl.DataFrame({
        "group": groups.tolist(),
        "n": n.astype(np.int64),
        "agreements": agree.astype(np.int64),
        "percent_agreement": pct,
        "kappa": kappa,
    }).with_columns(pl.col("kappa").fill_nan(None))


def _compared(frame: pl.DataFrame) -> pl.DataFrame:
    """The decisions as compared: ``o`` and ``a``. With ``original_category``
    and ``audit_category`` columns (the reasons' agreement categories), two
    rejections agree only when their categories do: ``invalid:<category>``."""
    def side(decision: str, category: str) -> pl.Expr:
        d = pl.col(decision).cast(pl.String)
        if category not in frame.columns:
            return d
        return (pl.when((d == "invalid") & pl.col(category).is_not_null())
                .then(pl.concat_str([pl.lit("invalid:"), pl.col(category).cast(pl.String)])).otherwise(d))

    return frame.select(side("original_decision", "original_category").alias("o"),
                        side("audit_decision", "audit_category").alias("a"))


def disagreements(frame: pl.DataFrame) -> pl.DataFrame:
    """The audited lines where the audit disagrees: to route back to review.

    A rejection for a reason of another category than the original's is a
    disagreement when the frame carries ``original_category`` and
    ``audit_category`` (:func:`agreement_table` compares the same way)."""
    c = _compared(frame)
    return frame.filter(c["o"].ne_missing(c["a"]))


@dataclass(frozen=True)
class AgreementReport:
    overall: pl.DataFrame
    per_reviewer: pl.DataFrame
    per_reason: pl.DataFrame
    disagreements: pl.DataFrame


def agreement_report(frame: pl.DataFrame) -> AgreementReport:
    """Overall, per-reviewer and per-reason agreement plus the disagreements."""
    per_reason = (agreement_table(frame, "reason") if "reason" in frame.columns
                  else agreement_table(frame.head(0)))
    return AgreementReport(agreement_table(frame), agreement_table(frame, "reviewer"), per_reason,
                           disagreements(frame))
