"""`petitions sample-projection` and `petitions sample-tickets` (shared/CONTRACT.md).

Thin commands over :mod:`petitions.law.projection` and :mod:`petitions.law.sampling`:
convert arguments, make one library call, print.
"""
from __future__ import annotations

import json
from pathlib import Path

from petitions.errors import UserError


def _count(text: str | None, option: str) -> int | None:
    """A whole number 0 or more; a UserError (one plain line) otherwise.

    Parsed here rather than by argparse so that a mistake prints one line,
    not argparse's usage block. Thousands separators are accepted ("25,000").
    """
    if text is None:
        return None
    try:
        value = int(str(text).replace(",", "").replace("_", "").strip())
    except ValueError:
        raise UserError(f"expected a whole number, got {text!r}", where=option) from None
    if value < 0:
        raise UserError(f"cannot be negative, got {value}", where=option)
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "sample-projection",
        help="project valid signatures from a random sample (2 CCR §§20530-20532) and give the outcome",
        description=(
            "Project the valid signatures in a filing from its random sample, rounding at each step as "
            "California Code of Regulations, Title 2, §§20530-20532 says: rate to two decimals, "
            "uncorrected count rounded up, A = N/n to four decimals, duplicate estimate "
            "A x (A - 1) x duplicates rounded up. With --required, the outcome: 'qualifies' above 110 %% "
            "of required, 'full_count' from 95 %% to 110 %% inclusive, 'fails' below 95 %% "
            "(EC 9030); --ruleset takes the bands from a rule set (e.g. ca-recall-local: 110 / 90)."
        ),
    )
    p.add_argument("--raw", required=True, metavar="R",
                   help="raw count N: signed lines filed (blank and struck lines excluded)")
    p.add_argument("--sample", required=True, metavar="N",
                   help="sample size n: lines drawn and verified")
    p.add_argument("--valid", required=True, metavar="V",
                   help="lines of the sample found valid (a withdrawn line is not valid)")
    p.add_argument("--duplicates", required=True, metavar="D",
                   help="duplicates found within the sample")
    p.add_argument("--required", metavar="Q",
                   help="valid signatures required; adds the outcome")
    p.add_argument("--ruleset", metavar="NAME",
                   help="rule set name (e.g. ca-initiative, ca-recall-local) or JSON file giving the outcome bands; "
                        "default 110 %% / 95 %%")
    p.add_argument("--json", action="store_true",
                   help='print {"projected_valid": int, "percent_of_required": float|null, "outcome": str|null} '
                        "plus every intermediate step")
    p.set_defaults(func=run_projection)

    t = sub.add_parser(
        "sample-tickets",
        help="list line ids in random-sample order with their tickets, from a public seed",
        description=(
            "Print the first K line ids in ticket order with their tickets, using the public-seed "
            "construction of the consistent-sampler package (Rivest): ticket = SHA-256(sha256_hex(seed) + id) "
            "as a 64-digit decimal, digits reversed, prefixed '0.'. An observer can recompute the list with "
            "consistent_sampler.sampler(ids, seed=SEED, take=K). The seed is always read as a string."
        ),
    )
    t.add_argument("--ids", required=True, metavar="IDS.txt",
                   help="text file with one line id per line (surrounding spaces and blank lines are ignored)")
    t.add_argument("--seed", required=True, metavar="SEED",
                   help="the published seed, used exactly as written (never parsed as a number)")
    t.add_argument("--take", required=True, metavar="K",
                   help="how many ids to list (all of them if the file has fewer)")
    t.add_argument("--digits", metavar="D",
                   help="trim tickets to D significant digits as the reference prints them (default: full ticket)")
    t.add_argument("--json", action="store_true",
                   help='print a list of {"id": ..., "ticket": ...} in ticket order')
    t.set_defaults(func=run_tickets)


def run_projection(args) -> int:
    from petitions.law.projection import outcome, project

    raw, sample = _count(args.raw, "--raw"), _count(args.sample, "--sample")
    valid, dups = _count(args.valid, "--valid"), _count(args.duplicates, "--duplicates")
    required = _count(args.required, "--required")
    proj = project(raw, sample, valid, dups)
    bands = None
    ruleset_id = None
    if args.ruleset:
        from petitions.law.rules import load_ruleset

        rs = load_ruleset(args.ruleset)
        bands, ruleset_id = rs.bands, f"{rs.id} v{rs.version}"
    res = outcome(proj.projected_valid, required, bands) if required is not None else None
    if args.json:
        out = {
            "projected_valid": proj.projected_valid,
            "percent_of_required": float(res.percent_of_required) if res else None,
            "outcome": res.result if res else None,
            "required": required,
            "steps": proj.to_dict(),
        }
        if ruleset_id:
            out["ruleset"] = ruleset_id
        print(json.dumps(out, indent=2))
        return 0
    print("Random sample projection (2 CCR §§20530-20532)")
    width = max(len(label) for label, _ in proj.steps())
    for label, value in proj.steps():
        print(f"  {label:<{width}}  {value}")
    if res is not None:
        print()
        hdr = f"Outcome against {res.required:,} required" + (f" ({ruleset_id})" if ruleset_id else "")
        print(hdr)
        print(f"  Percent of required  {res.percent_of_required} %")
        print(f"  Outcome              {res.result}")
        print(f"  {res.explain()}")
    return 0


def _read_ids(path_text: str) -> list[str]:
    path = Path(path_text)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("ids file not found", where=path_text) from None
    except IsADirectoryError:
        raise UserError("expected a text file of line ids, got a folder", where=path_text) from None
    except OSError as exc:
        raise UserError(f"cannot read the ids file ({exc.strerror})", where=path_text) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError("the ids file is not UTF-8 text", where=f"{path_text}, line {line}") from None
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.strip()
        if not value:
            continue
        if value in first_line:
            raise UserError(f"line id {value!r} appears twice (first on line {first_line[value]}); "
                            "every line id must be unique", where=f"{path_text}, line {number}")
        first_line[value] = number
        ids.append(value)
    if not ids:
        raise UserError("the ids file has no line ids", where=path_text)
    return ids


def run_tickets(args) -> int:
    from petitions.law.sampling import draw_sample, trim_ticket

    take, digits = _count(args.take, "--take"), _count(args.digits, "--digits")
    ids = _read_ids(args.ids)
    draws = draw_sample(ids, args.seed, min(take, len(ids)))
    if digits is not None:
        draws = [d._replace(ticket=trim_ticket(d.ticket, digits)) for d in draws]
    if args.json:
        print(json.dumps([{"id": d.id, "ticket": d.ticket} for d in draws], indent=2, ensure_ascii=False))
        return 0
    from petitions.law.sampling import frame_hash

    print(f"seed {args.seed!r}  frame {len(ids):,} ids  frame hash {frame_hash(ids)}")
    width = max((len(d.id) for d in draws), default=2)
    for k, d in enumerate(draws, start=1):
        print(f"{k:>6}  {d.id:<{width}}  {d.ticket}")
    return 0
