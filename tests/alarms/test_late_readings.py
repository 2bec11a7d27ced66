"""Late readings (a new (device, sequence) that comes after newer readings of its device) are
stored, counted and checked against the limits without moving the engine back in time; a
replay of a stored reading changes nothing; the dedup window survives a worker restart."""

from __future__ import annotations

import random
import time

import numpy as np
from sqlalchemy import func, select

from qorgau.alarms.ingest import order as O
from qorgau.alarms.models import AlarmRecord, DeadLetter, Device, Rollup, Withdrawal


def _send(proc, db, mine, rows):
    return proc.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": d, "s": s, "t": t, "v": v} for d, s, t, v in rows]}, source="test")


def _occurrences(db, mine, kind):
    return list(db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                                     AlarmRecord.kind == kind)))


def test_late_reading_is_stored_counted_and_evaluated_without_going_back(db, mine, proc):
    t0 = (time.time() // 60 - 5) * 60  # whole minutes: readings 0..12 s share one roll-up
    dev_id = mine.devices["CH4-1"]
    r = _send(proc, db, mine, [("CH4-1", s, t0 + s, 0.3) for s in range(5)])
    assert r.accepted == 5
    # 5..9 are still on their way (a broker restart): 10..12 come first
    r = _send(proc, db, mine, [("CH4-1", s, t0 + s, 0.4) for s in (10, 11, 12)])
    assert r.accepted == 3 and r.alarms == 0
    rt = proc.sites[mine.site_id]
    j = rt.index["CH4-1"]
    before = float(rt.engine.state.last_time[j])
    assert before == t0 + 12

    late = _send(proc, db, mine, [("CH4-1", 6, t0 + 6, 2.0), ("CH4-1", 7, t0 + 7, 1.2)])
    assert (late.accepted, late.duplicates, late.rejected) == (2, 0, 0)
    assert late.alarms == 2 and len(late.life_safety_ids) == 2  # HI and HIHI, life-safety
    assert float(rt.engine.state.last_time[j]) == before  # the engine did not go back
    assert float(rt.engine.state.last_value[j]) == 0.4
    db.expire_all()
    dev = db.get(Device, dev_id)
    assert dev.n_accepted == 10 and dev.n_duplicate == 0 and dev.last_seq == 12
    assert dev.last_value == 0.4 and dev.last_seen_at.timestamp() == t0 + 12
    hihi, = _occurrences(db, mine, "HIHI")
    assert hihi.raised_at.timestamp() == t0 + 6 and hihi.cleared_at.timestamp() == t0 + 12
    assert hihi.peak == 2.0 and not hihi.active and hihi.state == "rtn_unack"
    assert hihi.message.startswith("late reading: CH4 HIHI at CH4-1")
    hi, = _occurrences(db, mine, "HI")
    assert hi.raised_at.timestamp() == t0 + 6 and hi.peak == 2.0 and not hi.active
    # the condition is over (newer readings are below the limit): nobody is withdrawn
    assert not db.scalar(select(func.count()).select_from(Withdrawal).where(
        Withdrawal.site_id == mine.site_id))
    roll = db.scalar(select(Rollup).where(Rollup.device_id == dev_id))
    assert (roll.n, roll.vmax, roll.vlast) == (10, 2.0, 0.4)  # last value stays the newest
    raw = proc.store.read(mine.site_id, t0 - 1, t0 + 60)
    assert sorted(raw["seq"].tolist()) == [0, 1, 2, 3, 4, 6, 7, 10, 11, 12]

    again = _send(proc, db, mine, [("CH4-1", 6, t0 + 6, 2.0), ("CH4-1", 11, t0 + 11, 0.4)])
    assert (again.accepted, again.duplicates, again.alarms) == (0, 2, 0)
    db.expire_all()
    assert db.get(Device, dev_id).n_accepted == 10
    assert len(_occurrences(db, mine, "HIHI")) == 1

    # a late reading below the limits raises nothing; the next in-time reading goes on
    assert _send(proc, db, mine, [("CH4-1", 8, t0 + 8, 0.5)]).alarms == 0
    assert _send(proc, db, mine, [("CH4-1", 13, t0 + 13, 0.5)]).accepted == 1
    assert float(rt.engine.state.last_time[j]) == t0 + 13


def test_dedup_window_survives_a_restart_and_rejects_what_it_cannot_decide(db, mine, tmp_path):
    from qorgau.alarms.ingest.core import Processor
    from qorgau.alarms.store import SegmentStore

    t0 = time.time() - 3000
    proc = Processor(SegmentStore(tmp_path / "a", fsync=False))
    assert _send(proc, db, mine, [("CO-1", 0, t0, 3.0), ("CO-1", 2000, t0 + 2000, 3.0)]
                 ).accepted == 2  # 1..1999 missing; 1..976 have left the window unseen
    proc = Processor(SegmentStore(tmp_path / "a", fsync=False))  # a restarted worker
    r = _send(proc, db, mine, [("CO-1", 1500, t0 + 1500, 3.0), ("CO-1", 2000, t0 + 2000, 3.0),
                               ("CO-1", 500, t0 + 500, 3.0), ("CO-1", 977, t0 + 977, 3.0)])
    assert (r.accepted, r.duplicates, r.rejected) == (2, 1, 1)
    proc = Processor(SegmentStore(tmp_path / "a", fsync=False))
    r = _send(proc, db, mine, [("CO-1", 1500, t0 + 1500, 3.0), ("CO-1", 977, t0 + 977, 3.0)])
    assert (r.accepted, r.duplicates) == (0, 2)
    db.expire_all()
    dev = db.get(Device, mine.devices["CO-1"])
    assert (dev.n_accepted, dev.n_rejected, dev.last_seq, dev.seq_floor) == (4, 1, 2000, 976)
    assert db.scalar(select(DeadLetter.detail).where(
        DeadLetter.device_id == dev.id, DeadLetter.reason == "seq_beyond_window")) == "s=500"


def _reference(stream: list[tuple[int, int]]) -> list[int]:
    """A set of everything stored: new unless stored (what the window must give above the
    floor; below it, BEYOND is allowed instead)."""
    seen: set[tuple[int, int]] = set()
    out = []
    for d, s in stream:
        out.append(O.DUP if (d, s) in seen else O.NEW)
        seen.add((d, s))
    return out


def test_window_is_exact_on_random_late_and_repeated_streams():
    rng = random.Random(11)
    for _ in range(40):
        n_dev, depth = rng.randrange(1, 4), rng.choice([3, 50, 900, 3000])
        per: list[list[int]] = []
        step = [rng.choice([1, 1, 3]) for _ in range(n_dev)]
        for d in range(n_dev):
            seqs = list(range(rng.randrange(0, 5), rng.randrange(200, 2500), step[d]))
            for k in range(0, len(seqs) - 1):  # reorder within `depth`
                if rng.random() < 0.2:
                    m = min(len(seqs) - 1, k + rng.randrange(1, depth))
                    seqs[k], seqs[m] = seqs[m], seqs[k]
            seqs += rng.sample(seqs, len(seqs) // 5)  # replays
            per.append(seqs[::-1])
        stream = []  # the devices interleaved, each in its own order
        while any(per):
            d = rng.choice([k for k, q in enumerate(per) if q])
            stream.append((d, per[d].pop()))
        w = O.SeqWindow(np.full(n_dev, -1), np.full(n_dev, -1), {})
        got: list[int] = []
        for lo in range(0, len(stream), 97):  # batches, each decided in device order
            part = stream[lo:lo + 97]  # (a device's readings in the batch stay in order)
            i = np.array([d for d, _ in part], np.int64)
            s = np.array([s for _, s in part], np.int64)
            p = np.argsort(i, kind="stable")
            v = np.empty(len(part), np.int8)
            v[p] = w.decide(i[p], s[p])
            got += v.tolist()
        ref = _reference(stream)
        for (d, s), g, r in zip(stream, got, ref, strict=True):
            if g == O.BEYOND:  # numbering with gaps, or late by more than the window
                assert s <= w.floor[d] and (step[d] > 1 or depth > O.W // 2)
            else:
                assert g == r, (d, s)
        assert len(w.bits) <= n_dev
