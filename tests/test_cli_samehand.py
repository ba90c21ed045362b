"""`petitions samehand` per shared/CONTRACT.md: pairs CSV in, pair_id,score
out; a pair with an unusable image gets an empty score and a reason while
the others are scored; a bad CSV is a one-line user error naming the file
(or row) and leaves no output. The command module is registered here on a
parser of our own (the lead wires it into petitions.cli)."""
from __future__ import annotations

import argparse
import csv

import cv2
import pytest

from petitions.commands import samehand
from petitions.errors import is_user_error

fs = pytest.importorskip("fixtures.signatures")


def _run(argv):
    parser = argparse.ArgumentParser(prog="petitions")
    sub = parser.add_subparsers(dest="command")
    samehand.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture()
def folder(tmp_path):
    (tmp_path / "s").mkdir()
    cv2.imwrite(str(tmp_path / "s" / "h1_ann.png"), fs.render_signature("Ann Lee", 501, 1, dpi=150))
    cv2.imwrite(str(tmp_path / "s" / "h1_bo.png"), fs.render_signature("Bo Wu", 501, 2, dpi=150))
    cv2.imwrite(str(tmp_path / "s" / "h2_kim.png"), fs.render_signature("Kim Ito", 502, 1, dpi=150))
    (tmp_path / "corrupt.png").write_bytes(b"not an image")
    (tmp_path / "pairs.csv").write_text(
        "pair_id,a,b\n"
        "p1,s/h1_ann.png,s/h1_bo.png\n"
        "p2,s/h1_ann.png,s/h2_kim.png\n"
        "p3,s/h1_ann.png,corrupt.png\n"
        "p4,s/missing.png,s/h2_kim.png\n"
        "p5,,s/h2_kim.png\n",
        encoding="utf-8",
    )
    return tmp_path


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_samehand_writes_one_row_per_pair(folder):
    out = folder / "out" / "samehand.csv"
    assert _run(["samehand", "--pairs", str(folder / "pairs.csv"), "--out", str(out), "--workers", "1"]) == 0
    rows = _read(out)
    assert [r["pair_id"] for r in rows] == ["p1", "p2", "p3", "p4", "p5"]
    assert list(rows[0])[:2] == ["pair_id", "score"]
    by = {r["pair_id"]: r for r in rows}
    for p in ("p1", "p2"):
        assert 0.0 <= float(by[p]["score"]) <= 1.0 and by[p]["reason"] == ""
    assert (by["p3"]["score"], by["p3"]["reason"]) == ("", "b_unreadable_signature")
    assert (by["p4"]["score"], by["p4"]["reason"]) == ("", "a_unreadable_signature")
    assert (by["p5"]["score"], by["p5"]["reason"]) == ("", "a_unreadable_signature")


def test_bad_csv_is_a_user_error_and_leaves_no_output(folder):
    out = folder / "o.csv"
    bad = folder / "bad.csv"
    bad.write_text("id,left,right\n1,a.png,b.png\n", encoding="utf-8")
    for path, words in ((bad, ("bad.csv", "pair_id,a,b")), (folder / "nope.csv", ("nope.csv",))):
        with pytest.raises(Exception) as exc:
            _run(["samehand", "--pairs", str(path), "--out", str(out)])
        assert is_user_error(exc.value)
        msg = str(exc.value)
        assert all(w in msg for w in words) and "\n" not in msg
        assert not out.exists()
    norow = folder / "norow.csv"
    norow.write_text("pair_id,a,b\n,s/h1_ann.png,s/h1_bo.png\n", encoding="utf-8")
    with pytest.raises(Exception) as exc:
        _run(["samehand", "--pairs", str(norow), "--out", str(out)])
    assert is_user_error(exc.value) and "line 2" in str(exc.value) and "pair_id" in str(exc.value)
    assert not out.exists()


def test_help_says_what_the_score_is():
    parser = argparse.ArgumentParser(prog="petitions")
    sub = parser.add_subparsers(dest="command")
    samehand.register(sub)
    text = sub.choices["samehand"].format_help()
    assert "one hand" in text.lower() or "one person" in text.lower()
    assert "pair_id,a,b" in text and "pair_id,score" in text
