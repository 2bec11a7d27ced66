"""Data shapes of the alarm engine: condition codes, the event array, sensor config, state.

Time is float64 seconds (Unix epoch or any monotonic origin, but one origin per engine).
Sensors are dense indices 0..n-1 into a `SensorTable`; mapping device ids to indices is the
caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


class Kind(IntEnum):
    """Condition kind carried by every event."""

    HI = 1
    HIHI = 2
    LO = 3
    LOLO = 4
    ROR = 5
    STALE = 6
    TWA = 7
    STEL = 8
    COMBO = 9
    FALL = 10
    SOS = 11
    NO_MOTION = 12
    STEL_BREACH = 13  # STEL rule broken: 5th+ excursion of the shift or < 60 min apart


class Transition(IntEnum):
    CLEAR = 0
    RAISE = 1


EVENT_DTYPE = np.dtype(
    [
        ("sensor", np.uint32),
        ("time", np.float64),
        ("kind", np.uint8),
        ("transition", np.uint8),
        ("value", np.float64),
    ]
)

# Column order of the per-sensor limit conditions (index c in EngineState.on_since[:, c]).
# The order also fixes the order of events emitted for one reading.
COND_KINDS: tuple[Kind, ...] = (Kind.LOLO, Kind.LO, Kind.HI, Kind.HIHI, Kind.ROR)
N_COND = len(COND_KINDS)
STEL_BUCKET_S = 60.0  # STEL is a rolling window of whole one-minute buckets
STEL_BUCKETS = 15
SHIFT_S = 8 * 3600.0


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


@dataclass
class SensorTable:
    """Per-sensor configuration as parallel arrays (length n). NaN disables a limit."""

    high: np.ndarray
    highhigh: np.ndarray
    low: np.ndarray
    lowlow: np.ndarray
    deadband: np.ndarray
    on_delay_s: np.ndarray
    off_delay_s: np.ndarray
    ror_per_min: np.ndarray
    stale_s: np.ndarray
    priority: np.ndarray
    life_safety: np.ndarray
    twa_limit: np.ndarray
    stel_limit: np.ndarray

    @classmethod
    def create(cls, n: int, **values: object) -> SensorTable:
        """Table for n sensors, every limit unused; keyword values broadcast to length n."""
        base: dict[str, np.ndarray] = {
            "high": _nan(n), "highhigh": _nan(n), "low": _nan(n), "lowlow": _nan(n),
            "deadband": np.zeros(n), "on_delay_s": np.zeros(n), "off_delay_s": np.zeros(n),
            "ror_per_min": _nan(n), "stale_s": _nan(n), "priority": np.full(n, 3, np.int8),
            "life_safety": np.zeros(n, np.bool_), "twa_limit": _nan(n), "stel_limit": _nan(n),
        }
        for name, value in values.items():
            if name not in base:
                raise TypeError(f"unknown sensor field {name!r}")
            base[name] = np.broadcast_to(np.asarray(value, base[name].dtype), (n,)).copy()
        return cls(**base)

    def __len__(self) -> int:
        return len(self.high)

    def quiet_band(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) open interval inside which no limit condition can start."""
        hi = np.fmin(self.high, self.highhigh)
        lo = np.fmax(self.low, self.lowlow)
        return np.nan_to_num(lo, nan=-np.inf), np.nan_to_num(hi, nan=np.inf)

    def packed(self) -> np.ndarray:
        """(n, 4) [quiet lo, quiet hi, ror limit, 0] for the kernel; cached, see `changed`."""
        cached = self.__dict__.get("_packed")
        if cached is None:
            lo, hi = self.quiet_band()
            cached = np.ascontiguousarray(
                np.stack([lo, hi, self.ror_per_min, np.zeros(len(self))], axis=1))
            self.__dict__["_packed"] = cached
        return cached

    def changed(self) -> None:
        """Call after editing the arrays in place so the kernel's packed copy is rebuilt."""
        self.__dict__.pop("_packed", None)
        self.__dict__.pop("_limits", None)

    def limits_matrix(self) -> np.ndarray:
        """(n, N_COND) limits in COND_KINDS order; ROR column holds the rate limit per minute."""
        cached = self.__dict__.get("_limits")
        if cached is None:
            cached = np.ascontiguousarray(np.stack(
                [self.lowlow, self.low, self.high, self.highhigh, self.ror_per_min], axis=1))
            self.__dict__["_limits"] = cached
        return cached


def _rows(n: int) -> np.ndarray:
    """(n, 8) float64 zeros whose rows start on 64-byte boundaries: one cache line each."""
    raw = np.zeros(n * 8 + 8)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip:skip + n * 8].reshape(n, 8)


def _col(name: str, col: int, doc: str) -> property:
    def get(self) -> np.ndarray:
        return self.hot[:, col]

    return property(get, doc=doc)


