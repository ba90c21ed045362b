"""Voter-file import: CSV (any delimiter, Latin-1, mixed), fixed width, Parquet, mapping, located errors."""
import json

import polars as pl
import pytest

import matchers
from matchers.voterfile import STANDARD_COLUMNS

HEADER = ",".join(STANDARD_COLUMNS)


def row(vid, first="Jose", last="Nunez", house="12", street="Main", zip_="90012", status="active", reg="2020-01-02"):
    vals = {c: "" for c in STANDARD_COLUMNS}
    vals.update(voter_id=vid, first_name=first, last_name=last, house_number=house, street_name=street,
                street_type="St", city="Los Angeles", zip=zip_, status=status, registration_date=reg)
    return vals


def write_csv(path, rows, sep=",", encoding="utf-8"):
    text = sep.join(STANDARD_COLUMNS) + "\n" + "\n".join(sep.join(r[c] for c in STANDARD_COLUMNS) for r in rows) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("sep", [",", "\t", "|", ";"])
def test_any_delimiter(tmp_path, sep):
    df = matchers.read_voter_file(write_csv(tmp_path / "v.txt", [row("1"), row("2", first="Ana")], sep=sep))
    assert df["first_name"].to_list() == ["Jose", "Ana"]
    assert df.columns[: len(STANDARD_COLUMNS)] == list(STANDARD_COLUMNS)
    assert df.schema["registration_date"] == pl.Date


def test_latin1_and_mixed_encodings(tmp_path):
    p = write_csv(tmp_path / "latin1.csv", [row("1", first="José", last="Núñez")], encoding="latin-1")
    assert matchers.read_voter_file(p)["last_name"][0] == "Núñez"
    mixed = tmp_path / "mixed.csv"
    utf = write_csv(tmp_path / "u.csv", [row("1", first="José")]).read_bytes()
    mixed.write_bytes(utf + ",".join(row("2", first="Zoë")[c] for c in STANDARD_COLUMNS).encode("latin-1") + b"\n")
    assert matchers.read_voter_file(mixed)["first_name"].to_list() == ["José", "Zoë"]


def test_parquet_and_mapping(tmp_path):
    county = pl.DataFrame({"VOTER ID": ["9"], "FNAME": ["Ana"], "LNAME": ["Lopez"], "HOUSE": ["1"], "STREET": ["Elm"],
                           "ZIP5": ["90001"]})
    county.write_parquet(tmp_path / "c.parquet")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"VOTER ID": "voter_id", "FNAME": "first_name", "LNAME": "last_name",
                                   "HOUSE": "house_number", "STREET": "street_name", "ZIP5": "zip"}))
    df = matchers.read_voter_file(tmp_path / "c.parquet", mapping=mapping)
    assert df.select("voter_id", "first_name", "zip").row(0) == ("9", "Ana", "90001")
    # the other direction (standard -> county) and CSV mapping files work too
    (tmp_path / "map.csv").write_text("standard,source\n" + "\n".join(
        f"{v},{k}" for k, v in json.loads(mapping.read_text()).items()))
    assert matchers.read_voter_file(tmp_path / "c.parquet", mapping=tmp_path / "map.csv")["voter_id"][0] == "9"


def test_fixed_width_with_layout(tmp_path):
    layout = [{"name": "voter_id", "start": 1, "width": 4}, {"name": "first_name", "start": 5, "width": 8},
              {"name": "last_name", "start": 13, "width": 8}, {"name": "house_number", "start": 21, "width": 5},
              {"name": "street_name", "start": 26, "width": 10}, {"name": "zip", "start": 36, "width": 5}]
    (tmp_path / "layout.json").write_text(json.dumps(layout))
    (tmp_path / "v.txt").write_text("0001Jose    Nunez   12   Main      90012\n0002Ana     Lopez   7    Elm       90001\n")
    df = matchers.read_voter_file(tmp_path / "v.txt", layout=tmp_path / "layout.json")
    assert df.select("voter_id", "first_name", "street_name").rows() == [("0001", "Jose", "Main"), ("0002", "Ana", "Elm")]


def test_every_problem_is_located(tmp_path):
    p = write_csv(tmp_path / "bad.csv", [row("1"), row("", last=""), row("1", zip_="ABC"), row("4", status="maybe", reg="31/31/2020")])
    with pytest.raises(matchers.VoterFileError) as exc:
        matchers.read_voter_file(p)
    e = exc.value
    assert e.user_error
    text = " | ".join(e.problems)
    assert "row 3, column voter_id: voter id is blank" in text
    assert "row 3, column last_name" in text
    assert "row 2, column voter_id: voter id appears more than once" in text
    assert "row 4, column zip" in text and "ABC" in text
    assert "row 5, column status" in text and "row 5, column registration_date" in text
    assert str(p) in str(e)


@pytest.mark.parametrize("content, words", [
    ("", "empty"),
    ("id,name\n1,x\n", "wrong headers"),
    (HEADER + "\n", "no voters"),
])
def test_wrong_headers_and_empty_files(tmp_path, content, words):
    p = tmp_path / "v.csv"
    p.write_text(content)
    with pytest.raises(matchers.VoterFileError, match=words):
        matchers.read_voter_file(p)


def test_huge_field_is_reported_not_crashing(tmp_path):
    p = write_csv(tmp_path / "v.csv", [row("1", first="x" * 50_000)])
    with pytest.raises(matchers.VoterFileError, match="row 2, column first_name"):
        matchers.read_voter_file(p)


def test_prepare_adds_keys_and_term_frequencies(tmp_path):
    df = matchers.read_voter_file(write_csv(tmp_path / "v.csv", [row("1"), row("2"), row("3", first="Ana", house="14")]))
    prep = matchers.prepare_voters(df)
    assert prep["k_first"].to_list() == ["JOSE", "JOSE", "ANA"]
    assert prep["tf_first"].to_list() == [2, 2, 1]
    assert prep["tf_address"].to_list() == [2, 2, 1]
    assert prep["a_street"].to_list() == ["MAIN"] * 3
    # preparing twice gives the same frame
    assert matchers.prepare_voters(prep).equals(prep)


def test_fingerprint_identifies_the_copy(tmp_path):
    df = matchers.read_voter_file(write_csv(tmp_path / "v.csv", [row("1"), row("2")]))
    fp = matchers.voter_file_fingerprint(df)
    assert fp.startswith("sha256:") and fp == matchers.voter_file_fingerprint(matchers.prepare_voters(df))
    assert fp != matchers.voter_file_fingerprint(df.head(1))
