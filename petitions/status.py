"""Every line's status: its determination and its rulings, resolved.

Two named reads (the lines with their current determination, match and
signature score; the rulings in order) go straight into polars frames, and
:func:`petitions.law.resolution.resolve_frame` resolves every line at once.
:func:`petitions.law.resolution.resolve` is the one-line reference it is
tested against.
"""
from __future__ import annotations

import polars as pl

from petitions.law.resolution import apply_section_rulings, resolve_frame
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
    """
    from petitions.law.rules import RuleSet

    rs = RuleSet.from_json(status_db.filing_ruleset_json(ws, filing_id))
    stamp = status_db.change_stamp(ws)
    inputs = {k: v for k, v in stamp.items() if k not in ("rulings", "n_rulings")}
    memo = ws.memo.get(("line_status", filing_id))
    if memo is not None and memo["inputs"] == inputs:
        # Between two refreshes usually only rulings arrive: keep the lines
        # frame, take the rulings again. On SQLite writers commit one at a
        # time, so ids grow in commit order and only the new ones are read;
        # on a server a lower id can commit later, so all are read again.
        lines = memo["lines"]
        rulings = memo["rulings"]
        if stamp.get("n_rulings") != memo["n_rulings"]:
            if ws.backend == "sqlite":
                new = pl.from_dicts(status_db.status_rulings(ws, filing_id, after=memo["last_ruling"]),
                                    schema=_RULINGS)
                rulings = pl.concat([rulings, new]) if new.height else rulings
            else:
                rulings = pl.from_dicts(status_db.status_rulings(ws, filing_id), schema=_RULINGS)
    else:
        lines = _lines_frame(ws, filing_id)
        rulings = pl.from_dicts(status_db.status_rulings(ws, filing_id), schema=_RULINGS)
    ws.memo[("line_status", filing_id)] = {
        "inputs": inputs, "lines": lines, "rulings": rulings, "n_rulings": stamp.get("n_rulings"),
        "last_ruling": int(rulings["id"].max() or 0) if rulings.height else 0}
    resolved = resolve_frame(lines, rulings.drop("id"), rs.rejections_required)
    # A separate input: supervisors' rulings on whole sections (issue 18
    # item 5) override their signed lines; read fresh each time (a few rows).
    resolved = apply_section_rulings(resolved, sections_db.voided_sections(ws, filing_id))
    return resolved.select([pl.col(c).cast(t) for c, t in STATUS_SCHEMA.items()])


def _lines_frame(ws: Workspace, filing_id: int) -> pl.DataFrame:
    lines = pl.from_dicts(status_db.status_lines(ws, filing_id), schema=_LINES)
    no_reasons = pl.lit([], dtype=pl.List(pl.Utf8))
    return lines.with_columns(
        # A line without a determination (or an empty reasons text) has no reasons, not a null list.
        pl.when(pl.col("reasons_json").fill_null("") == "").then(no_reasons)
        .otherwise(pl.col("reasons_json").str.json_decode(pl.List(pl.Utf8))).alias("det_reasons"))
