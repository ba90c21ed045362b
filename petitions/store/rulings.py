"""Named reads and writes of people's rulings and of what they resolve against.

Rulings are append-only (triggers refuse UPDATE and DELETE): the only write
here is :func:`insert_ruling`. Callers hold the transaction and log the
event beside it.

``user`` is a reserved word in PostgreSQL (a bare ``user`` there is the
session's login, not the column), so the column is always written quoted:
``"user"``, which SQLite reads the same way.
"""
from __future__ import annotations

from typing import Any

from petitions.store.workspace import Workspace, canonical_json, now_utc


def line_ref(ws: Workspace, line_id: int) -> dict | None:
    """The line's ``filing_id`` and ``label``, or None when there is no such line."""
    return ws._one("SELECT filing_id, label FROM lines WHERE id = ?", (line_id,))


def ruleset_json_of_line(ws: Workspace, line_id: int) -> str | None:
    """The rule set (JSON) of the filing the line belongs to."""
    return ws._scalar("SELECT f.ruleset_json FROM lines l JOIN filings f ON f.id = l.filing_id WHERE l.id = ?",
                      (line_id,))


def determination_of_line(ws: Workspace, line_id: int) -> dict | None:
    """The line's determination in force: ``determination``, ``reasons_json``; None if never triaged."""
    return ws._one("SELECT determination, reasons_json FROM current_determination WHERE line_id = ?", (line_id,))


def latest_ruling_id(ws: Workspace, line_id: int) -> int | None:
    """The id of the line's newest non-audit ruling (None: nobody has ruled)."""
    return ws._scalar("SELECT MAX(id) FROM rulings WHERE line_id = ? AND kind != 'audit'", (line_id,))


def ruling(ws: Workspace, ruling_id: int) -> dict | None:
    """One ruling: ``id``, ``line_id``, ``user``, ``kind``, ``action``, ``reason_code``, ``supersedes``."""
    return ws._one('SELECT id, line_id, "user", kind, action, reason_code, supersedes FROM rulings WHERE id = ?',
                   (ruling_id,))


def line_rulings(ws: Workspace, line_id: int) -> list[dict]:
    """The line's non-audit rulings in order: ``id``, ``user``, ``role``, ``kind``, ``action``, ``reason_code``."""
    return ws._rows('SELECT id, "user", role, kind, action, reason_code FROM rulings '
                    "WHERE line_id = ? AND kind != 'audit' ORDER BY id", (line_id,))


def filing_rulings(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's non-audit rulings in order: ``id``, ``line_id``, ``user``, ``kind``, ``action``, ``reason_code``."""
    return ws._rows('SELECT r.id, r.line_id, r."user", r.kind, r.action, r.reason_code FROM rulings r '
                    "JOIN lines l ON l.id = r.line_id WHERE l.filing_id = ? AND r.kind != 'audit' ORDER BY r.id",
                    (filing_id,))


def insert_ruling(ws: Workspace, line_id: int, *, user: str, role: str, kind: str, action: str,
                  reason_code: str | None, note: str | None, shown: dict[str, Any] | None,
                  supersedes: int | None) -> int:
    """Append one ruling (``shown``: what the person saw, stored as canonical JSON); its id."""
    return ws._insert(
        'INSERT INTO rulings (line_id, "user", role, kind, action, reason_code, note, shown_json, supersedes, created_at) '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (line_id, user, role, kind, action, reason_code, note, canonical_json(shown or {}), supersedes, now_utc()))


def lock_line(ws: Workspace, line_id: int) -> None:
    """One ruling at a time on a line, until the transaction ends (SQLite's
    BEGIN IMMEDIATE already serialises every writer)."""
    ws._lock(line_id, 1)
