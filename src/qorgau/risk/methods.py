"""Pure risk-assessment methods: 5×5 matrix and Fine–Kinney (no database, no I/O).

Conventions (see docs/risk-methods.md):
- Matrix: score = likelihood × severity (1–25). Default bands 1–4 low, 5–9 medium, 10–16 high,
  20–25 very high; each threshold is the inclusive upper bound of its band.
- Fine–Kinney (Kinney & Wiruth, 1976): R = P × E × C. The original ranges share endpoints
  ("20 to 70", "70 to 200"); we put each endpoint in the lower band: R ≤ 20 low, ≤ 70 possible,
  ≤ 200 substantial, ≤ 400 high, > 400 very high.
- Both map to a common 4-level RiskBand so results can be compared and aggregated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from qorgau.risk.constants import ControlLevel, FineKinneyBand, Method, RiskBand

MATRIX_LIKELIHOOD: tuple[int, ...] = (1, 2, 3, 4, 5)
MATRIX_SEVERITY: tuple[int, ...] = (1, 2, 3, 4, 5)

# Kinney & Wiruth (1976) scales: value -> meaning.
FK_PROBABILITY: dict[str, str] = {
    "10": "might well be expected",
    "6": "quite possible",
    "3": "unusual but possible",
    "1": "only remotely possible",
    "0.5": "conceivable but very unlikely",
    "0.2": "practically impossible",
    "0.1": "virtually impossible",
}
FK_EXPOSURE: dict[str, str] = {
    "10": "continuous",
    "6": "frequent (daily)",
    "3": "occasional (weekly)",
    "2": "unusual (monthly)",
    "1": "rare (a few times a year)",
    "0.5": "very rare (yearly or less)",
}
FK_CONSEQUENCE: dict[str, str] = {
    "100": "catastrophe (many fatalities)",
    "40": "disaster (several fatalities)",
    "15": "very serious (a fatality)",
    "7": "serious (serious injury)",
    "3": "important (disabling, lost-time injury)",
    "1": "noticeable (first aid)",
}
_FK_SCALES: dict[str, tuple[Decimal, ...]] = {
    "probability": tuple(sorted(Decimal(v) for v in FK_PROBABILITY)),
    "exposure": tuple(sorted(Decimal(v) for v in FK_EXPOSURE)),
    "consequence": tuple(sorted(Decimal(v) for v in FK_CONSEQUENCE)),
}

# Fine–Kinney's five classes collapse onto the common band: "substantial" and "high" both
# demand correction before work continues, like the matrix's "high".
FK_TO_COMMON: dict[FineKinneyBand, RiskBand] = {
    FineKinneyBand.LOW: RiskBand.LOW,
    FineKinneyBand.POSSIBLE: RiskBand.MEDIUM,
    FineKinneyBand.SUBSTANTIAL: RiskBand.HIGH,
    FineKinneyBand.HIGH: RiskBand.HIGH,
    FineKinneyBand.VERY_HIGH: RiskBand.VERY_HIGH,
}


class RiskInputError(ValueError):
    """Invalid assessment input; `field` names the offending field for forms and APIs."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class AcceptanceCriteria:
    """The organisation's risk criteria (ISO 45001 6.1.2.2 leaves them to the organisation).

    Thresholds are inclusive upper bounds of each band; `acceptable_bands` are the common bands
    at which work may continue without further risk reduction.
    """

    matrix_low_max: int = 4
    matrix_medium_max: int = 9
    matrix_high_max: int = 16
    fk_low_max: float = 20
    fk_possible_max: float = 70
    fk_substantial_max: float = 200
    fk_high_max: float = 400
    acceptable_bands: frozenset[RiskBand] = field(
        default_factory=lambda: frozenset({RiskBand.LOW, RiskBand.MEDIUM})
    )

    def __post_init__(self) -> None:
        m = (self.matrix_low_max, self.matrix_medium_max, self.matrix_high_max)
        if not 1 <= m[0] < m[1] < m[2] < 25:
            raise RiskInputError("criteria", "matrix thresholds must rise within 1..24")
        fk = (self.fk_low_max, self.fk_possible_max, self.fk_substantial_max, self.fk_high_max)
        if not 0 < fk[0] < fk[1] < fk[2] < fk[3]:
            raise RiskInputError("criteria", "Fine–Kinney thresholds must be positive and rise")
        unknown = {str(b) for b in self.acceptable_bands} - {b.value for b in RiskBand}
        if unknown:
            raise RiskInputError("acceptable_bands", f"unknown bands {sorted(unknown)}")


DEFAULT_CRITERIA = AcceptanceCriteria()


@dataclass(frozen=True, slots=True)
class StageResult:
    """One scored stage (initial or residual)."""

    inputs: dict[str, float]
    score: float
    band: RiskBand  # common 4-level band
    method_band: str  # the method's own class (matrix: same as band; FK: five classes)


