"""MQTT subscriber (paho-mqtt 2.x): topics `qorgau/<site>/<device>/telemetry`, QoS 1.

The client is created with `manual_ack=True` and a persistent session (clean_session=False):
a PUBACK is sent only after the processor has committed the reading (segment fsync + DB), so
a message the broker considers delivered is durable here. Gateways authenticate to the broker
with their own credentials; `write_broker_files` (`qorgau alarms broker-config`, from the
hashes stored when each key is issued) writes a Mosquitto password file and an ACL that
lets each gateway publish only under its own site. Mosquitto drops QoS 1 messages beyond
`max_queued_messages` for a subscriber: raise it, watch `$SYS/broker/publish/messages/dropped`,
and sequence gaps per device (both in /api/v1/alarms/metrics).

Danger signal: every message is screened for life-safety readings at their danger limit
(`sentinel.py`), so the console is warned while the worker is still busy; the alarm record
follows through the lanes below. A message on a life-safety device's topic is decoded and
screened in the network thread as it arrives; any other is queued as received (`Raw`) and
decoded and screened when taken from its lane. So the network thread reads on at once: at
full load the bulk messages ahead of a life-safety one in the connection took ~0.1 ms each
to decode there, and it waited p50 9 ms (up to 24) before it was read at all.

Priority lane: messages on the topic of a life-safety device (`qorgau/<site>/<CH4-1>/telemetry`)
are queued apart and fetched first, as a group of their own, so a life-safety reading waits
for the group in progress but not for the bulk queued ahead of it nor inside a big group. A
device's messages stay in order within their lane; a reading of a life-safety device that
comes in a site batch (bulk lane) after newer ones came on its own topic is a late reading
(stored, counted, limit-checked: docs/alarms.md)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import secrets
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import paho.mqtt.client as mqtt

from qorgau.alarms.ingest.core import METRICS
from qorgau.alarms.ingest.lanes import Item, Raw, put_back, take_group
from qorgau.alarms.ingest.parse import BadPayload, Refused, decode
from qorgau.alarms.ingest.sentinel import WATCH, DangerWatch

TOPIC = "qorgau/+/+/telemetry"
SWITCH_INTERVAL_S = 0.0002
log = logging.getLogger("qorgau.alarms.mqtt")


def with_device(doc: Any, device: str) -> Any:
    """A device message may omit the device code: it is the topic's."""
    if isinstance(doc, dict):
        rows = doc.get("readings")
        if isinstance(rows, list):
            for r in rows:
                if isinstance(r, dict):
                    r.setdefault("d", device)
        elif isinstance(doc.get("s"), list) and "d" not in doc:
            doc["d"] = [device] * len(doc["s"])
    return doc


def _decoded(site_id: int, device: str, payload: bytes) -> tuple[int | None, Any]:
    """(site, document) of a message; a bad one's document is why, for its dead letter under
    the topic's site (the broker's ACL keeps a gateway to its own site's topics)."""
    try:
        return site_id, with_device(decode(payload), device)
    except BadPayload as exc:
        return site_id, Refused(exc.reason, f"{device}: {exc.detail}"[:200])
    except Exception as exc:  # a payload the checks above missed must not end the receiver
        log.exception("site %s device %s: payload not decoded", site_id, device)
        return site_id, Refused("malformed", f"{device}: {type(exc).__name__}")


