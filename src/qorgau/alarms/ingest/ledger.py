# ruff: noqa: E741 - I, S, T, V, L: the engine's column names (index, seq, time, value, late)
"""The ingest ledger: a site's 1-minute roll-ups and device counters (accepted count, dedup
window, last reading) held in memory and written per device every `alarm_flush_s` seconds,
not in every batch.

Why: at one reading per device per second every reading of a batch is on a device of its
own, and writing each touched device's roll-up and counter row in every batch cost ~10 µs
per device on SQLite (more on PostgreSQL): most of a worker's time (docs/alarms.md,
"Per-device bookkeeping"). Written every few seconds, a device's row is written once for
several readings.

Durability is unchanged: a reading is acknowledged after its segment frame is fsync'ed
(`store.py`), and each frame carries its number. Every batch's transaction writes the site's
mark (`IngestMark`): the last committed frame and the first frame not yet in the database,
with where it starts in each hour's file. After a crash or a rolled-back batch the runtime is
rebuilt from the database and the frames between the two marks are replayed into the ledger
through the dedup window as written (a device's window is written with its counters and
roll-ups, so what a written row already holds comes out as duplicates and is not counted
again): roll-ups and counters come out as if nothing had happened, and are written at once.
Frames after the committed mark belong to batches that never committed (never acknowledged;
the broker delivers them again, and the window then takes them as new). Duplicate and
rejected counts are not in the frames: they are written in the batch that saw them (rare, and
cheap).

One process owns a site's ledger (`claim`): the mark row names it, with a lease it renews
while it works (each mark write, and the timer tick). Another process that ingests the same
site meanwhile (a second web process taking HTTP batches) does not replay or mark: it writes
its roll-ups and counters in every batch, as additions beside the owner's, and numbers its
frames 0 so no replay takes them. When the owner's lease runs out (it died), the next claim
takes the site over and replays what the dead owner left. An owner whose lease was taken
(it stalled past it) finds its mark write refused and its transaction rolled back, so what
it held is written once, by the new owner's replay. A worker restarted under the same owner
name (`qorgau alarms worker`: host, source, partitions) takes its sites back at once.

Devices are written in groups (device index modulo the number of groups), one group at a
time, each every `flush_s`: a batch writes at most a group or two, so no batch carries the
whole site. `flush_s` = 0 writes every touched device in every batch."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms.ingest import order as O
from qorgau.alarms.ingest import sqlbulk
from qorgau.alarms.models import Device, IngestMark
from qorgau.alarms.store import SegmentStore

if TYPE_CHECKING:
    from qorgau.alarms.ingest.runtime import SiteRuntime

GROUP_DEVICES = 512  # devices written together by one flush
# groups one flush writes at most, the most overdue first: when the database cannot keep up
# the interval stretches instead of a batch carrying the whole site (measured on PostgreSQL
# with 50,000 devices: groups falling due faster than written snowballed into 3-s batches)
MAX_GROUPS = 2
LEASE_MIN_S = 30.0  # a site's owner holds it this long after its last mark write or renewal
# frame numbers: owner epoch above these bits, the epoch's own count below; each claim starts
# an epoch above the mark's committed frame, so a frame an owner stores after its lease was
# taken (refused, never acknowledged) numbers below everything the new owner replays
EPOCH_BITS = 40


class LostOwnership(RuntimeError):
    """Another process took the site's ledger over: this transaction must not commit."""


ROW = np.dtype([("dev", "<i8"), ("minute", "<i8"), ("n", "<i8"), ("vmin", "<f8"),
                ("vmax", "<f8"), ("vsum", "<f8"), ("vlast", "<f8"), ("late", "?")])


