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
    """Match, compare signatures, scan the filing for one hand across many
    lines and triage: everything after ingest and keying.

    The same-hand scan (:func:`petitions.stages.fraud.scan_same_hand`, the
    filing's lines) runs when `user` is a supervisor (only a supervisor
    records a scan); for anyone else its report says it was not run and
    how to run it. Its clusters' lines wait in review (``same_hand``) after
    the triage that follows."""
    reports = [run_matching(ws, filing_id, user=user, progress=progress, cancel=cancel)]
    if reports[-1].status == "cancelled":
        return reports
    reports.append(run_signatures(ws, filing_id, user=user, progress=progress, cancel=cancel))
    if reports[-1].status == "cancelled":
        return reports
    reports.append(_same_hand(ws, filing_id, user=user, progress=progress, cancel=cancel))
    if reports[-1].status == "cancelled":
        return reports
    reports.append(run_triage(ws, filing_id, user=user))
    return reports + retriage_office(ws, filing_id, user=user)


def _same_hand(ws: Workspace, filing_id: int, *, user: str, progress: ProgressFn, cancel: CancelFn) -> StageReport:
    """The same-hand scan of the filing as a stage (triage follows)."""
    from petitions.stages.fraud import current_scan_up_to_date, scan_report, scan_same_hand
    from petitions.stages.job import Cancelled

    if ws.user_role(ws.acting_user(user) or user) != "supervisor":
        return StageReport("same_hand", status="not run: only a supervisor records a same-hand scan "
                                                "(petitions fraud-scan, or petitions run as a supervisor)")
    scan = current_scan_up_to_date(ws, filing_id)
    if scan is not None:  # a rerun: the scan in force read exactly these lines, crops, model and settings
        return StageReport("same_hand", skipped=1, counts={"up_to_date_scan": scan})
    try:
        return scan_report(scan_same_hand(ws, user=user, filing_id=filing_id, retriage=False, progress=progress,
                                          cancel=cancel))
    except Cancelled:
        return StageReport("same_hand", status="cancelled")


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
