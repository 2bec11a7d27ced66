"""Short-horizon methane forecast: robust Theil–Sen trend on a sliding window.

Every `step_s` the last `window_s` of a sensor's readings are fitted with the Theil–Sen
estimator (median of pairwise slopes: one noisy or spiky sample cannot tilt it). A warning
"predicted to reach `threshold` within `horizon_s`" is issued when the fitted value at the
window end is below the threshold, the slope is positive, and the crossing time falls within
the horizon. `evaluate_warnings` measures lead time against a threshold-only alarm and the
false-warning rate, for the simulator's honest comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WARNING_DTYPE = np.dtype([("sensor", np.uint32), ("time", np.float64), ("eta_s", np.float64),
                          ("fitted", np.float64), ("slope_per_min", np.float64)])


def theil_sen(t: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """(slope, value at t[-1]) of the Theil–Sen line through the points."""
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    ok = dt > 0
    if not ok.any():
        return math.nan, math.nan
    slope = float(np.median((v[j] - v[i])[ok] / dt[ok]))
    intercept = float(np.median(v - slope * (t - t[-1])))
    return slope, intercept


def forecast_warnings(time: np.ndarray, value: np.ndarray, *, threshold: float = 1.0,
                      horizon_s: float = 600.0, window_s: float = 180.0, step_s: float = 10.0,
                      min_points: int = 12, sensor: int = 0) -> np.ndarray:
    """Warnings (WARNING_DTYPE) for one sensor's time-sorted stream."""
    time, value = np.asarray(time, np.float64), np.asarray(value, np.float64)
    rows: list[tuple[int, float, float, float, float]] = []
    next_eval = -math.inf
    lo = 0
    for k in range(len(time)):
        t = time[k]
        if t < next_eval:
            continue
        next_eval = t + step_s
        while time[lo] < t - window_s:
            lo += 1
        if k + 1 - lo < min_points:
            continue
        slope, fitted = theil_sen(time[lo:k + 1], value[lo:k + 1])
        if not slope > 0 or fitted >= threshold:
            continue
        eta = (threshold - fitted) / slope
        if eta <= horizon_s:
            rows.append((sensor, t, eta, fitted, slope * 60.0))
    return np.array(rows, WARNING_DTYPE)


def forecast_over_sensors(sensor: np.ndarray, time: np.ndarray, value: np.ndarray,
                          **options: float) -> np.ndarray:
    """`forecast_warnings` for every sensor of a batch (time-sorted within each sensor)."""
    sensor = np.asarray(sensor)
    order = np.argsort(sensor, kind="stable")
    bounds = np.flatnonzero(np.diff(sensor[order])) + 1
    parts = [forecast_warnings(np.asarray(time)[g], np.asarray(value)[g],
                               sensor=int(sensor[g[0]]), **options)
             for g in np.split(order, bounds) if len(g)]
    out = np.concatenate(parts) if parts else np.empty(0, WARNING_DTYPE)
    return out[np.lexsort((out["sensor"], out["time"]))]


@dataclass(frozen=True)
class WarningEvaluation:
    crossed_at: float  # first reading ≥ threshold (a threshold-only alarm); NaN if never
    first_warning_at: float  # first warning of the episode that led to the crossing
    lead_time_s: float  # crossed_at - first_warning_at; NaN if no crossing or no warning
    warning_episodes: int  # runs of warnings separated by more than `gap_s`
    false_episodes: int  # episodes not followed by a crossing within the horizon
    hours: float

    @property
    def false_per_hour(self) -> float:
        return self.false_episodes / self.hours if self.hours > 0 else math.nan


def evaluate_warnings(time: np.ndarray, value: np.ndarray, warnings: np.ndarray, *,
                      threshold: float = 1.0, horizon_s: float = 600.0,
                      gap_s: float = 60.0) -> WarningEvaluation:
    """Compare warnings with the threshold-only alarm on one sensor's stream."""
    time, value = np.asarray(time, np.float64), np.asarray(value, np.float64)
    above = np.flatnonzero(value >= threshold)
    crossed = float(time[above[0]]) if len(above) else math.nan
    wt = np.sort(warnings["time"])
    starts = wt[np.r_[True, np.diff(wt) > gap_s]] if len(wt) else wt
    ends = wt[np.r_[np.diff(wt) > gap_s, True]] if len(wt) else wt
    true_ep = (ends + horizon_s >= crossed) & (starts <= crossed) if len(above) else starts < 0
    false = int(len(starts) - np.count_nonzero(true_ep))
    first = float(starts[true_ep][0]) if np.any(true_ep) else math.nan
    hours = float(time[-1] - time[0]) / 3600.0 if len(time) > 1 else 0.0
    return WarningEvaluation(crossed, first, crossed - first, len(starts), false, hours)
