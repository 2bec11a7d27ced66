"""Fast numba kernels with the exact semantics of `reference.py`.

Readings are processed in input order with random access into per-sensor state, so no
per-batch grouping sort is needed. The limits kernel skips the full condition logic for a
quiet sensor (nothing active or pending, value strictly inside every limit, rate below the
rate-of-rise limit): that is exact, because the full logic would change nothing but the last
value. Kernels are compiled lazily on first use (cache=True keeps later imports cheap).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np

from .types import (
    SHIFT_S,
    STEL_BUCKET_S,
    STEL_BUCKETS,
    EngineState,
    ExposureState,
    Kind,
    SensorTable,
    make_events,
)

_COND_CODES = np.array([Kind.LOLO, Kind.LO, Kind.HI, Kind.HIHI, Kind.ROR], np.uint8)
_GAP_CLOSES = STEL_BUCKETS + 1
_MAX_EV_LIMITS = 6  # stale clear + five conditions per reading


def _limits_kernel(start, sens, tt, vv, lim, db, on_d, off_d, codes,
                   active, on_since, off_since, hot,
                   ev_s, ev_t, ev_k, ev_tr, ev_v):  # pragma: no cover - compiled
    n_ev = 0
    cap = ev_s.shape[0]
    nan = np.nan
    for i in range(start, sens.shape[0]):
        if cap - n_ev < 6:
            return i, n_ev
        s = sens[i]
        t = tt[i]
        v = vv[i]
        if v != v:
            continue
        if hot[s, 3] != 0.0:
            hot[s, 3] = 0.0
            n_ev = _emit_nb(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, t, 6, 0, v)
        lv = hot[s, 0]
        lt = hot[s, 1]
        hot[s, 0] = v
        hot[s, 1] = t
        # rate of rise compared as dv·60 ≥ limit·dt: no division on the hot path
        has_rate = lv == lv and lt == lt and t > lt
        dv60 = (v - lv) * 60.0
        dt = t - lt
        if hot[s, 2] == 0.0 and v > hot[s, 4] and v < hot[s, 5] and not (
                has_rate and dv60 >= hot[s, 6] * dt):
            continue  # quiet: the full logic below would only reset already-clear timers
        any_busy = False
        for c in range(5):
            limit = lim[s, c]
            if limit != limit:
                continue
            if c < 2:
                on = v <= limit
                off = v > limit + db[s]
            elif c < 4:
                on = v >= limit
                off = v < limit - db[s]
            else:
                on = has_rate and dv60 >= limit * dt
                off = has_rate and dv60 < limit * dt
            if not active[s, c]:
                if on:
                    if on_since[s, c] != on_since[s, c]:
                        on_since[s, c] = t
                    if t - on_since[s, c] >= on_d[s]:
                        active[s, c] = True
                        on_since[s, c] = nan
                        n_ev = _emit_nb(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, t, codes[c], 1, v)
                else:
                    on_since[s, c] = nan
            else:
                if off:
                    if off_since[s, c] != off_since[s, c]:
                        off_since[s, c] = t
                    if t - off_since[s, c] >= off_d[s]:
                        active[s, c] = False
                        off_since[s, c] = nan
                        n_ev = _emit_nb(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, t, codes[c], 0, v)
                else:
                    off_since[s, c] = nan
            if active[s, c] or on_since[s, c] == on_since[s, c] \
                    or off_since[s, c] == off_since[s, c]:
                any_busy = True
        hot[s, 2] = 1.0 if any_busy else 0.0
    return sens.shape[0], n_ev


def _close_bucket(s, hot, ring, stel_lim, stel_active, excursions, last_exc, breaches,
                  breach_active, ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev):  # pragma: no cover
    cur = hot[s, 4]
    ring[s, np.int64(cur) % 15] = hot[s, 3]
    hot[s, 3] = 0.0
    hot[s, 4] = cur + 1.0
    at = (cur + 1.0) * 60.0
    total = 0.0
    for k in range(15):
        total += ring[s, k]
    mean = total / (15 * 60.0)
    limit = stel_lim[s]
    if limit != limit:
        return n_ev
    if not stel_active[s] and mean > limit:
        stel_active[s] = True
        excursions[s] += 1
        last = last_exc[s]
        breach = excursions[s] > 4 or (last == last and at - last < 3600.0)
        last_exc[s] = at
        n_ev = _emit_nb(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, at, 8, 1, mean)
        if breach:
            breaches[s] += 1
            if not breach_active[s]:  # one STEL_BREACH a shift: reset_shift clears it
                breach_active[s] = True
                n_ev = _emit_nb(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, at, 13, 1,
                                float(excursions[s]))
        return n_ev
    if stel_active[s] and mean <= limit:
        stel_active[s] = False
        return _emit_nb(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, at, 8, 0, mean)
    return n_ev


def _emit(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, t, k, tr, v):  # pragma: no cover
    ev_s[n_ev] = s
    ev_t[n_ev] = t
    ev_k[n_ev] = k
    ev_tr[n_ev] = tr
    ev_v[n_ev] = v
    return n_ev + 1


# Replaced by their compiled versions in _compiled(); kernels resolve them at compile time.
_emit_nb: Callable = _emit
_close_nb: Callable = _close_bucket
_twa_raise_nb: Callable = _close_bucket
_exposure_slow_nb: Callable = _close_bucket


def _exposure_kernel(start, need, sens, tt, vv, max_hold, twa_lim, stel_lim, hot, ring,
                     stel_active, excursions, last_exc, breaches, breach_active,
                     ev_s, ev_t, ev_k, ev_tr, ev_v):  # pragma: no cover - compiled
    n_ev = 0
    cap = ev_s.shape[0]
    for i in range(start, sens.shape[0]):
        if cap - n_ev < need:
            return i, n_ev
        s = sens[i]
        t = tt[i]
        v = vv[i]
        if v != v:
            continue
        lv = hot[s, 0]
        lt = hot[s, 1]
        hot[s, 0] = v
        hot[s, 1] = t
        if t > lt and t < (hot[s, 4] + 1.0) * 60.0:  # common case: inside the open bucket
            piece = lv * ((lt + min(t - lt, max_hold)) - lt)
            hot[s, 3] += piece
            dose = hot[s, 2] + piece
            hot[s, 2] = dose
            if dose > hot[s, 7] and hot[s, 5] == 0.0:
                n_ev = _twa_raise_nb(s, t, hot, ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev)
            continue
        n_ev = _exposure_slow_nb(s, t, lv, lt, max_hold, twa_lim, stel_lim, hot, ring,
                                 stel_active, excursions, last_exc, breaches, breach_active,
                                 ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev)
    return sens.shape[0], n_ev


def _twa_raise(s, t, hot, ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev):  # pragma: no cover
    hot[s, 5] = 1.0
    return _emit_nb(ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev, s, t, 7, 1, hot[s, 2] / SHIFT_S)


def _exposure_slow(s, t, lv, lt, max_hold, twa_lim, stel_lim, hot, ring, stel_active,
                   excursions, last_exc, breaches, breach_active,
                   ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev):  # pragma: no cover - compiled
    """Bucket boundaries, first reading, gaps: the general path of the reference."""
    if hot[s, 4] < 0.0:
        hot[s, 4] = math.floor(t / 60.0)
        return n_ev
    if lt == lt and t > lt:
        end = lt + min(t - lt, max_hold)
        a = lt
        while True:  # integrate lv over [a, end], closing crossed buckets
            bend = (hot[s, 4] + 1.0) * 60.0
            if end <= bend:
                piece = lv * (end - a)
                hot[s, 3] += piece
                hot[s, 2] += piece
                break
            piece = lv * (bend - a)
            hot[s, 3] += piece
            hot[s, 2] += piece
            a = bend
            n_ev = _close_nb(s, hot, ring, stel_lim, stel_active, excursions, last_exc,
                             breaches, breach_active, ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev)
        if hot[s, 2] > hot[s, 7] and hot[s, 5] == 0.0:
            n_ev = _twa_raise_nb(s, t, hot, ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev)
    b = math.floor(t / 60.0)
    closes = 0
    while hot[s, 4] < b:
        if closes < 16:
            n_ev = _close_nb(s, hot, ring, stel_lim, stel_active, excursions, last_exc,
                             breaches, breach_active, ev_s, ev_t, ev_k, ev_tr, ev_v, n_ev)
            closes += 1
        else:
            ring[s, :] = 0.0
            hot[s, 4] = b
    return n_ev


@cache
def _compiled() -> tuple[Callable, Callable]:
    import numba  # deferred: importing the engine must not pay numba's start-up

    global _emit_nb, _close_nb, _twa_raise_nb, _exposure_slow_nb
    # `_nrt=False`: no reference counting of the array arguments. The kernels allocate
    # nothing (every array is the caller's, alive for the whole call), and with counting each
    # call to a helper that takes ~12 arrays cost ~24 atomic increments and decrements:
    # ~200 ns a bucket boundary, which held the exposure kernel at ~70 M readings/CPU-s where
    # it runs ~230 M without (2026-11-29, docs/alarm-engine.md). numba refuses to compile
    # anything that would allocate under it, so an allocation added later fails loudly.
    opts = {"cache": True, "nogil": True, "_nrt": False}
    jit = numba.njit(**opts)
    _emit_nb = jit(_emit)
    limits = jit(_limits_kernel)
    _close_nb = jit(_close_bucket)
    _twa_raise_nb = jit(_twa_raise)
    _exposure_slow_nb = numba.njit(no_cpython_wrapper=True, **opts)(_exposure_slow)
    exposure = jit(_exposure_kernel)
    return limits, exposure


def warm_up() -> None:
    """Compile both kernels now (benchmarks call this so compile time is not measured)."""
    table = SensorTable.create(1, high=1.0, stel_limit=1.0, twa_limit=1.0)
    state = EngineState.create(1)
    s, t, v = np.zeros(2, np.uint32), np.array([0.0, 61.0]), np.array([0.5, 2.0])
    limits_fast(table, state, s, t, v)
    exposure_fast(table, state.exposure, s, t, v)


class _Buffers:
    def __init__(self, cap: int) -> None:
        self.cols = (np.empty(cap, np.uint32), np.empty(cap, np.float64), np.empty(cap, np.uint8),
                     np.empty(cap, np.uint8), np.empty(cap, np.float64))
        self.parts: list[tuple[np.ndarray, ...]] = []

    def keep(self, n: int) -> None:
        self.parts.append(tuple(c[:n].copy() for c in self.cols))

    def events(self) -> np.ndarray:
        cols = [np.concatenate([p[k] for p in self.parts]) for k in range(5)]
        return make_events(*cols)


def _run(call: Callable, n: int, per_reading: int) -> np.ndarray:
    """Call a resumable kernel until it has consumed every reading, growing the buffer."""
    bufs = _Buffers(max(4096, per_reading, min(n * per_reading, n // 8 + 4096)))
    start = 0
    while True:
        start, n_ev = call(start, bufs.cols)
        bufs.keep(n_ev)
        if start >= n:
            return bufs.events()


def _cast(sensor, time, value) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.ascontiguousarray(sensor, np.uint32), np.ascontiguousarray(time, np.float64),
            np.ascontiguousarray(value, np.float64))


def limits_fast(table: SensorTable, state: EngineState, sensor, time, value) -> np.ndarray:
    """Fast equivalent of `reference.limits_reference`."""
    kern = _compiled()[0]
    s, t, v = _cast(sensor, time, value)
    lim = table.limits_matrix()
    st = state
    pk = table.packed()
    if st.__dict__.get("_bound") is not pk:  # cache the quiet band beside the state
        st.hot[:, 4:7] = pk[:, :3]
        st.__dict__["_bound"] = pk

    def call(start: int, cols: tuple[np.ndarray, ...]) -> tuple[int, int]:
        return kern(start, s, t, v, lim, table.deadband, table.on_delay_s, table.off_delay_s,
                    _COND_CODES, st.active, st.on_since, st.off_since, st.hot, *cols)

    return _run(call, len(s), _MAX_EV_LIMITS)


def exposure_fast(table: SensorTable, ex: ExposureState, sensor, time, value, *,
                  max_hold_s: float = 300.0) -> np.ndarray:
    """Fast equivalent of `reference.exposure_reference`."""
    kern = _compiled()[1]
    s, t, v = _cast(sensor, time, value)

    # events one reading can cause: buckets crossed while integrating, gap closes, TWA, and
    # one STEL_BREACH (raised at most once a shift)
    need = int(max_hold_s // STEL_BUCKET_S) + 2 + _GAP_CLOSES + 2
    pk = table.packed()
    if ex.__dict__.get("_bound") is not pk:  # dose limit, same product as the reference's
        ex.hot[:, 7] = table.twa_limit * SHIFT_S
        ex.__dict__["_bound"] = pk

    def call(start: int, cols: tuple[np.ndarray, ...]) -> tuple[int, int]:
        return kern(start, need, s, t, v, float(max_hold_s), table.twa_limit, table.stel_limit,
                    ex.hot, ex.ring, ex.stel_active, ex.excursions, ex.last_excursion,
                    ex.breaches, ex.breach_active, *cols)

    return _run(call, len(s), need)


assert STEL_BUCKETS == 15 and STEL_BUCKET_S == 60.0  # the compiled code hard-codes both
