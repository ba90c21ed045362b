"""Named reads and writes of sections as the law sees them: the circulator's
declaration as keyed, a supervisor's rulings on a whole section, and the
batch (submission) a section came in."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace


def sections(ws: Workspace, filing_id: int) -> list[dict]:
    """Every section of the filing, by number: section_id, section, batch,
    circulator_name (as given at ingest), pages, signed (signed lines)."""
    return ws._rows(
        "SELECT s.id AS section_id, s.number AS section, s.batch, s.circulator_name, "
        "(SELECT COUNT(*) FROM pages p WHERE p.section_id = s.id) AS pages, "
        "(SELECT COUNT(*) FROM lines l WHERE l.section_id = s.id AND l.state = 'signed') AS signed "
        "FROM sections s WHERE s.filing_id = ? ORDER BY s.number", (filing_id,))


def section_id(ws: Workspace, filing_id: int, number: int) -> int | None:
    """The database id of the filing's section `number`, or None."""
    return ws._scalar("SELECT id FROM sections WHERE filing_id = ? AND number = ?", (filing_id, number))


def page_fields(ws: Workspace, filing_id: int) -> list[dict]:
    """The declaration crops of every page: section, page, fields_json (field -> crop hash)."""
    return ws._rows("SELECT s.number AS section, p.number AS page, p.fields_json FROM pages p "
                    "JOIN sections s ON s.id = p.section_id WHERE s.filing_id = ? ORDER BY s.number, p.number",
                    (filing_id,))


def current_declarations(ws: Workspace, filing_id: int) -> list[dict]:
    """The newest keyed declaration of each section that has one: section, and the keyed fields."""
    return ws._rows(
        "SELECT s.number AS section, d.id, d.circulator_name, d.circulator_address, d.circulated_from, "
        "d.circulated_to, d.signed, d.declaration_date, d.source, d.keyed_by, d.keyed_at "
        "FROM section_declarations d JOIN sections s ON s.id = d.section_id "
        "WHERE s.filing_id = ? AND d.id = (SELECT MAX(id) FROM section_declarations WHERE section_id = d.section_id) "
        "ORDER BY s.number", (filing_id,))


def add_declarations(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Record keyed declarations: (section_id, circulator_name, circulator_address,
    circulated_from, circulated_to, signed, declaration_date, source, keyed_by, keyed_at) each."""
    ws._many("INSERT INTO section_declarations (section_id, circulator_name, circulator_address, circulated_from, "
             "circulated_to, signed, declaration_date, source, keyed_by, keyed_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def signer_dates(ws: Workspace, filing_id: int) -> list[dict]:
    """Per section, the earliest and latest date signed keyed on its signed
    lines: section, first_signed, last_signed (ISO dates, None when none)."""
    return ws._rows(
        "SELECT s.number AS section, MIN(k.date_signed) AS first_signed, MAX(k.date_signed) AS last_signed "
        "FROM sections s JOIN lines l ON l.section_id = s.id AND l.state = 'signed' "
        "JOIN current_keyed k ON k.line_id = l.id "
        "WHERE s.filing_id = ? AND k.date_signed IS NOT NULL AND k.date_signed <> '' "
        "GROUP BY s.number ORDER BY s.number", (filing_id,))


def add_ruling(ws: Workspace, *, section_id: int, action: str, reason_code: str | None, reason: str,
               ruled_by: str, created_at: str) -> int:
    """Record a ruling on a whole section (``void`` or ``restore``); its id."""
    return ws._insert(
        "INSERT INTO section_rulings (section_id, action, reason_code, reason, ruled_by, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id", (section_id, action, reason_code, reason, ruled_by, created_at))


def rulings(ws: Workspace, filing_id: int) -> list[dict]:
    """Every ruling on the filing's sections, oldest first: id, section,
    action, reason_code, reason, ruled_by, created_at."""
    return ws._rows(
        "SELECT r.id, s.number AS section, r.action, r.reason_code, r.reason, r.ruled_by, r.created_at "
        "FROM section_rulings r JOIN sections s ON s.id = r.section_id WHERE s.filing_id = ? ORDER BY r.id",
        (filing_id,))


def batch_signed_labels(ws: Workspace, filing_id: int, batch: int) -> list[str]:
    """Labels of the signed lines of one batch, in filing order (that batch's frame)."""
    return [r["label"] for r in ws._rows(
        "SELECT l.label FROM lines l JOIN sections s ON s.id = l.section_id "
        "WHERE l.filing_id = ? AND l.state = 'signed' AND s.batch = ? ORDER BY l.seq", (filing_id, batch))]


def batches(ws: Workspace, filing_id: int) -> list[int]:
    """The batch numbers the filing's sections came in (empty: the filing is one frame)."""
    return [r["batch"] for r in ws._rows("SELECT DISTINCT batch FROM sections WHERE filing_id = ? AND batch IS NOT "
                                         "NULL ORDER BY batch", (filing_id,))]


def voided_sections(ws: Workspace, filing_id: int) -> dict[int, str]:
    """Section number -> reason code, for the filing's sections whose latest
    ruling voids them (a later ``restore`` takes a section out)."""
    return {r["section"]: r["reason_code"] for r in ws._rows(
        "SELECT s.number AS section, r.action, r.reason_code FROM section_rulings r "
        "JOIN sections s ON s.id = r.section_id WHERE s.filing_id = ? "
        "AND r.id = (SELECT MAX(id) FROM section_rulings WHERE section_id = r.section_id)", (filing_id,))
        if r["action"] == "void"}


def unbatched_sections(ws: Workspace, filing_id: int) -> int:
    """How many of the filing's sections came in no batch."""
    return int(ws._scalar("SELECT COUNT(*) FROM sections WHERE filing_id = ? AND batch IS NULL", (filing_id,)) or 0)
