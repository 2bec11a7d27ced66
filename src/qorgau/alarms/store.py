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
           scope: dict[int, tuple[int, str]], keep_last: bool = False) -> int:
    """Merge a batch into 1-minute roll-ups: one upsert statement for the whole batch.
    `scope` maps device → (enterprise, region). `keep_last`: late readings, which do not
    replace the last value of a minute that already has one (it came later in time); a minute
    they create gets the first of them, as if they had come one by one."""
    if len(t) == 0:
        return 0
    from qorgau.alarms.ingest import sqlbulk

    minute = (t // 60).astype(np.int64)
    # one int64 key per (device, minute): minutes since 1970 fit in 32 bits until 10136
    flat = (device_ids.astype(np.int64) << 32) | minute
    order = np.argsort(flat, kind="stable")  # stable: the last of a key is its latest reading
    key, vs = flat[order], np.asarray(v, np.float64)[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    end = np.r_[start[1:], len(key)] - 1
    dev = key[start] >> 32
    where = [scope[d] for d in dev.tolist()]
    sqlbulk.upsert_rollups(db, device=dev, minute=key[start] & 0xFFFFFFFF,
                           enterprise=[w[0] for w in where], region=[w[1] for w in where],
                           n=end - start + 1, vmin=np.minimum.reduceat(vs, start),
                           vmax=np.maximum.reduceat(vs, start),
                           vsum=np.add.reduceat(vs, start),
                           vlast=vs[start] if keep_last else vs[end],
                           keep_last=keep_last)
    return len(start)


def history(db: Session, *, device_id: int, start, end) -> list[Rollup]:
    stmt = (select(Rollup).where(Rollup.device_id == device_id, Rollup.minute >= start,
                                 Rollup.minute < end).order_by(Rollup.minute))
    return list(db.scalars(stmt))
