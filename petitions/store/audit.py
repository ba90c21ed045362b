"""Named reads and writes of the supervisors' QA audit: its sample rounds,
blind cases, audit rulings and the routing of disagreements.

An audit ruling itself is :func:`petitions.store.rulings.insert_ruling`
(``kind = 'audit'``). Callers hold the transaction and log the event.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from petitions.store.review import decode_candidates
from petitions.store.workspace import Workspace, canonical_json, now_utc


def filing_lines(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's lines in filing order: ``id``, ``label``."""
    return ws._rows("SELECT id, label FROM lines WHERE filing_id = ? ORDER BY seq", (filing_id,))


def filing_determinations(ws: Workspace, filing_id: int) -> list[dict]:
    """The determination in force of each triaged line: ``line_id``, ``determination``, ``reasons_json``."""
    return ws._rows("SELECT d.line_id, d.determination, d.reasons_json FROM current_determination d "
                    "JOIN lines l ON l.id = d.line_id WHERE l.filing_id = ?", (filing_id,))


def determination_history(ws: Workspace, filing_id: int) -> list[dict]:
    """Every determination ever stored for the filing's lines, oldest first:
    ``line_id``, ``determination``, ``reasons_json``, ``created_at``."""
    return ws._rows("SELECT d.line_id, d.determination, d.reasons_json, d.created_at FROM determinations d "
                    "JOIN lines l ON l.id = d.line_id WHERE l.filing_id = ? ORDER BY d.id", (filing_id,))


# -- the sample --------------------------------------------------------------
def qa_seeds(ws: Workspace, filing_id: int) -> list[dict]:
    """The seeds the filing's QA rounds were drawn with: ``seed``, ``last`` (its latest round)."""
    return ws._rows("SELECT seed, MAX(round) AS last FROM samples WHERE filing_id = ? AND purpose = 'qa' "
                    "GROUP BY seed", (filing_id,))


def qa_sampled_labels(ws: Workspace, filing_id: int) -> set[str]:
    """Labels of every line drawn into the filing's QA sample in any round."""
    return {r["label"] for r in ws._rows(
        "SELECT l.label FROM sample_items i JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = 'qa'", (filing_id,))}


def qa_rounds(ws: Workspace, filing_id: int) -> list[dict]:
    """Each QA ``samples`` row of the filing: ``params_json``, ``size``."""
    return ws._rows("SELECT params_json, size FROM samples WHERE filing_id = ? AND purpose = 'qa'", (filing_id,))


def next_qa_round(ws: Workspace, filing_id: int) -> int:
    """The number the filing's next QA round gets (1 for the first)."""
    return int(ws._scalar("SELECT COALESCE(MAX(round), 0) + 1 FROM samples WHERE filing_id = ? AND purpose = 'qa'",
                          (filing_id,)))


