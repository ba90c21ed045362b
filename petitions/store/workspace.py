"""The workspace: a store (SQLite file or PostgreSQL server) plus content-addressed files.

An embedded workspace is a folder::

    WORKSPACE/
        workspace.sqlite        the store (WAL, foreign keys on, migrations)
        crops/packs/<name>.pack each ingested document's crops in one append-only
                                file, indexed by the SHA-256 of each image's PNG bytes
        crops/ab/abcdef….png    images stored one at a time (exemplars), and the crops
                                of a workspace made before packs
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
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from petitions.atomic import file_sha256
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
    head: str | None = None          # the newest event's hash (an outside anchor)
    anchor_found: bool | None = None  # whether the chain passes through the anchor asked for


class CropStore:
    """Content-addressed files: images (crops, exemplars) by the SHA-256 of
    their PNG bytes, and whole files (stored scans, prepared voter files)
    under a key such as ``documents/<sha>.pdf``.

    Each ingested document's crops are one append-only pack
    (``crops/packs/<name>.pack``, written by :meth:`batch` at ingest), with
    an index table ``crop_index`` (SHA-256 → pack, byte, length). The
    embedded workspace keeps the pack as a file in its folder; a server
    workspace keeps it as one row of its ``blobs`` table, so that every
    workstation reaches it, and caches the packs it reads in a local
    folder. Images stored one at a time (exemplars), and the crops of a
    workspace made before packs, are loose: files ``crops/ab/<sha>.png``
    in a folder, one ``blobs`` row each on a server. Every image read is
    checked against the SHA-256 it is stored under.
    """

    def __init__(self, root: Path, *, db=None, index=None):
        self.root = Path(root)
        self._db = db  # a PostgresBackend, or None for files in the folder
        self._index = index  # the SQLite backend holding crop_index (folder workspaces)
        self._where: dict[str, tuple[str, int, int]] = {}
        self._handles: dict[str, Any] = {}

    # -- images ------------------------------------------------------------
    def path(self, digest: str) -> Path:
        """A local file holding the image `digest` (fetched first on a server,
        copied out of its pack in a folder)."""
        loc = self._locate(digest)
        if loc is not None:
            target = self.root.parent / self.image_key(digest)
            if not target.exists():
                _write_private(target, self.read_png(digest))
            return target
        return self.local_path(self.image_key(digest))

    @staticmethod
    def image_key(digest: str) -> str:
        return f"crops/{digest[:2]}/{digest}.png"

    def put_png(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.put_bytes(self.image_key(digest), data, digest=digest)
        return digest

    def put_image(self, image: np.ndarray) -> str:
        """Encode a (H, W) uint8 image losslessly as PNG and store it."""
        return self.put_png(encode_png(image))

    def get_image(self, digest: str) -> np.ndarray:
        import cv2

        data = self.read_png(digest)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise UserError(f"image {digest[:12]}… is not a readable PNG")
        return img

    def read_png(self, digest: str) -> bytes:
        """The PNG bytes of image `digest`, checked against it.

        Raises
        ------
        UserError
            The image is missing, or its bytes do not hash to `digest`
            (naming the pack file or the loose file).
        """
        loc = self._locate(digest)
        if loc is not None:
            pack, pos, size = loc
            try:
                data = self._read_at(pack, pos, size)
            except OSError as exc:
                raise UserError(f"image {digest[:12]}… cannot be read from its pack file {pack} ({exc})") from None
            if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                raise UserError(f"image {digest[:12]}… in pack file {pack} (byte {pos}) does not match its "
                                "SHA-256: altered")
            return data
        path = self.local_path(self.image_key(digest))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"image {digest[:12]}… is missing from the workspace ({path})") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise UserError(f"image {digest[:12]}… ({path}) does not match its SHA-256: altered")
        return data

    @property
    def _index_db(self):
        """The backend holding ``crop_index``: the workspace's SQLite file, or the server."""
        return self._index if self._index is not None else self._db

    def _locate(self, digest: str) -> tuple[str, int, int] | None:
        """(pack key, byte, length) of a packed image, or None (a loose file or blob)."""
        db = self._index_db
        if db is None:
            return None
        hit = self._where.get(digest)
        if hit is None:
            rows = db.rows("SELECT pack, pos, size FROM crop_index WHERE digest = ?", (digest,))
            if not rows:
                return None
            hit = self._where[digest] = (rows[0]["pack"], int(rows[0]["pos"]), int(rows[0]["size"]))
            if len(self._where) > 200_000:
                self._where.clear()
        return hit

    def _read_at(self, pack: str, pos: int, size: int) -> bytes:
        fh = self._handles.get(pack)
        if fh is None:
            if len(self._handles) > 16:
                self.close()
            # On a server the pack is fetched once into the local cache
            # (checked against its SHA-256); every image read from it is
            # checked against its own.
            fh = self._handles[pack] = open(self.local_path(pack), "rb")  # noqa: SIM115 - kept open, closed by close()
        fh.seek(pos)
        return fh.read(size)

    def close(self) -> None:
        """Close the pack files kept open for reading."""
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()

    def check_images(self, digests) -> tuple[int, list[str]]:
        """Re-hash every image of `digests` from where it is stored: (how many
        were checked, one problem line for each missing or altered one). Packs
        are read front to back, each once."""
        digests = list(digests)
        if self._db is not None:
            return self._check_server_images(digests)
        packed: dict[str, tuple[str, int, int]] = {}
        if self._index is not None:
            want = set(digests)
            for r in self._index.rows("SELECT digest, pack, pos, size FROM crop_index ORDER BY pack, pos"):
                if r["digest"] in want:
                    packed[r["digest"]] = (r["pack"], int(r["pos"]), int(r["size"]))
        problems: list[str] = []
        by_pack: dict[str, list[tuple[int, int, str]]] = {}
        for d, (pack, pos, size) in packed.items():
            by_pack.setdefault(pack, []).append((pos, size, d))
        for pack, entries in sorted(by_pack.items()):
            path = self.root.parent / pack
            try:
                with open(path, "rb") as fh:
                    for pos, size, d in sorted(entries):
                        fh.seek(pos)
                        data = fh.read(size)
                        if len(data) != size or hashlib.sha256(data).hexdigest() != d:
                            problems.append(f"image {d[:12]}… in pack file {pack} (byte {pos}) does not match its "
                                            "SHA-256: replaced or altered")
            except FileNotFoundError:
                problems.append(f"pack file {pack} is missing: {len(entries)} image(s) stored in it are gone")
        for d in digests:
            if d in packed:
                continue
            path = self.root.parent / self.image_key(d)
            if not path.exists():
                problems.append(f"image {d[:12]}… is missing from crops/")
            elif file_sha256(path) != d:
                problems.append(f"image {d[:12]}… does not match its SHA-256: replaced")
        return len(digests), problems

    def _check_server_images(self, digests: list[str]) -> tuple[int, list[str]]:
        """:meth:`check_images` on a server: each packed image re-hashed from
        its pack's bytes in the database (not from a local cache), every
        other one looked up among the blobs (whose own SHA-256 the caller
        checks)."""
        problems: list[str] = []
        packed: set[str] = set()
        for r in self._db.rows(
                "SELECT ci.digest, ci.pack, ci.pos, ci.size, b.key IS NULL AS gone, "
                "encode(sha256(substring(b.data FROM (ci.pos + 1)::int FOR ci.size::int)), 'hex') AS actual "
                "FROM crop_index ci LEFT JOIN blobs b ON b.key = ci.pack ORDER BY ci.pack, ci.pos"):
            packed.add(r["digest"])
            if r["gone"]:
                problems.append(f"image {r['digest'][:12]}… is missing: its pack {r['pack']} is not in the database")
            elif r["actual"] != r["digest"]:
                problems.append(f"image {r['digest'][:12]}… in pack {r['pack']} (byte {r['pos']}) does not match "
                                "its SHA-256: replaced or altered")
        rest = [d for d in digests if d not in packed]
        if rest:
            keys = {r["key"] for r in self._db.rows("SELECT key FROM blobs WHERE key LIKE 'crops/%'")}
            problems += [f"image {d[:12]}… is missing from the database" for d in rest if self.image_key(d) not in keys]
        return len(digests), problems

    def loose(self, digest: str) -> bool:
        """Whether image `digest` is a loose file in the folder, in no pack."""
        return self._db is None and self._locate(digest) is None and (
            self.root.parent / self.image_key(digest)).exists()

    def drop_loose(self, digest: str) -> bool:
        """Delete the loose file of image `digest` once a pack holds it and
        reads back right (after :func:`petitions.stages.ingest.pack_loose_crops`)."""
        if self._db is not None or self._locate(digest) is None:
            return False
        self.read_png(digest)  # the packed copy hashes right, or this raises
        path = self.root.parent / self.image_key(digest)
        if not path.exists():
            return False
        path.unlink()
        return True

    def batch(self, name: str | None = None) -> "CropBatch":
        """A batch of images stored together (one ingested document's crops):
        see :class:`CropBatch`."""
        return CropBatch(self, name)

    # -- whole files -------------------------------------------------------
    def put_bytes(self, key: str, data: bytes, *, digest: str | None = None) -> str:
        """Store `data` under `key` (written once; the key names its content)."""
        digest = digest or hashlib.sha256(data).hexdigest()
        if self._db is not None:
            self._db.execute("INSERT INTO blobs (key, sha256, size, data) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (key) DO NOTHING", (key, digest, len(data), data))
            return key
        target = self.root.parent / key
        if not target.exists():
            _write_private(target, data)
        return key

    def put_file(self, key: str, source: str | os.PathLike) -> str:
        return self.put_bytes(key, Path(source).read_bytes())

    def local_path(self, key: str) -> Path:
        """A local file with the content stored under `key`."""
        target = self.root.parent / key
        if self._db is None or target.exists():
            return target
        row = self._db.rows("SELECT sha256, data FROM blobs WHERE key = ?", (key,))
        if not row:
            raise UserError(f"the workspace server holds no file {key!r}")
        data = bytes(row[0]["data"])
        if hashlib.sha256(data).hexdigest() != row[0]["sha256"]:
            raise UserError(f"stored file {key!r} does not match its SHA-256 (altered in the database)")
        _write_private(target, data)
        return target


