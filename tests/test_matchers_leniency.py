"""The rule set's address leniency: each tolerated variant, turned off, becomes a difference."""
import dataclasses

import polars as pl
import pytest

import matchers
from matchers.match import ADDRESS_LENIENCY

COLS = ["voter_id", "first_name", "middle_name", "last_name", "suffix", "house_number", "house_fraction",
        "street_dir", "street_name", "street_type", "unit_type", "unit_number", "city", "zip", "status",
        "registration_date", "district"]
ROWS = [
    ("V1", "William", "Henry", "Smith", None, "12", None, None, "Main", "Street", None, None, "Los Angeles", "90012", "active", "2010-01-01", "CD-01"),
    ("V2", "Maria", "Elena", "Garcia", None, "1234", "1/2", "N", "Fifth", "St", "Apt", "5", "Los Angeles", "90028", "active", "2010-01-01", "CD-13"),
    ("V5", "Zbigniew", "Q", "Brzezinski", None, "700", None, "W", "Temple", "St", None, None, "Los Angeles", "90012", "active", "2010-01-01", "CD-01"),
]
ROWS += [(f"G{i}", "Maria", None, "Garcia", None, str(100 + i), None, None, "Hill", "St", None, None,
          "Los Angeles", "90007", "active", "2010-01-01", "CD-01") for i in range(30)]


@pytest.fixture(scope="module")
def voters():
    return matchers.prepare_voters(pl.DataFrame(ROWS, schema=COLS, orient="row"))


@pytest.fixture(scope="module")
def model():
    # as in test_matchers_match: a low threshold isolates the gates
    return dataclasses.replace(matchers.load_default_model(), accept_threshold=0.3)


def one(voters, model, name, address, city, zip_, **kw):
    lines = pl.DataFrame([("L1", name, address, city, zip_)], schema=["line_id", "name", "address", "city", "zip"],
                         orient="row")
    return matchers.match_lines(lines, voters, model=model, **kw).row(0, named=True)


# flag, a line showing the variant, (status, reason) with the flag off
CASES = [
    ("unit_blank_or_different", ("Maria Garcia", "1234 1/2 N Fifth St", "Los Angeles", "90028"), ("review", "address_mismatch")),
    ("street_name_abbreviated_or_old", ("William Smith", "12 Mian St", "Los Angeles", "90012"), ("review", "address_mismatch")),
    ("fraction_missing_or_different", ("Maria Garcia", "1234 N Fifth St Apt 5", "Los Angeles", "90028"),
     ("review", "address_mismatch")),
    ("po_box_with_matching_street", ("Maria Garcia", "PO Box 44 1234 1/2 N Fifth St Apt 5", "Los Angeles", "90028"),
     ("review", "address_mismatch")),
    ("no_city_with_street_and_zip", ("William Smith", "12 Main St", "", "90012"), ("review", "address_mismatch")),
    ("city_abbreviated_or_neighbourhood", ("Maria Garcia", "1234 1/2 N Fifth St Apt 5", "Hollywood", ""),
     ("review", "address_mismatch")),
    ("initials_for_given_names", ("W. Smith", "12 Main St", "Los Angeles", "90012"), ("review", "name_mismatch")),
]


def test_every_flag_of_the_rule_sets_is_a_matcher_variant():
    from petitions.law.rules import AddressLeniency

    assert set(AddressLeniency().tolerated()) == set(ADDRESS_LENIENCY)


@pytest.mark.parametrize("flag, line, off", CASES, ids=[c[0] for c in CASES])
def test_a_tolerated_variant_matches_and_turned_off_goes_to_a_person(voters, model, flag, line, off):
    on = one(voters, model, *line)
    assert on["status"] == "match", on
    assert one(voters, model, *line, address_leniency=ADDRESS_LENIENCY) == on  # all on = the default
    r = one(voters, model, *line, address_leniency=set(ADDRESS_LENIENCY) - {flag})
    assert (r["status"], r["reason"], r["voter_id"]) == (*off, on["voter_id"])
    # every other flag off leaves this line matched: only its own variant counts
    others = one(voters, model, *line, address_leniency={flag})
    assert others["status"] == "match", others


def test_moved_during_circulation_off_a_voter_registered_elsewhere_is_no_match(voters, model):
    line = ("Zbigniew Brzezinski", "4500 Crenshaw Blvd", "", "90043")
    on = one(voters, model, *line)
    assert (on["status"], on["reason"], on["voter_id"]) == ("review", "address_mismatch", "V5")
    r = one(voters, model, *line, address_leniency=set(ADDRESS_LENIENCY) - {"moved_during_circulation"})
    assert (r["status"], r["reason"], r["voter_id"]) == ("no_match", "address_mismatch", None)
    # the registered address still matches with the flag off
    r = one(voters, model, "Zbigniew Brzezinski", "700 W Temple St", "Los Angeles", "90012",
            address_leniency=set(ADDRESS_LENIENCY) - {"moved_during_circulation"})
    assert (r["status"], r["voter_id"]) == ("match", "V5")


def test_a_line_as_registered_matches_with_every_flag_off(voters, model):
    r = one(voters, model, "William Smith", "12 Main St", "Los Angeles", "90012", address_leniency=())
    assert (r["status"], r["voter_id"]) == ("match", "V1")


def test_an_unknown_variant_is_refused_by_name(voters, model):
    with pytest.raises(ValueError, match="address_leniency.*unit_blank"):
        one(voters, model, "William Smith", "12 Main St", "", "90012", address_leniency={"unit_blank"})