@dataclass
class EngineState:
    """Mutable per-sensor limit state. NaN times mean 'not pending' / 'never seen'.

    The fields every reading touches live in one row of `hot` (one cache line per sensor);
    `last_value`, `last_time`, `busy` and `stale` are writable column views of it. Columns
    4–6 cache the table's quiet band and rate limit next to them (filled by the fast kernel);
    column 7, `heard`, is when the sensor was last heard by any reading (`AlarmEngine.heard`).
    """

    active: np.ndarray  # (n, N_COND) bool: limit/ROR condition raised
    on_since: np.ndarray  # (n, N_COND) start of on-delay, NaN if not pending
    off_since: np.ndarray  # (n, N_COND) start of off-delay, NaN if not pending
    hot: np.ndarray  # (n, 8): last_value, last_time, busy, stale, quiet lo, quiet hi, ror, heard
    exposure: ExposureState = field(repr=False)

    last_value = _col("last_value", 0, "last accepted reading")
    last_time = _col("last_time", 1, "time of the last reading (or engine start)")
    busy = _col("busy", 2, "1.0 if any condition is active or pending (fast-path guard)")
    stale = _col("stale", 3, "1.0 while the STALE alarm is raised")
    heard = _col("heard", 7, "time the sensor was last heard (`AlarmEngine.heard`: any reading, "
                 "also one without a value), NaN if never; kept apart from `last_time`, "
                 "which the rate of rise measures between values")

    @classmethod
    def create(cls, n: int, *, now: float = np.nan) -> EngineState:
        """Fresh state; pass `now` so never-heard sensors go stale `stale_s` after start."""
        hot = _rows(n)
        hot[:, 0], hot[:, 1], hot[:, 7] = np.nan, now, np.nan
        return cls(
            active=np.zeros((n, N_COND), np.bool_),
            on_since=np.full((n, N_COND), np.nan),
            off_since=np.full((n, N_COND), np.nan),
            hot=hot,
            exposure=ExposureState.create(n, shift_start=now),
        )

    def copy(self) -> EngineState:
        hot = _rows(len(self.hot))
        hot[:] = self.hot
        return EngineState(self.active.copy(), self.on_since.copy(), self.off_since.copy(),
                           hot, self.exposure.copy())


@dataclass
class ExposureState:
    """TWA / STEL accumulators per sensor (own last value: zero-order-hold integral).

    Per-reading fields are columns of `hot` (one cache line per sensor); column 7 caches the
    table's TWA limit × 8 h (filled by the fast kernel).
    """

    hot: np.ndarray  # (n, 8) float64, columns below
    ring: np.ndarray  # (n, STEL_BUCKETS) ∫ c dt per closed bucket, slot = bucket % 15
    stel_active: np.ndarray
    excursions: np.ndarray  # STEL excursions started this shift
    last_excursion: np.ndarray  # start time of the previous excursion
    breaches: np.ndarray  # excursions beyond 4 per shift or closer than 60 min
    breach_active: np.ndarray  # STEL_BREACH raised this shift (cleared by reset_shift)

    last_value = _col("last_value", 0, "last reading")
    last_time = _col("last_time", 1, "time of the last reading")
    dose = _col("dose", 2, "∫ c dt since shift start (unit·s; see AlarmEngine.reset_shift)")
    open_dose = _col("open_dose", 3, "∫ c dt inside the current, still open bucket")
    bucket = _col("bucket", 4, "index of the current one-minute bucket, -1 = none")
    twa_active = _col("twa_active", 5, "1.0 while the TWA alarm is raised")
    shift_start = _col("shift_start", 6, "start of the current shift")

    @classmethod
    def create(cls, n: int, *, shift_start: float = np.nan) -> ExposureState:
        hot = _rows(n)
        hot[:, 0], hot[:, 1], hot[:, 4], hot[:, 6] = np.nan, np.nan, -1.0, shift_start
        return cls(hot=hot, ring=np.zeros((n, STEL_BUCKETS)), stel_active=np.zeros(n, np.bool_),
                   excursions=np.zeros(n, np.int32), last_excursion=_nan(n),
                   breaches=np.zeros(n, np.int32), breach_active=np.zeros(n, np.bool_))

    def copy(self) -> ExposureState:
        hot = _rows(len(self.hot))
        hot[:] = self.hot
        rest = {k: v.copy() for k, v in vars(self).items() if k in EXPOSURE_ARRAYS}
        return ExposureState(hot=hot, **rest)


EXPOSURE_ARRAYS = ("ring", "stel_active", "excursions", "last_excursion", "breaches",
                   "breach_active")


def make_events(sensor, time, kind, transition, value) -> np.ndarray:
    """Assemble columns into an EVENT_DTYPE array in canonical order (time, sensor, emission)."""
    out = np.empty(len(sensor), EVENT_DTYPE)
    out["sensor"], out["time"], out["kind"] = sensor, time, kind
    out["transition"], out["value"] = transition, value
    return canonical(out)


# Rank of each kind among one sensor's events at one instant: a reading's own order (STALE
# clear, then COND_KINDS), then exposure, combination and device events. Ranking by kind, not
# by emission, makes the order independent of which kernel emitted first and of batching: a
# STEL event is stamped at its bucket's end, which a reading in the next batch may share.
KIND_RANK = np.zeros(256, np.uint8)
for _rank, _kind in enumerate((Kind.STALE, *COND_KINDS, Kind.TWA, Kind.STEL, Kind.STEL_BREACH,
                               Kind.COMBO, Kind.FALL, Kind.SOS, Kind.NO_MOTION)):
    KIND_RANK[_kind] = _rank


def canonical(events: np.ndarray) -> np.ndarray:
    """Stable sort by (time, sensor, kind rank). One (sensor, kind) has its events in emission
    order, which every kernel and every batching gives alike (a raise, then its clear)."""
    return events[np.lexsort((KIND_RANK[events["kind"]], events["sensor"], events["time"]))]
