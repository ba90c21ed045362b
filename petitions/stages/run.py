"""Everything after ingest and keying, in order.
"""
from __future__ import annotations

from petitions.stages.decide import run_triage
from petitions.stages.job import CancelFn, ProgressFn, StageReport, never, noop_progress
from petitions.stages.match import run_matching
from petitions.stages.verify import run_signatures
from petitions.store import Workspace


def run_all(ws: Workspace, filing_id: int, *, user: str, progress: ProgressFn = noop_progress,
            cancel: CancelFn = never) -> list[StageReport]:
    """Match, compare signatures and triage: everything after ingest and keying."""
    reports = [run_matching(ws, filing_id, user=user, progress=progress, cancel=cancel)]
    if reports[-1].status == "cancelled":
        return reports
    reports.append(run_signatures(ws, filing_id, user=user, progress=progress, cancel=cancel))
    if reports[-1].status == "cancelled":
        return reports
    reports.append(run_triage(ws, filing_id, user=user))
    return reports + retriage_office(ws, filing_id, user=user)


def retriage_office(ws: Workspace, filing_id: int, *, user: str) -> list[StageReport]:
    """Triage again the other filings of the filing's office.

    The limits across filings read every filing of the office: the others'
    determinations may change with this one's matches (only changes are
    stored). A certified one is left as it stands and said so: its count
    is locked until a supervisor reopens it.
    """
    from petitions.certification import certification_state
    from petitions.stages.filings import get_filing
    from petitions.store import filings as filings_db

    filing = get_filing(ws, filing_id)
    reports: list[StageReport] = []
    if filing.office_id is None or filing.ruleset.cross_filing.papers_per_signer is None:
        return reports
    for other in filings_db.filings_of_office(ws, filing.office_id):
        if other["id"] == filing_id:
            continue
        if certification_state(ws, other["id"])["state"] == "certified":
            reports.append(StageReport(f"triage ({other['name']})", status="not rerun: certified; a supervisor "
                                       "reopens it (petitions reopen --reason) to recount"))
            continue
        rep = run_triage(ws, other["id"], user=user)
        if rep.processed:
            rep.stage = f"triage ({other['name']})"
            reports.append(rep)
    return reports
