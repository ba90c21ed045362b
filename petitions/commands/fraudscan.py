"""``petitions fraud-scan``: clusters of lines that one hand likely wrote.

Library first: :func:`petitions.stages.fraud.scan_same_hand`.
"""
from __future__ import annotations

import json
import sys

from petitions.commands.workspace import _open, _user, _ws_arg


def register(sub) -> None:
    p = sub.add_parser(
        "fraud-scan", help="find lines one hand likely wrote under different voters' names (round-tabling)",
        description="Compares every signed line's signature with every other's (the stored embeddings, "
                    "computed once per image) and finds clusters of lines that one person likely wrote: within a "
                    "section, across one circulator's sections, across the filing and, without --filing, across "
                    "every filing of the workspace. Each cluster has a score (the same-hand model's mean "
                    "probability over its pairs), its evidence (the strongest pairs with their probabilities, "
                    "the sections, circulators and filings) and a scope. Its lines go to review with the reason "
                    "same_hand; software never rejects them, a person compares the cluster (the workbench's "
                    "Same hand view) and rules. The scan is recorded as an event; the newest scan of a filing "
                    "is the one in force. A supervisor runs it (petitions run also scans the filing when a "
                    "supervisor runs it). Exit 0 whether or not clusters are found.")
    _ws_arg(p)
    p.add_argument("--filing", default=None,
                   help="filing id or name to scan (default: every filing of the workspace together)")
    p.add_argument("--json", action="store_true", help="print the scan and its clusters as JSON")
    p.add_argument("--min-evidence", type=float, default=None, metavar="Z",
                   help="fewest null standard deviations of a cluster's evidence (default 6); a cluster must "
                        "also reach 1.25 times the strongest cluster found when the same lines are dealt at random "
                        "into groups of the same sizes")
    p.set_defaults(func=_scan)


def _scan(args) -> int:
    import dataclasses

    from petitions.stages.filings import get_filing
    from petitions.stages.fraud import ScanParams, same_hand_clusters, scan_same_hand

    params = ScanParams()
    if args.min_evidence is not None:
        params = dataclasses.replace(params, min_evidence=float(args.min_evidence))
    with _open(args) as ws:
        user = _user(args, ws)
        filing = get_filing(ws, args.filing) if args.filing is not None else None
        res = scan_same_hand(ws, user=user, filing_id=filing.id if filing else None, params=params,
                             progress=lambda s, d, t: print(f"{s}: {d}/{t}", file=sys.stderr))
        clusters = []
        for fid in res.filings:
            for c in same_hand_clusters(ws, fid):
                if c["scan_id"] == res.scan_id and all(c["id"] != x["id"] for x in clusters):
                    clusters.append(c)
        clusters.sort(key=lambda c: c["number"])
    where = filing.name if filing else "every filing of the workspace"
    if args.json:
        print(json.dumps({"scan_id": res.scan_id, "scope": where, "lines": res.lines, "unusable": res.unusable,
                          "embedded_now": res.embedded, "clusters": clusters, "flagged": res.flagged,
                          "null": {k: res.stats.get(k) for k in ("null_median", "null_sd", "evidence_floor")}},
                         indent=2, default=str))
        return 0
    print(f"same-hand scan {res.scan_id} of {where}: {res.lines:,} signed line(s), {res.unusable:,} without a "
          f"usable signature, {res.embedded:,} embedded now")
    for c in clusters:
        ev = c["evidence"]
        secs = ", ".join(f"S{s:03d}" if len(ev["filings"]) == 1 else f"{f}:S{s:03d}" for f, s in ev["sections"])
        print(f"cluster {c['number']}: {c['size']} lines, {c['scope']}, score {c['score']:.3f}, evidence "
              f"{ev['evidence_z']:.1f}; sections {secs}; circulators {', '.join(ev['circulators']) or '-'}")
        for a, b, p in ev["pairs"][:3]:
            print(f"    {a} ~ {b}: {p:.3f}")
    print(f"{res.clusters:,} cluster(s), {res.flagged:,} line(s) sent to review as same_hand "
          "(never rejected by software; rule them in the workbench's Same hand view or the review queue)")
    return 0
