"""The ingest ledger writes roll-ups and counters every few seconds per device; after a crash
or a rolled-back batch the runtime replays the segment frames whose roll-ups and counters were
not yet written. Checked against a processor that writes them in every batch (the stream, the
database and the stored rows the same; only the ledger's timing differs)."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from qorgau.alarms import worker
from qorgau.alarms.ingest import core, ledger
from qorgau.alarms.ingest.effects import Result
from qorgau.alarms.ingest.parse import parse
from qorgau.alarms.models import Device, IngestMark, Rollup
from qorgau.alarms.store import SegmentStore
from qorgau.registry.models import Site

CODES = ("CH4-1", "CO-1", "FAN-1", "W-1", "W-2")


def _stream(seed: int, t0: float, batches: int = 40, *, repeats: bool = True
            ) -> list[list[dict]]:
    """Batches of readings over ~6 minutes: in order, gaps filled later (late readings),
    repeats of stored readings, several readings of a device in one batch, values below every
    limit (no alarms: the records are not what this compares)."""
    rnd = random.Random(seed)
    seq = dict.fromkeys(CODES, 0)
    sent: list[dict] = []
    held: list[dict] = []
    out = []
    for b in range(batches):
        rows = []
        for code in rnd.sample(CODES, rnd.randint(1, len(CODES))):
            for _ in range(rnd.randint(1, 3)):
                s = seq[code] = seq[code] + rnd.choice((1, 1, 1, 2))  # sometimes a hole
                r = {"d": code, "s": s, "t": t0 + b * 9 + rnd.random() * 8,
                     "v": round(rnd.uniform(0.0, 0.5), 3)}
                (held if rnd.random() < 0.1 else rows).append(r)
        if held and rnd.random() < 0.3:
            rows.append(held.pop())  # late
        if repeats and sent and rnd.random() < 0.3:
            rows.append(rnd.choice(sent))  # a repeat
        rows.sort(key=lambda r: (r["d"], r["s"]))
        sent.extend(rows)
        out.append(rows)
    return out


def _across_an_hour() -> float:
    """A start 5 minutes before an hour began: the stream's batches straddle it, so some are
    stored as a frame in each hour's file (the same run every time, whatever the clock)."""
    return (time.time() // 3600 - 1) * 3600 - 300


def _doc(site_id: int, rows: list[dict]) -> dict:
    return {"site_id": site_id, "readings": [dict(r) for r in rows]}


def _state(db, site_id: int) -> tuple[dict, dict]:
    db.expire_all()
    devs = {d.id: d for d in db.scalars(select(Device).where(Device.site_id == site_id))}
    counters = {d.code: (d.n_accepted, d.n_duplicate, d.n_rejected, d.last_seq, d.seq_floor,
                         d.seq_window, d.last_seen_at, d.last_value) for d in devs.values()}
    rollups = {(devs[r.device_id].code, r.minute): (r.n, r.vmin, r.vmax, round(r.vsum, 9),
                                                     r.vlast)
               for r in db.scalars(select(Rollup).where(Rollup.device_id.in_(list(devs))))}
    return counters, rollups


def _differences(got: tuple[dict, dict], want: tuple[dict, dict]) -> list:
    return [(k, g.get(k), w.get(k)) for g, w in zip(got, want, strict=True)
            for k in sorted(set(g) | set(w), key=str) if g.get(k) != w.get(k)]


def _flush_all(db, proc: core.Processor, site_id: int) -> None:
    rt = proc.runtime(db, site_id)
    proc.flush(db, rt, time.time(), every=True)
    db.commit()


@pytest.fixture
def small_groups(monkeypatch):
    """Two devices per write group: a 5-device site has three groups written at different
    times, as a 50,000-device site has a hundred."""
    monkeypatch.setattr(ledger, "GROUP_DEVICES", 2)


def test_deferred_writes_equal_writes_in_every_batch(db, new_mines, tmp_path, small_groups):
    every, deferred = new_mines(), new_mines()
    p0 = core.Processor(SegmentStore(tmp_path / "a", fsync=False), flush_s=0)
    p1 = core.Processor(SegmentStore(tmp_path / "b", fsync=False), flush_s=30)
    t0 = _across_an_hour()
    for rows in _stream(1, t0):
        p0.handle_raw(db, _doc(every.site_id, rows), source="test")
        p1.handle_raw(db, _doc(deferred.site_id, rows), source="test")
    written, _ = _state(db, deferred.site_id)
    assert all(c[0] == 0 for c in written.values())  # nothing written yet: 30 s not passed
    mark = db.get(IngestMark, deferred.site_id)
    assert mark.replay_from is not None and mark.committed_frame >= mark.replay_from
    _flush_all(db, p1, deferred.site_id)
    assert _differences(_state(db, deferred.site_id), _state(db, every.site_id)) == []
    assert db.get(IngestMark, deferred.site_id).replay_from is None


def test_a_crash_and_a_rolled_back_batch_lose_nothing_and_count_nothing_twice(
        db, new_mines, tmp_path, small_groups):
    """The worker dies at random points (the processor is dropped without writing its
    ledger) and one batch is stored in the segment files but its transaction never commits
    (the broker delivers it again); the new processor replays the frames since the mark."""
    every, crashed = new_mines(), new_mines()
    p0 = core.Processor(SegmentStore(tmp_path / "a", fsync=False), flush_s=0)
    store = SegmentStore(tmp_path / "b", fsync=False)
    p1 = core.Processor(store, flush_s=20, owner="worker")
    t0 = _across_an_hour()
    rnd = random.Random(7)
    stream = _stream(2, t0, batches=60)
    replayed = 0
    for k, rows in enumerate(stream):
        p0.handle_raw(db, _doc(every.site_id, rows), source="test")
        if k == 25:  # stored, then the transaction is lost with the process
            site = db.get(Site, crashed.site_id)
            p1._handle(db, site, parse(_doc(crashed.site_id, rows)), "test", time.time(),
                       Result())
            db.rollback()
            p1 = core.Processor(store, flush_s=20, owner="worker")
        # now and then a group of devices comes due, so device rows differ in how far
        # they are written when the process dies
        now = time.time() + rnd.choice((0, 0, 7, 14))
        p1.handle_raw(db, _doc(crashed.site_id, rows), source="test", now=now)
        if rnd.random() < 0.15:
            p1 = core.Processor(store, flush_s=20, owner="worker")  # kill -9: the ledger is gone
            replayed += 1
    assert replayed >= 3
    # a restarted worker replays at the site's next batch (a process that only ticks the
    # site must not: `runtime.resume`), so the stream goes on with one more
    last = [{"d": c, "s": 10_000, "t": t0 + 600, "v": 0.2} for c in CODES]
    p0.handle_raw(db, _doc(every.site_id, last), source="test")
    p1.handle_raw(db, _doc(crashed.site_id, last), source="test")
    _flush_all(db, p1, crashed.site_id)
    assert _differences(_state(db, crashed.site_id), _state(db, every.site_id)) == []


def test_a_batch_across_an_hour_is_replayed_in_its_own_order(db, new_mines, tmp_path):
    """A batch whose readings fall in two hours is stored as a frame in each hour's file; the
    replay puts it back together, so a reading that was late in it (a higher sequence with an
    earlier time, in the earlier hour) is late again and leaves the minute's last value."""
    every, crashed = new_mines(), new_mines()
    hour = (time.time() // 3600) * 3600
    rows = [{"d": "W-1", "s": 0, "t": hour - 30, "v": 0.1},
            {"d": "W-1", "s": 1, "t": hour + 2, "v": 0.2},
            {"d": "W-1", "s": 2, "t": hour - 1, "v": 0.3}]  # late: after hour + 2
    more = [{"d": "W-1", "s": 3, "t": hour + 3, "v": 0.4}]
    p0 = core.Processor(SegmentStore(tmp_path / "a", fsync=False), flush_s=0)
    store = SegmentStore(tmp_path / "b", fsync=False)
    for doc in (rows, more):
        p0.handle_raw(db, _doc(every.site_id, doc), source="test", now=hour + 5)
    core.Processor(store, flush_s=60, owner="worker").handle_raw(db, _doc(crashed.site_id, rows),
                                                 source="test", now=hour + 5)
    restarted = core.Processor(store, flush_s=60, owner="worker")
    restarted.handle_raw(db, _doc(crashed.site_id, more), source="test", now=hour + 5)
    _flush_all(db, restarted, crashed.site_id)
    assert _differences(_state(db, crashed.site_id), _state(db, every.site_id)) == []
    assert len(list(store.root.glob(f"{crashed.site_id}/*.seg"))) == 2


def test_the_timer_tick_writes_devices_whose_time_has_come(db, mine, tmp_path):
    proc = core.Processor(SegmentStore(tmp_path / "seg", fsync=False), flush_s=2)
    t = time.time()
    r = proc.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CO-1", "s": 0, "t": t - 1, "v": 3.0}, {"d": "CO-1", "s": 1, "t": t, "v": 4.0}]},
        source="test", now=t)
    assert r.accepted == 2
    co = mine.devices["CO-1"]
    db.expire_all()
    assert db.get(Device, co).n_accepted == 0
    worker.tick(db, proc, now=t + 3)
    db.expire_all()
    dev = db.get(Device, co)
    assert (dev.n_accepted, dev.last_seq, dev.last_value) == (2, 1, 4.0)
    roll = db.scalars(select(Rollup).where(Rollup.device_id == co)).all()
    assert [(x.n, x.vsum, x.vlast) for x in roll] == [(2, 7.0, 4.0)] or \
        sorted(x.n for x in roll) == [1, 1]  # the two readings may straddle a minute
    assert db.get(IngestMark, mine.site_id).replay_from is None


def test_a_rebuilt_runtime_keeps_the_engine_where_the_replayed_readings_left_it(
        db, mine, tmp_path):
    """After a restart the engine's last time and value of a device come from the replayed
    frames, not from the older row: a reading older than them is late, as before. A process
    that only ticks the site (the web process's timers) neither replays nor writes."""
    store = SegmentStore(tmp_path / "seg", fsync=False)
    p1 = core.Processor(store, flush_s=60, owner="worker")
    t = time.time()
    p1.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CH4-1", "s": s, "t": t - 10 + s, "v": 0.1 * s} for s in range(5)]},
        source="test", now=t)
    ticker = core.Processor(store, flush_s=0)
    worker.tick(db, ticker, now=t + 1)
    assert not ticker.sites[mine.site_id].ledger.live
    db.expire_all()
    assert db.get(Device, mine.devices["CH4-1"]).n_accepted == 0  # p1's to write, not its
    assert db.get(IngestMark, mine.site_id).replay_from is not None

    p2 = core.Processor(store, flush_s=60, owner="worker")
    r = p2.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CH4-1", "s": 3, "t": t - 7, "v": 0.3}]}, source="test", now=t)
    assert (r.accepted, r.duplicates) == (0, 1)  # stored before the restart
    rt = p2.sites[mine.site_id]
    j = rt.index["CH4-1"]
    assert rt.engine.state.last_time[j] == t - 6
    assert rt.engine.state.last_value[j] == pytest.approx(0.4)
    assert rt.seqs.high[j] == 4
    _flush_all(db, p2, mine.site_id)
    dev = db.get(Device, mine.devices["CH4-1"])
    assert (dev.n_accepted, dev.n_duplicate, dev.last_seq) == (5, 1, 4)


