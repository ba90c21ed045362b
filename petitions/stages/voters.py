"""Stage: the county voter file and the signatures on file (exemplars).
"""
from __future__ import annotations

import tempfile

import json
from dataclasses import asdict, dataclass, field
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
    problems: list = field(default_factory=list)
    rows_read: int = 0
    comparison: dict | None = None


class VoterFileNotAccepted(UserError):
    """The import stopped before anything was stored: bad rows not yet
    accepted (``problems``), or a replacement that needs confirming
    (``concerns``, with the ``comparison``)."""

    def __init__(self, message: str, *, where: str | None = None, problems: list | None = None,
                 concerns: list[str] | None = None, comparison: dict | None = None):
        super().__init__(message, where=where)
        self.problems = problems or []
        self.concerns = concerns or []
        self.comparison = comparison


#: A new voter file smaller than this share of the active one is stopped until confirmed.
MIN_REPLACE_RATIO = 0.9
#: Voter-id / city / district overlap below which a file looks like another county's.
MIN_REPLACE_OVERLAP = 0.5


def import_voter_file(ws: Workspace, path: str | Path, *, user: str, mapping=None,
                      accept_problems: int | None = None, replace_confirmed: bool = False,
                      progress: ProgressFn = noop_progress, cancel: CancelFn = never) -> VoterFileImport:
    """Import a county voter file into the workspace's columnar copy.

    Good rows import; bad rows (ragged, blank or repeated voter id, bad
    ZIP, date or status …) are quarantined and stored with file, row and
    column. A file with problems imports only once the supervisor accepts
    it with the exact number of problems found (``accept_problems``),
    which the import records; otherwise :class:`VoterFileNotAccepted` lists
    them and nothing is stored. A file that would replace the active one
    with far fewer voters (< 90 %) or looks like another county's (voter
    ids, cities or districts overlap < 50 %) is stopped with the comparison
    until ``replace_confirmed``.

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
        active = voters_db.active_voter_file(ws)
        if active is not None and active["id"] != existing["id"] and not replace_confirmed:
            # going back to an earlier file is a replacement like any other
            old = pl.read_parquet(ws.crops.local_path(active["parquet_path"]), columns=["voter_id", "city", "district"])
            again = pl.read_parquet(ws.crops.local_path(voters_db.voter_file_parquet(ws, existing["id"])),
                                    columns=["voter_id", "city", "district"])
            cmp = matchers.compare_voter_files(old, again)
            concerns = cmp.concerns(min_rows_ratio=MIN_REPLACE_RATIO, min_overlap=MIN_REPLACE_OVERLAP)
            if concerns:
                raise VoterFileNotAccepted(
                    "would bring back an earlier voter file over the active one: " + "; ".join(concerns)
                    + ". Nothing changed; if this is the right file, confirm with --replace-confirmed",
                    where=str(path), concerns=concerns, comparison={**asdict(cmp), "concerns": concerns})
        with ws.transaction():
            voters_db.activate_voter_file(ws, existing["id"])
            ws.log_event("voter_file_reactivated", user=user, payload={"voter_file_id": existing["id"], "sha256": digest})
        return VoterFileImport(existing["id"], existing["rows"], True)
    progress("voters", 0, 3)
    read = matchers.read_voter_file_checked(path, mapping=mapping)
    problems = read.problems
    if problems and accept_problems != len(problems):
        said = "" if accept_problems is None else f" (--accept-problems {accept_problems} given)"
        raise VoterFileNotAccepted(
            f"{len(problems)} problem(s) in {read.rows_quarantined:,} of {read.rows_read:,} rows{said}; nothing "
            f"imported. Those rows would be left out: check them, then accept with --accept-problems {len(problems)}",
            where=str(path), problems=problems)
    if read.voters.height == 0:
        raise UserError("no good voter rows in the file; nothing imported", where=str(path))
    progress("voters", 1, 3)
    check_cancel(cancel)
    comparison = None
    active = voters_db.active_voter_file(ws)
    if active is not None:
        old = pl.read_parquet(ws.crops.local_path(active["parquet_path"]), columns=["voter_id", "city", "district"])
        cmp = matchers.compare_voter_files(old, read.voters)
        comparison = {**asdict(cmp), "replaces_voter_file_id": active["id"]}
        concerns = cmp.concerns(min_rows_ratio=MIN_REPLACE_RATIO, min_overlap=MIN_REPLACE_OVERLAP)
        comparison["concerns"] = concerns
        if concerns and not replace_confirmed:
            raise VoterFileNotAccepted(
                "would replace the active voter file: " + "; ".join(concerns)
                + ". Nothing imported; if this is the right file, confirm with --replace-confirmed",
                where=str(path), concerns=concerns, comparison=comparison)
    prepared = matchers.prepare_voters(read.voters)
    progress("voters", 2, 3)
    check_cancel(cancel)
    # The prepared copy goes to the content-addressed store: a file in the
    # folder, or on a server into the database so every workstation reads it.
    key = f"voterfiles/{digest}.parquet"
    with tempfile.TemporaryDirectory(prefix="sigverify-voters-") as tmpdir:
        prepared.write_parquet(Path(tmpdir) / "prepared.parquet")
        ws.crops.put_file(key, Path(tmpdir) / "prepared.parquet")
    progress("voters", 3, 3)
    with ws.transaction():
        vf_id = voters_db.add_voter_file(
            ws, source_path=str(path), sha256=digest, parquet_path=key,
            rows=prepared.height,
            mapping_json=json.dumps(mapping) if isinstance(mapping, dict) else (str(mapping) if mapping else None),
            imported_at=now_utc(), imported_by=user, problems=len(problems),
            comparison_json=json.dumps(comparison, default=str) if comparison else None)
        voters_db.add_voter_file_problems(
            ws, vf_id, [(p.path, p.row, p.column, p.problem, p.value) for p in problems])
        voters_db.add_voter_records(ws, vf_id, prepared)
        voters_db.activate_voter_file(ws, vf_id)
        ws.log_event("voter_file_imported", user=user,
                     payload={"voter_file_id": vf_id, "source": str(path), "sha256": digest, "rows": prepared.height,
                              "rows_read": read.rows_read, "problems": len(problems),
                              "problems_accepted_by": user if problems else None,
                              "rows_quarantined": read.rows_quarantined,
                              "replace_confirmed": bool(comparison and comparison["concerns"]),
                              "comparison": comparison})
    return VoterFileImport(vf_id, prepared.height, False, problems, read.rows_read, comparison)


def voter_file_problems(ws: Workspace, voter_file_id: int | None = None) -> list[dict]:
    """The quarantined rows of a voter-file import (the active one by default):
    ``source_path``, ``row_number``, ``column_name``, ``problem``, ``value``."""
    if voter_file_id is None:
        row = voters_db.active_voter_file(ws)
        if not row:
            return []
        voter_file_id = int(row["id"])
    return voters_db.voter_file_problems(ws, voter_file_id)


def active_voter_file(ws: Workspace) -> tuple[int, pl.DataFrame]:
    import matchers

    row = voters_db.active_voter_file(ws)
    if not row:
        raise UserError("no voter file imported yet; import one first (petitions voters import)", where=ws.location)
    # a copy prepared by an older version is brought up to date in memory
    return int(row["id"]), matchers.ensure_prepared(pl.read_parquet(ws.crops.local_path(row["parquet_path"])))


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

