"""A notification's claim names its process (`core.liveness`): one claimed by a process that
has died is sent by the next process at once; one claimed by a live process is left to it
until the lease runs out. A fallback attempt is a claimed row of its own, sent outside any
write transaction (`fallback.py`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from sqlalchemy import select, update

from alarms.receivers import closed_port
from qorgau.alarms import delivery, service
from qorgau.alarms.models import AlarmRecord, Device, Notification
from qorgau.alarms.schemas import ContactIn
from qorgau.core import liveness
from qorgau.core.db import get_sessionmaker, is_postgresql, utcnow


def _alarm(db, mine, proc) -> AlarmRecord:
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -5)]), source="test")
    return db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id)).first()


def _row(db, rec: AlarmRecord, key: str, channel: str, target: str, **kw) -> Notification:
    row = Notification(dedup_key=f"{key}:{rec.id}", alarm_id=rec.id,
                       enterprise_id=rec.enterprise_id, region_code=rec.region_code,
                       channel=channel, target=target, tier=1,
                       at=utcnow() - timedelta(seconds=30), **kw)
    db.add(row)
    db.commit()
    return row


def _ended_process() -> str:
    child = subprocess.run([sys.executable, "-c",
                            "from qorgau.core import liveness; print(liveness.me())"],
                           capture_output=True, text=True, check=True)
    return child.stdout.strip()


def test_a_dead_processs_claim_is_taken_at_once_a_live_ones_is_not(db, mine, proc) -> None:
    rec = _alarm(db, mine, proc)
    now = utcnow()  # both claims are fresh: far inside the lease
    dead = _row(db, rec, "dead", "sms", "+77015550001", status="sending", claimed_at=now,
                claimed_by=_ended_process())
    live = _row(db, rec, "live", "sms", "+77015550002", status="sending", claimed_at=now,
                claimed_by=liveness.me())
    foreign = _row(db, rec, "foreign", "sms", "+77015550003", status="sending",
                   claimed_at=now, claimed_by="another-host/b/1/1/1")
    assert delivery.deliver(db)["sent"] >= 1
    for row in (dead, live, foreign):
        db.refresh(row)
    assert (dead.status, dead.claimed_by) == ("sent", liveness.me())
    assert live.status == foreign.status == "sending"  # theirs until the lease runs out
    # the lease still takes what no one can tell about
    foreign.claimed_at = now - timedelta(seconds=delivery.CLAIM_LEASE_S + 1)
    db.commit()
    delivery.deliver(db)
    db.refresh(foreign)
    assert foreign.status == "sent"


class _Endpoint(BaseHTTPRequestHandler):
    """The first request hangs (the sender killed meanwhile); later ones are taken."""

    hung = threading.Event()
    release = threading.Event()
    bodies: list[dict] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["content-length"]))
        if not self.hung.is_set():
            self.hung.set()
            self.release.wait(30)
            return
        self.bodies.append(orjson.loads(raw))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_a) -> None:
        pass


@pytest.fixture
def endpoint():
    _Endpoint.hung.clear()
    _Endpoint.release.clear()
    _Endpoint.bodies.clear()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/alarms"
    _Endpoint.release.set()
    srv.shutdown()
    srv.server_close()


def _sender(row_id: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Another process sending one row (as a worker's fast path does)."""
    return subprocess.Popen([sys.executable, "-c", SENDER, str(row_id)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


SENDER = """import sys
from qorgau.alarms import delivery
from qorgau.core.db import get_sessionmaker
with get_sessionmaker()() as db:
    delivery.deliver(db, [int(sys.argv[1])])
"""


def test_kill_9_between_claim_and_result_is_sent_by_the_next_process(db, mine, proc,
                                                                     endpoint) -> None:
    """A sender SIGKILLed while its webhook is under way: the row stays "sending" under the
    dead process's claim, and the next process's backlog run sends it at once (at least
    once: the endpoint may have had the first request) instead of after CLAIM_LEASE_S."""
    rec = _alarm(db, mine, proc)
    row = _row(db, rec, "kill", "webhook", endpoint, status="pending")
    child = _sender(row.id)
    try:
        assert _Endpoint.hung.wait(30), "the sender never reached the endpoint"
        db.refresh(row)
        assert (row.status, row.claimed_by.split(liveness.SEP)[-2]) == ("sending", str(child.pid))
        delivery.deliver(db)  # the sender is alive: its claim holds
        db.refresh(row)
        assert row.status == "sending" and not _Endpoint.bodies
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    t0 = time.monotonic()
    delivery.deliver(db)
    db.refresh(row)
    assert row.status == "sent" and row.claimed_by == liveness.me()
    assert [b["alarm_id"] for b in _Endpoint.bodies] == [rec.id]
    assert time.monotonic() - t0 < 10  # not the lease (CLAIM_LEASE_S = 300 s)


MAILBOX = "dispatch@shakhta.kz"


@pytest.fixture
def mail_down(monkeypatch):
    monkeypatch.setenv("QORGAU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("QORGAU_SMTP_PORT", str(closed_port()))


def _mail_then_webhook(db, as_, mine, proc, endpoint) -> tuple[AlarmRecord, Notification]:
    """An alarm, then (so its own planning sends nothing) the dispatcher's e-mail (the mail
    server down) and webhook (the endpoint): a row for the e-mail, to fall back from."""
    rec = _alarm(db, mine, proc)
    for channel, target in (("email", MAILBOX), ("webhook", endpoint)):
        service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel=channel, target=target,
            name="Aigerim Bekova", lang="en"))
    return rec, _row(db, rec, "mail", "email", MAILBOX, status="pending", error="[P2] CO")


def _fallback(db, mail: Notification) -> Notification:
    db.expire_all()
    return db.scalar(select(Notification).where(
        Notification.dedup_key.startswith(f"fb:{mail.id}:")))


def test_a_hanging_fallback_holds_no_lock(db, as_, mine, proc, endpoint, mail_down) -> None:
    """While the fallback's channel hangs, the failed row and its NOTIFY_FAILED alarm are
    committed and nothing is locked: an ingest batch's write goes through at once (it waited
    for the channel's 3-s timeout on SQLite), and on PostgreSQL the NOTIFY_FAILED row can be
    locked by the next failure."""
    rec, mail = _mail_then_webhook(db, as_, mine, proc, endpoint)

    def send() -> None:
        with get_sessionmaker()() as s:
            delivery.deliver(s, [mail.id])

    t = threading.Thread(target=send)
    t.start()
    try:
        assert _Endpoint.hung.wait(30), "no fallback to the webhook"
        db.expire_all()
        assert db.get(Notification, mail.id).status == "failed"
        assert _fallback(db, mail).status == "sending"  # claimed, under way
        nf = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                                 AlarmRecord.kind == "NOTIFY_FAILED"))
        assert nf is not None and nf.active
        db.rollback()
        t0 = time.monotonic()
        with get_sessionmaker()() as s:  # an ingest batch's kind of write
            s.execute(update(Device).where(Device.id == mine.devices["CO-1"])
                      .values(n_accepted=Device.n_accepted))
            if is_postgresql(s):
                s.execute(select(AlarmRecord.id).where(AlarmRecord.id == nf.id)
                          .with_for_update(nowait=True))
            s.commit()
        assert time.monotonic() - t0 < 1.0, "the write waited for the fallback's channel"
    finally:
        _Endpoint.release.set()
        t.join(30)
    assert _fallback(db, mail).status == "failed"  # the endpoint said nothing: timed out
    assert rec.id == _fallback(db, mail).alarm_id


