"""The read side of review: queues, cases, pages and voter look-up.

Everything the workbench shows comes from here, so that the GUI holds no
business rule: which lines a person may rule on and in what order
(:func:`review_queue`), everything about one line a reviewer compares
(:func:`load_case`), a scanned page with its line boxes and their status
(:func:`page_view`), and a voter-file search (:class:`VoterDirectory`).
The write side is :func:`petitions.rulings.record_ruling`; :func:`rule` and
:func:`undo_ruling` wrap it with what a case was showing.

Party, race and ethnicity are never part of a case (2 CCR §20960): the voter
record a reviewer sees is restricted to :data:`VOTER_DISPLAY_COLUMNS`.

No Qt here: the model is usable from the CLI, tests and worker threads.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from petitions.errors import UserError
from petitions.reasons import REASONS, label as reason_label
from petitions.rulings import RulingResult, line_status, record_ruling
from petitions.store import Workspace

__all__ = [
    "MODES", "MODE_KIND", "VOTER_DISPLAY_COLUMNS", "QueueItem", "Exemplar", "FieldDiff", "Candidate", "Case",
    "PageLine", "PageView", "VoterDirectory", "modes_for_role", "review_queue", "load_case", "page_view",
    "reject_codes", "rule", "undo_ruling", "explain", "KeyingLine", "keying_queue", "keying_line",
]

#: Queues, in the order the workbench offers them, and the ruling kind each records.
MODES = ("review", "escalations", "second_opinion", "audit")
MODE_KIND = {"review": "review", "escalations": "escalation", "second_opinion": "second_opinion", "audit": "audit"}
MODE_LABELS = {"review": "Review queue", "escalations": "Escalations", "second_opinion": "Second opinions",
               "audit": "QA audit sample"}
#: The level of a ``needs_review`` line that puts it in each queue (the QA
#: audit queue is the audit sample, not a level).
QUEUE_LEVEL = {"review": "review", "escalations": "escalated", "second_opinion": "second_opinion"}

#: What a reviewer may see of a voter record. Party, race and ethnicity are
#: deliberately absent: they must never be shown while comparing.
VOTER_DISPLAY_COLUMNS = (
    "voter_id", "first_name", "middle_name", "last_name", "suffix", "house_number", "house_fraction",
    "street_dir", "street_name", "street_type", "street_post_dir", "unit_type", "unit_number", "city", "zip",
    "status", "registration_date", "precinct", "district",
)
_FORBIDDEN = frozenset({"party", "race", "ethnicity", "party_code", "party_affiliation"})


def modes_for_role(role: str | None) -> tuple[str, ...]:
    """The queues a role may work: reviewers the review queue only,
    supervisors also escalations, second opinions and QA audits."""
    return MODES if role == "supervisor" else ("review",)


def reject_codes(ruleset=None) -> tuple[str, ...]:
    """Reason codes a person may reject a single line for, in report order.

    Blank / struck lines are not signatures at all; a circulator defect is
    ruled on a whole section; "wrong party" applies only to partisan
    nominations.
    """
    out = []
    for code, r in REASONS.items():
        if not r.final or not r.counts_in_raw or code == "circulator_defect":
            continue
        if code == "wrong_party" and not getattr(ruleset, "partisan", False):
            continue
        out.append(code)
    return tuple(out)


# ---------------------------------------------------------------------------
# Queues
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueItem:
    """One line waiting for a person, as a row of the queue list."""

    line_db_id: int
    label: str
    level: str
    reason: str | None
    reason_label: str
    section: int
    page: int | None
    sample_rank: int | None
    match_score: float | None
    sig_score: float | None
    signature_hash: str | None
    exemplar_hashes: tuple[str, ...]


def review_queue(ws: Workspace, filing_id: int, *, user: str, mode: str = "review",
                 status: pl.DataFrame | None = None) -> list[QueueItem]:
    """The lines `user` may rule on in queue `mode`, in working order.

    Order: lines in the filing's random sample first (by sample rank, since
    only they decide a sampled count), then the rest in filing order.

    Parameters
    ----------
    mode : {'review', 'escalations', 'second_opinion', 'audit'}
        ``review``: lines triage sent to a person. ``escalations``: lines a
        reviewer escalated. ``second_opinion``: rejections waiting for
        another person (never the one who rejected). ``audit``: the blind QA
        queue of :func:`petitions.audit.qa_queue` (no status, reason or
        score of the audited decision; ticket order).
    status : pl.DataFrame, optional
        A :func:`petitions.rulings.line_status` frame already at hand.
    """
    role = ws.user_role(user)
    if role is None:
        raise UserError(f"unknown user {user!r}; add them to the workspace first")
    if mode not in MODES:
        raise UserError(f"unknown queue {mode!r}; use one of {', '.join(MODES)}")
    if mode not in modes_for_role(role):
        raise UserError(f"{user} is a reviewer; only a supervisor works the {MODE_LABELS[mode].lower()}")
    if mode == "audit":
        return _audit_queue(ws, filing_id, user)
    st = line_status(ws, filing_id) if status is None else status
    sel = st.filter((pl.col("status") == "needs_review") & (pl.col("level") == QUEUE_LEVEL[mode]))
    if mode == "second_opinion":
        mine = _own_open_rejections(ws, filing_id, user)
        sel = sel.filter(~pl.col("line_db_id").is_in(list(mine)))
    ranks = dict(ws.db.execute(
        "SELECT i.line_id, MIN(i.rank) FROM sample_items i JOIN samples s ON s.id = i.sample_id "
        "WHERE s.filing_id = ? AND s.purpose = 'count' GROUP BY i.line_id", (filing_id,)).fetchall())
    if sel.height == 0:
        return []
    ids = sel["line_db_id"].to_list()
    hashes = _queue_images(ws, ids)
    items = []
    for r in sel.iter_rows(named=True):
        code = r["reason"] or ((r["det_reasons"] or [None])[0])
        sig_hash, ex = hashes.get(r["line_db_id"], (None, ()))
        items.append(QueueItem(
            line_db_id=r["line_db_id"], label=r["line_id"], level=r["level"], reason=code,
            reason_label=reason_label(code) if code else "needs a person", section=r["section"], page=r["page"],
            sample_rank=ranks.get(r["line_db_id"]), match_score=r["match_score"], sig_score=r["sig_score"],
            signature_hash=sig_hash, exemplar_hashes=ex))
    # A stable sort: unsampled lines keep filing order (line_status is in seq order).
    items.sort(key=lambda it: (it.sample_rank is None, it.sample_rank or 0))
    return items


def _audit_queue(ws: Workspace, filing_id: int, user: str) -> list[QueueItem]:
    """The blind QA queue (:func:`petitions.audit.qa_queue`) as queue rows:
    no status, level, reason or score of the original decision."""
    from petitions.audit import qa_queue

    return [QueueItem(line_db_id=c.line_db_id, label=c.label, level="audit", reason=None,
                      reason_label="blind QA audit", section=c.section, page=c.page, sample_rank=None,
                      match_score=None, sig_score=None, signature_hash=c.signature_hash, exemplar_hashes=())
            for c in qa_queue(ws, filing_id, user=user)]


def _own_open_rejections(ws: Workspace, filing_id: int, user: str) -> set[int]:
    """Lines whose rejection by `user` is still in force (since the last accept / reopen)."""
    rows = ws.query("SELECT r.line_id, r.user, r.action FROM rulings r JOIN lines l ON l.id = r.line_id "
                    "WHERE l.filing_id = ? AND r.kind != 'audit' ORDER BY r.id", (filing_id,))
    open_by: dict[int, set[str]] = {}
    for r in rows:
        if r["action"] in ("accept", "reopen"):
            open_by[r["line_id"]] = set()
        elif r["action"] == "reject":
            open_by.setdefault(r["line_id"], set()).add(r["user"])
    return {lid for lid, users in open_by.items() if user in users}


def _queue_images(ws: Workspace, line_ids: list[int]) -> dict[int, tuple[str | None, tuple[str, ...]]]:
    out: dict[int, tuple[str | None, tuple[str, ...]]] = {}
    rows = ws.query_in(
        "SELECT l.id, l.signature_hash, m.voter_id, s.best_exemplar_hash FROM lines l "
        "LEFT JOIN current_match m ON m.line_id = l.id LEFT JOIN current_signature s ON s.line_id = l.id "
        "WHERE l.id IN ({ids})", line_ids)
    ex = _exemplars(ws, [r["voter_id"] for r in rows if r["voter_id"]])
    for r in rows:
        hs = [e.image_hash for e in ex.get(r["voter_id"], [])]
        best = r["best_exemplar_hash"]
        if best in hs:  # the exemplar the score came from first
            hs.remove(best)
            hs.insert(0, best)
        out[r["id"]] = (r["signature_hash"], tuple(hs))
    return out


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Exemplar:
    """One signature on file for a voter."""

    image_hash: str
    captured_date: str | None
    source: str | None
    best: bool = False


@dataclass(frozen=True)
class FieldDiff:
    """One field of the keyed line beside the voter record.

    ``agreement`` is ``same``, ``close`` (equal after normalising: case,
    punctuation, initials, abbreviations), ``different`` or ``missing``
    (nothing keyed). ``differing`` lists the voter-record words the keyed
    text lacks, for highlighting.
    """

    name: str
    keyed: str
    voter: str
    agreement: str
    differing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A voter the line may belong to, as a reviewer may see them."""

    voter_id: str
    score: float | None
    record: dict
    exemplars: tuple[Exemplar, ...]
    diffs: tuple[FieldDiff, ...]

    @property
    def name(self) -> str:
        return _full_name(self.record)

    @property
    def address(self) -> str:
        return _street_address(self.record)


