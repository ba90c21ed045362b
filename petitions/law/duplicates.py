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

__all__ = ["apply_cross_filing_limit", "apply_duplicate_policy", "POLICIES"]

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


def apply_cross_filing_limit(frame: pl.DataFrame, allowed: int) -> pl.DataFrame:
    """Limit the papers a voter's signature counts on, across the filings of one office.

    A voter may sign ``allowed`` papers for the same office (one, or as many
    as there are seats: EC 8404); the papers signed earliest count. A paper
    is one candidate's: filings that are the same candidate's paper (an
    in-lieu petition and the nomination paper, EC 8061/8106) share a
    ``paper`` key, so signing both is one paper, and a voter's second
    signature on them is a duplicate across the two filings.

    Parameters
    ----------
    frame : pl.DataFrame
        One row per signed line of the office's filings: ``line_id`` (str,
        unique in the frame), ``label`` (str: the printed label),
        ``filing`` (str: the filing's name), ``paper`` (str), ``order``
        (int: the order the filings were created, then filing order within
        one), ``voter_id`` (str or null) and ``date_signed`` (date or null).
    allowed : int
        Papers a voter's signature counts on (≥ 1).

    Returns
    -------
    pl.DataFrame
        `frame` in its order plus

        - ``other_filing_rank`` (i64): 0 on the papers that count, k ≥ 1 on
          the voter's k-th paper beyond the limit, null without a voter;
        - ``other_filing_lines`` (str): on an excess line, the lines that
          count instead, as ``"filing label; …"``;
        - ``cross_duplicate`` (bool): the voter signed the same paper
          earlier in another filing (in-lieu and nomination paper).

    Examples
    --------
    >>> f = pl.DataFrame({"line_id": ["a1", "b1"], "label": ["S001-P01-L01"] * 2, "filing": ["A", "B"],
    ...                   "paper": ["A", "B"], "order": [1, 2], "voter_id": ["V1", "V1"],
    ...                   "date_signed": [None, None]}, schema_overrides={"date_signed": pl.Date})
    >>> apply_cross_filing_limit(f, 1)["other_filing_rank"].to_list()
    [0, 1]
    """
    if allowed < 1:
        raise ValueError(f"allowed must be at least 1, got {allowed}")
    missing = {"line_id", "label", "filing", "paper", "order", "voter_id", "date_signed"} - set(frame.columns)
    if missing:
        raise ValueError(f"apply_cross_filing_limit needs columns {sorted(missing)}")
    earliest = ["_undated", "date_signed", "order"]
    work = frame.with_row_index("_row").with_columns(_undated=pl.col("date_signed").is_null())
    voted = work.filter(pl.col("voter_id").is_not_null()).sort(earliest, nulls_last=True)
    # Each paper's first signature by the voter, then the voter's papers in that order.
    firsts = voted.group_by(["voter_id", "paper"], maintain_order=True).agg(
        pl.col("_undated").first(), pl.col("date_signed").first(), pl.col("order").first(),
        pl.col("filing").first().alias("_first_filing"), pl.col("label").first().alias("_first_label"))
    papers = firsts.sort(["voter_id", *earliest], nulls_last=True).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over("voter_id").alias("_paper_rank"))
    counting = (papers.filter(pl.col("_paper_rank") < allowed)
                .group_by("voter_id", maintain_order=True)
                .agg(pl.concat_str("_first_filing", "_first_label", separator=" ").str.join("; ")
                     .alias("_counting")))
    papers = papers.join(counting, on="voter_id", how="left").select(
        "voter_id", "paper", "_paper_rank", "_first_filing", "_counting")
    out = work.join(papers, on=["voter_id", "paper"], how="left", maintain_order="left")
    excess = (pl.col("_paper_rank") - allowed + 1).clip(lower_bound=0)
    return (out.with_columns(
        pl.when(pl.col("voter_id").is_not_null()).then(excess).alias("other_filing_rank"),
        pl.when(excess >= 1).then(pl.col("_counting")).alias("other_filing_lines"),
        (pl.col("voter_id").is_not_null() & (pl.col("filing") != pl.col("_first_filing"))).fill_null(False)
        .alias("cross_duplicate"))
        .sort("_row")
        .drop("_row", "_undated", "_paper_rank", "_first_filing", "_counting"))
