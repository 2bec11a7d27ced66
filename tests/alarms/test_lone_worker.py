"""Lone-worker lost signal: every reading of a wearable (zone, event) is its heartbeat, its
silence raises a life-safety STALE from the timer tick, and its next reading clears it.
Through the HTTP ingest on SQLite and PostgreSQL; readings are stamped ahead of the clock
(ingest accepts up to 5 min ahead) so the ticks can stand minutes apart."""

from __future__ import annotations

import time

import orjson
from sqlalchemy import select

from qorgau.alarms import worker
from qorgau.alarms.models import AlarmRecord, Notification
from qorgau.alarms.service import ts


def _send(client, mine, code: str, extra: dict, t: float) -> None:
    s = mine.seq.get(code, 0)
    mine.seq[code] = s + 1
    body = {"site_id": mine.site_id, "readings": [{"d": code, "s": s, "t": t, **extra}]}
    r = client.post("/api/v1/alarms/ingest", content=orjson.dumps(body), headers={
        "x-gateway": mine.gateway, "x-gateway-key": mine.key,
        "content-type": "application/json"})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def _occurrences(db, mine, code: str, kind: str = "STALE") -> list[AlarmRecord]:
    db.expire_all()
    return list(db.scalars(select(AlarmRecord).where(
        AlarmRecord.device_id == mine.devices[code], AlarmRecord.kind == kind)
        .order_by(AlarmRecord.id)))


def test_positions_are_a_heartbeat_and_silence_is_a_life_safety_stale(client, db, mine, proc):
    t0 = time.time()
    for k in range(10):  # a position every 20 s for 3 minutes, the timer ticking between
        t = t0 + 20 * k
        _send(client, mine, "W-1", {"z": "L1" if k % 2 else "L2"}, t)
        worker.tick(db, proc, now=t + 19.5)
    assert _occurrences(db, mine, "W-1") == []
    (never,) = _occurrences(db, mine, "W-2")  # the other wearable, never heard: lost
    assert never.active and never.life_safety
    (gas,) = _occurrences(db, mine, "CH4-1")  # a silent gas detector: its zone unmeasured
    assert gas.life_safety and gas.priority == 2
    (fan,) = _occurrences(db, mine, "FAN-1")
    assert not fan.life_safety and fan.priority == 3
    last = t0 + 180
    worker.tick(db, proc, now=last + 59.5)
    assert _occurrences(db, mine, "W-1") == []
    worker.tick(db, proc, now=last + 60.0)  # silent for stale_s: the timer, no message
    (lost,) = _occurrences(db, mine, "W-1")
    assert lost.active and lost.life_safety and lost.state == "unacknowledged"
    assert lost.priority == 1  # a lone worker's lost signal: contacts taking only P1 get it
    assert abs(ts(lost.raised_at) - (last + 60.0)) < 1e-3
    assert db.scalar(select(Notification.id).where(Notification.alarm_id == lost.id))
    _send(client, mine, "W-1", {"z": "SAFE"}, last + 75.0)  # signal back
    (back,) = _occurrences(db, mine, "W-1")
    assert not back.active and back.state == "rtn_unack"
    assert abs(ts(back.cleared_at) - (last + 75.0)) < 1e-3
    worker.tick(db, proc, now=last + 134.0)  # 59 s after its last position: not yet
    assert not any(r.active for r in _occurrences(db, mine, "W-1"))


def test_device_events_are_a_heartbeat_and_an_sos_clears_stale(client, db, mine, proc):
    t0 = time.time()
    _send(client, mine, "W-1", {"z": "L1"}, t0)
    for k in range(4):  # W-2 sends only device events (RESET: nothing to clear)
        _send(client, mine, "W-2", {"e": "RESET"}, t0 + 30 * k)
    worker.tick(db, proc, now=t0 + 65.0)  # (the site's engine started just after t0)
    (lost,) = _occurrences(db, mine, "W-1")
    assert lost.active and lost.life_safety
    assert _occurrences(db, mine, "W-2") == []  # its last event at t0 + 90
    _send(client, mine, "W-1", {"e": "SOS"}, t0 + 70.0)
    (back,) = _occurrences(db, mine, "W-1")
    assert not back.active and abs(ts(back.cleared_at) - (t0 + 70.0)) < 1e-3
    (sos,) = _occurrences(db, mine, "W-1", "SOS")
    assert sos.active and sos.life_safety
    worker.tick(db, proc, now=t0 + 149.0)
    assert _occurrences(db, mine, "W-2") == []
    worker.tick(db, proc, now=t0 + 150.0)
    (w2,) = _occurrences(db, mine, "W-2")
    assert w2.active and w2.life_safety
