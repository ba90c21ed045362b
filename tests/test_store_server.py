"""The store on both backends: the same schema, migrations, append-only
rulings and events, the event chain, and files every workstation reaches
(checked by SHA-256). The SQLite-only details live in test_store.py."""
from __future__ import annotations

import numpy as np
import pytest

from petitions.errors import UserError
from petitions.store import Workspace
from petitions.store.backends import postgres_ddl, to_postgres
from petitions.store.schema import migrations


def note(ws, who: str = "ann") -> None:
    """Append one event (as the table owner: no role's row policy applies)."""
    with ws.transaction():
        ws.log_event("note", user=who, payload={"who": who})


@pytest.fixture
def ws(workspace_location):
    w = Workspace(workspace_location, create=True)
    yield w
    w.close()


def test_every_migration_applies_and_reopening_applies_nothing(workspace_location):
    with Workspace(workspace_location, create=True) as w:
        assert w.schema_version == [m.name for m in migrations._migrations]
        note(w)
    with Workspace(workspace_location) as w:
        assert w.schema_version == [m.name for m in migrations._migrations]
        assert w._scalar("SELECT COUNT(*) FROM events") == 1


def test_a_store_without_the_schema_is_not_a_workspace(workspace_location):
    with pytest.raises(UserError, match="not a workspace"):
        Workspace(workspace_location)


def test_rulings_and_events_are_append_only_in_the_database_itself(ws):
    note(ws)
    with ws.transaction():
        fid = ws._insert("INSERT INTO filings (name, kind, jurisdiction, ruleset_id, ruleset_version, ruleset_json, "
                         "created_at, created_by) VALUES ('F', 'initiative', 'X', 'r', '1', '{}', 'now', 'ann') "
                         "RETURNING id")
        sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, 1) RETURNING id", (fid,))
        lid = ws._insert("INSERT INTO lines (filing_id, section_id, label, seq, number, state) "
                         "VALUES (?, ?, 'S001-P01-L01', 1001001, 1, 'signed') RETURNING id", (fid, sid))
        ws._insert("INSERT INTO rulings (line_id, user, role, kind, action, shown_json, created_at) "
                   "VALUES (?, 'ann', 'supervisor', 'review', 'accept', '{}', 'now') RETURNING id", (lid,))
    for sql in ("UPDATE rulings SET action = 'reject'", "DELETE FROM rulings",
                "UPDATE events SET user = 'mallory'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"):
            with ws.transaction():
                ws._exec(sql)
    assert ws._scalar("SELECT action FROM rulings") == "accept"
    assert ws.verify_chain().ok


def test_the_event_chain_detects_an_edit_made_behind_the_softwares_back(ws):
    for name in ("ann", "bob", "cy"):
        note(ws, name)
    assert ws.verify_chain().ok and ws.verify_chain().events == 3
    # The triggers refuse edits; someone with the rights to drop them can still
    # change a row, and the chain shows it.
    if ws.backend == "sqlite":
        ws._exec("DROP TRIGGER events_append_only_u")
    else:
        ws._exec("ALTER TABLE events DISABLE TRIGGER events_append_only_u")
    ws._exec("UPDATE events SET payload_json = ? WHERE id = (SELECT MIN(id) FROM events)", ('{"who":"mallory"}',))
    check = ws.verify_chain()
    assert not check.ok and check.first_bad_id == ws._scalar("SELECT MIN(id) FROM events")


def test_a_nested_failure_rolls_back_to_its_savepoint_only(ws):
    with ws.transaction():
        ws._exec("INSERT INTO users (name, role, created_at) VALUES ('ann', 'reviewer', 'now')")
        with pytest.raises(RuntimeError):
            with ws.transaction():
                ws._exec("INSERT INTO users (name, role, created_at) VALUES ('bob', 'reviewer', 'now')")
                raise RuntimeError("boom")
    assert [r["name"] for r in ws._rows("SELECT name FROM users ORDER BY name")] == ["ann"]


def test_files_round_trip_and_are_checked_by_sha256(ws, tmp_path):
    img = (np.arange(40 * 60) % 251).astype(np.uint8).reshape(40, 60)
    digest = ws.crops.put_image(img)
    assert np.array_equal(ws.crops.get_image(digest), img)
    key = ws.crops.put_bytes("documents/scan.pdf", b"%PDF-1.4 test")
    assert ws.crops.local_path(key).read_bytes() == b"%PDF-1.4 test"
    assert ws.crops.local_path(key).stat().st_mode & 0o077 == 0  # the owner's only
    if ws.backend == "postgresql":
        # Another workstation (an empty local cache) reads it from the server;
        # a file changed in the database is refused, not shown.
        ws.crops.local_path(key).unlink()
        ws._exec("UPDATE blobs SET data = ? WHERE key = ?", (b"%PDF-1.4 forged", key))
        with pytest.raises(UserError, match="SHA-256"):
            ws.crops.local_path(key)


def test_portable_statements_become_postgres_statements():
    assert to_postgres("SELECT r.user, 'a?%' FROM rulings r WHERE id = ? AND note LIKE '%x'") == (
        "SELECT r.\"user\", 'a?%%' FROM rulings r WHERE id = %s AND note LIKE '%%x'")
    ddl = postgres_ddl("CREATE TRIGGER t_u BEFORE UPDATE ON t\n BEGIN SELECT RAISE(ABORT, 'no'); END;")
    assert "RAISE EXCEPTION 'no'" in ddl and "FOR EACH ROW EXECUTE FUNCTION t_u_fn()" in ddl
