"""Named reads behind every line's status and the dashboard's per-reviewer counts."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def filing_ruleset_json(ws: Workspace, filing_id: int) -> str | None:
    """The filing's rule set as stored (JSON text), or None for an unknown filing."""
    return ws._scalar("SELECT ruleset_json FROM filings WHERE id = ?", (filing_id,))


def status_lines(ws: Workspace, filing_id: int) -> tuple[list[str], list[tuple]]:
    """Every line of the filing in filing order with its current determination, match and signature score,
    as column names and row tuples (60,000 rows go into a frame; a dict per row would double the time).

    The newest determination, match and score are found by one index seek per line each (the
    ``current_*`` views' correlated form costs twice as much on SQLite)."""
    return ws._tuples(
        "SELECT l.id AS line_db_id, l.label AS line_id, l.seq, s.number AS section, p.number AS page, l.number, "
        "l.state, d.determination, d.reasons_json, d.level AS det_level, m.voter_id, m.status AS match_status, "
        "m.score AS match_score, sg.score AS sig_score, sg.decision AS sig_decision "
        "FROM lines l JOIN sections s ON s.id = l.section_id LEFT JOIN pages p ON p.id = l.page_id "
        "LEFT JOIN determinations d ON d.id = (SELECT MAX(id) FROM determinations WHERE line_id = l.id) "
        "LEFT JOIN matches m ON m.line_id = l.id AND m.run_id = (SELECT MAX(run_id) FROM matches WHERE line_id = l.id) "
        "LEFT JOIN signature_scores sg ON sg.line_id = l.id "
        "AND sg.run_id = (SELECT MAX(run_id) FROM signature_scores WHERE line_id = l.id) "
        "WHERE l.filing_id = ? ORDER BY l.seq", (filing_id,))


def status_rulings(ws: Workspace, filing_id: int, *, after: int = 0) -> tuple[list[str], list[tuple]]:
    """The filing's rulings other than audits with id above `after`, oldest
    first, as column names and row tuples: id, line_db_id, user, action, reason_code.

    With `after`, the few newer rulings are found from the rulings' ids and
    their lines looked up (CROSS JOIN keeps that order on SQLite), instead of
    visiting every line of the filing."""
    if after:
        return ws._tuples(
            "SELECT r.id, r.line_id AS line_db_id, r.user AS user, r.action, r.reason_code FROM rulings r "
            "CROSS JOIN lines l WHERE l.id = r.line_id AND r.id > ? AND l.filing_id = ? AND r.kind <> 'audit' "
            "ORDER BY r.id", (after, filing_id))
    return ws._tuples(
        "SELECT r.id, r.line_id AS line_db_id, r.user AS user, r.action, r.reason_code FROM rulings r "
        "JOIN lines l ON l.id = r.line_id WHERE l.filing_id = ? AND r.kind <> 'audit' "
        "ORDER BY r.id", (filing_id,))


def change_stamp(ws: Workspace) -> dict:
    """How many rows each table a line's status is made from holds: lines,
    determinations, matches and signature scores (all only ever appended,
    so a count changes with every write, whatever order writers commit
    in), the newest ruling, and the rulings on whole sections (append-only too)."""
    return ws._one(
        "SELECT (SELECT COUNT(*) FROM lines) AS lines, (SELECT COUNT(*) FROM determinations) AS determinations, "
        "(SELECT COUNT(*) FROM matches) AS matches, (SELECT COUNT(*) FROM signature_scores) AS signatures, "
        "(SELECT COUNT(*) FROM rulings) AS n_rulings, (SELECT MAX(id) FROM rulings) AS rulings, "
        "(SELECT COUNT(*) FROM section_rulings) AS section_rulings") or {}


def reviewer_rulings(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's rulings, oldest first, for the per-person table: id,
    user, role, kind, action and ``undo_json`` — the shown JSON of an undo
    (``{"undo_of":ID}``, written by ``review.undo_ruling``), None for any
    other ruling (whose shown JSON is not read)."""
    return ws._rows(
        "SELECT r.id, r.user AS user, r.role, r.kind, r.action, "
        "CASE WHEN r.shown_json LIKE '{\"undo_of\":%' THEN r.shown_json END AS undo_json "
        "FROM rulings r JOIN lines l ON l.id = r.line_id WHERE l.filing_id = ? ORDER BY r.id", (filing_id,))


def line_db_id(ws: Workspace, filing_id: int, label: str) -> int | None:
    """The database id of the filing's line printed as `label`, or None."""
    return ws._scalar("SELECT id FROM lines WHERE filing_id = ? AND label = ?", (filing_id, label))
