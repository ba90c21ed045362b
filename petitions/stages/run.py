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
    return reports

