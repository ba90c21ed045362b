"""Segment a petition page into signer lines, cells, crops and line states.

Steps: reduce and binarize the page (:mod:`.geometry`); register the
template to the scan from the corner marks or the table outline, trying the
four right-angle orientations and every candidate template and keeping the
one whose rules lie on ink; map every cell to the original scan (boxes) and
resample the wanted cells out of it deskewed (crops); remove form rules and
printed labels from the crops; decide each line's state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from sigverify.errors import ImageInputError
from sigverify.pages import geometry as geo
from sigverify.pages.templates import CROP_CELLS, FormTemplate, builtin_templates, load_template

#: Below this share of template rule points on ink, the page is not the form.
MIN_ALIGNMENT = 0.55
#: Resolution at which line states are decided.
STATE_DPI = 100.0
#: Half-width (inches) of the strip around a printed rule that is not ink.
RULE_TOL_IN = 0.035
#: A line holds writing when its cells hold this much ink (square inches).
MIN_WRITING_IN2 = 0.004


@dataclass
class SegmentedLine:
    """One signer line. Boxes are (x, y, w, h) pixels in the original page."""

    line: int
    signature: tuple[float, float, float, float]
    printed_name: tuple[float, float, float, float] | None
    address: tuple[float, float, float, float] | None
    city: tuple[float, float, float, float] | None
    zip: tuple[float, float, float, float] | None
    state: str  # 'signed' | 'blank' | 'struck'
    signature_ink: float
    date: tuple[float, float, float, float] | None = None
    #: Ink area per content cell (square inches), the evidence for `state`.
    cell_ink: dict[str, float] = field(default_factory=dict)
    #: Share of the row width covered by a long stroke (strike evidence).
    strike_cover: float = 0.0

    @property
    def blank(self) -> bool:
        return self.state == "blank"

    def to_dict(self) -> dict:
        d = {"line": self.line}
        for k in ("signature", "printed_name", "address", "city", "zip", "date"):
            v = getattr(self, k)
            if v is not None:
                d[k] = [round(float(c), 1) for c in v]
        d.update(blank=self.blank, state=self.state, signature_ink=round(self.signature_ink, 5),
                 strike_cover=round(self.strike_cover, 3))
        return d


@dataclass
class PageSegmentation:
    """Result of :func:`segment_page`.

    Attributes
    ----------
    template : str
        Name of the template that matched.
    skew_deg : float
        Skew found, degrees, positive clockwise.
    rotation : int
        0, 90, 180 or 270: how far (clockwise) the form is turned in the scan.
    to_original : (3, 3) float array
        Maps registered-page pixels (the frame the crops are cut from) to
        original-page pixels.
    size : (int, int)
        Original page width and height in pixels.
    dpi : float
        Resolution of the registered page (and of the crops).
    method : str
        ``'marks'`` or ``'table'``: what the registration used.
    score : float
        Share of the template's rules found on ink (registration quality).
    lines : list of SegmentedLine
    crops : list of dict
        Per line, ``{"signature", "printed_name", "address"}`` uint8 arrays
        with form rules and printed labels removed.
    fields : dict
        Boxes of the page's other fields (circulator declaration).
    field_crops : dict
        Crops of those fields.
    """

    template: str
    skew_deg: float
    rotation: int
    to_original: np.ndarray
    size: tuple[int, int]
    dpi: float
    method: str
    score: float
    lines: list[SegmentedLine]
    crops: list[dict[str, np.ndarray]]
    fields: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    field_crops: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "template": self.template,
            "size": list(self.size),
            "skew_deg": round(self.skew_deg, 3),
            "rotation": self.rotation,
            "dpi": round(self.dpi, 2),
            "registration": self.method,
            "score": round(self.score, 3),
            "to_original": [[round(float(v), 6) for v in r] for r in self.to_original],
            "lines": [ln.to_dict() for ln in self.lines],
            "fields": {k: [round(float(c), 1) for c in v] for k, v in self.fields.items()},
        }


def estimate_dpi(shape: tuple[int, int]) -> float:
    """Resolution of a page image assuming US Letter paper (8.5 x 11 in)."""
    h, w = shape
    long_, short = max(h, w), min(h, w)
    return 0.5 * (long_ / 11.0 + short / 8.5)


# --------------------------------------------------------------------------
# registration


@dataclass
class _Registration:
    template: FormTemplate
    M: np.ndarray  # inches -> full-resolution pixels
    rotation: int
    method: str
    score: float


def _register(image: np.ndarray, work: geo.Working, templates: list[FormTemplate], dpi: float) -> _Registration:
    best: _Registration | None = None
    f = work.factor
    to_small = np.diag([1.0 / f, 1.0 / f, 1.0])
    by_marks: dict[tuple, tuple] = {}
    for t in templates:
        hyps = []  # (M, rotation, method)
        if len(t.marks):
            size = float(np.median(t.marks[:, 2])) * dpi / f
            key = round(size, 1)
            if key not in by_marks:
                cands = geo.find_mark_candidates(work, size)
                picks = geo.pick_corner_marks(cands, work.ink.shape)
                pts = [None if c is None else geo.refine_centroid(image, c, f, work.threshold) for c in picks]
                by_marks[key] = pts
            pts = by_marks[key]
            found = [i for i, p in enumerate(pts) if p is not None]
            if len(found) >= 3:
                tmpl = geo.order_corners(t.marks[:, :2])
                for k in range(4):
                    # Template corner j sits at image corner (j + k) % 4 when
                    # the form is turned k quarter turns clockwise.
                    src = [tmpl[j] for j in range(4) if (j + k) % 4 in found]
                    dst = [pts[(j + k) % 4] for j in range(4) if (j + k) % 4 in found]
                    hyps.append((geo.fit_transform(np.array(src), np.array(dst)), 90 * k, "marks"))
        if not hyps:
            quad = geo.table_quad(work)
            if quad is not None:
                x, y, w, h = t.table
                tq = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
                for k in range(4):
                    dst = np.roll(quad, -k, axis=0) * f
                    hyps.append((geo.fit_transform(tq, dst), 90 * k, "table"))
        pts_in = _rule_points(t)
        for M, rot, method in hyps:
            if not _plausible(M, t, dpi):
                continue
            s = geo.alignment_score(work, to_small @ M, pts_in)
            if best is None or s > best.score:
                best = _Registration(t, M, rot, method, s)
    if best is None or best.score < MIN_ALIGNMENT:
        got = "" if best is None else f" (best match {best.score:.0%} of the form's rules)"
        raise ImageInputError(
            "no petition form found on this page: registration marks and lines table not recognised" + got
        )
    return best


_RULE_CACHE: dict[int, np.ndarray] = {}


def _rule_points(t: FormTemplate) -> np.ndarray:
    key = id(t)
    if key not in _RULE_CACHE:
        _RULE_CACHE[key] = t.rule_points()
    return _RULE_CACHE[key]


def _plausible(M: np.ndarray, t: FormTemplate, dpi: float) -> bool:
    """Reject transforms that squash, mirror or wildly rescale the form."""
    J = geo.jacobian(M, (t.page_size[0] / 2, t.page_size[1] / 2))
    sx, sy = np.linalg.norm(J[:, 0]), np.linalg.norm(J[:, 1])
    if np.linalg.det(J) <= 0:
        return False
    if not (0.85 < sx / sy < 1.18):
        return False
    return 0.5 * dpi < np.sqrt(sx * sy) < 2.0 * dpi


def _refine_by_rules(image: np.ndarray, M: np.ndarray, t: FormTemplate, threshold: float) -> np.ndarray:
    """Correct offset and scale on each axis by snapping to the printed rules.

    The table outline found on the reduced page is biased by the thickness
    of the outer rule. Resample the table deskewed, project its ink on each
    axis, and pick the offset/scale that puts the template's rule positions
    on the projection peaks.
    """
    d = STATE_DPI
    m = 0.15
    tx, ty, tw, th = t.table
    box = (tx - m, ty - m, tw + 2 * m, th + 2 * m)
    ink = (_warp(image, M, box, d) < threshold).astype(np.float32)
    xs, ys = set(), set()
    for i in range(1, t.line_count + 1):
        for n in t.cells:
            x, y, w, h = t.cell_box(i, n)
            xs.update((round(x, 4), round(x + w, 4)))
            ys.update((round(y, 4), round(y + h, 4)))
    corr = []
    for prof, rules, c0 in ((ink.mean(0), np.array(sorted(xs)), tx - m), (ink.mean(1), np.array(sorted(ys)), ty - m)):
        centre = rules.mean()
        offs = np.arange(-0.08, 0.0801, 0.005)
        scales = np.arange(0.98, 1.0201, 0.002)
        pos = (centre + (rules[None, None, :] - centre) * scales[None, :, None] + offs[:, None, None] - c0) * d
        score = np.interp(pos, np.arange(len(prof)), prof, left=0, right=0).sum(-1)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        corr.append((offs[i], scales[j], centre))
    (dx, sx, cx), (dy, sy, cy) = corr
    C = np.array([[sx, 0, cx - cx * sx + dx], [0, sy, cy - cy * sy + dy], [0, 0, 1.0]])
    return M @ C


# --------------------------------------------------------------------------
# cells, crops, states


def _box_in_original(M: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = box
    p = geo.apply(M, np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]))
    x0, y0 = p.min(0)
    x1, y1 = p.max(0)
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def _warp(image: np.ndarray, M: np.ndarray, box, dpi: float, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Resample the inch box `box` out of `image` at `dpi`, deskewed."""
    x, y, w, h = box
    size = (max(1, int(round(w * dpi))), max(1, int(round(h * dpi))))
    S = np.array([[1.0 / dpi, 0, x], [0, 1.0 / dpi, y], [0, 0, 1.0]])
    A = M @ S  # crop pixel -> image pixel
    if A[2, 0] == 0 and A[2, 1] == 0:
        return cv2.warpAffine(image, A[:2], size, flags=interp | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return cv2.warpPerspective(image, A, size, flags=interp | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def despeckle(ink: np.ndarray) -> np.ndarray:
    """Drop isolated dust and noise pixels from an ink mask.

    A pixel stays when at least two of its eight neighbours are ink too: a
    pen stroke, even a one-pixel hairline, always has two, while sensor
    noise and dust specks of one or two pixels do not. One box filter does
    what a connected-components pass would, at a hundredth of the cost.
    """
    u = ink.astype(np.uint8)
    n = cv2.boxFilter(u, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return ink & (n >= 3)


_MASKS: dict[tuple, np.ndarray] = {}


def _rule_free_mask(shape, dpi, masks_in=()) -> np.ndarray:
    """1 inside a cell crop except its border strip (rules) and label masks.

    Cached: every line of a page asks for the same few shapes.
    """
    key = (tuple(shape), round(float(dpi), 3), tuple(masks_in))
    m = _MASKS.get(key)
    if m is None:
        if len(_MASKS) > 512:
            _MASKS.clear()
        m = _MASKS[key] = _make_rule_free_mask(shape, dpi, masks_in)
        m.setflags(write=False)
    return m


def _make_rule_free_mask(shape, dpi, masks_in) -> np.ndarray:
    h, w = shape
    m = np.ones((h, w), np.uint8)
    b = int(round(RULE_TOL_IN * dpi))
    m[:b, :] = 0
    m[h - b:, :] = 0
    m[:, :b] = 0
    m[:, w - b:] = 0
    for dx, dy, mw, mh in masks_in:
        x0, y0 = int(dx * dpi), int(dy * dpi)
        m[max(0, y0 - b): y0 + int(round(mh * dpi)) + b, max(0, x0 - b): x0 + int(round(mw * dpi)) + b] = 0
    return m


def clean_cell(crop: np.ndarray, threshold: float, dpi: float, masks_in=()) -> tuple[np.ndarray, np.ndarray]:
    """Remove form rules, printed labels and specks from a cell crop.

    Parameters
    ----------
    crop : (h, w) uint8 array
        A registered (deskewed) cell, rules on its border.
    threshold : float
        Gray level below which a pixel is ink.
    dpi : float
        Resolution of `crop`.
    masks_in : sequence of (dx, dy, w, h)
        Label rectangles (inches, relative to the cell) to blank.

    Returns
    -------
    clean : (h, w) uint8 array
        The writing on pure paper (255): rules, labels, specks, stains and
        background noise removed.
    ink : (h, w) bool array
        The handwriting that remains.
    """
    ink = crop < threshold
    h, w = crop.shape
    if h == 0 or w == 0:
        return crop.copy(), ink
    keep = _rule_free_mask(crop.shape, dpi, masks_in).astype(bool)  # a copy: edited below
    # A rule that registration put slightly inside the crop: a row (column)
    # near the border that is mostly ink is a rule, not writing.
    band = min(int(round(0.09 * dpi)), h // 2, w // 2)
    # Only the border strips can hold a misregistered rule; look only there.
    rows = np.zeros(h, bool)
    cols = np.zeros(w, bool)
    rows[:band] = np.count_nonzero(ink[:band], axis=1) > w // 2
    rows[h - band:] = np.count_nonzero(ink[h - band:], axis=1) > w // 2
    cols[:band] = np.count_nonzero(ink[:, :band], axis=0) > h // 2
    cols[w - band:] = np.count_nonzero(ink[:, w - band:], axis=0) > h // 2
    if rows.any() or cols.any():
        r = cv2.dilate(rows.astype(np.uint8)[:, None], np.ones((3, 1), np.uint8))[:, 0].astype(bool)
        c = cv2.dilate(cols.astype(np.uint8)[None, :], np.ones((1, 3), np.uint8))[0].astype(bool)
        keep[r, :] = False
        keep[:, c] = False
    ink &= keep
    ink = despeckle(ink)
    # Paper becomes pure white so every scanner's crops look alike; the
    # anti-aliased rim of each stroke (one pixel round the ink) is kept.
    rim = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & keep
    clean = np.where(rim, crop, np.uint8(255))
    return clean, ink


@dataclass(frozen=True)
class _StateLayout:
    """Where the content cells of every line sit in the table resample."""

    shape: tuple[int, int]
    keep: np.ndarray  # (h, w) bool: inside a content cell, off rules and labels
    cells: dict[str, tuple[int, int, int, int]]  # per cell name, (x, y, w, h) within a line
    line_y: np.ndarray  # (count,) top row of each line
    rows: list[tuple[int, int, list[str]]]  # (y0, y1, cell names) of each row of a line


_LAYOUTS: dict[tuple, _StateLayout] = {}


def _state_layout(t: FormTemplate, x0: float, y0: float, size: tuple[int, int]) -> _StateLayout:
    key = (id(t), size)
    lay = _LAYOUTS.get(key)
    if lay is not None:
        return lay
    d = STATE_DPI
    w, h = size
    keep = np.zeros((h, w), bool)
    cells = {}
    line_y = np.array([int(round((t.line_top + i * t.line_pitch - y0) * d)) for i in range(t.line_count)])
    for name in t.content_cells:
        c = t.cells[name]
        cx0, cy0 = int(round((c.x - x0) * d)), int(round(c.y * d))
        cw, ch = int(round(c.w * d)), int(round(c.h * d))
        cells[name] = (cx0, cy0, cw, ch)
        m = _rule_free_mask((ch, cw), d, c.masks).astype(bool)
        for ly in line_y:
            sub = keep[ly + cy0: ly + cy0 + ch, cx0: cx0 + cw]
            sub |= m[: sub.shape[0], : sub.shape[1]]
    rows = []
    for ry, rh in sorted({(t.cells[n].y, t.cells[n].h) for n in t.content_cells}):
        names = [n for n in t.content_cells if (t.cells[n].y, t.cells[n].h) == (ry, rh)]
        rows.append((int(round(ry * d)), int(round((ry + rh) * d)), names))
    keep.setflags(write=False)
    lay = _LAYOUTS[key] = _StateLayout((h, w), keep, cells, line_y, rows)
    return lay


def _line_states(table: np.ndarray, threshold: float, lay: _StateLayout) -> list[tuple[str, dict, float]]:
    """Decide blank / signed / struck for every line from one table resample.

    `table` covers all lines at STATE_DPI; rules and labels are masked at
    their template positions, so only writing counts. Strike: a long, nearly
    horizontal stroke across most of a row. The ink is thickened vertically
    so a sloped, wobbly pen line keeps long horizontal runs; an opening then
    keeps only runs longer than any letter stroke.
    """
    d = STATE_DPI
    ink = despeckle((table < threshold) & lay.keep)
    thick = cv2.dilate(ink.view(np.uint8), np.ones((7, 1), np.uint8))
    runs = cv2.morphologyEx(thick, cv2.MORPH_OPEN, np.ones((1, int(0.3 * d)), np.uint8))
    # Per row of pixels, which columns a long run covers (one pass, then sliced).
    px_in2 = 1.0 / (d * d)
    out = []
    for ly in lay.line_y:
        cell_ink = {n: float(np.count_nonzero(ink[ly + y: ly + y + h, x: x + w])) * px_in2
                    for n, (x, y, w, h) in lay.cells.items()}
        if sum(cell_ink.values()) < MIN_WRITING_IN2:
            out.append(("blank", cell_ink, 0.0))
            continue
        cover = 0.0
        for y0, y1, names in lay.rows:
            colhit = runs[ly + y0: ly + y1].any(0)
            span = hit = cells_hit = 0
            for n in names:
                x, _, w, _ = lay.cells[n]
                hc = int(np.count_nonzero(colhit[x: x + w]))
                span += w
                hit += hc
                cells_hit += hc > 0.5 * w
            if cells_hit >= min(2, len(names)):
                cover = max(cover, hit / max(1, span))
        out.append(("struck" if cover >= 0.5 else "signed", cell_ink, cover))
    return out


def segment_page(
    image: np.ndarray,
    *,
    template: FormTemplate | str | None = None,
    dpi: float | None = None,
    crops: bool = True,
) -> PageSegmentation:
    """Find the signer lines of one petition page.

    Parameters
    ----------
    image : (H, W) uint8 array
        The scanned page, 0 ink, 255 paper, any orientation.
    template : FormTemplate or str, optional
        The form's layout; by default the project's own forms are tried and
        the one that fits is used.
    dpi : float, optional
        Resolution of `image`; estimated from the page size if not given.
    crops : bool
        Cut the signature / printed-name / address crops (default True).

    Returns
    -------
    PageSegmentation
        Boxes in `image`'s pixel frame; crops from the registered page.

    Raises
    ------
    ImageInputError
        The image is not a page of the form (no marks, no table).

    Examples
    --------
    >>> from fixtures.forms import FormLine, render_page
    >>> page, truth = render_page([FormLine("Ann Lee", "1 Main St", "LA", "90012")],
    ...                           rng=np.random.default_rng(0))
    >>> seg = segment_page(page, dpi=150)
    >>> seg.template, seg.lines[0].state, seg.lines[1].state
    ('sigverify-single-row', 'signed', 'blank')
    """
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("The parameter `image` must be a 2-D uint8 array")
    if min(image.shape) < 64:
        raise ImageInputError(f"image too small to be a petition page ({image.shape[1]}x{image.shape[0]} pixels)")
    dpi_in = float(dpi) if dpi else estimate_dpi(image.shape)
    templates = [load_template(template)] if template is not None else builtin_templates()
    work = geo.working_image(image, dpi_in)
    reg = _register(image, work, templates, dpi_in)
    t, M = reg.template, reg.M
    if reg.method == "table":
        M = _refine_by_rules(image, M, t, work.threshold)
    center = (t.page_size[0] / 2, t.page_size[1] / 2)
    J = geo.jacobian(M, center)
    d = float(np.sqrt(abs(np.linalg.det(J))))
    ang = np.degrees(np.arctan2(J[1, 0], J[0, 0])) - reg.rotation
    skew = float((ang + 180.0) % 360.0 - 180.0)
    to_original = M @ np.diag([1.0 / d, 1.0 / d, 1.0])
    thr = work.threshold

    lines, crop_list = [], []
    x0 = min(c.x for c in t.cells.values())
    x1 = max(c.x + c.w for c in t.cells.values())
    y_ext = max(c.y + c.h for c in t.cells.values())
    y0 = t.line_top
    table_box = (x0, y0, x1 - x0, (t.line_count - 1) * t.line_pitch + y_ext)
    # Nearest neighbour is enough for ink/no-ink decisions at half the
    # scan's resolution, and half the cost of interpolating.
    table = _warp(image, M, table_box, STATE_DPI, cv2.INTER_NEAREST)
    lay = _state_layout(t, x0, y0, (table.shape[1], table.shape[0]))
    states = _line_states(table, thr, lay)
    for i in range(1, t.line_count + 1):
        state, cell_ink, cover = states[i - 1]
        boxes = {n: _box_in_original(M, t.cell_box(i, n)) for n in t.cells}
        cdict: dict[str, np.ndarray] = {}
        sig_ink = 0.0
        names = CROP_CELLS if crops else ("signature",)
        for n in names:
            if n not in t.cells:
                continue
            raw = _warp(image, M, t.cell_box(i, n), d)
            clean, ink = clean_cell(raw, thr, d, t.cells[n].masks)
            if n == "signature":
                sig_ink = np.count_nonzero(ink) / ink.size if ink.size else 0.0
            if crops:
                cdict[n] = clean
        lines.append(SegmentedLine(
            line=i,
            signature=boxes["signature"],
            printed_name=boxes.get("printed_name"),
            address=boxes.get("address"),
            city=boxes.get("city"),
            zip=boxes.get("zip"),
            date=boxes.get("date"),
            state=state,
            signature_ink=sig_ink,
            cell_ink=cell_ink,
            strike_cover=float(cover),
        ))
        crop_list.append(cdict)
    fields = {n: _box_in_original(M, b) for n, b in t.fields.items()}
    field_crops = {}
    if crops:
        for n, b in t.fields.items():
            field_crops[n] = _warp(image, M, b, d)
    return PageSegmentation(
        template=t.name,
        skew_deg=skew,
        rotation=int(reg.rotation),
        to_original=to_original,
        size=(int(image.shape[1]), int(image.shape[0])),
        dpi=d,
        method=reg.method,
        score=reg.score,
        lines=lines,
        crops=crop_list,
        fields=fields,
        field_crops=field_crops,
    )
