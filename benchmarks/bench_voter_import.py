"""Voter-file reading: the strict reader vs the one that sets bad rows aside.

    python benchmarks/bench_voter_import.py --voters 2100000 --out bench_voter_import.json

Writes a synthetic county export (standard columns, a few bad rows: a
ragged row, a bad ZIP, a repeated voter id per 100,000) and times
``matchers.read_voter_file`` on the clean file against
``matchers.read_voter_file_checked`` on the clean file and on the one with
bad rows (unquoted: the vectorized field count; quoted: the csv module).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

import matchers


def make(n: int, folder: Path, *, bad: bool, quoted: bool) -> Path:
    rng = np.random.default_rng(1)
    df = pl.DataFrame({
        "voter_id": [f"V{i:08d}" for i in range(n)],
        "first_name": rng.choice(["Ann", "Bob", "Cy", "Di", "Ed"], n),
        "last_name": rng.choice(["Lee", "Roe", "Poe", "Ng", "Fox", "Diaz"], n),
        "house_number": rng.integers(1, 20000, n).astype(str),
        "street_name": rng.choice(["Main", "Sunset", "Elm", "Oak"], n),
        "street_type": rng.choice(["St", "Blvd", "Ave"], n),
        "city": rng.choice(["Los Angeles", "Van Nuys", "Encino"], n),
        "zip": rng.integers(90001, 91609, n).astype(str),
        "status": rng.choice(["active", "inactive"], n),
        "district": rng.choice(["CD1", "CD2", "CD3"], n),
    })
    path = folder / f"voters-{int(bad)}{int(quoted)}.csv"
    df.write_csv(path, quote_style="always" if quoted else "necessary")
    if bad:
        lines = path.read_text().splitlines()
        for k in range(1, len(lines), 100_000):
            lines[k] = lines[k].rsplit(",", 2)[0]  # ragged
            if k + 1 < len(lines):
                lines[k + 1] = lines[k + 1].replace(",9", ",X", 1)
        path.write_text("\n".join(lines) + "\n")
    return path


def timed(fn, *args) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--voters", type=int, default=500_000)
    ap.add_argument("--out", type=Path, default=Path("bench_voter_import.json"))
    args = ap.parse_args(argv)
    report: dict = {"voters": args.voters}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clean = make(args.voters, folder, bad=False, quoted=False)
        report["strict_clean_s"], _ = timed(matchers.read_voter_file, clean)
        report["checked_clean_s"], r = timed(matchers.read_voter_file_checked, clean)
        report["checked_clean_problems"] = len(r.problems)
        for quoted in (False, True):
            f = make(args.voters, folder, bad=True, quoted=quoted)
            key = "quoted" if quoted else "unquoted"
            report[f"checked_bad_{key}_s"], r = timed(matchers.read_voter_file_checked, f)
            report[f"checked_bad_{key}_problems"] = len(r.problems)
            report[f"checked_bad_{key}_rows"] = r.voters.height
    report = {k: round(v, 3) if isinstance(v, float) else v for k, v in report.items()}
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
