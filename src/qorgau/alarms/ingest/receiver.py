"""MQTT receiving in a process of its own (`qorgau alarms worker --source mqtt --receiver
process`): the paho client, JSON decoding, the danger screen and the priority lane run in a
child process; the worker process gets each clean batch (rows or columns) already as arrays
and spends its one core (its GIL) on dedup, storage, the engine and the records.

Why: at full load the worker process was the bottleneck at ~100 % of one core, a third of it
the receiving thread (paho and msgspec decoding ~0.5 µs a reading), while the second core
had room. The split keeps every guarantee of `MqttSource`:
- at-least-once: the child keeps each message's PUBACK until the worker reports the group
  committed (`("ack", [seq, …])` back over the pipe, one message a group); the session is
  persistent, so what was not acknowledged comes again after a crash of either process;
- the priority lane: the child says which lane each group came from, the worker fetches
  priority groups first;
- the danger signal: screened in the child's network thread, forwarded at once to the
  worker's live hub by a reader thread; it and the priority lane's groups have a pipe of
  their own, never behind a bulk group's write;
- overload: the child's queue depth and the broker's drop count come with every group.
A crash of the worker closes the pipe and the child exits at once; a crash of the child ends
the worker's `drain` (the source is closed), so the process supervisor restarts both.

On the pipe, a clean batch (`Parsed` without rejects, events or zones) is its sequence,
time and value columns as bytes and its device codes either as numbers (the bulk pipe: the
child numbers each site's codes the first time it sees them and sends each new code once,
`Numbering`; the worker keeps the names, `Names`, and maps them to device indices once per
site runtime) or, on the urgent pipe, joined by U+001F; anything else goes as the decoded
document and is parsed in the worker as before. Numbers only on the bulk pipe: its messages
reach the worker in the order the child numbered them, which two pipes would not keep."""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing as mp
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from qorgau.alarms.ingest.core import METRICS
from qorgau.alarms.ingest.lanes import Item, put_back, take_group
from qorgau.alarms.ingest.parse import BadPayload, Codes, Parsed, Typed, parse

log = logging.getLogger("qorgau.alarms.receiver")
SWITCH_INTERVAL_S = 0.0002  # as `mqtt.SWITCH_INTERVAL_S` (why: there)
SEP = "\x1f"  # unit separator: no device code has it (checked per batch)


class _Table(dict[str, int]):
    """One site's codes → numbers, each new code numbered as it is first looked up."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation, self.names = generation, []

    def __missing__(self, code: str) -> int:
        n = self[code] = len(self.names)
        self.names.append(code)
        return n


class Numbering:
    """The child's side: each site's device codes as numbers. A table past `LIMIT` codes (a
    gateway sending ever new unknown codes) starts afresh under a new generation, and the
    worker's side follows."""

    LIMIT = 1 << 17  # codes a site's table holds (a mine has thousands of devices)

    def __init__(self) -> None:
        self._sites: dict[int, _Table] = {}

    def number(self, site_id: int, codes: list[str]) -> tuple[int, bytes, list[str]]:
        """(generation, the codes' numbers as int32 bytes, the codes new to the table)."""
        tab = self._sites.get(site_id)
        if tab is None or len(tab) > self.LIMIT:
            tab = self._sites[site_id] = _Table(0 if tab is None else tab.generation + 1)
        start = len(tab.names)
        ids = np.fromiter(map(tab.__getitem__, codes), np.int32, len(codes))
        return tab.generation, ids.tobytes(), tab.names[start:]


class Names:
    """The worker's side: each site's names of the numbers, as the bulk pipe brings them."""

    def __init__(self) -> None:
        self._sites: dict[int, tuple[int, list[str]]] = {}

    def extend(self, site_id: int, generation: int, new: list[str]) -> list[str]:
        got = self._sites.get(site_id)
        if got is None or got[0] != generation:  # a new table: earlier batches keep theirs
            got = self._sites[site_id] = (generation, [])
        got[1].extend(new)
        return got[1]


