"""An office on one server: reviewers ruling at once while a stage runs.

    python benchmarks/bench_server.py [--reviewers 20] [--lines 3000] [--seconds 120]
                                      [--restart] [--out benchmarks/out/server.json]

Starts a throwaway PostgreSQL cluster (``.ci/pg-cluster``), lays out a
workspace with one filing of ``--lines`` lines waiting for review, one login
per reviewer (group role ``sigverify_reviewer``), and runs, as separate
processes each signed in as its own login:

* ``--reviewers`` reviewers, each checking out batches of 25 lines
  (:mod:`petitions.review.batches`) and ruling on each case through the
  review screen's own calls (``load_case`` then ``rule``, which names the
  latest ruling the case showed): mostly accept, some escalate;
* a keying import (``import_keyed_entries``, a real stage) re-keying 200
  lines every second as the supervisor.

With ``--restart`` the server is restarted once halfway; clients reconnect
and go on. Afterwards the report checks: every ruling a client saw
committed is in the store, no line has two rulings from the review queue
(none doubled), no line was served to two reviewers, the event chain
verifies; and gives rulings per second and the next case's latency
(``load_case``, median and p95). JSON out; nothing here is a test.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
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

PASSWORD = "bench-pw"


def _cluster(folder: Path) -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = subprocess.run(["bash", str(ROOT / ".ci" / "pg-cluster"), "start", str(folder)], capture_output=True,
                       text=True, env={**os.environ, "PG_PORT": str(port)})
    if r.returncode:
        raise SystemExit(f"cannot start PostgreSQL: {r.stderr}")
    return r.stdout.strip().splitlines()[-1]


def _setup(admin: str, n_lines: int, n_reviewers: int) -> tuple[str, int, list[str]]:
    import psycopg

    from petitions.stages.filings import create_filing
    from petitions.store import Workspace, now_utc

    db = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {db}")
    url = admin.rsplit("/", 1)[0] + "/" + db
    logins = [f"rev{i:02d}_{db}" for i in range(1, n_reviewers + 1)]
    with Workspace(url, create=True) as ws:
        for name in logins:
            ws.ensure_user(name, "reviewer", password=PASSWORD)
        fid = create_filing(ws, name="Bench", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                            user=ws.login, required=1000)
        per_page, pages = 10, 10
        with ws.transaction():
            line = 0
            rows = []
            for sec in range(1, n_lines // (per_page * pages) + 2):
                sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, ?) RETURNING id", (fid, sec))
                for pg in range(1, pages + 1):
                    pid = ws._insert("INSERT INTO pages (section_id, number) VALUES (?, ?) RETURNING id", (sid, pg))
                    for ln in range(1, per_page + 1):
                        if line >= n_lines:
                            break
                        line += 1
                        rows.append((fid, sid, pid, f"S{sec:03d}-P{pg:02d}-L{ln:02d}",
                                     sec * 1_000_000 + pg * 1_000 + ln, ln))
            ws._many("INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                     "VALUES (?, ?, ?, ?, ?, ?, 'signed')", rows)
            ids = [r["id"] for r in ws._rows("SELECT id FROM lines WHERE filing_id = ? ORDER BY seq", (fid,))]
            ws._many("INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, "
                     "ruleset_id, ruleset_version, created_at) VALUES (?, 'needs_review', 'review', "
                     "'[\"signature_mismatch\"]', '{}', 'ca-initiative', '1', ?)", [(i, now_utc()) for i in ids])
            ws.log_event("bench_filing", user=ws.login, filing_id=fid, payload={"lines": len(ids)})
    return url, fid, logins


def _connect(url: str, login: str, deadline: float):
    from petitions.store import Workspace

    host = url.split("@", 1)[1]
    while True:
        try:
            return Workspace(f"postgresql://{login}:{PASSWORD}@{host}")
        except Exception:  # noqa: BLE001 - the server is restarting: try again
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _reviewer(url: str, fid: int, login: str, seconds: float, out: mp.Queue) -> None:
    try:
        _review(url, fid, login, seconds, out)
    except BaseException as exc:  # noqa: BLE001 - report, never leave the parent waiting
        import traceback

        out.put({"login": login, "served": [], "ruled": [], "latency": [], "refused": 0, "reconnects": 0,
                 "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]})


def _review(url: str, fid: int, login: str, seconds: float, out: mp.Queue) -> None:
    from petitions.errors import UserError
    from petitions.review import batches
    from petitions.review.case import load_case, rule

    end = time.monotonic() + seconds
    ws = _connect(url, login, end + 30)
    served, ruled, latency, refused, reconnects = [], [], [], 0, 0
    i = 0
    while time.monotonic() < end:
        try:
            try:
                b = batches.checkout(ws, fid, user=login, size=25)
            except UserError:
                break  # nothing left
            for lid in b.line_ids:
                if time.monotonic() >= end:
                    break
                t0 = time.perf_counter()
                case = load_case(ws, lid)
                latency.append(time.perf_counter() - t0)
                if case.status != "needs_review" or case.level != "review":
                    continue  # ruled or escalated already (the screen shows it read only)
                served.append(lid)
                i += 1
                action = "escalate" if i % 10 == 0 else "accept"
                try:
                    r = rule(ws, case, user=login, action=action, mode="review")
                    ruled.append((lid, r.ruling_id))
                except UserError:
                    refused += 1
        except Exception as exc:  # noqa: BLE001 - a dropped connection: reconnect and go on
            if "UserError" in type(exc).__name__:
                raise
            reconnects += 1
            try:
                ws.close()
            except Exception:  # noqa: BLE001
                pass
            ws = _connect(url, login, end + 30)
    ws.close()
    out.put({"login": login, "served": served, "ruled": ruled, "latency": latency, "refused": refused,
             "reconnects": reconnects})


def _stage(url: str, fid: int, admin_login: str, seconds: float, tmp: str, out: mp.Queue) -> None:
    try:
        _keying(url, fid, admin_login, seconds, tmp, out)
    except BaseException as exc:  # noqa: BLE001 - report, never leave the parent waiting
        out.put({"stage": "keying", "keyed": 0, "errors": 1, "error": f"{type(exc).__name__}: {exc}"})


def _keying(url: str, fid: int, admin_login: str, seconds: float, tmp: str, out: mp.Queue) -> None:
    """A keying import, re-keying 200 lines every second (as the supervisor)."""
    from petitions.stages.keying import import_keyed_entries
    from petitions.store import Workspace

    end = time.monotonic() + seconds
    ws = Workspace(url)
    labels = [r["label"] for r in ws._rows("SELECT label FROM lines WHERE filing_id = ? ORDER BY seq LIMIT 200",
                                           (fid,))]
    n, errors, k = 0, 0, 0
    while time.monotonic() < end:
        k += 1
        path = Path(tmp) / f"keyed-{k}.csv"
        path.write_text("line_id,name,address,city,zip\n" + "".join(
            f"{lab},Name {k} {j},{j} Main St,Los Angeles,90012\n" for j, lab in enumerate(labels)))
        try:
            n += import_keyed_entries(ws, fid, path, user=admin_login).imported
        except Exception:  # noqa: BLE001 - the server restarting
            errors += 1
            try:
                ws.close()
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.5)
            try:
                ws = Workspace(url)
            except Exception:  # noqa: BLE001
                pass
        time.sleep(1.0)
    out.put({"stage": "keying", "keyed": n, "errors": errors})


def run(args) -> dict:
    from petitions.store import Workspace

    folder = Path(tempfile.mkdtemp(prefix="sigverify-bench-pg-"))
    try:
        admin = _cluster(folder)
        url, fid, logins = _setup(admin, args.lines, args.reviewers)
        with Workspace(url) as ws:
            admin_login = ws.login
        q: mp.Queue = mp.Queue()
        ctx_tmp = tempfile.mkdtemp(prefix="sigverify-bench-keying-")
        procs = [mp.Process(target=_reviewer, args=(url, fid, lg, args.seconds, q)) for lg in logins]
        procs.append(mp.Process(target=_stage, args=(url, fid, admin_login, args.seconds, ctx_tmp, q)))
        t0 = time.monotonic()
        for p in procs:
            p.start()
        restarted = None
        if args.restart:
            time.sleep(args.seconds / 2)
            bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
            cmd = [str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "server.log"),
                   "-m", "fast", "-w", "restart"]
            if os.getuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--", *cmd]
            r0 = time.monotonic()
            # (the server inherits no pipe of ours: pg_ctl would otherwise never be read to its end)
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
            restarted = round(time.monotonic() - r0, 2)
        results = [q.get(timeout=args.seconds + 120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        wall = time.monotonic() - t0
        shutil.rmtree(ctx_tmp, ignore_errors=True)
        reviewers = [r for r in results if "login" in r]
        stage = next(r for r in results if r.get("stage"))
        with Workspace(url) as ws:
            rows = ws._rows("SELECT id, line_id, \"user\" AS who, kind FROM rulings")
            chain = ws.verify_chain()
            batch_rows = ws._rows("SELECT b.id, b.holder, b.created_at, b.closed_at, b.close_reason, bl.line_id "
                                  "FROM batches b JOIN batch_lines bl ON bl.batch_id = b.id")
        seen = {rid for r in reviewers for _, rid in r["ruled"]}
        stored = {r["id"] for r in rows}
        per_line: dict[int, int] = {}
        for r in rows:
            if r["kind"] == "review":
                per_line[r["line_id"]] = per_line.get(r["line_id"], 0) + 1
        served_by: dict[int, set] = {}
        for r in reviewers:
            for lid in r["served"]:
                served_by.setdefault(lid, set()).add(r["login"])
        lat = sorted(x for r in reviewers for x in r["latency"])
        twice = [lid for lid, who in served_by.items() if len(who) > 1]
        twice_detail = {lid: {"served_by": sorted(served_by[lid]),
                              "batches": [b for b in batch_rows if b["line_id"] == lid],
                              "rulings": [r for r in rows if r["line_id"] == lid]} for lid in twice[:5]}
        n_rulings = sum(len(r["ruled"]) for r in reviewers)
        return {
            "benchmark": "server",
            "params": {"reviewers": args.reviewers, "lines": args.lines, "seconds": args.seconds,
                       "restart": args.restart},
            "rulings": n_rulings,
            "rulings_per_second": round(n_rulings / wall, 1),
            "next_case_seconds": {"median": round(statistics.median(lat), 4) if lat else None,
                                  "p95": round(lat[int(0.95 * (len(lat) - 1))], 4) if lat else None,
                                  "n": len(lat)},
            "lost_rulings": len(seen - stored),
            "doubled_lines": sum(1 for c in per_line.values() if c > 1),
            "lines_served_twice": len(twice),
            "served_twice_detail": twice_detail,
            "refused_rulings": sum(r["refused"] for r in reviewers),
            "reconnects": sum(r["reconnects"] for r in reviewers),
            "client_errors": [r["error"] for r in results if r.get("error")],
            "server_restart_seconds": restarted,
            "stage": stage,
            "chain_ok": chain.ok, "events": chain.events,
            "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
                        "python": platform.python_version()},
        }
    finally:
        subprocess.run(["bash", str(ROOT / ".ci" / "pg-cluster"), "stop", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--restart", action="store_true", help="restart the server once halfway")
    ap.add_argument("--out", default="benchmarks/out/server.json")
    args = ap.parse_args(argv)
    report = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    rep = main()
    ok = rep["lost_rulings"] == 0 and rep["doubled_lines"] == 0 and rep["lines_served_twice"] == 0 and rep["chain_ok"]
    sys.exit(0 if ok else 1)
