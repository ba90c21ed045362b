"""What every stage shares: progress, cancel, the stage report and its run row.

A stage has the shape *plan → compute (pure) → commit*: it reads the work
not yet done from the store, hands whole batches to a core, and commits each
batch with its event in one transaction. A killed run loses at most the
batch in flight; running the stage again continues.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import polars as pl

from petitions.atomic import file_sha256
from petitions.errors import UserError
from petitions.store import Workspace

log = logging.getLogger(__name__)


ProgressFn = Callable[[str, int, int], None]


CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """A long job was cancelled; everything committed before stays."""


def noop_progress(stage: str, done: int, total: int) -> None:
    return None


def never() -> bool:
    return False




def check_cancel(cancel: CancelFn) -> None:
    if cancel():
        raise Cancelled()


def read_csv_strings(path: Path, *, required: Sequence[str]) -> pl.DataFrame:
    if not path.exists():
        raise UserError("file not found", where=str(path))
    if path.stat().st_size == 0:
        raise UserError("file is empty (0 bytes)", where=str(path))
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as exc:  # noqa: BLE001 - polars raises several types for bad CSV
        raise UserError(f"not a readable CSV ({exc.__class__.__name__}: {str(exc).splitlines()[0]})", where=str(path)) from None
    df = df.rename({c: c.strip().lower() for c in df.columns})
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}", where=str(path))
    return df


@contextlib.contextmanager
def stage_run(ws: Workspace, report: "StageReport", user: str):
    """Close a stage's run row however the stage ends: done, cancelled (the
    exception is absorbed; committed batches stay) or failed (re-raised)."""
    try:
        yield
    except Cancelled:
        report.status = "cancelled"
        ws.finish_run(report.run_id, status="cancelled", user=user, summary={"processed": report.processed})
    except BaseException as exc:
        report.status = "failed"
        with contextlib.suppress(Exception):  # the store itself may be what failed
            ws.finish_run(report.run_id, status="failed", user=user,
                          summary={"processed": report.processed, "error": f"{type(exc).__name__}: {exc}"})
        raise
    else:
        ws.finish_run(report.run_id, status="done", user=user, summary={"processed": report.processed})


@dataclass
class StageReport:
    stage: str
    run_id: int | None = None
    processed: int = 0
    skipped: int = 0
    status: str = "done"
    counts: dict = field(default_factory=dict)

