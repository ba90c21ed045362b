"""A recall filed in batches (issue 18, item 1): each batch its own frozen
frame, sample and report; the filing's result is the sum of the batches'
counts (2 CCR §20530-style per-submission sampling, docs/recall-batches.md).

Worked numbers, through the CLI on a real workspace: batch 1 (sections 1-2,
40 signed lines) sampled 10 with seed "b1", batch 2 (section 3, 30 signed
lines) sampled 10 with seed "b2". With v1 and v2 valid lines in the two
samples and no duplicates, batch 1 projects 40 × (v1·10 %) = 4·v1 and batch 2
30 × (v2·10 %) = 3·v2 (2 CCR §20530-20532, every rounding exact here), and
the filing counts 4·v1 + 3·v2. A section added to batch 1 after its draw
leaves batch 1's frame stale (certify refuses, naming it) but not batch 2's.
"""
from __future__ import annotations

import json

from pdf_helpers import pdf_words

from petitions.cli import main as cli_main
from petitions.counting import sample_items
from petitions.law.sampling import draw_sample, frame_hash
from petitions.stages.filings import create_filing
from petitions.stages.ingest import line_label, line_seq
from petitions.store import Workspace

from store_helpers import determine

# Every 4th line of the recall is not registered (software's determination
# stands in for a person's ruling; the arithmetic is what is tested).
INVALID_EVERY = 4


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _section(ws, fid, number, n, batch) -> list[tuple[int, str]]:
    with ws.transaction():
        sid = ws._insert("INSERT INTO sections (filing_id, number, batch) VALUES (?, ?, ?) RETURNING id",
                         (fid, number, batch))
        pid = ws._insert("INSERT INTO pages (section_id, number) VALUES (?, 1) RETURNING id", (sid,))
        out = [(ws._insert(
            "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
            "VALUES (?, ?, ?, ?, ?, ?, 'signed') RETURNING id",
            (fid, sid, pid, line_label(number, 1, i), line_seq(number, 1, i), i)), line_label(number, 1, i))
            for i in range(1, n + 1)]
    for k, (lid, _) in enumerate(out, start=1):
        if k % INVALID_EVERY == 0:
            determine(ws, lid, "invalid", ["not_registered"])
        else:
            determine(ws, lid, "valid")
    return out


