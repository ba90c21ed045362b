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
from petitions.store.schema import migrations

DB_NAME = "workspace.sqlite"
GENESIS_HASH = "0" * 64

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
                    "or `petitions init -w DIR`",
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

    # -- SQL, for the modules of this package only -----------------------
    # Statements use ``?`` placeholders and portable SQL (``RETURNING id``,
    # no SQLite-only functions); a second backend translates placeholders
    # here and keeps its own statements beside these where they must differ.
    def _rows(self, sql: str, params: Any = ()) -> list[dict]:
        return list(self.db.query(sql, params))

    def _one(self, sql: str, params: Any = ()) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _exec(self, sql: str, params: Any = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return self.db.execute(sql, params).rowcount

    def _insert(self, sql: str, params: Any = ()) -> int:
        """Run an ``INSERT … RETURNING id``; the new row's id."""
        if "RETURNING" not in sql.upper():
            raise ValueError("an insert whose id is wanted must say RETURNING id")
        return int(self.db.execute(sql, params).fetchone()[0])

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.db.conn.executemany(sql, rows)

    def _rows_in(self, sql: str, ids: Sequence[Any], params: Sequence[Any] = (), *, chunk: int = 500) -> list[dict]:
        """Rows of `sql` whose ``{ids}`` placeholder is filled with `ids` (after
        `params`), queried in chunks below SQLite's parameter limit."""
        ids = list(ids)
        out: list[dict] = []
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            out.extend(self.db.query(sql.format(ids=",".join("?" * len(part))), [*params, *part]))
        return out

    # Transitional: the public spellings below go once no module outside the
    # store calls them (issue 16).
    def query(self, sql: str, params: Any = ()) -> list[dict]:
        return self._rows(sql, params)

    def query_in(self, sql: str, ids: Sequence[Any], *, chunk: int = 500) -> list[dict]:
        return self._rows_in(sql, ids, chunk=chunk)

    def scalar(self, sql: str, params: Any = ()) -> Any:
        return self._scalar(sql, params)

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
        return self._insert(
            "INSERT INTO events (ts, user, kind, filing_id, line_id, payload_json, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (ts, user, kind, filing_id, line_id, payload_json, prev_hash, digest),
        )

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
            run_id = self._insert(
                "INSERT INTO runs (filing_id, stage, started_at, status, params_json, model_json, model_version, voter_file_id) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?) RETURNING id",
                (filing_id, stage, now_utc(), canonical_json(params or {}), model_json, model_version, voter_file_id),
            )
            self.log_event(f"{stage}_started", user=user, filing_id=filing_id,
                           payload={"run_id": run_id, "params": params or {}, "model_version": model_version})
        return run_id

    def finish_run(self, run_id: int, *, status: str, user: str, summary: dict | None = None) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now_utc(), run_id))
            row = self.db.execute("SELECT stage, filing_id FROM runs WHERE id = ?", (run_id,)).fetchone()
            self.log_event(f"{row[0]}_{status}", user=user, filing_id=row[1],
                           payload={"run_id": run_id, **(summary or {})})