class Ledger:
    """Pending roll-ups and counters of one site's devices (device index order)."""

    def __init__(self, n: int, flush_s: float, now: float, frame: int) -> None:
        self.flush_s = flush_s
        self.k = 1 if flush_s <= 0 else max(1, math.ceil(n / GROUP_DEVICES))
        self.rows: list[list[np.ndarray]] = [[] for _ in range(self.k)]  # roll-up parts
        self.first = np.full(self.k, -1, np.int64)  # first pending frame of a group, -1: none
        self.due = now + flush_s * (np.arange(self.k) + 1) / self.k  # staggered
        self.accepted = np.zeros(n, np.int64)
        self.seen = np.full(n, np.nan)  # latest in-time reading not yet written
        self.value = np.full(n, np.nan)
        self.dirty = np.zeros(n, bool)
        self.frame = frame  # the last frame this ledger holds (or has written)
        self.tail: deque[tuple[int, int, int]] = deque()  # (frame, hour, offset) since first
        self.starts: dict[str, int] = {}  # the tail's first offset in each hour (the mark's)
        self.marked: int | None = -1  # replay_from as last written (-1: not written)
        self.live = False  # this process ingests the site (`runtime.resume` has run)
        self.owner: str | None = None  # who this process is, when it owns the site
        self.until = -math.inf  # its lease as last written
        self.claim_at = -math.inf  # a process that does not own the site tries again then
        self.replayed = False  # replayed readings not yet all written

    @property
    def lease_s(self) -> float:
        return max(LEASE_MIN_S, 3 * self.flush_s)

    @property
    def deferred(self) -> bool:
        """Holding roll-ups and counters between batches: only the site's owner does."""
        return self.flush_s > 0 and self.owner is not None

    def claim(self, db: Session, site_id: int, me: str, now: float) -> bool:
        """Take or keep the site's ledger: free, already ours, or its lease run out."""
        self.claim_at = now + self.lease_s / 2
        if self.flush_s <= 0 or not sqlbulk.claim(db, site_id=site_id, owner=me, now=now,
                                                  until=now + self.lease_s):
            return False
        self.owner, self.until = me, now + self.lease_s
        return True

    def next_frame(self) -> int:
        """A number above every earlier frame of the site (the claim's epoch, counted up);
        0 for a process that does not own the site (no replay takes its frames)."""
        if not self.deferred:
            return 0
        self.frame += 1
        return self.frame

    def add(self, rt: SiteRuntime, I: np.ndarray, T: np.ndarray, V: np.ndarray,
            L: np.ndarray, frame: int, at: list[tuple[int, int]]) -> np.ndarray:
        """Take a batch's new readings (engine order; L: late) stored as `frame` at `at`;
        moves the runtime's time cursor. Returns the devices touched."""
        n = len(self.accepted)
        if self.deferred:
            self._extend([(frame, h, offset) for h, offset in at])
        values = ~np.isnan(V)
        parts = [_aggregate(I[m], T[m], V[m], late) for m, late in
                 ((values & ~L, False), (values & L, True)) if m.any()]
        if parts:
            rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
            self._split(rows)
        counts = np.bincount(I, minlength=n)
        touched = np.flatnonzero(counts)
        self.accepted += counts
        fresh = np.flatnonzero(np.bincount(touched % self.k, minlength=self.k))
        fresh = fresh[self.first[fresh] < 0]
        self.first[fresh] = frame
        self.dirty[touched] = True
        # the latest reading in time (readings not late are in time order) and latest value
        last, last_v = np.full(n, -1), np.full(n, -1)
        now = np.flatnonzero(~L)
        np.maximum.at(last, I[now], now)
        np.maximum.at(last_v, I[values & ~L], np.flatnonzero(values & ~L))
        got, gv = np.flatnonzero(last >= 0), np.flatnonzero(last_v >= 0)
        rt.last_t[got] = self.seen[got] = T[last[got]]
        self.value[gv] = V[last_v[gv]]
        return touched

    def _split(self, rows: np.ndarray) -> None:
        """A batch's roll-up rows to their groups, in order: one stable sort by group (was a
        mask and a pass per group touched, and a sort for the groups)."""
        if self.k == 1:
            self.rows[0].append(rows)
            return
        group = rows["dev"] % self.k
        counts = np.bincount(group, minlength=self.k)
        parts = np.split(rows[np.argsort(group, kind="stable")], np.cumsum(counts)[:-1])
        for g in np.flatnonzero(counts).tolist():
            self.rows[g].append(parts[g])

    def flush(self, db: Session, rt: SiteRuntime, now: float, *, every: bool = False,
              most: int = MAX_GROUPS) -> int:
        """Write the groups that are due, at most `most` of them (all with `every`, and all
        after a replay: its range must move past any frame of a batch that rolled back);
        returns devices written."""
        if every or not self.deferred or self.replayed:
            due = np.arange(self.k)
        else:
            due = np.flatnonzero(self.due <= now)
            due = due[np.argsort(self.due[due], kind="stable")[:most]]
        written = 0
        for g in due.tolist():
            written += self._write(db, rt, g, self.frame if self.deferred else None)
            self.due[g] = now + self.flush_s
        if len(due) == self.k:  # all at once (after a replay, a pause): staggered again
            self.due = now + self.flush_s * (np.arange(self.k) + 1) / self.k
            self.replayed = False
        return written

    def _write(self, db: Session, rt: SiteRuntime | Retired, g: int, stamp: int | None
               ) -> int:
        if self.first[g] < 0:
            return 0
        ids = rt.device_ids
        if self.rows[g]:
            rows = _combine(np.concatenate(self.rows[g]))
            for late in (False, True):
                part = rows[rows["late"] == late]
                if len(part):
                    where = [rt.scope[d] for d in ids[part["dev"]].tolist()]
                    sqlbulk.upsert_rollups(
                        db, device=ids[part["dev"]], minute=part["minute"],
                        enterprise=[w[0] for w in where], region=[w[1] for w in where],
                        n=part["n"], vmin=part["vmin"], vmax=part["vmax"], vsum=part["vsum"],
                        vlast=part["vlast"], keep_last=late)
        devs = g + self.k * np.flatnonzero(self.dirty[g::self.k])
        w = rt.seqs
        sqlbulk.update_counters(
            db, ids=ids[devs].tolist(), accepted=self.accepted[devs].tolist(),
            last_seq=w.high[devs].tolist(), floor=w.floor[devs].tolist(),
            window=[w.stored(j) for j in devs.tolist()] if w.bits else [None] * len(devs),
            seen=_nones(self.seen[devs]), value=_nones(self.value[devs]), frame=stamp)
        self.rows[g], self.first[g] = [], -1
        self.accepted[devs], self.dirty[devs] = 0, False
        self.seen[devs] = self.value[devs] = np.nan
        return len(devs)

    def mark(self, db: Session, site_id: int, now: float, *, wrote: bool) -> None:
        """The site's mark, in this transaction, when this process owns the site and the mark
        says something new (readings pending, the last of them written, rows written under
        the lease) or the lease is half gone. Raises `LostOwnership` if the site is no longer
        ours: what this transaction wrote must not commit."""
        if not self.deferred:
            return
        pending = self.first[self.first >= 0]
        start = int(pending.min()) if len(pending) else None
        if start is None and self.marked is None and not wrote and \
                self.until - now > self.lease_s / 2:
            return
        popped = False
        while self.tail and (start is None or self.tail[0][0] < start):
            self.tail.popleft()
            popped = True
        if popped:  # the first frame still pending moved on (a group written): walk once
            self.starts = {}
            self._extend([], rebuild=True)
        if not sqlbulk.write_mark(db, site_id=site_id, owner=self.owner, committed=self.frame,
                                  replay_from=start, tail=self.starts,
                                  until=now + self.lease_s):
            self.owner = None
            raise LostOwnership(f"site {site_id}: its ingest ledger was taken over")
        self.marked, self.until = start, now + self.lease_s

    def _extend(self, entries: list[tuple[int, int, int]], *, rebuild: bool = False) -> None:
        """Frames onto the tail, keeping each hour's first offset: the mark is written in
        every batch, and walking a tail of a few seconds' frames each time cost ~0.5 ms."""
        self.tail.extend(entries)
        for _f, h, offset in (self.tail if rebuild else entries):
            self.starts.setdefault(str(h), offset)

    def replay(self, db: Session, rt: SiteRuntime, store: SegmentStore) -> int:
        """After a rebuild: the committed frames whose roll-ups and counters were not yet
        written, back into the ledger. Returns readings replayed; they are due at once."""
        mark = db.connection().execute(select(IngestMark.__table__).where(
            IngestMark.site_id == rt.site_id)).one_or_none()  # as written, not as cached
        if mark is None:
            return 0
        self.frame = max(self.frame, (mark.committed_frame >> EPOCH_BITS) + 1 << EPOCH_BITS)
        self.marked = mark.replay_from
        if mark.replay_from is None:
            return 0
        at = {int(h): int(o) for h, o in mark.tail.items()}
        self._extend([(mark.replay_from, h, o) for h, o in sorted(at.items())])
        done, gone = 0, []
        for number, rows in _whole(store.frames_since(rt.site_id, at, mark.replay_from,
                                                      mark.committed_frame)):
            j = _indices(rt.position, rows)
            keep = j >= 0
            if keep.any():
                done += self._replay_frame(rt, number, j[keep], rows[keep])
            if not keep.all():  # a device disabled since: not in this runtime
                gone.append((number, rows[~keep]))
        if gone:
            done += _write_retired(db, rt.site_id, gone, self.frame)
        self.due[:] = -math.inf
        self.replayed = done > 0
        return done

    def _replay_frame(self, rt: SiteRuntime | Retired, number: int, I: np.ndarray,
                      rows: np.ndarray) -> int:
        """One frame as the batch that stored it. Its readings were all new then; the window
        calls a duplicate what a device's written row already holds (its window was written
        with its counters and roll-ups, after the frame) and a frame stored twice (a batch
        retried after a crash): neither is counted again."""
        ahead = number > rt.written[I]  # not in the device's row yet
        I, rows = I[ahead], rows[ahead]
        p = np.argsort(I, kind="stable")
        new = np.zeros(len(I), bool)
        # beyond the window: the floor as last written moved past it (another process
        # wrote the row), yet the reading was acknowledged and is in no count: new
        new[p] = rt.seqs.decide(I[p], rows["seq"][p]) != O.DUP
        I, rows = I[new], rows[new]
        p = np.argsort(I, kind="stable")
        late = np.zeros(len(I), bool)
        late[p] = ~O.in_time(I[p], rows["t"][p], rt.last_t)
        self.add(rt, I, rows["t"], rows["v"], late, number, [])
        return len(I)


