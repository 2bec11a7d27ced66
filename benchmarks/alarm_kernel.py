"""Alarm kernel throughput: fast numba kernels beside the per-reading Python reference loop.

Scenario: one region's worth of methane sensors (50,000, one reading per second, batches of
100 s = 5 M readings, sensor order shuffled every second), mine defaults (CH4 1.0 / 1.5 %,
deadband 0.05, on-delay 5 s, off-delay 10 s, rate of rise 10 %/min), background 0.3 % ± 0.02
with 1 % of the sensors ramping through both limits. Compile time is excluded (warm-up first).
Throughput is readings per CPU-second of this thread (time.thread_time), so that other work on
a shared machine does not count against the kernel; wall-clock rates are printed beside it.
Run: .venv/bin/python benchmarks/alarm_kernel.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks._common import report  # noqa: E402

from qorgau.alarms.engine import (  # noqa: E402
    EngineState,
    SensorTable,
    exposure_fast,
    exposure_reference,
    limits_fast,
    limits_reference,
    warm_up,
)

N_SENSORS, SECONDS, RUNS, REF_READINGS = 50_000, 100, 5, 100_000


def table() -> SensorTable:
    return SensorTable.create(N_SENSORS, high=1.0, highhigh=1.5, deadband=0.05, on_delay_s=5.0,
                              off_delay_s=10.0, ror_per_min=10.0, stale_s=60.0,
                              twa_limit=0.5, stel_limit=1.0)


def batch(k: int, rng: np.random.Generator, hot: np.ndarray, run: int) -> tuple[np.ndarray, ...]:
    """Seconds [k·100, (k+1)·100), every sensor once a second. Readings arrive as messages of
    `run` consecutive seconds of one sensor, messages in a fresh random order per window
    (run=1: fully shuffled every second; run=10: a device batching 10 s per message; run=100:
    each sensor's readings contiguous in the batch)."""
    sensor, sec = [], []
    for w in range(SECONDS // run):
        perm = rng.permutation(N_SENSORS)
        sensor.append(np.repeat(perm, run))
        sec.append(k * SECONDS + w * run + np.tile(np.arange(run, dtype=np.float64), N_SENSORS))
    s = np.concatenate(sensor).astype(np.uint32)
    t = np.concatenate(sec) + (s % 1000) / 1000.0
    v = 0.3 + rng.normal(0.0, 0.02, len(s))
    ramp = hot[s]
    v[ramp] += (t[ramp] % 400.0) / 200.0  # 0.3 → 2.3 % and back every 400 s
    return s, t, v


WALL: list[float] = []


def timed(fn, *args, **kw) -> float:
    """CPU seconds of this thread spent in fn (wall seconds are kept in WALL)."""
    w0, c0 = time.perf_counter(), time.thread_time()
    fn(*args, **kw)
    WALL.append(len(args[2]) / (time.perf_counter() - w0) / 1e6)
    return time.thread_time() - c0


def measure(tab: SensorTable, hot: np.ndarray, run: int) -> tuple[list[float], list[float]]:
    """Fast kernels over RUNS steady-state batches (after one warm batch): readings/CPU-s."""
    rng = np.random.default_rng(2025)
    state = EngineState.create(N_SENSORS, now=0.0)
    lim, exp = [], []
    for k in range(RUNS + 1):
        s, t, v = batch(k, rng, hot, run)
        dl = timed(limits_fast, tab, state, s, t, v)
        de = timed(exposure_fast, tab, state.exposure, s, t, v)
        if k:  # batch 0 fills state from nothing; measure the steady state after it
            lim.append(len(s) / dl)
            exp.append(len(s) / de)
    return lim, exp


def reference_rates(tab: SensorTable, hot: np.ndarray) -> tuple[float, float]:
    s, t, v = (a[:REF_READINGS] for a in batch(0, np.random.default_rng(2025), hot, 1))
    state = EngineState.create(N_SENSORS, now=0.0)
    ref_lim = REF_READINGS / timed(limits_reference, tab, state, s, t, v)
    ref_exp = REF_READINGS / timed(exposure_reference, tab, state.exposure, s, t, v)
    return ref_lim, ref_exp


def main() -> None:
    tab = table()
    hot = np.zeros(N_SENSORS, np.bool_)
    hot[np.random.default_rng(1).choice(N_SENSORS, N_SENSORS // 100, replace=False)] = True
    warm_up()
    ref_lim, ref_exp = reference_rates(tab, hot)
    base = "M readings/CPU-s (Python reference loop)"
    scenarios = ((1, "shuffled every second"), (10, "10-s device messages"),
                 (SECONDS, "100-s device messages"))
    for run, label in scenarios:
        lim, exp = measure(tab, hot, run)
        print(f"[{label}] limits M/CPU-s: {[round(r / 1e6, 1) for r in lim]}; "
              f"TWA/STEL M/CPU-s: {[round(r / 1e6, 1) for r in exp]}")
        report(f"alarm_limits_throughput, {label} (median of {RUNS})",
               statistics.median(lim) / 1e6, "M readings/CPU-s", ref_lim / 1e6, base)
        report(f"alarm_twa_stel_throughput, {label} (median of {RUNS})",
               statistics.median(exp) / 1e6, "M readings/CPU-s", ref_exp / 1e6, base)
    print(f"wall-clock M readings/s, every timed call: {[round(r, 2) for r in WALL]}")


if __name__ == "__main__":
    main()
