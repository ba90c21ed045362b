"""Consistent online backups of a workspace, and restoring one.

A backup is one tar file::

    manifest.json       what it is: backend, schema, event count, chain head,
                        SHA-256 of the database snapshot, when and by whom
    workspace.sqlite    (embedded) a snapshot by SQLite's online backup API
    database.dump       (server) ``pg_dump --format=custom`` of the database
    crops/ documents/ voterfiles/   (embedded) the content-addressed files

Both snapshots are consistent while people keep working: SQLite's backup
API copies one committed state, and ``pg_dump`` reads one snapshot. Files
are content-addressed and written before the rows that name them commit,
so every file a snapshot names is copied too (files added afterwards are
copied harmlessly). Restoring checks the snapshot's SHA-256 and the event
chain before it reports success.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from petitions.atomic import file_sha256
from petitions.errors import UserError
from petitions.store.workspace import DB_NAME, Workspace, now_utc

FORMAT = "sigverify-backup/1"
_FOLDERS = ("crops", "documents", "voterfiles")


@dataclass(frozen=True)
class BackupManifest:
    format: str
    backend: str
    created_at: str
    created_by: str | None
    schema: list[str]
    events: int
    chain_head: str | None
    snapshot_sha256: str
    files: int




def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if candidates:
        return str(candidates[-1])
    raise UserError(f"{name} not found: install the PostgreSQL client tools (Debian: postgresql-client)")


def _pg_env(ws: Workspace) -> tuple[list[str], dict]:
    info = ws._backend.conn.info
    env = {**os.environ}
    if info.password:
        env["PGPASSWORD"] = info.password
    args = ["--host", info.host, "--port", str(info.port), "--username", info.user, "--dbname", info.dbname]
    return args, env


def backup(ws: Workspace, out: str | os.PathLike, *, user: str | None = None) -> BackupManifest:
    """Write a consistent snapshot of `ws` to the tar file `out` (supervisors)."""
    from petitions.atomic import atomic_path

    ws.require_supervisor(user, "take a backup")
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="sigverify-backup-") as tmp:
        tmp_path = Path(tmp)
        if ws.backend == "sqlite":
            snap = tmp_path / DB_NAME
            dst = sqlite3.connect(str(snap))
            try:
                ws._backend.db.conn.backup(dst)  # one committed state, while others write
            finally:
                dst.close()
            check = sqlite3.connect(str(snap))
            try:
                events = check.execute("SELECT COUNT(*), (SELECT hash FROM events ORDER BY id DESC LIMIT 1) "
                                       "FROM events").fetchone()
                schema = [r[0] for r in check.execute(
                    "SELECT name FROM _sqlite_migrations ORDER BY rowid").fetchall()]
            finally:
                check.close()
            arcname = DB_NAME
        else:
            snap = tmp_path / "database.dump"
            args, env = _pg_env(ws)
            # One snapshot for the dump and for the manifest's counts: a
            # repeatable-read transaction exports it and pg_dump reads it.
            import psycopg

            info = ws._backend.conn.info
            with psycopg.connect(info.dsn, password=info.password, autocommit=False) as snap_conn:
                snap_conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                snapshot = snap_conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
                events = snap_conn.execute(
                    "SELECT COUNT(*), (SELECT hash FROM events ORDER BY id DESC LIMIT 1) FROM events").fetchone()
                r = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                                    "--file", str(snap), *args], capture_output=True, text=True, env=env)
                snap_conn.rollback()
            if r.returncode != 0:
                raise UserError(f"pg_dump failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
            schema = ws.schema_version
            arcname = "database.dump"
        files = []
        if ws.backend == "sqlite":
            for folder in _FOLDERS:
                base = ws.root / folder
                if base.exists():
                    files.extend(p for p in base.rglob("*") if p.is_file() and not p.name.endswith(".part"))
        manifest = BackupManifest(FORMAT, ws.backend, now_utc(), ws.acting_user(user), schema, int(events[0]),
                                  events[1], file_sha256(snap), len(files))
        with atomic_path(out) as target:
            with tarfile.open(target, "w") as tar:
                data = json.dumps(asdict(manifest), indent=2).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))
                tar.add(snap, arcname=arcname)
                for f in files:
                    tar.add(f, arcname=str(f.relative_to(ws.root)))
        os.chmod(out, 0o600)
    with ws.transaction():
        ws.log_event("backup_taken", user=ws.acting_user(user) or "unknown",
                     payload={"file": str(out), "events": manifest.events, "chain_head": manifest.chain_head,
                              "snapshot_sha256": manifest.snapshot_sha256})
    return manifest


def read_manifest(archive: str | os.PathLike) -> BackupManifest:
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r") as tar:
            member = tar.extractfile("manifest.json")
            data = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as exc:
        raise UserError(f"not a workbench backup ({exc})", where=str(archive)) from None
    if not data or data.get("format") != FORMAT:
        raise UserError("not a workbench backup (no manifest of this format)", where=str(archive))
    return BackupManifest(**data)


def restore(archive: str | os.PathLike, location: str | os.PathLike, *, password: str | None = None) -> BackupManifest:
    """Recreate a workspace from `archive` at `location`: a new folder, or
    the address of an empty database (created by the administrator)."""
    from petitions.store.backends import is_server_address

    archive = Path(archive)
    manifest = read_manifest(archive)
    server = is_server_address(location)
    if server != (manifest.backend == "postgresql"):
        raise UserError(f"this is a backup of a {manifest.backend} workspace; restore it to "
                        + ("a postgresql:// address" if manifest.backend == "postgresql" else "a folder"),
                        where=str(archive))
    with tarfile.open(archive, "r") as tar, tempfile.TemporaryDirectory(prefix="sigverify-restore-") as tmp:
        for m in tar.getmembers():
            if m.name.startswith(("/", "..")) or ".." in Path(m.name).parts or not (m.isfile() or m.isdir()):
                raise UserError(f"unsafe entry {m.name!r} in the backup", where=str(archive))
        if not server:
            target = Path(location)
            if target.exists() and any(target.iterdir()):
                raise UserError("restore into a new or empty folder; this one holds files", where=str(target))
            stage = Path(tmp) / "ws"
            tar.extractall(stage, filter="data")
            if file_sha256(stage / DB_NAME) != manifest.snapshot_sha256:
                raise UserError("the database snapshot does not match its SHA-256 (damaged backup)",
                                where=str(archive))
            (stage / "manifest.json").unlink()
            target.mkdir(parents=True, exist_ok=True)
            os.chmod(target, 0o700)
            for p in stage.iterdir():
                shutil.move(str(p), target / p.name)
        else:
            tar.extract("database.dump", tmp, filter="data")
            dump = Path(tmp) / "database.dump"
            if file_sha256(dump) != manifest.snapshot_sha256:
                raise UserError("the database dump does not match its SHA-256 (damaged backup)", where=str(archive))
            with Workspace(str(location), create=True, password=password) as ws:
                if ws._scalar("SELECT COUNT(*) FROM events"):
                    raise UserError("restore into an empty database; this one holds a workspace",
                                    where=ws.location)
                args, env = _pg_env(ws)
            _drop_schema_for_restore(str(location), password)
            r = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", *args, str(dump)],
                               capture_output=True, text=True, env=env)
            if r.returncode != 0:
                raise UserError(f"pg_restore failed: {r.stderr.strip().splitlines()[-1] if r.stderr else r.returncode}")
    with Workspace(location, password=password) as ws:
        check = ws.verify_chain()
        if not check.ok:
            raise UserError(f"the restored event log does not verify: event {check.first_bad_id}: {check.problem}")
        if check.events != manifest.events:
            raise UserError(f"the restored workspace holds {check.events} events; the backup recorded {manifest.events}")
    return manifest


def _drop_schema_for_restore(location: str, password: str | None) -> None:
    """pg_restore recreates every table: clear the empty schema laid out to check the database."""
    import psycopg

    kwargs = {"autocommit": True}
    if password is not None:
        kwargs["password"] = password
    with psycopg.connect(location, **kwargs) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