def test_kill_9_mid_fallback_the_attempt_is_sent_by_the_next_process(
        db, as_, mine, proc, endpoint, mail_down) -> None:
    """A sender SIGKILLed while its fallback's channel hangs: the failure, its alarm and the
    attempt were committed, so the next process sends the attempt (its subject naming the
    address that failed) at once."""
    rec, mail = _mail_then_webhook(db, as_, mine, proc, endpoint)
    child = _sender(mail.id, env=dict(os.environ))
    try:
        assert _Endpoint.hung.wait(30), "no fallback to the webhook"
        fb = _fallback(db, mail)
        assert fb.status == "sending" and fb.claimed_by.split(liveness.SEP)[-2] == str(child.pid)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert db.get(Notification, mail.id).status == "failed"
    delivery.deliver(db)
    fb = _fallback(db, mail)
    assert (fb.status, fb.claimed_by) == ("sent", liveness.me())
    # (the NOTIFY_FAILED alarm's own notice goes to the webhook too)
    (body,) = [b for b in _Endpoint.bodies if b["alarm_id"] == rec.id]
    assert "d•••@shakhta.kz" in body["subject"]


def test_failures_sent_side_by_side_raise_one_notify_failed(db, mine, proc) -> None:
    """A worker's fast path sends an alarm's rows on threads of its own: several channels
    failing at once (the network down) raise the site's NOTIFY_FAILED once, counting each
    failure, not an occurrence per thread."""
    from qorgau.alarms.sender import Sender

    rec = _alarm(db, mine, proc)
    rows = [_row(db, rec, f"down{k}", "webhook", f"http://127.0.0.1:{closed_port()}/a",
                 status="pending") for k in range(6)]
    sender = Sender()
    try:
        sender.fast([r.id for r in rows])
    finally:
        sender.close()
    db.expire_all()
    assert {db.get(Notification, r.id).status for r in rows} == {"failed"}
    nf = list(db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                                   AlarmRecord.kind == "NOTIFY_FAILED")))
    assert len(nf) == 1 and nf[0].value == len(rows), [(r.id, r.value) for r in nf]


