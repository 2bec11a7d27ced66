"""Hand-computed cases: deadband, delays, rate of rise, TWA, STEL, stale, combos, devices."""

from __future__ import annotations

import numpy as np
import pytest

from qorgau.alarms.engine import (
    THRESHOLDS,
    AlarmEngine,
    DeviceCode,
    Kind,
    SensorTable,
    methane_fan_rule,
    table_for,
)


def feed(engine: AlarmEngine, sensor, time, value) -> list[tuple[int, float, str, int, float]]:
    ev = engine.process(np.asarray(sensor, np.uint32), np.asarray(time, float),
                        np.asarray(value, float))
    return [(int(e["sensor"]), float(e["time"]), Kind(e["kind"]).name, int(e["transition"]),
             float(e["value"])) for e in ev]


@pytest.fixture(params=[True, False], ids=["fast", "reference"])
def fast(request) -> bool:
    return request.param


def one(table: SensorTable, fast: bool, times, values):
    return feed(AlarmEngine(table, fast=fast, exposure=False), [0] * len(times), times, values)


def test_deadband_clears_only_past_limit_minus_deadband(fast: bool) -> None:
    table = SensorTable.create(1, high=1.0, deadband=0.1)
    ev = one(table, fast, [0, 1, 2, 3, 4], [0.5, 1.0, 0.95, 0.9, 0.89])
    assert ev == [(0, 1.0, "HI", 1, 1.0), (0, 4.0, "HI", 0, 0.89)]


def test_on_delay_needs_the_condition_to_persist(fast: bool) -> None:
    table = SensorTable.create(1, high=1.0, on_delay_s=5.0)
    # a dip at t=3 restarts the delay from t=4; raise once 5 s have passed (t=9)
    ev = one(table, fast, [0, 2, 3, 4, 6, 8, 9], [1.2, 1.2, 0.9, 1.1, 1.1, 1.1, 1.1])
    assert ev == [(0, 9.0, "HI", 1, 1.1)]


def test_off_delay_needs_the_clear_to_persist(fast: bool) -> None:
    table = SensorTable.create(1, high=1.0, off_delay_s=10.0)
    ev = one(table, fast, [0, 5, 7, 9, 15, 19], [1.5, 0.5, 1.2, 0.5, 0.5, 0.5])
    assert ev == [(0, 0.0, "HI", 1, 1.5), (0, 19.0, "HI", 0, 0.5)]


def test_highhigh_and_low_limits(fast: bool) -> None:
    table = SensorTable.create(1, high=1.0, highhigh=1.5, low=0.5, lowlow=0.2)
    ev = one(table, fast, [0, 1, 2, 3], [1.6, 0.7, 0.1, 0.7])
    assert [(t, k, tr) for _, t, k, tr, _ in ev] == [
        (0.0, "HI", 1), (0.0, "HIHI", 1), (1.0, "HI", 0), (1.0, "HIHI", 0),
        (2.0, "LOLO", 1), (2.0, "LO", 1), (3.0, "LOLO", 0), (3.0, "LO", 0)]


def test_rate_of_rise_per_minute(fast: bool) -> None:
    table = SensorTable.create(1, ror_per_min=1.0)
    ev = one(table, fast, [0, 6, 12, 18], [0.1, 0.2, 0.25, 0.26])  # 1.0, 0.5, 0.1 %/min
    assert ev == [(0, 6.0, "ROR", 1, 0.2), (0, 12.0, "ROR", 0, 0.25)]


def test_twa_raises_once_the_shift_dose_exceeds_the_limit(fast: bool) -> None:
    table = SensorTable.create(1, twa_limit=50.0)  # CO 50 ppm 8-h TWA
    engine = AlarmEngine(table, fast=fast)
    t = np.arange(0, 8 * 3600 + 1, 60.0)
    ev = feed(engine, [0] * len(t), t, [60.0] * len(t))
    # dose = 60 ppm × t exceeds 50 × 28800 after t = 24000 s; first reading after is 24060
    assert ev == [(0, 24060.0, "TWA", 1, pytest.approx(60 * 24060 / 28800))]
    assert feed_reset(engine, 30000.0) == [(0, 30000.0, "TWA", 0)]


def feed_reset(engine: AlarmEngine, now: float) -> list[tuple[int, float, str, int]]:
    return [(int(e["sensor"]), float(e["time"]), Kind(e["kind"]).name, int(e["transition"]))
            for e in engine.reset_shift(now)]


def test_stel_rolling_15_minute_mean_and_excursions(fast: bool) -> None:
    table = SensorTable.create(1, stel_limit=5.0)  # H2S 5 ppm STEL
    engine = AlarmEngine(table, fast=fast)
    t = np.arange(0, 1801, 10.0)
    v = np.where((t >= 600) & (t < 1200), 10.0, 0.0)  # 10 ppm for 10 minutes
    ev = feed(engine, [0] * len(t), t, v)
    # window (T-900, T]: 480 s at 10 ppm at T=1080 → 5.33 > 5; at T=1680 only 420 s → 4.67
    assert ev == [(0, 1080.0, "STEL", 1, pytest.approx(4800 / 900)),
                  (0, 1680.0, "STEL", 0, pytest.approx(4200 / 900))]
    assert engine.state.exposure.excursions[0] == 1
    assert engine.state.exposure.breaches[0] == 0


