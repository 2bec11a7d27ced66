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
from collections.abc import Collection

import orjson
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from alarms.receivers import SmtpReceiver, WebhookReceiver
from qorgau.alarms.models import AlarmRecord, Device, Notification, Rollup
from qorgau.alarms.schemas import ContactIn

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
    """Own Mosquitto on a free port: password file + ACL per gateway, bigger queues; every
    packet logged to mosquitto.log (the crash test reads the redeliveries there)."""
    from qorgau.alarms.ingest.mqtt import broker_files

    port = _free_port()
    pw, acl = broker_files(tmp_path, ingest=("ingest", "ingest-pw"),
                           gateways=[(mine.gateway, mine.key, mine.site_id)])
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"user {getpass.getuser()}\n"  # do not drop to 'mosquitto': tmp is 0700
                    f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n"
                    f"acl_file {acl}\nmax_queued_messages 100000\npersistence false\n"
                    f"log_type all\nlog_dest file {tmp_path / 'mosquitto.log'}\n")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert _wait(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 5)
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)


@pytest.fixture
def receivers(monkeypatch):
    """A webhook endpoint that checks signatures and an SMTP server (QORGAU_SMTP_*)."""
    hook, smtp = WebhookReceiver(secret=f"whsec-{uuid.uuid4().hex}").start(), SmtpReceiver()
    monkeypatch.setenv("QORGAU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("QORGAU_SMTP_PORT", str(smtp.port))
    yield hook, smtp
    hook.stop()
    smtp.stop()


def _contacts(db, as_, site_id: int, hook: WebhookReceiver) -> tuple[str, str]:
    """The site's tier-1 dispatchers on webhook (signed), SMS and e-mail: (phone, mailbox)."""
    from qorgau.alarms import service

    phone, mailbox = f"+7702{site_id:07d}", f"dispatch-{site_id}@shakhta.kz"
    for channel, target, secret in (("webhook", hook.url, hook.secret), ("sms", phone, ""),
                                    ("email", mailbox, "")):
        service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
            site_id=site_id, tier=1, role="dispatcher", channel=channel, target=target,
            secret=secret, lang="en"))  # the subject compared with the English record
    return phone, mailbox


def _delivered_everywhere(db, rec: AlarmRecord, hook: WebhookReceiver, smtp: SmtpReceiver,
                          phone: str, mailbox: str, sms: Collection | None = None) -> None:
    """The alarm's raise was sent to each channel once and arrived with the subject its row
    records (the contact's language): the webhook signed with the contact's secret, the mail
    at the mail server, the SMS in the driver's log (`sms`: when this process sent it)."""
    want = {("webhook", hook.url), ("sms", phone), ("email", mailbox),
            ("inapp", f"site:{rec.site_id}")}
    assert _wait(lambda: _raise_rows(db, rec.id).keys() == want and all(
        st == "sent" for st, _s in _raise_rows(db, rec.id).values()), 20), \
        _raise_rows(db, rec.id)
    subject = {ch: subj for (ch, _t), (_st, subj) in _raise_rows(db, rec.id).items()}
    assert subject["email"].startswith(f"[P{rec.priority}") and rec.kind in subject["email"]
    body = hook.verified(rec.id)[0]
    assert (body["subject"], body["kind"], body["site_id"]) == (
        subject["webhook"], rec.kind, rec.site_id)
    assert all(ok for ok, _b in hook.hits)  # nothing unsigned or signed with another key
    mails = [m for m in smtp.to(mailbox) if m.msg["Subject"] == subject["email"]]
    assert mails and mails[0].msg["To"] == mailbox
    if sms is not None:
        assert (phone, subject["sms"]) in list(sms)


def _raise_rows(db, alarm_id: int) -> dict[tuple[str, str], tuple[str, str]]:
    """(channel, target) → (status, subject) of the alarm's raise notifications; {} when a
    target has two rows (a replay planned it again)."""
    db.expire_all()
    rows = db.execute(select(Notification.channel, Notification.target, Notification.status,
                             Notification.error)
                      .where(Notification.alarm_id == alarm_id,
                             Notification.dedup_key.startswith("raise:"))).all()
    out = {(c, t): (st, subj) for c, t, st, subj in rows}
    return out if len(out) == len(rows) else {}


