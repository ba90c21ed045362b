"""A filing period end to end (issue 18, item 11, the intake part): three
filings for one seat from the fixture's scans — Ann's nomination paper
(section 1), Bob's (every section: section 1's signers signed both, the
planted cross-filing signers) and Ann's in-lieu petition (section 1 again:
counted with her nomination paper) — plus withdrawals, each figure checked
against the fixture's truth."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from petitions import stages
from petitions.period import list_filings
from petitions.store import Workspace
from petitions.withdrawals import import_withdrawals

SUP = "sup"


@pytest.fixture(scope="module")
def period(tmp_path_factory):
    from fixtures.filing import build_filing

    base = tmp_path_factory.mktemp("period")
    files = build_filing(base / "inputs", signatures=70, seed=6)
    spec = files.params
    assert len(spec["sections"]) >= 2
    ws = Workspace(base / "ws", create=True)
    ws.ensure_user(SUP, "supervisor")
    stages.import_voter_file(ws, files.voter_file, user=SUP)
    stages.import_exemplars(ws, files.exemplar_index, user=SUP)
    d = dt.date.fromisoformat
    common = dict(jurisdiction=spec["jurisdiction"], user=SUP, required=10, office="Council 5", seats=1,
                  period="2026-primary", filing_date=d(spec["filing_date"]),
                  circulation_start=d(spec["circulation_start"]), circulation_end=d(spec["circulation_end"]))
    ids = {
        "A": stages.create_filing(ws, name="Ann nomination", ruleset="ca-nominating", candidate="Ann", **common),
        "B": stages.create_filing(ws, name="Bob nomination", ruleset="ca-nominating", candidate="Bob", **common),
        "C": stages.create_filing(ws, name="Ann in lieu", ruleset="ca-in-lieu", candidate="Ann", **common),
    }
    plan = {"A": spec["sections"][:1], "B": spec["sections"], "C": spec["sections"][:1]}
    for key, fid in ids.items():
        for sec in plan[key]:
            stages.ingest_document(ws, fid, files.root / sec["path"], user=SUP, section=sec["section"],
                                   circulator_name=sec["circulator"])
        stages.import_keyed_entries(ws, fid, files.keyed, user=SUP)
    for fid in ids.values():
        stages.run_all(ws, fid, user=SUP)
    yield {"ws": ws, "ids": ids, "files": files, "plan": plan}
    ws.close()


def _inputs(ws, fid) -> pl.DataFrame:
    return stages.triage_inputs(ws, fid).select("label", "voter_id", "match_status", "duplicate_rank",
                                                "other_filing_rank", "other_filing_lines", "date_signed")


def test_every_filing_has_the_fixture_lines(period):
    truth = pl.read_csv(period["files"].truth, infer_schema=False)  # unused rows are read as blank lines
    rows = {r.name: r for r in list_filings(period["ws"])}
    sec1 = truth.filter(pl.col("line_id").str.starts_with("S001-")).height
    assert rows["Ann nomination"].lines == sec1 and rows["Ann in lieu"].lines == sec1
    assert rows["Bob nomination"].lines == truth.height
    assert {r.office for r in rows.values()} == {"Council 5"} and {r.seats for r in rows.values()} == {1}


def test_cross_filing_signers_are_flagged_on_the_later_paper_as_the_truth_says(period):
    ws, ids = period["ws"], period["ids"]
    truth = pl.read_csv(period["files"].truth, infer_schema=False).filter(pl.col("state") == "signed")
    keyed = pl.read_csv(period["files"].keyed, infer_schema=False).select(
        pl.col("line_id").alias("label"), pl.col("date_signed").str.to_date(strict=False))
    a, b = _inputs(ws, ids["A"]), _inputs(ws, ids["B"])
    # the truth: each voter's first signature (date signed, undated last, then
    # the order the filings were created, then filing order) on Ann's paper vs Bob's
    t = truth.select(pl.col("line_id").alias("label"), pl.col("voter_id").alias("true_voter")).join(
        keyed, on="label", how="left").filter(pl.col("true_voter").is_not_null())
    t_a = t.filter(pl.col("label").str.starts_with("S001-")).with_columns(pl.lit(0).alias("f"))
    t_b = t.with_columns(pl.lit(1).alias("f"))
    first = (pl.concat([t_a, t_b]).sort([pl.col("date_signed").is_null(), "date_signed", "f", "label"])
             .group_by("true_voter", maintain_order=True).first().select("true_voter", pl.col("f").alias("first")))
    both = set(t_a["true_voter"]) & set(t_b["true_voter"])
    assert len(both) >= 5  # the planted cross-filing signers
    checked = 0
    for key, frame, f in (("A", a, 0), ("B", b, 1)):
        j = frame.join(t.select("label", "true_voter"), on="label", how="inner").join(first, on="true_voter")
        # where the matcher found the truth's voter, the flag is exactly the truth's
        right = j.filter((pl.col("voter_id") == pl.col("true_voter")) & pl.col("match_status").is_in(["match", "review"]))
        assert right.height >= 0.8 * j.height
        for r in right.iter_rows(named=True):
            expected = 1 if (r["true_voter"] in both and r["first"] != f) else 0
            assert (r["other_filing_rank"] or 0) == expected, (key, r)
            if expected:
                assert r["other_filing_lines"].startswith(("Ann nomination S001-", "Bob nomination S"))
            checked += 1
    assert checked >= 0.8 * (t_a.height + t_b.height)
    # the determinations carry the reason for a person
    flagged = stages.triage_inputs(ws, ids["B"]).filter(pl.col("other_filing_rank") >= 1).height
    assert flagged >= 0.8 * len([v for v in both if first.filter(pl.col("true_voter") == v)["first"][0] == 0])


def test_the_in_lieu_petition_counts_with_the_same_candidates_nomination(period):
    ws, ids = period["ws"], period["ids"]
    a, c = _inputs(ws, ids["A"]), _inputs(ws, ids["C"])
    j = c.join(a.select("label", pl.col("voter_id").alias("a_voter"), pl.col("other_filing_rank").alias("a_rank")),
               on="label")
    same = j.filter(pl.col("voter_id").is_not_null() & (pl.col("voter_id") == pl.col("a_voter"))
                    & pl.col("match_status").is_in(["match", "review"]))
    assert same.height >= 10
    # every signer of the in-lieu petition already on Ann's nomination paper: a duplicate there, one paper
    assert (same["duplicate_rank"] >= 1).all()
    assert (same["other_filing_rank"].fill_null(0) == same["a_rank"].fill_null(0)).all()


def test_withdrawals_from_the_fixture_voters_reach_their_lines(period, tmp_path):
    ws, ids, files = period["ws"], period["ids"], period["files"]
    truth = pl.read_csv(files.truth, infer_schema=False)
    b = _inputs(ws, ids["B"]).filter(pl.col("match_status") == "match")
    j = b.join(truth.select(pl.col("line_id").alias("label"), pl.col("voter_id").alias("tv")), on="label")
    picks = j.filter(pl.col("voter_id") == pl.col("tv")).unique("voter_id", keep="first", maintain_order=True).head(2)
    voters = pl.read_csv(files.voter_file, infer_schema=False)
    rows = []
    for v in picks["voter_id"]:
        r = voters.filter(pl.col("voter_id") == v).row(0, named=True)
        addr = " ".join(str(x) for x in (r["house_number"], r["street_dir"], r["street_name"], r["street_type"]) if x)
        rows.append(f"{r['first_name']} {r['last_name']},{addr},{r['city']},{r['zip']},2026-09-01")
    csv = tmp_path / "withdrawals.csv"
    csv.write_text("name,address,city,zip,date\n" + "\n".join(rows) + "\nNo Such Person,9 Elm St,Nowhere,90001,2026-09-01\n")
    rep = import_withdrawals(ws, ids["B"], csv, user=SUP)
    expected = set(b.filter(pl.col("voter_id").is_in(picks["voter_id"].to_list()))["label"])
    assert {lab for _, _, labs in rep.matched for lab in labs} == expected
    assert len(rep.unmatched) == 1 and "No Such Person" in rep.unmatched[0]
    det = stages.triage_inputs(ws, ids["B"]).filter(pl.col("withdrawn"))
    assert set(det["label"]) == expected
