"""Templates drafted from a blank form, and pages of other layouts (issue 19)."""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest
from page_helpers import iou

from fixtures.forms import (
    OTHER_LAYOUTS,
    FormLine,
    _template,
    layout_template,
    render_page,
    render_template_page,
    scan,
    transform_truth,
    write_document,
)
from petitions.commands import template as template_cmd
from petitions.errors import is_user_error
from sigverify.errors import ImageInputError
from sigverify.pages import FormTemplate, load_template, segment_page
from sigverify.pages.draft import draft_template
from sigverify.pages.fit import template_rules


def _known(name: str) -> dict:
    return _template(name) if name in ("single_row", "two_row") else layout_template(name)


def _blank(name: str, dpi: int, rng) -> np.ndarray:
    if name in ("single_row", "two_row"):
        return render_page([], layout=name, dpi=dpi, rng=rng)[0]
    return render_template_page(layout_template(name), [], dpi=dpi, rng=rng)[0]


def _rules(t: FormTemplate) -> tuple[np.ndarray, np.ndarray]:
    h, v, _ = template_rules(t)
    return np.array(sorted(h)), np.array(sorted(v))


@pytest.mark.parametrize("name", ["single_row", "two_row", *OTHER_LAYOUTS])
@pytest.mark.parametrize("dpi, skew", [(150, 0.8), (200, -2.5)])
def test_a_drafted_template_puts_every_rule_within_a_hundredth_of_an_inch(name, dpi, skew):
    rng = np.random.default_rng(3)
    img, _ = scan(_blank(name, dpi, rng), rng=rng, skew_deg=skew, noise=0.02)
    got = draft_template(img, dpi)
    want = FormTemplate.from_dict(_known(name))
    assert got.line_count == want.line_count
    assert abs(got.line_top - want.line_top) <= 0.01 and abs(got.line_pitch - want.line_pitch) <= 0.002
    assert np.abs(np.array(got.table) - np.array(want.table)).max() <= 0.01
    # Every cell, by position: same count, each edge within 0.01 in.
    a = np.array(sorted((c.x, c.y, c.w, c.h) for c in got.cells.values()))
    b = np.array(sorted((c.x, c.y, c.w, c.h) for c in want.cells.values()))
    assert a.shape == b.shape and np.abs(a - b).max() <= 0.01
    (gh, gv), (wh, wv) = _rules(got), _rules(want)
    assert len(gh) == len(wh) and np.abs(gh - wh).max() <= 0.01
    assert len(gv) == len(wv) and np.abs(gv - wv).max() <= 0.01


def test_a_drafted_template_with_named_columns_segments_filled_pages(tmp_path):
    rng = np.random.default_rng(4)
    spec = layout_template("two-row-hairline")
    blank, _ = scan(_blank("two-row-hairline", 200, rng), rng=rng, skew_deg=1.0, noise=0.02)
    t = draft_template(blank, 200, columns=["number", "signature", "printed_name", "address", "city", "zip"])
    assert [n for n, c in t.cells.items() if not c.content] == ["number"]
    # Printed labels in the cells became masks.
    assert all(c.masks for n, c in t.cells.items() if c.content)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(t.to_dict()))
    t2 = load_template(path)
    states = ["signed", "blank", "struck", "signed", "blank", "signed", "struck", "blank"]
    lines = [FormLine("Ann Lee", "1 Main St", "Pasadena", "91101", "", None, s) for s in states]
    page, truth = render_template_page(spec, lines, dpi=200, rng=rng)
    img, M = scan(page, rng=rng, skew_deg=-2.0, noise=0.02, rotate180=True)
    seg = segment_page(img, template=t2, dpi=200)
    truth = transform_truth(truth, M)
    assert [ln.state for ln in seg.lines] == states
    for got, want in zip(seg.lines, truth["lines"]):
        assert iou(got.signature, want["signature"]) >= 0.9


def test_columns_must_name_every_cell():
    rng = np.random.default_rng(0)
    with pytest.raises(ImageInputError, match="7 cells per line"):
        draft_template(_blank("la-single-row", 150, rng), 150, columns=["signature", "printed_name"])
    with pytest.raises(ImageInputError, match="signature"):
        draft_template(_blank("la-single-row", 150, rng), 150, columns=[f"c{i}" for i in range(7)])