def test_two_processes_on_one_site_count_each_reading_once(db, new_mines, tmp_path,
                                                           small_groups):
    """Two processes take batches of the same site (web processes behind one address): the
    first owns its ledger, the second writes in every batch beside it. The owner dies; when
    its lease has run out the other takes the site over from its timer tick and replays what
    the dead owner held. A stalled owner whose site was taken cannot commit what it held.
    (Each process has its own dedup window, so a repeat sent to the other one, or the last
    sequence and value each writes, are not exact across them; no repeats here, and the
    counts and sums are compared.)"""
    every, shared = new_mines(), new_mines()
    p0 = core.Processor(SegmentStore(tmp_path / "a", fsync=False), flush_s=0)
    store = SegmentStore(tmp_path / "b", fsync=False)
    first = core.Processor(store, flush_s=20, owner="web-1")
    second = core.Processor(store, flush_s=20, owner="web-2")
    t = time.time()
    stream = _stream(3, _across_an_hour(), batches=30, repeats=False)
    for k, rows in enumerate(stream[:20]):
        p0.handle_raw(db, _doc(every.site_id, rows), source="test")
        (first if k % 2 == 0 else second).handle_raw(db, _doc(shared.site_id, rows),
                                                      source="test", now=t)
    assert first.sites[shared.site_id].ledger.deferred
    assert not second.sites[shared.site_id].ledger.deferred  # wrote in every batch
    assert db.get(IngestMark, shared.site_id).owner == "web-1"
    # web-1 stalls (or dies) holding readings; web-2 takes the site after the lease
    worker.tick(db, second, now=t + 10)
    assert db.get(IngestMark, shared.site_id).owner == "web-1"  # the lease still runs
    worker.tick(db, second, now=t + 100)
    db.expire_all()
    assert db.get(IngestMark, shared.site_id).owner == "web-2"
    assert second.sites[shared.site_id].ledger.deferred
    with pytest.raises(ledger.LostOwnership):  # web-1 wakes up: its writes must not commit
        first.flush(db, first.sites[shared.site_id], t + 101, every=True)
    db.rollback()
    first.sites.pop(shared.site_id)
    for k, rows in enumerate(stream[20:]):
        p0.handle_raw(db, _doc(every.site_id, rows), source="test")
        (first if k % 2 == 0 else second).handle_raw(db, _doc(shared.site_id, rows),
                                                      source="test", now=t + 102)
    assert not first.sites[shared.site_id].ledger.deferred
    _flush_all(db, second, shared.site_id)

    def sums(site_id: int) -> tuple[dict, dict]:
        counters, rollups = _state(db, site_id)
        return ({k: v[:3] for k, v in counters.items()}, {k: v[:4] for k, v in rollups.items()})

    assert _differences(sums(shared.site_id), sums(every.site_id)) == []


