"""MQTT receiving and decoding in a child process (`ingest/receiver.py`): what the worker gets
over the pipe is what it would have parsed itself; readings in over a real Mosquitto give the
alarm record, the danger signal reaches the worker's live hub, and nothing is acknowledged
before its commit (the kill -9 test in test_brokers.py runs with both receivers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import orjson
from sqlalchemy import func, select

from qorgau.alarms.ingest import receiver
from qorgau.alarms.ingest.parse import Codes, Columns, Parsed, Rows, decode, parse
from qorgau.alarms.ingest.steps import merge
from qorgau.alarms.models import AlarmRecord, Device

from .test_brokers import _publisher, _wait, mosquitto  # noqa: F401 - its broker fixture


def _hub_messages(monkeypatch, site_id: int) -> list[dict]:
    """What reaches the (real) hub for this site from now on: its `recent` keeps 200 messages
    of every site, and the worker's tick delivers what earlier tests' alarms left in the
    outbox."""
    from qorgau.alarms import notify

    seen: list[dict] = []
    publish = notify.HUB.publish
    monkeypatch.setattr(notify.HUB, "publish", lambda sid, m: (
        seen.append(m) if sid == site_id else None, publish(sid, m))[1])
    return seen


@contextmanager
def _draining(port: int, proc) -> Iterator[tuple[receiver.ProcessSource, threading.Thread]]:
    """A receiving process and a worker draining it until the source closes (its first tick
    builds every site's runtime in the test database, a hundred sites after the rest of the
    suite, which on a slow machine had outlasted a fixed window of 8 s); closed and joined on
    the way out."""
    from qorgau.alarms.worker import drain

    src = receiver.ProcessSource(f"mqtt://127.0.0.1:{port}", username="ingest",
                                 password="ingest-pw")
    th = threading.Thread(target=drain, args=(src, proc), kwargs={"seconds": 180},
                          daemon=True)
    try:
        assert src.connected.wait(20), "the receiving process did not subscribe"
        th.start()
        yield src, th
    finally:
        src.close()
        if th.is_alive():
            th.join(30)  # the drain ends with its source


def _rows(site_id: int, codes: list[str]) -> bytes:
    return orjson.dumps({"site_id": site_id, "readings": [
        {"d": c, "s": k, "t": 1_790_000_000.0 + k / 7, "v": 0.1 * k} for k, c in enumerate(codes)]})


def test_a_clean_rows_batch_crosses_the_pipe_as_its_parse():
    doc = decode(_rows(7, [f"CO-{k % 13}" for k in range(500)]))
    assert isinstance(doc, Rows)
    packed = receiver.pack(7, doc)
    assert packed[0] == "cols"
    sid, got = receiver.unpack(packed)
    want = parse(decode(_rows(7, [f"CO-{k % 13}" for k in range(500)])), site_id=7)
    assert sid == 7 and isinstance(got, Parsed) and got.d == want.d and got.z is None
    for col in "stve":
        assert np.array_equal(getattr(got, col), np.asarray(getattr(want, col)))
    got.t[0] = 0.0  # the worker's own arrays, not views of the pipe's bytes


def test_a_clean_columns_batch_crosses_both_pipes_as_its_parse():
    codes = [f"CO-{k % 13}" for k in range(500)]
    raw = orjson.dumps({"site_id": 7, "d": codes, "s": list(range(500)),
                        "t": [1_790_000_000.0 + k / 7 for k in range(500)],
                        "v": [0.1 * k for k in range(500)]})
    doc, want = decode(raw), parse(decode(_rows(7, codes)), site_id=7)
    assert isinstance(doc, Columns)
    for packed, names in ((receiver.pack(7, doc), None),
                          (receiver.pack(7, doc, receiver.Numbering()), receiver.Names())):
        assert packed[0] in ("cols", "ids")
        sid, got = receiver.unpack(packed, names)
        assert sid == 7 and list(got.d) == want.d and got.z is None
        for col in "stve":
            assert np.array_equal(getattr(got, col), np.asarray(getattr(want, col)))


def test_the_bulk_pipe_numbers_each_code_once():
    """On the bulk pipe a batch's codes go as numbers, each new code's name once: what the
    worker unpacks is the same parse, and its device indices come by one take."""
    numbering, names = receiver.Numbering(), receiver.Names()
    codes = [f"CO-{k % 13}" for k in range(500)]
    first = receiver.pack(7, decode(_rows(7, codes)), numbering)
    assert first[0] == "ids" and first[4] == [f"CO-{k}" for k in range(13)]
    again = receiver.pack(7, decode(_rows(7, ["CO-5", "CO-99", "CO-0"])), numbering)
    assert again[4] == ["CO-99"]  # only the code the worker has not had
    _, a = receiver.unpack(first, names)
    _, b = receiver.unpack(again, names)
    want = parse(decode(_rows(7, codes)), site_id=7)
    assert isinstance(a.d, Codes) and list(a.d) == want.d and a.d[3] == "CO-3"
    assert a.d[-2:] == want.d[-2:] and list(b.d) == ["CO-5", "CO-99", "CO-0"]
    for col in "stve":
        assert np.array_equal(getattr(a, col), np.asarray(getattr(want, col)))
    merged = merge([a, b])  # one table: still numbers
    assert isinstance(merged.d, Codes) and list(merged.d) == want.d + list(b.d)
    assert isinstance(merge([a, want]).d, list)  # a list among them: names
    other = receiver.unpack(receiver.pack(8, decode(_rows(8, ["CO-99"])), numbering), names)[1]
    assert list(other.d) == ["CO-99"] and other.d.names is not a.d.names  # per site


def test_a_table_past_its_limit_starts_afresh(monkeypatch):
    """A gateway sending ever new codes cannot grow the tables without end: past the limit
    the site's numbering starts again under a new generation, and earlier batches keep the
    names they were numbered with."""
    monkeypatch.setattr(receiver.Numbering, "LIMIT", 4)
    numbering, names = receiver.Numbering(), receiver.Names()
    old = receiver.unpack(receiver.pack(7, decode(_rows(7, [f"X-{k}" for k in range(5)])),
                                        numbering), names)[1]
    packed = receiver.pack(7, decode(_rows(7, ["X-4", "Y-1"])), numbering)
    assert packed[2] == 1 and packed[4] == ["X-4", "Y-1"]  # generation 1, all names anew
    new = receiver.unpack(packed, names)[1]
    assert list(new.d) == ["X-4", "Y-1"] and list(old.d) == [f"X-{k}" for k in range(5)]


def test_numbered_codes_map_to_device_indices_as_names_do(db, mine, proc):
    """`SiteRuntime.indices` gives the same indices for numbers as for the codes (unknown:
    -1), and follows a table that grew after it was first mapped."""
    rt = proc.runtime(db, mine.site_id)
    numbering, names = receiver.Numbering(), receiver.Names()

    def both(codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        got = receiver.unpack(receiver.pack(mine.site_id, decode(_rows(mine.site_id, codes)),
                                            numbering), names)[1]
        return rt.indices(got.d), rt.indices(codes)

    for codes in (["CO-1", "CH4-1"], ["NOPE", "CO-1"], ["CH4-1", "ALSO-NOT", "CO-1"]):
        numbers, plain = both(codes)
        assert numbers.tolist() == plain.tolist()
    assert plain.tolist()[1] == -1 and len(rt.mapped) == 1


def test_anything_else_crosses_as_the_document():
    odd = decode(_rows(7, ["CO\x1f1", "CO-2"]))  # a code with the separator in it
    assert receiver.pack(7, odd) == ("doc", 7, odd)
    other_site = decode(_rows(8, ["CO-1"]))  # the worker dead-letters it (wrong_site)
    assert receiver.pack(7, other_site)[0] == "doc"
    event = decode(orjson.dumps({"site_id": 7, "readings": [{"d": "W-1", "s": 1, "t": 1.0,
                                                             "e": "FALL"}]}))
    assert receiver.pack(7, event) == ("doc", 7, event)
    assert receiver.unpack(("doc", 7, event)) == (7, event)


def test_readings_alarm_and_danger_signal_through_the_receiving_process(
        db, mine, proc, mosquitto, monkeypatch):  # noqa: F811 - the fixture imported above
    seen = _hub_messages(monkeypatch, mine.site_id)
    with _draining(mosquitto, proc) as (src, th):
        pub = _publisher(mosquitto, mine.gateway, mine.key)
        now = time.time()
        batch = {"site_id": mine.site_id, "readings": [
            {"d": "CO-1", "s": i, "t": now - 5 + i / 10, "v": 3.0} for i in range(40)]}
        pub.publish(f"qorgau/{mine.site_id}/batch/telemetry", orjson.dumps(batch),
                    qos=1).wait_for_publish(5)
        ch4 = {"site_id": mine.site_id, "readings": [
            {"s": i, "t": now - 5 + i, "v": 0.5 + 0.3 * i} for i in range(5)]}
        pub.publish(f"qorgau/{mine.site_id}/CH4-1/telemetry", orjson.dumps(ch4),
                    qos=1).wait_for_publish(5)
        assert _wait(lambda: db.scalar(select(func.count()).select_from(AlarmRecord).where(
            AlarmRecord.site_id == mine.site_id, AlarmRecord.kind == "HIHI")) == 1, 120)
        # screened in the child's network thread, put on this process's hub by the pipe
        assert _wait(lambda: any(m.get("type") == "danger" for m in list(seen)), 5)

        def counts() -> tuple[int, int]:
            db.expire_all()
            return (db.get(Device, mine.devices["CO-1"]).n_accepted,
                    db.get(Device, mine.devices["CH4-1"]).n_accepted)

        assert _wait(lambda: counts() == (40, 5))
        pub.loop_stop()
    assert not src.proc.is_alive() and not th.is_alive()


def test_a_danger_reading_inside_a_site_batch_is_signalled_by_the_receiving_process(
        db, mine, proc, mosquitto, monkeypatch):  # noqa: F811
    """A life-safety reading inside a bulk site batch (not its own topic, so not the
    priority lane) is screened by the child as the batch is taken: its danger signal reaches
    the worker's hub, and the batch's readings are stored."""
    from qorgau.alarms.models import Device

    hh = float(db.get(Device, mine.devices["CH4-1"]).limits["highhigh"])
    seen = _hub_messages(monkeypatch, mine.site_id)
    with _draining(mosquitto, proc):
        pub = _publisher(mosquitto, mine.gateway, mine.key)
        now = time.time()
        rows = [{"d": "CO-1", "s": 100 + i, "t": now - 1, "v": 3.0} for i in range(20)]
        rows.append({"d": "CH4-1", "s": 100, "t": now, "v": hh + 0.5})
        pub.publish(f"qorgau/{mine.site_id}/batch/telemetry",
                    orjson.dumps({"site_id": mine.site_id, "readings": rows}),
                    qos=1).wait_for_publish(5)
        assert _wait(lambda: any(m.get("type") == "danger" and m.get("device") == "CH4-1"
                                 for m in list(seen)), 30)
        assert _wait(lambda: (db.expire_all(), db.get(Device, mine.devices["CO-1"])
                              .n_accepted)[1] == 20, 60)
        pub.loop_stop()


def test_a_life_safety_message_passes_a_stalled_bulk_pipe(mine, mosquitto, monkeypatch):  # noqa: F811
    """The worker's bulk reader is held (as when its process is busy and a ~1 MB group is on
    its way): the child's write of the next bulk group blocks, yet a life-safety message and
    its danger signal reach the priority lane and the hub, down their own pipe."""
    held, unpack = threading.Event(), receiver.unpack
    monkeypatch.setattr(receiver, "unpack", lambda item, names=None: (
        held.wait(60) if item[0] == "ids" and item[1] == mine.site_id else None,
        unpack(item, names))[1])
    signals = _hub_messages(monkeypatch, mine.site_id)
    src = receiver.ProcessSource(f"mqtt://127.0.0.1:{mosquitto}", username="ingest",
                                 password="ingest-pw")
    try:
        assert src.connected.wait(20), "the receiving process did not subscribe"
        pub = _publisher(mosquitto, mine.gateway, mine.key)
        now = time.time()
        # ~2.5 MB of columns, far more than the pipe holds; 10 messages, as the broker sends
        # a client only 20 unacknowledged (Mosquitto's default `max_inflight_messages`)
        for k in range(10):
            rows = orjson.dumps({"site_id": mine.site_id, "readings": [
                {"d": "CO-1", "s": k * 10_000 + i, "t": now - 60 + i / 1000, "v": 3.0}
                for i in range(10_000)]})
            pub.publish(f"qorgau/{mine.site_id}/batch/telemetry", rows, qos=1)
        time.sleep(1.0)  # the child has taken them and is blocked writing the next group
        assert not src.urgent_waiting()
        ch4 = {"site_id": mine.site_id, "readings": [{"s": 1, "t": time.time(), "v": 2.5}]}
        pub.publish(f"qorgau/{mine.site_id}/CH4-1/telemetry", orjson.dumps(ch4), qos=1)
        assert _wait(src.urgent_waiting, 10), "the life-safety message waited behind bulk"
        assert _wait(lambda: any(m.get("type") == "danger" for m in list(signals)), 5)
        assert not held.is_set() and len(src._bulk) == 0  # the bulk lane is still held
        held.set()
        assert _wait(lambda: len(src._bulk) > 0, 20)
        pub.loop_stop()
    finally:
        held.set()
        src.close()
    assert not src.proc.is_alive()


def test_a_payload_no_parser_can_read_ends_neither_receiver_nor_batch(
        db, mine, proc, mosquitto):  # noqa: F811
    """A message nested deeper than any parser goes (orjson refuses it, the fallback raised
    RecursionError) ended the receiving process, and the broker sent it again to the next
    one: now it is a dead letter under its topic's site (a message refused where it was
    received had none: the console's ingest errors never showed it), acknowledged, and the
    readings after it are taken."""
    from qorgau.alarms.ingest.mqtt import _decoded
    from qorgau.alarms.models import DeadLetter

    site, refused = _decoded(mine.site_id, "CO-1", b"[" * 100_000)
    assert site == mine.site_id and refused.reason == "malformed"  # its dead letter's site
    with _draining(mosquitto, proc) as (src, _th):
        pub = _publisher(mosquitto, mine.gateway, mine.key)
        for topic in ("CO-1", "CH4-1"):  # the bulk lane and the life-safety one
            pub.publish(f"qorgau/{mine.site_id}/{topic}/telemetry", b"[" * 100_000, qos=1)
        good = {"site_id": mine.site_id, "readings": [{"s": 1, "t": time.time(), "v": 3.0}]}
        pub.publish(f"qorgau/{mine.site_id}/CO-1/telemetry", orjson.dumps(good),
                    qos=1).wait_for_publish(5)

        def taken() -> bool:
            db.expire_all()
            return db.get(Device, mine.devices["CO-1"]).n_accepted == 1

        assert _wait(taken, 120) and src.proc.is_alive()
        assert _wait(lambda: db.scalar(select(func.count()).select_from(DeadLetter).where(
            DeadLetter.site_id == mine.site_id, DeadLetter.reason == "malformed")) == 2, 20)
        pub.loop_stop()


def test_a_pipe_message_the_worker_cannot_take_closes_the_source():
    """The bulk reader thread meets a message it cannot unpack: the source closes (the
    worker's loop ends and the supervisor restarts both processes) instead of the thread
    ending alone and the worker waiting for ever on lanes nobody fills."""
    import multiprocessing as mp
    from collections import deque

    src = object.__new__(receiver.ProcessSource)
    src._cv, src._urgent, src._bulk = threading.Condition(), deque(), deque()
    src._names, src.closed, src._child_depth = receiver.Names(), False, 0
    mine, theirs = mp.Pipe()
    reader = threading.Thread(target=src._read, args=(mine,), daemon=True)
    reader.start()
    theirs.send(("group", False, [(1, ("ids", 7, 0, b"\0\0\0\0"))], 0, 0))  # cut short
    reader.join(5)
    assert not reader.is_alive() and src.closed
    theirs.close()