class MqttSource:
    name = "mqtt"

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 client_id: str | None = None, group_messages: int = 256,
                 group_readings: int = 20_000,
                 watch: DangerWatch | None = None,
                 on_urgent: Callable[[Item], None] | None = None) -> None:
        u = urlparse(url)
        self.group_messages, self.group_readings = group_messages, group_readings
        # a life-safety message handed on by the network thread itself instead of queued (the
        # receiving process sends it to the worker at once, without waking its main thread)
        self.on_urgent = on_urgent
        self.watch = watch if watch is not None else WATCH
        self._cv = threading.Condition()
        self._urgent: deque[Item] = deque()  # the priority lane: life-safety devices' topics
        self._bulk: deque[Item] = deque()
        self._took_urgent = False  # the lane of the last group taken (for `unfetch`)
        self.closed = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"qorgau-alarms-{uuid.uuid4().hex[:6]}",
                                  clean_session=False, manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(1000)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        # set once the broker has acknowledged the subscription (SUBACK), not at CONNACK:
        # a reading published between the two would have no subscriber to go to
        self.connected = threading.Event()
        # the network thread screens for danger while the worker thread runs Python for a
        # bulk group: at the default 5 ms GIL switch interval each hand-over (socket, screen,
        # hub, SSE loop) could wait 5 ms. 0.2 ms since 2026-11-27 night: at 1 ms a
        # life-safety message still waited ~1 ms at each of its three thread hand-overs
        # (network thread, pipe reader, worker loop: p50 1.4 ms from pipe to worker at 50 K/s,
        # 0.15 at 0.2 ms); throughput ×1.08 and ×1.11 in two same-run pairs (docs/benchmarks.md)
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self.client.connect(u.hostname or "127.0.0.1", u.port or 1883, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc, props=None) -> None:
        client.subscribe([(TOPIC, 1), ("$SYS/broker/publish/messages/dropped", 0)])

    def _on_subscribe(self, client, userdata, mid, reason_codes, props=None) -> None:
        if reason_codes and not reason_codes[0].is_failure:
            self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic.startswith("$SYS/"):
            METRICS.counts["mqtt_broker_dropped"] = int(msg.payload or 0)
            client.ack(msg.mid, msg.qos)
            return
        parts = msg.topic.split("/")
        ack = self._acker(msg.mid, msg.qos)
        try:
            site_id, device = int(parts[1]), parts[2]
        except (ValueError, IndexError):
            site_id, device = None, ""
        urgent = site_id is not None and self.watch(site_id, device)
        if urgent:
            site_id, doc = _decoded(site_id, device, msg.payload)
        else:
            doc = Raw(msg.payload, device) if site_id is not None else \
                Refused("malformed", f"topic {msg.topic[:100]}")
        if urgent and self.on_urgent is not None:
            self.on_urgent((site_id, doc, ack))
        else:
            with self._cv:
                (self._urgent if urgent else self._bulk).append((site_id, doc, ack))
                self._cv.notify()
        METRICS.queue_depth = len(self._urgent) + len(self._bulk)
        # the danger signal right after: its hub push wakes the event loop (a pipe write that
        # gives up the GIL, ~1 ms to get it back under a busy worker), and a life-safety
        # message still outside its lane then was overtaken by a 20,000-reading bulk group
        if urgent and site_id is not None:
            self.watch.screen(site_id, doc)

    def _acker(self, mid: int, qos: int) -> Callable[[], None]:
        return lambda: self.client.ack(mid, qos)

    def fetch(self, timeout: float) -> list[Item]:
        """What is queued, up to `group_messages` messages / about `group_readings` readings
        (one group commit); waits only for the first. The priority lane first, as a group of
        its own; then the bulk lane. The cap bounds how long a life-safety reading that comes
        during a bulk group waits for it."""
        return self.take(timeout)[1]

    def take(self, timeout: float) -> tuple[bool, list[Item]]:
        """`fetch`, and whether the group came from the priority lane."""
        with self._cv:
            if not self._urgent and not self._bulk:
                self._cv.wait(timeout)
            urgent, out = take_group(self._urgent, self._bulk, self.group_messages,
                                     self.group_readings)
            self._took_urgent = urgent
            METRICS.queue_depth = len(self._urgent) + len(self._bulk)
        return urgent, [self._ready(it) if isinstance(it[1], Raw) else it for it in out]

    def _ready(self, item: Item) -> Item:
        """A message queued as received, decoded and screened for danger."""
        site_id, raw, ack = item
        site_id, doc = _decoded(site_id, raw.device, raw.payload)
        if site_id is not None:
            self.watch.screen(site_id, doc)
        return site_id, doc, ack

    def unfetch(self, items: list[Item]) -> None:
        """The unhandled rest of the last group taken, back to the front of its lane."""
        with self._cv:
            put_back(self._urgent, self._bulk, self._took_urgent, items)
            METRICS.queue_depth = len(self._urgent) + len(self._bulk)

    def urgent_waiting(self) -> bool:
        return bool(self._urgent)

    def close(self) -> None:
        self.closed = True
        self.client.loop_stop()
        self.client.disconnect()


