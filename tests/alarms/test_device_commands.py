"""Withdraw orders to the wearables, and the fallback of a failed delivery.

Against a real Mosquitto (own instance, the `broker_files` ACL): a life-safety CH4 HIHI in a
zone with a wearer → the withdraw command on that wearable's command topic, read by the site's
gateway only; the row is "sent" only once the broker acknowledged (a stopped broker, or nobody
subscribed: not sent). Without a broker the device channel only logs: not "sent". Fallback: a
real failing webhook (a closed port) and contacts on two tiers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import orjson
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from alarms.test_brokers import _free_port, _wait
from qorgau.alarms import delivery, dispatch, notify, positioning, records, service
from qorgau.alarms.ingest.core import METRICS
from qorgau.alarms.models import AlarmRecord, Device, Notification, Presence
from qorgau.alarms.schemas import ContactIn

DEAD_HOOK = "http://127.0.0.1:9/hook"  # nothing listens on port 9: connection refused


@pytest.fixture
def broker(tmp_path, mine, new_mines):
    """Own Mosquitto: the ingest account, the mine's gateway and another site's gateway."""
    import getpass

    from qorgau.alarms.ingest.mqtt import broker_files

    other = new_mines()
    port = _free_port()
    pw, acl = broker_files(tmp_path, ingest=("ingest", "ingest-pw"),
                           gateways=[(mine.gateway, mine.key, mine.site_id),
                                     (other.gateway, other.key, other.site_id)])
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\n"
                    f"allow_anonymous false\npassword_file {pw}\nacl_file {acl}\n"
                    "persistence false\n")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert _wait(lambda: _port_open(port), 5)
    yield port, other, proc
    proc.send_signal(signal.SIGCONT)  # a test may have left it stopped
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Gateway:
    """A gateway's MQTT client: command subscription with a persistent session (as
    docs/alarms.md asks of gateways); it may also publish telemetry."""

    def __init__(self, port: int, user: str, key: str, topic: str) -> None:
        self.got: list[tuple[str, dict]] = []
        self.subscribed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{user}-cmd",
                             clean_session=False)
        self.c.username_pw_set(user, key)
        self.c.on_connect = lambda c, *_a: c.subscribe(topic, 1)
        self.c.on_subscribe = lambda *_a: self.subscribed.set()
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, orjson.loads(m.payload)))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert self.subscribed.wait(5)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def _rows(db, alarm_id: int, channel: str) -> list[Notification]:
    """The alarm's planned rows on `channel` (not the fallbacks)."""
    db.expire_all()
    return list(db.scalars(select(Notification).where(
        Notification.alarm_id == alarm_id, Notification.channel == channel,
        ~Notification.dedup_key.startswith("fb:")).order_by(Notification.id)))


def _fallbacks(db, alarm_id: int, channel: str) -> list[tuple[str, str, int, str]]:
    """The fallback rows of the alarm's failed `channel` row: (channel, target, tier, status)."""
    [row] = _rows(db, alarm_id, channel)
    assert row.status == "failed"
    return [(n.channel, n.target, n.tier, n.status) for n in db.scalars(
        select(Notification).where(Notification.dedup_key.startswith(f"fb:{row.id}:"))
        .order_by(Notification.id))]


def _alarm(db, mine, kind: str) -> AlarmRecord:
    db.expire_all()
    return db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == kind))


def _methane_with_wearer(db, mine, proc) -> AlarmRecord:
    """W-1 in the longwall L1, W-2 at the shaft station, then CH4 2 % in L1 (HIHI)."""
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5), ("W-2", {"z": "SAFE"}, -5)]),
                    source="test")
    proc.handle_raw(db, mine.batch([("CH4-1", 2.0, -2), ("CH4-1", 2.1, -1)]), source="test")
    rec = _alarm(db, mine, "HIHI")
    assert rec is not None and rec.life_safety
    return rec


def _contact(db, as_, mine, tier: int, role: str, channel: str, target: str, **kw) -> None:
    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=tier, role=role, channel=channel, target=target, **kw))


# --- device commands over MQTT ----------------------------------------------------------------

