"""A person confirms the lines software proposes invalid (issue 18, item 9).

Triage never makes a line invalid: blank, struck and empty lines (the rule
set's ``triage.auto_invalid_levels``) and withdrawn lines wait at level
``confirm_invalid`` with the proposed reason. :func:`proposed_invalid`
lists them (for a grid: a page at once); :func:`confirm_invalid` records,
for each line a person confirms, a rejection with the proposed reason by
that person — one ruling per line, all in one transaction with their
events. A line someone has ruled on since it was proposed is left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import polars as pl

from petitions.errors import UserError
from petitions.rulings import record_ruling
from petitions.status import line_status
from petitions.store import Workspace
from petitions.store import rulings as rulings_db

#: The triage level of a line proposed invalid.
CONFIRM_LEVEL = "confirm_invalid"


@dataclass
class ConfirmReport:
    """What :func:`confirm_invalid` did: labels confirmed (each a ruling) and
    labels asked for that were not waiting for confirmation, with why."""

    confirmed: list[str] = field(default_factory=list)
    ruling_ids: list[int] = field(default_factory=list)
    not_waiting: list[str] = field(default_factory=list)


def proposed_invalid(ws: Workspace, filing_id: int, *, page: str | None = None) -> pl.DataFrame:
    """The filing's lines waiting for a person to confirm them invalid.

    Parameters
    ----------
    page : str, optional
        ``S001-P02``: that page's lines only.

    Returns
    -------
    pl.DataFrame
        ``line_db_id``, ``line_id`` (label), ``section``, ``page``,
        ``number``, ``state``, ``proposed`` (the reason code a
        confirmation records) and ``reasons`` (list[str]), in filing order.
    """
    st = line_status(ws, filing_id)
    waiting = st.filter((pl.col("det_level") == CONFIRM_LEVEL) & (pl.col("status") == "needs_review")
                        & (pl.col("level") == "review"))
    if page:
        waiting = waiting.filter(pl.col("line_id").str.starts_with(_page_prefix(page)))
    return waiting.select("line_db_id", "line_id", "section", "page", "number", "state",
                          pl.col("det_reasons").list.first().alias("proposed"), pl.col("det_reasons").alias("reasons"))


def _page_prefix(page: str) -> str:
    p = page.strip().upper()
    parts = p.split("-")
    if len(parts) != 2 or not parts[0].startswith("S") or not parts[1].startswith("P"):
        raise UserError(f"expected a page as S001-P02, got {page!r}", where="--page")
    return p + "-"


def confirm_invalid(ws: Workspace, filing_id: int, *, user: str, labels: Sequence[str] | None = None,
                    page: str | None = None, all_proposed: bool = False, note: str | None = None,
                    via: str = "confirm") -> ConfirmReport:
    """Confirm lines proposed invalid: each becomes `user`'s rejection with
    the proposed reason (``blank_line``, ``struck_line``, ``no_signature``,
    ``withdrawn``).

    Say which lines: `labels` (``S001-P02-L07`` …), a `page` (``S001-P02``:
    every line of it waiting for confirmation), or `all_proposed`. A
    label not waiting for confirmation (ruled on since, or never proposed)
    is listed in ``not_waiting`` and left alone. `via` is stored with each
    ruling as what the person used (``grid``, ``command line`` …).
    """
    if not (labels or page or all_proposed):
        raise UserError("say which lines to confirm: line labels, a page (S001-P02) or all proposed lines")
    if ws.user_role(user) is None:
        raise UserError(f"unknown user {user!r}; add them to the workspace first")
    waiting = proposed_invalid(ws, filing_id, page=page)
    report = ConfirmReport()
    if labels:
        wanted = [x.strip().upper() for x in labels]
        have = set(waiting["line_id"].to_list())
        report.not_waiting = [x for x in wanted if x not in have]
        waiting = waiting.filter(pl.col("line_id").is_in(wanted))
    with ws.transaction():
        for r in waiting.iter_rows(named=True):
            # Read inside the write transaction: a line ruled on since the
            # list was made (anything but a reopen) is not confirmed over it.
            last = rulings_db.latest_ruling_id(ws, int(r["line_db_id"]))
            if last is not None and rulings_db.ruling(ws, last)["action"] != "reopen":
                report.not_waiting.append(r["line_id"])
                continue
            res = record_ruling(
                ws, int(r["line_db_id"]), user=user, action="reject", reason_code=r["proposed"], note=note,
                kind="review", expect_last=last,
                shown={"via": via, "line": r["line_id"], "state": r["state"], "level_before": CONFIRM_LEVEL,
                       "proposed": r["proposed"], "suspected": list(r["reasons"] or [])})
            report.confirmed.append(r["line_id"])
            report.ruling_ids.append(res.ruling_id)
    return report


def send_to_review(ws: Workspace, filing_id: int, *, user: str, label: str, note: str | None = None,
                   via: str = "grid") -> int:
    """A person looked at a line proposed invalid and does not confirm it
    (e.g. a flourish read as a strike): it is escalated — that person's
    ruling, with the proposal and `note` recorded — so that it is reviewed as
    a signature, and it leaves the confirmation list. Returns the ruling id.

    Raises
    ------
    UserError
        The line is not waiting for confirmation (never proposed, or ruled on since).
    """
    if ws.user_role(user) is None:
        raise UserError(f"unknown user {user!r}; add them to the workspace first")
    waiting = proposed_invalid(ws, filing_id).filter(pl.col("line_id") == label.strip().upper())
    if not waiting.height:
        raise UserError(f"{label} is not waiting for confirmation (never proposed, or ruled on since)")
    r = waiting.row(0, named=True)
    with ws.transaction():
        last = rulings_db.latest_ruling_id(ws, int(r["line_db_id"]))
        if last is not None and rulings_db.ruling(ws, last)["action"] != "reopen":
            raise UserError(f"{label} was ruled on meanwhile; it is no longer waiting for confirmation")
        res = record_ruling(
            ws, int(r["line_db_id"]), user=user, action="escalate", reason_code=None,
            note=note or f"not {r['proposed']} as proposed: review it as a signature", kind="review",
            expect_last=last,
            shown={"via": via, "line": r["line_id"], "state": r["state"], "level_before": CONFIRM_LEVEL,
                   "proposed": r["proposed"], "not_confirmed": True})
    return res.ruling_id


def line_strips(ws: Workspace, filing_id: int, *, page: str | None = None, pad: int = 6) -> list[dict]:
    """Every line waiting for confirmation with a strip of its page image:
    the line's row across the whole page, as a person sees it on paper.

    Returns
    -------
    list of dict
        In filing order: ``line_db_id``, ``line_id`` (label), ``page_label``
        (``S001-P02``), ``state``, ``proposed``, and ``strip`` ((h, W) uint8
        array, or None when the scan cannot be read or the line has no box).
        One decode per page.
    """
    import json as _json

    from petitions.review.pages import page_image, page_view
    from petitions.store import review as review_db

    waiting = proposed_invalid(ws, filing_id, page=page)
    if not waiting.height:
        return []
    st = line_status(ws, filing_id)
    pages = {(p["section"], p["number"]): p["page_id"] for p in review_db.filing_pages(ws, filing_id)}
    out: list[dict] = []
    for (section, number), rows in waiting.group_by(["section", "page"], maintain_order=True):
        pid = pages.get((int(section), int(number)))
        view = page_view(ws, pid, status=st) if pid is not None else None
        img = page_image(ws, view) if view is not None else None
        boxes = {}
        if pid is not None:
            for r in review_db.page_lines(ws, pid):
                ys = [b for c in ("signature_box", "name_box", "address_box") if r[c]
                      for b in [_json.loads(r[c])]]
                if ys:
                    boxes[r["id"]] = (min(b[1] for b in ys), max(b[1] + b[3] for b in ys))
        for r in rows.iter_rows(named=True):
            strip = None
            yb = boxes.get(r["line_db_id"])
            if img is not None and yb is not None:
                y0, y1 = max(0, yb[0] - pad), min(img.shape[0], yb[1] + pad)
                strip = img[y0:y1].copy() if y1 > y0 else None
            out.append({"line_db_id": r["line_db_id"], "line_id": r["line_id"],
                        "page_label": f"S{int(section):03d}-P{int(number):02d}", "state": r["state"],
                        "proposed": r["proposed"], "strip": strip})
    return out
