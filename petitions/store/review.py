"""Named reads for review: queues, a case, pages, the keying queue, voter
records and their signatures on file.

Review writes nothing here: a ruling is :func:`petitions.store.rulings.insert_ruling`.
"""
from __future__ import annotations

import json
from typing import Sequence

from petitions.store.workspace import Workspace
from petitions.store.results import LAYOUT_CHECK_LIKE


def decode_candidates(js: str | None) -> list[tuple[str, float | None]]:
    """The matcher's other candidates as ``(voter_id, score)``, whatever their
    stored shape (list of ids, of [id, score] pairs, or of {voter_id, score} dicts)."""
    if not js:
        return []
    try:
        data = json.loads(js)
    except ValueError:
        return []
    out = []
    for c in data if isinstance(data, list) else []:
        if isinstance(c, dict):
            vid = c.get("voter_id")
            out.append((str(vid) if vid is not None else None, c.get("score")))
        elif isinstance(c, (list, tuple)) and c:
            out.append((str(c[0]), c[1] if len(c) > 1 else None))
        elif isinstance(c, str):
            out.append((c, None))
    return [c for c in out if c[0]]


# -- voter records -----------------------------------------------------------
def active_voter_file(ws: Workspace) -> dict | None:
    """The active voter file's ``id`` and ``parquet_path`` (relative to the workspace), or None."""
    return ws._one("SELECT id, parquet_path FROM voter_files WHERE active = 1")


def reads_voters_through_server(ws: Workspace) -> bool:
    """True when this connection may not read the voter file itself: a
    reviewer's or auditor's login on a server (petitions.store.server)."""
    login = ws.login
    return login is not None and ws.user_role(login) != "supervisor"


def active_voter_rows(ws: Workspace) -> int:
    """How many voters the active voter file holds (0 without one)."""
    return int(ws._scalar("SELECT COALESCE(MAX(rows), 0) FROM voter_files WHERE active = 1") or 0)


def voter_records(ws: Workspace, voter_ids: Sequence[str]) -> list[dict]:
    """Display records of voters tied to the petition's lines, through the
    server's ``sigverify_voter_records`` (at most 50 ids a call; others are
    left out)."""
    out: list[dict] = []
    ids = list(dict.fromkeys(str(v) for v in voter_ids if v))
    for i in range(0, len(ids), 50):
        out += ws._rows("SELECT * FROM sigverify_voter_records(?)", (ids[i:i + 50],))
    return out


def lookup_voters(ws: Workspace, *, name: str, address: str, zip: str, limit: int) -> list[dict]:
    """A logged, bounded voter-file search on the server (``sigverify_lookup_voters``).
    Its refusals (no name or address, the hourly limit) are said plainly."""
    try:
        with ws.transaction():   # the look-up and its log row commit together
            return ws._rows("SELECT * FROM sigverify_lookup_voters(?, ?, ?, ?)", (name, address, zip, int(limit)))
    except Exception as exc:  # noqa: BLE001 - the server's refusal, in its words
        if getattr(exc, "sqlstate", None) in ("22023", "54000", "42501"):
            from petitions.errors import UserError

            raise UserError(exc.diag.message_primary or str(exc)) from None
        raise


def exemplars(ws: Workspace, voter_ids: Sequence[str]) -> dict[str, list[dict]]:
    """Each voter's signatures on file (``image_hash``, ``captured_date``, ``source``), oldest first."""
    out: dict[str, list[dict]] = {}
    for r in ws._rows_in("SELECT voter_id, image_hash, captured_date, source FROM exemplars "
                         "WHERE voter_id IN ({ids}) ORDER BY voter_id, captured_date, id",
                         list(dict.fromkeys(v for v in voter_ids if v))):
        out.setdefault(r["voter_id"], []).append(r)
    return out


# -- one case ----------------------------------------------------------------
def case_line(ws: Workspace, line_id: int) -> dict | None:
    """The line with its section and page numbers and its crops' hashes, or None."""
    return ws._one(
        "SELECT l.id, l.label, l.filing_id, s.number AS section, p.number AS page, l.page_id, l.number, l.state, "
        "l.signature_hash, l.name_hash, l.address_hash FROM lines l JOIN sections s ON s.id = l.section_id "
        "LEFT JOIN pages p ON p.id = l.page_id WHERE l.id = ?", (line_id,))


def keyed_of_line(ws: Workspace, line_id: int) -> dict | None:
    """The line's keyed entry in force (name, address, city, zip, date_signed, source, keyed_by), or None."""
    return ws._one("SELECT name, address, city, zip, date_signed, source, keyed_by FROM current_keyed "
                   "WHERE line_id = ?", (line_id,))


def match_of_line(ws: Workspace, line_id: int) -> dict | None:
    """The line's match in force, its other candidates decoded as ``candidates``, or None."""
    row = ws._one("SELECT voter_id, score, status, reason, name_level, address_level, candidates_json "
                  "FROM current_match WHERE line_id = ?", (line_id,))
    if row is not None:
        row["candidates"] = decode_candidates(row.pop("candidates_json"))
    return row


def signature_of_line(ws: Workspace, line_id: int) -> dict | None:
    """The line's signature comparison in force (voter_id, score, decision, reason, best_exemplar_hash), or None."""
    return ws._one("SELECT voter_id, score, decision, reason, best_exemplar_hash FROM current_signature "
                   "WHERE line_id = ?", (line_id,))


