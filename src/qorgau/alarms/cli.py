"""`qorgau alarms ...` (mount `app`) and `qorgau simulate telemetry` (mount `simulate_app`)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import numpy as np
import orjson
import typer

from qorgau.alarms.scenarios import SCENARIOS, Stream, default_scenarios

app = typer.Typer(help="Alarm system: workers, broker configuration, telemetry simulator.")
simulate_app = typer.Typer(help="Simulated telemetry streams.")


@app.command()
def worker(source: Annotated[str, typer.Option(help="nats | mqtt")] = "nats",  # nosec B107
           partitions: Annotated[str, typer.Option(help="e.g. 0,1,2,3")] = "",
           seconds: Annotated[float, typer.Option(help="0 = forever")] = 0,
           url: str = "", username: str = "", password: str = "",
           receiver: Annotated[str, typer.Option(
               help="mqtt: thread (in this process) | process (receiving and JSON decoding "
                    "in a child process: for a worker that runs at full load)")] = "thread",
           ) -> None:
    """Run an alarm worker: pull/consume, process, acknowledge after commit, tick timers."""
    # B107: password="" means none given here (settings or the URL carry it), not a secret
    from qorgau.alarms.ingest import core
    from qorgau.alarms.worker import drain, settle_heap
    from qorgau.core.config import get_settings
    from qorgau.core.logs import configure_logging
    from qorgau.core.models import load_all_models

    configure_logging()  # JSON lines on stderr: start, partition take-overs, totals, failures
    load_all_models()  # a standalone worker process needs every mapped table
    s = get_settings()
    settle_heap()
    # the ledger owner's name: the same worker restarted takes its sites back at once
    core.PROCESSOR = core.Processor(
        owner=f"{socket.gethostname()}:worker:{source}:{partitions or 'all'}")
    if source == "nats":
        from qorgau.alarms.ingest import nats as nats_ingest

        parts = [int(p) for p in partitions.split(",") if p] or list(
            range(nats_ingest.PARTITIONS))
        n = asyncio.run(nats_ingest.run(url or s.nats_url, parts, seconds=seconds or None))
    elif source == "mqtt":
        from qorgau.alarms.ingest.mqtt import CommandPublisher, MqttSource
        from qorgau.alarms.ingest.receiver import ProcessSource

        if receiver not in ("thread", "process"):
            raise typer.BadParameter("receiver must be thread or process")
        src = (ProcessSource if receiver == "process" else MqttSource)(
            url or s.mqtt_url, username=username or None, password=password or None,
            client_id="qorgau-alarms-worker")
        # withdraw orders this worker delivers go to the wearables over the same broker
        commands = CommandPublisher(url or s.mqtt_url, username=username or None,
                                    password=password or None)
        try:
            n = drain(src, seconds=seconds or None)
        finally:
            commands.close()
    else:
        raise typer.BadParameter("source must be nats or mqtt")
    typer.echo(json.dumps({"batches": n}))


@app.command()
def sentinel(url: str = "", username: str = "", password: str = "",  # nosec B107
             seconds: Annotated[float, typer.Option(help="0 = forever")] = 0) -> None:
    """Screen life-safety devices' MQTT topics for danger readings in a process of its own and
    publish each signal on qorgau/<site>/danger (web processes: QORGAU_DANGER_BRIDGE_URL)."""
    from qorgau.alarms.ingest.mqtt import DangerScreen
    from qorgau.core.config import get_settings
    from qorgau.core.logs import configure_logging
    from qorgau.core.models import load_all_models

    configure_logging()
    load_all_models()
    from qorgau.alarms.worker import settle_heap

    settle_heap()  # a full collection over the models would hold the screening thread
    DangerScreen(url or get_settings().mqtt_url, username=username or None,
                 password=password or None).run(seconds or None)


# Mosquitto's queue per persistent client, sized for an ingest worker (docs/alarms.md,
# "Transports"): messages a second × seconds of worker outage it must ride through.
QUEUE_MESSAGES_PER_S = 256  # the worker's group cap (MqttSource): one full group a second
RIDE_THROUGH_S = 300  # a worker restart or a database switchover, queued without a drop
MESSAGE_BYTES = 2048  # a device's 10-s message is ~10 readings × ~40 B; room for bigger ones
# QoS 1 messages Mosquitto sends a client before its PUBACKs: the worker acks a group only
# after its commit, so at Mosquitto's default (20) no group could hold more than 20 messages
INFLIGHT_MESSAGES = 256  # the worker's group cap (MqttSource.group_messages)
BROKER_CONF = "qorgau.conf"  # ends in .conf: read by Mosquitto's include_dir


def mosquitto_conf(pw: Path, acl: Path, *, max_messages: int, max_bytes: int,
                   inflight: int = INFLIGHT_MESSAGES, persistence_location: str = "") -> str:
    """Mosquitto settings for the files broker-config writes (include_dir the folder). The
    default max_queued_messages (1000) drops QoS 1 messages of a persistent session silently
    once its subscriber is that far behind; persistence keeps the queue over a broker restart;
    max_inflight_messages lets a worker's group fill up to its cap."""
    lines = ["# written by qorgau alarms broker-config: do not edit, run it again",
             "allow_anonymous false", f"password_file {pw.resolve()}",
             f"acl_file {acl.resolve()}", f"max_queued_messages {max_messages}",
             f"max_queued_bytes {max_bytes}", f"max_inflight_messages {inflight}",
             "persistence true"]
    if persistence_location:  # Mosquitto wants the folder with its trailing slash
        lines.append(f"persistence_location {persistence_location.rstrip('/')}/")
    return "\n".join(lines) + "\n"


