"""Named reads and writes: same-hand scans (issue 21), their clusters of
lines that one hand likely wrote, and which lines the scan in force flags.

A scan covers one filing (``filing_id``) or every filing of the workspace
(``filing_id`` NULL). For a filing, the scan in force is the newest scan
that covered it; its clusters' lines are the ones triage sends to review
with the reason ``same_hand``.
"""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace

__all__ = ["scan_lines", "add_scan", "add_cluster", "add_cluster_lines", "current_scan_id", "scan_event",
           "flagged_lines",
           "clusters_of_filing", "cluster", "cluster_lines", "filings_of_scan"]


def scan_lines(ws: Workspace, filing_id: int | None) -> list[dict]:
    """Signed lines with a signature crop, of one filing or of every filing
    (line_id, filing_id, section_id, section, circulator, label, signature_hash), in filing order."""
    sql = ("SELECT l.id AS line_id, l.filing_id, l.section_id, s.number AS section, s.circulator_name AS circulator, "
           "l.label, l.signature_hash FROM lines l JOIN sections s ON s.id = l.section_id "
           "WHERE l.state = 'signed' AND l.signature_hash IS NOT NULL")
    if filing_id is None:
        return ws._rows(sql + " ORDER BY l.filing_id, l.seq")
    return ws._rows(sql + " AND l.filing_id = ? ORDER BY l.seq", (filing_id,))


def add_scan(ws: Workspace, *, filing_id: int | None, model_version: str, embedding_version: str, params_json: str,
             lines: int, clusters: int, flagged: int, created_at: str, created_by: str) -> int:
    """Record a scan; its id."""
    return ws._insert(
        "INSERT INTO fraud_scans (filing_id, model_version, embedding_version, params_json, lines, clusters, flagged, "
        "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (filing_id, model_version, embedding_version, params_json, lines, clusters, flagged, created_at, created_by))


def add_cluster(ws: Workspace, scan_id: int, number: int, scope: str, score: float, size: int,
                evidence_json: str) -> int:
    """Record one cluster of a scan; its id."""
    return ws._insert(
        "INSERT INTO fraud_clusters (scan_id, number, scope, score, size, evidence_json) VALUES (?, ?, ?, ?, ?, ?) "
        "RETURNING id", (scan_id, number, scope, score, size, evidence_json))


def add_cluster_lines(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Record (cluster_id, line_id, filing_id, strength) rows."""
    ws._many("INSERT INTO fraud_cluster_lines (cluster_id, line_id, filing_id, strength) VALUES (?, ?, ?, ?)", rows)


def current_scan_id(ws: Workspace, filing_id: int) -> int | None:
    """The newest scan that covered the filing (None: never scanned)."""
    v = ws._scalar("SELECT MAX(id) FROM fraud_scans WHERE filing_id = ? OR filing_id IS NULL", (filing_id,))
    return int(v) if v is not None else None


def scan_event(ws: Workspace, scan_id: int) -> dict | None:
    """The payload of the ``same_hand_scan`` event that recorded scan `scan_id` (None: none found)."""
    import json

    for r in ws._rows("SELECT payload_json FROM events WHERE kind = 'same_hand_scan' ORDER BY id DESC"):
        payload = json.loads(r["payload_json"] or "{}")
        if payload.get("scan_id") == scan_id:
            return payload
    return None


def flagged_lines(ws: Workspace, filing_id: int) -> dict[int, str]:
    """The filing's lines in a cluster of the scan in force: line id -> ``'scan.cluster'``."""
    scan = current_scan_id(ws, filing_id)
    if scan is None:
        return {}
    rows = ws._rows(
        "SELECT cl.line_id, c.number FROM fraud_cluster_lines cl JOIN fraud_clusters c ON c.id = cl.cluster_id "
        "WHERE c.scan_id = ? AND cl.filing_id = ?", (scan, filing_id))
    return {int(r["line_id"]): f"{scan}.{r['number']}" for r in rows}


def clusters_of_filing(ws: Workspace, filing_id: int) -> list[dict]:
    """Clusters of the scan in force with lines in the filing (id, scan_id, number, scope, score, size,
    evidence_json, lines_here), strongest evidence first as the scan numbered them."""
    scan = current_scan_id(ws, filing_id)
    if scan is None:
        return []
    return ws._rows(
        "SELECT c.id, c.scan_id, c.number, c.scope, c.score, c.size, c.evidence_json, COUNT(cl.line_id) AS lines_here "
        "FROM fraud_clusters c JOIN fraud_cluster_lines cl ON cl.cluster_id = c.id "
        "WHERE c.scan_id = ? AND cl.filing_id = ? "
        "GROUP BY c.id, c.scan_id, c.number, c.scope, c.score, c.size, c.evidence_json ORDER BY c.number",
        (scan, filing_id))


def cluster(ws: Workspace, cluster_id: int) -> dict | None:
    """One cluster (id, scan_id, number, scope, score, size, evidence_json, created_at, created_by)."""
    return ws._one(
        "SELECT c.id, c.scan_id, c.number, c.scope, c.score, c.size, c.evidence_json, s.created_at, s.created_by "
        "FROM fraud_clusters c JOIN fraud_scans s ON s.id = c.scan_id WHERE c.id = ?", (cluster_id,))


def cluster_lines(ws: Workspace, cluster_id: int) -> list[dict]:
    """A cluster's lines (line_id, filing_id, label, section, circulator, signature_hash, strength, voter_id of the
    current match), in filing order."""
    return ws._rows(
        "SELECT cl.line_id, cl.filing_id, l.label, s.number AS section, s.circulator_name AS circulator, "
        "l.signature_hash, cl.strength, m.voter_id FROM fraud_cluster_lines cl "
        "JOIN lines l ON l.id = cl.line_id JOIN sections s ON s.id = l.section_id "
        "LEFT JOIN current_match m ON m.line_id = l.id WHERE cl.cluster_id = ? ORDER BY cl.filing_id, l.seq",
        (cluster_id,))


def filings_of_scan(ws: Workspace, scan_id: int) -> list[int]:
    """Filings with lines in the scan's clusters."""
    return [int(r["filing_id"]) for r in ws._rows(
        "SELECT DISTINCT cl.filing_id FROM fraud_cluster_lines cl JOIN fraud_clusters c ON c.id = cl.cluster_id "
        "WHERE c.scan_id = ? ORDER BY cl.filing_id", (scan_id,))]
