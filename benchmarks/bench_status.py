"""Time every line's status on a large filing: the vectorized ``line_status``
beside the per-line loop it replaced, in the same run, on the same store.

    python benchmarks/bench_status.py [--lines 60000] [--seed 0] [--repeat 7]
                                      [--out benchmarks/out/status.json]

The filing is built synthetically, straight into a fresh workspace (real
scans at this size would take an hour): sections of three ten-line pages,
92 % signed lines, one or two determinations per line, a match and a
signature score for most signed lines, and rulings (accept, reject on
signature and other grounds, escalate, reopen, audits) on about a fifth of
the lines under a two-person rule. Both implementations run ``--repeat``
times, alternating; the report gives the median and all wall times (and
the median CPU seconds of the process, which a busy machine inflates less), the
median of the new one's two parts (reads into frames, resolution), whether
the two frames are equal, and the machine's CPU count and load average
(the machine may be shared: read timings with the load in mind).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from petitions.law.reasons import REASONS
from petitions.law.resolution import resolve, resolve_frame
from petitions.law.rules import RuleSet
from petitions.stages.filings import create_filing
from petitions.stages.ingest import line_label, line_seq
from petitions.status import line_status
from petitions.store import Workspace, now_utc
from petitions.store import status as status_db

TARGET_SECONDS = 0.200


# ---------------------------------------------------------------------------
# The baseline: line_status as it was before issue 16, kept here verbatim
# (its SQL through the store's helpers) so every run measures both.
# ---------------------------------------------------------------------------
def line_status_loop(ws: Workspace, filing_id: int) -> pl.DataFrame:
    rs = RuleSet.from_json(ws._scalar("SELECT ruleset_json FROM filings WHERE id = ?", (filing_id,)))
    rows = ws._rows(
        "SELECT l.id AS line_db_id, l.label AS line_id, l.seq, s.number AS section, p.number AS page, l.number, l.state, "
        "d.determination, d.reasons_json, d.level AS det_level, m.voter_id, m.status AS match_status, "
        "m.score AS match_score, sg.score AS sig_score, sg.decision AS sig_decision "
        "FROM lines l JOIN sections s ON s.id = l.section_id LEFT JOIN pages p ON p.id = l.page_id "
        "LEFT JOIN current_determination d ON d.line_id = l.id LEFT JOIN current_match m ON m.line_id = l.id "
        "LEFT JOIN current_signature sg ON sg.line_id = l.id "
        "WHERE l.filing_id = ? ORDER BY l.seq", (filing_id,))
    ruled: dict[int, list[dict]] = {}
    for r in ws._rows("SELECT r.line_id, r.user, r.action, r.reason_code, r.kind FROM rulings r "
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


def line_status_views(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """line_status's cold read as issue 16 left it, kept here verbatim: the
    lines through the ``current_*`` views and the rows as dicts, then the same
    vectorized resolution."""
    import petitions.status as status

    rs = RuleSet.from_json(status_db.filing_ruleset_json(ws, filing_id))
    lines = pl.from_dicts(ws._rows(
        "SELECT l.id AS line_db_id, l.label AS line_id, l.seq, s.number AS section, p.number AS page, l.number, "
        "l.state, d.determination, d.reasons_json, d.level AS det_level, m.voter_id, m.status AS match_status, "
        "m.score AS match_score, sg.score AS sig_score, sg.decision AS sig_decision "
        "FROM lines l JOIN sections s ON s.id = l.section_id LEFT JOIN pages p ON p.id = l.page_id "
        "LEFT JOIN current_determination d ON d.line_id = l.id LEFT JOIN current_match m ON m.line_id = l.id "
        "LEFT JOIN current_signature sg ON sg.line_id = l.id "
        "WHERE l.filing_id = ? ORDER BY l.seq", (filing_id,)), schema=status._LINES)
    rulings = pl.from_dicts(ws._rows(
        "SELECT r.id, r.line_id AS line_db_id, r.user AS user, r.action, r.reason_code FROM rulings r "
        "JOIN lines l ON l.id = r.line_id WHERE l.filing_id = ? AND r.kind <> 'audit' AND r.id > ? "
        "ORDER BY r.id", (filing_id, 0)), schema=status._RULINGS)
    no_reasons = pl.lit([], dtype=pl.List(pl.Utf8))
    lines = lines.with_columns(
        pl.when(pl.col("reasons_json").fill_null("") == "").then(no_reasons)
        .otherwise(pl.col("reasons_json").str.json_decode(pl.List(pl.Utf8))).alias("det_reasons"))
    return resolve_frame(lines, rulings.drop("id"), rs.rejections_required).select(
        [pl.col(c).cast(t) for c, t in status.STATUS_SCHEMA.items()])


# ---------------------------------------------------------------------------
# The synthetic filing
# ---------------------------------------------------------------------------
def build_filing(ws: Workspace, n_lines: int, *, seed: int) -> tuple[int, dict]:
    """Write a filing of `n_lines` lines with determinations, matches, signature
    scores and rulings into `ws`; its id and what was written."""
    rng = np.random.default_rng(seed)
    ws.ensure_user("sup", "supervisor")
    fid = create_filing(ws, name="bench", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                        user="sup", required=n_lines // 2)
    rs = RuleSet.from_json(status_db.filing_ruleset_json(ws, fid))
    per_page, pages_per_section = 10, 3
    n_pages = -(-n_lines // per_page)
    n_sections = -(-n_pages // pages_per_section)
    review_codes = ["signature_mismatch", "not_registered", "address_mismatch", "duplicate", "out_of_jurisdiction"]
    reject_codes = [c for c in ("signature_mismatch", "not_registered", "address_mismatch", "duplicate")
                    if c in REASONS]
    users = [f"rev{i}" for i in range(1, 7)]
    ts = now_utc()
    with ws.transaction():
        # Two people for a signature rejection, so second opinions occur.
        ws._exec("UPDATE filings SET ruleset_json = ? WHERE id = ?",
                 (dataclasses.replace(rs, rejections_required=2).to_json(), fid))
        run = ws._insert("INSERT INTO runs (filing_id, stage, started_at, status) VALUES (?, 'bench', ?, 'done') "
                         "RETURNING id", (fid, ts))
        vf = ws._insert("INSERT INTO voter_files (source_path, source_sha256, parquet_path, rows, imported_at, "
                        "imported_by) VALUES ('x', 'x', 'x', 0, ?, 'sup') RETURNING id", (ts,))
        ws._many("INSERT INTO sections (filing_id, number, circulator_name) VALUES (?, ?, ?)",
                 [(fid, s, f"Circulator {s % 97}") for s in range(1, n_sections + 1)])
        sec_ids = {r["number"]: r["id"] for r in ws._rows("SELECT id, number FROM sections WHERE filing_id = ?", (fid,))}
        ws._many("INSERT INTO pages (section_id, number) VALUES (?, ?)",
                 [(sec_ids[s], p) for s in range(1, n_sections + 1) for p in range(1, pages_per_section + 1)])
        page_ids = {(r["section_id"], r["number"]): r["id"] for r in ws._rows(
            "SELECT p.id, p.section_id, p.number FROM pages p JOIN sections s ON s.id = p.section_id "
            "WHERE s.filing_id = ?", (fid,))}
        states = rng.choice(["signed", "blank", "struck"], size=n_lines, p=[0.92, 0.05, 0.03])
        rows = []
        for i in range(n_lines):
            page0, ln = divmod(i, per_page)
            sec, pg = divmod(page0, pages_per_section)
            sec, pg, ln = sec + 1, pg + 1, ln + 1
            rows.append((fid, sec_ids[sec], page_ids[(sec_ids[sec], pg)], line_label(sec, pg, ln),
                         line_seq(sec, pg, ln), ln, str(states[i])))
        ws._many("INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        line_ids = [r["id"] for r in ws._rows("SELECT id FROM lines WHERE filing_id = ? ORDER BY seq", (fid,))]
        signed = [lid for lid, s in zip(line_ids, states) if s == "signed"]

        # Determinations: every line once, about 5 % twice (a rerun of triage).
        dets = []
        kinds = rng.choice(["valid", "needs_review"], size=len(line_ids), p=[0.7, 0.3])
        for lid, st, k in zip(line_ids, states, kinds):
            if st != "signed":
                dets.append((lid, run, "invalid", json.dumps(["blank_line" if st == "blank" else "struck_line"])))
            elif k == "valid":
                dets.append((lid, run, "valid", "[]"))
            else:
                n = int(rng.integers(0, 3))
                dets.append((lid, run, "needs_review",
                             json.dumps(list(rng.choice(review_codes, size=n, replace=False)))))
        again = rng.choice(len(dets), size=len(dets) // 20, replace=False)
        dets += [(dets[j][0], run, "needs_review", json.dumps(["signature_mismatch"])) for j in sorted(again)]
        ws._many("INSERT INTO determinations (line_id, run_id, determination, level, reasons_json, inputs_json, "
                 "ruleset_id, ruleset_version, created_at) VALUES (?, ?, ?, 'bench', ?, '{}', 'ca-initiative', '1', ?)",
                 [(*d[:4], ts) for d in dets])

        matched = [lid for lid in signed if rng.random() < 0.9]
        ws._many("INSERT INTO matches (line_id, run_id, voter_file_id, voter_id, score, status, model_version) "
                 "VALUES (?, ?, ?, ?, ?, ?, 'bench')",
                 [(lid, run, vf, f"V{int(rng.integers(0, 10 * n_lines)):08d}", float(rng.random()),
                   str(rng.choice(["match", "review", "no_match"], p=[0.85, 0.1, 0.05]))) for lid in matched])
        ws._many("INSERT INTO signature_scores (line_id, run_id, voter_id, score, decision, n_exemplars, model_version) "
                 "VALUES (?, ?, NULL, ?, ?, 1, 'bench')",
                 [(lid, run, float(rng.random()), str(rng.choice(["consistent", "review"], p=[0.8, 0.2])))
                  for lid in matched if rng.random() < 0.95])

        # Rulings on about a fifth of the signed lines, one to four each, in
        # an order interleaved across lines as a review room makes them.
        ruled = [lid for lid in signed if rng.random() < 0.2]
        rulings = []
        for lid in ruled:
            for _ in range(int(rng.integers(1, 5))):
                act = str(rng.choice(["accept", "reject", "escalate", "reopen", "audit"],
                                     p=[0.35, 0.4, 0.1, 0.05, 0.1]))
                kind = "audit" if act == "audit" else "review"
                act = "accept" if act == "audit" else act
                code = str(rng.choice(reject_codes, p=[0.7, 0.1, 0.1, 0.1])) if act == "reject" else None
                rulings.append((float(rng.random()), lid, str(rng.choice(users)), kind, act, code))
        rulings.sort(key=lambda r: (r[0], r[1]))  # a random key: lines interleave
        ws._many("INSERT INTO rulings (line_id, user, role, kind, action, reason_code, shown_json, created_at) "
                 "VALUES (?, ?, 'reviewer', ?, ?, ?, '{}', ?)",
                 [(lid, u, kind, act, code, ts) for _, lid, u, kind, act, code in rulings])
    return fid, {"lines": len(line_ids), "signed": len(signed), "determinations": len(dets),
                 "matches": len(matched), "ruled_lines": len(ruled), "rulings": len(rulings)}


def _split(ws: Workspace, fid: int) -> tuple[float, float]:
    """Wall seconds of the new line_status's reads into frames, and of its resolution."""
    import petitions.status as status

    t0 = time.perf_counter()
    rs = RuleSet.from_json(status_db.filing_ruleset_json(ws, fid))
    lines = status._frame(status_db.status_lines(ws, fid), status._LINES)
    rulings = status._frame(status_db.status_rulings(ws, fid), status._RULINGS).drop("id")
    t1 = time.perf_counter()
    # (line_status also turns a missing determination's null reasons into []; the cost is the decode.)
    lines = lines.with_columns(pl.col("reasons_json").str.json_decode(pl.List(pl.Utf8)).alias("det_reasons"))
    resolve_frame(lines, rulings, rs.rejections_required)
    return t1 - t0, time.perf_counter() - t1


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=60_000, help="lines in the synthetic filing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=7, help="runs of each implementation; the median is reported")
    ap.add_argument("--out", default="benchmarks/out/status.json", help="JSON report path")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", create=True)
        try:
            t0 = time.perf_counter()
            fid, built = build_filing(ws, args.lines, seed=args.seed)
            t_build = time.perf_counter() - t0
            old_t, new_t, old_c, new_c, reads_t, resolve_t, views_t, views_c = [], [], [], [], [], [], [], []
            old = new = None
            line_status(ws, fid)  # warm the page cache for both
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                old = line_status_loop(ws, fid)
                old_t.append(time.perf_counter() - t0)
                old_c.append(time.process_time() - c0)
                ws.memo.clear()  # a cold read: nothing kept from the call before
                t0, c0 = time.perf_counter(), time.process_time()
                new = line_status(ws, fid)
                new_t.append(time.perf_counter() - t0)
                new_c.append(time.process_time() - c0)
                t0, c0 = time.perf_counter(), time.process_time()
                views = line_status_views(ws, fid)
                views_t.append(time.perf_counter() - t0)
                views_c.append(time.process_time() - c0)
                equal_views = views.equals(new)
                r, s = _split(ws, fid)
                reads_t.append(r)
                resolve_t.append(s)
            equal = old.equals(new) and equal_views
            # The dashboard's case: a refresh after one more ruling, with the
            # frame of the refresh before kept on the connection.
            after_t, after_equal = [], True
            pending = new.filter(pl.col("status") == "needs_review")["line_db_id"].to_list()
            for lid in pending[: args.repeat]:
                with ws.transaction():
                    ws._insert("INSERT INTO rulings (line_id, user, role, kind, action, shown_json, created_at) "
                               "VALUES (?, 'rev1', 'reviewer', 'review', 'accept', '{}', ?) RETURNING id",
                               (lid, now_utc()))
                t0 = time.perf_counter()
                warm = line_status(ws, fid)
                after_t.append(time.perf_counter() - t0)
                after_equal &= warm.equals(line_status_loop(ws, fid))
            statuses = {r["status"]: r["len"] for r in new.group_by("status").len().iter_rows(named=True)}
            levels = {r["level"]: r["len"] for r in new.group_by("level").len().iter_rows(named=True)}
        finally:
            ws.close()

    med_new = statistics.median(new_t)
    med_old = statistics.median(old_t)
    report = {
        "benchmark": "status",
        "params": {"lines": args.lines, "seed": args.seed, "repeat": args.repeat},
        "filing": {**built, "build_seconds": round(t_build, 2), "statuses": statuses, "levels": levels},
        "loop": {"median_seconds": round(med_old, 4), "all_seconds": [round(t, 4) for t in old_t],
                 "median_cpu_seconds": round(statistics.median(old_c), 4)},
        "vectorized_views_and_dicts": {"median_seconds": round(statistics.median(views_t), 4),
                                       "all_seconds": [round(t, 4) for t in views_t],
                                       "median_cpu_seconds": round(statistics.median(views_c), 4),
                                       "note": "the cold read before issue 20: current_* views, a dict per row"},
        "vectorized": {"median_seconds": round(med_new, 4), "all_seconds": [round(t, 4) for t in new_t],
                       "median_cpu_seconds": round(statistics.median(new_c), 4),
                       "reads_median_seconds": round(statistics.median(reads_t), 4),
                       "resolve_median_seconds": round(statistics.median(resolve_t), 4)},
        "after_a_ruling": {"median_seconds": round(statistics.median(after_t), 4),
                           "all_seconds": [round(t, 4) for t in after_t], "frames_equal": bool(after_equal)},
        "speedup": round(med_old / med_new, 2),
        "frames_equal": bool(equal and after_equal),
        "target_seconds": TARGET_SECONDS,
        "meets_target_cold": bool(med_new <= TARGET_SECONDS),
        "meets_target_after_a_ruling": bool(statistics.median(after_t) <= TARGET_SECONDS),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
                    "python": platform.python_version(), "polars": pl.__version__, "platform": platform.platform()},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.part")
    tmp_out.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp_out, out)
    print(json.dumps(report, indent=2))
    if not equal:
        print("the vectorized frame differs from the loop's", file=sys.stderr)
    return report


if __name__ == "__main__":
    rep = main()
    sys.exit(0 if rep["frames_equal"] else 1)
