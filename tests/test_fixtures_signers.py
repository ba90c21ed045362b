"""Petition signers: every kind present, labels consistent with the county."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from fixtures.signers import (
    KINDS,
    REASONS,
    SIGNATURE_VARIANT_SHARE,
    SIGNER_COLUMNS,
    SignerMix,
    draw_signers,
    keyed_entries,
)
from fixtures.voters import generate_county

N_LINES = 2_000
CIRC = (date(2026, 8, 1), date(2026, 9, 15))


@pytest.fixture(scope="module")
def county():
    return generate_county(8_000, seed=5)


@pytest.fixture(scope="module")
def lines(county):
    return draw_signers(county, N_LINES, seed=9, circulation=CIRC)


@pytest.fixture(scope="module")
def with_truth(lines, county):
    """Lines joined to the voter record they refer to."""
    return lines.join(county.voters, on="voter_id", how="left", suffix="_v")


def test_deterministic(county, lines):
    assert draw_signers(county, N_LINES, seed=9, circulation=CIRC).equals(lines)
    other = draw_signers(county, N_LINES, seed=10, circulation=CIRC)
    assert not other.equals(lines)
    assert other["voter_id"].to_list() != lines["voter_id"].to_list()


def test_schema(lines):
    assert tuple(lines.columns) == SIGNER_COLUMNS
    s = lines.schema
    assert s["line_seq"] == pl.Int64 and s["person_id"] == pl.Int64 and s["writer_seed"] == pl.Int64
    assert s["expected_valid"] == pl.Boolean and s["forged"] == pl.Boolean
    assert s["date_signed"] == pl.Date
    for c in ("kind", "voter_id", "expected_reason", "state", "written_name", "keyed_name", "signature_name"):
        assert s[c] == pl.String
    assert lines["line_seq"].to_list() == list(range(N_LINES))
    for c in ("keyed_name", "keyed_address", "keyed_city", "keyed_zip"):
        assert lines[c].null_count() == 0


def test_every_kind_present_in_proportion(lines):
    mix = SignerMix()
    counts = dict(lines["kind"].value_counts().iter_rows())
    assert set(counts) == set(KINDS)
    assert counts == mix.counts(N_LINES)
    for k in KINDS:
        assert counts[k] / N_LINES == pytest.approx(getattr(mix, k), abs=0.002)


def test_expected_valid_consistent_with_kind(lines):
    assert (lines["expected_valid"] == (lines["kind"] == "valid")).all()
    want = lines["kind"].replace_strict(REASONS, return_dtype=pl.String)
    assert lines["expected_reason"].eq_missing(want).all()
    assert (lines["expected_reason"].is_null() == lines["expected_valid"]).all()
    state = dict(lines.group_by("kind").agg(pl.col("state").unique()).iter_rows())
    assert state["blank"] == ["blank"] and state["struck"] == ["struck"] and state["valid"] == ["signed"]


def test_valid_lines_name_eligible_voters_at_their_address(with_truth, county):
    v = with_truth.filter(pl.col("kind") == "valid")
    assert v["voter_id"].null_count() == 0
    assert (v["city"] == "Los Angeles").all()
    assert v["status"].is_in(["active", "inactive"]).all()
    assert (v["registration_date"] < v["date_signed"]).all()
    # the written address starts with the registered house number
    assert v.select(pl.col("written_address").str.starts_with(pl.col("house_number"))).to_series().all()
    assert (v["writer_seed"] == v["writer_seed_v"]).all()
    assert (v["person_id"] == v["person_id_v"]).all()


def test_kinds_match_the_voter_file(with_truth):
    k = with_truth
    assert (k.filter(pl.col("kind") == "cancelled")["status"] == "cancelled").all()
    assert (k.filter(pl.col("kind") == "out_of_jurisdiction")["city"] != "Los Angeles").all()
    ras = k.filter(pl.col("kind") == "registered_after_signing")
    assert (ras["registration_date"] > ras["date_signed"]).all()
    unreg = k.filter(pl.col("kind").is_in(["not_registered", "household_member", "blank"]))
    assert unreg["voter_id"].null_count() == unreg.height


def test_household_members_live_with_a_voter_of_their_surname(lines, county):
    hm = lines.filter(pl.col("kind") == "household_member").select("person_id").join(
        county.people, on="person_id")
    assert (~hm["registered"]).all()
    mates = hm.join(county.people.filter(pl.col("registered")), on=["household_id", "last_name"], suffix="_mate")
    assert mates["person_id"].n_unique() == hm.height
    # mostly the hard case: the housemate's first name starts the same way
    alike = mates.filter(pl.col("first_name").str.slice(0, 1) == pl.col("first_name_mate").str.slice(0, 1))
    assert alike["person_id"].n_unique() >= 0.7 * hm.height
    # the very same first and last name: Jr/Sr pairs (some share of the
    # hardest tier) plus a small residual with no suffix at all. Before the
    # county redrew chance namesakes this residual was ~28 % of household
    # lines, which no name-and-address matcher can separate from the voter.
    same = mates.filter(pl.col("first_name") == pl.col("first_name_mate"))
    jrsr = same.filter(pl.col("suffix").is_in(["Jr", "Sr"]) | pl.col("suffix_mate").is_in(["Jr", "Sr"]))
    assert jrsr["person_id"].n_unique() > 0
    assert (same["person_id"].n_unique() - jrsr["person_id"].n_unique()) <= 0.05 * hm.height
    nr = lines.filter(pl.col("kind") == "not_registered").join(county.people, on="person_id")
    assert (~nr["registered"]).all()


def test_duplicates_repeat_an_earlier_line(lines):
    d = lines.filter(pl.col("kind") == "duplicate")
    first = lines.filter(pl.col("kind") == "valid").select(
        "voter_id", pl.col("line_seq").alias("first_seq"), pl.col("date_signed").alias("first_date"))
    j = d.join(first, on="voter_id")
    assert j.height == d.height
    assert (j["first_seq"] < j["line_seq"]).all()
    assert (j["first_date"] <= j["date_signed"]).all()
    # first signature counts: only the later line is invalid
    assert lines.filter(pl.col("voter_id").is_in(d["voter_id"].implode()) & (pl.col("kind") == "valid"))[
        "expected_valid"].all()


def test_moved_voters_write_their_new_address(with_truth, county):
    mv = with_truth.filter(pl.col("kind") == "moved")
    assert mv.height > 0
    reg_addr = pl.concat_str(["house_number", "street_name"], separator=" ").str.to_lowercase()
    written = pl.col("written_address").str.to_lowercase()
    assert not mv.select(written.str.contains(reg_addr, literal=True)).to_series().any()
    now = mv.join(county.people, on="person_id", suffix="_now")
    assert now["moved"].all()
    assert now.select(written.str.starts_with(pl.col("house_number_now"))).to_series().all()


def test_forged_lines(with_truth, county):
    f = with_truth.filter(pl.col("kind") == "forged")
    assert f["forged"].all() and not with_truth.filter(pl.col("kind") != "forged")["forged"].any()
    assert (f["writer_seed"] != f["writer_seed_v"]).all()
    assert (f["person_id"] != f["person_id_v"]).all()
    # the forger's hand is a real resident's
    assert f["writer_seed"].is_in(county.people["writer_seed"].implode()).all()


def test_signature_written_from_the_registered_name(with_truth):
    """People sign as on their registration card (the exemplars' name), a
    minority in a shorter form; forgers write the named voter's name."""
    signed = with_truth.filter((pl.col("state") != "blank") & pl.col("voter_id").is_not_null())
    registered = pl.concat_str(["first_name", "middle_name", "last_name"], separator=" ", ignore_nulls=True)
    same = signed.select(pl.col("signature_name") == registered).to_series()
    assert abs((1 - same.mean()) - SIGNATURE_VARIANT_SHARE) < 0.03
    other = signed.filter(~same)
    initial_last = pl.concat_str([pl.col("first_name").str.slice(0, 1) + ".", "last_name"], separator=" ")
    forms = other.select((pl.col("signature_name") == initial_last).alias("f"),
                         (pl.col("signature_name") == pl.col("last_name")).alias("l"))
    assert (forms["f"] | forms["l"]).all()
    assert 0.3 < forms["f"].mean() < 0.7
    # forged lines too: the forger writes the voter's registered name
    forged = signed.filter(pl.col("kind") == "forged").select(pl.col("signature_name") == registered).to_series()
    assert forged.mean() > 0.7
    # people with no voter record sign their own full name
    unreg = with_truth.filter(pl.col("kind").is_in(["not_registered", "household_member"]))
    assert unreg.height > 0 and unreg["signature_name"].null_count() == 0


def test_petition_signature_text_matches_the_exemplars(with_truth):
    """What the hand writes on the petition (its habit applied to the
    signature name) is the text of its exemplars on most valid lines."""
    from fixtures.signatures import _words, _writer

    v = with_truth.filter(pl.col("kind") == "valid").head(400)
    same = []
    for r in v.iter_rows(named=True):
        ex_name = " ".join(p for p in (r["first_name"], r["middle_name"], r["last_name"]) if p)
        h = _writer(int(r["writer_seed"]))
        same.append(_words(r["signature_name"], h) == _words(ex_name, h))
    share = sum(same) / len(same)
    assert 1 - SIGNATURE_VARIANT_SHARE - 0.05 < share < 1.0


def test_blank_and_struck_lines(lines):
    b = lines.filter(pl.col("state") == "blank")
    assert b["person_id"].null_count() == b.height and b["date_signed"].null_count() == b.height
    assert b["written_name"].null_count() == b.height
    s = lines.filter(pl.col("state") == "struck")
    assert s["written_name"].null_count() == 0
    for c in ("keyed_name", "keyed_address", "keyed_city", "keyed_zip"):
        assert (b[c] == "").all() and (s[c] == "").all()


def test_dates_inside_circulation(lines):
    d = lines["date_signed"].drop_nulls()
    assert d.min() >= CIRC[0] and d.max() <= CIRC[1]


def test_written_variants_are_realistic(with_truth):
    signed = with_truth.filter(pl.col("kind") == "valid")
    # most start with the registered first name, some use a nickname / initial
    starts = signed.select(
        pl.col("written_name").str.to_lowercase().str.starts_with(pl.col("first_name").str.to_lowercase())
    ).to_series()
    assert 0.75 < starts.mean() < 0.99
    assert signed["written_name"].str.contains(r"^\w\. ").sum() > 0          # initial for first name
    city = signed["written_city"]
    assert city.null_count() > 0                                   # blank city with zip
    assert (city.str.to_lowercase() == "los angeles").mean() > 0.3
    assert city.is_in(["LA", "L.A."]).sum() > 0
    hoods = city.drop_nulls().str.to_lowercase().is_in(["los angeles", "la", "l.a."])
    assert (~hoods).sum() > 50                                     # "Van Nuys", "Hollywood" ...
    addr = signed["written_address"].str.to_lowercase()
    assert addr.str.contains(r"\b(street|avenue|boulevard)\b").sum() > 20
    assert (signed["written_name"] == signed["written_name"].str.to_uppercase()).mean() > 0.2
    with_unit = signed.filter(pl.col("unit_number").is_not_null())
    missing_unit = ~with_unit.select(
        pl.col("written_address").str.contains(pl.col("unit_number"), literal=True)).to_series()
    assert 0.1 < missing_unit.mean() < 0.5


def test_keying_typos(lines):
    signed = lines.filter(pl.col("state") == "signed")
    differs = signed.select(
        (pl.col("keyed_name").str.to_lowercase() != pl.col("written_name").str.to_lowercase())
        | (pl.col("keyed_address").str.to_lowercase() != pl.col("written_address").str.to_lowercase())
    ).to_series()
    assert 0.04 < differs.mean() < 0.12
    assert (signed["keyed_city"] == "").sum() >= signed["written_city"].null_count()


def test_keyed_entries_contract_format(lines, tmp_path):
    ids = pl.Series([f"F1/S1/P{i // 10 + 1}/L{i % 10 + 1}" for i in range(N_LINES)])
    k = keyed_entries(lines, ids)
    assert k.columns == ["line_id", "name", "address", "city", "zip"]
    assert k["line_id"].to_list() == ids.to_list()
    assert k.select(pl.all().null_count()).sum_horizontal().item() == 0
    assert k["name"].to_list() == lines["keyed_name"].to_list()
    assert keyed_entries(lines)["line_id"].to_list()[:3] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="line_ids"):
        keyed_entries(lines, ids.head(5))


def test_custom_mix_and_errors(county):
    mix = SignerMix(not_registered=0.1, household_member=0.0, moved=0.0, duplicate=0.0,
                    out_of_jurisdiction=0.0, cancelled=0.0, registered_after_signing=0.0,
                    forged=0.0, blank=0.0, struck=0.0)
    s = draw_signers(county, 100, seed=1, mix=mix)
    assert dict(s["kind"].value_counts().iter_rows()) == {"valid": 90, "not_registered": 10}
    with pytest.raises(ValueError, match="n_lines"):
        draw_signers(county, 0)
    with pytest.raises(ValueError, match="too|larger|candidates"):
        draw_signers(county, 200_000)
    with pytest.raises(ValueError):
        SignerMix(blank=1.5)


def test_mix_round_trips_through_a_dict():
    mix = SignerMix(forged=0.02, keying_error_rate=0.1)
    assert SignerMix.from_dict(mix.to_dict()) == mix
    with pytest.raises(ValueError, match="bogus"):
        SignerMix.from_dict({"bogus": 0.1})
