"""Build small filings directly in a store, for tests of the domain layer."""
from __future__ import annotations

import json

from petitions.stages.filings import create_filing
from petitions.stages.ingest import line_label, line_seq
from petitions.store import Workspace, canonical_json, now_utc


def filing_with_lines(ws: Workspace, states: list[str], *, ruleset: str = "ca-initiative", required: int | None = 10,
                      user: str = "sup") -> tuple[int, list[int]]:
    """A filing with one section and page holding lines in the given states."""
    ws.ensure_user(user, "supervisor")
    fid = create_filing(ws, name=f"F{ws._scalar('SELECT COUNT(*) FROM filings') + 1}", ruleset=ruleset,
                        jurisdiction="City of Los Angeles", user=user, required=required)
    with ws.transaction():
        sid = ws._db.execute("INSERT INTO sections (filing_id, number) VALUES (?, 1)", (fid,)).lastrowid
        pid = ws._db.execute("INSERT INTO pages (section_id, number) VALUES (?, 1)", (sid,)).lastrowid
        ids = []
        for i, st in enumerate(states, start=1):
            ids.append(ws._db.execute(
                "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (fid, sid, pid, line_label(1, 1, i), line_seq(1, 1, i), i, st)).lastrowid)
    return fid, ids


def determine(ws: Workspace, line_id: int, determination: str, reasons: list[str] | None = None,
              voter_id: str | None = None) -> None:
    """Store a determination (and optionally a matched voter) as triage would."""
    with ws.transaction():
        ws._db.execute(
            "INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, ruleset_id, "
            "ruleset_version, created_at) VALUES (?, ?, 'test', ?, '{}', 'test', '1', ?)",
            (line_id, determination, json.dumps(reasons or []), now_utc()))
        if voter_id is not None:
            run = ws._scalar("SELECT id FROM runs WHERE stage = 'test'")
            if run is None:
                run = ws._db.execute("INSERT INTO runs (stage, started_at, status) VALUES ('test', ?, 'done')",
                                    (now_utc(),)).lastrowid
                ws._db.execute("INSERT INTO voter_files (source_path, source_sha256, parquet_path, rows, imported_at, "
                              "imported_by) VALUES ('x', 'x', 'x', 0, ?, 'sup')", (now_utc(),))
            vf = ws._scalar("SELECT MIN(id) FROM voter_files")
            ws._db.execute("INSERT INTO matches (line_id, run_id, voter_file_id, voter_id, score, status, model_version, "
                          "details_json) VALUES (?, ?, ?, ?, 0.99, 'match', 'test', ?)",
                          (line_id, run, vf, voter_id, canonical_json({})))
