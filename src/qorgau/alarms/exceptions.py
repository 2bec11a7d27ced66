"""Alarm-domain errors (mapped to HTTP by the shared DomainError handler)."""

from __future__ import annotations

from qorgau.core.errors import Conflict, NotFound, RuleViolation


class DeviceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("device not found")


class AlarmNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("alarm not found")


class ContactNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("contact not found")


class TransitionRefused(Conflict):
    """The ISA-18.2 state machine refused the trigger in the alarm's state."""


class LifeSafetyRefused(RuleViolation):
    """Life-safety alarms can be neither shelved nor suppressed."""
