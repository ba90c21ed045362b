"""The pipeline: the library calls behind the CLI, the demo and the GUI.

Each stage reads what it needs from the workspace, calls a core
(:mod:`matchers`, :mod:`sigverify`) on whole batches, and commits its results
together with an event in one transaction per batch. A killed run therefore
loses at most the batch in flight; running the stage again skips everything
already committed (see ``_pending_*`` helpers) and continues.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import polars as pl

from petitions.atomic import atomic_path
from petitions.errors import UserError
from petitions.store import Workspace, canonical_json, now_utc

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """A long job was cancelled; everything committed before stays."""


def _noop_progress(stage: str, done: int, total: int) -> None:
    return None


def _never() -> bool:
    return False


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_cancel(cancel: CancelFn) -> None:
    if cancel():
        raise Cancelled()


# ---------------------------------------------------------------------------
# Voter file and exemplars
# ---------------------------------------------------------------------------
@dataclass
class VoterFileImport:
    voter_file_id: int
    rows: int
    already_imported: bool


def import_voter_file(ws: Workspace, path: str | Path, *, user: str, mapping=None,
                      progress: ProgressFn = _noop_progress, cancel: CancelFn = _never) -> VoterFileImport:
    """Import a county voter file into the workspace's columnar copy.

    The prepared copy (normalised match keys added) is written to
    ``voterfiles/<sha256>.parquet`` and then made active in one transaction,
    so a re-import replaces the copy atomically; older copies stay so that
    earlier matches can still name the version they used.
    """
    import matchers

    ws.require_supervisor(user, "import a voter file")
    path = Path(path)
    if not path.exists():
        raise UserError("voter file not found", where=str(path))
    digest = file_sha256(path)
    existing = ws.db.execute(
        "SELECT id, rows FROM voter_files WHERE source_sha256 = ? ORDER BY id DESC LIMIT 1", (digest,)
    ).fetchone()
    if existing:
        with ws.transaction():
            ws.db.execute("UPDATE voter_files SET active = (id = ?)", (existing[0],))
            ws.log_event("voter_file_reactivated", user=user, payload={"voter_file_id": existing[0], "sha256": digest})
        return VoterFileImport(existing[0], existing[1], True)
    progress("voters", 0, 3)
    voters = matchers.read_voter_file(path, mapping=mapping)
    progress("voters", 1, 3)
    _check_cancel(cancel)
    prepared = matchers.prepare_voters(voters)
    progress("voters", 2, 3)
    _check_cancel(cancel)
    target = ws.root / "voterfiles" / f"{digest}.parquet"
    with atomic_path(target) as tmp:
        prepared.write_parquet(tmp)
    progress("voters", 3, 3)
    with ws.transaction():
        cur = ws.db.execute(
            "INSERT INTO voter_files (source_path, source_sha256, parquet_path, rows, mapping_json, imported_at, imported_by, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (str(path), digest, str(target.relative_to(ws.root)), prepared.height,
             json.dumps(mapping) if isinstance(mapping, dict) else (str(mapping) if mapping else None),
             now_utc(), user),
        )
        vf_id = int(cur.lastrowid)
        ws.db.execute("UPDATE voter_files SET active = (id = ?)", (vf_id,))
        ws.log_event("voter_file_imported", user=user,
                     payload={"voter_file_id": vf_id, "source": str(path), "sha256": digest, "rows": prepared.height})
    return VoterFileImport(vf_id, prepared.height, False)


def active_voter_file(ws: Workspace) -> tuple[int, pl.DataFrame]:
    import matchers

    row = ws.db.execute("SELECT id, parquet_path FROM voter_files WHERE active = 1").fetchone()
    if not row:
        raise UserError("no voter file imported yet; import one first (petitions voters import)", where=str(ws.root))
    # a copy prepared by an older version is brought up to date in memory
    return int(row[0]), matchers.ensure_prepared(pl.read_parquet(ws.root / row[1]))


@dataclass
class ExemplarImport:
    imported: int = 0
    skipped_existing: int = 0
    problems: list[str] = field(default_factory=list)


def import_exemplars(ws: Workspace, index_csv: str | Path, *, user: str,
                     progress: ProgressFn = _noop_progress, cancel: CancelFn = _never) -> ExemplarImport:
    """Import voters' signature exemplars from an index CSV.

    The CSV has ``voter_id,path,captured_date,source``; paths are relative to
    the CSV's folder. A bad image is reported with its row and skipped; the
    good ones are stored. Rows are committed together at the end, so a
    cancel (:class:`Cancelled`) leaves the store as it was.
    """
    from sigverify.imageio import read_image

    index_csv = Path(index_csv)
    table = _read_csv_strings(index_csv, required=("voter_id", "path"))
    report = ExemplarImport()
    rows = []
    total = table.height
    for i, rec in enumerate(table.iter_rows(named=True), start=2):
        if (i - 2) % 200 == 0:
            _check_cancel(cancel)  # nothing is committed until the end: a cancel keeps the store as it was
            progress("exemplars", i - 2, total)
        img_path = index_csv.parent / (rec["path"] or "")
        try:
            image = read_image(img_path)
        except Exception as exc:  # noqa: BLE001 - reported per row, batch carries on
            if not getattr(exc, "user_error", False):
                raise
            report.problems.append(f"{index_csv} row {i}: {exc}")
            continue
        digest = ws.crops.put_image(image)
        rows.append((rec["voter_id"], digest, rec.get("captured_date"), rec.get("source"), now_utc()))
    with ws.transaction():
        before = ws.scalar("SELECT COUNT(*) FROM exemplars")
        ws.db.conn.executemany(
            "INSERT OR IGNORE INTO exemplars (voter_id, image_hash, captured_date, source, imported_at) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        after = ws.scalar("SELECT COUNT(*) FROM exemplars")
        report.imported = after - before
        report.skipped_existing = len(rows) - report.imported
        ws.log_event("exemplars_imported", user=user,
                     payload={"source": str(index_csv), "imported": report.imported,
                              "skipped_existing": report.skipped_existing, "problems": len(report.problems)})
    return report


def _read_csv_strings(path: Path, *, required: Sequence[str]) -> pl.DataFrame:
    if not path.exists():
        raise UserError("file not found", where=str(path))
    if path.stat().st_size == 0:
        raise UserError("file is empty (0 bytes)", where=str(path))
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as exc:  # noqa: BLE001 - polars raises several types for bad CSV
        raise UserError(f"not a readable CSV ({exc.__class__.__name__}: {str(exc).splitlines()[0]})", where=str(path)) from None
    df = df.rename({c: c.strip().lower() for c in df.columns})
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}", where=str(path))
    return df


# ---------------------------------------------------------------------------
# Filings
# ---------------------------------------------------------------------------
def create_filing(
    ws: Workspace,
    *,
    name: str,
    ruleset: str,
    jurisdiction: str,
    user: str,
    district: str | None = None,
    required: int | None = None,
    filing_date: _dt.date | None = None,
    circulation_start: _dt.date | None = None,
    circulation_end: _dt.date | None = None,
) -> int:
    """Create a filing under a rule set (a built-in name or a JSON file)."""
    from petitions.rules import load_ruleset

    ws.require_supervisor(user, "create a filing or choose its rule set")
    rs = load_ruleset(ruleset)
    if ws.scalar("SELECT id FROM filings WHERE name = ?", (name,)) is not None:
        raise UserError(f"a filing named {name!r} already exists in this workspace", where=str(ws.root))
    with ws.transaction():
        cur = ws.db.execute(
            "INSERT INTO filings (name, kind, jurisdiction, district, required, filing_date, circulation_start, "
            "circulation_end, ruleset_id, ruleset_version, ruleset_json, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, rs.kind, jurisdiction, district, required,
             _iso(filing_date), _iso(circulation_start), _iso(circulation_end),
             rs.id, str(rs.version), rs.to_json(), now_utc(), user),
        )
        filing_id = int(cur.lastrowid)
        ws.log_event("filing_created", user=user, filing_id=filing_id,
                     payload={"name": name, "ruleset": rs.id, "ruleset_version": rs.version,
                              "required": required, "jurisdiction": jurisdiction, "district": district})
    return filing_id


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def _date(s: str | None) -> _dt.date | None:
    return _dt.date.fromisoformat(s) if s else None


@dataclass(frozen=True)
class Filing:
    id: int
    name: str
    kind: str
    jurisdiction: str
    district: str | None
    required: int | None
    filing_date: _dt.date | None
    circulation_start: _dt.date | None
    circulation_end: _dt.date | None
    ruleset_json: str

    @property
    def jurisdiction_city(self) -> str:
        """The city a municipal jurisdiction names ("City of Los Angeles" → "Los Angeles")."""
        j = self.jurisdiction.strip()
        for prefix in ("City of ", "city of ", "Town of "):
            if j.startswith(prefix):
                return j[len(prefix):]
        return j

    @property
    def ruleset(self):
        from petitions.rules import RuleSet

        return RuleSet.from_json(self.ruleset_json)


def get_filing(ws: Workspace, filing: int | str | None = None) -> Filing:
    """A filing by id or name; with None, the only (or newest) filing."""
    if filing is None:
        row = ws.db.execute("SELECT * FROM filings ORDER BY id DESC LIMIT 1").fetchone()
    elif isinstance(filing, int) or (isinstance(filing, str) and filing.isdigit()):
        row = ws.db.execute("SELECT * FROM filings WHERE id = ?", (int(filing),)).fetchone()
    else:
        row = ws.db.execute("SELECT * FROM filings WHERE name = ?", (filing,)).fetchone()
    if row is None:
        raise UserError(f"no filing {filing!r}" if filing is not None else "no filing in this workspace yet",
                        where=str(ws.root))
    cols = [d[0] for d in ws.db.execute("SELECT * FROM filings LIMIT 0").description]
    rec = dict(zip(cols, row))
    return Filing(
        id=rec["id"], name=rec["name"], kind=rec["kind"], jurisdiction=rec["jurisdiction"],
        district=rec["district"], required=rec["required"], filing_date=_date(rec["filing_date"]),
        circulation_start=_date(rec["circulation_start"]), circulation_end=_date(rec["circulation_end"]),
        ruleset_json=rec["ruleset_json"],
    )


# ---------------------------------------------------------------------------
# Page ingest
# ---------------------------------------------------------------------------
@dataclass
class IngestReport:
    path: str
    document_id: int | None
    section: int | None
    pages: int = 0
    lines: int = 0
    already_ingested: bool = False
    problems: list[str] = field(default_factory=list)


def line_label(section: int, page: int, line: int) -> str:
    """Stable, human-readable line id within a filing: ``S003-P02-L07``."""
    return f"S{section:03d}-P{page:02d}-L{line:02d}"


def line_seq(section: int, page: int, line: int) -> int:
    """Filing order as one integer (section, then page, then line)."""
    return section * 1_000_000 + page * 1_000 + line


def ingest_document(
    ws: Workspace,
    filing_id: int,
    path: str | Path,
    *,
    user: str,
    section: int | None = None,
    circulator_name: str | None = None,
    circulator_address: str | None = None,
    template=None,
    progress: ProgressFn = _noop_progress,
    cancel: CancelFn = _never,
    workers: int | None = None,
) -> IngestReport:
    """Ingest one scanned section (PDF, multi-page TIFF, or page images).

    The file's SHA-256 identifies it: ingesting the same file again into the
    same filing is detected and creates nothing. Crops are written to the
    content-addressed store first; the document, its section, pages and lines
    are then committed in one transaction, so a crash leaves either the whole
    document or none of it (orphan crop files are harmless).
    """
    from sigverify.pages import segment_document

    path = Path(path)
    if not path.exists():
        raise UserError("file not found", where=str(path))
    digest = file_sha256(path)
    prior = ws.db.execute(
        "SELECT d.id, s.number FROM documents d LEFT JOIN sections s ON s.document_id = d.id "
        "WHERE d.filing_id = ? AND d.sha256 = ?", (filing_id, digest)).fetchone()
    if prior:
        return IngestReport(str(path), prior[0], prior[1], already_ingested=True)
    if section is None:
        section = int(ws.scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM sections WHERE filing_id = ?", (filing_id,)))
    elif ws.scalar("SELECT id FROM sections WHERE filing_id = ? AND number = ?", (filing_id, section)):
        raise UserError(f"section {section} already exists in this filing", where=str(path))

    report = IngestReport(str(path), None, section)
    # Keep the scan itself, bit for bit, addressed by its hash: the evidence
    # staff and proponents look at, independent of where the file came from.
    stored = ws.root / "documents" / f"{digest}{path.suffix.lower()}"
    if not stored.exists():
        with atomic_path(stored) as tmp:
            shutil.copyfile(path, tmp)
    page_rows, line_rows = [], []
    try:
        results = list(segment_document(path, template=template, workers=workers,
                                        progress=lambda d, t: progress("segment", d, t), cancel=cancel))
    except Exception as exc:  # noqa: BLE001 - an unreadable file is the user's problem, said plainly
        if getattr(exc, "user_error", False):
            raise UserError(str(exc).removeprefix(f"{path}: ").removeprefix(f"{path.resolve()}: "),
                            where=str(path)) from None
        raise
    for result in results:
        _check_cancel(cancel)
        if result.error is not None:
            report.problems.append(str(result.error))
            continue
        seg = result.segmentation
        page_no = result.page.number
        # The circulator's declaration (name, address, dates, signature) as crops.
        fields = {k: ws.crops.put_image(v) for k, v in (getattr(seg, "field_crops", None) or {}).items()
                  if v is not None and v.size}
        page_rows.append(dict(fields_json=canonical_json(fields), number=page_no, document_page=page_no, width=int(seg.size[0]), height=int(seg.size[1]),
                              dpi=float(result.page.dpi or 0), skew_deg=float(seg.skew_deg), rotation=int(seg.rotation),
                              image_hash=None, segmentation_json=canonical_json(_seg_json(seg))))
        for k, ln in enumerate(seg.lines):
            crops = seg.crops[k] if seg.crops else {}
            hashes = {k: (ws.crops.put_image(v) if v is not None and v.size else None) for k, v in crops.items()}
            line_rows.append(dict(page=page_no, number=int(ln.line), state=ln.state,
                                  signature_box=_box(ln.signature), name_box=_box(ln.printed_name),
                                  address_box=_box(ln.address), signature_hash=hashes.get("signature"),
                                  name_hash=hashes.get("printed_name"), address_hash=hashes.get("address"),
                                  signature_ink=float(ln.signature_ink)))
    if not page_rows:
        raise UserError("no page could be read: " + "; ".join(report.problems[:3]), where=str(path))
    with ws.transaction():
        doc_id = int(ws.db.execute(
            "INSERT INTO documents (filing_id, path, stored_path, sha256, pages, errors_json, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (filing_id, str(path), str(stored.relative_to(ws.root)), digest, len(page_rows),
             json.dumps(report.problems), now_utc())).lastrowid)
        sec_id = int(ws.db.execute(
            "INSERT INTO sections (filing_id, number, circulator_name, circulator_address, document_id) VALUES (?, ?, ?, ?, ?)",
            (filing_id, section, circulator_name, circulator_address, doc_id)).lastrowid)
        page_ids = {}
        for p in page_rows:
            page_ids[p["number"]] = int(ws.db.execute(
                "INSERT INTO pages (section_id, number, document_id, document_page, width, height, dpi, skew_deg, "
                "rotation, image_hash, segmentation_json, fields_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sec_id, p["number"], doc_id, p["document_page"], p["width"], p["height"], p["dpi"], p["skew_deg"],
                 p["rotation"], p["image_hash"], p["segmentation_json"], p["fields_json"])).lastrowid)
        ws.db.conn.executemany(
            "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state, signature_box, name_box, address_box, "
            "signature_hash, name_hash, address_hash, signature_ink) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(filing_id, sec_id, page_ids[r["page"]], line_label(section, r["page"], r["number"]),
              line_seq(section, r["page"], r["number"]), r["number"], r["state"], r["signature_box"], r["name_box"],
              r["address_box"], r["signature_hash"], r["name_hash"], r["address_hash"], r["signature_ink"])
             for r in line_rows])
        ws.log_event("document_ingested", user=user, filing_id=filing_id,
                     payload={"document_id": doc_id, "path": str(path), "sha256": digest, "section": section,
                              "pages": len(page_rows), "lines": len(line_rows), "problems": report.problems})
    report.document_id, report.pages, report.lines = doc_id, len(page_rows), len(line_rows)
    return report


def page_image(ws: Workspace, page_db_id: int) -> np.ndarray:
    """The scanned page as filed, (H, W) uint8, decoded from the stored scan.

    Line boxes (``lines.*_box``) are in this image's pixel frame.
    """
    from sigverify.pages import open_document

    row = ws.db.execute(
        "SELECT d.stored_path, p.document_page FROM pages p JOIN documents d ON d.id = p.document_id WHERE p.id = ?",
        (page_db_id,)).fetchone()
    if row is None:
        raise UserError(f"no page with id {page_db_id}")
    doc = open_document(ws.root / row[0])
    try:
        return doc.read(int(row[1])).image
    finally:
        doc.close()


def _box(b) -> str | None:
    return None if b is None else json.dumps([int(v) for v in b])


def _seg_json(seg) -> dict:
    return {
        "skew_deg": float(seg.skew_deg), "rotation": int(seg.rotation), "size": [int(v) for v in seg.size],
        "lines": [{"line": int(ln.line), "state": ln.state, "signature": _jbox(ln.signature),
                   "printed_name": _jbox(ln.printed_name), "address": _jbox(ln.address)} for ln in seg.lines],
    }


def _jbox(b):
    return None if b is None else [int(v) for v in b]


# ---------------------------------------------------------------------------
# Keyed entries
# ---------------------------------------------------------------------------
KEYED_COLUMNS = ("line_id", "name", "address", "city", "zip")


@dataclass
class KeyedImport:
    imported: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def import_keyed_entries(ws: Workspace, filing_id: int, csv_path: str | Path, *, user: str,
                         source: str = "keying vendor CSV") -> KeyedImport:
    """Import keyed printed names and addresses (``line_id,name,address,city,zip``
    and optionally ``date_signed``). Re-importing the same values changes nothing;
    changed values become a new keyed entry (the old one stays as history)."""
    csv_path = Path(csv_path)
    df = _read_csv_strings(csv_path, required=KEYED_COLUMNS)
    labels = dict(ws.db.execute("SELECT label, id FROM lines WHERE filing_id = ?", (filing_id,)).fetchall())
    current = {r[0]: r[1:] for r in ws.db.execute(
        "SELECT k.line_id, k.name, k.address, k.city, k.zip, k.date_signed FROM current_keyed k "
        "JOIN lines l ON l.id = k.line_id WHERE l.filing_id = ?", (filing_id,))}
    report = KeyedImport()
    rows, seen = [], set()
    has_date = "date_signed" in df.columns
    ts = now_utc()
    for i, rec in enumerate(df.iter_rows(named=True), start=2):
        label = (rec["line_id"] or "").strip()
        line_id = labels.get(label)
        if line_id is None:
            report.problems.append(f"{csv_path} row {i}, column line_id: no line {label!r} in this filing")
            continue
        if line_id in seen:
            report.problems.append(f"{csv_path} row {i}, column line_id: {label!r} appears twice; first kept")
            continue
        seen.add(line_id)
        date_signed = (rec.get("date_signed") or "").strip() or None if has_date else None
        if date_signed:
            try:
                _dt.date.fromisoformat(date_signed)
            except ValueError:
                report.problems.append(f"{csv_path} row {i}, column date_signed: expected YYYY-MM-DD, got {date_signed!r}")
                date_signed = None
        values = tuple((rec.get(c) or "").strip() for c in ("name", "address", "city", "zip")) + (date_signed,)
        if current.get(line_id) == values:
            report.unchanged += 1
            continue
        rows.append((line_id, *values, source, user, ts))
    with ws.transaction():
        ws.db.conn.executemany(
            "INSERT INTO keyed_entries (line_id, name, address, city, zip, date_signed, source, keyed_by, keyed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        ws.log_event("keyed_entries_imported", user=user, filing_id=filing_id,
                     payload={"source": str(csv_path), "imported": len(rows), "unchanged": report.unchanged,
                              "problems": report.problems[:50]})
    report.imported = len(rows)
    return report


def key_line(ws: Workspace, line_id: int, *, name: str, address: str, city: str = "", zip: str = "",
             date_signed: str | None = None, user: str) -> None:
    """Record what a clerk keyed for one line (from the workbench)."""
    with ws.transaction():
        ws.db.execute(
            "INSERT INTO keyed_entries (line_id, name, address, city, zip, date_signed, source, keyed_by, keyed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'workbench', ?, ?)",
            (line_id, name.strip(), address.strip(), city.strip(), zip.strip(), date_signed, user, now_utc()))
        ws.log_event("line_keyed", user=user, line_id=line_id,
                     payload={"name": name, "address": address, "city": city, "zip": zip})


# ---------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------
def _pending_match_lines(ws: Workspace, filing_id: int, voter_file_id: int) -> pl.DataFrame:
    """Signed lines whose current keyed entry has no match against this voter
    file yet (a new keyed entry or a new voter file makes a line pending again)."""
    rows = ws.query(
        "SELECT l.id AS line_id, k.id AS keyed_id, k.name, k.address, k.city, k.zip, k.date_signed "
        "FROM lines l JOIN current_keyed k ON k.line_id = l.id "
        "LEFT JOIN current_match m ON m.line_id = l.id "
        "WHERE l.filing_id = ? AND l.state = 'signed' AND (m.line_id IS NULL OR m.voter_file_id != ? "
        "   OR CAST(json_extract(m.details_json, '$.keyed_id') AS INTEGER) != k.id) "
        "ORDER BY l.seq", (filing_id, voter_file_id))
    schema = {"line_id": pl.Int64, "keyed_id": pl.Int64, "name": pl.Utf8, "address": pl.Utf8, "city": pl.Utf8,
              "zip": pl.Utf8, "date_signed": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


@contextlib.contextmanager
def _stage_run(ws: Workspace, report: "StageReport", user: str):
    """Close a stage's run row however the stage ends: done, cancelled (the
    exception is absorbed; committed batches stay) or failed (re-raised)."""
    try:
        yield
    except Cancelled:
        report.status = "cancelled"
        ws.finish_run(report.run_id, status="cancelled", user=user, summary={"processed": report.processed})
    except BaseException as exc:
        report.status = "failed"
        with contextlib.suppress(Exception):  # the store itself may be what failed
            ws.finish_run(report.run_id, status="failed", user=user,
                          summary={"processed": report.processed, "error": f"{type(exc).__name__}: {exc}"})
        raise
    else:
        ws.finish_run(report.run_id, status="done", user=user, summary={"processed": report.processed})


@dataclass
class StageReport:
    stage: str
    run_id: int | None = None
    processed: int = 0
    skipped: int = 0
    status: str = "done"
    counts: dict = field(default_factory=dict)


def run_matching(ws: Workspace, filing_id: int, *, user: str, batch_size: int = 20_000,
                 progress: ProgressFn = _noop_progress, cancel: CancelFn = _never) -> StageReport:
    """Match every keyed signed line to the active voter file, in batches."""
    import matchers

    filing = get_filing(ws, filing_id)
    vf_id, voters = active_voter_file(ws)
    pending = _pending_match_lines(ws, filing_id, vf_id)
    report = StageReport("match")
    if pending.height == 0:
        return report
    model = matchers.load_default_model().at_operating_point(filing.ruleset.triage.match_operating_point)
    run_id = ws.start_run("match", filing_id=filing_id, user=user, voter_file_id=vf_id,
                          model_json=model.to_json(), model_version=model.version,
                          params={"lines": pending.height, "batch_size": batch_size})
    report.run_id = run_id
    lines = pending.with_columns(
        pl.col("line_id").cast(pl.Utf8).alias("line_key"),
        pl.col("date_signed").str.to_date(strict=False),
    )
    with _stage_run(ws, report, user):
        for start in range(0, lines.height, batch_size):
            _check_cancel(cancel)
            batch = lines.slice(start, batch_size)
            result = matchers.match_lines(
                batch.select(pl.col("line_key").alias("line_id"), "name", "address", "city", "zip", "date_signed"),
                voters, model=model, jurisdiction_city=filing.jurisdiction_city, district=filing.district,
            )
            _store_matches(ws, filing_id, run_id, vf_id, batch, result, model.version, user)
            report.processed += batch.height
            progress("match", report.processed, lines.height)
    return report


def _store_matches(ws, filing_id, run_id, vf_id, batch: pl.DataFrame, result: pl.DataFrame, version: str, user: str):
    result = result.with_columns(pl.Series("keyed_id", batch["keyed_id"]), pl.Series("line_db_id", batch["line_id"]))
    cols = set(result.columns)
    rows = []
    for r in result.iter_rows(named=True):
        details = {"keyed_id": r["keyed_id"]}
        for extra in ("first_name_level", "last_name_level", "house_level", "street_level", "zip_level",
                      "unit_level", "city_level", "flags", "n_candidates"):
            if extra in cols:
                details[extra] = r[extra]
        rows.append((r["line_db_id"], run_id, vf_id, r["voter_id"], r["score"], r["status"], r["reason"],
                     r.get("name_level"), r.get("address_level"),
                     canonical_json(r.get("candidates") or []), canonical_json(details), version))
    counts = result["status"].value_counts().to_dicts()
    with ws.transaction():
        ws.db.conn.executemany(
            "INSERT INTO matches (line_id, run_id, voter_file_id, voter_id, score, status, reason, name_level, "
            "address_level, candidates_json, details_json, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows)
        ws.log_event("match_batch", user=user, filing_id=filing_id,
                     payload={"run_id": run_id, "lines": len(rows),
                              "status_counts": {c["status"]: c["count"] for c in counts}})


# ---------------------------------------------------------------------------
# Signature comparison
# ---------------------------------------------------------------------------
def _pending_signature_lines(ws: Workspace, filing_id: int, model_version: str) -> list[dict]:
    return ws.query(
        "SELECT l.id AS line_id, l.signature_hash, m.voter_id FROM lines l "
        "JOIN current_match m ON m.line_id = l.id "
        "LEFT JOIN current_signature s ON s.line_id = l.id "
        "WHERE l.filing_id = ? AND l.state = 'signed' AND m.voter_id IS NOT NULL "
        "AND (s.line_id IS NULL OR s.voter_id IS NOT m.voter_id OR s.model_version != ?) ORDER BY l.seq",
        (filing_id, model_version))


def exemplars_for(ws: Workspace, voter_ids: Sequence[str]) -> dict[str, list[dict]]:
    """Each voter's exemplars on file (hash, captured date, source), oldest first."""
    out: dict[str, list[dict]] = {}
    for r in ws.query_in("SELECT voter_id, image_hash, captured_date, source FROM exemplars "
                         "WHERE voter_id IN ({ids}) ORDER BY voter_id, captured_date, id",
                         list(dict.fromkeys(v for v in voter_ids if v))):
        out.setdefault(r["voter_id"], []).append(r)
    return out


