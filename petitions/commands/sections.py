"""``petitions sections`` and ``petitions section``: circulators' declarations
and a supervisor's ruling on a whole section.

Library first: :mod:`petitions.sections`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from petitions.commands.workspace import _open, _user, _ws_arg
from petitions.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "sections", help="each section's circulator declaration, its checks and any section ruling",
        description="List the filing's sections: the circulator's declaration as keyed (name, address, dates "
                    "circulated, signed, date of the declaration), what is missing or inconsistent (no name, "
                    "address or dates; not signed, or no ink in the declaration's signature box when 'signed' was "
                    "not keyed; the declaration dated before the latest signer; signers dated outside the dates "
                    "circulated or the filing's window) and any supervisor's ruling on the whole section. With "
                    "--key CSV, first record declarations (supervisors): columns section,circulator_name,"
                    "circulator_address,circulated_from,circulated_to,signed[,declaration_date]; dates YYYY-MM-DD, "
                    "signed yes/no or blank. Bad rows are listed by row and column and the command exits 1; good "
                    "rows are kept. The checks only show: a person rules (petitions section).")
    _ws_arg(p, filing=True)
    p.add_argument("--key", type=Path, default=None, metavar="CSV", help="record keyed declarations first")
    p.add_argument("--json", action="store_true", help="print the sections as JSON")
    p.add_argument("--crops", type=Path, default=None, metavar="DIR",
                   help="also write each page's declaration crops (name, address, dates, signature) as PNG files "
                        "section-NNN-page-PP-<field>.png for a person to look at")
    p.set_defaults(func=_sections)

    p = sub.add_parser(
        "section", help="a supervisor's ruling on a whole section (void with a reason, or restore)",
        description="Rule a whole section invalid (supervisors): --rule circulator_defect or wrong_county with "
                    "--reason TEXT. Every signed line of the section then counts as invalid for that code, in the "
                    "sample and on the certificate (blank and struck lines are not in the raw count either way). "
                    "--restore --reason TEXT takes the ruling back with a later ruling; both stay on record, each "
                    "an event. Refused while the filing's certificate is in force.")
    _ws_arg(p, filing=True)
    p.add_argument("--section", type=int, required=True, help="the section number")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--rule", metavar="CODE", help="circulator_defect or wrong_county")
    g.add_argument("--restore", action="store_true", help="take the section ruling in force back")
    p.add_argument("--reason", default="", help="why (required; recorded with the ruling)")
    p.set_defaults(func=_section)


def _sections(args) -> int:
    from petitions.law.reasons import label
    from petitions.sections import key_declarations, sections_of
    from petitions.stages.filings import get_filing

    bad = 0
    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        if args.key is not None:
            rep = key_declarations(ws, filing.id, args.key, user=_user(args, ws))
            print(f"declarations for {filing.name}: {rep.imported} recorded, {rep.unchanged} unchanged, "
                  f"{len(rep.problems)} problem(s)", file=sys.stderr if args.json else sys.stdout)
            for p in rep.problems:
                print(f"  {p}", file=sys.stderr)
            bad = len(rep.problems)
        views = sections_of(ws, filing.id)
        if args.crops is not None:
            from petitions.sections import write_declaration_crops

            written = write_declaration_crops(ws, filing.id, args.crops)
            print(f"{len(written)} declaration crop(s) written to {args.crops}", file=sys.stderr)
    if args.json:
        print(json.dumps([v.to_dict() for v in views], indent=2, default=str))
        return 1 if bad else 0
    for v in views:
        d = v.declaration or {}
        signed = {1: "signed", 0: "NOT signed", None: "signed?"}[d.get("signed")]
        if d.get("signed") is None and v.signature_ink is not None:
            signed = "ink in the signature box" if v.signature_ink else "NO INK in the signature box"
        batch = f" batch {v.batch}," if v.batch is not None else ""
        who = d.get("circulator_name") or v.circulator or "(circulator not keyed)"
        dates = f"{d.get('circulated_from') or '?'} to {d.get('circulated_to') or '?'}"
        print(f"section {v.section:3d}:{batch} {v.pages} page(s), {v.signed_lines:,} signed line(s); "
              f"{who}, {d.get('circulator_address') or '(no address)'}; circulated {dates}; {signed}"
              + (f", declared {d['declaration_date']}" if d.get("declaration_date") else ""))
        for p in v.problems:
            print(f"    check: {p.message} [{p.code}]")
        if v.ruling:
            r = v.ruling
            print(f"    RULED {label(r['reason_code'])} [{r['reason_code']}] by {r['ruled_by']} on "
                  f"{r['created_at'][:10]}: {r['reason']} — all {v.signed_lines:,} signed line(s) invalid")
        elif v.history:
            r = v.history[-1]
            print(f"    restored by {r['ruled_by']} on {r['created_at'][:10]}: {r['reason']} "
                  f"({len(v.history)} ruling(s) on record)")
    with_problems = sum(1 for v in views if v.problems)
    print(f"{len(views)} section(s), {with_problems} with declaration problems, "
          f"{sum(1 for v in views if v.ruling)} ruled invalid as a whole")
    return 1 if bad else 0


def _section(args) -> int:
    from petitions.sections import restore_section, rule_section
    from petitions.stages.filings import get_filing

    if not (args.reason or "").strip():
        raise UserError("say why (--reason TEXT): a section ruling is recorded with its reason")
    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        user = _user(args, ws)
        if args.restore:
            ev = restore_section(ws, filing.id, args.section, user=user, reason=args.reason)
            print(f"section {args.section} of {filing.name} restored (was {ev['replaces']}): its "
                  f"{ev['signed_lines']:,} signed line(s) count by their own rulings again")
        else:
            ev = rule_section(ws, filing.id, args.section, user=user, code=args.rule, reason=args.reason)
            print(f"section {args.section} of {filing.name} ruled {ev['reason_code']}: its {ev['signed_lines']:,} "
                  "signed line(s) count as invalid")
    return 0
