"""A workspace made by the first schema opens under every later one.

The store is built by ``0001_initial`` alone, written the way that version
wrote it, and then opened with :class:`petitions.store.Workspace`, which
applies every later migration. Nothing here names a later migration, so the
test holds as migrations are added (DESIGN.md: "the schema changes only
through migrations, tested from an empty store and from the previous
version's store").
"""
from __future__ import annotations

import sqlite_utils

from petitions.store import DB_NAME, GENESIS_HASH, Workspace, canonical_json, event_hash
from petitions.store.schema import migrations

FIRST = "0001_initial"
TS = "2026-03-02T09:00:00.000000+00:00"

# One representative row per table of 0001, in 0001's columns, in an order
# that satisfies the foreign keys.
ROWS: dict[str, list[dict]] = {
    "users": [
        {"name": "ann", "role": "supervisor", "created_at": TS},
        {"name": "bob", "role": "reviewer", "created_at": TS},
    ],
    "voter_files": [{
        "id": 1, "source_path": "county.csv", "source_sha256": "a" * 64, "parquet_path": "voters/1.parquet",
        "rows": 3, "mapping_json": "{}", "imported_at": TS, "imported_by": "ann", "active": 1,
    }],
    "exemplars": [{
        "id": 1, "voter_id": "V1", "image_hash": "b" * 64, "captured_date": "2020-10-12", "source": "e-pad",
        "imported_at": TS,
    }],
    "filings": [{
        "id": 1, "name": "Measure A", "kind": "initiative", "jurisdiction": "County", "district": None,
        "required": 100, "filing_date": "2026-03-01", "circulation_start": "2026-01-01",
        "circulation_end": "2026-02-28", "ruleset_id": "ca-initiative", "ruleset_version": "1",
        "ruleset_json": '{"id": "ca-initiative"}', "created_at": TS, "created_by": "ann",
    }],
    "documents": [{
        "id": 1, "filing_id": 1, "path": "scans/s1.pdf", "stored_path": None, "sha256": "c" * 64, "pages": 1,
        "errors_json": "[]", "ingested_at": TS,
    }],
    "sections": [{
        "id": 1, "filing_id": 1, "number": 1, "circulator_name": "Cy", "circulator_address": "1 Main St",
        "circulated_from": "2026-01-02", "circulated_to": "2026-02-01", "declaration_ok": 1, "document_id": 1,
    }],
    "pages": [{
        "id": 1, "section_id": 1, "number": 1, "document_id": 1, "document_page": 0, "width": 2550,
        "height": 3300, "dpi": 300.0, "skew_deg": 0.2, "rotation": 0, "image_hash": "d" * 64,
        "segmentation_json": "{}", "fields_json": "{}",
    }],
    "lines": [
        {
            "id": 1, "filing_id": 1, "section_id": 1, "page_id": 1, "label": "S001-P01-L01", "seq": 1,
            "number": 1, "state": "signed", "signature_box": "[0, 0, 10, 10]", "name_box": None,
            "address_box": None, "signature_hash": "e" * 64, "name_hash": None, "address_hash": None,
            "signature_ink": 0.12,
        },
        {
            "id": 2, "filing_id": 1, "section_id": 1, "page_id": 1, "label": "S001-P01-L02", "seq": 2,
            "number": 2, "state": "blank", "signature_box": None, "name_box": None, "address_box": None,
            "signature_hash": None, "name_hash": None, "address_hash": None, "signature_ink": 0.0,
        },
    ],
    "keyed_entries": [{
        "id": 1, "line_id": 1, "name": "Jane Doe", "address": "12 Oak St", "city": "Springfield", "zip": "99999",
        "date_signed": "2026-01-05", "source": "keyed", "keyed_by": "bob", "keyed_at": TS,
    }],
    "runs": [{
        "id": 1, "filing_id": 1, "stage": "match", "started_at": TS, "finished_at": TS, "status": "done",
        "params_json": "{}", "model_json": None, "model_version": "match/1", "voter_file_id": 1,
    }],
    "matches": [{
        "line_id": 1, "run_id": 1, "voter_file_id": 1, "voter_id": "V1", "score": 0.97, "status": "match",
        "reason": None, "name_level": "first exact, last exact", "address_level": "exact",
        "candidates_json": '[{"voter_id": "V1", "score": 0.97}]', "details_json": "{}", "model_version": "match/1",
    }],
    "signature_scores": [{
        "line_id": 1, "run_id": 1, "voter_id": "V1", "score": 0.4, "decision": "review", "reason": "low_score",
        "family_json": "{}", "n_exemplars": 1, "best_exemplar_hash": "b" * 64, "model_version": "sig/1",
    }],
    "determinations": [{
        "id": 1, "line_id": 1, "run_id": 1, "determination": "needs_review", "level": "signature",
        "reasons_json": '["signature_review"]', "inputs_json": "{}", "ruleset_id": "ca-initiative",
        "ruleset_version": "1", "created_at": TS,
    }],
    "rulings": [{
        "id": 1, "line_id": 1, "user": "bob", "role": "reviewer", "kind": "review", "action": "accept",
        "reason_code": None, "note": "same hand", "shown_json": '{"score": 0.4}', "supersedes": None,
        "created_at": TS,
    }],
    "samples": [{
        "id": 1, "filing_id": 1, "purpose": "qa", "round": 1, "seed": "12345678901234567890", "frame_hash": "f" * 64,
        "frame_size": 2, "size": 1, "params_json": "{}", "created_at": TS, "created_by": "ann",
    }],
    "sample_items": [{"sample_id": 1, "line_id": 1, "rank": 1, "ticket": "0.0123"}],
}


