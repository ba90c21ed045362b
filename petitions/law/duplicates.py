"""Duplicate signers across a whole filing, by the rule set's policy.

The same voter may sign a petition more than once, on different sections
and pages. Which line counts is the rule set's ``duplicate_policy``:

``one_counts`` (California)
    One signature per voter counts, the excess is invalid. The line that
    counts is the first in filing order (section, page, line).
``reject_all_but_first`` (Washington, RCW 29A.72.230)
    All but the first signature are rejected; "first" is the earliest date
    signed where lines are dated, filing order otherwise.
``earliest_dated`` (Arizona, A.R.S. §16-321(C))
    The earliest-dated signature counts; if the voter signed more than once
    *on that earliest day*, all of that day's signatures are void, and so is
    every later one (none counts). Undated lines rank after dated ones.

Under every policy, lines already known to be invalid for another reason
(optional column ``eligible`` = False) rank after the eligible ones, so a
struck-out first signature does not void a good second one.

Everything is one sort and window expressions over the whole frame.
"""
from __future__ import annotations

import polars as pl

__all__ = ["apply_duplicate_policy", "POLICIES"]

POLICIES = ("one_counts", "reject_all_but_first", "earliest_dated")


def apply_duplicate_policy(frame: pl.DataFrame, policy: str) -> pl.DataFrame:
    """Group lines of the same voter and rank them under `policy`.

    Parameters
    ----------
    frame : pl.DataFrame
        One row per line: ``line_id`` (str), ``order`` (int: filing order,
        e.g. section·10⁶ + page·10³ + line), ``voter_id`` (str or null: the
        voter the line is matched to), ``date_signed`` (date or null), and
        optionally ``eligible`` (bool: False if the line is invalid for
        another reason).
    policy : str
        ``one_counts``, ``reject_all_but_first`` or ``earliest_dated``
        (``RuleSet.duplicate_policy``).

    Returns
    -------
    pl.DataFrame
        `frame` in its original row order plus

        - ``duplicate_group`` (str): the voter id when the voter has more
          than one line, else null;
        - ``duplicate_count`` (u32): lines of that voter (null without a voter);
        - ``duplicate_rank`` (i64): 0 for the line that counts, ≥ 1 for the
          excess (null without a voter). Under ``earliest_dated`` a group
          whose earliest day has several lines has no rank 0.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"line_id": ["a", "b", "c"], "order": [1, 2, 3],
    ...                   "voter_id": ["V1", "V2", "V1"], "date_signed": [None] * 3},
    ...                  schema_overrides={"date_signed": pl.Date})
    >>> apply_duplicate_policy(f, "one_counts")["duplicate_rank"].to_list()
    [0, 0, 1]
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown duplicate policy {policy!r}; expected one of {', '.join(POLICIES)}")
    missing = {"line_id", "order", "voter_id", "date_signed"} - set(frame.columns)
    if missing:
        raise ValueError(f"apply_duplicate_policy needs columns {sorted(missing)}")

    ineligible = (~pl.col("eligible").fill_null(True)) if "eligible" in frame.columns else pl.lit(False)
    work = frame.with_row_index("_row").with_columns(
        _inel=ineligible,
        _undated=pl.col("date_signed").is_null(),
    )
    if policy == "one_counts":
        keys, desc = ["voter_id", "_inel", "order"], [False, False, False]
    else:
        keys, desc = ["voter_id", "_inel", "_undated", "date_signed", "order"], [False] * 5
    work = work.sort(keys, descending=desc, nulls_last=True)

    grp = pl.col("voter_id")
    rank = pl.int_range(pl.len(), dtype=pl.Int64).over(grp)
    if policy == "earliest_dated":
        # A.R.S. §16-321(C): several signatures on the earliest day are all
        # void. The sort put the first-ranked line first, so compare every
        # eligible dated line with it.
        first_date = pl.col("date_signed").first().over(grp)
        first_ok = (~pl.col("_inel").first().over(grp)) & first_date.is_not_null()
        same_day = (
            ((pl.col("date_signed") == first_date) & ~pl.col("_inel")).fill_null(False).sum().over(grp)
        )
        rank = rank + pl.when(first_ok & (same_day > 1)).then(1).otherwise(0)
    count = pl.len().over(grp)
    has_voter = grp.is_not_null()
    work = work.with_columns(
        duplicate_rank=pl.when(has_voter).then(rank),
        duplicate_count=pl.when(has_voter).then(count),
        duplicate_group=pl.when(has_voter & (count > 1)).then(grp),
    )
    return work.sort("_row").drop("_row", "_inel", "_undated")
