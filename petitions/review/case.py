"""One case: everything about a line a reviewer compares, and ruling on it with what the case showed.

The write side is :func:`petitions.rulings.record_ruling`; :func:`rule` and
:func:`undo_ruling` wrap it with what a case was showing. Party, race and
ethnicity are never part of a case (2 CCR §20960).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from petitions.audit import record_audit
from petitions.errors import UserError
from petitions.law.reasons import REASONS
from petitions.law.reasons import label as reason_label
from petitions.law.resolution import resolve
from petitions.review.batches import holder_elsewhere
from petitions.review.queue import MODE_KIND, MODE_LABELS, QUEUE_LEVEL, modes_for_role
from petitions.review.records import (
    Exemplar,
    FieldDiff,
    VoterDirectory,
    _exemplars,
    _full_name,
    _street_address,
    compare_candidates,
    compare_fields,
)
from petitions.rulings import RulingResult, record_ruling, ruleset_for_line
from petitions.store import Workspace
from petitions.store import review as review_db
from petitions.store import rulings as rulings_db


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
    row = review_db.case_line(ws, line_db_id)
    if row is None:
        raise UserError(f"no line with id {line_db_id}")
    lid = row["id"]
    keyed_d = review_db.keyed_of_line(ws, lid)
    m = review_db.match_of_line(ws, lid) or {}
    sg = review_db.signature_of_line(ws, lid) or {}
    det = rulings_db.determination_of_line(ws, lid)
    det_reasons = tuple(json.loads(det["reasons_json"])) if det else ()
    rulings = review_db.ruling_history(ws, lid)
    status, level, reason = _status_of(ws, lid, det["determination"] if det else None, det_reasons, rulings)

    cand_ids: list[tuple[str, float | None]] = []
    if m.get("voter_id"):
        cand_ids.append((m["voter_id"], m.get("score")))
    for c in m.get("candidates", []):
        if c[0] and all(c[0] != v for v, _ in cand_ids):
            cand_ids.append(c)
    cand_ids = cand_ids[:6]
    if cand_ids:
        voters = voters if voters is not None else VoterDirectory.open(ws)
        records = voters.get([v for v, _ in cand_ids]) if voters is not None else {}
        ex = _exemplars(ws, [v for v, _ in cand_ids], best=sg.get("best_exemplar_hash"))
    else:
        records, ex = {}, {}
    diffs = compare_candidates(keyed_d, [records.get(v) for v, _ in cand_ids])   # one batch call
    cands = [Candidate(voter_id=v, score=s, record=records.get(v, {"voter_id": v}), exemplars=tuple(ex.get(v, [])),
                       diffs=d) for (v, s), d in zip(cand_ids, diffs)]
    primary = cands[0] if (cands and m.get("voter_id")) else None
    others = tuple(cands[1:] if primary else cands)
    rank = review_db.count_sample_rank(ws, lid)
    sig_same_voter = sg and sg.get("voter_id") == m.get("voter_id")
    case = Case(
        line_db_id=lid, label=row["label"], filing_id=row["filing_id"], section=row["section"], page=row["page"],
        page_id=row["page_id"], number=row["number"], state=row["state"], signature_hash=row["signature_hash"],
        name_hash=row["name_hash"], address_hash=row["address_hash"], keyed=keyed_d,
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
    rows = review_db.same_voter_lines(ws, line_db_id, voter_id)
    return tuple({**r, "earlier": bool(r["earlier"])} for r in rows)


def _with_why(case: Case) -> Case:
    from dataclasses import replace

    return replace(case, why=explain(case))


def _status_of(ws, line_id, determination, det_reasons, rulings):
    """``(status, level, reason)`` of the line: its non-audit rulings resolved under its filing's rule set."""
    rs = ruleset_for_line(ws, line_id)
    status, reason, level = resolve([r for r in rulings if r["kind"] != "audit"], determination, list(det_reasons),
                                    rs.rejections_required)
    return status, level, reason


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


