"""A gateway created in the product connects over MQTT: its key's Mosquitto hash ($7$) is kept
when the key is issued, `qorgau alarms broker-config` writes the password file and ACL from
the database, and a key rotated in the API or on the page stops working on the broker after the
configuration is rewritten and Mosquitto reloaded (SIGHUP). Against a Mosquitto of the test's
own, on a free port."""

from __future__ import annotations

import base64
import getpass
import inspect
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from alarms.test_brokers import _free_port, _wait
from alarms.test_pages import _login
from qorgau.alarms import gateways
from qorgau.alarms.ingest.mqtt import mosquitto_hash, write_broker_files
from qorgau.alarms.models import Gateway
from qorgau.cli import app
from qorgau.core.audit import AuditEntry

INGEST = ["--ingest-user", "ingest", "--ingest-password", "ingest-pw"]


def _broker_config(out: Path):
    res = CliRunner().invoke(app, ["alarms", "broker-config", "--out", str(out), *INGEST])
    assert res.exit_code == 0, res.output
    return res


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="no mosquitto_passwd")
def test_hash_is_the_one_mosquitto_passwd_writes(tmp_path):
    pw = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(pw), "gw", "s3cret-key"], check=True)
    line = pw.read_text().strip()
    _user, h = line.split(":", 1)
    _, seven, iterations, salt, _digest = h.split("$")
    assert seven == "7"
    ours = mosquitto_hash("s3cret-key", salt=base64.b64decode(salt), iterations=int(iterations))
    assert ours == h
    assert mosquitto_hash("s3cret-key") != mosquitto_hash("s3cret-key")  # salted each time


def test_files_replaced_atomically_keeping_mode(tmp_path):
    pw, acl = write_broker_files(tmp_path, ingest=("ingest", "$7$h"),
                                 gateways=[("gw-a", "$7$a", 7)])
    pw.chmod(0o600)
    write_broker_files(tmp_path, ingest=("ingest", "$7$h"), gateways=[("gw-b", "$7$b", 8)])
    assert pw.read_text() == "ingest:$7$h\ngw-b:$7$b\n"
    assert "user gw-b\ntopic write qorgau/8/+/telemetry\ntopic read qorgau/8/+/command" in (
        acl.read_text())
    assert "gw-a" not in acl.read_text()
    assert pw.stat().st_mode & 0o777 == 0o600 and acl.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acl", "passwd"]  # no temp left


def test_cli_skips_gateways_without_hash_and_the_ingest_name(db, as_, mine, tmp_path):
    from qorgau.alarms.schemas import GatewayIn

    osh = as_("osh_krg")
    clash, _k = gateways.create_gateway(db=db, actor=osh, data=GatewayIn(
        site_id=mine.site_id, name="ingest"))
    clash.name = "ingest"  # a gateway named before the site's namespace (none made so now)
    old, _k = gateways.create_gateway(db=db, actor=osh, data=GatewayIn(
        site_id=mine.site_id, name=f"old-{mine.site_id}"))
    old.broker_hash = None  # a key issued before the hash was kept
    db.commit()
    res = _broker_config(tmp_path)
    users = [ln.split(":")[0] for ln in (tmp_path / "passwd").read_text().splitlines()]
    assert users.count("ingest") == 1 and mine.gateway in users and old.name not in users
    assert f"gateway '{old.name}' has no broker hash" in res.output
    assert "gateway 'ingest' has the ingest account's name" in res.output
    assert "kill -HUP" in res.output
    bad = CliRunner().invoke(app, ["alarms", "broker-config", "--out", str(tmp_path),
                                   "--ingest-user", "in gest", "--ingest-password", "x"])
    assert bad.exit_code != 0
    db.delete(clash)
    db.commit()


