"""Exposure doses survive a worker restart and a device edit mid-shift: the rebuilt runtime
seeds its engine with the TWA dose since the shift start (1-minute roll-ups, database and the
ledger's unwritten ones) and the STEL window (exact readings from the segment files), and an
active STEL occurrence is put back, so it is neither raised again nor left uncleared.

Driven through the real ingest path with simulated time; "without the restart" is the pure
engine fed the same readings."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from sqlalchemy import select

from qorgau.alarms import service, shifts
from qorgau.alarms.engine import AlarmEngine, Kind, SensorTable, Transition
from qorgau.alarms.ingest import core, runtime
from qorgau.alarms.models import AlarmRecord
from qorgau.alarms.schemas import DevicePatch, Limits, ShiftsIn

SHIFTS = ["08:00", "20:00"]
LIMITS = {"high": 20.0, "highhigh": 50.0, "twa_limit": 1.0, "stel_limit": 5.0}
STEP_S, BATCH = 10.0, 60  # a reading every 10 s, ten minutes a batch


def _boundary() -> float:
    """A site-local 08:00 between one and two days ago."""
    return shifts.latest_start(["08:00"], time.time() - 86400)


def _level(t: float, high: tuple[float, float]) -> float:
    """~2.5 ppm, varying; 9 ppm (above the STEL limit) inside `high`."""
    if high[0] <= t < high[1]:
        return 9.0
    return 2.5 + 1.5 * math.sin(t / 200.0)


def _readings(t0: float, t1: float, high: tuple[float, float]) -> list[tuple[float, float]]:
    return [(t, _level(t, high)) for t in np.arange(t0 + 3.0, t1, STEP_S).tolist()]


def _setup(db, as_, mine) -> None:
    osh = as_("osh_krg")
    shifts.set_settings(db=db, actor=osh, site_id=mine.site_id,
                        data=ShiftsIn(shift_starts=SHIFTS, reason="two 12-h shifts"))
    service.update_device(db=db, actor=osh, device_id=mine.devices["CO-1"], data=DevicePatch(
        limits=Limits(**LIMITS), reason="H2S-like TWA and STEL"))


def _send(db, proc: core.Processor, mine, rows: list[tuple[float, float]]) -> None:
    for k in range(0, len(rows), BATCH):
        part = rows[k:k + BATCH]
        proc.handle_raw(db, mine.timed("CO-1", part), source="test", now=part[-1][0] + 1)


def _reference(phases: list[list[tuple[float, float]]], reset_before: int | None = None,
               reset_at: float = math.nan) -> tuple[AlarmEngine, np.ndarray]:
    """The engine without a restart: every reading, batch by batch; a shift reset at
    `reset_at` before phase `reset_before`."""
    eng = AlarmEngine(SensorTable.create(1, **LIMITS))
    events = []
    for n, rows in enumerate(phases):
        if n == reset_before:
            eng.reset_shift(reset_at)
        for k in range(0, len(rows), BATCH):
            t = np.array([r[0] for r in rows[k:k + BATCH]])
            v = np.array([r[1] for r in rows[k:k + BATCH]])
            events.append(eng.process(np.zeros(len(t), np.uint32), t, v))
    return eng, np.concatenate(events)


def _when(ev: np.ndarray, kind: Kind, tr: Transition) -> list[float]:
    return ev["time"][(ev["kind"] == kind) & (ev["transition"] == tr)].tolist()


def _records(db, mine, kind: str) -> list[AlarmRecord]:
    db.expire_all()
    return list(db.scalars(select(AlarmRecord).where(
        AlarmRecord.device_id == mine.devices["CO-1"], AlarmRecord.kind == kind)
        .order_by(AlarmRecord.id)))


def _worker(store) -> core.Processor:
    # owner "worker": a restarted worker takes the site back at once; its 60-s ledger leaves
    # roll-ups unwritten at a kill, which the replay and the seeding must count
    return core.Processor(store, flush_s=60, owner="worker")


def test_a_restart_mid_shift_keeps_the_dose_and_the_active_stel(db, as_, mine, proc):
    b = _boundary()
    _setup(db, as_, mine)
    high = (b + 6300, b + 7500)  # 01:45–02:05 after the start: a STEL excursion
    before, after = _readings(b, b + 7200, high), _readings(b + 7200, b + 14400, high)
    _eng, ev = _reference([before, after])
    twa_at, = _when(ev, Kind.TWA, Transition.RAISE)
    stel_at, = _when(ev, Kind.STEL, Transition.RAISE)
    stel_clear, = _when(ev, Kind.STEL, Transition.CLEAR)
    assert b + 7200 < twa_at < b + 14400 and stel_at < b + 7200 < stel_clear

    first = _worker(proc.store)
    _send(db, first, mine, before)
    assert not _records(db, mine, "TWA") and _records(db, mine, "STEL")[0].active
    # kill -9 at 02:00 (nothing closed); a new process from the database and segment files
    again = _worker(proc.store)
    rt = runtime.build(db, mine.site_id, b + 7201, again.flush_s)
    runtime.resume(db, rt, again.store, again.owner, b + 7201)  # what its first batch does
    again.sites[mine.site_id] = rt
    i = rt.index["CO-1"]
    ex = rt.engine.state.exposure
    assert ex.stel_active[i] and ex.shift_start[i] == b  # active: its next minute raises nothing
    _send(db, again, mine, after[:6])
    assert again.sites[mine.site_id] is rt
    then = float(_reference([before, after[:6]])[0].state.exposure.dose[0])
    assert then > 20000.0  # ~2 h of ~2.5 ppm and the excursion: one minute at most apart
    assert ex.dose[i] == pytest.approx(then, abs=60.0 * 9.0)
    _send(db, again, mine, after[6:])

    twa = _records(db, mine, "TWA")
    assert len(twa) == 1 and abs(twa[0].raised_at.timestamp() - twa_at) <= 60.0
    stel = _records(db, mine, "STEL")
    assert len(stel) == 1, "the still-high STEL was raised again"
    assert not stel[0].active and stel[0].cleared_at.timestamp() == pytest.approx(stel_clear)
    assert stel[0].raised_at.timestamp() == pytest.approx(stel_at)


def test_a_device_edit_mid_shift_keeps_the_dose(db, as_, mine, proc):
    b = _boundary()
    _setup(db, as_, mine)
    before, after = _readings(b, b + 7200, (0, 0)), _readings(b + 7200, b + 7800, (0, 0))
    eng, _ev = _reference([before, after])
    w = _worker(proc.store)
    _send(db, w, mine, before)
    old = w.sites[mine.site_id]
    service.update_device(db=db, actor=as_("osh_krg"), device_id=mine.devices["CO-1"],
                          data=DevicePatch(limits=Limits(**{**LIMITS, "high": 25.0}),
                                           reason="sensor recalibrated"))
    _send(db, w, mine, after)
    rt = w.sites[mine.site_id]
    assert rt is not old  # rebuilt from the devices' new revision
    i = rt.index["CO-1"]
    want = float(eng.state.exposure.dose[0])
    assert want > 18000.0
    assert rt.engine.state.exposure.dose[i] == pytest.approx(want, abs=60.0 * 4.0)


def test_a_restart_after_the_shift_boundary_starts_at_zero(db, as_, mine, proc):
    b = _boundary()
    _setup(db, as_, mine)
    before, after = _readings(b - 7200, b - 60, (0, 0)), _readings(b + 300, b + 900, (0, 0))
    eng, _ev = _reference([before, after], reset_before=1, reset_at=b)
    _send(db, _worker(proc.store), mine, before)  # killed at 07:59, started again at 08:05
    again = _worker(proc.store)
    _send(db, again, mine, after)
    rt = again.sites[mine.site_id]
    ex, i = rt.engine.state.exposure, rt.index["CO-1"]
    assert ex.shift_start[i] == b
    want = float(eng.state.exposure.dose[0])
    assert want < 3000.0  # 10 min of this shift, not the last shift's ~18,000
    assert ex.dose[i] == pytest.approx(want, abs=60.0 * 4.0)


HIGH_S = 480.0  # 8 min at 9 ppm: the 15-min mean passes the STEL limit once, for a while


def _stream(t0: float, t1: float, starts: list[float]) -> list[tuple[float, float]]:
    """`_readings` with an 8-min excursion at each of `starts`."""
    return [(t, 9.0 if any(a <= t < a + HIGH_S for a in starts) else _level(t, (0, 0)))
            for t in np.arange(t0 + 3.0, t1, STEP_S).tolist()]


def _counts(ex, i: int) -> tuple[int, int, float]:
    return int(ex.excursions[i]), int(ex.breaches[i]), float(ex.last_excursion[i])


@pytest.mark.parametrize(("minutes", "restart_min", "want"), [
    ((10, 80, 150, 220, 300), 270, (5, 1)),  # the fifth of the shift, 80 min after the fourth
    ((30, 75), 60, (2, 1)),  # 45 min after the previous one
], ids=["fifth-excursion", "within-an-hour"])
def test_a_restart_mid_shift_keeps_the_stel_excursion_counts(db, as_, mine, proc, minutes,
                                                             restart_min, want):
    b = _boundary()
    _setup(db, as_, mine)
    starts, cut = [b + m * 60.0 for m in minutes], b + restart_min * 60.0
    before, after = _stream(b, cut, starts), _stream(cut, starts[-1] + 1800.0, starts)
    eng, ev = _reference([before, after])
    raised = _when(ev, Kind.STEL, Transition.RAISE)
    assert len(raised) == len(minutes) and raised[-2] < cut < raised[-1]
    assert _counts(eng.state.exposure, 0) == (*want, raised[-1])

    _send(db, _worker(proc.store), mine, before)  # killed; a new process takes the site
    again = _worker(proc.store)
    _send(db, again, mine, after)
    rt = again.sites[mine.site_id]
    assert _counts(rt.engine.state.exposure, rt.index["CO-1"]) == (*want, raised[-1]), \
        "the excursions before the restart were not counted"
    stel = _records(db, mine, "STEL")
    assert [r.raised_at.timestamp() for r in stel] == pytest.approx(raised)
    assert not any(r.active for r in stel)


def test_stel_excursion_counts_after_a_restart_start_at_the_shift_start(db, as_, mine, proc):
    b = _boundary()
    _setup(db, as_, mine)
    # one in the last shift, one in this shift 50 min later: no breach, the shift restarted
    before = _stream(b - 7200, b - 60, [b - 1500])
    after = _stream(b + 300, b + 3600, [b + 1500])
    eng, ev = _reference([before, after], reset_before=1, reset_at=b)
    old, new = _when(ev, Kind.STEL, Transition.RAISE)
    assert old < b < new < old + 3600
    assert _counts(eng.state.exposure, 0) == (1, 0, new)

    _send(db, _worker(proc.store), mine, before)  # killed at 07:59, started again at 08:05
    again = _worker(proc.store)
    _send(db, again, mine, after)
    rt = again.sites[mine.site_id]
    assert _counts(rt.engine.state.exposure, rt.index["CO-1"]) == (1, 0, new)
    assert [r.raised_at.timestamp() for r in _records(db, mine, "STEL")] == pytest.approx(
        [old, new])


def test_a_restart_just_after_the_shift_start_keeps_the_stel_window(db, as_, mine, proc):
    """The 15-min STEL window runs across a shift start; a restart in the first minutes of a
    shift rebuilt it from this shift's readings only, so a STEL raised by readings from both
    sides of the start cleared at the restart's first minute instead of when its mean fell."""
    b = _boundary()
    _setup(db, as_, mine)
    high = (b - 300, b + 240)  # 9 min at 9 ppm across the 08:00 start
    before, after = _readings(b - 1800, b + 300, high), _readings(b + 300, b + 1500, high)
    _eng, ev = _reference([before, after])
    stel_at, = _when(ev, Kind.STEL, Transition.RAISE)
    stel_clear, = _when(ev, Kind.STEL, Transition.CLEAR)
    assert b < stel_at < b + 300 and stel_clear > b + 700  # the mean falls ~9 min later
    _send(db, _worker(proc.store), mine, before)  # killed at 08:05
    assert _records(db, mine, "STEL")[0].active
    again = _worker(proc.store)
    _send(db, again, mine, after[:1])  # its first reading builds the runtime
    _send(db, again, mine, after[1:])
    stel = _records(db, mine, "STEL")
    assert len(stel) == 1 and not stel[0].active
    assert stel[0].cleared_at.timestamp() == pytest.approx(stel_clear, abs=60.0)