def rule(ws: Workspace, case: Case, *, user: str, action: str, mode: str = "review",
         reason_code: str | None = None, note: str | None = None, voter_id: str | None = None) -> RulingResult:
    """Record `user`'s ruling on `case` in queue `mode` (see :data:`MODE_KIND`).

    `voter_id` is a voter the person chose by lookup (the matcher found
    none, or another): it is stored with the ruling as ``chosen_voter_id``
    and from then on stands for the line in the duplicate checks
    (:func:`petitions.stages.decide.triage_inputs`).

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
        return record_audit(ws, case.line_db_id, user=user, action=action, reason_code=reason_code, note=note)
    if case.status != "needs_review" or case.level != QUEUE_LEVEL[mode]:
        now = case.status.replace("_", " ") if case.status != "needs_review" else f"waiting at level {case.level}"
        raise UserError(f"line {case.label} is not in the {MODE_LABELS[mode].lower()} ({now}); "
                        "it can be looked at here but not ruled on")
    if role != "supervisor":
        # The same door for the CLI as for the screen: a line handed out in
        # someone else's live batch is theirs until it is given back, its
        # lease runs out or a supervisor reclaims it.
        held = holder_elsewhere(ws, case.filing_id, case.line_db_id, user)
        if held:
            raise UserError(f"line {case.label} is in {held['holder']}'s batch {held['batch_id']} until "
                            f"{held['lease_until']}; it can be looked at here but not ruled on "
                            "(a supervisor can reclaim the batch)")
    kind = MODE_KIND[mode]
    # An escalation carries the reason its author chose, or none: the
    # suspected reason is already on the line and is not stored as if chosen.
    if action == "reject" and reason_code == "other" and not (note or "").strip():
        raise UserError("a rejection for “Other” needs a note saying why")
    seen = [r.id for r in case.history if r.kind != "audit"]
    shown = case.shown
    if voter_id:
        shown = {**shown, "voter_id": voter_id, "chosen_voter_id": voter_id, "voter_chosen_by": "lookup"}
    return record_ruling(ws, case.line_db_id, user=user, action=action, reason_code=reason_code, note=note,
                         shown=shown, kind=kind, expect_last=max(seen) if seen else None)


def undo_ruling(ws: Workspace, ruling_id: int, *, user: str) -> RulingResult:
    """Undo `user`'s own ruling `ruling_id` by appending a ruling that restores
    the line's earlier state (rulings are never deleted).

    Undo is refused once someone else has ruled on the line since. Undoing a
    supervisor's ruling on an escalation returns the line to the escalations
    queue; any other ruling is undone by reopening the line to its
    determination, which returns it to the review queue.
    """
    r = rulings_db.ruling(ws, ruling_id)
    if r is None:
        raise UserError(f"no ruling {ruling_id}")
    if r["user"] != user:
        raise UserError(f"ruling {ruling_id} is {r['user']}'s; only they (or a supervisor reopening the line) can undo it")
    if r["kind"] == "audit":
        return record_ruling(ws, r["line_id"], user=user, action="reopen", kind="audit",
                             note=f"undo of ruling {ruling_id}", shown={"undo_of": ruling_id})
    newest = rulings_db.latest_ruling_id(ws, r["line_id"])
    if newest != ruling_id:
        raise UserError("someone has ruled on this line since; it can no longer be undone here")
    prev = rulings_db.ruling(ws, r["supersedes"]) if r["supersedes"] else None
    if prev and prev["action"] == "escalate" and r["kind"] == "escalation":
        return record_ruling(ws, r["line_id"], user=user, action="escalate", reason_code=prev["reason_code"],
                             kind="escalation", note=f"undo of ruling {ruling_id}", shown={"undo_of": ruling_id})
    kind = r["kind"] if r["kind"] in ("review", "escalation", "second_opinion") else "review"
    if ws.user_role(user) != "supervisor":
        kind = "review"
    return record_ruling(ws, r["line_id"], user=user, action="reopen", kind=kind,
                         note=f"undo of ruling {ruling_id}", shown={"undo_of": ruling_id})

