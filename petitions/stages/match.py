"""Stage: match each keyed signed line to a voter (:mod:`matchers`).
"""
from __future__ import annotations

import polars as pl

from petitions.stages.filings import get_filing
from petitions.stages.job import (
    CancelFn,
    ProgressFn,
    StageReport,
    check_cancel,
    never,
    noop_progress,
    stage_run,
)
from petitions.stages.voters import active_voter_file
from petitions.store import Workspace, canonical_json


def _pending_match_lines(ws: Workspace, filing_id: int, voter_file_id: int) -> pl.DataFrame:
    """Signed lines whose current keyed entry has no match against this voter
    file yet (a new keyed entry or a new voter file makes a line pending again)."""
    rows = ws.query(
        "SELECT l.id AS line_id, k.id AS keyed_id, k.name, k.address, k.city, k.zip, k.date_signed "
        "FROM lines l JOIN current_keyed k ON k.line_id = l.id "
        "LEFT JOIN current_match m ON m.line_id = l.id "
        "WHERE l.filing_id = ? AND l.state = 'signed' AND (m.line_id IS NULL OR m.voter_file_id != ? "
        "   OR CAST(json_extract(m.details_json, '$.keyed_id') AS INTEGER) != k.id) "
        "ORDER BY l.seq", (filing_id, voter_file_id))
    schema = {"line_id": pl.Int64, "keyed_id": pl.Int64, "name": pl.Utf8, "address": pl.Utf8, "city": pl.Utf8,
              "zip": pl.Utf8, "date_signed": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def run_matching(ws: Workspace, filing_id: int, *, user: str, batch_size: int = 20_000,
                 progress: ProgressFn = noop_progress, cancel: CancelFn = never) -> StageReport:
    """Match every keyed signed line to the active voter file, in batches."""
    import matchers

    filing = get_filing(ws, filing_id)
    vf_id, voters = active_voter_file(ws)
    pending = _pending_match_lines(ws, filing_id, vf_id)
    report = StageReport("match")
    if pending.height == 0:
        return report
    model = matchers.load_default_model().at_operating_point(filing.ruleset.triage.match_operating_point)
    run_id = ws.start_run("match", filing_id=filing_id, user=user, voter_file_id=vf_id,
                          model_json=model.to_json(), model_version=model.version,
                          params={"lines": pending.height, "batch_size": batch_size})
    report.run_id = run_id
    lines = pending.with_columns(
        pl.col("line_id").cast(pl.Utf8).alias("line_key"),
        pl.col("date_signed").str.to_date(strict=False),
    )
    with stage_run(ws, report, user):
        for start in range(0, lines.height, batch_size):
            check_cancel(cancel)
            batch = lines.slice(start, batch_size)
            result = matchers.match_lines(
                batch.select(pl.col("line_key").alias("line_id"), "name", "address", "city", "zip", "date_signed"),
                voters, model=model, jurisdiction_city=filing.jurisdiction_city, district=filing.district,
            )
            _store_matches(ws, filing_id, run_id, vf_id, batch, result, model.version, user)
            report.processed += batch.height
            progress("match", report.processed, lines.height)
    return report


def _store_matches(ws, filing_id, run_id, vf_id, batch: pl.DataFrame, result: pl.DataFrame, version: str, user: str):
    result = result.with_columns(pl.Series("keyed_id", batch["keyed_id"]), pl.Series("line_db_id", batch["line_id"]))
    cols = set(result.columns)
    rows = []
    for r in result.iter_rows(named=True):
        details = {"keyed_id": r["keyed_id"]}
        for extra in ("first_name_level", "last_name_level", "house_level", "street_level", "zip_level",
                      "unit_level", "city_level", "flags", "n_candidates"):
            if extra in cols:
                details[extra] = r[extra]
        rows.append((r["line_db_id"], run_id, vf_id, r["voter_id"], r["score"], r["status"], r["reason"],
                     r.get("name_level"), r.get("address_level"),
                     canonical_json(r.get("candidates") or []), canonical_json(details), version))
    counts = result["status"].value_counts().to_dicts()
    with ws.transaction():
        ws.db.conn.executemany(
            "INSERT INTO matches (line_id, run_id, voter_file_id, voter_id, score, status, reason, name_level, "
            "address_level, candidates_json, details_json, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows)
        ws.log_event("match_batch", user=user, filing_id=filing_id,
                     payload={"run_id": run_id, "lines": len(rows),
                              "status_counts": {c["status"]: c["count"] for c in counts}})

