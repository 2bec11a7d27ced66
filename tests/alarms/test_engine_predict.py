"""Predictive methane warning: fires ahead of the threshold on a ramp, stays quiet on noise."""

from __future__ import annotations

import numpy as np

from qorgau.alarms.engine import evaluate_warnings, forecast_over_sensors, forecast_warnings
from qorgau.alarms.engine.predict import theil_sen


def test_theil_sen_ignores_a_spike() -> None:
    t = np.arange(20.0)
    v = 0.5 + 0.01 * t
    v[7] = 5.0
    slope, end = theil_sen(t, v)
    assert abs(slope - 0.01) < 1e-12 and abs(end - 0.69) < 1e-9


def test_warns_before_threshold_on_a_ramp() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(0, 3600.0, 1.0)
    v = 0.3 + np.clip(t - 600, 0, None) * (0.9 / 1800) + rng.normal(0, 0.01, len(t))
    w = forecast_warnings(t, v, threshold=1.0, horizon_s=600.0)
    ev = evaluate_warnings(t, v, w, threshold=1.0, horizon_s=600.0)
    assert ev.crossed_at > 1900  # the threshold-only alarm
    assert ev.lead_time_s >= 300  # warned at least 5 minutes earlier
    assert ev.false_episodes == 0


def test_no_warnings_on_stationary_noise() -> None:
    rng = np.random.default_rng(11)
    t = np.arange(0, 2 * 3600.0, 1.0)
    v = 0.4 + rng.normal(0, 0.03, len(t))
    w = forecast_warnings(t, v, threshold=1.0, horizon_s=600.0)
    ev = evaluate_warnings(t, v, w, threshold=1.0, horizon_s=600.0)
    assert len(w) == 0 and ev.false_per_hour == 0 and np.isnan(ev.crossed_at)


def test_over_sensors_groups_by_sensor() -> None:
    t = np.arange(0, 600.0, 1.0)
    ramp, flat = 0.5 + t * 0.001, np.full(len(t), 0.5)
    sensor = np.repeat([3, 8], len(t))
    w = forecast_over_sensors(sensor, np.tile(t, 2), np.concatenate([ramp, flat]),
                              horizon_s=600.0)
    assert len(w) and set(w["sensor"].tolist()) == {3}
    assert np.all(np.diff(w["time"]) >= 0)
