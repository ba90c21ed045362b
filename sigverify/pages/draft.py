"""Draft a form template from a scan of a blank form.

An office has the blank form its petitions were printed from; a template
read off it with a ruler is good to ±0.03 in, which is not enough for
two-row blocks or 20 lines a page. :func:`draft_template` measures it on
the scan instead:

1. the page's skew from the outline of the lines table, and the page
   turned straight (about the scan's centre, the page's own frame);
2. the long straight horizontal and vertical runs of ink (the rules), each
   placed at the centroid of its profile peak (a fraction of a pixel);
3. the rows between horizontal rules, each described by its height and the
   vertical rules crossing it; the longest stretch that repeats with the
   smallest period is the signer lines (one row a line, or a block of two);
4. the cells of one line between the vertical rules of each of its rows (a
   cell the rule between two rows does not cross spans both), and printed
   labels inside the cells (ink on the blank form) become masks;
5. outside the lines table, the lines written on (free-standing horizontal
   rules, not the edge of a box: the circulator's declaration) become
   ``fields``, each the box above its line up to the print above it; and
   four solid squares near the page's corners become registration
   ``marks`` (centre and side from the ink's centroid and area).

Positions are the page's, in inches from its top-left corner, assuming the
scan holds the whole page at `dpi` (a flatbed or sheet-fed scan of the
blank form). The person names the cells (``columns``); the result is a
:class:`~sigverify.pages.templates.FormTemplate`.
"""
from __future__ import annotations

import cv2
import numpy as np

from sigverify.errors import ImageInputError
from sigverify.pages import geometry as geo
from sigverify.pages.templates import Cell, FormTemplate

#: Names a person may give cells; others are allowed too.
KNOWN_COLUMNS = ("signature", "printed_name", "address", "city", "zip", "date", "number", "official")
#: Cells nobody writes in (``content: false``).
NOT_CONTENT = ("number", "official", "official_use")
#: Runs at least this long (inches) are rules.
H_RULE_IN = 0.3
V_RULE_IN = 0.2
#: Two rows are alike when their heights differ by less than this (inches)
#: and the same vertical rules cross them (to this, inches).
ROW_TOL_IN = 0.02
#: A free-standing horizontal rule at least this long (inches) outside the
#: lines table is a line to write on (a declaration field).
FIELD_MIN_IN = 1.0
#: A field's box: the space above its line up to the print above it, within these heights (inches).
FIELD_H_IN = (0.2, 0.45)
#: The circulator's declaration fields, in reading order, when four are found.
FIELD_NAMES = ("circulator_name", "circulator_address", "circulation_dates", "circulator_signature")
#: Registration marks: solid squares of this side (inches).
MARK_SIDE_IN = (0.12, 0.6)


def _ink(gray: np.ndarray, d: float) -> np.ndarray:
    """Ink by contrast with the paper around it (uint8 0/1): hairlines kept."""
    k = max(3, int(round(0.06 * d)) | 1)
    bg = cv2.dilate(gray, np.ones((k, k), np.uint8))
    dark = cv2.subtract(bg, gray)
    hist = np.bincount(dark.ravel(), minlength=256)
    top = int(np.searchsorted(np.cumsum(hist), 0.998 * dark.size))
    return (dark > max(30, 0.4 * top)).astype(np.uint8)


def _peaks_1d(profile: np.ndarray, thresh: float) -> list[float]:
    """Sub-pixel centres (profile centroids) of the runs of `profile` >= `thresh`."""
    on = profile >= thresh
    out = []
    i, n = 0, len(profile)
    while i < n:
        if on[i]:
            j = i
            while j < n and on[j]:
                j += 1
            a, b = max(0, i - 1), min(n, j + 1)
            w = profile[a:b].astype(np.float64)
            out.append(float((w * np.arange(a, b)).sum() / w.sum()))
            i = j
        else:
            i += 1
    return out