@app.command("broker-config")
def broker_config(
        out: Annotated[Path, typer.Option(help="directory of Mosquitto's password_file "
                                          f"(passwd), acl_file (acl) and {BROKER_CONF} "
                                          "(for include_dir)")],
        ingest_user: Annotated[str, typer.Option(
            envvar="QORGAU_MQTT_USERNAME", help="the ingest account (workers, sentinel, "
            "web processes); default: the user in QORGAU_MQTT_URL")] = "",
        ingest_password: Annotated[str, typer.Option(  # nosec B107 - "" = none given
            envvar="QORGAU_MQTT_PASSWORD", help="default: the password in "
            "QORGAU_MQTT_URL")] = "",
        messages_per_s: Annotated[int, typer.Option(
            min=1, help="telemetry messages a second the broker queues for a stopped ingest "
            "worker")] = QUEUE_MESSAGES_PER_S,
        ride_through_s: Annotated[int, typer.Option(
            min=1, help="seconds of ingest worker outage queued without a drop: "
            "max_queued_messages = messages-per-s × this")] = RIDE_THROUGH_S,
        message_bytes: Annotated[int, typer.Option(
            min=1, help="mean message size: max_queued_bytes = max_queued_messages × "
            "this")] = MESSAGE_BYTES,
        max_inflight_messages: Annotated[int, typer.Option(
            min=1, help="unacknowledged QoS 1 messages Mosquitto sends a client at once: at "
            "least the worker's group cap (Mosquitto's default of 20 caps each group commit "
            "at 20 messages); read only when Mosquitto starts")] = INFLIGHT_MESSAGES,
        persistence_location: Annotated[str, typer.Option(
            help="folder of mosquitto.db; default: the broker's own setting")] = "") -> None:
    """Write Mosquitto's password file and ACL from the database: every gateway with its
    current key (writes its site's telemetry, reads its site's commands) and the ingest
    account; and qorgau.conf with the queue sized for the ingest workers, persistence and
    the two files. Each file is replaced atomically; then reload the broker: kill -HUP <pid>
    (Mosquitto rereads all of them on it, but max_inflight_messages only on a restart)."""
    from qorgau.alarms.gateways import broker_accounts
    from qorgau.alarms.ingest.mqtt import _write_atomic, mosquitto_hash, write_broker_files
    from qorgau.core.config import get_settings
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.models import load_all_models

    u = urlparse(get_settings().mqtt_url)
    user, secret = ingest_user or u.username or "", ingest_password or u.password or ""
    if not user or not secret or any(c in user for c in ": \t\n"):
        raise typer.BadParameter("the ingest account needs a name (no ':' or spaces) and a "
                                 "password: --ingest-user/--ingest-password or QORGAU_MQTT_URL")
    load_all_models()
    with get_sessionmaker()() as db:
        gateways, no_hash = broker_accounts(db)
    if clash := [g for g in gateways if g[0] == user]:
        typer.echo(f"skipped: gateway {clash[0][0]!r} has the ingest account's name", err=True)
        gateways = [g for g in gateways if g[0] != user]
    for name in no_hash:
        typer.echo(f"skipped: gateway {name!r} has no broker hash (key issued before it was "
                   "kept): rotate its key", err=True)
    pw, acl = write_broker_files(out, ingest=(user, mosquitto_hash(secret)), gateways=gateways)
    queued = messages_per_s * ride_through_s
    conf = out / BROKER_CONF
    text = mosquitto_conf(pw, acl, max_messages=queued, max_bytes=queued * message_bytes,
                          inflight=max_inflight_messages,
                          persistence_location=persistence_location)
    old = conf.read_text() if conf.exists() else None
    restart = old is not None and _inflight_line(old) != _inflight_line(text)
    _write_atomic(conf, text)
    typer.echo(json.dumps({"password_file": str(pw), "acl_file": str(acl), "conf": str(conf),
                           "max_queued_messages": queued,
                           "max_inflight_messages": max_inflight_messages,
                           "gateways": len(gateways), "skipped": len(no_hash)}))
    if restart:  # Mosquitto 2.0 keeps its start-up value over a SIGHUP (tested on 2.0.11)
        typer.echo("max_inflight_messages changed: restart Mosquitto to apply it "
                   "(systemctl restart mosquitto)", err=True)
    else:
        typer.echo("reload Mosquitto to apply: kill -HUP $(pidof mosquitto)", err=True)


