"""Page ingest + segmentation: accuracy against ground truth, and speed
against just decoding the same pages, in one run (issue 6, items 6 and 7).

Renders a synthetic filing of petition pages in both layouts, degrades every
page with a random mix of scan artefacts (skew up to +/-5 degrees, sensor
noise, JPEG, bilevel, shift, scale, upside down, stains and staples; with
``--mix sheet-fed`` skew within +/-0.5 degrees and true scale), writes
them the way offices receive them (a JPEG-in-PDF from a document scanner and
a multi-page CCITT G4 TIFF for the bilevel pages), then

* accuracy: segments every page through :func:`segment_document` and
  compares each line's signature box (IoU with the ground truth carried into
  the scan) and state (signed / blank / struck; struck lines are struck
  out with one line, two, or one corner to corner, reported per style);
* speed: times decoding only, and decoding + segmentation, over the same
  documents with the same worker pool and the same pool tasks (runs of a few
  pages, :func:`sigverify.pages.batch.page_batches`), alternated over several
  rounds (medians), and per page in one process (alternated page by page).

* CPU time: decoding and each segmentation stage per page in one process,
  by ``time.process_time`` (``cpu_time``): what other work on a shared
  machine does to wall-clock timings does not count there.

Prints a summary and writes JSON (``--out``). Timings on a shared machine are
noisy; the decode/segment ratio from the same run is the figure to read, and
the load average before and after is recorded with it. ``--cache DIR`` keeps
the rendered filing (rendering takes longer than the measurement).

    python benchmarks/bench_segment.py --pages 120 --dpi 200 --out bench_segment.json
    python benchmarks/bench_segment.py --pages 120 --dpi 300 --mix sheet-fed
    python benchmarks/bench_segment.py --baseline 8b349fa   # CPU a page against an older segmenter
    python benchmarks/bench_segment.py --skip-timing --phone 0.5 --desk 1   # other layouts' desk photos
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fixtures.forms import (
    MORE_STRIKES,
    OTHER_LAYOUTS,
    STRIKES,
    FormLine,
    layout_template,
    render_page,
    render_template_page,
    scan,
    transform_truth,
    write_document,
)
from sigverify.errors import ImageInputError
from sigverify.pages import open_document, segment_document
from sigverify.pages.batch import _document, _pool, page_batches

FIRST = ["Maria", "James", "Linh", "Robert", "Aisha", "David", "Sofia", "Michael", "Wei", "Jennifer",
         "Carlos", "Emily", "Daniel", "Fatima", "Jose", "Olivia", "Kevin", "Grace", "Luis", "Hannah"]
LAST = ["Gonzalez", "Smith", "Nguyen", "Johnson", "Khan", "Lee", "Martinez", "Brown", "Chen", "Garcia",
        "Kim", "Lopez", "Wilson", "Patel", "Hernandez", "Davis", "Park", "Rodriguez", "Miller", "Tran"]
STREETS = ["W Sunset Blvd", "N Figueroa St", "Wilshire Blvd", "E 4th St", "S Vermont Ave", "Hill St",
           "Olympic Blvd", "N Main St", "Melrose Ave", "Crenshaw Blvd"]
CITIES = ["Los Angeles", "Pasadena", "Glendale", "Burbank", "Hollywood", "Van Nuys"]


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


def _signature_bank(n: int, dpi: int, rng) -> list[np.ndarray]:
    try:
        from fixtures.signatures import render_signature
    except ImportError:  # the writer model is another fixture; scribbles do
        from fixtures.forms import scribble
        return [scribble(rng, int(0.4 * dpi)) for _ in range(n)]
    out = []
    for i in range(n):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        out.append(render_signature(name, 1000 + i, i, dpi=dpi))
    return out


#: Bumped whenever make_filing draws a different filing for the same
#: arguments, so a --cache folder of an older filing is not reused.
FILING_VERSION = 5


#: Artefact mixes: ``stress`` (the default) turns every page by up to +/-5
#: degrees and scales it 0.96-1.03, the worst a flatbed or a copier does, for
#: the accuracy figures; ``sheet-fed`` is a document scanner's feeder (within
#: +/-0.5 degrees, true scale), everything else drawn the same way.
MIXES = {"stress": (5.0, (0.96, 1.03)), "sheet-fed": (0.5, (1.0, 1.0))}


def make_filing(n_pages: int, dpi: int, seed: int, workdir: Path, mix: str = "stress") -> tuple[list[Path], list[dict]]:
    """Render, scan and write the filing; return the documents and per-page truth."""
    max_skew, (scale_lo, scale_hi) = MIXES[mix]
    rng = np.random.default_rng(seed)
    sigs = _signature_bank(48, dpi, rng)
    gray_pages, gray_truth, bl_pages, bl_truth = [], [], [], []
    for k in range(n_pages):
        layout = "single_row" if k % 2 == 0 else "two_row"
        count = 10 if layout == "single_row" else 8
        lines = _signer_lines(count, rng, sigs)
        page, truth = render_page(lines, layout=layout, filing_title="Petition for the recall of a member of "
                                  "the city council, council district 4", section_number=1 + k // 6,
                                  page_number=1 + k % 6, dpi=dpi, rng=rng)
        art = _artefacts(rng, dpi, max_skew, scale_lo, scale_hi)
        img, M = scan(page, rng=rng, **art)
        t = transform_truth(truth, M)
        t["artefacts"] = {k2: v for k2, v in art.items()}
        (bl_pages if art["bilevel"] else gray_pages).append(img)
        (bl_truth if art["bilevel"] else gray_truth).append(t)
    docs, truths = [], []
    if gray_pages:
        docs += write_document(gray_pages, workdir / "filing-scanner.pdf", fmt="pdf", dpi=dpi)
        truths.append(gray_truth)
    if bl_pages:
        docs += write_document(bl_pages, workdir / "filing-fax.tif", fmt="tiff", dpi=dpi)
        truths.append(bl_truth)
    return docs, truths


#: How often each case is drawn on a line (issue 19): a flourish, a signature
#: spilling down (up) across the line's rule, and the strike styles.
CASE_P = {"flourish": 0.08, "overflow_down": 0.08, "overflow_up": 0.04}
STRIKE_P = {"line": 0.45, "double": 0.15, "diagonal": 0.15, "divider": 0.25}


def _signer_lines(count: int, rng, sigs) -> list[FormLine]:
    lines = []
    for _ in range(count):
        u = rng.random()
        state = "signed" if u < 0.75 else ("blank" if u < 0.9 else "struck")
        strike = str(rng.choice(list(STRIKE_P), p=list(STRIKE_P.values()))) if state == "struck" else "line"
        v = rng.random()
        flourish = state != "blank" and v < CASE_P["flourish"]
        overflow = ""
        if state != "blank" and not flourish:
            if v < CASE_P["flourish"] + CASE_P["overflow_down"]:
                overflow = "down"
            elif v < sum(CASE_P.values()):
                overflow = "up"
        lines.append(FormLine(
            printed_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            address=f"{int(rng.integers(10, 9999))} {rng.choice(STREETS)}",
            city=str(rng.choice(CITIES)),
            zip=f"9{int(rng.integers(0, 2000)):04d}",
            date_signed=f"0{int(rng.integers(1, 10))}/{int(rng.integers(10, 29))}/26",
            signature=sigs[int(rng.integers(len(sigs)))],
            state=state,
            strike=strike,
            flourish=bool(flourish),
            overflow=overflow,
        ))
    return lines


def _artefacts(rng, dpi, max_skew, scale_lo, scale_hi, phone_p: float = 0.0, desk_p: float = 0.0) -> dict:
    art = {
        "skew_deg": float(rng.uniform(-max_skew, max_skew)),
        "noise": float(rng.choice([0.0, 0.02, 0.05])),
        "shift": (float(rng.uniform(-0.12, 0.12) * dpi), float(rng.uniform(-0.12, 0.12) * dpi)),
        "scale": float(rng.uniform(scale_lo, scale_hi)),
        "rotate180": bool(rng.random() < 0.15),
        "stains": bool(rng.random() < 0.25),
        "bilevel": bool(rng.random() < 0.35),
    }
    if not art["bilevel"] and rng.random() < 0.4:
        art["jpeg_quality"] = int(rng.integers(40, 80))
    if phone_p and not art["bilevel"] and rng.random() < phone_p:
        art["perspective"] = float(rng.uniform(0.01, 0.05))  # a phone photo's keystone
        if desk_p and rng.random() < desk_p:
            # ... of the page lying on a desk, in uneven light (no draw when desk_p is 0:
            # the default filing stays the same page for page).
            art["desk"] = True
            art["uneven_light"] = float(rng.uniform(0.1, 0.35))
    return art


def make_other_layouts(pages_per_layout: int, dpi: int, seed: int, workdir: Path, mix: str = "stress",
                       phone_p: float = 0.1, desk_p: float = 0.0) -> list[tuple[str, Path, dict, list]]:
    """Pages of layouts other than the project's own (fixtures.forms.OTHER_LAYOUTS), each
    layout's pages in one PDF (gray, JPEG) and one CCITT G4 TIFF (bilevel), with its template.

    Returns (layout, document, template dict, per-page truth) for each document.
    """
    max_skew, (scale_lo, scale_hi) = MIXES[mix]
    rng = np.random.default_rng(seed + 1000)
    sigs = _signature_bank(48, dpi, rng)
    out = []
    for name in OTHER_LAYOUTS:
        spec = layout_template(name)
        groups = {"pdf": ([], []), "tiff": ([], [])}
        for k in range(pages_per_layout):
            lines = _signer_lines(int(spec["lines"]["count"]), rng, sigs)
            page, truth = render_template_page(spec, lines, dpi=dpi, rng=rng,
                                               first_line_number=1 + k * int(spec["lines"]["count"]))
            art = _artefacts(rng, dpi, max_skew, scale_lo, scale_hi, phone_p, desk_p)
            img, M = scan(page, rng=rng, **art)
            t = transform_truth(truth, M)
            t["artefacts"] = dict(art)
            pages, truths = groups["tiff" if art["bilevel"] else "pdf"]
            pages.append(img)
            truths.append(t)
        for fmt, (pages, truths) in groups.items():
            if pages:
                (doc,) = write_document(pages, workdir / f"{name}.{fmt if fmt == 'pdf' else 'tif'}",
                                        fmt=fmt, dpi=dpi)
                out.append((name, doc, spec, truths))
    return out


def _case(tl: dict, prev: dict | None, nxt: dict | None) -> str:
    """The case a truth line stands for, for the per-case report."""
    if tl["state"] == "struck":
        return f"struck:{tl.get('strike', 'line')}"
    if tl.get("flourish"):
        return "flourish"
    if tl.get("overflow"):
        return f"overflow:{tl['overflow']}"
    if (prev is not None and prev.get("overflow") == "down") or (nxt is not None and nxt.get("overflow") == "up"):
        return f"next-to-overflow:{tl['state']}"
    return tl["state"]


def score_layouts(docs: list[tuple[str, Path, dict, list]], workers: int, with_template: bool = True) -> dict:
    """Accuracy per layout and per case; pages silently wrong (accepted, not flagged, boxes or count wrong)."""
    from sigverify.pages import FormTemplate

    per_layout: dict = {}
    per_case: dict = {}
    silent, flagged, failures = 0, 0, []
    for name, doc, spec, truth in docs:
        tmpl = FormTemplate.from_dict(spec) if with_template else None
        res = list(segment_document(doc, template=tmpl, workers=workers))
        L = per_layout.setdefault(name, {"pages": 0, "pages_refused": 0, "pages_check": 0, "lines": 0,
                                         "iou_ok": 0, "state_ok": 0, "both_ok": 0, "phone_pages": 0,
                                         "phone_refused": 0, "desk_pages": 0, "desk_refused": 0})
        for r, t in zip(res, truth):
            L["pages"] += 1
            phone = "perspective" in t["artefacts"]
            L["phone_pages"] += phone
            desk = bool(t["artefacts"].get("desk"))
            L["desk_pages"] += desk
            tl_all = t["lines"]
            if r.error is not None:
                L["pages_refused"] += 1
                L["phone_refused"] += phone
                L["desk_refused"] += desk
                L["lines"] += len(tl_all)
                for i, tl in enumerate(tl_all):
                    c = per_case.setdefault(_case(tl, tl_all[i - 1] if i else None,
                                                  tl_all[i + 1] if i + 1 < len(tl_all) else None), [0, 0])
                    c[1] += 1
                if len(failures) < 40:
                    failures.append({"layout": name, "page": r.page.number, "error": str(r.error)[:200],
                                     "artefacts": t["artefacts"]})
                continue
            seg = r.segmentation
            L["pages_check"] += bool(seg.check)
            flagged += bool(seg.check)
            page_wrong = len(seg.lines) != len(tl_all)
            for i, tl in enumerate(tl_all):
                L["lines"] += 1
                sl = seg.lines[i] if i < len(seg.lines) else None
                iou = _iou(sl.signature, tl["signature"]) if sl is not None else 0.0
                st = sl is not None and sl.state == tl["state"]
                L["iou_ok"] += iou >= 0.9
                L["state_ok"] += st
                L["both_ok"] += (iou >= 0.9) and st
                page_wrong |= iou < 0.9
                c = per_case.setdefault(_case(tl, tl_all[i - 1] if i else None,
                                              tl_all[i + 1] if i + 1 < len(tl_all) else None), [0, 0])
                c[0] += int((iou >= 0.9) and st)
                c[1] += 1
                if (iou < 0.9 or not st) and len(failures) < 40:
                    failures.append({"layout": name, "page": r.page.number, "line": i + 1, "iou": round(iou, 3),
                                     "truth": tl["state"], "found": sl.state if sl else None,
                                     "case": _case(tl, None, None),
                                     "strike_cover": round(sl.strike_cover, 3) if sl else None,
                                     "artefacts": t["artefacts"]})
            if page_wrong and not seg.check:
                silent += 1
    for L in per_layout.values():
        n = max(1, L["lines"])
        L.update({"signature_iou_ge_0.9": L["iou_ok"] / n, "state_accuracy": L["state_ok"] / n,
                  "lines_right": L["both_ok"] / n})
    tot = sum(L["lines"] for L in per_layout.values())
    return {
        "with_template": with_template,
        "pages": sum(L["pages"] for L in per_layout.values()),
        "pages_refused": sum(L["pages_refused"] for L in per_layout.values()),
        "pages_flagged_check": flagged,
        "pages_silently_wrong": silent,
        "lines": tot,
        "signature_iou_ge_0.9": sum(L["iou_ok"] for L in per_layout.values()) / max(1, tot),
        "state_accuracy": sum(L["state_ok"] for L in per_layout.values()) / max(1, tot),
        "per_layout": per_layout,
        "per_case": {k: {"lines": v[1], "right": v[0] / v[1]} for k, v in sorted(per_case.items())},
        "failures": failures,
    }


def _decode_only(path: str, number: int) -> tuple[int, int]:
    page = _document(path).read(number)
    return page.image.shape


def _decode_pages(path: str, numbers: list[int]) -> list[tuple[int, int]]:
    return [_decode_only(path, n) for n in numbers]


def _decode_pass(pool, docs, counts, workers) -> float:
    # The same pool tasks as segment_document's: the same runs of pages
    # (page_batches), so both passes pay the pool's per-task cost alike.
    t0 = time.perf_counter()
    for d, c in zip(docs, counts):
        batches = page_batches(c, workers)
        list(pool.map(_decode_pages, [str(d)] * len(batches), batches, chunksize=1))
    return time.perf_counter() - t0


def _segment_pass(pool, docs, workers) -> tuple[float, list]:
    t0 = time.perf_counter()
    results = [list(segment_document(d, workers=workers, executor=pool)) for d in docs]
    return time.perf_counter() - t0, results


def _score(results, truths) -> dict:
    per_line, failures, pages_failed, silent, flagged = [], [], 0, 0, 0
    per_case: dict = {}
    for res, truth in zip(results, truths):
        for r, t in zip(res, truth):
            tl_all = t["lines"]
            cases = [_case(tl, tl_all[i - 1] if i else None, tl_all[i + 1] if i + 1 < len(tl_all) else None)
                     for i, tl in enumerate(tl_all)]
            if r.error is not None:
                pages_failed += 1
                failures.append({"page": r.page.number, "error": str(r.error), "artefacts": t["artefacts"]})
                for tl, c in zip(tl_all, cases):
                    per_line.append((0.0, False, tl["state"], None, tl.get("strike")))
                    per_case.setdefault(c, [0, 0])[1] += 1
                continue
            seg = r.segmentation
            flagged += bool(seg.check)
            wrong = len(seg.lines) != len(tl_all)
            for sl, tl, c in zip(seg.lines, tl_all, cases):
                iou = _iou(sl.signature, tl["signature"])
                wrong |= iou < 0.9
                pc = per_case.setdefault(c, [0, 0])
                pc[0] += int(iou >= 0.9 and sl.state == tl["state"])
                pc[1] += 1
                per_line.append((iou, sl.state == tl["state"], tl["state"], sl.state, tl.get("strike")))
                if iou < 0.9 or sl.state != tl["state"]:
                    failures.append({"file": Path(r.page.path).name, "page": r.page.number, "line": sl.line,
                                     "iou": round(iou, 3), "truth": tl["state"], "found": sl.state,
                                     "strike_cover": round(sl.strike_cover, 3),
                                     "ink": {k: round(v, 4) for k, v in sl.cell_ink.items()},
                                     "artefacts": t["artefacts"]})
            silent += bool(wrong and not seg.check)
    ious = np.array([p[0] for p in per_line])
    ok_state = np.array([p[1] for p in per_line])
    by_state = {}
    for s in ("signed", "blank", "struck"):
        m = np.array([p[2] == s for p in per_line])
        by_state[s] = {"lines": int(m.sum()), "right": float(ok_state[m].mean()) if m.any() else None}
    by_strike = {}
    for s in STRIKES + MORE_STRIKES:
        m = np.array([p[4] == s for p in per_line])
        by_strike[s] = {"lines": int(m.sum()), "right": float(ok_state[m].mean()) if m.any() else None}
    return {
        "lines": len(per_line),
        "pages_failed": pages_failed,
        "pages_flagged_check": flagged,
        "pages_silently_wrong": silent,
        "per_case": {k: {"lines": v[1], "right": v[0] / v[1]} for k, v in sorted(per_case.items())},
        "signature_iou_ge_0.9": float((ious >= 0.9).mean()),
        "signature_iou_mean": float(ious.mean()),
        "signature_iou_p01": float(np.percentile(ious, 1)),
        "state_accuracy": float(ok_state.mean()),
        "state_by_truth": by_state,
        "struck_by_strike": by_strike,
        "failures": failures[:50],
    }


def measure(docs, truths, workers: int, repeats: int = 5) -> dict:
    """Pool timings: decode-only and decode + segment passes over the same
    pages, alternated (the order flips every round) `repeats` times; medians.

    Other work on the machine slows both kinds of pass alike within a round,
    so the per-round ratio and the ratio of the medians are what to read.
    """
    pool = _pool(workers)
    dec, seg, results = [], [], None
    try:
        # Warm the pool (process start, imports) so neither timing pays for it.
        list(pool.map(_decode_only, [str(docs[0])] * workers, [1] * workers))
        counts = []
        for d in docs:
            with open_document(d) as doc:
                counts.append(doc.count)
        _segment_pass(pool, docs[:1], workers)  # warm caches (templates, masks) in the workers
        for k in range(repeats):
            if k % 2 == 0:
                dec.append(_decode_pass(pool, docs, counts, workers))
                t, res = _segment_pass(pool, docs, workers)
            else:
                t, res = _segment_pass(pool, docs, workers)
                dec.append(_decode_pass(pool, docs, counts, workers))
            seg.append(t)
            results = results or res
    finally:
        pool.shutdown()
    n_pages = sum(counts)
    t_decode, t_segment = float(np.median(dec)), float(np.median(seg))
    out = {"pages": n_pages}
    out.update(_score(results, truths))
    out.update({
        "repeats": repeats,
        "decode_seconds": t_decode,
        "segment_seconds": t_segment,
        "decode_seconds_all": [round(x, 4) for x in dec],
        "segment_seconds_all": [round(x, 4) for x in seg],
        "decode_pages_per_s": n_pages / t_decode,
        "segment_pages_per_s": n_pages / t_segment,
        "segment_overhead_vs_decode": t_segment / t_decode - 1.0,
        "segment_overhead_per_round_median": float(np.median([s / d for s, d in zip(seg, dec)]) - 1.0),
    })
    return out


def single_process_timing(docs, n: int = 12, repeats: int = 3) -> dict:
    """Per-page decode, and decode + segment, in one process (no pool), alternated page by page."""
    import cv2

    from sigverify.pages import segment_page

    cv2.setNumThreads(1)  # as in the pool's workers
    dec, both = [], []
    for _ in range(repeats):
        for d in docs:
            with open_document(d) as doc:
                for i in range(1, min(doc.count, n) + 1):
                    t0 = time.perf_counter()
                    doc.read(i)
                    t1 = time.perf_counter()
                    p = doc.read(i)
                    try:
                        segment_page(p.image, dpi=p.dpi)
                    except ImageInputError:
                        pass  # a refused page (counted in the accuracy section); its time still counts
                    t2 = time.perf_counter()
                    dec.append(t1 - t0)
                    both.append(t2 - t1)
    d, b = float(np.median(dec)), float(np.median(both))
    # The figure is what segmentation adds on top of decoding,
    # (decode + segment) / decode - 1; segment / decode is given alongside
    # because earlier notes quoted that one.
    return {"decode_ms_median": 1000 * d, "decode_segment_ms_median": 1000 * b,
            "segment_ms_median": 1000 * (b - d), "segment_overhead_vs_decode": b / d - 1.0,
            "segment_only_over_decode": (b - d) / d}


def _filing(args, tmp: Path) -> tuple[list[Path], list]:
    """The filing: rendered into `tmp`, or read from / written to ``--cache``."""
    if args.cache is None:
        return make_filing(args.pages, args.dpi, args.seed, tmp, args.mix)
    mix = "" if args.mix == "stress" else f"-{args.mix}"
    folder = args.cache / f"filing-v{FILING_VERSION}-p{args.pages}-d{args.dpi}-s{args.seed}{mix}"
    index = folder / "truth.json"
    if index.exists():
        data = json.loads(index.read_text())
        return [folder / n for n in data["documents"]], data["truth"]
    folder.mkdir(parents=True, exist_ok=True)
    docs, truths = make_filing(args.pages, args.dpi, args.seed, folder, args.mix)
    index.write_text(json.dumps({"documents": [d.name for d in docs], "truth": truths}))
    return docs, truths


def stage_timing(docs, n: int = 20, repeats: int = 2) -> dict:
    """CPU time per page (``time.process_time``, so other work on a shared
    machine does not count) of decoding and of each segmentation stage, in
    one process, decode and segment alternated page by page.

    The stages are timed by wrapping the segmenter's internal steps; the
    wrappers cost a few microseconds a page.
    """
    import collections

    import cv2

    from sigverify.pages import geometry as geo
    from sigverify.pages import segment as seg

    cv2.setNumThreads(1)
    spent: dict[str, float] = collections.defaultdict(float)
    stages = {"working_image": (geo, "working_image"), "registration": (seg, "_register"),
              "rule_snap": (seg, "_refine_by_rules"), "resampling (table, fields)": (seg, "_warp"),
              "line_states": (seg, "_line_states"), "crops": (seg, "_cut_cells"),
              "boxes": (seg, "_boxes_in_original")}
    saved = {}

    depth = [0]

    def wrap(label, f):
        def timed(*a, **k):
            # A stage inside another (the rule snap's resampling) counts for the outer one.
            if depth[0]:
                return f(*a, **k)
            depth[0] += 1
            t0 = time.process_time()
            try:
                return f(*a, **k)
            finally:
                spent[label] += time.process_time() - t0
                depth[0] -= 1
        return timed

    for label, (mod, name) in stages.items():
        saved[(mod, name)] = getattr(mod, name)
        setattr(mod, name, wrap(label, saved[(mod, name)]))
    t_dec = t_seg = 0.0
    pages = failed = 0
    try:
        for _ in range(repeats):
            for d in docs:
                with open_document(d) as doc:
                    for i in range(1, min(doc.count, n) + 1):
                        t0 = time.process_time()
                        p = doc.read(i)
                        t1 = time.process_time()
                        try:
                            seg.segment_page(p.image, dpi=p.dpi)
                        except ImageInputError:
                            failed += 1  # counted in the accuracy section; the time still counts
                        t2 = time.process_time()
                        t_dec += t1 - t0
                        t_seg += t2 - t1
                        pages += 1
    finally:
        for (mod, name), f in saved.items():
            setattr(mod, name, f)
    out = {"pages": pages, "pages_failed": failed, "decode_cpu_ms": 1000 * t_dec / pages, "segment_cpu_ms": 1000 * t_seg / pages,
           "segment_overhead_vs_decode_cpu": t_seg / t_dec}
    out["stages_cpu_ms"] = {k: round(1000 * v / pages, 3) for k, v in spent.items()}
    out["stages_cpu_ms"]["other"] = round(1000 * (t_seg - sum(spent.values())) / pages, 3)
    return out


_CPU_SNIPPET = r"""
import json, sys, time
import cv2
cv2.setNumThreads(1)
from sigverify.errors import ImageInputError
from sigverify.pages import open_document, segment_page
pages = []
for path in sys.argv[2:]:
    with open_document(path) as doc:
        for i in range(1, doc.count + 1):
            p = doc.read(i)
            pages.append((p.image, p.dpi))
