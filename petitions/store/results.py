"""Named reads and writes: what the stages computed (matches, signature
scores, determinations) and the work each stage has not done yet."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace


def pending_match_lines(ws: Workspace, filing_id: int, voter_file_id: int, model_version: str,
                        operating_point: str) -> list[dict]:
    """Signed lines whose current keyed entry has no match under exactly these inputs:
    voter file, keyed entry, matcher model version and operating point (line_id, keyed_id,
    name, address, city, zip, date_signed), in filing order."""
    return ws._rows(
        "SELECT l.id AS line_id, k.id AS keyed_id, k.name, k.address, k.city, k.zip, k.date_signed "
        "FROM lines l JOIN current_keyed k ON k.line_id = l.id "
        "LEFT JOIN current_match m ON m.line_id = l.id "
        "WHERE l.filing_id = ? AND l.state = 'signed' AND (m.line_id IS NULL OR m.voter_file_id != ? "
        "   OR m.keyed_id IS NULL OR m.keyed_id != k.id OR m.model_version != ? "
        "   OR m.operating_point IS NULL OR m.operating_point != ?) "
        "ORDER BY l.seq", (filing_id, voter_file_id, model_version, operating_point))


def add_matches(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Record matches: (line_id, run_id, voter_file_id, keyed_id, voter_id, score, status, reason, name_level,
    address_level, candidates_json, details_json, model_version, operating_point) each."""
    ws._many(
        "INSERT INTO matches (line_id, run_id, voter_file_id, keyed_id, voter_id, score, status, reason, name_level, "
        "address_level, candidates_json, details_json, model_version, operating_point) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def pending_signature_lines(ws: Workspace, filing_id: int, model_version: str) -> list[dict]:
    """Matched signed lines without a signature score for their current candidate voter under
    this verifier model version (line_id, signature_hash, voter_id), in filing order."""
    return ws._rows(
        "SELECT l.id AS line_id, l.signature_hash, m.voter_id FROM lines l "
        "JOIN current_match m ON m.line_id = l.id "
        "LEFT JOIN current_signature s ON s.line_id = l.id "
        "WHERE l.filing_id = ? AND l.state = 'signed' AND m.voter_id IS NOT NULL "
        "AND (s.line_id IS NULL OR s.voter_id IS NULL OR s.voter_id != m.voter_id OR s.model_version != ?) "
        "ORDER BY l.seq",
        (filing_id, model_version))


def add_signature_scores(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Record signature scores: (line_id, run_id, voter_id, score, decision, reason, family_json,
    n_exemplars, best_exemplar_hash, model_version) each."""
    ws._many(
        "INSERT INTO signature_scores (line_id, run_id, voter_id, score, decision, reason, family_json, "
        "n_exemplars, best_exemplar_hash, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def triage_rows(ws: Workspace, filing_id: int) -> list[dict]:
    """Every line of the filing with its current keyed entry, match and signature score, in filing
    order (line_id, label, seq, state, has_keyed, date_signed, match_*, voter_id, sig_*)."""
    return ws._rows(
        "SELECT l.id AS line_id, l.label, l.seq, l.state, "
        "  CASE WHEN k.id IS NOT NULL AND (COALESCE(k.name, '') != '' OR COALESCE(k.address, '') != '') "
        "       THEN 1 ELSE 0 END AS has_keyed, "
        "  k.date_signed, m.status AS match_status, m.reason AS match_reason, m.score AS match_score, m.voter_id, "
        "  s.score AS sig_score, s.decision AS sig_decision, s.reason AS sig_reason, s.voter_id AS sig_voter_id "
        "FROM lines l LEFT JOIN current_keyed k ON k.line_id = l.id "
        "LEFT JOIN current_match m ON m.line_id = l.id "
        "LEFT JOIN current_signature s ON s.line_id = l.id "
        "WHERE l.filing_id = ? ORDER BY l.seq", (filing_id,))


#: A page the segmenter marked ``check``, as its canonical segmentation JSON
#: says it (sorted keys, no spaces), for ``LIKE``.
LAYOUT_CHECK_LIKE = '%"check":true%'


def layout_check_lines(ws: Workspace, filing_id: int) -> set[int]:
    """Ids of the filing's lines on pages whose layout fit was confident but
    not certain (``"check":true`` in the page's canonical segmentation JSON)."""
    return {r["id"] for r in ws._rows(
        "SELECT l.id FROM lines l JOIN pages p ON p.id = l.page_id "
        "WHERE l.filing_id = ? AND p.segmentation_json LIKE ?", (filing_id, LAYOUT_CHECK_LIKE))}


def current_determinations(ws: Workspace, filing_id: int) -> list[dict]:
    """The current determination of every determined line of the filing
    (line_id, determination, reasons_json, inputs_json, level)."""
    return ws._rows(
        "SELECT d.line_id, d.determination, d.reasons_json, d.inputs_json, d.level FROM current_determination d "
        "JOIN lines l ON l.id = d.line_id WHERE l.filing_id = ?", (filing_id,))


def add_determinations(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Record determinations: (line_id, determination, level, reasons_json, inputs_json, ruleset_id,
    ruleset_version, created_at) each."""
    ws._many(
        "INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, ruleset_id, "
        "ruleset_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def chosen_voters(ws: Workspace, filing_id: int) -> list[dict]:
    """Lines whose ruling in force names a voter a person chose by lookup
    (``line_id``, ``shown_json`` holding ``chosen_voter_id``)."""
    return ws._rows(
        "SELECT r.line_id, r.shown_json FROM current_ruling r JOIN lines l ON l.id = r.line_id "
        "WHERE l.filing_id = ? AND r.shown_json LIKE ?", (filing_id, '%"chosen_voter_id"%'))


def withdrawn_lines(ws: Workspace, filing_id: int) -> list[int]:
    """Ids of the filing's lines a withdrawal request names."""
    return [r["line_id"] for r in ws._rows(
        "SELECT DISTINCT line_id FROM withdrawals WHERE filing_id = ? AND line_id IS NOT NULL", (filing_id,))]
