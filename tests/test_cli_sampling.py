"""`petitions sample-projection` and `petitions sample-tickets` per shared/CONTRACT.md."""
from __future__ import annotations

import json

import consistent_sampler as cs
import pytest

from petitions.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_projection_json_worked_example(capsys):
    code, out, _ = run(capsys, "sample-projection", "--raw", "25000", "--sample", "1250", "--valid", "900",
                       "--duplicates", "1", "--required", "15000", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["projected_valid"] == 17_620
    assert data["percent_of_required"] == pytest.approx(117.47)
    assert data["outcome"] == "qualifies"


def test_projection_json_without_required_has_null_outcome(capsys):
    code, out, _ = run(capsys, "sample-projection", "--raw", "25000", "--sample", "1250", "--valid", "900",
                       "--duplicates", "1", "--json")
    data = json.loads(out)
    assert code == 0 and data["projected_valid"] == 17_620
    assert data["outcome"] is None and data["percent_of_required"] is None


@pytest.mark.parametrize("required, ruleset, expected", [
    ("16018", None, "qualifies"),       # 110 % of 16,018 = 17,619.8 < 17,620
    ("16019", None, "full_count"),      # 110 % of 16,019 = 17,620.9 ≥ 17,620
    ("18547", None, "full_count"),      # 95 % of 18,547 = 17,619.65 ≤ 17,620
    ("18548", None, "fails"),           # 95 % of 18,548 = 17,620.6 > 17,620
    ("18548", "ca-recall-local", "full_count"),  # 90 % band
])
def test_projection_outcome_edges(capsys, required, ruleset, expected):
    argv = ["sample-projection", "--raw", "25000", "--sample", "1250", "--valid", "900", "--duplicates", "1",
            "--required", required, "--json"]
    if ruleset:
        argv += ["--ruleset", ruleset]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and json.loads(out)["outcome"] == expected


def test_projection_human_output_shows_every_step(capsys):
    code, out, _ = run(capsys, "sample-projection", "--raw", "25000", "--sample", "1250", "--valid", "900",
                       "--duplicates", "1", "--required", "15000")
    assert code == 0
    for text in ("72.00 %", "18,000", "20.0000", "380", "17,620", "117.47 %", "qualifies"):
        assert text in out


@pytest.mark.parametrize("argv, words", [
    (["--raw", "100", "--sample", "200", "--valid", "1", "--duplicates", "0"], "larger than the raw count"),
    (["--raw", "-100", "--sample", "20", "--valid", "1", "--duplicates", "0"], "negative"),
    (["--raw", "100", "--sample", "20", "--valid", "21", "--duplicates", "0"], "valid count"),
    (["--raw", "100", "--sample", "20", "--valid", "2", "--duplicates", "x"], "whole number"),
    (["--raw", "100", "--sample", "20", "--valid", "2", "--duplicates", "0", "--required", "50",
      "--ruleset", "no-such-rules"], "no rule set named"),
])
def test_projection_bad_input_one_line_error(capsys, argv, words):
    code, out, err = run(capsys, "sample-projection", *argv)
    assert code != 0 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def write_ids(tmp_path, ids, name="ids.txt"):
    path = tmp_path / name
    path.write_text("\n".join(ids) + "\n", encoding="utf-8")
    return path


def test_tickets_json_domain_vector(capsys, tmp_path):
    path = write_ids(tmp_path, ["A-1", "A-2", "A-3", "B-1", "B-2", "B-3"])
    code, out, _ = run(capsys, "sample-tickets", "--ids", str(path), "--seed", "314159", "--take", "4", "--json")
    data = json.loads(out)
    assert code == 0 and [d["id"] for d in data] == ["B-2", "B-3", "A-3", "A-2"]
    ref = list(cs.sampler(["A-1", "A-2", "A-3", "B-1", "B-2", "B-3"], seed="314159", take=4, output="tuple"))
    assert [d["ticket"][: len(t)] for d, (t, _, _) in zip(data, ref)] == [t for t, _, _ in ref]


def test_tickets_match_reference_on_a_frame(capsys, tmp_path):
    ids = [f"S{s:02d}-P{p}-L{l:02d}" for s in range(1, 4) for p in range(1, 4) for l in range(1, 16)]
    path = write_ids(tmp_path, ids)
    code, out, _ = run(capsys, "sample-tickets", "--ids", str(path), "--seed", "00271828", "--take", "25",
                       "--json", "--digits", "9")
    ref = list(cs.sampler(ids, seed="00271828", take=25, output="tuple"))
    assert code == 0 and [(d["ticket"], d["id"]) for d in json.loads(out)] == [(t, i) for t, i, _ in ref]


def test_tickets_take_more_than_frame_and_human_output(capsys, tmp_path):
    path = write_ids(tmp_path, ["x", "y", "z"])
    code, out, _ = run(capsys, "sample-tickets", "--ids", str(path), "--seed", "s", "--take", "10")
    assert code == 0 and "frame hash" in out and "seed 's'" in out
    assert sum(1 for line in out.splitlines() if line.strip()[:1].isdigit()) == 3


@pytest.mark.parametrize("content, words", [
    ("", "no line ids"),
    ("\n  \n", "no line ids"),
    ("A-1\nA-2\nA-1\n", "appears twice"),
])
def test_tickets_bad_ids_file(capsys, tmp_path, content, words):
    path = tmp_path / "ids.txt"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "sample-tickets", "--ids", str(path), "--seed", "1", "--take", "2")
    assert code != 0 and words in err and len(err.strip().splitlines()) == 1


def test_tickets_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "sample-tickets", "--ids", str(tmp_path / "nope.txt"), "--seed", "1", "--take", "2")
    assert code != 0 and "not found" in err


def test_tickets_negative_take(capsys, tmp_path):
    path = write_ids(tmp_path, ["a"])
    code, _, err = run(capsys, "sample-tickets", "--ids", str(path), "--seed", "1", "--take", "-3")
    assert code != 0 and "negative" in err
