"""Named reads behind a filing's certification state: its certificates and reopenings."""
from __future__ import annotations

from petitions.store.workspace import Workspace

KINDS = ("certified", "certification_reopened")


def certification_events(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's ``certified`` and ``certification_reopened`` events, oldest
    first: id, ts, user, kind, payload_json."""
    return ws._rows("SELECT e.id, e.ts, e.user AS user, e.kind, e.payload_json FROM events e "
                    "WHERE e.filing_id = ? AND e.kind IN (?, ?) ORDER BY e.id", (filing_id, *KINDS))


def documents(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's ingested scans with the section they hold and the pages
    that failed to read: document_id, path, pages (read), errors_json, section."""
    return ws._rows("SELECT d.id AS document_id, d.path, d.pages, d.errors_json, s.number AS section "
                    "FROM documents d LEFT JOIN sections s ON s.document_id = d.id "
                    "WHERE d.filing_id = ? ORDER BY d.id", (filing_id,))


def section_pages(ws: Workspace, filing_id: int) -> list[dict]:
    """Every section of the filing with each page number it holds (page null
    for a section without pages): section, page."""
    return ws._rows("SELECT s.number AS section, p.number AS page FROM sections s "
                    "LEFT JOIN pages p ON p.section_id = s.id WHERE s.filing_id = ? "
                    "ORDER BY s.number, p.number", (filing_id,))


def hold_log(ws: Workspace) -> None:
    """Inside a transaction: take the event chain's lock now (released at
    commit), so that a certificate and a ruling cannot interleave between a
    check of the filing's lock and the write it guards. SQLite's writers are
    serialised by BEGIN IMMEDIATE already."""
    ws._backend.lock_chain()
