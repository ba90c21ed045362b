"""`petitions ingest` end to end against segmentation alone, in the same run
(issue 19, item 6), and what the ingest leaves on disk.

Builds a synthetic filing with :func:`fixtures.filing.build_filing` (its
scanned sections: PDFs and CCITT G4 TIFFs of both forms, with scan
artefacts), then alternates, over ``--rounds`` rounds:

* **segmentation**: every section decoded and segmented by
  :func:`sigverify.pages.segment_document` on one shared worker pool (what
  ``benchmarks/bench_segment.py`` times), crops cut and handed back;
* **ingest**: the same sections ingested into a new workspace folder the way
  ``petitions ingest -w WS --filing ID FILES…`` does (one worker pool for
  all files, :func:`petitions.stages.ingest.ingest_files`: the next files
  segmented while one is committed):
  decoding, segmentation, crop encoding, the crop packs, the stored scans
  and every database row.

Reports pages/s of both (medians), their ratio (the issue's target: ingest
at least 70 % of segmentation's pages/s), the same ratio against
segmentation with the ingest's look-ahead across documents
(:func:`sigverify.pages.batch.segment_documents`, a third pass), and the workspace the ingest
leaves: files, bytes (apparent and on disk), crops. With ``--baseline REV``
the ingest of git revision REV (e.g. 8b349fa, one PNG file a crop) runs in
the same run on the same files, for before/after. With ``--server
ADMIN_URL`` (a PostgreSQL login that may create databases) every ingest
round goes into a new database on that server instead of a folder, and the
report gives what the database holds: ``blobs`` rows (packs and loose
files), their bytes and the crop index rows.

    python benchmarks/bench_ingest.py --signatures 2000 --cache /tmp/bench-ingest --out bench_ingest.json
    python benchmarks/bench_ingest.py --signatures 2000 --baseline 8b349fa
    python benchmarks/bench_ingest.py --signatures 2000 --server postgresql://admin:pw@127.0.0.1:5432/postgres

Timings on a shared machine are noisy: compare the two figures of the same
run; the load average before and after is recorded with them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
USER = "bench-supervisor"


def _filing(signatures: int, seed: int, cache: Path | None, tmp: Path) -> tuple[list[Path], float]:
    """The filing's scanned sections (built, or read from the cache)."""
    from fixtures.filing import build_filing

    folder = (cache or tmp) / f"filing-n{signatures}-s{seed}"
    index = folder / "sections.json"
    if index.exists():
        return [folder / p for p in json.loads(index.read_text())], 0.0
    t0 = time.perf_counter()
    files = build_filing(folder, signatures=signatures, seed=seed)
    paths = [Path(s["path"]) if Path(s["path"]).is_absolute() else folder / s["path"] for s in files.sections]
    index.write_text(json.dumps([str(p.relative_to(folder)) for p in paths]))
    return paths, time.perf_counter() - t0


def _replicate(docs: list[Path], times: int, folder: Path) -> list[Path]:
    """Each document `times` times, each copy a distinct file (a trailing
    comment changes its SHA-256, not its pages): a filing `times` as large
    without building it."""
    if times <= 1:
        return docs
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(times):
        for d in docs:
            copy = folder / f"{d.stem}-copy{k:03d}{d.suffix}"
            copy.write_bytes(d.read_bytes() + f"\n% copy {k}\n".encode())
            out.append(copy)
    return out


def _pages(docs: list[Path]) -> int:
    from sigverify.pages import open_document

    n = 0
    for d in docs:
        with open_document(d) as doc:
            n += doc.count
    return n


def segment_pass(docs: list[Path], pool) -> float:
    from sigverify.pages import segment_document

    t0 = time.perf_counter()
    for d in docs:
        for _ in segment_document(d, executor=pool):
            pass
    return time.perf_counter() - t0


def segment_pass_across(docs: list[Path], pool) -> float:
    """Segmentation alone with the look-ahead across documents that the ingest has
    (:func:`sigverify.pages.batch.segment_documents`)."""
    from sigverify.pages.batch import segment_documents

    t0 = time.perf_counter()
    for _ in segment_documents(docs, executor=pool):
        pass
    return time.perf_counter() - t0


