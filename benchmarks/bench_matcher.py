"""Name-and-address matching benchmark: ours vs Splink (DuckDB), same data, one run.

    python benchmarks/bench_matcher.py --voters 2100000 --lines 60000 --out bench_matcher.json
    python benchmarks/bench_matcher.py --fit            # refit matchers/models/default.json

Steps: generate a fixture county and a filing's keyed lines (fixtures.voters,
fixtures.signers) into a scratch folder as files; then each tool runs in its
own child process (so peak memory is its own) and reports wall times; the
parent scores both against ground truth and writes JSON.

Metrics (issue 4, item 7), for both tools:
  - precision of auto-accepted identities (accepted lines whose voter is
    the true voter of the line);
  - share of valid lines auto-accepted (with the right voter);
  - household members (unregistered, living with a registered voter of the
    same surname) wrongly accepted;
  - moved voters found: sent to review with the true voter among the
    candidates (ours) / the true voter as best candidate (Splink, which has
    no review status: any candidate pair above the review threshold).

Timings on a shared 2-core machine are noisy; the JSON records the load.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------- data ----
def make_data(n_voters: int, n_lines: int, seed: int, folder: Path) -> dict:
    from fixtures.signers import draw_signers, keyed_entries
    from fixtures.voters import generate_county

    t = time.perf_counter()
    county = generate_county(n_voters, seed=seed)
    signers = draw_signers(county, n_lines, seed=seed + 1)
    gen_s = time.perf_counter() - t
    county.voters.drop("person_id", "household_id", "writer_seed").write_csv(folder / "voters.csv")
    county.voters.drop("person_id", "household_id", "writer_seed").write_parquet(folder / "voters.parquet")
    keyed_entries(signers).with_columns(signers["date_signed"]).write_parquet(folder / "lines.parquet")
    signers.select("kind", pl.col("voter_id").cast(pl.String), "expected_valid").write_parquet(folder / "truth.parquet")
    return {"generate_s": round(gen_s, 2), "voters": county.voters.height, "lines": signers.height}


# ---------------------------------------------------------------- ours ----
def run_ours(folder: Path) -> dict:
    import matchers

    res = {}
    t = time.perf_counter()
    raw = matchers.read_voter_file(folder / "voters.csv")
    res["import_read_csv_s"] = time.perf_counter() - t
    t = time.perf_counter()
    prepared = matchers.prepare_voters(raw)
    res["import_prepare_s"] = time.perf_counter() - t
    prepared.write_parquet(folder / "prepared.parquet")
    res["import_total_s"] = res["import_read_csv_s"] + res["import_prepare_s"]
    del raw, prepared
    lines = pl.read_parquet(folder / "lines.parquet")
    model = matchers.load_default_model()
    t = time.perf_counter()
    voters = pl.read_parquet(folder / "prepared.parquet")
    res["load_prepared_s"] = time.perf_counter() - t
    t = time.perf_counter()
    out = matchers.match_lines(lines, voters, model=model, jurisdiction_city="Los Angeles")
    res["match_cold_s"] = time.perf_counter() - t
    res["cold_including_load_s"] = res["load_prepared_s"] + res["match_cold_s"]
    t = time.perf_counter()
    out = matchers.match_lines(lines, voters, model=model, jurisdiction_city="Los Angeles")
    res["match_warm_s"] = time.perf_counter() - t
    t = time.perf_counter()
    dups = matchers.find_duplicates(out)
    res["duplicates_s"] = time.perf_counter() - t
    t = time.perf_counter()
    index = matchers.VoterIndex(voters)
    res["lookup_index_build_s"] = time.perf_counter() - t
    qs = [("garcia mar", ""), ("", "1234 main"), ("smith j", "55"), ("nguyen", ""), ("maria hernandez", "")]
    times = []
    for name, addr in qs * 4:
        t = time.perf_counter()
        index.lookup(name=name, address=addr, limit=20)
        times.append(time.perf_counter() - t)
    res["lookup_ms_median"] = 1000 * sorted(times)[len(times) // 2]
    res["lookup_ms_max"] = 1000 * max(times)
    res["model_version"] = model.version
    out.select("line_id", "voter_id", "score", "status", "reason",
               pl.col("candidates").list.eval(pl.element().struct.field("voter_id")).alias("cand_ids")
               ).write_parquet(folder / "ours_out.parquet")
    res["duplicate_lines_flagged"] = dups.height
    # the same run with no score threshold: the gates alone, for the
    # accuracy at each named operating point of the model
    import dataclasses
    gate = matchers.match_lines(lines, voters, model=dataclasses.replace(model, accept_threshold=0.0),
                                jurisdiction_city="Los Angeles")
    gate.select("status", "score").write_parquet(folder / "ours_gate.parquet")
    (folder / "ours_points.json").write_text(json.dumps(
        {"default": model.accept_threshold, **{k: v["accept_threshold"] for k, v in model.operating_points.items()}}))
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in res.items()}


# -------------------------------------------------------------- splink ----
def run_splink(folder: Path, threads: int = 2) -> dict:
    """Splink 5 + DuckDB, configured per its documentation: link_only,
    NameComparison with term frequencies on forename and surname, address
    parts as separate comparisons, u by random sampling, lambda from
    deterministic rules, m by EM on two blocking passes."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    import matchers
    from matchers.match import prepare_lines

    res = {}
    t0 = time.perf_counter()
    voters = pl.read_parquet(folder / "prepared.parquet")
    lines = pl.read_parquet(folder / "lines.parquet")
    L = prepare_lines(lines)
    # identical normalisation for both tools: Splink sees our parsed keys
    left = L.select(pl.col("_li").cast(pl.Int64).alias("unique_id"), pl.col("l_first").alias("first_name"),
                    pl.col("l_last").alias("surname"), pl.col("l_house").alias("house_number"),
                    pl.col("l_street_key").alias("street"), pl.col("l_unit").alias("unit"),
                    pl.col("l_zip").alias("zip"), pl.col("l_city").alias("city"))
    right = voters.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("unique_id"),
                          pl.col("k_first").alias("first_name"), pl.col("k_last").alias("surname"),
                          pl.col("a_house").alias("house_number"), pl.col("a_street_key").alias("street"),
                          pl.col("a_unit").alias("unit"), pl.col("k_zip").alias("zip"), pl.col("k_city").alias("city"))
    vid = voters["voter_id"]
    del voters
    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    db_api = DuckDBAPI(connection=con)
    sdf_l = db_api.register(left.to_arrow(), dataset_display_name="lines")
    sdf_r = db_api.register(right.to_arrow(), dataset_display_name="voters")
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.ExactMatch("house_number"),
            cl.JaroWinklerAtThresholds("street", [0.95, 0.85]),
            cl.ExactMatch("unit"),
            cl.ExactMatch("zip").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("zip", "house_number"),
            block_on("first_name", "surname"),
            block_on("house_number", "substr(street, 1, 3)"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([sdf_l, sdf_r], settings, log_level=None)
    res["setup_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "house_number", "zip")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("zip", "house_number"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    res["train_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pred = linker.inference.predict(threshold_match_probability=0.01)
    df = pl.from_arrow(pred.as_duckdbpyrelation().arrow()) if hasattr(pred, "as_duckdbpyrelation") else pl.from_pandas(pred.as_pandas_dataframe())
    res["predict_s"] = time.perf_counter() - t
    res["wall_s"] = time.perf_counter() - t0
    # orient: l side is lines
    if "source_dataset_l" in df.columns:
        swap = df["source_dataset_l"] != "lines"
        df = df.with_columns(
            pl.when(swap).then(pl.col("unique_id_r")).otherwise(pl.col("unique_id_l")).alias("li"),
            pl.when(swap).then(pl.col("unique_id_l")).otherwise(pl.col("unique_id_r")).alias("vi"))
    else:
        df = df.rename({"unique_id_l": "li", "unique_id_r": "vi"})
    best = (df.select("li", "vi", "match_probability").sort(["li", "match_probability"], descending=[False, True])
            .group_by("li", maintain_order=True).agg(pl.col("vi").first(), pl.col("match_probability").first(),
                                                     pl.col("vi").head(5).alias("cand")))
    best = best.with_columns(vid.gather(best["vi"]).alias("voter_id"))
    cand = best.select("li", "cand").explode("cand").drop_nulls()
    cand = cand.with_columns(vid.gather(cand["cand"]).alias("cid")).group_by("li", maintain_order=True).agg(
        pl.col("cid").alias("cand_ids"))
    best = best.drop("cand").join(cand, on="li", how="left")
    full = pl.DataFrame({"li": pl.int_range(lines.height, dtype=pl.Int64, eager=True)}).join(
        best, on="li", how="left", maintain_order="left")
    full.write_parquet(folder / "splink_out.parquet")
    res["pairs_scored"] = df.height
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in res.items()}


# ------------------------------------------------------------- metrics ----
def score_ours(folder: Path) -> dict:
    out = pl.read_parquet(folder / "ours_out.parquet")
    truth = pl.read_parquet(folder / "truth.parquet")
    ev = pl.concat([out, truth.rename({"voter_id": "truth"})], how="horizontal")
    ok = (pl.col("voter_id") == pl.col("truth")).fill_null(False)
    acc = pl.col("status") == "match"
    gate = pl.read_parquet(folder / "ours_gate.parquet").rename({"status": "gate_status", "score": "gate_score"})
    evg = pl.concat([ev, gate], how="horizontal")
    points = json.loads((folder / "ours_points.json").read_text())
    frontier = {}
    for name, thr in sorted(points.items(), key=lambda kv: kv[1]):
        a = (pl.col("gate_status") == "match") & (pl.col("gate_score") >= thr)
        m = _metrics(evg, ok, a, moved_found=pl.lit(False))
        frontier[f"{name}@{thr}"] = {k: m[k] for k in ("precision_of_accepted_identity", "valid_auto_accepted_share",
                                                       "household_members_accepted_share", "wrong_accepts_by_kind")}
    mv = ev.filter(pl.col("kind") == "moved")
    moved = {"sent_to_review": round((mv["status"] == "review").mean(), 5),
             "sent_to_review_as_address_mismatch": round((mv["reason"] == "address_mismatch").mean(), 5),
             "true_voter_in_top5_candidates_and_review": round(
                 ((mv["status"] == "review") & mv["cand_ids"].list.contains(mv["truth"]).fill_null(False)).mean(), 5),
             "accepted": round((mv["status"] == "match").mean(), 5)}
    return _metrics(ev, ok, acc,
                    moved_found=(pl.col("status") == "review") & pl.col("cand_ids").list.contains(pl.col("truth")),
                    extra={"operating_points": frontier, "moved_detail": moved,
                           "status_by_kind": _table(ev.group_by("kind", "status").len()),
                           "reasons_for_moved": _table(ev.filter(pl.col("kind") == "moved").group_by("reason").len()),
                           "valid_not_accepted_reasons": _table(
                               ev.filter((pl.col("kind") == "valid") & ~acc).group_by("reason").len())})


def score_splink(folder: Path, threshold: float) -> dict:
    out = pl.read_parquet(folder / "splink_out.parquet")
    truth = pl.read_parquet(folder / "truth.parquet")
    ev = pl.concat([out, truth.rename({"voter_id": "truth"})], how="horizontal")
    ok = (pl.col("voter_id") == pl.col("truth")).fill_null(False)
    acc = (pl.col("match_probability") >= threshold).fill_null(False)
    return _metrics(ev, ok, acc,
                    moved_found=~acc & pl.col("cand_ids").list.contains(pl.col("truth")).fill_null(False))


def _table(df: pl.DataFrame) -> list[dict]:
    return df.sort(df.columns[:-1]).to_dicts()


def _metrics(ev: pl.DataFrame, ok: pl.Expr, acc: pl.Expr, moved_found: pl.Expr, extra: dict | None = None) -> dict:
    ev = ev.with_columns(ok.alias("_ok"), acc.alias("_acc"), moved_found.fill_null(False).alias("_mf"))
    a = ev.filter(pl.col("_acc"))
    valid = ev.filter(pl.col("kind") == "valid")
    hh = ev.filter(pl.col("kind") == "household_member")
    mv = ev.filter(pl.col("kind") == "moved")
    m = {
        "accepted": a.height,
        "precision_of_accepted_identity": round(a["_ok"].mean(), 5) if a.height else None,
        "wrong_accepts": int((~a["_ok"]).sum()),
        "wrong_accepts_by_kind": _table(a.filter(~pl.col("_ok")).group_by("kind").len()),
        "valid_lines": valid.height,
        "valid_auto_accepted_share": round((valid["_acc"] & valid["_ok"]).mean(), 5),
        "household_members": hh.height,
        "household_members_accepted_share": round(hh["_acc"].mean(), 5),
        "moved_voters": mv.height,
        "moved_found_share": round(mv["_mf"].mean(), 5),
    }
    m.update(extra or {})
    return m


# ----------------------------------------------------------------- fit ----
def fit_default(n_voters: int, n_lines: int, seed: int, out_path: Path) -> dict:
    import matchers
    from fixtures.signers import draw_signers, keyed_entries
    from fixtures.voters import generate_county
    from matchers.fit import fit_model

    county = generate_county(n_voters, seed=seed)
    voters = matchers.prepare_voters(county.voters)
    signers = draw_signers(county, n_lines, seed=seed + 1)
    lines = keyed_entries(signers).with_columns(signers["date_signed"])
    model = fit_model(lines, voters, signers["voter_id"].cast(pl.String), version="pending",
                      description={"fixture": "fixtures.voters.generate_county + fixtures.signers.draw_signers",
                                   "county_seed": seed, "signers_seed": seed + 1})
    # the version names the fit and the content, so two fits never share one
    import hashlib
    digest = hashlib.sha256(json.dumps([model.weights, model.intercept, model.line_calibration,
                                        model.operating_points], sort_keys=True).encode()).hexdigest()[:8]
    model.version = f"fixture-fit-{time.strftime('%Y%m%d')}-s{seed}-{digest}"
    out_path.write_text(model.to_json() + "\n", encoding="utf-8")
    return json.loads(model.to_json())


# ---------------------------------------------------------------- main ----
def _child(tool: str, folder: Path) -> dict:
    res = run_ours(folder) if tool == "ours" else run_splink(folder)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voters", type=int, default=2_100_000)
    ap.add_argument("--lines", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--out", type=Path, default=Path("bench_matcher.json"))
    ap.add_argument("--no-splink", action="store_true")
    ap.add_argument("--splink-threshold", type=float, default=0.99)
    ap.add_argument("--fit", action="store_true", help="refit matchers/models/default.json and exit")
    ap.add_argument("--fit-voters", type=int, default=500_000)
    ap.add_argument("--fit-lines", type=int, default=30_000)
    ap.add_argument("--child", choices=["ours", "splink"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child, args.folder)))
        return 0
    if args.fit:
        model = fit_default(args.fit_voters, args.fit_lines, 7, ROOT / "matchers" / "models" / "default.json")
        print(json.dumps({k: model[k] for k in ("version", "accept_threshold", "line_calibration", "fitted_on")}))
        return 0
    report = {"machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()},
              "note": "2-core machine shared with other jobs; wall times are noisy"}
    with tempfile.TemporaryDirectory(prefix="bench_matcher_") as tmp:
        folder = Path(tmp)
        report["data"] = make_data(args.voters, args.lines, args.seed, folder)
        for tool in (["ours"] if args.no_splink else ["ours", "splink"]):
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child", tool, "--folder", str(folder)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                report[tool] = {"error": proc.stderr[-3000:]}
                continue
            report[tool] = {"timing": json.loads(proc.stdout.strip().splitlines()[-1]),
                            "process_wall_s": round(time.perf_counter() - t, 2)}
            if tool == "ours":
                report[tool]["accuracy"] = score_ours(folder)
            else:
                report[tool]["accuracy"] = {str(th): score_splink(folder, th)
                                            for th in sorted({args.splink_threshold, 0.9, 0.999})}
    report["machine"]["loadavg_end"] = os.getloadavg()
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
