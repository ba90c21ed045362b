"""``petitions confirm-invalid``: a person confirms lines proposed invalid.

Library first: :func:`petitions.review.confirm.confirm_invalid`.
"""
from __future__ import annotations

from petitions.commands.workspace import _open, _user, _ws_arg
from petitions.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "confirm-invalid", help="confirm lines software proposes invalid (blank, struck, empty, withdrawn)",
        description="Software never makes a line invalid: blank, struck and empty lines (and withdrawn ones) wait "
                    "at level confirm_invalid with the proposed reason. List them (--list), or confirm them as "
                    "the person running the command: given lines (--line), a whole page (--page S001-P02) or "
                    "every proposed line (--all-proposed). Each confirmed line is a rejection with the proposed "
                    "reason recorded as that person's ruling; a line ruled on since is left alone.")
    _ws_arg(p, filing=True)
    p.add_argument("--line", action="append", default=None, metavar="LABEL", help="a line, e.g. S001-P02-L07 "
                   "(repeat for more)")
    p.add_argument("--page", default=None, help="every proposed line of this page, e.g. S001-P02")
    p.add_argument("--all-proposed", action="store_true", help="every proposed line of the filing")
    p.add_argument("--list", action="store_true", help="only list the lines waiting for confirmation")
    p.add_argument("--note", default=None, help="a note stored with each ruling")
    p.set_defaults(func=_confirm)


def _confirm(args) -> int:
    from petitions.review.confirm import confirm_invalid, proposed_invalid
    from petitions.stages.filings import get_filing

    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        if args.list:
            waiting = proposed_invalid(ws, filing.id, page=args.page)
            for r in waiting.iter_rows(named=True):
                print(f"{r['line_id']}  {r['state']:7s} proposed {r['proposed']}")
            print(f"{waiting.height:,} line(s) waiting for a person to confirm them invalid")
            return 0
        if not (args.line or args.page or args.all_proposed):
            raise UserError("say which lines to confirm: --line LABEL, --page S001-P02 or --all-proposed "
                            "(or --list to see them)")
        rep = confirm_invalid(ws, filing.id, user=_user(args, ws), labels=args.line, page=args.page,
                              all_proposed=args.all_proposed, note=args.note, via="command line")
    print(f"{len(rep.confirmed):,} line(s) confirmed invalid in {filing.name}")
    for label in rep.not_waiting:
        print(f"  {label}: not waiting for confirmation (never proposed, or ruled on since); left alone")
    return 1 if rep.not_waiting else 0