for im, d in pages[:2]:
    try:
        segment_page(im, dpi=d)
    except ImageInputError:
        pass
t0 = time.process_time()
for _ in range(int(sys.argv[1])):
    for im, d in pages:
        try:
            segment_page(im, dpi=d)
        except ImageInputError:
            pass
print(json.dumps({"pages": len(pages), "cpu_ms": 1000 * (time.process_time() - t0) / (len(pages) * int(sys.argv[1]))}))
"""


def baseline_cpu(docs, ref: str, rounds: int = 3, repeats: int = 1) -> dict:
    """CPU ms a page of segment_page (decoded pages, one process, ``time.process_time``) of
    this tree's segmenter and of the one at git revision `ref`, alternated over `rounds`
    rounds in the same run; medians. The segmenter at `ref` is exported (git archive) to
    a temporary folder and run from there on the same documents."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        arch = subprocess.run(["git", "-C", str(root), "archive", ref, "sigverify"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=arch.stdout, check=True)
        trees = {"current": str(root), "baseline": tmp}
        got: dict[str, list[float]] = {"current": [], "baseline": []}
        for k in range(rounds):
            for name in (("current", "baseline") if k % 2 == 0 else ("baseline", "current")):
                env = {**os.environ, "PYTHONPATH": trees[name]}
                # cwd: the tree itself, so `-c`'s first path entry ('') is no other tree.
                r = subprocess.run([sys.executable, "-c", _CPU_SNIPPET, str(repeats), *map(str, docs)],
                                   capture_output=True, text=True, env=env, check=True, cwd=trees[name])
                got[name].append(json.loads(r.stdout.strip().splitlines()[-1])["cpu_ms"])
    cur, base = float(np.median(got["current"])), float(np.median(got["baseline"]))
    return {"ref": ref, "rounds": rounds, "current_cpu_ms": cur, "baseline_cpu_ms": base,
            "current_cpu_ms_all": [round(v, 2) for v in got["current"]],
            "baseline_cpu_ms_all": [round(v, 2) for v in got["baseline"]],
            "regression": cur / base - 1.0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=120)
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=5, help="alternated decode / segment rounds")
    ap.add_argument("--mix", choices=sorted(MIXES), default="stress",
                    help="page artefacts: 'stress' (every page skewed up to +/-5 degrees and scaled 0.96-1.03; the "
                    "accuracy figures) or 'sheet-fed' (a document scanner's feeder: within +/-0.5 degrees, true scale)")
    ap.add_argument("--layout-pages", type=int, default=40,
                    help="pages of each other layout (fixtures.forms.OTHER_LAYOUTS) for the accuracy of forms "
                    "segmented with a drafted-style template, and for refusing them without one (0: skip)")
    ap.add_argument("--phone", type=float, default=0.1,
                    help="share of the other layouts' gray pages that are phone photos (keystone 1-5 %%)")
    ap.add_argument("--desk", type=float, default=0.0,
                    help="share of those phone photos taken of the page lying on a desk, in uneven light "
                    "(0: none, the default filing unchanged)")
    ap.add_argument("--skip-timing", action="store_true", help="accuracy only (one segmentation pass)")
    ap.add_argument("--baseline", metavar="REV",
                    help="also time segment_page's CPU ms a page at git revision REV (e.g. 8b349fa, before the "
                    "issue 19 checks) against this tree's, alternated in the same run")
    ap.add_argument("--baseline-rounds", type=int, default=3,
                    help="alternated rounds of the --baseline timing (medians reported)")
    ap.add_argument("--out", type=Path, help="write the JSON here")
    ap.add_argument("--cache", type=Path, help="keep the rendered filing in this folder and reuse it on the next "
                    "run with the same --pages/--dpi/--seed/--mix (rendering takes longer than the benchmark)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        docs, truths = _filing(args, Path(tmp))
        t_make = time.perf_counter() - t0
        load0 = os.getloadavg()
        if args.skip_timing:
            res = {"pages": sum(len(t) for t in truths)}
            res.update(_score([list(segment_document(d, workers=args.workers)) for d in docs], truths))
        else:
            res = measure(docs, truths, args.workers, args.repeats)
            res["single_process"] = single_process_timing(docs)
            res["cpu_time"] = stage_timing(docs)
        if args.baseline:
            res["baseline_cpu"] = baseline_cpu(docs, args.baseline, rounds=args.baseline_rounds)
            res["baseline_cpu"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if args.layout_pages:
            other = make_other_layouts(args.layout_pages, args.dpi, args.seed, Path(tmp), args.mix, args.phone,
                                       args.desk)
            res["other_layouts"] = score_layouts(other, args.workers, with_template=True)
            res["other_layouts_without_template"] = score_layouts(other, args.workers, with_template=False)
        res["documents"] = [{"name": d.name, "bytes": d.stat().st_size} for d in docs]
        res["load_average"] = {"before": [round(x, 2) for x in load0],
                               "after": [round(x, 2) for x in os.getloadavg()]}
    res.update({
        "benchmark": "bench_segment",
        "dpi": args.dpi,
        "seed": args.seed,
        "mix": args.mix,
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "fixture_seconds": t_make,
        "goals": {"signature_iou_ge_0.9": 0.995, "state_accuracy": 0.995, "pages_silently_wrong": 0},
        "note": "timings on a shared machine are noisy; compare decode and segment from the same run",
    })
    summary = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()
               if k not in ("failures", "state_by_truth", "documents", "other_layouts",
                            "other_layouts_without_template")}
    if "baseline_cpu" in res:
        summary["baseline_cpu"] = res["baseline_cpu"]
    if "single_process" in res:
        summary["single_process"] = {k: round(v, 3) for k, v in res["single_process"].items()}
        summary["cpu_time"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in res["cpu_time"].items()}
    for key in ("other_layouts", "other_layouts_without_template"):
        if key in res:
            summary[key] = {k: v for k, v in res[key].items() if k != "failures"}
    print(json.dumps(summary, indent=1))
    if res["failures"]:
        print(f"{len(res['failures'])} failure(s) listed in the JSON; first: {res['failures'][0]}", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
