"""Backup and restore of the demo filing on both backends.

    python benchmarks/bench_backup.py [--signatures 300] [--repeat 3] [--pg ADMIN_URL]
                                      [--out benchmarks/out/backup.json]

Builds the demo filing (``fixtures.filing``, ``--signatures`` lines: voter
file, exemplars, scans ingested, keyed, matched, signatures compared,
triaged, blank lines confirmed, sample drawn) once in a workspace folder
(SQLite, the baseline) and once in a database on a PostgreSQL server
(``--pg`` admin address, else ``SIGVERIFY_TEST_PG``, else a throwaway
cluster from ``.ci/pg-cluster``), then times ``--repeat`` times each:

* ``backup``: :func:`petitions.store.backup.backup` (the SQLite backup API /
  ``pg_dump`` of an exported snapshot) into one tar;
* ``restore``: :func:`petitions.store.backup.restore` into a new folder /
  an empty database, including its SHA-256, event-chain and count checks.

Reports the median and every run, the archive's size, and the load
average before and after (the machine is shared). JSON out; nothing here
is a test.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _build(location, inputs: Path, spec: dict) -> dict:
    from petitions import stages
    from petitions.counting import draw_sample
    from petitions.review.confirm import confirm_invalid
    from petitions.store import Workspace

    with Workspace(location, create=True) as ws:
        if ws.login is None:
            ws.ensure_user("sup", "supervisor")
        who = ws.login or "sup"
        stages.import_voter_file(ws, inputs / "county" / "voters.csv", user=who)
        stages.import_exemplars(ws, inputs / "county" / "exemplars.csv", user=who)
        d = dt.date.fromisoformat
        fid = stages.create_filing(
            ws, name=spec["name"], ruleset=spec["ruleset"], jurisdiction=spec["jurisdiction"], user=who,
            required=spec["required"], filing_date=d(spec["filing_date"]),
            circulation_start=d(spec["circulation_start"]), circulation_end=d(spec["circulation_end"]))
        for sec in spec["sections"]:
            stages.ingest_document(ws, fid, inputs / sec["path"], user=who, section=sec["section"],
                                   circulator_name=sec["circulator"])
        stages.import_keyed_entries(ws, fid, inputs / "keyed.csv", user=who)
        stages.run_all(ws, fid, user=who)
        confirm_invalid(ws, fid, user=who, all_proposed=True)
        draw_sample(ws, fid, seed="bench-backup", user=who)
        return {"who": who, "lines": ws._scalar("SELECT COUNT(*) FROM lines"),
                "events": ws._scalar("SELECT COUNT(*) FROM events"),
                "blobs": ws._scalar("SELECT COUNT(*) FROM blobs")}


def _fresh_db(admin: str) -> str:
    import psycopg

    name = "bench_backup_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return admin.rsplit("/", 1)[0] + "/" + name


def _drop_db(admin: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def _time(backend: str, location, who: str, repeat: int, tmp: Path, new_target) -> dict:
    from petitions.store import Workspace
    from petitions.store.backup import backup, restore

    b_times, r_times, size = [], [], 0
    for i in range(repeat):
        out = tmp / f"{backend}-{i}.tar"
        with Workspace(location) as ws:
            t = time.perf_counter()
            m = backup(ws, out, user=who)
            b_times.append(time.perf_counter() - t)
        size = out.stat().st_size
        target = new_target(i)
        t = time.perf_counter()
        restored = restore(out, target)
        r_times.append(time.perf_counter() - t)
        assert restored.events == m.events and restored.chain_head == m.chain_head
        out.unlink()
    return {"backup_s": {"median": round(statistics.median(b_times), 3), "runs": [round(x, 3) for x in b_times]},
            "restore_s": {"median": round(statistics.median(r_times), 3), "runs": [round(x, 3) for x in r_times]},
            "archive_bytes": size, "events": m.events}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--signatures", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--pg", default=os.environ.get("SIGVERIFY_TEST_PG"), help="admin address of a PostgreSQL server")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "backup.json")
    args = p.parse_args(argv)
    from fixtures.filing import build_filing

    tmp = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    cluster = None
    made: list[str] = []
    try:
        admin = args.pg
        if not admin:
            cluster = tmp / "pg"
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            r = subprocess.run(["bash", str(ROOT / ".ci" / "pg-cluster"), "start", str(cluster)], capture_output=True,
                               text=True, env={**os.environ, "PG_PORT": str(port)})
            if r.returncode:
                raise SystemExit(f"cannot start PostgreSQL: {r.stderr}")
            admin = r.stdout.strip().splitlines()[-1]
        load_before = os.getloadavg()
        files = build_filing(tmp / "inputs", signatures=args.signatures, seed=args.seed)
        spec = files.params
        folder = tmp / "ws"
        t = time.perf_counter()
        built_sqlite = _build(folder, tmp / "inputs", spec)
        build_sqlite_s = time.perf_counter() - t
        url = _fresh_db(admin)
        made.append(url)
        t = time.perf_counter()
        built_pg = _build(url, tmp / "inputs", spec)
        build_pg_s = time.perf_counter() - t
        folder_bytes = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

        def new_folder(i):
            return tmp / f"restored-{i}"

        def new_db(_i):
            made.append(_fresh_db(admin))
            return made[-1]

        sqlite = _time("sqlite", folder, built_sqlite["who"], args.repeat, tmp, new_folder)
        postgresql = _time("postgresql", url, built_pg["who"], args.repeat, tmp, new_db)
        load_after = os.getloadavg()
        report = {
            "benchmark": "backup_restore", "signatures": args.signatures, "repeat": args.repeat,
            "lines": built_sqlite["lines"], "events": built_sqlite["events"],
            "sqlite": {**sqlite, "workspace_bytes": folder_bytes, "build_s": round(build_sqlite_s, 1)},
            "postgresql": {**postgresql, "blobs": built_pg["blobs"], "build_s": round(build_pg_s, 1)},
            "postgresql_vs_sqlite": {
                "backup": round(postgresql["backup_s"]["median"] / sqlite["backup_s"]["median"], 2),
                "restore": round(postgresql["restore_s"]["median"] / sqlite["restore_s"]["median"], 2)},
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
        return 0
    finally:
        for u in made:
            try:
                _drop_db(admin, u)
            except Exception:  # noqa: BLE001 - best effort clean-up
                pass
        if cluster is not None:
            subprocess.run(["bash", str(ROOT / ".ci" / "pg-cluster"), "stop", str(cluster)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
