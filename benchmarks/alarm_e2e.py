"""End to end: MQTT publish (JSON batches of 500 rows) → Mosquitto → paho subscriber (manual
ack) → processor (dedup, fsync'ed segment store, roll-ups and alarm records in SQLite) →
in-process hub (what the SSE endpoint pushes). Measures sustained readings/s with no loss and
the life-safety alarm latency (publish → hub) at max throughput and at a paced load: for the
alarm record (after the commit) and for the danger signal ahead of it (ingest/sentinel.py).
The publisher runs in a process of its own since 2026-11-26 (before, it built its JSON in the
worker's process, under the worker's GIL).

Max throughput is closed-loop: the publisher keeps at most --window readings published but
not yet accepted, so the rate is what the pipeline sustains and the backlog (and with it the
life-safety latency) stays bounded instead of growing for the whole run.

The baseline is measured in the same run: `--baseline REV` extracts that revision's src/ with
`git archive` and runs the same phases against it in a child process (PYTHONPATH), then the
current tree in another; every figure is printed beside the baseline's.

Usage: .venv/bin/python benchmarks/alarm_e2e.py [--devices 2000] [--seconds 10] [--rate 50000]
       [--baseline REV] [--format rows|columns] [--window 40000] [--numbering device|message]
       [--receiver thread|process] [--sentinel] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _batches import ColumnsBatches, RowsBatches
from _common import report

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from factories import make_bin

TMP = Path(tempfile.mkdtemp(prefix="qorgau-e2e-"))
if not os.environ.get("QORGAU_E2E_SPAWNED"):  # a spawned publisher/sentinel keeps the child's
    os.environ.update(QORGAU_VAR_DIR=str(TMP), QORGAU_DATABASE_URL=f"sqlite:///{TMP}/e2e.sqlite3",
                      QORGAU_ENV="test")


def setup(n_devices: int) -> tuple[int, list[str]]:
    from qorgau.alarms.models import Device
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.migrate import upgrade
    from qorgau.core.models import load_all_models
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn, SiteIn

    load_all_models()
    upgrade(os.environ["QORGAU_DATABASE_URL"])
    with get_sessionmaker()() as db:
        ent = registry.create_enterprise(db=db, actor=SYSTEM_ACTOR, data=EnterpriseIn(
            bin=make_bin(), name="Bench mine", activity_code="05", region_code="KZ-35",
            lon=73.1, lat=49.8, size_band="large", hazardous=True))
        site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
            enterprise_id=ent.id, kind="mine", name="bench", lon=73.1, lat=49.8))
        codes = ["CH4-LS"] + [f"CO-{k}" for k in range(n_devices - 1)]
        db.add_all([Device(site_id=site.id, enterprise_id=ent.id, region_code="KZ-35", code=c,
                           kind="gas", quantity="CH4" if c == "CH4-LS" else "CO",
                           limits={"high": 1.0, "highhigh": 1.5} if c == "CH4-LS" else
                           {"high": 20.0, "highhigh": 50.0}, life_safety=c == "CH4-LS")
                    for c in codes])
        db.commit()
        return site.id, codes


def mosquitto() -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = TMP / "m.conf"
    conf.write_text(f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 0\npersistence false\n")
    p = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p, port


class Hub:
    """Listens on the in-process hub like an SSE client and timestamps HIHI raises (the alarm
    record, after the commit) and HIHI danger signals (ahead of the record; none in trees
    older than 2026-11-26 afternoon)."""

    def __init__(self, site_id: int) -> None:
        self.times: list[float] = []
        self.signals: list[float] = []
        self.signalled: set[float] = set()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._listen(site_id), self.loop)

    def close(self) -> None:
        """Ends the listener (left pending, it was reported at exit as destroyed)."""
        asyncio.run_coroutine_threadsafe(_cancel_others(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _listen(self, site_id: int) -> None:
        from qorgau.alarms.notify import HUB

        q = HUB.subscribe(site_id)
        while True:
            m = await q.get()
            if m.get("kind") == "HIHI" and m.get("what") == "raise":
                self.times.append(time.time())
            elif m.get("kind") == "HIHI" and m.get("type") == "danger" and \
                    m.get("t") not in self.signalled:  # the first of worker and sentinel
                self.signalled.add(m.get("t"))
                self.signals.append(time.time())


async def _cancel_others() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


NEXT_SEQ: dict[int, np.ndarray] = {}  # per-device sequence numbers, across phases


def publish(site_id: int, codes: list[str], port: int, seconds: float, rate: float | None,
            seq0: int, window: int, fmt: str, numbering: str, nxt: np.ndarray, accepted: Any,
            conn: Any) -> None:
    """The load generator, in a process of its own (as gateways are): building 500-row JSON
    in the worker's process would take the worker's GIL and time. Sends back what it sent
    and where the sequence numbers ended. The life-safety detector is `detector`."""
    import paho.mqtt.client as mqtt

    sys.setswitchinterval(0.001)  # its send thread waits less for the JSON-building thread
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.max_inflight_messages_set(0)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    co = codes[1:]
    per = 500
    # "device": each device numbers its own readings 0, 1, 2, … (what a gateway does and what
    # the gap count assumes); "message": every reading of message k gets seq0 + k (the
    # numbering used before 2026-11-26, with gaps on every device)
    sent, k = 0, 0
    # batches written into byte templates (`_batches.py`, since 2026-11-29; before, 500 row
    # dicts refilled, or the columns lists built, and serialised a message): the same JSON but
    # for the time's six decimals, for ~1/6 (rows) or ~2/5 (columns) of the CPU a message,
    # which on this 2-core machine is CPU the pipeline does not get (gateways are other
    # machines). Checked against its document before the first message.
    batches = (ColumnsBatches if fmt == "columns" else RowsBatches)(site_id, co)
    batches.check(0, 10**6 + np.arange(min(per, len(co)), dtype=np.int64), time.time())
    t0 = time.time()
    while time.time() - t0 < seconds:
        now = time.time()
        start = (k * per) % len(co)
        idx = (start + np.arange(per)) % len(co)
        if numbering == "device":
            seqs = nxt[idx]
            nxt[idx] += 1
        else:
            seqs = np.full(per, seq0 + k, np.int64)
        payload = batches.message(start, seqs, now) or \
            orjson.dumps(batches.body(start, seqs, now))
        pub.publish(f"qorgau/{site_id}/batch/telemetry", payload, qos=1)
        sent += per
        k += 1
        if rate:
            time.sleep(max(0.0, t0 + sent / rate - time.time()))
        else:  # closed loop: bounded backlog
            while sent - accepted.value > window and time.time() - t0 < seconds:
                time.sleep(0.001)
    pub.loop_stop()
    conn.send({"sent": sent, "k": k, "nxt": nxt, "t0": t0})


def detector(site_id: int, port: int, seconds: float, seq: int, conn: Any) -> None:
    """The life-safety CH4 detector: a device of its own, so its own MQTT client in a process
    of its own (before 2026-11-27 its readings went out from the bulk gateway's process,
    waiting for that process's GIL). Every 0.5 s CH4 goes to 2 % (HIHI), and back to 0.3 %
    0.25 s later (before, the clear followed the raise at once, so the two were often handled
    as one group and the raise's record waited for the clear's). Sends back when it published
    each raise and where its sequence ended."""
    import paho.mqtt.client as mqtt

    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    t0 = time.time()
    sent, inject_at, info = 0, [], None
    while (at := t0 + 0.5 * (len(inject_at) + 1)) < t0 + seconds:
        for v, when in ((2.0, at), (0.3, at + 0.25)):
            time.sleep(max(0.0, when - time.time()))
            now = time.time()
            body = {"site_id": site_id, "readings": [{"d": "CH4-LS", "s": seq, "t": now,
                                                      "v": v}]}
            seq, sent = seq + 1, sent + 1
            if v == 2.0:
                inject_at.append(now)
            info = pub.publish(f"qorgau/{site_id}/CH4-LS/telemetry", orjson.dumps(body), qos=1)
    if info is not None:
        info.wait_for_publish(5)
    pub.loop_stop()
    conn.send({"sent": sent, "inject_at": inject_at, "seq": seq})


def run(site_id: int, codes: list[str], port: int, *, seconds: float, rate: float | None,
        seq0: int, window: int = 40_000, fmt: str = "rows", numbering: str = "device") -> dict:
    import multiprocessing as mp

    from qorgau.alarms.ingest.core import METRICS

    hub = Hub(site_id)
    nxt = NEXT_SEQ.setdefault(site_id, np.zeros(len(codes) - 1, np.int64))
    ctx = mp.get_context("spawn")
    accepted = ctx.Value("q", 0, lock=False)
    mine, theirs = ctx.Pipe()
    accepted0 = METRICS.counts["accepted"]
    det, det_theirs = ctx.Pipe()
    p = ctx.Process(target=publish, args=(site_id, codes, port, seconds, rate, seq0, window,
                                          fmt, numbering, nxt, accepted, theirs))
    d = ctx.Process(target=detector, args=(site_id, port, seconds, seq0, det_theirs))
    p.start()
    d.start()
    # the closed loop's feedback; a paced phase needs none, and polling every 1 ms took the
    # worker's GIL 1,000 times a second in the very process being measured. A pipe's poll
    # builds a selector each time (8 % of that process's GIL time at max throughput, traced
    # 2026-11-29): the count every 1 ms, the pipe every 20 ms
    k = 0
    while not (mine.poll(0.1) if rate else k % 20 == 19 and mine.poll(0)):
        accepted.value = METRICS.counts["accepted"] - accepted0
        k += 1
        if not rate:
            time.sleep(0.001)
    out, ls = mine.recv(), det.recv()
    p.join()
    d.join()
    sent, inject_at, t0 = out["sent"] + ls["sent"], ls["inject_at"], out["t0"]
    NEXT_SEQ[site_id] = out["nxt"]
    pub_end = time.time()
    while METRICS.counts["accepted"] - accepted0 < sent and time.time() - pub_end < 60:
        time.sleep(0.005)
    done = time.time()
    lat = [(h - i) * 1000 for i, h in zip(inject_at, hub.times, strict=False)]
    signals = hub.signals
    if CONSOLE is not None:  # the signal as a separate web process gets it
        CONSOLE.send("flush")
        signals = CONSOLE.recv()
    sig = [(h - i) * 1000 for i, h in zip(inject_at, signals, strict=False)]
    hub.close()
    return {"sent": sent, "accepted": METRICS.counts["accepted"] - accepted0,
            "rate": (METRICS.counts["accepted"] - accepted0) / (done - t0),
            "p50": float(np.percentile(lat, 50)) if lat else float("nan"),
            "p99": float(np.percentile(lat, 99)) if lat else float("nan"),
            "samples": len(lat),
            "worst": [round(x, 1) for x in sorted(lat)[-5:]],  # what the p99 is made of
            "signal_p50": float(np.percentile(sig, 50)) if sig else float("nan"),
            "signal_p99": float(np.percentile(sig, 99)) if sig else float("nan"),
            "signal_samples": len(sig), "max_queue": METRICS.queue_depth,
            "gaps": METRICS.counts["seq_gaps"],
            "broker_dropped": METRICS.counts.get("mqtt_broker_dropped", 0),
            "seq_next": max(seq0 + out["k"], ls["seq"]) + 10, "next_seq_ls": ls["seq"]}


GC_PAUSES: list[tuple[int, float]] = []


def _gc_timer() -> None:
    """Collector pauses (generation, ms): a full collection holds the GIL for all threads."""
    import gc

    started = [0.0]

    def cb(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            GC_PAUSES.append((info["generation"], (time.perf_counter() - started[0]) * 1000))

    gc.callbacks.append(cb)


def _priority() -> None:
    """What docs/operations.md asks of a deployment: the sentinel and the web processes run
    at a higher CPU priority than the alarm workers (systemd `Nice=-5`)."""
    with contextlib.suppress(PermissionError):
        os.nice(-5)


CONSOLE: Any = None  # (pipe) to the web-process stand-in when --sentinel


def _console(url: str, site_id: int, conn: Any) -> None:
    """A web process's stand-in: the danger bridge onto its own hub and a listener like an SSE
    handler; on "flush" sends back (reading time, arrival) of the signals since the last."""
    from qorgau.alarms.ingest.mqtt import DangerBridge

    _priority()
    hub = Hub(site_id)
    DangerBridge(url).ready.wait(10)
    conn.send("ready")
    while conn.recv() == "flush":
        conn.send(list(hub.signals))
        hub.signals.clear()


def _has_sentinel() -> bool:
    """Trees older than 2026-11-26 afternoon have no sentinel (their figures go without)."""
    try:
        from qorgau.alarms.ingest.mqtt import DangerScreen  # noqa: F401
    except ImportError:
        return False
    return True


def _sentinel(url: str) -> None:
    from qorgau.alarms.ingest.mqtt import DangerScreen
    from qorgau.core.models import load_all_models

    _priority()
    load_all_models()
    DangerScreen(url, refresh_s=5).run(600)


def child(a: argparse.Namespace) -> dict:
    """All phases against whatever `qorgau` is importable; returns the figures."""
    os.environ["QORGAU_E2E_SPAWNED"] = "1"  # processes it spawns use its database
    _gc_timer()
    with _database(a.database):
        return _phases(a)


@contextlib.contextmanager
def _database(kind: str) -> Any:
    """SQLite in the temp dir (the default), or a fresh PostgreSQL database dropped after."""
    if kind == "sqlite":
        yield
        return
    import secrets

    from sqlalchemy import create_engine, text

    name = f"qorgau_e2e_{secrets.token_hex(4)}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'create database "{name}"'))
    os.environ["QORGAU_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        yield
    finally:
        from qorgau.core.db import get_engine

        get_engine().dispose()
        with admin.connect() as c:
            c.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def bare_receiver(site_id: int, port: int) -> Any:
    """The bare pipeline the issue's figures describe (publisher, broker, receiver, no
    storage): a paho subscriber with manual QoS 1 acks that decodes each batch's JSON, counts
    its readings, acks, and puts a life-safety raise on the hub, with no evaluation, storage
    or commit. As a baseline in the same run (`--baseline bare`) it shows what this boot's
    machine can carry at all: the VM has run the same code at 300 K and 1,076 K readings/s."""
    import paho.mqtt.client as mqtt

    from qorgau.alarms.ingest.core import METRICS
    from qorgau.alarms.notify import HUB

    def on_message(client: Any, _u: Any, msg: Any) -> None:
        doc = orjson.loads(msg.payload)
        rows = doc.get("readings", ())  # the detector's message is always a row
        if len(rows) == 1 and rows[0]["d"] == "CH4-LS" and rows[0]["v"] >= 1.5:
            HUB.publish(site_id, {"kind": "HIHI", "what": "raise", "type": "alarm"})
        METRICS.counts["accepted"] += len(rows) if "readings" in doc else len(doc["s"])
        client.ack(msg.mid, msg.qos)

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare",
                      clean_session=False, manual_ack=True)
    sub.max_inflight_messages_set(0)
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(f"qorgau/{site_id}/+/telemetry", qos=1)
    sub.loop_start()
    return sub


def _phases(a: argparse.Namespace) -> dict:
    site_id, codes = setup(a.devices)
    broker, port = mosquitto()
    if a.bare:
        return _bare_phases(a, site_id, codes, broker, port)
    try:
        from qorgau.alarms.engine import warm_up
        from qorgau.alarms.ingest import core
        from qorgau.alarms.ingest.mqtt import MqttSource
        from qorgau.alarms.worker import drain, settle_heap

        # the kernels compiled before the heap is settled: a baseline's tree, extracted by
        # `git archive`, has no numba cache and compiled ~4 s of them in its warm-up phase
        # (its extra generation-0 pauses), with the objects left out of the freeze
        warm_up()
        core.processor()
        settle_heap()  # as `qorgau alarms worker` does at start
        GC_PAUSES.clear()  # start-up's own full collections are not the phases' pauses
        if a.sentinel and _has_sentinel():  # the screen and a web process, each its own
            import multiprocessing as mp

            global CONSOLE
            ctx, url = mp.get_context("spawn"), f"mqtt://127.0.0.1:{port}"
            ctx.Process(target=_sentinel, args=(url,), daemon=True).start()
            CONSOLE, theirs = ctx.Pipe()
            ctx.Process(target=_console, args=(url, site_id, theirs), daemon=True).start()
            CONSOLE.recv()
        source = MqttSource
        if a.receiver == "process":
            try:  # a tree from before 2026-11-27 evening has no receiving process
                from qorgau.alarms.ingest.receiver import ProcessSource as source
            except ImportError:
                print("no receiver process in this tree: receiving thread", file=sys.stderr)
        src = source(f"mqtt://127.0.0.1:{port}", client_id="bench-ingest",
                     **({"group_readings": a.group_readings} if a.group_readings else {}))
        src.connected.wait(5)
        threading.Thread(target=drain, args=(src,), daemon=True).start()
        run(site_id, codes, port, seconds=1.0, rate=None, seq0=0, window=5_000,
            numbering=a.numbering)  # warm-up
        hi = run(site_id, codes, port, seconds=a.seconds, rate=None, seq0=10_000,
                 window=a.window, fmt=a.format, numbering=a.numbering)
        print("max throughput:", hi, file=sys.stderr)
        lo = run(site_id, codes, port, seconds=a.seconds, rate=a.rate, seq0=hi["seq_next"],
                 fmt=a.format, numbering=a.numbering)
        print(f"paced {a.rate:.0f}/s:", lo, file=sys.stderr)
        for g in (0, 1, 2):
            ms = [d for gen, d in GC_PAUSES if gen == g]
            print(f"gc gen {g}: {len(ms)} pauses, max {max(ms, default=0):.1f} ms, "
                  f"total {sum(ms):.0f} ms", file=sys.stderr)
        return {"hi": hi, "lo": lo}
    finally:
        broker.terminate()


def _bare_phases(a: argparse.Namespace, site_id: int, codes: list[str],
                 broker: subprocess.Popen, port: int) -> dict:
    try:
        sub = bare_receiver(site_id, port)
        time.sleep(0.5)
        run(site_id, codes, port, seconds=1.0, rate=None, seq0=0, window=5_000)  # warm-up
        hi = run(site_id, codes, port, seconds=a.seconds, rate=None, seq0=10_000,
                 window=a.window, fmt=a.format)
        print("bare, max throughput:", hi, file=sys.stderr)
        lo = run(site_id, codes, port, seconds=a.seconds, rate=a.rate, seq0=hi["seq_next"],
                 fmt=a.format)
        print(f"bare, paced {a.rate:.0f}/s:", lo, file=sys.stderr)
        sub.loop_stop()
        return {"hi": hi, "lo": lo}
    finally:
        broker.terminate()


def run_child(script: str, child_args: list[str], src: Path | None) -> dict:
    """Run `script --child ...` in a fresh process against `src` (a baseline's src/) or this
    tree; its last stdout line is the JSON of its figures."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    out = subprocess.run([sys.executable, script, "--child", *child_args], env=env, check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parents[1])
    sys.stderr.write(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _in_child(a: argparse.Namespace, src: Path | None, bare: bool = False) -> dict:
    return run_child(__file__, ["--devices", str(a.devices), "--seconds", str(a.seconds),
                                "--rate", str(a.rate), "--window", str(a.window),
                                "--format", a.format, "--numbering", a.numbering,
                                "--database", a.database,
                                *(["--group-readings", str(a.group_readings)]
                                  if a.group_readings else []),
                                *(["--sentinel"] if a.sentinel else []),
                                "--receiver", a.receiver, *(["--bare"] if bare else [])],
                     src)


def _extract(rev: str) -> Path:
    root = Path(__file__).parents[1]
    dest = Path(tempfile.mkdtemp(prefix="qorgau-base-"))
    tar = subprocess.run(["git", "archive", rev, "src"], cwd=root, check=True,
                         capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest / "src"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rate", type=float, default=50_000)
    ap.add_argument("--window", type=int, default=40_000)
    ap.add_argument("--format", choices=["rows", "columns"], default="rows")
    ap.add_argument("--numbering", choices=["device", "message"], default="device",
                    help="sequence numbers per device (default) or per message (gaps)")
    ap.add_argument("--baseline", help="git revision measured first, in the same run, or "
                    "'bare': the bare pipeline (publisher, broker, receiver, no storage)")
    ap.add_argument("--receiver", choices=["thread", "process"], default="thread",
                    help="MQTT receiving and decoding in the worker process or a child")
    ap.add_argument("--sentinel", action="store_true",
                    help="danger screen in a process of its own (qorgau alarms sentinel)")
    ap.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--group-readings", type=int,
                    help="the worker's group cap in readings (default: the source's)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a)))
        return
    if a.baseline == "bare":
        base = _in_child(a, None, bare=True)
    else:
        base = _in_child(a, _extract(a.baseline)) if a.baseline else None
    new = _in_child(a, None)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    fig = [("hi", "rate", f"sustained readings/s, MQTT→store→SSE hub ({a.database}), "
            f"{a.format} batches of 500, numbered per {a.numbering}", "readings/s", 1_000_000),
           ("hi", "p99", "life-safety alarm record latency p99 at max throughput (publish→hub)",
            "ms", 50),
           ("lo", "p99", f"life-safety alarm record latency p99 at {a.rate:.0f} readings/s "
            "offered", "ms", 10),
           ("hi", "signal_p99", "life-safety danger signal latency p99 at max throughput "
            "(publish→hub)", "ms", 50),
           ("lo", "signal_p99", f"life-safety danger signal latency p99 at {a.rate:.0f} "
            "readings/s offered", "ms", 10)]
    flush = os.environ.get("QORGAU_ALARM_FLUSH_S")
    setup = (f" [{a.database}, {a.devices:,} devices, receiving {a.receiver}"
             f"{f', QORGAU_ALARM_FLUSH_S={flush}' if flush else ''}]")
    for phase, key, what, unit, target in fig:
        r = new[phase]
        label = f"alarm_e2e {what}, no loss={r['accepted'] == r['sent']}{setup}"
        if base is not None:  # a tree without danger signals: its first word was the record
            b = base[phase]
            bkey = key if b.get(key) == b.get(key) and key in b else "p99"  # NaN: none there
            name = "the bare pipeline" if a.baseline == "bare" else a.baseline
            report(f"{label}; baseline {name} ({bkey}) no loss={b['accepted'] == b['sent']}",
                   r[key], unit, b[bkey], f"{unit} at {name} (same run; load {load})")
        report(label, r[key], unit, target, f"{unit} target")


if __name__ == "__main__":
    main()
