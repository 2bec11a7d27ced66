"""Plain per-reading Python reference loops. They define the semantics; the fast kernels
in `kernel.py` must produce exactly the same events (checked by property tests).

Written for clarity, not speed: one reading at a time, one condition at a time.
"""

from __future__ import annotations

import math

import numpy as np

from .types import (
    COND_KINDS,
    SHIFT_S,
    STEL_BUCKET_S,
    STEL_BUCKETS,
    EngineState,
    ExposureState,
    Kind,
    SensorTable,
    Transition,
    make_events,
)

_LOW = (Kind.LOLO, Kind.LO)
_HIGH = (Kind.HI, Kind.HIHI)
MAX_GAP_CLOSES = STEL_BUCKETS + 1  # after 16 empty buckets the window is all zero


def limits_reference(
    table: SensorTable, state: EngineState, sensor, time, value
) -> np.ndarray:
    """Limits, deadband, on/off delay, rate of rise and stale clearing for one batch."""
    out: list[tuple[int, float, int, int, float]] = []
    for s, t, v in zip(sensor.tolist(), time.tolist(), value.tolist(), strict=True):
        if math.isnan(v):
            continue  # a NaN reading is no reading (and no heartbeat)
        if state.stale[s]:
            state.stale[s] = False
            out.append((s, t, Kind.STALE, Transition.CLEAR, v))
        lt, lv = float(state.last_time[s]), float(state.last_value[s])
        state.last_time[s], state.last_value[s] = t, v
        rate = None  # (dv·60, dt): rate ≥ limit/min is tested as dv·60 ≥ limit·dt
        if not math.isnan(lv) and not math.isnan(lt) and t > lt:
            rate = ((v - lv) * 60.0, t - lt)
        for c, kind in enumerate(COND_KINDS):
            _step_condition(table, state, out, s, t, v, rate, c, kind)
        state.busy[s] = float(
            bool(state.active[s].any())
            or not np.isnan(state.on_since[s]).all()
            or not np.isnan(state.off_since[s]).all()
        )
    return _events(out)


def _step_condition(table, state, out, s, t, v, rate, c, kind) -> None:
    limit = _limit(table, s, kind)
    if math.isnan(limit):
        return
    db = float(table.deadband[s])
    if kind in _LOW:
        on, off = v <= limit, v > limit + db
    elif kind in _HIGH:
        on, off = v >= limit, v < limit - db
    elif rate is None:  # rate of rise undefined (first reading, equal times): neither
        on = off = False
    else:
        on, off = rate[0] >= limit * rate[1], rate[0] < limit * rate[1]
    if not state.active[s, c]:
        if not on:
            state.on_since[s, c] = math.nan
            return
        if math.isnan(state.on_since[s, c]):
            state.on_since[s, c] = t
        if t - state.on_since[s, c] >= table.on_delay_s[s]:
            state.active[s, c] = True
            state.on_since[s, c] = math.nan
            out.append((s, t, kind, Transition.RAISE, v))
        return
    if not off:
        state.off_since[s, c] = math.nan
        return
    if math.isnan(state.off_since[s, c]):
        state.off_since[s, c] = t
    if t - state.off_since[s, c] >= table.off_delay_s[s]:
        state.active[s, c] = False
        state.off_since[s, c] = math.nan
        out.append((s, t, kind, Transition.CLEAR, v))


def _limit(table: SensorTable, s: int, kind: Kind) -> float:
    field = {Kind.LOLO: table.lowlow, Kind.LO: table.low, Kind.HI: table.high,
             Kind.HIHI: table.highhigh, Kind.ROR: table.ror_per_min}[kind]
    return float(field[s])


def _events(rows: list[tuple[int, float, int, int, float]]) -> np.ndarray:
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    return make_events(*(np.asarray(c) for c in cols))


def exposure_reference(
    table: SensorTable, ex: ExposureState, sensor, time, value, *, max_hold_s: float = 300.0
) -> np.ndarray:
    """TWA dose (zero-order hold, gaps capped at max_hold_s) and STEL on one-minute buckets."""
    out: list[tuple[int, float, int, int, float]] = []
    for s, t, v in zip(sensor.tolist(), time.tolist(), value.tolist(), strict=True):
        if math.isnan(v):
            continue
        lt, lv = float(ex.last_time[s]), float(ex.last_value[s])
        ex.last_time[s], ex.last_value[s] = t, v
        b = math.floor(t / STEL_BUCKET_S)
        if ex.bucket[s] < 0:
            ex.bucket[s] = b
            continue
        if not math.isnan(lt) and t > lt:
            end = lt + min(t - lt, max_hold_s)
            _integrate(table, ex, out, s, lt, end, lv)
            # the 8-h TWA exceeds its limit once the dose exceeds limit × 8 h
            if not ex.twa_active[s] and ex.dose[s] > table.twa_limit[s] * SHIFT_S:
                ex.twa_active[s] = 1.0
                out.append((s, t, Kind.TWA, Transition.RAISE, ex.dose[s] / SHIFT_S))
        closes = 0
        while ex.bucket[s] < b:
            if closes < MAX_GAP_CLOSES:
                _close_bucket(table, ex, out, s)
                closes += 1
            else:  # the window holds only empty buckets: jump ahead
                ex.ring[s, :] = 0.0
                ex.bucket[s] = b
    return _events(out)


def _integrate(table, ex, out, s, a, end, level) -> None:
    """Add level·dt over [a, end] into the open bucket, closing buckets crossed on the way."""
    while True:
        bend = (ex.bucket[s] + 1) * STEL_BUCKET_S
        if end <= bend:
            piece = level * (end - a)
            ex.open_dose[s] += piece
            ex.dose[s] += piece
            return
        piece = level * (bend - a)
        ex.open_dose[s] += piece
        ex.dose[s] += piece
        a = bend
        _close_bucket(table, ex, out, s)


def _close_bucket(table, ex, out, s) -> None:
    """Store the open bucket in the ring and test the 15-minute mean at the bucket's end."""
    cur = int(ex.bucket[s])
    ex.ring[s, cur % STEL_BUCKETS] = ex.open_dose[s]
    ex.open_dose[s] = 0.0
    ex.bucket[s] = cur + 1
    at = (cur + 1) * STEL_BUCKET_S
    total = 0.0
    for k in range(STEL_BUCKETS):
        total += ex.ring[s, k]
    mean = total / (STEL_BUCKETS * STEL_BUCKET_S)
    limit = float(table.stel_limit[s])
    if math.isnan(limit):
        return
    if not ex.stel_active[s] and mean > limit:
        ex.stel_active[s] = True
        ex.excursions[s] += 1
        last = float(ex.last_excursion[s])
        breach = ex.excursions[s] > 4 or (not math.isnan(last) and at - last < 3600.0)
        ex.last_excursion[s] = at
        out.append((s, at, Kind.STEL, Transition.RAISE, mean))
        if breach:
            ex.breaches[s] += 1
            if not ex.breach_active[s]:  # one STEL_BREACH a shift: reset_shift clears it
                ex.breach_active[s] = True
                out.append((s, at, Kind.STEL_BREACH, Transition.RAISE, float(ex.excursions[s])))
    elif ex.stel_active[s] and mean <= limit:
        ex.stel_active[s] = False
        out.append((s, at, Kind.STEL, Transition.CLEAR, mean))

