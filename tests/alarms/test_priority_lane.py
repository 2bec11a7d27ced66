"""The MQTT priority lane: a life-safety device's message queued behind bulk messages is
fetched first, as a group of its own; the bulk follows in order; nothing is lost."""

from __future__ import annotations

import time

import orjson
import pytest

from alarms.test_brokers import _publisher, _wait, mosquitto  # noqa: F401 - fixture

pytestmark = pytest.mark.brokers


def test_life_safety_topic_is_fetched_ahead_of_queued_bulk(db, mine, proc, mosquitto):  # noqa: F811
    from qorgau.alarms.ingest.lanes import readings
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.ingest.sentinel import DangerWatch
    from qorgau.alarms.worker import _group, _single

    lanes = DangerWatch()
    assert lanes(mine.site_id, "CH4-1") and not lanes(mine.site_id, "FAN-1")  # from the DB
    src = MqttSource(f"mqtt://127.0.0.1:{mosquitto}", username="ingest", password="ingest-pw",
                     watch=lanes)
    assert src.connected.wait(5)
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    now = time.time()
    for m in range(5):  # bulk: FAN-1 in site batches, queued (no worker is fetching yet)
        doc = {"site_id": mine.site_id, "readings": [
            {"d": "FAN-1", "s": m * 10 + j, "t": now - 60 + m * 10 + j, "v": 1.0}
            for j in range(10)]}
        pub.publish(f"qorgau/{mine.site_id}/batch/telemetry", orjson.dumps(doc), qos=1)
    ls = {"site_id": mine.site_id, "readings": [{"s": 0, "t": now, "v": 2.0}]}
    pub.publish(f"qorgau/{mine.site_id}/CH4-1/telemetry", orjson.dumps(ls), qos=1
                ).wait_for_publish(5)
    assert _wait(lambda: len(src._urgent) + len(src._bulk) == 6, 10)
    assert src.urgent_waiting()
    first = src.fetch(0.5)
    assert [readings(doc) for _site, doc, _ack in first] == [1]  # alone, ahead of the bulk
    assert _single(proc, "mqtt", first[0])
    rest = src.fetch(0.5)
    assert [doc.readings[0].s for _site, doc, _ack in rest] == [0, 10, 20, 30, 40]
    assert _group(proc, src, rest) == 5
    from sqlalchemy import select

    from qorgau.alarms.models import AlarmRecord, Device

    db.expire_all()
    assert db.get(Device, mine.devices["FAN-1"]).n_accepted == 50
    assert db.scalar(select(AlarmRecord.life_safety).where(
        AlarmRecord.site_id == mine.site_id, AlarmRecord.kind == "HIHI"))
    src.close()
    pub.loop_stop()


def test_a_bulk_group_gives_way_to_a_life_safety_message_between_pieces(
        db, mine, proc, mosquitto, monkeypatch):  # noqa: F811
    """A life-safety message that comes while a bulk group is being handled waits for one
    piece of it, not for all: the group commits what it has done, the rest goes back to the
    front of the bulk lane unacknowledged, the life-safety message is fetched next, then the
    rest in order; nothing is lost or handled twice."""
    from sqlalchemy import select

    from qorgau.alarms.ingest import core, steps
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.models import AlarmRecord, Device
    from qorgau.alarms.worker import _group, _single

    monkeypatch.setattr(steps, "PIECE_READINGS", 10)  # a piece is one message here
    src = MqttSource(f"mqtt://127.0.0.1:{mosquitto}", username="ingest", password="ingest-pw")
    assert src.connected.wait(5)
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    now = time.time()
    for m in range(5):
        doc = {"site_id": mine.site_id, "readings": [
            {"d": "FAN-1", "s": m * 10 + j, "t": now - 60 + m * 10 + j, "v": 1.0}
            for j in range(10)]}
        pub.publish(f"qorgau/{mine.site_id}/batch/telemetry", orjson.dumps(doc), qos=1)
    assert _wait(lambda: len(src._bulk) == 5, 10)
    bulk = src.fetch(0.5)
    assert len(bulk) == 5 and not src.urgent_waiting()
    ls = {"site_id": mine.site_id, "readings": [{"s": 0, "t": now, "v": 2.0}]}
    pub.publish(f"qorgau/{mine.site_id}/CH4-1/telemetry", orjson.dumps(ls), qos=1
                ).wait_for_publish(5)
    assert _wait(src.urgent_waiting, 10)  # came during the bulk group
    acked: list[int] = []
    items = [(site, doc, lambda k=k, ack=ack: (acked.append(k), ack()))
             for k, (site, doc, ack) in enumerate(bulk)]
    assert _group(proc, src, items) == 1  # the first piece, committed and acknowledged
    assert acked == [0] and core.METRICS.counts["groups_cut_for_life_safety"] >= 1
    urgent = src.fetch(0.5)
    assert len(urgent) == 1 and urgent[0] not in items
    assert _single(proc, "mqtt", urgent[0])
    db.expire_all()
    assert db.get(Device, mine.devices["FAN-1"]).n_accepted == 10
    assert db.scalar(select(AlarmRecord.life_safety).where(
        AlarmRecord.site_id == mine.site_id, AlarmRecord.kind == "HIHI"))
    rest = src.fetch(0.5)
    assert rest == items[1:]  # back in their order, with their acknowledgements
    assert _group(proc, src, rest) == 4 and acked == [0, 1, 2, 3, 4]
    db.expire_all()
    assert db.get(Device, mine.devices["FAN-1"]).n_accepted == 50
    src.close()
    pub.loop_stop()