def _inflight_line(conf: str) -> str:
    """The max_inflight_messages line of a qorgau.conf's text ("" if none)."""
    return next((ln for ln in conf.splitlines() if ln.startswith("max_inflight_messages ")),
                "")


@simulate_app.command()
def telemetry(rate: Annotated[int, typer.Option(help="readings per second")] = 20,
              seconds: Annotated[int, typer.Option()] = 60,
              to: Annotated[str, typer.Option(help="http | mqtt | nats | inprocess")] = "inprocess",
              scenario: Annotated[list[str] | None, typer.Option(help=", ".join(SCENARIOS))] = None,
              url: str = "", seed: int = 1,
              gateway: Annotated[str, typer.Option(
                  envvar="QORGAU_SIM_GATEWAY", help="send as this gateway of the simulated "
                  "mine (mqtt: its broker account; http: default a new one)")] = "",
              gateway_key: Annotated[str, typer.Option(envvar="QORGAU_SIM_GATEWAY_KEY")] = "",
              username: Annotated[str, typer.Option(
                  envvar="QORGAU_MQTT_USERNAME", help="mqtt: the ingest account of the "
                  "simulator's worker")] = "",
              password: Annotated[str, typer.Option(  # nosec B107 - "" = none given
                  envvar="QORGAU_MQTT_PASSWORD")] = "",
              attempts: Annotated[int, typer.Option(
                  min=1, help="http: sends of a batch the server sheds (503) before it is "
                  "given up")] = 5,
              retry_cap: Annotated[float, typer.Option(
                  min=0, help="http: the longest Retry-After (s) waited")] = 10.0) -> None:
    """Stream a simulated Karaganda mine in real time; print ground truth and measurements
    (http: also the delivery: retries of shed batches, batches given up, refusals)."""
    from qorgau.alarms import simulate
    from qorgau.core.db import get_sessionmaker

    names = scenario or ["methane_buildup"]
    for n in names:
        if n not in SCENARIOS:
            raise typer.BadParameter(f"unknown scenario {n}")
    with get_sessionmaker()() as db:
        site = simulate.ensure_site(db)
        devices = simulate.ensure_devices(db, site, filler=max(0, rate - 11))
        gw = (gateway, gateway_key) if gateway else (
            simulate.gateway(db, site) if to == "http" else ("", ""))
        before = _accepted(db, site.id)
        seqs = simulate.next_seqs(db, site.id)
    std = {c: q for c, q in devices.items() if not c.startswith("F-")}
    filler = [c for c in devices if c.startswith("F-")][: max(0, rate - 11)]
    stream = Stream(std, default_scenarios(names, seconds), seed, seq=seqs)
    report: dict = {}  # the sender's own figures (http: its delivery)
    send, close = _sender(to, site.id, gw, url, (username, password), seqs,
                          retry=(attempts, retry_cap), report=report)
    t0, sent = time.time(), 0
    for k in range(seconds):
        rows = stream.second(k, t0 + k)
        sent += send({"site_id": site.id, "readings": rows}, filler, k, t0 + k)
        time.sleep(max(0.0, t0 + k + 1 - time.time()))
    close()
    with get_sessionmaker()() as db:
        result = simulate.evaluate(db, site.id, t0, stream.truth(t0))
        accepted = _accepted(db, site.id) - before
    typer.echo(json.dumps({"site_id": site.id, "readings_sent": sent,
                           "readings_accepted": accepted, **report, **result}, indent=1))


