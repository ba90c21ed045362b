"""Tampering is seen: every attack from issue 17's list, made behind the
software's back on a copy of a real workspace, makes `petitions verify-log`
fail (and an untouched copy passes)."""
from __future__ import annotations

import shutil
import sqlite3

import pytest

from petitions.cli import main
from petitions.demo import REVIEWER, run_demo
from petitions.rulings import record_ruling
from petitions.stages.decide import run_triage
from petitions.status import line_status
from petitions.store import Workspace


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("tamper") / "ws"
    run_demo(root, signatures=30, seed=11, log=lambda m: None)
    with Workspace(root) as ws:
        fid = ws._scalar("SELECT id FROM filings")
        # a fresh triage commit, sealed (the demo's own may be sealed too)
        with ws.transaction():
            ws._exec("UPDATE filings SET required = required")  # no change: triage stays idempotent
        run_triage(ws, fid, user="demo-supervisor")
        waiting = line_status(ws, fid).filter(line_status(ws, fid)["status"] == "needs_review")["line_db_id"]
        for lid in waiting.to_list()[:3]:
            record_ruling(ws, lid, user=REVIEWER, action="accept", kind="review", shown={})
        head = ws.verify_chain().head
    return root, head


@pytest.fixture
def copy(base, tmp_path):
    root, head = base
    target = tmp_path / "ws"
    shutil.copytree(root, target)
    return target, head


def raw(root):
    conn = sqlite3.connect(root / "workspace.sqlite", isolation_level=None)
    for t in ("rulings_append_only_u", "rulings_append_only_d", "events_append_only_u", "events_append_only_d"):
        conn.execute(f"DROP TRIGGER IF EXISTS {t}")
    return conn


def verify(root, *extra) -> int:
    return main(["verify-log", "-w", str(root), *extra])


def test_an_untouched_workspace_verifies(copy, capsys):
    root, head = copy
    with Workspace(root) as ws:
        n = ws._scalar("SELECT COUNT(*) FROM rulings")
    assert n >= 3
    assert verify(root, "--anchor", head) == 0
    out = capsys.readouterr().out
    assert "state matches the log" in out and f"{n} rulings" in out


def test_a_ruling_flipped_is_seen(copy, capsys):
    root, _ = copy
    raw(root).execute("UPDATE rulings SET action = 'reject', reason_code = 'not_registered' "
                      "WHERE id = (SELECT MIN(id) FROM rulings)")
    assert verify(root) == 1
    assert "differs from its event" in capsys.readouterr().err


def test_a_ruling_inserted_is_seen(copy, capsys):
    root, _ = copy
    raw(root).execute("INSERT INTO rulings (line_id, user, role, kind, action, reason_code, shown_json, created_at) "
                      "SELECT line_id, 'mallory', 'supervisor', 'review', 'reject', 'not_registered', '{}', 'now' "
                      "FROM rulings LIMIT 1")
    assert verify(root) == 1
    assert "has no event" in capsys.readouterr().err


def test_the_last_ruling_deleted_with_its_event_is_seen_against_the_anchor(copy, capsys):
    root, head = copy
    conn = raw(root)
    conn.execute("DELETE FROM rulings WHERE id = (SELECT MAX(id) FROM rulings)")
    conn.execute("DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)")
    assert verify(root, "--anchor", head) == 1
    assert "no longer passes through the anchor" in capsys.readouterr().err


def test_a_determination_edited_is_seen(copy, capsys):
    root, _ = copy
    raw(root).execute("UPDATE determinations SET determination = 'valid', reasons_json = '[]' "
                      "WHERE id = (SELECT MAX(id) FROM determinations WHERE determination = 'needs_review')")
    assert verify(root) == 1
    assert "do not hash to what the event recorded" in capsys.readouterr().err


def test_an_event_edited_and_the_chain_rehashed_is_seen_against_the_anchor(copy, capsys):
    from petitions.store import event_hash

    root, head = copy
    conn = raw(root)
    rows = conn.execute("SELECT id, ts, user, kind, filing_id, line_id, payload_json FROM events ORDER BY id").fetchall()
    prev = "0" * 64
    for i, (eid, ts, user, kind, fid, lid, payload) in enumerate(rows):
        if i == 3:
            payload = payload[:-1] + ',"edited_by":"mallory"}'  # a changed event, all later ones re-hashed
        h = event_hash(prev, ts, user, kind, fid, lid, payload)
        conn.execute("UPDATE events SET payload_json = ?, prev_hash = ?, hash = ? WHERE id = ?", (payload, prev, h, eid))
        prev = h
    assert verify(root) == 0          # re-hashed from the middle: the chain alone verifies again
    assert verify(root, "--anchor", head) == 1
    assert "anchor" in capsys.readouterr().err


def test_a_sample_row_changed_is_seen(copy, capsys):
    root, _ = copy
    raw(root).execute("DELETE FROM sample_items WHERE rowid = (SELECT MIN(rowid) FROM sample_items)")
    assert verify(root) == 1
    assert "were drawn" in capsys.readouterr().err


def test_a_crop_or_a_stored_scan_replaced_on_disk_is_seen(copy, capsys):
    root, _ = copy
    crop = next((root / "crops").rglob("*.png"))
    crop.write_bytes(crop.read_bytes()[:-4] + b"\0\0\0\0")
    assert verify(root) == 1
    assert "does not match its SHA-256" in capsys.readouterr().err
    crop.unlink()
    scan = next((root / "documents").iterdir())
    scan.write_bytes(scan.read_bytes() + b"% changed\n")
    assert verify(root) == 1
    err = capsys.readouterr().err
    assert "stored scan" in err and "replaced" in err


def test_a_crop_altered_inside_its_pack_is_seen_and_named(copy, capsys):
    root, _ = copy
    conn = raw(root)
    # a signature crop a line names, in the pack its document's ingest wrote
    digest, pack, pos, size = conn.execute(
        "SELECT c.digest, c.pack, c.pos, c.size FROM crop_index c JOIN lines l ON l.signature_hash = c.digest "
        "ORDER BY c.pack, c.pos LIMIT 1").fetchone()
    path = root / pack
    data = bytearray(path.read_bytes())
    data[pos + size - 5] ^= 0x55  # one byte of the image, the rest of the pack untouched
    path.write_bytes(bytes(data))
    assert verify(root) == 1
    err = capsys.readouterr().err
    assert digest[:12] in err and pack in err and "does not match its SHA-256" in err


def test_a_crop_pack_deleted_is_seen(copy, capsys):
    root, _ = copy
    pack = next((root / "crops" / "packs").glob("*.pack"))
    pack.unlink()
    assert verify(root) == 1
    err = capsys.readouterr().err
    assert pack.name in err and "missing" in err


def test_a_file_changed_in_the_servers_database_is_seen(pg_admin):
    from pg_server import fresh_database

    from petitions.integrity import verify_state

    with Workspace(fresh_database(pg_admin), create=True) as ws:
        ws.crops.put_bytes("documents/scan.pdf", b"%PDF-1.4 scan")
        assert verify_state(ws).ok
        ws._exec("UPDATE blobs SET data = ? WHERE key = 'documents/scan.pdf'", (b"%PDF-1.4 forged",))
        check = verify_state(ws)
        assert not check.ok and "documents/scan.pdf" in check.problems[0]
