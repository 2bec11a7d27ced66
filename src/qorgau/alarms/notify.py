"""Notification channels: in-app live hub (SSE), HMAC-signed webhooks, SMTP e-mail, an SMS
interface with a logging driver, and device commands (withdraw orders to wearables).

Every channel is `send(target, subject, body, secret) -> None` and raises `DeliveryError`."""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import threading
import time
from collections import deque
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx
import orjson

from qorgau.core import signing

log = logging.getLogger("qorgau.alarms.notify")


class DeliveryError(Exception):
    pass


class Undeliverable(DeliveryError):
    """No way to deliver in this process (no transport): trying again cannot help, and a
    retry's backoff would hold up the life-safety deliveries after it."""


class Hub:
    """In-process pub/sub for the live console. Publishing is thread-safe; subscribers are
    asyncio queues of SSE handlers. Subscribers in other processes poll the database."""

    def __init__(self) -> None:
        self._subs: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any], int | None]] = []
        self._lock = threading.Lock()
        self.recent: deque[dict[str, Any]] = deque(maxlen=200)
        self.published = 0

    def subscribe(self, site_id: int | None) -> asyncio.Queue[Any]:
        q: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subs.append((asyncio.get_running_loop(), q, site_id))
        return q

    def unsubscribe(self, q: asyncio.Queue[Any]) -> None:
        with self._lock:
            self._subs = [s for s in self._subs if s[1] is not q]

    def publish(self, site_id: int, message: dict[str, Any]) -> None:
        message = {**message, "site_id": site_id, "published": time.time()}
        self.recent.append(message)
        self.published += 1
        with self._lock:
            subs = list(self._subs)
        for loop, q, want in subs:
            if want is None or want == site_id:
                try:
                    loop.call_soon_threadsafe(_put, q, message)
                except RuntimeError:  # loop closed: the subscriber is gone
                    self.unsubscribe(q)


def _put(q: asyncio.Queue[Any], message: dict[str, Any]) -> None:
    if q.full():
        q.get_nowait()  # a slow console loses the oldest wake-up, never the alarm (DB cursor)
    q.put_nowait(message)


HUB = Hub()


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """HMAC-SHA256 over "timestamp.body", hex; the same scheme as every outbound webhook."""
    return signing.mac(secret, body, int(timestamp))


def send_webhook(target: str, subject: str, body: dict[str, Any], secret: str) -> None:
    raw = orjson.dumps({"subject": subject, **body})
    headers = {"content-type": "application/json",
               "x-qorgau-signature": signing.sign(secret, raw)}
    try:
        r = httpx.post(target, content=raw, headers=headers, timeout=3.0)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook: {exc}") from exc
    except (httpx.InvalidURL, ValueError) as exc:  # a host IDNA refuses: no retry can help
        raise Undeliverable(f"webhook: not a URL a request can go to: {exc}") from exc
    if r.status_code >= 300:
        raise DeliveryError(f"webhook: HTTP {r.status_code}")


def send_email(target: str, subject: str, body: dict[str, Any], secret: str) -> None:
    host = os.environ.get("QORGAU_SMTP_HOST", "127.0.0.1")
    port = int(os.environ.get("QORGAU_SMTP_PORT", "25"))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alarms@qorgau.kz", target, subject
    # the text in the contact's language first, the machine fields after it
    fields = orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    msg.set_content(f"{body['text']}\n\n{fields}" if body.get("text") else fields)
    try:
        with smtplib.SMTP(host, port, timeout=3) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"smtp: {exc}") from exc


SMS_LOG: deque[tuple[str, str]] = deque(maxlen=1000)


def send_sms(target: str, subject: str, body: dict[str, Any], secret: str) -> None:
    """Logging driver: a real SMS gateway plugs in here with the same signature."""
    number = target.replace(" ", "")  # "+7 701 555 12 34" is how people write it
    if not (number.lstrip("+").isdigit() and number.isascii()):
        raise Undeliverable("sms: not a phone number")
    SMS_LOG.append((number, subject))
    log.warning("SMS to %s: %s", number, subject)


DEVICE_LOG: deque[tuple[str, str]] = deque(maxlen=5000)
# (site_id, device, subject, body) -> None, raises DeliveryError unless the transport took it;
# registered by a process with an MQTT broker (ingest.mqtt.CommandPublisher)
DeviceSender = Callable[[int, str, str, dict[str, Any]], None]
DEVICE_SENDERS: list[DeviceSender] = []
NO_DEVICE_TRANSPORT = "device: no command transport (MQTT) in this process; logged only"


def command_device(target: str, subject: str, body: dict[str, Any], secret: str) -> None:
    """The device channel: a command to a wearable ("withdraw"), logged, then given to every
    registered transport; delivered if one took it. Without any (the embedded default has
    no broker) it is only logged, and that is a DeliveryError: the row is not "sent", the
    NOTIFY_FAILED alarm and the fallback tell people instead."""
    DEVICE_LOG.append((target, subject))
    senders = list(DEVICE_SENDERS)
    if not senders:
        raise Undeliverable(NO_DEVICE_TRANSPORT)
    try:
        site_id = int(body["site_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DeliveryError("device: no site in the command") from exc
    errors = []
    for sender in senders:
        try:
            sender(site_id, target, subject, body)
        except DeliveryError as exc:
            errors.append(str(exc))
    if len(errors) == len(senders):
        raise DeliveryError("; ".join(errors))


def send_inapp(target: str, subject: str, body: dict[str, Any], secret: str) -> None:
    # the body's own `type` ("alarm", for webhook receivers) must not pass for the engine's
    # alarm message on the hub: an in-app notice is a notice
    HUB.publish(int(body.get("site_id", 0)), {**body, "type": "notice", "subject": subject})


CHANNELS: dict[str, Callable[[str, str, dict[str, Any], str], None]] = {
    "inapp": send_inapp, "webhook": send_webhook, "email": send_email, "sms": send_sms,
    "device": command_device,
}
FALLBACK = {"webhook": "sms", "email": "sms", "sms": "email", "inapp": "sms", "device": "sms"}