def pack(site_id: int | None, doc: Any, numbering: Numbering | None = None) -> tuple:
    """A received message for the pipe: the arrays of a clean batch, else the document."""
    if isinstance(doc, Typed) and site_id is not None:
        try:
            p = parse(doc, site_id=site_id)
        except BadPayload:
            return ("doc", site_id, doc)
        if p.rejects:
            return ("doc", site_id, doc)
        cols = (p.s.tobytes(), p.t.tobytes(), p.v.tobytes())
        if numbering is not None:
            return ("ids", p.site_id, *numbering.number(p.site_id, p.d), *cols)
        codes = SEP.join(p.d)
        if codes.count(SEP) == len(p.d) - 1:
            return ("cols", p.site_id, codes, *cols)
    return ("doc", site_id, doc)


def unpack(item: tuple, names: Names | None = None) -> tuple[int | None, Any]:
    """(site hint, `Parsed` or document) of a packed message; "ids" need the `Names` of the
    pipe it came down."""
    if item[0] == "doc":
        return item[1], item[2]
    if item[0] == "ids":
        if names is None:
            raise ValueError("numbered codes without the pipe's names")
        _, sid, generation, ids, new, *cols = item
        d: Codes | list[str] = Codes(np.frombuffer(ids, np.int32),
                                     names.extend(sid, generation, new))
    else:
        _, sid, codes, *cols = item
        d = codes.split(SEP)
    s, t, v = cols
    return sid, Parsed(sid, d=d, s=np.frombuffer(s, np.int64).copy(),
                       t=np.frombuffer(t, np.float64).copy(),
                       v=np.frombuffer(v, np.float64).copy(), e=np.zeros(len(d), np.int8),
                       z=None)


class ProcessSource:
    """`MqttSource`'s interface (`fetch`, `unfetch`, `urgent_waiting`, `close`, `connected`,
    `closed`)
    over a receiving child process."""

    name = "mqtt"

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 client_id: str | None = None, group_messages: int = 256,
                 group_readings: int = 20_000) -> None:
        self.group_messages, self.group_readings = group_messages, group_readings
        self.connected = threading.Event()
        self.closed = False
        self._cv = threading.Condition()
        self._urgent: deque[Item] = deque()
        self._bulk: deque[Item] = deque()
        self._took_urgent = False
        self._child_depth = 0
        self._send_lock = threading.Lock()
        self._acked: list[int] = []  # acknowledged, to send with `flush_acks`
        self._names = Names()  # the bulk pipe's numbered codes (only its reader extends it)
        # the pipe's reader thread forwards danger signals: it should get the GIL soon
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        ctx = mp.get_context("spawn")
        self._conn, theirs = ctx.Pipe()
        # life-safety groups and danger signals come down a pipe of their own: on the one
        # pipe, a life-safety message waited while a bulk group of up to ~1 MB was written
        # into it (the write blocks until this process's reader, which needs the GIL, has
        # taken it in)
        self._urgent_conn, urgent_theirs = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child, name="qorgau-mqtt-receiver", daemon=True,
                                args=(url, username, password, client_id, group_messages,
                                      group_readings, theirs, urgent_theirs))
        self.proc.start()
        theirs.close()
        urgent_theirs.close()
        for conn, name in ((self._conn, "mqtt-receiver-pipe"),
                           (self._urgent_conn, "mqtt-receiver-urgent-pipe")):
            threading.Thread(target=self._read, args=(conn,), daemon=True, name=name).start()

    def _read(self, conn: Any) -> None:
        """Groups into the lanes, danger signals onto the hub, as they come down `conn`."""
        from qorgau.alarms import notify

        try:
            while True:
                msg = conn.recv()
                if msg[0] == "group":
                    _, urgent, items, depth, dropped = msg
                    got = [(*unpack(packed, self._names), self._acker(seq))
                           for seq, packed in items]
                    with self._cv:
                        (self._urgent if urgent else self._bulk).extend(got)
                        self._child_depth = depth
                        METRICS.counts["mqtt_broker_dropped"] = dropped
                        self._depth()
                        self._cv.notify()
                elif msg[0] == "hub":
                    notify.HUB.publish(msg[1], msg[2])
                elif msg[0] == "ready":
                    self.connected.set()
        except (EOFError, OSError):
            if not self.closed:
                log.error("the MQTT receiver process ended; this worker stops")
        except Exception:  # a message this side cannot take: stop rather than hang
            log.exception("the MQTT receiver's pipe brought what this worker cannot take; "
                          "it stops")
        with self._cv:
            self.closed = True
            self._cv.notify_all()

    def _depth(self) -> None:
        METRICS.queue_depth = self._child_depth + len(self._urgent) + len(self._bulk)

    def _acker(self, seq: int) -> Callable[[], None]:
        def ack() -> None:
            with self._send_lock:
                self._acked.append(seq)
        return ack

    def flush_acks(self) -> None:
        """The acknowledgements of a handled group to the child in one message (the worker
        calls it after acknowledging a group; one pipe message each had cost ~15 µs of CPU on
        both sides, ~0.6 ms a 20,000-reading group)."""
        with self._send_lock:
            seqs, self._acked = self._acked, []
            if seqs:
                self._conn.send(("ack", seqs))

    def fetch(self, timeout: float) -> list[Item]:
        """As `MqttSource.fetch`: the priority lane first, a group within the caps."""
        with self._cv:
            if not self._urgent and not self._bulk and not self.closed:
                self._cv.wait(timeout)
            self._took_urgent, out = take_group(self._urgent, self._bulk,
                                                self.group_messages, self.group_readings)
            self._depth()
        return out

    def unfetch(self, items: list[Item]) -> None:
        """As `MqttSource.unfetch`."""
        with self._cv:
            put_back(self._urgent, self._bulk, self._took_urgent, items)
            self._depth()

    def urgent_waiting(self) -> bool:
        return bool(self._urgent)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError), self._send_lock:
            self._conn.send(("stop",))
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
        self._conn.close()
        self._urgent_conn.close()