def ingest_pass(docs: list[Path], pool, where: Path | str) -> tuple[float, dict]:
    """Ingest every document into a new workspace at `where` (a folder, or a
    server database's address); seconds and what it left."""
    from petitions import stages
    from petitions.store import Workspace

    with Workspace(where, create=True) as ws:
        user = ws.login or USER  # on a server one acts as the login signed in
        ws.ensure_user(user, "supervisor")
        fid = stages.create_filing(ws, name="Bench", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                                   user=user, required=10)
    from petitions.stages.ingest import ingest_files

    t0 = time.perf_counter()
    with Workspace(where) as ws:
        lines = pages = 0
        for path, rep in ingest_files(ws, fid, docs, user=user, executor=pool):
            if isinstance(rep, Exception):
                raise RuntimeError(f"{path}: {rep}")
            lines += rep.lines
            pages += rep.pages
        seconds = time.perf_counter() - t0
        left = server_usage(ws) if isinstance(where, str) else disk_usage(where)
    return seconds, {"pages": pages, "lines": lines, **left}


def server_usage(ws) -> dict:
    """What a server workspace holds of the ingest: blob rows (crop packs,
    loose crops, stored scans) and their bytes, and crop index rows."""
    def one(where: str) -> dict:
        r = ws._rows(f"SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM blobs WHERE {where}")[0]
        return {"rows": int(r["n"]), "bytes": int(r["b"])}

    return {"database": {"blobs": one("TRUE"), "crop_packs": one("key LIKE 'crops/packs/%'"),
                         "loose_crops": one("key LIKE 'crops/%' AND key NOT LIKE 'crops/packs/%'"),
                         "crop_index_rows": int(ws._scalar("SELECT COUNT(*) FROM crop_index"))}}


class _ServerDatabases:
    """Fresh databases on a PostgreSQL server, one per ingest round, dropped afterwards."""

    def __init__(self, admin: str):
        self.admin = admin
        self.made: list[str] = []

    def new(self, k: int) -> str:
        import psycopg

        name = f"bench_ingest_{os.getpid()}_{k}"
        with psycopg.connect(self.admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name}")
            c.execute(f"CREATE DATABASE {name}")
        self.made.append(name)
        return self.admin.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as c:
            for name in self.made:
                c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()


def disk_usage(where: Path) -> dict:
    """Files and bytes in a workspace folder, all of it and its crops/."""
    out = {}
    for name, base in (("workspace", where), ("crops", where / "crops")):
        files = [p for p in base.rglob("*") if p.is_file()] if base.exists() else []
        st = [p.stat() for p in files]
        out[name] = {"files": len(files), "bytes": int(sum(s.st_size for s in st)),
                     "bytes_on_disk": int(sum(s.st_blocks * 512 for s in st))}
    return out


_BASELINE_INGEST = r"""
import json, sys, time
from pathlib import Path
from petitions import stages
from petitions.store import Workspace
where, docs = Path(sys.argv[1]), sys.argv[2:]
with Workspace(where, create=True) as ws:
    ws.ensure_user("bench-supervisor", "supervisor")
    fid = stages.create_filing(ws, name="Bench", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                               user="bench-supervisor", required=10)
t0 = time.perf_counter()
pages = lines = 0
with Workspace(where) as ws:
    for d in docs:
        rep = stages.ingest_document(ws, fid, d, user="bench-supervisor")
        pages += rep.pages
        lines += rep.lines
print(json.dumps({"seconds": time.perf_counter() - t0, "pages": pages, "lines": lines}))
"""


