"""Time the count's bookkeeping on a large sampled filing: drawing the
sample (which freezes its frame), ``count_result`` (which checks the frozen
frame and flags lines outside it), ``summarize`` (unread pages, numbering
gaps, certificate state) and voiding the sample.

    python benchmarks/bench_count.py [--lines 60000] [--seed 0] [--repeat 5]
                                     [--out benchmarks/out/count.json]

The filing is :func:`bench_status.build_filing`'s synthetic one (sections of
three ten-line pages, 92 % signed, determinations, matches and rulings),
written straight into a fresh SQLite workspace. A late section of 99
lines is added after the draw, so ``count_result`` has lines outside the
frame to flag. Prints a JSON report and writes it to ``--out``: median and
all wall times, the frame and sample sizes, and the machine's CPU count and
load average (the machine may be shared: read timings with the load in mind).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_status import build_filing  # noqa: E402

from petitions.counting import count_result, draw_sample, void_sample  # noqa: E402
from petitions.stages.ingest import line_label, line_seq  # noqa: E402
from petitions.status import line_status  # noqa: E402
from petitions.store import Workspace  # noqa: E402
from petitions.summary import summarize  # noqa: E402


def _late_section(ws: Workspace, fid: int, n: int) -> None:
    number = int(ws._scalar("SELECT MAX(number) FROM sections WHERE filing_id = ?", (fid,))) + 1
    with ws.transaction():
        sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, ?) RETURNING id", (fid, number))
        pid = ws._insert("INSERT INTO pages (section_id, number) VALUES (?, 1) RETURNING id", (sid,))
        ws._many("INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                 "VALUES (?, ?, ?, ?, ?, ?, 'signed')",
                 [(fid, sid, pid, line_label(number, 1, i), line_seq(number, 1, i), i) for i in range(1, n + 1)])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/count.json"))
    args = ap.parse_args(argv)
    outside_first = 0
    times: dict[str, list[float]] = {"draw_sample": [], "count_result": [], "summarize": [], "void_sample": []}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", create=True)
        fid, built = build_filing(ws, args.lines, seed=args.seed)
        for k in range(args.repeat):
            t0 = time.perf_counter()
            info = draw_sample(ws, fid, seed=f"bench-{k}", user="sup")
            times["draw_sample"].append(time.perf_counter() - t0)
            if k == 0:
                _late_section(ws, fid, 99)
            status = line_status(ws, fid)
            t0 = time.perf_counter()
            res = count_result(ws, fid, status=status)
            times["count_result"].append(time.perf_counter() - t0)
            if k == 0:
                outside_first = res.lines_outside_frame
            t0 = time.perf_counter()
            summarize(ws, fid, status=status)
            times["summarize"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            void_sample(ws, fid, user="sup", reason="benchmark")
            times["void_sample"].append(time.perf_counter() - t0)
        ws.close()
    report = {
        "benchmark": "count",
        "filing": built,
        "frame_size": info.frame_size,
        "sample_size": info.size,
        "lines_outside_frame_first_round": outside_first,
        "median_seconds": {k: statistics.median(v) for k, v in times.items()},
        "seconds": times,
        "last_count": {"raw_count": res.raw_count, "frame_current": res.frame_current,
                       "lines_outside_frame": res.lines_outside_frame},
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