@dataclass
class Retired:
    """Devices of the site the runtime no longer has (disabled while rows were pending),
    shaped as the ledger needs a runtime, to write what a replay finds of them."""

    site_id: int
    seqs: O.SeqWindow
    last_t: np.ndarray
    written: np.ndarray
    device_ids: np.ndarray
    scope: dict[int, tuple[int, str]]
    position: dict[int, int]


def _write_retired(db: Session, site_id: int, parts: list[tuple[int, np.ndarray]],
                   frame: int) -> int:
    """Replayed readings of devices since disabled, counted and rolled up at once (their
    windows and last readings as written decide what is new, as for the others)."""
    ids = np.unique(np.concatenate([rows["device"] for _n, rows in parts])).tolist()
    devs = list(db.scalars(select(Device).where(Device.id.in_(ids), Device.site_id == site_id)
                           .order_by(Device.id)))
    if not devs:
        return 0
    side = Retired(site_id, *O.cursors(devs), np.array([d.id for d in devs], np.int64),
                   {d.id: (d.enterprise_id, d.region_code) for d in devs},
                   {d.id: k for k, d in enumerate(devs)})
    led = Ledger(len(devs), 1.0, 0.0, frame)
    done = 0
    for number, rows in parts:
        j = _indices(side.position, rows)
        if (j >= 0).any():
            done += led._replay_frame(side, number, j[j >= 0], rows[j >= 0])
    for g in range(led.k):
        led._write(db, side, g, frame)
    return done


