"""Triage: combine identity, signature, dates and duplicates into a determination.

The law in one sentence: **software may accept; only people reject**
(EC 3019, 2 CCR §20961, applied to petitions through the 2 CCR §20960
comparison standard). So each line gets one of

``valid``
    Auto-accepted: the matcher found a clear match, the signature model
    found the signature consistent with the record, and nothing else is
    flagged (voter status, registration date, circulation window,
    duplicate). Level ``auto_accept``.
``needs_review``
    Everything else, with the *suspected* reasons (reason codes from
    :mod:`petitions.law.reasons`) and a named level saying what the person
    should look at first.

Software never makes a line invalid. The lines the rule set lists in
``triage.auto_invalid_levels`` — a blank line, a struck line, a line with
neither signature nor name (``empty_line``), optionally a line with a name
but no signature (``missing_signature``) — are *proposed* invalid: level
``confirm_invalid``, determination ``needs_review``, the proposed reason
first in ``reasons`` (``blank_line``, ``struck_line``, ``no_signature``),
until a person confirms it (:func:`petitions.review.confirm.confirm_invalid`):
the segmenter can read a long flourish as a strike. A withdrawn line
(optional column ``withdrawn``) is proposed invalid the same way, for
``withdrawn``.

Levels, in the order they are tested (the first that applies names the
row; the reasons list every problem found):

=====================  ===================================================
``confirm_invalid``    one of the levels below that the rule set proposes
                       invalid, or a withdrawn line; a person confirms
``blank_line``         nothing on the line (not in the raw count)
``struck_line``        struck through before filing (not in the raw count)
``empty_line``         no ink in the signature cell and no name (the matcher
                       reports ``no_name``, or the keyed entry is empty)
``missing_signature``  no ink in the signature cell, a name (or not keyed yet)
``needs_keying``       printed name/address not keyed yet
``review_identity``    no clear match (not found, ambiguous, address …)
``review_voter``       cancelled / inactive / registration date problems
``review_signature``   signature not consistent, or not compared
``review_duplicate``   an excess line of a voter who signed more than once
``review_other_filing`` the voter signed more papers for the same office
                       than the law allows (optional column
                       ``other_filing_rank`` ≥ 1; see
                       :func:`petitions.law.duplicates.apply_cross_filing_limit`)
``review_dates``       signed outside the circulation window
``review_same_hand``   the same-hand scan put the signature in a cluster of
                       lines one hand likely wrote (optional column
                       ``same_hand_cluster``; reason ``same_hand`` on any
                       level of a signed line)
``review_layout``      the line's page was read with a layout fit that is
                       confident but not certain (optional column
                       ``layout_check``; reason ``layout_uncertain`` on any
                       level of a signed line): a person checks that the
                       crops are the line's cells
``auto_accept``        all clear
=====================  ===================================================

Each row carries ``inputs``: a JSON object with the row's inputs, the
thresholds used and the rule set's id, version and content hash, so every
automatic determination can be explained and re-derived later.
"""
from __future__ import annotations

import datetime as _dt
import json

import polars as pl

from petitions.law.reasons import REASONS

__all__ = ["triage", "LEVELS", "INPUT_COLUMNS", "OPTIONAL_COLUMNS", "MATCH_REASON_CODES"]

LEVELS = (
    "confirm_invalid", "blank_line", "struck_line", "empty_line", "missing_signature", "needs_keying",
    "review_identity", "review_voter", "review_signature", "review_duplicate", "review_other_filing",
    "review_dates", "review_same_hand", "review_layout", "auto_accept",
)

#: Optional inputs: absent columns mean "not known / none".
OPTIONAL_COLUMNS: dict[str, pl.DataType] = {
    "withdrawn": pl.Boolean,
    "other_filing_rank": pl.Int64,
    "other_filing_lines": pl.String,
    "same_hand_cluster": pl.String,
    "layout_check": pl.Boolean,
}

