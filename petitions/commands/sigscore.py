"""`petitions sigscore` — compare petition signatures with voters' exemplars.

Library first, thin CLI second: read the pairs CSV, make one
:func:`sigverify.verify` call, write the scores (shared/CONTRACT.md).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from petitions.atomic import atomic_write
from petitions.commands._csv import csv_records
from petitions.errors import UserError

REQUIRED = ("pair_id", "reference", "questioned")
OUT_COLUMNS = ("pair_id", "score", "decision", "reason")


def register(sub) -> None:
    p = sub.add_parser(
        "sigscore",
        help="score petition signatures against voters' exemplar signatures",
        description=(
            "Compare each questioned signature with the voter's exemplar(s) and write a calibrated "
            "probability of the same writer. Decisions are 'consistent' (safe to accept) or 'review' "
            "(a person decides) - software never rejects a signature."
        ),
    )
    p.add_argument(
        "--pairs",
        required=True,
        metavar="PAIRS.csv",
        help="CSV with columns pair_id,reference,questioned; reference is one image path or several "
        "separated by ';'; paths are relative to the CSV's folder",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="OUT.csv",
        help="output CSV: pair_id,score,decision,reason (score 0..1; reason says why a pair needs review; "
        "score is 0 when there was nothing to compare)",
    )
    p.add_argument("--dpi", type=float, default=None, help="scan resolution of all images (default: unknown)")
    p.add_argument("--workers", type=int, default=-1, help="threads to use (default -1: every core)")
    p.set_defaults(func=_run)


def read_pairs(path: Path) -> list[tuple[str, list[Path], Path]]:
    """Rows of a pairs CSV as (pair_id, reference paths, questioned path).

    Raises
    ------
    UserError
        The file is missing, unreadable, or lacks a required column.
    """
    base = path.parent
    rows = []
    for _line, rec in csv_records(path, REQUIRED):
        refs = [base / r.strip() for r in (rec.get("reference") or "").split(";") if r.strip()]
        q = (rec.get("questioned") or "").strip()
        rows.append(((rec.get("pair_id") or "").strip(), refs, base / q if q else None))
    return rows


def _run(args) -> int:
    import sigverify

    path = Path(args.pairs)
    rows = read_pairs(path)
    questioned = [str(q) if q is not None else None for _, _, q in rows]
    references = [[str(r) for r in refs] for _, refs, _ in rows]
    res = sigverify.verify(questioned, references, dpi=args.dpi, workers=args.workers)
    with atomic_write(args.out) as fh:
        w = csv.writer(fh)
        w.writerow(OUT_COLUMNS)
        for (pid, _, _), s, d, r in zip(rows, res.score, res.decision, res.reason):
            w.writerow([pid, f"{0.0 if math.isnan(s) else s:.6f}", d, r])
    return 0