@pytest.mark.brokers
def test_withdraw_command_reaches_the_gateway_after_puback(db, mine, proc, broker):
    from qorgau.alarms.ingest.mqtt import CommandPublisher

    port, other, _ = broker
    gw = Gateway(port, mine.gateway, mine.key, f"qorgau/{mine.site_id}/+/command")
    # another site's gateway asks for everything: the ACL gives it none of this site's commands
    nosy = Gateway(port, other.gateway, other.key, "qorgau/#")
    pub = CommandPublisher(f"mqtt://ingest:ingest-pw@127.0.0.1:{port}")
    try:
        assert pub.ready.wait(5)
        rec = _methane_with_wearer(db, mine, proc)
        # the fast path delivered it before handle_raw returned, with the broker's PUBACK
        assert [(r.target, r.status) for r in _rows(db, rec.id, "device")] == [("W-1", "sent")]
        assert _wait(lambda: gw.got, 5)
        topic, cmd = gw.got[0]
        assert topic == f"qorgau/{mine.site_id}/W-1/command"
        assert (cmd["command"], cmd["device"], cmd["alarm_id"], cmd["zone"]) == (
            "withdraw", "W-1", rec.id, "L1")
        # the machine code, and the screen's text in the site's language (ru), short
        assert (cmd["code"], cmd["lang"], cmd["display"]) == (
            "WITHDRAW", "ru", "ВЫХОД! Метан. Покиньте зону L1")
        assert {t for t, _ in gw.got} == {topic}  # W-2 is at the shaft station: no order
        time.sleep(0.3)
        assert nosy.got == []
    finally:
        pub.close()
        gw.close()
        nosy.close()
    assert pub.send not in notify.DEVICE_SENDERS  # closed: no longer a transport


@pytest.mark.brokers
def test_no_puback_is_not_sent(db, as_, mine, proc, broker):
    """Nobody subscribed to the command topic (the broker would drop it: MQTT 5 reason
    0x10), or a broker that does not acknowledge (stopped, the connection still up): not
    "sent"; the fallback tells the tier's dispatcher by SMS."""
    from qorgau.alarms.ingest.mqtt import CommandPublisher

    port, _, mosq = broker
    _contact(db, as_, mine, 1, "dispatcher", "sms", "+77015550101")
    pub = CommandPublisher(f"mqtt://ingest:ingest-pw@127.0.0.1:{port}", ack_timeout_s=0.3)
    try:
        assert pub.ready.wait(5)
        rec = _methane_with_wearer(db, mine, proc)
        [row] = _rows(db, rec.id, "device")
        assert row.status == "failed" and "No matching subscribers" in row.error
        assert _fallbacks(db, rec.id, "device") == [("sms", "+77015550101", 1, "sent")]
        gw = Gateway(port, mine.gateway, mine.key, f"qorgau/{mine.site_id}/+/command")
        mosq.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(notify.DeliveryError, match="no PUBACK"):
                pub.send(mine.site_id, "W-1", "WITHDRAW", {"site_id": mine.site_id})
        finally:
            mosq.send_signal(signal.SIGCONT)
        gw.close()
    finally:
        pub.close()


@pytest.mark.brokers
def test_console_withdraw_in_a_web_process_with_mqtt(db, as_, mine, proc, broker, monkeypatch):
    """The web process (QORGAU_QUEUE=mqtt, credentials in QORGAU_MQTT_URL) registers the
    command publisher at start-up: the console's order reaches the gateway."""
    from qorgau.app import _device_commands
    from qorgau.core.config import get_settings

    port, _, _ = broker
    assert _device_commands() is None  # the embedded default: no broker, no transport
    monkeypatch.setenv("QORGAU_QUEUE", "mqtt")
    monkeypatch.setenv("QORGAU_MQTT_URL", f"mqtt://ingest:ingest-pw@127.0.0.1:{port}")
    get_settings.cache_clear()
    try:
        pub = _device_commands()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    gw = Gateway(port, mine.gateway, mine.key, f"qorgau/{mine.site_id}/+/command")
    try:
        assert pub.ready.wait(5) and pub.send in notify.DEVICE_SENDERS
        proc.handle_raw(db, mine.batch([("W-2", {"z": "L2"}, -1)]), source="test")
        rec = records.on_condition(db, db.get(Device, mine.devices["CH4-1"]), "HI", True,
                                   time.time(), 1.2).rec
        db.commit()
        positioning.broadcast(db=db, actor=as_("osh_krg"), site_id=mine.site_id,
                              zones=["L2"], alarm_id=rec.id)
        assert [(r.target, r.status) for r in _rows(db, rec.id, "device")] == [("W-2", "sent")]
        assert _wait(lambda: gw.got, 5)
        assert gw.got[0][0] == f"qorgau/{mine.site_id}/W-2/command"
        # the wearer's own zone (L2), not the alarm's (L1)
        assert gw.got[0][1]["display"] == "ВЫХОД! Метан. Покиньте зону L2"
        # the button's order with no alarm: the code and the wearer's zone too
        positioning.broadcast(db=db, actor=as_("osh_krg"), site_id=mine.site_id, zones=["L2"])
        assert _wait(lambda: len(gw.got) == 2, 5)
        assert (gw.got[1][1]["code"], gw.got[1][1]["display"]) == (
            "WITHDRAW", "ВЫХОД! Покиньте зону L2")
    finally:
        pub.close()
        gw.close()