@dataclass(frozen=True)
class Ruling:
    id: int
    user: str
    role: str
    kind: str
    action: str
    reason_code: str | None
    note: str | None
    created_at: str


@dataclass(frozen=True)
class Case:
    """Everything about one line a person compares before ruling."""

    line_db_id: int
    label: str
    filing_id: int
    section: int
    page: int | None
    page_id: int | None
    number: int
    state: str
    signature_hash: str | None
    name_hash: str | None
    address_hash: str | None
    keyed: dict | None
    match_status: str | None
    match_score: float | None
    match_reason: str | None
    name_level: str | None
    address_level: str | None
    candidate: Candidate | None
    others: tuple[Candidate, ...]
    sig_score: float | None
    sig_decision: str | None
    sig_reason: str | None
    status: str
    level: str
    reason: str | None
    det_reasons: tuple[str, ...]
    why: tuple[str, ...]
    history: tuple[Ruling, ...]
    sample_rank: int | None = None
    #: Other lines of this filing matched (or proposed) to the same voter, in
    #: filing order: dicts with label, seq, match_status, determination,
    #: earlier (bool: before this line in filing order).
    same_voter: tuple[dict, ...] = ()

    @property
    def shown(self) -> dict:
        """What the person was shown, stored with the ruling."""
        return {
            "line": self.label,
            "voter_id": self.candidate.voter_id if self.candidate else None,
            "match_status": self.match_status, "match_score": self.match_score,
            "sig_score": self.sig_score, "sig_decision": self.sig_decision,
            "signature_hash": self.signature_hash,
            "exemplar_hashes": [e.image_hash for e in self.candidate.exemplars] if self.candidate else [],
            "other_candidates": [c.voter_id for c in self.others],
            "suspected": list(self.det_reasons),
            "status_before": self.status, "level_before": self.level,
        }