def run_signatures(ws: Workspace, filing_id: int, *, user: str, batch_size: int = 512, workers: int | None = None,
                   progress: ProgressFn = _noop_progress, cancel: CancelFn = _never) -> StageReport:
    """Compare each matched line's signature with the candidate voter's exemplars.

    `workers` threads (default: every core) share each batch.
    """
    import os

    import sigverify

    workers = workers or os.cpu_count() or 1

    model = sigverify.load_default_model()
    pending = _pending_signature_lines(ws, filing_id, model.version)
    report = StageReport("signature")
    if not pending:
        return report
    run_id = ws.start_run("signature", filing_id=filing_id, user=user, model_json=model.to_json(),
                          model_version=model.version, params={"lines": len(pending), "batch_size": batch_size})
    report.run_id = run_id
    with _stage_run(ws, report, user):
        for start in range(0, len(pending), batch_size):
            _check_cancel(cancel)
            batch = pending[start:start + batch_size]
            ex = exemplars_for(ws, [r["voter_id"] for r in batch])
            questioned = [ws.crops.get_image(r["signature_hash"]) if r["signature_hash"] else np.zeros((0, 0), np.uint8)
                          for r in batch]
            refs_meta = [ex.get(r["voter_id"], []) for r in batch]
            # One array per exemplar image: lines of the same voter share it and
            # verify() describes each distinct image once.
            images = {h: ws.crops.get_image(h) for h in {e["image_hash"] for metas in refs_meta for e in metas}}
            references = [[images[e["image_hash"]] for e in metas] for metas in refs_meta]
            scores = sigverify.verify(questioned, references, model=model, workers=workers)
            rows = []
            for i, r in enumerate(batch):
                fam = {k: float(v[i]) for k, v in scores.family_scores.items()}
                best = int(scores.best_reference[i])
                rows.append((r["line_id"], run_id, r["voter_id"], float(scores.score[i]), str(scores.decision[i]),
                             str(scores.reason[i]) or None, canonical_json(fam), len(refs_meta[i]),
                             refs_meta[i][best]["image_hash"] if 0 <= best < len(refs_meta[i]) else None,
                             scores.model_version))
            with ws.transaction():
                ws.db.conn.executemany(
                    "INSERT INTO signature_scores (line_id, run_id, voter_id, score, decision, reason, family_json, "
                    "n_exemplars, best_exemplar_hash, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                ws.log_event("signature_batch", user=user, filing_id=filing_id,
                             payload={"run_id": run_id, "lines": len(rows),
                                      "consistent": int(sum(1 for r in rows if r[4] == "consistent"))})
            report.processed += len(batch)
            progress("signature", report.processed, len(pending))
    return report
    ws.finish_run(run_id, status="done", user=user, summary={"processed": report.processed})
    return report


