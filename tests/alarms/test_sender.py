"""A channel that hangs does not stop the ingest worker's loop: the tick's backlog is sent by a
thread of its own (`sender.py`). Before, the loop's tick sent it, and a webhook endpoint that
accepted and never answered (three tries of the channel timeout per row) held the loop, with
every reading and life-safety alarm behind it."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select

from qorgau.alarms import worker
from qorgau.alarms.models import AlarmRecord, Device, Notification
from qorgau.core.db import get_sessionmaker, utcnow

HANG_S = 2.0


@pytest.fixture
def hanging_endpoint():
    """An HTTP endpoint that takes each connection and says nothing for HANG_S seconds."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def hold(conn: socket.socket) -> None:
        stop.wait(HANG_S)
        conn.close()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            threading.Thread(target=hold, args=(conn,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/alarms"
    stop.set()
    server.join(5)  # out of its accept before the socket closes
    srv.close()


def _status(row_id: int) -> str:
    with get_sessionmaker()() as s:
        return s.get(Notification, row_id).status


def _wait_for(cond, timeout_s: float = 10.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_a_hanging_channel_holds_no_reading_back(db, mine, proc, hanging_endpoint) -> None:
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -5)]), source="test")  # an alarm to tell
    rec = db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id)).first()
    row = Notification(dedup_key=f"hang:{rec.id}", alarm_id=rec.id,
                       enterprise_id=rec.enterprise_id, region_code=rec.region_code,
                       channel="webhook", target=hanging_endpoint, tier=1, status="pending",
                       at=utcnow() - timedelta(seconds=10))
    db.add(row)
    db.commit()
    acked: list[float] = []

    class Source:
        name, closed = "test", False

        def __init__(self) -> None:
            self.calls = 0

        def fetch(self, timeout: float) -> list:
            self.calls += 1
            if self.calls == 1:
                return []  # the tick runs: the backlog goes to the hanging endpoint
            if self.calls == 2:  # once its delivery is under way
                assert _wait_for(lambda: _status(row.id) == "sending")
                return [(mine.site_id, mine.batch([("CH4-1", 2.0, -1)]),
                         lambda: acked.append(time.monotonic()))]
            self.closed = True
            return []

    t0 = time.monotonic()
    assert worker.drain(Source(), proc, seconds=60, tick_every_s=60) == 1
    # not behind the delivery (which took 3 × HANG_S and was under way before the reading)
    assert acked and acked[0] - t0 < 1.5 * HANG_S, acked[0] - t0
    db.expire_all()
    assert db.get(Notification, row.id).status == "failed"  # tried (3 × HANG_S) and failed
    ch4 = mine.devices["CH4-1"]
    assert db.scalar(select(AlarmRecord.state).where(AlarmRecord.device_id == ch4)) \
        == "unacknowledged"
    assert db.get(Device, ch4).n_accepted == 1


def test_a_hanging_channel_holds_no_other_channel_of_a_life_safety_alarm(
        db, as_, mine, proc, hanging_endpoint) -> None:
    """A life-safety alarm's rows go to a pool of threads, a row each: the SMS goes out while
    the webhook hangs, and the loop acknowledges the next message at once. Before, the loop
    sent them one after the other before acknowledging: the SMS and every later reading
    waited for the webhook's three tries."""
    from qorgau.alarms import notify, service
    from qorgau.alarms.schemas import ContactIn

    phone = f"+7702{mine.site_id:07d}"
    for channel, target in (("webhook", hanging_endpoint), ("sms", phone)):
        service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel=channel, target=target))
    acked: list[float] = []

    class Source:
        name, closed, calls = "test", False, 0

        def fetch(self, timeout: float) -> list:
            self.calls += 1
            if self.calls == 1:  # methane far over the limit: a life-safety HIHI
                return [(mine.site_id, mine.batch([("CH4-1", 3.0, -2), ("CH4-1", 3.1, -1)]),
                         lambda: acked.append(time.monotonic()))]
            if self.calls == 2:
                return [(mine.site_id, mine.batch([("CO-1", 3.0, -1)]),
                         lambda: acked.append(time.monotonic()))]
            self.closed = True
            return []

    def texted() -> bool:
        return any(t == phone and "HIHI" in s for t, s in list(notify.SMS_LOG))

    t0 = time.monotonic()
    done = threading.Thread(target=worker.drain, args=(Source(), proc),
                            kwargs={"seconds": 60, "tick_every_s": 60})
    done.start()
    try:
        assert _wait_for(texted, 2.5 * HANG_S), "the SMS waited for the webhook"
        sms_at = time.monotonic() - t0
        # (the loop's start counts in: the old code took 3 × HANG_S)
        assert _wait_for(lambda: len(acked) == 2, 2.5 * HANG_S), acked
        assert acked[1] - t0 < 2.5 * HANG_S and sms_at < 2.5 * HANG_S
    finally:
        done.join(60)  # the worker's close waits for the pool's rows
    db.expire_all()
    hihi = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI"))
    rows = {r.channel: r for r in db.scalars(select(Notification).where(
        Notification.alarm_id == hihi.id, ~Notification.dedup_key.startswith("fb:")))}
    assert rows["sms"].status == "sent" and rows["webhook"].status == "failed"


def test_an_http_batch_is_answered_before_its_channels(db, as_, mine, proc, client,
                                                      hanging_endpoint) -> None:
    """A web process sends an HTTP batch's life-safety rows on its pool after the commit
    (the app's start installs a Sender on its processor): the gateway's request is answered
    at once, the SMS goes out while the webhook hangs. Before, the request waited for the
    webhook's three tries (3 × HANG_S) and the SMS behind them."""
    from qorgau.alarms import notify, service
    from qorgau.alarms.schemas import ContactIn

    assert proc.sender is not None  # `proc` before `client`: the app's start gave it one
    phone = f"+7703{mine.site_id:07d}"
    for channel, target in (("webhook", hanging_endpoint), ("sms", phone)):
        service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel=channel, target=target))
    t0 = time.monotonic()
    r = client.post("/api/v1/alarms/ingest", content=orjson.dumps(
        mine.batch([("CH4-1", 3.0, -2), ("CH4-1", 3.1, -1)])), headers={
        "x-gateway": mine.gateway, "x-gateway-key": mine.key,
        "content-type": "application/json"})
    answered = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert answered < 1.5 * HANG_S, answered
    assert _wait_for(lambda: any(t == phone and "HIHI" in s for t, s in list(notify.SMS_LOG)),
                     2.5 * HANG_S), "the SMS waited for the webhook"
    db.rollback()  # a fresh read
    hihi = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI"))
    webhook = db.scalar(select(Notification).where(Notification.alarm_id == hihi.id,
                                                   Notification.channel == "webhook"))
    # claimed, under way on the pool (its claim may have waited its turn for SQLite's lock)
    assert _wait_for(lambda: _status(webhook.id) == "sending", HANG_S), _status(webhook.id)
