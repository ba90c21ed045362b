"""The workspace store: one SQLite file plus content-addressed image crops.

A workspace is a folder::

    WORKSPACE/
        workspace.sqlite        the store (WAL, foreign keys on, migrations)
        crops/ab/abcdef….png    images addressed by the SHA-256 of their bytes
        documents/<sha>.pdf     each ingested scan, kept bit for bit
        voterfiles/<sha>.parquet  prepared copies of imported voter files

Everything that writes goes through :class:`Workspace` so that a shared
server database can later take the SQLite file's place. Every change that
matters is recorded as an :func:`event <Workspace.log_event>` in the same
transaction as the change; events form a hash chain (each carries the hash of
the previous one) that :meth:`Workspace.verify_chain` checks. Rulings and
events are append-only: triggers refuse UPDATE and DELETE on them.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import sqlite_utils

from petitions.errors import UserError

DB_NAME = "workspace.sqlite"
GENESIS_HASH = "0" * 64

migrations = sqlite_utils.Migrations("sigverify-workbench")


@migrations(name="0001_initial")
def _m0001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'supervisor')),
            created_at TEXT NOT NULL
        );
        CREATE TABLE voter_files (
            id INTEGER PRIMARY KEY,
            source_path TEXT NOT NULL,
            source_sha256 TEXT NOT NULL,
            parquet_path TEXT NOT NULL,
            rows INTEGER NOT NULL,
            mapping_json TEXT,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE exemplars (
            id INTEGER PRIMARY KEY,
            voter_id TEXT NOT NULL,
            image_hash TEXT NOT NULL,
            captured_date TEXT,
            source TEXT,
            imported_at TEXT NOT NULL,
            UNIQUE (voter_id, image_hash)
        );
        CREATE INDEX exemplars_voter ON exemplars (voter_id);
        CREATE TABLE filings (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            jurisdiction TEXT NOT NULL,
            district TEXT,
            required INTEGER,
            filing_date TEXT,
            circulation_start TEXT,
            circulation_end TEXT,
            ruleset_id TEXT NOT NULL,
            ruleset_version TEXT NOT NULL,
            ruleset_json TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            path TEXT NOT NULL,
            stored_path TEXT,
            sha256 TEXT NOT NULL,
            pages INTEGER NOT NULL DEFAULT 0,
            errors_json TEXT NOT NULL DEFAULT '[]',
            ingested_at TEXT NOT NULL,
            UNIQUE (filing_id, sha256)
        );
        CREATE TABLE sections (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            number INTEGER NOT NULL,
            circulator_name TEXT,
            circulator_address TEXT,
            circulated_from TEXT,
            circulated_to TEXT,
            declaration_ok INTEGER,
            document_id INTEGER REFERENCES documents (id),
            UNIQUE (filing_id, number)
        );
        CREATE TABLE pages (
            id INTEGER PRIMARY KEY,
            section_id INTEGER NOT NULL REFERENCES sections (id),
            number INTEGER NOT NULL,
            document_id INTEGER REFERENCES documents (id),
            document_page INTEGER,
            width INTEGER,
            height INTEGER,
            dpi REAL,
            skew_deg REAL,
            rotation INTEGER,
            image_hash TEXT,
            segmentation_json TEXT,
            fields_json TEXT NOT NULL DEFAULT '{}',
            UNIQUE (section_id, number)
        );
        CREATE TABLE lines (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            section_id INTEGER NOT NULL REFERENCES sections (id),
            page_id INTEGER REFERENCES pages (id),
            label TEXT NOT NULL,
            seq INTEGER NOT NULL,
            number INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('signed', 'blank', 'struck')),
            signature_box TEXT,
            name_box TEXT,
            address_box TEXT,
            signature_hash TEXT,
            name_hash TEXT,
            address_hash TEXT,
            signature_ink REAL,
            UNIQUE (filing_id, label),
            UNIQUE (filing_id, seq)
        );
        CREATE TABLE keyed_entries (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES lines (id),
            name TEXT,
            address TEXT,
            city TEXT,
            zip TEXT,
            date_signed TEXT,
            source TEXT NOT NULL,
            keyed_by TEXT NOT NULL,
            keyed_at TEXT NOT NULL
        );
        CREATE INDEX keyed_entries_line ON keyed_entries (line_id);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER REFERENCES filings (id),
            stage TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed')),
            params_json TEXT NOT NULL DEFAULT '{}',
            model_json TEXT,
            model_version TEXT,
            voter_file_id INTEGER REFERENCES voter_files (id)
        );
        CREATE TABLE matches (
            line_id INTEGER NOT NULL REFERENCES lines (id),
            run_id INTEGER NOT NULL REFERENCES runs (id),
            voter_file_id INTEGER NOT NULL REFERENCES voter_files (id),
            voter_id TEXT,
            score REAL,
            status TEXT NOT NULL CHECK (status IN ('match', 'review', 'no_match')),
            reason TEXT,
            name_level TEXT,
            address_level TEXT,
            candidates_json TEXT NOT NULL DEFAULT '[]',
            details_json TEXT NOT NULL DEFAULT '{}',
            model_version TEXT NOT NULL,
            PRIMARY KEY (line_id, run_id)
        );
        CREATE TABLE signature_scores (
            line_id INTEGER NOT NULL REFERENCES lines (id),
            run_id INTEGER NOT NULL REFERENCES runs (id),
            voter_id TEXT,
            score REAL,
            decision TEXT NOT NULL CHECK (decision IN ('consistent', 'review')),
            reason TEXT,
            family_json TEXT NOT NULL DEFAULT '{}',
            n_exemplars INTEGER NOT NULL,
            best_exemplar_hash TEXT,
            model_version TEXT NOT NULL,
            PRIMARY KEY (line_id, run_id)
        );
        CREATE TABLE determinations (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES lines (id),
            run_id INTEGER REFERENCES runs (id),
            determination TEXT NOT NULL CHECK (determination IN ('valid', 'needs_review', 'invalid')),
            level TEXT,
            reasons_json TEXT NOT NULL,
            inputs_json TEXT NOT NULL,
            ruleset_id TEXT NOT NULL,
            ruleset_version TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX determinations_line ON determinations (line_id, id);
        CREATE TABLE rulings (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES lines (id),
            user TEXT NOT NULL,
            role TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('review', 'second_opinion', 'escalation', 'audit')),
            action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'escalate', 'reopen')),
            reason_code TEXT,
            note TEXT,
            shown_json TEXT NOT NULL,
            supersedes INTEGER REFERENCES rulings (id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX rulings_line ON rulings (line_id, id);
        CREATE TRIGGER rulings_append_only_u BEFORE UPDATE ON rulings
            BEGIN SELECT RAISE(ABORT, 'rulings are append-only: record a new ruling instead'); END;
        CREATE TRIGGER rulings_append_only_d BEFORE DELETE ON rulings
            BEGIN SELECT RAISE(ABORT, 'rulings are append-only: record a new ruling instead'); END;
        CREATE TABLE samples (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            purpose TEXT NOT NULL CHECK (purpose IN ('count', 'qa')),
            round INTEGER NOT NULL,
            seed TEXT NOT NULL,
            frame_hash TEXT NOT NULL,
            frame_size INTEGER NOT NULL,
            size INTEGER NOT NULL,
            params_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE sample_items (
            sample_id INTEGER NOT NULL REFERENCES samples (id),
            line_id INTEGER NOT NULL REFERENCES lines (id),
            rank INTEGER NOT NULL,
            ticket TEXT NOT NULL,
            PRIMARY KEY (sample_id, line_id)
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            user TEXT NOT NULL,
            kind TEXT NOT NULL,
            filing_id INTEGER,
            line_id INTEGER,
            payload_json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        );
        CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        CREATE TRIGGER events_append_only_d BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

        -- "Current" state: the newest row per line. Older rows stay as history.
        CREATE VIEW current_keyed AS
            SELECT k.* FROM keyed_entries k
            WHERE k.id = (SELECT MAX(id) FROM keyed_entries WHERE line_id = k.line_id);
        CREATE VIEW current_match AS
            SELECT m.* FROM matches m
            WHERE m.run_id = (SELECT MAX(run_id) FROM matches WHERE line_id = m.line_id);
        CREATE VIEW current_signature AS
            SELECT s.* FROM signature_scores s
            WHERE s.run_id = (SELECT MAX(run_id) FROM signature_scores WHERE line_id = s.line_id);
        CREATE VIEW current_determination AS
            SELECT d.* FROM determinations d
            WHERE d.id = (SELECT MAX(id) FROM determinations WHERE line_id = d.line_id);
        CREATE VIEW current_ruling AS
            SELECT r.* FROM rulings r
            WHERE r.id = (SELECT MAX(id) FROM rulings WHERE line_id = r.line_id AND kind != 'audit');
        """
    )


