"""The keying queue: lines waiting for their printed name and address.
"""
from __future__ import annotations

from dataclasses import dataclass

from petitions.errors import UserError
from petitions.store import Workspace


@dataclass(frozen=True)
class KeyingLine:
    """A line to key by hand: its printed-name and address crops and what is
    keyed for it so far (None when nothing came with the scans)."""

    line_db_id: int
    label: str
    section: int
    page: int | None
    number: int
    name_hash: str | None
    address_hash: str | None
    signature_hash: str | None
    keyed: dict | None


_KEYING_SQL = (
    "SELECT l.id, l.label, s.number AS section, p.number AS page, l.number, l.name_hash, l.address_hash, "
    "l.signature_hash, k.id AS keyed_id, k.name, k.address, k.city, k.zip, k.date_signed FROM lines l "
    "JOIN sections s ON s.id = l.section_id LEFT JOIN pages p ON p.id = l.page_id "
    "LEFT JOIN current_keyed k ON k.line_id = l.id ")


def _keying_line(r: dict) -> KeyingLine:
    keyed = ({k: r[k] for k in ("name", "address", "city", "zip", "date_signed")}
             if r["keyed_id"] is not None else None)
    return KeyingLine(r["id"], r["label"], r["section"], r["page"], r["number"], r["name_hash"],
                      r["address_hash"], r["signature_hash"], keyed)


def keying_queue(ws: Workspace, filing_id: int) -> list[KeyingLine]:
    """Signed lines of the filing with nothing keyed yet, in filing order."""
    rows = ws.query(_KEYING_SQL + "WHERE l.filing_id = ? AND l.state = 'signed' AND k.id IS NULL ORDER BY l.seq",
                    (filing_id,))
    return [_keying_line(r) for r in rows]


def keying_line(ws: Workspace, line_db_id: int | str, *, filing_id: int | None = None) -> KeyingLine:
    """One line to key (or re-key), by database id or label (``S001-P02-L07``,
    with `filing_id`)."""
    if isinstance(line_db_id, str) and not line_db_id.isdigit():
        rows = ws.query(_KEYING_SQL + "WHERE l.label = ? AND l.filing_id = ?", (line_db_id.strip().upper(), filing_id))
    else:
        rows = ws.query(_KEYING_SQL + "WHERE l.id = ?", (int(line_db_id),))
    if not rows:
        raise UserError(f"no line {line_db_id!r} in this filing")
    return _keying_line(rows[0])