def _accepted(db, site_id: int) -> int:
    """The ingest's accepted-readings counters of the site's devices, summed (http, nats: the
    serving process writes them every few seconds, so a run's last ones may not show yet)."""
    from sqlalchemy import func, select

    from qorgau.alarms.models import Device

    return int(db.scalar(select(func.sum(Device.n_accepted)).where(
        Device.site_id == site_id)) or 0)


def _sender(to: str, site_id: int, gw: tuple[str, str], url: str, ingest: tuple[str, str],
            seqs: dict[str, int], *, retry: tuple[int, float] = (5, 10.0),
            report: dict | None = None):
    """(send, close): send(doc, filler, k, t) delivers one second and returns its readings;
    close() once the run is over, when what was sent has been processed. http: shed batches
    sent again per `retry` (attempts, longest wait); its delivery figures go into `report`."""
    from qorgau.core.config import get_settings
    from qorgau.core.db import get_sessionmaker

    s = get_settings()

    def filler_doc(filler: list[str], k: int, t: float) -> dict | None:
        if not filler:
            return None
        v = np.random.default_rng(k).normal(3.0, 0.3, len(filler)).round(3)
        return {"site_id": site_id, "d": filler, "s": [seqs.get(c, 0) + k for c in filler],
                "t": [t] * len(filler), "v": v.tolist()}

    def docs(doc, filler, k, t) -> list[dict]:
        return [d for d in (doc, filler_doc(filler, k, t)) if d]

    def n(ds: list[dict]) -> int:
        return sum(len(d.get("readings", d.get("s", []))) for d in ds)

    if to == "inprocess":
        from qorgau.alarms.ingest.core import processor

        def send(doc, filler, k, t):
            ds = docs(doc, filler, k, t)
            with get_sessionmaker()() as db:
                for d in ds:
                    processor().handle_raw(db, d, source="simulate")
            return n(ds)
        return send, lambda: processor().close()
    if to == "http":
        import httpx

        from qorgau.alarms.simulate import HttpDelivery

        client = httpx.Client(base_url=url or "http://127.0.0.1:8000", timeout=10,
                              headers={"x-gateway": gw[0], "x-gateway-key": gw[1]})
        delivery = HttpDelivery(client, attempts=retry[0], cap_s=retry[1])

        def send(doc, filler, k, t):
            ds = docs(doc, filler, k, t)
            for d in ds:
                delivery.post(orjson.dumps(d), n([d]))
            return n(ds)

        def close() -> None:
            client.close()
            if report is not None:
                report["delivery"] = delivery.summary()
        return send, close
    if to == "mqtt":
        return _mqtt_sender(site_id, gw, url or s.mqtt_url, ingest, docs, n)
    if to == "nats":
        from qorgau.alarms.ingest import nats as ni

        threading.Thread(target=lambda: asyncio.run(ni.run(url or s.nats_url, list(
            range(ni.PARTITIONS)))), daemon=True).start()

        def send(doc, filler, k, t):
            ds = docs(doc, filler, k, t)
            asyncio.run(ni.publish(url or s.nats_url, [(site_id, orjson.dumps(d)) for d in ds]))
            return n(ds)
        return send, lambda: time.sleep(3)
    raise typer.BadParameter("to must be http, mqtt, nats or inprocess")


