"""Against the real brokers: readings in, alarm out, notification delivered; and the crash
test (kill -9 a worker mid-stream, restart it: no acknowledged reading or alarm lost)."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import orjson
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from qorgau.alarms.models import AlarmRecord, Device, Notification, Rollup

pytestmark = pytest.mark.brokers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(pred, timeout=20.0, every=0.1):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(every)
    return False


@pytest.fixture
def mosquitto(tmp_path, mine):
    """Own Mosquitto on a free port: password file + ACL per gateway, bigger queues."""
    from qorgau.alarms.ingest.mqtt import broker_files

    port = _free_port()
    pw, acl = broker_files(tmp_path, ingest=("ingest", "ingest-pw"),
                           gateways=[(mine.gateway, mine.key, mine.site_id)])
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"user {getpass.getuser()}\n"  # do not drop to 'mosquitto': tmp is 0700
                    f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n"
                    f"acl_file {acl}\nmax_queued_messages 100000\npersistence false\n")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert _wait(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 5)
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)


def _publisher(port, user, pw):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.username_pw_set(user, pw)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_mqtt_readings_alarm_notification(db, mine, proc, mosquitto):
    from qorgau.alarms import notify
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.worker import drain

    src = MqttSource(f"mqtt://127.0.0.1:{mosquitto}", username="ingest", password="ingest-pw")
    assert src.connected.wait(5)
    th = threading.Thread(target=drain, args=(src, proc), kwargs={"seconds": 8}, daemon=True)
    th.start()
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    now = time.time()
    msg = {"site_id": mine.site_id, "readings": [{"s": i, "t": now - 5 + i, "v": 0.5 + 0.3 * i}
                                                 for i in range(5)]}
    topic = f"qorgau/{mine.site_id}/CH4-1/telemetry"
    pub.publish(topic, orjson.dumps(msg), qos=1).wait_for_publish(5)
    # a gateway may not publish for another site (ACL): silently dropped by the broker
    pub.publish(f"qorgau/{mine.site_id + 1}/CH4-1/telemetry", orjson.dumps(msg), qos=1)
    ok = _wait(lambda: db.scalar(select(func.count()).select_from(AlarmRecord).where(
        AlarmRecord.site_id == mine.site_id, AlarmRecord.kind == "HIHI")) == 1)
    assert ok
    hihi = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI"))
    assert _wait(lambda: db.scalar(select(Notification.status).where(
        Notification.alarm_id == hihi.id, Notification.channel == "inapp")) == "sent")
    assert any(m.get("id") == hihi.id for m in notify.HUB.recent)
    db.expire_all()
    assert db.get(Device, mine.devices["CH4-1"]).n_accepted == 5
    src.close()
    pub.loop_stop()


def test_wrong_gateway_password_is_refused(mosquitto, mine):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.username_pw_set(mine.gateway, "wrong")
    rc = []
    c.on_connect = lambda cl, u, f, reason, p=None: rc.append(reason)
    c.connect("127.0.0.1", mosquitto)
    c.loop_start()
    assert _wait(lambda: bool(rc), 5)
    c.loop_stop()
    assert rc[0].is_failure


@pytest.fixture
def jetstream(monkeypatch):
    """A private stream and subject prefix on the shared NATS server, deleted afterwards."""
    import nats as nats_client

    from qorgau.alarms.ingest import nats as ni

    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"QT_{tag}", f"qt{tag}.telemetry"
    monkeypatch.setattr(ni, "STREAM", stream)
    monkeypatch.setattr(ni, "PREFIX", prefix)
    monkeypatch.setenv("QORGAU_ALARMS_STREAM", stream)
    monkeypatch.setenv("QORGAU_ALARMS_SUBJECT", prefix)
    monkeypatch.setenv("QORGAU_ALARMS_PARTITIONS", "16")
    yield ni

    async def drop() -> None:
        nc = await nats_client.connect("nats://127.0.0.1:4222")
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(drop())


def test_nats_readings_alarm_notification(db, mine, proc, jetstream):
    now = time.time()
    docs = [(mine.site_id, orjson.dumps(mine.batch([("CO-1", 10.0 + 20 * i, -5 + i)])))
            for i in range(4)]
    asyncio.run(jetstream.publish("nats://127.0.0.1:4222", docs))
    part = mine.site_id % jetstream.PARTITIONS
    n = asyncio.run(jetstream.run("nats://127.0.0.1:4222", [part], seconds=3, proc=proc))
    assert n == 4
    kinds = set(db.scalars(select(AlarmRecord.kind).where(AlarmRecord.site_id == mine.site_id)))
    assert {"HI", "HIHI"} <= kinds
    hihi = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI"))
    assert db.scalar(select(Notification.status).where(
        Notification.alarm_id == hihi.id, Notification.channel == "inapp")) == "sent"
    assert now > 0


def test_nats_unacked_deliveries_are_taken_over_in_order(db, mine, proc, jetstream):
    """A previous owner received messages and died without acknowledging them. The worker
    must not process newer messages first (the sequence cursor would then drop the older
    readings as duplicates when they are redelivered): it restarts the consumer from its ack
    floor, so every reading is accepted, in order, well within ack_wait."""
    import nats as nats_client
    from nats.js.api import AckPolicy, ConsumerConfig

    per_msg, total_msgs = 5, 30
    t0 = time.time() - 120
    docs = [(mine.site_id, orjson.dumps({"site_id": mine.site_id, "readings": [
        {"d": "CO-1", "s": m * per_msg + j, "t": t0 + m + j / per_msg, "v": 3.0}
        for j in range(per_msg)]})) for m in range(total_msgs)]
    asyncio.run(jetstream.publish("nats://127.0.0.1:4222", docs))
    part = mine.site_id % jetstream.PARTITIONS

    async def dead_owner() -> int:  # creates the durable consumer, takes 8 messages, no ack
        nc = await nats_client.connect("nats://127.0.0.1:4222")
        sub = await nc.jetstream().pull_subscribe(
            f"{jetstream.PREFIX}.{part}.*", durable=f"alarms-p{part}", stream=jetstream.STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30))
        got = await sub.fetch(8, timeout=2)
        await nc.close()
        return len(got)

    assert asyncio.run(dead_owner()) == 8
    n = asyncio.run(jetstream.run("nats://127.0.0.1:4222", [part], seconds=4, proc=proc))
    assert n == total_msgs
    dev = db.get(Device, mine.devices["CO-1"])
    db.refresh(dev)
    assert (dev.n_accepted, dev.n_duplicate) == (total_msgs * per_msg, 0)
    assert dev.last_seq == total_msgs * per_msg - 1


def test_kill_9_worker_mid_stream_loses_nothing(db, db_url, mine, jetstream, tmp_path):
    """At-least-once with dedup: every published reading is accepted exactly once in the
    counters, and the alarm raised in the stream (in the first group, which the kill may
    catch between its commit and its acks, so it is replayed) exists exactly once."""
    # enough that the kill lands mid-stream: the worker drains ~1,000 messages a second
    total_msgs, per_msg = 2400, 10
    docs, t0 = [], time.time() - 600
    for m in range(total_msgs):
        rows = [{"d": "CO-1", "s": m * per_msg + j, "t": t0 + (m * per_msg + j) / 100,
                 "v": 80.0 if 20 <= m < 30 else 3.0} for j in range(per_msg)]
        docs.append((mine.site_id, orjson.dumps({"site_id": mine.site_id, "readings": rows})))
    asyncio.run(jetstream.publish("nats://127.0.0.1:4222", docs))
    part = str(mine.site_id % jetstream.PARTITIONS)
    # the ledger as deployed: roll-ups and counters written every second, so the kill finds
    # readings whose roll-ups are only in the segment files and the restart replays them
    env = {**os.environ, "QORGAU_VAR_DIR": str(tmp_path), "QORGAU_ALARM_FLUSH_S": "1"}
    cmd = [sys.executable, "-c", "from qorgau.alarms.cli import app; app()", "worker",
           "--source", "nats", "--partitions", part, "--seconds", "60"]

    def accepted() -> int:
        db.expire_all()
        return db.get(Device, mine.devices["CO-1"]).n_accepted

    def stored() -> int:  # readings in the segment files (fsync'ed before the ack)
        return sum(f.stat().st_size for f in tmp_path.glob("alarms/segments/*/*.seg")) // 28

    w = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait(lambda: stored() >= 400, 60, every=0.01)
    os.kill(w.pid, signal.SIGKILL)  # mid-stream: some messages processed but not acked
    w.wait()
    mid = accepted()
    assert mid < total_msgs * per_msg
    log = open(tmp_path / "worker2.log", "w")  # noqa: SIM115
    w = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    try:
        ok = _wait(lambda: accepted() == total_msgs * per_msg, 90)
        assert ok, f"accepted {accepted()} of {total_msgs * per_msg} (after the kill: {mid})"
    finally:
        w.kill()
        w.wait()
    dev = db.get(Device, mine.devices["CO-1"])
    assert dev.n_accepted == total_msgs * per_msg and dev.last_seq == total_msgs * per_msg - 1
    rolled = db.scalar(select(func.sum(Rollup.n)).where(Rollup.device_id == dev.id))
    assert rolled == total_msgs * per_msg  # every reading in the roll-ups, none twice
    hihi = db.scalar(select(func.count()).select_from(AlarmRecord).where(
        AlarmRecord.device_id == dev.id, AlarmRecord.kind == "HIHI"))
    assert hihi == 1