def test_stel_excursions_closer_than_an_hour_are_breaches(fast: bool) -> None:
    table = SensorTable.create(1, stel_limit=5.0)
    engine = AlarmEngine(table, fast=fast)
    t = np.arange(0, 4 * 3600, 10.0)
    v = np.where(((t >= 600) & (t < 1200)) | ((t >= 3000) & (t < 3600)), 10.0, 0.0)
    ev = feed(engine, [0] * len(t), t, v)
    # the second, 40 min after the first, breaks the rule: STEL_BREACH beside its STEL raise
    assert [(t, k) for _, t, k, tr, _ in ev if tr == 1] == [
        (1080.0, "STEL"), (3480.0, "STEL"), (3480.0, "STEL_BREACH")]
    assert engine.state.exposure.excursions[0] == 2
    assert engine.state.exposure.breaches[0] == 1


def test_stale_detected_by_tick_and_cleared_by_next_reading(fast: bool) -> None:
    table = SensorTable.create(2, stale_s=30.0)
    engine = AlarmEngine(table, fast=fast, now=0.0)
    feed(engine, [0], [0.0], [0.3])
    assert len(engine.tick(20.0)) == 0
    ev = engine.tick(30.0)  # both: sensor 0 silent since 0, sensor 1 never heard since start
    assert ev["sensor"].tolist() == [0, 1] and set(ev["kind"]) == {Kind.STALE}
    assert len(engine.tick(40.0)) == 0  # raised once
    assert feed(engine, [0], [45.0], [0.31]) == [(0, 45.0, "STALE", 0, 0.31)]


def test_readings_without_a_value_are_a_heartbeat_and_clear_stale(fast: bool) -> None:
    """`heard` (a wearable's zone or event): the stale timer counts from it, an active STALE
    clears at the first one, and no value is evaluated (the rate of rise stays between
    values)."""
    table = SensorTable.create(2, stale_s=30.0, ror_per_min=1.0)
    engine = AlarmEngine(table, fast=fast, exposure=False, now=0.0)
    feed(engine, [0], [0.0], [0.3])
    assert len(engine.heard(np.array([0, 1, 0]), np.array([20.0, 25.0, 40.0]))) == 0
    assert len(engine.tick(54.0)) == 0  # heard at 40 and 25: neither silent for 30 s
    assert engine.tick(55.0)["sensor"].tolist() == [1]
    assert engine.tick(70.0)["sensor"].tolist() == [0]
    ev = engine.heard(np.array([1, 0, 0]), np.array([80.0, 90.0, 95.0]))
    assert ev[["sensor", "time", "kind", "transition"]].tolist() == [
        (1, 80.0, Kind.STALE, 0), (0, 90.0, Kind.STALE, 0)]  # at each one's first reading
    assert np.isnan(ev["value"]).all() and len(engine.heard(np.array([0]), [96.0])) == 0
    assert engine.state.last_time[0] == 0.0 and engine.state.last_value[0] == 0.3
    # 1.0 in 120 s since the last value is 0.5/min (from the heartbeat at 96 it would be 2.5)
    assert feed(engine, [0], [120.0], [1.3]) == []
    assert len(engine.tick(109.0)) == 0 and engine.tick(110.0)["sensor"].tolist() == [1]
    assert len(engine.tick(149.0)) == 0 and engine.tick(150.0)["sensor"].tolist() == [0]


def test_a_snapshot_puts_back_what_heard_changed() -> None:
    engine = AlarmEngine(SensorTable.create(1, stale_s=30.0), now=0.0)
    engine.tick(30.0)
    snap = engine.snapshot(np.array([0]))
    assert len(engine.heard(np.array([0]), np.array([40.0]))) == 1
    engine.restore(snap)
    assert engine.state.stale[0] == 1.0 and np.isnan(engine.state.heard[0])
    assert len(AlarmEngine(SensorTable.create(1, stale_s=30.0)).tick(1e9)) == 0  # never heard


def test_methane_while_fan_off_is_a_combo_alarm(fast: bool) -> None:
    table = SensorTable.create(2)
    engine = AlarmEngine(table, fast=fast, rules=(methane_fan_rule(0, 1),))
    ev = feed(engine, [1, 0, 1, 0], [0, 1, 2, 3], [1, 1.2, 0, 0.5])
    assert ev == [(0, 2.0, "COMBO", 1, 1.2), (0, 3.0, "COMBO", 0, 0.5)]
    assert engine.rules[0].life_safety


def test_combo_is_exact_across_batches() -> None:
    table = SensorTable.create(2)
    engine = AlarmEngine(table, rules=(methane_fan_rule(0, 1),))
    assert feed(engine, [1, 0], [0, 1], [0, 0.5]) == []
    assert feed(engine, [0], [2], [1.0]) == [(0, 2.0, "COMBO", 1, 1.0)]


def test_device_events_raise_once_and_reset() -> None:
    engine = AlarmEngine(SensorTable.create(3))
    ev = engine.device_events(np.array([2, 2, 1, 2]), np.array([1.0, 2.0, 3.0, 4.0]),
                              np.array([DeviceCode.FALL, DeviceCode.FALL, DeviceCode.SOS,
                                        DeviceCode.RESET]))
    got = [(int(e["sensor"]), Kind(e["kind"]).name, int(e["transition"])) for e in ev]
    assert got == [(2, "FALL", 1), (1, "SOS", 1), (2, "FALL", 0)]


def test_nan_readings_are_ignored(fast: bool) -> None:
    table = SensorTable.create(1, high=1.0)
    assert one(table, fast, [0, 1, 2], [0.5, np.nan, 1.5]) == [(0, 2.0, "HI", 1, 1.5)]


def test_defaults_carry_a_source_for_every_value() -> None:
    for kind in ("mine", "plant", "construction"):
        for gas in THRESHOLDS[kind].values():
            assert all(lim["source"] for lim in gas.values())
    table = table_for("mine", ["CH4", "CO", "O2"])
    assert table.high[0] == 1.0 and table.highhigh[0] == 1.5
    assert table.high[1] == 20.0 and table.lowlow[2] == 19.5 and table.low[2] == 20.0
    assert table.life_safety.all()
