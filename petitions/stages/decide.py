"""Stage: triage, the automatic determination of every line under the rule set.
"""
from __future__ import annotations

import json

import polars as pl

from petitions.errors import UserError
from petitions.stages.filings import get_filing
from petitions.stages.job import StageReport
from petitions.stages.voters import active_voter_file
from petitions.store import Workspace, canonical_json, now_utc
from petitions.store import filings as filings_db
from petitions.store import fraud as fraud_db
from petitions.store import results as results_db


def triage_inputs(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """One row per line with everything triage needs (see petitions.law.triage).

    ``line_id`` is the line's database id and ``label`` its printed label;
    the law's frames call the label ``line_id`` (the keyed-entry CSV's and
    the exports' column), so the label is renamed where a frame is handed
    to them.
    """
    from petitions.law.duplicates import apply_duplicate_policy

    filing = get_filing(ws, filing_id)
    rows = results_db.triage_rows(ws, filing_id)
    schema = {"line_id": pl.Int64, "label": pl.Utf8, "seq": pl.Int64, "state": pl.Utf8, "has_keyed": pl.Boolean,
              "date_signed": pl.Utf8, "match_status": pl.Utf8, "match_reason": pl.Utf8, "match_score": pl.Float64,
              "voter_id": pl.Utf8, "sig_score": pl.Float64, "sig_decision": pl.Utf8, "sig_reason": pl.Utf8,
              "sig_voter_id": pl.Utf8}
    df = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    # A signature score for a different voter than the current match does not count.
    df = df.with_columns(
        pl.col("date_signed").str.to_date(strict=False),
        *[pl.when(pl.col("sig_voter_id") == pl.col("voter_id")).then(pl.col(c)).otherwise(None).alias(c)
          for c in ("sig_score", "sig_decision", "sig_reason")],
    ).drop("sig_voter_id")
    # Voter status and registration date from the voter file version the match used.
    try:
        _, voters = active_voter_file(ws)
        vinfo = voters.select(
            pl.col("voter_id").cast(pl.Utf8),
            pl.col("status").cast(pl.Utf8).alias("voter_status"),
            pl.col("registration_date").cast(pl.Utf8).str.to_date(strict=False).alias("registration_date"),
        ).unique("voter_id", keep="first")
        df = df.join(vinfo, on="voter_id", how="left", maintain_order="left")
    except UserError:
        df = df.with_columns(pl.lit(None, pl.Utf8).alias("voter_status"), pl.lit(None, pl.Date).alias("registration_date"))
    # Duplicates by the rule set's policy, over every line with a candidate
    # voter (match or review): if an earlier line of the same voter is still
    # in review, a later clear match must not count first. A flag only ever
    # sends a line to a person.
    # A voter a person chose by lookup stands for the line (issue 18 item 9).
    chosen = _chosen_voters(ws, filing_id)
    dup_in = df.select(
        pl.col("label").alias("line_id"), pl.col("seq").alias("order"),
        pl.coalesce(
            pl.col("line_id").replace_strict(chosen, default=None, return_dtype=pl.Utf8),
            pl.when(pl.col("match_status").is_in(["match", "review"])).then(pl.col("voter_id")).otherwise(None))
        .alias("voter_id"),
        "date_signed")
    dups = apply_duplicate_policy(dup_in, filing.ruleset.duplicate_policy)
    df = df.join(dups.select(pl.col("line_id").alias("label"), "duplicate_group", "duplicate_rank"), on="label", how="left",
                 maintain_order="left")
    df = df.with_columns(pl.col("line_id").is_in(results_db.withdrawn_lines(ws, filing_id)).alias("withdrawn"))
    # The same-hand scan in force (petitions.stages.fraud): a column only once
    # a scan flagged lines, so filings never scanned keep their inputs as they were.
    flagged = fraud_db.flagged_lines(ws, filing_id)
    if flagged:
        df = df.with_columns(pl.col("line_id").replace_strict(flagged, default=None, return_dtype=pl.Utf8)
                             .alias("same_hand_cluster"))
    # Pages whose layout fit a person should check (issue 19 item 1): a
    # column only when there are some, as for the scan above.
    unsure = results_db.layout_check_lines(ws, filing_id)
    if unsure:
        df = df.with_columns(pl.col("line_id").is_in(list(unsure)).alias("layout_check"))
    return _with_cross_filing(ws, filing, df)


def _chosen_voters(ws: Workspace, filing_id: int) -> dict[int, str]:
    """line id -> the voter a person chose by lookup in the ruling in force."""
    out = {}
    for r in results_db.chosen_voters(ws, filing_id):
        v = json.loads(r["shown_json"] or "{}").get("chosen_voter_id")
        if v:
            out[int(r["line_id"])] = str(v)
    return out


def _with_cross_filing(ws: Workspace, filing, df: pl.DataFrame) -> pl.DataFrame:
    """Add ``other_filing_rank`` / ``other_filing_lines`` (the rule set's limit
    of papers per office across the office's filings) and fold a voter's
    second signature on the same candidate's other filing into
    ``duplicate_rank``."""
    from petitions.law.duplicates import apply_cross_filing_limit

    rules = filing.ruleset.cross_filing
    none = df.with_columns(pl.lit(None, pl.Int64).alias("other_filing_rank"),
                           pl.lit(None, pl.Utf8).alias("other_filing_lines"))
    if filing.office_id is None or rules.papers_per_signer is None:
        return none
    others = filings_db.filings_of_office(ws, filing.office_id)
    if len(others) < 2:
        return none
    allowed = 1 if rules.papers_per_signer == "one" else int(filing.seats or 1)
    paper_of = {f["id"]: (f"candidate:{f['candidate']}" if f["candidate"] and f["kind"] in rules.same_candidate_kinds
                          else f"filing:{f['id']}") for f in others}
    rank_of = {f["id"]: i for i, f in enumerate(others)}
    name_of = {f["id"]: f["name"] for f in others}
    chosen: dict[int, str] = {}
    for f in others:
        chosen.update(_chosen_voters(ws, f["id"]))
    rows = filings_db.office_lines(ws, filing.office_id)
    schema = {"filing_id": pl.Int64, "line_id": pl.Int64, "label": pl.Utf8, "seq": pl.Int64,
              "date_signed": pl.Utf8, "voter_id": pl.Utf8}
    lines = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    frame = lines.select(
        pl.col("line_id").cast(pl.Utf8), "label",
        pl.col("filing_id").replace_strict(name_of, return_dtype=pl.Utf8).alias("filing"),
        pl.col("filing_id").replace_strict(paper_of, return_dtype=pl.Utf8).alias("paper"),
        (pl.col("filing_id").replace_strict(rank_of, return_dtype=pl.Int64) * 10**9 + pl.col("seq")).alias("order"),
        pl.coalesce(pl.col("line_id").replace_strict(chosen, default=None, return_dtype=pl.Utf8), pl.col("voter_id"))
        .alias("voter_id"),
        pl.col("date_signed").str.to_date(strict=False))
    limited = apply_cross_filing_limit(frame, allowed).select(
        pl.col("line_id").cast(pl.Int64), "other_filing_rank", "other_filing_lines", "cross_duplicate")
    out = df.join(limited, on="line_id", how="left", maintain_order="left")
    return out.with_columns(
        pl.when(pl.col("cross_duplicate").fill_null(False)).then(pl.max_horizontal(pl.col("duplicate_rank"), 1))
        .otherwise(pl.col("duplicate_rank")).alias("duplicate_rank")).drop("cross_duplicate")


def run_triage(ws: Workspace, filing_id: int, *, user: str) -> StageReport:
    """Determine every line (valid / needs_review / invalid) under the filing's
    rule set; store a new determination only where it changed."""
    from petitions.certification import require_unlocked
    from petitions.law.triage import triage

    require_unlocked(ws, filing_id, "triage (petitions run)")
    filing = get_filing(ws, filing_id)
    rs = filing.ruleset
    inputs = triage_inputs(ws, filing_id)
    report = StageReport("triage")
    if inputs.height == 0:
        return report
    result = triage(inputs.drop("line_id", "seq").rename({"label": "line_id"}), rs, circulation_start=filing.circulation_start,
                    circulation_end=filing.circulation_end, filing_date=filing.filing_date)
    result = result.rename({"line_id": "label"}).with_columns(pl.Series("line_id", inputs["line_id"]))
    rows_now = results_db.current_determinations(ws, filing_id)
    current = {r["line_id"]: (r["determination"], r["reasons_json"], r["inputs_json"]) for r in rows_now}
    # A supervisor's QA audit sent these lines back to people (petitions.audit);
    # automation does not take them back.
    held = {r["line_id"] for r in rows_now if r["level"] == "qa_audit"}
    ts = now_utc()
    rows = []
    for r in result.iter_rows(named=True):
        reasons = canonical_json(list(r["reasons"] or []))
        key = (r["determination"], reasons, r["inputs"])
        if current.get(r["line_id"]) == key or r["line_id"] in held:
            report.skipped += 1
            continue
        rows.append((r["line_id"], r["determination"], r["level"], reasons, r["inputs"], rs.id, str(rs.version), ts))
    counts = result["determination"].value_counts().to_dicts()
    report.counts = {c["determination"]: c["count"] for c in counts}
    from petitions.integrity import determination_rows_digest

    with ws.transaction():
        require_unlocked(ws, filing_id, "triage (petitions run)", hold=True)
        results_db.add_determinations(ws, rows)
        # The rows' digest seals them in the event chain (petitions verify-log).
        ws.log_event("triage", user=user, filing_id=filing_id,
                     payload={"changed": len(rows), "unchanged": report.skipped, "counts": report.counts,
                              "ruleset": rs.id, "ruleset_version": rs.version, "created_at": ts,
                              "rows_sha256": determination_rows_digest(
                                  [(r[0], r[1], r[2], r[3], r[4]) for r in rows])})
    report.processed = len(rows)
    return report