@pytest.mark.brokers
def test_mqtt_worker_process_sends_the_withdraw_order(db, mine, broker, tmp_path):
    """`qorgau alarms worker --source mqtt`: readings from the gateway in, the withdraw order
    out to the same gateway, over the one broker and the ingest account."""
    port, _, _ = broker
    gw = Gateway(port, mine.gateway, mine.key, f"qorgau/{mine.site_id}/+/command")
    env = {**os.environ, "QORGAU_VAR_DIR": str(tmp_path)}
    cmd = [sys.executable, "-c", "from qorgau.alarms.cli import app; app()", "worker",
           "--source", "mqtt", "--url", f"mqtt://127.0.0.1:{port}", "--username", "ingest",
           "--password", "ingest-pw", "--seconds", "90"]
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    w = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    w1 = mine.devices["W-1"]

    def placed() -> bool:  # resent until the worker has subscribed and stored it
        db.expire_all()
        if db.get(Presence, w1) is not None:
            return True
        doc = mine.batch([("W-1", {"z": "L1"}, -1)])
        gw.c.publish(f"qorgau/{mine.site_id}/W-1/telemetry", orjson.dumps(doc), qos=1)
        return False

    try:
        assert _wait(placed, 90, every=1.0), (tmp_path / "worker.log").read_text()[-2000:]
        doc = mine.batch([("CH4-1", 2.0, -2), ("CH4-1", 2.1, -1)])
        gw.c.publish(f"qorgau/{mine.site_id}/CH4-1/telemetry", orjson.dumps(doc), qos=1)
        assert _wait(lambda: gw.got, 30)
        topic, order = gw.got[0]
        rec = _alarm(db, mine, "HIHI")
        assert topic == f"qorgau/{mine.site_id}/W-1/command" and order["alarm_id"] == rec.id
        assert _wait(lambda: [r.status for r in _rows(db, rec.id, "device")] == ["sent"], 10)
    finally:
        w.send_signal(signal.SIGINT)  # a clean stop: its sites written, leases given back
        try:
            w.wait(30)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()
        gw.close()


# --- no broker: the device channel only logs ---------------------------------------------------

def test_without_a_broker_the_order_is_not_sent(db, as_, mine, proc):
    assert notify.DEVICE_SENDERS == []  # the embedded default: no transport registered
    _contact(db, as_, mine, 1, "dispatcher", "sms", "+77015550102", lang="en")
    before = len(notify.SMS_LOG)
    rec = _methane_with_wearer(db, mine, proc)
    [row] = _rows(db, rec.id, "device")
    assert row.status == "failed" and row.error == notify.NO_DEVICE_TRANSPORT
    assert any(t == "W-1" for t, _ in notify.DEVICE_LOG)  # logged, and recorded as such
    assert "device to W-1 failed" in _alarm(db, mine, "NOTIFY_FAILED").message
    # the dispatcher is told by SMS which wearer the order did not reach
    assert any(t == "+77015550102" and s.startswith("[fallback: ") and "to W-1 failed]" in s
               for t, s in list(notify.SMS_LOG)[before:]), list(notify.SMS_LOG)[before:]


def test_the_consoles_order_commands_every_wearer_side_by_side(db, as_, mine, proc):
    """The console's order sends its commands on threads of their own (`sender.side_by_side`)
    and returns when all are done: both wearers' commands recorded (failed: no transport),
    the site's NOTIFY_FAILED raised once and counting both."""
    _contact(db, as_, mine, 1, "dispatcher", "sms", "+77015550108", lang="en")
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L2"}, -2), ("W-2", {"z": "L2"}, -1)]),
                    source="test")
    w = positioning.broadcast(db=db, actor=as_("osh_krg"), site_id=mine.site_id, zones=["L2"])
    rows = list(db.scalars(select(Notification).where(Notification.withdrawal_id == w.id)))
    assert sorted((r.target, r.status) for r in rows) == [("W-1", "failed"), ("W-2", "failed")]
    nf = list(db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                                   AlarmRecord.kind == "NOTIFY_FAILED")))
    assert len(nf) == 1 and nf[0].value == 2
    # the dispatcher is told once (the alarm's own notice, sent with the backlog)
    assert [r.target for r in _rows(db, nf[0].id, "sms")] == ["+77015550108"]


# --- fallback: same tier on another channel, then the next tier --------------------------------

