"""Named reads for checking the state that decides the count against the
event chain (:mod:`petitions.integrity`)."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def events_of_kinds(ws: Workspace, kinds: tuple[str, ...]) -> list[dict]:
    """Events of the given kinds, oldest first: id, user, kind, line_id, payload_json."""
    marks = ", ".join("?" * len(kinds))
    return ws._rows(f'SELECT id, "user", kind, filing_id, line_id, payload_json FROM events WHERE kind IN ({marks}) '
                    "ORDER BY id", kinds)


def rulings(ws: Workspace) -> list[dict]:
    """Every ruling with its line's label."""
    return ws._rows('SELECT r.id, r.line_id, l.label, r."user", r.kind, r.action, r.reason_code, r.note, '
                    "r.supersedes FROM rulings r JOIN lines l ON l.id = r.line_id ORDER BY r.id")


def determinations(ws: Workspace) -> list[dict]:
    """Every determination (line_id, determination, level, reasons_json, inputs_json, created_at)."""
    return ws._rows("SELECT id, line_id, determination, level, reasons_json, inputs_json, created_at "
                    "FROM determinations ORDER BY id")


def samples(ws: Workspace) -> list[dict]:
    """Every sample row."""
    return ws._rows("SELECT id, filing_id, purpose, round, seed, frame_hash, frame_size, size, batch FROM samples "
                    "ORDER BY id")


def sample_items(ws: Workspace) -> list[dict]:
    """Every sample item with its line's label."""
    return ws._rows("SELECT i.sample_id, i.line_id, l.label, i.rank, i.ticket FROM sample_items i "
                    "JOIN lines l ON l.id = i.line_id ORDER BY i.sample_id, i.rank")


def documents(ws: Workspace) -> list[dict]:
    """Every stored scan: id, path, stored_path, sha256."""
    return ws._rows("SELECT id, path, stored_path, sha256 FROM documents ORDER BY id")


def image_hashes(ws: Workspace) -> list[str]:
    """Every image the store names (line crops, the pages' declaration field crops, exemplars)."""
    import json

    rows = ws._rows("SELECT signature_hash AS h FROM lines WHERE signature_hash IS NOT NULL "
                    "UNION SELECT name_hash FROM lines WHERE name_hash IS NOT NULL "
                    "UNION SELECT address_hash FROM lines WHERE address_hash IS NOT NULL "
                    "UNION SELECT image_hash FROM exemplars")
    out = [r["h"] for r in rows]
    seen = set(out)
    for r in ws._rows("SELECT fields_json FROM pages WHERE fields_json IS NOT NULL"):
        for h in (json.loads(r["fields_json"]) or {}).values():
            if isinstance(h, str) and h not in seen:
                seen.add(h)
                out.append(h)
    return out


def blob_digests(ws: Workspace) -> list[dict]:
    """On a server: every stored file's key, its recorded SHA-256 and the SHA-256 of its bytes."""
    return ws._rows("SELECT key, sha256, encode(sha256(data), 'hex') AS actual FROM blobs ORDER BY key")


def section_rulings(ws: Workspace) -> list[dict]:
    """Every ruling on a whole section: id, filing_id, section (number), action, reason_code, ruled_by."""
    return ws._rows("SELECT r.id, s.filing_id, s.number AS section, r.action, r.reason_code, r.ruled_by "
                    "FROM section_rulings r JOIN sections s ON s.id = r.section_id ORDER BY r.id")


def fraud_scans(ws: Workspace) -> list[dict]:
    """Every same-hand scan (id, filing_id, flagged) with its flagged line ids."""
    scans = ws._rows("SELECT id, filing_id, flagged FROM fraud_scans ORDER BY id")
    lines: dict[int, set[int]] = {}
    for r in ws._rows("SELECT c.scan_id, cl.line_id FROM fraud_cluster_lines cl "
                      "JOIN fraud_clusters c ON c.id = cl.cluster_id"):
        lines.setdefault(int(r["scan_id"]), set()).add(int(r["line_id"]))
    return [{**s, "lines": sorted(lines.get(int(s["id"]), ()))} for s in scans]
