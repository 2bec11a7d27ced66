"""Overload of HTTP ingest (the embedded default) is visible, never a silent drop: past the bound
of work in progress a batch is answered 503 + Retry-After before anything of it is stored and
counted as shed (process and site); its retry is taken whole; queue depth, lag and shed counts
are in /api/v1/alarms/metrics, the web process's health row and the console's load strip."""

from __future__ import annotations

import re
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alarms.test_brokers import _wait
from alarms.test_health import _only_these, _row
from alarms.test_pages import _login
from qorgau.alarms import health
from qorgau.alarms.ingest.admission import ADMISSION, BEAT_S, Admission
from qorgau.alarms.models import Device, IngestProcess
from qorgau.core.config import get_settings
from qorgau.core.db import utcnow

API = "/api/v1/alarms"


def _post(client, mine, body):
    return client.post(f"{API}/ingest", json=body,
                       headers={"x-gateway": mine.gateway, "x-gateway-key": mine.key})


def _accepted(db, site_id: int) -> int:
    db.expire_all()
    return int(db.scalar(select(func.sum(Device.n_accepted)).where(Device.site_id == site_id)))


def _strip(page: str) -> str:
    """The console's line for this site in the load strip."""
    m = re.search(r'<div class="load-row[^"]*" id="load-site">(.*?)</div>', page, re.S)
    assert m, "no load figures for the site"
    return m.group(1)


@pytest.fixture
def bound(monkeypatch):
    """One batch in progress at a time (the settings object is the process's own)."""
    monkeypatch.setattr(get_settings(), "alarm_ingest_max_batches", 1)


def test_a_batch_over_the_bound_is_shed_counted_and_taken_whole_on_retry(
        app, client, client_as, db, world, mine, proc, bound) -> None:
    # Batch A is taken and held in progress: the site's ingest lock is held here, as a slow
    # commit would hold it. Its readings are 30 s old, so the lag shows while it waits.
    a = mine.batch([("CO-1", 3.0 + i / 10, -30 + i) for i in range(5)])
    b = mine.batch([("CO-1", 4.0, -2), ("CH4-1", 0.3, -2), ("FAN-1", 1.0, -2)])
    api = client_as("inspector_krg")
    before = api.get(f"{API}/metrics").json()["counts"]
    # site ids repeat across the two test databases while this process's figures do not
    was = ADMISSION.load()["sites"].get(str(mine.site_id), {}).get("shed", 0)
    got: dict[str, object] = {}
    lock = proc._locks[mine.site_id]
    lock.acquire()
    try:
        t = threading.Thread(target=lambda: got.update(a=_post(client, mine, a)))
        t.start()
        assert _wait(lambda: ADMISSION.load()["queue_depth"] >= 5, 10)

        # B comes while A is in progress: 503, Retry-After, counted, nothing of it stored.
        r = _post(client, mine, b)
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["detail"][0]["type"] == "shed"

        m = api.get(f"{API}/metrics").json()
        assert m["counts"]["shed"] == before.get("shed", 0) + 1
        assert m["counts"]["shed_readings"] == before.get("shed_readings", 0) + 3
        assert m["queue_depth"] >= 5 and m["lag_s"] >= 29  # A's oldest reading: 30 s old
        own = m["http_ingest"]
        assert own["kind"] == "web" and own["warn"] is True and "shed" in own["why"]
        site = own["sites"][str(mine.site_id)]
        assert site["queue_depth"] == 5 and site["lag_s"] >= 29
        assert site["shed"] == was + 1 and site["shed_readings"] >= 3

        # The console shows it, in the site's line of the load strip, warned.
        pages = TestClient(app, base_url="https://testserver")
        _login(pages, world, "osh_krg")
        pages.get("/lang/en?next=/")
        page = pages.get(f"/alarms/sites/{mine.site_id}").text
        line = _strip(page)
        assert f'tile warn"><span class="small">Shed</span> <strong>{was + 1}</strong>' in line
        assert re.search(r'Queue</span> <strong>5</strong>', line)
        assert 'load-row warn" id="load-site"' in page
        assert "batches shed: answered 503" in page  # the warning at the top names why
    finally:
        lock.release()
    t.join(20)
    ra = got["a"]
    assert ra.status_code == 200 and ra.json()["accepted"] == 5
    assert _accepted(db, mine.site_id) == 5  # B left nothing behind

    # The gateway sends B again: taken whole, nothing a duplicate, counts exact.
    r = _post(client, mine, b)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3 and r.json()["duplicates"] == 0
    assert _accepted(db, mine.site_id) == 8
    m = api.get(f"{API}/metrics").json()
    assert m["counts"]["shed"] == before.get("shed", 0) + 1  # the retry is not shed
    site = m["http_ingest"]["sites"][str(mine.site_id)]
    assert site["queue_depth"] == 0 and site["shed"] == was + 1


def test_the_web_process_writes_its_health_row(client, db, mine, proc, bound) -> None:
    """Other processes' consoles (and silent detection) read the row, not this memory."""
    _only_these(db)
    time.sleep(BEAT_S + 0.1)  # the row is written at most every BEAT_S: the next batch's is due
    r = _post(client, mine, mine.batch([("CO-1", 3.0, -1)]))
    assert r.status_code == 200
    row = _row(db, ADMISSION.heartbeat.name)
    assert row is not None and row.kind == "web" and row.source == "http"
    assert row.state == "running" and row.counts["accepted"] >= 1
    load = row.counts["load"]
    assert load["max_batches"] == 1 and load["queue_depth"] == 0
    procs = health.processes(db)
    assert any(p["name"] == row.name and p["status"] == "running" for p in procs)