def _every_device_pending(db, mine, tmp_path) -> tuple[core.Processor, object, float]:
    """A worker whose ledger holds one reading of every device of the site, none written."""
    proc = core.Processor(SegmentStore(tmp_path / "seg", fsync=False), flush_s=1,
                          owner="worker")
    t = time.time()
    proc.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": c, "s": 0, "t": t, "v": 0.1} for c in CODES]}, source="test", now=t)
    return proc, proc.sites[mine.site_id], t


def test_a_flush_writes_the_most_overdue_groups_first_and_at_most_a_few(db, mine, tmp_path,
                                                                       small_groups):
    """When writes fall behind (the database slower than the groups fall due) a batch writes
    at most `MAX_GROUPS` groups, the most overdue first, instead of the whole site."""
    proc, rt, t = _every_device_pending(db, mine, tmp_path)
    assert rt.ledger.k == 3 and ledger.MAX_GROUPS == 2
    order = np.argsort(rt.ledger.due).tolist()
    dirty_before = rt.ledger.dirty.copy()
    assert proc.flush(db, rt, t + 100) == sum(int(dirty_before[g::3].sum()) for g in order[:2])
    assert not rt.ledger.dirty[order[0]::3].any() and rt.ledger.dirty[order[2]::3].any()
    assert proc.flush(db, rt, t + 100) == int(dirty_before[order[2]::3].sum())
    db.commit()
    db.expire_all()
    assert all(db.get(Device, i).n_accepted == 1 for i in mine.devices.values())


