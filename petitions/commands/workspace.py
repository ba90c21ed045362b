"""Workspace commands: set up a filing and run it from the command line.

Each command opens the workspace, converts its arguments and makes one
library call from :mod:`petitions.pipeline`, :mod:`petitions.counting` or
:mod:`petitions.rulings` (the same calls the workbench makes).
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

from petitions.errors import UserError


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "clerk"


def _ws_arg(p, *, filing: bool = False) -> None:
    p.add_argument("--workspace", "-w", default=None, metavar="FOLDER_OR_ADDRESS",
                   help="workspace folder, or a server address postgresql://host[:port]/dbname "
                        "(default: $SIGVERIFY_WORKSPACE)")
    p.add_argument("--user", default=None, help="who is doing this on a workspace folder (recorded in the event log; "
                   "default: login name); on a server it is always the signed-in database login")
    if filing:
        p.add_argument("--filing", default=None, help="filing id or name (default: the newest filing)")


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise UserError(f"expected a date as YYYY-MM-DD, got {s!r}") from None


def register(sub) -> None:
    p = sub.add_parser("init", help="create an empty workspace", description="Create an empty workspace folder "
                       "(SQLite store + crops) and its first user, a supervisor.")
    _ws_arg(p)
    p.set_defaults(func=_init)

    p = sub.add_parser("user-add", help="add a reviewer or supervisor", description="Add a user to the workspace.")
    _ws_arg(p)
    p.add_argument("name")
    p.add_argument("--role", choices=("reviewer", "auditor", "supervisor"), default="reviewer",
                   help="auditor: a reviewer who may record QA audit rulings (server workspaces)")
    p.add_argument("--password-stdin", action="store_true",
                   help="on a server, read the new login's password from standard input")
    p.set_defaults(func=_user_add)

    p = sub.add_parser("import-voters", help="import the county voter file",
                       description="Import a voter file (CSV any delimiter/encoding, fixed width with --layout, or "
                                   "Parquet) into the workspace's columnar copy; a re-import replaces it atomically. "
                                   "Bad rows (ragged, blank or repeated voter id, bad ZIP/date/status) are listed "
                                   "with file, row and column and set aside; the file imports only when a supervisor "
                                   "accepts that many problems with --accept-problems N (recorded). A file with far "
                                   "fewer voters than the active one (< 90 %%) or that looks like another county's "
                                   "(voter ids, cities or districts overlap < 50 %%) is stopped with the comparison "
                                   "until --replace-confirmed.")
    _ws_arg(p)
    p.add_argument("file", type=Path)
    p.add_argument("--mapping", type=Path, default=None, help="column-mapping JSON file for county exports")
    p.add_argument("--accept-problems", type=int, default=None, metavar="N",
                   help="import the good rows of a file with exactly N problems (the count the refusal printed)")
    p.add_argument("--replace-confirmed", action="store_true",
                   help="replace the active voter file although the comparison shows concerns")
    p.set_defaults(func=_import_voters)

    p = sub.add_parser("import-exemplars", help="import voters' signatures on file",
                       description="Import exemplar signatures from an index CSV voter_id,path,captured_date,source "
                                   "(paths relative to the CSV).")
    _ws_arg(p)
    p.add_argument("index", type=Path)
    p.set_defaults(func=_import_exemplars)

    p = sub.add_parser("rulesets", help="list the built-in rule sets")
    p.set_defaults(func=_rulesets)

    p = sub.add_parser("create-filing", help="create a filing under a rule set",
                       description="Create a filing. --ruleset takes a built-in name (see `petitions rulesets`) or "
                                   "a rule-set JSON file. Warns when the filing's district or city is not in "
                                   "the active voter file.")
    _ws_arg(p)
    p.add_argument("--name", required=True)
    p.add_argument("--ruleset", required=True)
    p.add_argument("--jurisdiction", required=True, help='e.g. "City of Los Angeles"')
    p.add_argument("--district", default=None)
    p.add_argument("--required", type=int, default=None, help="valid signatures required")
    p.add_argument("--filing-date", type=_date, default=None)
    p.add_argument("--circulation", nargs=2, type=_date, metavar=("START", "END"), default=None)
    p.add_argument("--office", default=None,
                   help="the office sought (nominating/in-lieu); filings of one office and period are checked "
                        "together for the rule set's limits across filings")
    p.add_argument("--seats", type=int, default=None, help="seats to fill in that office (default 1)")
    p.add_argument("--period", default=None, help="the filing period (default: the filing date's year)")
    p.add_argument("--candidate", default=None,
                   help="whose paper this is (a candidate's in-lieu petition and nomination paper count together)")
    p.set_defaults(func=_create_filing)

    p = sub.add_parser("ingest", help="ingest scanned sections (PDF, TIFF, PNG/JPEG)",
                       description="Ingest scanned petition sections, one file per section. The same file twice is "
                                   "detected by content hash and skipped. A page that cannot be read is reported and "
                                   "the rest carries on.")
    _ws_arg(p, filing=True)
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--section", type=int, default=None, help="section number for a single file (default: next)")
    p.add_argument("--circulator", default=None, help="circulator's name for a single file")
    p.add_argument("--batch", type=int, default=None,
                   help="the batch (submission) these sections came in; a filing in batches is sampled per batch")
    p.add_argument("--template", default=None,
                   help="form template: a JSON file, a built-in form's name, or the name (or SHA-256 prefix) of a "
                        "template this filing's scans were read with, kept in the workspace (default: detect own "
                        "forms)")
    p.set_defaults(func=_ingest)

    p = sub.add_parser("pack-crops", help="move a workspace's loose crop files into one pack file",
                       description="A workspace made before crop packs holds one PNG file a crop. This moves "
                                   "every loose image a line or an exemplar names into one pack file "
                                   "(crops/packs/), each checked against its SHA-256 first, recorded with an "
                                   "event; the loose files are deleted once the pack reads back right. "
                                   "Folder workspaces only; supervisors.")
    _ws_arg(p)
    p.set_defaults(func=_pack_crops)

    p = sub.add_parser("key", help="import keyed names and addresses (CSV)",
                       description="Import keyed entries: CSV line_id,name,address,city,zip[,date_signed]. "
                                   "Unchanged rows are skipped; changed ones become a new entry (history kept). "
                                   "Rows naming a line the filing does not have, repeated lines and bad dates "
                                   "are listed by row and column and the command exits 1; the good rows are "
                                   "imported all the same.")
    _ws_arg(p, filing=True)
    p.add_argument("csv", type=Path)
    p.add_argument("--source", default="keying vendor CSV")
    p.set_defaults(func=_key)

    p = sub.add_parser("run", help="match, compare signatures, scan for one hand across many lines, triage",
                       description="Run matching, signature comparison and triage on every line that needs it. "
                                   "Resumable: committed batches are kept and skipped on the next run. Before "
                                   "triage, the filing's lines are scanned for one hand across many lines "
                                   "(as petitions fraud-scan --filing F) when a supervisor runs it; for anyone "
                                   "else that stage reports that it was not run.")
    _ws_arg(p, filing=True)
    p.set_defaults(func=_run)

    p = sub.add_parser("sample", help="draw or extend the random sample",
                       description="Draw the filing's random sample with the public-seed construction "
                                   "(consistent_sampler SHA-256 tickets). Round 1 takes the rule set's size and "
                                   "freezes the frame (the signed lines, their count and hash): lines ingested "
                                   "later stay outside it. --size N extends by N lines in the same ticket order. "
                                   "--void --reason TEXT voids the sample (a supervisor; kept on record) so it "
                                   "can be drawn again on the current lines. A filing ingested in batches "
                                   "(ingest --batch N, e.g. a recall's submissions) is sampled per batch: --batch N "
                                   "draws (or voids) that batch's own sample on its own frozen frame; status reports "
                                   "each batch and their combined result (docs/recall-batches.md).")
    _ws_arg(p, filing=True)
    p.add_argument("--seed", default=None, help="the published seed, used as a string exactly as typed")
    p.add_argument("--size", type=int, default=None)
    p.add_argument("--void", action="store_true", help="void the sample in force (needs --reason)")
    p.add_argument("--reason", default=None, help="why the sample is voided (recorded in the event log)")
    p.add_argument("--batch", type=int, default=None, help="the batch whose own frame is sampled (filings in batches)")
    p.set_defaults(func=_sample)

    p = sub.add_parser("rule", help="record a person's ruling on a line",
                       description="Accept, reject with a reason code, escalate, or reopen one line. "
                                   "The same checks as the review screen: the line must be waiting in the "
                                   "queue of --kind (review: the review queue; second_opinion, escalation: "
                                   "supervisors), a signature rejection needs a second person, and with "
                                   "--after the ruling is refused if anyone has ruled on the line since the "
                                   "ruling you name. Rulings are append-only; the same command run again "
                                   "(after an interruption) stores nothing new.")
    _ws_arg(p, filing=True)
    p.add_argument("--line", required=True, help="line id, e.g. S001-P02-L07")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--accept", action="store_true")
    g.add_argument("--reject", metavar="REASON", help="reason code (see petitions reasons)")
    g.add_argument("--escalate", action="store_true")
    g.add_argument("--reopen", action="store_true")
    p.add_argument("--kind", default="review", choices=("review", "second_opinion", "escalation", "audit"))
    p.add_argument("--note", default=None)
    p.add_argument("--after", default=None, metavar="RULING_ID|none",
                   help="the line's latest ruling you looked at (none: no ruling yet); refused if someone "
                        "has ruled since")
    p.add_argument("--voter", default=None, metavar="VOTER_ID",
                   help="the voter a person found by lookup for this line; stored with the ruling and used "
                        "in the duplicate checks")
    p.set_defaults(func=_rule)

    p = sub.add_parser("full-count", help="escalate a sampled filing to a full count",
                       description="Order a full count of a sampled filing (supervisors). Allowed when the sample's "
                                   "projection is in the full-count band, or with --reason. From then on every "
                                   "signed line is verified and `petitions status` shows the live count against "
                                   "the requirement; the sample stays on record.")
    _ws_arg(p, filing=True)
    p.add_argument("--reason", default=None, help="why, when the sample did not land in the full-count band")
    p.set_defaults(func=_full_count)

    p = sub.add_parser("reasons", help="list reason codes")
    p.set_defaults(func=_reasons)

    p = sub.add_parser("status", help="counts, sample and projection of a filing",
                       description="The filing's counts (raw count, valid / invalid / pending, by reason), its "
                                   "random sample and projection (or the exact count when the sample drew every "
                                   "signed line), signed lines outside the sample's frozen frame, pages that "
                                   "failed to read, gaps in section / page numbering, and the certificate in force "
                                   "or superseded. --json prints the same as one object (its count object keeps "
                                   "method, raw_count, valid, pending, sample_size, frame_hash, projection).")
    _ws_arg(p, filing=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_status)

    p = sub.add_parser("verify-log", help="check the event log and the state that decides the count",
                       description="Recompute the hash chain of the event log, then check the rulings, "
                                   "determinations, samples and stored files against it (petitions.integrity); "
                                   "exit 1 if an event or any of those rows or files was changed, inserted or "
                                   "deleted. Prints the chain head: keep it (it is on certificates, reports and "
                                   "backups) and pass it back with --anchor to catch a chain re-hashed from the "
                                   "middle.")
    _ws_arg(p)
    p.add_argument("--anchor", default=None, metavar="HASH",
                   help="a chain head printed earlier; refused if the chain no longer passes through it")
    p.add_argument("--no-files", action="store_true", help="skip re-hashing the stored scans and images")
    p.set_defaults(func=_verify_log)


def _location(args) -> str:
    """The workspace named by -w, or by $SIGVERIFY_WORKSPACE."""
    import os

    from petitions.store.backends import WORKSPACE_ENV

    value = args.workspace or os.environ.get(WORKSPACE_ENV)
    if not value:
        raise UserError(f"no workspace given: pass -w FOLDER_OR_ADDRESS or set {WORKSPACE_ENV}")
    args.workspace = value
    return str(value)


def _open(args):
    from petitions.store import Workspace

    return Workspace(_location(args))


def _user(args, ws) -> str:
    if ws.login is not None:  # a server: the person is the signed-in login, never a claimed name
        name = ws.acting_user(args.user)
    else:
        name = args.user or _default_user()
    if ws.user_role(name) is None:
        raise UserError(f"unknown user {name!r}; add them with `petitions user-add` (or pass --user)")
    return name


def _init(args) -> int:
    from petitions.store import DB_NAME, Workspace
    from petitions.store.backends import is_server_address

    location = _location(args)
    if is_server_address(location):
        with Workspace(location, create=True) as ws:
            name = ws.login
        print(f"laid out the workspace schema and roles at {ws.location}; {name} owns it (a supervisor)")
        return 0
    if (Path(location) / DB_NAME).exists():
        raise UserError("a workspace already exists here", where=location)
    with Workspace(location, create=True) as ws:
        name = args.user or _default_user()
        ws.ensure_user(name, "supervisor")
    print(f"created workspace {location} with supervisor {name}")
    return 0


def _user_add(args) -> int:
    import getpass

    with _open(args) as ws:
        if ws.login is None and args.role == "auditor":
            raise UserError("auditors are a server role; on a workspace folder add a supervisor or a reviewer")
        password = None
        if ws.login is not None and args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif ws.login is not None and sys.stdin.isatty():
            password = getpass.getpass(f"password for {args.name} (empty: the directory signs them in): ") or None
        by = None
        if ws.login is None:  # a folder: only a supervisor adds people (on a server, only the administrator can)
            by = _user(args, ws)
            ws.require_supervisor(by, "add people to the workspace")
        ws.ensure_user(args.name, args.role, by=by, password=password)
    print(f"{args.name}: {args.role}")
    return 0


def _import_voters(args) -> int:
    from petitions.stages.voters import VoterFileNotAccepted, import_voter_file

    mapping = None
    if args.mapping:
        try:
            mapping = json.loads(args.mapping.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read the column mapping ({exc})", where=str(args.mapping)) from None
    with _open(args) as ws:
        try:
            rep = import_voter_file(ws, args.file, user=_user(args, ws), mapping=mapping,
                                    accept_problems=args.accept_problems, replace_confirmed=args.replace_confirmed)
        except VoterFileNotAccepted as exc:
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            if exc.comparison:
                c = exc.comparison
                print(f"  active voter file: {c['old_rows']:,} voters; this file: {c['new_rows']:,}; voter ids "
                      f"shared {c['id_overlap']:.0%}", file=sys.stderr)
            raise
    print(f"voter file {args.file}: {rep.rows:,} voters" + (" (same file as before; re-activated)" if rep.already_imported else ""))
    if rep.problems:
        print(f"{len(rep.problems)} problem(s) accepted by the supervisor; {rep.rows_read - rep.rows:,} row(s) "
              "set aside (stored with the import):")
        for problem in rep.problems:
            print(f"  {problem}")
    if rep.comparison and rep.comparison.get("concerns"):
        print("replacement confirmed despite: " + "; ".join(rep.comparison["concerns"]))
    return 0


def _import_exemplars(args) -> int:
    from petitions.stages.voters import import_exemplars

    with _open(args) as ws:
        rep = import_exemplars(ws, args.index, user=_user(args, ws))
    print(f"exemplars: {rep.imported:,} imported, {rep.skipped_existing:,} already there, {len(rep.problems)} problems")
    for problem in rep.problems:
        print(f"  {problem}", file=sys.stderr)
    return 0 if not rep.problems else 1


def _rulesets(args) -> int:
    from petitions.law.rules import builtin_rulesets, load_ruleset

    for name in builtin_rulesets():
        rs = load_ruleset(name)
        print(f"{name:22s} {rs.kind:12s} {rs.name}")
    return 0


def _create_filing(args) -> int:
    from petitions.stages.filings import create_filing, voter_file_warnings

    start, end = args.circulation or (None, None)
    with _open(args) as ws:
        fid = create_filing(ws, name=args.name, ruleset=args.ruleset, jurisdiction=args.jurisdiction,
                            user=_user(args, ws), district=args.district, required=args.required,
                            filing_date=args.filing_date, circulation_start=start, circulation_end=end,
                            office=args.office, seats=args.seats, period=args.period, candidate=args.candidate)
        warnings = voter_file_warnings(ws, fid)
    print(f"filing {fid}: {args.name}")
    for w in warnings:
        print(f"petitions create-filing: warning: {w}", file=sys.stderr)
    return 0


def _ingest(args) -> int:
    from petitions.stages.filings import get_filing
    from petitions.stages.ingest import ingest_document, ingest_files

    if len(args.files) > 1 and (args.section is not None or args.circulator):
        raise UserError("--section and --circulator apply to a single file")
    from sigverify.pages.batch import worker_pool

    def one(ws, fid, user, pool):
        f = args.files[0]
        try:
            yield f, ingest_document(ws, fid, f, user=user, section=args.section, circulator_name=args.circulator,
                                     batch=args.batch, template=template, executor=pool)
        except UserError as exc:
            yield f, exc

    failed = 0
    from petitions.certification import require_unlocked

    # One pool of segmentation processes for all the files (started once),
    # the next files segmented while one is committed.
    with _open(args) as ws, worker_pool() as pool:
        user = _user(args, ws)
        filing = get_filing(ws, args.filing)
        require_unlocked(ws, filing.id, "ingesting scans")   # one refusal, not one per file
        template = _template_arg(ws, filing.id, args.template)
        if args.section is not None or args.circulator:
            results = one(ws, filing.id, user, pool)
        else:
            results = ingest_files(ws, filing.id, args.files, user=user, batch=args.batch, template=template,
                                   executor=pool)
        for f, rep in results:
            if isinstance(rep, UserError):
                failed += 1
                print(f"petitions ingest: error: {rep}", file=sys.stderr)
                continue
            if rep.already_ingested:
                print(f"{f}: already ingested as section {rep.section}; skipped")
            else:
                print(f"{f}: section {rep.section}, {rep.pages} pages, {rep.lines} lines")
            for problem in rep.problems:
                print(f"  problem: {problem}", file=sys.stderr)
            for note in rep.check_notes:
                print(f"  check: {note}", file=sys.stderr)
    return 1 if failed else 0


def _template_arg(ws, filing_id: int, given: str | None):
    """--template as a file or built-in name, else a template kept with the filing."""
    from sigverify.pages.templates import builtin_templates

    from petitions.templates import stored_template

    if given is None or Path(given).exists() or given in {t.name for t in builtin_templates()}:
        return given
    if given.lower().endswith(".json"):
        return given   # a file named that is missing: said as such by the ingest
    return stored_template(ws, filing_id, given)


def _pack_crops(args) -> int:
    from petitions.stages.ingest import pack_loose_crops

    with _open(args) as ws:
        user = _user(args, ws)
        ws.require_supervisor(user, "pack the crop files")
        rep = pack_loose_crops(ws, user=user)
    if not rep["images"]:
        print("no loose crop files: nothing to pack")
    else:
        print(f"{rep['images']:,} images packed into {rep['pack']}; {rep['files_deleted']:,} loose files deleted")
    return 0


def _key(args) -> int:
    from petitions.stages.filings import get_filing
    from petitions.stages.keying import import_keyed_entries

    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        rep = import_keyed_entries(ws, filing.id, args.csv, user=_user(args, ws), source=args.source)
    print(f"keyed entries: {rep.imported:,} new or changed, {rep.unchanged:,} unchanged, {len(rep.problems)} problems")
    for problem in rep.problems:
        print(f"  {problem}", file=sys.stderr)
    # the good rows are stored; a bad row (a line that does not exist, a
    # bad date) must not pass unseen in a script
    return 1 if rep.problems else 0


def _run(args) -> int:
    from petitions.stages.filings import get_filing
    from petitions.stages.run import run_all

    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        reports = run_all(ws, filing.id, user=_user(args, ws),
                          progress=lambda s, d, t: print(f"{s}: {d}/{t}", file=sys.stderr))
    for r in reports:
        extra = f" {r.counts}" if r.counts else ""
        print(f"{r.stage}: {r.processed:,} processed ({r.status}){extra}")
    return 0


def _sample(args) -> int:
    from petitions.counting import draw_sample
    from petitions.stages.filings import get_filing

    if args.void:
        from petitions.counting import void_sample

        with _open(args) as ws:
            filing = get_filing(ws, args.filing)
            ev = void_sample(ws, filing.id, user=_user(args, ws), reason=args.reason or "", batch=args.batch)
        print(f"sample voided: seed {ev['seed']!r}, {ev['rounds']} round(s), frame sha256 {ev['frame_hash']} "
              f"({ev['frame_size']:,} lines); the filing now has {ev['current_frame_size']:,} signed lines. "
              "Draw again with petitions sample --seed SEED")
        return 0
    if args.seed is None:
        raise UserError("give the published seed (--seed SEED), or --void --reason TEXT to void the sample")
    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        info = draw_sample(ws, filing.id, seed=args.seed, user=_user(args, ws), size=args.size, batch=args.batch)
    print((f"batch {args.batch}, " if args.batch is not None else "") + f"round {info.round}: {info.size:,} lines drawn ({info.total_drawn:,} in all) from {info.frame_size:,} "
          f"signed lines; seed {info.seed!r}; frame sha256 {info.frame_hash}")
    return 0


def _rule(args) -> int:
    from petitions.review.case import load_case, rule
    from petitions.rulings import record_ruling
    from petitions.stages.filings import get_filing
    from petitions.store import ingest as ingest_db

    action = "accept" if args.accept else "reject" if args.reject else "escalate" if args.escalate else "reopen"
    with _open(args) as ws:
        user = _user(args, ws)
        filing = get_filing(ws, args.filing)
        line_id = ingest_db.line_id_by_label(ws, filing.id, args.line)
        if line_id is None:
            raise UserError(f"no line {args.line!r} in filing {filing.name!r}")
        if action == "reopen":
            # Reopening returns a decided line to its determination: supervisors only.
            ws.require_supervisor(user, "reopen a line")
            res = record_ruling(ws, line_id, user=user, action=action, note=args.note, kind="escalation",
                                shown={"via": "command line"})
        else:
            case = load_case(ws, line_id)
            last = max((r for r in case.history if r.kind != "audit"), key=lambda r: r.id, default=None)
            if args.kind != "audit" and last is not None and (last.user, last.kind, last.action, last.reason_code) \
                    == (user, args.kind, action, args.reject):
                # The same command again (after an interruption): that ruling is stored already.
                print(f"{args.line}: {action} already recorded (ruling {last.id}); nothing new stored")
                return 0
            seen = [r.id for r in case.history if r.kind != "audit"]
            if args.after is not None:
                after = None if args.after.lower() == "none" else int(args.after)
                if (max(seen) if seen else None) != after:
                    raise UserError(f"line {args.line} has been ruled on since ruling {args.after}; "
                                    "look at it again before ruling")
            mode = {"review": "review", "escalation": "escalations", "second_opinion": "second_opinion",
                    "audit": "audit"}[args.kind]
            res = rule(ws, case, user=user, action=action, mode=mode, reason_code=args.reject, note=args.note,
                       voter_id=args.voter)
    print(f"{args.line}: {action} recorded (ruling {res.ruling_id}); line is now {res.final_status}"
          + (f" ({res.final_reason})" if res.final_reason else ""))
    return 0


def _full_count(args) -> int:
    from petitions.counting import order_full_count
    from petitions.stages.filings import get_filing

    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        order = order_full_count(ws, filing.id, user=_user(args, ws), reason=args.reason)
    print(f"full count ordered for {filing.name} (sample outcome {order['sample_outcome']}, "
          f"{order['percent_of_required']}% of required); verify every signed line")
    return 0


def _reasons(args) -> int:
    from petitions.law.reasons import REASONS

    for code, r in REASONS.items():
        print(f"{code:26s} {r.label}")
    return 0


def _status(args) -> int:
    from petitions.summary import format_summary, summarize
    from petitions.stages.filings import get_filing

    with _open(args) as ws:
        filing = get_filing(ws, args.filing)
        s = summarize(ws, filing.id)
    print(json.dumps(s, indent=2, default=str) if args.json else format_summary(s, args.workspace))
    return 0


def _verify_log(args) -> int:
    from petitions.integrity import verify_state

    with _open(args) as ws:
        check = ws.verify_chain(anchor=args.anchor)
        state = verify_state(ws, files=not args.no_files) if check.ok else None
    if not check.ok or state is None:
        where = f" at event {check.first_bad_id}" if check.first_bad_id else ""
        print(f"event log BROKEN{where}: {check.problem}", file=sys.stderr)
        return 1
    print(f"event log intact: {check.events:,} events, hash chain verified; chain head {check.head}"
          + (" (passes through the anchor)" if args.anchor else ""))
    counted = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in state.checked.items())
    for w in state.warnings:
        print(f"note: {w}")
    if not state.ok:
        print(f"state does NOT match the log ({counted} checked):", file=sys.stderr)
        for problem in state.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"state matches the log: {counted}")
    return 0