def load_case(ws: Workspace, line_db_id: int, *, voters: "VoterDirectory | None" = None) -> Case:
    """Everything about one line: crops, keyed entry, candidate voters with
    every exemplar and field-by-field differences, scores, status, and why
    the line is waiting, in plain words.

    Parameters
    ----------
    voters : VoterDirectory, optional
        The active voter file, loaded once and shared; loaded here if None.

    A QA audit re-rules blind: it uses :func:`petitions.audit.qa_queue`'s
    :class:`~petitions.audit.BlindCase`, never a case from here.
    """
    row = ws.db.execute(
        "SELECT l.id, l.label, l.filing_id, s.number, p.number, l.page_id, l.number, l.state, l.signature_hash, "
        "l.name_hash, l.address_hash FROM lines l JOIN sections s ON s.id = l.section_id "
        "LEFT JOIN pages p ON p.id = l.page_id WHERE l.id = ?", (line_db_id,)).fetchone()
    if row is None:
        raise UserError(f"no line with id {line_db_id}")
    (lid, lab, filing_id, section, page, page_id, number, state, sig_hash, name_hash, addr_hash) = row
    keyed = ws.query("SELECT name, address, city, zip, date_signed, source, keyed_by FROM current_keyed "
                     "WHERE line_id = ?", (lid,))
    keyed_d = keyed[0] if keyed else None
    m = ws.query("SELECT voter_id, score, status, reason, name_level, address_level, candidates_json "
                 "FROM current_match WHERE line_id = ?", (lid,))
    m = m[0] if m else {}
    sg = ws.query("SELECT voter_id, score, decision, reason, best_exemplar_hash FROM current_signature "
                  "WHERE line_id = ?", (lid,))
    sg = sg[0] if sg else {}
    det = ws.query("SELECT determination, reasons_json FROM current_determination WHERE line_id = ?", (lid,))
    det_reasons = tuple(json.loads(det[0]["reasons_json"])) if det else ()
    rulings = ws.query("SELECT id, user, role, kind, action, reason_code, note, created_at FROM rulings "
                       "WHERE line_id = ? ORDER BY id", (lid,))
    status, level, reason = _status_of(ws, lid, det[0]["determination"] if det else None, det_reasons, rulings)

    cand_ids: list[tuple[str, float | None]] = []
    if m.get("voter_id"):
        cand_ids.append((m["voter_id"], m.get("score")))
    for c in _parse_candidates(m.get("candidates_json")):
        if c[0] and all(c[0] != v for v, _ in cand_ids):
            cand_ids.append(c)
    cand_ids = cand_ids[:6]
    if cand_ids:
        voters = voters if voters is not None else VoterDirectory.open(ws)
        records = voters.get([v for v, _ in cand_ids]) if voters is not None else {}
        ex = _exemplars(ws, [v for v, _ in cand_ids], best=sg.get("best_exemplar_hash"))
    else:
        records, ex = {}, {}
    cands = [Candidate(voter_id=v, score=s, record=records.get(v, {"voter_id": v}), exemplars=tuple(ex.get(v, [])),
                       diffs=compare_fields(keyed_d, records.get(v))) for v, s in cand_ids]
    primary = cands[0] if (cands and m.get("voter_id")) else None
    others = tuple(cands[1:] if primary else cands)
    rank = ws.scalar("SELECT MIN(i.rank) FROM sample_items i JOIN samples s ON s.id = i.sample_id "
                     "WHERE i.line_id = ? AND s.purpose = 'count'", (lid,))
    sig_same_voter = sg and sg.get("voter_id") == m.get("voter_id")
    case = Case(
        line_db_id=lid, label=lab, filing_id=filing_id, section=section, page=page, page_id=page_id, number=number,
        state=state, signature_hash=sig_hash, name_hash=name_hash, address_hash=addr_hash, keyed=keyed_d,
        match_status=m.get("status"), match_score=m.get("score"), match_reason=m.get("reason"),
        name_level=m.get("name_level"), address_level=m.get("address_level"), candidate=primary, others=others,
        sig_score=sg.get("score") if sig_same_voter else None,
        sig_decision=sg.get("decision") if sig_same_voter else None,
        sig_reason=sg.get("reason") if sig_same_voter else None,
        status=status, level=level, reason=reason, det_reasons=det_reasons, why=(),
        history=tuple(Ruling(**r) for r in rulings), sample_rank=rank,
        same_voter=_same_voter_lines(ws, lid, m.get("voter_id")))
    return _with_why(case)