def _indices(position: dict[int, int], rows: np.ndarray) -> np.ndarray:
    """Device index of each stored reading (-1: a device the runtime does not have)."""
    return np.array([position.get(d, -1) for d in rows["device"].tolist()], np.int64)


def _whole(parts: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    """A batch whose readings fell in two hours was stored as a frame in each hour's file:
    its parts as one frame again, each device's readings by sequence (their order in the
    batch, unless one batch held a device's messages out of sequence order), so lateness and
    the last value come out as they did."""
    out: list[tuple[int, np.ndarray]] = []
    for number, rows in parts:
        if out and out[-1][0] == number:
            both = np.concatenate([out[-1][1], rows])
            out[-1] = (number, both[np.lexsort((both["seq"], both["device"]))])
        else:
            out.append((number, rows))
    return out


def _aggregate(I: np.ndarray, T: np.ndarray, V: np.ndarray, late: bool) -> np.ndarray:
    """One row per (device, minute). The last value of in-time readings is the latest; late
    readings carry their first, which fills a minute only if nothing else did (`_combine`)."""
    minute = (T // 60).astype(np.int64)
    key = (I.astype(np.int64) << 32) | minute  # minutes since 1970 fit in 32 bits to 10136
    order = np.argsort(key, kind="stable")  # stable: the last of a key is its latest reading
    key, vs = key[order], V[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    end = np.r_[start[1:], len(key)] - 1
    out = np.empty(len(start), ROW)
    out["dev"], out["minute"] = key[start] >> 32, key[start] & 0xFFFFFFFF
    out["n"] = end - start + 1
    out["vmin"], out["vmax"] = np.minimum.reduceat(vs, start), np.maximum.reduceat(vs, start)
    out["vsum"] = np.add.reduceat(vs, start)
    out["vlast"] = vs[start] if late else vs[end]
    out["late"] = late
    return out


def _combine(rows: np.ndarray) -> np.ndarray:
    """Parts of a group's roll-ups (in the order they came) merged per (device, minute): the
    last value is the latest in-time part's; a minute only late parts touched keeps `late`
    (its value replaces no stored one) and the first late part's value."""
    key = (rows["dev"] << 32) | rows["minute"]
    order = np.argsort(key, kind="stable")
    rows, key = rows[order], key[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    out = np.empty(len(start), ROW)
    out["dev"], out["minute"] = rows["dev"][start], rows["minute"][start]
    out["n"] = np.add.reduceat(rows["n"], start)
    out["vmin"] = np.minimum.reduceat(rows["vmin"], start)
    out["vmax"] = np.maximum.reduceat(rows["vmax"], start)
    out["vsum"] = np.add.reduceat(rows["vsum"], start)
    pos = np.where(rows["late"], -1, np.arange(len(rows)))
    last = np.maximum.reduceat(pos, start)
    out["late"] = last < 0
    out["vlast"] = rows["vlast"][np.where(last < 0, start, last)]
    return out


def _nones(x: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in x.tolist()]

