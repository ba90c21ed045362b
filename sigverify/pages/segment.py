"""Segment a petition page into signer lines, cells, crops and line states.

Steps: reduce and binarize the page (:mod:`.geometry`); register the
template to the scan from the corner marks or the table outline, trying the
four right-angle orientations and every candidate template and keeping the
one whose rules lie on ink; map every cell to the original scan (boxes) and
resample the wanted cells out of it deskewed (crops); remove form rules and
printed labels from the crops; decide each line's state.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import cv2
import numpy as np

from sigverify.errors import ImageInputError
from sigverify.pages import geometry as geo
from sigverify.pages import pagefit
from sigverify.pages.fit import MARGIN_IN, LayoutFit, layout_fit, verdict
from sigverify.pages.fit import _ONES as _ALL_BITS
from sigverify.pages.fit import _bit_window, _pack, _row_bits_window, _unpack
from sigverify.pages.templates import CROP_CELLS, FormTemplate, builtin_templates, load_template

#: Below this share of template rule points on ink, the page is not the form.
MIN_ALIGNMENT = 0.55
#: ... and at least this much more than points thrown at random would score
#: (the page's share of ink): real forms score ~0.98 against <0.3.
MIN_ALIGNMENT_OVER_CHANCE = 0.3
#: A registration from only two marks must put this share of the form's
#: rules on ink, or the table outline is tried as well.
TWO_MARKS_MIN_ALIGNMENT = 0.9
#: Resolution at which line states are decided.
STATE_DPI = 100.0
#: A strike drawn corner to corner through a line block of several rows must
#: cross at least this share of the block's width in each of two rows.
DIAGONAL_ROW_SHARE = 0.15
#: Half-width (inches) of the strip around a printed rule that is not ink.
RULE_TOL_IN = 0.035
#: Depth (inches) of the strip inside each cell edge where a row or column
#: that is ink end to end is a rule a slightly-off registration let in.
RULE_BAND_IN = 0.07
#: A line holds writing when its cells hold this much ink (square inches).
MIN_WRITING_IN2 = 0.004
#: Ink is found by contrast with the local paper, not by a page-wide gray
#: threshold: a light (gray 150), thin (1 px) ballpoint stroke on a scanned
#: page is lighter than the page threshold halfway between paper and the
#: black print, yet stands well clear of the paper next to it. A pixel of a
#: stroke is at least INK_MIN_CONTRAST gray levels (or INK_LO_SIGMA noise
#: deviations) darker than its paper after a 3x3 smoothing; a stroke must
#: hold a pixel INK_SEED_CONTRAST levels (INK_HI_SIGMA deviations) dark.
INK_MIN_CONTRAST = 8.0
INK_SEED_CONTRAST = 16.0
INK_LO_SIGMA = 3.0
INK_HI_SIGMA = 6.0
#: Ink marks smaller than this (inches) on both axes are dust and specks.
MIN_MARK_IN = 0.04
#: A mark this long (inches) is writing even with no pixel seed-dark.
LONG_MARK_IN = 0.12
#: Resolution ink is detected at in crops (they keep their own resolution).
DETECT_DPI = 100.0
#: Crops are cut at the scan's resolution, capped: 150 dpi is plenty to
#: read a printed name or an address; signatures keep up to 300 dpi (the
#: comparison works at ~100-200 dpi) so thin strokes keep their shape.
CROP_DPI_MAX = 150.0
SIGNATURE_DPI_MAX = 300.0


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
        Resolution of the registered page (``to_original`` is in its pixels).
    method : str
        ``'marks'``, ``'table'`` or ``'rules'`` (all the template's rules,
        from the sheet's edge on a photo or the table outline,
        :mod:`.pagefit`): what the registration used.
    score : float
        Share of the template's rules found on ink (registration quality).
    lines : list of SegmentedLine
    crops : list of dict
        Per line, ``{"signature", "printed_name", "address"}`` uint8 arrays
        with form rules, printed labels, specks and paper tone removed: paper
        is 255 and the writing keeps its gray levels (normalized by the
        local paper). Read-only: each kind of crop is a view of one block
        cut for all lines (copy a crop to change it).
    fields : dict
        Boxes of the page's other fields (circulator declaration).
    field_crops : dict
        Crops of those fields (plain deskewed resamples, at
        ``crop_dpi["fields"]``).
    crop_dpi : dict
        Resolution of each kind of crop (``"signature"``, ``"printed_name"``,
        ``"address"``, ``"fields"``): the scan's, capped at
        :data:`SIGNATURE_DPI_MAX` for signatures and :data:`CROP_DPI_MAX`
        for the others.
    fit : LayoutFit
        The evidence that the page is the template's form (its rules found
        on the scan, and none it lacks); ``check`` is True when that is
        confident but not certain, and a person should look at the page.
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
    crop_dpi: dict[str, float] = field(default_factory=dict)
    #: How surely the page is the template's form (:mod:`.fit`): None when
    #: not checked.
    fit: LayoutFit | None = None
    #: The crops as PNG bytes, when a worker encoded them for storing
    #: (:func:`sigverify.pages.batch.encode_crops`; ``crops`` is then empty):
    #: ``{"lines": [{kind: bytes}], "fields": {name: bytes}}``.
    encoded: dict | None = None

    @property
    def check(self) -> bool:
        """The layout fit is confident but not certain: a person should look at this page."""
        return self.fit is not None and verdict(self.fit) != "certain"

    # Pages travel from worker processes to the caller pickled; a cleaned
    # crop is pure paper (255) outside its writing, so only the writing's
    # bounding box is sent (a tenth of the bytes), and rebuilt on arrival.
    # segment_page cuts each kind of crop for all lines as one read-only
    # block and knows every line's writing box (``_blocks``): such crops are
    # sent as one buffer per kind, with no per-crop work on either side.
    def __getstate__(self) -> dict:
        st = self.__dict__.copy()
        blocks = st.pop("_blocks", None) or {}
        packed = {}
        for k, (block, boxes) in blocks.items():
            if _rows_of(block, [c.get(k) for c in self.crops]):
                packed[k] = _pack_block(block, boxes)
        st["crops"] = [{k: (_BLOCK if k in packed else _pack_crop(v)) for k, v in c.items()} for c in self.crops]
        st["_packed_blocks"] = packed
        return st

    def __setstate__(self, st: dict) -> None:
        st = dict(st)
        blocks = {k: _unpack_block(v) for k, v in st.pop("_packed_blocks", {}).items()}
        st["crops"] = [{k: (blocks[k][i] if isinstance(v, str) and v == _BLOCK else _unpack_crop(v))
                        for k, v in c.items()} for i, c in enumerate(st.get("crops", []))]
        self.__dict__.update(st)

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
            "crop_dpi": {k: round(float(v), 2) for k, v in self.crop_dpi.items()},
            "check": self.check,
            **({"fit": {"verdict": verdict(self.fit), "rules": self.fit.expected, "found": self.fit.found,
                        "foreign": self.fit.foreign, "missing": list(self.fit.missing),
                        "extra": list(self.fit.extra)}} if self.fit is not None else {}),
        }


_BLOCK = "<crop block>"


def _rows_of(block: np.ndarray, crops: list) -> bool:
    """Whether ``crops[i]`` is ``block[i]`` for every i (and the block is unchanged)."""
    if block.flags.writeable or len(crops) != len(block):
        return False
    base = block.__array_interface__["data"][0]
    for i, c in enumerate(crops):
        if (not isinstance(c, np.ndarray) or c.base is not block or c.shape != block.shape[1:]
                or c.__array_interface__["data"][0] != base + i * block.strides[0]):
            return False
    return True


def _pack_block(block: np.ndarray, boxes: np.ndarray):
    """(lines, h, w) crops, pure paper outside `boxes` (lines, 4: y0, y1, x0, x1), as one buffer."""
    parts = [block[i, y0:y1, x0:x1].ravel() for i, (y0, y1, x0, x1) in enumerate(boxes.tolist()) if y1 > y0]
    buf = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    return block.shape, boxes, buf


def _unpack_block(v) -> np.ndarray:
    shape, boxes, buf = v
    block = np.full(shape, 255, np.uint8)
    off = 0
    for i, (y0, y1, x0, x1) in enumerate(boxes.tolist()):
        if y1 > y0:
            n = (y1 - y0) * (x1 - x0)
            block[i, y0:y1, x0:x1] = buf[off:off + n].reshape(y1 - y0, x1 - x0)
            off += n
    block.setflags(write=False)
    return block


def _pack_crop(a):
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 2:
        return a
    if a.size == 0:
        return a
    x0, y0, w, h = cv2.boundingRect(cv2.compare(a, 255, cv2.CMP_NE))
    return ("paper-crop", a.shape, (y0, x0), np.ascontiguousarray(a[y0:y0 + h, x0:x0 + w]))


def _unpack_crop(v):
    if isinstance(v, tuple) and len(v) == 4 and v[0] == "paper-crop":
        _, shape, (y0, x0), sub = v
        a = np.full(shape, 255, np.uint8)
        a[y0:y0 + sub.shape[0], x0:x0 + sub.shape[1]] = sub
        return a
    return v


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
    f = work.factor
    to_small = np.diag([1.0 / f, 1.0 / f, 1.0])
    by_marks: dict[tuple, tuple] = {}
    quads: list = []
    fits: dict[tuple, np.ndarray] = {}

    def table_hyps(t: FormTemplate, fine: bool = False) -> list:
        if not quads:  # the page's, whichever template
            quads.append(geo.table_quad(work))
        quad = quads[0]
        if fine:
            if len(quads) < 2:
                quads.append(geo.table_quad_fine(work))
            quad = quads[1]
        return quad_hyps(t, quad)

    def quad_hyps(t: FormTemplate, quad: np.ndarray | None) -> list:
        if quad is None:
            return []
        tq = geo.box_corners(t.table)
        return [(geo.fit_transform(tq, np.roll(quad, -k, axis=0) * f), 90 * k, "table") for k in range(4)]

    def score(hyps_of: list, w: geo.Working = work) -> list:
        scored = []
        for t, hyps in hyps_of:
            pts_in = _rule_points(t)
            for M, rot, method in hyps:
                if not _plausible(M, t, dpi):
                    continue
                # Every 4th rule point ranks the hypotheses (a wrong orientation
                # or form scores far below the right one); the full set scores
                # the close contenders.
                scored.append((geo.alignment_score(w, to_small @ M, pts_in[::4]), t, M, rot, method))
        return scored

    def pick(scored: list, best: _Registration | None, w: geo.Working = work) -> _Registration | None:
        if scored:
            top = max(c[0] for c in scored)
            for s, t, M, rot, method in scored:
                if s >= top - 0.1:
                    s = geo.alignment_score(w, to_small @ M, _rule_points(t))
                    if best is None or s > best.score:
                        best = _Registration(t, M, rot, method, s)
        return best

    hyps_of = []
    for t in templates:
        hyps = []  # (M, rotation, method)
        if len(t.marks):
            mark_size, tmpl = _mark_layout(t)
            size = mark_size * dpi / f
            key = round(size, 1)
            if key not in by_marks:
                cands = geo.find_mark_candidates(work, size)
                picks = geo.pick_corner_marks(cands, work.ink.shape)
                pts = [None if c is None else geo.refine_centroid(image, c, f, work.threshold) for c in picks]
                by_marks[key] = pts
            pts = by_marks[key]
            found = [i for i, p in enumerate(pts) if p is not None]
            if len(found) >= 2:
                for k in range(4):
                    # Template corner j sits at image corner (j + k) % 4 when
                    # the form is turned k quarter turns clockwise.
                    src = [tmpl[j] for j in range(4) if (j + k) % 4 in found]
                    dst = [pts[(j + k) % 4] for j in range(4) if (j + k) % 4 in found]
                    src_a, dst_a = np.array(src), np.array(dst)
                    fkey = (src_a.tobytes(), dst_a.tobytes())
                    if fkey not in fits:
                        if len(src) == 2:
                            # Two marks (the others cut off by the scan's edge, or
                            # missing): a scanner turns, shifts and scales the paper
                            # alike on both axes, which two points fix exactly.
                            fits[fkey] = geo.fit_similarity(src_a, dst_a)
                        else:
                            # A quarter turn of a non-square form squashes it: the
                            # affine fit shows that before the projective one is tried.
                            aff = geo.fit_transform(src_a, dst_a, projective=False)
                            fits[fkey] = geo.fit_transform(src_a, dst_a) if _plausible(aff, t, dpi) else None
                    if fits[fkey] is not None:
                        hyps.append((fits[fkey], 90 * k, "marks"))
                    n = len(src)
                    if n == 3 or (n == 4 and fits[fkey] is not None and (fits[fkey][2, 0] != 0 or fits[fkey][2, 1] != 0)):
                        # One "mark" may be a blot: nearer the corner than its mark (four
                        # marks a flatbed scan cannot put on one affine map, though a
                        # phone photo's keystone can), or standing in for a mark the
                        # scan cut off (three). The fit through all of them competes
                        # with each fit that leaves one out (affine through three,
                        # rotation + scale + shift through two); the rules under ink
                        # decide.
                        refit = geo.fit_transform if n == 4 else geo.fit_similarity
                        for drop in range(n):
                            keep = [j for j in range(n) if j != drop]
                            hyps.append((refit(src_a[keep], dst_a[keep]), 90 * k, "marks"))
        if not hyps:
            hyps = table_hyps(t)
        hyps_of.append((t, hyps))
    best = pick(score(hyps_of), None)
    if best is None or best.score < TWO_MARKS_MIN_ALIGNMENT:
        # Marks the form's rules do not confirm (two marks leave no check on
        # each other; a blot may stand in for a mark the scan cut off): try
        # the table outline too, and keep whichever the rules confirm.
        best = pick(score([(t, table_hyps(t)) for t in templates]), best)
    if best is None or best.score < MIN_ALIGNMENT:
        # Hairline rules: the table's outline breaks up at the working
        # resolution; find it again on the finer level.
        fine = dataclasses.replace(work, ink=geo.fine_ink(work))
        best = pick(score([(t, table_hyps(t, fine=True)) for t in templates], fine), best, fine)
        if best is not None and best.score >= MIN_ALIGNMENT:
            work = fine  # the chance level below is the fine ink's too
        else:
            # A 1-bit scan breaks a hairline outer rule (or a whole rule) into
            # dashes with gaps wider than the fine ink bridges, and the table
            # falls apart into pieces: its outline is found on the fine ink
            # closed by one working pixel (~0.02 in), then two; the rules are
            # still scored on the fine ink itself.
            for k in (3, 5):
                closed = dataclasses.replace(work, ink=cv2.morphologyEx(fine.ink, cv2.MORPH_CLOSE,
                                                                        np.ones((k, k), np.uint8)))
                quad = geo.table_quad(closed)
                best = pick(score([(t, quad_hyps(t, quad)) for t in templates], fine), best, fine)
                if best is not None and best.score >= MIN_ALIGNMENT:
                    work = fine
                    break
    if best is None or best.score < MIN_ALIGNMENT or best.score - geo.chance_alignment(work) < MIN_ALIGNMENT_OVER_CHANCE:
        # A phone photo of the page on a desk: the desk is "ink" to the page
        # threshold. The sheet is found first (the bright region), then the
        # table on it by local contrast.
        sheet = geo.page_ink(work)
        if sheet is not None:
            photo = dataclasses.replace(work, ink=sheet)
            quads[:] = [geo.table_quad(photo)]
            on_sheet = pick(score([(t, table_hyps(t)) for t in templates], photo), None, photo)
            if on_sheet is not None and on_sheet.score >= MIN_ALIGNMENT and (
                    best is None or best.score < MIN_ALIGNMENT
                    or best.score - geo.chance_alignment(work) < MIN_ALIGNMENT_OVER_CHANCE):
                best, work = on_sheet, photo
    if best is None or best.score < MIN_ALIGNMENT:
        got = "" if best is None else f" (best candidate {best.template.name}: {best.score:.0%} of its rules on ink)"
        raise ImageInputError(
            "no petition form found on this page: registration marks and lines table not recognised" + got
            + f"; {MAKE_TEMPLATE_HINT}")
    chance = geo.chance_alignment(work)
    if best.score - chance < MIN_ALIGNMENT_OVER_CHANCE:
        # A photo, a noise field or a dark page: ink everywhere, so any
        # template's rules "land on ink"; that is no evidence of the form.
        raise ImageInputError(
            f"no petition form found on this page: the form's rules stand out no more than chance on it "
            f"({chance:.0%} of it is dark marks: a photo, a very dark or noisy scan, or a form of another layout); "
            f"{MAKE_TEMPLATE_HINT}")
    return best


#: Appended to every "this is not the form" error.
MAKE_TEMPLATE_HINT = ("if it is a form of another layout, make a template from a scan of a blank one "
                      "(petitions template draft BLANK.pdf --out T.json) and pass it with --template")


def _check_layout(work: geo.Working, M: np.ndarray, t: FormTemplate, dpi: float, guessed: bool
                  ) -> tuple[LayoutFit, np.ndarray]:
    """Check the registered page against the template's rules both ways (:mod:`.fit`).

    Returns the fit and the resample it was judged on (the template's table
    grown by :data:`MARGIN_IN`, at :data:`STATE_DPI`).

    Raises
    ------
    ImageInputError
        The fit is not confident: the page is another layout (or too
        damaged to trust), named with the best candidate.
    """
    m = MARGIN_IN
    tx, ty, tw, th = t.table
    gray = _warp_level(work, M, (tx - m, ty - m, tw + 2 * m, th + 2 * m), dpi)
    fit = layout_fit(gray, t, STATE_DPI)
    if verdict(fit) == "refuse":
        what = "the best candidate of the built-in forms" if guessed else "the template"
        raise ImageInputError(
            f"page layout not recognised: {what}, {t.name}, does not fit ({fit.describe()}); {MAKE_TEMPLATE_HINT}")
    return fit, gray


#: How a layout fit ranks when registrations compete (higher is better).
_VERDICT_RANK = {"certain": 2, "check": 1, "refuse": 0}


#: A second chance (below) must find at least this share of the template's
#: rules, and no rule the template lacks: the looser "nothing foreign, a
#: quarter lost" check of a first fit would let a photo of another layout
#: whose own vertical rules are too faint to show through (a desk photo in
#: uneven light, registered as one of the built-in forms) be read.
SECOND_CHANCE_FOUND = 0.9


def _second_chance(work: geo.Working, M: np.ndarray, t: FormTemplate, dpi: float, guessed: bool
                   ) -> tuple[LayoutFit, np.ndarray] | None:
    """:func:`_check_layout` for a second chance: the fit and resample, or
    None when refused or short of :data:`SECOND_CHANCE_FOUND` (or with a
    foreign rule)."""
    try:
        fit, gray = _check_layout(work, M, t, dpi, guessed)
    except ImageInputError:
        return None
    if fit.foreign or fit.found_share < SECOND_CHANCE_FOUND:
        return None
    return fit, gray


def _bold_level(image: np.ndarray, work: geo.Working, dpi: float) -> np.ndarray | None:
    """For a 1-bit scan (black and white only): the ~100 dpi halving of the
    page with every black pixel grown by one (a 3x3 erosion of the paper),
    so that a hairline's dashes stay dark; None for a gray scan."""
    f, _lev = work.level_for(dpi, STATE_DPI)
    if f <= 1 or cv2.countNonZero(cv2.inRange(image, 1, 254)):
        return None
    bold = cv2.erode(image, np.ones((3, 3), np.uint8))
    level = bold
    for _ in range(int(round(np.log2(f)))):
        h, w = level.shape[0] // 2, level.shape[1] // 2
        level = cv2.resize(level[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)
    return level


def _check_bold(work: geo.Working, bold: np.ndarray, M: np.ndarray, t: FormTemplate, dpi: float, guessed: bool
                ) -> tuple[LayoutFit, np.ndarray] | None:
    """:func:`_check_layout` judged on :func:`_bold_level`'s page: the fit,
    and the plain resample (the line states and crops read the scan as it
    is), or None when refused."""
    f, _lev = work.level_for(dpi, STATE_DPI)
    bold_work = dataclasses.replace(work, levels=((f, bold),))
    got = _second_chance(bold_work, M, t, dpi, guessed)
    if got is None:
        return None
    fit = got[0]
    m = MARGIN_IN
    tx, ty, tw, th = t.table
    return fit, _warp_level(work, M, (tx - m, ty - m, tw + 2 * m, th + 2 * m), dpi)


def _three_corner_fits(work: geo.Working, reg: _Registration, dpi: float, guessed: bool,
                       bold: np.ndarray | None = None) -> tuple[np.ndarray, LayoutFit, np.ndarray] | None:
    """A table registration through three of its four corners, when through all four the layout fit refused.

    Each corner is left out in turn; the affine map through the other three
    (a flatbed or sheet-fed scan is affine) is snapped to the rules and
    checked both ways (:func:`_second_chance`: nine rules in ten found,
    none foreign), so a page of another layout is refused as before: this
    only gives a form's page whose outline fit one bad corner a second
    chance. The best fit wins (certain before check, then more rules
    found); None when every one is refused. Done only for a page that
    would be refused, so it costs the other pages nothing.
    """
    t = reg.template
    tq = geo.box_corners(t.table)
    quad = geo.apply(reg.M, tq)
    best, best_key = None, None
    for drop in range(4):
        keep = [j for j in range(4) if j != drop]
        A = geo.fit_transform(tq[keep], quad[keep], projective=False)
        if not _plausible(A, t, dpi):
            continue
        M = _refine_by_rules(work, A, t, dpi)
        got = _second_chance(work, M, t, dpi, guessed)
        if got is None and bold is not None:
            got = _check_bold(work, bold, M, t, dpi, guessed)
        if got is None:
            continue
        fit, gray = got
        key = (_VERDICT_RANK[verdict(fit)], fit.found, -fit.foreign)
        if best_key is None or key > best_key:
            best, best_key = (M, fit, gray), key
    return best


#: A photo registered from its sheet (:func:`_desk_fits`) whose fit finds
#: every rule of the template may show this many rules the template lacks
#: (a row of large printed writing whose baseline stands out as a rule);
#: the page is then marked for a person to check.
DESK_FOREIGN_MAX = 1


def _desk_fits(work: geo.Working, dpi: float, templates: list[FormTemplate], guessed: bool,
               start: _Registration | None = None
               ) -> tuple[_Registration, tuple[LayoutFit, np.ndarray]] | None:
    """A phone photo of the page on a desk, registered from the sheet's edge
    and all the template's rules (:mod:`.pagefit`), when its table outline
    gave nothing the layout fit accepts (a faint outer rule lost in uneven
    light: the outline took the next rule in).

    Each map is checked as a second chance (:func:`_second_chance`: nine
    rules in ten found, none foreign; or every rule found and one foreign,
    a row of bold writing standing out as a rule, marked ``check``), on the
    page as it is and then with its light evened out
    (:func:`.pagefit.even_light`: a hairline on the dim side counts as on
    the lit side; the line states read the page as it is). The best fit
    wins (certain before check, then more rules found); None when every one
    is refused. Done only for a page that would be refused.
    """
    to_small = np.diag([1.0 / work.factor, 1.0 / work.factor, 1.0])
    m = MARGIN_IN
    even = None
    best, best_key = None, None
    for t in templates:
        starts = [(start.M, start.rotation)] if start is not None and start.template is t else []
        tx, ty, tw, th = t.table
        for agree, M, rot in pagefit.candidates(work, dpi, t, starts, lambda M, t=t: _plausible(M, t, dpi)):
            got = None
            for w in (work, even):
                if w is None:
                    w = even = pagefit.even_light(work, dpi)
                try:
                    fit, gray = _check_layout(w, M, t, dpi, guessed)
                except ImageInputError:
                    continue
                if (fit.foreign == 0 and fit.found_share >= SECOND_CHANCE_FOUND) or (
                        fit.found == fit.expected and fit.foreign <= DESK_FOREIGN_MAX):
                    if w is not work:
                        gray = _warp_level(work, M, (tx - m, ty - m, tw + 2 * m, th + 2 * m), dpi)
                    got = (fit, gray)
                    break
            if got is None:
                continue
            fit = got[0]
            key = (_VERDICT_RANK[verdict(fit)], fit.found, -fit.foreign, agree)
            if best_key is None or key > best_key:
                score = geo.alignment_score(work, to_small @ M, _rule_points(t))
                best, best_key = (_Registration(t, M, rot, "rules", score), got), key
    return best


def _inside(gray: np.ndarray, t: FormTemplate, box) -> np.ndarray | None:
    """The inch box `box` cut out of `gray` (:func:`_check_layout`'s resample)
    when it lies inside it on whole pixels; None otherwise (resample it)."""
    m = MARGIN_IN
    tx, ty, _tw, _th = t.table
    ox, oy = (box[0] - (tx - m)) * STATE_DPI, (box[1] - (ty - m)) * STATE_DPI
    x, y = int(round(ox)), int(round(oy))
    w, h = max(1, int(round(box[2] * STATE_DPI))), max(1, int(round(box[3] * STATE_DPI)))
    if abs(ox - x) > 1e-6 or abs(oy - y) > 1e-6 or x < 0 or y < 0 or y + h > gray.shape[0] or x + w > gray.shape[1]:
        return None
    return gray[y:y + h, x:x + w]


# Per-template constants, keyed by identity; the entry holds the template so
# its id is never reused while cached.
_RULE_CACHE: dict[int, tuple] = {}


def _template_cache(t: FormTemplate) -> tuple:
    hit = _RULE_CACHE.get(id(t))
    if hit is None or hit[0] is not t:
        if len(_RULE_CACHE) > 64:
            _RULE_CACHE.clear()
        marks = (float(np.median(t.marks[:, 2])), geo.order_corners(t.marks[:, :2])) if len(t.marks) else None
        boxes = np.array([t.cell_box(i, n) for i in range(1, t.line_count + 1) for n in t.cells], np.float64)
        boxes.setflags(write=False)
        hit = _RULE_CACHE[id(t)] = (t, t.rule_points(), marks, boxes)
    return hit


def _rule_points(t: FormTemplate) -> np.ndarray:
    return _template_cache(t)[1]


def _mark_layout(t: FormTemplate) -> tuple[float, np.ndarray]:
    """Side length of the marks (median) and their centres ordered TL, TR, BR, BL."""
    return _template_cache(t)[2]


def _plausible(M: np.ndarray, t: FormTemplate, dpi: float) -> bool:
    """Reject transforms that squash, mirror or wildly rescale the form."""
    if M[2, 0] == 0 and M[2, 1] == 0:
        J = M[:2, :2]  # affine: the same everywhere
    else:
        J = geo.jacobian(M, (t.page_size[0] / 2, t.page_size[1] / 2))
    (a, b), (c, d) = J.tolist()
    sx, sy = float(np.hypot(a, c)), float(np.hypot(b, d))
    if a * d - b * c <= 0:
        return False
    if not (0.85 < sx / sy < 1.18):
        return False
    return 0.5 * dpi < np.sqrt(sx * sy) < 2.0 * dpi


def _refine_by_rules(work: geo.Working, M: np.ndarray, t: FormTemplate, dpi: float) -> np.ndarray:
    """Correct offset and scale on each axis by snapping to the printed rules.

    The table outline found on the reduced page is biased by the thickness
    of the outer rule. Resample the table deskewed, project its ink on each
    axis, and pick the offset/scale that puts the template's rule positions
    on the projection peaks. The table is resampled from the page's ~100 dpi
    halving (`dpi` is the page's), as the line states are.
    """
    d = STATE_DPI
    m = 0.15
    tx, ty, tw, th = t.table
    box = (tx - m, ty - m, tw + 2 * m, th + 2 * m)
    gray = _warp_level(work, M, box, dpi)
    ink = gray < work.threshold
    if "_fine" in work.__dict__:
        # Registered on hairline rules: too light for the page threshold at
        # this resolution, they stand out from the paper beside them.
        dark = cv2.subtract(cv2.dilate(gray, np.ones((5, 5), np.uint8)), gray)
        ink |= dark > max(25.0, 0.66 * (work.paper - work.threshold))
    ink = ink.astype(np.float32)
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


def _refine_by_quarters(work: geo.Working, M: np.ndarray, t: FormTemplate, dpi: float) -> np.ndarray:
    """`M` bent to the printed rules quarter by quarter of the table.

    Each quarter of the table is resampled and shifted (each axis on its
    own, up to 0.08 in) to put the template's rules inside it on the ink
    (:func:`_refine_by_rules`' snap, without the scale); the homography
    through the four quarters' centres and their shifted places corrects
    the tilt and keystone a whole-table snap cannot. Ink is local contrast
    (faint rules on a photo count).
    """
    d = STATE_DPI
    m = 0.15
    tx, ty, tw, th = t.table
    xs, ys = {round(tx, 4), round(tx + tw, 4)}, {round(ty, 4), round(ty + th, 4)}
    for i in range(1, t.line_count + 1):
        for n in t.cells:
            x, y, w, h = t.cell_box(i, n)
            xs.update((round(x, 4), round(x + w, 4)))
            ys.update((round(y, 4), round(y + h, 4)))
    xr, yr = np.array(sorted(xs)), np.array(sorted(ys))
    offs = np.arange(-0.08, 0.0801, 0.0025)
    src, dst = [], []
    for qx, qy in ((0, 0), (1, 0), (1, 1), (0, 1)):
        bx, by, bw, bh = tx + qx * tw / 2 - m, ty + qy * th / 2 - m, tw / 2 + 2 * m, th / 2 + 2 * m
        gray = _warp_level(work, M, (bx, by, bw, bh), dpi)
        dark = cv2.subtract(cv2.dilate(gray, np.ones((5, 5), np.uint8)), gray)
        ink = (dark > 25).astype(np.float32)
        shift = []
        for prof, rules, c0 in ((ink.mean(0), xr, bx), (ink.mean(1), yr, by)):
            lo = c0 + m
            r = rules[(rules > lo) & (rules < lo + (bw if c0 == bx else bh) - 2 * m)]
            if not len(r):
                shift.append(0.0)
                continue
            pos = (r[None, :] + offs[:, None] - c0) * d
            score = np.interp(pos, np.arange(len(prof)), prof, left=0, right=0).sum(-1)
            shift.append(float(offs[int(np.argmax(score))]))
        c = np.array([bx + bw / 2, by + bh / 2])
        src.append(c)
        dst.append(c + shift)
    return M @ geo.fit_transform(np.array(src), np.array(dst))


# --------------------------------------------------------------------------
# cells, crops, states


_CORNER_X = np.array([0.0, 1.0, 1.0, 0.0])
_CORNER_Y = np.array([0.0, 0.0, 1.0, 1.0])


def _boxes_in_original(M: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Axis-aligned boxes (N, 4) in the original page of inch boxes (N, 4), in one pass."""
    c = np.empty((len(boxes), 4, 2))  # corners TL, TR, BR, BL
    # x + 0 * w is x exactly: the same corners as adding w where it is due.
    c[:, :, 0] = boxes[:, :1] + boxes[:, 2:3] * _CORNER_X
    c[:, :, 1] = boxes[:, 1:2] + boxes[:, 3:4] * _CORNER_Y
    p = geo.apply(M, c.reshape(-1, 2)).reshape(-1, 4, 2)
    # Pairwise over the four corners: numpy's reduction along a short middle
    # axis costs twice as much.
    lo = np.minimum(np.minimum(p[:, 0], p[:, 1]), np.minimum(p[:, 2], p[:, 3]))
    hi = np.maximum(np.maximum(p[:, 0], p[:, 1]), np.maximum(p[:, 2], p[:, 3]))
    return np.concatenate([lo, hi - lo], axis=1)


def _box_in_original(M: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return tuple(float(v) for v in _boxes_in_original(M, np.array([box], np.float64))[0])


def _crop_transform(M: np.ndarray, box, dpi: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Crop pixel -> image pixel transform and crop size (w, h) of inch box `box` at `dpi`."""
    x, y, w, h = box
    size = (max(1, int(round(w * dpi))), max(1, int(round(h * dpi))))
    S = np.array([[1.0 / dpi, 0, x], [0, 1.0 / dpi, y], [0, 0, 1.0]])
    return M @ S, size


def _warp_level(work: geo.Working, M: np.ndarray, box, dpi: float) -> np.ndarray:
    """Resample the inch box `box` at :data:`STATE_DPI` out of the page's
    halving nearest above it (`dpi` is the page's, `M` maps inches to its pixels).

    The geometry step made the halvings anyway: area-averaged (a thin light
    stroke stays visible as gray) and a quarter of the pixels to resample.
    """
    f, level = work.level_for(dpi, STATE_DPI)
    T = np.array([[1.0 / f, 0, 0.5 / f - 0.5], [0, 1.0 / f, 0.5 / f - 0.5], [0, 0, 1.0]])
    return _warp(level, T @ M, box, STATE_DPI)


def _warp(image: np.ndarray, M: np.ndarray, box, dpi: float, interp: int = cv2.INTER_LINEAR,
          dst: np.ndarray | None = None) -> np.ndarray:
    """Resample the inch box `box` out of `image` at `dpi`, deskewed.

    When the box needs no resampling (the scan is straight and at `dpi`: every
    crop pixel lands within 1 px of a scan pixel) it is sliced instead.
    """
    A, size = _crop_transform(M, box, dpi)
    return _warp_A(image, A, size, interp, dst)


def _warp_A(image: np.ndarray, A: np.ndarray, size: tuple[int, int], interp: int = cv2.INTER_LINEAR,
            dst: np.ndarray | None = None) -> np.ndarray:
    """Resample crop pixels (w, h) = `size` whose image positions are `A` @ (x, y, 1)."""
    if dst is None:
        dst = np.empty((size[1], size[0]), image.dtype)
    if _copy_crop(image, A, size, dst):
        return dst
    if A[2, 0] == 0 and A[2, 1] == 0:
        return cv2.warpAffine(image, A[:2], size, dst=dst, flags=interp | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return cv2.warpPerspective(image, A, size, dst=dst, flags=interp | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def _copy_crop(image: np.ndarray, A: np.ndarray, size: tuple[int, int], dst: np.ndarray) -> bool:
    """Slice (and, upside down, flip) the crop if `A` is a translation to within a pixel."""
    if A[2, 0] != 0 or A[2, 1] != 0:
        return False
    w, h = size
    a, b, c, d = A[0, 0], A[0, 1], A[1, 0], A[1, 1]
    if abs(abs(a) - 1) * w + abs(b) * h > 1.0 or abs(abs(d) - 1) * h + abs(c) * w > 1.0:
        return False
    if a * d < 0 or abs(a) < 0.5:  # mirrored, or a quarter turn
        return False
    x0, y0 = A[0, 2], A[1, 2]
    xs = int(round(x0 if a > 0 else x0 - (w - 1)))
    ys = int(round(y0 if d > 0 else y0 - (h - 1)))
    H, W = image.shape
    if xs < 0 or ys < 0 or xs + w > W or ys + h > H:
        return False
    sub = image[ys:ys + h, xs:xs + w]
    if a < 0:
        sub = sub[::-1, ::-1]
    dst[...] = sub
    return True


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


def paper_background(gray: np.ndarray, dpi: float) -> np.ndarray:
    """The paper's gray level under every pixel (uint8, same shape).

    A median over ~0.1 in of a ~50 dpi reduction, then the brightest of its
    neighbours: follows paper tone, uneven light and coffee stains, but not
    pen strokes (a minority of any 0.1 in window).
    """
    h, w = gray.shape
    f = max(1, int(round(dpi / 50.0)))
    sw, sh = max(1, w // f), max(1, h // f)
    small = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA) if f > 1 else gray
    if min(sw, sh) >= 5:
        small = cv2.medianBlur(small, 5)
    small = cv2.dilate(small, np.ones((3, 3), np.uint8))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) if (sw, sh) != (w, h) else small


def detect_ink(gray: np.ndarray, dpi: float, keep: np.ndarray | None = None,
               bg: np.ndarray | None = None, core: bool = False, *, label_step: int = 1):
    """Where the writing is: ink found by contrast with the local paper.

    A local (background-normalized) binarization with hysteresis, so light,
    thin ballpoint strokes survive next to black print, paper tone and stains
    do not count, and sensor noise and dust specks are dropped:

    1. darkness = local paper level - the image smoothed 3x3;
    2. the noise of the darkness is estimated from the paper itself;
    3. pixels at least ``max(INK_MIN_CONTRAST, INK_LO_SIGMA * noise)`` dark
       are candidate ink; a connected mark is kept when one of its pixels is
       ``max(INK_SEED_CONTRAST, INK_HI_SIGMA * noise)`` dark and it spans at
       least :data:`MIN_MARK_IN` inches, or it is a trace at least
       :data:`LONG_MARK_IN` long.

    Parameters
    ----------
    gray : (h, w) uint8 array
        0 ink, 255 paper; best at 75-150 dpi (the smoothing is 3x3 pixels).
    dpi : float
        Resolution of `gray`.
    keep : (h, w) bool array, optional
        Where ink may be (off printed rules and labels).
    bg : (h, w) uint8 array, optional
        The paper level (:func:`paper_background`), if already known.
    core : bool
        Also return the strokes' cores.
    label_step : int, keyword-only
        Label the marks on a `label_step` times reduced copy of the
        candidate mask (a pixel of it is candidate when any pixel it covers
        is), then keep the full-resolution candidates of the marks kept.
        2 labels a quarter of the pixels (the labelling is most of the cost);
        marks closer than ~2 pixels are judged together. 1 (default) is
        the exact per-pixel labelling, the reference.

    Returns
    -------
    ink : (h, w) bool array
        The marks found, with their soft edges (a little wider than the
        strokes: what a cleaned crop shows).
    core : (h, w) bool array
        Only with ``core=True``: the pixels of those marks at least half as
        dark as the darkest near them (the stroke at half its contrast, as
        wide for a light pen as for a dark one): the measure of how much
        ink there is and the evidence for long strike-through runs.
    """
    if bg is None:
        bg = paper_background(gray, dpi)
    dark = cv2.subtract(bg, cv2.GaussianBlur(gray, (3, 3), 0))
    # A sparse grid of pixels is plenty to measure the noise.
    step = max(1, int(np.sqrt(dark.size / 20000)))
    if _fixed_mask(keep):
        # A fixed layout's mask (the table's): its grid points are cached.
        sub = np.take(dark, _keep_info(keep, step)[1])
    else:
        sub = dark[::step, ::step]
        sub = sub[keep[::step, ::step]] if keep is not None else sub.ravel()
    # Paper pixels' darkness is the positive half of the noise: its 75th
    # percentile is 0.674 sigma (ink is a small minority of a cell).
    sigma = _percentile_u8(sub, 75.0) / 0.674 if sub.size else 0.0
    lo = max(INK_MIN_CONTRAST, INK_LO_SIGMA * sigma)
    hi = max(INK_SEED_CONTRAST, INK_HI_SIGMA * sigma)
    s = max(1, int(label_step))
    if s > 1:
        return _detect_reduced(gray, dark, bg, keep, lo, hi, dpi, s, core)
    weak = dark > lo
    if keep is not None:
        weak &= keep
    if not weak.any():
        return (weak, weak.copy()) if core else weak
    ink = _hysteresis(weak, dark > hi, dpi, 1)
    if not core:
        return ink
    return ink, _core(ink.view(np.uint8), bg, gray, lo).view(bool)


def _detect_reduced(gray, dark, bg, keep, lo, hi, dpi, s, core):
    """:func:`detect_ink` past the thresholds, labelling on an `s`-fold reduction.

    The same decisions in fewer full-size passes: the darkness (off `keep`
    set to 0) is max-reduced once, which gives both the reduced candidate
    mask (> lo) and the reduced seeds (> hi).
    """
    if keep is not None:
        if _fixed_mask(keep):
            dark = cv2.bitwise_and(dark, _keep_info(keep, 1)[0])
        else:
            dark = cv2.bitwise_and(dark, dark, mask=keep.view(np.uint8))
    _, weak = cv2.threshold(dark, lo, 1, cv2.THRESH_BINARY)  # 0/1, as `dark > lo`
    if not cv2.countNonZero(weak):
        ink = weak.view(bool)
        return (ink, ink.copy()) if core else ink
    H, W = weak.shape
    Hs, Ws = -(-H // s), -(-W // s)
    if (Hs * s, Ws * s) != (H, W):
        dark = cv2.copyMakeBorder(dark, 0, Hs * s - H, 0, Ws * s - W, cv2.BORDER_CONSTANT, value=0)
    dmax = _block_max(dark, s)
    good = _hysteresis(dmax > lo, dmax > hi, dpi, s, strong_in_weak=True)
    up = _block_up(good.view(np.uint8), s)
    if (Hs * s, Ws * s) != (H, W):
        up = up[:H, :W]
    ink = cv2.bitwise_and(weak, up)
    if not core:
        return ink.view(bool)
    return ink.view(bool), _core(ink, bg, gray, lo).view(bool)


def _core(ink: np.ndarray, bg: np.ndarray, gray: np.ndarray, lo: float) -> np.ndarray:
    """``ink & (raw >= peak / 2) & (raw > lo)`` (uint8, 0 or `ink`'s value),
    raw = `bg` - `gray`, peak = its 5x5 maximum.

    raw >= peak / 2 is raw >= peak - raw (uint8, no overflow); with raw > lo
    (``cv2.threshold``'s ``raw > floor(lo)``, i.e. raw >= floor(lo) + 1) it is
    one comparison with ``max(peak - raw, floor(lo) + 1)``: a full-size pass
    fewer than a threshold and a second AND.
    """
    raw = cv2.subtract(bg, gray)
    peak = cv2.dilate(raw, np.ones((5, 5), np.uint8))
    least = int(np.floor(lo)) + 1
    if least > 255:
        return np.zeros_like(ink)
    need = cv2.max(cv2.subtract(peak, raw), max(least, 0))
    return cv2.bitwise_and(ink, cv2.compare(raw, need, cv2.CMP_GE))


def _block_max(a: np.ndarray, s: int) -> np.ndarray:
    """Max over each `s` x `s` block of a uint8 array whose sides are multiples of `s`.

    For s = 2 (the labelling step used) two elementwise maxima do it: the
    row pairs side by side (a reshape, no copy), then the column pairs; a
    2x2 dilation and a strided slice cost twice as much.

    Examples
    --------
    >>> _block_max(np.arange(16, dtype=np.uint8).reshape(4, 4), 2)
    array([[ 5,  7],
           [13, 15]], dtype=uint8)
    """
    H, W = a.shape
    if s == 2:
        rows = cv2.max(*np.split(a.reshape(H // 2, 2 * W), 2, axis=1))
        pairs = rows.reshape(H // 2, W // 2, 2)
        return np.maximum(pairs[:, :, 0], pairs[:, :, 1])
    # The block's top-left pixel after a dilation anchored there.
    return np.ascontiguousarray(cv2.dilate(a, np.ones((s, s), np.uint8), anchor=(0, 0))[::s, ::s])


def _block_up(a: np.ndarray, s: int) -> np.ndarray:
    """Nearest-neighbour `s`-fold enlargement of a uint8 array.

    For s = 2, each value v becomes the two equal bytes of the 16-bit
    v * 257, which doubles the columns; the rows are doubled by a
    broadcast copy: several times faster than ``cv2.resize(..., INTER_NEAREST)``.

    Examples
    --------
    >>> _block_up(np.array([[1, 0]], np.uint8), 2)
    array([[1, 1, 0, 0],
           [1, 1, 0, 0]], dtype=uint8)
    """
    h, w = a.shape
    if s == 2:
        wide = a.astype(np.uint16)
        wide *= 257
        out = np.empty((h, 2, w), np.uint16)
        out[...] = wide[:, None, :]
        return out.reshape(2 * h, w).view(np.uint8)
    return cv2.resize(a, (w * s, h * s), interpolation=cv2.INTER_NEAREST)


_KEEP: dict[int, tuple] = {}


def _fixed_mask(keep) -> bool:
    """A mask that owns its pixels and is read-only (the cached layouts'): safe to key caches on."""
    return keep is not None and keep.base is None and not keep.flags.writeable


def _keep_info(keep: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """For a read-only (cached layout) `keep` mask: it as 0/255 uint8, and the
    flat indices of its pixels on a `step` grid (cached)."""
    hit = _KEEP.get(id(keep))
    if hit is None or hit[0] is not keep:
        if len(_KEEP) > 64:
            _KEEP.clear()
        hit = _KEEP[id(keep)] = (keep, np.where(keep, np.uint8(255), np.uint8(0)), {})
    by_step = hit[2]
    if step not in by_step:
        H, W = keep.shape
        ys, xs = np.mgrid[0:H:step, 0:W:step]
        sel = keep[::step, ::step]
        by_step[step] = (ys[sel] * W + xs[sel]).astype(np.intp)
    return hit[1], by_step[step]


def _hysteresis(weak: np.ndarray, strong: np.ndarray, dpi: float, scale: int, strong_in_weak: bool = False
                ) -> np.ndarray:
    """The 8-connected marks of `weak` that hold a `strong` pixel and span
    :data:`MIN_MARK_IN`, or span :data:`LONG_MARK_IN` (`weak` at `dpi` /
    `scale`; the extents are measured in pixels of `dpi`)."""
    n, lab, stats, _ = geo.components(weak.view(np.uint8))
    seeds = lab.ravel()[np.flatnonzero(strong if strong_in_weak else strong & weak)]
    good = np.zeros(n, bool)
    good[seeds] = True
    # On a reduced mask a mark of e pixels spans at least e * scale - (scale - 1)
    # of the original's: the lower bound, so specks stay specks.
    extent = np.maximum(stats[:, 2], stats[:, 3]) * scale - (scale - 1)
    # A faint stroke may hold no seed; noise above the low threshold comes in
    # blobs of a few pixels, never as a trace this long.
    good |= extent >= max(6.0, LONG_MARK_IN * dpi)
    good &= extent >= max(2.0, MIN_MARK_IN * dpi)
    good[0] = False
    return _lookup(good, lab)


def _lookup(table: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """``table[lab]`` for a bool `table`, as a bool array.

    Up to 256 labels, OpenCV's 8-bit table lookup is several times faster
    than numpy's gather.
    """
    if len(table) <= 256:
        lut = np.zeros(256, np.uint8)
        lut[:len(table)] = table
        return cv2.LUT(lab.astype(np.uint8), lut).view(bool)
    return np.take(table, lab)


def _percentile_u8(a: np.ndarray, q: float) -> float:
    """``np.percentile(a, q)`` (linear interpolation) of uint8 values, from a histogram."""
    a = np.ascontiguousarray(a).ravel()
    if a.dtype != np.uint8:
        return float(np.percentile(a, q))
    cdf = np.cumsum(np.bincount(a, minlength=256))
    pos = q / 100.0 * (a.size - 1)
    k = int(np.floor(pos))
    lo = int(np.searchsorted(cdf, k + 1))
    hi = int(np.searchsorted(cdf, min(k + 2, a.size)))
    return lo + (pos - k) * (hi - lo)


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


def _stack_keep(k: int, h: int, w: int, dpi: float, masks_in) -> np.ndarray:
    """(k, h, w) bool rule-free masks of `k` stacked cells (cached)."""
    key = ("stack", k, h, w, round(float(dpi), 3), tuple(masks_in))
    m = _MASKS.get(key)
    if m is None:
        one = _rule_free_mask((h, w), dpi, masks_in).astype(bool)
        m = _MASKS[key] = np.ascontiguousarray(np.broadcast_to(one, (k, h, w)))
        m.setflags(write=False)
    return m


def clean_cells(stack: np.ndarray, dpi: float, masks_in=(), shape: tuple[int, int] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Clean many same-sized cell crops at once (see :func:`clean_cell`).

    Parameters
    ----------
    stack : (k, H, W) uint8 array
        The crops, each in the top-left (h, w) of its slot; the rest of a
        slot (padding to a multiple of the detection step) is paper (255).
    dpi : float
    masks_in : sequence of (dx, dy, w, h)
        Label rectangles (inches, relative to the cell).
    shape : (h, w), optional
        The crops' size inside their slots; default the slot size.

    Returns
    -------
    clean : (k, H, W) uint8 array
    ink : (k, H // f, W // f) bool array
        The writing found, at the detection resolution (``f`` =
        ``round(dpi / DETECT_DPI)``, at least 1).
    """
    k, H, W = stack.shape
    h, w = shape or (H, W)
    f = max(1, int(round(dpi / DETECT_DPI)))
    if H % f or W % f:
        raise ValueError("The parameter `stack` must have slots a multiple of the detection step in size")
    hs, ws = H // f, W // f
    dd = dpi / f
    flat = stack.reshape(k * H, W)
    small = cv2.resize(flat, (ws, k * hs), interpolation=cv2.INTER_AREA) if f > 1 else flat
    keep = _stack_keep(k, hs, ws, dd, masks_in).copy()
    # Padding rows/columns of a slot are not part of the cell.
    keep[:, (h + f - 1) // f:, :] = False
    keep[:, :, (w + f - 1) // f:] = False
    bg = paper_background(small, dd)
    # A rule that registration put slightly inside the cell: a row (column)
    # near the border that is mostly dark is a rule, not writing.
    dark3 = cv2.subtract(bg, small).reshape(k, hs, ws) > max(2 * INK_SEED_CONTRAST, 40)
    hv, wv = max(1, h // f), max(1, w // f)
    band = min(int(round(0.09 * dd)), hv // 2, wv // 2)
    if band > 0:
        rows = np.zeros((k, hs), bool)
        cols = np.zeros((k, ws), bool)
        rows[:, :band] = dark3[:, :band, :wv].sum(2) > wv // 2
        rows[:, hv - band:hv] = dark3[:, hv - band:hv, :wv].sum(2) > wv // 2
        cols[:, :band] = dark3[:, :hv, :band].sum(1) > hv // 2
        cols[:, wv - band:wv] = dark3[:, :hv, wv - band:wv].sum(1) > hv // 2
        if rows.any() or cols.any():
            rows[:, 1:] |= rows[:, :-1].copy()
            rows[:, :-1] |= rows[:, 1:].copy()
            cols[:, 1:] |= cols[:, :-1].copy()
            cols[:, :-1] |= cols[:, 1:].copy()
            keep &= ~rows[:, :, None]
            keep &= ~cols[:, None, :]
    keep2 = keep.reshape(k * hs, ws)
    sel_ink, ink = detect_ink(small, dd, keep2, bg, core=True)
    # Back to the crops' resolution: the ink and a one-pixel rim (the
    # anti-aliased edge of each stroke), on paper made pure white; the ink
    # keeps its gray levels, divided by the local paper level.
    sel = sel_ink.view(np.uint8)
    if f > 1:
        sel = cv2.resize(sel, (W, k * H), interpolation=cv2.INTER_NEAREST)
        bg = cv2.resize(bg, (W, k * H), interpolation=cv2.INTER_LINEAR)
    sel = cv2.dilate(sel, np.ones((3, 3), np.uint8))
    norm = cv2.divide(flat, bg, scale=255.0)
    clean = np.full_like(flat, 255)
    np.copyto(clean, norm, where=sel.view(bool))
    return clean.reshape(k, H, W), ink.reshape(k, hs, ws)


def clean_cell(crop: np.ndarray, threshold: float | None = None, dpi: float = 150.0, masks_in=()
               ) -> tuple[np.ndarray, np.ndarray]:
    """Remove form rules, printed labels, specks and paper tone from a cell crop.

    Parameters
    ----------
    crop : (h, w) uint8 array
        A registered (deskewed) cell, rules on its border.
    threshold : float, optional
        Unused; kept for callers of the former global-threshold version (ink
        is now found by local contrast, see :func:`detect_ink`).
    dpi : float
        Resolution of `crop`.
    masks_in : sequence of (dx, dy, w, h)
        Label rectangles (inches, relative to the cell) to blank.

    Returns
    -------
    clean : (h, w) uint8 array
        The writing on pure paper (255), its gray levels kept: rules, labels,
        specks, stains and background noise removed.
    ink : (h, w) bool array
        The handwriting that remains.
    """
    h, w = crop.shape
    if h == 0 or w == 0:
        return crop.copy(), np.zeros(crop.shape, bool)
    f = max(1, int(round(dpi / DETECT_DPI)))
    H, W = -(-h // f) * f, -(-w // f) * f
    slot = np.full((1, H, W), 255, np.uint8)
    slot[0, :h, :w] = crop
    clean, ink = clean_cells(slot, dpi, masks_in, (h, w))
    if f > 1:
        ink = cv2.resize(ink[0].view(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST).view(bool)
    else:
        ink = ink[0]
    return clean[0, :h, :w].copy(), ink[:h, :w].copy()


@dataclass(frozen=True)
class _StateLayout:
    """Where the content cells of every line sit in the table resample."""

    shape: tuple[int, int]
    keep: np.ndarray  # (h, w) bool: inside a content cell, off rules and labels
    cells: dict[str, tuple[int, int, int, int]]  # per cell name, (x, y, w, h) within a line
    line_y: np.ndarray  # (count,) top row of each line
    rows: list[tuple[int, int, list[str]]]  # (y0, y1, cell names) of each row of a line
    #: Strips along the cells' edges, where a rule lands when registration is
    #: off by up to RULE_BAND_IN: (lines * cells * 2 * band) table rows with the
    #: cell's column range, and columns with the cell's row range; each with
    #: the number of `keep` pixels it holds.
    band_rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = ()
    band_cols: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = ()
    #: :func:`_band_tests` of band_rows and of band_cols.
    row_tests: tuple = ()
    col_tests: tuple = ()
    #: (Y0, Y1, X0, X1), each (lines, cells): every line's content cells as
    #: corners in the table's integral image (clipped to the table).
    count_boxes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = ()
    #: (rows, lines) first and end table row of each row of each line (clipped).
    row_lo: np.ndarray = None
    row_hi: np.ndarray = None
    #: Per row of a line: its cells' first and end columns (clipped) and widths.
    row_spans: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...] = ()


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
    band_rows, band_cols = _edge_strips(keep, cells, line_y, d)
    lay = _LAYOUTS[key] = _StateLayout((h, w), keep, cells, line_y, rows, band_rows, band_cols,
                                       _band_tests(band_rows), _band_tests(band_cols),
                                       *_count_layout(cells, line_y, rows, h, w))
    return lay


def _count_layout(cells: dict, line_y: np.ndarray, rows: list, H: int, W: int) -> tuple:
    """The layout-only index arrays :func:`_line_states` used to build per
    page: cell boxes for the ink counts, row bands and row cell spans."""
    cx = np.array([c[0] for c in cells.values()])
    cy = np.array([c[1] for c in cells.values()])
    cw = np.array([c[2] for c in cells.values()])
    ch = np.array([c[3] for c in cells.values()])
    Y0 = np.clip(line_y[:, None] + cy[None, :], 0, H)
    Y1 = np.clip(line_y[:, None] + cy[None, :] + ch[None, :], 0, H)
    X0 = np.broadcast_to(np.clip(cx, 0, W), Y0.shape).copy()
    X1 = np.broadcast_to(np.clip(cx + cw, 0, W), Y0.shape).copy()
    ly = np.asarray(line_y, np.int64)
    row_lo = np.array([[min(max(int(y) + y0, 0), H) for y in ly] for y0, _y1, _n in rows], np.intp).reshape(len(rows), len(ly))
    row_hi = np.array([[min(max(int(y) + y1, 0), H) for y in ly] for _y0, y1, _n in rows], np.intp).reshape(len(rows), len(ly))
    spans = tuple((np.array([min(max(cells[n][0], 0), W) for n in names]),
                   np.array([min(max(cells[n][0] + cells[n][2], 0), W) for n in names]),
                   np.array([cells[n][2] for n in names])) for _y0, _y1, names in rows)
    return (Y0, Y1, X0, X1), row_lo, row_hi, spans


def _box_sums(I: np.ndarray, boxes: tuple) -> np.ndarray:
    """Pixel counts of boxes (Y0, Y1, X0, X1 index arrays) from an integral image."""
    Y0, Y1, X0, X1 = boxes
    return I[Y1, X1] - I[Y0, X1] - I[Y1, X0] + I[Y0, X0]


def _strike_runs(ink: np.ndarray, lay: _StateLayout, written: np.ndarray) -> np.ndarray | None:
    """The columns long horizontal runs cross, per row of each written line.

    The ink is thickened vertically (7 rows) so a sloped, wobbly pen line
    keeps long horizontal runs; an opening (a row erosion, then a row
    dilation, over 0.3 in) keeps only runs longer than any letter stroke.
    Both are computed only over the table rows the written lines' row bands
    span (they act along rows, and the thickening reads 3 rows either side),
    which is all that is read of them, on rows packed 64 pixels a word
    (:func:`.fit._pack`): bit for bit ``cv2.dilate`` with a (7, 1)
    kernel and ``cv2.erode`` / ``cv2.dilate`` with a (1, 30) one, on an
    eighth of the bytes.

    Returns (rows, lines, W) uint8: row r of line i holds the maximum of the
    opened mask over that row band (0 for lines not in `written`); None
    when no run survives the opening in those rows (no line is struck).
    """
    H, W = ink.shape
    A, B = lay.row_lo[:, written], lay.row_hi[:, written]
    valid = B > A
    if not valid.any():
        return None
    top, bot = int(A[valid].min()), int(B[valid].max())
    e0, e1 = max(0, top - 3), min(H, bot + 3)
    zero = np.uint64(0)
    thick = _row_bits_window(_pack(ink[e0:e1].view(np.uint8)), 7, np.bitwise_or, zero)[top - e0: bot - e0]
    run = int(0.3 * STATE_DPI)
    # The opening in two steps: with no long stroke nothing survives the
    # erosion and the dilation is skipped.
    runs = _image_bits(_bit_window(thick, W, run, np.bitwise_and, _ALL_BITS), W)
    if not runs.any():
        return None
    runs = _image_bits(_bit_window(runs, W, run, np.bitwise_or, zero), W)
    # Each (row, written line): the OR of its row band's packed rows (one
    # reduceat over [a, b) pairs; a zero row appended so every b indexes).
    rr, ii = np.nonzero(valid)
    ab = np.empty(2 * len(rr), np.intp)
    ab[0::2] = A[valid] - top
    ab[1::2] = B[valid] - top
    padded = np.zeros((runs.shape[0] + 1, runs.shape[1]), np.uint64)
    padded[:-1] = runs
    bands = np.bitwise_or.reduceat(padded, ab, axis=0)[0::2]
    hit = np.zeros((len(lay.rows), len(lay.line_y), W), np.uint8)
    hit[rr, written[ii]] = _unpack(bands, W)
    return hit


def _image_bits(x: np.ndarray, w: int) -> np.ndarray:
    """Packed rows (:func:`.fit._pack`) of width `w` with the pad words and
    the bits past `w` cleared, in place (a window's result holds garbage there)."""
    nw = x.shape[1] - 2
    x[:, 0] = 0
    x[:, -1] = 0
    r = w - 64 * (nw - 1)
    if r < 64:
        x[:, nw] &= np.uint64((1 << r) - 1)
    return x


def _edge_strips(keep: np.ndarray, cells: dict, line_y: np.ndarray, d: float) -> tuple[tuple, tuple]:
    """Rows and columns of the table resample along every content cell's
    edges (see :attr:`_StateLayout.band_rows`)."""
    h, w = keep.shape
    Ik = cv2.integral(keep.view(np.uint8), sdepth=cv2.CV_32S)
    out = []
    for horizontal in (True, False):
        pos, lo, hi = [], [], []
        for ly in line_y.tolist():
            for cx0, cy0, cw, ch in cells.values():
                a0, n, b0, m = (ly + cy0, ch, cx0, cw) if horizontal else (cx0, cw, ly + cy0, ch)
                band = min(int(round(RULE_BAND_IN * d)), n // 2)
                for v in list(range(a0, a0 + band)) + list(range(a0 + n - band, a0 + n)):
                    pos.append(v)
                    lo.append(b0)
                    hi.append(b0 + m)
        lim_a, lim_b = (h, w) if horizontal else (w, h)
        pos = np.clip(np.array(pos, np.intp), 0, lim_a - 1)
        lo = np.clip(np.array(lo, np.intp), 0, lim_b)
        hi = np.clip(np.array(hi, np.intp), 0, lim_b)
        out.append((pos, lo, hi, _strip_sums(Ik, pos, lo, hi, horizontal)))
    return out[0], out[1]


def _strip_sums(I: np.ndarray, pos: np.ndarray, lo: np.ndarray, hi: np.ndarray, horizontal: bool) -> np.ndarray:
    """Pixel counts of one-pixel strips from an integral image: rows `pos`
    over columns lo:hi (`horizontal`), or columns `pos` over rows lo:hi."""
    return _box_sums(I, (pos, pos + 1, lo, hi) if horizontal else (lo, hi, pos, pos + 1))


def _band_tests(strips: tuple) -> tuple:
    """The layout-only parts of :func:`_drop_edge_rules`' test of one set of
    edge strips (``band_rows`` or ``band_cols``): which entries neighbour the
    next one, which strips hold enough `keep` pixels to judge, the ink counts
    each test needs, and each strip's table row rank."""
    pos, lo, hi, kn = strips
    # Neighbouring entries of the same band are neighbouring rows (columns).
    same = (pos[1:] == pos[:-1] + 1) & (lo[1:] == lo[:-1])
    judged = kn > 0.3 * (hi - lo)
    _, row = np.unique(pos, return_inverse=True)
    return same, judged, same & judged[:-1], 0.6 * kn, 0.7 * np.maximum(kn[:-1], kn[1:]), 0.3 * kn, row


def _drop_edge_rules(ink: np.ndarray, lay: _StateLayout, I: np.ndarray | None = None) -> bool:
    """Clear, in place, rules that registration left inside the cells' edges.

    A registration off by more than RULE_TOL_IN puts a stretch of the cell's
    rule inside the counted area, and a blank line reads as written. Along
    each edge of each cell (RULE_BAND_IN deep), a row (column) whose counted
    pixels are mostly ink, alone or with its neighbour (a rule turned a
    fraction of a degree spreads over two), is a rule: handwriting does not
    fill a cell's edge from end to end. `I` is `ink`'s integral image, if
    already known. Returns whether any was cleared.
    """
    hit = False
    for horizontal, (pos, lo, hi, _kn), tests in ((True, lay.band_rows, lay.row_tests),
                                                   (False, lay.band_cols, lay.col_tests)):
        if not len(pos):
            continue
        if I is None:
            I = cv2.integral(ink.view(np.uint8), sdepth=cv2.CV_32S)
        c = _strip_sums(I, pos, lo, hi, horizontal)
        same, judged, two_ok, need_one, need_two, need_ink, row = tests
        # A strip mostly ink (of the ones that can be judged), or two
        # neighbouring strips together.
        rule = judged & (c > need_one)
        two = two_ok & (c[:-1] + c[1:] > need_two)
        rule[:-1] |= two
        rule[1:] |= two
        if horizontal and rule.any():
            rule &= _across_the_row(c, same, judged, need_ink, row)
        if not rule.any():
            continue
        hit = True
        for v, a, b in zip(pos[rule].tolist(), lo[rule].tolist(), hi[rule].tolist()):
            # The rule and its soft edge, one pixel either side.
            if horizontal:
                ink[max(0, v - 1): v + 2, a:b] = False
            else:
                ink[a:b, max(0, v - 1): v + 2] = False
    return hit


def _across_the_row(c: np.ndarray, same: np.ndarray, judged: np.ndarray, need_ink: np.ndarray,
                    row: np.ndarray) -> np.ndarray:
    """Which horizontal edge strips hold ink in every cell the table row crosses.

    A rule runs the width of the table, so where registration leaves one in
    the edge band of a cell it lies in the same band of each cell beside it.
    A strike-through that happens to run along one cell's edge (level there,
    then rising through the next cell) does not, and is kept. A cell whose
    strip is mostly label or mask (no `keep` pixels to judge by) does not
    count against it; nor does a rule spread over the neighbouring row.
    `c`: each strip's ink count; `same`, `judged`, `need_ink` and `row` (the
    strip's table row rank) as :func:`_band_tests` gives them.
    """
    inked = c > need_ink
    near = inked.copy()
    near[:-1] |= same & inked[1:]
    near[1:] |= same & inked[:-1]
    ok = near | ~judged
    # Every strip at the same table row must be ok.
    return np.bincount(row, weights=~ok)[row] == 0


def _row_window(a: np.ndarray, k: int, op, outside: int) -> np.ndarray:
    """`op` (``cv2.min`` or ``cv2.max``) over a window of `k` pixels along each row.

    Exactly ``cv2.erode`` (``cv2.min``, `outside` 255) or ``cv2.dilate``
    (``cv2.max``, `outside` 0) with a (1, k) kernel and its default anchor:
    output column j covers input columns j - k // 2 ... j - k // 2 + k - 1,
    pixels past the edges counting as `outside`. OpenCV's row filter costs
    k operations a pixel; doubling the window (1, 2, 4, ... pixels, then two
    overlapping windows for the rest) costs about log2(k): under half the
    time for the 30-pixel window of the strike test.

    Examples
    --------
    >>> a = np.array([[0, 1, 1, 1, 0, 1, 1]], np.uint8)
    >>> bool((_row_window(a, 3, cv2.min, 255) == cv2.erode(a, np.ones((1, 3), np.uint8))).all())
    True
    """
    H, W = a.shape
    pad = np.full((H, W + k - 1), outside, np.uint8)
    pad[:, k // 2: k // 2 + W] = a
    # cur[:, j] is op over pad[:, j: j + span]
    cur, span = pad, 1
    while 2 * span <= k:
        n = cur.shape[1] - span
        cur = op(cur[:, :n], cur[:, span: span + n])
        span *= 2
    if span < k:
        n = cur.shape[1] - (k - span)
        cur = op(cur[:, :n], cur[:, k - span: k - span + n])
    return np.ascontiguousarray(cur[:, :W])


def _line_states(table: np.ndarray, lay: _StateLayout) -> tuple[list[tuple[str, dict, float]], np.ndarray, np.ndarray]:
    """Decide blank / signed / struck for every line from one table resample.

    `table` covers all lines at STATE_DPI; rules and labels are masked at
    their template positions, so only writing counts, found by contrast with
    the local paper (:func:`detect_ink`) so light ink counts as much as dark.
    Strike: a long, nearly horizontal stroke across most of a row. The ink is
    thickened vertically so a sloped, wobbly pen line keeps long horizontal
    runs; an opening then keeps only runs longer than any letter stroke.
    """
    d = STATE_DPI
    _bg = paper_background(table, d)
    _shown, ink = detect_ink(table, d, lay.keep, _bg, core=True, label_step=2)
    I = cv2.integral(ink.view(np.uint8), sdepth=cv2.CV_32S)
    if _drop_edge_rules(ink, lay, I):
        _drop_edge_rules(_shown, lay)
        I = cv2.integral(ink.view(np.uint8), sdepth=cv2.CV_32S)
    # Kept for the crops: what to show of each cell.
    shown, paper = _shown, _bg
    px_in2 = 1.0 / (d * d)
    # Ink per cell of every line from one integral image (a box sum each);
    # a neighbour's stroke reaching across the rule between two lines counts
    # for the neighbour only.
    H, W = ink.shape
    names = list(lay.cells)
    spill = _spilled_strokes(ink, lay)
    if spill is not None:
        I = cv2.integral(cv2.bitwise_and(ink.view(np.uint8), cv2.bitwise_not(spill)) & 1, sdepth=cv2.CV_32S)
    counts = _box_sums(I, lay.count_boxes) * px_in2  # (lines, cells)
    totals = counts.sum(1)
    n_lines = len(lay.line_y)
    cover = np.zeros(n_lines)
    blank = totals < MIN_WRITING_IN2
    written = np.flatnonzero(~blank)
    hit = _strike_runs(ink, lay, written) if len(written) else None
    # Strike cover of every row of every line at once: the columns a long run
    # crosses, summed per cell through a cumulative sum along each row band.
    for r, (_y0, _y1, row_names) in enumerate(lay.rows if hit is not None else ()):
        colhit = hit[r]  # (lines, W): columns a run crosses
        csum = np.zeros((n_lines, W + 1), np.int32)
        np.cumsum(colhit > 0, axis=1, out=csum[:, 1:])
        a_, b_, w_ = lay.row_spans[r]
        hc = csum[:, b_] - csum[:, a_]  # (lines, cells of the row)
        cells_hit = (hc > 0.5 * w_).sum(1)
        row_cover = hc.sum(1) / max(1, int(w_.sum()))
        ok = cells_hit >= min(2, len(row_names))
        cover = np.maximum(cover, np.where(ok, row_cover, 0.0))
    if hit is not None and len(lay.rows) > 1:
        # A line drawn corner to corner through a block of several rows (the
        # California two-row form) crosses each row for only part of its
        # length: count the columns a run crosses in any row of the block,
        # over the block's width, when at least two rows hold a good part of
        # it (one long flourish in one row is not a strike).
        x_lo = min(int(a.min()) for a, _b, _w in lay.row_spans)
        x_hi = max(int(b.max()) for _a, b, _w in lay.row_spans)
        span = max(1, x_hi - x_lo)
        per_row = (hit[:, :, x_lo:x_hi] > 0).sum(2) / span  # (rows, lines)
        block = (hit[:, :, x_lo:x_hi].max(0) > 0).sum(1) / span  # (lines,)
        ok = (per_row >= DIAGONAL_ROW_SHARE).sum(0) >= 2
        cover = np.maximum(cover, np.where(ok, block, 0.0))
    if len(lay.rows) > 1 and len(written):
        # A strike drawn along the rule between a block's rows: the rule's
        # own mask hides it from the ink above; it shows as a thickening of
        # the rule along most of the block's width.
        cover = np.maximum(cover, _divider_strikes(table, _bg, lay, written))
    cover[blank] = 0.0
    out = []
    for li in range(n_lines):
        cell_ink = {n: float(counts[li, k]) for k, n in enumerate(names)}
        state = "blank" if blank[li] else ("struck" if cover[li] >= 0.5 else "signed")
        out.append((state, cell_ink, float(cover[li])))
    return out, shown, paper


#: How far from a rule between lines (inches) the two pieces of a stroke cut
#: by it may end: the rule's masked strip and a little more.
SPILL_REACH_IN = 0.18
#: ... and the spilled piece lies within this of the rule (a loop's tip).
SPILL_TIP_IN = 0.3
#: Half-height (inches) of the band around a rule between a block's rows
#: searched for a strike drawn along it.
DIVIDER_BAND_IN = 0.09
#: Share of a cell a strike along that rule crosses to count as crossing
#: most of it (see :func:`_divider_strikes`).
DIVIDER_MOST = 0.7
#: ... and share of each of three cells of the two rows beside it.
DIVIDER_THREE = 0.55


def _divider_strikes(table: np.ndarray, bg: np.ndarray, lay: _StateLayout, written: np.ndarray) -> np.ndarray:
    """Strike cover (lines,) of strokes drawn along the rules between a block's rows.

    In a band around each such rule, every column's ink (pixels darker than
    the paper by 40 % of the rule's own contrast) is compared with the same
    column's on the other lines (the printed rule alone, as most lines are
    not struck there): a pen line along the rule adds its own thickness,
    whether it runs just above, just below or partly on the rule. The
    share of the block's width so thickened (gaps of a few pixels bridged)
    is the cover, counted only when it crosses the cells beside the rule as
    a strike through a row does (more than half of two cells of each row,
    or of a row's only cell; or a good part of three cells of the two rows;
    or most of two cells of one row) - except on a page struck along the
    rule on most lines, whose median line holds a strike too: a long flat
    flourish under a signature runs along the rule too, but through the
    signature's cell and a little of the next only.
    """
    d = STATE_DPI
    H, W = table.shape
    n_lines = len(lay.line_y)
    out = np.zeros(n_lines)
    x_lo = max(0, min(int(a.min()) for a, _b, _w in lay.row_spans))
    x_hi = min(W, max(int(b.max()) for _a, b, _w in lay.row_spans))
    if x_hi - x_lo < 10:
        return out
    band = int(round(DIVIDER_BAND_IN * d))
    dark = cv2.subtract(bg, table)
    # Printed labels next to the rule do not count (off `keep` outside the rule's own strip).
    strip = int(round(RULE_TOL_IN * d)) + 1
    near_rule = (np.abs(np.arange(-band, band + 1)) <= strip)[:, None]
    is_written = np.zeros(n_lines, bool)
    is_written[written] = True
    for r, ((_y0, y1, _n), (y0n, _y1n, _nn)) in enumerate(zip(lay.rows[:-1], lay.rows[1:])):
        if abs(y1 - y0n) > 1:
            continue  # no shared rule between these rows
        # Every line's band around the rule at once: (lines, rows, columns).
        bh = 2 * band + 1
        starts = lay.line_y + (y0n - band)
        valid = (starts >= 0) & (starts + bh <= H)
        if valid.sum() < 2:
            continue
        rows_idx = np.clip(starts[:, None] + np.arange(bh)[None, :], 0, H - 1)
        D = dark[rows_idx, x_lo:x_hi]  # (lines, bh, w); invalid lines are not read below
        contrast = np.median(D[valid][:, near_rule[:, 0], :].max(1), axis=1)
        thr = max(20.0, 0.4 * float(_median_lines(contrast[:, None])[0]))
        ok = lay.keep[rows_idx, x_lo:x_hi] | near_rule[None]
        masks = ((D > thr) & ok).view(np.uint8)
        masks[~valid] = 0
        # The printed rule: the pixels most lines have inked (and a pixel above and below).
        rule0 = (2 * masks[valid].sum(0, dtype=np.int32) >= int(valid.sum())).astype(np.uint8)
        rule = cv2.dilate(rule0, np.ones((3, 1), np.uint8))
        # Where a pen line lies on the rule it only thickens it: per column,
        # ink within 3 pixels of the rule beyond the rule's own (the median line's).
        zone = cv2.dilate(rule0, np.ones((7, 1), np.uint8)).astype(bool)
        zone_u8 = zone.view(np.uint8)[None]
        thick = (masks * zone_u8).sum(1, dtype=np.int32).astype(np.float32)  # (lines, columns)
        on_rule = thick - _median_lines(thick[valid])[None, :] >= 2
        # ... or darkens it: a pen line wider than the rule right on top of it.
        # (Integer sums, exact, as float32 as before.)
        mass = (D * zone_u8).sum(1, dtype=np.int32).astype(np.float32)
        mass[~valid] = 0.0
        base_mass = _median_lines(mass[valid])[None, :]
        on_rule |= mass >= 1.35 * np.maximum(base_mass, 1.0)
        masks &= (1 - rule)[None]
        # What is left of a pen line along the rule: long level runs beside it
        # (a run hidden in the rule for a few hundredths of an inch is bridged).
        g = max(1, int(round(0.05 * d)))
        run = int(0.3 * d)
        share = np.zeros(n_lines)
        sel = np.flatnonzero(valid & is_written)
        if len(sel):
            # The lines' bands stacked, a paper row between them, in one pass
            # each (the vertical dilation sees no neighbour across that row;
            # the others act along rows only).
            wb = x_hi - x_lo
            stack = np.zeros((len(sel), bh + 1, wb), np.uint8)
            stack[:, :bh] = masks[sel]
            m = cv2.dilate(stack.reshape(-1, wb), np.ones((3, 1), np.uint8))
            m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((1, g), np.uint8))
            m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
            # Beside the rule (long runs) or on it (thickened), column by column.
            cols = (m.reshape(len(sel), bh + 1, wb)[:, :bh].any(1) | on_rule[sel]).astype(np.uint8)
            cols = cv2.morphologyEx(cols, cv2.MORPH_CLOSE, np.ones((1, g), np.uint8))
            cols = cv2.morphologyEx(cols, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
            share[sel] = cols.sum(1) / float(wb)
            # A strike along the rule runs through the cells on both sides of
            # it, as one through a row does: two cells of each row (or its
            # only one) more than half crossed, or, where the pen drifts off
            # the rule at one end, most (DIVIDER_MOST) of two cells of one
            # row. A long flat flourish under a signature crosses its own
            # cell and only a little of the next.
            csum = np.zeros((len(sel), wb + 1), np.int32)
            np.cumsum(cols, axis=1, out=csum[:, 1:])
            half = np.ones(len(sel), bool)
            most = np.zeros(len(sel), bool)
            n_half = np.zeros(len(sel), np.intp)
            n_cells = 0
            for a_, b_, w_ in (lay.row_spans[r], lay.row_spans[r + 1]):
                aa, bb = np.clip(a_ - x_lo, 0, wb), np.clip(b_ - x_lo, 0, wb)
                crossed = (csum[:, bb] - csum[:, aa]) / w_
                need = min(2, len(w_))
                n_half += (crossed > DIVIDER_THREE).sum(1)
                n_cells += len(w_)
                half &= (crossed > 0.5).sum(1) >= need
                most |= (crossed > DIVIDER_MOST).sum(1) >= need
            # ... or, a stretch of it hidden, a good part (DIVIDER_THREE) of
            # three cells of the two rows together.
            half |= n_half >= min(3, n_cells)
            # When most lines are struck along the rule, the median line that
            # stands for the printed rule holds strikes too and what is left
            # of each is patchy: the cells are not asked for then.
            if 2 * int((share[sel] >= 0.5).sum()) <= len(sel):
                share[sel] = np.where(half | most, share[sel], 0.0)
        out = np.maximum(out, np.where(is_written, share, 0.0))
    return out


def _median_lines(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=0)`` of a few lines' (rows') values per column, the same
    values and dtype: sorted along each column after a transpose (the short
    axis contiguous), the middle one, or the mean of the middle two."""
    s = np.sort(np.ascontiguousarray(a.T), axis=1)
    k = s.shape[1]
    mid = s[:, k // 2: k // 2 + 1] if k % 2 else s[:, k // 2 - 1: k // 2 + 1]
    return mid.mean(axis=1)


def _spilled_strokes(ink: np.ndarray, lay: _StateLayout) -> np.ndarray | None:
    """Ink (uint8 0/255) that belongs to the neighbouring line: strokes cut by a rule between lines.

    The rule's strip is masked, so a signature whose loop reaches across the
    rule into the next line (or the line above) leaves a piece there, with
    the rest of the stroke right across the strip. Of two such pieces facing
    each other across the rule between two lines, the one on the side with
    clearly less writing (half or less, a line deep) is the spill-over and
    does not count for its line. None when there is none.
    """
    H, W = ink.shape
    # A thin loop may lose a few pixels of its legs on either side of the
    # rule's masked strip: pieces ending within SPILL_REACH_IN of the rule.
    reach = int(round(SPILL_REACH_IN * STATE_DPI))
    tip = int(round(SPILL_TIP_IN * STATE_DPI))
    # Only where ink comes up to the rule from both sides, column for column,
    # is there anything to decide (most pages: nowhere).
    u8 = ink.view(np.uint8)
    ybs = lay.line_y[1:]
    ybs = ybs[(ybs - reach >= 0) & (ybs + reach <= H)]
    if not len(ybs):
        return None
    # Every rule's strips at once: each column's ink a strip deep above (widened
    # by 4 pixels each way) and below the rule, one row a rule.
    strips = u8[ybs[:, None] + np.arange(-reach, reach)[None, :]]  # (rules, 2 * reach, W)
    above = cv2.dilate(np.ascontiguousarray(strips[:, :reach].max(1)), np.ones((1, 9), np.uint8))
    below = strips[:, reach:].max(1)
    near = ybs[(above & below).any(1)].tolist()
    if not near:
        return None
    out: np.ndarray | None = None  # made when a spill is found (most pages: none)
    # The line pitch in pixels: the median step between lines (np.median's, for a handful of ints).
    steps = sorted(np.diff(lay.line_y).tolist())
    k = len(steps)
    L = (int(steps[k // 2] if k % 2 else (steps[k // 2 - 1] + steps[k // 2]) / 2) if k else reach * 4)
    for yb in near:
        # The strokes near this rule, labelled in a band a line deep either side.
        y0 = max(0, yb - L)
        band = u8[y0: min(H, yb + L)]
        yr = yb - y0
        if 0 < yr < band.shape[0] and not (cv2.countNonZero(band[yr - 1]) and cv2.countNonZero(band[yr])):
            # No stroke crosses the rule's row (none holds both row yr - 1 and
            # row yr): the writing above and below is the ink on either side.
            # Writing on both sides alike leaves nothing to decide, unlabelled.
            a_, b_ = float(cv2.countNonZero(band[:yr])), float(cv2.countNonZero(band[yr:]))
            if not (b_ <= 0.5 * a_ or a_ <= 0.5 * b_):
                continue
        n, lab, stats, _ = cv2.connectedComponentsWithStats(band, connectivity=8)
        if n <= 2:
            continue
        top, left = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_LEFT]
        bottom = top + stats[:, cv2.CC_STAT_HEIGHT]
        right = left + stats[:, cv2.CC_STAT_WIDTH]
        area = stats[:, cv2.CC_STAT_AREA]
        spill = np.zeros(n, bool)
        real = np.arange(n) > 0
        side_a = float(area[real & (bottom <= yr)].sum())
        side_b = float(area[real & (top >= yr)].sum())
        if not (side_b <= 0.5 * side_a or side_a <= 0.5 * side_b):
            continue  # writing on both sides alike: nothing to take from either
        above = np.flatnonzero((bottom > yr - reach) & (bottom <= yr) & real)
        below = np.flatnonzero((top >= yr) & (top < yr + reach))
        # Only a piece on the side with less writing, near the rule, can be the spill.
        if side_b <= 0.5 * side_a:
            below = below[bottom[below] <= yr + tip]
        else:
            above = above[top[above] >= yr - tip]
        for a in above.tolist():
            for b in below.tolist():
                if right[a] + 3 < left[b] or right[b] + 3 < left[a]:
                    continue
                # The facing ends must meet across the strip, column for column.
                ca = lab[max(0, bottom[a] - 2): bottom[a], left[a]: right[a]] == a
                cb = lab[top[b]: top[b] + 2, left[b]: right[b]] == b
                xa = np.flatnonzero(ca.any(0)) + left[a]
                xb = np.flatnonzero(cb.any(0)) + left[b]
                if not len(xa) or not len(xb) or np.abs(xa[:, None] - xb[None, :]).min() > 6:
                    continue
                # The spill is the piece on the side with clearly less writing
                # (the tip of a neighbour's loop in a blank line).
                # It lies entirely near the rule: a loop's tip, never a name.
                if side_b <= 0.5 * side_a and bottom[b] <= yr + tip:
                    spill[b] = True
                elif side_a <= 0.5 * side_b and top[a] >= yr - tip:
                    spill[a] = True
        if spill.any():
            if out is None:
                out = np.zeros((H, W), np.uint8)
            sub = out[y0: y0 + band.shape[0]]
            np.maximum(sub, _lookup(spill, lab).view(np.uint8) * np.uint8(255), out=sub)
    return out


def _masked_copy(src: np.ndarray, mask: np.ndarray, dst: np.ndarray) -> None:
    """``np.copyto(dst, src, where=mask)`` through OpenCV (~10x faster), in place."""
    r = cv2.copyTo(src, mask.view(np.uint8), dst)
    if r is not dst:  # the binding wrote to a copy (it returns `dst` itself when it wrote in place)
        dst[...] = r


def _cut_cells(image, M, t: FormTemplate, name: str, cd: float, table_box, shown: np.ndarray,
               paper: np.ndarray) -> np.ndarray:
    """Crops of cell `name` on every line, cleaned with the table's ink.

    `shown` is the table's ink selection at :data:`STATE_DPI`; each crop
    shows the scan's pixels where that selection (taken to `cd` dpi by
    nearest neighbour) holds ink, divided by the line's paper level
    (`paper`), and pure paper (255) elsewhere. Only the bounding box of a
    crop's ink is resampled out of the scan: a blank cell costs nothing and a
    signature rarely fills its box.

    Returns the (lines, h, w) crops, read-only, and each line's writing box
    (lines, 4: y0, y1, x0, x1; empty when y0 == y1) outside which a crop is
    pure paper.
    """
    n_lines = t.line_count
    A1, (w, h) = _crop_transform(M, t.cell_box(1, name), cd)
    out = np.full((n_lines, h, w), 255, np.uint8)
    Ht, Wt = shown.shape
    # The former full-table nearest resize to `cd`, evaluated only where needed:
    # up-sampled pixel u reads table pixel floor(u * Wt / Wup).
    Wup, Hup = int(round(Wt * cd / STATE_DPI)), int(round(Ht * cd / STATE_DPI))
    fx, fy = Wt / max(1, Wup), Ht / max(1, Hup)
    tx, ty = table_box[0], table_box[1]
    x0 = int(round((t.cells[name].x - tx) * cd))
    # Cells lie inside the table box; pixels past its rounded edge read the
    # last row/column (nearest resize semantics) and past Wup/Hup are paper.
    X = x0 + np.arange(w)
    xok = (X >= 0) & (X < Wup)
    cols = np.minimum((np.maximum(X, 0) * fx).astype(np.intp), Wt - 1)
    c_lo, c_hi = int(cols.min()), int(cols.max()) + 1
    y0s = np.array([int(round((t.line_top + i * t.line_pitch + t.cells[name].y - ty) * cd))
                    for i in range(n_lines)])
    Y = y0s[:, None] + np.arange(h)[None, :]
    yok = (Y >= 0) & (Y < Hup)
    R = np.minimum((np.maximum(Y, 0) * fy).astype(np.intp), Ht - 1)
    strip = shown[:, c_lo:c_hi]
    cols_rel = cols - c_lo
    # Crop rows that hold ink, from the table's rows (lines, h). (A row sum
    # in OpenCV is any() at half numpy's cost; its REDUCE_MAX is far slower.)
    rmask = (cv2.reduce(strip.view(np.uint8), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S)[:, 0] > 0)[R] & yok
    # Crop columns that hold ink (lines, w): the table rows of each line.
    if fy <= 1.0:  # every table row between a line's first and last is one of its rows
        tcols = np.zeros((n_lines, c_hi - c_lo), bool)
        for i in np.flatnonzero(rmask.any(1)).tolist():
            r = R[i][yok[i]]
            tcols[i] = strip[r[0]: r[-1] + 1].any(0)
        cmask = tcols[:, cols_rel]
    else:
        rows = strip[R] & yok[:, :, None]
        cmask = rows.any(1)[:, cols_rel]
    if not xok.all():
        cmask &= xok
    has = rmask.any(1) & cmask.any(1)
    # First and last ink row / column of every line.
    ry0 = rmask.argmax(1)
    ry1 = h - rmask[:, ::-1].argmax(1)
    rx0 = cmask.argmax(1)
    rx1 = w - cmask[:, ::-1].argmax(1)
    dy_line = t.line_pitch * cd
    scale = np.where(paper > 0, 255.0 / np.maximum(paper, 1e-6), 1.0).tolist()
    boxes = np.zeros((n_lines, 4), np.int32)
    lines = np.flatnonzero(has)
    boxes[lines] = np.column_stack([ry0[lines], ry1[lines], rx0[lines], rx1[lines]])
    # Crop pixel (cx0, cy0) of line i is the first line's crop transform
    # moved right cx0 and down cy0 + i pitches (template inches are exact;
    # M may be projective): all lines' transforms at once.
    S = np.zeros((len(lines), 3, 3))
    S[:, 0, 0] = S[:, 1, 1] = S[:, 2, 2] = 1.0
    S[:, 0, 2] = rx0[lines]
    S[:, 1, 2] = ry0[lines] + lines * dy_line
    A_all = A1 @ S
    x_all = xok.all()
    for k, (i, (cy0, cy1, cx0, cx1)) in enumerate(zip(lines.tolist(), boxes[lines].tolist())):
        # The table's rows of the box, its columns picked first (half as many
        # rows as the crop's), then each crop row's table row.
        r = R[i, cy0:cy1]
        r0 = int(r[0])
        sel = np.take(np.take(strip[r0: int(r[-1]) + 1], cols_rel[cx0:cx1], axis=1), r - r0, axis=0)
        if not x_all:
            sel &= xok[None, cx0:cx1]
        raw = _warp_A(image, A_all[k], (cx1 - cx0, cy1 - cy0))
        if paper[i] > 0:
            cv2.convertScaleAbs(raw, dst=raw, alpha=scale[i])
        _masked_copy(raw, sel, out[i, cy0:cy1, cx0:cx1])
    out.setflags(write=False)
    return out, boxes


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
    rescued = None
    try:
        reg = _register(image, work, templates, dpi_in)
    except ImageInputError:
        # No table outline: a phone photo on a desk may still be registered
        # from the sheet's edge and the rules (pages refused otherwise only).
        rescued = _desk_fits(work, dpi_in, templates, template is None)
        if rescued is None:
            raise
        reg = rescued[0]
    t, M = reg.template, reg.M
    if reg.method == "table":
        M = _refine_by_rules(work, M, t, dpi_in)
    try:
        fit, fit_gray = _check_layout(work, M, t, dpi_in, template is None) if rescued is None else rescued[1]
    except ImageInputError:
        # Second chances for a page that would be refused (the other pages pay
        # nothing); each is checked both ways like the first, so a page of
        # another layout is refused all the same.
        bold = _bold_level(image, work, dpi_in)
        alt: tuple[np.ndarray, LayoutFit, np.ndarray] | None = None
        if bold is not None:
            # A 1-bit scan of a form with hairline rules keeps a hairline as
            # dashes that the ~100 dpi halving turns light gray.
            got = _check_bold(work, bold, M, t, dpi_in, template is None)
            if got is not None:
                alt = (M, got[0], got[1])
        if alt is None:
            # A photo's keystone fitted from faint outer rules can tilt the
            # map by a few pixels across the table, enough to lose hairlines:
            # snapped to the rules quarter by quarter, the map bends to them.
            Mq = M
            for _ in range(2):
                Mq = _refine_by_quarters(work, Mq, t, dpi_in)
                got = _second_chance(work, Mq, t, dpi_in, template is None)
                if got is not None:
                    alt = (Mq, got[0], got[1])
                    break
        if alt is None and reg.method == "table":
            # One corner of the table outline may be wrong (a hairline outer rule
            # a 1-bit scan broke up, with a strike or a signature's long stroke
            # beside it): the other three fix a flatbed scan's map.
            alt = _three_corner_fits(work, reg, dpi_in, template is None, bold)
        if alt is None:
            # A phone photo on a desk: from the sheet's edge and all the rules.
            desk = _desk_fits(work, dpi_in, [t], template is None, dataclasses.replace(reg, M=M))
            if desk is not None:
                reg = desk[0]
                alt = (reg.M, *desk[1])
        if alt is None:
            raise
        M, fit, fit_gray = alt
    center = (t.page_size[0] / 2, t.page_size[1] / 2)
    J = geo.jacobian(M, center)
    d = float(np.sqrt(abs(np.linalg.det(J))))
    ang = np.degrees(np.arctan2(J[1, 0], J[0, 0])) - reg.rotation
    skew = float((ang + 180.0) % 360.0 - 180.0)
    to_original = M @ np.diag([1.0 / d, 1.0 / d, 1.0])

    x0 = min(c.x for c in t.cells.values())
    x1 = max(c.x + c.w for c in t.cells.values())
    y_ext = max(c.y + c.h for c in t.cells.values())
    y0 = t.line_top
    table_box = (x0, y0, x1 - x0, (t.line_count - 1) * t.line_pitch + y_ext)
    # The lines' table lies inside the resample the fit was judged on (on
    # whole pixels for templates measured in hundredths of an inch).
    same_level = work.level_for(d, STATE_DPI)[1] is work.level_for(dpi_in, STATE_DPI)[1]
    table = _inside(fit_gray, t, table_box) if same_level else None
    if table is None:
        table = _warp_level(work, M, table_box, d)
    else:
        table = np.ascontiguousarray(table)
    lay = _state_layout(t, x0, y0, (table.shape[1], table.shape[0]))
    states, shown, paper_t = _line_states(table, lay)

    n_lines = t.line_count
    names = [n for n in (CROP_CELLS if crops else ("signature",)) if n in t.cells]
    cell_names = list(t.cells)
    inch_boxes = _template_cache(t)[3]  # every cell of every line, (lines * cells, 4) inches
    orig = _boxes_in_original(M, inch_boxes).reshape(n_lines, len(cell_names), 4)
    crop_dpi = {n: min(d, SIGNATURE_DPI_MAX if n == "signature" else CROP_DPI_MAX) for n in names}
    crop_dpi["fields"] = min(d, CROP_DPI_MAX)
    cut: dict[str, np.ndarray] = {}
    ink_boxes: dict[str, np.ndarray] = {}
    # What each crop shows: the table's ink marks (found after a 3x3
    # smoothing, so they already hold the soft edge of each stroke).
    shown = shown.view(bool)
    if crops:
        for n in names:
            cx, cy, cw, ch = lay.cells[n]
            # The paper level of each line's cell: one reduction for all lines.
            row_sums = cv2.reduce(paper_t[:, cx: cx + cw], 1, cv2.REDUCE_SUM,
                                  dtype=cv2.CV_32S)[:, 0]
            rows = row_sums[np.minimum(lay.line_y[:, None] + cy + np.arange(ch)[None, :], paper_t.shape[0] - 1)]
            paper = rows.sum(1) / float(ch * cw)
            cut[n], ink_boxes[n] = _cut_cells(image, M, t, n, crop_dpi[n], table_box, shown, paper)
    _, _, sw, sh = lay.cells["signature"]
    sig_area = float(sw * sh) / (STATE_DPI * STATE_DPI)

    lines, crop_list = [], []
    orig_l = orig.tolist()
    for i in range(1, n_lines + 1):
        state, cell_ink, cover = states[i - 1]
        boxes = dict(zip(cell_names, map(tuple, orig_l[i - 1])))
        lines.append(SegmentedLine(
            line=i,
            signature=boxes["signature"],
            printed_name=boxes.get("printed_name"),
            address=boxes.get("address"),
            city=boxes.get("city"),
            zip=boxes.get("zip"),
            date=boxes.get("date"),
            state=state,
            signature_ink=float(cell_ink.get("signature", 0.0) / sig_area) if sig_area else 0.0,
            cell_ink=cell_ink,
            strike_cover=float(cover),
        ))
        crop_list.append({n: cut[n][i - 1] for n in names} if crops else {})
    fields = {}
    if t.fields:
        fb = _boxes_in_original(M, np.array(list(t.fields.values()), np.float64))
        fields = {n: tuple(float(v) for v in fb[k]) for k, n in enumerate(t.fields)}
    field_crops = {}
    if crops:
        for n, b in t.fields.items():
            field_crops[n] = _warp(image, M, b, crop_dpi["fields"])
    seg = PageSegmentation(
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
        crop_dpi=crop_dpi,
        fit=fit,
    )
    seg._blocks = {n: (cut[n], ink_boxes[n]) for n in cut}
    return seg
