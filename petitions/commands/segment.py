"""`petitions segment` — scanned pages in, signer lines and crops out.

    petitions segment INPUT --out DIR [--template T.json]

Library first: one call to :func:`sigverify.pages.segment_document`; this
module converts arguments and writes the files (shared/CONTRACT.md).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2

from petitions.atomic import atomic_write
from petitions.errors import UserError

HELP = "cut scanned petition pages into signer lines and crops"
DESCRIPTION = """\
Read INPUT (a PDF, a multi-page TIFF, a PNG/JPEG page image, or a folder of
page images), find every signer line on every page and write DIR/segments.json
plus the signature / printed-name / address crops as PNG files under
DIR/crops/. Boxes are [x, y, w, h] in the original page's pixels, even when
the page was deskewed or turned. The project's own forms are recognised
without a template; other layouts need --template (format: docs/templates.md).
A page that cannot be read, is not a petition page, or whose layout does not
fit the form (or the template) for certain is refused: it is reported under
"errors" with the file, the page and the best candidate form, and the others
carry on; the command then exits with status 1 (2 when no page at all could
be segmented). A page that fits but not beyond doubt is segmented and marked
"check": true for a person to look at.
"""


def register(sub) -> None:
    p = sub.add_parser("segment", help=HELP, description=DESCRIPTION)
    p.add_argument("input", metavar="INPUT", help="PDF, TIFF, PNG/JPEG file, or a folder of page images")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for segments.json and crops/")
    p.add_argument("--template", metavar="T.json",
                   help="form template JSON file, or a built-in name (sigverify-single-row, "
                        "sigverify-two-row); default: recognise the project's own forms")
    p.add_argument("--dpi", type=float, help="scan resolution, overriding the file's metadata")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--no-crops", action="store_true", help="write segments.json only")
    p.add_argument("--strict", action="store_true",
                   help="kept for old scripts: a refused page always makes the exit status 1")
    p.set_defaults(func=_run)


def _write_png(path: Path, image) -> str:
    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - encoding a uint8 array does not fail
        raise RuntimeError(f"cannot encode {path.name}")
    with atomic_write(path, "wb") as fh:
        fh.write(buf.tobytes())
    return path.name


def _flush(held: list[str]) -> None:
    for line in held:
        print(line, file=sys.stderr)
    held.clear()


def _run(args) -> int:
    from sigverify.pages import load_template, segment_document

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError("output exists and is not a folder", where=str(out))
    template = load_template(args.template) if args.template else None
    pages, errors, held = [], [], []
    for r in segment_document(args.input, template=template, workers=args.workers, dpi=args.dpi,
                              crops=not args.no_crops):
        if r.error is not None:
            errors.append({"page": r.page.number, "file": r.page.path, "error": str(r.error)})
            # Until a page has been segmented, hold the warnings back: when
            # nothing can be read the command says so in one line.
            held.append(f"petitions segment: warning: {r.error}")
            if pages:
                _flush(held)
            continue
        _flush(held)
        seg = r.segmentation
        entry = {"page": r.page.number, "file": r.page.path, "dpi": round(r.page.dpi, 2),
                 "dpi_source": r.page.dpi_source}
        entry.update(seg.to_dict())
        if not args.no_crops:
            for ln, crops in zip(entry["lines"], seg.crops):
                names = {}
                for kind, img in crops.items():
                    rel = Path("crops") / f"page-{r.page.number:04d}" / f"line-{ln['line']:02d}-{kind}.png"
                    _write_png(out / rel, img)
                    names[kind] = rel.as_posix()
                ln["crops"] = names
            fcrops = {}
            for kind, img in seg.field_crops.items():
                rel = Path("crops") / f"page-{r.page.number:04d}" / f"{kind}.png"
                _write_png(out / rel, img)
                fcrops[kind] = rel.as_posix()
            entry["field_crops"] = fcrops
        pages.append(entry)
    if not pages:
        first = errors[0]["error"] if errors else "no pages"
        if len(errors) == 1:
            raise UserError(f"no page could be segmented: {first}")
        raise UserError(f"no page could be segmented ({len(errors)} pages failed; first: {first})",
                        where=str(args.input))
    doc = {
        "format": "sigverify-segments/1",
        "input": str(args.input),
        "template": args.template,
        "pages": pages,
        "errors": errors,
    }
    with atomic_write(out / "segments.json") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    n_lines = sum(len(p["lines"]) for p in pages)
    n_check = sum(1 for p in pages if p.get("check"))
    check = f"; {n_check} page(s) to check (layout fit not certain)" if n_check else ""
    refused = (f"{len(errors)} page(s) failed: refused, their lines NOT segmented (see \"errors\" in "
               f"segments.json)" if errors else "0 page(s) failed")
    print(f"segmented {len(pages)} page(s), {n_lines} line(s){check}; {refused}; wrote {out / 'segments.json'}")
    # A refused page is never a silent success: its signers are not counted.
    return 1 if errors else 0