def _events() -> list[dict]:
    """Two events chained from the genesis hash, as version 1 wrote them."""
    out, prev = [], GENESIS_HASH
    for i, (kind, user, line_id, payload) in enumerate(
        [("filing.created", "ann", None, {"name": "Measure A"}), ("ruling", "bob", 1, {"action": "accept"})], 1
    ):
        payload_json = canonical_json(payload)
        digest = event_hash(prev, TS, user, kind, 1, line_id, payload_json)
        out.append({"id": i, "ts": TS, "user": user, "kind": kind, "filing_id": 1, "line_id": line_id,
                    "payload_json": payload_json, "prev_hash": prev, "hash": digest})
        prev = digest
    return out


def _all_migrations() -> list[str]:
    return [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


def _first_version_workspace(root) -> None:
    """A workspace folder whose store has only 0001 applied, and data in it."""
    root.mkdir()
    db = sqlite_utils.Database(root / DB_NAME)
    names = _all_migrations()
    assert names[0] == FIRST, names
    migrations.apply(db, stop_before=names[1:])
    assert [m.name for m in migrations.applied(db)] == [FIRST]
    db.conn.execute("PRAGMA foreign_keys=ON")
    with db.conn:
        for table, rows in {**ROWS, "events": _events()}.items():
            cols = list(rows[0])
            db.conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [[r[c] for c in cols] for r in rows],
            )
    db.close()


def _rows_as_written(path, table: str, cols: list[str]) -> list[dict]:
    db = sqlite_utils.Database(path)
    try:
        return [dict(r) for r in db.query(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid")]
    finally:
        db.close()


def test_the_first_schema_is_migrated_to_the_latest_and_keeps_its_rows(tmp_path):
    root = tmp_path / "ws"
    _first_version_workspace(root)

    with Workspace(root) as ws:
        assert ws.schema_version == _all_migrations()
        check = ws.verify_chain()
        assert check.ok, check
        assert check.events == 2

    for table, rows in {**ROWS, "events": _events()}.items():
        assert _rows_as_written(root / DB_NAME, table, list(rows[0])) == rows, table


def test_a_migrated_workspace_reopens_unchanged_and_keeps_logging(tmp_path):
    root = tmp_path / "ws"
    _first_version_workspace(root)
    with Workspace(root) as ws:
        first = ws.schema_version
    with Workspace(root) as ws:
        assert ws.schema_version == first == _all_migrations()
        # the chain written by version 1 continues under the latest schema
        with ws.transaction():
            ws.log_event("test.after_migration", user="ann", payload={"ok": True}, filing_id=1)
        check = ws.verify_chain()
        assert check.ok and check.events == 3, check