@dataclass(frozen=True, slots=True)
class AssessmentResult:
    method: Method
    initial: StageResult
    residual: StageResult | None
    acceptable: bool  # judged on the residual stage when present, else the initial one

    @property
    def current(self) -> StageResult:
        return self.residual or self.initial

    def as_dict(self) -> dict[str, Any]:
        def stage(s: StageResult | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {
                "inputs": s.inputs,
                "score": s.score,
                "band": s.band.value,
                "method_band": s.method_band,
            }

        return {
            "method": self.method.value,
            "initial": stage(self.initial),
            "residual": stage(self.residual),
            "acceptable": self.acceptable,
        }


# --- input validation -------------------------------------------------------------------------


def _number(data: Mapping[str, Any], name: str, allowed: Iterable[Any]) -> Decimal:
    shown = ", ".join(_fmt(Decimal(str(a))) for a in allowed)
    if name not in data or data[name] is None:
        raise RiskInputError(name, f"is required; allowed values: {shown}")
    raw = data[name]
    # bool is an int subclass: True must not pass as 1.
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise RiskInputError(name, f"must be a number; allowed values: {shown}")
    value = Decimal(str(raw))
    if value not in {Decimal(str(a)) for a in allowed}:
        raise RiskInputError(name, f"{_fmt(value)} is not allowed; allowed values: {shown}")
    return value


def _reject_unknown(data: Mapping[str, Any], known: tuple[str, ...]) -> None:
    extra = sorted(set(data) - set(known))
    if extra:
        raise RiskInputError(extra[0], f"unknown field; expected fields: {', '.join(known)}")


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _as_method(method: Method | str) -> Method:
    try:
        return Method(method)
    except ValueError:
        allowed = ", ".join(m.value for m in Method)
        raise RiskInputError("method", f"unknown method {method!r}; allowed: {allowed}") from None


# --- 5×5 matrix -------------------------------------------------------------------------------


def matrix_band(score: int, criteria: AcceptanceCriteria = DEFAULT_CRITERIA) -> RiskBand:
    if score <= criteria.matrix_low_max:
        return RiskBand.LOW
    if score <= criteria.matrix_medium_max:
        return RiskBand.MEDIUM
    if score <= criteria.matrix_high_max:
        return RiskBand.HIGH
    return RiskBand.VERY_HIGH


def score_matrix(
    data: Mapping[str, Any], criteria: AcceptanceCriteria = DEFAULT_CRITERIA
) -> StageResult:
    """`data` = {"likelihood": 1..5, "severity": 1..5}."""
    _reject_unknown(data, ("likelihood", "severity"))
    likelihood = int(_number(data, "likelihood", MATRIX_LIKELIHOOD))
    severity = int(_number(data, "severity", MATRIX_SEVERITY))
    score = likelihood * severity
    band = matrix_band(score, criteria)
    inputs = {"likelihood": likelihood, "severity": severity}
    return StageResult(inputs=inputs, score=score, band=band, method_band=band.value)


# --- Fine–Kinney ------------------------------------------------------------------------------


def fine_kinney_band(
    score: float, criteria: AcceptanceCriteria = DEFAULT_CRITERIA
) -> FineKinneyBand:
    """Each threshold belongs to the lower class: 20 → low, 70 → possible, 400 → high."""
    r = Decimal(str(score))
    if r <= Decimal(str(criteria.fk_low_max)):
        return FineKinneyBand.LOW
    if r <= Decimal(str(criteria.fk_possible_max)):
        return FineKinneyBand.POSSIBLE
    if r <= Decimal(str(criteria.fk_substantial_max)):
        return FineKinneyBand.SUBSTANTIAL
    if r <= Decimal(str(criteria.fk_high_max)):
        return FineKinneyBand.HIGH
    return FineKinneyBand.VERY_HIGH


def score_fine_kinney(
    data: Mapping[str, Any], criteria: AcceptanceCriteria = DEFAULT_CRITERIA
) -> StageResult:
    """`data` = {"probability": P, "exposure": E, "consequence": C} from the Kinney scales."""
    names = ("probability", "exposure", "consequence")
    _reject_unknown(data, names)
    values = [_number(data, n, _FK_SCALES[n]) for n in names]
    # Decimal keeps 0.1 × 0.5 × … exact so boundary scores land in the documented band.
    r = values[0] * values[1] * values[2]
    fk_band = fine_kinney_band(float(r), criteria)
    return StageResult(
        inputs={n: float(v) for n, v in zip(names, values, strict=True)},
        score=float(r),
        band=FK_TO_COMMON[fk_band],
        method_band=fk_band.value,
    )


# --- assessment -------------------------------------------------------------------------------

_SCORERS = {Method.MATRIX_5X5: score_matrix, Method.FINE_KINNEY: score_fine_kinney}


def assess(
    method: Method | str,
    initial: Mapping[str, Any],
    residual: Mapping[str, Any] | None = None,
    criteria: AcceptanceCriteria = DEFAULT_CRITERIA,
) -> AssessmentResult:
    """Score the initial (before controls) and optional residual (after controls) risk."""
    m = _as_method(method)
    scorer = _SCORERS[m]
    first = _stage(scorer, initial, criteria, "initial")
    after = None if residual is None else _stage(scorer, residual, criteria, "residual")
    current = after or first
    return AssessmentResult(
        method=m,
        initial=first,
        residual=after,
        acceptable=current.band in criteria.acceptable_bands,
    )


def _stage(scorer: Any, data: Any, criteria: AcceptanceCriteria, stage: str) -> StageResult:
    if not isinstance(data, Mapping):
        raise RiskInputError(stage, "must be an object of scale values")
    try:
        return scorer(data, criteria)
    except RiskInputError as exc:  # prefix the stage so a form can point at the right input
        raise RiskInputError(f"{stage}.{exc.field}", exc.message) from None


def residual_is_higher(result: AssessmentResult) -> bool:
    return result.residual is not None and result.residual.score > result.initial.score


def residual_higher_requires_reason(result: AssessmentResult, reason: str | None) -> None:
    """A residual risk above the initial one is unusual (a control adds a hazard, or the first
    estimate was wrong); require a written reason so the register stays explainable."""
    if residual_is_higher(result) and not (reason and reason.strip()):
        raise RiskInputError(
            "residual_reason",
            "residual risk is higher than the initial risk; give the reason",
        )


# --- control adequacy -------------------------------------------------------------------------


class ControlFlag(StrEnum):
    NO_CONTROLS = "no_controls"  # high/very-high risk with nothing recorded
    ADMIN_PPE_ONLY = "admin_ppe_only"  # high/very-high risk, no control above administrative
    PPE_ONLY = "ppe_only"  # medium or above, PPE is the only barrier


_SOFT_LEVELS = frozenset({ControlLevel.ADMINISTRATIVE, ControlLevel.PPE})


def control_adequacy(
    controls_levels: Iterable[ControlLevel | str], band: RiskBand | str
) -> list[ControlFlag]:
    """Flag control sets that rely on the bottom of the ISO 45001 8.1.2 hierarchy.

    Administrative measures and PPE depend on people doing the right thing every time, so they
    should not be the only controls for a high or very-high risk.
    """
    levels = {_as_level(lv) for lv in controls_levels}
    b = _as_band(band)
    flags: list[ControlFlag] = []
    serious = b.rank >= RiskBand.HIGH.rank
    if serious and not levels:
        flags.append(ControlFlag.NO_CONTROLS)
    if serious and levels and levels <= _SOFT_LEVELS:
        flags.append(ControlFlag.ADMIN_PPE_ONLY)
    if b.rank >= RiskBand.MEDIUM.rank and levels == {ControlLevel.PPE}:
        flags.append(ControlFlag.PPE_ONLY)
    return flags


def _as_level(level: ControlLevel | str) -> ControlLevel:
    try:
        return ControlLevel(level)
    except ValueError:
        allowed = ", ".join(c.value for c in ControlLevel)
        raise RiskInputError("level", f"unknown level {level!r}; allowed: {allowed}") from None


def _as_band(band: RiskBand | str) -> RiskBand:
    try:
        return RiskBand(band)
    except ValueError:
        allowed = ", ".join(b.value for b in RiskBand)
        raise RiskInputError("band", f"unknown band {band!r}; allowed: {allowed}") from None


# --- heat map ---------------------------------------------------------------------------------


def risk_heatmap(
    assessments: Iterable[AssessmentResult | Mapping[str, Any]], *, stage: str = "current"
) -> list[list[int]]:
    """Counts per matrix cell: `grid[likelihood - 1][severity - 1]`.

    Accepts AssessmentResult (only 5×5 results are placed; Fine–Kinney has no matrix cell) or
    plain {"likelihood", "severity"} mappings. `stage` is "initial", "residual" or "current"
    (residual when present, else initial).
    """
    if stage not in ("initial", "residual", "current"):
        raise RiskInputError("stage", "allowed values: initial, residual, current")
    grid = [[0] * 5 for _ in MATRIX_SEVERITY]
    for item in assessments:
        cell = _cell(item, stage)
        if cell is not None:
            grid[cell[0] - 1][cell[1] - 1] += 1
    return grid


def _cell(item: AssessmentResult | Mapping[str, Any], stage: str) -> tuple[int, int] | None:
    if isinstance(item, AssessmentResult):
        if item.method is not Method.MATRIX_5X5:
            return None
        chosen = {"initial": item.initial, "residual": item.residual}.get(stage, item.current)
        if chosen is None:
            return None
        data: Mapping[str, Any] = chosen.inputs
    else:
        data = item
    likelihood = int(_number(data, "likelihood", MATRIX_LIKELIHOOD))
    severity = int(_number(data, "severity", MATRIX_SEVERITY))
    return likelihood, severity