DANGER_TOPIC = "qorgau/+/danger"


def _client(url: str, username: str | None, password: str | None, name: str) -> mqtt.Client:
    u = urlparse(url)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                    client_id=f"qorgau-{name}-{uuid.uuid4().hex[:6]}", clean_session=True)
    if username or u.username:  # given, or in the URL (mqtt://user:secret@host:port)
        c.username_pw_set(username or u.username, password or u.password)
    c.connect_async(u.hostname or "127.0.0.1", u.port or 1883, keepalive=30)
    return c


class DangerScreen:
    """`qorgau alarms sentinel`: a process of its own that screens the life-safety devices'
    topics for danger readings and publishes each signal on `qorgau/<site>/danger`, so the
    first warning never waits for a busy worker's GIL or CPU. It only reads (QoS 0: the
    worker's QoS 1 subscription carries the readings' durability) and subscribes to the
    topics of the life-safety devices in the database, refreshed every `refresh_s`."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 refresh_s: float = 30.0) -> None:
        self.watch = DangerWatch(ttl_s=refresh_s, publish=self._publish)
        self.refresh_s = refresh_s
        self.topics: set[str] = set()
        self.ready, self.stopped = threading.Event(), threading.Event()
        self.client = _client(url, username, password, "sentinel")
        self.client.on_connect = lambda c, *_a: self._subscribe(self.topics)
        self.client.on_subscribe = lambda *_a: self.ready.set()
        self.client.on_message = self._on_message

    def _subscribe(self, topics: set[str]) -> None:
        if topics:
            self.client.subscribe([(t, 0) for t in sorted(topics)])

    def refresh(self) -> None:
        """Follow the database: new life-safety devices are subscribed, removed ones not."""
        from sqlalchemy import select

        from qorgau.alarms.models import Device
        from qorgau.core.db import get_sessionmaker

        with get_sessionmaker()() as db:
            rows = db.execute(select(Device.site_id, Device.code).where(
                Device.life_safety.is_(True), Device.enabled.is_(True))).all()
        want = {f"qorgau/{site}/{code}/telemetry" for site, code in rows}
        gone, new = self.topics - want, want - self.topics
        self.topics = want
        if gone:
            self.client.unsubscribe(sorted(gone))
        self._subscribe(new)

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic.split("/")
        try:
            site_id = int(parts[1])
            doc = with_device(decode(msg.payload), parts[2])
        except (ValueError, IndexError, BadPayload):
            return  # the worker dead-letters it
        self.watch.screen(site_id, doc)

    def _publish(self, site_id: int, message: dict) -> None:
        self.client.publish(f"qorgau/{site_id}/danger", orjson.dumps(message), qos=1)

    def run(self, seconds: float | None = None, *, heartbeat_s: float = 5.0) -> None:
        """Screen until `seconds` pass or `stopped` is set: the topics follow the database
        every `refresh_s`, the process's health row is written every `heartbeat_s`."""
        from qorgau.alarms.health import Heartbeat

        health = Heartbeat("sentinel", "mqtt", every_s=heartbeat_s)
        self.client.loop_start()
        end = time.monotonic() + seconds if seconds else float("inf")
        next_refresh = 0.0
        try:
            while time.monotonic() < end and not self.stopped.is_set():
                if time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + self.refresh_s
                    try:
                        self.refresh()
                    except Exception as exc:  # a database outage: keep screening what we have
                        log.warning("sentinel: life-safety devices not refreshed: %s", exc)
                METRICS.counts["sentinel_topics"] = len(self.topics)
                health.beat()
                self.stopped.wait(min(heartbeat_s, max(0.0, end - time.monotonic())))
        finally:
            health.stop()
            self.client.loop_stop()
            self.client.disconnect()