def now_utc() -> str:
    """ISO-8601 UTC timestamp with microseconds (sortable, unambiguous)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def canonical_json(obj: Any) -> str:
    """Stable JSON used for hashing and storage (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def event_hash(prev_hash: str, ts: str, user: str, kind: str, filing_id, line_id, payload_json: str) -> str:
    body = canonical_json([prev_hash, ts, user, kind, filing_id, line_id, payload_json])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_id: int | None = None
    problem: str | None = None


class CropStore:
    """Images addressed by the SHA-256 of their PNG bytes."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.png"

    def put_png(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        return digest

    def put_image(self, image: np.ndarray) -> str:
        """Encode a (H, W) uint8 image losslessly as PNG and store it."""
        import cv2

        ok, buf = cv2.imencode(".png", image)
        if not ok:  # pragma: no cover - OpenCV fails only on invalid arrays
            raise ValueError("could not encode image as PNG")
        return self.put_png(buf.tobytes())

    def get_image(self, digest: str) -> np.ndarray:
        from sigverify.imageio import read_image

        return read_image(self.path(digest))


class Workspace:
    """An open workspace folder. Not thread-safe: open one per thread.

    Parameters
    ----------
    root : path-like
        The workspace folder.
    create : bool
        Create the folder and an empty store if missing.
    """

    def __init__(self, root: str | os.PathLike, *, create: bool = False):
        self.root = Path(root)
        db_path = self.root / DB_NAME
        if not db_path.exists():
            if not create:
                raise UserError(
                    "not a workspace (no workspace.sqlite inside); create one with `petitions demo` "
                    "or `petitions workspace init`",
                    where=str(self.root),
                )
            self.root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(db_path), timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise UserError(f"the store is not a readable SQLite database ({exc})", where=str(db_path)) from None
        self.db = sqlite_utils.Database(conn)
        self.db_path = db_path
        self.crops = CropStore(self.root / "crops")
        migrations.apply(self.db)

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    # -- transactions ----------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator["Workspace"]:
        """One atomic unit of work; nested calls become savepoints.

        The outermost transaction takes the write lock at once (BEGIN
        IMMEDIATE) so the event chain cannot fork between two writers.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query(self, sql: str, params: Any = ()) -> list[dict]:
        return list(self.db.query(sql, params))

    def query_in(self, sql: str, ids: Sequence[Any], *, chunk: int = 500) -> list[dict]:
        """Rows of `sql` whose ``{ids}`` placeholder is filled with `ids`,
        queried in chunks below SQLite's parameter limit."""
        ids = list(ids)
        out: list[dict] = []
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            out.extend(self.db.query(sql.format(ids=",".join("?" * len(part))), part))
        return out

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- event log -------------------------------------------------------
    def log_event(
        self,
        kind: str,
        *,
        user: str,
        payload: dict | None = None,
        filing_id: int | None = None,
        line_id: int | None = None,
    ) -> int:
        """Append an event to the hash chain. Call inside :meth:`transaction`."""
        if not self.db.conn.in_transaction:
            raise RuntimeError("log_event must run inside the transaction of the change it records")
        prev = self.db.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        prev_hash = prev[0] if prev else GENESIS_HASH
        ts = now_utc()
        payload_json = canonical_json(payload or {})
        digest = event_hash(prev_hash, ts, user, kind, filing_id, line_id, payload_json)
        cur = self.db.execute(
            "INSERT INTO events (ts, user, kind, filing_id, line_id, payload_json, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ts, user, kind, filing_id, line_id, payload_json, prev_hash, digest),
        )
        return int(cur.lastrowid)

    def verify_chain(self) -> ChainCheck:
        """Recompute every event's hash; report the first that does not fit."""
        prev_hash = GENESIS_HASH
        n = 0
        for row in self.db.execute(
            "SELECT id, ts, user, kind, filing_id, line_id, payload_json, prev_hash, hash FROM events ORDER BY id"
        ):
            n += 1
            eid, ts, user, kind, filing_id, line_id, payload_json, stored_prev, stored_hash = row
            if stored_prev != prev_hash:
                return ChainCheck(False, n, eid, "prev_hash does not match the previous event's hash")
            if event_hash(prev_hash, ts, user, kind, filing_id, line_id, payload_json) != stored_hash:
                return ChainCheck(False, n, eid, "event content does not match its hash (altered)")
            prev_hash = stored_hash
        return ChainCheck(True, n)

    # -- users -----------------------------------------------------------
    def ensure_user(self, name: str, role: str = "reviewer") -> dict:
        row = self.db.execute("SELECT name, role FROM users WHERE name = ?", (name,)).fetchone()
        if row:
            return {"name": row[0], "role": row[1]}
        if role not in ("reviewer", "supervisor"):
            raise UserError(f"unknown role {role!r}; use reviewer or supervisor")
        with self.transaction():
            self.db.execute("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)", (name, role, now_utc()))
            self.log_event("user_added", user=name, payload={"role": role})
        return {"name": name, "role": role}

    def user_role(self, name: str) -> str | None:
        return self.scalar("SELECT role FROM users WHERE name = ?", (name,))

    def require_supervisor(self, user: str, what: str) -> None:
        """Refuse `what` unless `user` is a supervisor of this workspace."""
        role = self.user_role(user)
        if role is None:
            raise UserError(f"unknown user {user!r}; add them to the workspace first")
        if role != "supervisor":
            raise UserError(f"{user} is a reviewer; only a supervisor may {what}")

    # -- runs ------------------------------------------------------------
    def start_run(self, stage: str, *, filing_id: int | None, user: str, params: dict | None = None,
                  model_json: str | None = None, model_version: str | None = None,
                  voter_file_id: int | None = None) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO runs (filing_id, stage, started_at, status, params_json, model_json, model_version, voter_file_id) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (filing_id, stage, now_utc(), canonical_json(params or {}), model_json, model_version, voter_file_id),
            )
            run_id = int(cur.lastrowid)
            self.log_event(f"{stage}_started", user=user, filing_id=filing_id,
                           payload={"run_id": run_id, "params": params or {}, "model_version": model_version})
        return run_id

    def finish_run(self, run_id: int, *, status: str, user: str, summary: dict | None = None) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now_utc(), run_id))
            row = self.db.execute("SELECT stage, filing_id FROM runs WHERE id = ?", (run_id,)).fetchone()
            self.log_event(f"{row[0]}_{status}", user=user, filing_id=row[1],
                           payload={"run_id": run_id, **(summary or {})})
