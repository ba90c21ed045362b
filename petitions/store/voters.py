"""Named reads and writes: voter files and the signatures on file (exemplars)."""
from __future__ import annotations

from typing import Sequence

from petitions.store.workspace import Workspace


def voter_file_by_sha(ws: Workspace, sha256: str) -> dict | None:
    """The newest voter file imported from a source with this SHA-256 (``id``, ``rows``)."""
    return ws._one("SELECT id, rows FROM voter_files WHERE source_sha256 = ? ORDER BY id DESC LIMIT 1", (sha256,))


def activate_voter_file(ws: Workspace, voter_file_id: int) -> None:
    """Make this voter file the active one and every other inactive."""
    ws._exec("UPDATE voter_files SET active = CASE WHEN id = ? THEN 1 ELSE 0 END", (voter_file_id,))


def add_voter_file(ws: Workspace, *, source_path: str, sha256: str, parquet_path: str, rows: int,
                   mapping_json: str | None, imported_at: str, imported_by: str, problems: int = 0,
                   comparison_json: str | None = None) -> int:
    """Record a prepared voter file copy (inactive) with its accepted problem
    count and the comparison with the file it replaces; its new id."""
    return ws._insert(
        "INSERT INTO voter_files (source_path, source_sha256, parquet_path, rows, mapping_json, imported_at, "
        "imported_by, active, problems, comparison_json) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id",
        (source_path, sha256, parquet_path, rows, mapping_json, imported_at, imported_by, problems, comparison_json))


def add_voter_file_problems(ws: Workspace, voter_file_id: int, rows: Sequence[tuple]) -> None:
    """Store the quarantined rows of an import: (source_path, row_number, column_name, problem, value) each."""
    ws._many("INSERT INTO voter_file_problems (voter_file_id, source_path, row_number, column_name, problem, value) "
             "VALUES (?, ?, ?, ?, ?, ?)", [(voter_file_id, *r) for r in rows])


def voter_file_problems(ws: Workspace, voter_file_id: int) -> list[dict]:
    """The quarantined rows of one import, in file order."""
    return ws._rows("SELECT source_path, row_number, column_name, problem, value FROM voter_file_problems "
                    "WHERE voter_file_id = ? ORDER BY row_number, id", (voter_file_id,))


def voter_file_parquet(ws: Workspace, voter_file_id: int) -> str:
    """The stored columnar copy's path (relative to the workspace) of one voter file."""
    return ws._scalar("SELECT parquet_path FROM voter_files WHERE id = ?", (voter_file_id,))


def active_voter_file(ws: Workspace) -> dict | None:
    """The active voter file (``id``, ``parquet_path``, ``rows``, ``problems``, ``source_path``), or None."""
    return ws._one("SELECT id, parquet_path, rows, problems, source_path FROM voter_files WHERE active = 1")


def count_exemplars(ws: Workspace) -> int:
    """How many exemplars are on file."""
    return int(ws._scalar("SELECT COUNT(*) FROM exemplars"))


def add_exemplars(ws: Workspace, rows: Sequence[tuple]) -> None:
    """Add (voter_id, image_hash, captured_date, source, imported_at) rows; one already on file is kept."""
    ws._many("INSERT INTO exemplars (voter_id, image_hash, captured_date, source, imported_at) "
             "VALUES (?, ?, ?, ?, ?) ON CONFLICT (voter_id, image_hash) DO NOTHING", rows)


def exemplars_of(ws: Workspace, voter_ids: Sequence[str]) -> list[dict]:
    """Exemplars (voter_id, image_hash, captured_date, source) of these voters, oldest first per voter."""
    return ws._rows_in("SELECT voter_id, image_hash, captured_date, source FROM exemplars "
                       "WHERE voter_id IN ({ids}) ORDER BY voter_id, captured_date, id", voter_ids)


def add_voter_records(ws: Workspace, voter_file_id: int, frame) -> int:
    """On a server: the prepared voter file's display columns, as rows the
    server hands to review one case at a time (petitions.store.server). A
    folder reads the prepared file itself; nothing is stored."""
    if ws.backend != "postgresql":
        return 0
    from petitions.store.server import copy_voter_records

    return copy_voter_records(ws._backend, voter_file_id, frame)
