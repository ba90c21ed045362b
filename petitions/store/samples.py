"""Named reads and writes of random samples: the frame, the rounds drawn and their items."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace

# Rounds a supervisor voided stay on record but are no longer the sample.
_LIVE = " AND s.id NOT IN (SELECT sample_id FROM sample_voids)"


def signed_labels(ws: Workspace, filing_id: int) -> list[str]:
    """Labels of the filing's signed lines in filing order (the sampling frame)."""
    return [r["label"] for r in ws._rows(
        "SELECT label FROM lines WHERE filing_id = ? AND state = 'signed' ORDER BY seq", (filing_id,))]


def line_ids_by_label(ws: Workspace, filing_id: int) -> dict[str, int]:
    """Every line of the filing: its label mapped to its database id."""
    return {r["label"]: r["id"] for r in ws._rows("SELECT label, id FROM lines WHERE filing_id = ?", (filing_id,))}


def samples(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's drawn samples (every round, both purposes), by purpose then round."""
    return ws._rows("SELECT s.id, s.purpose, s.batch, s.round, s.seed, s.frame_hash, s.frame_size, s.size, s.created_at, "
                    "s.created_by, v.voided_at, v.voided_by, v.reason AS void_reason FROM samples s "
                    "LEFT JOIN sample_voids v ON v.sample_id = s.id WHERE s.filing_id = ? "
                    "ORDER BY s.purpose, s.id", (filing_id,))


# The batch a sample's frame is (0: the filing as one frame, NULL in the table).
_BATCH = " AND COALESCE(s.batch, 0) = ?"


def rounds(ws: Workspace, filing_id: int, purpose: str, batch: int | None = None) -> list[dict]:
    """The rounds in force for one purpose (voided ones left out) of the
    filing's one frame, or of `batch`'s frame; first round first:
    id, round, seed, frame_hash, frame_size, created_at, created_by."""
    return ws._rows("SELECT s.id, s.round, s.seed, s.frame_hash, s.frame_size, s.created_at, s.created_by "
                    "FROM samples s WHERE s.filing_id = ? AND s.purpose = ?" + _LIVE + _BATCH + " ORDER BY s.round",
                    (filing_id, purpose, batch or 0))


def drawn_labels(ws: Workspace, filing_id: int, purpose: str, batch: int | None = None) -> list[str]:
    """Labels of the lines already drawn for one purpose (of one frame), in rank order."""
    return [r["label"] for r in ws._rows(
        "SELECT l.label FROM sample_items i JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = ?" + _LIVE + _BATCH + " ORDER BY i.rank",
        (filing_id, purpose, batch or 0))]


def items(ws: Workspace, filing_id: int, purpose: str, batch: int | None = None, *,
          every_batch: bool = False) -> list[dict]:
    """The drawn lines of one purpose (of one frame, or of every batch's
    frame) in rank order: line_db_id, line_id (label), rank, ticket, round, batch."""
    where = "" if every_batch else _BATCH
    params = (filing_id, purpose) if every_batch else (filing_id, purpose, batch or 0)
    return ws._rows(
        "SELECT i.line_id AS line_db_id, l.label AS line_id, i.rank, i.ticket, s.round, s.batch FROM sample_items i "
        "JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = ?" + _LIVE + where + " ORDER BY s.batch, i.rank", params)


def published_items(ws: Workspace, filing_id: int) -> list[dict]:
    """The count sample as published (every batch's, by batch): round, rank,
    line_id (label), ticket, seed, frame_hash, frame_size, batch (None for one frame)."""
    return ws._rows(
        "SELECT s.round, i.rank, l.label AS line_id, i.ticket, s.seed, s.frame_hash, s.frame_size, s.batch "
        "FROM sample_items i JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = 'count'" + _LIVE + " ORDER BY s.batch, i.rank", (filing_id,))


def add_sample(ws: Workspace, *, filing_id: int, purpose: str, round_no: int, seed: str, frame_hash: str,
               frame_size: int, size: int, params_json: str, created_at: str, created_by: str,
               batch: int | None = None) -> int:
    """Record one drawn round (of `batch`'s frame when the filing comes in batches); its id."""
    return ws._insert(
        "INSERT INTO samples (filing_id, purpose, round, seed, frame_hash, frame_size, size, params_json, "
        "created_at, created_by, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (filing_id, purpose, round_no, seed, frame_hash, frame_size, size, params_json, created_at, created_by,
         batch))


def add_items(ws: Workspace, rows: Sequence[tuple[int, int, int, str]]) -> None:
    """Record a round's drawn lines: (sample_id, line_db_id, rank, ticket) each."""
    ws._many("INSERT INTO sample_items (sample_id, line_id, rank, ticket) VALUES (?, ?, ?, ?)", rows)


def signed_line_ids(ws: Workspace, filing_id: int) -> list[int]:
    """Database ids of the filing's signed lines, in filing order."""
    return [r["id"] for r in ws._rows(
        "SELECT id FROM lines WHERE filing_id = ? AND state = 'signed' ORDER BY seq", (filing_id,))]


def add_frame_lines(ws: Workspace, sample_id: int, line_ids: Sequence[int]) -> None:
    """Freeze a first round's frame: the signed lines it was drawn from."""
    ws._many("INSERT INTO frame_lines (sample_id, line_id) VALUES (?, ?)", [(sample_id, i) for i in line_ids])


def frame_line_ids(ws: Workspace, sample_id: int) -> list[int]:
    """The line ids of a round's frozen frame (empty for samples drawn before frames were stored).

    A frame is written once, with its sample, in the same transaction: it is
    kept on the connection after the first read (every count refresh asks)."""
    key = ("frame_lines", sample_id)
    if key not in ws.memo:
        ws.memo[key] = [r[0] for r in ws._tuples("SELECT line_id FROM frame_lines WHERE sample_id = ?",
                                                 (sample_id,))[1]]
    return list(ws.memo[key])


def void_samples(ws: Workspace, sample_ids: Sequence[int], *, voided_at: str, voided_by: str, reason: str) -> None:
    """Record that rounds are voided (they stay on record)."""
    ws._many("INSERT INTO sample_voids (sample_id, voided_at, voided_by, reason) VALUES (?, ?, ?, ?)",
             [(i, voided_at, voided_by, reason) for i in sample_ids])
