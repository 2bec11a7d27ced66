"""Health of the ingest processes: workers and the danger sentinel write their own status rows;
one that stops writing is shown as silent on the console (kk/ru/en) and in the metrics API;
a clean exit is "stopped", not an alarm; a heartbeat never takes ingest down with it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from alarms.test_brokers import _wait, mosquitto  # noqa: F401 - fixture
from alarms.test_pages import _login
from qorgau.alarms import health
from qorgau.alarms.ingest.effects import Metrics
from qorgau.alarms.models import IngestProcess
from qorgau.core.db import utcnow

API = "/api/v1/alarms"


def _row(db, name: str) -> IngestProcess | None:
    db.expire_all()
    return db.scalar(select(IngestProcess).where(IngestProcess.name == name))


class _OneBatch:
    """A source that hands out one batch, then nothing (a worker loop with an idle queue)."""

    name = "test"

    def __init__(self, site_id: int, doc: dict) -> None:
        self.items = [(site_id, doc, lambda: None)]
        self.closed = False  # the worker loop ends when it is set

    def fetch(self, timeout: float) -> list:
        out, self.items = self.items, []
        if not out:
            time.sleep(timeout)
        return out


def test_worker_reports_while_running_and_stopped_after(db, mine, proc) -> None:
    from qorgau.alarms.worker import drain

    src = _OneBatch(mine.site_id, mine.batch([("CO-1", 3.0, -1)]))
    name = health.Heartbeat("worker", "test").name  # the name drain's heartbeat takes
    # until the source closes, not for a fixed 3 s: the loop's first tick builds every site's
    # runtime in the test database (a hundred sites after the rest of the suite), which on a
    # slow machine outlasted the window before the first beat that counts the batch
    t = threading.Thread(target=drain, args=(src, proc), kwargs={"seconds": 180,
                                                                  "tick_every_s": 0.2})
    t.start()
    try:
        # The first beat may be written before the batch is taken: wait for one that counts it.
        assert _wait(lambda: (r := _row(db, name)) is not None and r.state == "running"
                     and r.counts.get("accepted", 0) >= 1, 120)
        row = _row(db, name)
        assert row.kind == "worker" and row.source == "test"
        assert health.status(row) == "running"
    finally:
        src.closed = True
        t.join(30)
    assert not t.is_alive()
    row = _row(db, name)
    assert row.state == "stopped" and health.status(row) == "stopped"


def _only_these(db) -> None:
    """Process rows are global (no tenant): start from none, whatever ran before."""
    db.query(IngestProcess).delete()
    db.commit()


def _silent_worker(db) -> str:
    _only_these(db)
    name = "worker-mqtt@gone-host:4242"
    now = utcnow()
    db.add(IngestProcess(name=name, kind="worker", source="mqtt", state="running", every_s=1.0,
                         started_at=now - timedelta(hours=1), seen_at=now - timedelta(seconds=90),
                         queue_depth=120, lag_s=0.4, counts={"accepted": 5}))
    db.add(IngestProcess(name="sentinel-mqtt@host:1", kind="sentinel", source="mqtt",
                         state="stopped", every_s=5.0, started_at=now - timedelta(hours=2),
                         seen_at=now - timedelta(minutes=30), queue_depth=0, lag_s=0.0,
                         counts={}))
    db.commit()
    return name


def test_a_silent_worker_is_flagged_in_the_api_and_on_the_console(client, client_as, db,
                                                                   world, mine) -> None:
    name = _silent_worker(db)
    body = client_as("inspector_krg").get(f"{API}/metrics").json()
    got = {p["name"]: p for p in body["processes"]}
    assert got[name]["status"] == "silent" and got[name]["warn"] is True
    assert got[name]["seen_s_ago"] >= 89 and got[name]["queue_depth"] == 120
    assert got["sentinel-mqtt@host:1"]["status"] == "stopped"
    assert got["sentinel-mqtt@host:1"]["warn"] is False  # a clean exit is not an alarm
    assert body["processes"][0]["name"] == name  # trouble first
    _login(client, world, "osh_krg")
    for lang, words in (("en", ("Ingest needs attention", "silent for")),
                        ("ru", ("Приём данных требует внимания", "молчит")),
                        ("kk", ("Деректер қабылдау назар аударуды қажет етеді", "үнсіз"))):
        client.get(f"/lang/{lang}?next=/")
        page = client.get(f"/alarms/sites/{mine.site_id}").text
        assert all(w in page for w in words), lang
        assert name in page and 'role="alert"' in page


def test_no_warning_for_a_process_that_is_well(client, client_as, db, world, mine) -> None:
    # Other tests' workers may write rows concurrently (the table is global), so the check is
    # about this process: listed, running, and not named in the warning. Its own metrics: the
    # process-wide ones carry whatever earlier tests in this process left (lag, broker drops).
    _only_these(db)
    name = "worker-nats@well:1"
    assert health.Heartbeat("worker", "nats", name=name, metrics=Metrics()).beat(force=True)
    got = {p["name"]: p for p in client_as("inspector_krg").get(f"{API}/metrics").json()[
        "processes"]}
    assert got[name]["status"] == "running" and got[name]["warn"] is False
    _login(client, world, "osh_krg")
    client.get("/lang/en?next=/")
    page = client.get(f"/alarms/sites/{mine.site_id}").text
    assert name in page and f"{name} (" not in page  # the warning lists "name (why)"


def test_a_heartbeat_never_raises(db, monkeypatch) -> None:
    def broken(*_a, **_k):
        raise RuntimeError("database is down")

    monkeypatch.setattr(health, "write", broken)
    assert health.Heartbeat("worker", "mqtt", name="worker-mqtt@x:1").beat(force=True) is False


def test_sentinel_reports_over_its_life(db, mine, mosquitto) -> None:  # noqa: F811
    from qorgau.alarms.ingest.mqtt import DangerScreen

    screen = DangerScreen(f"mqtt://ingest:ingest-pw@127.0.0.1:{mosquitto}", refresh_s=0.5)
    name = health.Heartbeat("sentinel", "mqtt").name
    t = threading.Thread(target=screen.run, args=(30,), kwargs={"heartbeat_s": 0.3})
    t.start()
    try:
        assert screen.ready.wait(10)
        assert _wait(lambda: (r := _row(db, name)) is not None and
                     r.counts.get("sentinel_topics", 0) >= 1, 10)
        seen = _row(db, name).seen_at
        time.sleep(0.8)
        assert _row(db, name).seen_at > seen  # it keeps beating
    finally:
        screen.stopped.set()
        t.join(10)
    assert _row(db, name).state == "stopped"