def _extents(mask_line: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """Runs of True in a 1-D mask at least `min_len` long, as (start, end)."""
    m = np.r_[False, mask_line, False]
    d = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(d[::2], d[1::2]) if b - a >= min_len]


def find_rules(gray: np.ndarray, d: float) -> tuple[list, list]:
    """Horizontal and vertical rules of a straight (deskewed) page.

    Returns
    -------
    h : list of (y, [(x0, x1), ...])
        Each horizontal rule's centre row (pixels, sub-pixel) and the
        column stretches it covers.
    v : list of (x, [(y0, y1), ...])
        Likewise for vertical rules.
    """
    ink = _ink(gray, d)
    # Solid areas (registration marks) are no rules: their edges, and their
    # columns summed with the table's, would pull a rule off its ink.
    k = max(5, int(round(0.08 * d)))
    ink[cv2.dilate(cv2.morphologyEx((gray < 128).astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8)),
                   np.ones((5, 5), np.uint8)) > 0] = 0
    g = max(2, int(round(0.02 * d)))
    hk, vk = int(round(H_RULE_IN * d)), int(round(V_RULE_IN * d))
    hor = cv2.morphologyEx(cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((1, g), np.uint8)),
                           cv2.MORPH_OPEN, np.ones((1, hk), np.uint8))
    ver = cv2.morphologyEx(cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((g, 1), np.uint8)),
                           cv2.MORPH_OPEN, np.ones((vk, 1), np.uint8))
    out = []
    for runs, axis in ((hor, 0), (ver, 1)):
        prof = runs.sum(1 - axis).astype(np.float64)
        rules = []
        for c in _peaks_1d(prof, hk if axis == 0 else vk):
            r = int(round(c))
            t = max(2, int(round(0.02 * d)))
            band = runs[r - t: r + t + 1] if axis == 0 else runs[:, r - t: r + t + 1].T
            cover = band.any(0)
            rules.append((c, _extents(cover, hk if axis == 0 else vk)))
        out.append(rules)
    return out[0], out[1]


def _covers(extents, a: float, b: float, share: float = 0.8) -> bool:
    """Whether stretches `extents` cover `share` of [a, b]."""
    tot = sum(max(0.0, min(b, e1) - max(a, e0)) for e0, e1 in extents)
    return tot >= share * (b - a)


