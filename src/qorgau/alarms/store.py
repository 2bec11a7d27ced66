"""Durable raw-reading store: append-only columnar segment files, one per site and hour.

Why segment files and not the JetStream stream: the embedded default has no broker, and the
same store then serves HTTP, MQTT, NATS and in-process ingest alike. A frame is appended and
fsync'ed before the reading is acknowledged (HTTP response / MQTT PUBACK / JetStream ack).
Frames are columnar (device id int32, seq int64, time float64, value float64), so a day of a
sensor reads back without parsing JSON. A replay after a crash may append a frame twice
(at-least-once); readers drop repeats by (device, seq).

Each frame carries its number (`QSG2`: strictly increasing per site, nanoseconds of the wall
clock when written), so the ingest ledger can replay exactly the frames whose roll-ups and
counters had not yet reached the database (`ingest/ledger.py`). `QSG1` frames (no number)
from before it are still read.

1-minute roll-ups go to the database (`alarm_rollup`), by the ingest ledger.
"""

from __future__ import annotations

import calendar
import logging
import os
import struct
import threading
import time
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms.models import Rollup
from qorgau.core.config import get_settings

MAGIC, MAGIC_V1 = b"QSG2", b"QSG1"
HEADER = struct.Struct("<4sIq")  # magic, number of readings, frame number
HEADER_V1 = struct.Struct("<4sI")  # magic, number of readings
log = logging.getLogger("qorgau.alarms.store")
_FSYNC = ThreadPoolExecutor(2, thread_name_prefix="segment-fsync")  # fsync gives up the GIL
ENTERED_MAX = 8192  # files a store remembers as entered (their directories fsync'ed)
FRAME_DTYPE = np.dtype([("device", "<i4"), ("seq", "<i8"), ("t", "<f8"), ("v", "<f8")])


