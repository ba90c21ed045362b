"""`petitions match` end to end through the CLI, with the contract's files."""
import csv

import polars as pl

from petitions.cli import main

VOTERS = """voter_id,first_name,middle_name,last_name,suffix,house_number,house_fraction,street_dir,street_name,street_type,street_post_dir,unit_type,unit_number,city,zip,birth_date,registration_date,status,party,precinct,district
V1,William,,Smith,,12,,,Main,Street,,,,Los Angeles,90012,1970-01-01,2020-01-01,active,DEM,1,CD-01
V2,José,,Núñez,,55,,,Ocean,Ave,,,,Los Angeles,90291,1970-01-01,2020-01-01,cancelled,DEM,1,CD-11
"""
LINES = """line_id,name,address,city,zip
1-1-1,Bill Smith,12 Main St,LA,90012
1-1-2,jose nunez,55 Ocean Avenue,Venice,
1-1-3,,12 Main,,
1-1-4,Nobody Here,99 Nowhere Rd,,
1-1-5,William Smith,12 Main Street,,90012
"""


def test_match_command_writes_contract_columns(tmp_path):
    (tmp_path / "v.csv").write_text(VOTERS, encoding="utf-8")
    (tmp_path / "l.csv").write_text(LINES, encoding="utf-8")
    rc = main(["match", "--voters", str(tmp_path / "v.csv"), "--lines", str(tmp_path / "l.csv"),
               "--out", str(tmp_path / "out.csv"), "--operating-point", "identity",
               "--duplicates", str(tmp_path / "d.csv")])
    assert rc == 0
    rows = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8")))
    assert [r["line_id"] for r in rows] == ["1-1-1", "1-1-2", "1-1-3", "1-1-4", "1-1-5"]
    assert list(rows[0]) == ["line_id", "voter_id", "score", "status", "reason"]
    by = {r["line_id"]: r for r in rows}
    assert by["1-1-2"]["voter_id"] == "V2" and (by["1-1-2"]["status"], by["1-1-2"]["reason"]) == ("review", "cancelled")
    assert (by["1-1-3"]["status"], by["1-1-3"]["reason"], by["1-1-3"]["voter_id"]) == ("no_match", "no_name", "")
    assert by["1-1-4"]["status"] == "no_match"
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)
    dups = pl.read_csv(tmp_path / "d.csv", infer_schema=False)
    assert dups["line_id"].to_list() == ["1-1-1", "1-1-5"]


def test_bad_input_is_one_line_error_and_no_output(tmp_path, capsys):
    (tmp_path / "v.csv").write_text(VOTERS)
    (tmp_path / "l.csv").write_text("id,name\n1,x\n")
    out = tmp_path / "out.csv"
    rc = main(["match", "--voters", str(tmp_path / "v.csv"), "--lines", str(tmp_path / "l.csv"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "wrong headers" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    (tmp_path / "v2.csv").write_text("")
    rc = main(["match", "--voters", str(tmp_path / "v2.csv"), "--lines", str(tmp_path / "v.csv"), "--out", str(out)])
    assert rc == 2 and not out.exists()
