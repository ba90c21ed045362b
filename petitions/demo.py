"""The built-in demo: a synthetic county and filing through the whole pipeline.

Uses exactly the library calls the CLI and the workbench use; the only thing
the demo adds is the fixture generator and a comparison with its ground
truth, printed beside what the pipeline found.
"""
from __future__ import annotations

import datetime as _dt

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from petitions import stages
from petitions.counting import draw_sample, sample_items
from petitions.errors import UserError
from petitions.review.confirm import confirm_invalid
from petitions.store import Workspace
from petitions.summary import summarize

SUPERVISOR = "demo-supervisor"


REVIEWER = "demo-reviewer"


@dataclass
class DemoResult:
    workspace: Path
    filing_id: int
    summary: dict = field(default_factory=dict)


def run_demo(workspace: str | Path, *, signatures: int = 300, seed: int = 0, roundtable: int = 0,
             log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> DemoResult:
    """Generate (or reuse) the demo inputs and run every stage on them.

    Rerunning on the same workspace resumes: stages skip what is committed.
    With `roundtable` crews (:mod:`fixtures.roundtable`), the filing has
    round-tabled sections and the summary's ``fraud`` compares the clusters
    of the same-hand scan (a stage of :func:`petitions.stages.run.run_all`,
    :func:`petitions.stages.fraud.scan_same_hand`) with the truth.
    """
    from fixtures.filing import build_filing

    if not 1 <= signatures <= 100_000:
        raise UserError(f"--signatures must be between 1 and 100000, got {signatures}")
    root = Path(workspace)
    inputs = root / "inputs"
    spec_path = inputs / "filing.json"
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else None
    spec_rt = len(spec.get("roundtable") or []) if spec else 0
    if spec and (spec.get("seed") != seed or spec.get("signatures") != signatures or spec_rt != roundtable):
        raise UserError(
            f"this workspace holds the demo for seed {spec.get('seed')} with {spec.get('signatures')} signatures"
            + (f" and {spec_rt} round-tabling crews" if spec_rt else "")
            + "; use another --workspace for other parameters", where=str(root))
    if spec is None:
        log(f"generating a synthetic county and a filing of {signatures} lines (seed {seed}) …")
        files = build_filing(inputs, signatures=signatures, seed=seed, roundtable=roundtable)
        spec = files.params
    ws = Workspace(root, create=True)
    try:
        ws.ensure_user(SUPERVISOR, "supervisor")
        ws.ensure_user(REVIEWER, "reviewer")
        log("importing the voter file and exemplars …")
        stages.import_voter_file(ws, inputs / "county" / "voters.csv", user=SUPERVISOR)
        stages.import_exemplars(ws, inputs / "county" / "exemplars.csv", user=SUPERVISOR)
        try:
            filing = stages.get_filing(ws, spec["name"])
        except UserError:
            def d(s):
                return _dt.date.fromisoformat(s) if s else None

            stages.create_filing(
                ws, name=spec["name"], ruleset=spec["ruleset"], jurisdiction=spec["jurisdiction"], user=SUPERVISOR,
                required=spec["required"], filing_date=d(spec["filing_date"]),
                circulation_start=d(spec["circulation_start"]), circulation_end=d(spec["circulation_end"]))
            filing = stages.get_filing(ws, spec["name"])
        for sec in spec["sections"]:
            rep = stages.ingest_document(ws, filing.id, inputs / sec["path"], user=SUPERVISOR,
                                           section=sec["section"], circulator_name=sec["circulator"])
            state = "already ingested" if rep.already_ingested else f"{rep.pages} pages, {rep.lines} lines"
            log(f"  section {sec['section']:3d} ({sec['path']}): {state}")
            for problem in rep.problems:
                log(f"    problem: {problem}")
        keyed = stages.import_keyed_entries(ws, filing.id, inputs / "keyed.csv", user=SUPERVISOR)
        for problem in keyed.problems[:10]:
            log(f"  keyed entries: {problem}")
        log("matching, comparing signatures, same-hand scan, triage …")
        stages.run_all(ws, filing.id, user=SUPERVISOR,
                         progress=lambda stage, done, total: log(f"  {stage}: {done}/{total}"))
        # Software only proposes blank, struck and empty lines invalid; in an
        # office a person confirms each (petitions confirm-invalid, or the
        # grid). Here the demo's supervisor does it, as a person, and says so.
        confirmed = confirm_invalid(ws, filing.id, user=SUPERVISOR, all_proposed=True, via="demo script",
                                    note="confirmed by the demo script acting as its supervisor").confirmed
        if confirmed:
            log(f"the demo's supervisor ({SUPERVISOR}) confirmed {len(confirmed)} line(s) software proposed invalid "
                "(blank, struck, empty); in an office a person looks at each")
        if filing.ruleset.sampling.method != "full_count" and sample_items(ws, filing.id).height == 0:
            draw_sample(ws, filing.id, seed=f"demo-{seed}", user=SUPERVISOR)
        summary = summarize(ws, filing.id, truth=inputs / "truth.csv")
        summary["demo_confirmed_invalid"] = {"by": SUPERVISOR, "lines": len(confirmed)}
        if roundtable:
            summary["fraud"] = fraud_against_truth(ws, filing.id, inputs / "truth.csv")
        return DemoResult(root, filing.id, summary)
    finally:
        ws.close()


def fraud_against_truth(ws: Workspace, filing_id: int, truth: Path) -> dict:
    """The same-hand scan in force against the fixture's truth: share of
    round-tabled lines flagged, of honest lines flagged (signed, neither
    round-tabled nor forged), of other forged lines flagged, and each
    cluster's make-up."""
    import polars as pl

    from petitions.stages.fraud import same_hand_cluster, same_hand_clusters

    t = pl.read_csv(truth, infer_schema=False).filter(pl.col("state") == "signed")
    rt = {r["line_id"]: r["hand"] for r in t.filter(pl.col("roundtable").str.to_lowercase() == "true").iter_rows(
        named=True)}
    forged = set(t.filter((pl.col("forged").str.to_lowercase() == "true") & ~pl.col("line_id").is_in(list(rt)))["line_id"])
    honest = set(t["line_id"]) - set(rt) - forged
    flagged: set[str] = set()
    clusters = []
    for c in same_hand_clusters(ws, filing_id):
        labels = [r["label"] for r in same_hand_cluster(ws, c["id"])["lines"] if r["filing_id"] == filing_id]
        flagged |= set(labels)
        hands = sorted({rt[x] for x in labels if x in rt})
        clusters.append({"number": c["number"], "lines": len(labels), "scope": c["scope"], "score": c["score"],
                         "roundtabled": sum(1 for x in labels if x in rt),
                         "forged": sum(1 for x in labels if x in forged),
                         "honest": sum(1 for x in labels if x in honest), "hands": hands})

    def share(group):
        n = len(group)
        k = len(group & flagged)
        return {"flagged": k, "of": n, "share": (k / n) if n else None}

    return {"roundtabled": share(set(rt)), "honest": share(honest), "forged": share(forged),
            "clusters": clusters}

