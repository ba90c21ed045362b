"""A filing period at the issue's scale, end to end through the CLI on a real
workspace (issue 18, item 11): 100 nominating filings (95 nomination papers
and 5 in-lieu petitions) for 15 offices (three with 2 seats) with planted
cross-filing signers, one recall in two batches from real scans, one section
with a defective declaration, and withdrawals — every figure checked
against the fixture's truth (``fixtures.period``).

The nominating papers reuse one real scanned sheet (their signers are the
fixture's keyed voters, so the law across filings is what is tested there);
the recall is the real scans and keying, verified as the truth says.
"""
from __future__ import annotations

import json

import polars as pl
import pytest

from petitions.cli import main as cli_main
from petitions.counting import sample_items
from petitions.law.projection import outcome, project
from petitions.stages.decide import triage_inputs
from petitions.stages.filings import get_filing
from petitions.status import line_status
from petitions.store import Workspace

pytestmark = pytest.mark.slow

SUP = "sup"


def _cli(*argv) -> int:
    return cli_main([str(a) for a in argv])


@pytest.fixture(scope="module")
def period(tmp_path_factory):
    from fixtures.period import build_period

    base = tmp_path_factory.mktemp("period")
    files = build_period(base / "inputs", seed=3)
    t = files.truth
    root = base / "ws"
    w = ("-w", root, "--user", SUP)
    assert _cli("init", *w) == 0
    assert _cli("import-voters", *w, files.voter_file) == 0
    assert _cli("import-exemplars", *w, files.exemplar_index) == 0
    dates = ("--filing-date", t["filing_date"], "--circulation", *t["circulation"])
    for f in t["filings"]:
        assert _cli("create-filing", *w, "--name", f["name"], "--ruleset", f["ruleset"], "--jurisdiction",
                    t["jurisdiction"], "--required", 5, "--office", f["office"], "--seats", f["seats"],
                    "--period", t["period"], "--candidate", f["candidate"], *dates) == 0
        for s in f["sections"]:
            assert _cli("ingest", *w, "--filing", f["name"], "--section", s["section"],
                        files.sheets[s["sheet"] - 1]) == 0
        assert _cli("key", *w, "--filing", f["name"], files.root / f["keyed"]) == 0
    for f in t["filings"]:
        assert _cli("run", *w, "--filing", f["name"]) == 0
    r = t["recall"]
    assert _cli("create-filing", *w, "--name", r["name"], "--ruleset", r["ruleset"], "--jurisdiction",
                t["jurisdiction"], "--required", 30, *dates) == 0
    for batch, sheets in r["batches"].items():
        for k in sheets:
            assert _cli("ingest", *w, "--filing", r["name"], "--section", k, "--batch", batch,
                        "--circulator", r["circulator"], files.sheets[k - 1]) == 0
    assert _cli("key", *w, "--filing", r["name"], files.recall_keyed) == 0
    assert _cli("run", *w, "--filing", r["name"]) == 0
    yield {"files": files, "truth": t, "root": root, "w": w}


def test_every_filing_is_listed_with_its_office_and_lines(period, capsys):
    t = period["truth"]
    capsys.readouterr()
    assert _cli("filings", "-w", period["root"], "--json") == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == 101
    states = {int(k): v for k, v in t["sheet_states"].items()}
    for f in t["filings"]:
        row = rows[f["name"]]
        assert (row["office"], row["seats"], row["candidate"], row["period"]) == (
            f["office"], f["seats"], f["candidate"], t["period"]), f["name"]
        assert row["lines"] == f["lines"]
        signed = sum(1 for s in f["sections"] for _n, st in states[s["sheet"]] if st == "signed")
        assert row["raw_count"] == signed == f["signed"]
    assert len({f["office"] for f in t["filings"]}) == 15
    assert sum(1 for f in t["filings"] if f["kind"] == "in_lieu") == 5


def test_limits_across_filings_are_exactly_the_truths(period):
    t = period["truth"]
    flagged_total = dup_total = 0
    with Workspace(period["root"]) as ws:
        for f in t["filings"]:
            fid = get_filing(ws, f["name"]).id
            inp = triage_inputs(ws, fid).select("label", "voter_id", "match_status", "other_filing_rank",
                                                "duplicate_rank")
            # the matcher found every keyed voter (exact names and registered addresses)
            got_voters = {r["label"]: r["voter_id"] for r in inp.iter_rows(named=True) if r["label"] in f["voters"]}
            assert got_voters == f["voters"], f["name"]
            flagged = set(inp.filter(pl.col("other_filing_rank").fill_null(0) >= 1)["label"])
            assert flagged == set(f["signed_other_filing"]), f["name"]
            dups = set(inp.filter(pl.col("duplicate_rank").fill_null(0) >= 1)["label"])
            assert dups == set(f["duplicates"]), f["name"]
            st = line_status(ws, fid)
            reasons = {r["line_id"]: r["det_reasons"] for r in st.iter_rows(named=True)}
            assert all("signed_other_filing" in reasons[lab] for lab in f["signed_other_filing"])
            flagged_total += len(flagged)
            dup_total += len(dups)
    # 2 planted voters per office, over the limit once each: 15 offices x 2; in-lieu: 2 shared signers x 5
    assert (flagged_total, dup_total) == (30, 10)