def _same_voter_lines(ws: Workspace, line_db_id: int, voter_id: str | None) -> tuple[dict, ...]:
    """The duplicate group this line belongs to, as staff see it."""
    if not voter_id:
        return ()
    rows = ws.query(
        "SELECT l.label, l.seq, m.status AS match_status, d.determination, "
        "l.seq < (SELECT seq FROM lines WHERE id = ?) AS earlier "
        "FROM current_match m JOIN lines l ON l.id = m.line_id "
        "LEFT JOIN current_determination d ON d.line_id = l.id "
        "WHERE m.voter_id = ? AND m.status IN ('match', 'review') AND l.id != ? "
        "AND l.filing_id = (SELECT filing_id FROM lines WHERE id = ?) ORDER BY l.seq",
        (line_db_id, voter_id, line_db_id, line_db_id))
    return tuple({**r, "earlier": bool(r["earlier"])} for r in rows)


def _with_why(case: Case) -> Case:
    from dataclasses import replace

    return replace(case, why=explain(case))


def _status_of(ws, line_id, determination, det_reasons, rulings):
    from petitions.rulings import _ruleset_for_line, resolve

    rs = _ruleset_for_line(ws, line_id)
    return_ = resolve([r for r in rulings if r["kind"] != "audit"], determination, list(det_reasons),
                      rs.rejections_required)
    status, reason, level = return_
    return status, level, reason


def _parse_candidates(js: str | None) -> list[tuple[str, float | None]]:
    """The matcher's other candidates, whatever their stored shape
    (list of ids, of [id, score] pairs, or of {voter_id, score} dicts)."""
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


def _exemplars(ws: Workspace, voter_ids: list[str], best: str | None = None) -> dict[str, list[Exemplar]]:
    from petitions.pipeline import exemplars_for

    return {v: [Exemplar(r["image_hash"], r["captured_date"], r["source"], best=r["image_hash"] == best)
                for r in rows] for v, rows in exemplars_for(ws, voter_ids).items()}


_SUSPECT_WORDS = {
    "signature_mismatch": "the signature may not compare. Compare it with every signature on file; "
                          "start from the presumption that it is genuine (2 CCR §20960).",
    "address_mismatch": "the address on the line may not be the registration address. Unit, fraction, "
                        "abbreviations and neighbourhood names are not grounds to reject (2 CCR §20931).",
    "duplicate": "the same voter signed another line of this filing.",
    "not_registered": "no registered voter was found for this signer.",
    "no_signature": "no signature was found on the line.",
}
_SIG_WORDS = {
    "consistent": "the signature compares with the voter's signature on file",
    "review": "the signature needs a person to compare it with the voter's signatures on file",
}
_MATCH_WORDS = {
    "ambiguous": "more than one voter fits the printed name and address",
    "address_mismatch": "the address on the line is not the voter's registered address",
    "inactive": "the voter's registration is inactive",
    "cancelled": "the voter's registration is cancelled",
    "out_of_district": "the voter is registered outside the petition's district",
    "not_found": "no voter in the file fits the printed name and address",
    "weak": "the best voter found fits only loosely",
    "weak_match": "the best voter found fits only loosely",
    "registered_after": "the voter registered after the line was signed",
}


