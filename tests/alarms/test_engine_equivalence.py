"""The fast kernels must give exactly the reference loop's events, in one batch or many."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qorgau.alarms.engine import AlarmEngine, EngineState, SensorTable
from qorgau.alarms.engine.types import canonical

DT = [0.0, 0.5, 1.0, 2.0, 7.0, 30.0, 61.0, 400.0]
NAN = float("nan")


@st.composite
def streams(draw):
    """A few sensors, each a random walk crossing its limits or on/off pulses (STEL
    excursions again and again, so breaches of the STEL rule happen), merged into one time
    order."""
    n = draw(st.integers(1, 4))
    sensor, time, value = [], [], []
    for s in range(n):
        k = draw(st.integers(0, 60))
        walk = draw(st.booleans())
        dts = draw(st.lists(st.sampled_from(DT if walk else DT[4:]), min_size=k, max_size=k))
        t0 = draw(st.sampled_from([0.0, 13.0, 59.5]))
        if walk:
            steps = draw(st.lists(st.floats(-0.4, 0.4), min_size=k, max_size=k))
            value += list(0.8 + np.cumsum(steps))
        else:
            value += draw(st.lists(st.sampled_from([0.0, 0.0, 3.0]), min_size=k, max_size=k))
        sensor += [s] * k
        time += list(t0 + np.cumsum(dts))
    order = np.argsort(np.asarray(time), kind="stable")
    arrays = (np.asarray(sensor, np.uint32)[order], np.asarray(time, float)[order],
              np.asarray(value, float)[order])
    table = SensorTable.create(
        n,
        high=draw(st.sampled_from([1.0, 1.2, NAN])),
        highhigh=draw(st.sampled_from([1.5, NAN])),
        low=draw(st.sampled_from([0.5, NAN])),
        lowlow=draw(st.sampled_from([0.2, NAN])),
        deadband=draw(st.sampled_from([0.0, 0.05, 0.2])),
        on_delay_s=draw(st.sampled_from([0.0, 1.0, 2.5, 10.0])),
        off_delay_s=draw(st.sampled_from([0.0, 1.0, 5.0, 60.0])),
        ror_per_min=draw(st.sampled_from([NAN, 1.0, 10.0])),
        stel_limit=draw(st.sampled_from([NAN, 0.05, 0.5, 1.0])),
        twa_limit=draw(st.sampled_from([NAN, 0.001, 0.01])),
    )
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=4)))
    return table, arrays, cuts


def run(table: SensorTable, arrays, cuts, *, fast: bool) -> tuple[np.ndarray, EngineState]:
    engine = AlarmEngine(table, fast=fast, max_hold_s=120.0)
    bounds = [0, *cuts, len(arrays[0])]
    parts = [engine.process(*(a[lo:hi] for a in arrays)) for lo, hi in pairwise(bounds)]
    return canonical(np.concatenate(parts)), engine.state


def same_state(a: EngineState, b: EngineState) -> bool:
    pairs = [(a.active, b.active), (a.on_since, b.on_since), (a.off_since, b.off_since),
             (a.hot[:, :4], b.hot[:, :4]),
             (a.exposure.hot[:, :7], b.exposure.hot[:, :7]), (a.exposure.ring, b.exposure.ring),
             (a.exposure.excursions, b.exposure.excursions),
             (a.exposure.stel_active, b.exposure.stel_active),
             (a.exposure.last_excursion, b.exposure.last_excursion),
             (a.exposure.breaches, b.exposure.breaches),
             (a.exposure.breach_active, b.exposure.breach_active)]
    return all(np.array_equal(x, y, equal_nan=True) for x, y in pairs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_fast_equals_reference_in_any_batching(case) -> None:
    table, arrays, cuts = case
    ref_one, ref_state = run(table, arrays, [], fast=False)
    fast_one, fast_state = run(table, arrays, [], fast=True)
    fast_many, many_state = run(table, arrays, cuts, fast=True)
    ref_many, _ = run(table, arrays, cuts, fast=False)
    assert np.array_equal(fast_one, ref_one)
    assert np.array_equal(fast_many, ref_one)
    assert np.array_equal(ref_many, ref_one)
    assert same_state(fast_state, ref_state) and same_state(many_state, ref_state)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_fast_equals_reference_with_device_messages(case) -> None:
    """Each sensor's readings together (as device messages bring them): the kernels give the
    reference's events and state to the bit in that order too."""
    table, arrays, cuts = case
    by_device = np.argsort(arrays[0], kind="stable")
    arrays = tuple(a[by_device] for a in arrays)
    ref, ref_state = run(table, arrays, [], fast=False)
    for part in ([], cuts):
        fast, fast_state = run(table, arrays, part, fast=True)
        assert np.array_equal(fast, ref) and same_state(fast_state, ref_state)