@pytest.mark.parametrize("name", list(OTHER_LAYOUTS))
def test_pages_of_other_layouts_are_never_silently_read_as_a_builtin_form(name):
    rng = np.random.default_rng(7)
    spec = layout_template(name)
    n = spec["lines"]["count"]
    for k in range(3):
        lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "1/2/26", None, "signed")] * (n - 2)
        # 200 dpi: a 1-bit scan at 150 dpi loses most of a hairline form's rules.
        page, _ = render_template_page(spec, lines, dpi=200, rng=rng)
        img, _ = scan(page, rng=rng, skew_deg=float(rng.uniform(-3, 3)), noise=0.02, bilevel=k == 1)
        with pytest.raises(ImageInputError, match="template draft") as e:
            segment_page(img, dpi=200)
        assert "no petition form" in str(e.value) or "not recognised" in str(e.value)
        # ... and with its template it is read (or, a 1-bit scan that lost the
        # hairlines, refused: never read wrong).
        try:
            seg = segment_page(img, dpi=200, template=FormTemplate.from_dict(spec))
        except ImageInputError as exc:
            assert k == 1 and name == "two-row-hairline", exc
            continue
        assert len(seg.lines) == n and seg.fit is not None


def test_a_page_of_one_of_our_forms_under_the_other_template_is_refused_naming_it():
    rng = np.random.default_rng(8)
    page, _ = render_page([FormLine("Ann Lee", "1 Main St", "LA", "90012")] * 3, layout="single_row", dpi=150,
                          rng=rng)
    img, _ = scan(page, rng=rng, skew_deg=1.0)
    with pytest.raises(ImageInputError, match="sigverify-two-row"):
        segment_page(img, dpi=150, template="sigverify-two-row")


def _run(argv):
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command")
    template_cmd.register(sub)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:
        if is_user_error(exc):
            return 2
        raise


def test_cli_draft_then_check(tmp_path, capsys):
    rng = np.random.default_rng(5)
    spec = layout_template("la-single-row")
    blank = scan(_blank("la-single-row", 150, rng), rng=rng, skew_deg=1.2)[0]
    (blank_pdf,) = write_document([blank], tmp_path / "blank.pdf", fmt="pdf", dpi=150)
    t_json = tmp_path / "la.json"
    cols = "number,printed_name,signature,address,city,zip,official"
    assert _run(["template", "draft", str(blank_pdf), "--out", str(t_json), "--columns", cols]) == 0
    data = json.loads(t_json.read_text())
    assert data["lines"]["count"] == 10 and list(data["cells"]) == cols.split(",")
    assert data["cells"]["official"]["content"] is False
    assert "10 lines" in capsys.readouterr().out
    lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, s) for s in ["signed", "blank", "struck"]]
    pages = [scan(render_template_page(spec, lines, dpi=150, rng=rng)[0], rng=rng, skew_deg=2.0)[0],
             scan(render_page(lines, layout="two_row", dpi=150, rng=rng)[0], rng=rng)[0]]
    (scans,) = write_document(pages, tmp_path / "scans.pdf", fmt="pdf", dpi=150)
    out = tmp_path / "check"
    # Page 2 is another form: refused, so the exit status is 1.
    assert _run(["template", "check", str(t_json), str(scans), "--out", str(out)]) == 1
    p1 = cv2.imread(str(out / "page-0001.png"))
    assert p1 is not None and p1.shape[:2] == pages[0].shape
    # The signature cells are drawn in red.
    assert ((p1[:, :, 2] > 180) & (p1[:, :, 1] < 80) & (p1[:, :, 0] < 80)).sum() > 1000
    captured = capsys.readouterr()
    assert "drew 1 page(s)" in captured.out and "1 page(s) refused" in captured.out
    assert "page 2 refused" in captured.err
    assert _run(["template", "draft", str(tmp_path / "none.pdf"), "--out", str(t_json)]) == 2


@pytest.mark.parametrize("name", ["la-single-row", "legal-20-row"])
def test_phone_photos_without_marks_register_from_the_sheet_and_the_table(name):
    """Keystone to 5 %, a lamp to one side, the desk around the page."""
    rng = np.random.default_rng(11)
    spec = layout_template(name)
    t = FormTemplate.from_dict(spec)
    states = ["signed", "blank", "struck", "signed", "signed", "blank"]
    for _ in range(3):
        lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "1/2/26", None, s) for s in states]
        page, truth = render_template_page(spec, lines, dpi=200, rng=rng)
        img, M = scan(page, rng=rng, skew_deg=float(rng.uniform(-4, 4)), noise=0.02,
                      perspective=float(rng.uniform(0.025, 0.05)), desk=True, uneven_light=0.3, jpeg_quality=70)
        seg = segment_page(img, template=t, dpi=200)
        truth = transform_truth(truth, M)
        assert [ln.state for ln in seg.lines[:len(states)]] == states
        assert all(ln.state == "blank" for ln in seg.lines[len(states):])
        for got, want in zip(seg.lines, truth["lines"]):
            assert iou(got.signature, want["signature"]) >= 0.9


