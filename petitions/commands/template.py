"""`petitions template` — make a form template from a blank form, and check it.

    petitions template draft BLANK.pdf --out T.json [--columns signature,printed_name,...]
    petitions template check T.json SCANS --out DIR

Library first: :func:`sigverify.pages.draft.draft_template` measures the
blank form, :func:`sigverify.pages.segment_document` segments the scans;
this module converts arguments and writes the files.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from petitions.atomic import atomic_write
from petitions.errors import UserError

HELP = "make a form template from a scan of a blank form, and check one on scans"
DESCRIPTION = """\
Forms other than the project's own need a template (docs/templates.md).
`draft` measures one on a scan of the BLANK form (its lines table, rows,
columns and printed labels, the declaration's lines and corner marks; rules
to within 0.01 in at 150 dpi or more) and writes it; name the cells with
--columns (or in the workbench: File > New form template...). `check` segments scans with a
template and draws every line's cells over each page (PNG) for a person to
look at before a filing is processed with it.
"""
COLUMN_HELP = ("names of the cells of one signer line, row by row, left to right, comma-separated: "
               "signature, printed_name, address, city, zip, date; number and official (official use) for "
               "cells nobody writes in; any other name is kept as a content cell. Default: guessed "
               "(number, official, the widest cell signature, the rest col2, col3, ...)")


FIELD_HELP = ("names of the fields found outside the lines table (lines to write on: the circulator's "
              "declaration), top to bottom and left to right, comma-separated. Default: four fields are "
              "circulator_name, circulator_address, circulation_dates, circulator_signature; another number "
              "field1, field2, ...")


def register(sub) -> None:
    p = sub.add_parser("template", help=HELP, description=DESCRIPTION)
    tsub = p.add_subparsers(dest="template_command", metavar="{draft,check}")
    tsub.required = True
    d = tsub.add_parser("draft", help="measure a template on a scan of the blank form",
                        description="Find the lines table of a blank form on its scan and write a template.")
    d.add_argument("blank", metavar="BLANK", help="scan of the blank form: PDF, TIFF, PNG/JPEG (upright, whole page)")
    d.add_argument("--out", required=True, metavar="T.json", help="template file to write")
    d.add_argument("--columns", metavar="NAMES", help=COLUMN_HELP)
    d.add_argument("--fields", metavar="NAMES", help=FIELD_HELP)
    d.add_argument("--name", help="the template's name (default: the output file's name)")
    d.add_argument("--page", type=int, default=1, help="page of BLANK holding the form (default 1)")
    d.add_argument("--dpi", type=float, help="scan resolution, overriding the file's metadata")
    d.set_defaults(func=_draft)
    c = tsub.add_parser("check", help="draw a template's cells over scans for a person to look at",
                        description="Segment SCANS with the template and write one PNG per page with every "
                                    "line's cells drawn (signature red, other cells green, cells nobody "
                                    "writes in gray) and each line's state.")
    c.add_argument("template", metavar="T.json", help="the template (file or built-in name)")
    c.add_argument("scans", metavar="SCANS", help="PDF, TIFF, PNG/JPEG file, or a folder of page images")
    c.add_argument("--out", required=True, metavar="DIR", help="folder for the page-NNNN.png drawings")
    c.add_argument("--dpi", type=float, help="scan resolution, overriding the file's metadata")
    c.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    c.set_defaults(func=_check)


def _draft(args) -> int:
    from petitions.templates import draft_from_scan, save_template

    columns = [c for c in args.columns.split(",")] if args.columns else None
    fields = [c for c in args.fields.split(",")] if args.fields else None
    dr = draft_from_scan(args.blank, page=args.page, dpi=args.dpi, columns=columns, fields=fields,
                         name=args.name or Path(args.out).stem)
    t = dr.template
    save_template(t, args.out)
    cells = ", ".join(f"{n} x {c.x:.2f}-{c.x + c.w:.2f} y +{c.y:.2f}" + ("" if c.content else " (not written in)")
                      for n, c in t.cells.items())
    print(f"drafted {args.out}: {t.line_count} lines from {t.line_top:.3f} in, every {t.line_pitch:.3f} in; "
          f"cells: {cells}")
    if t.fields:
        print("fields: " + ", ".join(f"{n} x {x:.2f}-{x + w:.2f} y {y:.2f}-{y + h:.2f}"
                                     for n, (x, y, w, h) in t.fields.items()))
    print(f"corner marks: {len(t.marks)}" + ("" if len(t.marks) else " (pages are registered by the table)"))
    if columns is None:
        print("check the cell names (guessed) and give them with --columns if they are wrong; then run "
              "`petitions template check` on a few filled pages", file=sys.stderr)
    return 0


def draw_cells(image: np.ndarray, seg, template) -> np.ndarray:
    """The scan (BGR) with every cell of every line drawn where the segmenter put it."""
    from petitions.templates import draw_cells as draw

    return draw(image, seg, template)


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - encoding a uint8 array does not fail
        raise RuntimeError(f"cannot encode {path.name}")
    with atomic_write(path, "wb") as fh:
        fh.write(buf.tobytes())


def _check(args) -> int:
    from sigverify.errors import ImageInputError
    from sigverify.pages import load_template, open_document, segment_document

    t = load_template(args.template)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError("output exists and is not a folder", where=str(out))
    written, errors, checks = 0, [], 0
    with open_document(args.scans) as doc:
        for r in segment_document(args.scans, template=t, workers=args.workers, dpi=args.dpi):
            try:
                image = doc.read(r.page.number, dpi=args.dpi).image
            except ImageInputError as exc:  # the page was reported by the segmenter too
                if r.error is None:
                    errors.append(f"{r.page.path} page {r.page.number}: {exc}")
                image = None
            if r.error is not None:
                errors.append(str(r.error))
                print(f"petitions template check: page {r.page.number} refused: {r.error}", file=sys.stderr)
                if image is not None:
                    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
                    cv2.putText(bgr, "REFUSED: " + str(r.error)[:80], (20, 40), cv2.FONT_HERSHEY_SIMPLEX,
                                max(0.5, image.shape[1] / 2000), (0, 0, 230), 2, cv2.LINE_AA)
                    _write_png(out / f"page-{r.page.number:04d}.png", bgr)
                continue
            checks += bool(r.segmentation.check)
            _write_png(out / f"page-{r.page.number:04d}.png", draw_cells(image, r.segmentation, t))
            written += 1
    note = f"; {checks} page(s) to check (layout fit not certain)" if checks else ""
    print(f"drew {written} page(s) with template {t.name} into {out}{note}; {len(errors)} page(s) refused")
    return 1 if errors else 0