def test_an_http_batch_whose_site_was_taken_over_is_answered_not_failed(client, db, mine,
                                                                         tmp_path):
    """The web process owned the site's ledger, stalled past its lease, and another process
    took the site over: its next HTTP batch is refused at the mark write, rolled back and
    processed again without the ledger (200, every reading counted once), not a 500."""
    store = SegmentStore(tmp_path / "seg", fsync=False)
    web = core.Processor(store, flush_s=20, owner="web")
    old, core.PROCESSOR = core.PROCESSOR, web
    try:
        headers = {"x-gateway": mine.gateway, "x-gateway-key": mine.key}
        t = time.time()
        r = client.post("/api/v1/alarms/ingest", headers=headers, json={
            "site_id": mine.site_id, "readings": [{"d": "CO-1", "s": 0, "t": t, "v": 3.0}]})
        assert r.status_code == 200 and web.sites[mine.site_id].ledger.deferred
        other = core.Processor(store, flush_s=20, owner="worker")
        assert other.runtime(db, mine.site_id).ledger.claim(db, mine.site_id, "worker",
                                                            t + 100)
        db.commit()
        r = client.post("/api/v1/alarms/ingest", headers=headers, json={
            "site_id": mine.site_id, "readings": [{"d": "CO-1", "s": 1, "t": t + 1, "v": 4.0}]})
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 1
        assert not web.sites[mine.site_id].ledger.deferred  # a guest now
        db.expire_all()
        assert db.get(Device, mine.devices["CO-1"]).n_accepted == 1  # s=1, written at once
        assert db.get(IngestMark, mine.site_id).owner == "worker"
    finally:
        core.PROCESSOR = old