def explain(case: Case) -> tuple[str, ...]:
    """Why the line is waiting for a person, in plain words (one sentence each)."""
    out = []
    if case.level == "escalated":
        out.append("A reviewer escalated this line to a supervisor"
                   + (f" ({reason_label(case.reason)})." if case.reason else "."))
    elif case.level == "second_opinion":
        out.append(f"Rejected as “{reason_label(case.reason)}”; the rule set needs another person to agree.")
    for code in case.det_reasons:
        r = REASONS.get(code)
        if code in _SUSPECT_WORDS:
            out.append(f"Suspected: {_SUSPECT_WORDS[code]}")
        elif r is not None and not r.final:   # review-only codes are written as suspicions
            out.append(f"Suspected: {r.label}. {r.description}".strip())
        elif r is not None:
            out.append(f"Suspected: {r.label.lower()}.")
        else:
            out.append(f"Suspected: {code.replace('_', ' ')}.")
    if case.match_status and case.match_status != "match":
        words = _MATCH_WORDS.get(case.match_reason or "",
                                 (case.match_reason or "the match is uncertain").replace("_", " "))
        sc = f" (match probability {case.match_score:.2f})" if case.match_score is not None else ""
        out.append(f"Identity: {words}{sc}.")
    if case.candidate is not None and not case.candidate.exemplars:
        out.append("No signature on file for this voter: the signature cannot be compared.")
    if case.sig_decision:
        sc = f" (score {case.sig_score:.2f})" if case.sig_score is not None else ""
        extra = f"; {case.sig_reason.replace('_', ' ')}" if case.sig_reason else ""
        out.append(f"Signature: {_SIG_WORDS.get(case.sig_decision, case.sig_decision)}{sc}{extra}.")
    if not out:
        out.append("Waiting for a person's ruling.")
    return tuple(out)


# ---------------------------------------------------------------------------
# Field comparison (display only: the matcher's levels decide, this shows)
# ---------------------------------------------------------------------------
_ABBREV = {"STREET": "ST", "AVENUE": "AVE", "AV": "AVE", "BOULEVARD": "BLVD", "DRIVE": "DR", "ROAD": "RD",
           "PLACE": "PL", "COURT": "CT", "LANE": "LN", "TERRACE": "TER", "CIRCLE": "CIR", "WAY": "WAY",
           "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "APARTMENT": "APT", "UNIT": "APT", "#": "APT",
           "SUITE": "STE", "JUNIOR": "JR", "SENIOR": "SR"}


def _tokens(text: str | None) -> list[str]:
    toks = re.findall(r"[A-Z0-9½/#]+", (text or "").upper().replace("'", ""))
    return [_ABBREV.get(t, t) for t in toks]


def _full_name(rec: dict | None) -> str:
    if not rec:
        return ""
    return " ".join(str(rec[k]) for k in ("first_name", "middle_name", "last_name", "suffix") if rec.get(k))


def _street_address(rec: dict | None) -> str:
    if not rec:
        return ""
    num = " ".join(str(rec[k]) for k in ("house_number", "house_fraction") if rec.get(k))
    street = " ".join(str(rec[k]) for k in ("street_dir", "street_name", "street_type", "street_post_dir") if rec.get(k))
    unit = " ".join(str(rec[k]) for k in ("unit_type", "unit_number") if rec.get(k))
    return ", ".join(p for p in (f"{num} {street}".strip(), unit) if p)


def _compare(name: str, keyed: str | None, voter: str, *, initials: bool = False,
             optional: tuple[str, ...] = ()) -> FieldDiff:
    keyed = (keyed or "").strip()
    if not keyed:
        return FieldDiff(name, "", voter, "missing", tuple(voter.split()))
    if keyed.upper() == voter.upper():
        return FieldDiff(name, keyed, voter, "same")
    kt, vt = _tokens(keyed), _tokens(voter)
    kset = set(kt)
    differing = []
    for raw, t in zip(voter.split(), [_tokens(w) for w in voter.split()]):
        ok = all(x in kset for x in t) or (initials and t and any(k[:1] == t[0][:1] and (len(k) == 1 or len(t[0]) == 1)
                                                              for k in kt))
        if not ok:
            differing.append(raw)
    extra = [t for t in kt if t not in set(vt) and not (initials and len(t) == 1)]
    # A missing middle name or suffix is not a difference that matters
    # (initials and omissions are not grounds to reject): still highlighted.
    optional_up = {o.upper() for o in optional if o}
    agreement = "close" if not extra and all(d.upper() in optional_up for d in differing) else "different"
    return FieldDiff(name, keyed, voter, agreement, tuple(differing))


def compare_fields(keyed: dict | None, record: dict | None) -> tuple[FieldDiff, ...]:
    """The keyed name, address, city and zip beside the voter record's.

    Returns one :class:`FieldDiff` per field; used to highlight differences,
    never to decide (the matcher's levels and the rule set decide).
    """
    if not record:
        return ()
    k = keyed or {}
    return (
        _compare("Name", k.get("name"), _full_name(record), initials=True,
                 optional=tuple(str(record.get(c) or "") for c in ("middle_name", "suffix"))
                 + tuple(str(record.get("middle_name") or "").split())),
        # A blank or different unit is not grounds to reject (2 CCR §20931): still highlighted.
        _compare("Address", k.get("address"), _street_address(record),
                 optional=tuple(str(record.get(c) or "") for c in ("unit_type", "unit_number", "house_fraction"))),
        _compare("City", k.get("city"), str(record.get("city") or "")),
        _compare("Zip", k.get("zip"), str(record.get("zip") or "")[:5]),
    )


