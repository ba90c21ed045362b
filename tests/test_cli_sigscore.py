"""`petitions sigscore` per shared/CONTRACT.md: pairs CSV in, scores CSV out,
per-pair problems become `review` with a reason, a bad CSV is a one-line
user error and leaves no output behind."""
from __future__ import annotations

import csv

import cv2
import pytest

from petitions.cli import main


def _hand(path, name, writer, sample):
    from fixtures import signatures as fs

    cv2.imwrite(str(path), fs.render_signature(name, writer, sample, dpi=200))


@pytest.fixture()
def folder(tmp_path):
    # one synthetic writer's exemplars and signature, and another writer's signature of the same name
    # (two wavy scribbles from one generator are one "hand" to a learned embedding)
    (tmp_path / "ex").mkdir()
    _hand(tmp_path / "ex" / "a1.png", "Ann Lee", 31, 1)
    _hand(tmp_path / "ex" / "a2.png", "Ann Lee", 31, 2)
    _hand(tmp_path / "q_a.png", "Ann Lee", 31, 3)
    _hand(tmp_path / "q_b.png", "Ann Lee", 32, 3)
    (tmp_path / "corrupt.png").write_bytes(b"not an image")
    (tmp_path / "pairs.csv").write_text(
        "pair_id,reference,questioned\n"
        "p1,ex/a1.png,q_a.png\n"
        "p2,ex/a1.png;ex/a2.png,q_a.png\n"
        "p3,ex/missing.png,q_a.png\n"
        "p4,ex/a1.png,corrupt.png\n"
        "p5,,q_a.png\n"
        "p6,ex/a1.png;ex/a2.png,q_b.png\n",
        encoding="utf-8",
    )
    return tmp_path


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sigscore_writes_one_row_per_pair(folder):
    out = folder / "out" / "scores.csv"
    assert main(["sigscore", "--pairs", str(folder / "pairs.csv"), "--out", str(out), "--workers", "1"]) == 0
    rows = _read(out)
    assert [r["pair_id"] for r in rows] == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert list(rows[0])[:3] == ["pair_id", "score", "decision"]
    by = {r["pair_id"]: r for r in rows}
    for r in rows:
        assert 0.0 <= float(r["score"]) <= 1.0
        assert r["decision"] in ("consistent", "review")
    # two exemplars accept the writer; one exemplar is held to the strict single-exemplar point (no
    # synthetic skilled forgery passes it) and may go to review, but scores far above another writer
    assert by["p2"]["decision"] == "consistent"
    assert float(by["p1"]["score"]) > float(by["p6"]["score"]) + 0.5
    assert float(by["p2"]["score"]) > float(by["p6"]["score"]) + 0.5
    assert (by["p3"]["decision"], by["p3"]["reason"]) == ("review", "bad_exemplar")
    assert (by["p4"]["decision"], by["p4"]["reason"]) == ("review", "unreadable_signature")
    assert (by["p5"]["decision"], by["p5"]["reason"]) == ("review", "no_exemplar")
    assert by["p6"]["decision"] == "review"


def test_bad_header_is_a_user_error_naming_the_file(folder, capsys):
    bad = folder / "bad.csv"
    bad.write_text("id,ref,q\n1,a.png,b.png\n", encoding="utf-8")
    out = folder / "o.csv"
    assert main(["sigscore", "--pairs", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "pair_id" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert main(["sigscore", "--pairs", str(folder / "nope.csv"), "--out", str(out)]) == 2
    assert "nope.csv" in capsys.readouterr().err
    assert not out.exists()
