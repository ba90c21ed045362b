"""Backup and restore: `petitions backup`, `petitions restore`."""
from __future__ import annotations

import os
from pathlib import Path

from petitions.errors import UserError


def _location(value: str | None) -> str:
    from petitions.store.backends import WORKSPACE_ENV

    value = value or os.environ.get(WORKSPACE_ENV)
    if not value:
        raise UserError(f"no workspace given: pass -w FOLDER_OR_ADDRESS or set {WORKSPACE_ENV}")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "backup", help="take a consistent snapshot of a workspace while people work",
        description="Write a consistent online snapshot of the workspace (SQLite's backup API with the "
                    "content-addressed files, or pg_dump of a server workspace) to one tar file, readable by "
                    "its owner only. Supervisors only; the backup is an event in the log.")
    p.add_argument("--workspace", "-w", default=None, help="workspace folder or postgresql:// address "
                   "(default: $SIGVERIFY_WORKSPACE)")
    p.add_argument("--out", required=True, type=Path, help="backup file to write (.tar)")
    p.add_argument("--user", default=None, help="who takes it (on a server: the signed-in login)")
    p.set_defaults(func=_backup)

    p = sub.add_parser(
        "restore", help="recreate a workspace from a backup",
        description="Recreate a workspace from a backup file: into a new (or empty) folder, or into an empty "
                    "database on a server. Checks the snapshot's SHA-256 and the event chain.")
    p.add_argument("file", type=Path, help="backup file written by `petitions backup`")
    p.add_argument("--workspace", "-w", default=None, help="new workspace folder or postgresql:// address of an "
                   "empty database (default: $SIGVERIFY_WORKSPACE)")
    p.set_defaults(func=_restore)


def _backup(args) -> int:
    from petitions.commands.workspace import _default_user
    from petitions.store import Workspace
    from petitions.store.backup import backup

    with Workspace(_location(args.workspace)) as ws:
        user = ws.login or args.user or _default_user()
        m = backup(ws, args.out, user=user)
    print(f"backup {args.out}: {m.backend} workspace, {m.events:,} events, {m.files:,} files, "
          f"chain head {m.chain_head or '-'}")
    return 0


def _restore(args) -> int:
    from petitions.store.backup import restore

    m = restore(args.file, _location(args.workspace))
    print(f"restored {args.file} ({m.backend}, {m.events:,} events, taken {m.created_at}); the event log verifies")
    return 0