# ---------------------------------------------------------------------------
# Voter file
# ---------------------------------------------------------------------------
class VoterDirectory:
    """The active voter file, loaded once, restricted to what may be shown.

    Rows are kept sorted by ``voter_id`` so :meth:`get` is a binary search;
    a loaded directory is immutable and may be shared between threads.
    """

    def __init__(self, frame: pl.DataFrame, *, voter_file_id: int | None = None):
        cols = [c for c in VOTER_DISPLAY_COLUMNS if c in frame.columns]
        keys = [c for c in ("k_first", "k_last", "a_street_key", "a_house", "k_zip") if c in frame.columns]
        df = frame.select([pl.col(c).cast(pl.Utf8) if c in cols else pl.col(c) for c in cols + keys])
        assert not (_FORBIDDEN & set(df.columns))
        self.frame = df.with_columns(pl.col("voter_id").cast(pl.Utf8)).sort("voter_id")
        self._ids = self.frame["voter_id"]
        self.voter_file_id = voter_file_id
        self.display_columns = tuple(cols)
        self._index = None

    @classmethod
    def open(cls, ws: Workspace) -> "VoterDirectory | None":
        """The workspace's active voter file, or None when none is imported."""
        row = ws.db.execute("SELECT id, parquet_path FROM voter_files WHERE active = 1").fetchone()
        if not row:
            return None
        path = ws.root / row[1]
        schema = pl.read_parquet_schema(path)
        wanted = [c for c in (*VOTER_DISPLAY_COLUMNS, "k_first", "k_last", "a_street_key", "a_house", "k_zip")
                  if c in schema]
        return cls(pl.read_parquet(path, columns=wanted), voter_file_id=int(row[0]))

    @property
    def height(self) -> int:
        return self.frame.height

    def get(self, voter_ids: list[str]) -> dict[str, dict]:
        """Display records by voter id (unknown ids are left out)."""
        out = {}
        for vid in voter_ids:
            i = int(self._ids.search_sorted(vid, side="left"))
            if i < self.frame.height and self._ids[i] == vid:
                out[vid] = {c: self.frame[c][i] for c in self.display_columns}
        return out

    def search(self, *, name: str = "", address: str = "", zip: str = "", limit: int = 50) -> pl.DataFrame:
        """Voters whose name and/or address start with what was typed.

        Name words match given or family names by prefix, in any order
        ("garc mar" finds Maria Garcia); the address starts with the house
        number. A prepared voter file is searched with the matcher's ranked
        prefix index (:class:`matchers.lookup.VoterIndex`, adds ``score``);
        otherwise a plain prefix filter. Returns at most `limit` rows of
        :data:`VOTER_DISPLAY_COLUMNS`.
        """
        index = self._voter_index()
        if index is not None and (name.strip() or address.strip()):
            found = index.lookup(name=name, address=address, limit=limit * 4 if zip.strip() else limit)
            if zip.strip() and "zip" in found.columns:
                found = found.filter(pl.col("zip").cast(pl.Utf8).fill_null("").str.starts_with(zip.strip()))
            found = found.head(limit)
            ids = found.select(pl.col("voter_id").cast(pl.Utf8), "score")
            return (ids.join(self.frame.select(self.display_columns), on="voter_id", how="left", maintain_order="left")
                    .select(*self.display_columns, pl.col("score").round(3)))
        return self._plain_search(name=name, address=address, zip=zip, limit=limit)

    def _voter_index(self):
        """The matcher's prefix index (:class:`matchers.lookup.VoterIndex`),
        built once on first use; None when the frame lacks its match keys."""
        if self._index is None:
            try:
                from matchers.lookup import VoterIndex
            except ImportError:
                self._index = False
            else:
                need = {"k_first", "k_last", "a_house", "a_street_key"}
                self._index = VoterIndex(self.frame) if need <= set(self.frame.columns) else False
        return self._index or None

    def _plain_search(self, *, name: str, address: str, zip: str, limit: int) -> pl.DataFrame:
        """Prefix filter for voter frames without match keys (not prepared)."""
        expr = pl.lit(True)
        f = self.frame
        for w in _tokens(name):
            w_expr = pl.lit(False)
            for c in ("first_name", "middle_name", "last_name"):
                if c in f.columns:
                    w_expr = w_expr | pl.col(c).fill_null("").str.to_uppercase().str.contains(rf"(^|[ \-]){re.escape(w)}")
            expr = expr & w_expr
        for w in _tokens(address):
            if w.isdigit() and "house_number" in f.columns:
                expr = expr & (pl.col("house_number").fill_null("") == w)
            else:
                w_expr = pl.lit(False)
                for c in ("street_dir", "street_name", "street_type", "unit_number"):
                    if c in f.columns:
                        w_expr = w_expr | pl.col(c).fill_null("").str.to_uppercase().str.starts_with(w)
                expr = expr & w_expr
        if zip.strip() and "zip" in f.columns:
            expr = expr & pl.col("zip").fill_null("").str.starts_with(zip.strip())
        if not (_tokens(name) or _tokens(address) or zip.strip()):
            return f.select(self.display_columns).head(0)
        return f.filter(expr).select(self.display_columns).head(limit)