def insert_qa_sample(ws: Workspace, filing_id: int, *, round_no: int, seed: str, frame_hash: str, frame_size: int,
                     size: int, params: dict[str, Any], user: str) -> int:
    """Write one population's part of a QA round (``params`` stored as canonical JSON); the sample's id."""
    return ws._insert(
        "INSERT INTO samples (filing_id, purpose, round, seed, frame_hash, frame_size, size, params_json, "
        "created_at, created_by) VALUES (?, 'qa', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (filing_id, round_no, seed, frame_hash, frame_size, size, canonical_json(params), now_utc(), user))


def insert_sample_items(ws: Workspace, sample_id: int, items: Sequence[tuple[int, int, str]]) -> None:
    """Write a sample's lines, each ``(line_id, rank, ticket)``."""
    ws._many("INSERT INTO sample_items (sample_id, line_id, rank, ticket) VALUES (?, ?, ?, ?)",
             [(sample_id, line_id, rank, ticket) for line_id, rank, ticket in items])


def qa_sample_rows(ws: Workspace, filing_id: int) -> list[dict]:
    """Every line drawn into the QA sample, by round and rank: ``line_db_id``,
    ``line_id`` (label), ``params_json``, ``round``, ``rank``, ``ticket``."""
    return ws._rows(
        "SELECT i.line_id AS line_db_id, l.label AS line_id, s.params_json, s.round, i.rank, i.ticket "
        "FROM sample_items i JOIN samples s ON s.id = i.sample_id JOIN lines l ON l.id = i.line_id "
        "WHERE s.filing_id = ? AND s.purpose = 'qa' ORDER BY s.round, s.id, i.rank", (filing_id,))


def in_qa_sample(ws: Workspace, line_id: int) -> bool:
    """Whether the line was drawn into its filing's QA sample."""
    return ws._scalar("SELECT 1 FROM sample_items i JOIN samples s ON s.id = i.sample_id "
                      "WHERE i.line_id = ? AND s.purpose = 'qa'", (line_id,)) is not None


# -- blind cases and audit rulings -------------------------------------------
def audit_rulings(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's audit rulings in order: ``id``, ``line_id``, ``user``, ``action``,
    ``reason_code``, ``note``, ``created_at``."""
    return ws._rows('SELECT r.id, r.line_id, r."user", r.action, r.reason_code, r.note, r.created_at FROM rulings r '
                    "JOIN lines l ON l.id = r.line_id WHERE l.filing_id = ? AND r.kind = 'audit' ORDER BY r.id",
                    (filing_id,))


def blind_case_rows(ws: Workspace, line_ids: Sequence[int]) -> list[dict]:
    """What an auditor may see of each line: crops' hashes, section/page
    numbers, the keyed entry (``keyed_id`` None when nothing is keyed), the
    matched ``voter_id`` and the other ``candidates`` (decoded)."""
    rows = ws._rows_in(
        "SELECT l.id, l.label, s.number AS section, p.number AS page, l.page_id, l.number, l.signature_hash, "
        "l.name_hash, l.address_hash, k.name, k.address, k.city, k.zip, k.date_signed, k.id AS keyed_id, "
        "m.voter_id, m.candidates_json FROM lines l JOIN sections s ON s.id = l.section_id "
        "LEFT JOIN pages p ON p.id = l.page_id LEFT JOIN current_keyed k ON k.line_id = l.id "
        "LEFT JOIN current_match m ON m.line_id = l.id WHERE l.id IN ({ids})", line_ids)
    for r in rows:
        r["candidates"] = decode_candidates(r.pop("candidates_json"))
    return rows


# -- routing disagreements back ----------------------------------------------
def routed_audit_ruling_ids(ws: Workspace, filing_id: int) -> set[Any]:
    """The audit rulings whose disagreement has already been routed back to review."""
    return {json.loads(r["payload_json"]).get("audit_ruling_id") for r in ws._rows(
        "SELECT payload_json FROM events WHERE kind = 'qa_disagreement_routed' AND filing_id = ?", (filing_id,))}


def ruled_since(ws: Workspace, line_id: int, ruling_id: int) -> bool:
    """Whether anyone has made a non-audit ruling on the line after ruling `ruling_id`."""
    return bool(ws._scalar("SELECT 1 FROM rulings WHERE line_id = ? AND kind != 'audit' AND id > ?",
                           (line_id, ruling_id)))


def insert_qa_determination(ws: Workspace, line_id: int, *, reasons: list[str], inputs: dict[str, Any],
                            ruleset_id: str, ruleset_version: str) -> int:
    """Store a ``needs_review`` determination at level ``qa_audit`` (no run); its id."""
    return ws._insert(
        "INSERT INTO determinations (line_id, run_id, determination, level, reasons_json, inputs_json, "
        "ruleset_id, ruleset_version, created_at) VALUES (?, NULL, 'needs_review', 'qa_audit', ?, ?, ?, ?, ?) "
        "RETURNING id",
        (line_id, canonical_json(reasons), canonical_json(inputs), ruleset_id, ruleset_version, now_utc()))
