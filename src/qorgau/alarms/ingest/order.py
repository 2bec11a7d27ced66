"""What of a batch is new, and what of the new is late.

Dedup is exact on (device, sequence), not a high-water mark: a broker may hand over a message
it redelivers after newer ones (Mosquitto after a restart), and those readings are new, stored,
counted and evaluated. Per device the window keeps

  high   H — the highest sequence stored (`alarm_device.last_seq`);
  bits   one bit per sequence H, H-1, …, H-W+1 (bit k ↔ H-k): stored or not. Only devices with
         a hole in their window hold an int here; a full window (every sequence stored, the
         case for per-device dense numbering) is not held at all (`alarm_device.seq_window`
         NULL), so the common case costs nothing;
  floor  G — the highest sequence that left the window without being stored
         (`alarm_device.seq_floor`, -1 if none).

A reading with sequence s is new if s > H, or if H-W < s ≤ H and its bit is clear; it is a
duplicate if its bit is set, or if G < s ≤ H-W (every sequence there was stored before it left
the window); at or below G it cannot be decided (it may have been stored before a crash whose
window we no longer hold, or it may be a reading more than W sequences late): it is rejected
with reason `seq_beyond_window`, counted and dead-lettered, never stored or counted twice.
The window lives in the ingest transaction with the counters, so after a crash it is exactly
what was committed. Memory: W/8 bytes for each device with a hole, nothing for the others.

Time is separate from sequence: a new reading whose time is before the device's latest
evaluated reading is *late*. The engine needs each sensor's readings in time order, so a late
reading does not go through it (its time and state do not move backwards); it is checked
against the plain limits instead (`late_excursions`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qorgau.alarms.engine import EVENT_DTYPE, EngineState, Kind, SensorTable, Transition
from qorgau.alarms.service import ts

W = 1024  # sequences below the high-water mark decided exactly
FULL = (1 << W) - 1
DUP, NEW, BEYOND = 0, 1, 2
WINDOW_BYTES = W // 8


class SeqWindow:
    """The dedup state of one site's devices (index order)."""

    def __init__(self, high: np.ndarray, floor: np.ndarray, bits: dict[int, int]) -> None:
        self.high = np.asarray(high, np.int64)
        self.floor = np.asarray(floor, np.int64)
        self.bits = bits  # device index → window bitmap, only when not FULL
        self.gaps = 0  # sequences skipped when the high-water mark moved (a loss signal)
        self.filled = 0  # of those, readings that came late into their hole

    @classmethod
    def load(cls, last_seq: list[int], floor: list[int | None],
             window: list[bytes | None]) -> SeqWindow:
        bits = {i: int.from_bytes(w, "little") for i, w in enumerate(window) if w is not None}
        return cls(np.array(last_seq, np.int64),
                   np.array([-1 if f is None else f for f in floor], np.int64), bits)

    def stored(self, j: int) -> bytes | None:
        """The window of device j as stored (None: full)."""
        b = self.bits.get(j)
        return None if b is None else b.to_bytes(WINDOW_BYTES, "little")

    def decide(self, i: np.ndarray, s: np.ndarray) -> np.ndarray:
        """DUP/NEW/BEYOND for readings given in device order (within a device in arrival
        order: message, then sequence), exactly as if they came one at a time; updates the
        window. Devices whose window is full and whose readings continue their sequence
        without a gap (the common case) are decided in numpy, the rest one by one."""
        out = np.full(len(i), NEW, np.int8)
        if not len(i):
            return out
        starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
        ends = np.r_[starts[1:], len(i)]
        devs = i[starts]
        prev = np.r_[0, s[:-1]]
        prev[starts] = self.high[devs]
        slow = np.logical_or.reduceat(s != prev + 1, starts)
        if self.bits:
            slow |= np.isin(devs, np.fromiter(self.bits, np.int64, len(self.bits)))
        fast = ~slow
        self.high[devs[fast]] = s[ends[fast] - 1]
        for g in np.flatnonzero(slow).tolist():
            lo, hi = int(starts[g]), int(ends[g])
            out[lo:hi] = self._one(int(devs[g]), s[lo:hi].tolist())
        return out

    def _one(self, j: int, seqs: list[int]) -> list[int]:
        H, b, G = int(self.high[j]), self.bits.get(j, FULL), int(self.floor[j])
        out = []
        for s in seqs:
            if s > H:
                m = s - H
                self.gaps += m - 1
                if s - W > H:  # s-W never came and leaves the window at once
                    G = max(G, s - W)
                else:  # the oldest m bits leave: remember the newest unstored among them
                    x = b >> (W - m)
                    z = ~x & (x + 1)
                    if z < (1 << m):
                        G = max(G, s - W - (z.bit_length() - 1))
                b = ((b << m) | 1) & FULL if m < W else 1
                H = s
                out.append(NEW)
            elif s > H - W:
                k = 1 << (H - s)
                if b & k:
                    out.append(DUP)
                else:
                    b |= k
                    self.filled += 1
                    out.append(NEW)
            else:
                out.append(DUP if s > G else BEYOND)
        self.high[j], self.floor[j] = H, G
        if b == FULL:
            self.bits.pop(j, None)
        else:
            self.bits[j] = b
        return out