def test_same_instant_order_does_not_depend_on_batching() -> None:
    """A STEL raise is stamped at its bucket's end (t=60); a second reading at t=60 in the next
    batch clears HI. Events of one instant are ordered by kind, not by which batch or kernel
    emitted them first."""
    table = SensorTable.create(1, high=1.0, stel_limit=0.05)
    arrays = (np.zeros(4, np.uint32), np.array([0.0, 30.0, 60.0, 60.0]),
              np.array([0.8, 0.9, 1.1, 0.7]))
    expected = [(60.0, 1, 1), (60.0, 1, 0), (60.0, 8, 1)]  # HI raise, HI clear, STEL raise
    for fast in (False, True):
        for cuts in ([], [3]):
            events, _ = run(table, arrays, cuts, fast=fast)
            assert events[["time", "kind", "transition"]].tolist() == expected


@settings(max_examples=100, deadline=None)
@given(streams())
def test_never_raised_twice_without_clear(case) -> None:
    table, arrays, _ = case
    events, _ = run(table, arrays, [], fast=True)
    raised: set[tuple[int, int]] = set()
    for e in events:
        key = (int(e["sensor"]), int(e["kind"]))
        if e["transition"] == 1:
            assert key not in raised
            raised.add(key)
        else:
            assert key in raised
            raised.discard(key)


def test_large_batch_grows_event_buffer() -> None:
    """More events than the first buffer holds: the resumable kernel must lose none."""
    n, k = 3, 40_000
    table = SensorTable.create(n, high=1.0)
    sensor = np.tile(np.arange(n, dtype=np.uint32), k)
    time = np.repeat(np.arange(k, dtype=float), n)
    value = np.where(np.arange(n * k) // n % 2 == 0, 2.0, 0.0)
    fast = AlarmEngine(table, exposure=False).process(sensor, time, value)
    ref = AlarmEngine(table, exposure=False, fast=False).process(sensor, time, value)
    assert len(fast) == n * k and np.array_equal(fast, ref)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_a_snapshot_of_the_touched_rows_puts_the_engine_back(case) -> None:
    """Ingest re-runs a batch message by message from a snapshot of the sensors it touches
    (`snapshot`/`restore`, not a copy of the whole engine): restoring must give the engine
    it was, so the re-run gives exactly the events of the first part and then the rest."""
    table, arrays, cuts = case
    cut = cuts[0] if cuts else len(arrays[0]) // 2
    engine = AlarmEngine(table, max_hold_s=120.0)
    engine.process(*(a[:cut] for a in arrays))  # cut may be 0: a snapshot before any batch
    before = EngineState(engine.state.active.copy(), engine.state.on_since.copy(),
                         engine.state.off_since.copy(), engine.state.hot.copy(),
                         engine.state.exposure.copy())
    rest = [a[cut:] for a in arrays]
    snap = engine.snapshot(rest[0])
    first = engine.process(*rest)
    engine.restore(snap)
    assert same_state(engine.state, before)
    assert np.array_equal(engine.process(*rest), first)
    fresh = AlarmEngine(table, max_hold_s=120.0)  # restored before its first batch ever
    snap = fresh.snapshot(arrays[0])
    fresh.process(*arrays)
    fresh.restore(snap)
    assert np.array_equal(fresh.process(*arrays), AlarmEngine(table, max_hold_s=120.0).process(
        *arrays))
