"""`petitions segment` per shared/CONTRACT.md."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from fixtures.forms import FormLine, render_page, scan, write_document
from petitions.cli import main


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    d = tmp_path_factory.mktemp("scans")
    rng = np.random.default_rng(1)
    pages = []
    for layout in ("single_row", "two_row"):
        lines = [FormLine("Ann Lee", "1 Main St", "LA", "90012", "3/1/26", None, s) for s in ("signed", "struck", "blank")]
        img, _ = render_page(lines, layout=layout, dpi=100, rng=rng)
        pages.append(scan(img, rng=rng, skew_deg=2.0)[0])
    (pdf,) = write_document(pages, d / "filing.pdf", fmt="pdf", dpi=100)
    return pdf


def test_segment_writes_json_and_crops(tmp_path, scanned, capsys):
    out = tmp_path / "out"
    code = main(["segment", str(scanned), "--out", str(out), "--workers", "1"])
    assert code == 0
    data = json.loads((out / "segments.json").read_text())
    assert [p["page"] for p in data["pages"]] == [1, 2] and data["errors"] == []
    p1 = data["pages"][0]
    assert p1["size"] == [850, 1100] and abs(p1["skew_deg"] - 2.0) < 0.3
    ln = p1["lines"][0]
    assert ln["line"] == 1 and len(ln["signature"]) == 4 and ln["blank"] is False and ln["state"] == "signed"
    assert [x["state"] for x in p1["lines"][:3]] == ["signed", "struck", "blank"]
    assert p1["lines"][2]["blank"] is True
    crop = cv2.imread(str(out / ln["crops"]["signature"]), cv2.IMREAD_GRAYSCALE)
    assert crop is not None and crop.shape[1] > crop.shape[0] and (crop < 128).any()
    assert set(ln["crops"]) == {"signature", "printed_name", "address"}
    assert not list(out.rglob("*.part"))
    assert "segmented 2 page(s)" in capsys.readouterr().out


def test_segment_with_builtin_template_name(tmp_path, scanned):
    out = tmp_path / "o"
    assert main(["segment", str(scanned), "--out", str(out), "--template", "sigverify-single-row",
                 "--no-crops", "--workers", "1"]) == 1
    data = json.loads((out / "segments.json").read_text())
    # Page 2 is the two-row form: with the single-row template it is reported, not guessed,
    # and the exit status says a page was refused.
    assert [p["page"] for p in data["pages"]] == [1] and data["errors"][0]["page"] == 2
    assert not (out / "crops").exists()


def test_unreadable_input_fails_with_one_line(tmp_path, capsys):
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    out = tmp_path / "out"
    assert main(["segment", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "scan.pdf" in err and "Traceback" not in err
    assert not (out / "segments.json").exists()


def test_nothing_segmentable_fails(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((1100, 850), 250, np.uint8))
    assert main(["segment", str(blank), "--out", str(tmp_path / "o")]) == 2
    assert "no page could be segmented" in capsys.readouterr().err


def test_bad_template_is_a_user_error(tmp_path, scanned, capsys):
    t = tmp_path / "t.json"
    t.write_text('{"lines": {"count": 3}}')
    assert main(["segment", str(scanned), "--out", str(tmp_path / "o"), "--template", str(t)]) == 2
    assert "invalid template" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["empty", "encrypted", "truncated", "not-a-form", "huge"])
def test_nothing_readable_is_one_line_naming_the_file(tmp_path, scanned, capsys, case):
    from test_pages_documents import _png_header, encrypted_pdf

    f = tmp_path / {"empty": "e.pdf", "encrypted": "locked.pdf", "truncated": "cut.pdf",
                    "not-a-form": "photo.png", "huge": "huge.png"}[case]
    if case == "empty":
        f.write_bytes(b"")
    elif case == "encrypted":
        f.write_bytes(encrypted_pdf())
    elif case == "truncated":
        f.write_bytes(scanned.read_bytes()[: scanned.stat().st_size // 2])
    elif case == "not-a-form":
        rng = np.random.default_rng(0)
        cv2.imwrite(str(f), cv2.GaussianBlur((rng.random((1100, 850)) * 255).astype(np.uint8), (0, 0), 6))
    else:
        f.write_bytes(_png_header(20_000, 20_000))
    out = tmp_path / "out"
    assert main(["segment", str(f), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f.name in err and "Traceback" not in err, err
    want = {"empty": "empty", "encrypted": "encrypted", "truncated": "truncated",
            "not-a-form": "no petition form", "huge": "too large"}[case]
    assert want in err
    assert not (out / "segments.json").exists()


def test_bad_pages_are_reported_and_the_rest_written(tmp_path, capsys):
    rng = np.random.default_rng(2)
    img, _ = render_page([FormLine("Ann Lee", "1 Main St", "LA", "90012", "3/1/26", None, "signed")],
                         dpi=100, rng=rng)
    good = scan(img, rng=rng, skew_deg=1.0)[0]
    folder = tmp_path / "pages"
    write_document([good, good], folder, fmt="png", dpi=100)
    (folder / "page-001a.png").write_bytes(b"")  # a 0-byte file between them
    cv2.imwrite(str(folder / "page-003.png"), np.full((1100, 850), 245, np.uint8))  # a blank sheet
    out = tmp_path / "out"
    assert main(["segment", str(folder), "--out", str(out), "--workers", "2", "--no-crops"]) == 1
    captured = capsys.readouterr()
    data = json.loads((out / "segments.json").read_text())
    assert [p["page"] for p in data["pages"]] == [1, 3]
    errs = {e["page"]: e for e in data["errors"]}
    assert set(errs) == {2, 4}
    assert errs[2]["file"].endswith("page-001a.png") and "empty" in errs[2]["error"]
    assert errs[4]["file"].endswith("page-003.png") and "no petition form" in errs[4]["error"]
    assert captured.err.count("warning") == 2 and "page-001a.png" in captured.err
    assert "2 page(s) failed: refused" in captured.out
    assert main(["segment", str(folder), "--out", str(tmp_path / "o2"), "--workers", "1", "--no-crops",
                 "--strict"]) == 1


def test_a_page_of_an_unknown_layout_is_refused_naming_file_page_and_candidate(tmp_path, capsys):
    from fixtures.forms import layout_template, render_template_page

    rng = np.random.default_rng(3)
    own, _ = render_page([FormLine("Ann Lee", "1 Main St", "LA", "90012")], dpi=100, rng=rng)
    other, _ = render_template_page(layout_template("la-single-row"),
                                    [FormLine("Ann Lee", "1 Main St", "LA", "90012")] * 4, dpi=100, rng=rng)
    (pdf,) = write_document([scan(own, rng=rng, skew_deg=1.0)[0], scan(other, rng=rng, skew_deg=-1.5)[0]],
                            tmp_path / "mixed.pdf", fmt="pdf", dpi=100)
    out = tmp_path / "out"
    assert main(["segment", str(pdf), "--out", str(out), "--workers", "1", "--no-crops"]) == 1
    data = json.loads((out / "segments.json").read_text())
    assert [p["page"] for p in data["pages"]] == [1] and data["pages"][0]["check"] is False
    (err,) = data["errors"]
    assert err["page"] == 2 and err["file"].endswith("mixed.pdf")
    assert "sigverify-" in err["error"] and "template draft" in err["error"]
    summary = capsys.readouterr().out
    assert "1 page(s) failed: refused" in summary
