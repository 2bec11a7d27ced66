"""Ingest processor alone (no broker): group commits of 40 JSON messages × 500 readings on 2,000
devices into SQLite (segment fsync off, so the figure is the processor's own cost: parse,
dedup, roll-ups, counters, engine, commit). Readings per CPU-second of the processing thread
(less sensitive than wall time to other jobs on a shared machine) and per wall second, median
of --groups groups.

The baseline is measured in the same run: `--baseline REV` runs the same groups against that
revision's src/ (`git archive`) in a child process.

Usage: .venv/bin/python benchmarks/alarm_ingest.py [--groups 30] [--numbering device|message]
       [--baseline REV]
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


def child(a: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="qorgau-ingest-"))
    os.environ.update(QORGAU_VAR_DIR=str(tmp), QORGAU_DATABASE_URL=f"sqlite:///{tmp}/i.sqlite3",
                      QORGAU_ENV="test")
    sys.path.insert(0, str(Path(__file__).parent))
    from alarm_e2e import setup

    from qorgau.alarms.ingest.core import Processor
    from qorgau.alarms.store import SegmentStore
    from qorgau.core.db import get_sessionmaker

    site_id, codes = setup(2000)
    co = codes[1:]
    proc = Processor(SegmentStore(tmp / "seg", fsync=False))
    nxt = np.zeros(len(co), np.int64)
    t0, k = time.time() - 3000, 0
    cpu, wall, n = [], [], 0
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
        with get_sessionmaker()() as db:
            c0, w0 = time.thread_time(), time.perf_counter()
            res = proc.handle_many(db, docs, source="bench")
            c1, w1 = time.thread_time(), time.perf_counter()
        n += res.accepted
        if g >= 2:  # the first groups build the runtime and warm the kernels
            cpu.append(20_000 / (c1 - c0))
            wall.append(20_000 / (w1 - w0))
    return {"cpu": float(np.median(cpu)), "wall": float(np.median(wall)), "accepted": n,
            "sent": (a.groups + 2) * 20_000}


def _in_child(a: argparse.Namespace, src: Path | None) -> dict:
    from alarm_e2e import run_child

    return run_child(__file__, ["--groups", str(a.groups), "--numbering", a.numbering], src)


def main() -> None:
    from alarm_e2e import _extract

    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=30)
    ap.add_argument("--numbering", choices=["device", "message"], default="device")
    ap.add_argument("--baseline", help="git revision measured first, in the same run")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a)))
        return
    base = _in_child(a, _extract(a.baseline)) if a.baseline else None
    new = _in_child(a, None)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    for key, what in (("cpu", "readings per CPU-second"), ("wall", "readings per wall second")):
        label = (f"alarm_ingest group commit (40 × 500 readings, 2,000 devices, numbered per "
                 f"{a.numbering}, SQLite, no fsync), {what}, no loss="
                 f"{new['accepted'] == new['sent']}")
        if base is not None:
            report(label, new[key], "readings/s", base[key],
                   f"readings/s at {a.baseline} (same run; load {load})")


if __name__ == "__main__":
    main()
