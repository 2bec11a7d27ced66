"""The danger signal (ingest/sentinel.py): a life-safety reading at its danger limit is
announced on the live hub as its message arrives, once per excursion, ahead of the alarm
record; in scope only; from the MQTT network thread before any queue."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from alarms.test_brokers import _publisher, _wait, mosquitto  # noqa: F401 - fixture
from qorgau.alarms.ingest.parse import Columns, decode


def _watch():
    from qorgau.alarms.ingest.sentinel import DangerWatch

    got: list[tuple[int, dict]] = []
    return DangerWatch(publish=lambda site, msg: got.append((site, msg))), got


def _doc(site_id, rows):  # rows: (code, value, t)
    return {
        "site_id": site_id,
        "readings": [{"d": d, "s": k, "t": t, "v": v} for k, (d, v, t) in enumerate(rows)],
    }


def _hh(db, mine):
    from qorgau.alarms.models import Device

    return float(db.get(Device, mine.devices["CH4-1"]).limits["highhigh"])


def test_one_signal_per_excursion_in_message_order(db, mine):
    watch, got = _watch()
    hh, now, s = _hh(db, mine), time.time(), mine.site_id
    assert watch(s, "CH4-1") and not watch(s, "FAN-1")  # the priority lane's question
    rows = [("CH4-1", hh - 0.2, now), ("CH4-1", hh + 0.1, now + 1), ("CH4-1", hh + 0.5, now + 2)]
    assert watch.screen(s, _doc(s, rows)) == 1
    ((site, msg),) = got
    assert site == s and msg["type"] == "danger" and msg["kind"] == "HIHI"
    assert msg["device"] == "CH4-1" and msg["value"] == hh + 0.1 and msg["limit"] == hh
    assert msg["region_code"] == "KZ-35" and msg["zone"] == "L1" and msg["life_safety"]
    assert watch.screen(s, _doc(s, [("CH4-1", hh + 0.3, now + 3)])) == 0  # still the same one
    assert watch.screen(s, _doc(s, [("CH4-1", 0.1, now + 4), ("CH4-1", hh, now + 5)])) == 1
    columns = {
        "site_id": s,
        "d": ["CH4-1", "CH4-1"],
        "s": [9, 10],
        "t": [now + 6, now + 7],
        "v": [0.1, hh + 1],
    }
    assert watch.screen(s, columns) == 1 and len(got) == 3
    typed = decode(orjson.dumps({**columns, "s": [11, 12, 13], "t": [now + 8, now + 9, now + 10],
                                 "d": ["CH4-1", "FAN-1", "CH4-1"], "v": [0.1, 99.0, hh + 2]}))
    assert isinstance(typed, Columns)  # the columns batch as a receiver decodes it
    assert watch.screen(s, typed) == 1 and got[-1][1]["value"] == hh + 2 and len(got) == 4
    assert watch.screen(s, decode(orjson.dumps({**columns, "d": ["FAN-1"] * 2}))) == 0


def test_nothing_announced_that_the_engine_would_not_raise_at_once(db, mine, as_):
    from qorgau.alarms import service
    from qorgau.alarms.models import Device
    from qorgau.alarms.schemas import DevicePatch

    hh, now, s = _hh(db, mine), time.time(), mine.site_id
    watch, got = _watch()
    watch.screen(s, _doc(s, [("CH4-1", hh + 1, now)]))
    assert len(got) == 1
    stale = [("CH4-1", 0.0, now - 5), ("CH4-1", hh + 1, now - 1)]  # older than the latest
    bad = [
        ("CO-9", 99.0, now + 1),
        ("FAN-1", 99.0, now + 1),
        ("CH4-1", float("nan"), now + 1),
        ("CH4-1", hh + 1, now + 3600),
    ]  # unknown, not life-safety, NaN, far future
    assert watch.screen(s, _doc(s, stale + bad)) == 0
    assert watch.screen(s, {"site_id": s, "readings": "nonsense"}) == 0
    limits = {**db.get(Device, mine.devices["CH4-1"]).limits, "on_delay_s": 10.0}
    service.update_device(
        db=db,
        actor=as_("osh_krg"),
        device_id=mine.devices["CH4-1"],
        data=DevicePatch(limits=limits, reason="gas detector on-delay set"),
    )
    delayed, got2 = _watch()  # an on-delay needs the engine's state: no early signal
    assert not delayed.screen(s, _doc(s, [("CH4-1", hh + 1, now + 10)])) and not got2


def test_standing_alarm_is_not_announced_again_after_a_restart(db, mine, proc):
    hh, s = _hh(db, mine), mine.site_id
    res = proc.handle_raw(db, mine.batch([("CH4-1", hh + 0.5, -2)]), source="test")
    assert res.alarms >= 1
    watch, got = _watch()  # a fresh process: latches from the active HIHI occurrence
    assert watch.screen(s, _doc(s, [("CH4-1", hh + 0.6, time.time())])) == 0 and not got


def _stream(client, site_id, message):
    from qorgau.alarms.notify import HUB

    def later():  # once the stream has subscribed to the hub
        _wait(lambda: len(HUB._subs) > subs, 5)
        HUB.publish(message["site"], message)

    subs = len(HUB._subs)

    threading.Thread(target=later, daemon=True).start()
    q = "" if site_id is None else f"site_id={site_id}&"
    with client.stream("GET", f"/api/v1/alarms/stream?{q}max_s=1.5") as r:
        return b"".join(r.iter_bytes())


def test_console_gets_the_signal_only_in_scope(client_as, db, mine):
    from qorgau.alarms.ingest.sentinel import DangerWatch

    hh, s = _hh(db, mine), mine.site_id
    sent: list[dict] = []
    DangerWatch(publish=lambda _s, m: sent.append(m)).screen(
        s, _doc(s, [("CH4-1", hh + 1, time.time())])
    )
    (msg,) = sent
    msg["site"] = s
    own = _stream(client_as("osh_krg"), s, msg)
    assert b"event: danger" in own and b'"device":"CH4-1"' in own
    other = _stream(client_as("inspector_ala"), None, msg)  # Almaty: all its sites
    assert b"event: danger" not in other and b"CH4-1" not in other


@pytest.mark.brokers
def test_mqtt_signal_leaves_before_the_worker_takes_the_message(db, mine, mosquitto):  # noqa: F811
    from qorgau.alarms.ingest.mqtt import MqttSource

    watch, got = _watch()
    src = MqttSource(
        f"mqtt://127.0.0.1:{mosquitto}", username="ingest", password="ingest-pw", watch=watch
    )
    assert src.connected.wait(5)
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    hh, s = _hh(db, mine), mine.site_id
    body = {"site_id": s, "readings": [{"s": 0, "t": time.time(), "v": hh + 1}]}
    pub.publish(f"qorgau/{s}/CH4-1/telemetry", orjson.dumps(body), qos=1).wait_for_publish(5)
    assert _wait(lambda: len(got) == 1, 10)
    assert got[0][1]["device"] == "CH4-1" and src.urgent_waiting()  # no worker fetched it yet
    src.close()
    pub.loop_stop()


def test_a_life_safety_message_is_in_its_lane_before_its_signal_goes(
        db, mine, mosquitto):  # noqa: F811
    """The lane first, the signal right after: the signal's hub push may give up the GIL for a
    millisecond, and a message still outside its lane then was overtaken by a bulk group."""
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.ingest.sentinel import DangerWatch

    holder: list = []
    in_lane: list[bool] = []
    watch = DangerWatch(publish=lambda _site, _msg: in_lane.append(holder[0].urgent_waiting()))
    src = MqttSource(
        f"mqtt://127.0.0.1:{mosquitto}", username="ingest", password="ingest-pw", watch=watch
    )
    holder.append(src)
    assert src.connected.wait(5)
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    s = mine.site_id
    body = {"site_id": s, "readings": [{"s": 0, "t": time.time(), "v": _hh(db, mine) + 1}]}
    pub.publish(f"qorgau/{s}/CH4-1/telemetry", orjson.dumps(body), qos=1).wait_for_publish(5)
    assert _wait(lambda: len(in_lane) == 1, 10)
    assert in_lane == [True]
    src.close()
    pub.loop_stop()


@pytest.mark.brokers
def test_bulk_messages_are_decoded_and_screened_when_taken_not_on_arrival(
        db, mine, mosquitto):  # noqa: F811
    """The network thread only queues a bulk message (a site batch) as received, so it reads
    on at once to a life-safety message behind it; the batch is decoded, and a life-safety
    reading in it announced, when the worker takes it from the lane."""
    from qorgau.alarms.ingest.lanes import Raw
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.ingest.parse import Rows

    watch, got = _watch()
    src = MqttSource(
        f"mqtt://127.0.0.1:{mosquitto}", username="ingest", password="ingest-pw", watch=watch
    )
    assert src.connected.wait(5)
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    s, now = mine.site_id, time.time()
    batch = {"site_id": s, "readings": [{"d": "CO-1", "s": 0, "t": now, "v": 3.0},
                                        {"d": "CH4-1", "s": 0, "t": now, "v": _hh(db, mine) + 1}]}
    pub.publish(f"qorgau/{s}/batch/telemetry", orjson.dumps(batch), qos=1).wait_for_publish(5)
    pub.publish(f"qorgau/{s}/batch/telemetry", b"{not json", qos=1).wait_for_publish(5)
    assert _wait(lambda: len(src._bulk) == 2, 10)
    assert all(isinstance(doc, Raw) for _s, doc, _a in src._bulk) and got == []
    taken = src.fetch(0.5)
    assert isinstance(taken[0][1], Rows) and taken[0][0] == s
    assert taken[1][0] == s and taken[1][1].reason == "malformed"  # dead-lettered, its site
    assert [m["device"] for _s, m in got] == ["CH4-1"]
    src.close()
    pub.loop_stop()


@pytest.mark.brokers
def test_sentinel_process_to_web_bridge_and_no_spoofing(db, mine, mosquitto):  # noqa: F811
    """The sentinel (its own process in production, a thread here) screens the life-safety
    topic and publishes the signal; a web process's bridge puts it on its hub. A gateway
    cannot publish a fake signal (the broker's ACL)."""
    import asyncio

    from qorgau.alarms.ingest.mqtt import DangerBridge, DangerScreen
    from qorgau.alarms.notify import HUB

    url = f"mqtt://ingest:ingest-pw@127.0.0.1:{mosquitto}"
    screen = DangerScreen(url, refresh_s=0.5)
    threading.Thread(target=screen.run, args=(20,), daemon=True).start()
    bridge = DangerBridge(url)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    q = asyncio.run_coroutine_threadsafe(_subscribe(HUB, mine.site_id), loop).result(5)
    assert screen.ready.wait(10) and bridge.ready.wait(10)
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    s, hh = mine.site_id, _hh(db, mine)
    fake = {"type": "danger", "device": "CH4-1", "kind": "HIHI", "t": 1.0, "message": "fake"}
    pub.publish(f"qorgau/{s}/danger", orjson.dumps(fake), qos=1).wait_for_publish(5)
    body = {"site_id": s, "readings": [{"s": 0, "t": time.time(), "v": hh + 1}]}
    pub.publish(f"qorgau/{s}/CH4-1/telemetry", orjson.dumps(body), qos=1).wait_for_publish(5)
    got = asyncio.run_coroutine_threadsafe(asyncio.wait_for(q.get(), 10), loop).result(15)
    assert got["type"] == "danger" and got["device"] == "CH4-1" and got["value"] == hh + 1
    time.sleep(0.5)  # nothing else came: the gateway's fake signal was refused by the broker
    assert q.empty()
    bridge.close()
    screen.stopped.set()
    pub.loop_stop()
    loop.call_soon_threadsafe(loop.stop)


async def _subscribe(hub, site_id):
    return hub.subscribe(site_id)


def test_malformed_messages_never_raise_in_the_receiving_thread(db, mine):
    """The screen runs in the broker client's network thread before the parser: a payload
    that the parser will dead-letter must not raise there (it would stop the client)."""
    watch, got = _watch()
    s, hh, now = mine.site_id, _hh(db, mine), time.time()
    ok = {"d": "CH4-1", "s": 1, "t": now, "v": hh + 1}
    bad_docs = [
        {"readings": [1, "x", None, ok]},  # rows that are not objects, then a good one
        {"readings": [{**ok, "t": now + 1, "v": 0.0}, ok, "x"]},  # watched code first
        {"readings": [{"d": ["CH4-1"], "t": now, "v": 9.0}]},  # unhashable code
        {"readings": [{"d": "CH4-1", "t": 10**400, "v": 9.0}]},  # int beyond float
        {"readings": [{"d": "CH4-1", "t": now, "v": 10**400}]},
        {"d": [["x"]], "t": [now], "v": [9.0]},
        {"d": "CH4-1", "t": now, "v": 9.0},  # columns that are not lists
        {"readings": None}, [], "text", None,
    ]
    assert [watch.screen(s, d) for d in bad_docs] == [1] + [0] * 10
    assert [m["value"] for _s, m in got] == [hh + 1]


def test_database_outage_is_not_retried_on_every_message(db, mine, monkeypatch):
    """Site devices that cannot be loaded (database down) are retried after the refresh
    interval in the background, not in the receiving thread for each message."""
    from qorgau.alarms.ingest import sentinel

    calls = []

    def down(site_id):
        calls.append(site_id)
        raise ConnectionError("database unavailable")

    monkeypatch.setattr(sentinel, "_load", down)
    watch, got = _watch()
    doc = _doc(mine.site_id, [("CH4-1", 9.0, time.time())])
    assert [watch.screen(mine.site_id, doc) for _ in range(5)] == [0] * 5
    assert calls == [mine.site_id] and not got
