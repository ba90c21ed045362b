"""Named reads and writes: filings."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def filing_id_by_name(ws: Workspace, name: str) -> int | None:
    """The id of the filing with this name, or None."""
    return ws._scalar("SELECT id FROM filings WHERE name = ?", (name,))


def add_filing(ws: Workspace, *, name: str, kind: str, jurisdiction: str, district: str | None,
               required: int | None, filing_date: str | None, circulation_start: str | None,
               circulation_end: str | None, ruleset_id: str, ruleset_version: str, ruleset_json: str,
               created_at: str, created_by: str) -> int:
    """Record a new filing; its id."""
    return ws._insert(
        "INSERT INTO filings (name, kind, jurisdiction, district, required, filing_date, circulation_start, "
        "circulation_end, ruleset_id, ruleset_version, ruleset_json, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (name, kind, jurisdiction, district, required, filing_date, circulation_start, circulation_end,
         ruleset_id, ruleset_version, ruleset_json, created_at, created_by))


def newest_filing(ws: Workspace) -> dict | None:
    """The most recently created filing's row, or None."""
    return ws._one("SELECT * FROM filings ORDER BY id DESC LIMIT 1")


def filing_by_id(ws: Workspace, filing_id: int) -> dict | None:
    """The filing's row, or None."""
    return ws._one("SELECT * FROM filings WHERE id = ?", (filing_id,))


def filing_by_name(ws: Workspace, name: str) -> dict | None:
    """The row of the filing with this name, or None."""
    return ws._one("SELECT * FROM filings WHERE name = ?", (name,))

