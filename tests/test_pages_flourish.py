"""A long flat flourish is not a strike; strikes of every style still are (issue 19, item 3).

A signature that ends in a long, flat underline stroke (``FormLine.flourish``)
on a two-row block form puts that stroke just above the rule between the
block's rows, where a strike drawn along that rule lies. Read as `struck`, a
valid signer is proposed invalid by software. Such a stroke crosses the
signature's cell and only a little of the next one; a strike along the rule
crosses the cells on both sides of it. These are the fixture pages (seeded
signatures, 1-bit scans) on which the flourish read `struck` before.
"""
from __future__ import annotations

import numpy as np
import pytest
from page_helpers import iou

from fixtures.forms import FormLine, layout_template, render_page, render_template_page, scan, transform_truth
from fixtures.signatures import render_signature
from sigverify.pages import FormTemplate, segment_page

NAMES = ["Maria Gonzalez", "James Smith", "Linh Nguyen", "Robert Johnson", "Aisha Khan", "David Lee",
         "Sofia Martinez", "Wei Chen"]
HAIRLINE = "two-row-hairline"


def _line(i: int, name: str, seed: int, **kw) -> FormLine:
    return FormLine(name, f"{100 + i} Main St", "Pasadena", "91101", "",
                    render_signature(name, 1000 + seed * 8 + i, i, dpi=200), **kw)


@pytest.mark.parametrize("seed, flipped", [(8, 0), (19, 4)])
def test_a_long_flat_flourish_above_the_rows_divider_reads_signed(seed, flipped):
    # Every line signed, each signature ending in a long flat flourish; 1-bit
    # scan, skewed. Before, line `flipped` of this page read struck (strike cover 0.51 / 0.53).
    spec = layout_template(HAIRLINE)
    rng = np.random.default_rng(seed)
    lines = [_line(i, nm, seed, state="signed", flourish=True) for i, nm in enumerate(NAMES)]
    page, truth = render_template_page(spec, lines, dpi=200, rng=rng)
    img, M = scan(page, rng=np.random.default_rng(seed), skew_deg=-4.2, noise=0.05, bilevel=True)
    seg = segment_page(img, template=FormTemplate.from_dict(spec), dpi=200)
    truth = transform_truth(truth, M)
    got = [(ln.state, round(ln.strike_cover, 2)) for ln in seg.lines]
    assert [s for s, _ in got] == ["signed"] * len(NAMES), got
    assert seg.lines[flipped].strike_cover < 0.3, got
    for g, w in zip(seg.lines, truth["lines"]):
        assert iou(g.signature, w["signature"]) >= 0.9


@pytest.mark.parametrize("layout", ["two_row", HAIRLINE])
@pytest.mark.parametrize("art", [dict(skew_deg=-4.2, noise=0.05, bilevel=True),
                                 dict(skew_deg=1.7, noise=0.05, perspective=0.03, desk=True, uneven_light=0.25),
                                 dict(skew_deg=2.5, noise=0.02, rotate180=True, jpeg_quality=60)],
                         ids=["bilevel", "desk-photo", "upside-down"])
def test_strikes_of_every_style_still_read_struck_beside_flourishes(layout, art):
    # Struck lines (along the rows' divider, one line along a row, two, corner
    # to corner; some of them with a flourish too) between signed lines
    # ending in a flourish.
    seed = 5
    rng = np.random.default_rng(seed)
    kinds = [("divider", False), "signed", ("line", True), "signed", ("double", False), "signed",
             ("diagonal", True), ("divider", True)]
    lines = [_line(i, NAMES[i], seed, state="signed", flourish=True) if k == "signed"
             else _line(i, NAMES[i], seed, state="struck", strike=k[0], flourish=k[1]) for i, k in enumerate(kinds)]
    if layout == "two_row":
        page, truth = render_page(lines, layout="two_row", dpi=200, rng=rng)
        t = None
    else:
        spec = layout_template(HAIRLINE)
        page, truth = render_template_page(spec, lines, dpi=200, rng=rng)
        t = FormTemplate.from_dict(spec)
    img, M = scan(page, rng=rng, **art)
    seg = segment_page(img, template=t, dpi=200)
    got = [(ln.state, round(ln.strike_cover, 2)) for ln in seg.lines]
    assert [s for s, _ in got] == [ln.state for ln in lines], got
    truth = transform_truth(truth, M)
    for g, w in zip(seg.lines, truth["lines"]):
        assert iou(g.signature, w["signature"]) >= 0.9


@pytest.mark.parametrize("seed", [0, 3])
def test_a_page_struck_along_the_divider_on_every_line_reads_struck(seed):
    # Every line struck along the rule between its rows, every other one with
    # a flourish too: the median line, which stands for the printed rule,
    # holds a strike, so what is left of each strike beside it is patchy.
    # Each still reads struck (the cells it crosses are not asked for then).
    spec = layout_template(HAIRLINE)
    rng = np.random.default_rng(seed)
    lines = [_line(i, nm, seed, state="struck", strike="divider", flourish=(i + seed) % 2 == 1)
             for i, nm in enumerate(NAMES)]
    page, _truth = render_template_page(spec, lines, dpi=200, rng=rng)
    img, _M = scan(page, rng=np.random.default_rng(seed), skew_deg=-4.2, noise=0.05, bilevel=True)
    seg = segment_page(img, template=FormTemplate.from_dict(spec), dpi=200)
    got = [(ln.state, round(ln.strike_cover, 2)) for ln in seg.lines]
    assert [s for s, _ in got] == ["struck"] * len(NAMES), got


def test_a_divider_strike_partly_hidden_still_reads_struck_on_the_projects_two_row_form():
    # Line 2 struck along the rule between the rows and ending in a flourish;
    # a desk photo in uneven light. A stretch of the strike in the middle of
    # the block does not show beside the rule (crossed: name 1.0, address
    # 0.46; signature 0.99, city 0.3, zip 0.63): more than half of three
    # cells of the two rows is a strike, not a flourish.
    seed = 3
    kinds = "SdFSDSDF"
    rng = np.random.default_rng(seed)
    lines = [_line(i, nm, seed, state="struck" if k in "Dd" else "signed", strike="divider", flourish=k in "dF")
             for i, (nm, k) in enumerate(zip(NAMES, kinds))]
    page, _truth = render_page(lines, layout="two_row", dpi=200, rng=rng)
    img, _M = scan(page, rng=np.random.default_rng(seed), skew_deg=1.7, noise=0.05, perspective=0.03, desk=True,
                   uneven_light=0.25)
    seg = segment_page(img, dpi=200)
    got = [(ln.state, round(ln.strike_cover, 2)) for ln in seg.lines]
    assert [s for s, _ in got] == [ln.state for ln in lines], got
