"""Named reads and writes: filings."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def filing_id_by_name(ws: Workspace, name: str) -> int | None:
    """The id of the filing with this name, or None."""
    return ws._scalar("SELECT id FROM filings WHERE name = ?", (name,))


def add_filing(ws: Workspace, *, name: str, kind: str, jurisdiction: str, district: str | None,
               required: int | None, filing_date: str | None, circulation_start: str | None,
               circulation_end: str | None, ruleset_id: str, ruleset_version: str, ruleset_json: str,
               created_at: str, created_by: str, office_id: int | None = None,
               candidate: str | None = None) -> int:
    """Record a new filing; its id."""
    return ws._insert(
        "INSERT INTO filings (name, kind, jurisdiction, district, required, filing_date, circulation_start, "
        "circulation_end, ruleset_id, ruleset_version, ruleset_json, created_at, created_by, office_id, candidate) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (name, kind, jurisdiction, district, required, filing_date, circulation_start, circulation_end,
         ruleset_id, ruleset_version, ruleset_json, created_at, created_by, office_id, candidate))


def office_by_name(ws: Workspace, period: str, name: str) -> dict | None:
    """The office (``id``, ``seats``) of this name in this filing period, or None."""
    return ws._one("SELECT id, seats FROM offices WHERE period = ? AND name = ?", (period, name))


def add_office(ws: Workspace, *, period: str, name: str, seats: int, created_at: str, created_by: str) -> int:
    """Record an office of a filing period; its id."""
    return ws._insert("INSERT INTO offices (period, name, seats, created_at, created_by) VALUES (?, ?, ?, ?, ?) "
                      "RETURNING id", (period, name, seats, created_at, created_by))


def all_filings(ws: Workspace) -> list[dict]:
    """Every filing with its office (``office_name``, ``office_seats``,
    ``office_period``), by period, office and creation order."""
    return ws._rows(_FILING + " ORDER BY o.period, o.name, f.id")


def filings_of_office(ws: Workspace, office_id: int) -> list[dict]:
    """The filings of one office of a period, oldest first."""
    return ws._rows(_FILING + " WHERE f.office_id = ? ORDER BY f.id", (office_id,))


def office_lines(ws: Workspace, office_id: int) -> list[dict]:
    """Every line of the office's filings with what the limits across filings
    need: filing id, line id, label, seq, date signed (keyed), and the voter
    of its current match when the match is ``match`` or ``review``."""
    return ws._rows(
        "SELECT l.filing_id, l.id AS line_id, l.label, l.seq, k.date_signed, "
        "CASE WHEN m.status IN ('match', 'review') THEN m.voter_id END AS voter_id "
        "FROM lines l JOIN filings f ON f.id = l.filing_id "
        "LEFT JOIN current_keyed k ON k.line_id = l.id LEFT JOIN current_match m ON m.line_id = l.id "
        "WHERE f.office_id = ? AND l.state = 'signed'", (office_id,))


_FILING = ("SELECT f.*, o.name AS office_name, o.seats AS office_seats, o.period AS office_period "
           "FROM filings f LEFT JOIN offices o ON o.id = f.office_id")


def newest_filing(ws: Workspace) -> dict | None:
    """The most recently created filing's row (with its office), or None."""
    return ws._one(_FILING + " ORDER BY f.id DESC LIMIT 1")


def filing_by_id(ws: Workspace, filing_id: int) -> dict | None:
    """The filing's row (with its office), or None."""
    return ws._one(_FILING + " WHERE f.id = ?", (filing_id,))


def filing_by_name(ws: Workspace, name: str) -> dict | None:
    """The row of the filing with this name (with its office), or None."""
    return ws._one(_FILING + " WHERE f.name = ?", (name,))