def test_readings_of_a_device_disabled_while_the_worker_was_down_are_still_counted(
        db, mine, tmp_path):
    store = SegmentStore(tmp_path / "seg", fsync=False)
    t = time.time()
    core.Processor(store, flush_s=60, owner="worker").handle_raw(db, {
        "site_id": mine.site_id, "readings": [{"d": "CO-1", "s": s, "t": t - 5 + s, "v": 2.0 + s}
                                              for s in range(2)]}, source="test", now=t)
    co = db.get(Device, mine.devices["CO-1"])
    co.enabled = False  # an operator, while the worker is down
    db.commit()
    restarted = core.Processor(store, flush_s=60, owner="worker")
    restarted.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CH4-1", "s": 0, "t": t, "v": 0.1}]}, source="test", now=t)
    assert "CO-1" not in restarted.sites[mine.site_id].index
    db.expire_all()
    co = db.get(Device, mine.devices["CO-1"])
    assert (co.n_accepted, co.last_seq, co.last_value) == (2, 1, 3.0)
    assert db.scalar(select(func.sum(Rollup.n)).where(Rollup.device_id == co.id)) == 2
    assert db.get(IngestMark, mine.site_id).replay_from is None  # the first batch wrote all


def test_a_clean_stop_writes_everything_and_hands_the_site_back(db, mine, tmp_path):
    store = SegmentStore(tmp_path / "seg", fsync=False)
    t = time.time()
    first = core.Processor(store, flush_s=60, owner="demo")
    first.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CO-1", "s": 0, "t": t, "v": 3.0}]}, source="test", now=t)
    assert first.close() == 1
    db.expire_all()
    assert db.get(Device, mine.devices["CO-1"]).n_accepted == 1
    mark = db.get(IngestMark, mine.site_id)
    assert (mark.owner, mark.replay_from) == (None, None)
    nxt = core.Processor(store, flush_s=60, owner="web")  # no lease to wait out
    nxt.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CO-1", "s": 1, "t": t + 1, "v": 3.0}]}, source="test", now=t + 1)
    assert nxt.sites[mine.site_id].ledger.deferred
    db.expire_all()
    assert db.get(IngestMark, mine.site_id).owner == "web"


def _counted(db, device_id: int) -> tuple[int, int]:
    db.expire_all()
    n_roll = db.scalar(select(func.sum(Rollup.n)).where(Rollup.device_id == device_id))
    return db.get(Device, device_id).n_accepted, n_roll