def draft_template(
    image: np.ndarray,
    dpi: float,
    *,
    columns: list[str] | None = None,
    fields: list[str] | None = None,
    name: str = "drafted",
    description: str = "",
) -> FormTemplate:
    """Measure a blank form's lines table and write it as a template.

    Parameters
    ----------
    image : (H, W) uint8 array
        A scan of the blank form, upright (skew of a few degrees is fine),
        the whole page, 0 ink, 255 paper.
    dpi : float
        Resolution of `image` (150 dpi or more for 0.01 in).
    columns : list of str, optional
        Names of the cells of one line, row by row, left to right (a cell
        spanning a two-row block counts in its first row). ``number`` and
        ``official`` (or ``official_use``) are cells nobody writes in; a
        name may not repeat; ``signature`` is required. Default: a narrow
        first cell is ``number``, a narrow last one ``official``, the widest
        ``signature``, the rest ``col2``, ``col3``, ...
    fields : list of str, optional
        Names of the fields found outside the table (lines to write on, such
        as the circulator's declaration), top to bottom and left to right.
        Default: four fields are ``circulator_name``, ``circulator_address``,
        ``circulation_dates``, ``circulator_signature``; any other number
        ``field1``, ``field2``, ...
    name, description : str

    Returns
    -------
    FormTemplate

    Raises
    ------
    ImageInputError
        No ruled table found, no repeating lines, or `columns` (`fields`)
        does not name every cell (field).

    Examples
    --------
    >>> from fixtures.forms import render_page
    >>> page, _ = render_page([], dpi=150, rng=np.random.default_rng(0))
    >>> t = draft_template(page, 150)
    >>> t.line_count, round(t.line_pitch, 2)
    (10, 0.5)
    """
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("The parameter `image` must be a 2-D uint8 array")
    d = float(dpi)
    H, W = image.shape
    work = geo.working_image(image, d)
    quad = geo.table_quad(work)
    fine = geo.table_quad_fine(work)
    if quad is None or (fine is not None and cv2.contourArea(fine.astype(np.float32))
                        > 1.1 * cv2.contourArea(quad.astype(np.float32))):
        quad = fine
    if quad is None:
        raise ImageInputError("no ruled lines table found on the blank form")
    tl, tr = quad[0], quad[1]
    skew = float(np.degrees(np.arctan2(tr[1] - tl[1], tr[0] - tl[0])))
    if abs(skew) > 15:
        raise ImageInputError(f"the blank form is turned {skew:.0f} degrees; scan it upright")
    # Turn the page straight about the scan's centre: the page's own frame.
    R = cv2.getRotationMatrix2D(((W - 1) / 2.0, (H - 1) / 2.0), skew, 1.0)
    straight = cv2.warpAffine(image, R, (W, H), flags=cv2.INTER_LINEAR, borderValue=255) if abs(skew) > 0.01 else image
    h_rules, v_rules = find_rules(straight, d)
    # The outline's corners (found on a reduced page) leave the page turned by
    # up to ~0.1 degree: 0.01 in across a letter page. The long rules say by how much.
    tilt = _residual_tilt(straight, d, h_rules)
    if abs(tilt) > 0.005:
        skew += tilt
        R = cv2.getRotationMatrix2D(((W - 1) / 2.0, (H - 1) / 2.0), skew, 1.0)
        straight = cv2.warpAffine(image, R, (W, H), flags=cv2.INTER_LINEAR, borderValue=255)
        h_rules, v_rules = find_rules(straight, d)
    if len(h_rules) < 3 or len(v_rules) < 2:
        raise ImageInputError("no ruled lines table found on the blank form (too few rules)")
    # The table: the longest horizontal rules' and vertical rules' span.
    hlen = [sum(b - a for a, b in ex) for _, ex in h_rules]
    long_ = max(hlen)
    table_h = [r for r, n in zip(h_rules, hlen) if n >= 0.5 * long_]
    x0 = min(min(a for a, _ in ex) for _, ex in table_h)
    x1 = max(max(b for _, b in ex) for _, ex in table_h)
    vx = [x for x, ex in v_rules if x0 - 0.05 * d <= x <= x1 + 0.05 * d]
    if not vx:
        raise ImageInputError("no ruled lines table found on the blank form (no vertical rules where its "
                              "horizontal rules are; scan hairline forms at 300 dpi in grayscale)")
    left, right = min(vx), max(vx)
    hy = sorted(y for y, ex in h_rules if _covers(ex, left + 0.02 * d, right - 0.02 * d, 0.3))
    # Rows between consecutive horizontal rules, each: height, vertical rules crossing its middle.
    rows = []
    for a, b in zip(hy[:-1], hy[1:]):
        mid = 0.5 * (a + b)
        xs = tuple(sorted(x for x, ex in v_rules if left - 2 <= x <= right + 2 and _covers(ex, mid - 0.2 * (b - a), mid + 0.2 * (b - a))))
        rows.append((a, b, xs))
    tol = ROW_TOL_IN * d

    def same(r1, r2) -> bool:
        if abs((r1[1] - r1[0]) - (r2[1] - r2[0])) > tol or len(r1[2]) != len(r2[2]):
            return False
        return all(abs(p - q) <= tol for p, q in zip(r1[2], r2[2]))

    best = None  # (units, -k, start, k)
    n = len(rows)
    for k in (1, 2, 3):
        for s in range(n):
            u = 1
            while s + (u + 1) * k <= n and all(same(rows[s + j], rows[s + u * k + j]) for j in range(k)):
                u += 1
            if s + k > n:
                continue
            cand = (u, -k, s, k)
            if u >= 2 and (best is None or cand[:2] > best[:2]):
                best = cand
    if best is None:
        raise ImageInputError("no repeating signer lines found in the table of the blank form")
    units, _, s, k = best
    line_top = hy[s]
    pitch = (hy[s + units * k] - hy[s]) / units
    # The table: from the lines out to the rules its outer vertical rules reach
    # (a header row above line 1; not a box further down the page).
    lines_end = hy[s + units * k]
    reach = [ex for x, ex in v_rules if abs(x - left) <= tol]
    reach = [e for ex in reach for e in ex if e[0] <= line_top + tol and e[1] >= lines_end - tol]
    lo = min((e[0] for e in reach), default=line_top)
    hi = max((e[1] for e in reach), default=lines_end)
    top_y = min((y for y in hy if y >= lo - 2 * tol), default=line_top)
    bot_y = max((y for y in hy if y <= hi + 2 * tol), default=lines_end)
    q = np.asarray(quad, np.float64) * work.factor
    outline_h = 0.5 * ((q[3, 1] - q[0, 1]) + (q[2, 1] - q[1, 1]))  # the table's outline (turned a few degrees at most)
    if units * pitch < 0.6 * max(bot_y - top_y, outline_h):
        # Rules the scan lost split the lines: a template of a few of them would be wrong.
        raise ImageInputError(
            f"only {units} repeating signer lines found, {units * pitch / d:.1f} in of the "
            f"{max(bot_y - top_y, outline_h) / d:.1f} in lines table: some of its rules were not found (scan hairline "
            "forms at 300 dpi in grayscale)")
    # Cells of one line, from the median line's rows (row positions relative to the line's top).
    mid_line = s + (units // 2) * k
    cells_px = []  # (x0, x1, y0, y1) relative to the line top
    for j in range(k):
        a, b, xs = rows[mid_line + j]
        edges = [left] + [x for x in xs if left + tol < x < right - tol] + [right]
        for e0, e1 in zip(edges[:-1], edges[1:]):
            cells_px.append([e0, e1, a - hy[mid_line], b - hy[mid_line]])
    # A cell the rule between two rows does not cross spans both: merge.
    merged = []
    for c in cells_px:
        for m in merged:
            if abs(m[0] - c[0]) <= tol and abs(m[1] - c[1]) <= tol and abs(m[3] - c[2]) <= tol:
                y_rule = hy[mid_line] + c[2]
                ext = next((ex for y, ex in h_rules if abs(y - y_rule) <= tol), [])
                if not _covers(ext, c[0] + tol, c[1] - tol, 0.5):
                    m[3] = c[3]
                    break
        else:
            merged.append(list(c))
    # Named cells.
    names = _names(merged, d, columns)
    cells = {}
    for nm, (cx0, cx1, cy0, cy1) in zip(names, merged):
        cells[nm] = Cell(round(cx0 / d, 4), round(cy0 / d, 4), round((cx1 - cx0) / d, 4), round((cy1 - cy0) / d, 4),
                         content=nm not in NOT_CONTENT and not nm.startswith("-"))
    cells = _label_masks(straight, d, cells, line_top / d, pitch / d, units)
    cells = {(n[1:] if n.startswith("-") else n): c for n, c in cells.items()}
    field_px = find_fields(straight, d, h_rules, v_rules, top_y, bot_y)
    field_names = _field_names(len(field_px), fields)
    marks = find_marks(straight, d, (left, top_y, right, bot_y))
    return FormTemplate(
        name=name,
        page_size=(round(W / d, 3), round(H / d, 3)),
        marks=marks,
        table=(round(left / d, 4), round(top_y / d, 4), round((right - left) / d, 4), round((bot_y - top_y) / d, 4)),
        line_count=int(units),
        line_top=round(line_top / d, 4),
        line_pitch=round(pitch / d, 5),
        cells=cells,
        fields={nm: tuple(round(v / d, 4) for v in b) for nm, b in zip(field_names, field_px)},
        description=description or f"drafted from a scan of the blank form ({W}x{H} px at {d:g} dpi)",
    )


def _residual_tilt(page: np.ndarray, d: float, h_rules: list) -> float:
    """Degrees the straightened `page` is still turned, from the long
    horizontal rules: each rule's ink centre row near its two ends; the
    median slope (positive: the rules fall to the right, as rows count)."""
    if not h_rules:
        return 0.0
    # Long horizontal runs only (a label printed under a rule would pull its centre).
    g = max(2, int(round(0.02 * d)))
    ink = cv2.morphologyEx(cv2.morphologyEx(_ink(page, d), cv2.MORPH_CLOSE, np.ones((1, g), np.uint8)),
                           cv2.MORPH_OPEN, np.ones((1, int(round(H_RULE_IN * d))), np.uint8))
    t = max(2, int(round(0.02 * d)))
    span = [(y, a, b) for y, ex in h_rules for a, b in ex]
    longest = max(b - a for _y, a, b in span)
    slopes = []
    for y, a, b in span:
        if b - a < max(0.7 * longest, 3 * d):
            continue
        r = int(round(y))
        band = ink[max(0, r - 2 * t): r + 2 * t + 1].astype(np.float64)
        rows = np.arange(max(0, r - 2 * t), max(0, r - 2 * t) + band.shape[0], dtype=np.float64)[:, None]
        q = (b - a) // 5
        ends = []
        for c0 in (a + q // 2, b - q - q // 2):
            w = band[:, c0: c0 + q]
            if w.sum() < 0.5 * q:
                break
            ends.append((c0 + q / 2.0, float((w * rows).sum() / w.sum())))
        if len(ends) == 2:
            slopes.append((ends[1][1] - ends[0][1]) / (ends[1][0] - ends[0][0]))
    if len(slopes) < 2:
        return 0.0
    return float(np.degrees(np.arctan(np.median(slopes))))


def find_fields(page: np.ndarray, d: float, h_rules: list, v_rules: list, top: float, bottom: float) -> list:
    """Lines to write on outside the lines table (rows `top`..`bottom`), as
    boxes (x, y, w, h) in pixels: each the space above a free-standing
    horizontal rule (not the edge of a box, which has a vertical rule at its
    end) up to the print above it. Top to bottom, left to right."""
    tol = 0.03 * d
    t = max(2, int(round(0.02 * d)))
    ink = _ink(page, d)
    lo_h, hi_h = FIELD_H_IN[0] * d, FIELD_H_IN[1] * d
    out = []
    for y, ext in h_rules:
        if top - 0.05 * d <= y <= bottom + 0.05 * d:
            continue
        for a, b in ext:
            if b - a < FIELD_MIN_IN * d:
                continue
            boxed = any(abs(x - e) <= tol and any(v0 <= y + tol and v1 >= y - tol for v0, v1 in vex)
                        for x, vex in v_rules for e in (a, b))
            if boxed:
                continue
            y_rule = int(round(y))
            a, b = _line_ends(ink, y_rule, t, a, b)
            # The print above the line (its own label is below): the nearest row with ink.
            y_hi = max(0, int(round(y - hi_h)))
            band = ink[y_hi: max(y_hi, y_rule - t - 1), int(a) + t: int(b) - t]
            rows = np.flatnonzero(band.sum(1) >= max(2, 0.002 * (b - a)))
            y_top = (y_hi + rows[-1] + 1 + 0.03 * d) if len(rows) else (y - 0.35 * d)
            h = float(np.clip(y - y_top, lo_h, hi_h))
            out.append((float(a), float(y - h), float(b - a), h))
    out.sort(key=lambda f: (round((f[1] + f[3]) / (0.1 * d)), f[0]))
    return out


def _line_ends(ink: np.ndarray, y: int, t: int, a: int, b: int) -> tuple[float, float]:
    """The ends of a horizontal line at row `y` found in stretch [a, b): the
    first and last columns holding at least half the line's usual ink (the
    stretch itself is widened by the closing that joined it)."""
    lo, hi = max(0, a - 2 * t), min(ink.shape[1], b + 2 * t)
    prof = ink[max(0, y - t): y + t + 1, lo:hi].sum(0).astype(np.float64)
    inner = prof[(a - lo) + 2 * t: (b - lo) - 2 * t]
    if inner.size == 0:
        return float(a), float(b)
    on = np.flatnonzero(prof >= 0.5 * float(np.median(inner)))
    return float(lo + on[0]), float(lo + on[-1])


def _field_names(n: int, fields: list[str] | None) -> list[str]:
    if fields is None:
        return list(FIELD_NAMES) if n == len(FIELD_NAMES) else [f"field{i + 1}" for i in range(n)]
    names = [f.strip() for f in fields]
    if len(names) != n:
        raise ImageInputError(f"the form has {n} field(s) outside the lines table but {len(names)} field "
                              "names were given")
    if len(set(names)) != n or not all(names):
        raise ImageInputError("a field name is empty or given twice")
    return names


def find_marks(page: np.ndarray, d: float, table: tuple[float, float, float, float]) -> np.ndarray:
    """Four solid square registration marks, one near each corner of the
    page and outside the lines table `table` (x0, y0, x1, y1 pixels), as
    (4, 3) ``(x, y, size)`` in inches (centre from the ink-weighted centroid,
    side from the dark area); (0, 3) unless all four are found."""
    H, W = page.shape
    dark = (page < 128).astype(np.uint8)
    n, lab, stats, _cent = cv2.connectedComponentsWithStats(dark, connectivity=8)
    lo, hi = MARK_SIDE_IN[0] * d, MARK_SIDE_IN[1] * d
    x0t, y0t, x1t, y1t = table
    cands = []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if not (lo <= w <= hi and lo <= h <= hi) or abs(w - h) > 0.15 * max(w, h) or area < 0.85 * w * h:
            continue
        if x + w > x0t and x < x1t and y + h > y0t and y < y1t:
            continue  # inside the table: a filled cell, not a mark
        m = max(2, int(round(0.02 * d)))
        ya, yb, xa, xb = max(0, y - m), min(H, y + h + m), max(0, x - m), min(W, x + w + m)
        # the anti-aliased rim belongs to the mark too: weight the dilated component
        rim = cv2.dilate((lab[ya:yb, xa:xb] == i).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        wgt = np.where(rim, 255.0 - page[ya:yb, xa:xb].astype(np.float64), 0.0)
        s = wgt.sum()
        if s <= 0:
            continue
        gy, gx = np.mgrid[ya:yb, xa:xb]
        cx, cy = float((wgt * gx).sum() / s), float((wgt * gy).sum() / s)
        cands.append((cx, cy, float(np.sqrt(area))))
    marks = []
    for kx, ky in ((0, 0), (W, 0), (W, H), (0, H)):
        near = [c for c in cands if (c[0] < W / 2) == (kx == 0) and (c[1] < H / 2) == (ky == 0)]
        if not near:
            return np.zeros((0, 3))
        c = min(near, key=lambda c: np.hypot(c[0] - kx, c[1] - ky))
        marks.append((round(c[0] / d, 4), round(c[1] / d, 4), round(c[2] / d, 4)))
    return np.array(marks, np.float64)


def describe_template_cells(t: FormTemplate) -> list[tuple[str, str]]:
    """Each cell of one line of `t`: its name and where it lies (``x
    0.50-0.80 in, y +0.00-0.55 in``), in the template's order."""
    return [(n, f"x {c.x:.2f}\u2013{c.x + c.w:.2f} in, y +{c.y:.2f}\u2013{c.y + c.h:.2f} in"
                + ("" if c.content else " (not written in)")) for n, c in t.cells.items()]


def describe_template_fields(t: FormTemplate) -> list[tuple[str, str]]:
    """Each field of `t` (outside the lines table): its name and where it lies."""
    return [(n, f"x {x:.2f}\u2013{x + w:.2f} in, y {y:.2f}\u2013{y + h:.2f} in")
            for n, (x, y, w, h) in t.fields.items()]


def _names(cells: list, d: float, columns: list[str] | None) -> list[str]:
    n = len(cells)
    if columns is not None:
        cols = [c.strip() for c in columns]
        if len(cols) != n:
            raise ImageInputError(
                f"the form has {n} cells per line ({describe_cells(cells, d)}) but {len(cols)} column names were given")
        names = ["official" if c == "official_use" else c for c in cols]
        seen = set()
        for c in names:
            if not c or c in seen:
                raise ImageInputError(f"column name {c!r} is empty or given twice")
            seen.add(c)
        if "signature" not in names:
            raise ImageInputError("one of the columns must be named `signature`")
        return names
    widths = [(c[1] - c[0]) / d for c in cells]
    names = [f"col{i + 1}" for i in range(n)]
    if widths[0] < 0.45:
        names[0] = "number"
    last = max(range(n), key=lambda i: cells[i][1])
    if widths[last] < 0.45 and last != 0:
        names[last] = "official"
    free = [i for i in range(n) if names[i].startswith("col")]
    if free:
        names[max(free, key=lambda i: widths[i] * (cells[i][3] - cells[i][2]))] = "signature"
    return names


def describe_cells(cells: list, d: float) -> str:
    """Cells (x0, x1, y0, y1 pixels) as text: ``x 0.50-0.80 in`` each (row 2: ``r2``)."""
    out = []
    for c in cells:
        row = "" if c[2] < 0.02 * d else " r2"
        out.append(f"x {c[0] / d:.2f}-{c[1] / d:.2f} in{row}")
    return "; ".join(out)


def _label_masks(page: np.ndarray, d: float, cells: dict, top: float, pitch: float, count: int) -> dict:
    """Masks over printed labels: ink inside a blank cell in most lines."""
    ink = _ink(page, d)
    inset = int(round(0.035 * d))
    out = {}
    for nm, c in cells.items():
        boxes = []
        for i in range(count):
            x0 = int(round(c.x * d)) + inset
            y0 = int(round((top + i * pitch + c.y) * d)) + inset
            x1 = int(round((c.x + c.w) * d)) - inset
            y1 = int(round((top + i * pitch + c.y + c.h) * d)) - inset
            sub = ink[y0:y1, x0:x1]
            if sub.size == 0:
                continue
            sub = cv2.morphologyEx(sub, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) if d >= 150 else sub
            ys, xs = np.nonzero(sub)
            if len(xs) >= max(3, int(0.0004 * d * d)):
                boxes.append((xs.min() + inset, ys.min() + inset, xs.max() + inset + 1, ys.max() + inset + 1))
        masks = ()
        if c.content and len(boxes) >= max(1, count // 2):
            b = np.array(boxes, np.float64)
            pad = 0.02 * d
            bx0, by0 = max(0.0, b[:, 0].min() - pad), max(0.0, b[:, 1].min() - pad)
            bx1, by1 = b[:, 2].max() + pad, b[:, 3].max() + pad
            masks = ((round(float(bx0) / d, 3), round(float(by0) / d, 3),
                      round(float(min(c.w * d, bx1) - bx0) / d, 3), round(float(min(c.h * d, by1) - by0) / d, 3)),)
        out[nm] = Cell(c.x, c.y, c.w, c.h, masks, c.content)
    return out