#: Each entry of a pack file: this tag, the image's SHA-256 (32 bytes) and
#: its length (4 bytes, big-endian), then the PNG bytes. The index points at
#: the PNG bytes; the headers let a pack be read (and its index rebuilt)
#: without the database.
PACK_TAG = b"SVCP"


class CropBatch:
    """Images stored together, and recorded in the same transaction as the
    rows that name them.

    In a folder workspace the images are appended to one new pack file
    (``crops/packs/<name>.pack``) as they come; :meth:`record`, called
    inside the caller's transaction, flushes the pack to disk and adds the
    index rows. On a server the pack is built in memory and :meth:`record`
    writes it as one ``blobs`` row, with the index rows, in the caller's
    transaction.

    A batch left without :meth:`record` (an error, a cancel, a document
    found already ingested) deletes its pack. A process killed mid-ingest
    leaves at most a pack no row names (harmless); a row never names bytes
    not yet on disk::

        with ws.crops.batch() as crops:
            digest = crops.put_png(png)
            with ws.transaction():
                ...  # rows naming `digest`
                crops.record()
    """

    def __init__(self, store: CropStore, name: str | None = None):
        self.store = store
        self.name = name or f"{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%S}-{os.urandom(6).hex()}"
        self.key = f"crops/packs/{self.name}.pack"
        self._rows: list[tuple] = []
        self._seen: set[str] = set()
        self._fh = None
        self._buf = bytearray()  # the pack, on a server (written whole by record())
        self._pos = 0
        self.recorded = False

    def __enter__(self) -> "CropBatch":
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if not self.recorded:
            self.discard()

    @property
    def count(self) -> int:
        """Images in the batch (each distinct image once)."""
        return len(self._rows)

    def put_image(self, image: np.ndarray) -> str:
        return self.put_png(encode_png(image))

    def put_png(self, data: bytes) -> str:
        """Add PNG bytes; their SHA-256 (the image's name)."""
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._seen:
            return digest
        self._seen.add(digest)
        head = PACK_TAG + bytes.fromhex(digest) + len(data).to_bytes(4, "big")
        if self.store._db is not None:
            self._buf += head
            self._buf += data
        else:
            if self._fh is None:
                path = self.store.root.parent / self.key
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                self._fh = os.fdopen(fd, "wb")
            self._fh.write(head)
            self._fh.write(data)
        pos = self._pos + len(head)
        self._pos = pos + len(data)
        self._rows.append((digest, self.key, pos, len(data)))
        return digest

    def record(self) -> None:
        """Make the batch's images part of the store, in the caller's
        transaction (call inside it): the pack is on disk before any row
        names it."""
        if self.store._db is not None:
            if self._rows:
                pack = bytes(self._buf)
                self.store._db.execute("INSERT INTO blobs (key, sha256, size, data) VALUES (?, ?, ?, ?)",
                                       (self.key, hashlib.sha256(pack).hexdigest(), len(pack), pack))
                self.store._db.many("INSERT INTO crop_index (digest, pack, pos, size) VALUES (?, ?, ?, ?) "
                                    "ON CONFLICT (digest) DO NOTHING", self._rows)
            self.recorded = True
            return
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        if self._rows:
            # An image already stored (elsewhere) keeps its place; the copy
            # here is never read.
            self.store._index.many("INSERT INTO crop_index (digest, pack, pos, size) VALUES (?, ?, ?, ?) "
                                   "ON CONFLICT (digest) DO NOTHING", self._rows)
        self.recorded = True

    def discard(self) -> None:
        """Delete the pack (nothing names it)."""
        if self.store._db is None:
            with contextlib.suppress(FileNotFoundError):
                (self.store.root.parent / self.key).unlink()
        self._buf = bytearray()
        self._rows.clear()
        self._seen.clear()


