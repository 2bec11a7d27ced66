"""ISA-18.2 state machine: hand paths and invariants over random operation sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qorgau.alarms.engine import Alarm, AlarmState, InvalidTransition, LifeSafetyViolation

S = AlarmState


def test_standard_path_and_records() -> None:
    a = Alarm()
    r = a.process(True, 1.0)
    assert (r.frm, r.to, r.trigger, r.actor, r.time) == (S.NORMAL, S.UNACK, "raise", "process", 1.0)
    assert a.ack("op1", 2.0).to == S.ACKED
    assert a.process(False, 3.0).to == S.NORMAL
    a.process(True, 4.0)
    assert a.process(False, 5.0).to == S.RTN_UNACK
    assert a.ack("op1", 6.0).to == S.NORMAL
    assert [h.to for h in a.history] == [S.UNACK, S.ACKED, S.NORMAL, S.UNACK, S.RTN_UNACK,
                                         S.NORMAL]


def test_latched_alarm_needs_reset() -> None:
    a = Alarm(latching=True)
    a.process(True, 0.0)
    assert a.process(False, 1.0).to == S.LATCHED
    with pytest.raises(InvalidTransition):
        a.ack("op", 2.0)
    assert a.reset("op", 2.0).to == S.NORMAL


def test_shelving_hides_until_expiry() -> None:
    a = Alarm()
    a.shelve("op", 0.0, expiry=100.0, reason="sensor maintenance")
    assert a.process(True, 10.0) is None and a.process(False, 20.0) is None
    assert a.process(True, 30.0) is None
    assert a.tick(99.0) is None
    r = a.tick(100.0)
    assert (r.trigger, r.to) == ("shelve_expired", S.UNACK)


def test_life_safety_never_shelved_or_suppressed() -> None:
    a = Alarm(life_safety=True)
    with pytest.raises(LifeSafetyViolation):
        a.shelve("op", 0.0, expiry=60.0, reason="nuisance")
    with pytest.raises(LifeSafetyViolation):
        a.suppress("flood", 0.0, reason="alarm flood")
    assert a.remove_from_service("tech", 0.0, reason="calibration").to == S.OUT_OF_SERVICE
    assert a.return_to_service("tech", 1.0).to == S.NORMAL


def test_invalid_transitions_raise() -> None:
    a = Alarm()
    with pytest.raises(InvalidTransition):
        a.ack("op", 0.0)
    with pytest.raises(InvalidTransition):
        a.process(False, 0.0)
    with pytest.raises(InvalidTransition):
        a.unshelve("op", 0.0)
    with pytest.raises(InvalidTransition):
        a.shelve("op", 5.0, expiry=1.0, reason="x")
    a.process(True, 1.0)
    with pytest.raises(InvalidTransition):
        a.process(True, 2.0)


OPS = st.sampled_from(["raise", "clear", "ack", "shelve", "unshelve", "tick", "suppress",
                       "unsuppress", "oos", "rts", "reset"])


def apply(a: Alarm, op: str, t: float):
    calls = {
        "raise": lambda: a.process(True, t), "clear": lambda: a.process(False, t),
        "ack": lambda: a.ack("op", t), "reset": lambda: a.reset("op", t),
        "shelve": lambda: a.shelve("op", t, expiry=t + 5, reason="r"),
        "unshelve": lambda: a.unshelve("op", t), "tick": lambda: a.tick(t),
        "suppress": lambda: a.suppress("design", t, reason="r"),
        "unsuppress": lambda: a.unsuppress("design", t),
        "oos": lambda: a.remove_from_service("op", t, reason="r"),
        "rts": lambda: a.return_to_service("op", t),
    }
    return calls[op]()


@settings(max_examples=400, deadline=None)
@given(st.lists(OPS, max_size=40), st.booleans(), st.booleans())
def test_invariants_over_random_sequences(ops, life_safety, latching) -> None:
    a = Alarm(life_safety=life_safety, latching=latching)
    for i, op in enumerate(ops):
        before, was_active = a.state, a.active
        try:
            rec = apply(a, op, float(i))
        except LifeSafetyViolation:
            assert life_safety and op in ("shelve", "suppress")
            continue
        except InvalidTransition:
            assert a.state == before  # a refused trigger changes nothing
            continue
        assert not (op == "raise" and was_active)  # never raised twice without a clear
        if op == "ack":
            assert before in (S.UNACK, S.RTN_UNACK)
        if before in (S.SHELVED, S.SUPPRESSED, S.OUT_OF_SERVICE) and op in ("raise", "clear"):
            assert rec is None and a.state == before  # hidden alarms emit nothing
        if rec is not None:
            assert rec.frm == before and rec.to == a.state
        if life_safety:
            assert a.state not in (S.SHELVED, S.SUPPRESSED)
        if a.state in (S.UNACK, S.ACKED):
            assert a.active