def _publisher(port, user, pw):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.username_pw_set(user, pw)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_mqtt_readings_alarm_notification(db, as_, mine, proc, mosquitto, receivers):
    from qorgau.alarms import notify
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.worker import drain

    hook, smtp = receivers
    phone, mailbox = _contacts(db, as_, mine.site_id, hook)
    src = MqttSource(f"mqtt://127.0.0.1:{mosquitto}", username="ingest", password="ingest-pw")
    assert src.connected.wait(5)
    # until the source closes: the worker's first tick builds every site's runtime in the test
    # database, which on a slow machine can outlast a fixed window (test_receiver_process.py)
    th = threading.Thread(target=drain, args=(src, proc), kwargs={"seconds": 180}, daemon=True)
    th.start()
    pub = _publisher(mosquitto, mine.gateway, mine.key)
    try:
        now = time.time()
        msg = {"site_id": mine.site_id, "readings": [{"s": i, "t": now - 5 + i, "v": 0.5 + 0.3 * i}
                                                     for i in range(5)]}
        topic = f"qorgau/{mine.site_id}/CH4-1/telemetry"
        pub.publish(topic, orjson.dumps(msg), qos=1).wait_for_publish(5)
        # a gateway may not publish for another site (ACL): silently dropped by the broker
        pub.publish(f"qorgau/{mine.site_id + 1}/CH4-1/telemetry", orjson.dumps(msg), qos=1)
        ok = _wait(lambda: db.scalar(select(func.count()).select_from(AlarmRecord).where(
            AlarmRecord.site_id == mine.site_id, AlarmRecord.kind == "HIHI")) == 1, 120)
        assert ok
        hihi = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                                   AlarmRecord.kind == "HIHI"))
        assert _wait(lambda: db.scalar(select(Notification.status).where(
            Notification.alarm_id == hihi.id, Notification.channel == "inapp")) == "sent")
        assert any(m.get("id") == hihi.id for m in notify.HUB.recent)
        _delivered_everywhere(db, hihi, hook, smtp, phone, mailbox, notify.SMS_LOG)
        db.expire_all()
        assert db.get(Device, mine.devices["CH4-1"]).n_accepted == 5
    finally:
        src.close()
        pub.loop_stop()
    th.join(30)  # the drain ends with its source
    assert not th.is_alive()


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


def test_nats_readings_alarm_notification(db, as_, mine, proc, jetstream, receivers):
    from qorgau.alarms import notify

    hook, smtp = receivers
    phone, mailbox = _contacts(db, as_, mine.site_id, hook)
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
    _delivered_everywhere(db, hihi, hook, smtp, phone, mailbox, notify.SMS_LOG)
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


@pytest.mark.slow
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


WORKER_CLIENT_ID = "qorgau-alarms-worker"  # `qorgau alarms worker --source mqtt` (cli.py)


def _worker_session(port: int) -> None:
    """The worker's persistent session at the broker, as a deployed worker's first start left
    it: the subscription exists, so QoS 1 messages queue whether a worker is connected or not."""
    from qorgau.alarms.ingest.mqtt import TOPIC

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=WORKER_CLIENT_ID,
                    clean_session=False)
    c.username_pw_set("ingest", "ingest-pw")
    subscribed = threading.Event()
    c.on_subscribe = lambda *_a: subscribed.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.subscribe(TOPIC, 1)
    assert subscribed.wait(5)
    c.disconnect()
    c.loop_stop()