def baseline_ingest(docs: list[Path], ref: str, where: Path) -> dict:
    """Ingest the documents with the code of git revision `ref` (its own
    ingest loop, as its CLI ran it), in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-baseline-") as tree:
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "sigverify", "petitions", "matchers"],
                              capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tree], input=arch.stdout, check=True)
        env = {**os.environ, "PYTHONPATH": tree}
        # cwd: the baseline tree, so `-c`'s first path entry ('') is not this one.
        r = subprocess.run([sys.executable, "-c", _BASELINE_INGEST, str(where), *map(str, docs)],
                           capture_output=True, text=True, env=env, cwd=tree)
        if r.returncode != 0:
            raise RuntimeError(f"baseline ingest failed: {r.stderr.strip()[-2000:]}")
        got = json.loads(r.stdout.strip().splitlines()[-1])
    got.update(disk_usage(where))
    got["pages_per_s"] = got["pages"] / got["seconds"]
    return got


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--signatures", type=int, default=2000, help="lines of the synthetic filing (default 2000)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help="alternated segmentation / ingest rounds (medians)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--replicate", type=int, default=1,
                    help="ingest each section this many times, as distinct files (a filing N times as large, "
                    "e.g. 10 for ~20,000 lines from the 2,000-line one)")
    ap.add_argument("--baseline", metavar="REV", help="also ingest with git revision REV's code (before/after)")
    ap.add_argument("--cache", type=Path, help="keep the built filing here and reuse it")
    ap.add_argument("--server", metavar="ADMIN_URL",
                    help="ingest into new databases on this PostgreSQL server (a login that may create "
                    "databases) instead of workspace folders")
    ap.add_argument("--out", type=Path, help="write the JSON here")
    args = ap.parse_args(argv)

    from sigverify.pages.batch import worker_pool

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_s:
        tmp = Path(tmp_s)
        docs, t_build = _filing(args.signatures, args.seed, args.cache, tmp)
        docs = _replicate(docs, args.replicate, tmp / "copies")
        n_pages = _pages(docs)
        load0 = os.getloadavg()
        seg, seg_x, ing, left = [], [], [], None
        servers = _ServerDatabases(args.server) if args.server else None
        with worker_pool(args.workers) as pool:
            segment_pass(docs[:1], pool)  # start the workers and warm their caches
            for k in range(args.rounds):
                where: Path | str = servers.new(k) if servers else tmp / f"ws-{k}"
                if k % 2 == 0:
                    seg.append(segment_pass(docs, pool))
                    t, left_k = ingest_pass(docs, pool, where)
                    seg_x.append(segment_pass_across(docs, pool))
                else:
                    seg_x.append(segment_pass_across(docs, pool))
                    t, left_k = ingest_pass(docs, pool, where)
                    seg.append(segment_pass(docs, pool))
                ing.append(t)
                left = left or left_k
                if servers:
                    servers.drop_all()
                else:
                    shutil.rmtree(where)
        base = baseline_ingest(docs, args.baseline, tmp / "ws-baseline") if args.baseline else None
        load1 = os.getloadavg()
    t_seg, t_ing, t_seg_x = float(np.median(seg)), float(np.median(ing)), float(np.median(seg_x))
    res = {
        "benchmark": "bench_ingest",
        "signatures": args.signatures,
        "replicate": args.replicate,
        "seed": args.seed,
        "documents": len(docs),
        "pages": n_pages,
        "lines": left["lines"],
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "rounds": args.rounds,
        "segment_seconds_all": [round(x, 3) for x in seg],
        "ingest_seconds_all": [round(x, 3) for x in ing],
        "segment_pages_per_s": n_pages / t_seg,
        "ingest_pages_per_s": left["pages"] / t_ing,
        "ingest_over_segment": (left["pages"] / t_ing) / (n_pages / t_seg),
        "segment_across_documents_seconds_all": [round(x, 3) for x in seg_x],
        "segment_across_documents_pages_per_s": n_pages / t_seg_x,
        "ingest_over_segment_across_documents": (left["pages"] / t_ing) / (n_pages / t_seg_x),
        "goal_ingest_over_segment": 0.70,
        "store": "postgresql" if args.server else "folder",
        **({"database_left": left["database"]} if args.server else {
            "workspace_left": {k: left[k] for k in ("workspace", "crops")},
            "files_per_page": left["workspace"]["files"] / max(1, left["pages"]),
            "crop_bytes_per_page": left["crops"]["bytes"] / max(1, left["pages"])}),
        **({"baseline": {"ref": args.baseline, **base,
                         "ingest_over_segment": base["pages_per_s"] / (n_pages / t_seg)}} if base else {}),
        "filing_build_seconds": t_build,
        "load_average": {"before": [round(x, 2) for x in load0], "after": [round(x, 2) for x in load1]},
        "python": platform.python_version(),
        "note": "timings on a shared machine are noisy; compare segmentation and ingest from the same run",
    }
    print(json.dumps(res, indent=1))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