def test_a_guest_writing_its_own_window_does_not_make_a_replay_count_twice(
        db, mine, tmp_path, monkeypatch):
    """A second process (a guest) writes a device's counters with the dedup window it built
    before the owner's readings: the row's window no longer shows the owner's written
    reading. A replay skips it by the frame the row says it includes, not by the window."""
    monkeypatch.setattr(ledger, "GROUP_DEVICES", 2)  # CH4-1 and CO-1 in different groups
    store = SegmentStore(tmp_path / "seg", fsync=False)
    owner = core.Processor(store, flush_s=20, owner="web-1")
    guest = core.Processor(store, flush_s=20, owner="web-2")
    t = time.time()
    owner.handle_raw(db, _doc(mine.site_id, [{"d": "CH4-1", "s": 0, "t": t - 5, "v": 0.1},
                                             {"d": "CO-1", "s": 0, "t": t - 5, "v": 1.0}]),
                     source="t", now=t)
    guest.handle_raw(db, _doc(mine.site_id, [{"d": "W-2", "s": 0, "t": t - 4, "v": 0.0}]),
                     source="t", now=t)
    assert not guest.sites[mine.site_id].ledger.deferred
    rt = owner.sites[mine.site_id]
    owner.flush(db, rt, float(rt.ledger.due[rt.index["CH4-1"] % rt.ledger.k]) + 0.01)
    db.commit()  # CH4-1's group written, CO-1's pending: the replay starts at that frame
    assert _counted(db, mine.devices["CH4-1"]) == (1, 1)
    guest.handle_raw(db, _doc(mine.site_id, [{"d": "CH4-1", "s": 1, "t": t - 3, "v": 0.2}]),
                     source="t", now=t)
    again = core.Processor(store, flush_s=20, owner="web-1")  # the owner restarted
    again.handle_raw(db, _doc(mine.site_id, [{"d": "FAN-1", "s": 0, "t": t - 2, "v": 1.0}]),
                     source="t", now=t)
    again.flush(db, again.runtime(db, mine.site_id), t, every=True)
    db.commit()
    assert _counted(db, mine.devices["CH4-1"]) == (2, 2)
    assert _counted(db, mine.devices["CO-1"]) == (1, 1)


def test_a_site_the_timer_built_long_ago_is_rebuilt_before_its_first_batch(
        db, mine, tmp_path, monkeypatch):
    """A web process's timer builds a runtime for every site; another process ingests and
    dies with rows pending. When a batch later reaches the web process it replays with the
    windows as they are now, not as the timer read them."""
    monkeypatch.setattr(ledger, "GROUP_DEVICES", 2)
    store = SegmentStore(tmp_path / "seg", fsync=False)
    web = core.Processor(store, flush_s=20, owner="web")
    work = core.Processor(store, flush_s=20, owner="worker")
    t = time.time()
    worker.tick(db, web, now=t)
    assert not web.sites[mine.site_id].ledger.live
    work.handle_raw(db, _doc(mine.site_id, [{"d": "CH4-1", "s": 0, "t": t - 5, "v": 0.1},
                                            {"d": "CO-1", "s": 0, "t": t - 5, "v": 1.0}]),
                    source="t", now=t)
    rt = work.sites[mine.site_id]
    work.flush(db, rt, float(rt.ledger.due[rt.index["CH4-1"] % rt.ledger.k]) + 0.01)
    db.commit()
    web.handle_raw(db, _doc(mine.site_id, [{"d": "FAN-1", "s": 0, "t": t - 1, "v": 1.0}]),
                   source="t", now=t + 100)  # the worker's lease has run out
    assert web.sites[mine.site_id].ledger.deferred
    web.flush(db, web.sites[mine.site_id], t + 100, every=True)
    db.commit()
    assert _counted(db, mine.devices["CH4-1"]) == (1, 1)
    assert _counted(db, mine.devices["CO-1"]) == (1, 1)


