"""Ingest processor alone (no broker): group commits of 40 JSON messages × 500 readings on 2,000
devices into SQLite (segment fsync off, so the figure is the processor's own cost: parse,
dedup, roll-ups, counters, engine, commit). Readings per CPU-second of the processing thread
(less sensitive than wall time to other jobs on a shared machine) and per wall second, median
of --groups groups.

The baseline is measured in the same run: `--baseline REV` runs the same groups against that
revision's src/ (`git archive`) in a child process.

`--raises N`: instead, the raise path of a life-safety alarm. N one-reading messages, each
taking a fresh life-safety CH4 detector past its high and high-high limits (two occurrences,
their ISA transitions and audit events, withdrawal, dispatch plan, segment fsync, commit with
SQLite synchronous=FULL): milliseconds from the message to the hub push of its HIHI record,
p50 and p99 (the deliveries after the push are left out). This is the part of the alarm
record's latency that is not spent waiting for a bulk group. `--gap S` sleeps S seconds
before each raise, as a worker waits between life-safety messages in service, and measures
the same tree back to back in the same run beside it: on this VM the path's code and data are
out of the CPU caches after a few milliseconds of other work or idling, and the cold path is
the one the end-to-end record latency pays (docs/benchmarks.md, 2026-11-28 evening).

`--packed`: the messages come as the receiving process sends them down its bulk pipe (pickled,
decoded and packed beforehand; unpacked inside the timed part): the worker process's share of a
reading in `alarm_e2e --receiver process`, without the broker and the decoding.

Usage: .venv/bin/python benchmarks/alarm_ingest.py [--groups 30] [--numbering device|message]
       [--packed] [--raises 200 [--gap 0.3]] [--baseline REV]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import report

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))


def _site(prefix: str) -> tuple[Path, int, list[str]]:
    """A fresh SQLite database and var dir with the benchmark mine of 2,000 devices."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(QORGAU_VAR_DIR=str(tmp), QORGAU_DATABASE_URL=f"sqlite:///{tmp}/i.sqlite3",
                      QORGAU_ENV="test")
    from alarm_e2e import setup

    return tmp, *setup(2000)


def child(a: argparse.Namespace) -> dict:
    tmp, site_id, codes = _site("qorgau-ingest-")
    from qorgau.alarms.ingest.core import Processor
    from qorgau.alarms.store import SegmentStore
    from qorgau.core.db import get_sessionmaker

    co = codes[1:]
    proc = Processor(SegmentStore(tmp / "seg", fsync=False))
    nxt = np.zeros(len(co), np.int64)
    t0, k = time.time() - 3000, 0
    cpu, wall, n = [], [], 0
    wire = _wire(site_id) if a.packed else None
    for g in range(a.groups + 2):
        docs = []
        for _ in range(40):
            idx = (k * 500 + np.arange(500)) % len(co)
            if a.numbering == "device":
                seqs = nxt[idx].tolist()
                nxt[idx] += 1
            else:
                seqs = [k] * 500
            now = t0 + k * 0.05
            docs.append((site_id, {"site_id": site_id, "readings": [
                {"d": co[j], "s": q, "t": now, "v": 3.0}
                for j, q in zip(idx.tolist(), seqs, strict=True)]}))
            k += 1
        if wire is not None:  # packed as the receiving process sends them
            docs = [wire[0](doc) for _sid, doc in docs]
        with get_sessionmaker()() as db:
            c0, w0 = time.thread_time(), time.perf_counter()
            if wire is not None:  # taken off the pipe: the worker's share
                docs = [wire[1](b) for b in docs]
            res = proc.handle_many(db, docs, source="bench")
            c1, w1 = time.thread_time(), time.perf_counter()
        n += res.accepted
        if g >= 2:  # the first groups build the runtime and warm the kernels
            cpu.append(20_000 / (c1 - c0))
            wall.append(20_000 / (w1 - w0))
    return {"cpu": float(np.median(cpu)), "wall": float(np.median(wall)), "accepted": n,
            "sent": (a.groups + 2) * 20_000}


def _wire(site_id: int) -> tuple:
    """(pack, unpack) of the receiving process's bulk pipe for this tree: a message's JSON to
    the pickled bytes the child sends, and those bytes to what the worker's reader thread
    hands to the processor. Trees before 2026-11-29 evening have no numbering."""
    import pickle

    import orjson

    from qorgau.alarms.ingest import receiver
    from qorgau.alarms.ingest.parse import decode

    if hasattr(receiver, "Numbering"):
        numbering, names = receiver.Numbering(), receiver.Names()
        return (lambda doc: pickle.dumps(receiver.pack(site_id, decode(orjson.dumps(doc)),
                                                       numbering)),
                lambda b: receiver.unpack(pickle.loads(b), names))
    return (lambda doc: pickle.dumps(receiver.pack(site_id, decode(orjson.dumps(doc)))),
            lambda b: receiver.unpack(pickle.loads(b)))