def test_site_load_is_shown_only_to_those_who_may_see_the_site(client, client_as, mine, proc,
                                                                bound) -> None:
    lock = proc._locks[mine.site_id]
    lock.acquire()
    try:
        t = threading.Thread(target=_post, args=(client, mine, mine.batch([("CO-1", 3.0, -1)])))
        t.start()
        assert _wait(lambda: ADMISSION.load()["in_flight"] >= 1, 10)
        assert _post(client, mine, mine.batch([("CO-1", 3.1, 0)])).status_code == 503
        mine.seq["CO-1"] -= 1  # the shed reading is sent again below
        krg = client_as("inspector_krg").get(f"{API}/metrics").json()["http_ingest"]
        ala = client_as("inspector_ala").get(f"{API}/metrics").json()["http_ingest"]
        assert str(mine.site_id) in krg["sites"]
        assert str(mine.site_id) not in ala["sites"]  # another region's site: not theirs
        assert ala["shed"] == krg["shed"] >= 1  # the process's own figures are infrastructure
    finally:
        lock.release()
    t.join(20)


def test_the_readings_bound_sheds_and_one_batch_alone_always_goes_in(monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "alarm_ingest_max_readings", 100)
    adm = Admission()
    now = time.time()
    a = adm.enter(7, 60, now - 3)
    assert a is not None
    assert adm.enter(7, 41, now) is None  # 101 > 100
    c = adm.enter(8, 40, now - 10)
    assert c is not None
    load = adm.load(now)
    assert load["queue_depth"] == 100 and load["in_flight"] == 2 and load["lag_s"] >= 10
    assert load["sites"]["7"]["shed"] == 1 and load["sites"]["7"]["shed_readings"] == 41
    assert load["sites"]["8"]["shed"] == 0 and load["sites"]["8"]["lag_s"] >= 10
    adm.leave(a)
    adm.leave(c)
    big = adm.enter(7, 20_000, now)  # larger than the bound, nothing else in progress
    assert big is not None
    adm.leave(big)
    assert adm.load()["queue_depth"] == 0 and adm.load()["lag_s"] == 0.0


def test_the_strip_shows_broker_drops_and_a_lagging_worker_in_each_language(
        client, db, world, mine) -> None:
    _only_these(db)
    now = utcnow()
    db.add(IngestProcess(name="worker-mqtt@drops:1", kind="worker", source="mqtt",
                         state="running", every_s=1.0, started_at=now, seen_at=now,
                         queue_depth=40, lag_s=7.5,
                         counts={"accepted": 9, "mqtt_broker_dropped": 12}))
    db.commit()
    _login(client, world, "osh_krg")
    for lang, words in (("en", ("Ingest load", "Broker dropped", "Lag, s", "Shed")),
                        ("ru", ("Нагрузка приёма данных", "Брокер отбросил", "Отставание, с",
                                "Отклонено")),
                        ("kk", ("Деректер қабылдау жүктемесі", "Брокер тастады", "Кешігу, с",
                                "Қабылданбады"))):
        client.get(f"/lang/{lang}?next=/")
        page = client.get(f"/alarms/sites/{mine.site_id}").text
        assert all(w in page for w in words), lang
        rows = re.findall(r'<div class="load-row( warn)?">(.*?)</div>', page, re.S)
        ours = [r for r in rows if "<strong>12</strong>" in r[1] and "<strong>7.5</strong>" in r[1]]
        assert len(ours) == 1 and ours[0][0] == " warn", lang
        tiles = ours[0][1]
        assert "mqtt" in tiles and "<strong>40</strong>" in tiles  # source, queue
        assert re.search(r'tile warn"><span class="small">[^<]+</span> <strong>12</strong>',
                         tiles)  # broker drops, warned
        assert re.search(r'tile warn"><span class="small">[^<]+</span> <strong>7.5</strong>',
                         tiles)  # lag over 5 s, warned


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_load_strip_on_a_phone(db, world, mine, proc, bound) -> None:
    """At 390 px the strip fits, the site's shed batch is shown, warned, in Russian."""
    import httpx

    from livesite import ARTIFACTS, live_server, phone_page, wait_js

    with live_server() as live:
        gw = httpx.Client(base_url=live, timeout=20)
        lock = proc._locks[mine.site_id]
        lock.acquire()
        try:
            t = threading.Thread(target=_post, args=(gw, mine, mine.batch(
                [("CO-1", 3.0 + i / 10, -12 + i) for i in range(40)])))
            t.start()
            assert _wait(lambda: ADMISSION.load()["in_flight"] >= 1, 10)
            assert _post(gw, mine, mine.batch([("CO-1", 3.5, 0)])).status_code == 503
            with phone_page(live, "inspector.krg") as page:
                page.goto(f"{live}/lang/ru?next=/alarms/sites/{mine.site_id}")
                wait_js(page, "!!document.getElementById('load-site')")
                site = page.locator("#load-site")
                assert "Отклонено" in site.inner_text() and "Очередь" in site.inner_text()
                assert site.locator(".tile.warn").count() >= 2  # shed, and the lag of 12 s
                assert page.evaluate("document.documentElement.scrollWidth") <= 390
                ARTIFACTS.mkdir(exist_ok=True)
                page.locator("#load").screenshot(path=str(ARTIFACTS / "overload-phone-ru.png"))
        finally:
            lock.release()
        t.join(20)
        gw.close()
