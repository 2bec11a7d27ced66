"""Risk-management content: sector hazard templates, Vision Zero self-check, OSH maturity index.

Pure functions over the JSON shipped in `qorgau/risk/data/` (no database, no I/O beyond reading
package data). Formulas and sources are documented in docs/risk-methods.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from qorgau.risk.constants import LANGUAGES, ControlLevel, HazardType, Sector
from qorgau.risk.methods import MATRIX_LIKELIHOOD, MATRIX_SEVERITY, RiskInputError

Text = dict[str, str]  # {"kk": ..., "ru": ..., "en": ...}


class ContentError(ValueError):
    """Shipped content is malformed (a packaging bug, not a user error)."""


# --- sector hazard templates ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlTemplate:
    level: ControlLevel
    text: Text
    requires_instruction: bool  # workers must be instructed/trained before the control works


@dataclass(frozen=True, slots=True)
class HazardTemplate:
    id: str
    hazard_type: HazardType
    description: Text
    workplace: Text
    likelihood: int  # typical initial (pre-control) values on the 5×5 scale
    severity: int
    controls: tuple[ControlTemplate, ...]


@dataclass(frozen=True, slots=True)
class SectorTemplate:
    sector: Sector
    title: Text
    oked_sections: tuple[str, ...]
    hazards: tuple[HazardTemplate, ...]


def _data_file(*parts: str) -> Any:
    return resources.files("qorgau.risk").joinpath("data", *parts)


@cache
def load_template(sector: Sector | str) -> SectorTemplate:
    """Load and validate `data/templates/<sector>.json`."""
    try:
        s = Sector(sector)
    except ValueError:
        allowed = ", ".join(x.value for x in Sector)
        raise RiskInputError("sector", f"unknown sector {sector!r}; allowed: {allowed}") from None
    raw = json.loads(_data_file("templates", f"{s.value}.json").read_text(encoding="utf-8"))
    where = f"templates/{s.value}.json"
    hazards = tuple(
        _hazard(h, f"{where}:hazards[{i}]") for i, h in enumerate(raw.get("hazards", []))
    )
    if not hazards:
        raise ContentError(f"{where}: no hazards")
    return SectorTemplate(
        sector=s,
        title=_text(raw.get("title"), f"{where}:title"),
        oked_sections=tuple(raw.get("oked_sections", [])),
        hazards=hazards,
    )


def load_templates() -> dict[Sector, SectorTemplate]:
    return {s: load_template(s) for s in Sector}


def _hazard(raw: Mapping[str, Any], where: str) -> HazardTemplate:
    try:
        hazard_type = HazardType(raw["hazard_type"])
        likelihood, severity = int(raw["likelihood"]), int(raw["severity"])
        controls = tuple(
            _control(c, f"{where}:controls[{i}]") for i, c in enumerate(raw["controls"])
        )
        hazard_id = str(raw["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ContentError(f"{where}: {exc!r}") from exc
    if likelihood not in MATRIX_LIKELIHOOD or severity not in MATRIX_SEVERITY:
        raise ContentError(f"{where}: likelihood/severity outside 1..5")
    if not controls:
        raise ContentError(f"{where}: no controls")
    return HazardTemplate(
        id=hazard_id,
        hazard_type=hazard_type,
        description=_text(raw.get("description"), f"{where}:description"),
        workplace=_text(raw.get("workplace"), f"{where}:workplace"),
        likelihood=likelihood,
        severity=severity,
        controls=controls,
    )


def _control(raw: Mapping[str, Any], where: str) -> ControlTemplate:
    try:
        level = ControlLevel(raw["level"])
        needs = raw["requires_instruction"]
    except (KeyError, ValueError, TypeError) as exc:
        raise ContentError(f"{where}: {exc!r}") from exc
    if not isinstance(needs, bool):
        raise ContentError(f"{where}: requires_instruction must be true or false")
    return ControlTemplate(
        level=level, text=_text(raw.get("text"), f"{where}:text"), requires_instruction=needs
    )


def _text(raw: Any, where: str) -> Text:
    if not isinstance(raw, Mapping):
        raise ContentError(f"{where}: expected an object with {', '.join(LANGUAGES)}")
    missing = [lang for lang in LANGUAGES if not str(raw.get(lang, "")).strip()]
    if missing:
        raise ContentError(f"{where}: missing text in {', '.join(missing)}")
    return {lang: str(raw[lang]) for lang in LANGUAGES}


# --- Vision Zero self-check -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleScore:
    rule_id: str
    pct: float | None  # None when no question of the rule was answered
    answered: int
    total: int


@dataclass(frozen=True, slots=True)
class VisionZeroScore:
    rules: dict[str, RuleScore]
    total_pct: float | None  # mean of the answered rules' percentages (rules weigh equally)
    answered: int
    total: int

    @property
    def complete(self) -> bool:
        return self.answered == self.total


@cache
def load_vision_zero() -> dict[str, Any]:
    """The ISSA Vision Zero golden rules, questions and answer scale (see its `source`)."""
    return json.loads(_data_file("vision_zero.json").read_text(encoding="utf-8"))


def _scale() -> tuple[dict[Any, int], int]:
    """Accepted answer tokens (numeric values and traffic-light codes) and the top value."""
    steps = load_vision_zero()["scale"]
    accepted: dict[Any, int] = {}
    for step in steps:
        accepted[step["value"]] = step["value"]
        accepted[step["code"]] = step["value"]
    return accepted, max(step["value"] for step in steps)


def score_vision_zero(answers: Mapping[str, int | str | None]) -> VisionZeroScore:
    """Score a self-check: `answers` maps question id → 0/1/2 or "red"/"amber"/"green".

    None or a missing id means "not answered" and is left out of the percentages, so a partly
    filled check is scored on what was answered (see `answered` / `complete`).
    """
    doc = load_vision_zero()
    accepted, top = _scale()
    known = {q["id"]: r["id"] for r in doc["rules"] for q in r["questions"]}
    unknown = sorted(set(answers) - set(known))
    if unknown:
        raise RiskInputError(f"answers.{unknown[0]}", "unknown question id")
    points: dict[str, list[int]] = {r["id"]: [] for r in doc["rules"]}
    for qid, answer in answers.items():
        if answer is None:
            continue
        if isinstance(answer, bool) or not isinstance(answer, int | str) or answer not in accepted:
            allowed = ", ".join(str(k) for k in accepted)
            raise RiskInputError(f"answers.{qid}", f"{answer!r} is not allowed; allowed: {allowed}")
        points[known[qid]].append(accepted[answer])
    rules = {
        r["id"]: _rule_score(r["id"], points[r["id"]], len(r["questions"]), top)
        for r in doc["rules"]
    }
    scored = [rs.pct for rs in rules.values() if rs.pct is not None]
    return VisionZeroScore(
        rules=rules,
        total_pct=round(sum(scored) / len(scored), 1) if scored else None,
        answered=sum(rs.answered for rs in rules.values()),
        total=len(known),
    )


def _rule_score(rule_id: str, pts: list[int], total: int, top: int) -> RuleScore:
    pct = round(100 * sum(pts) / (top * len(pts)), 1) if pts else None
    return RuleScore(rule_id=rule_id, pct=pct, answered=len(pts), total=total)


# --- OSH maturity index -----------------------------------------------------------------------

# Leading indicators carry 80 %: they show the management system working before injuries do.
MATURITY_WEIGHTS: dict[str, float] = {
    "vision_zero": 0.20,
    "assessments_current": 0.20,
    "actions_on_time": 0.15,
    "training_current": 0.15,
    "near_miss_reporting": 0.10,
    "ltifr_vs_sector": 0.20,
}
# Near-miss reports per 100 workers per year at which reporting culture scores 100 (assumption).
NEAR_MISS_TARGET_PER_100 = 10.0


def osh_maturity_index(
    *,
    vision_zero_pct: float,
    assessments_current_pct: float,
    actions_on_time_pct: float,
    near_miss_rate_per_100: float,
    training_current_pct: float,
    ltifr: float,
    sector_ltifr: float,
    near_miss_target_per_100: float = NEAR_MISS_TARGET_PER_100,
) -> tuple[float, dict[str, float]]:
    """OSH maturity 0..100 = Σ weight × component score (each 0..100); returns the components.

    - percentages are used as they are;
    - near-miss reporting = min(rate / target, 1) × 100: more reports mean a healthier culture;
    - ltifr_vs_sector = max(0, 1 − LTIFR / (2 × sector LTIFR)) × 100: 100 at zero lost-time
      injuries, 50 at the sector average, 0 at twice the sector average or worse.
    """
    pcts = {
        "vision_zero_pct": vision_zero_pct,
        "assessments_current_pct": assessments_current_pct,
        "actions_on_time_pct": actions_on_time_pct,
        "training_current_pct": training_current_pct,
    }
    for name, value in pcts.items():
        _check_range(name, value, 0, 100)
    _check_range("near_miss_rate_per_100", near_miss_rate_per_100, 0, None)
    _check_range("ltifr", ltifr, 0, None)
    if not sector_ltifr > 0:
        raise RiskInputError("sector_ltifr", "must be greater than 0")
    if not near_miss_target_per_100 > 0:
        raise RiskInputError("near_miss_target_per_100", "must be greater than 0")
    components = {
        "vision_zero": float(vision_zero_pct),
        "assessments_current": float(assessments_current_pct),
        "actions_on_time": float(actions_on_time_pct),
        "training_current": float(training_current_pct),
        "near_miss_reporting": 100 * min(near_miss_rate_per_100 / near_miss_target_per_100, 1),
        "ltifr_vs_sector": 100 * max(0.0, 1 - ltifr / (2 * sector_ltifr)),
    }
    index = sum(MATURITY_WEIGHTS[k] * v for k, v in components.items())
    return round(index, 1), {k: round(v, 1) for k, v in components.items()}


def _check_range(name: str, value: float, low: float, high: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise RiskInputError(name, "must be a number")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise RiskInputError(name, f"{value} is outside {bounds}")