# ---------------------------------------------------------------------------
# Keying
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PageLine:
    line_db_id: int
    label: str
    number: int
    state: str
    status: str
    level: str
    reason: str | None
    boxes: dict  # 'signature' / 'printed_name' / 'address' -> [x, y, w, h] in the page frame


@dataclass(frozen=True)
class PageView:
    page_id: int
    section: int
    number: int
    image_hash: str | None
    width: int | None
    height: int | None
    lines: tuple[PageLine, ...]


def pages_of(ws: Workspace, filing_id: int) -> list[dict]:
    """Every page of a filing: ``page_id``, ``section``, ``number``, ``lines``."""
    return ws.query(
        "SELECT p.id AS page_id, s.number AS section, p.number AS number, "
        "(SELECT COUNT(*) FROM lines l WHERE l.page_id = p.id) AS lines "
        "FROM pages p JOIN sections s ON s.id = p.section_id WHERE s.filing_id = ? ORDER BY s.number, p.number",
        (filing_id,))


def page_view(ws: Workspace, page_id: int, *, status: pl.DataFrame | None = None) -> PageView:
    """A scanned page and its lines with their boxes and current status."""
    row = ws.db.execute(
        "SELECT p.id, s.number, p.number, p.image_hash, p.width, p.height, s.filing_id FROM pages p "
        "JOIN sections s ON s.id = p.section_id WHERE p.id = ?", (page_id,)).fetchone()
    if row is None:
        raise UserError(f"no page with id {page_id}")
    pid, section, number, image_hash, width, height, filing_id = row
    st = line_status(ws, filing_id) if status is None else status
    st = {r["line_db_id"]: r for r in st.filter(pl.col("page") == number).filter(
        pl.col("section") == section).iter_rows(named=True)}
    lines = []
    for r in ws.query("SELECT id, label, number, state, signature_box, name_box, address_box FROM lines "
                      "WHERE page_id = ? ORDER BY number", (pid,)):
        s = st.get(r["id"], {})
        boxes = {k: json.loads(r[c]) for k, c in (("signature", "signature_box"), ("printed_name", "name_box"),
                                                  ("address", "address_box")) if r[c]}
        lines.append(PageLine(r["id"], r["label"], r["number"], r["state"], s.get("status") or "needs_review",
                              s.get("level") or "review", s.get("reason"), boxes))
    return PageView(pid, section, number, image_hash, width, height, tuple(lines))


def page_image(ws: Workspace, page: PageView) -> np.ndarray | None:
    """The scanned page as filed (decoded from the stored scan), or None if
    the scan cannot be read any more; line boxes are in its pixel frame."""
    from petitions.pipeline import page_image as decode

    if page.image_hash:
        return ws.crops.get_image(page.image_hash)
    try:
        return decode(ws, page.page_id)
    except Exception as exc:  # noqa: BLE001 - a lost scan shows as "no image", never stops review
        if getattr(exc, "user_error", False):
            return None
        raise


# ---------------------------------------------------------------------------
# Writing, with what the case showed
# ---------------------------------------------------------------------------
def rule(ws: Workspace, case: Case, *, user: str, action: str, mode: str = "review",
         reason_code: str | None = None, note: str | None = None) -> RulingResult:
    """Record `user`'s ruling on `case` in queue `mode` (see :data:`MODE_KIND`).

    Refused (:class:`UserError`) if the line is not waiting in that queue
    (a line opened from a page can be read, not ruled on, outside its
    queue), or if someone has ruled on the line since `case` was loaded:
    the ruling would supersede one the person never saw.
    """
    if mode not in MODE_KIND:
        raise UserError(f"unknown queue {mode!r}")
    role = ws.user_role(user)
    if mode not in modes_for_role(role):
        raise UserError(f"{user} is a reviewer; only a supervisor works the {MODE_LABELS[mode].lower()}")
    if mode == "audit":
        # Blind re-rulings go through the audit module's checks (sampled,
        # not already audited, not the auditor's own decision).
        from petitions.audit import record_audit

        return record_audit(ws, case.line_db_id, user=user, action=action, reason_code=reason_code, note=note)
    if case.status != "needs_review" or case.level != QUEUE_LEVEL[mode]:
        now = case.status.replace("_", " ") if case.status != "needs_review" else f"waiting at level {case.level}"
        raise UserError(f"line {case.label} is not in the {MODE_LABELS[mode].lower()} ({now}); "
                        "it can be looked at here but not ruled on")
    kind = MODE_KIND[mode]
    if action == "escalate" and reason_code is None:
        reason_code = case.det_reasons[0] if case.det_reasons and case.det_reasons[0] in REASONS else None
    if action == "reject" and reason_code == "other" and not (note or "").strip():
        raise UserError("a rejection for “Other” needs a note saying why")
    seen = [r.id for r in case.history if r.kind != "audit"]
    return record_ruling(ws, case.line_db_id, user=user, action=action, reason_code=reason_code, note=note,
                         shown=case.shown, kind=kind, expect_last=max(seen) if seen else None)


