"""Every line's status: its determination and its rulings, resolved."""
from __future__ import annotations

import json

import polars as pl

from petitions.law.resolution import resolve
from petitions.store import Workspace
from petitions.store import status as status_db


def line_status(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """Every line of a filing with its determination and final status.

    Columns: line_db_id, line_id (label), seq, section, page, number, state,
    determination, det_reasons (list[str]), level, status, reason, voter_id,
    match_status, match_score, sig_score, sig_decision.
    """
    from petitions.law.rules import RuleSet

    rs = RuleSet.from_json(status_db.filing_ruleset_json(ws, filing_id))
    rows = status_db.status_lines(ws, filing_id)
    ruled: dict[int, list[dict]] = {}
    for r in status_db.status_rulings(ws, filing_id):
        ruled.setdefault(r["line_db_id"], []).append(r)
    out = []
    for r in rows:
        reasons = json.loads(r["reasons_json"]) if r["reasons_json"] else []
        if r["line_db_id"] in ruled:
            status, reason, level = resolve(ruled[r["line_db_id"]], r["determination"], reasons, rs.rejections_required)
        else:
            status = r["determination"] or "needs_review"
            reason = reasons[0] if (status != "valid" and reasons) else None
            level = "auto" if status != "needs_review" else "review"
        out.append({**{k: r[k] for k in ("line_db_id", "line_id", "seq", "section", "page", "number", "state",
                                         "determination", "voter_id", "match_status", "match_score", "sig_score",
                                         "sig_decision")},
                    "det_reasons": reasons, "det_level": r["det_level"], "level": level,
                    "status": status, "reason": reason})
    schema = {"line_db_id": pl.Int64, "line_id": pl.Utf8, "seq": pl.Int64, "section": pl.Int64, "page": pl.Int64,
              "number": pl.Int64, "state": pl.Utf8, "determination": pl.Utf8, "voter_id": pl.Utf8,
              "match_status": pl.Utf8, "match_score": pl.Float64, "sig_score": pl.Float64, "sig_decision": pl.Utf8,
              "det_reasons": pl.List(pl.Utf8), "det_level": pl.Utf8, "level": pl.Utf8, "status": pl.Utf8,
              "reason": pl.Utf8}
    return pl.DataFrame(out, schema=schema, orient="row") if out else pl.DataFrame(schema=schema)