@pytest.mark.slow
@pytest.mark.parametrize("receiver", ["thread", "process"])
def test_kill_9_mqtt_worker_mid_stream_loses_nothing(db, db_url, as_, mine, mosquitto,
                                                      receivers, tmp_path, receiver):
    """The MQTT worker SIGKILLed while a gateway publishes (QoS 1), then restarted; with the
    receiving process (`--receiver process`) the kill leaves its child, which exits at once
    (its pipe closed) without acknowledging anything the worker had not committed. The
    guarantee is between worker and broker: the worker PUBACKs a message only after its
    commit, and its persistent session (clean_session=False, fixed client id) makes
    Mosquitto redeliver what was received but not acknowledged, and keep what was published
    while no worker ran. Every published reading is counted once in the device counters and
    the roll-ups (replays dropped by the dedup), and the HIHI raised in the stream exists once,
    with one notification per contact, delivered."""
    hook, smtp = receivers
    phone, mailbox = _contacts(db, as_, mine.site_id, hook)
    total_msgs, per_msg = 1500, 10
    total, t0 = total_msgs * per_msg, time.time() - 600
    docs = [orjson.dumps({"site_id": mine.site_id, "readings": [
        {"s": m * per_msg + j, "t": t0 + (m * per_msg + j) / 100,
         "v": 80.0 if 250 <= m < 260 else 3.0} for j in range(per_msg)]})
        for m in range(total_msgs)]
    _worker_session(mosquitto)
    # the ledger as deployed (roll-ups and counters every second); the worker sends e-mail
    # to the test's SMTP server (QORGAU_SMTP_* of this process) and webhooks to its endpoint
    env = {**os.environ, "QORGAU_VAR_DIR": str(tmp_path), "QORGAU_ALARM_FLUSH_S": "1"}
    cmd = [sys.executable, "-c", "from qorgau.alarms.cli import app; app()", "worker",
           "--source", "mqtt", "--url", f"mqtt://127.0.0.1:{mosquitto}", "--username",
           "ingest", "--password", "ingest-pw", "--seconds", "60", "--receiver", receiver]
    dev_id = mine.devices["CO-1"]

    def accepted() -> int:
        db.expire_all()
        return db.get(Device, dev_id).n_accepted

    def rolled() -> int:
        return db.scalar(select(func.coalesce(func.sum(Rollup.n), 0))
                         .where(Rollup.device_id == dev_id))

    def stored() -> int:  # readings in the segment files (fsync'ed before the PUBACK)
        return sum(f.stat().st_size for f in tmp_path.glob("alarms/segments/*/*.seg")) // 28

    pub = _publisher(mosquitto, mine.gateway, mine.key)
    acked: set[int] = set()  # PUBACKs the gateway received from the broker
    pub.on_publish = lambda c, u, mid, rc=None, props=None: acked.add(mid)
    sent: list[int] = []

    def publish(part: list[bytes], pause: float) -> None:
        for doc in part:
            sent.append(pub.publish(f"qorgau/{mine.site_id}/CO-1/telemetry", doc, qos=1).mid)
            time.sleep(pause)

    w = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the stream starts while the worker loads; once it is taking readings, the rest comes
    # at ~300 messages/s, so the stream outlasts the kill and goes on while no worker runs
    publish(docs[:100], 0)
    gateway = threading.Thread(target=publish, args=(docs[100:], 0.003), daemon=True)
    try:
        assert _wait(lambda: stored() >= 500, 30, every=0.01), "the worker took no reading"
        gateway.start()
        # killed just after the HIHI excursion: its messages may be committed but not acked
        assert _wait(lambda: stored() >= 2_700, 30, every=0.01), stored()
        os.kill(w.pid, signal.SIGKILL)
        w.wait()
        mid, published = accepted(), len(sent)
        assert mid < total and published < total_msgs, "the kill came after the stream"
        time.sleep(1.0)  # the gateway keeps publishing; the broker queues for the session
        log = open(tmp_path / "worker2.log", "w")  # noqa: SIM115
        w = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
        gateway.join(30)
        assert _wait(lambda: len(sent) == total_msgs and acked >= set(sent), 20)
        ok = _wait(lambda: accepted() == total and rolled() == total, 40)
        assert ok, f"accepted {accepted()}, rolled up {rolled()} of {total} (kill at {mid})"
        _delivered_everywhere(db, _hihi(db, dev_id), hook, smtp, phone, mailbox)
        # mid-stream: the broker sent the restarted worker again (DUP) what the killed one
        # had received and not acknowledged
        log_text = (tmp_path / "mosquitto.log").read_text()
        assert f"Sending PUBLISH to {WORKER_CLIENT_ID} (d1, q1" in log_text
    finally:
        w.kill()
        w.wait()
        pub.loop_stop()
    dev = db.get(Device, dev_id)
    assert (dev.n_accepted, dev.last_seq) == (total, total - 1)
    assert rolled() == total  # every reading in the roll-ups, none twice
    assert db.scalar(select(func.count()).select_from(AlarmRecord).where(
        AlarmRecord.device_id == dev_id, AlarmRecord.kind == "HIHI")) == 1


def _hihi(db, device_id: int) -> AlarmRecord:
    db.expire_all()
    return db.scalar(select(AlarmRecord).where(AlarmRecord.device_id == device_id,
                                               AlarmRecord.kind == "HIHI"))
