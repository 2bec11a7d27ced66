"""Content: sector templates, Vision Zero scoring, OSH maturity index."""

from __future__ import annotations

import itertools

import pytest

from qorgau.risk.constants import LANGUAGES, ControlLevel, Sector
from qorgau.risk.content import (
    MATURITY_WEIGHTS,
    load_template,
    load_templates,
    load_vision_zero,
    osh_maturity_index,
    score_vision_zero,
)
from qorgau.risk.methods import RiskInputError, assess, control_adequacy

# --- templates --------------------------------------------------------------------------------


@pytest.mark.parametrize("sector", list(Sector))
def test_template_loads_with_valid_levels_and_three_languages(sector: Sector) -> None:
    tpl = load_template(sector)
    assert 10 <= len(tpl.hazards) <= 20
    for hazard in tpl.hazards:
        for text in (hazard.description, hazard.workplace):
            assert all(text[lang].strip() for lang in LANGUAGES)
        assert hazard.controls
        for control in hazard.controls:
            assert isinstance(control.level, ControlLevel)
            assert all(control.text[lang].strip() for lang in LANGUAGES)
            assert isinstance(control.requires_instruction, bool)


def test_template_ids_unique_across_sectors() -> None:
    ids = [h.id for tpl in load_templates().values() for h in tpl.hazards]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("sector", list(Sector))
def test_template_high_risks_are_not_left_to_admin_and_ppe(sector: Sector) -> None:
    # Our own content must pass our own adequacy check for its typical initial risk.
    for hazard in load_template(sector).hazards:
        band = assess(
            "matrix_5x5", {"likelihood": hazard.likelihood, "severity": hazard.severity}
        ).initial.band
        flags = control_adequacy([c.level for c in hazard.controls], band)
        assert not flags, (hazard.id, band, flags)


def test_mining_template_covers_key_hazards() -> None:
    ids = {h.id for h in load_template("mining").hazards}
    assert {"mining-methane-explosion", "mining-roof-fall", "mining-silica-dust"} <= ids


def test_unknown_sector_rejected() -> None:
    with pytest.raises(RiskInputError) as err:
        load_template("fishing")
    assert err.value.field == "sector"


# --- Vision Zero ------------------------------------------------------------------------------


def _all_questions() -> list[str]:
    return [q["id"] for r in load_vision_zero()["rules"] for q in r["questions"]]


def test_vision_zero_has_seven_rules_with_4_to_6_questions() -> None:
    doc = load_vision_zero()
    assert [r["number"] for r in doc["rules"]] == [1, 2, 3, 4, 5, 6, 7]
    assert doc["rules"][0]["title"]["en"] == "Take leadership – demonstrate commitment"
    assert doc["rules"][6]["title"]["en"] == "Invest in people – motivate by participation"
    for rule in doc["rules"]:
        assert 4 <= len(rule["questions"]) <= 6
        for q in rule["questions"]:
            assert all(q["text"][lang].strip() for lang in LANGUAGES)
    assert "ISSA" in doc["source"]


def test_vision_zero_all_green_and_all_red() -> None:
    assert score_vision_zero(dict.fromkeys(_all_questions(), 2)).total_pct == 100.0
    red = score_vision_zero(dict.fromkeys(_all_questions(), "red"))
    assert red.total_pct == 0.0 and red.complete


def test_vision_zero_hand_case() -> None:
    # Rule 1: green + amber → (2 + 1) / 4 = 75 %; rule 2: red → 0 %; mean of rules = 37.5 %.
    score = score_vision_zero({"r1q1": 2, "r1q2": "amber", "r2q1": 0, "r3q1": None})
    assert score.rules["rule1"].pct == 75.0
    assert score.rules["rule2"].pct == 0.0
    assert score.rules["rule3"].pct is None
    assert score.total_pct == 37.5
    assert (score.answered, score.complete) == (3, False)


def test_vision_zero_rules_weigh_equally() -> None:
    # All of rule 1 green (5 questions) and one red in rule 3 → (100 + 0) / 2.
    answers = {f"r1q{i}": 2 for i in range(1, 6)} | {"r3q1": 0}
    assert score_vision_zero(answers).total_pct == 50.0


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"r9q1": 1}, "answers.r9q1"),
        ({"r1q1": 3}, "answers.r1q1"),
        ({"r1q1": "blue"}, "answers.r1q1"),
        ({"r1q1": True}, "answers.r1q1"),
    ],
)
def test_vision_zero_validation(answers: dict, field: str) -> None:
    with pytest.raises(RiskInputError) as err:
        score_vision_zero(answers)
    assert err.value.field == field


# --- maturity index ---------------------------------------------------------------------------

BASE = {
    "vision_zero_pct": 50.0,
    "assessments_current_pct": 50.0,
    "actions_on_time_pct": 50.0,
    "near_miss_rate_per_100": 5.0,
    "training_current_pct": 50.0,
    "ltifr": 1.0,
    "sector_ltifr": 1.0,
}


def test_weights_sum_to_one() -> None:
    assert sum(MATURITY_WEIGHTS.values()) == pytest.approx(1.0)


def test_maturity_extremes_and_hand_case() -> None:
    best = dict(
        BASE,
        vision_zero_pct=100,
        assessments_current_pct=100,
        actions_on_time_pct=100,
        training_current_pct=100,
        near_miss_rate_per_100=50,
        ltifr=0,
    )
    worst = dict(
        BASE,
        vision_zero_pct=0,
        assessments_current_pct=0,
        actions_on_time_pct=0,
        training_current_pct=0,
        near_miss_rate_per_100=0,
        ltifr=5,
    )
    assert osh_maturity_index(**best)[0] == 100.0
    assert osh_maturity_index(**worst)[0] == 0.0
    index, parts = osh_maturity_index(**BASE)
    assert parts["near_miss_reporting"] == 50.0 and parts["ltifr_vs_sector"] == 50.0
    assert index == 50.0


@pytest.mark.parametrize(
    ("name", "values", "direction"),
    [
        ("vision_zero_pct", [0, 10, 40, 70, 100], 1),
        ("assessments_current_pct", [0, 25, 50, 75, 100], 1),
        ("actions_on_time_pct", [0, 25, 50, 75, 100], 1),
        ("training_current_pct", [0, 25, 50, 75, 100], 1),
        ("near_miss_rate_per_100", [0, 2, 5, 8, 10], 1),
        ("ltifr", [0, 0.5, 1, 1.5, 2], -1),
    ],
)
def test_maturity_monotone_in_each_component(
    name: str, values: list[float], direction: int
) -> None:
    scores = [osh_maturity_index(**dict(BASE, **{name: v}))[0] for v in values]
    diffs = [direction * (b - a) for a, b in itertools.pairwise(scores)]
    assert all(d > 0 for d in diffs), scores


def test_maturity_saturates_and_validates() -> None:
    more = osh_maturity_index(**dict(BASE, near_miss_rate_per_100=40))[0]
    assert more == osh_maturity_index(**dict(BASE, near_miss_rate_per_100=10))[0]
    for name, bad in [
        ("vision_zero_pct", 101),
        ("ltifr", -1),
        ("sector_ltifr", 0),
        ("training_current_pct", float("nan")),
    ]:
        with pytest.raises(RiskInputError) as err:
            osh_maturity_index(**dict(BASE, **{name: bad}))
        assert err.value.field == name