def test_rotate_api_scope_rights_and_audit(db, client_as, mine):
    gw = db.scalar(select(Gateway).where(Gateway.name == mine.gateway))
    url = f"/api/v1/alarms/gateways/{gw.id}/rotate"
    assert client_as("osh_ala").post(url).status_code == 404  # another enterprise's
    assert client_as("inspector_krg").post(url).status_code == 403  # reads, cannot configure
    listed = client_as("inspector_krg").get(f"/api/v1/alarms/sites/{mine.site_id}/gateways")
    assert listed.status_code == 200
    row = next(g for g in listed.json() if g["name"] == mine.gateway)
    assert row["mqtt"] is True and "key" not in row and "broker_hash" not in row
    r = client_as("osh_krg").post(url)
    assert r.status_code == 200 and r.json()["key"] != mine.key
    db.expire_all()
    assert gateways.gateway_for(db, name=mine.gateway, key=mine.key) is None  # HTTP: at once
    assert gateways.gateway_for(db, name=mine.gateway, key=r.json()["key"]) is not None
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.gateway.rotate",
                                              AuditEntry.object_id == str(gw.id)))
    assert client_as("osh_ala").get(
        f"/api/v1/alarms/sites/{mine.site_id}/gateways").status_code in (404, 422)


def test_page_adds_and_rotates_showing_the_key_once(client, db, world, mine):
    csrf = _login(client, world, "osh_krg")
    url = f"/alarms/sites/{mine.site_id}/gateways"
    page = client.get(url)
    gw0 = db.scalar(select(Gateway).where(Gateway.name == mine.gateway))
    assert page.status_code == 200 and mine.gateway in page.text
    assert f'action="/alarms/gateways/{gw0.id}/rotate"' in page.text  # the button
    bad = client.post(url, data={"name": "Bad Name", "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="e-name"' in bad.text
    taken = client.post(url, data={"name": mine.gateway, "csrf_token": csrf})
    assert taken.status_code == 409 and 'id="e-name"' in taken.text
    typed = f"ui-{mine.site_id}"
    name = gateways.account_name(mine.site_id, typed)  # the account: in the site's namespace
    r = client.post(url, data={"name": typed, "csrf_token": csrf})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    gw = db.scalar(select(Gateway).where(Gateway.name == name))
    key = r.text.split('id="issued-key">')[1].split("<")[0]
    assert r.text.split('id="issued-name">')[1].split("<")[0] == name  # the account as issued
    assert gateways.gateway_for(db, name=name, key=key) is not None and gw.broker_hash
    # a name too long with the site's prefix: said in the page's language, the limit named
    long = client.post(f"{url}?lang=ru", data={"name": "x" * 63, "csrf_token": csrf})
    limit = 64 - len(f"s{mine.site_id}-")
    assert long.status_code == 422 and f"Слишком длинно (не больше {limit} " in long.text
    assert f'maxlength="{limit}"' in long.text
    assert key not in client.get(url).text  # shown once
    r = client.post(f"/alarms/gateways/{gw.id}/rotate", data={"csrf_token": csrf},
                    headers={"referer": f"{client.base_url}{url}"})
    new = r.text.split('id="issued-key">')[1].split("<")[0]
    # the language links lead back to the gateways page, not to the POST's own address (405)
    assert f'href="/lang/kk?next={url}"' in r.text
    assert f"next=/alarms/gateways/{gw.id}/rotate" not in r.text
    assert r.status_code == 200 and new != key
    db.expire_all()
    assert gateways.gateway_for(db, name=name, key=new) is not None
    assert "выдан новый ключ" in client.get(url).text  # the change history (in Russian)
    assert client.post(f"/alarms/gateways/{gw.id}/rotate").status_code == 403  # no CSRF
    client.cookies.clear()
    _login(client, world, "inspector_krg")
    assert "/rotate" not in client.get(url).text  # reads, no button


# --- against Mosquitto -----------------------------------------------------------------------

class Broker:
    """Own Mosquitto reading the files broker-config writes; reload = SIGHUP."""

    def __init__(self, out: Path) -> None:
        self.port = _free_port()
        conf = out / "mosquitto.conf"
        conf.write_text(f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\n"
                        f"allow_anonymous false\npassword_file {out / 'passwd'}\n"
                        f"acl_file {out / 'acl'}\npersistence false\n")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert _wait(lambda: socket.socket().connect_ex(("127.0.0.1", self.port)) == 0, 5)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(5)


def _connect(port: int, user: str, key: str) -> tuple[mqtt.Client, bool]:
    """(client, accepted) once the broker answered the CONNECT (MQTT 5)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, key)
    answer: list = []
    c.on_connect = lambda cl, u, f, reason, p=None: answer.append(reason)
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert _wait(lambda: bool(answer), 5)
    ok = not answer[0].is_failure
    if not ok:
        c.loop_stop()
    return c, ok


class Ingest:
    """The ingest account reading all telemetry, as the worker does."""

    def __init__(self, port: int) -> None:
        self.got: list[str] = []
        self.ready = threading.Event()
        self.dropped = 0
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.c.on_disconnect = lambda *_a: setattr(self, "dropped", self.dropped + 1)
        self.c.username_pw_set("ingest", "ingest-pw")
        self.c.on_connect = lambda c, *_a: c.subscribe("qorgau/+/+/telemetry", 1)
        self.c.on_subscribe = lambda *_a: self.ready.set()
        self.c.on_message = lambda c, u, m: self.got.append(m.payload.decode())
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert self.ready.wait(5)


def _accepted(port: int, user: str, key: str) -> bool:
    c, ok = _connect(port, user, key)
    if ok:
        c.loop_stop()
        c.disconnect()
    return ok


def _publish(c: mqtt.Client, site_id: int, text: str) -> None:
    c.publish(f"qorgau/{site_id}/CH4-1/telemetry", text, qos=1).wait_for_publish(5)


@pytest.mark.brokers
def test_gateway_from_the_api_connects_rotation_takes_effect_on_reload(
        db, client_as, mine, new_mines, tmp_path):
    other = new_mines()
    osh = client_as("osh_krg")
    r = osh.post("/api/v1/alarms/gateways", json={"site_id": mine.site_id,
                                                  "name": f"api-gw-{mine.site_id}"})
    assert r.status_code == 201
    gw_id, name, key = r.json()["id"], r.json()["name"], r.json()["key"]
    _broker_config(tmp_path)
    broker = Broker(tmp_path)
    try:
        ingest = Ingest(broker.port)
        gw, ok = _connect(broker.port, name, key)
        assert ok
        _publish(gw, mine.site_id, "own-site")
        _publish(gw, other.site_id, "other-site")  # ACL: dropped by the broker
        _publish(gw, mine.site_id, "own-site-2")
        assert _wait(lambda: "own-site-2" in ingest.got, 5)
        assert ingest.got == ["own-site", "own-site-2"]
        assert not _accepted(broker.port, name, "wrong-key")

        new = osh.post(f"/api/v1/alarms/gateways/{gw_id}/rotate").json()["key"]
        assert _accepted(broker.port, name, key)  # the broker has not been told yet
        _broker_config(tmp_path)
        gone = threading.Event()
        gw.on_disconnect = lambda *_a: gone.set()
        broker.proc.send_signal(signal.SIGHUP)
        assert _wait(lambda: not _accepted(broker.port, name, key), 5)  # old key refused
        assert gone.wait(5)  # and its open connection closed by the reload
        gw2, ok = _connect(broker.port, name, new)
        assert ok
        _publish(gw2, mine.site_id, "after-rotation")
        assert _wait(lambda: "after-rotation" in ingest.got, 5)
        assert ingest.dropped == 0  # the ingest account (same password) stays connected
        assert not _accepted(broker.port, name, "wrong-key")
        for c in (gw, gw2, ingest.c):
            c.loop_stop()
            c.disconnect()
    finally:
        broker.stop()


class QueueBroker:
    """Own Mosquitto whose main file only has the listener and include_dir of the folder
    broker-config wrote: its qorgau.conf brings the accounts, the queue bound, persistence."""

    def __init__(self, tmp: Path, out: Path) -> None:
        self.port = _free_port()
        conf = tmp / "main.conf"  # outside the included folder, as Mosquitto requires
        conf.write_text(f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\n"
                        f"log_dest file {tmp / 'mosquitto.log'}\ninclude_dir {out}\n")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert _wait(lambda: socket.socket().connect_ex(("127.0.0.1", self.port)) == 0, 5), \
            (tmp / "mosquitto.log").read_text() if (tmp / "mosquitto.log").exists() else ""

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(5)


def _slow_subscriber(port: int, got: list[bytes]) -> mqtt.Client:
    """The ingest account with a persistent session (as a worker has), QoS 1 subscription."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="qorgau-queue-test",
                    clean_session=False)
    c.username_pw_set("ingest", "ingest-pw")
    subscribed = threading.Event()
    c.on_connect = lambda cl, *_a: cl.subscribe("qorgau/+/+/telemetry", 1)
    c.on_subscribe = lambda *_a: subscribed.set()
    c.on_message = lambda cl, u, m: got.append(m.payload)
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert subscribed.wait(5)
    return c


@pytest.mark.brokers
@pytest.mark.parametrize(("sizing", "queued"), [
    ([], 256 * 300),  # the default: the worker's group cap × 300 s of outage
    (["--messages-per-s", "2", "--ride-through-s", "250"], 500),  # the bound, taking effect
])
def test_broker_conf_queues_past_mosquittos_default_for_a_stopped_worker(
        db, mine, tmp_path, sizing, queued):
    """Mosquitto, left at its default, drops QoS 1 messages silently past 1000 queued for a
    persistent session whose subscriber is away; the snippet sizes the queue."""
    out, sent = tmp_path / "qorgau", 1500
    res = CliRunner().invoke(app, ["alarms", "broker-config", "--out", str(out), *INGEST,
                                   "--persistence-location", str(tmp_path / "data"), *sizing])
    assert res.exit_code == 0, res.output
    conf = (out / "qorgau.conf").read_text().splitlines()
    assert {f"password_file {out / 'passwd'}", f"acl_file {out / 'acl'}", "persistence true",
            "allow_anonymous false", f"max_queued_messages {queued}",
            f"max_queued_bytes {queued * 2048}",
            f"persistence_location {tmp_path / 'data'}/"} <= set(conf)
    (tmp_path / "data").mkdir()
    broker = QueueBroker(tmp_path, out)
    try:
        got: list[bytes] = []
        worker = _slow_subscriber(broker.port, got)
        worker.loop_stop()
        worker.disconnect()  # the worker is down: its session stays, messages queue for it
        gw, ok = _connect(broker.port, mine.gateway, mine.key)  # the gateway from the database
        assert ok
        msgs = [gw.publish(f"qorgau/{mine.site_id}/CO-1/telemetry", str(k), qos=1)
                for k in range(sent)]
        assert _wait(lambda: all(m.is_published() for m in msgs), 20)
        worker = _slow_subscriber(broker.port, got)  # back: the queue is delivered
        n = -1
        while _wait(lambda seen=n: len(got) > seen, 2):  # until nothing more comes for 2 s
            n = len(got)
        if queued >= sent:
            assert len(got) == sent and got[0] == b"0" and got[-1] == str(sent - 1).encode()
        else:  # the rest dropped: the bound is the one written, not Mosquitto's 1000
            assert len(got) == queued < 1000
        for c in (gw, worker):
            c.loop_stop()
            c.disconnect()
    finally:
        broker.stop()


def _group(src, want: int, within: float = 5.0) -> list:
    """What the worker's source fetches until `want` messages came or `within` s passed."""
    got: list = []
    end = time.monotonic() + within
    while len(got) < want and time.monotonic() < end:
        got += src.fetch(0.2)
    return got


def test_inflight_default_is_the_workers_group_cap():
    from qorgau.alarms.cli import INFLIGHT_MESSAGES
    from qorgau.alarms.ingest.mqtt import MqttSource

    cap = inspect.signature(MqttSource).parameters["group_messages"].default
    assert INFLIGHT_MESSAGES == cap == 256


@pytest.mark.brokers
@pytest.mark.parametrize(("sizing", "inflight"), [
    ([], 256),  # the default: one full group of the worker
    (["--max-inflight-messages", "100"], 100),  # the option, taking effect
])
def test_broker_conf_lets_the_workers_group_fill_to_its_cap(db, mine, tmp_path, sizing,
                                                            inflight):
    """The worker acknowledges a group only after its commit, and Mosquitto sends a client
    at most max_inflight_messages unacknowledged QoS 1 messages (default 20, which capped
    every group at 20): with qorgau.conf the worker's source holds exactly the written
    number, no more until it acknowledges, then the next ones."""
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.ingest.sentinel import DangerWatch

    out, data = tmp_path / "qorgau", tmp_path / "data"  # the session's store: the test's own
    data.mkdir()
    res = CliRunner().invoke(app, ["alarms", "broker-config", "--out", str(out), *INGEST,
                                   "--persistence-location", str(data), *sizing])
    assert res.exit_code == 0, res.output
    assert f"max_inflight_messages {inflight}" in (out / "qorgau.conf").read_text().splitlines()
    assert f'"max_inflight_messages": {inflight}' in res.output
    broker = QueueBroker(tmp_path, out)
    src = MqttSource(f"mqtt://127.0.0.1:{broker.port}", username="ingest",
                     password="ingest-pw", client_id="qorgau-inflight-test",
                     watch=DangerWatch(ttl_s=3600))
    try:
        assert src.connected.wait(5)
        gw, ok = _connect(broker.port, mine.gateway, mine.key)
        assert ok
        now = time.time()
        msgs = [gw.publish(f"qorgau/{mine.site_id}/CO-1/telemetry", orjson.dumps(
            {"site_id": mine.site_id, "readings": [{"s": k, "t": now, "v": 1.0}]}), qos=1)
            for k in range(600)]
        assert _wait(lambda: all(m.is_published() for m in msgs), 20)
        first = _group(src, inflight)
        assert len(first) == inflight  # not 20
        assert _group(src, 1, within=1.5) == []  # the rest waits for acknowledgements
        for _site, _doc, ack in first:
            ack()  # the group committed
        # the next ones come (Mosquitto 2.0.11 then sends more than the window per PUBACK,
        # a bug fixed in 2.0.13: so only "at least" here)
        second = _group(src, inflight)
        assert len(second) >= inflight
        assert [d["readings"][0]["s"] for _s, d, _a in first + second] == list(
            range(len(first) + len(second)))  # in order, none lost
        gw.loop_stop()
        gw.disconnect()
    finally:
        src.close()
        broker.stop()


def test_changed_inflight_asks_for_a_restart(db, tmp_path):
    """Mosquitto (2.0.11) keeps max_inflight_messages from its start over a SIGHUP."""
    def run(*extra: str) -> str:
        res = CliRunner().invoke(app, ["alarms", "broker-config", "--out", str(tmp_path),
                                       *INGEST, *extra])
        assert res.exit_code == 0, res.output
        return res.output

    assert "kill -HUP" in run()  # first write
    assert "kill -HUP" in run() and "restart" not in run()  # unchanged
    assert "restart Mosquitto" in run("--max-inflight-messages", "512")
    assert "kill -HUP" in run("--max-inflight-messages", "512")
    bad = CliRunner().invoke(app, ["alarms", "broker-config", "--out", str(tmp_path), *INGEST,
                                   "--max-inflight-messages", "0"])
    assert bad.exit_code != 0 and "max-inflight-messages" in bad.output
