"""The workbench's File ▸ Add scans, before and after issue 19: the same
sections ingested file by file, each file starting its own pool of
segmentation processes (the old path: ``ingest_document`` per file), against
all files on one shared pool (``worker_pool`` + ``ingest_files``, what the
workbench's job runs now), alternated over ``--rounds`` rounds, each into a
fresh workspace folder. Reports pages/s of both (medians) with the load
average; writes JSON (``--out``).

    python benchmarks/bench_workbench_ingest.py --signatures 400 --cache /tmp/bench-wb --out bench_wb.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

USER = "clerk"


def _fresh(tmp: Path):
    from petitions import stages
    from petitions.store import Workspace

    root = Path(tempfile.mkdtemp(dir=tmp)) / "ws"
    with Workspace(root, create=True) as ws:
        ws.ensure_user(USER, "supervisor")
        fid = stages.create_filing(ws, name="Q", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                                   user=USER, required=10)
    return root, fid


def file_by_file(paths, tmp) -> int:
    from petitions.stages.ingest import ingest_document
    from petitions.store import Workspace

    root, fid = _fresh(tmp)
    with Workspace(root) as ws:
        return sum(ingest_document(ws, fid, p, user=USER).pages for p in paths)


def shared_pool(paths, tmp) -> int:
    from petitions.stages.ingest import ingest_files
    from petitions.store import Workspace
    from sigverify.pages.batch import worker_pool

    root, fid = _fresh(tmp)
    with Workspace(root) as ws, worker_pool() as pool:
        return sum(rep.pages for _p, rep in ingest_files(ws, fid, paths, user=USER, executor=pool,
                                                         progress=lambda *a: None))


def main(argv=None) -> int:
    from fixtures.filing import build_filing

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signatures", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--cache", type=Path, help="keep the built filing here and reuse it")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    src = args.cache or Path(tempfile.mkdtemp())
    params_file = src / "params.json"
    if not params_file.exists():
        files = build_filing(src, signatures=args.signatures, seed=5)
        params_file.write_text(json.dumps(files.params, default=str))
    paths = [str(src / s["path"]) for s in json.loads(params_file.read_text())["sections"]]
    tmp = Path(tempfile.mkdtemp())
    load0 = os.getloadavg()
    runs: dict[str, list[float]] = {"file_by_file": [], "shared_pool": []}
    fns = {"file_by_file": file_by_file, "shared_pool": shared_pool}
    for r in range(args.rounds):
        for name in (("file_by_file", "shared_pool") if r % 2 == 0 else ("shared_pool", "file_by_file")):
            t = time.perf_counter()
            n = fns[name](paths, tmp)
            dt = time.perf_counter() - t
            runs[name].append(n / dt)
            print(f"{name}: {n} pages in {dt:.1f} s, {n / dt:.2f} pages/s (load {os.getloadavg()[0]:.1f})")
    med = {k: round(statistics.median(v), 2) for k, v in runs.items()}
    out = {"files": len(paths), "pages": n, "rounds": args.rounds, "pages_per_s": med, "runs": runs,
           "load_before": load0, "load_after": os.getloadavg(), "cpus": os.cpu_count()}
    print(f"medians: {med}; load {load0[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
