"""Filing-period commands: list the workspace's filings with their status.

Library first: :func:`petitions.period.list_filings` is the call.
"""
from __future__ import annotations

import json
from dataclasses import asdict

from petitions.commands.workspace import _open, _ws_arg


def register(sub) -> None:
    p = sub.add_parser(
        "filings", help="list the filings of the workspace with their status",
        description="List every filing of the workspace, one line each: id, name, kind, office (with its seats "
                    "and period), lines, valid, pending and outcome. Filings of one office and period are "
                    "checked together for the rule set's limits across filings (one paper per office, or as "
                    "many as seats; a candidate's in-lieu petition and nomination paper counted together).")
    _ws_arg(p)
    p.add_argument("--json", action="store_true", help="print a JSON list instead")
    p.set_defaults(func=_filings)


def _filings(args) -> int:
    from petitions.period import list_filings

    with _open(args) as ws:
        rows = list_filings(ws)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    if not rows:
        print("no filings yet (petitions create-filing)")
        return 0
    for r in rows:
        office = f"{r.office} ({r.seats} seat{'s' if r.seats != 1 else ''}, {r.period})" if r.office else "-"
        print(f"{r.id:4d}  {r.name:30s} {r.kind:11s} {office:36s} lines {r.lines:6,}  valid {r.valid:6,}  "
              f"pending {r.pending:6,}  {r.outcome or '-'}")
    return 0
