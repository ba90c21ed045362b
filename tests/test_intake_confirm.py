"""A person confirms every invalid line; a voter chosen by lookup takes part
in the duplicate check (issue 18, item 9)."""
from __future__ import annotations

import json

import polars as pl

from petitions.cli import main
from petitions.counting import count_result
from petitions.review.case import load_case, rule
from petitions.review.confirm import confirm_invalid, proposed_invalid
from petitions.stages.decide import run_triage, triage_inputs
from petitions.status import line_status
from petitions.store import Workspace
from petitions.store import rulings as rulings_db

from store_helpers import determine, filing_with_lines


def _shown(ws, ruling_id) -> dict:
    return json.loads(ws._scalar("SELECT shown_json FROM rulings WHERE id = ?", (ruling_id,)))


def test_blank_struck_and_empty_lines_wait_for_a_person_and_each_confirmation_is_a_ruling(tmp_path, capsys):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed", "blank", "struck", "blank"])
        ws.ensure_user("rita", "reviewer")
        run_triage(ws, fid, user="sup")
        waiting = proposed_invalid(ws, fid)
        assert waiting.select("line_id", "proposed").rows() == [
            ("S001-P01-L02", "blank_line"), ("S001-P01-L03", "struck_line"), ("S001-P01-L04", "blank_line")]
        st = line_status(ws, fid)
        assert (st["status"] == "invalid").sum() == 0  # nothing invalid until a person says so
        assert count_result(ws, fid, status=st).raw_count == 1  # blank and struck lines stay out of the raw count
    assert main(["confirm-invalid", "-w", str(root), "--user", "rita", "--line", "S001-P01-L03"]) == 0
    assert "1 line(s) confirmed invalid" in capsys.readouterr().out
    # a line not proposed (or already confirmed) is named and left alone: exit 1
    assert main(["confirm-invalid", "-w", str(root), "--user", "rita", "--line", "S001-P01-L01",
                 "--line", "S001-P01-L03"]) == 1
    out = capsys.readouterr().out
    assert "S001-P01-L01: not waiting" in out and "S001-P01-L03: not waiting" in out
    assert main(["confirm-invalid", "-w", str(root), "--user", "sup", "--page", "S001-P01"]) == 0
    assert "2 line(s) confirmed invalid" in capsys.readouterr().out
    with Workspace(root) as ws:
        st = line_status(ws, fid).filter(pl.col("state") != "signed")
        assert st.select("line_id", "status", "reason").rows() == [
            ("S001-P01-L02", "invalid", "blank_line"), ("S001-P01-L03", "invalid", "struck_line"),
            ("S001-P01-L04", "invalid", "blank_line")]
        r = rulings_db.line_rulings(ws, ids[2])
        assert [(x["user"], x["action"], x["reason_code"]) for x in r] == [("rita", "reject", "struck_line")]
        shown = _shown(ws, r[0]["id"])
        assert shown["proposed"] == "struck_line" and shown["level_before"] == "confirm_invalid"
        run_triage(ws, fid, user="sup")  # triage again: the confirmations stand
        assert (line_status(ws, fid)["status"] == "invalid").sum() == 3
        assert proposed_invalid(ws, fid).height == 0


def test_confirm_needs_to_be_told_which_lines(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        fid, _ = filing_with_lines(ws, ["blank"])
        run_triage(ws, fid, user="sup")
        try:
            confirm_invalid(ws, fid, user="sup")
        except Exception as exc:  # noqa: BLE001
            assert "say which lines" in str(exc)
        else:
            raise AssertionError("confirm_invalid without lines must refuse")
        assert confirm_invalid(ws, fid, user="sup", all_proposed=True).confirmed == ["S001-P01-L01"]


def test_a_voter_chosen_by_lookup_is_attached_to_the_ruling_and_counted_in_duplicates(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed", "signed"])
        determine(ws, ids[0], "valid", voter_id="V1")
        determine(ws, ids[1], "needs_review", ["not_registered"])
        before = triage_inputs(ws, fid)
        assert before["duplicate_rank"].to_list() == [0, None]
        case = load_case(ws, ids[1])
        rule(ws, case, user="sup", action="accept", voter_id="V1")
        shown = _shown(ws, rulings_db.latest_ruling_id(ws, ids[1]))
        assert shown["chosen_voter_id"] == "V1" and shown["voter_chosen_by"] == "lookup"
        after = triage_inputs(ws, fid)
        assert after["duplicate_rank"].to_list() == [0, 1]
        assert after["duplicate_group"].to_list() == ["V1", "V1"]


def test_cli_rule_with_a_looked_up_voter_joins_the_duplicate_check(tmp_path):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed", "signed"])
        determine(ws, ids[0], "valid", voter_id="V7")
        determine(ws, ids[1], "needs_review", ["not_registered"])
    assert main(["rule", "-w", str(root), "--user", "sup", "--line", "S001-P01-L02", "--accept",
                 "--voter", "V7"]) == 0
    with Workspace(root) as ws:
        assert triage_inputs(ws, fid)["duplicate_rank"].to_list() == [0, 1]
