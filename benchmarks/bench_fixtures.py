"""Time the synthetic county and petition-signer generators at production scale.

    python benchmarks/bench_fixtures.py [--voters 2100000] [--lines 60000]
                                        [--seed 0] [--repeat 1]
                                        [--out benchmarks/out/fixtures.json]

Prints a JSON report and writes it to ``--out``: wall seconds for
``generate_county``, ``draw_signers`` and ``exemplar_table`` (best of
``--repeat``), row counts, peak resident memory of the process, and the
machine's CPU count and load average (timings on a shared machine are noisy;
read them with the load in mind).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from fixtures.signers import draw_signers
from fixtures.voters import exemplar_table, generate_county, write_voter_file


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _best(fn, repeat: int):
    """Best wall time of ``repeat`` runs, all wall times, and the CPU seconds
    of the best run (CPU time shows what a busy machine hides)."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    best = int(np.argmin(times))
    return out, times[best], times, cpus[best]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voters", type=int, default=2_100_000, help="voter records in the county")
    ap.add_argument("--lines", type=int, default=60_000, help="petition lines to draw")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="runs per step; the best is reported")
    ap.add_argument("--out", default="benchmarks/out/fixtures.json", help="JSON report path")
    args = ap.parse_args(argv)

    county, t_county, all_county, c_county = _best(lambda: generate_county(args.voters, seed=args.seed), args.repeat)
    rss_after_county = _peak_rss_mb()
    lines, t_lines, all_lines, c_lines = _best(lambda: draw_signers(county, args.lines, seed=args.seed), args.repeat)
    ex, t_ex, all_ex, c_ex = _best(lambda: exemplar_table(county.voters, seed=args.seed), args.repeat)

    writes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("csv", "parquet"):
            path = Path(tmp) / f"voters.{fmt}"
            _, t_w, _, _ = _best(lambda path=path, fmt=fmt: write_voter_file(county.voters, path, fmt=fmt), 1)
            writes[fmt] = {"seconds": round(t_w, 3), "megabytes": round(path.stat().st_size / 1e6, 1)}

    report = {
        "benchmark": "fixtures",
        "params": {"voters": args.voters, "lines": args.lines, "seed": args.seed, "repeat": args.repeat},
        "generate_county": {
            "seconds": round(t_county, 3), "cpu_seconds": round(c_county, 3),
            "all_seconds": [round(t, 3) for t in all_county],
            "voters": county.voters.height, "people": county.people.height,
            "voters_per_second": round(county.voters.height / t_county),
        },
        "draw_signers": {
            "seconds": round(t_lines, 3), "cpu_seconds": round(c_lines, 3),
            "all_seconds": [round(t, 3) for t in all_lines],
            "lines": lines.height,
            "kinds": dict(sorted(lines["kind"].value_counts().iter_rows())),
        },
        "exemplar_table": {
            "seconds": round(t_ex, 3), "cpu_seconds": round(c_ex, 3),
            "all_seconds": [round(t, 3) for t in all_ex], "rows": ex.height,
        },
        "write_voter_file": writes,
        "peak_rss_mb": {"after_county": round(rss_after_county, 1), "end": round(_peak_rss_mb(), 1)},
        "machine": {
            "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "polars": pl.__version__, "numpy": np.__version__,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, out)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
