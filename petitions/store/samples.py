"""Named reads and writes of random samples: the frame, the rounds drawn and their items."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace


def signed_labels(ws: Workspace, filing_id: int) -> list[str]:
    """Labels of the filing's signed lines in filing order (the sampling frame)."""
    return [r["label"] for r in ws._rows(
        "SELECT label FROM lines WHERE filing_id = ? AND state = 'signed' ORDER BY seq", (filing_id,))]


def line_ids_by_label(ws: Workspace, filing_id: int) -> dict[str, int]:
    """Every line of the filing: its label mapped to its database id."""
    return {r["label"]: r["id"] for r in ws._rows("SELECT label, id FROM lines WHERE filing_id = ?", (filing_id,))}


def samples(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's drawn samples (every round, both purposes), by purpose then round."""
    return ws._rows("SELECT id, purpose, round, seed, frame_hash, frame_size, size, created_at, created_by "
                    "FROM samples WHERE filing_id = ? ORDER BY purpose, round", (filing_id,))


def rounds(ws: Workspace, filing_id: int, purpose: str) -> list[dict]:
    """The rounds drawn for one purpose, first round first: id, round, seed, frame_hash."""
    return ws._rows("SELECT id, round, seed, frame_hash FROM samples WHERE filing_id = ? AND purpose = ? "
                    "ORDER BY round", (filing_id, purpose))


def drawn_labels(ws: Workspace, filing_id: int, purpose: str) -> list[str]:
    """Labels of the lines already drawn for one purpose, in rank order."""
    return [r["label"] for r in ws._rows(
        "SELECT l.label FROM sample_items i JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = ? ORDER BY i.rank", (filing_id, purpose))]


def items(ws: Workspace, filing_id: int, purpose: str) -> list[dict]:
    """The drawn lines of one purpose in rank order: line_db_id, line_id (label), rank, ticket, round."""
    return ws._rows(
        "SELECT i.line_id AS line_db_id, l.label AS line_id, i.rank, i.ticket, s.round FROM sample_items i "
        "JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = ? ORDER BY i.rank", (filing_id, purpose))


def published_items(ws: Workspace, filing_id: int) -> list[dict]:
    """The count sample as published: round, rank, line_id (label), ticket, seed, frame_hash, frame_size."""
    return ws._rows(
        "SELECT s.round, i.rank, l.label AS line_id, i.ticket, s.seed, s.frame_hash, s.frame_size "
        "FROM sample_items i JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = 'count' ORDER BY i.rank", (filing_id,))


def add_sample(ws: Workspace, *, filing_id: int, purpose: str, round_no: int, seed: str, frame_hash: str,
               frame_size: int, size: int, params_json: str, created_at: str, created_by: str) -> int:
    """Record one drawn round; its id."""
    return ws._insert(
        "INSERT INTO samples (filing_id, purpose, round, seed, frame_hash, frame_size, size, params_json, "
        "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (filing_id, purpose, round_no, seed, frame_hash, frame_size, size, params_json, created_at, created_by))


def add_items(ws: Workspace, rows: Sequence[tuple[int, int, int, str]]) -> None:
    """Record a round's drawn lines: (sample_id, line_db_id, rank, ticket) each."""
    ws._many("INSERT INTO sample_items (sample_id, line_id, rank, ticket) VALUES (?, ?, ?, ?)", rows)