def test_a_recall_in_two_batches(tmp_path, capsys):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        fid = create_filing(ws, name="Recall Smith", ruleset="ca-recall-local", jurisdiction="City of Los Angeles",
                            user="sup", required=100)
        b1 = _section(ws, fid, 1, 20, 1) + _section(ws, fid, 2, 20, 1)
        b2 = _section(ws, fid, 3, 30, 2)
    invalid = {lab for lines in (b1[:20], b1[20:], b2) for k, (_, lab) in enumerate(lines, start=1)
               if k % INVALID_EVERY == 0}
    w = ("-w", root, "--user", "sup")
    code, _, err = _cli(capsys, "sample", *w, "--seed", "b1")
    assert code == 2 and "came in batches (1, 2)" in err and "--batch N" in err
    code, _, err = _cli(capsys, "sample", *w, "--seed", "b1", "--batch", 3)
    assert code == 2 and "no batch 3" in err
    code, out, _ = _cli(capsys, "sample", *w, "--seed", "b1", "--batch", 1, "--size", 10)
    assert code == 0 and out.startswith("batch 1, round 1: 10 lines drawn (10 in all) from 40 signed lines")
    s = json.loads(_cli(capsys, "status", "-w", root, "--json")[1])["count"]
    assert s["outcome"] == "pending" and [b["sampled"] for b in s["batches"]] == [True, False]
    assert "no sample drawn yet" in _cli(capsys, "status", "-w", root)[1]
    code, out, _ = _cli(capsys, "sample", *w, "--seed", "b2", "--batch", 2, "--size", 10)
    assert code == 0 and "from 30 signed lines" in out
    # each batch's sample is its own frame's public-seed order, checkable by an observer
    with Workspace(root) as ws:
        items = sample_items(ws, fid)
    labels1 = [lab for _, lab in b1]
    labels2 = [lab for _, lab in b2]
    got1 = items.filter(items["batch"] == 1).sort("rank")["line_id"].to_list()
    got2 = items.filter(items["batch"] == 2).sort("rank")["line_id"].to_list()
    assert got1 == [d.id for d in draw_sample(labels1, "b1", 10)]
    assert got2 == [d.id for d in draw_sample(labels2, "b2", 10)]
    v1 = sum(1 for lab in got1 if lab not in invalid)
    v2 = sum(1 for lab in got2 if lab not in invalid)
    assert (v1, v2) == (7, 7)  # pinned: seeds "b1" / "b2" on these frames
    c = json.loads(_cli(capsys, "status", "-w", root, "--json")[1])["count"]
    b = {x["batch"]: x for x in c["batches"]}
    assert (b[1]["raw_count"], b[1]["sample_size"], b[1]["sample_valid"], b[1]["valid"]) == (40, 10, v1, 4 * v1)
    assert (b[2]["raw_count"], b[2]["sample_size"], b[2]["sample_valid"], b[2]["valid"]) == (30, 10, v2, 3 * v2)
    assert b[1]["frame_hash"] == frame_hash(labels1) and b[2]["frame_hash"] == frame_hash(labels2)
    assert b[1]["projection"]["rate_pct"] == f"{v1 * 10}.00" and b[1]["projection"]["uncorrected"] == 4 * v1
    total = 4 * v1 + 3 * v2  # 49
    assert (c["method"], c["raw_count"], c["sample_size"], c["sample_valid"]) == ("random_sample", 70, 20, v1 + v2)
    assert c["projection"]["projected_valid"] == total
    # 49 of 100 required: under 90 % (EC 11225) -> fails
    assert (c["percent_of_required"], c["outcome"]) == (49.0, "fails")
    text = _cli(capsys, "status", "-w", root)[1]
    assert "Batch 1 (sections 1, 2; 40 signed lines): seed 'b1', 10 of 40" in text
    assert f"-> projected {4 * v1}" in text and f"projected (sum of the batches) valid {total} = 49.00% of required " \
        "-> fails" in text
    # a section added to batch 1 after its draw: batch 1's frame is stale, batch 2's is not
    with Workspace(root) as ws:
        _section(ws, fid, 4, 5, 1)
    c = json.loads(_cli(capsys, "status", "-w", root, "--json")[1])["count"]
    b = {x["batch"]: x for x in c["batches"]}
    assert (b[1]["frame_current"], b[1]["lines_outside_frame"], b[2]["frame_current"]) == (False, 5, True)
    assert b[1]["raw_count"] == 40  # the frozen frame, never the 45 lines now
    pdf = tmp_path / "cert.pdf"
    code, _, err = _cli(capsys, "certify", *w, "--out", pdf, "--official", "Pat Clerk")
    assert code == 2 and "5 signed line(s) were added after the sample was drawn" in err and not pdf.exists()
    code, _, err = _cli(capsys, "sample", *w, "--void", "--batch", 1)
    assert code == 2 and "--reason" in err
    assert _cli(capsys, "sample", *w, "--void", "--batch", 1, "--reason", "section 4 filed late in batch 1")[0] == 0
    code, out, _ = _cli(capsys, "sample", *w, "--seed", "b1", "--batch", 1, "--size", 10)
    assert code == 0 and "from 45 signed lines" in out
    with Workspace(root) as ws:
        items = sample_items(ws, fid)
    labels1 += [line_label(4, 1, i) for i in range(1, 6)]
    invalid.add(line_label(4, 1, 4))
    got1 = items.filter(items["batch"] == 1).sort("rank")["line_id"].to_list()
    assert got1 == [d.id for d in draw_sample(labels1, "b1", 10)]
    v1 = sum(1 for lab in got1 if lab not in invalid)
    c = json.loads(_cli(capsys, "status", "-w", root, "--json")[1])["count"]
    b = {x["batch"]: x for x in c["batches"]}
    # 45 × v1·10 % = 4.5·v1, rounded up
    assert b[1]["valid"] == -(-45 * v1 // 10) and b[2]["valid"] == 3 * v2
    assert c["projection"]["projected_valid"] == b[1]["valid"] + b[2]["valid"]
    assert c["frame_current"] is True
    code, out, err = _cli(capsys, "certify", *w, "--out", pdf, "--official", "Pat Clerk")
    assert code == 0, err
    assert _cli(capsys, "verify-log", "-w", root, "--no-files")[0] == 0
    with Workspace(root) as ws:   # a batch-2 sample moved to batch 1 behind the software's back is seen
        with ws.transaction():
            ws._exec("UPDATE samples SET batch = 1 WHERE batch = 2")
    code, out, err = _cli(capsys, "verify-log", "-w", root, "--no-files")
    assert code == 1 and "its event says batch 2" in out + err
    with Workspace(root) as ws:
        with ws.transaction():
            ws._exec("UPDATE samples SET batch = 2 WHERE id = (SELECT MAX(id) FROM samples WHERE round = 1 "
                     "AND seed = 'b2')")
    assert _cli(capsys, "verify-log", "-w", root, "--no-files")[0] == 0
    rep = tmp_path / "report"
    assert _cli(capsys, "report", *w, "--out", rep)[0] == 0
    import csv

    published = list(csv.DictReader(open(rep / "sample.csv", newline="")))
    assert [(r["batch"], r["line_id"]) for r in published] == [("1", x) for x in got1] + [("2", x) for x in got2]
    text = pdf_words(pdf)
    assert "Sampled per batch" in text and "batch 1 (sections 1, 2, 4): 10 of 45 drawn with seed b1" in text
    assert f"Projected valid, all batches: {c['projection']['projected_valid']}" in text
    assert "Projection, batch 1 (its own frame" in text and "Projection, batch 2 (its own frame" in text


def test_a_filing_is_one_frame_or_batches_throughout(tmp_path, capsys):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        for name, batch in (("Batched", 1), ("Whole", None)):
            fid = create_filing(ws, name=name, ruleset="ca-recall-local", jurisdiction="City of Los Angeles",
                                user="sup", required=10)
            _section(ws, fid, 1, 3, batch)
    scan = tmp_path / "late.pdf"
    scan.write_bytes(b"%PDF-1.4 not read: the batch is checked first")
    code, _, err = _cli(capsys, "ingest", "-w", root, "--user", "sup", "--filing", "Batched", scan)
    assert code == 1 and "came in batches (1); say which batch" in err
    code, _, err = _cli(capsys, "ingest", "-w", root, "--user", "sup", "--filing", "Whole", "--batch", 2, scan)
    assert code == 1 and "came in no batch" in err
    code, _, err = _cli(capsys, "sample", "-w", root, "--user", "sup", "--filing", "Whole", "--seed", "s",
                        "--batch", 1)
    assert code == 2 and "not ingested in batches" in err
