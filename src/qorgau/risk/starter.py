"""Start from a sector template: a real draft register (hazards, draft assessments, controls)
chosen from the enterprise's OKED section."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qorgau.core.errors import RuleViolation
from qorgau.core.i18n import get_language
from qorgau.core.security import Actor
from qorgau.registry.models import Enterprise
from qorgau.risk.constants import Method, Sector
from qorgau.risk.content import load_template
from qorgau.risk.exceptions import as_violation
from qorgau.risk.methods import RiskInputError
from qorgau.risk.register import (
    OKED_SECTOR,
    create_assessment,
    create_hazard,
    enterprise_for_write,
    settings_of,
)
from qorgau.risk.schemas import AssessmentIn, ControlIn, HazardIn

# Template values are 5×5; for a Fine–Kinney enterprise they are mapped onto the Kinney scales
# (daily exposure assumed) as a starting draft, to be re-assessed at the workplace.
_FK_FROM_LIKELIHOOD = {1: 0.5, 2: 1, 3: 3, 4: 6, 5: 10}
_FK_FROM_SEVERITY = {1: 1, 2: 3, 3: 7, 4: 15, 5: 40}


def sector_for(ent: Enterprise) -> Sector | None:
    return OKED_SECTOR.get(ent.section)


def from_template(
    *, db: Session, actor: Actor, enterprise_id: int, site_id: int | None, sector: str | None
) -> dict[str, Any]:
    """Create a real draft register (hazards, draft assessments, controls) from a sector
    template; everything or nothing."""
    ent = enterprise_for_write(db, actor, enterprise_id)
    chosen = sector or (sector_for(ent).value if sector_for(ent) else None)
    if chosen is None:
        raise RuleViolation(
            f"no template for OKED section {ent.section}; choose a sector", field="sector"
        )
    try:
        tpl = load_template(chosen)
    except RiskInputError as exc:
        raise as_violation(exc) from None
    lang = get_language()
    method = settings_of(db, ent.id).method
    counts = {"hazards": 0, "assessments": 0, "controls": 0}
    for h in tpl.hazards:
        hazard = create_hazard(
            db=db,
            actor=actor,
            commit=False,
            template_ref=h.id,
            data=HazardIn(
                enterprise_id=ent.id,
                site_id=site_id,
                workplace=h.workplace[lang][:300],
                hazard_type=h.hazard_type,
                description=h.description[lang],
            ),
        )
        if method == Method.FINE_KINNEY.value:
            initial: dict[str, Any] = {
                "probability": _FK_FROM_LIKELIHOOD[h.likelihood],
                "exposure": 6,
                "consequence": _FK_FROM_SEVERITY[h.severity],
            }
        else:
            initial = {"likelihood": h.likelihood, "severity": h.severity}
        controls = [
            ControlIn(level=c.level, text=c.text[lang], requires_instruction=c.requires_instruction)
            for c in h.controls
        ]
        create_assessment(
            db=db,
            actor=actor,
            commit=False,
            data=AssessmentIn(hazard_id=hazard.id, initial=initial, controls=controls),
        )
        counts["hazards"] += 1
        counts["assessments"] += 1
        counts["controls"] += len(controls)
    db.commit()
    return {"sector": tpl.sector.value, **counts}
