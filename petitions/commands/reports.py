"""Report, certificate, proponents' export and QA audit commands.

Thin: each command opens the workspace, converts its arguments and calls
:mod:`petitions.reports` or :mod:`petitions.audit`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from petitions.commands.workspace import _open, _user, _ws_arg
from petitions.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="write the filing's CSV reports (lines, tallies, events, sample, missing pages)",
        description="Write lines.csv (every line: state, determination, final status, reason, scores, voter id), "
                    "tallies.csv (per section and per circulator: lines, valid — auto-accepted and accepted by a person —, invalid by reason, pending) and "
                    "events.csv (the hash-chained audit trail) and sample.csv (the random sample: seed, frame hash, "
                    "every ticket, for observers to recompute) and missing_pages.csv (pages that failed to read and gaps in the "
                    "section / page numbering: lines the raw count may be missing) into --out. No certificate: see `petitions certify`. "
                    "These files are internal records (petitions are not public records).")
    _ws_arg(p, filing=True)
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "certify", help="certify the result and write the certificate PDF",
        description="Write the certificate of sufficiency / insufficiency (or, for a random sample between the "
                    "bands, of a full count required) with the raw count, the sampling inputs (seed, frame hash), "
                    "counts by reason and the projection, and record a 'certified' event with the numbers and the "
                    "PDF's SHA-256, and print the frame certified (the SHA-256 of its signed line ids). "
                    "Supervisors only. Refused while lines of the count (the sample's lines, or every signed line "
                    "in a full count) still need review; while the random sample's frozen frame is not the filing's "
                    "current set of signed lines (void and redraw: petitions sample --void); while a page failed "
                    "to read or a section / page number is missing (unless --accept-missing-pages); and while an "
                    "earlier certificate is in force (petitions reopen first). Warns, on the certificate too, when "
                    "the rule set's QA audits are not done. When the sample drew every signed line the result is "
                    "counted, not projected, and the certificate says full count. Afterwards the filing is locked: "
                    "rulings, samples and escalations are refused until a supervisor reopens it.")
    _ws_arg(p, filing=True)
    p.add_argument("--out", required=True, type=Path, metavar="CERT.pdf", help="the certificate PDF to write")
    p.add_argument("--official", required=True, metavar="NAME", help="the certifying official's name")
    p.add_argument("--title", default="Elections Official", help='their title (default: "Elections Official")')
    p.add_argument("--office", default="", help='the office, printed under the title, e.g. "City Clerk"')
    p.add_argument("--accept-missing-pages", metavar="REASON", default=None,
                   help="certify although pages failed to read or section / page numbers are missing, for this "
                        "reason (printed on the certificate and recorded in the event)")
    p.set_defaults(func=_certify)

    p = sub.add_parser(
        "reopen", help="reopen a certified filing (supersedes its certificate)",
        description="Reopen a certified filing, a supervisor's decision with a recorded reason: the certificate "
                    "is marked superseded (petitions status says so), rulings are taken again, and a new "
                    "certificate can be issued with petitions certify.")
    _ws_arg(p, filing=True)
    p.add_argument("--reason", required=True, help="why the certified filing is reopened (recorded)")
    p.set_defaults(func=_reopen)

    p = sub.add_parser(
        "proponent-export", help="disqualified lines with reasons and crops, for the proponents",
        description="For the proponents of a petition certified insufficient (Gov. Code 7924.110): write into a "
                    "new or empty --out folder the disqualified lines only (line id, reason code, reason), an "
                    "index CSV and the signature / printed name / address crops of those lines as PNG files, "
                    "read-only, with SHA256SUMS. No voter data (never party, birth date or demographics) and "
                    "nothing about valid lines. The export is recorded in the event log.")
    _ws_arg(p, filing=True)
    p.add_argument("--out", required=True, type=Path, help="a new or empty folder")
    p.set_defaults(func=_proponent_export)

    p = sub.add_parser(
        "audit", help="supervisor QA audits: draw, queue, rule, report, route",
        description="Supervisor QA audits: draw a reproducible sample of the software's accepts and of each "
                    "person's rulings at the rule set's QA rates, re-rule them blind, report agreement per "
                    "reviewer and per reason (percent agreement, Cohen's kappa), and send disagreements back "
                    "to the review queue.")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    asub.required = True

    a = asub.add_parser(
        "draw", help="draw or extend the QA sample",
        description="Draw the QA sample with the published seed: per population (the software's accepts, and "
                    "each person's rulings) the lines with the smallest consistent-sampler tickets, "
                    "qa.auto_accept_rate of the accepts and qa.per_reviewer_rate (at least "
                    "qa.minimum_per_reviewer) of each person's rulings. Drawing again with the same seed adds only "
                    "lines not sampled before; with nothing new it changes nothing.")
    _ws_arg(a, filing=True)
    a.add_argument("--seed", required=True, help="the published seed, used as a string exactly as typed")
    a.add_argument("--json", action="store_true", help="print what was drawn as JSON")
    a.set_defaults(func=_audit_draw)

    a = asub.add_parser(
        "queue", help="list QA-sampled lines awaiting a blind audit ruling",
        description="List the QA-sampled lines still waiting for an audit ruling, in ticket order, with only "
                    "what a blind re-ruling needs (never the original decision). With --user, lines whose "
                    "decision is that user's own are left out.")
    _ws_arg(a, filing=True)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_audit_queue)

    a = asub.add_parser(
        "rule", help="record a blind audit ruling on a QA-sampled line",
        description="Record a supervisor's audit ruling (accept / reject with a reason / escalate) on a line of "
                    "the QA sample. It never changes the line's status; see `petitions audit route`.")
    _ws_arg(a, filing=True)
    a.add_argument("--line", required=True, help="line id, e.g. S001-P02-L07")
    g = a.add_mutually_exclusive_group(required=True)
    g.add_argument("--accept", action="store_true")
    g.add_argument("--reject", metavar="REASON", help="reason code (see `petitions reasons`)")
    g.add_argument("--escalate", action="store_true")
    a.add_argument("--note", default=None)
    a.set_defaults(func=_audit_rule)

    a = asub.add_parser(
        "report", help="agreement per reviewer and per reason",
        description="Percent agreement and Cohen's kappa between the original decisions and the audit "
                    "re-rulings, overall, per reviewer (the software counts as reviewer 'software') and per "
                    "reason, and the disagreements.")
    _ws_arg(a, filing=True)
    a.add_argument("--json", action="store_true", help="print the report as JSON")
    a.set_defaults(func=_audit_report)

    a = asub.add_parser(
        "route", help="send audit disagreements back to the review queue",
        description="Reopen every line where the audit disagrees with the decision in force (a supervisor's "
                    "reopen ruling naming the audit ruling), so it returns to the review queue. Safe to run "
                    "again: disagreements already routed are skipped.")
    _ws_arg(a, filing=True)
    a.set_defaults(func=_audit_route)


def _filing(ws, args):
    from petitions.stages.filings import get_filing

    return get_filing(ws, args.filing)


def _report(args) -> int:
    from petitions.reports import write_report

    with _open(args) as ws:
        filing = _filing(ws, args)
        paths = write_report(ws, filing.id, args.out, user=_user(args, ws))
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _certify(args) -> int:
    from petitions.reports import certify

    with _open(args) as ws:
        filing = _filing(ws, args)
        res = certify(ws, filing.id, user=_user(args, ws), out_pdf=args.out, official_name=args.official,
                      official_title=args.title, office=args.office, accept_missing_pages=args.accept_missing_pages)
    d = res.data
    method = "full count, every signed line sampled" if d.counted_in_full else d.method.replace('_', ' ')
    print(f"{filing.name}: {res.result.replace('_', ' ').upper()} ({method}, raw count "
          f"{d.raw_count:,}, required {d.required:,}"
          + (f", projected valid {d.projection.projected_valid:,}" if d.projection else f", valid {d.valid_count:,}")
          + ")")
    print(f"frame certified: {d.frame_hash or '(none)'} ({d.raw_count:,} signed lines)")
    print(f"certificate: {res.path}  sha256 {res.sha256}")
    for w in res.qa_warnings:
        print(f"warning: {w}", file=sys.stderr)
    for w in d.declaration_warnings:
        print(f"warning: declaration not in order, no section ruling: {w}", file=sys.stderr)
    return 0


def _reopen(args) -> int:
    from petitions.certification import reopen

    with _open(args) as ws:
        filing = _filing(ws, args)
        ev = reopen(ws, filing.id, user=_user(args, ws), reason=args.reason)
    print(f"{filing.name}: reopened; the certificate ({str(ev['result']).replace('_', ' ')}, pdf sha256 "
          f"{ev['pdf_sha256']}) is superseded. Rulings are taken again; certify anew when done.")
    return 0


def _proponent_export(args) -> int:
    from petitions.reports import proponent_export

    with _open(args) as ws:
        filing = _filing(ws, args)
        rep = proponent_export(ws, filing.id, args.out, user=_user(args, ws))
    print(f"{rep.lines:,} disqualified line(s), {rep.images:,} crop image(s) written to {rep.out_dir} (read-only)")
    return 0


def _audit_draw(args) -> int:
    from petitions.audit import draw_qa_sample

    with _open(args) as ws:
        filing = _filing(ws, args)
        info = draw_qa_sample(ws, filing.id, seed=args.seed, user=_user(args, ws))
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    head = (f"QA round {info.round}: {info.drawn:,} line(s) drawn" if info.round is not None
            else "QA sample already covers every quota; nothing new drawn")
    print(f"{head}; seed {info.seed!r}")
    for p in info.populations:
        print(f"  {p.population:20s} {p.frame_size:6,} decided  quota {p.quota:4,}  added {len(p.items):4,}  "
              f"frame sha256 {p.frame_hash[:16]}…")
    return 0


def _audit_queue(args) -> int:
    from dataclasses import asdict

    from petitions.audit import qa_queue

    with _open(args) as ws:
        filing = _filing(ws, args)
        user = _user(args, ws) if args.user else None
        cases = qa_queue(ws, filing.id, user=user)
    if args.json:
        print(json.dumps([asdict(c) for c in cases], indent=2, default=str))
        return 0
    for c in cases:
        keyed = c.keyed or {}
        print(f"{c.label}  {keyed.get('name') or '(not keyed)'}, {keyed.get('address') or ''}  "
              f"candidates: {', '.join(v for v, _ in c.candidates) or 'none'}")
    print(f"{len(cases):,} line(s) awaiting an audit ruling")
    return 0


def _audit_rule(args) -> int:
    from petitions.audit import record_audit
    from petitions.store import status as status_db

    action = "accept" if args.accept else "reject" if args.reject else "escalate"
    with _open(args) as ws:
        filing = _filing(ws, args)
        line_id = status_db.line_db_id(ws, filing.id, args.line)
        if line_id is None:
            raise UserError(f"no line {args.line!r} in filing {filing.name!r}")
        res = record_audit(ws, line_id, user=_user(args, ws), action=action, reason_code=args.reject, note=args.note)
    print(f"{args.line}: audit {action} recorded (ruling {res.ruling_id})")
    return 0


def _fmt_table(df) -> list[str]:
    out = []
    for r in df.iter_rows(named=True):
        kappa = "-" if r["kappa"] is None else f"{r['kappa']:.3f}"
        out.append(f"  {r['group']:28s} n {r['n']:5,}  agree {r['percent_agreement']:6.2f} %  kappa {kappa}")
    return out


def _audit_report(args) -> int:
    from petitions.audit import agreement_report

    with _open(args) as ws:
        filing = _filing(ws, args)
        rep = agreement_report(ws, filing.id)
    if args.json:
        print(json.dumps(rep.to_dict(), indent=2, default=str))
        return 0
    lines = [f"QA sample: {rep.sampled:,} line(s), {rep.audited_count:,} audited, {rep.awaiting:,} awaiting"]
    lines += ["Overall:"] + _fmt_table(rep.overall)
    lines += ["Per reviewer:"] + _fmt_table(rep.per_reviewer)
    lines += ["Per reason:"] + _fmt_table(rep.per_reason)
    lines.append(f"Disagreements: {rep.disagreements.height:,}")
    for r in rep.disagreements.iter_rows(named=True):
        lines.append(f"  {r['line_id']}: {r['reviewer']} {r['original_decision']}, audit by {r['auditor']} "
                     f"{r['audit_decision']}" + (f" ({r['audit_reason']})" if r["audit_reason"] else ""))
    print("\n".join(lines))
    return 0


def _audit_route(args) -> int:
    from petitions.audit import route_disagreements

    with _open(args) as ws:
        filing = _filing(ws, args)
        rep = route_disagreements(ws, filing.id, user=_user(args, ws))
    print(f"{len(rep.routed):,} disagreement(s) sent back to review"
          + (f"; {len(rep.already_routed):,} routed earlier" if rep.already_routed else "")
          + (f"; {len(rep.reruled_since):,} already re-ruled since the audit" if rep.reruled_since else ""))
    for label in rep.routed:
        print(f"  {label}")
    return 0
