"""Bad input never stops a batch (issue 21, item 7).

Every kind of bad crop or file — empty, blank paper, all black, only a
form line, huge, corrupt, zero bytes, not an image, missing — gets a
per-pair reason (``review``, never a reject) from the learned and the
classical verifier, from the same-hand scorer and from both commands,
while the good pairs of the same batch get exactly the scores they get
alone. Synthetic images only.
"""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

import sigverify
from fixtures import signatures as fs
from petitions.cli import main
from sigverify.signatures.model import load_classical_model, load_learned_model


def _line_only():
    img = np.full((100, 400), 245, np.uint8)
    cv2.line(img, (0, 80), (399, 80), 0, 2)
    return img


def _huge():
    # 12,000 x 4,000 pixels (48 MB): a whole page handed over as one crop
    img = np.full((4000, 12000), 245, np.uint8)
    cv2.putText(img, "Ann Lee", (500, 2600), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 50, 20, 80)
    return img


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = fs.render_signature("Ann Lee", 11, 1, dpi=200)
    cv2.imwrite(str(d / "good.png"), good)
    cv2.imwrite(str(d / "good2.png"), fs.render_signature("Ann Lee", 11, 2, dpi=200))
    cv2.imwrite(str(d / "other.png"), fs.render_signature("Bo Wu", 12, 1, dpi=200))
    ok, buf = cv2.imencode(".png", good)
    (d / "truncated.png").write_bytes(buf.tobytes()[: len(buf) // 3])  # a cut-off download
    (d / "zero.png").write_bytes(b"")
    (d / "notes.png").write_bytes(b"pair_id,reference\nnot an image\n")
    cv2.imwrite(str(d / "black.png"), np.zeros((80, 240), np.uint8))
    cv2.imwrite(str(d / "blank.png"), np.full((80, 240), 245, np.uint8))
    cv2.imwrite(str(d / "line.png"), _line_only())
    return d


#: questioned crop -> the reason every verifier must give it
BAD_QUESTIONED = {
    "empty array": (lambda d: np.zeros((0, 0), np.uint8), "empty_signature"),
    "blank paper": (lambda d: np.full((80, 240), 245, np.uint8), "empty_signature"),
    "all black": (lambda d: np.zeros((80, 240), np.uint8), "unreadable_signature"),
    "only a form line": (lambda d: _line_only(), "empty_signature"),
    "two pixels": (lambda d: np.zeros((2, 2), np.uint8), "unreadable_signature"),
    "None": (lambda d: None, "unreadable_signature"),
    "truncated file": (lambda d: str(d / "truncated.png"), "unreadable_signature"),
    "zero-byte file": (lambda d: str(d / "zero.png"), "unreadable_signature"),
    "text file": (lambda d: str(d / "notes.png"), "unreadable_signature"),
    "missing file": (lambda d: str(d / "nope.png"), "unreadable_signature"),
}


@pytest.mark.parametrize("load", [load_learned_model, load_classical_model], ids=["learned", "classical"])
def test_every_bad_crop_gets_its_reason_and_the_good_pairs_keep_their_scores(files, load):
    model = load()
    good, good2, other = (str(files / n) for n in ("good.png", "good2.png", "other.png"))
    q = [good, good2]
    refs = [[good2], [good, other]]
    for make, _why in BAD_QUESTIONED.values():
        q.append(make(files))
        refs.append([good])
    # bad exemplars: all bad -> bad_exemplar; one bad beside a good one -> scored on the good one
    q += [good2, good2, good2]
    refs += [[str(files / "truncated.png"), np.zeros((80, 240), np.uint8), _line_only()], [], [str(files / "zero.png"), good]]
    q.append(_huge())
    refs.append([good])

    res = sigverify.verify(q, refs, model=model, workers=2)
    n_bad = len(BAD_QUESTIONED)
    assert list(res.reason[2:2 + n_bad]) == [why for _, why in BAD_QUESTIONED.values()]
    assert (res.decision[2:2 + n_bad] == "review").all() and np.isnan(res.score[2:2 + n_bad]).all()
    tail = 2 + n_bad
    assert list(res.reason[tail:tail + 2]) == ["bad_exemplar", "no_exemplar"]
    assert res.bad_references[tail] == 3 and res.n_references[tail] == 0
    assert res.n_references[tail + 2] == 1 and res.bad_references[tail + 2] == 1 and res.best_reference[tail + 2] == 1
    # the huge crop is read (scaled down), not refused: a score and a decision like any other
    assert np.isfinite(res.score[-1]) and res.decision[-1] in ("consistent", "review")
    assert set(res.decision) <= {"consistent", "review"}
    # the good pairs score exactly as in a batch of their own
    alone = sigverify.verify(q[:2], refs[:2], model=model, workers=1)
    np.testing.assert_allclose(res.score[:2], alone.score, rtol=1e-6)
    np.testing.assert_allclose(res.score[tail + 2], sigverify.verify([good2], [[good]], model=model).score[0],
                               rtol=1e-6)


def test_samehand_names_the_bad_side_and_scores_the_rest(files):
    good, other = str(files / "good.png"), str(files / "other.png")
    a = [good] + [make(files) for make, _ in BAD_QUESTIONED.values()] + [good, _huge()]
    b = [other] * (1 + len(BAD_QUESTIONED)) + [str(files / "truncated.png"), other]
    s = sigverify.samehand_scores(a, b)
    assert list(s.reason[1:1 + len(BAD_QUESTIONED)]) == ["a_" + why for _, why in BAD_QUESTIONED.values()]
    assert s.reason[-2] == "b_unreadable_signature"
    assert np.isnan(s.score[1:-1]).all()
    assert np.isfinite(s.score[[0, -1]]).all() and s.reason[0] == s.reason[-1] == ""
    np.testing.assert_allclose(s.score[0], sigverify.samehand_scores([good], [other]).score[0], rtol=1e-6)


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["pair_id"]: r for r in csv.DictReader(fh)}


def test_commands_write_a_row_with_a_reason_for_every_bad_file(files, tmp_path):
    names = ["truncated.png", "zero.png", "notes.png", "black.png", "blank.png", "line.png", "nope.png"]
    (tmp_path / "pairs.csv").write_text(
        "pair_id,reference,questioned\n"
        + "".join(f"q{i},{files / 'good.png'},{files / n}\n" for i, n in enumerate(names))
        + f"ok,{files / 'good.png'},{files / 'good2.png'}\n", encoding="utf-8")
    assert main(["sigscore", "--pairs", str(tmp_path / "pairs.csv"), "--out", str(tmp_path / "s.csv"),
                 "--workers", "1"]) == 0
    rows = _read(tmp_path / "s.csv")
    assert [rows[f"q{i}"]["reason"] for i in range(len(names))] == [
        "unreadable_signature", "unreadable_signature", "unreadable_signature", "unreadable_signature",
        "empty_signature", "empty_signature", "unreadable_signature"]
    assert all(rows[f"q{i}"]["decision"] == "review" for i in range(len(names)))
    assert rows["ok"]["reason"] in ("", "low_score") and 0 < float(rows["ok"]["score"]) <= 1

    (tmp_path / "same.csv").write_text(
        "pair_id,a,b\n" + "".join(f"q{i},{files / n},{files / 'other.png'}\n" for i, n in enumerate(names))
        + f"ok,{files / 'good.png'},{files / 'other.png'}\n", encoding="utf-8")
    assert main(["samehand", "--pairs", str(tmp_path / "same.csv"), "--out", str(tmp_path / "h.csv")]) == 0
    rows = _read(tmp_path / "h.csv")
    assert set(rows) == {f"q{i}" for i in range(len(names))} | {"ok"}
    assert [rows[f"q{i}"]["reason"] for i in range(len(names))] == [
        "a_unreadable_signature", "a_unreadable_signature", "a_unreadable_signature", "a_unreadable_signature",
        "a_empty_signature", "a_empty_signature", "a_unreadable_signature"]
    assert all(rows[f"q{i}"]["score"] == "" for i in range(len(names)))
    assert rows["ok"]["reason"] == "" and 0 <= float(rows["ok"]["score"]) <= 1
