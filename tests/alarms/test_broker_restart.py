"""Broker restart mid-stream: ingest resumes by itself and no reading the publisher saw
acknowledged is lost or counted twice. NATS JetStream runs on a private port with its own
store, because the shared server must not be restarted. The Mosquitto half is
test_mosquitto_restart.py."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time
import uuid

import orjson
import pytest

from alarms.test_brokers import _free_port, _wait
from qorgau.alarms.models import Device

pytestmark = [pytest.mark.brokers, pytest.mark.slow]

MESSAGES, PER_MESSAGE = 60, 10


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _accepted(db, mine) -> int:
    db.expire_all()
    return db.get(Device, mine.devices["CO-1"]).n_accepted


def _docs(mine) -> list[bytes]:
    t0 = time.time() - 600
    return [orjson.dumps({"site_id": mine.site_id, "readings": [
        {"d": "CO-1", "s": m * PER_MESSAGE + j, "t": t0 + m + j / PER_MESSAGE, "v": 3.0}
        for j in range(PER_MESSAGE)]}) for m in range(MESSAGES)]


def test_nats_restart_mid_stream(db, mine, proc, tmp_path, monkeypatch) -> None:
    from qorgau.alarms.ingest import nats as ni

    port = _free_port()
    url = f"nats://127.0.0.1:{port}"
    tag = uuid.uuid4().hex[:8]
    monkeypatch.setattr(ni, "STREAM", f"QR_{tag}")
    monkeypatch.setattr(ni, "PREFIX", f"qr{tag}.telemetry")
    cmd = ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "js")]

    def start() -> subprocess.Popen:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert _wait(lambda: _port_open(port), 10)
        return p

    server = start()
    docs = [(mine.site_id, d) for d in _docs(mine)]
    part = mine.site_id % ni.PARTITIONS
    total, half = MESSAGES * PER_MESSAGE, MESSAGES // 2
    handled: list[int] = []
    stop = threading.Event()
    worker = threading.Thread(target=lambda: handled.append(asyncio.run(
        ni.run(url, [part], seconds=120, proc=proc, stop=stop))), daemon=True)
    try:
        asyncio.run(ni.publish(url, docs[:half]))
        worker.start()
        # generous: on a loaded 2-core machine a group's first commit can take seconds
        assert _wait(lambda: _accepted(db, mine) >= half * PER_MESSAGE, 60)
        server.send_signal(signal.SIGTERM)  # the stream is on disk: it survives
        server.wait(10)
        server = start()
        asyncio.run(ni.publish(url, docs[half:]))  # acknowledged by JetStream
        assert _wait(lambda: _accepted(db, mine) >= total, 60), _accepted(db, mine)
        time.sleep(1.0)
        assert _accepted(db, mine) == total
    finally:
        stop.set()
        worker.join(30)
        server.send_signal(signal.SIGTERM)
        server.wait(10)
