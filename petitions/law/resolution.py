"""The pure resolution of a line's rulings, from its rulings in order and its determination.

:func:`resolve` gives the line's final status; :func:`rulings_since_reset`
the rulings still in force (who has rejected since the last accept or
reopen); :func:`decision_in_force` whose decision stands, as a QA audit
compares it. No store: callers read the rulings and pass them in.
"""
from __future__ import annotations

from petitions.law.reasons import REASONS


def resolve(rulings: list[dict], determination: str | None, det_reasons: list[str] | None,
            rejections_required: int) -> tuple[str, str | None, str]:
    """Final status of one line from its rulings in order and its determination.

    Returns ``(status, reason, level)``; status is ``valid``, ``invalid`` or
    ``needs_review``; level names the queue (``review``, ``second_opinion``,
    ``escalated``) or the decision (``ruled``, ``auto``).
    """
    status = determination or "needs_review"
    reason = (det_reasons or [None])[0] if status != "valid" else None
    level = "auto" if status != "needs_review" else "review"
    rejecters: set[str] = set()
    for r in rulings:
        act = r["action"]
        if act == "accept":
            status, reason, level, rejecters = "valid", None, "ruled", set()
        elif act == "reopen":
            status = determination or "needs_review"
            reason = (det_reasons or [None])[0] if status != "valid" else None
            level = "auto" if status != "needs_review" else "review"
            rejecters = set()
        elif act == "escalate":
            status, reason, level = "needs_review", r.get("reason_code"), "escalated"
        elif act == "reject":
            code = r["reason_code"]
            needed = rejections_required if REASONS[code].signature_grounds else 1
            rejecters.add(r["user"])
            if len(rejecters) >= needed:
                status, reason, level = "invalid", code, "ruled"
            else:
                status, reason, level = "needs_review", code, "second_opinion"
    return status, reason, level



def rulings_since_reset(rulings: list[dict]) -> list[dict]:
    """The rulings (non-audit, in order) still in force: those after the last
    ``reopen``, or from the last ``accept`` on."""
    cut = 0
    for i, r in enumerate(rulings):
        if r["action"] in ("accept", "reopen"):
            cut = i + (1 if r["action"] == "reopen" else 0)
    return rulings[cut:]


#: The reviewer name of the software's automatic accepts.
SOFTWARE = "software"

#: What each ruling action decides, as the QA audit compares decisions.
ACTION_DECISION = {"accept": "valid", "reject": "invalid", "escalate": "escalate"}


def decision_in_force(rulings: list[dict], determination: str | None, det_reasons: list[str],
                      rejections_required: int) -> tuple[str, str, str | None, int | None] | None:
    """The decision in force given these rulings (in order): ``(reviewer,
    decision, reason, ruling_id)``, or None when nobody has decided (the
    line waits in the review queue)."""
    status, _reason, level = resolve(rulings, determination, det_reasons, rejections_required)
    if level == "auto" and status == "valid":
        return SOFTWARE, "valid", None, None
    if level in ("ruled", "second_opinion", "escalated"):
        wanted = ("escalate",) if level == "escalated" else ("accept", "reject")
        last = next((r for r in reversed(rulings) if r["action"] in wanted), None)
        if last is not None:
            return last["user"], ACTION_DECISION[last["action"]], last["reason_code"], last["id"]
    return None
