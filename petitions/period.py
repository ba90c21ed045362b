"""A filing period: every filing of the workspace, grouped by office, with its status.

Filings belong to an office of a period (:func:`petitions.stages.filings.create_filing`
with ``office``); the rule set's limits across filings apply among them
(:func:`petitions.stages.decide.triage_inputs`). This module lists them.
"""
from __future__ import annotations

from dataclasses import dataclass

from petitions.store import Workspace
from petitions.store import filings as filings_db


@dataclass(frozen=True)
class FilingStatus:
    """One filing of the workspace as the period's list shows it."""

    id: int
    name: str
    kind: str
    period: str | None
    office: str | None
    seats: int | None
    candidate: str | None
    lines: int
    raw_count: int
    valid: int
    invalid: int
    pending: int
    required: int | None
    outcome: str | None


def list_filings(ws: Workspace) -> list[FilingStatus]:
    """Every filing of the workspace with its counts as they stand, by
    period and office (filings without an office last), oldest first."""
    from petitions.counting import count_result
    from petitions.status import line_status

    out = []
    for rec in filings_db.all_filings(ws):
        status = line_status(ws, rec["id"])
        res = count_result(ws, rec["id"], status=status)
        out.append(FilingStatus(
            id=rec["id"], name=rec["name"], kind=rec["kind"], period=rec.get("office_period"),
            office=rec.get("office_name"), seats=rec.get("office_seats"), candidate=rec.get("candidate"),
            lines=status.height, raw_count=res.raw_count, valid=res.valid, invalid=res.invalid,
            pending=res.pending, required=rec["required"], outcome=res.outcome))
    return out
