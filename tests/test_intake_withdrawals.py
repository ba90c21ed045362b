"""Withdrawals (issue 18, item 6): requests matched to voters with the
matcher and to the filing's lines; a withdrawn line does not count as
valid, in the sample too; each is an event; unmatched requests listed."""
from __future__ import annotations

import polars as pl
import pytest

from petitions.cli import main
from petitions.counting import count_result, sample_items
from petitions.demo import SUPERVISOR, run_demo
from petitions.review.confirm import confirm_invalid, proposed_invalid
from petitions.rulings import record_ruling
from petitions.status import line_status
from petitions.store import Workspace
from petitions.withdrawals import withdrawals_of


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("withdrawals") / "ws"
    res = run_demo(root, signatures=40, seed=1, log=lambda m: None)
    return root, res.filing_id


def _address(v: dict) -> str:
    parts = [v["house_number"], v["street_dir"], v["street_name"], v["street_type"]]
    return " ".join(str(p) for p in parts if p)


def test_withdrawn_lines_stop_counting_and_wait_for_a_person(demo, tmp_path, capsys):
    root, fid = demo
    voters = pl.read_csv(root / "inputs" / "county" / "voters.csv", infer_schema=False)
    with Workspace(root) as ws:
        st = before_status = line_status(ws, fid)
        before = count_result(ws, fid, status=st)
        valid = st.filter((pl.col("status") == "valid") & pl.col("voter_id").is_not_null())
        assert valid.height >= 2
        a, b = valid.row(0, named=True), valid.row(1, named=True)
        # a person had accepted a's line: the withdrawal must not pass under that ruling
        record_ruling(ws, a["line_db_id"], user=SUPERVISOR, action="accept")
    va = voters.filter(pl.col("voter_id") == a["voter_id"]).row(0, named=True)
    csv = tmp_path / "withdrawals.csv"
    csv.write_text(
        "name,address,city,zip,date,voter_id\n"
        f"{va['first_name']} {va['last_name']},{_address(va)},{va['city']},{va['zip']},2026-09-10,\n"
        f"Somebody Else,1 Nowhere Ln,Los Angeles,90001,2026-09-10,\n"
        f"by id,,,,2026-09-11,{b['voter_id']}\n"
        f"late one,,,,2026-12-01,{b['voter_id']}\n"
        "bad date,2 Main St,,,10/09/2026,\n")
    assert main(["withdrawals", "-w", str(root), "--user", SUPERVISOR, str(csv)]) == 1
    out = capsys.readouterr()
    # every line of the voter in the filing (a voter who signed twice has two)
    lines_a = st.filter((pl.col("voter_id") == a["voter_id"]) & pl.col("match_status").is_in(["match", "review"]))
    lines_b = st.filter((pl.col("voter_id") == b["voter_id"]) & pl.col("match_status").is_in(["match", "review"]))
    withdrawn = lines_a["line_id"].to_list() + lines_b["line_id"].to_list()
    assert f"2 request(s) matched, {len(withdrawn)} line(s) withdrawn" in out.out
    assert f"row 2: voter {a['voter_id']}: {', '.join(lines_a['line_id'])}" in out.out
    assert f"row 4: voter {b['voter_id']}: {', '.join(lines_b['line_id'])}" in out.out
    assert f"{a['line_id']}: had a ruling; reopened" in out.out
    assert "row 3: Somebody Else: no voter in the file fits the name and address" in out.out
    assert "row 5: late one: received 2026-12-01 after the petition was filed" in out.out
    assert f"{csv} row 6, column date: expected YYYY-MM-DD" in out.err
    with Workspace(root) as ws:
        st = line_status(ws, fid)
        w = st.filter(pl.col("line_id").is_in(withdrawn))
        assert set(w["status"]) == {"needs_review"} and set(w["det_level"]) == {"confirm_invalid"}
        assert {r[0] for r in w["det_reasons"].to_list()} == {"withdrawn"}
        after = count_result(ws, fid, status=st)
        was_valid = before_status.filter(pl.col("line_id").is_in(withdrawn) & (pl.col("status") == "valid")).height
        assert after.valid == before.valid - was_valid
        if before.sample_valid is not None:
            in_sample = set(sample_items(ws, fid)["line_id"]) & set(withdrawn)
            was = before_status.filter(pl.col("line_id").is_in(list(in_sample)) & (pl.col("status") == "valid"))
            assert after.sample_valid == before.sample_valid - was.height
        rows = withdrawals_of(ws, fid)
        assert len(rows) == len(withdrawn) + 2 and sum(r["line_id"] is not None for r in rows) == len(withdrawn)
        assert ws._scalar("SELECT COUNT(*) FROM events WHERE kind = 'withdrawal' AND filing_id = ?",
                          (fid,)) == len(withdrawn)
        assert set(proposed_invalid(ws, fid)["line_id"]) >= set(withdrawn)
        confirm_invalid(ws, fid, user=SUPERVISOR, labels=withdrawn)
        st = line_status(ws, fid).filter(pl.col("line_id").is_in(withdrawn))
        assert st.select("status", "reason").rows() == [("invalid", "withdrawn")] * len(withdrawn)
        assert count_result(ws, fid).invalid_by_reason.get("withdrawn") == len(withdrawn)
