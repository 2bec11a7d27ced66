"""ISA-18.2 / IEC 62682 alarm state machine for one alarm, pure and clock-free.

Annunciation states follow the standard's diagram: NORMAL → UNACK (raise) → ACKED (ack) →
NORMAL (clear); UNACK → RTN_UNACK (clear) → NORMAL (ack). A latching alarm goes to LATCHED
when the process clears and needs an operator `reset`. SHELVED, SUPPRESSED (by design) and
OUT_OF_SERVICE hide the alarm; the process condition is still tracked and decides the state on
return (active → UNACK, clear → NORMAL). Life-safety alarms can be neither shelved nor
suppressed (flood logic included): both raise `LifeSafetyViolation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACK = "unacknowledged"
    ACKED = "acknowledged"
    RTN_UNACK = "rtn_unack"
    LATCHED = "latched"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


HIDDEN = frozenset({AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE})
ACKABLE = frozenset({AlarmState.UNACK, AlarmState.RTN_UNACK})


class InvalidTransition(ValueError):
    """The trigger is not allowed in the alarm's current state."""


class LifeSafetyViolation(InvalidTransition):
    """Shelving or suppressing a life-safety alarm."""


@dataclass(frozen=True)
class TransitionRecord:
    frm: AlarmState
    to: AlarmState
    trigger: str
    actor: str
    time: float
    reason: str = ""


@dataclass
class Alarm:
    """One alarm (sensor × condition). Methods return the transition record, or None when a
    hidden alarm only updates its tracked process condition."""

    life_safety: bool = False
    latching: bool = False
    state: AlarmState = AlarmState.NORMAL
    active: bool = False  # process condition, tracked in every state
    shelved_until: float = math.nan
    history: list[TransitionRecord] = field(default_factory=list)

    def process(self, active: bool, time: float) -> TransitionRecord | None:
        """Process raise (True) or clear (False)."""
        if active == self.active:
            raise InvalidTransition(f"process already {'raised' if active else 'clear'}")
        self.active = active
        if self.state in HIDDEN:
            return None  # hidden alarms annunciate nothing
        return self._go(self._after_process(active), "raise" if active else "clear", "process",
                        time)

    def _after_process(self, active: bool) -> AlarmState:
        s = self.state
        if active:  # raise from any visible non-active state
            return AlarmState.UNACK
        if s == AlarmState.UNACK:
            return AlarmState.LATCHED if self.latching else AlarmState.RTN_UNACK
        if s == AlarmState.ACKED:
            return AlarmState.LATCHED if self.latching else AlarmState.NORMAL
        raise InvalidTransition(f"clear in state {s}")

    def ack(self, actor: str, time: float) -> TransitionRecord:
        if self.state not in ACKABLE:
            raise InvalidTransition(f"ack in state {self.state}: only unacknowledged alarms")
        to = AlarmState.ACKED if self.state == AlarmState.UNACK else AlarmState.NORMAL
        return self._go(to, "ack", actor, time)

    def reset(self, actor: str, time: float, *, reason: str = "") -> TransitionRecord:
        """Operator reset of a latched alarm whose process has cleared."""
        if self.state != AlarmState.LATCHED or self.active:
            raise InvalidTransition(f"reset in state {self.state} (active={self.active})")
        return self._go(AlarmState.NORMAL, "reset", actor, time, reason)

    def shelve(self, actor: str, time: float, *, expiry: float, reason: str) -> TransitionRecord:
        self._may_hide("shelve")
        if not expiry > time:
            raise InvalidTransition("shelving needs an expiry after now")
        if not reason:
            raise InvalidTransition("shelving needs a reason")
        self.shelved_until = expiry
        return self._go(AlarmState.SHELVED, "shelve", actor, time, reason)

    def unshelve(self, actor: str, time: float, *, reason: str = "") -> TransitionRecord:
        return self._unhide(AlarmState.SHELVED, "unshelve", actor, time, reason)

    def tick(self, now: float) -> TransitionRecord | None:
        """Timer: a shelved alarm returns when its shelf time expires."""
        if self.state == AlarmState.SHELVED and now >= self.shelved_until:
            return self._unhide(AlarmState.SHELVED, "shelve_expired", "system", now)
        return None

    def suppress(self, actor: str, time: float, *, reason: str) -> TransitionRecord:
        """Suppressed by design (plant state, flood logic): never for life-safety alarms."""
        self._may_hide("suppress")
        return self._go(AlarmState.SUPPRESSED, "suppress", actor, time, reason)

    def unsuppress(self, actor: str, time: float, *, reason: str = "") -> TransitionRecord:
        return self._unhide(AlarmState.SUPPRESSED, "unsuppress", actor, time, reason)

    def remove_from_service(self, actor: str, time: float, *, reason: str) -> TransitionRecord:
        """Maintenance (also allowed for life-safety alarms, under management of change)."""
        if self.state == AlarmState.OUT_OF_SERVICE:
            raise InvalidTransition("already out of service")
        if not reason:
            raise InvalidTransition("removal from service needs a reason")
        self.shelved_until = math.nan
        return self._go(AlarmState.OUT_OF_SERVICE, "remove_from_service", actor, time, reason)

    def return_to_service(self, actor: str, time: float, *, reason: str = ""
                          ) -> TransitionRecord:
        return self._unhide(AlarmState.OUT_OF_SERVICE, "return_to_service", actor, time,
                            reason)

    def _may_hide(self, what: str) -> None:
        if self.life_safety:
            raise LifeSafetyViolation(f"life-safety alarms cannot be {what}d")
        if self.state in HIDDEN:
            raise InvalidTransition(f"{what} in state {self.state}")
        if self.state == AlarmState.LATCHED:  # it would come back normal: the latch let go
            raise InvalidTransition(f"a latched alarm is reset, not {what}d")

    def _unhide(self, frm: AlarmState, trigger: str, actor: str, time: float,
                reason: str = "") -> TransitionRecord:
        if self.state != frm:
            raise InvalidTransition(f"{trigger} in state {self.state}")
        self.shelved_until = math.nan
        to = AlarmState.UNACK if self.active else AlarmState.NORMAL
        return self._go(to, trigger, actor, time, reason)

    def _go(self, to: AlarmState, trigger: str, actor: str, time: float,
            reason: str = "") -> TransitionRecord:
        rec = TransitionRecord(self.state, to, trigger, actor, time, reason)
        self.state = to
        self.history.append(rec)
        return rec