def test_fallback_stays_in_the_tier(db, as_, mine, proc):
    _contact(db, as_, mine, 1, "dispatcher", "webhook", DEAD_HOOK, secret="s")
    _contact(db, as_, mine, 1, "dispatcher", "sms", "+77015550103")
    _contact(db, as_, mine, 2, "mine_rescue", "sms", "+77015550104")
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -1)]), source="test")
    rec = _alarm(db, mine, "HIHI")
    assert [r.status for r in _rows(db, rec.id, "webhook")] == ["failed"]
    # tier 1's SMS contact, not the first SMS contact of the site nor tier 2
    assert _fallbacks(db, rec.id, "webhook") == [("sms", "+77015550103", 1, "sent")]


def test_fallback_respects_routing_then_goes_up_a_tier(db, as_, mine, proc, monkeypatch):
    monkeypatch.setenv("QORGAU_SMTP_PORT", "9")  # e-mail fails too: the next one is tried
    local = datetime.now(UTC) + timedelta(hours=5)  # Kazakhstan local time
    quiet = {"quiet_start": dtime((local - timedelta(hours=1)).hour),
             "quiet_end": dtime((local + timedelta(hours=2)).hour)}
    _contact(db, as_, mine, 1, "dispatcher", "webhook", DEAD_HOOK, name="Aidar")
    _contact(db, as_, mine, 1, "dispatcher", "sms", "+77015550105", **quiet)
    _contact(db, as_, mine, 1, "inspectorate", "sms", "+77015550106")
    _contact(db, as_, mine, 1, "dispatcher", "email", "aidar@mine.kz", name="Aidar")
    _contact(db, as_, mine, 2, "mine_rescue", "sms", "+77015550107")
    # not life-safety (TWA): quiet hours and the inspectorate rule hold → Aidar's e-mail
    # (his other channel, fails), then tier 2
    proc.handle_raw(db, mine.batch([("CO-1", 2.0, -2)]), source="test")
    twa = records.on_condition(db, db.get(Device, mine.devices["CO-1"]), "TWA", True,
                               time.time(), 25.0).rec
    rows = dispatch.plan(db, [records.notice(twa, "raise")], dispatch.Context())
    db.commit()
    delivery.deliver(db, [r.id for r in rows])
    assert _fallbacks(db, twa.id, "webhook") == [("email", "aidar@mine.kz", 1, "failed"),
                                                 ("sms", "+77015550107", 2, "sent")]
    # the e-mail's own failure: not back to the webhook that failed for this alarm
    assert _fallbacks(db, twa.id, "email") == [("sms", "+77015550107", 2, "sent")]
    # life-safety: quiet hours do not hold it back, so tier 1 takes it
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -1)]), source="test")
    hihi = _alarm(db, mine, "HIHI")
    assert _fallbacks(db, hihi.id, "webhook") == [("email", "aidar@mine.kz", 1, "failed"),
                                                  ("sms", "+77015550105", 1, "sent")]


def test_no_fallback_is_counted_and_left_to_notify_failed(db, as_, mine, proc):
    _contact(db, as_, mine, 1, "dispatcher", "webhook", DEAD_HOOK)
    before = METRICS.counts["notify_no_fallback"]
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -1)]), source="test")
    rec = _alarm(db, mine, "HIHI")
    failed = [a.id for a in db.scalars(select(AlarmRecord).where(
        AlarmRecord.site_id == mine.site_id))
        if [r.status for r in _rows(db, a.id, "webhook")] == ["failed"]]
    assert rec.id in failed and all(_fallbacks(db, i, "webhook") == [] for i in failed)
    assert METRICS.counts["notify_no_fallback"] - before == len(failed)
    assert _alarm(db, mine, "NOTIFY_FAILED").active


def test_an_order_with_no_transport_is_failed_at_once_not_retried() -> None:
    """Retrying cannot create a transport, and each retry's backoff would hold up the
    life-safety deliveries after it (people's SMS and calls): one attempt. A transport that
    refuses is tried again, with backoff only between attempts."""
    from qorgau.alarms import notify

    calls: list[float] = []

    def none(*_a) -> None:
        calls.append(time.perf_counter())
        raise notify.Undeliverable("no transport")

    assert delivery.retry(none, "W-1") == "no transport" and len(calls) == 1
    calls.clear()

    def refused(*_a) -> None:
        calls.append(time.perf_counter())
        raise notify.DeliveryError("refused")

    t0 = time.perf_counter()
    assert delivery.retry(refused, "W-1", attempts=3, backoff_s=0.05) == "refused"
    assert len(calls) == 3 and time.perf_counter() - t0 < 0.05 + 0.1 + 0.1