def test_a_long_subject_falls_back(db, as_, mine, proc) -> None:
    """A fallback attempt's row keeps its subject in `error` (300 characters): the site's
    NOTIFY_FAILED names the error that raised it (up to 200 characters), and its own notice's
    fallback, in Russian, made a subject past 300; on PostgreSQL the attempt's commit failed,
    with the failure and NOTIFY_FAILED, every time the row was tried."""
    from qorgau.alarms import fallback, records, texts

    rec = _alarm(db, mine, proc)
    first = _row(db, rec, "first", "webhook", "http://127.0.0.1:1/a", status="failed",
                 error=("webhook: " + "connection refused; " * 20)[:300])
    nf = records.delivery_failed(db, first, rec).rec
    db.commit()
    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms",
        target="+77015550009", lang="ru"))
    hook = _row(db, nf, "long", "webhook", "http://127.0.0.1:1/a", status="failed",
                error="[P2] NOTIFY_FAILED")
    assert len(texts.fallback_subject(texts.fields(nf), "webhook", "127.0.0.1", "ru")) > 300
    (sms,) = fallback.contacts_for(db, hook, nf)
    attempt = fallback._claimed_attempt(db, hook, nf, sms)
    db.commit()  # as `fall_back` does, before the channel is called
    assert attempt.status == "sending" and len(attempt.error) == 300


def test_a_claim_whose_sending_raised_is_given_back(db, mine, proc, monkeypatch) -> None:
    """The fast path's thread: sending raised (the database locked past its timeout, say)
    after the claim: the row is pending again at once, for the next backlog run, not held by
    this live process until the lease runs out."""
    from qorgau.alarms import sender

    rec = _alarm(db, mine, proc)
    row = _row(db, rec, "raise", "sms", "+77015550010", status="pending")
    other = _row(db, rec, "other", "sms", "+77015550011", status="sending",
                 claimed_at=utcnow(), claimed_by="another-host/b/1/1/1")

    def broken(*_a, **_k):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(delivery, "_send", broken)
    sender._send_row(row.id)
    delivery.release(other.id)  # another process's claim is not this one's to give back
    db.expire_all()
    assert (row.status, row.claimed_by) == ("pending", None)
    assert db.get(Notification, other.id).status == "sending"