INPUT_COLUMNS: dict[str, pl.DataType] = {
    "line_id": pl.String,
    "state": pl.String,
    "has_keyed": pl.Boolean,
    "match_status": pl.String,
    "match_reason": pl.String,
    "match_score": pl.Float64,
    "voter_id": pl.String,
    "voter_status": pl.String,
    "registration_date": pl.Date,
    "sig_score": pl.Float64,
    "sig_decision": pl.String,
    "sig_reason": pl.String,
    "duplicate_rank": pl.Int64,
    "date_signed": pl.Date,
}

#: Matcher reason → reason code (shared/CONTRACT.md `petitions match`).
#: Reason codes themselves pass through; anything unknown becomes ``other``.
MATCH_REASON_CODES: dict[str, str] = {
    **{code: code for code in REASONS},
    "not_found": "not_registered",
    "no_match": "not_registered",
    "ambiguous": "ambiguous_identity",
    "weak": "weak_match",
    "low_score": "weak_match",
    "suffix_mismatch": "name_mismatch",
    "unreadable": "illegible",
    "no_name": "illegible",
    "po_box_only": "incomplete_address",
    "moved": "address_mismatch",
    "different_address": "address_mismatch",
    "out_of_district": "out_of_jurisdiction",
    "out_of_county": "out_of_jurisdiction",
    "registered_after": "registered_after_signing",
    "no_address": "incomplete_address",
}

#: What the signature core reports when the signature cell is empty.
EMPTY_SIGNATURE_REASONS = ("empty_signature", "no_signature", "blank", "empty", "blank_signature")
#: Signature-core reasons meaning no comparison could be made (no usable
#: exemplar, unreadable crop): a person compares, nothing is suspected of it.
NOT_COMPARED_SIGNATURE_REASONS = ("no_exemplar", "bad_exemplar", "unreadable_signature")


def _lit_date(d: _dt.date | None) -> pl.Expr:
    return pl.lit(d, dtype=pl.Date)


