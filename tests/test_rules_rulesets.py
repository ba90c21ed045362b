"""Rule sets: shipped California data, JSON round trip, validation, EC 11221."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from petitions.errors import UserError
from petitions.law.rules import RuleSet, builtin_rulesets, load_ruleset, required_count

CA = ["ca-in-lieu", "ca-initiative", "ca-nominating", "ca-recall-local", "ca-recall-state", "ca-referendum"]


def test_shipped_california_rulesets():
    assert set(CA) <= set(builtin_rulesets())
    kinds = {n: load_ruleset(n).kind for n in CA}
    assert kinds == {"ca-in-lieu": "in_lieu", "ca-initiative": "initiative", "ca-nominating": "nominating",
                     "ca-recall-local": "recall", "ca-recall-state": "recall", "ca-referendum": "referendum"}


@pytest.mark.parametrize("name", CA)
def test_json_round_trip_and_stable_hash(name):
    rs = load_ruleset(name)
    again = RuleSet.from_json(rs.to_json())
    assert again == rs and again.content_hash == rs.content_hash
    assert len(rs.content_hash) == 64
    # Every CA set: people reject, software only accepts; one counts.
    assert rs.duplicate_policy == "one_counts" and rs.rejections_required == 1
    assert set(rs.triage.auto_invalid_levels) <= {"blank_line", "struck_line", "empty_line"}
    assert rs.triage.min_signature_score is None  # the model's own 'consistent' decision


def test_bands_per_domain():
    for name in ("ca-initiative", "ca-referendum", "ca-recall-state"):
        b = load_ruleset(name).bands
        assert (b.qualify_above_pct, b.full_count_from_pct) == (110, 95)
    b = load_ruleset("ca-recall-local").bands
    assert (b.qualify_above_pct, b.full_count_from_pct) == (110, 90)  # EC 11225


def test_sampling_parameters():
    assert load_ruleset("ca-initiative").sampling.percent == 3
    assert load_ruleset("ca-initiative").sampling.minimum == 500
    assert load_ruleset("ca-recall-local").sampling.percent == 5
    assert load_ruleset("ca-nominating").sampling.method == "full_count"
    assert load_ruleset("ca-referendum").max_circulation_days == 30


def test_content_hash_changes_with_any_rule():
    rs = load_ruleset("ca-initiative")
    data = json.loads(rs.to_json())
    data["bands"]["full_count_from_pct"] = 94
    assert RuleSet.from_dict(data).content_hash != rs.content_hash


def test_decimals_survive_json():
    data = json.loads(load_ruleset("ca-initiative").to_json())
    data["sampling"]["percent"] = 2.5
    data["qa"]["auto_accept_rate"] = 0.025
    rs = RuleSet.from_json(json.dumps(data))
    assert rs.sampling.percent == Decimal("2.5") and rs.qa.auto_accept_rate == Decimal("0.025")
    assert RuleSet.from_json(rs.to_json()) == rs


@pytest.mark.parametrize("registered, required", [
    # EC 11221(a): 30 % < 1,000; 25 % 1,000-9,999; 20 % 10,000-49,999;
    # 15 % 50,000-99,999; 10 % ≥ 100,000 — rounded up ("not less than").
    (999, 300),        # 299.7 → 300
    (1_000, 250),
    (9_999, 2_500),    # 2,499.75 → 2,500
    (10_000, 2_000),
    (49_999, 10_000),  # 9,999.8 → 10,000
    (50_000, 7_500),
    (99_999, 15_000),  # 14,999.85 → 15,000
    (100_000, 10_000),
    (2_100_001, 210_001),
])
def test_local_recall_requirement_ec_11221(registered, required):
    assert required_count(load_ruleset("ca-recall-local"), registered) == required


def test_requirement_bases():
    rs = load_ruleset("ca-initiative")
    assert rs.required_count(7_000_000, basis="statewide_statute") == 350_000
    assert rs.required_count(7_000_000, basis="statewide_constitutional") == 560_000
    assert rs.required_count(123_457, basis="city") == 12_346
    state = load_ruleset("ca-recall-state")
    assert state.required_count(10_000_001, basis="statewide_officer") == 1_200_001  # 12 %, rounded up
    assert load_ruleset("ca-nominating").required_count(500) == 500  # fixed per office
    with pytest.raises(UserError, match="no requirement basis"):
        rs.required_count(1, basis="nope")


def test_qa_audit_size():
    qa = load_ruleset("ca-initiative").qa
    assert qa.audit_size(10_000, qa.auto_accept_rate) == 200       # 2 %
    assert qa.audit_size(101, qa.auto_accept_rate) == 3            # ⌈2.02⌉
    assert qa.audit_size(40, qa.per_reviewer_rate, qa.minimum_per_reviewer) == 10
    assert qa.audit_size(4, qa.per_reviewer_rate, qa.minimum_per_reviewer) == 4


def test_circulation_end_from_limit():
    import datetime as dt
    rs = load_ruleset("ca-referendum")
    assert rs.circulation_end(dt.date(2024, 1, 10)) == dt.date(2024, 2, 9)
    assert load_ruleset("ca-initiative").circulation_end(dt.date(2024, 1, 10)) is None


def test_address_leniency_flags():
    tolerated = load_ruleset("ca-initiative").address_leniency.tolerated()
    assert "unit_blank_or_different" in tolerated and "city_abbreviated_or_neighbourhood" in tolerated
    assert len(tolerated) == 8


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.update(kind="petition"), "kind"),
    (lambda d: d["sampling"].update(percent=0), "percent"),
    (lambda d: d.update(duplicate_policy="all_count"), "duplicate_policy"),
    (lambda d: d.update(rejections_required=0), "rejections_required"),
    (lambda d: d.update(unexpected=1), "unknown field"),
    (lambda d: d["triage"].update(auto_invalid_levels=["signature_mismatch"]), "auto_invalid_levels"),
    (lambda d: d["triage"].update(min_match_status="review"), "min_match_status"),
    (lambda d: d["bands"].update(full_count_from_pct=120), "full_count_from_pct"),
    (lambda d: d["qa"].update(auto_accept_rate=2), "auto_accept_rate"),
    (lambda d: d.pop("id"), "'id'"),
])
def test_bad_ruleset_is_a_user_error_naming_the_field(mutate, words):
    data = json.loads(load_ruleset("ca-initiative").to_json())
    mutate(data)
    with pytest.raises(UserError, match=words):
        RuleSet.from_dict(data)


def test_load_from_path_and_errors(tmp_path):
    path = tmp_path / "wa-initiative.json"
    data = json.loads(load_ruleset("ca-initiative").to_json())
    data.update(id="wa-initiative", jurisdiction="WA", duplicate_policy="reject_all_but_first")
    path.write_text(json.dumps(data), encoding="utf-8")
    rs = load_ruleset(str(path))
    assert rs.id == "wa-initiative" and rs.duplicate_policy == "reject_all_but_first"
    with pytest.raises(UserError, match="not found"):
        load_ruleset(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(UserError, match="not valid JSON"):
        load_ruleset(str(tmp_path / "bad.json"))
    with pytest.raises(UserError, match="no rule set named"):
        load_ruleset("xx-nothing")


def test_law_modules_are_pure():
    """The law-and-math layer imports no database and no Qt (STYLE.md §1)."""
    import subprocess
    import sys
    code = (
        "import importlib.abc, sys\n"
        "class B(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'sqlite3', 'sqlite_utils', 'PySide6', 'gui'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, B())\n"
        "import petitions.law.rules, petitions.law.sampling, petitions.law.projection, petitions.law.triage\n"
        "import petitions.law.duplicates, petitions.law.agreement, petitions.certificate, petitions.law.reasons\n"
        "import petitions.commands.sampling\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