def cursors(rows: Sequence[Any]) -> tuple[SeqWindow, np.ndarray, np.ndarray]:
    """The dedup window, the time cursor (latest in-time reading, -inf if none) and the last
    ledger frame written (-1 if none) of devices as their `alarm_device` rows hold them."""
    return (SeqWindow.load([d.last_seq for d in rows], [d.seq_floor for d in rows],
                           [d.seq_window for d in rows]),
            np.array([ts(d.last_seen_at) if d.last_seen_at else -math.inf for d in rows]),
            np.array([-1 if d.ledger_frame is None else d.ledger_frame for d in rows],
                     np.int64))


def in_time(i: np.ndarray, t: np.ndarray, last_t: np.ndarray) -> np.ndarray:
    """Which readings (device order, arrival order within a device) are not before the latest
    earlier reading of their device (`last_t` before the batch): those go to the engine."""
    if not len(i):
        return np.zeros(0, bool)
    starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
    prev = np.r_[0.0, t[:-1]]
    prev[starts] = last_t[i[starts]]
    ok = t >= prev
    if ok.all():
        return ok
    ends = np.r_[starts[1:], len(i)]
    for g in np.flatnonzero(~np.logical_and.reduceat(ok, starts)).tolist():
        lo, hi = int(starts[g]), int(ends[g])  # rare: a running maximum over this device
        top = float(last_t[i[lo]])
        for k in range(lo, hi):
            ok[k] = t[k] >= top
            top = max(top, float(t[k]))
    return ok


# the plain limits a late reading is checked against, in COND_KINDS column order
_LIMIT_KINDS = ((0, Kind.LOLO, False), (1, Kind.LO, False), (2, Kind.HI, True),
                (3, Kind.HIHI, True))


def late_excursions(table: SensorTable, state: EngineState, sensor: np.ndarray,
                    time: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, int]:
    """Limit excursions shown by late readings, as engine events: for each (sensor, limit)
    whose alarm is not active now, a raise at the first late reading beyond the limit (value:
    the worst of them) and a clear at the sensor's latest evaluated reading, which is later
    and was not beyond it (else the alarm would be active). Only limits without an on-delay
    are checked (one late reading cannot show that a condition held for the delay); the
    second figure counts late readings beyond a limit with an on-delay, not raised.
    Rate of rise, TWA/STEL, combinations and stale are not evaluated for late readings."""
    lim = table.limits_matrix()
    rows: list[tuple[int, float, int, int, float]] = []
    skipped = 0
    for c, kind, high in _LIMIT_KINDS:
        with np.errstate(invalid="ignore"):
            beyond = value >= lim[sensor, c] if high else value <= lim[sensor, c]
        beyond &= ~state.active[sensor, c]
        if not beyond.any():
            continue
        delayed = table.on_delay_s[sensor] > 0
        skipped += int((beyond & delayed).sum())
        for j in np.unique(sensor[beyond & ~delayed]).tolist():
            sel = np.flatnonzero((sensor == j) & beyond & ~delayed)
            worst = float(value[sel].max() if high else value[sel].min())
            t0 = float(time[sel].min())
            rows.append((j, t0, kind, Transition.RAISE, worst))
            now = float(state.last_time[j])
            rows.append((j, now if now > t0 else t0, kind, Transition.CLEAR,
                         float(state.last_value[j])))
    if not rows:
        return np.empty(0, EVENT_DTYPE), skipped
    ev = np.array(rows, EVENT_DTYPE)
    return ev[np.lexsort((ev["transition"] != Transition.RAISE, ev["time"]))], skipped
