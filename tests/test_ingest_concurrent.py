"""Two clerks ingesting into one filing at once: both sections land, with
different numbers; the same scan from two workstations lands once."""
from __future__ import annotations

import threading
from pathlib import Path

from petitions import stages
from petitions.demo import SUPERVISOR, run_demo
from petitions.store import Workspace


def test_concurrent_ingests_into_one_filing_all_land(tmp_path):
    root = tmp_path / "ws"
    run_demo(root, signatures=20, seed=3, log=lambda m: None)
    with Workspace(root) as ws:
        first = Path(ws._rows("SELECT path FROM documents ORDER BY id")[0]["path"])
        # a second, different scan: the same pages with a trailing comment (another SHA-256)
        second = tmp_path / f"second{first.suffix}"
        second.write_bytes(first.read_bytes() + b"\n% another scan\n")
        docs = [str(first), str(second)]
        fid = stages.create_filing(ws, name="Second", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                                   user=SUPERVISOR, required=10)
    results, errors = [], []
    start = threading.Barrier(3)

    def clerk(path):
        with Workspace(root) as own:
            start.wait()
            try:
                results.append(stages.ingest_document(own, fid, path, user=SUPERVISOR, workers=1))
            except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                errors.append(exc)

    threads = [threading.Thread(target=clerk, args=(p,)) for p in (docs[0], docs[1], docs[0])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    landed = [r for r in results if not r.already_ingested]
    assert len(landed) == 2 and sum(r.already_ingested for r in results) == 1
    assert sorted(r.section for r in landed) == [1, 2]
    with Workspace(root) as ws:
        sections = ws._rows("SELECT number, document_id FROM sections WHERE filing_id = ? ORDER BY number", (fid,))
        assert [s["number"] for s in sections] == [1, 2]
        assert ws._scalar("SELECT COUNT(*) FROM lines WHERE filing_id = ?", (fid,)) == sum(r.lines for r in landed)
        assert ws.verify_chain().ok
