"""Form templates: where the signer lines and their cells sit on a page.

A template describes one printed petition layout in inches from the page's
top-left corner (format documented in ``docs/templates.md``). The segmenter
never uses pixel offsets: it finds the page's registration marks (or the
outer rule of the lines table) in the scan and maps the template onto them.

Two templates ship with the package, the project's own forms:
``sigverify-single-row`` and ``sigverify-two-row``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sigverify.errors import ImageInputError

FORMAT = "sigverify-template/1"
TEMPLATE_DIR = Path(__file__).with_name("templates")
BUILTIN_TEMPLATES = ("sigverify-single-row", "sigverify-two-row")
#: Cells whose crops are cut for every line (the CONTRACT's boxes).
CROP_CELLS = ("signature", "printed_name", "address")
_MM_PER_IN = 25.4


@dataclass(frozen=True)
class Cell:
    """One cell of a signer line, in inches relative to the line's top edge.

    ``x`` is measured from the page's left edge, ``y`` from the top of the
    line. ``masks`` are rectangles ``(dx, dy, w, h)`` inside the cell holding
    pre-printed text (labels) that must not count as ink. ``content`` is
    False for cells the signer does not write in (line number, official use).
    """

    x: float
    y: float
    w: float
    h: float
    masks: tuple[tuple[float, float, float, float], ...] = ()
    content: bool = True


@dataclass(frozen=True)
class FormTemplate:
    """A petition page layout in inches (see ``docs/templates.md``).

    Attributes
    ----------
    name : str
    page_size : (float, float)
        Page width and height in inches.
    marks : (K, 3) float array
        Registration mark centres and side length (x, y, size); K may be 0.
    table : (float, float, float, float)
        Outer ruled box of the lines table (x, y, w, h), used to register
        pages whose marks are missing and forms that have none.
    line_count, line_top, line_pitch
        Lines per page, top edge of line 1, and the distance between lines.
    cells : dict of str to Cell
        Cells of one line; ``signature`` is required.
    fields : dict of str to (x, y, w, h)
        Other boxes on the page cut once per page (circulator declaration).
    """

    name: str
    page_size: tuple[float, float]
    marks: np.ndarray
    table: tuple[float, float, float, float]
    line_count: int
    line_top: float
    line_pitch: float
    cells: dict[str, Cell]
    fields: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    description: str = ""

    def cell_box(self, line: int, name: str) -> tuple[float, float, float, float]:
        """Box (x, y, w, h) in inches of cell `name` on 1-based `line`."""
        c = self.cells[name]
        return (c.x, self.line_top + (line - 1) * self.line_pitch + c.y, c.w, c.h)

    @property
    def content_cells(self) -> tuple[str, ...]:
        return tuple(n for n, c in self.cells.items() if c.content)

    def rule_points(self, step: float = 0.05) -> np.ndarray:
        """Points (N, 2) in inches along every cell edge of every line.

        Used to score how well a candidate registration puts the template's
        rules on the scan's ink, which picks the orientation and the layout.
        """
        segs = []
        for line in range(1, self.line_count + 1):
            for name in self.cells:
                x, y, w, h = self.cell_box(line, name)
                segs += [((x, y), (x + w, y)), ((x, y + h), (x + w, y + h)),
                         ((x, y), (x, y + h)), ((x + w, y), (x + w, y + h))]
        pts = []
        for (x0, y0), (x1, y1) in segs:
            n = max(2, int(np.hypot(x1 - x0, y1 - y0) / step))
            t = np.linspace(0.0, 1.0, n)
            pts.append(np.stack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t], axis=1))
        pts = np.concatenate(pts)
        # Shared edges between neighbouring cells are listed twice; weight once.
        return np.unique(np.round(pts, 3), axis=0)

    def to_dict(self) -> dict:
        """The template as JSON-ready data (round-trips through `from_dict`)."""
        cells = {}
        for n, c in self.cells.items():
            d = {"x": c.x, "y": c.y, "w": c.w, "h": c.h}
            if c.masks:
                d["masks"] = [list(m) for m in c.masks]
            if not c.content:
                d["content"] = False
            cells[n] = d
        return {
            "format": FORMAT,
            "name": self.name,
            "description": self.description,
            "units": "in",
            "page": {"width": self.page_size[0], "height": self.page_size[1]},
            "marks": [{"x": float(x), "y": float(y), "size": float(s)} for x, y, s in self.marks],
            "table": dict(zip("xywh", self.table)),
            "lines": {"count": self.line_count, "top": self.line_top, "pitch": self.line_pitch},
            "cells": cells,
            "fields": {k: dict(zip("xywh", v)) for k, v in self.fields.items()},
        }

    @classmethod
    def from_dict(cls, data: dict, *, source: str | None = None) -> "FormTemplate":
        """Build and validate a template from parsed JSON.

        Raises
        ------
        ImageInputError
            With the offending key named, when the template is malformed.
        """

        def bad(msg: str) -> ImageInputError:
            return ImageInputError(f"invalid template: {msg}", path=source)

        if not isinstance(data, dict):
            raise bad("expected a JSON object")
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise bad(f"unknown format {fmt!r} (expected {FORMAT!r})")
        units = data.get("units", "in")
        if units not in ("in", "mm"):
            raise bad(f"`units` must be 'in' or 'mm', got {units!r}")
        k = 1.0 if units == "in" else 1.0 / _MM_PER_IN

        def num(obj, key, where):
            try:
                v = float(obj[key])
            except KeyError:
                raise bad(f"missing `{where}.{key}`") from None
            except (TypeError, ValueError):
                raise bad(f"`{where}.{key}` must be a number") from None
            if not np.isfinite(v):
                raise bad(f"`{where}.{key}` must be finite")
            return v * k

        def box(obj, where):
            if not isinstance(obj, dict):
                raise bad(f"`{where}` must be an object with x, y, w, h")
            b = tuple(num(obj, c, where) for c in "xywh")
            if b[2] <= 0 or b[3] <= 0:
                raise bad(f"`{where}` must have positive w and h")
            return b

        page = data.get("page", {"width": 8.5 / k, "height": 11.0 / k})
        page_size = (num(page, "width", "page"), num(page, "height", "page"))
        marks = np.array([[num(m, "x", "marks[]"), num(m, "y", "marks[]"), num(m, "size", "marks[]")]
                          for m in data.get("marks", [])], dtype=np.float64).reshape(-1, 3)
        if len(marks) not in (0, 4):
            raise bad("`marks` must list 0 or 4 marks (corner squares)")
        lines = data.get("lines")
        if not isinstance(lines, dict):
            raise bad("missing `lines` (count, top, pitch)")
        try:
            count = int(lines["count"])
        except (KeyError, TypeError, ValueError):
            raise bad("`lines.count` must be an integer") from None
        if count < 1:
            raise bad("`lines.count` must be at least 1")
        top, pitch = num(lines, "top", "lines"), num(lines, "pitch", "lines")
        raw_cells = data.get("cells")
        if not isinstance(raw_cells, dict) or "signature" not in raw_cells:
            raise bad("`cells` must be an object with at least a `signature` cell")
        cells = {}
        for name, c in raw_cells.items():
            x, y, w, h = box(c, f"cells.{name}")
            masks = []
            for m in c.get("masks", []):
                if not (isinstance(m, (list, tuple)) and len(m) == 4):
                    raise bad(f"`cells.{name}.masks` entries must be [dx, dy, w, h]")
                masks.append(tuple(float(v) * k for v in m))
            cells[name] = Cell(x, y, w, h, tuple(masks), bool(c.get("content", True)))
        if "table" in data:
            table = box(data["table"], "table")
        else:
            # Default: the union of all cells of all lines.
            xs = [c.x for c in cells.values()] + [c.x + c.w for c in cells.values()]
            ys = [c.y for c in cells.values()] + [c.y + c.h for c in cells.values()]
            table = (min(xs), top + min(ys), max(xs) - min(xs), (count - 1) * pitch + max(ys) - min(ys))
        fields = {n: box(v, f"fields.{n}") for n, v in data.get("fields", {}).items()}
        return cls(
            name=str(data.get("name", source or "template")),
            page_size=page_size,
            marks=marks,
            table=table,
            line_count=count,
            line_top=top,
            line_pitch=pitch,
            cells=cells,
            fields=fields,
            description=str(data.get("description", "")),
        )


_CACHE: dict[str, FormTemplate] = {}


def load_template(path_or_name: str | os.PathLike | FormTemplate) -> FormTemplate:
    """Load a template by built-in name or from a JSON file.

    Parameters
    ----------
    path_or_name : str or path-like or FormTemplate
        ``"sigverify-single-row"``, ``"sigverify-two-row"``, or a path to a
        template JSON file (``docs/templates.md``).

    Returns
    -------
    FormTemplate

    Raises
    ------
    ImageInputError
        The file is missing, not JSON, or not a valid template.

    Examples
    --------
    >>> t = load_template("sigverify-single-row")
    >>> t.line_count
    10
    """
    if isinstance(path_or_name, FormTemplate):
        return path_or_name
    key = os.fspath(path_or_name)
    if key in BUILTIN_TEMPLATES:
        if key not in _CACHE:
            _CACHE[key] = _load_file(TEMPLATE_DIR / f"{key}.json")
        return _CACHE[key]
    return _load_file(Path(key))


def builtin_templates() -> list[FormTemplate]:
    """The project's own forms, tried in turn when no template is given."""
    return [load_template(n) for n in BUILTIN_TEMPLATES]


def _load_file(p: Path) -> FormTemplate:
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImageInputError("template file not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImageInputError(f"cannot read template ({exc})", path=str(p)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImageInputError(f"template is not valid JSON (line {exc.lineno}: {exc.msg})", path=str(p)) from None
    return FormTemplate.from_dict(data, source=str(p))
