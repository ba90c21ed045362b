"""A large filing for the reviewer's loop (issue 20, item 8), built from the fixtures in minutes, not hours.

    python benchmarks/build_review_filing.py --workspace DIR [--lines 20000] [--seed 0] [--jobs 2]

Scanning and segmenting 2,000 petition pages would take hours on a shared
machine, and the review loop never reads a page scan. So the pages are
skipped and everything the review screen shows is made the way the fixtures
make it for the demo:

* the county and the signers (:func:`fixtures.voters.generate_county`,
  :func:`fixtures.signers.draw_signers`: genuine signers, forgeries,
  unregistered people, duplicates, blank and struck lines, with truth);
* each signed line's crops, as a scan's cells would hold them: the
  signature (:func:`fixtures.signatures.render_signature`, or
  ``render_forgery`` for a forged line) placed in a 720 × 110 px signature
  cell, and the printed name and the address handwritten in their cells
  (:func:`fixtures.forms.hand_text`), all at 200 dpi;
* one exemplar on file per signer's voter (the registration card's
  capture; the demo renders a voter's household too, which at this size
  would be an hour of rendering);
* what the keying vendor typed (:func:`fixtures.signers.keyed_entries`).

Then the real stages run on it: the voter-file and exemplar imports, the
keyed-entry import, matching, signature comparison and triage
(:func:`petitions.stages.run_all`), the supervisor's confirmation of the
lines software proposed invalid (as the demo does) and the random sample.
The lines are stored through the store's named writes (sections, pages
without a scan image, lines with their crops). The result is a workspace
the workbench opens like any other; ``--truth`` is written beside it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIG_CELL = (720, 110)     # signature cell, px at 200 dpi (3.6 x 0.55 in)
NAME_CELL = (560, 80)
ADDRESS_CELL = (760, 80)
PER_PAGE, PAGES_PER_SECTION = 10, 4
SUPERVISOR, REVIEWER = "demo-supervisor", "demo-reviewer"


def _cells(job: tuple) -> tuple[bytes, bytes, bytes]:
    """One signed line's three crops as PNG bytes (run in a worker process)."""
    import cv2

    from fixtures.forms import _put_signature, _write_in
    from fixtures.signatures import render_forgery, render_signature

    seq, name, address, sig_name, writer, target, forged, seed = job
    rng = np.random.default_rng([seed, 20, seq])
    if forged and target is not None:
        sig = render_forgery(sig_name, int(target), int(writer), seed * 1_000_003 + seq, dpi=200)
    else:
        sig = render_signature(sig_name, int(writer), seed * 1_000_003 + seq, dpi=200)
    out = []
    for (w, h), fill in ((SIG_CELL, None), (NAME_CELL, name), (ADDRESS_CELL, address)):
        cell = np.full((h, w), 255, np.uint8)
        if fill is None:
            _put_signature(cell, sig, (0, 0, w, h), rng)
        else:
            _write_in(cell, fill, (0, 0, w, h), rng, rel_height=0.5)
        out.append(cv2.imencode(".png", cell)[1].tobytes())
    return out[0], out[1], out[2]


def _exemplar(job: tuple) -> bytes:
    import cv2

    from fixtures.signatures import render_signature

    name, writer, sample_seed, age = job
    img = render_signature(name, int(writer), sample_seed, dpi=200, age_years=float(age))
    return cv2.imencode(".png", img)[1].tobytes()


