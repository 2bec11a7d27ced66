"""Pure risk methods: documented bands, boundaries, validation, control adequacy, heat map."""

from __future__ import annotations

import pytest

from qorgau.risk.constants import (
    LABELS,
    LANGUAGES,
    ActionStatus,
    ControlLevel,
    FineKinneyBand,
    HazardType,
    Method,
    ReviewTrigger,
    RiskBand,
    Sector,
    label,
)
from qorgau.risk.methods import (
    AcceptanceCriteria,
    ControlFlag,
    RiskInputError,
    assess,
    control_adequacy,
    fine_kinney_band,
    residual_higher_requires_reason,
    residual_is_higher,
    risk_heatmap,
    score_fine_kinney,
    score_matrix,
)


def fk(p: float, e: float, c: float) -> dict[str, float]:
    return {"probability": p, "exposure": e, "consequence": c}


def mx(likelihood: int, severity: int) -> dict[str, int]:
    return {"likelihood": likelihood, "severity": severity}


# --- constants --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "enum",
    [
        HazardType,
        ControlLevel,
        RiskBand,
        FineKinneyBand,
        Method,
        ReviewTrigger,
        ActionStatus,
        Sector,
    ],
)
def test_every_member_has_kk_ru_en_label(enum: type) -> None:
    for member in enum:
        for lang in LANGUAGES:
            assert label(member, lang).strip(), (member, lang)


def test_same_value_in_two_enums_keeps_its_own_label() -> None:
    assert label(RiskBand.LOW, "en") == "Low"
    assert label(FineKinneyBand.LOW, "en").startswith("Low (")
    assert len(LABELS) == sum(
        len(e)
        for e in (
            HazardType,
            ControlLevel,
            RiskBand,
            FineKinneyBand,
            Method,
            ReviewTrigger,
            ActionStatus,
            Sector,
        )
    )


def test_hierarchy_order_is_iso_45001() -> None:
    assert [c.value for c in sorted(ControlLevel, key=lambda c: c.rank)] == [
        "elimination",
        "substitution",
        "engineering",
        "administrative",
        "ppe",
    ]


# --- 5×5 matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("likelihood", "severity", "score", "band"),
    [
        (1, 1, 1, RiskBand.LOW),
        (2, 2, 4, RiskBand.LOW),  # boundary 4 | 5
        (1, 5, 5, RiskBand.MEDIUM),
        (3, 3, 9, RiskBand.MEDIUM),  # boundary 9 | 10
        (2, 5, 10, RiskBand.HIGH),
        (4, 4, 16, RiskBand.HIGH),  # boundary 16 | 20
        (4, 5, 20, RiskBand.VERY_HIGH),
        (5, 5, 25, RiskBand.VERY_HIGH),
    ],
)
def test_matrix_default_bands(likelihood: int, severity: int, score: int, band: RiskBand) -> None:
    result = score_matrix(mx(likelihood, severity))
    assert (result.score, result.band, result.method_band) == (score, band, band.value)


def test_matrix_thresholds_are_configurable() -> None:
    alt = AcceptanceCriteria(matrix_low_max=3, matrix_medium_max=6, matrix_high_max=12)
    assert score_matrix(mx(2, 2), alt).band is RiskBand.MEDIUM
    assert score_matrix(mx(3, 4), alt).band is RiskBand.HIGH
    assert score_matrix(mx(3, 5), alt).band is RiskBand.VERY_HIGH


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (mx(0, 3), "likelihood"),
        (mx(6, 3), "likelihood"),
        (mx(3, 7), "severity"),
        ({"likelihood": 2.5, "severity": 1}, "likelihood"),
        ({"likelihood": True, "severity": 1}, "likelihood"),
        ({"likelihood": "3", "severity": 1}, "likelihood"),
        ({"severity": 1}, "likelihood"),
        ({"likelihood": 1, "severity": 1, "exposure": 2}, "exposure"),
    ],
)
def test_matrix_rejects_bad_input_naming_the_field(data: dict, field: str) -> None:
    with pytest.raises(RiskInputError) as err:
        score_matrix(data)
    assert err.value.field == field
    if field != "exposure":
        assert "1, 2, 3, 4, 5" in err.value.message


