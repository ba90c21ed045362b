"""`petitions demo`: the whole pipeline on a synthetic county and filing."""
from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="generate a synthetic county and filing and run the whole pipeline on it",
        description=(
            "Generates a synthetic county (voter file with exemplar signatures) and a filing of scanned "
            "petition pages, then runs ingest, segmentation, keyed entries, matching, signature comparison, "
            "triage, the random sample and the projection, and prints a summary beside the fixture's ground "
            "truth. Same seed -> same data, same results. Rerunning on the same workspace resumes. "
            "Open the result with: petition-workbench DIR"),
    )
    p.add_argument("--workspace", default="demo-workspace", type=Path,
                   help="workspace folder to create or resume (default: ./demo-workspace)")
    p.add_argument("--signatures", type=int, default=300, help="petition lines to generate, 1..100000 (default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    p.add_argument("--roundtable", type=int, default=0, metavar="CREWS",
                   help="plant CREWS round-tabling crews (two or three people signing many voters' names in some "
                        "circulators' sections) and print the clusters of the same-hand scan (a stage of the "
                        "pipeline, as in petitions run) against the truth (default 0: none, the demo as before)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of text")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from petitions.summary import format_summary
    from petitions.demo import run_demo

    result = run_demo(args.workspace, signatures=args.signatures, seed=args.seed, roundtable=args.roundtable)
    if args.json:
        print(json.dumps(result.summary, indent=2, default=str))
    else:
        print(format_summary(result.summary, args.workspace))
        c = result.summary.get("demo_confirmed_invalid") or {}
        if c.get("lines"):
            print(f"Note: the demo's supervisor ({c['by']}) confirmed {c['lines']:,} line(s) software proposed "
                  "invalid (blank, struck, empty) as a person; in an office someone looks at each "
                  "(petitions confirm-invalid or the workbench).")
        f = result.summary.get("fraud")
        if f:
            print(format_fraud(f))
    return 0


def format_fraud(f: dict) -> str:
    """The same-hand scan against the truth, in a few lines."""
    def pct(d):
        return f"{d['flagged']:,}/{d['of']:,}" + (f" ({100 * d['share']:.1f} %)" if d["share"] is not None else "")

    lines = [f"Same-hand scan (round-tabling) against the truth: {len(f['clusters'])} cluster(s)",
             f"  round-tabled lines flagged {pct(f['roundtabled'])}; honest lines flagged {pct(f['honest'])}; "
             f"other forged lines flagged {pct(f['forged'])}"]
    for c in f["clusters"]:
        lines.append(f"  cluster {c['number']}: {c['lines']} lines ({c['scope']}, score {c['score']:.3f}): "
                     f"{c['roundtabled']} round-tabled {'/'.join(c['hands']) or ''}, {c['forged']} forged, "
                     f"{c['honest']} honest")
    return "\n".join(lines)
