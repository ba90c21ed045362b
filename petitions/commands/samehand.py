"""`petitions samehand` — the probability that one hand wrote two
signatures made under different names (shared/CONTRACT.md).

Library first, thin CLI second: read the pairs CSV, make one
:func:`sigverify.samehand_scores` call, write the scores atomically.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from petitions.atomic import atomic_write
from petitions.commands._csv import csv_records
from petitions.errors import UserError

REQUIRED = ("pair_id", "a", "b")
OUT_COLUMNS = ("pair_id", "score", "reason")


def register(sub) -> None:
    p = sub.add_parser(
        "samehand",
        help="score pairs of signatures made under different names: did one hand write both?",
        description=(
            "For each pair of signature images written under different names, write the calibrated "
            "probability that one person physically wrote both (people taking turns to sign many voters' "
            "names on a petition sheet). Uses the same-hand network (trained on synthetic hands each signing "
            "many names). Caution: it separates held-out synthetic hands only moderately (ROC AUC 0.71) and "
            "has no better-than-chance held-out figure on real forgers (see the README), so the scores are "
            "weak evidence. A pair whose image cannot be used gets an empty "
            "score and a reason; the other pairs are still scored."
        ),
    )
    p.add_argument(
        "--pairs",
        required=True,
        metavar="PAIRS.csv",
        help="CSV with columns pair_id,a,b: two signature image paths per row, relative to the CSV's folder",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="OUT.csv",
        help="output CSV: pair_id,score,reason (score 0..1, the probability that one hand wrote both; "
        "empty with a reason such as a_unreadable_signature when an image could not be used)",
    )
    p.add_argument("--dpi", type=float, default=None, help="scan resolution of all images (default: unknown)")
    p.add_argument("--workers", type=int, default=-1, help="threads to use (default -1: every core)")
    p.set_defaults(func=_run)


def read_pairs(path: Path) -> list[tuple[str, Path | None, Path | None]]:
    """Rows of a same-hand pairs CSV as (pair_id, a path, b path).

    Raises
    ------
    UserError
        The file is missing or unreadable, lacks a required column, or a row
        has no pair_id.
    """
    base = path.parent
    rows = []
    for line, rec in csv_records(path, REQUIRED):
        pid = (rec.get("pair_id") or "").strip()
        if not pid:
            raise UserError("a row has no pair_id", where=f"{path}, line {line}")
        a = (rec.get("a") or "").strip()
        b = (rec.get("b") or "").strip()
        rows.append((pid, base / a if a else None, base / b if b else None))
    return rows


def _run(args) -> int:
    import sigverify

    rows = read_pairs(Path(args.pairs))
    # a missing path is an unreadable image for that pair, not a stop
    a = [str(p) if p is not None else "" for _, p, _ in rows]
    b = [str(p) if p is not None else "" for _, _, p in rows]
    res = sigverify.samehand_scores(a, b, dpi=args.dpi, workers=args.workers)
    with atomic_write(args.out) as fh:
        w = csv.writer(fh)
        w.writerow(OUT_COLUMNS)
        for (pid, _, _), s, r in zip(rows, res.score, res.reason):
            w.writerow([pid, "" if math.isnan(s) else f"{s:.6f}", r])
    return 0
