"""Fitting the match model on fixture lines: the accept stage and the strict point's household cap."""
import dataclasses

import numpy as np
import polars as pl
import pytest

import matchers
from fixtures.signers import draw_signers, keyed_entries
from fixtures.voters import generate_county
from matchers.fit import fit_model
from matchers.model import ACCEPT_FEATURES


@pytest.fixture(scope="module")
def fitted():
    county = generate_county(40_000, seed=3)
    voters = matchers.prepare_voters(county.voters)
    signers = draw_signers(county, 3_000, seed=4)
    lines = keyed_entries(signers).with_columns(signers["date_signed"])
    model = fit_model(lines, voters, signers["voter_id"].cast(pl.String), version="test", kinds=signers["kind"])
    return model, lines, voters, signers


def test_fit_has_an_accept_stage_and_ordered_operating_points(fitted):
    model, *_ = fitted
    assert model.schema == 2 and model.accept_model["features"] == list(ACCEPT_FEATURES)
    assert len(model.accept_model["weights"]) == len(ACCEPT_FEATURES)
    pts = model.operating_points
    assert pts["strict"]["accept_threshold"] >= pts["balanced"]["accept_threshold"] >= pts["identity"]["accept_threshold"]
    assert model.accept_threshold == pts["strict"]["accept_threshold"]
    assert pts["strict"]["max_household_accepted"] == 0.003
    assert pts["strict"]["train_household_accepted"] <= 0.003
    assert matchers.MatchModel.from_json(model.to_json()) == model


def test_without_line_kinds_no_household_cap_is_claimed_nor_weighting_used(fitted):
    _, lines, voters, signers = fitted
    model = fit_model(lines, voters, signers["voter_id"].cast(pl.String), version="test")
    strict = model.operating_points["strict"]
    assert "max_household_accepted" not in strict and "train_household_accepted" not in strict
    assert model.accept_model["household_weight"] == 1.0


def test_strict_point_holds_its_household_cap_on_the_training_lines(fitted):
    model, lines, voters, signers = fitted
    out = matchers.match_lines(lines, voters, model=model)
    kind = signers["kind"]
    hh = (kind == "household_member").to_numpy()
    accepted = (out["status"] == "match").to_numpy()
    assert accepted[hh].mean() <= 0.003
    ok = (out["voter_id"] == signers["voter_id"].cast(pl.String)).fill_null(False).to_numpy()
    assert ok[accepted].mean() >= model.operating_points["strict"]["target_precision"] - 1e-9
    # and it still accepts a real share of the valid lines
    valid = (kind == "valid").to_numpy()
    assert (accepted & ok)[valid].mean() > 0.2
    assert np.isclose(model.operating_points["strict"]["train_household_accepted"], accepted[hh].mean(), atol=1e-4)


def test_accept_stage_weights_household_lines_and_stays_calibrated(fitted):
    model, lines, voters, signers = fitted
    assert model.accept_model["household_weight"] == 30.0
    # the recalibrated accept model: among auto-accepted lines the mean score
    # is close to the share that is the true voter (not the weighted fit's
    # pessimism)
    out = matchers.match_lines(lines, voters, model=dataclasses.replace(model, accept_threshold=0.0))
    ok = (out["voter_id"] == signers["voter_id"].cast(pl.String)).fill_null(False).to_numpy()
    acc = (out["status"] == "match").to_numpy()
    assert abs(out["score"].to_numpy()[acc].mean() - ok[acc].mean()) < 0.01


def test_fit_logistic_sample_weight_equals_repeating_rows():
    from matchers.model import fit_logistic
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(float)
    w = np.where(y == 0, 3.0, 1.0)
    rep = np.r_[np.arange(300), np.repeat(np.flatnonzero(y == 0), 2)]
    a = fit_logistic(X, y, sample_weight=w)
    b = fit_logistic(X[rep], y[rep])
    assert np.allclose(a[0], b[0], atol=1e-5) and abs(a[1] - b[1]) < 1e-5


def test_middle_name_on_one_side_only_features():
    from matchers.match import accept_design
    P = pl.DataFrame({
        "first_level": ["exact"] * 4, "middle_level": ["missing", "missing", "missing", "exact"],
        "suffix_level": ["both_missing"] * 4, "address_level": ["exact"] * 4,
        "l_middle": [None, None, "ANN", "ANN"], "k_middle": [None, "ANN", None, "ANN"],
        **{c: [0.0] * 4 for c in ("first_rarity", "last_rarity", "address_crowd", "weight", "other_mass",
                                  "housemates", "name_given_surname")},
        "tf_address": [2] * 4, "tf_name": [1] * 4,
    })
    X = accept_design(P)
    rec, line = ACCEPT_FEATURES.index("middle_only_on_record"), ACCEPT_FEATURES.index("middle_only_on_line")
    assert X[:, rec].tolist() == [0, 1, 0, 0] and X[:, line].tolist() == [0, 0, 1, 0]
