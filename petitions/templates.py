"""Form templates from a scan of a blank form, and checking one on scans.

The library behind ``petitions template`` and the workbench's
File ▸ New form template… screen (issue 19): read a page of the blank
form's scan, draft the template (:func:`sigverify.pages.draft.draft_template`),
draw the cells it found over the scan, draw a template's cells over a
sample scan as the segmenter places them, and write the template file.
Every problem with an input is a :class:`~petitions.errors.UserError`
naming the file (and page).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sigverify.pages.draft import FIELD_NAMES as FIELD_NAMES

from petitions.atomic import atomic_write
from petitions.errors import UserError

#: Names offered for the cells of a signer line (``number`` and ``official``
#: are cells nobody writes in).
COLUMN_NAMES = ("signature", "printed_name", "address", "city", "zip", "date", "number", "official")
#: :data:`FIELD_NAMES`: the circulator's declaration fields the workbench offers by name.
#: Colours (BGR) the cells are drawn in.
COLOURS = {"signature": (0, 0, 220), "content": (0, 150, 0), "other": (150, 150, 150), "field": (200, 90, 0)}


@dataclass
class DraftedTemplate:
    """A template drafted from one page of a blank form's scan.

    Attributes
    ----------
    path : str
        The scan.
    page : int
        Its page holding the form (1-based).
    image : (H, W) uint8 array
        The page as scanned.
    dpi : float
    template : FormTemplate
        The template, cells named as asked (or guessed).
    cells : list of (str, str)
        Each cell of one line, row by row and left to right: its name and
        where it is (``x 0.50-0.80 in``, ``row 2``).
    fields : list of (str, str)
        The other boxes found on the page (the circulator's declaration),
        likewise.
    guessed : bool
        True when the cell names were guessed (no `columns` given).
    """

    path: str
    page: int
    image: np.ndarray
    dpi: float
    template: object
    cells: list
    fields: list
    guessed: bool


def read_scan_page(path: str | Path, page: int = 1, dpi: float | None = None):
    """Page `page` of a scan (PDF, TIFF, PNG/JPEG) as a ``sigverify`` page
    (``.image``, ``.dpi``). A missing, empty or damaged file, or a page it
    does not have, is a :class:`UserError` naming the file."""
    from sigverify.errors import ImageInputError
    from sigverify.pages import open_document

    path = str(path)
    if not Path(path).exists():
        raise UserError("file not found", where=path)
    try:
        with open_document(path) as doc:
            if not 1 <= page <= doc.count:
                raise UserError(f"there is no page {page} (the document has {doc.count})", where=path)
            return doc.read(page, dpi=dpi)
    except ImageInputError as exc:
        raise UserError(_own_words(exc, path), where=f"{path} page {page}" if exc.page else path) from None


def _own_words(exc, path: str) -> str:
    """The message of an ImageInputError without its own ``path: `` prefix."""
    msg = str(exc)
    for p in (f"{exc.path} page {exc.page}: ", f"{exc.path}: ", f"{path}: ", f"page {exc.page}: "):
        msg = msg.removeprefix(p)
    return msg


def draft_from_scan(path: str | Path, *, page: int = 1, dpi: float | None = None,
                    columns: list[str] | None = None, fields: list[str] | None = None,
                    name: str | None = None) -> DraftedTemplate:
    """Draft a template from page `page` of a blank form's scan.

    `columns` names the cells of one line (row by row, left to right),
    `fields` the declaration boxes found (top to bottom, left to right);
    without them the names are guessed. Raises :class:`UserError` naming
    the file when it cannot be read, holds no ruled lines table, or the
    names do not fit what was found.
    """
    from sigverify.errors import ImageInputError
    from sigverify.pages.draft import describe_template_cells, describe_template_fields, draft_template

    pg = read_scan_page(path, page, dpi)
    d = float(dpi or pg.dpi or 0)
    if d <= 0:
        raise UserError("the scan's resolution is unknown; give it (dpi)", where=str(path))
    kw = {"fields": fields} if fields is not None else {}
    try:
        t = draft_template(pg.image, d, columns=columns, name=name or Path(path).stem,
                           description=f"drafted from {Path(path).name} page {page}", **kw)
    except ImageInputError as exc:
        raise UserError(_own_words(exc, str(path)), where=f"{path} page {page}") from None
    return DraftedTemplate(str(path), page, pg.image, d, t, describe_template_cells(t),
                           describe_template_fields(t), columns is None)


def _poly(M: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    pts = np.array([[x, y, 1], [x + w, y, 1], [x + w, y + h, 1], [x, y + h, 1]], np.float64) @ M.T
    return (pts[:, :2] / pts[:, 2:3]).round().astype(np.int32)


def draw_cells(image: np.ndarray, seg, template, *, numbered: bool = False) -> np.ndarray:
    """The scan (BGR) with every cell of every line drawn where the
    segmenter put it (signature red, other cells green, cells nobody writes
    in gray, declaration boxes blue) and each line's state; `numbered`
    writes each cell's number (1, 2, … row by row) in line 1 instead."""
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    d = seg.dpi
    M = seg.to_original @ np.diag([d, d, 1.0])  # template inches -> scan pixels
    thick = max(1, int(round(min(image.shape[:2]) / 800)))
    scale = max(0.4, image.shape[1] / 2400)
    for ln in seg.lines:
        for k, (name, cell) in enumerate(template.cells.items(), start=1):
            pts = _poly(M, template.cell_box(ln.line, name))
            col = COLOURS["signature" if name == "signature" else ("content" if cell.content else "other")]
            cv2.polylines(out, [pts], True, col, thick if name != "signature" else 2 * thick, cv2.LINE_AA)
            if numbered and ln.line == 1:
                cv2.putText(out, str(k), (int(pts[:, 0].min()) + 4, int(pts[:, 1].max()) - 4),
                            cv2.FONT_HERSHEY_SIMPLEX, 1.4 * scale, (0, 0, 160), 2 * thick, cv2.LINE_AA)
        if not numbered:
            x, y, w, h = ln.signature
            cv2.putText(out, f"{ln.line}: {ln.state}", (int(x) + 4, int(y + h) - 4), cv2.FONT_HERSHEY_SIMPLEX,
                        scale, (200, 0, 200), thick, cv2.LINE_AA)
    for k, (_name, box) in enumerate(template.fields.items(), start=1):
        pts = _poly(M, box)
        cv2.polylines(out, [pts], True, COLOURS["field"], thick, cv2.LINE_AA)
        if numbered:
            cv2.putText(out, f"F{k}", (int(pts[:, 0].min()) + 4, int(pts[:, 1].max()) - 4),
                        cv2.FONT_HERSHEY_SIMPLEX, 1.2 * scale, COLOURS["field"], 2 * thick, cv2.LINE_AA)
    if seg.check:
        cv2.putText(out, "CHECK: layout fit not certain", (20, 40), cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.6, image.shape[1] / 1500), (0, 140, 255), 2 * thick, cv2.LINE_AA)
    return out