def _child(url: str, username: str | None, password: str | None, client_id: str | None,
           group_messages: int, group_readings: int, conn: Any, urgent_conn: Any) -> None:
    """The receiving process: an `MqttSource` whose groups go down the pipe; PUBACKs when
    the worker says so; danger signals forwarded to the worker's hub."""
    from qorgau.alarms.ingest.mqtt import MqttSource
    from qorgau.alarms.ingest.sentinel import DangerWatch
    from qorgau.core.models import load_all_models

    load_all_models()
    from qorgau.alarms.worker import settle_heap

    # its start-up heap (~150,000 objects) out of the collector's reach: a full collection
    # over it took ~170 ms on a slow boot, with the network thread (and the life-safety
    # messages it forwards) held for all of it
    settle_heap()
    locks = {conn: threading.Lock(), urgent_conn: threading.Lock()}

    def send(msg: tuple, pipe: Any = conn) -> None:
        with locks[pipe]:
            pipe.send(msg)

    watch = DangerWatch(publish=lambda site_id, message: send(("hub", site_id, message),
                                                              urgent_conn))
    pending: dict[int, Callable[[], None]] = {}
    numbers = itertools.count(1)  # next() is atomic: the network thread numbers urgent ones

    numbering = Numbering()  # the bulk pipe's; only the main thread packs bulk groups

    def forward(urgent: bool, items: list[Item]) -> None:
        packed = []
        for site_id, doc, ack in items:
            seq = next(numbers)
            pending[seq] = ack
            packed.append((seq, pack(site_id, doc, None if urgent else numbering)))
        send(("group", urgent, packed, METRICS.queue_depth,
              METRICS.counts.get("mqtt_broker_dropped", 0)), urgent_conn if urgent else conn)

    # a life-safety message goes to the worker from the network thread as it arrives (before
    # its danger signal): no wait for this process's main thread to wake and take it
    src = MqttSource(url, username=username, password=password, client_id=client_id,
                     group_messages=group_messages, group_readings=group_readings, watch=watch,
                     on_urgent=lambda item: forward(True, [item]))
    threading.Thread(target=_acks, args=(conn, pending, src), daemon=True).start()
    if src.connected.wait(30):
        send(("ready",))
    while not src.closed:
        urgent, items = src.take(0.2)
        if items:
            forward(urgent, items)


def _acks(conn: Any, pending: dict[int, Callable[[], None]], src: Any) -> None:
    """PUBACK each message the worker has committed; exit with the worker."""
    try:
        while True:
            msg = conn.recv()
            if msg[0] == "ack":
                for seq in msg[1]:
                    pending.pop(seq)()
            elif msg[0] == "stop":
                break
    except (EOFError, OSError):
        pass  # the worker is gone: what it did not acknowledge comes again to its successor
    src.close()
    os._exit(0)
