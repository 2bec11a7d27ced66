"""`AlarmEngine`: one object that owns a sensor table and its state and turns batches of
readings, timer ticks and wearable device events into condition events.

Pure: no I/O, no clock. The caller passes every time (float64 seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import kernel, reference
from .types import (
    EVENT_DTYPE,
    EXPOSURE_ARRAYS,
    SHIFT_S,
    EngineState,
    Kind,
    SensorTable,
    Transition,
    canonical,
    make_events,
)


class DeviceCode(IntEnum):
    """Discrete wearable events. The device runs its own cancel window (fall ~30 s,
    no-motion pre-alarm ~30 s) and sends the confirmed event; RESET clears all three."""

    FALL = 1
    SOS = 2
    NO_MOTION = 3
    RESET = 9


_DEVICE_KIND = {DeviceCode.FALL: Kind.FALL, DeviceCode.SOS: Kind.SOS,
                DeviceCode.NO_MOTION: Kind.NO_MOTION}
_OPS = {">=": np.greater_equal, "<=": np.less_equal, "==": np.equal, ">": np.greater,
        "<": np.less}


@dataclass(frozen=True)
class ComboRule:
    """Raise COMBO on `sensor` while `sensor <op> threshold` AND `other <other_op> other_value`,
    both taken as the latest reading of each sensor (e.g. CH4 ≥ 1 % while fan state == 0)."""

    sensor: int
    op: str
    threshold: float
    other: int
    other_op: str
    other_value: float
    life_safety: bool = True

    def holds(self, a: float, b: float) -> bool:
        return bool(_OPS[self.op](a, self.threshold) and _OPS[self.other_op](b, self.other_value))


def methane_fan_rule(ch4_sensor: int, fan_sensor: int, *, ch4_pct: float = 1.0) -> ComboRule:
    """CH4 ≥ ch4_pct % while the ventilation fan reports 0 (off): life-safety COMBO."""
    return ComboRule(ch4_sensor, ">=", ch4_pct, fan_sensor, "==", 0.0)


@dataclass
class Snapshot:
    rows: np.ndarray | slice  # slice(None): every sensor
    saved: list[np.ndarray]  # copies
    rule_values: np.ndarray
    rule_active: np.ndarray


class AlarmEngine:
    """Limits + deadband + delays + rate of rise + stale + TWA/STEL + combos + device events.

    `fast=False` runs the per-reading Python reference loops instead of the numba kernels;
    both give identical events.
    """

    def __init__(self, table: SensorTable, *, state: EngineState | None = None,
                 rules: tuple[ComboRule, ...] = (), now: float = np.nan, fast: bool = True,
                 exposure: bool = True, max_hold_s: float = 300.0) -> None:
        self.table = table
        self.state = state if state is not None else EngineState.create(len(table), now=now)
        self.rules = tuple(rules)
        self.rule_values = np.full((len(self.rules), 2), np.nan)  # latest (sensor, other)
        self.rule_active = np.zeros(len(self.rules), np.bool_)
        self.device_active = np.zeros((len(table), 3), np.bool_)
        self.fast, self.exposure, self.max_hold_s = fast, exposure, max_hold_s

    def process(self, sensor: np.ndarray, time: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Consume one batch (time-sorted within each sensor) and return its events."""
        if self.fast:
            parts = [kernel.limits_fast(self.table, self.state, sensor, time, value)]
            if self.exposure:
                parts.append(kernel.exposure_fast(self.table, self.state.exposure, sensor, time,
                                                  value, max_hold_s=self.max_hold_s))
        else:
            parts = [reference.limits_reference(self.table, self.state, sensor, time, value)]
            if self.exposure:
                parts.append(reference.exposure_reference(
                    self.table, self.state.exposure, sensor, time, value,
                    max_hold_s=self.max_hold_s))
        if self.rules:
            parts.append(self._combos(sensor, time, value))
        return canonical(np.concatenate(parts))

    def seed_exposure(self, sensor: np.ndarray, time: np.ndarray, value: np.ndarray) -> None:
        """Rebuild the dose and the STEL window from readings this engine did not see (a
        restart, a rebuild; time-sorted within each sensor), integrated exactly as `process`
        does, but raising and clearing nothing: the TWA/STEL/STEL_BREACH flags, the STEL
        excursion counts and the events stay as they were (the caller restores the flags from
        its records)."""
        ex = self.state.exposure
        keep = (ex.twa_active.copy(), ex.stel_active.copy(), ex.excursions.copy(),
                ex.last_excursion.copy(), ex.breaches.copy(), ex.breach_active.copy())
        run = kernel.exposure_fast if self.fast else reference.exposure_reference
        run(self.table, ex, np.asarray(sensor, np.uint32), np.asarray(time, np.float64),
            np.asarray(value, np.float64), max_hold_s=self.max_hold_s)
        (ex.twa_active[:], ex.stel_active[:], ex.excursions[:], ex.last_excursion[:],
         ex.breaches[:], ex.breach_active[:]) = keep

    def seed_excursions(self, sensor: np.ndarray, time: np.ndarray) -> None:
        """Count STEL excursions of the current shift this engine did not see (a restart, a
        rebuild) by their start times (time-sorted within each sensor), with the kernels'
        rule: each adds an excursion, and a breach when it is the fifth or later of the shift
        or starts less than 60 min after the previous. Raises and clears nothing, but a breach
        sets the STEL_BREACH flag: its occurrence, raised live at that breach, stays active
        until the shift start, so the reset clears it and a later breach raises no second."""
        ex = self.state.exposure
        for s, t in zip(np.asarray(sensor).tolist(), np.asarray(time).tolist(), strict=True):
            ex.excursions[s] += 1
            last = float(ex.last_excursion[s])
            if ex.excursions[s] > 4 or t - last < 3600.0:  # NaN: no previous one
                ex.breaches[s] += 1
                ex.breach_active[s] = True
            ex.last_excursion[s] = t

    def snapshot(self, sensors: np.ndarray) -> Snapshot:
        """What processing readings of `sensors` can change, to put back with `restore`: their
        rows of every per-sensor array, and the rules' state. (A copy of the whole engine took
        ~2 ms per batch on a site of 50,000 sensors.) The rows come from a mask, not
        `np.unique` (a sort: 5 % of a bulk group's time); when they are most of the sensors
        (a bulk group) the arrays are copied whole, cheaper than fancy indexing."""
        n = len(self.device_active)
        seen = np.zeros(n, bool)
        seen[np.asarray(sensors, np.int64)] = True
        rows = np.flatnonzero(seen)
        if 2 * len(rows) >= n:
            rows = slice(None)
        per = self._per_sensor()
        saved = [a.copy() for a in per] if isinstance(rows, slice) else [a[rows] for a in per]
        return Snapshot(rows, saved, self.rule_values.copy(),
                        self.rule_active.copy())

    def restore(self, snap: Snapshot) -> None:
        for a, saved in zip(self._per_sensor(), snap.saved, strict=True):
            a[snap.rows] = saved
        self.rule_values[:], self.rule_active[:] = snap.rule_values, snap.rule_active

    def _per_sensor(self) -> list[np.ndarray]:
        """State arrays (views) indexed by sensor; the kernels' cached copies of the table
        (`hot` columns 4–6 and the exposure's 7) are left out: a snapshot taken before the
        first batch holds them unfilled, and restoring that would stick."""
        st, ex = self.state, self.state.exposure
        return [st.active, st.on_since, st.off_since, st.hot[:, :4], st.hot[:, 7:], ex.hot[:, :7],
                *(getattr(ex, k) for k in EXPOSURE_ARRAYS), self.device_active]

    def tick(self, now: float) -> np.ndarray:
        """Timer: raise STALE for every sensor silent for ≥ stale_s (at time `now`): neither a
        value (`process`) nor any other reading (`heard`) since."""
        st, lim = self.state, self.table.stale_s
        last = np.fmax(st.last_time, st.heard)  # NaN only if both are
        silent = (st.stale == 0.0) & (now - last >= lim)  # NaN limit/time → False
        idx = np.flatnonzero(silent)
        st.stale[idx] = 1.0
        n = len(idx)
        return make_events(idx.astype(np.uint32), np.full(n, now), np.full(n, Kind.STALE),
                           np.full(n, Transition.RAISE), st.last_value[idx])

    def heard(self, sensor: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Sensors heard at `time` (time-sorted within each sensor) by readings of any kind, a
        wearable's zone or event as much as a value: the stale timer counts from the latest,
        and an active STALE clears at the first (its event carries no value). Evaluates
        nothing else; call it before `process` with the same readings so a clear is stamped
        with the first of them."""
        s, t = np.asarray(sensor, np.int64), np.asarray(time, np.float64)
        st = self.state
        if not len(s):
            return np.empty(0, EVENT_DTYPE)
        was = st.stale[s] != 0.0
        back, first = np.unique(s[was], return_index=True)  # first reading of each
        at = t[was][first]
        np.fmax.at(st.heard, s, t)  # the heard column is a strided view: updated in place
        st.stale[back] = 0.0
        n = len(back)
        return make_events(back.astype(np.uint32), at, np.full(n, Kind.STALE),
                           np.full(n, Transition.CLEAR), np.full(n, np.nan))

    def device_events(self, sensor: np.ndarray, time: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Wearable events → FALL/SOS/NO_MOTION raise (once until RESET), RESET → clears."""
        rows: list[tuple[int, float, int, int, float]] = []
        for s, t, c in zip(np.asarray(sensor).tolist(), np.asarray(time).tolist(),
                           np.asarray(code).tolist(), strict=True):
            if c == DeviceCode.RESET:
                for j, kind in enumerate(_DEVICE_KIND.values()):
                    if self.device_active[s, j]:
                        self.device_active[s, j] = False
                        rows.append((s, t, kind, Transition.CLEAR, float(c)))
                continue
            j = list(_DEVICE_KIND).index(DeviceCode(c))
            if not self.device_active[s, j]:
                self.device_active[s, j] = True
                rows.append((s, t, _DEVICE_KIND[DeviceCode(c)], Transition.RAISE, float(c)))
        return _rows(rows)

    def reset_shift(self, now: float, sensors: np.ndarray | None = None) -> np.ndarray:
        """Start a new shift at `now` (the shift's start): a raised TWA and a raised
        STEL_BREACH clear, stamped `now` (the new shift's dose starts at zero; the breach's
        value is the ending shift's excursion count), the dose and the STEL excursion and
        breach counts restart. The STEL window itself runs on: a 15-min mean is physical, not per
        shift, so a STEL raised at the boundary clears when the mean falls.

        A reading before `now` whose held value reaches past it is integrated only when the
        next reading comes; the dose starts at minus that part, so the new shift's dose is
        exactly ∫ c dt from `now` (it may read negative until the next reading)."""
        ex = self.state.exposure
        idx = np.arange(len(self.table)) if sensors is None else np.asarray(sensors, np.int64)
        twa = idx[ex.twa_active[idx] != 0.0]
        breach = idx[ex.breach_active[idx]]
        was = np.r_[twa, breach]
        ev = make_events(was.astype(np.uint32), np.full(len(was), now),
                         np.r_[np.full(len(twa), Kind.TWA), np.full(len(breach), Kind.STEL_BREACH)],
                         np.full(len(was), Transition.CLEAR),
                         np.r_[ex.dose[twa] / SHIFT_S, ex.excursions[breach].astype(np.float64)])
        lt = ex.last_time[idx]
        held = np.clip(np.fmin(lt + self.max_hold_s, now) - lt, 0.0, None)  # NaN: none held
        ex.dose[idx] = -np.nan_to_num(ex.last_value[idx] * held)
        ex.twa_active[idx], ex.shift_start[idx] = 0.0, now
        ex.excursions[idx], ex.breaches[idx], ex.last_excursion[idx] = 0, 0, np.nan
        ex.breach_active[idx] = False
        return ev

    def _combos(self, sensor: np.ndarray, time: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Evaluate each rule at every reading of its sensors, in order (exact across batches)."""
        involved = np.unique([[r.sensor, r.other] for r in self.rules])
        pick = np.flatnonzero(np.isin(sensor, involved) & ~np.isnan(value))
        pick = pick[np.argsort(np.asarray(time)[pick], kind="stable")]
        rows: list[tuple[int, float, int, int, float]] = []
        for i in pick.tolist():
            s, t, v = int(sensor[i]), float(time[i]), float(value[i])
            for k, rule in enumerate(self.rules):
                if s not in (rule.sensor, rule.other):
                    continue
                self.rule_values[k, 0 if s == rule.sensor else 1] = v
                holds = rule.holds(*self.rule_values[k])
                if holds != self.rule_active[k]:
                    self.rule_active[k] = holds
                    rows.append((rule.sensor, t, Kind.COMBO, int(holds), self.rule_values[k, 0]))
        return _rows(rows)


def _rows(rows: list[tuple[int, float, int, int, float]]) -> np.ndarray:
    if not rows:
        return np.empty(0, EVENT_DTYPE)
    return make_events(*(np.asarray(c) for c in zip(*rows, strict=True)))
