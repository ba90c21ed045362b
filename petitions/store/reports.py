"""Named reads behind counts, certificates and exports: filing events, circulators, crops and the event log."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace

EVENT_COLUMNS = ("id", "ts", "user", "kind", "filing_id", "line_id", "payload_json", "prev_hash", "hash")


def latest_event(ws: Workspace, filing_id: int, kind: str) -> dict | None:
    """The filing's newest event of `kind` (id, ts, user, payload_json), or None."""
    return ws._one("SELECT e.id, e.ts, e.user AS user, e.payload_json FROM events e WHERE e.filing_id = ? "
                   "AND e.kind = ? ORDER BY e.id DESC LIMIT 1", (filing_id, kind))


def circulators(ws: Workspace, filing_id: int) -> list[dict]:
    """Each section of the filing with its circulator ('(unknown)' when not recorded), by section number."""
    return ws._rows("SELECT number AS section, COALESCE(circulator_name, '(unknown)') AS circulator "
                    "FROM sections WHERE filing_id = ? ORDER BY number", (filing_id,))


def crop_hashes(ws: Workspace, line_ids: Sequence[int]) -> list[dict]:
    """The crop digests of the given lines: id, signature_hash, name_hash, address_hash."""
    return ws._rows_in("SELECT id, signature_hash, name_hash, address_hash FROM lines WHERE id IN ({ids})", line_ids)


def events(ws: Workspace, filing_id: int | None = None) -> list[dict]:
    """The event log exactly as stored (:data:`EVENT_COLUMNS`), oldest first; one filing's only if given."""
    sql = ("SELECT e.id, e.ts, e.user AS user, e.kind, e.filing_id, e.line_id, e.payload_json, e.prev_hash, e.hash "
           "FROM events e")
    if filing_id is None:
        return ws._rows(sql + " ORDER BY e.id")
    return ws._rows(sql + " WHERE e.filing_id = ? ORDER BY e.id", (filing_id,))
