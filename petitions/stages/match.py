"""Stage: match each keyed signed line to a voter (:mod:`matchers`).

Names: ``line_id`` is the line's database id; the matcher gets it as a
string, ``line_key``, in its own ``line_id`` column (the matcher's frames
know nothing of the store).
"""
from __future__ import annotations

from typing import Collection

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
from petitions.store import results as results_db


def operating_point(name: str, accept_threshold: float, address_leniency: Collection[str]) -> str:
    """The operating point a match ran with, as stored beside it: the named
    point, its accept threshold and the address variants tolerated.

    Matching resumes on it: a line matched at another point (another rule
    set, a changed leniency flag, a refitted threshold) is matched again.
    """
    return canonical_json({"point": name, "accept_threshold": float(accept_threshold),
                           "address_leniency": sorted(address_leniency)})


def _pending_match_lines(ws: Workspace, filing_id: int, voter_file_id: int, model_version: str,
                         point: str) -> pl.DataFrame:
    """Signed lines whose current keyed entry has no match under these inputs (a new keyed
    entry, voter file, matcher model or operating point makes a line pending again)."""
    rows = results_db.pending_match_lines(ws, filing_id, voter_file_id, model_version, point)
    schema = {"line_id": pl.Int64, "keyed_id": pl.Int64, "name": pl.Utf8, "address": pl.Utf8, "city": pl.Utf8,
              "zip": pl.Utf8, "date_signed": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def run_matching(ws: Workspace, filing_id: int, *, user: str, batch_size: int = 20_000,
                 progress: ProgressFn = noop_progress, cancel: CancelFn = never, model=None) -> StageReport:
    """Match every keyed signed line to the active voter file, in batches.

    `model` (a :class:`matchers.MatchModel`, default the shipped one) is
    taken at the rule set's operating point; the rule set's address
    leniency says which variants the matcher forgives.
    """
    import matchers

    from petitions.certification import require_unlocked

    require_unlocked(ws, filing_id, "matching (petitions run)")
    filing = get_filing(ws, filing_id)
    rs = filing.ruleset
    vf_id, voters = active_voter_file(ws)
    point_name = rs.triage.match_operating_point
    model = (model or matchers.load_default_model()).at_operating_point(point_name)
    lenient = rs.address_leniency.tolerated()
    point = operating_point(point_name, model.accept_threshold, lenient)
    pending = _pending_match_lines(ws, filing_id, vf_id, model.version, point)
    report = StageReport("match")
    if pending.height == 0:
        return report
    run_id = ws.start_run("match", filing_id=filing_id, user=user, voter_file_id=vf_id,
                          model_json=model.to_json(), model_version=model.version,
                          params={"lines": pending.height, "batch_size": batch_size, "operating_point": point})
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
                address_leniency=lenient,
            )
            _store_matches(ws, filing_id, run_id, vf_id, batch, result, model.version, point, user)
            report.processed += batch.height
            progress("match", report.processed, lines.height)
    return report


def _store_matches(ws: Workspace, filing_id: int, run_id: int, vf_id: int, batch: pl.DataFrame,
                   result: pl.DataFrame, version: str, point: str, user: str) -> None:
    # the matcher's line_id column is the line_key; put the database ids back beside it
    result = result.drop("line_id").with_columns(pl.Series("keyed_id", batch["keyed_id"]),
                                                 pl.Series("line_id", batch["line_id"]))
    cols = set(result.columns)
    rows = []
    for r in result.iter_rows(named=True):
        details = {"keyed_id": r["keyed_id"]}
        for extra in ("first_name_level", "last_name_level", "house_level", "street_level", "zip_level",
                      "unit_level", "city_level", "flags", "n_candidates"):
            if extra in cols:
                details[extra] = r[extra]
        rows.append((r["line_id"], run_id, vf_id, r["keyed_id"], r["voter_id"], r["score"], r["status"], r["reason"],
                     r.get("name_level"), r.get("address_level"),
                     canonical_json(r.get("candidates") or []), canonical_json(details), version, point))
    counts = result["status"].value_counts().to_dicts()
    with ws.transaction():
        results_db.add_matches(ws, rows)
        ws.log_event("match_batch", user=user, filing_id=filing_id,
                     payload={"run_id": run_id, "lines": len(rows),
                              "status_counts": {c["status"]: c["count"] for c in counts}})
