"""Scanned pages with their line boxes and each line's status.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from petitions.errors import UserError
from petitions.status import line_status
from petitions.store import Workspace
from petitions.store import review as review_db


@dataclass(frozen=True)
class PageLine:
    line_db_id: int
    label: str
    number: int
    state: str
    status: str
    level: str
    reason: str | None
    boxes: dict  # 'signature' / 'printed_name' / 'address' -> [x, y, w, h] in the page frame


@dataclass(frozen=True)
class PageView:
    page_id: int
    section: int
    number: int
    image_hash: str | None
    width: int | None
    height: int | None
    lines: tuple[PageLine, ...]
    #: The segmenter's layout fit of this page was confident but not certain
    #: (``check``): its signed lines wait at ``review_layout`` until a person
    #: has looked that the boxes sit on the form's lines.
    layout_check: bool = False


def pages_of(ws: Workspace, filing_id: int) -> list[dict]:
    """Every page of a filing: ``page_id``, ``section``, ``number``, ``lines``."""
    return review_db.filing_pages(ws, filing_id)


def page_view(ws: Workspace, page_id: int, *, status: pl.DataFrame | None = None) -> PageView:
    """A scanned page and its lines with their boxes and current status."""
    row = review_db.page(ws, page_id)
    if row is None:
        raise UserError(f"no page with id {page_id}")
    pid, section, number, filing_id = row["id"], row["section"], row["number"], row["filing_id"]
    st = line_status(ws, filing_id) if status is None else status
    st = {r["line_db_id"]: r for r in st.filter(pl.col("page") == number).filter(
        pl.col("section") == section).iter_rows(named=True)}
    lines = []
    for r in review_db.page_lines(ws, pid):
        s = st.get(r["id"], {})
        boxes = {k: json.loads(r[c]) for k, c in (("signature", "signature_box"), ("printed_name", "name_box"),
                                                  ("address", "address_box")) if r[c]}
        lines.append(PageLine(r["id"], r["label"], r["number"], r["state"], s.get("status") or "needs_review",
                              s.get("level") or "review", s.get("reason"), boxes))
    return PageView(pid, section, number, row["image_hash"], row["width"], row["height"], tuple(lines),
                    layout_check=bool(row["layout_check"]))


def page_image(ws: Workspace, page: PageView) -> np.ndarray | None:
    """The scanned page as filed (decoded from the stored scan), or None if
    the scan cannot be read any more; line boxes are in its pixel frame."""
    from petitions.stages.ingest import page_image as decode

    if page.image_hash:
        return ws.crops.get_image(page.image_hash)
    try:
        return decode(ws, page.page_id)
    except Exception as exc:  # noqa: BLE001 - a lost scan shows as "no image", never stops review
        if getattr(exc, "user_error", False):
            return None
        raise

