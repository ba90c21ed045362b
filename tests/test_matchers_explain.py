"""matchers.explain_fields: the review screen's field levels come from the
matcher's normalisation (issue 20, item 2). Each trivial difference the
issue lists is equivalent under a named rule; real differences stay red."""
from __future__ import annotations

import polars as pl
import pytest

from matchers.explain import LEVELS, explain_fields

VOTER = {"first_name": "JOSE", "middle_name": "ANTONIO", "last_name": "GARCIA LOPEZ", "suffix": None,
         "house_number": "806", "house_fraction": None, "street_dir": "S", "street_name": "MAIN",
         "street_type": "BLVD", "street_post_dir": None, "unit_type": "UNIT", "unit_number": "806",
         "city": "LOS ANGELES", "zip": "90012"}
KEYED = {"name": "Jose Antonio Garcia Lopez", "address": "806 S Main Blvd Unit 806", "city": "Los Angeles",
         "zip": "90012"}


def _explain(**changes):
    k = {**KEYED, **{f: v for f, v in changes.items() if f in KEYED}}
    v = dict(VOTER)
    return explain_fields(pl.DataFrame([k], schema={c: pl.String for c in k}),
                          pl.DataFrame([v], schema={c: pl.String for c in v})).row(0, named=True)


def test_as_keyed_is_exact():
    r = _explain()
    assert [r[f"{f}_level"] for f in ("name", "address", "city", "zip")] == ["exact"] * 4


@pytest.mark.parametrize("change, field, rule", [
    ({"address": "806 S Main Blvd #806"}, "address", "unit designator"),
    ({"address": "806 S Main Blvd Apt 806"}, "address", "unit designator"),
    ({"address": "806 S Main Blvd"}, "address", "unit missing"),
    ({"address": "806 S Main Unit 806"}, "address", "street type"),
    ({"city": "LA"}, "city", "city alias"),
    ({"city": "Hollywood"}, "city", "city alias"),
    ({"name": "Joe Antonio Garcia Lopez"}, "name", "nickname"),
    ({"name": "Jose Antonio Garcia"}, "name", "maternal surname"),
    ({"name": "Jose Garcia Lopez"}, "name", "middle name omitted"),
])
def test_differences_that_are_no_ground_to_reject_are_equivalent_with_their_rule(change, field, rule):
    r = _explain(**change)
    assert r[f"{field}_level"] == "equivalent", r
    assert rule in r[f"{field}_rule"]


@pytest.mark.parametrize("change, field, rule", [
    ({"address": "808 S Main Blvd Unit 806"}, "address", "house number"),
    ({"address": "806 S Spring Blvd Unit 806"}, "address", "street"),
    ({"name": "Maria Antonio Garcia Lopez"}, "name", "given name"),
    ({"name": "Jose Antonio Hernandez"}, "name", "surname"),
    ({"zip": "90210"}, "zip", "zip"),
    ({"city": "Pasadena", "zip": "91101"}, "city", "city"),
])
def test_differences_that_can_matter_stay_different(change, field, rule):
    r = _explain(**change)
    assert r[f"{field}_level"] == "different", r
    assert rule in r[f"{field}_rule"]


def test_nothing_keyed_is_missing_and_batches_keep_order():
    r = _explain(city="", zip=None)
    assert (r["city_level"], r["zip_level"]) == ("missing", "missing")
    k = pl.DataFrame({"name": ["Joe Garcia", "Ann Lee", None]})
    v = pl.DataFrame({"first_name": ["JOSE", "ANN", "X"], "last_name": ["GARCIA", "LEE", "Y"]})
    out = explain_fields(k, v)
    assert out["name_level"].to_list() == ["equivalent", "exact", "missing"]
    assert set(out["address_level"].to_list()) <= set(LEVELS)
    with pytest.raises(ValueError, match="same number of rows"):
        explain_fields(k, v.head(2))
