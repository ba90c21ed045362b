"""How exactly `petitions template draft` places a form's rules, declaration
lines and corner marks (issue 19 item 2: "rules within 0.01 in").

Renders the blank form of every fixture layout — the project's two forms
(with their declaration and corner marks) and `fixtures.forms.OTHER_LAYOUTS`
with a circulator's declaration and corner marks added — at 200 and 300 dpi,
scans it with each artefact mix (skew, sensor noise, JPEG, 1-bit, stains),
drafts a template (:func:`sigverify.pages.draft.draft_template`) and compares
it with the layout's own template:

* rules: every horizontal and vertical rule of the lines' cells
  (:func:`sigverify.pages.fit.template_rules`), the line pitch, the table;
* fields: each declaration line's y and both its ends;
* marks: each mark's centre.

A draft that fails, or finds a different number of rules, lines, fields or
marks, is counted as failed. Prints a summary; writes JSON (``--out``).

    python benchmarks/bench_template_draft.py --seeds 2 --out bench_template_draft.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from fixtures.forms import OTHER_LAYOUTS, _template, layout_template, render_page, render_template_page, scan
from sigverify.pages import FormTemplate
from sigverify.pages.draft import draft_template
from sigverify.pages.fit import template_rules

ARTEFACTS = {
    "skew+noise": dict(skew_deg=(-4, 4), noise=0.02),
    "skew+JPEG 60": dict(skew_deg=(-3, 3), noise=0.03, jpeg_quality=60),
    "1-bit": dict(skew_deg=(-2, 2), noise=0.02, bilevel=True),
    "stains+blur": dict(skew_deg=(-2, 2), noise=0.02, stains=True, blur=1.0),
}


def with_decl_and_marks(name: str) -> dict:
    """An OTHER_LAYOUTS template with a declaration (two rows of two lines) under the table and corner marks."""
    t = layout_template(name)
    W, H = t["page"]["width"], t["page"]["height"]
    t["marks"] = [{"x": x, "y": y, "size": 0.25} for x, y in ((0.4, 0.4), (W - 0.4, 0.4), (W - 0.4, H - 0.4),
                                                              (0.4, H - 0.4))]
    y1 = t["table"]["y"] + t["table"]["h"] + 0.45
    t["fields"] = {"circulator_name": {"x": 0.6, "y": y1 - 0.3, "w": 3.5, "h": 0.3},
                   "circulator_address": {"x": 4.4, "y": y1 - 0.3, "w": 3.5, "h": 0.3},
                   "circulation_dates": {"x": 0.6, "y": y1 + 0.1, "w": 3.0, "h": 0.3},
                   "circulator_signature": {"x": 4.4, "y": y1 + 0.1, "w": 3.5, "h": 0.3}}
    return t


def layouts() -> dict[str, tuple[dict, object]]:
    out = {}
    for n in ("single_row", "two_row"):
        out[n] = (_template(n), lambda dpi, rng, n=n: render_page([], layout=n, dpi=dpi, rng=rng)[0])
    for n in OTHER_LAYOUTS:
        spec = with_decl_and_marks(n)
        out[n] = (spec, lambda dpi, rng, spec=spec: render_template_page(spec, [], dpi=dpi, rng=rng)[0])
    return out


def compare(got: FormTemplate, want: dict) -> dict:
    w = FormTemplate.from_dict(want)
    gh, gv, _ = template_rules(got)
    wh, wv, _ = template_rules(w)
    gh, gv, wh, wv = (np.array(sorted(a)) for a in (gh, gv, wh, wv))
    if got.line_count != w.line_count or len(gh) != len(wh) or len(gv) != len(wv):
        return {"ok": False, "why": f"{got.line_count} lines, {len(gh)}/{len(gv)} rules "
                                    f"(want {w.line_count}, {len(wh)}/{len(wv)})"}
    rules = np.r_[np.abs(gh - wh), np.abs(gv - wv), abs(got.line_top - w.line_top),
                  np.abs(np.array(got.table) - np.array(w.table))]
    res = {"ok": True, "rules": rules.tolist(), "pitch": abs(got.line_pitch - w.line_pitch)}
    if list(got.fields) != list(w.fields):
        return {**res, "ok": False, "why": f"fields {list(got.fields)} (want {list(w.fields)})"}
    fe = [abs(v) for n in w.fields for v in (got.fields[n][0] - w.fields[n][0],
                                             got.fields[n][0] + got.fields[n][2] - w.fields[n][0] - w.fields[n][2],
                                             got.fields[n][1] + got.fields[n][3] - w.fields[n][1] - w.fields[n][3])]
    if got.marks.shape != w.marks.shape:
        return {**res, "ok": False, "why": f"{len(got.marks)} marks (want {len(w.marks)})"}
    me = np.abs(got.marks[:, :2] - w.marks[:, :2]).ravel().tolist() if len(w.marks) else []
    return {**res, "fields": fe, "marks": me}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2, help="scans per layout, dpi and artefact mix")
    ap.add_argument("--out", help="JSON file to write")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    t0 = time.time()
    cases = []
    for name, (spec, render) in layouts().items():
        for dpi in (200, 300):
            for art, kw in ARTEFACTS.items():
                for seed in range(args.seeds):
                    rng = np.random.default_rng(1000 * seed + dpi + len(name))
                    kw2 = dict(kw)
                    kw2["skew_deg"] = float(rng.uniform(*kw["skew_deg"]))
                    img, _ = scan(render(dpi, rng), rng=rng, **kw2)
                    try:
                        r = compare(draft_template(img, dpi), spec)
                    except Exception as exc:  # noqa: BLE001 - a failed draft is a result
                        r = {"ok": False, "why": str(exc)}
                    cases.append({"layout": name, "dpi": dpi, "artefacts": art, "skew": round(kw2["skew_deg"], 2),
                                  **r})
    summary = {}
    for key in ("all", *ARTEFACTS, 200, 300, *layouts()):
        sel = [c for c in cases if key == "all" or key in (c["artefacts"], c["dpi"], c["layout"])]
        ok = [c for c in sel if c["ok"]]
        s = {"drafts": len(sel), "failed": len(sel) - len(ok)}
        for part in ("rules", "fields", "marks"):
            v = np.array([e for c in ok for e in c.get(part, [])])
            if v.size:
                s[part] = {"n": int(v.size), "max_in": round(float(v.max()), 4),
                           "p95_in": round(float(np.percentile(v, 95)), 4),
                           "mean_in": round(float(v.mean()), 4), "over_0.01": int((v > 0.01).sum())}
        summary[str(key)] = s
    out = {"machine": platform.node(), "cpus": os.cpu_count(), "load_before": load0, "load_after": os.getloadavg(),
           "seconds": round(time.time() - t0, 1), "summary": summary,
           "failed": [c for c in cases if not c["ok"]]}
    for k, s in summary.items():
        print(f"{k:>22}: {s['drafts']} drafts, {s['failed']} failed; "
              + "; ".join(f"{p} max {s[p]['max_in']:.4f} p95 {s[p]['p95_in']:.4f} in ({s[p]['over_0.01']} of "
                          f"{s[p]['n']} over 0.01)" for p in ("rules", "fields", "marks") if p in s))
    for c in out["failed"]:
        print(f"failed: {c['layout']} {c['dpi']} dpi {c['artefacts']} skew {c['skew']}: {c['why']}")
    print(f"load average {load0[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