def test_a_frame_stored_by_an_owner_whose_site_was_taken_is_never_replayed(db, mine,
                                                                           tmp_path):
    """An owner stalls past its lease; its next batch is stored, refused and rolled back
    (never acknowledged). Frames are numbered in the claim's epoch, so that frame numbers
    below the new owner's: a later replay does not take it, and the broker's redelivery is
    counted and evaluated as new."""
    store = SegmentStore(tmp_path / "seg", fsync=False)
    old = core.Processor(store, flush_s=20, owner="old")
    t = time.time()
    old.handle_raw(db, _doc(mine.site_id, [{"d": "CO-1", "s": 0, "t": t - 9, "v": 1.0}]),
                   source="t", now=t)
    new = core.Processor(store, flush_s=20, owner="new")
    for s in (0, 1):
        new.handle_raw(db, _doc(mine.site_id, [{"d": "CH4-1", "s": s, "t": t - 8 + s,
                                                "v": 0.1}]), source="t", now=t + 100)
    with pytest.raises(ledger.LostOwnership):
        old.handle_raw(db, _doc(mine.site_id, [{"d": "CO-1", "s": 1, "t": t - 6, "v": 9.9}]),
                       source="t", now=t + 1)
    db.rollback()
    new.handle_raw(db, _doc(mine.site_id, [{"d": "FAN-1", "s": 0, "t": t - 5, "v": 1.0}]),
                   source="t", now=t + 100)
    restarted = core.Processor(store, flush_s=20, owner="new")
    restarted.handle_raw(db, _doc(mine.site_id, [{"d": "W-1", "s": 0, "t": t - 4, "v": 0.0}]),
                         source="t", now=t + 100)
    r = restarted.handle_raw(db, _doc(mine.site_id, [{"d": "CO-1", "s": 1, "t": t - 6,
                                                      "v": 9.9}]), source="t", now=t + 100)
    assert (r.accepted, r.duplicates) == (1, 0)
    restarted.flush(db, restarted.sites[mine.site_id], t + 100, every=True)
    db.commit()
    assert _counted(db, mine.devices["CO-1"]) == (2, 2)


def test_a_frame_that_could_not_be_written_is_cut_off_and_later_frames_read(tmp_path):
    """A write that fails half way (here the kernel's file-size limit: EFBIG, as a full disk
    gives ENOSPC) leaves no torn frame behind, so the frames appended after it are read and
    replayed."""
    import resource
    import signal

    store = SegmentStore(tmp_path / "seg", fsync=True)
    t = time.time()

    def frame(n: int, s0: int, number: int) -> list:
        return store.append(7, np.arange(n), np.arange(s0, s0 + n), np.full(n, t),
                            np.ones(n), number)

    (h, first), = frame(3, 0, 1)
    size = store.path(7, t).stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    before = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, hard))
    try:
        with pytest.raises(OSError):
            frame(1000, 100, 2)  # ~28 KB: cut at the limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, before)
    assert store.path(7, t).stat().st_size == size
    frame(2, 200, 3)
    assert sorted(store.read(7, t - 1, t + 1)["seq"].tolist()) == [0, 1, 2, 200, 201]
    got = store.frames_since(7, {h: first}, 1, 3)
    assert [n for n, _rows in got] == [1, 3]


def test_a_tick_stops_its_ledger_writes_for_a_waiting_life_safety_message(db, mine, tmp_path,
                                                                          small_groups):
    """The timer tick writes a site's due groups one at a time and stops when a life-safety
    message waits (the worker's priority lane): that message then waits for one group's
    write, not for the tick's eight; the next tick writes the rest."""
    proc, rt, t = _every_device_pending(db, mine, tmp_path)
    assert rt.ledger.k == 3 and rt.ledger.dirty.sum() == len(CODES)

    def written() -> int:
        db.expire_all()
        return sum(db.get(Device, i).n_accepted for i in mine.devices.values())

    asked = []
    worker.tick(db, proc, now=t + 100, urgent=lambda: asked.append(1) or True)
    one = written()
    assert asked and 0 < one < len(CODES)  # one group written and committed, then it stopped
    worker.tick(db, proc, now=t + 101)
    assert written() == len(CODES)
