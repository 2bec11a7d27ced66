"""Risk-domain errors, mapped to HTTP by the shared handlers in app.py."""

from __future__ import annotations

from qorgau.core.errors import NotFound, RuleViolation
from qorgau.risk.methods import RiskInputError


class HazardNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("hazard not found")


class AssessmentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("assessment not found")


class ActionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("action not found")


def as_violation(exc: RiskInputError) -> RuleViolation:
    """methods.RiskInputError → 422 naming the field."""
    return RuleViolation(exc.message, field=exc.field)
