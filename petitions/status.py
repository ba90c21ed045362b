"""Every line's status: its determination and its rulings, resolved."""
from __future__ import annotations

import json

import polars as pl

from petitions.law.resolution import resolve
from petitions.store import Workspace


def line_status(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """Every line of a filing with its determination and final status.

    Columns: line_db_id, line_id (label), seq, section, page, number, state,
    determination, det_reasons (list[str]), level, status, reason, voter_id,
    match_status, match_score, sig_score, sig_decision.
    """
    from petitions.law.rules import RuleSet

    rs = RuleSet.from_json(ws.scalar("SELECT ruleset_json FROM filings WHERE id = ?", (filing_id,)))
    rows = ws.query(
        "SELECT l.id AS line_db_id, l.label AS line_id, l.seq, s.number AS section, p.number AS page, l.number, l.state, "
        "d.determination, d.reasons_json, d.level AS det_level, m.voter_id, m.status AS match_status, "
        "m.score AS match_score, sg.score AS sig_score, sg.decision AS sig_decision "
        "FROM lines l JOIN sections s ON s.id = l.section_id LEFT JOIN pages p ON p.id = l.page_id "
        "LEFT JOIN current_determination d ON d.line_id = l.id LEFT JOIN current_match m ON m.line_id = l.id "
        "LEFT JOIN current_signature sg ON sg.line_id = l.id "
        "WHERE l.filing_id = ? ORDER BY l.seq", (filing_id,))
    ruled: dict[int, list[dict]] = {}
    for r in ws.query("SELECT r.line_id, r.user, r.action, r.reason_code, r.kind FROM rulings r "
                      "JOIN lines l ON l.id = r.line_id WHERE l.filing_id = ? AND r.kind != 'audit' "
                      "ORDER BY r.id", (filing_id,)):
        ruled.setdefault(r["line_id"], []).append(r)
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