def test_a_defective_declaration_voids_its_section(period, capsys):
    t, w, files = period["truth"], period["w"], period["files"]
    d = t["defective"]
    capsys.readouterr()
    assert _cli("sections", *w, "--filing", d["filing"], "--key", files.declarations, "--json") == 0
    views = {v["section"]: v for v in json.loads(capsys.readouterr().out)}
    assert [p["code"] for p in views[2]["problems"]] == ["not_signed"]
    # the declaration's fields as the segmenter cut them from the real scan, written for a person to look at
    crops = files.root.parent / "crops"
    assert _cli("sections", "-w", period["root"], "--filing", d["filing"], "--crops", crops) == 0
    names = sorted(p.name for p in crops.iterdir())
    assert names == sorted(f"section-{s:03d}-page-01-{f}.png" for s in (1, 2) for f in
                           ("circulation_dates", "circulator_address", "circulator_name", "circulator_signature"))
    assert views[1]["signature_ink"] is None   # keyed as signed: the crop is not needed
    capsys.readouterr()
    assert views[1]["problems"] == [] and views[2]["signed_lines"] == d["signed"]
    assert _cli("section", *w, "--filing", d["filing"], "--section", 2, "--rule", "circulator_defect",
                "--reason", "declaration not signed") == 0
    capsys.readouterr()
    assert _cli("status", "-w", period["root"], "--filing", d["filing"], "--json") == 0
    s = json.loads(capsys.readouterr().out)
    f = next(x for x in t["filings"] if x["name"] == d["filing"])
    assert s["invalid_by_reason"].get("circulator_defect") == d["signed"]
    assert s["count"]["raw_count"] == f["signed"] and s["count"]["valid"] == 0
    assert [(r["section"], r["signed_lines"]) for r in s["section_rulings"]] == [(2, d["signed"])]


def test_withdrawals_reach_exactly_their_lines(period, capsys):
    t, w, files = period["truth"], period["w"], period["files"]
    wd = t["withdrawals"]
    assert _cli("withdrawals", *w, "--filing", wd["filing"], files.withdrawals) == 1   # one request unmatched
    out = capsys.readouterr().out
    assert "2 request(s) matched, 2 line(s) withdrawn" in out and "1 unmatched" in out
    capsys.readouterr()
    assert _cli("confirm-invalid", *w, "--filing", wd["filing"], "--list") == 0
    listed = [ln.split()[0] for ln in capsys.readouterr().out.splitlines() if "proposed withdrawn" in ln]
    assert listed == wd["labels"]


def test_the_recall_in_two_batches_counts_as_the_truth_says(period, capsys):
    t, w, files = period["truth"], period["w"], period["files"]
    r = t["recall"]
    truth = pl.read_csv(files.recall_truth, infer_schema=False)
    for batch, seed in (("1", "recall batch 1"), ("2", "recall batch 2")):
        assert _cli("sample", *w, "--filing", r["name"], "--batch", batch, "--seed", seed, "--size", 8) == 0
    with Workspace(period["root"]) as ws:
        fid = get_filing(ws, r["name"]).id
        bands = get_filing(ws, fid).ruleset.bands
        st = line_status(ws, fid)
        items = sample_items(ws, fid).join(st.select("line_db_id", "status", "seq"), on="line_db_id")
    assert items.height == 16
    tv = {x["line_id"]: x for x in truth.iter_rows(named=True)}
    # a person rules on every sampled line still pending, as the truth says
    for it in items.filter(pl.col("status") == "needs_review").iter_rows(named=True):
        x = tv[it["line_id"]]
        good = x["expected_valid"] == "true" or x["kind"] == "duplicate"   # a duplicate is judged on its own merits
        code = x["expected_reason"] if x["expected_reason"] in ("not_registered", "address_mismatch",
                                                                 "out_of_jurisdiction", "signature_mismatch") else "other"
        args = ("--accept",) if good else ("--reject", code, "--note", "per the fixture's truth")
        assert _cli("rule", *w, "--filing", r["name"], "--line", it["line_id"], *args) == 0
    capsys.readouterr()
    assert _cli("status", "-w", period["root"], "--filing", r["name"], "--json") == 0
    c = json.loads(capsys.readouterr().out)["count"]
    expected_total = 0
    for b in c["batches"]:
        sheets = r["batches"][str(b["batch"])]
        frame = truth.filter((pl.col("state") == "signed")
                             & pl.col("line_id").str.slice(1, 3).cast(pl.Int64).is_in(sheets))
        mine = items.filter(pl.col("batch") == b["batch"]).sort("seq")
        valid = [x for x in mine["line_id"] if tv[x]["expected_valid"] == "true" or tv[x]["kind"] == "duplicate"]
        voters = [tv[x]["voter_id"] for x in valid]
        dups = sum(1 for i, v in enumerate(voters) if v and v in voters[:i])
        proj = project(frame.height, 8, len(valid), dups)
        assert (b["raw_count"], b["sample_size"], b["sample_valid"], b["sample_duplicates"], b["sample_pending"]) == (
            frame.height, 8, len(valid), dups, 0), b
        assert b["valid"] == proj.projected_valid and b["frame_current"] is True
        expected_total += proj.projected_valid
    assert c["projection"]["projected_valid"] == expected_total
    assert c["outcome"] == outcome(expected_total, 30, bands).result
    # the real scans' declarations are signed: read from the signature box on each page (nothing keyed)
    capsys.readouterr()
    assert _cli("sections", "-w", period["root"], "--filing", r["name"], "--json") == 0
    views = json.loads(capsys.readouterr().out)
    assert [(v["section"], v["batch"], v["signature_ink"]) for v in views] == [(1, 1, True), (2, 1, True),
                                                                              (3, 2, True), (4, 2, True)]
    assert all([p["code"] for p in v["problems"]] == ["not_keyed", "no_name", "no_address", "no_dates"]
               for v in views)
    pdf = period["root"].parent / "recall.pdf"
    assert _cli("certify", *w, "--filing", r["name"], "--out", pdf, "--official", "Pat Clerk") == 0
    assert pdf.exists()
