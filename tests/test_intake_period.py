"""A filing period (issue 18, item 4): filings grouped by office and period,
listed with their status; the rule set's limits across filings (one paper
per office, or as many as seats; earliest counts; a candidate's in-lieu
petition and nomination paper counted together) route lines to review."""
from __future__ import annotations

import datetime as dt
import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from petitions.cli import main
from petitions.law.duplicates import apply_cross_filing_limit
from petitions.period import list_filings
from petitions.stages.decide import run_triage, triage_inputs
from petitions.stages.filings import create_filing, get_filing
from petitions.stages.ingest import line_label, line_seq
from petitions.store import Workspace
from petitions.store import results as results_db

from store_helpers import determine


def _reference(rows: list[dict], allowed: int) -> list[tuple]:
    """Slow twin of apply_cross_filing_limit: one voter at a time."""
    def key(r):
        return (r["date_signed"] is None, r["date_signed"] or dt.date.min, r["order"])

    out = []
    for r in rows:
        if r["voter_id"] is None:
            out.append((None, None, False))
            continue
        mine = sorted((x for x in rows if x["voter_id"] == r["voter_id"]), key=key)
        papers: list[str] = []
        first_of: dict[str, dict] = {}
        for x in mine:
            if x["paper"] not in first_of:
                first_of[x["paper"]] = x
                papers.append(x["paper"])
        k = papers.index(r["paper"])
        rank = max(0, k - allowed + 1)
        counting = "; ".join(f"{first_of[p]['filing']} {first_of[p]['label']}" for p in papers[:allowed])
        out.append((rank, counting if rank >= 1 else None, r["filing"] != first_of[r["paper"]]["filing"]))
    return out


row = st.fixed_dictionaries({
    "filing": st.sampled_from(["A", "B", "C", "D"]),
    "voter_id": st.one_of(st.none(), st.sampled_from(["V1", "V2", "V3"])),
    "date_signed": st.one_of(st.none(), st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 5))),
})


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=14), allowed=st.integers(1, 3))
def test_cross_filing_limit_equals_the_slow_reference(rows, allowed):
    paper = {"A": "pA", "B": "pB", "C": "pA", "D": "pD"}  # C is A's candidate's in-lieu petition
    order = {"A": 0, "B": 1, "C": 2, "D": 3}
    rows = [{**r, "line_id": str(i), "label": f"L{i}", "paper": paper[r["filing"]],
             "order": order[r["filing"]] * 1000 + i} for i, r in enumerate(rows)]
    got = apply_cross_filing_limit(pl.DataFrame(rows, schema={
        "line_id": pl.Utf8, "label": pl.Utf8, "filing": pl.Utf8, "paper": pl.Utf8, "order": pl.Int64,
        "voter_id": pl.Utf8, "date_signed": pl.Date}), allowed)
    assert list(zip(got["other_filing_rank"], got["other_filing_lines"], got["cross_duplicate"])) == \
        _reference(rows, allowed)


def _filing(ws, name, *, office, seats=None, kind="ca-nominating", candidate=None, voters=()):
    fid = create_filing(ws, name=name, ruleset=kind, jurisdiction="City of Los Angeles", user="sup", required=2,
                        office=office, seats=seats, period="2026-primary", candidate=candidate)
    with ws.transaction():
        sid = ws._db.execute("INSERT INTO sections (filing_id, number) VALUES (?, 1)", (fid,)).lastrowid
        pid = ws._db.execute("INSERT INTO pages (section_id, number) VALUES (?, 1)", (sid,)).lastrowid
        ids = [ws._db.execute(
            "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
            "VALUES (?, ?, ?, ?, ?, ?, 'signed')", (fid, sid, pid, line_label(1, 1, i), line_seq(1, 1, i), i)
        ).lastrowid for i in range(1, len(voters) + 1)]
    for lid, v in zip(ids, voters):
        determine(ws, lid, "needs_review", ["identity_not_checked"], voter_id=v)
    return fid


def _levels(ws, fid):
    run_triage(ws, fid, user="sup")
    return [(r["level"], json.loads(r["reasons_json"])) for r in results_db.current_determinations(ws, fid)]


def test_one_seat_one_paper_earliest_counts_and_in_lieu_goes_with_its_nomination(tmp_path, capsys):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        ann = _filing(ws, "Ann (nomination)", office="Council 5", candidate="Ann", voters=["V1", "V2", "V3"])
        bob = _filing(ws, "Bob (nomination)", office="Council 5", candidate="Bob", voters=["V1", "V4"])
        ann_il = _filing(ws, "Ann (in lieu)", office="Council 5", kind="ca-in-lieu", candidate="Ann",
                         voters=["V2", "V5"])
        other = _filing(ws, "Cy (mayor)", office="Mayor", candidate="Cy", voters=["V1"])
        assert get_filing(ws, bob).office == "Council 5" and get_filing(ws, bob).seats == 1
        inputs = triage_inputs(ws, bob)
        assert inputs.select("label", "other_filing_rank", "other_filing_lines").rows() == [
            ("S001-P01-L01", 1, "Ann (nomination) S001-P01-L01"), ("S001-P01-L02", 0, None)]
        bob_levels = _levels(ws, bob)
        assert "signed_other_filing" in bob_levels[0][1] and "signed_other_filing" not in bob_levels[1][1]
        assert all("signed_other_filing" not in r for _, r in _levels(ws, ann))  # Ann's paper came first
        # V2 signed Ann's nomination and Ann's in-lieu petition: one paper, so a duplicate, not another paper
        il = triage_inputs(ws, ann_il)
        assert il.select("label", "duplicate_rank", "other_filing_rank").rows() == [
            ("S001-P01-L01", 1, 0), ("S001-P01-L02", 0, 0)]
        assert "duplicate" in _levels(ws, ann_il)[0][1]
        assert triage_inputs(ws, other)["other_filing_rank"].to_list() == [None]  # alone in its office
    assert main(["filings", "-w", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4
    assert "Ann (nomination)" in out[0] and "Council 5 (1 seat, 2026-primary)" in out[0] and "lines      3" in out[0]
    assert "Cy (mayor)" in out[3] and "Mayor (1 seat, 2026-primary)" in out[3]
    with Workspace(root) as ws:
        rows = {r.name: r for r in list_filings(ws)}
        assert rows["Bob (nomination)"].pending == 2 and rows["Bob (nomination)"].kind == "nominating"


def test_as_many_papers_as_seats(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        a = _filing(ws, "A", office="Board", seats=2, voters=["V1"])
        b = _filing(ws, "B", office="Board", voters=["V1"])
        c = _filing(ws, "C", office="Board", voters=["V1"])
        assert [triage_inputs(ws, f)["other_filing_rank"][0] for f in (a, b, c)] == [0, 0, 1]
        assert triage_inputs(ws, c)["other_filing_lines"][0] == "A S001-P01-L01; B S001-P01-L01"
