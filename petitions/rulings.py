"""People's rulings and each line's final status.

Software only ever accepts. A person accepts, rejects with a reason code, or
escalates to a supervisor; a rejection on signature grounds stands only once
the rule set's number of different people have rejected it (Oregon-style
second person). Rulings are append-only: a change of mind is a new ruling
that supersedes the old one (``supersedes``), and ``reopen`` returns a line
to the queue. Each ruling stores what the person was shown (scores, the
candidate voter, exemplar hashes) and is written in the same transaction as
its event in the hash-chained log.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from types import EllipsisType

from petitions.errors import UserError
from petitions.law.reasons import REASONS
from petitions.law.resolution import resolve, rulings_since_reset
from petitions.store import Workspace
from petitions.store import rulings as rulings_db

ACTIONS = ("accept", "reject", "escalate", "reopen")


KINDS = ("review", "second_opinion", "escalation", "audit")


@dataclass(frozen=True)
class RulingResult:
    ruling_id: int
    line_id: int
    final_status: str
    final_reason: str | None


def record_ruling(
    ws: Workspace,
    line_id: int,
    *,
    user: str,
    action: str,
    reason_code: str | None = None,
    note: str | None = None,
    shown: dict | None = None,
    kind: str = "review",
    expect_last: int | None | EllipsisType = ...,
) -> RulingResult:
    """Record one person's ruling on one line.

    Parameters
    ----------
    line_id : int
        The line's database id.
    user : str
        A user known to the workspace (``Workspace.ensure_user``).
    action : {'accept', 'reject', 'escalate', 'reopen'}
    reason_code : str, optional
        Required for ``reject``; one of :data:`petitions.law.reasons.REASONS`.
    shown : dict
        What the person saw when ruling (scores, candidate, exemplar hashes).
    kind : {'review', 'second_opinion', 'escalation', 'audit'}
        ``audit`` rulings are blind re-rulings for QA; they never change the
        line's status.
    expect_last : int or None, optional
        The line's latest (non-audit) ruling when the person looked at it
        (None: no ruling yet). If someone has ruled on the line since, the
        ruling is refused: it would silently supersede a ruling this person
        never saw. Omitted: no check (scripted and command-line rulings).
    """
    role = ws.user_role(user)
    if role is None:
        raise UserError(f"unknown user {user!r}; add them to the workspace first")
    if action not in ACTIONS:
        raise UserError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    if kind not in KINDS:
        raise UserError(f"unknown ruling kind {kind!r}")
    if action == "reject":
        if not reason_code:
            raise UserError("a rejection needs a reason code")
        if reason_code not in REASONS or not REASONS[reason_code].final:
            raise UserError(f"{reason_code!r} is not a reason a line can be rejected for")
    elif reason_code and reason_code not in REASONS:
        raise UserError(f"unknown reason code {reason_code!r}")
    if kind == "escalation" and role != "supervisor":
        raise UserError(f"{user} is a reviewer; only a supervisor rules on escalations")
    if action == "reopen" and role != "supervisor" and kind != "review":
        raise UserError("only a supervisor may reopen a line")
    line = rulings_db.line_ref(ws, line_id)
    if line is None:
        raise UserError(f"no line with id {line_id}")
    filing_id, label = line["filing_id"], line["label"]
    if kind == "second_opinion":
        prior = rulings_since_reset(rulings_db.line_rulings(ws, line_id))
        if any(r["user"] == user and r["action"] == "reject" for r in prior):
            raise UserError(f"{user} already rejected line {label}; a second opinion must come from another person")
    with ws.transaction():
        if kind != "audit":  # a certified count is locked; a blind QA re-ruling never changes it
            from petitions.certification import require_unlocked

            require_unlocked(ws, filing_id, f"a ruling on line {label}", hold=True)
        # The latest ruling is read inside the write transaction and under
        # the line's lock (BEGIN IMMEDIATE on SQLite, an advisory lock on a
        # server), so nobody can rule between this check and the insert.
        rulings_db.lock_line(ws, line_id)
        supersedes = rulings_db.latest_ruling_id(ws, line_id) if kind != "audit" else None
        latest = rulings_db.ruling(ws, supersedes) if supersedes else None
        if latest and (latest["user"], latest["kind"], latest["action"], latest["reason_code"]) == (
                user, kind, action, reason_code):
            # The same person's same ruling again (a command rerun after an
            # interruption, a repeated key): it is the ruling already stored.
            existing = int(latest["id"])
        else:
            existing = None
        if existing is None and expect_last is not ... and kind != "audit" and supersedes != expect_last:
            by = rulings_db.ruling(ws, supersedes) if supersedes else None
            who = f" ({by['user']}: {by['action']})" if by else ""
            raise UserError(f"line {label} has been ruled on since you opened it{who}; "
                            "look at it again before ruling")
        if existing is not None:
            rid = existing
        else:
            rid = rulings_db.insert_ruling(ws, line_id, user=user, role=role, kind=kind, action=action,
                                           reason_code=reason_code, note=note, shown=shown, supersedes=supersedes)
            ws.log_event("ruling", user=user, filing_id=filing_id, line_id=line_id,
                         payload={"ruling_id": rid, "line": label, "kind": kind, "action": action,
                                  "reason_code": reason_code, "note": note, "supersedes": supersedes,
                                  "shown": shown or {}})
    status, reason = final_status_of_line(ws, line_id)
    return RulingResult(rid, line_id, status, reason)


def final_status_of_line(ws: Workspace, line_id: int) -> tuple[str, str | None]:
    """The line's final ``(status, reason)`` from its determination and rulings."""
    rs = ruleset_for_line(ws, line_id)
    det = rulings_db.determination_of_line(ws, line_id)
    rulings = rulings_db.line_rulings(ws, line_id)
    status, reason, _ = resolve(rulings, det["determination"] if det else None,
                                json.loads(det["reasons_json"]) if det else None, rs.rejections_required)
    return status, reason


def ruleset_for_line(ws: Workspace, line_id: int):
    """The rule set of the filing the line belongs to."""
    from petitions.law.rules import RuleSet

    return RuleSet.from_json(rulings_db.ruleset_json_of_line(ws, line_id))