# ---------------------------------------------------------------------------
# Triage
# ---------------------------------------------------------------------------
def triage_inputs(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """One row per line with everything triage needs (see petitions.triage)."""
    from petitions.duplicates import apply_duplicate_policy

    filing = get_filing(ws, filing_id)
    rows = ws.query(
        "SELECT l.id AS line_db_id, l.label AS line_id, l.seq, l.state, "
        "  k.id IS NOT NULL AND (COALESCE(k.name, '') != '' OR COALESCE(k.address, '') != '') AS has_keyed, "
        "  k.date_signed, m.status AS match_status, m.reason AS match_reason, m.score AS match_score, m.voter_id, "
        "  s.score AS sig_score, s.decision AS sig_decision, s.reason AS sig_reason, s.voter_id AS sig_voter_id "
        "FROM lines l LEFT JOIN current_keyed k ON k.line_id = l.id "
        "LEFT JOIN current_match m ON m.line_id = l.id "
        "LEFT JOIN current_signature s ON s.line_id = l.id "
        "WHERE l.filing_id = ? ORDER BY l.seq", (filing_id,))
    schema = {"line_db_id": pl.Int64, "line_id": pl.Utf8, "seq": pl.Int64, "state": pl.Utf8, "has_keyed": pl.Boolean,
              "date_signed": pl.Utf8, "match_status": pl.Utf8, "match_reason": pl.Utf8, "match_score": pl.Float64,
              "voter_id": pl.Utf8, "sig_score": pl.Float64, "sig_decision": pl.Utf8, "sig_reason": pl.Utf8,
              "sig_voter_id": pl.Utf8}
    df = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    # A signature score for a different voter than the current match does not count.
    df = df.with_columns(
        pl.col("date_signed").str.to_date(strict=False),
        *[pl.when(pl.col("sig_voter_id") == pl.col("voter_id")).then(pl.col(c)).otherwise(None).alias(c)
          for c in ("sig_score", "sig_decision", "sig_reason")],
    ).drop("sig_voter_id")
    # Voter status and registration date from the voter file version the match used.
    try:
        _, voters = active_voter_file(ws)
        vinfo = voters.select(
            pl.col("voter_id").cast(pl.Utf8),
            pl.col("status").cast(pl.Utf8).alias("voter_status"),
            pl.col("registration_date").cast(pl.Utf8).str.to_date(strict=False).alias("registration_date"),
        ).unique("voter_id", keep="first")
        df = df.join(vinfo, on="voter_id", how="left", maintain_order="left")
    except UserError:
        df = df.with_columns(pl.lit(None, pl.Utf8).alias("voter_status"), pl.lit(None, pl.Date).alias("registration_date"))
    # Duplicates by the rule set's policy, over every line with a candidate
    # voter (match or review): if an earlier line of the same voter is still
    # in review, a later clear match must not count first. A flag only ever
    # sends a line to a person.
    dup_in = df.select(
        "line_id", pl.col("seq").alias("order"),
        pl.when(pl.col("match_status").is_in(["match", "review"])).then(pl.col("voter_id")).otherwise(None)
        .alias("voter_id"),
        "date_signed")
    dups = apply_duplicate_policy(dup_in, filing.ruleset.duplicate_policy)
    df = df.join(dups.select("line_id", "duplicate_group", "duplicate_rank"), on="line_id", how="left",
                 maintain_order="left")
    return df


def run_triage(ws: Workspace, filing_id: int, *, user: str) -> StageReport:
    """Determine every line (valid / needs_review / invalid) under the filing's
    rule set; store a new determination only where it changed."""
    from petitions.triage import triage

    filing = get_filing(ws, filing_id)
    rs = filing.ruleset
    inputs = triage_inputs(ws, filing_id)
    report = StageReport("triage")
    if inputs.height == 0:
        return report
    result = triage(inputs.drop("line_db_id", "seq"), rs, circulation_start=filing.circulation_start,
                    circulation_end=filing.circulation_end, filing_date=filing.filing_date)
    result = result.with_columns(pl.Series("line_db_id", inputs["line_db_id"]))
    rows_now = ws.query(
        "SELECT d.line_id, d.determination, d.reasons_json, d.inputs_json, d.level FROM current_determination d "
        "JOIN lines l ON l.id = d.line_id WHERE l.filing_id = ?", (filing_id,))
    current = {r["line_id"]: (r["determination"], r["reasons_json"], r["inputs_json"]) for r in rows_now}
    # A supervisor's QA audit sent these lines back to people (petitions.audit);
    # automation does not take them back.
    held = {r["line_id"] for r in rows_now if r["level"] == "qa_audit"}
    ts = now_utc()
    rows = []
    for r in result.iter_rows(named=True):
        reasons = canonical_json(list(r["reasons"] or []))
        key = (r["determination"], reasons, r["inputs"])
        if current.get(r["line_db_id"]) == key or r["line_db_id"] in held:
            report.skipped += 1
            continue
        rows.append((r["line_db_id"], r["determination"], r["level"], reasons, r["inputs"], rs.id, str(rs.version), ts))
    counts = result["determination"].value_counts().to_dicts()
    report.counts = {c["determination"]: c["count"] for c in counts}
    with ws.transaction():
        ws.db.conn.executemany(
            "INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, ruleset_id, "
            "ruleset_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        ws.log_event("triage", user=user, filing_id=filing_id,
                     payload={"changed": len(rows), "unchanged": report.skipped, "counts": report.counts,
                              "ruleset": rs.id, "ruleset_version": rs.version})
    report.processed = len(rows)
    return report


def run_all(ws: Workspace, filing_id: int, *, user: str, progress: ProgressFn = _noop_progress,
            cancel: CancelFn = _never) -> list[StageReport]:
    """Match, compare signatures and triage: everything after ingest and keying."""
    reports = [run_matching(ws, filing_id, user=user, progress=progress, cancel=cancel)]
    if reports[-1].status == "cancelled":
        return reports
    reports.append(run_signatures(ws, filing_id, user=user, progress=progress, cancel=cancel))
    if reports[-1].status == "cancelled":
        return reports
    reports.append(run_triage(ws, filing_id, user=user))
    return reports