def encode_png(image: np.ndarray) -> bytes:
    """(H, W) uint8 image as PNG bytes (OpenCV's default, fast compression)."""
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV fails only on invalid arrays
        raise ValueError("could not encode image as PNG")
    return buf.tobytes()


def _write_private(target: Path, data: bytes) -> None:
    """Write atomically, readable by the owner only."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


def _cache_folder(address: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sigverify"
    return base / hashlib.sha256(address.encode()).hexdigest()[:16]


class Workspace:
    """An open workspace. Not thread-safe: open one per thread.

    Parameters
    ----------
    location : path-like or str
        The workspace folder (embedded SQLite store), or a server address
        ``postgresql://host[:port]/dbname`` (PostgreSQL; the person signs in
        as their own database login).
    create : bool
        Create the folder and an empty store if missing (on a server: lay
        the schema out in an empty database).
    password : str, optional
        The server login's password, when the address and the usual
        client files (``~/.pgpass``, ``PGPASSWORD``) do not give it.
    """

    def __init__(self, location: str | os.PathLike, *, create: bool = False, password: str | None = None):
        from petitions.store.backends import PostgresBackend, SqliteBackend, is_server_address

        if is_server_address(location):
            backend = PostgresBackend(str(location), password=password)
            self.location = backend.address
            self.root = _cache_folder(backend.address)
            self.root.mkdir(parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)
            if not create and not backend.applied(migrations):
                backend.close()
                raise UserError("not a workspace (the database holds no workbench schema); "
                                "lay it out with `petitions init -w ADDRESS`", where=self.location)
            self._backend = backend
            self.crops = CropStore(self.root / "crops", db=backend)
        else:
            self.root = Path(location)
            self.location = str(self.root)
            db_path = self.root / DB_NAME
            if not db_path.exists():
                if not create:
                    raise UserError(
                        "not a workspace (no workspace.sqlite inside); create one with `petitions demo` "
                        "or `petitions init -w DIR`",
                        where=str(self.root),
                    )
                self.root.mkdir(parents=True, exist_ok=True)
                # Names and addresses of signers: readable by the owner only
                # (SQLite gives its -wal and -shm files the same mode).
                db_path.touch(mode=0o600)
            self._backend = SqliteBackend(db_path)
            self.db_path = db_path
            self.crops = CropStore(self.root / "crops", index=self._backend)
        self._backend.migrate(migrations)
        #: Per-connection memo for derived reads (e.g. line status), each
        #: keyed on a change stamp it checks before reuse.
        self.memo: dict = {}

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._backend.name

    @property
    def _db(self):
        """The SQLite database itself: for tests that go behind the software's back."""
        return self._backend.db

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        self.crops.close()
        self._backend.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> list[str]:
        return self._backend.applied(migrations)

    # -- transactions ----------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator["Workspace"]:
        """One atomic unit of work; nested calls become savepoints.

        On SQLite the outermost transaction takes the write lock at once
        (BEGIN IMMEDIATE); on the server, appending an event takes the
        chain's lock. Either way the event chain cannot fork.
        """
        with self._backend.transaction():
            yield self

    def _lock(self, key: int, space: int = 0) -> None:
        """Serialise writers on `key` (within `space`) until the transaction ends."""
        self._backend.lock(key, space)

    # -- SQL, for the modules of this package only -----------------------
    # Statements use ``?`` placeholders and portable SQL (``RETURNING id``,
    # no SQLite-only functions); the server backend rewrites them
    # (petitions.store.backends.to_postgres).
    def _rows(self, sql: str, params: Any = ()) -> list[dict]:
        return self._backend.rows(sql, params)

    def _tuples(self, sql: str, params: Any = ()) -> tuple[list[str], list[tuple]]:
        """The column names and the rows as plain tuples: for reads of many
        rows that go straight into a frame (no dict per row)."""
        return self._backend.tuples(sql, params)

    def _one(self, sql: str, params: Any = ()) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Any = ()) -> Any:
        return self._backend.scalar(sql, params)

    def _exec(self, sql: str, params: Any = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return self._backend.execute(sql, params)

    def _insert(self, sql: str, params: Any = ()) -> int:
        """Run an ``INSERT … RETURNING id``; the new row's id."""
        if "RETURNING" not in sql.upper():
            raise ValueError("an insert whose id is wanted must say RETURNING id")
        return self._backend.insert(sql, params)

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._backend.many(sql, rows)

    def _rows_in(self, sql: str, ids: Sequence[Any], params: Sequence[Any] = (), *, chunk: int = 500) -> list[dict]:
        """Rows of `sql` whose ``{ids}`` placeholder is filled with `ids` (after
        `params`), queried in chunks below SQLite's parameter limit."""
        ids = list(ids)
        out: list[dict] = []
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            out.extend(self._rows(sql.format(ids=",".join("?" * len(part))), [*params, *part]))
        return out

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
        if not self._backend.in_transaction:
            raise RuntimeError("log_event must run inside the transaction of the change it records")
        self._backend.lock_chain()
        prev = self._scalar("SELECT hash FROM events ORDER BY id DESC LIMIT 1")
        prev_hash = prev if prev else GENESIS_HASH
        ts = now_utc()
        payload_json = canonical_json(payload or {})
        digest = event_hash(prev_hash, ts, user, kind, filing_id, line_id, payload_json)
        return self._insert(
            "INSERT INTO events (ts, user, kind, filing_id, line_id, payload_json, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (ts, user, kind, filing_id, line_id, payload_json, prev_hash, digest),
        )

    def verify_chain(self, *, anchor: str | None = None) -> ChainCheck:
        """Recompute every event's hash; report the first that does not fit.

        `anchor`: a chain head printed earlier (on a certificate, a report or
        a backup). A chain re-hashed from some event on verifies again, but no
        longer passes through the anchor.
        """
        prev_hash = GENESIS_HASH
        found = anchor is None
        n = 0
        for row in self._rows(
            "SELECT id, ts, user, kind, filing_id, line_id, payload_json, prev_hash, hash FROM events ORDER BY id"
        ):
            n += 1
            eid, ts, user, kind, filing_id, line_id, payload_json, stored_prev, stored_hash = row.values()
            if stored_prev != prev_hash:
                return ChainCheck(False, n, eid, "prev_hash does not match the previous event's hash")
            if event_hash(prev_hash, ts, user, kind, filing_id, line_id, payload_json) != stored_hash:
                return ChainCheck(False, n, eid, "event content does not match its hash (altered)")
            prev_hash = stored_hash
            found = found or stored_hash == anchor
        head = prev_hash if n else None
        if not found:
            return ChainCheck(False, n, None, f"the chain no longer passes through the anchor {anchor[:16]}…: "
                              "events were re-hashed or removed", head, False)
        return ChainCheck(True, n, head=head, anchor_found=None if anchor is None else True)

    # -- users -----------------------------------------------------------
    @property
    def login(self) -> str | None:
        """On a server, the authenticated database login; None on SQLite
        (where who someone is rests on the folder's file permissions)."""
        return self._backend.login if self.backend == "postgresql" else None

    def acting_user(self, claimed: str | None) -> str | None:
        """Who is acting. On a server it is always the signed-in login: a
        different name claimed on the command line is refused."""
        login = self.login
        if login is None:
            return claimed
        if claimed and claimed != login:
            raise UserError(f"you are signed in to the workspace server as {login}; you cannot act as {claimed}")
        return login

    def ensure_user(self, name: str, role: str = "reviewer", *, by: str | None = None,
                    password: str | None = None) -> dict:
        """Add person `name` with `role` (if new); `by` is who adds them (the
        event's actor; the person themself when a workspace is first made).

        On a server, people are database logins in a group role, and only
        a login allowed to create roles (the office's database
        administrator) may add one.
        """
        known = self.user_role(name)
        if known:
            return {"name": name, "role": known}
        if self.backend == "postgresql":
            from petitions.store.server import ROLES, add_login

            if role not in ROLES:
                raise UserError(f"unknown role {role!r}; use {', '.join(ROLES)}")
            try:
                with self.transaction():
                    add_login(self._backend, name, role, password)
                    self.log_event("user_added", user=self.login, payload={"name": name, "role": role})
            except Exception as exc:  # noqa: BLE001 - the server's refusal, said plainly
                if type(exc).__name__ == "InsufficientPrivilege":
                    raise UserError(f"{self.login} may not add people; the database administrator adds logins") \
                        from None
                raise
            return {"name": name, "role": role}
        if role not in ("reviewer", "supervisor"):
            raise UserError(f"unknown role {role!r}; use reviewer or supervisor")
        with self.transaction():
            self._exec("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)", (name, role, now_utc()))
            self.log_event("user_added", user=by or name, payload={"name": name, "role": role})
        return {"name": name, "role": role}

    def user_role(self, name: str) -> str | None:
        if self.backend == "postgresql":
            from petitions.store.server import role_of

            return role_of(self._backend, name)
        return self._scalar("SELECT role FROM users WHERE name = ?", (name,))

    def require_supervisor(self, user: str, what: str) -> None:
        """Refuse `what` unless `user` is a supervisor of this workspace (on a
        server: unless the signed-in login is; the database refuses too)."""
        user = self.acting_user(user) or user
        role = self.user_role(user)
        if role is None:
            raise UserError(f"unknown user {user!r}; add them to the workspace first")
        if role != "supervisor":
            raise UserError(f"{user} is a {role}; only a supervisor may {what}")

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
            self._exec("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now_utc(), run_id))
            row = self._one("SELECT stage, filing_id FROM runs WHERE id = ?", (run_id,))
            self.log_event(f"{row['stage']}_{status}", user=user, filing_id=row["filing_id"],
                           payload={"run_id": run_id, **(summary or {})})