def draw_on_blank(draft: DraftedTemplate) -> np.ndarray:
    """The blank form (BGR) with the drafted template's cells drawn where
    the segmenter puts them on that very scan, each cell of line 1
    numbered (the numbers the person names the cells by). A template
    that does not fit its own blank form is a :class:`UserError`."""
    from sigverify.errors import ImageInputError
    from sigverify.pages import segment_page

    try:
        seg = segment_page(draft.image, template=draft.template, dpi=draft.dpi, crops=False)
    except ImageInputError as exc:
        raise UserError("the drafted template does not fit its own blank form: " + _own_words(exc, draft.path),
                        where=f"{draft.path} page {draft.page}") from None
    return draw_cells(draft.image, seg, draft.template, numbered=True)


def check_page(template, path: str | Path, *, page: int = 1, dpi: float | None = None) -> tuple[np.ndarray, bool]:
    """Page `page` of a filled scan segmented with `template`, drawn as
    ``petitions template check`` draws it; and whether the layout fit is
    not certain (a person should look). A page the template does not fit
    is a :class:`UserError` naming the file and page."""
    from sigverify.errors import ImageInputError
    from sigverify.pages import segment_page

    pg = read_scan_page(path, page, dpi)
    try:
        seg = segment_page(pg.image, template=template, dpi=dpi or pg.dpi, crops=False)
    except ImageInputError as exc:
        raise UserError(_own_words(exc, str(path)), where=f"{path} page {page}") from None
    return draw_cells(pg.image, seg, template), bool(seg.check)


def save_template(template, path: str | Path) -> Path:
    """Write `template` as JSON (``docs/templates.md``), atomically."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise UserError("a template file must end in .json", where=str(path))
    with atomic_write(path) as fh:
        json.dump(template.to_dict(), fh, indent=1)
        fh.write("\n")
    return path


def filing_templates(ws, filing_id: int) -> list[dict]:
    """The form templates the filing's scans were read with (issue 19: a
    template is kept with the filing), newest use first: ``name``,
    ``sha256``, ``file`` (its key in the workspace), ``sections`` (how
    many documents were read with it), ``last_used`` (time of the newest)."""
    from petitions.store import ingest as ingest_db

    found: dict[str, dict] = {}
    for ev in ingest_db.ingest_events(ws, filing_id):
        rec = json.loads(ev["payload_json"]).get("template")
        if not rec:
            continue
        t = found.setdefault(rec["sha256"], {**rec, "sections": 0})
        t["sections"] += 1
        t["last_used"] = ev["ts"]
    return sorted(found.values(), key=lambda t: t["last_used"], reverse=True)


def stored_template(ws, filing_id: int, which: str):
    """A template the filing's scans were read with, by its SHA-256 (or a
    prefix of it) or its name (the newest of that name), loaded from the
    workspace and checked against its SHA-256."""
    import hashlib

    from sigverify.pages.templates import FormTemplate

    kept = filing_templates(ws, filing_id)
    hits = [t for t in kept if t["sha256"].startswith(which.lower())] if len(which) >= 8 else []
    hits = hits or [t for t in kept if t["name"] == which][:1]
    if len(hits) != 1:
        used = ", ".join(f"{t['name']} ({t['sha256'][:12]})" for t in kept) or "none"
        raise UserError(f"no template {which!r} kept with this filing (templates its scans were read with: {used})")
    rec = hits[0]
    data = ws.crops.local_path(rec["file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != rec["sha256"]:
        raise UserError(f"the kept template {rec['name']} ({rec['file']}) does not match its SHA-256: altered")
    return FormTemplate.from_dict(json.loads(data), source=rec["file"])
