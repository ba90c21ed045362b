"""Named reads and writes for batches of queue lines held under a lease."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def lock_filing(ws: Workspace, filing_id: int) -> None:
    """One hand-out at a time per filing (inside the caller's transaction)."""
    ws._lock(filing_id)


def live_batches(ws: Workspace, filing_id: int, now: str, *, mode: str | None = None) -> list[dict]:
    """Batches of a filing whose lease has not run out and that are not closed."""
    sql = ("SELECT id, filing_id, mode, holder, assigned_by, created_at, lease_until FROM batches "
           "WHERE filing_id = ? AND closed_at IS NULL AND lease_until > ?")
    params: list = [filing_id, now]
    if mode is not None:
        sql += " AND mode = ?"
        params.append(mode)
    return ws._rows(sql + " ORDER BY id", params)


def batch(ws: Workspace, batch_id: int) -> dict | None:
    """One batch row."""
    return ws._one("SELECT id, filing_id, mode, holder, assigned_by, created_at, lease_until, closed_at, closed_by, "
                   "close_reason FROM batches WHERE id = ?", (batch_id,))


def batch_lines(ws: Workspace, batch_ids: list[int]) -> list[dict]:
    """The lines of the given batches, in their order."""
    return ws._rows_in("SELECT batch_id, line_id, position FROM batch_lines WHERE batch_id IN ({ids}) "
                       "ORDER BY batch_id, position", batch_ids)


def insert_batch(ws: Workspace, *, filing_id: int, mode: str, holder: str, assigned_by: str, created_at: str,
                 lease_until: str, line_ids: list[int]) -> int:
    """A new batch and its lines."""
    bid = ws._insert("INSERT INTO batches (filing_id, mode, holder, assigned_by, created_at, lease_until) "
                     "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                     (filing_id, mode, holder, assigned_by, created_at, lease_until))
    ws._many("INSERT INTO batch_lines (batch_id, line_id, position) VALUES (?, ?, ?)",
             [(bid, lid, i) for i, lid in enumerate(line_ids)])
    return bid


def extend_lease(ws: Workspace, batch_id: int, lease_until: str) -> int:
    """Move a live batch's lease end."""
    return ws._exec("UPDATE batches SET lease_until = ? WHERE id = ? AND closed_at IS NULL", (lease_until, batch_id))


def close_batch(ws: Workspace, batch_id: int, *, closed_at: str, closed_by: str, reason: str) -> int:
    """Close a batch (given back, reclaimed, or done)."""
    return ws._exec("UPDATE batches SET closed_at = ?, closed_by = ?, close_reason = ? "
                    "WHERE id = ? AND closed_at IS NULL", (closed_at, closed_by, reason, batch_id))


def ruled_lines_since(ws: Workspace, filing_id: int, since: str) -> list[dict]:
    """Rulings of a filing made at or after `since` (ISO time), oldest first, with their line's reason."""
    return ws._rows("SELECT r.id, r.line_id, r.user, r.kind, r.action, r.reason_code, r.created_at "
                    "FROM rulings r JOIN lines l ON l.id = r.line_id WHERE l.filing_id = ? AND r.created_at >= ? "
                    "ORDER BY r.id", (filing_id, since))