# --- Fine–Kinney ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "e", "c", "score", "fk_band", "common"),
    [
        (0.1, 0.5, 1, 0.05, FineKinneyBand.LOW, RiskBand.LOW),
        (0.5, 1, 40, 20, FineKinneyBand.LOW, RiskBand.LOW),  # boundary 20 stays low
        (1, 3, 7, 21, FineKinneyBand.POSSIBLE, RiskBand.MEDIUM),
        (1, 10, 7, 70, FineKinneyBand.POSSIBLE, RiskBand.MEDIUM),  # boundary 70 stays possible
        (6, 2, 7, 84, FineKinneyBand.SUBSTANTIAL, RiskBand.HIGH),
        (0.2, 10, 100, 200, FineKinneyBand.SUBSTANTIAL, RiskBand.HIGH),  # boundary 200
        (3, 6, 15, 270, FineKinneyBand.HIGH, RiskBand.HIGH),
        (1, 10, 40, 400, FineKinneyBand.HIGH, RiskBand.HIGH),  # boundary 400 stays high
        (6, 3, 40, 720, FineKinneyBand.VERY_HIGH, RiskBand.VERY_HIGH),
        (10, 10, 100, 10000, FineKinneyBand.VERY_HIGH, RiskBand.VERY_HIGH),
    ],
)
def test_fine_kinney_bands(
    p: float, e: float, c: float, score: float, fk_band: FineKinneyBand, common: RiskBand
) -> None:
    result = score_fine_kinney(fk(p, e, c))
    assert result.score == pytest.approx(score)
    assert result.method_band == fk_band.value
    assert result.band is common


def test_fine_kinney_boundaries_exactly() -> None:
    assert fine_kinney_band(20) is FineKinneyBand.LOW
    assert fine_kinney_band(20.01) is FineKinneyBand.POSSIBLE
    assert fine_kinney_band(70) is FineKinneyBand.POSSIBLE
    assert fine_kinney_band(200) is FineKinneyBand.SUBSTANTIAL
    assert fine_kinney_band(400) is FineKinneyBand.HIGH
    assert fine_kinney_band(400.5) is FineKinneyBand.VERY_HIGH


def test_fine_kinney_products_are_exact() -> None:
    # 0.2 × 10 × 100 must be exactly 200 (not 200.00000000000003) to land in its band.
    assert score_fine_kinney(fk(0.2, 10, 100)).score == 200


@pytest.mark.parametrize(
    ("data", "field", "allowed"),
    [
        (fk(0.3, 1, 1), "probability", "0.1, 0.2, 0.5, 1, 3, 6, 10"),
        (fk(1, 4, 1), "exposure", "0.5, 1, 2, 3, 6, 10"),
        (fk(1, 1, 50), "consequence", "1, 3, 7, 15, 40, 100"),
        ({"probability": 1, "exposure": 1}, "consequence", "1, 3, 7, 15, 40, 100"),
    ],
)
def test_fine_kinney_accepts_only_kinney_scale_values(data: dict, field: str, allowed: str) -> None:
    with pytest.raises(RiskInputError) as err:
        score_fine_kinney(data)
    assert err.value.field == field
    assert allowed in err.value.message


# --- assess -----------------------------------------------------------------------------------


def test_assess_initial_and_residual_and_acceptability() -> None:
    result = assess(Method.MATRIX_5X5, mx(4, 5), mx(2, 2))
    assert result.initial.band is RiskBand.VERY_HIGH
    assert result.residual is not None and result.residual.band is RiskBand.LOW
    assert result.acceptable is True
    assert result.as_dict()["residual"]["score"] == 4


