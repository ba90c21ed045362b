"""The synthetic county: deterministic, standard schema, and the hard cases
the matcher must face really are in it."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from fixtures.voters import (
    ADDRESS_COLUMNS,
    EXEMPLAR_SOURCES,
    PEOPLE_COLUMNS,
    VOTER_COLUMNS,
    VOTER_EXTRA_COLUMNS,
    exemplar_table,
    generate_county,
    write_voter_file,
    writer_seeds,
)

N = 6_000


@pytest.fixture(scope="module")
def county():
    return generate_county(N, seed=11)


def test_same_seed_same_county_and_other_seed_differs(county):
    again = generate_county(N, seed=11)
    assert again.voters.equals(county.voters)
    assert again.people.equals(county.people)
    other = generate_county(N, seed=12)
    assert not other.voters.equals(county.voters)
    assert other.voters["voter_id"].to_list() != county.voters["voter_id"].to_list()


def test_voter_schema_and_dtypes(county):
    v = county.voters
    assert v.height == N
    assert tuple(v.columns) == VOTER_COLUMNS + VOTER_EXTRA_COLUMNS
    for c in VOTER_COLUMNS:
        want = pl.Date if c in ("birth_date", "registration_date") else pl.String
        assert v.schema[c] == want, c
    for c in VOTER_EXTRA_COLUMNS:
        assert v.schema[c] == pl.Int64
    assert v["voter_id"].n_unique() == N
    assert v["voter_id"].str.len_chars().unique().to_list() == [9]
    assert v["voter_id"].is_sorted()
    assert v["first_name"].null_count() == 0 and v["last_name"].null_count() == 0
    assert set(v["status"].unique()) == {"active", "inactive", "cancelled"}


def test_people_schema_and_link_to_voters(county):
    p = county.people
    assert tuple(p.columns) == PEOPLE_COLUMNS
    assert p.schema["registered"] == pl.Boolean and p.schema["moved"] == pl.Boolean
    assert p["person_id"].to_list() == list(range(p.height))
    assert p["registered"].sum() == N
    assert (p["voter_id"].is_null() == ~p["registered"]).all()
    # every voter record belongs to exactly one resident with the same name
    j = county.voters.join(p, on="person_id", suffix="_p")
    assert j.height == N
    assert (j["voter_id"] == j["voter_id_p"]).all()
    assert (j["last_name"] == j["last_name_p"]).all()
    assert (j["writer_seed"] == j["writer_seed_p"]).all()
    assert (j["birth_date"] == j["birth_date_p"]).all()


def test_status_mix_and_jurisdiction(county):
    share = county.voters["status"].value_counts(normalize=True)
    share = dict(zip(share["status"], share["proportion"]))
    assert share["active"] == pytest.approx(0.88, abs=0.03)
    assert share["inactive"] == pytest.approx(0.09, abs=0.03)
    assert share["cancelled"] == pytest.approx(0.03, abs=0.015)
    la = county.voters["city"] == "Los Angeles"
    assert 0.6 < la.mean() < 0.95  # most in the city, some elsewhere in the county
    assert county.jurisdiction == "City of Los Angeles"
    assert county.districts == [f"CD-{i:02d}" for i in range(1, 16)]
    d = county.voters["district"]
    assert set(d.filter(la).unique()) <= set(county.districts)
    assert d.filter(~la).null_count() == (~la).sum()
    assert county.voters["precinct"].null_count() == 0


def test_writer_seeds_unique_nonnegative(county):
    ws = county.people["writer_seed"]
    assert ws.n_unique() == county.people.height
    assert ws.min() >= 0
    # a bijection: many ids give as many distinct seeds, for any county seed
    s = writer_seeds(np.arange(200_000), seed=3)
    assert np.unique(s).size == 200_000 and s.min() >= 0
    assert not np.array_equal(s, writer_seeds(np.arange(200_000), seed=4))


def test_households_share_address_and_mostly_surname(county):
    p = county.people
    per_hh = p.group_by("household_id").agg(
        pl.len().alias("n"),
        pl.struct(*ADDRESS_COLUMNS[:-2]).n_unique().alias("addresses"),
        pl.col("last_name").n_unique().alias("surnames"),
    )
    assert (per_hh["addresses"] == 1).all()
    assert set(per_hh["n"].unique()) == {1, 2, 3, 4, 5, 6}
    multi = per_hh.filter(pl.col("n") > 1)
    assert (multi["surnames"] == 1).mean() > 0.6


def test_unregistered_household_members_exist(county):
    p = county.people
    mixed = p.group_by("household_id", "last_name").agg(
        pl.col("registered").any().alias("some"), pl.col("registered").all().alias("all"))
    assert mixed.filter(pl.col("some") & ~pl.col("all")).height > 50
    # and whole unregistered households
    hh = p.group_by("household_id").agg(pl.col("registered").any().alias("any"))
    assert (~hh["any"]).sum() > 20


def test_jr_sr_pairs_and_twins(county):
    p = county.people
    pairs = p.filter(pl.col("suffix") == "Jr").join(
        p.filter(pl.col("suffix").is_null() | (pl.col("suffix") == "Sr")),
        on=["household_id", "first_name", "last_name"], suffix="_father",
    )
    assert pairs.height >= 10
    assert (pairs["birth_date"] > pairs["birth_date_father"]).all()
    twins = p.join(p, on=["household_id", "birth_date"], suffix="_2").filter(
        pl.col("person_id") < pl.col("person_id_2"))
    assert twins.height >= 3


def test_name_mix_is_diverse_and_zipf_like(county):
    v = county.voters
    last = v["last_name"]
    assert last.str.contains(r"(ian|yan)$").sum() > 50           # Armenian
    assert (last == "Nguyen").sum() > 5                          # Vietnamese
    assert last.str.contains(r"^\S+ \S+$").sum() > 100           # double surnames
    assert last.str.contains("-").sum() > 10                     # hyphenated
    assert last.is_in(["Kim", "Lee", "Park"]).sum() > 20         # Korean
    assert last.str.starts_with("De La").sum() > 0
    top = v.group_by("last_name").len().sort("len", descending=True)
    assert top["last_name"][0] in ("Garcia", "Hernandez", "Smith", "Lopez", "Martinez")
    assert top["len"][0] > 10 * top["len"].median()
    assert 0.1 < v["middle_name"].is_null().mean() < 0.8
    assert (v["middle_name"].str.len_chars() == 1).sum() > 100   # initials only
    assert set(v["suffix"].drop_nulls().unique()) >= {"Jr", "Sr", "II", "III"}


def test_addresses_look_like_los_angeles(county):
    v = county.voters
    assert v["house_fraction"].drop_nulls().unique().to_list() == ["1/2"]
    assert set(v["street_dir"].drop_nulls().unique()) == {"N", "S", "E", "W"}
    assert v["street_name"].str.contains(r"^\d+(st|nd|rd|th)$").sum() > 100
    assert {"St", "Ave", "Blvd", "Dr", "Pl", "Way"} <= set(v["street_type"].drop_nulls().unique())
    assert set(v["unit_type"].drop_nulls().unique()) == {"Apt", "Unit", "#"}
    assert (v["unit_type"].is_null() == v["unit_number"].is_null()).all()
    assert v["zip"].str.contains(r"^9\d{4}$").all()
    # big apartment buildings: many households at one street address
    per_building = county.people.group_by("house_number", "street_name", "zip").agg(
        pl.col("household_id").n_unique().alias("households"))
    assert per_building["households"].max() >= 20


def test_moved_voters_registered_elsewhere(county):
    j = county.voters.join(county.people, on="person_id", suffix="_now")
    moved = j.filter(pl.col("moved"))
    assert moved.height > 50
    same = pl.all_horizontal(
        (pl.col(c).eq_missing(pl.col(f"{c}_now"))) for c in ("house_number", "street_name", "zip"))
    assert not moved.select(same).to_series().any()
    assert j.filter(~pl.col("moved")).select(same).to_series().all()


def test_registration_dates(county):
    v = county.voters
    assert (v["registration_date"] <= date(2026, 10, 1)).all()
    age_at_reg = (v["registration_date"] - v["birth_date"]).dt.total_days() / 365.25
    assert age_at_reg.min() >= 17.99
    recent = (v["registration_date"] > date(2026, 8, 1)).mean()
    assert 0.01 < recent < 0.06


def test_write_voter_file_roundtrip_csv_and_parquet(county, tmp_path):
    v = county.voters.head(300)
    write_voter_file(v, tmp_path / "v.csv", fmt="csv")
    write_voter_file(v, tmp_path / "v.parquet", fmt="parquet")
    back = pl.read_csv(tmp_path / "v.csv", infer_schema=False)
    assert tuple(back.columns[: len(VOTER_COLUMNS)]) == VOTER_COLUMNS
    assert back["voter_id"].to_list() == v["voter_id"].to_list()
    assert back["birth_date"].to_list() == v["birth_date"].dt.to_string("%Y-%m-%d").to_list()
    assert pl.read_parquet(tmp_path / "v.parquet").equals(v)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.csv", "v.parquet"]  # no temp files left
    with pytest.raises(ValueError, match="fmt"):
        write_voter_file(v, tmp_path / "v.x", fmt="xlsx")
    with pytest.raises(ValueError, match="zip"):
        write_voter_file(v.drop("zip"), tmp_path / "w.csv")


def test_exemplar_table(county):
    v = county.voters
    ex = exemplar_table(v, seed=4)
    assert ex.columns == ["voter_id", "k", "captured_date", "source", "age_years"]
    assert ex["voter_id"].n_unique() == v.height  # everyone has a registration card
    assert set(ex["source"].unique()) == set(EXEMPLAR_SOURCES)
    assert (ex["captured_date"] <= date(2026, 10, 1)).all()
    assert (ex["age_years"] >= 0).all()
    k0 = ex.group_by("voter_id").agg(pl.col("k").min().alias("lo"), pl.col("k").max().alias("hi"), pl.len())
    assert (k0["lo"] == 0).all() and (k0["hi"] == k0["len"] - 1).all()
    assert ex.group_by("voter_id").agg(pl.col("captured_date").is_sorted())["captured_date"].all()
    assert exemplar_table(v, seed=4).equals(ex)
    assert not exemplar_table(v, seed=5).equals(ex)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_voters"):
        generate_county(0)


def test_household_namesakes_are_jr_sr_or_rare(county):
    # Identical first + last names in one home are Jr/Sr pairs (with a
    # suffix) and, rarely, a parent and child who use none; chance Zipf
    # collisions are redrawn (they used to give ~1 in 10 pairs one name).
    p = county.people
    g = p.group_by("household_id", "last_name", "first_name").agg(
        pl.len(), pl.col("suffix").is_in(["Jr", "Sr"]).any().alias("jrsr")).filter(pl.col("len") > 1)
    assert g.height > 0
    assert g["jrsr"].mean() > 0.5
    assert (~g["jrsr"]).sum() < 0.003 * p.height
    # most Jr/Sr records carry their suffix in the voter file, not all
    jrsr = p.filter(pl.col("registered") & pl.col("suffix").is_in(["Jr", "Sr"])).join(
        county.voters.select("person_id", pl.col("suffix").alias("recorded")), on="person_id")
    assert 0.8 < jrsr["recorded"].is_not_null().mean() < 0.97
