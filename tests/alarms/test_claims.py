"""A notification's claim names its process (`core.liveness`): one claimed by a process that
has died is sent by the next process at once; one claimed by a live process is left to it
until the lease runs out."""

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
from sqlalchemy import select

from qorgau.alarms import delivery
from qorgau.alarms.models import AlarmRecord, Notification
from qorgau.core import liveness
from qorgau.core.db import utcnow


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
                   claimed_at=now, claimed_by="another-host/1/1/1")
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

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
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
    child = subprocess.Popen([sys.executable, "-c", SENDER, str(row.id)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _Endpoint.hung.wait(30), "the sender never reached the endpoint"
        db.refresh(row)
        assert (row.status, row.claimed_by.split(liveness.SEP)[2]) == ("sending", str(child.pid))
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