def raise_child(a: argparse.Namespace) -> dict:
    """Milliseconds per life-safety raise message (fsync on, as deployed)."""
    tmp, site_id, _codes = _site("qorgau-raise-")
    from qorgau.alarms import notify
    from qorgau.alarms.ingest.core import Processor
    from qorgau.alarms.models import Device
    from qorgau.alarms.store import SegmentStore
    from qorgau.core.db import get_sessionmaker

    codes = [f"CH4-R{k}" for k in range(a.raises + 5)]
    with get_sessionmaker()() as db:
        base = db.query(Device).filter_by(code="CH4-LS").one()
        db.add_all([Device(site_id=site_id, enterprise_id=base.enterprise_id, zone_code="Z1",
                           region_code=base.region_code, code=c, kind="gas", quantity="CH4",
                           limits={"high": 1.0, "highhigh": 1.5}, life_safety=True)
                    for c in codes])
        db.commit()
    proc = Processor(SegmentStore(tmp / "seg"))
    pushed: list[float] = []
    publish = notify.HUB.publish

    def timed(site: int, msg: dict) -> None:  # the moment the console's stream gets the record
        if msg.get("kind") == "HIHI" and msg.get("type") == "alarm":
            pushed.append(time.perf_counter())
        publish(site, msg)

    notify.HUB.publish = timed
    t0, hub, whole, raised = time.time() - 600, [], [], 0
    for k, code in enumerate(codes):
        time.sleep(a.gap)
        doc = {"site_id": site_id, "readings": [{"d": code, "s": 1, "t": t0 + k, "v": 2.0}]}
        with get_sessionmaker()() as db:
            w0 = time.perf_counter()
            res = proc.handle_many(db, [(site_id, doc)], source="bench")
            w1 = time.perf_counter()
        raised += res.alarms
        if k >= 5:  # the first build the site's runtime and warm the paths
            hub.append((pushed[-1] - w0) * 1000)
            whole.append((w1 - w0) * 1000)
    return {"p50": float(np.percentile(hub, 50)), "p99": float(np.percentile(hub, 99)),
            "whole_p50": float(np.percentile(whole, 50)), "alarms": raised,
            "expected": 2 * len(codes)}


def _in_child(a: argparse.Namespace, src: Path | None) -> dict:
    from alarm_e2e import run_child

    args = ["--groups", str(a.groups), "--numbering", a.numbering,
            *(["--packed"] if a.packed else [])]
    if a.raises:
        args += ["--raises", str(a.raises), "--gap", str(a.gap)]
    return run_child(__file__, args, src)


def main() -> None:
    from alarm_e2e import _extract

    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=30)
    ap.add_argument("--numbering", choices=["device", "message"], default="device")
    ap.add_argument("--raises", type=int, default=0, help="measure the raise path instead")
    ap.add_argument("--gap", type=float, default=0.0,
                    help="with --raises: seconds idle before each raise (cold caches)")
    ap.add_argument("--packed", action="store_true",
                    help="messages as the receiving process sends them (its bulk pipe): the "
                    "worker's share of a reading at full load")
    ap.add_argument("--baseline", help="git revision measured first, in the same run")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(raise_child(a) if a.raises else child(a)))
        return
    if a.baseline:
        base = _in_child(a, _extract(a.baseline))
    elif a.raises and a.gap:  # the same tree back to back
        base = _in_child(argparse.Namespace(**{**vars(a), "gap": 0.0}), None)
    else:
        base = None
    new = _in_child(a, None)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if a.raises:
        return _report_raises(a, new, base, load)
    for key, what in (("cpu", "readings per CPU-second"), ("wall", "readings per wall second")):
        label = (f"alarm_ingest group commit (40 × 500 readings, 2,000 devices, numbered per "
                 f"{a.numbering}, SQLite, no fsync"
                 f"{', packed as the receiving process sends them' if a.packed else ''}), "
                 f"{what}, no loss="
                 f"{new['accepted'] == new['sent']}")
        if base is not None:
            report(label, new[key], "readings/s", base[key],
                   f"readings/s at {a.baseline} (same run; load {load})")


def _report_raises(a: argparse.Namespace, new: dict, base: dict | None, load: str) -> None:
    for key in ("p50", "p99"):
        label = (f"alarm_ingest life-safety raise path to the hub push (one reading, HI + HIHI, "
                 f"SQLite, fsync), {key} of {a.raises}"
                 f"{f', {a.gap:g} s idle before each' if a.gap else ''}, "
                 f"all raised={new['alarms'] == new['expected']}")
        if base is not None:
            at = a.baseline or "back to back, this tree"
            report(label, new[key], "ms", base[key], f"ms {at} (same run; load {load})")
        report(label, new[key], "ms", 10.0, "ms (the whole record's p99 target at 50 K/s)")


if __name__ == "__main__":
    main()
