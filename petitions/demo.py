"""The built-in demo: a synthetic county and filing through the whole pipeline.

Uses exactly the library calls the CLI and the workbench use; the only thing
the demo adds is the fixture generator and a comparison with its ground
truth, printed beside what the pipeline found.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import polars as pl

from petitions import pipeline
from petitions.counting import count_result, draw_sample, sample_items
from petitions.errors import UserError
from petitions.rulings import line_status
from petitions.store import Workspace

SUPERVISOR = "demo-supervisor"
REVIEWER = "demo-reviewer"


@dataclass
class DemoResult:
    workspace: Path
    filing_id: int
    summary: dict = field(default_factory=dict)


def run_demo(workspace: str | Path, *, signatures: int = 300, seed: int = 0,
             log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> DemoResult:
    """Generate (or reuse) the demo inputs and run every stage on them.

    Rerunning on the same workspace resumes: stages skip what is committed.
    """
    from fixtures.filing import build_filing

    if not 1 <= signatures <= 100_000:
        raise UserError(f"--signatures must be between 1 and 100000, got {signatures}")
    root = Path(workspace)
    inputs = root / "inputs"
    spec_path = inputs / "filing.json"
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else None
    if spec and (spec.get("seed") != seed or spec.get("signatures") != signatures):
        raise UserError(
            f"this workspace holds the demo for seed {spec.get('seed')} with {spec.get('signatures')} signatures; "
            "use another --workspace for other parameters", where=str(root))
    if spec is None:
        log(f"generating a synthetic county and a filing of {signatures} lines (seed {seed}) …")
        files = build_filing(inputs, signatures=signatures, seed=seed)
        spec = files.params
    ws = Workspace(root, create=True)
    try:
        ws.ensure_user(SUPERVISOR, "supervisor")
        ws.ensure_user(REVIEWER, "reviewer")
        log("importing the voter file and exemplars …")
        pipeline.import_voter_file(ws, inputs / "county" / "voters.csv", user=SUPERVISOR)
        pipeline.import_exemplars(ws, inputs / "county" / "exemplars.csv", user=SUPERVISOR)
        try:
            filing = pipeline.get_filing(ws, spec["name"])
        except UserError:
            d = pipeline._date
            pipeline.create_filing(
                ws, name=spec["name"], ruleset=spec["ruleset"], jurisdiction=spec["jurisdiction"], user=SUPERVISOR,
                required=spec["required"], filing_date=d(spec["filing_date"]),
                circulation_start=d(spec["circulation_start"]), circulation_end=d(spec["circulation_end"]))
            filing = pipeline.get_filing(ws, spec["name"])
        for sec in spec["sections"]:
            rep = pipeline.ingest_document(ws, filing.id, inputs / sec["path"], user=SUPERVISOR,
                                           section=sec["section"], circulator_name=sec["circulator"])
            state = "already ingested" if rep.already_ingested else f"{rep.pages} pages, {rep.lines} lines"
            log(f"  section {sec['section']:3d} ({sec['path']}): {state}")
            for problem in rep.problems:
                log(f"    problem: {problem}")
        keyed = pipeline.import_keyed_entries(ws, filing.id, inputs / "keyed.csv", user=SUPERVISOR)
        for problem in keyed.problems[:10]:
            log(f"  keyed entries: {problem}")
        log("matching, comparing signatures, triage …")
        pipeline.run_all(ws, filing.id, user=SUPERVISOR,
                         progress=lambda stage, done, total: log(f"  {stage}: {done}/{total}"))
        if filing.ruleset.sampling.method != "full_count" and sample_items(ws, filing.id).height == 0:
            draw_sample(ws, filing.id, seed=f"demo-{seed}", user=SUPERVISOR)
        summary = summarize(ws, filing.id, truth=inputs / "truth.csv")
        return DemoResult(root, filing.id, summary)
    finally:
        ws.close()


def summarize(ws: Workspace, filing_id: int, *, truth: Path | None = None,
              status: pl.DataFrame | None = None) -> dict:
    """Counts from the store and, when ground truth is given, the same
    counts as the truth has them and the accuracy of each automatic stage."""
    from petitions.projection import outcome, project
    from petitions.reasons import label

    filing = pipeline.get_filing(ws, filing_id)
    status = line_status(ws, filing_id) if status is None else status
    res = count_result(ws, filing_id, status=status)
    review = status.filter(pl.col("status") == "needs_review")
    review_reasons = (review.select(pl.col("det_reasons").list.first().fill_null("review").alias("r"))
                      .group_by("r").len().sort("len", descending=True))
    out: dict = {
        "filing": filing.name, "ruleset": filing.ruleset.id, "required": filing.required,
        "lines": status.height,
        "states": {r["state"]: r["len"] for r in status.group_by("state").len().iter_rows(named=True)},
        "auto_valid": int((status["status"] == "valid").sum()),
        "needs_review": review.height,
        "needs_review_by_reason": {r["r"]: r["len"] for r in review_reasons.iter_rows(named=True)},
        "invalid": int((status["status"] == "invalid").sum()),
        "invalid_by_reason": res.invalid_by_reason,
        "count": res.to_dict(),
    }
    if truth is not None and Path(truth).exists():
        t = pl.read_csv(truth, infer_schema=False).with_columns(
            (pl.col("expected_valid").str.to_lowercase() == "true").alias("expected_valid"))
        j = status.join(t.select("line_id", pl.col("state").alias("true_state"), "kind", "expected_valid",
                                 pl.col("voter_id").alias("true_voter_id")), on="line_id", how="left")
        signed_true = j.filter(pl.col("true_state") == "signed")
        auto_valid = j.filter(pl.col("status") == "valid")
        false_accepts = auto_valid.filter(~pl.col("expected_valid").fill_null(False))
        matched = j.filter(pl.col("match_status") == "match")
        out["truth"] = {
            "lines": t.height,
            "valid": int(t["expected_valid"].sum()),
            "states_right": int((j["state"] == j["true_state"]).sum()),
            "auto_valid_false_accepts": false_accepts.height,
            "false_accept_kinds": {r["kind"]: r["len"] for r in false_accepts.group_by("kind").len().iter_rows(named=True)},
            "valid_lines_auto_accepted": int((signed_true.filter(pl.col("expected_valid"))["status"] == "valid").sum()),
            "identity_matches": matched.height,
            "identity_matches_right": int((matched["voter_id"] == matched["true_voter_id"]).sum()),
        }
        # If every pending line were ruled as the truth says: the count staff will reach.
        if res.method == "random_sample":
            items = sample_items(ws, filing_id).join(j.drop("line_db_id"), on="line_id", how="left")
            # Judged on own merits (a duplicate line's signature is genuine);
            # duplicates counted within the sample, as 2 CCR §20532 does.
            sv = items.with_columns(
                pl.when(pl.col("status") == "needs_review")
                .then(pl.col("expected_valid") | (pl.col("kind") == "duplicate"))
                .otherwise(pl.col("status") == "valid").alias("v"))
            valid_n = int(sv["v"].sum())
            own = sv.filter(pl.col("v") & pl.col("true_voter_id").is_not_null())
            dups = own.height - own["true_voter_id"].n_unique()
            proj = project(res.raw_count, items.height, valid_n, dups)
            o = outcome(proj.projected_valid, filing.required, filing.ruleset.bands) if filing.required else None
            out["truth"]["after_review"] = {"sample_valid": valid_n, "sample_duplicates": dups,
                                            "projected_valid": int(proj.projected_valid),
                                            "outcome": o.result if o else None,
                                            "percent_of_required": float(o.percent_of_required) if o else None}
    out["labels"] = {code: label(code) for code in set(out["invalid_by_reason"]) | set(out["needs_review_by_reason"])
                     if _known(code)}
    return out


def _known(code: str) -> bool:
    from petitions.reasons import REASONS

    return code in REASONS


def format_summary(s: dict, workspace: Path) -> str:
    c = s["count"]
    lab = s.get("labels", {})
    lines = [
        f"Filing: {s['filing']}  (rule set {s['ruleset']}, required {s['required']:,})",
        f"Lines: {s['lines']:,}  (" + ", ".join(f"{k} {v:,}" for k, v in sorted(s["states"].items())) + ")",
        f"Auto-valid: {s['auto_valid']:,}   Needs review: {s['needs_review']:,}   Invalid: {s['invalid']:,}",
        "Needs review by suspected reason: " + (", ".join(f"{lab.get(k, k)} {v}" for k, v in s["needs_review_by_reason"].items()) or "none"),
        "Invalid by reason: " + (", ".join(f"{lab.get(k, k)} {v}" for k, v in s["invalid_by_reason"].items()) or "none"),
    ]
    if c["method"] == "random_sample":
        p = c["projection"] or {}
        lines += [
            f"Random sample: seed {c['seed']!r}, {c['sample_size']:,} of {c['raw_count']:,} signed lines "
            f"(frame {c['frame_hash'][:12]}…)",
            f"  in sample: valid {c['sample_valid']:,}, duplicates {c['sample_duplicates']}, pending review {c['sample_pending']:,}",
            f"Projection now (pending lines not yet valid): {int(p.get('projected_valid', 0)):,} valid "
            f"= {c['percent_of_required']:.2f}% of required -> {c['outcome']}",
        ]
    else:
        lines.append(f"Full count: valid {c['valid']:,} of required {c['required'] or 0:,}; pending {c['pending']:,} -> {c['outcome']}")
    t = s.get("truth")
    if t:
        lines += [
            "Ground truth (fixture):",
            f"  valid lines {t['valid']:,} of {t['lines']:,}; line states read right {t['states_right']:,}/{t['lines']:,}",
            f"  identity matches right {t['identity_matches_right']:,}/{t['identity_matches']:,}; "
            f"valid lines auto-accepted {t['valid_lines_auto_accepted']:,}/{t['valid']:,}",
            f"  false accepts (auto-valid but truly invalid): {t['auto_valid_false_accepts']}"
            + (f" {t['false_accept_kinds']}" if t["false_accept_kinds"] else ""),
        ]
        a = t.get("after_review")
        if a:
            lines.append(f"  after review as the truth says: projected valid {a['projected_valid']:,} "
                         f"= {a['percent_of_required']:.2f}% -> {a['outcome']}")
    lines.append(f"Open the workbench: petition-workbench {workspace}")
    return "\n".join(lines)
