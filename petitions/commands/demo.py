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
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of text")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from petitions.summary import format_summary
    from petitions.demo import run_demo

    result = run_demo(args.workspace, signatures=args.signatures, seed=args.seed)
    if args.json:
        print(json.dumps(result.summary, indent=2, default=str))
    else:
        print(format_summary(result.summary, args.workspace))
        c = result.summary.get("demo_confirmed_invalid") or {}
        if c.get("lines"):
            print(f"Note: the demo's supervisor ({c['by']}) confirmed {c['lines']:,} line(s) software proposed "
                  "invalid (blank, struck, empty) as a person; in an office someone looks at each "
                  "(petitions confirm-invalid or the workbench).")
    return 0
