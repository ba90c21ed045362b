"""Voter files as counties export them (issue 18, item 7): bad rows are set
aside with file, row and column and accepted by count; a replacement that
looks wrong is stopped until confirmed; a filing's district the file lacks
is a warning."""
from __future__ import annotations

import pytest

from petitions.cli import main
from petitions.errors import is_user_error
from petitions.stages.filings import create_filing, voter_file_warnings
from petitions.stages.voters import VoterFileNotAccepted, import_voter_file, voter_file_problems
from petitions.store import Workspace
from petitions.summary import format_summary, summarize

HEADER = "voter_id,first_name,last_name,house_number,street_name,city,zip,status,district\n"


def _sup(ws) -> str:
    """The supervisor acting: on a server, the signed-in login."""
    name = ws.login or "sup"
    ws.ensure_user(name, "supervisor")
    return name


def _voters(path, n, *, start=1, city="Los Angeles", district="CD5", bad: dict | None = None):
    rows = [f"V{i:05d},Ann{i},Lee{i},{i},Main St,{city},90001,active,{district}" for i in range(start, start + n)]
    for idx, text in (bad or {}).items():
        rows[idx] = text
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_bad_rows_are_listed_with_row_and_column_and_imported_only_when_accepted(workspace_location, tmp_path):
    f = _voters(tmp_path / "v.csv", 50, bad={
        3: "V00004,Ann4,Lee4,4,Main St,Los Angeles,9000X,active,CD5",     # file row 5: bad zip
        9: "V00010,Ann10,Lee10,10",                                       # file row 11: ragged (short)
        19: "V00020,Ann20,Lee20,20,Main St,Los Angeles,90001,active,CD5,x",  # file row 21: ragged (long)
        29: "V00030,Ann30,,30,Main St,Los Angeles,90001,active,CD5",      # file row 31: no last name
    })
    with Workspace(workspace_location, create=True) as ws:
        sup = _sup(ws)
        with pytest.raises(VoterFileNotAccepted) as err:
            import_voter_file(ws, f, user=sup)
        assert "4 problem(s) in 4 of 50 rows" in str(err.value) and "--accept-problems 4" in str(err.value)
        assert [(p.row, p.column) for p in err.value.problems] == [(5, "zip"), (11, "(row)"), (21, "(row)"),
                                                                   (31, "last_name")]
        with pytest.raises(VoterFileNotAccepted):  # a wrong count is refused too
            import_voter_file(ws, f, user=sup, accept_problems=3)
        assert voter_file_problems(ws) == []  # nothing stored by a refusal
        rep = import_voter_file(ws, f, user=sup, accept_problems=4)
        assert rep.rows == 46 and rep.rows_read == 50
        stored = voter_file_problems(ws)
        assert [(p["row_number"], p["column_name"]) for p in stored] == [(5, "zip"), (11, "(row)"), (21, "(row)"),
                                                                         (31, "last_name")]
        assert stored[0]["value"] == "9000X"


def test_a_much_smaller_or_other_county_file_is_stopped_until_confirmed(workspace_location, tmp_path):
    with Workspace(workspace_location, create=True) as ws:
        sup = _sup(ws)
        import_voter_file(ws, _voters(tmp_path / "county.csv", 100), user=sup)
        small = _voters(tmp_path / "small.csv", 30)
        with pytest.raises(VoterFileNotAccepted, match=r"30 voters would replace 100 \(30% of the active file\)"):
            import_voter_file(ws, small, user=sup)
        other = _voters(tmp_path / "other.csv", 100, start=5000, city="Fresno", district="D9")
        with pytest.raises(VoterFileNotAccepted, match="only 0% of the active file's voter ids") as err:
            import_voter_file(ws, other, user=sup)
        assert "FRESNO" in str(err.value)
        # a fresh export of the same county (a few more voters) goes straight in
        assert import_voter_file(ws, _voters(tmp_path / "newer.csv", 104), user=sup).rows == 104
        rep = import_voter_file(ws, small, user=sup, replace_confirmed=True)
        assert rep.rows == 30 and rep.comparison["concerns"]
        # bringing the county's file back is a replacement too: 104 over 30 is fine, the small one again is not
        assert import_voter_file(ws, tmp_path / "newer.csv", user=sup).already_imported
        with pytest.raises(VoterFileNotAccepted, match="would bring back an earlier voter file"):
            import_voter_file(ws, small, user=sup)


def test_a_district_the_voter_file_lacks_is_a_warning(workspace_location, tmp_path):
    with Workspace(workspace_location, create=True) as ws:
        sup = _sup(ws)
        import_voter_file(ws, _voters(tmp_path / "v.csv", 20), user=sup)
        ok = create_filing(ws, name="ok", ruleset="ca-nominating", jurisdiction="City of Los Angeles", user=sup,
                           district="CD5", required=5)
        bad = create_filing(ws, name="bad", ruleset="ca-nominating", jurisdiction="City of Pasadena", user=sup,
                            district="CD 5", required=5)
        assert voter_file_warnings(ws, ok) == []
        warnings = voter_file_warnings(ws, bad)
        assert len(warnings) == 2
        assert "district 'CD 5' is not in the voter file's district column (it has: CD5)" in warnings[0]
        assert "city 'Pasadena'" in warnings[1]
        s = summarize(ws, bad)  # the status, the dashboard and the demo say it too
        assert s["warnings"] == warnings and "WARNING: district 'CD 5'" in format_summary(s, tmp_path)


def test_cli_prints_every_problem_and_exits_nonzero_until_accepted(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert main(["init", "-w", str(ws), "--user", "sup"]) == 0
    f = _voters(tmp_path / "v.csv", 10, bad={2: "V00003,Ann3,Lee3"})
    assert main(["import-voters", "-w", str(ws), "--user", "sup", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f} row 4, column (row): 3 fields where the header has 9" in err
    assert err.strip().splitlines()[-1].startswith("petitions import-voters: error:")
    assert main(["import-voters", "-w", str(ws), "--user", "sup", str(f), "--accept-problems", "1"]) == 0
    out = capsys.readouterr().out
    assert "9 voters" in out and "1 problem(s) accepted" in out and "row 4, column (row)" in out
    assert main(["create-filing", "-w", str(ws), "--user", "sup", "--name", "A", "--ruleset", "ca-nominating",
                 "--jurisdiction", "City of Los Angeles", "--district", "CD9"]) == 0
    assert "warning: district 'CD9' is not in the voter file" in capsys.readouterr().err


def test_an_unreadable_file_is_still_one_error(workspace_location, tmp_path):
    with Workspace(workspace_location, create=True) as ws:
        sup = _sup(ws)
        bad = tmp_path / "x.csv"
        bad.write_text("name,street\nA,B\n")
        with pytest.raises(Exception, match="missing required column") as err:
            import_voter_file(ws, bad, user=sup)
        assert is_user_error(err.value)
