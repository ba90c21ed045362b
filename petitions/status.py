"""Every line's status: its determination and its rulings, resolved.

Two named reads (the lines with their current determination, match and
signature score; the rulings in order) go straight into polars frames, and
:func:`petitions.law.resolution.resolve_frame` resolves every line at once.
:func:`petitions.law.resolution.resolve` is the one-line reference it is
tested against.
"""
from __future__ import annotations

import polars as pl

from petitions.law.resolution import apply_section_rulings, resolve, resolve_frame
from petitions.store import Workspace
from petitions.store import sections as sections_db
from petitions.store import status as status_db

# What the line read gives, column by column.
_LINES = {"line_db_id": pl.Int64, "line_id": pl.Utf8, "seq": pl.Int64, "section": pl.Int64, "page": pl.Int64,
          "number": pl.Int64, "state": pl.Utf8, "determination": pl.Utf8, "reasons_json": pl.Utf8,
          "det_level": pl.Utf8, "voter_id": pl.Utf8, "match_status": pl.Utf8, "match_score": pl.Float64,
          "sig_score": pl.Float64, "sig_decision": pl.Utf8}
_RULINGS = {"id": pl.Int64, "line_db_id": pl.Int64, "user": pl.Utf8, "action": pl.Utf8, "reason_code": pl.Utf8}

# The frame line_status returns, in this column order.
STATUS_SCHEMA = {"line_db_id": pl.Int64, "line_id": pl.Utf8, "seq": pl.Int64, "section": pl.Int64,
                 "page": pl.Int64, "number": pl.Int64, "state": pl.Utf8, "determination": pl.Utf8,
                 "voter_id": pl.Utf8, "match_status": pl.Utf8, "match_score": pl.Float64, "sig_score": pl.Float64,
                 "sig_decision": pl.Utf8, "det_reasons": pl.List(pl.Utf8), "det_level": pl.Utf8, "level": pl.Utf8,
                 "status": pl.Utf8, "reason": pl.Utf8}