def triage(
    lines: pl.DataFrame,
    ruleset,
    *,
    circulation_start: _dt.date | None = None,
    circulation_end: _dt.date | None = None,
    filing_date: _dt.date | None = None,
) -> pl.DataFrame:
    """Give every line a determination, suspected reasons and a level.

    Parameters
    ----------
    lines : pl.DataFrame
        One row per petition line with the columns of :data:`INPUT_COLUMNS`:
        ``line_id``; ``state`` (``signed`` | ``blank`` | ``struck``);
        ``has_keyed`` (a printed name or address was keyed for the line);
        ``match_status`` (``match`` | ``review`` | ``no_match`` | null),
        ``match_reason``, ``match_score`` (0..1), ``voter_id``,
        ``voter_status`` (``active`` | ``inactive`` | ``cancelled``),
        ``registration_date`` — from the matcher and the voter file;
        ``sig_score`` (0..1), ``sig_decision`` (``consistent`` | ``review``),
        ``sig_reason`` (``empty_signature`` when the cell has no ink;
        ``no_exemplar`` / ``bad_exemplar`` / ``unreadable_signature`` when no
        comparison was possible; NaN scores count as missing) — from the
        signature core; ``duplicate_rank`` (0 = the line that counts, ≥ 1 =
        excess; :func:`petitions.law.duplicates.apply_duplicate_policy`);
        ``date_signed``. Optional (:data:`OPTIONAL_COLUMNS`): ``withdrawn``
        (bool: a withdrawal request names the line), ``other_filing_rank``
        (≥ 1: the voter's paper for the same office beyond what the law
        allows; :func:`petitions.law.duplicates.apply_cross_filing_limit`)
        ``other_filing_lines`` (the other filings' lines, for the inputs)
        ``same_hand_cluster`` (the same-hand scan's cluster holding the
        line, ``'scan.cluster'``; :mod:`petitions.stages.fraud`) and
        ``layout_check`` (bool: the line's page was segmented with a layout
        fit that is confident but not certain, ``PageSegmentation.check``).
    ruleset : petitions.law.rules.RuleSet
        Thresholds (``ruleset.triage``), registration test, inactive voters,
        circulation limit, and which levels may be invalid.
    circulation_start, circulation_end, filing_date : datetime.date, optional
        The filing's dates. Without ``circulation_end`` the rule set's
        ``max_circulation_days`` after the start is used (EC 9237: 30 days).

    Returns
    -------
    pl.DataFrame
        Same rows, same order: ``line_id``, ``determination`` (``valid`` |
        ``needs_review``; never ``invalid``), ``reasons`` (list[str]:
        suspected reasons, the proposed reason first at level
        ``confirm_invalid``; empty for valid), ``level`` (one of
        :data:`LEVELS`), ``inputs`` (JSON str).

    Notes
    -----
    Registration test (``ruleset.registration_test``): ``before_signing``
    compares the registration date with the date signed, or for an undated
    line with the earliest date it could have been signed (circulation
    start; failing that the circulation end or filing date, the best bound
    known). ``before_filing`` compares with the filing date. A registration
    date after the reference date, or a missing one, is flagged for review.
    """
    missing = set(INPUT_COLUMNS) - set(lines.columns)
    if missing:
        raise ValueError(f"triage needs columns {sorted(missing)}")
    bad_state = lines.filter(~pl.col("state").is_in(["signed", "blank", "struck"]) | pl.col("state").is_null())
    if bad_state.height:
        raise ValueError(f"line {bad_state['line_id'][0]!r}: state must be signed, blank or struck, "
                         f"got {bad_state['state'][0]!r}")

    tr = ruleset.triage
    end = circulation_end if circulation_end is not None else ruleset.circulation_end(circulation_start)
    df = lines.select([
        # NaN scores (the signature core's "no score") are missing, not low.
        pl.col(c).cast(t).fill_nan(None) if t == pl.Float64 else pl.col(c).cast(t)
        for c, t in INPUT_COLUMNS.items()
    ] + [pl.col(c).cast(t) if c in lines.columns else pl.lit(None, dtype=t).alias(c)
         for c, t in OPTIONAL_COLUMNS.items()])

    c = pl.col
    state = c("state")
    has_keyed = c("has_keyed").fill_null(False)
    has_voter = c("voter_id").is_not_null()
    sig_empty = c("sig_reason").is_in(EMPTY_SIGNATURE_REASONS).fill_null(False)
    # "No name" needs evidence: the matcher saw the keyed entry and found no
    # name, or the keyed entry is empty. A line not keyed yet is not evidence.
    no_name = (c("match_reason") == "no_name").fill_null(False) | (~has_keyed & c("match_status").is_not_null())

    # -- identity ---------------------------------------------------------
    score_ok = pl.lit(True) if tr.min_match_score is None else (c("match_score") >= tr.min_match_score).fill_null(False)
    identity_clear = (c("match_status") == "match").fill_null(False) & has_voter & score_ok
    matcher_codes = (
        c("match_reason").fill_null("").str.replace_all(r"[,|]", ";").str.split(";")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase())
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.eval(pl.element().replace_strict(MATCH_REASON_CODES, default="other", return_dtype=pl.String))
    )
    # The matcher's reasons explain a review / no_match; on a clear match they
    # are informational and ignored.
    default_identity = (
        pl.when(~has_keyed & c("match_status").is_null()).then(pl.lit("not_keyed"))
        .when(c("match_status").is_null()).then(pl.lit("identity_not_checked"))
        .when(c("match_status") == "no_match").then(pl.lit("not_registered"))
        .when(c("match_status") == "match").then(
            pl.when(has_voter).then(pl.lit("weak_match")).otherwise(pl.lit("identity_not_checked")))
        .otherwise(pl.lit("ambiguous_identity"))
    )
    identity_reasons = (
        pl.when(identity_clear).then(pl.lit([], dtype=pl.List(pl.String)))
        .when(c("match_status").is_in(["review", "no_match"]).fill_null(False) & (matcher_codes.list.len() > 0))
        .then(matcher_codes)
        .otherwise(pl.concat_list(default_identity))
    )

    # -- voter record (only when a voter is attached) ---------------------
    status = c("voter_status")
    status_ok = status.is_in(["active", "inactive"] if ruleset.inactive_voters_count else ["active"]).fill_null(False)
    if ruleset.registration_test == "before_signing":
        reference = pl.coalesce(c("date_signed"), _lit_date(circulation_start), _lit_date(end), _lit_date(filing_date))
    else:
        reference = pl.coalesce(_lit_date(filing_date), _lit_date(end))
    reg_after = (c("registration_date") > reference).fill_null(False)
    reg_unknown = c("registration_date").is_null() | reference.is_null()
    voter_reasons = [
        pl.when(has_voter & (status == "cancelled").fill_null(False)).then(pl.lit("cancelled")),
        pl.when(has_voter & (status == "inactive").fill_null(False) & ~status_ok).then(pl.lit("inactive")),
        pl.when(has_voter & reg_after).then(pl.lit("registered_after_signing")),
        pl.when(has_voter & (reg_unknown | status.is_null() | ~status.is_in(["active", "inactive", "cancelled"])))
        .then(pl.lit("registration_unknown")),
    ]

    # -- signature ---------------------------------------------------------
    if tr.min_signature_score is None:
        sig_ok = (c("sig_decision") == "consistent").fill_null(False)
    else:
        sig_ok = (c("sig_score") >= tr.min_signature_score).fill_null(False)
    sig_compared = (c("sig_score").is_not_null() | c("sig_decision").is_not_null()) & ~c("sig_reason").is_in(
        NOT_COMPARED_SIGNATURE_REASONS).fill_null(False)
    sig_reason = (
        pl.when(~has_voter | sig_empty | sig_ok).then(None)
        .when(sig_compared).then(pl.lit("signature_mismatch"))
        .otherwise(pl.lit("signature_not_compared"))
    )

    # -- duplicates and dates ---------------------------------------------
    dup_reason = pl.when((c("duplicate_rank") >= 1).fill_null(False)).then(pl.lit("duplicate"))
    other_filing = (c("other_filing_rank") >= 1).fill_null(False)
    other_reason = pl.when(other_filing).then(pl.lit("signed_other_filing"))
    withdrawn = c("withdrawn").fill_null(False)
    d = c("date_signed")
    outside = pl.lit(False)
    if circulation_start is not None:
        outside = outside | (d < _lit_date(circulation_start)).fill_null(False)
    if end is not None:
        outside = outside | (d > _lit_date(end)).fill_null(False)
    if filing_date is not None:
        outside = outside | (d > _lit_date(filing_date)).fill_null(False)
    date_reason = pl.when(outside).then(pl.lit("outside_window"))
    same_hand = c("same_hand_cluster").is_not_null()
    hand_reason = pl.when(same_hand & (state == "signed")).then(pl.lit("same_hand"))
    layout_unsure = c("layout_check").fill_null(False)
    layout_reason = pl.when(layout_unsure & (state == "signed")).then(pl.lit("layout_uncertain"))

    # -- levels ------------------------------------------------------------
    review_voter = pl.any_horizontal([r.is_not_null() for r in voter_reasons])
    level = (
        pl.when(state == "blank").then(pl.lit("blank_line"))
        .when(state == "struck").then(pl.lit("struck_line"))
        .when(sig_empty & no_name).then(pl.lit("empty_line"))
        .when(sig_empty).then(pl.lit("missing_signature"))
        .when(~has_keyed & c("match_status").is_null()).then(pl.lit("needs_keying"))
        .when(~identity_clear).then(pl.lit("review_identity"))
        .when(review_voter).then(pl.lit("review_voter"))
        .when(sig_reason.is_not_null()).then(pl.lit("review_signature"))
        .when(dup_reason.is_not_null()).then(pl.lit("review_duplicate"))
        .when(other_filing).then(pl.lit("review_other_filing"))
        .when(outside).then(pl.lit("review_dates"))
        .when(same_hand).then(pl.lit("review_same_hand"))
        .when(layout_unsure).then(pl.lit("review_layout"))
        .otherwise(pl.lit("auto_accept"))
    )
    auto_invalid = [lv for lv in tr.auto_invalid_levels if lv in ("blank_line", "struck_line", "empty_line",
                                                                   "missing_signature")]
    review_reasons = pl.concat_list(
        [identity_reasons, *voter_reasons, sig_reason, dup_reason, other_reason, date_reason, hand_reason,
         layout_reason]
    ).list.drop_nulls().list.unique(maintain_order=True)
    reasons = (
        pl.when(c("_level") == "blank_line").then(pl.lit(["blank_line"]))
        .when(c("_level") == "struck_line").then(pl.lit(["struck_line"]))
        .when(c("_level").is_in(["empty_line", "missing_signature"])).then(
            # A missing signature is the reason; what else is wrong is moot
            # for an empty line but useful to a reviewer for a named one.
            pl.when((c("_level") == "empty_line") | c("_level").is_in(auto_invalid)).then(pl.lit(["no_signature"]))
            .otherwise(pl.concat_list(pl.lit("no_signature"), c("_review")).list.unique(maintain_order=True)))
        .when(c("_level") == "auto_accept").then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(c("_review"))
    )
    # Proposed invalid: the reason a person is asked to confirm comes first
    # (a withdrawal before anything else found on the line).
    propose = c("_level").is_in(auto_invalid) | withdrawn
    reasons = (
        pl.when(withdrawn & (c("state") == "signed")).then(
            pl.concat_list(pl.lit("withdrawn"), reasons).list.unique(maintain_order=True))
        .otherwise(reasons)
    )
    determination = (
        pl.when(c("_level") == "auto_accept").then(pl.lit("valid"))
        .otherwise(pl.lit("needs_review"))
    )
    final_level = (pl.when(propose & ((c("state") == "signed") | c("_level").is_in(auto_invalid)))
                   .then(pl.lit("confirm_invalid")).otherwise(c("_level")))
    determination = pl.when(final_level == "confirm_invalid").then(pl.lit("needs_review")).otherwise(determination)

    context = {
        "ruleset_id": ruleset.id,
        "ruleset_version": ruleset.version,
        "ruleset_hash": ruleset.content_hash,
        "min_match_status": tr.min_match_status,
        "min_match_score": tr.min_match_score,
        "min_signature_score": tr.min_signature_score,
        "signature_rule": "sig_decision == 'consistent'" if tr.min_signature_score is None else "sig_score >= min_signature_score",
        "registration_test": ruleset.registration_test,
        "inactive_voters_count": ruleset.inactive_voters_count,
        "auto_invalid_levels": list(auto_invalid),
        "circulation_start": circulation_start.isoformat() if circulation_start else None,
        "circulation_end": end.isoformat() if end else None,
        "filing_date": filing_date.isoformat() if filing_date else None,
    }
    # The per-filing context is the same on every row: encode it once and
    # splice it into each row's JSON rather than repeating literals.
    context_json = json.dumps(context, sort_keys=True, separators=(",", ":"))
    optional = [k for k in OPTIONAL_COLUMNS if k in lines.columns]
    row_json = pl.struct([c(k) for k in INPUT_COLUMNS if k != "line_id"] + [c(k) for k in optional]).struct.json_encode()
    inputs = pl.concat_str([pl.lit('{"line":'), row_json, pl.lit(',"rules":' + context_json + "}")])

    return (
        df.with_columns(_level=level, _review=review_reasons)
        .select(
            c("line_id"),
            determination.alias("determination"),
            reasons.alias("reasons"),
            final_level.alias("level"),
            inputs.alias("inputs"),
        )
    )
