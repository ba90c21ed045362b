"""Named reads and writes: keyed printed names and addresses."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace

_INSERT = ("INSERT INTO keyed_entries (line_id, name, address, city, zip, date_signed, source, keyed_by, keyed_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def current_keyed(ws: Workspace, filing_id: int) -> list[dict]:
    """The current keyed entry of every keyed line of the filing (line_id, name, address, city, zip, date_signed)."""
    return ws._rows("SELECT k.line_id, k.name, k.address, k.city, k.zip, k.date_signed FROM current_keyed k "
                    "JOIN lines l ON l.id = k.line_id WHERE l.filing_id = ?", (filing_id,))


def add_keyed_entries(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Record keyed entries: (line_id, name, address, city, zip, date_signed, source, keyed_by, keyed_at) each."""
    ws._many(_INSERT, rows)


def add_keyed_entry(ws: Workspace, line_id: int, *, name: str, address: str, city: str, zip: str,
                    date_signed: str | None, source: str, keyed_by: str, keyed_at: str) -> int:
    """Record one keyed entry; its id."""
    return ws._insert(_INSERT + " RETURNING id",
                      (line_id, name, address, city, zip, date_signed, source, keyed_by, keyed_at))
