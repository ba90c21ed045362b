"""Named reads and writes: scanned documents, sections, pages and lines."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace


def document_by_sha(ws: Workspace, filing_id: int, sha256: str) -> dict | None:
    """A document of this filing with this SHA-256 (``id``, its section ``number``), or None."""
    return ws._one("SELECT d.id, s.number FROM documents d LEFT JOIN sections s ON s.document_id = d.id "
                   "WHERE d.filing_id = ? AND d.sha256 = ?", (filing_id, sha256))


def next_section_number(ws: Workspace, filing_id: int) -> int:
    """One more than the highest section number of this filing (1 for the first)."""
    return int(ws._scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM sections WHERE filing_id = ?", (filing_id,)))


def section_exists(ws: Workspace, filing_id: int, number: int) -> bool:
    """Whether this filing already has a section with this number."""
    return ws._scalar("SELECT id FROM sections WHERE filing_id = ? AND number = ?", (filing_id, number)) is not None


def add_document(ws: Workspace, *, filing_id: int, path: str, stored_path: str, sha256: str, pages: int,
                 errors_json: str, ingested_at: str) -> int:
    """Record an ingested scan; its id."""
    return ws._insert(
        "INSERT INTO documents (filing_id, path, stored_path, sha256, pages, errors_json, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (filing_id, path, stored_path, sha256, pages, errors_json, ingested_at))


def add_section(ws: Workspace, *, filing_id: int, number: int, circulator_name: str | None,
                circulator_address: str | None, document_id: int, batch: int | None = None) -> int:
    """Record a section (one circulator's document, in `batch` when the filing comes in batches); its id."""
    return ws._insert(
        "INSERT INTO sections (filing_id, number, circulator_name, circulator_address, document_id, batch) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (filing_id, number, circulator_name, circulator_address, document_id, batch))


def add_page(ws: Workspace, *, section_id: int, number: int, document_id: int, document_page: int, width: int,
             height: int, dpi: float, skew_deg: float, rotation: int, image_hash: str | None,
             segmentation_json: str, fields_json: str) -> int:
    """Record a segmented page; its id."""
    return ws._insert(
        "INSERT INTO pages (section_id, number, document_id, document_page, width, height, dpi, skew_deg, "
        "rotation, image_hash, segmentation_json, fields_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (section_id, number, document_id, document_page, width, height, dpi, skew_deg, rotation, image_hash,
         segmentation_json, fields_json))


def add_lines(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Record lines: (filing_id, section_id, page_id, label, seq, number, state, signature_box, name_box,
    address_box, signature_hash, name_hash, address_hash, signature_ink) each."""
    ws._many(
        "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state, signature_box, name_box, "
        "address_box, signature_hash, name_hash, address_hash, signature_ink) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def page_source(ws: Workspace, page_id: int) -> dict | None:
    """Where a page's image is: the stored scan's ``stored_path`` and its ``document_page``."""
    return ws._one("SELECT d.stored_path, p.document_page FROM pages p JOIN documents d ON d.id = p.document_id "
                   "WHERE p.id = ?", (page_id,))


def line_ids_by_label(ws: Workspace, filing_id: int) -> dict[str, int]:
    """Every line of the filing: printed label → database id."""
    return {r["label"]: r["id"] for r in ws._rows("SELECT label, id FROM lines WHERE filing_id = ?", (filing_id,))}


def line_id_by_label(ws: Workspace, filing_id: int, label: str) -> int | None:
    """The database id of the line printed as `label` in this filing, or None."""
    return ws._scalar("SELECT id FROM lines WHERE filing_id = ? AND label = ?", (filing_id, label))


def lock_filing_sections(ws: Workspace, filing_id: int) -> None:
    """One ingest at a time picks a filing's next section number (until the
    transaction ends; SQLite's BEGIN IMMEDIATE already serialises writers)."""
    ws._lock(filing_id, 2)


def ingest_events(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's ``document_ingested`` events, oldest first: ts, user, payload_json."""
    return ws._rows('SELECT ts, "user", payload_json FROM events WHERE kind = ? AND filing_id = ? ORDER BY id',
                    ("document_ingested", filing_id))
