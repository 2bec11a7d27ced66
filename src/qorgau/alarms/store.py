"""Durable raw-reading store: append-only columnar segment files, one per site and hour.

Why segment files and not the JetStream stream: the embedded default has no broker, and the
same store then serves HTTP, MQTT, NATS and in-process ingest alike. A frame is appended and
fsync'ed before the reading is acknowledged (HTTP response / MQTT PUBACK / JetStream ack).
Frames are columnar (device id int32, seq int64, time float64, value float64), so a day of a
sensor reads back without parsing JSON. A replay after a crash may append a frame twice
(at-least-once); readers drop repeats by (device, seq).

1-minute roll-ups go to the database (`alarm_rollup`) in the ingest transaction.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from qorgau.alarms.models import Rollup
from qorgau.core.config import get_settings

MAGIC = b"QSG1"
HEADER = struct.Struct("<4sI")  # magic, number of readings
FRAME_DTYPE = np.dtype([("device", "<i4"), ("seq", "<i8"), ("t", "<f8"), ("v", "<f8")])


class SegmentStore:
    def __init__(self, root: Path | None = None, *, fsync: bool = True) -> None:
        self.root = root or get_settings().var_dir / "alarms" / "segments"
        self.fsync = fsync
        self._lock = threading.Lock()
        self.bytes_written = 0

    def path(self, site_id: int, t: float) -> Path:
        hour = time.strftime("%Y%m%d%H", time.gmtime(t))
        return self.root / str(site_id) / f"{hour}.seg"

    def append(self, site_id: int, device: np.ndarray, seq: np.ndarray, t: np.ndarray,
               v: np.ndarray) -> None:
        """Write one frame per hour touched and fsync; returns once it is on disk."""
        if len(device) == 0:
            return
        rows = np.empty(len(device), FRAME_DTYPE)
        rows["device"], rows["seq"], rows["t"], rows["v"] = device, seq, t, v
        hours = (t // 3600).astype(np.int64)
        with self._lock:
            for h in np.unique(hours):
                part = rows[hours == h]
                path = self.path(site_id, float(h) * 3600)
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "ab") as f:
                    f.write(HEADER.pack(MAGIC, len(part)) + part.tobytes())
                    f.flush()
                    if self.fsync:
                        os.fsync(f.fileno())
                self.bytes_written += HEADER.size + part.nbytes

    def read(self, site_id: int, start: float, end: float,
             device: int | None = None) -> np.ndarray:
        """Readings of a site in [start, end), repeats by (device, seq) removed, time order."""
        parts = []
        for h in range(int(start // 3600), int(end // 3600) + 1):
            path = self.path(site_id, h * 3600.0)
            if path.exists():
                parts.extend(_frames(path.read_bytes()))
        if not parts:
            return np.empty(0, FRAME_DTYPE)
        rows = np.concatenate(parts)
        keep = (rows["t"] >= start) & (rows["t"] < end)
        if device is not None:
            keep &= rows["device"] == device
        rows = rows[keep]
        _, first = np.unique(np.stack([rows["device"], rows["seq"]], 1), axis=0,
                             return_index=True)
        rows = rows[np.sort(first)]
        return rows[np.argsort(rows["t"], kind="stable")]

    def purge(self, *, keep_days: float, now: float | None = None) -> int:
        """Retention: delete segment files older than keep_days. Returns files removed."""
        cutoff = (now or time.time()) - keep_days * 86400
        removed = 0
        for path in self.root.glob("*/*.seg"):
            stamp = time.mktime(time.strptime(path.stem, "%Y%m%d%H")) - time.timezone
            if stamp + 3600 < cutoff:
                path.unlink()
                removed += 1
        return removed


def _frames(data: bytes) -> list[np.ndarray]:
    """Decode frames; a torn last frame (crash mid-write, never acknowledged) is ignored."""
    out, pos = [], 0
    while pos + HEADER.size <= len(data):
        magic, n = HEADER.unpack_from(data, pos)
        end = pos + HEADER.size + n * FRAME_DTYPE.itemsize
        if magic != MAGIC or end > len(data):
            break
        out.append(np.frombuffer(data, FRAME_DTYPE, n, pos + HEADER.size))
        pos = end
    return out


def rollup(db: Session, *, device_ids: np.ndarray, t: np.ndarray, v: np.ndarray,
           scope: dict[int, tuple[int, str]]) -> int:
    """Merge a batch into 1-minute roll-ups (upsert). `scope` maps device → (enterprise, region)."""
    if len(t) == 0:
        return 0
    minute = (t // 60).astype(np.int64)
    # one int64 key per (device, minute): minutes since 1970 fit in 32 bits until 10136
    flat = (device_ids.astype(np.int64) << 32) | minute
    ukey, inv = np.unique(flat, return_inverse=True)
    uniq = np.stack([ukey >> 32, ukey & 0xFFFFFFFF], 1)
    inv = inv.ravel()
    n = np.bincount(inv)
    vsum = np.bincount(inv, weights=v)
    vmin = np.full(len(uniq), np.inf)
    vmax = np.full(len(uniq), -np.inf)
    np.minimum.at(vmin, inv, v)
    np.maximum.at(vmax, inv, v)
    last_idx = np.zeros(len(uniq), np.int64)
    np.maximum.at(last_idx, inv, np.arange(len(t)))
    from qorgau.alarms.service import dt

    rows = [{"device_id": int(d), "minute": dt(float(m) * 60), "enterprise_id": scope[int(d)][0],
             "region_code": scope[int(d)][1], "n": int(c), "vmin": float(lo), "vmax": float(hi),
             "vsum": float(s), "vlast": float(v[li])}
            for (d, m), c, lo, hi, s, li in zip(uniq, n, vmin, vmax, vsum, last_idx,
                                                strict=True)]
    # one Core upsert for the whole batch (the ORM bulk path cost more than the rows)
    tbl = Rollup.__table__
    ins = (pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert)(tbl)
    ex = ins.excluded
    db.execute(ins.on_conflict_do_update(
        index_elements=["device_id", "minute"],
        set_={"n": tbl.c.n + ex.n, "vsum": tbl.c.vsum + ex.vsum, "vlast": ex.vlast,
              "vmin": _least(db, tbl.c.vmin, ex.vmin),
              "vmax": _greatest(db, tbl.c.vmax, ex.vmax)}), rows)
    return len(rows)


def _least(db: Session, a, b):
    from sqlalchemy import func

    return func.min(a, b) if db.get_bind().dialect.name == "sqlite" else func.least(a, b)


def _greatest(db: Session, a, b):
    from sqlalchemy import func

    return func.max(a, b) if db.get_bind().dialect.name == "sqlite" else func.greatest(a, b)


def history(db: Session, *, device_id: int, start, end) -> list[Rollup]:
    stmt = (select(Rollup).where(Rollup.device_id == device_id, Rollup.minute >= start,
                                 Rollup.minute < end).order_by(Rollup.minute))
    return list(db.scalars(stmt))
