"""Fitting the match model on fixture lines: the accept stage and the strict point's household cap."""
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