class DangerBridge:
    """In a web process: danger signals from the broker (`qorgau/+/danger`, written only by
    the sentinel's account: `broker_files`) onto this process's live hub, for its SSE
    consoles. A message that is not a danger signal of the topic's site is dropped."""

    def __init__(self, url: str, *, username: str | None = None,
                 password: str | None = None) -> None:
        self.client = _client(url, username, password, "bridge")
        self.ready = threading.Event()
        self.client.on_connect = lambda c, *_a: c.subscribe(DANGER_TOPIC, 1)
        self.client.on_subscribe = lambda *_a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.loop_start()

    @staticmethod
    def _on_message(client, userdata, msg) -> None:
        from qorgau.alarms.notify import HUB

        try:
            site_id, doc = int(msg.topic.split("/")[1]), orjson.loads(msg.payload)
        except (ValueError, IndexError, orjson.JSONDecodeError):
            return
        if isinstance(doc, dict) and doc.get("type") == "danger":
            HUB.publish(site_id, doc)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


COMMAND_ACK_S = 2.0  # a broker on the LAN acknowledges in milliseconds


def command_topic(site_id: int, device: str) -> str:
    return f"qorgau/{site_id}/{device}/command"


class CommandPublisher:
    """Device commands (withdraw orders) from this process to the wearables' gateways, on
    `qorgau/<site>/<device>/command` with the ingest account (the ACL of `broker_files`: it
    writes commands, only the site's gateways read them). Registered as a transport of the
    device channel (`notify.DEVICE_SENDERS`) while open. MQTT 5, so the PUBACK says whether
    the broker took the command for a subscriber: a gateway should subscribe with a
    persistent session, so that a command waits at the broker while it reconnects."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 ack_timeout_s: float = COMMAND_ACK_S) -> None:
        from qorgau.alarms import notify

        u = urlparse(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  client_id=f"qorgau-commands-{uuid.uuid4().hex[:6]}")
        if username or u.username:  # given, or in the URL (mqtt://user:secret@host:port)
            self.client.username_pw_set(username or u.username, password or u.password)
        self.ack_timeout_s = ack_timeout_s
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self._acks: dict[int, Any] = {}  # mid → PUBACK reason code
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_a: self.ready.clear()
        self.client.on_publish = self._on_publish
        self.client.connect_async(u.hostname or "127.0.0.1", u.port or 1883, keepalive=30)
        self.client.loop_start()
        notify.DEVICE_SENDERS.append(self.send)

    def _on_connect(self, client, userdata, flags, reason_code, props=None) -> None:
        if not reason_code.is_failure:
            self.ready.set()

    def _on_publish(self, client, userdata, mid, reason_code, props=None) -> None:
        with self._lock:  # called before the message counts as published (paho)
            self._acks[mid] = reason_code

    def send(self, site_id: int, device: str, subject: str, body: dict[str, Any]) -> None:
        """Publish the command (QoS 1) and wait for the broker's PUBACK: returns only when
        the broker took it for a subscriber, else raises DeliveryError."""
        from qorgau.alarms.notify import DeliveryError

        if not device or any(ch in device for ch in "/+#"):
            raise DeliveryError(f"device: {device!r} is not a topic level")
        if not self.client.is_connected():
            raise DeliveryError("device: command broker not connected")
        topic = command_topic(site_id, device)
        info = self.client.publish(topic, orjson.dumps(command(site_id, device, subject, body)),
                                   qos=1)
        try:
            info.wait_for_publish(self.ack_timeout_s)
        except (ValueError, RuntimeError) as exc:
            raise DeliveryError(f"device: {exc}") from exc
        with self._lock:
            code = self._acks.pop(info.mid, None)
        if not info.is_published() or code is None:
            raise DeliveryError(f"device: no PUBACK for {topic} in {self.ack_timeout_s} s")
        if code.is_failure or code.value == NO_MATCHING_SUBSCRIBERS:
            raise DeliveryError(f"device: broker refused {topic}: {code}")

    def close(self) -> None:
        from qorgau.alarms import notify

        if self.send in notify.DEVICE_SENDERS:
            notify.DEVICE_SENDERS.remove(self.send)
        self.client.loop_stop()
        self.client.disconnect()


NO_MATCHING_SUBSCRIBERS = 0x10  # MQTT 5 PUBACK: taken, but no gateway subscribed: dropped


def command(site_id: int, device: str, subject: str, body: dict[str, Any]) -> dict[str, Any]:
    """The command message a gateway passes to the wearable: `code` for its logic, `display`
    (≤ 40 characters, in `lang`, the site's) for its screen; `text` is the record's subject."""
    from qorgau.alarms import texts

    screen = texts.withdraw_command(body.get("quantity"), body.get("zone"))
    return {"command": "withdraw", "site_id": site_id, "device": device,
            "alarm_id": body.get("alarm_id"), "zone": body.get("zone"), "text": subject,
            "code": body.get("code") or screen["code"],
            "display": body.get("display") or screen["display"],
            "lang": body.get("lang") or screen["lang"], "at": time.time()}


MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's default; keys are 192 random bits anyway


def mosquitto_hash(secret: str, *, salt: bytes | None = None,
                   iterations: int = MOSQUITTO_ITERATIONS) -> str:
    """A Mosquitto 2 password-file hash (`$7$`: PBKDF2-HMAC-SHA512, 12-byte salt), as
    mosquitto_passwd writes it: made when a key is issued, the only time its plaintext
    exists, so the broker configuration can be written later from the database."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return (f"$7${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def _write_atomic(path: Path, text: str, mode: int = 0o640) -> None:
    """Write beside `path` and rename over it: Mosquitto, reloading on SIGHUP, reads either
    the old file or the new one, never half of one. An existing file keeps its owner, group
    and mode (the broker's group must still be able to read it)."""
    old = path.stat() if path.exists() else None
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, old.st_mode & 0o777 if old else mode)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if old is not None:
            with contextlib.suppress(PermissionError):
                os.chown(tmp, old.st_uid, old.st_gid)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def write_broker_files(directory: Path, *, ingest: tuple[str, str],
                       gateways: list[tuple[str, str, int]]) -> tuple[Path, Path]:
    """Mosquitto password file and ACL from hashes (`mosquitto_hash`), each replaced
    atomically: the ingest user (name, hash) reads all telemetry and danger signals and
    writes commands and danger signals (sentinel), each gateway (name, hash, site) writes
    only its site's telemetry and reads only its site's commands."""
    directory.mkdir(parents=True, exist_ok=True)
    pw, acl = directory / "passwd", directory / "acl"
    accounts = [ingest, *[(g, h) for g, h, _ in gateways]]
    _write_atomic(pw, "".join(f"{user}:{h}\n" for user, h in accounts))
    # reads telemetry and danger signals only: a site's commands are read by its gateways
    lines = [f"user {ingest[0]}", "topic read qorgau/+/+/telemetry", "topic read qorgau/+/danger",
             "topic write qorgau/+/+/command", "topic write qorgau/+/danger",
             "topic read $SYS/#", ""]
    for g, _h, site in gateways:
        lines += [f"user {g}", f"topic write qorgau/{site}/+/telemetry",
                  f"topic read qorgau/{site}/+/command", ""]
    _write_atomic(acl, "\n".join(lines))
    return pw, acl


def broker_files(directory: Path, *, ingest: tuple[str, str],
                 gateways: list[tuple[str, str, int]]) -> tuple[Path, Path]:
    """`write_broker_files` from plaintext secrets (ingest (name, password), gateways (name,
    key, site)): for tests and first set-ups; `qorgau alarms broker-config` writes them from
    the hashes stored in the database."""
    return write_broker_files(
        directory, ingest=(ingest[0], mosquitto_hash(ingest[1])),
        gateways=[(g, mosquitto_hash(k), site) for g, k, site in gateways])