def line_status(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """Every line of a filing with its determination and final status.

    Columns: line_db_id, line_id (label), seq, section, page, number, state,
    determination, voter_id, match_status, match_score, sig_score,
    sig_decision, det_reasons (list[str]), det_level, level, status, reason;
    one row per line in filing order (``seq``).

    Kept on the connection (``ws.memo``) under a change stamp: unchanged,
    the frame is returned as it was; when only rulings arrived (on SQLite,
    where ruling ids commit in order), only the lines they touch are
    resolved again. Either way the frame equals a cold read.
    """
    stamp = status_db.change_stamp(ws)
    inputs = {k: v for k, v in stamp.items() if k not in ("rulings", "n_rulings", "section_rulings")}
    key = ("line_status", filing_id)
    memo = ws.memo.get(key)
    # A separate input: supervisors' rulings on whole sections (issue 18
    # item 5) override their signed lines; read again only when one arrived.
    if memo is not None and memo.get("n_section_rulings") == stamp.get("section_rulings"):
        voided = memo["voided"]
    else:
        voided = sections_db.voided_sections(ws, filing_id)
    if memo is not None and memo["inputs"] == inputs:
        if (stamp.get("n_rulings") == memo["n_rulings"] and stamp.get("rulings") == memo["max_ruling"]
                and stamp.get("section_rulings") == memo.get("n_section_rulings")):
            return memo["final"]
        # Between two refreshes usually only rulings arrive: keep the lines
        # frame, take the rulings again. On SQLite writers commit one at a
        # time, so ids grow in commit order and only the new ones are read
        # (and only their lines resolved again); on a server a lower id can
        # commit later, so all are read and resolved again.
        lines, rulings, rejections = memo["lines"], memo["rulings"], memo["rejections_required"]
        if ws.backend == "sqlite":
            new = _frame(status_db.status_rulings(ws, filing_id, after=memo["last_ruling"]), _RULINGS)
            resolved = memo["resolved"]
            if new.height:
                rulings = rulings.vstack(new)
                touched = new["line_db_id"].unique()
                if touched.len() <= _FEW:
                    resolved = resolved.update(_resolve_few(lines, rulings, touched, rejections),
                                               on="line_db_id", include_nulls=True)
                else:
                    resolved = _resolve(lines, rulings.rechunk(), rejections)
        else:
            rulings = _frame(status_db.status_rulings(ws, filing_id), _RULINGS)
            resolved = _resolve(lines, rulings, rejections)
    else:
        from petitions.law.rules import RuleSet

        rejections = RuleSet.from_json(status_db.filing_ruleset_json(ws, filing_id)).rejections_required
        lines = _lines_frame(ws, filing_id)
        rulings = _frame(status_db.status_rulings(ws, filing_id), _RULINGS)
        resolved = _resolve(lines, rulings, rejections)
    ws.memo[key] = {
        "inputs": inputs, "lines": lines, "rulings": rulings, "n_rulings": stamp.get("n_rulings"),
        "max_ruling": stamp.get("rulings"), "rejections_required": rejections, "resolved": resolved,
        "last_ruling": int(rulings["id"].max() or 0) if rulings.height else 0}
    final = apply_section_rulings(resolved, voided).select(list(STATUS_SCHEMA)) if voided else resolved
    ws.memo[key].update(voided=voided, n_section_rulings=stamp.get("section_rulings"), final=final)
    return final


#: Up to this many lines touched by new rulings are resolved one by one
#: (:func:`petitions.law.resolution.resolve`, the reference the frame
#: resolution is tested against); more, and the whole frame is resolved again.
_FEW = 64


def _resolve_few(lines: pl.DataFrame, rulings: pl.DataFrame, touched: pl.Series, rejections_required: int
                 ) -> pl.DataFrame:
    """``line_db_id``, ``status``, ``reason``, ``level`` of the `touched` lines, each resolved from its rulings."""
    ids = touched.implode()
    theirs: dict[int, list[dict]] = {}
    for r in rulings.filter(pl.col("line_db_id").is_in(ids)).iter_rows(named=True):
        theirs.setdefault(r["line_db_id"], []).append(r)
    rows = []
    for lid, det, reasons in lines.filter(pl.col("line_db_id").is_in(ids)).select(
            "line_db_id", "determination", "det_reasons").iter_rows():
        rows.append((lid, *resolve(theirs.get(lid, []), det, reasons, rejections_required)))
    return pl.DataFrame(rows, schema={"line_db_id": pl.Int64, "status": pl.Utf8, "reason": pl.Utf8,
                                      "level": pl.Utf8}, orient="row")


def _resolve(lines: pl.DataFrame, rulings: pl.DataFrame, rejections_required: int) -> pl.DataFrame:
    return resolve_frame(lines, rulings.drop("id"), rejections_required).select(
        [pl.col(c).cast(t) for c, t in STATUS_SCHEMA.items()])


def _lines_frame(ws: Workspace, filing_id: int) -> pl.DataFrame:
    lines = _frame(status_db.status_lines(ws, filing_id), _LINES)
    no_reasons = pl.lit([], dtype=pl.List(pl.Utf8))
    return lines.with_columns(
        # A line without a determination (or an empty reasons text) has no reasons, not a null list.
        pl.when(pl.col("reasons_json").fill_null("") == "").then(no_reasons)
        .otherwise(pl.col("reasons_json").str.json_decode(pl.List(pl.Utf8))).alias("det_reasons"))


def _frame(read: tuple[list[str], list[tuple]], schema: dict) -> pl.DataFrame:
    """A named read's rows as a frame of `schema` (its columns in the read's order)."""
    names, rows = read
    if list(names) != list(schema):
        raise ValueError(f"the read gave columns {names}, expected {list(schema)}")
    return pl.DataFrame(rows, schema=schema, orient="row")