def ruling_history(ws: Workspace, line_id: int) -> list[dict]:
    """Every ruling on the line, audits included, in order."""
    return ws._rows('SELECT id, "user", role, kind, action, reason_code, note, created_at FROM rulings '
                    "WHERE line_id = ? ORDER BY id", (line_id,))


def count_sample_rank(ws: Workspace, line_id: int) -> int | None:
    """The line's rank in its filing's count sample (None: not sampled)."""
    return ws._scalar("SELECT MIN(i.rank) FROM sample_items i JOIN samples s ON s.id = i.sample_id "
                      "WHERE i.line_id = ? AND s.purpose = 'count'", (line_id,))


def same_voter_lines(ws: Workspace, line_id: int, voter_id: str) -> list[dict]:
    """Other lines of the filing matched (or proposed) to `voter_id`, in filing order, with ``earlier`` (0/1)."""
    return ws._rows(
        "SELECT l.label, l.seq, m.status AS match_status, d.determination, "
        "CASE WHEN l.seq < (SELECT seq FROM lines WHERE id = ?) THEN 1 ELSE 0 END AS earlier "
        "FROM current_match m JOIN lines l ON l.id = m.line_id "
        "LEFT JOIN current_determination d ON d.line_id = l.id "
        "WHERE m.voter_id = ? AND m.status IN ('match', 'review') AND l.id != ? "
        "AND l.filing_id = (SELECT filing_id FROM lines WHERE id = ?) ORDER BY l.seq",
        (line_id, voter_id, line_id, line_id))


# -- queues ------------------------------------------------------------------
def count_sample_ranks(ws: Workspace, filing_id: int) -> dict[int, int]:
    """Each line of the filing's count sample: its rank."""
    return {r["line_id"]: r["rank"] for r in ws._rows(
        "SELECT i.line_id, MIN(i.rank) AS rank FROM sample_items i JOIN samples s ON s.id = i.sample_id "
        "WHERE s.filing_id = ? AND s.purpose = 'count' GROUP BY i.line_id", (filing_id,))}


def queue_images(ws: Workspace, line_ids: Sequence[int]) -> list[dict]:
    """Per line: ``id``, ``signature_hash``, the matched ``voter_id`` and the ``best_exemplar_hash`` it scored against."""
    return ws._rows_in(
        "SELECT l.id, l.signature_hash, m.voter_id, s.best_exemplar_hash FROM lines l "
        "LEFT JOIN current_match m ON m.line_id = l.id LEFT JOIN current_signature s ON s.line_id = l.id "
        "WHERE l.id IN ({ids})", line_ids)


# -- keying ------------------------------------------------------------------
_KEYING_SQL = (
    "SELECT l.id, l.label, s.number AS section, p.number AS page, l.number, l.name_hash, l.address_hash, "
    "l.signature_hash, k.id AS keyed_id, k.name, k.address, k.city, k.zip, k.date_signed FROM lines l "
    "JOIN sections s ON s.id = l.section_id LEFT JOIN pages p ON p.id = l.page_id "
    "LEFT JOIN current_keyed k ON k.line_id = l.id ")


def unkeyed_lines(ws: Workspace, filing_id: int) -> list[dict]:
    """Signed lines of the filing with nothing keyed yet, in filing order, as keying rows."""
    return ws._rows(_KEYING_SQL + "WHERE l.filing_id = ? AND l.state = 'signed' AND k.id IS NULL ORDER BY l.seq",
                    (filing_id,))


def keying_row(ws: Workspace, line_id: int) -> dict | None:
    """One line's keying row (crops' hashes and what is keyed so far) by database id."""
    return ws._one(_KEYING_SQL + "WHERE l.id = ?", (line_id,))


def keying_row_by_label(ws: Workspace, filing_id: int | None, label: str) -> dict | None:
    """One line's keying row by its label within a filing."""
    return ws._one(_KEYING_SQL + "WHERE l.label = ? AND l.filing_id = ?", (label, filing_id))


# -- pages -------------------------------------------------------------------
def filing_pages(ws: Workspace, filing_id: int) -> list[dict]:
    """Every page of a filing: ``page_id``, ``section``, ``number``, ``lines``."""
    return ws._rows(
        "SELECT p.id AS page_id, s.number AS section, p.number AS number, "
        "(SELECT COUNT(*) FROM lines l WHERE l.page_id = p.id) AS lines "
        "FROM pages p JOIN sections s ON s.id = p.section_id WHERE s.filing_id = ? ORDER BY s.number, p.number",
        (filing_id,))


def page(ws: Workspace, page_id: int) -> dict | None:
    """One page: ``id``, ``section``, ``number``, ``image_hash``, ``width``, ``height``, ``filing_id``,
    ``layout_check`` (1 when the segmenter marked the page ``check``); or None."""
    return ws._one(
        "SELECT p.id, s.number AS section, p.number, p.image_hash, p.width, p.height, s.filing_id, "
        "  CASE WHEN p.segmentation_json LIKE ? THEN 1 ELSE 0 END AS layout_check FROM pages p "
        "JOIN sections s ON s.id = p.section_id WHERE p.id = ?", (LAYOUT_CHECK_LIKE, page_id))


def page_lines(ws: Workspace, page_id: int) -> list[dict]:
    """The page's lines in order with their boxes (JSON): ``signature_box``, ``name_box``, ``address_box``."""
    return ws._rows("SELECT id, label, number, state, signature_box, name_box, address_box FROM lines "
                    "WHERE page_id = ? ORDER BY number", (page_id,))
