"""Review queues: which lines a person may rule on, in what order.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from petitions.audit import qa_queue
from petitions.errors import UserError
from petitions.law.reasons import REASONS
from petitions.law.reasons import label as reason_label
from petitions.law.resolution import rulings_since_reset
from petitions.review.records import _exemplars
from petitions.status import line_status
from petitions.store import Workspace
from petitions.store import review as review_db
from petitions.store import rulings as rulings_db

#: Queues, in the order the workbench offers them, and the ruling kind each records.
MODES = ("review", "escalations", "second_opinion", "audit")


MODE_KIND = {"review": "review", "escalations": "escalation", "second_opinion": "second_opinion", "audit": "audit"}


MODE_LABELS = {"review": "Review queue", "escalations": "Escalations", "second_opinion": "Second opinions",
               "audit": "QA audit sample"}


#: The level of a ``needs_review`` line that puts it in each queue (the QA
#: audit queue is the audit sample, not a level).
QUEUE_LEVEL = {"review": "review", "escalations": "escalated", "second_opinion": "second_opinion"}


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
        if not r.final or not r.counts_in_raw or r.section_level:
            continue
        if code == "wrong_party" and not getattr(ruleset, "partisan", False):
            continue
        out.append(code)
    return tuple(out)


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
        A :func:`petitions.status.line_status` frame already at hand.
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
    ranks = review_db.count_sample_ranks(ws, filing_id)
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
    return [QueueItem(line_db_id=c.line_db_id, label=c.label, level="audit", reason=None,
                      reason_label="blind QA audit", section=c.section, page=c.page, sample_rank=None,
                      match_score=None, sig_score=None, signature_hash=c.signature_hash, exemplar_hashes=())
            for c in qa_queue(ws, filing_id, user=user)]


def _own_open_rejections(ws: Workspace, filing_id: int, user: str) -> set[int]:
    """Lines whose rejection by `user` is still in force (since the last accept / reopen)."""
    by_line: dict[int, list[dict]] = {}
    for r in rulings_db.filing_rulings(ws, filing_id):
        by_line.setdefault(r["line_id"], []).append(r)
    return {lid for lid, rulings in by_line.items()
            if any(r["action"] == "reject" and r["user"] == user for r in rulings_since_reset(rulings))}


def _queue_images(ws: Workspace, line_ids: list[int]) -> dict[int, tuple[str | None, tuple[str, ...]]]:
    out: dict[int, tuple[str | None, tuple[str, ...]]] = {}
    rows = review_db.queue_images(ws, line_ids)
    ex = _exemplars(ws, [r["voter_id"] for r in rows if r["voter_id"]])
    for r in rows:
        hs = [e.image_hash for e in ex.get(r["voter_id"], [])]
        best = r["best_exemplar_hash"]
        if best in hs:  # the exemplar the score came from first
            hs.remove(best)
            hs.insert(0, best)
        out[r["id"]] = (r["signature_hash"], tuple(hs))
    return out

