"""The keying queue: lines waiting for their printed name and address.
"""
from __future__ import annotations

from dataclasses import dataclass

from petitions.errors import UserError
from petitions.store import Workspace
from petitions.store import review as review_db


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


def _keying_line(r: dict) -> KeyingLine:
    keyed = ({k: r[k] for k in ("name", "address", "city", "zip", "date_signed")}
             if r["keyed_id"] is not None else None)
    return KeyingLine(r["id"], r["label"], r["section"], r["page"], r["number"], r["name_hash"],
                      r["address_hash"], r["signature_hash"], keyed)


def keying_queue(ws: Workspace, filing_id: int) -> list[KeyingLine]:
    """Signed lines of the filing with nothing keyed yet, in filing order."""
    return [_keying_line(r) for r in review_db.unkeyed_lines(ws, filing_id)]


def keying_line(ws: Workspace, line_db_id: int | str, *, filing_id: int | None = None) -> KeyingLine:
    """One line to key (or re-key), by database id or label (``S001-P02-L07``,
    with `filing_id`)."""
    if isinstance(line_db_id, str) and not line_db_id.isdigit():
        row = review_db.keying_row_by_label(ws, filing_id, line_db_id.strip().upper())
    else:
        row = review_db.keying_row(ws, int(line_db_id))
    if row is None:
        raise UserError(f"no line {line_db_id!r} in this filing")
    return _keying_line(row)

