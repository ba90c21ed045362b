"""Stage: the county voter file and the signatures on file (exemplars).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import polars as pl

from petitions.atomic import atomic_path
from petitions.errors import UserError
from petitions.stages.job import (
    CancelFn,
    ProgressFn,
    check_cancel,
    file_sha256,
    never,
    noop_progress,
    read_csv_strings,
)
from petitions.store import Workspace, now_utc
from petitions.store import voters as voters_db


@dataclass
class VoterFileImport:
    voter_file_id: int
    rows: int
    already_imported: bool


def import_voter_file(ws: Workspace, path: str | Path, *, user: str, mapping=None,
                      progress: ProgressFn = noop_progress, cancel: CancelFn = never) -> VoterFileImport:
    """Import a county voter file into the workspace's columnar copy.

    The prepared copy (normalised match keys added) is written to
    ``voterfiles/<sha256>.parquet`` and then made active in one transaction,
    so a re-import replaces the copy atomically; older copies stay so that
    earlier matches can still name the version they used.
    """
    import matchers

    ws.require_supervisor(user, "import a voter file")
    path = Path(path)
    if not path.exists():
        raise UserError("voter file not found", where=str(path))
    digest = file_sha256(path)
    existing = voters_db.voter_file_by_sha(ws, digest)
    if existing:
        with ws.transaction():
            voters_db.activate_voter_file(ws, existing["id"])
            ws.log_event("voter_file_reactivated", user=user, payload={"voter_file_id": existing["id"], "sha256": digest})
        return VoterFileImport(existing["id"], existing["rows"], True)
    progress("voters", 0, 3)
    voters = matchers.read_voter_file(path, mapping=mapping)
    progress("voters", 1, 3)
    check_cancel(cancel)
    prepared = matchers.prepare_voters(voters)
    progress("voters", 2, 3)
    check_cancel(cancel)
    target = ws.root / "voterfiles" / f"{digest}.parquet"
    with atomic_path(target) as tmp:
        prepared.write_parquet(tmp)
    progress("voters", 3, 3)
    with ws.transaction():
        vf_id = voters_db.add_voter_file(
            ws, source_path=str(path), sha256=digest, parquet_path=str(target.relative_to(ws.root)),
            rows=prepared.height,
            mapping_json=json.dumps(mapping) if isinstance(mapping, dict) else (str(mapping) if mapping else None),
            imported_at=now_utc(), imported_by=user)
        voters_db.activate_voter_file(ws, vf_id)
        ws.log_event("voter_file_imported", user=user,
                     payload={"voter_file_id": vf_id, "source": str(path), "sha256": digest, "rows": prepared.height})
    return VoterFileImport(vf_id, prepared.height, False)


def active_voter_file(ws: Workspace) -> tuple[int, pl.DataFrame]:
    import matchers

    row = voters_db.active_voter_file(ws)
    if not row:
        raise UserError("no voter file imported yet; import one first (petitions voters import)", where=str(ws.root))
    # a copy prepared by an older version is brought up to date in memory
    return int(row["id"]), matchers.ensure_prepared(pl.read_parquet(ws.root / row["parquet_path"]))


@dataclass
class ExemplarImport:
    imported: int = 0
    skipped_existing: int = 0
    problems: list[str] = field(default_factory=list)


def import_exemplars(ws: Workspace, index_csv: str | Path, *, user: str,
                     progress: ProgressFn = noop_progress, cancel: CancelFn = never) -> ExemplarImport:
    """Import voters' signature exemplars from an index CSV.

    The CSV has ``voter_id,path,captured_date,source``; paths are relative to
    the CSV's folder. A bad image is reported with its row and skipped; the
    good ones are stored. Rows are committed together at the end, so a
    cancel (:class:`Cancelled`) leaves the store as it was.
    """
    from sigverify.imageio import read_image

    index_csv = Path(index_csv)
    table = read_csv_strings(index_csv, required=("voter_id", "path"))
    report = ExemplarImport()
    rows = []
    total = table.height
    for i, rec in enumerate(table.iter_rows(named=True), start=2):
        if (i - 2) % 200 == 0:
            check_cancel(cancel)  # nothing is committed until the end: a cancel keeps the store as it was
            progress("exemplars", i - 2, total)
        img_path = index_csv.parent / (rec["path"] or "")
        try:
            image = read_image(img_path)
        except Exception as exc:  # noqa: BLE001 - reported per row, batch carries on
            if not getattr(exc, "user_error", False):
                raise
            report.problems.append(f"{index_csv} row {i}: {exc}")
            continue
        digest = ws.crops.put_image(image)
        rows.append((rec["voter_id"], digest, rec.get("captured_date"), rec.get("source"), now_utc()))
    with ws.transaction():
        before = voters_db.count_exemplars(ws)
        voters_db.add_exemplars(ws, rows)
        after = voters_db.count_exemplars(ws)
        report.imported = after - before
        report.skipped_existing = len(rows) - report.imported
        ws.log_event("exemplars_imported", user=user,
                     payload={"source": str(index_csv), "imported": report.imported,
                              "skipped_existing": report.skipped_existing, "problems": len(report.problems)})
    return report


def exemplars_for(ws: Workspace, voter_ids: Sequence[str]) -> dict[str, list[dict]]:
    """Each voter's exemplars on file (hash, captured date, source), oldest first."""
    out: dict[str, list[dict]] = {}
    for r in voters_db.exemplars_of(ws, list(dict.fromkeys(v for v in voter_ids if v))):
        out.setdefault(r["voter_id"], []).append(r)
    return out

