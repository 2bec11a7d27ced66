"""A broken STEL rule (DOMAIN.md: at most 4 excursions a shift, at least 60 min apart) is an
alarm condition of its own: STEL_BREACH, raised with the STEL raise of the excursion that
breaks the rule (its value: the shift's excursion count), once a shift, cleared at the shift
reset. Kernel and reference loop alike; end to end it becomes a priority-2 occurrence."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from qorgau.alarms import service, shifts, texts, worker
from qorgau.alarms.engine import AlarmEngine, Kind, SensorTable
from qorgau.alarms.ingest import core
from qorgau.alarms.models import AlarmRecord
from qorgau.alarms.schemas import DevicePatch, Limits, ShiftsIn

from .test_exposure_restart import _boundary, _send, _stream

PULSE_S = 600.0  # 10 ppm for 10 min: the 15-min mean passes 5 ppm 8 min in (at +480 s)


def _pulses(starts_min: list[float], end_s: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, end_s, 10.0)
    high = np.zeros(len(t), np.bool_)
    for m in starts_min:
        high |= (t >= m * 60.0) & (t < m * 60.0 + PULSE_S)
    return t, np.where(high, 10.0, 0.0)


def _feed(engine: AlarmEngine, t: np.ndarray, v: np.ndarray) -> list[tuple[float, str, int, float]]:
    ev = engine.process(np.zeros(len(t), np.uint32), t, v)
    return [(float(e["time"]), Kind(e["kind"]).name, int(e["transition"]), float(e["value"]))
            for e in ev]


def _kinds(ev: list[tuple[float, str, int, float]], kind: str) -> list[tuple[float, int, float]]:
    return [(t, tr, v) for t, k, tr, v in ev if k == kind]


@pytest.fixture(params=[True, False], ids=["fast", "reference"])
def engine(request) -> AlarmEngine:
    return AlarmEngine(SensorTable.create(1, stel_limit=5.0), fast=request.param)


def test_the_fifth_excursion_of_the_shift_raises_stel_breach_once(engine) -> None:
    starts = [10, 80, 150, 220, 290, 360]  # 70 min apart: only the count breaks the rule
    ev = _feed(engine, *_pulses(starts, 7.5 * 3600))
    stel = [t for t, tr, _ in _kinds(ev, "STEL") if tr == 1]
    assert stel == [m * 60.0 + 480.0 for m in starts]
    # the fifth, with its STEL raise; the sixth breaks the rule again but raises nothing new
    assert _kinds(ev, "STEL_BREACH") == [(stel[4], 1, 5.0)]
    ex = engine.state.exposure
    assert (ex.excursions[0], ex.breaches[0], bool(ex.breach_active[0])) == (6, 2, True)


def test_an_excursion_45_min_after_the_previous_raises_it(engine) -> None:
    ev = _feed(engine, *_pulses([10, 55], 2 * 3600))
    first, second = (t for t, tr, _ in _kinds(ev, "STEL") if tr == 1)
    assert second - first == 45 * 60.0
    assert _kinds(ev, "STEL_BREACH") == [(second, 1, 2.0)]
    # in canonical order right after its STEL raise
    at = [(k, tr) for t, k, tr, _ in ev if t == second]
    assert at == [("STEL", 1), ("STEL_BREACH", 1)]


def test_the_shift_reset_clears_it_and_a_new_shift_can_raise_it_again(engine) -> None:
    _feed(engine, *_pulses([10, 55], 2 * 3600))
    ev = engine.reset_shift(8 * 3600.0)
    assert [(float(e["time"]), Kind(e["kind"]).name, int(e["transition"]), float(e["value"]))
            for e in ev] == [(8 * 3600.0, "STEL_BREACH", 0, 2.0)]
    assert not engine.state.exposure.breach_active[0]
    assert not len(engine.reset_shift(8 * 3600.0)), "cleared twice"
    t, v = _pulses([10, 55], 2 * 3600)
    again = _feed(engine, t + 8 * 3600.0, v)
    assert _kinds(again, "STEL_BREACH") == [(8 * 3600.0 + 55 * 60.0 + 480.0, 1, 2.0)]


def test_a_breach_is_the_same_in_any_batching_and_both_loops() -> None:
    t, v = _pulses([10, 55, 100, 180, 250, 330], 7 * 3600)
    s = np.zeros(len(t), np.uint32)
    table = SensorTable.create(1, stel_limit=5.0)
    runs = []
    for fast in (True, False):
        for step in (len(t), 7, 1000):
            eng = AlarmEngine(table, fast=fast)
            runs.append(np.concatenate([eng.process(s[k:k + step], t[k:k + step], v[k:k + step])
                                        for k in range(0, len(t), step)]))
    assert (runs[0]["kind"] == Kind.STEL_BREACH).sum() == 1
    assert all(np.array_equal(r, runs[0]) for r in runs[1:])


def test_seeding_raises_nothing_and_counted_breaches_set_the_flag(engine) -> None:
    t, v = _pulses([10, 55, 100], 2 * 3600)
    seed = t < 5400.0
    engine.seed_exposure(np.zeros(seed.sum(), np.uint32), t[seed], v[seed])
    ex = engine.state.exposure
    assert not ex.breach_active[0] and ex.excursions[0] == 0
    # a restart: its STEL occurrences' raise times; the breach was raised live before it
    engine.seed_excursions(np.zeros(2, np.int64), np.array([1080.0, 3780.0]))
    assert ex.breach_active[0] and ex.breaches[0] == 1
    ev = _feed(engine, t[~seed], v[~seed])  # a third, 45 min on: a breach, no second raise
    assert [t for t, tr, _ in _kinds(ev, "STEL") if tr == 1] == [6480.0]
    assert ex.breaches[0] == 2
    assert not _kinds(ev, "STEL_BREACH")
    assert [Kind(e["kind"]).name for e in engine.reset_shift(8 * 3600.0)] == ["STEL_BREACH"]


def test_a_snapshot_puts_the_flag_back(engine) -> None:
    t, v = _pulses([10, 55], 2 * 3600)
    snap = engine.snapshot(np.zeros(1, np.uint32))
    assert len(_kinds(_feed(engine, t, v), "STEL_BREACH")) == 1
    engine.restore(snap)
    assert not engine.state.exposure.breach_active[0]
    assert len(_kinds(_feed(engine, t, v), "STEL_BREACH")) == 1


def test_texts_name_the_breach_and_count_without_unit() -> None:
    f = {"kind": "STEL_BREACH", "device": "CO-1", "quantity": "CO", "zone": "L1", "value": 5.0}
    assert texts.describe(f, "en") == (
        "Short-term limit exceeded too often (STEL): CO: excursion no. 5 of the shift — "
        "CO-1, zone L1")
    assert texts.describe(f, "ru").startswith(
        "Слишком частые превышения кратковременной ПДК (STEL): CO: превышение №5 за смену")
    assert texts.label("STEL_BREACH", "kk") == "Қысқа мерзімді ШРК тым жиі асты (STEL)"
    assert "ppm" not in texts.describe(f, "kk")


def _records(db, mine, kind: str) -> list[AlarmRecord]:
    db.expire_all()
    return list(db.scalars(select(AlarmRecord).where(
        AlarmRecord.device_id == mine.devices["CO-1"], AlarmRecord.kind == kind)
        .order_by(AlarmRecord.id)))


def _stel_site(db, as_, mine) -> float:
    """Two 12-h shifts and an H2S-like STEL limit on CO-1; returns an 08:00 shift start."""
    osh = as_("osh_krg")
    shifts.set_settings(db=db, actor=osh, site_id=mine.site_id,
                        data=ShiftsIn(shift_starts=["08:00", "20:00"], reason="two 12-h shifts"))
    service.update_device(db=db, actor=osh, device_id=mine.devices["CO-1"], data=DevicePatch(
        limits=Limits(high=20.0, highhigh=50.0, twa_limit=1.0, stel_limit=5.0),
        reason="H2S-like STEL"))
    return _boundary()


def test_a_breach_through_ingest_is_a_priority_2_occurrence_cleared_at_the_shift_start(
        db, as_, mine, proc) -> None:
    b = _stel_site(db, as_, mine)
    starts = [b + 600.0, b + 600.0 + 45 * 60.0, b + 600.0 + 90 * 60.0]  # 45 min apart
    _send(db, proc, mine, _stream(b, b + 3 * 3600.0, starts))

    stel = _records(db, mine, "STEL")
    assert len(stel) == 3
    breach = _records(db, mine, "STEL_BREACH")
    assert len(breach) == 1, "one active condition for the second and the third breach"
    rec = breach[0]
    assert (rec.priority, rec.active, rec.value) == (2, True, 2.0)
    assert rec.message == "CO STEL_BREACH at CO-1 (L1): excursion 2 of the shift"
    assert rec.raised_at == stel[1].raised_at
    assert not rec.life_safety

    worker.tick(db, proc, now=b + 12 * 3600.0 + 5)  # 20:00: the next shift starts
    rec = _records(db, mine, "STEL_BREACH")[0]
    assert not rec.active and rec.cleared_at.timestamp() == pytest.approx(b + 12 * 3600.0)


def test_a_breach_still_active_after_a_restart_across_the_shift_start_is_cleared(
        db, as_, mine, proc) -> None:
    """The worker is down over 20:00: its successor restores the active breach with the
    shift it belongs to, so the next tick clears it at 20:00 as without the restart."""
    b = _stel_site(db, as_, mine)
    _send(db, proc, mine, _stream(b, b + 2 * 3600.0, [b + 600.0, b + 600.0 + 45 * 60.0]))
    assert _records(db, mine, "STEL_BREACH")[0].active
    again = core.Processor(proc.store, flush_s=60, owner="worker")  # started at 20:01
    late = b + 12 * 3600.0 + 60.0
    again.handle_raw(db, mine.timed("CO-1", [(late, 1.0)]), source="test", now=late + 1)
    worker.tick(db, again, now=late + 5)
    rec = _records(db, mine, "STEL_BREACH")[0]
    assert not rec.active and rec.cleared_at.timestamp() == pytest.approx(b + 12 * 3600.0)
