"""The pure resolution of a line's rulings: its final status from its rulings in order and its determination.
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