@pytest.mark.parametrize("name", ["two_row", "two-row-hairline"])
def test_two_row_blocks_divider_strike_flourish_and_a_neighbours_loop(name):
    """A strike along the rule between a block's rows is struck; a long flat
    flourish is not a strike; a loop reaching into the blank line below (or the
    line above) leaves it blank; a loop across the table's outer rule does not
    break registration."""
    rng = np.random.default_rng(12)
    spec = _known(name)
    n = spec["lines"]["count"]
    lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, "struck", "divider"),
             FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, "signed", flourish=True),
             FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, "signed", overflow="down"),
             FormLine(state="blank"),
             FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, "struck", "divider"),
             FormLine(state="blank"),
             FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, "signed", overflow="up")]
    lines += [FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, "signed", overflow="down")] * (n - len(lines))
    want = [ln.state for ln in lines]
    for art in (dict(skew_deg=2.5, noise=0.02), dict(skew_deg=-3.0, noise=0.02, bilevel=True),
                dict(skew_deg=1.0, noise=0.03, rotate180=True, jpeg_quality=60)):
        if name == "two_row":
            page, truth = render_page(lines, layout="two_row", dpi=200, rng=rng)
            t = None
        else:
            page, truth = render_template_page(spec, lines, dpi=200, rng=rng)
            t = FormTemplate.from_dict(spec)
        img, M = scan(page, rng=rng, **art)
        seg = segment_page(img, template=t, dpi=200)
        truth = transform_truth(truth, M)
        got = [(ln.state, round(ln.strike_cover, 2)) for ln in seg.lines]
        assert [s for s, _ in got] == want, (art, got)
        for g, w in zip(seg.lines, truth["lines"]):
            assert iou(g.signature, w["signature"]) >= 0.9


# --- declaration fields and corner marks (issue 19 item 2) ---------------------------------------------

def _with_decl_and_marks(name: str) -> dict:
    """A layout of the fixtures with a circulator's declaration under its table
    (two rows of two lines to write on) and four corner marks."""
    t = layout_template(name)
    W, H = t["page"]["width"], t["page"]["height"]
    t["marks"] = [{"x": x, "y": y, "size": 0.25} for x, y in ((0.4, 0.4), (W - 0.4, 0.4), (W - 0.4, H - 0.4),
                                                              (0.4, H - 0.4))]
    y1 = t["table"]["y"] + t["table"]["h"] + 0.45  # the first row's lines
    t["fields"] = {"circulator_name": {"x": 0.6, "y": y1 - 0.3, "w": 3.5, "h": 0.3},
                   "circulator_address": {"x": 4.4, "y": y1 - 0.3, "w": 3.5, "h": 0.3},
                   "circulation_dates": {"x": 0.6, "y": y1 + 0.1, "w": 3.0, "h": 0.3},
                   "circulator_signature": {"x": 4.4, "y": y1 + 0.1, "w": 3.5, "h": 0.3}}
    return t


def _field_rules(fields: dict) -> np.ndarray:
    """Each field's line: (left end, right end, y), inches."""
    return np.array([[b[0], b[0] + b[2], b[1] + b[3]] for b in fields.values()])


@pytest.mark.parametrize("name", ["single_row", "two_row", *OTHER_LAYOUTS])
@pytest.mark.parametrize("dpi, art", [(200, dict(skew_deg=1.5, noise=0.02)),
                                      (300, dict(skew_deg=-2.0, noise=0.03, jpeg_quality=70)),
                                      (200, dict(skew_deg=0.7, noise=0.02, bilevel=True))])