def undo_ruling(ws: Workspace, ruling_id: int, *, user: str) -> RulingResult:
    """Undo `user`'s own ruling `ruling_id` by appending a ruling that restores
    the line's earlier state (rulings are never deleted).

    Undo is refused once someone else has ruled on the line since. Undoing a
    supervisor's ruling on an escalation returns the line to the escalations
    queue; any other ruling is undone by reopening the line to its
    determination, which returns it to the review queue.
    """
    r = ws.query("SELECT id, line_id, user, kind, action, reason_code, supersedes FROM rulings WHERE id = ?",
                 (ruling_id,))
    if not r:
        raise UserError(f"no ruling {ruling_id}")
    r = r[0]
    if r["user"] != user:
        raise UserError(f"ruling {ruling_id} is {r['user']}'s; only they (or a supervisor reopening the line) can undo it")
    if r["kind"] == "audit":
        return record_ruling(ws, r["line_id"], user=user, action="reopen", kind="audit",
                             note=f"undo of ruling {ruling_id}", shown={"undo_of": ruling_id})
    newest = ws.scalar("SELECT MAX(id) FROM rulings WHERE line_id = ? AND kind != 'audit'", (r["line_id"],))
    if newest != ruling_id:
        raise UserError("someone has ruled on this line since; it can no longer be undone here")
    prev = ws.query("SELECT action, reason_code FROM rulings WHERE id = ?", (r["supersedes"],)) if r["supersedes"] else []
    if prev and prev[0]["action"] == "escalate" and r["kind"] == "escalation":
        return record_ruling(ws, r["line_id"], user=user, action="escalate", reason_code=prev[0]["reason_code"],
                             kind="escalation", note=f"undo of ruling {ruling_id}", shown={"undo_of": ruling_id})
    kind = r["kind"] if r["kind"] in ("review", "escalation", "second_opinion") else "review"
    if ws.user_role(user) != "supervisor":
        kind = "review"
    return record_ruling(ws, r["line_id"], user=user, action="reopen", kind=kind,
                         note=f"undo of ruling {ruling_id}", shown={"undo_of": ruling_id})


def default_user(ws: Workspace, preferred: str | None = None) -> tuple[str, str] | None:
    """Who the workbench acts as: `preferred` if known, else the OS login
    name if it is a workspace user, else the first reviewer, else the first
    user. Returns ``(name, role)`` or None when the workspace has no users."""
    for name in (preferred, _login()):
        if name:
            role = ws.user_role(name)
            if role:
                return name, role
    if preferred:
        raise UserError(f"unknown user {preferred!r}; users of this workspace: "
                        + ", ".join(u["name"] for u in ws.query("SELECT name FROM users ORDER BY name")))
    row = ws.db.execute("SELECT name, role FROM users ORDER BY role = 'reviewer' DESC, created_at LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def _login() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return None


def users(ws: Workspace) -> list[dict]:
    return ws.query("SELECT name, role FROM users ORDER BY role, name")


# ---------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------
def dashboard(ws: Workspace, filing_id: int) -> dict:
    """Everything the dashboard shows for a filing.

    The :func:`petitions.demo.summarize` counts (raw count, valid / invalid /
    pending, by reason, sampling state and projection) plus ``sections``
    (per-section progress) and ``reviewers`` (rulings per person, by action).
    """
    from petitions.demo import summarize
    from petitions.pipeline import get_filing

    # One line_status for the whole dashboard: it is the costly query on a
    # 60,000-line filing, and summarize/count_result would each redo it.
    status = line_status(ws, filing_id)
    out = summarize(ws, filing_id, status=status)
    filing = get_filing(ws, filing_id)
    out["filing_id"] = filing_id
    out["kind"] = filing.kind
    out["jurisdiction"] = filing.jurisdiction
    st = status.filter(pl.col("state") == "signed")
    if st.height:
        sec = (st.group_by("section").agg(
            pl.len().alias("lines"),
            (pl.col("status") == "valid").sum().alias("valid"),
            (pl.col("status") == "invalid").sum().alias("invalid"),
            (pl.col("status") == "needs_review").sum().alias("pending"),
        ).sort("section"))
        out["sections"] = sec.to_dicts()
    else:
        out["sections"] = []
    out["reviewers"] = ws.query(
        "SELECT r.user, r.role, COUNT(*) AS rulings, SUM(r.action = 'accept') AS accepted, "
        "SUM(r.action = 'reject') AS rejected, SUM(r.action = 'escalate') AS escalated, "
        "SUM(r.kind = 'audit') AS audits FROM rulings r JOIN lines l ON l.id = r.line_id "
        "WHERE l.filing_id = ? AND r.action != 'reopen' GROUP BY r.user, r.role ORDER BY r.user", (filing_id,))
    return out


def samples_of(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's drawn samples (every round, both purposes), oldest first."""
    return ws.query("SELECT id, purpose, round, seed, frame_hash, frame_size, size, created_at, created_by "
                    "FROM samples WHERE filing_id = ? ORDER BY purpose, round", (filing_id,))