def test_assess_without_residual_judges_initial() -> None:
    assert assess("fine_kinney", fk(6, 6, 15)).acceptable is False  # 540, very high
    assert assess("fine_kinney", fk(1, 3, 3)).acceptable is True  # 9, low


def test_acceptable_bands_are_configurable() -> None:
    strict = AcceptanceCriteria(acceptable_bands=frozenset({RiskBand.LOW}))
    assert assess("matrix_5x5", mx(3, 3), criteria=strict).acceptable is False
    assert assess("matrix_5x5", mx(3, 3)).acceptable is True


def test_assess_names_the_stage_and_field() -> None:
    with pytest.raises(RiskInputError) as err:
        assess("fine_kinney", fk(1, 1, 1), fk(1, 1, 2))
    assert err.value.field == "residual.consequence"
    with pytest.raises(RiskInputError) as err:
        assess("bowtie", mx(1, 1))
    assert err.value.field == "method"


def test_bad_criteria_rejected() -> None:
    with pytest.raises(RiskInputError):
        AcceptanceCriteria(matrix_low_max=10, matrix_medium_max=9)
    with pytest.raises(RiskInputError):
        AcceptanceCriteria(fk_low_max=100, fk_possible_max=70)


def test_higher_residual_requires_reason() -> None:
    worse = assess("matrix_5x5", mx(2, 2), mx(3, 3))
    assert residual_is_higher(worse)
    with pytest.raises(RiskInputError) as err:
        residual_higher_requires_reason(worse, "  ")
    assert err.value.field == "residual_reason"
    residual_higher_requires_reason(worse, "new hoist adds a crane-load hazard")
    better = assess("matrix_5x5", mx(3, 3), mx(2, 2))
    residual_higher_requires_reason(better, None)  # no reason needed


# --- control adequacy -------------------------------------------------------------------------


def test_ppe_only_high_risk_is_flagged() -> None:
    flags = control_adequacy([ControlLevel.PPE], RiskBand.HIGH)
    assert ControlFlag.ADMIN_PPE_ONLY in flags
    assert ControlFlag.PPE_ONLY in flags


def test_admin_and_ppe_only_very_high_risk_is_flagged() -> None:
    assert control_adequacy(["administrative", "ppe"], "very_high") == [ControlFlag.ADMIN_PPE_ONLY]


def test_engineering_control_is_not_flagged() -> None:
    assert control_adequacy(["engineering", "administrative", "ppe"], "very_high") == []
    assert control_adequacy(["elimination"], "high") == []


def test_low_risk_with_admin_controls_is_fine_and_missing_controls_flagged() -> None:
    assert control_adequacy(["administrative"], "low") == []
    assert control_adequacy([], "high") == [ControlFlag.NO_CONTROLS]
    assert control_adequacy(["ppe"], "medium") == [ControlFlag.PPE_ONLY]


def test_control_adequacy_rejects_unknown_level() -> None:
    with pytest.raises(RiskInputError) as err:
        control_adequacy(["prayer"], "high")
    assert err.value.field == "level"


# --- heat map ---------------------------------------------------------------------------------


def test_heatmap_counts_cells_and_skips_fine_kinney() -> None:
    results = [
        assess("matrix_5x5", mx(4, 5), mx(2, 3)),
        assess("matrix_5x5", mx(4, 5)),
        assess("fine_kinney", fk(1, 1, 1)),
    ]
    current = risk_heatmap(results)
    assert current[1][2] == 1 and current[3][4] == 1
    assert sum(map(sum, current)) == 2
    initial = risk_heatmap(results, stage="initial")
    assert initial[3][4] == 2
    assert sum(map(sum, risk_heatmap(results, stage="residual"))) == 1
    assert risk_heatmap([mx(5, 1)])[4][0] == 1
    assert len(current) == 5 and all(len(row) == 5 for row in current)
