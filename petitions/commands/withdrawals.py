"""``petitions withdrawals``: record signers' withdrawal requests.

Library first: :func:`petitions.withdrawals.import_withdrawals`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from petitions.commands.workspace import _open, _user, _ws_arg


def register(sub) -> None:
    p = sub.add_parser(
        "withdrawals", help="record withdrawal requests and apply them to the filing's lines",
        description="Read withdrawal requests (CSV name,address,date[,city,zip,voter_id]; date YYYY-MM-DD, the day "
                    "received), find each signer in the voter file with the matcher (the rule set's point; a voter id "
                    "given is checked against the file) and the filing's lines matched to that voter. Each "
                    "request is stored as an event; a withdrawn line counts as not valid (in the sample too) "
                    "and waits for a person to confirm it (petitions confirm-invalid). Requests that name no "
                    "line, or only an uncertain voter, are listed and the command exits 1.")
    _ws_arg(p, filing=True)
    p.add_argument("csv", type=Path)
    p.set_defaults(func=_withdrawals)


def _withdrawals(args) -> int:
    from petitions.stages.filings import get_filing
    from petitions.withdrawals import import_withdrawals

    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        rep = import_withdrawals(ws, filing.id, args.csv, user=_user(args, ws))
    print(f"withdrawals for {filing.name}: {len(rep.matched)} request(s) matched, {rep.lines_withdrawn} line(s) "
          f"withdrawn (waiting for confirmation), {len(rep.unmatched)} unmatched, {len(rep.problems)} problem(s)")
    for row, voter, labels in rep.matched:
        print(f"  row {row}: voter {voter}: {', '.join(labels)}")
    for label in rep.reopened:
        print(f"  {label}: had a ruling; reopened so that a person confirms the withdrawal")
    for u in rep.unmatched:
        print(f"  unmatched: {u}")
    for p in rep.problems:
        print(f"  {p}", file=sys.stderr)
    return 1 if (rep.unmatched or rep.problems) else 0