def build(root: str | Path, *, lines: int = 20_000, seed: int = 0, jobs: int = 2,
          log=lambda m: print(m, file=sys.stderr, flush=True)) -> dict:
    """Build the workspace at `root` (a new folder); what was built and how long each part took."""
    from fixtures.signers import draw_signers, keyed_entries
    from fixtures.voters import exemplar_table, generate_county, write_voter_file
    from petitions import stages
    from petitions.counting import draw_sample
    from petitions.review.confirm import confirm_invalid
    from petitions.stages.ingest import line_label, line_seq
    from petitions.store import Workspace, canonical_json
    from petitions.store import ingest as ingest_db

    root = Path(root)
    inputs = root.parent / f"{root.name}-inputs"
    (inputs / "exemplars").mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    t = time.perf_counter()
    county = generate_county(max(20_000, 2 * lines), seed=seed)
    circ = (dt.date(2026, 8, 1), dt.date(2026, 9, 15))
    signers = draw_signers(county, lines, seed=seed, circulation=circ)
    n_pages = -(-lines // PER_PAGE)
    labels, places = [], []
    for i in range(lines):
        page0, ln = divmod(i, PER_PAGE)
        sec, pg = divmod(page0, PAGES_PER_SECTION)
        labels.append(line_label(sec + 1, pg + 1, ln + 1))
        places.append((sec + 1, pg + 1, ln + 1))
    signers = signers.with_columns(pl.Series("line_id", labels))
    voters = county.voters
    signers = signers.join(voters.select("voter_id", pl.col("writer_seed").alias("target_writer_seed")),
                           on="voter_id", how="left", maintain_order="left")
    times["county_and_signers"] = time.perf_counter() - t

    t = time.perf_counter()
    signed = signers.filter(pl.col("state") == "signed")
    cell_jobs = [(r["line_seq"], r["written_name"] or "", " ".join(x for x in (r["written_address"], r["written_city"])
                                                                  if x), r["signature_name"], r["writer_seed"],
                  r["target_writer_seed"], bool(r["forged"]), seed) for r in signed.iter_rows(named=True)]
    involved = signed.filter(pl.col("voter_id").is_not_null()).select("voter_id").unique()
    ex_voters = voters.join(involved, on="voter_id", how="semi")
    ex = (exemplar_table(ex_voters, seed=seed).filter(pl.col("k") == 0)
          .join(ex_voters.select("voter_id", "first_name", "middle_name", "last_name", "writer_seed"),
                on="voter_id", how="left", maintain_order="left"))
    ex_jobs = [(" ".join(p for p in (r["first_name"], r["middle_name"], r["last_name"]) if p), r["writer_seed"],
                int(seed * 7_919 + i), r["age_years"]) for i, r in enumerate(ex.iter_rows(named=True))]
    log(f"rendering {len(cell_jobs):,} lines' crops and {len(ex_jobs):,} exemplars on {jobs} processes …")
    with mp.get_context("fork").Pool(jobs) as pool:
        crops = pool.map(_cells, cell_jobs, chunksize=64)
        ex_png = pool.map(_exemplar, ex_jobs, chunksize=64)
    times["rendering"] = time.perf_counter() - t

    t = time.perf_counter()
    ex_rows = []
    for r, png in zip(ex.iter_rows(named=True), ex_png):
        rel = f"exemplars/{r['voter_id']}_0.png"
        (inputs / rel).write_bytes(png)
        ex_rows.append({"voter_id": r["voter_id"], "path": rel, "captured_date": str(r["captured_date"]),
                        "source": r["source"]})
    pl.DataFrame(ex_rows).write_csv(inputs / "exemplars.csv")
    write_voter_file(voters, inputs / "voters.csv", fmt="csv")
    keyed = keyed_entries(signed, signed["line_id"]).join(
        signed.select("line_id", pl.col("date_signed").cast(pl.Utf8)), on="line_id", how="left",
        maintain_order="left")
    keyed.write_csv(inputs / "keyed.csv")
    signers.select("line_id", "kind", "state", "voter_id", "expected_valid", "expected_reason", "forged",
                   pl.col("date_signed").cast(pl.Utf8)).write_csv(inputs / "truth.csv")
    times["inputs_written"] = time.perf_counter() - t

    t = time.perf_counter()
    ws = Workspace(root, create=True)
    try:
        ws.ensure_user(SUPERVISOR, "supervisor")
        ws.ensure_user(REVIEWER, "reviewer")
        stages.import_voter_file(ws, inputs / "voters.csv", user=SUPERVISOR)
        stages.import_exemplars(ws, inputs / "exemplars.csv", user=SUPERVISOR)
        expected_valid = int(signers["expected_valid"].sum())
        fid = stages.create_filing(ws, name=f"Review loop {lines:,}", ruleset="ca-initiative",
                                   jurisdiction=county.jurisdiction, user=SUPERVISOR,
                                   required=max(1, round(expected_valid / 1.2)), filing_date=dt.date(2026, 9, 20),
                                   circulation_start=circ[0], circulation_end=circ[1])
        by_seq = dict(zip(signed["line_seq"].to_list(), crops))
        states = signers["state"].to_list()
        sections: dict[int, int] = {}
        pages: dict[tuple[int, int], int] = {}
        with ws.transaction():
            for sec, pg, _ln in places:
                if sec not in sections:
                    sections[sec] = ingest_db.add_section(ws, filing_id=fid, number=sec,
                                                          circulator_name=f"Circulator {sec}",
                                                          circulator_address=None, document_id=None)
                if (sec, pg) not in pages:
                    pages[(sec, pg)] = ingest_db.add_page(
                        ws, section_id=sections[sec], number=pg, document_id=None, document_page=None,
                        width=None, height=None, dpi=200.0, skew_deg=0.0, rotation=0, image_hash=None,
                        segmentation_json=canonical_json({"source": "build_review_filing (no scan)"}),
                        fields_json="{}")
            rows = []
            for i, ((sec, pg, ln), state) in enumerate(zip(places, states)):
                hashes: tuple = (None, None, None)
                if i in by_seq:
                    hashes = tuple(ws.crops.put_png(b) for b in by_seq[i])
                rows.append((fid, sections[sec], pages[(sec, pg)], labels[i], line_seq(sec, pg, ln), ln, state,
                             None, None, None, *hashes, None))
            ingest_db.add_lines(ws, rows)
        times["lines_stored"] = time.perf_counter() - t
        t = time.perf_counter()
        stages.import_keyed_entries(ws, fid, inputs / "keyed.csv", user=SUPERVISOR)
        times["keyed"] = time.perf_counter() - t
        t = time.perf_counter()
        log("matching, comparing signatures, triage …")
        stages.run_all(ws, fid, user=SUPERVISOR,
                       progress=lambda stage, done, total: log(f"  {stage}: {done}/{total}")
                       if done in (0, total) or done % 2000 == 0 else None)
        times["stages"] = time.perf_counter() - t
        t = time.perf_counter()
        confirmed = confirm_invalid(ws, fid, user=SUPERVISOR, all_proposed=True, via="build_review_filing",
                                    note="confirmed by the benchmark's builder acting as its supervisor").confirmed
        draw_sample(ws, fid, seed=f"review-loop-{seed}", user=SUPERVISOR)
        times["confirm_and_sample"] = time.perf_counter() - t
        from petitions.summary import summarize

        s = summarize(ws, fid, truth=inputs / "truth.csv")
    finally:
        ws.close()
    return {"workspace": str(root), "inputs": str(inputs), "lines": lines, "pages": n_pages,
            "sections": len(sections), "signed": signed.height, "exemplars": len(ex_jobs),
            "confirmed_invalid": len(confirmed), "figures": s["figures"], "truth": s.get("truth"),
            "seconds": {k: round(v, 1) for k, v in times.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", required=True, help="new workspace folder (inputs go beside it)")
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="processes rendering crops")
    args = ap.parse_args(argv)
    if Path(args.workspace).exists():
        raise SystemExit(f"{args.workspace}: exists; give a new folder")
    t = time.perf_counter()
    out = build(args.workspace, lines=args.lines, seed=args.seed, jobs=args.jobs)
    out["total_seconds"] = round(time.perf_counter() - t, 1)
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