def _mqtt_sender(site_id: int, gw: tuple[str, str], url: str, ingest: tuple[str, str],
                 docs, n):
    """Publishes as the gateway (a broker with an ACL lets it write only its own site's
    topics) and runs a worker on the ingest account, as `qorgau alarms worker` does. Refused
    credentials stop the run at once, not after minutes of messages the broker dropped."""
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.worker import drain

    pub = _mqtt_publisher(url, gw)
    src = MqttSource(url, username=ingest[0] or None, password=ingest[1] or None,
                     client_id="qorgau-sim-worker")
    if not src.connected.wait(10):
        src.close()
        pub.loop_stop()
        raise typer.BadParameter(f"{url}: the broker refused the ingest account or its "
                                 "subscription (--username/--password)")
    worker = threading.Thread(target=drain, args=(src,), daemon=True, name="sim-mqtt-worker")
    worker.start()
    pending: list = []  # QoS 1 publishes the broker has not acknowledged yet

    def send(doc, filler, k, t):
        by_dev: dict[str, list] = {}
        for r in doc["readings"]:
            by_dev.setdefault(r["d"], []).append(r)
        out = [(f"qorgau/{site_id}/{dev}/telemetry", {"site_id": site_id, "readings": rows})
               for dev, rows in by_dev.items()]
        out += [(f"qorgau/{site_id}/filler/telemetry", d) for d in docs(doc, filler, k, t)[1:]]
        pending[:] = [m for m in pending if not m.is_published()]
        pending.extend(pub.publish(topic, orjson.dumps(d), qos=1) for topic, d in out)
        return n([d for _t, d in out])

    def close() -> None:
        for m in pending:
            m.wait_for_publish(10)
        _settled(src)
        src.closed = True  # the worker ends after its group, acknowledged while connected
        worker.join(30)
        src.close()
        pub.loop_stop()
        pub.disconnect()
    return send, close


def _mqtt_publisher(url: str, gw: tuple[str, str]):
    import paho.mqtt.client as mqtt

    u = urlparse(url)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                      client_id=f"qorgau-sim-{uuid.uuid4().hex[:6]}")
    if gw[0]:
        pub.username_pw_set(gw[0], gw[1])
    answer: list = []
    pub.on_connect = lambda c, userdata, flags, reason, props=None: answer.append(reason)
    pub.connect(u.hostname or "127.0.0.1", u.port or 1883)
    pub.loop_start()
    end = time.time() + 10
    while not answer and time.time() < end:
        time.sleep(0.05)
    if not answer or answer[0].is_failure:
        pub.loop_stop()
        why = answer[0] if answer else "no answer"
        raise typer.BadParameter(f"{url}: the broker refused the gateway's credentials "
                                 f"(--gateway/--gateway-key): {why}")
    return pub


def _settled(src, quiet_s: float = 1.0, most_s: float = 30.0) -> None:
    """Until the worker's queue has stayed empty for quiet_s (the broker hands on what it
    acknowledged within milliseconds), at most most_s."""
    end, since = time.time() + most_s, time.time()
    while time.time() < end and time.time() - since < quiet_s:
        if src.urgent_waiting() or src._bulk:
            since = time.time()
        time.sleep(0.05)


@app.command("simulate")
def simulate_cmd(rate: int = 20, seconds: int = 60, to: str = "inprocess",
                 scenario: Annotated[list[str] | None, typer.Option()] = None) -> None:
    """Same as `qorgau simulate telemetry`."""
    telemetry(rate=rate, seconds=seconds, to=to, scenario=scenario, url="", seed=1)


_ = os