def test_declaration_fields_and_corner_marks_are_drafted_within_a_hundredth_of_an_inch(name, dpi, art):
    rng = np.random.default_rng(21)
    if name in ("single_row", "two_row"):
        want = _template(name)
        blank = render_page([], layout=name, dpi=dpi, rng=rng)[0]
    else:
        want = _with_decl_and_marks(name)
        blank = render_template_page(want, [], dpi=dpi, rng=rng)[0]
    img, _ = scan(blank, rng=rng, **art)
    got = draft_template(img, dpi)
    # The four fields, named in reading order, each line (both ends and its height) within 0.01 in.
    assert list(got.fields) == ["circulator_name", "circulator_address", "circulation_dates", "circulator_signature"]
    w = {k: tuple(v[c] for c in "xywh") for k, v in want["fields"].items()}
    err = np.abs(_field_rules(got.fields) - _field_rules({k: w[k] for k in got.fields}))
    assert err.max() <= 0.01, err
    # A field's box reaches up from its line: at least 0.2 in, never into the line above.
    for k, (_x, y, _w, h) in got.fields.items():
        assert 0.2 <= h <= 0.45 and y + h == pytest.approx(w[k][1] + w[k][3], abs=0.01)
    # Four marks, each centre within 0.01 in, its side within 0.02 in.
    wm = np.array([[m["x"], m["y"], m["size"]] for m in want["marks"]])
    assert got.marks.shape == (4, 3)
    assert np.abs(got.marks[:, :2] - wm[:, :2]).max() <= 0.01 and np.abs(got.marks[:, 2] - wm[:, 2]).max() <= 0.02
    # ... and the table's rules still within 0.01 in.
    (gh, gv), (wh, wv) = _rules(got), _rules(FormTemplate.from_dict(want))
    assert len(gh) == len(wh) and np.abs(gh - wh).max() <= 0.01
    assert len(gv) == len(wv) and np.abs(gv - wv).max() <= 0.01


def test_a_form_without_declaration_or_marks_drafts_none_and_field_names_must_fit():
    rng = np.random.default_rng(22)
    got = draft_template(_blank("la-single-row", 200, rng), 200)
    assert got.fields == {} and got.marks.shape == (0, 3)
    blank = render_page([], layout="single_row", dpi=200, rng=rng)[0]
    with pytest.raises(ImageInputError, match="4 field"):
        draft_template(blank, 200, fields=["circulator_name"])
    t = draft_template(blank, 200, fields=["name", "address", "dates", "sig"])
    assert list(t.fields) == ["name", "address", "dates", "sig"]


def test_a_drafted_template_with_marks_and_fields_reads_filled_pages_and_cuts_the_declaration():
    rng = np.random.default_rng(23)
    blank, _ = scan(render_page([], layout="two_row", dpi=200, rng=rng)[0], rng=rng, skew_deg=1.0, noise=0.02)
    t = draft_template(blank, 200, columns=["number", "printed_name", "address", "official", "signature", "city",
                                            "zip"])
    t = FormTemplate.from_dict(t.to_dict())
    states = ["signed", "blank", "struck", "signed", "signed", "blank", "signed", "struck"]
    lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "", None, s) for s in states]
    page, truth = render_page(lines, layout="two_row", dpi=200, rng=rng)
    img, M = scan(page, rng=rng, skew_deg=-2.5, noise=0.02)
    seg = segment_page(img, template=t, dpi=200)
    truth = transform_truth(truth, M)
    assert [ln.state for ln in seg.lines] == states
    assert all(iou(g.signature, w["signature"]) >= 0.9 for g, w in zip(seg.lines, truth["lines"]))
    # The declaration boxes are cut where the form has them (the field's line at the box's foot).
    assert set(seg.fields) == set(truth["fields"])
    for k, box in seg.fields.items():
        assert iou(box, truth["fields"][k]) >= 0.7, k


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("art", [dict(bilevel=True), dict(stains=True, blur=1.0)])
def test_a_hairline_form_that_lost_rules_in_the_scan_is_refused_never_drafted_with_too_few_lines(seed, art):
    """A 1-bit or blurred 200 dpi scan of a hairline form loses rules: the
    draft says so (naming the remedy) instead of a template of a few lines."""
    rng = np.random.default_rng(1000 * seed + 200 + len("two-row-hairline"))
    skew = float(rng.uniform(-2, 2))
    page = render_template_page(_with_decl_and_marks("two-row-hairline"), [], dpi=200, rng=rng)[0]
    img, _ = scan(page, rng=rng, skew_deg=skew, noise=0.02, **art)
    try:
        t = draft_template(img, 200)
    except ImageInputError as exc:
        assert "lines table" in str(exc) or "signer lines" in str(exc)
    else:
        assert t.line_count == 8 and len(t.cells) == 6
