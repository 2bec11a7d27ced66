"""`qorgau alarms ...` (mount `app`) and `qorgau simulate telemetry` (mount `simulate_app`)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from typing import Annotated

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
           url: str = "", username: str = "", password: str = "") -> None:
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
        from qorgau.alarms.ingest.mqtt import MqttSource

        src = MqttSource(url or s.mqtt_url, username=username or None,
                         password=password or None, client_id="qorgau-alarms-worker")
        n = drain(src, seconds=seconds or None)
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
    DangerScreen(url or get_settings().mqtt_url, username=username or None,
                 password=password or None).run(seconds or None)


@simulate_app.command()
def telemetry(rate: Annotated[int, typer.Option(help="readings per second")] = 20,
              seconds: Annotated[int, typer.Option()] = 60,
              to: Annotated[str, typer.Option(help="http | mqtt | nats | inprocess")] = "inprocess",
              scenario: Annotated[list[str] | None, typer.Option(help=", ".join(SCENARIOS))] = None,
              url: str = "", seed: int = 1) -> None:
    """Stream a simulated Karaganda mine in real time; print ground truth and measurements."""
    from qorgau.alarms import simulate
    from qorgau.core.db import get_sessionmaker

    names = scenario or ["methane_buildup"]
    for n in names:
        if n not in SCENARIOS:
            raise typer.BadParameter(f"unknown scenario {n}")
    with get_sessionmaker()() as db:
        site = simulate.ensure_site(db)
        devices = simulate.ensure_devices(db, site, filler=max(0, rate - 11))
        gw = simulate.gateway(db, site) if to == "http" else ("", "")
    std = {c: q for c, q in devices.items() if not c.startswith("F-")}
    filler = [c for c in devices if c.startswith("F-")][: max(0, rate - 11)]
    stream = Stream(std, default_scenarios(names, seconds), seed)
    send = _sender(to, site.id, gw, url)
    t0 = time.time()
    for k in range(seconds):
        rows = stream.second(k, t0 + k)
        doc = {"site_id": site.id, "readings": rows}
        send(doc, filler, k, t0 + k)
        time.sleep(max(0.0, t0 + k + 1 - time.time()))
    time.sleep(3 if to in ("mqtt", "nats") else 0)
    if to == "inprocess":
        from qorgau.alarms.ingest.core import processor

        processor().close()
    with get_sessionmaker()() as db:
        result = simulate.evaluate(db, site.id, t0, stream.truth(t0))
    typer.echo(json.dumps({"site_id": site.id, "truth": stream.truth(t0), **result}, indent=1))


def _sender(to: str, site_id: int, gw: tuple[str, str], url: str):
    from qorgau.core.config import get_settings
    from qorgau.core.db import get_sessionmaker

    s = get_settings()

    def filler_doc(filler: list[str], k: int, t: float) -> dict | None:
        if not filler:
            return None
        v = np.random.default_rng(k).normal(3.0, 0.3, len(filler)).round(3)
        return {"site_id": site_id, "d": filler, "s": [k] * len(filler),
                "t": [t] * len(filler), "v": v.tolist()}

    if to == "inprocess":
        from qorgau.alarms.ingest.core import processor

        def send(doc, filler, k, t):
            with get_sessionmaker()() as db:
                for d in (doc, filler_doc(filler, k, t)):
                    if d:
                        processor().handle_raw(db, d, source="simulate")
        return send
    if to == "http":
        import httpx

        client = httpx.Client(base_url=url or "http://127.0.0.1:8000", timeout=10,
                              headers={"x-gateway": gw[0], "x-gateway-key": gw[1]})

        def send(doc, filler, k, t):
            for d in (doc, filler_doc(filler, k, t)):
                if d:
                    client.post("/api/v1/alarms/ingest", content=orjson.dumps(d),
                                headers={"content-type": "application/json"})
        return send
    if to == "mqtt":
        import paho.mqtt.client as mqtt

        from qorgau.alarms.ingest.mqtt import MqttSource
        from qorgau.alarms.worker import drain

        src = MqttSource(url or s.mqtt_url, client_id="qorgau-sim-worker")
        threading.Thread(target=drain, args=(src,), daemon=True).start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", int((url or s.mqtt_url).rsplit(":", 1)[1]))
        pub.loop_start()

        def send(doc, filler, k, t):
            by_dev: dict[str, list] = {}
            for r in doc["readings"]:
                by_dev.setdefault(r["d"], []).append(r)
            for dev, rows in by_dev.items():
                pub.publish(f"qorgau/{site_id}/{dev}/telemetry",
                            orjson.dumps({"site_id": site_id, "readings": rows}), qos=1)
            f = filler_doc(filler, k, t)
            if f:
                pub.publish(f"qorgau/{site_id}/filler/telemetry", orjson.dumps(f), qos=1)
        return send
    if to == "nats":
        from qorgau.alarms.ingest import nats as ni

        threading.Thread(target=lambda: asyncio.run(ni.run(url or s.nats_url, list(
            range(ni.PARTITIONS)))), daemon=True).start()

        def send(doc, filler, k, t):
            docs = [(site_id, orjson.dumps(d)) for d in (doc, filler_doc(filler, k, t)) if d]
            asyncio.run(ni.publish(url or s.nats_url, docs))
        return send
    raise typer.BadParameter("to must be http, mqtt, nats or inprocess")


@app.command("simulate")
def simulate_cmd(rate: int = 20, seconds: int = 60, to: str = "inprocess",
                 scenario: Annotated[list[str] | None, typer.Option()] = None) -> None:
    """Same as `qorgau simulate telemetry`."""
    telemetry(rate=rate, seconds=seconds, to=to, scenario=scenario, url="", seed=1)


_ = os
