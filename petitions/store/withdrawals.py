"""Named reads and writes: withdrawal requests and the lines they name."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def filing_voter_lines(ws: Workspace, filing_id: int) -> list[dict]:
    """Signed lines of the filing with the voter of their current match when it
    is ``match`` or ``review`` (``line_id``, ``label``, ``voter_id``), in filing order."""
    return ws._rows(
        "SELECT l.id AS line_id, l.label, m.voter_id FROM lines l JOIN current_match m ON m.line_id = l.id "
        "WHERE l.filing_id = ? AND l.state = 'signed' AND m.status IN ('match', 'review') "
        "AND m.voter_id IS NOT NULL ORDER BY l.seq", (filing_id,))


def add_withdrawal(ws: Workspace, *, filing_id: int, source: str, row_number: int, name: str, address: str,
                   city: str, zip: str, request_date: str | None, given_voter_id: str | None, voter_id: str | None,
                   match_status: str | None, match_score: float | None, line_id: int | None, created_at: str,
                   created_by: str) -> int:
    """Record one withdrawal request (matched or not, with the line it names); its id."""
    return ws._insert(
        "INSERT INTO withdrawals (filing_id, source, row_number, name, address, city, zip, request_date, "
        "given_voter_id, voter_id, match_status, match_score, line_id, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (filing_id, source, row_number, name, address, city, zip, request_date, given_voter_id, voter_id,
         match_status, match_score, line_id, created_at, created_by))


def withdrawals_of(ws: Workspace, filing_id: int) -> list[dict]:
    """Every withdrawal request recorded for the filing, oldest first."""
    return ws._rows("SELECT w.*, l.label FROM withdrawals w LEFT JOIN lines l ON l.id = w.line_id "
                    "WHERE w.filing_id = ? ORDER BY w.id", (filing_id,))
