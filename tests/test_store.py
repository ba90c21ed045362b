"""The workspace store: migrations, WAL, foreign keys, content-addressed
crops, the hash-chained event log, append-only rulings, atomic transactions."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from petitions.errors import UserError
from petitions.store import DB_NAME, GENESIS_HASH, Workspace
from petitions.store.schema import migrations


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", create=True)
    yield w
    w.close()


def test_new_workspace_is_migrated_wal_with_foreign_keys(ws):
    assert ws.schema_version == [m.name for m in migrations._migrations]
    tables = set(ws._db.table_names())
    for t in ("filings", "sections", "pages", "lines", "voter_files", "exemplars", "keyed_entries", "matches",
              "signature_scores", "determinations", "rulings", "events", "samples", "sample_items", "runs"):
        assert t in tables, t
    assert ws._scalar("PRAGMA journal_mode") == "wal"
    assert ws._scalar("PRAGMA foreign_keys") == 1
    with pytest.raises(sqlite3.IntegrityError):
        with ws.transaction():
            ws._db.execute("INSERT INTO sections (filing_id, number) VALUES (999, 1)")


def test_reopening_applies_nothing_twice_and_keeps_data(tmp_path):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as w:
        w.ensure_user("ann", "supervisor")
        applied = w.schema_version
    with Workspace(root) as w:
        assert w.schema_version == applied
        assert w.user_role("ann") == "supervisor"
        assert w._scalar("SELECT COUNT(*) FROM _sqlite_migrations") == len(applied)


def test_opening_a_folder_that_is_not_a_workspace_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a workspace"):
        Workspace(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a readable SQLite"):
        Workspace(tmp_path / "bad")


def test_crops_are_content_addressed(ws):
    img = np.zeros((20, 30), np.uint8)
    img[5:15, 5:25] = 255
    h1 = ws.crops.put_image(img)
    h2 = ws.crops.put_image(img.copy())
    assert h1 == h2 and len(h1) == 64
    assert ws.crops.path(h1).exists()
    assert len(list((ws.root / "crops").rglob("*.png"))) == 1
    np.testing.assert_array_equal(ws.crops.get_image(h1), img)
    other = ws.crops.put_image(255 - img)
    assert other != h1


def test_event_chain_verifies_and_detects_tampering(ws):
    ws.ensure_user("ann", "supervisor")
    for i in range(5):
        with ws.transaction():
            ws.log_event("test", user="ann", payload={"i": i})
    check = ws.verify_chain()
    assert check.ok and check.events == 6
    first = ws._rows("SELECT prev_hash FROM events ORDER BY id LIMIT 1")[0]
    assert first["prev_hash"] == GENESIS_HASH
    # The log refuses edits...
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ws._db.execute("UPDATE events SET payload_json = '{}' WHERE id = 3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ws._db.execute("DELETE FROM events WHERE id = 3")
    # ...and someone who drops the trigger is still caught by the chain.
    ws._db.execute("DROP TRIGGER events_append_only_u")
    ws._db.execute("""UPDATE events SET payload_json = '{"i":99}' WHERE id = 4""")
    check = ws.verify_chain()
    assert not check.ok and check.first_bad_id == 4 and "altered" in check.problem


def test_log_event_outside_a_transaction_is_refused(ws):
    with pytest.raises(RuntimeError):
        ws.log_event("x", user="ann")


def test_a_failed_transaction_leaves_nothing_behind(ws):
    ws.ensure_user("ann", "supervisor")
    before = ws._scalar("SELECT COUNT(*) FROM events")
    with pytest.raises(ZeroDivisionError):
        with ws.transaction():
            ws._db.execute("INSERT INTO users (name, role, created_at) VALUES ('bob', 'reviewer', 'now')")
            ws.log_event("user_added", user="ann", payload={"name": "bob"})
            1 / 0
    assert ws.user_role("bob") is None
    assert ws._scalar("SELECT COUNT(*) FROM events") == before
    assert ws.verify_chain().ok


def test_nested_transactions_are_savepoints(ws):
    ws.ensure_user("ann", "supervisor")
    with ws.transaction():
        ws._db.execute("INSERT INTO users (name, role, created_at) VALUES ('bob', 'reviewer', 'now')")
        with pytest.raises(ValueError):
            with ws.transaction():
                ws._db.execute("INSERT INTO users (name, role, created_at) VALUES ('cy', 'reviewer', 'now')")
                raise ValueError
    assert ws.user_role("bob") == "reviewer"
    assert ws.user_role("cy") is None


def test_unknown_role_is_refused(ws):
    with pytest.raises(UserError):
        ws.ensure_user("zed", "admin")


def test_a_workspace_of_the_first_schema_is_upgraded_and_its_matches_match_again(tmp_path):
    import sqlite_utils

    from petitions.store import canonical_json, now_utc

    root = tmp_path / "ws"
    root.mkdir()
    db = sqlite_utils.Database(root / DB_NAME)
    migrations.apply(db, stop_before="0002_match_inputs")
    ts = now_utc()
    db.execute("INSERT INTO filings (id, name, kind, jurisdiction, ruleset_id, ruleset_version, ruleset_json, "
               "created_at, created_by) VALUES (1, 'f', 'initiative', 'x', 'r', '1', '{}', ?, 'ann')", (ts,))
    db.execute("INSERT INTO sections (id, filing_id, number) VALUES (1, 1, 1)")
    db.execute("INSERT INTO lines (id, filing_id, section_id, label, seq, number, state) "
               "VALUES (1, 1, 1, 'S001-P01-L01', 1, 1, 'signed')")
    db.execute("INSERT INTO keyed_entries (id, line_id, name, source, keyed_by, keyed_at) "
               "VALUES (7, 1, 'Ann Lee', 'csv', 'ann', ?)", (ts,))
    db.execute("INSERT INTO voter_files (id, source_path, source_sha256, parquet_path, rows, imported_at, imported_by, "
               "active) VALUES (1, 'v', 'v', 'v', 0, ?, 'ann', 1)", (ts,))
    db.execute("INSERT INTO runs (id, filing_id, stage, started_at, status) VALUES (1, 1, 'match', ?, 'done')", (ts,))
    db.execute("INSERT INTO matches (line_id, run_id, voter_file_id, status, details_json, model_version) "
               "VALUES (1, 1, 1, 'no_match', ?, 'm1')", (canonical_json({"keyed_id": 7}),))
    db.conn.commit()
    db.close()
    with Workspace(root) as ws:
        assert ws.schema_version == [m.name for m in migrations._migrations]
        row = ws._one("SELECT keyed_id, operating_point FROM current_match WHERE line_id = 1")
        assert row == {"keyed_id": 7, "operating_point": None}
        # NULL operating point: made before the matcher recorded it, so matched again
        from petitions.store import results as results_db

        pending = results_db.pending_match_lines(ws, 1, 1, "m1", "any")
        assert [r["keyed_id"] for r in pending] == [7]
