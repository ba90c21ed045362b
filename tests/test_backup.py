"""Backup while people work, and restore: on both backends, a snapshot taken
in the middle of a stream of rulings restores to a store whose event log
verifies and that holds every ruling committed before the snapshot."""
from __future__ import annotations

import tarfile
import threading
import time

import pytest

from petitions.cli import main
from petitions.errors import UserError
from petitions.store import Workspace, now_utc
from petitions.store.backup import backup, read_manifest, restore


def _filing(ws) -> int:
    with ws.transaction():
        fid = ws._insert("INSERT INTO filings (name, kind, jurisdiction, ruleset_id, ruleset_version, ruleset_json, "
                         "created_at, created_by) VALUES ('F', 'initiative', 'X', 'r', '1', '{}', ?, 'sup') "
                         "RETURNING id", (now_utc(),))
        sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, 1) RETURNING id", (fid,))
        return ws._insert("INSERT INTO lines (filing_id, section_id, label, seq, number, state) "
                          "VALUES (?, ?, 'S001-P01-L01', 1001001, 1, 'signed') RETURNING id", (fid, sid))


def _rule(ws, line: int, who: str, i: int) -> int:
    with ws.transaction():
        rid = ws._insert("INSERT INTO rulings (line_id, user, role, kind, action, note, shown_json, created_at) "
                         "VALUES (?, ?, 'supervisor', 'review', 'accept', ?, '{}', ?) RETURNING id",
                         (line, who, f"n{i}", now_utc()))
        ws.log_event("ruling_recorded", user=who, line_id=line, payload={"ruling_id": rid})
    return rid


def _other(workspace_location, tmp_path, pg_admin_or_none):
    if isinstance(workspace_location, str):
        from pg_server import fresh_database

        return fresh_database(pg_admin_or_none)
    return tmp_path / "restored"


def test_a_backup_mid_rulings_restores_every_ruling_committed_before_it(workspace_location, tmp_path, request):
    with Workspace(workspace_location, create=True) as ws:
        who = ws.login or "sup"
        if ws.login is None:
            ws.ensure_user("sup", "supervisor")
        line = _filing(ws)
        ws.crops.put_bytes("documents/scan.pdf", b"%PDF-1.4 scan")
        for i in range(20):
            _rule(ws, line, who, i)
    stop = threading.Event()
    written: list[tuple[int, float]] = []

    def reviewer():  # another workstation, its own connection
        with Workspace(workspace_location) as other:
            i = 100
            while not stop.is_set():
                written.append((_rule(other, line, who, i), time.monotonic()))
                i += 1

    t = threading.Thread(target=reviewer)
    t.start()
    try:
        time.sleep(0.3)
        with Workspace(workspace_location) as ws:
            began = time.monotonic()
            manifest = backup(ws, tmp_path / "b.tar", user=who)
    finally:
        stop.set()
        t.join()
    committed_before = [rid for rid, at in written if at < began]
    assert len(committed_before) > 0 and len(written) > len(committed_before)
    assert (tmp_path / "b.tar").stat().st_mode & 0o077 == 0
    assert read_manifest(tmp_path / "b.tar").snapshot_sha256 == manifest.snapshot_sha256

    pg = request.getfixturevalue("pg_admin") if isinstance(workspace_location, str) else None
    target = _other(workspace_location, tmp_path, pg)
    restore(tmp_path / "b.tar", target)
    with Workspace(target) as back:
        assert back.verify_chain().ok
        ids = {r["id"] for r in back._rows("SELECT id FROM rulings")}
        assert set(range(1, 21)) <= ids and set(committed_before) <= ids
        assert back._scalar("SELECT COUNT(*) FROM events") == manifest.events
        assert back.crops.local_path("documents/scan.pdf").read_bytes() == b"%PDF-1.4 scan"


def test_restore_refuses_a_damaged_or_foreign_file_and_a_folder_in_use(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        backup(ws, tmp_path / "b.tar", user="sup")
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    with pytest.raises(UserError, match="not a workbench backup"):
        restore(tmp_path / "junk.tar", tmp_path / "r1")
    with pytest.raises(UserError, match="new or empty folder"):
        restore(tmp_path / "b.tar", tmp_path / "ws")
    # a snapshot altered inside the archive
    with tarfile.open(tmp_path / "b.tar") as src, tarfile.open(tmp_path / "bad.tar", "w") as dst:
        for m in src.getmembers():
            f = src.extractfile(m)
            data = f.read() if f else b""
            if m.name == "workspace.sqlite":
                data = data[:-10] + b"x" * 10
            import io
            dst.addfile(m, io.BytesIO(data))
    with pytest.raises(UserError, match="SHA-256"):
        restore(tmp_path / "bad.tar", tmp_path / "r2")
    with pytest.raises(UserError, match="only a supervisor"):
        with Workspace(tmp_path / "ws") as ws:
            ws.ensure_user("rev", "reviewer", by="sup")
            backup(ws, tmp_path / "c.tar", user="rev")


def test_backup_and_restore_commands(tmp_path, capsys):
    with Workspace(tmp_path / "ws", create=True) as ws:
        ws.ensure_user("sup", "supervisor")
    assert main(["backup", "-w", str(tmp_path / "ws"), "--out", str(tmp_path / "b.tar"), "--user", "sup"]) == 0
    assert main(["restore", str(tmp_path / "b.tar"), "-w", str(tmp_path / "copy")]) == 0
    out = capsys.readouterr().out
    assert "backup" in out and "the event log verifies" in out
    assert main(["restore", str(tmp_path / "b.tar"), "-w", str(tmp_path / "copy")]) == 2