class SegmentStore:
    def __init__(self, root: Path | None = None, *, fsync: bool = True) -> None:
        self.root = root or get_settings().var_dir / "alarms" / "segments"
        self.fsync = fsync
        self._lock = threading.Lock()
        self.bytes_written = 0
        # files whose directory entries this process has fsync'ed: a new hour's file (and a
        # new site's directory) is durable only once its directory is, not by its own fsync
        self._entered: set[Path] = set()

    @property
    def unprocessable_dir(self) -> Path:
        """Where messages dead-lettered as "unprocessable" are kept whole, beside the segments
        (`ingest/unprocessable.py`); purged with the dead letters that name them."""
        return self.root.parent / "unprocessable"

    def path(self, site_id: int, t: float) -> Path:
        hour = time.strftime("%Y%m%d%H", time.gmtime(t))
        return self.root / str(site_id) / f"{hour}.seg"

    def append(self, site_id: int, device: np.ndarray, seq: np.ndarray, t: np.ndarray,
               v: np.ndarray, frame: int = 0, *, sync: bool = True) -> list[tuple[int, int]]:
        """Write one frame per hour touched and fsync; returns once it is on disk, with the
        (hour, byte offset) of each frame written. With `sync=False` the caller has them
        fsync'ed (`sync_soon`) and waits for that before it acknowledges any."""
        if len(device) == 0:
            return []
        rows = np.empty(len(device), FRAME_DTYPE)
        rows["device"], rows["seq"], rows["t"], rows["v"] = device, seq, t, v
        hours = (t // 3600).astype(np.int64)
        lo, hi = int(hours.min()), int(hours.max())
        at = []
        with self._lock:
            for h in [lo] if lo == hi else np.unique(hours).tolist():
                part = rows if lo == hi else rows[hours == h]  # one hour: no sort, no copy
                path = self.path(site_id, float(h) * 3600)
                data = HEADER.pack(MAGIC, len(part), frame) + part.tobytes()
                at.append((h, self._write(path, data, self.fsync and sync)))
                self.bytes_written += HEADER.size + part.nbytes
        return at

    def _write(self, path: Path, data: bytes, fsync: bool) -> int:
        """A frame into a file this process has entered (no directory calls), else one it
        creates or opens for the first time (its directory made, and fsync'ed with `fsync`;
        without, by `sync`): a file removed meanwhile (retention) is created again."""
        if path in self._entered:
            try:
                return _write_frame(path, data, fsync, create=False)
            except FileNotFoundError:
                self._entered.discard(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        offset = _write_frame(path, data, fsync)
        if fsync:
            self._enter(path)
        elif not self.fsync:  # no fsync at all (a benchmark's store): nothing to wait for
            self._entered.add(path)
        return offset

    def _enter(self, path: Path) -> None:
        for d in (path.parent, path.parent.parent):
            fd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if len(self._entered) >= ENTERED_MAX:  # a file an hour a site: forget the old ones
            self._entered.clear()  # (each file still written enters again, once)
        self._entered.add(path)

    def sync_soon(self, site_id: int, at: list[tuple[int, int]]) -> Future[None]:
        """fsync, in a background thread, the files of frames `append(sync=False)` wrote (its
        `at`): the disk flush (0.2–10 ms here) overlaps the engine and the records, and the
        caller waits for the future before it commits and acknowledges."""
        done: Future[None] = Future()
        if not self.fsync or not at:
            done.set_result(None)
            return done
        return _FSYNC.submit(self.sync, [self.path(site_id, h * 3600.0) for h, _ in at])

    def sync(self, paths: Collection[Path]) -> None:
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            if path not in self._entered:  # a file new to this process: its directory too
                self._enter(path)

    def frames_since(self, site_id: int, at: dict[int, int], lo: int, hi: int
                     ) -> list[tuple[int, np.ndarray]]:
        """Frames numbered lo…hi from the given (hour → byte offset) positions on, in number
        order (a frame split over two hours comes out as its parts, in hour order)."""
        out = []
        for h, offset in sorted(at.items()):
            path = self.path(site_id, h * 3600.0)
            if not path.exists():  # another host's, or purged: its readings cannot come back
                log.warning("segment file %s to replay is missing", path)
                continue
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
            out.extend((n, rows) for n, rows in _numbered(data) if lo <= n <= hi)
        out.sort(key=lambda x: x[0])  # stable: the parts of one frame keep their hour order
        return out

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

    def purge(self, *, keep_days: float, now: float | None = None,
              hold: Collection[tuple[int, int]] = ()) -> tuple[int, list[Path]]:
        """Retention (`retention.py`): delete the hour files whose readings are all older than
        keep_days (0 or less: keep everything), except those in `hold` — (site, hour) that an
        ingest mark points into, which a replay after a crash reads whatever their age.
        Returns (files removed, files past retention kept for a mark)."""
        if keep_days <= 0:
            return 0, []
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        removed, held = 0, []
        for path in self.root.glob("*/*.seg"):
            key = _site_hour(path)
            if key is None or (key[1] + 1) * 3600 > cutoff:
                continue
            if key in hold:
                log.warning("segment file %s is past retention but an ingest mark still points "
                            "into it: kept for the replay", path)
                held.append(path)
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed, held


    def purge_unprocessable(self, *, keep_days: float, now: float | None = None) -> int:
        """Retention of the kept unprocessable messages: the files written more than keep_days
        ago (their names start with the UTC time they were kept; the file's modification time
        for a name without it); `retention.unprocessable_days` says how long. Returns files
        removed."""
        if keep_days <= 0 or not self.unprocessable_dir.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        removed = 0
        for path in self.unprocessable_dir.glob("*.json"):
            if _kept_at(path) < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _kept_at(path: Path) -> float:
    try:
        return calendar.timegm(time.strptime(path.name[:16], "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return path.stat().st_mtime


def _write_frame(path: Path, data: bytes, fsync: bool, *, create: bool = True) -> int:
    """Append one frame (fsync'ed if asked); returns its offset. A write that fails (disk
    full, I/O error) is cut off again: a torn frame would hide every frame written after it
    from each read and replay of the file."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0), 0o644)
    try:
        offset = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        except OSError:
            os.ftruncate(fd, offset)
            raise
        return offset
    finally:
        os.close(fd)


def _site_hour(path: Path) -> tuple[int, int] | None:
    """(site, hour since the epoch) of a segment file; None for a file not named like one."""
    try:
        stamp = calendar.timegm(time.strptime(path.stem, "%Y%m%d%H"))
        return int(path.parent.name), stamp // 3600
    except ValueError:
        return None


def _frames(data: bytes) -> list[np.ndarray]:
    return [rows for _n, rows in _numbered(data)]


def _numbered(data: bytes) -> list[tuple[int, np.ndarray]]:
    """Decode (frame number, readings); a torn last frame (crash mid-write, never
    acknowledged) is ignored. Unnumbered `QSG1` frames come out as number 0."""
    out, pos = [], 0
    while pos + HEADER_V1.size <= len(data):
        magic, n = HEADER_V1.unpack_from(data, pos)
        if magic == MAGIC and pos + HEADER.size <= len(data):
            number, head = HEADER.unpack_from(data, pos)[2], HEADER.size
        elif magic == MAGIC_V1:
            number, head = 0, HEADER_V1.size
        else:
            break
        end = pos + head + n * FRAME_DTYPE.itemsize
        if end > len(data):
            break
        out.append((number, np.frombuffer(data, FRAME_DTYPE, n, pos + head)))
        pos = end
    return out


def history(db: Session, *, device_id: int, start, end) -> list[Rollup]:
    stmt = (select(Rollup).where(Rollup.device_id == device_id, Rollup.minute >= start,
                                 Rollup.minute < end).order_by(Rollup.minute))
    return list(db.scalars(stmt))
