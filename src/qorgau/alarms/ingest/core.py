# ruff: noqa: E741 - I, S, T, V, E: the engine's column names (index, seq, time, value, event)
"""The ingest processor shared by every transport (HTTP, MQTT, NATS, in-process):

  validate → dedup (device, seq) → durable store (segment fsync) → roll-ups, counters,
  dead letters → engine → alarm records → withdrawal → dispatch plan → commit →
  live push + life-safety delivery.

The caller acknowledges its transport only after `handle` returns (the commit): at-least-once.
A replay is harmless: readings at or below a device's stored sequence are dropped, raises of
an already-active occurrence change nothing, notifications are unique by dedup key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, update
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms import dispatch, forecast, notify, positioning, records
from qorgau.alarms.engine import Kind
from qorgau.alarms.ingest import runtime
from qorgau.alarms.ingest.parse import BadPayload, Parsed, parse
from qorgau.alarms.models import DeadLetter, Device
from qorgau.alarms.service import dt
from qorgau.alarms.store import SegmentStore, rollup
from qorgau.registry.models import Site

log = logging.getLogger("qorgau.alarms.ingest")
MAX_DEAD_LETTERS_PER_BATCH = 50
WITHDRAW_KINDS = {"HIHI", "LOLO", "COMBO"}


@dataclass
class Result:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    alarms: int = 0
    life_safety_ids: list[int] = field(default_factory=list)


@dataclass
class Metrics:
    """Overload is visible: counts, queue depth and lag are exposed on /api/v1/alarms/metrics."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    queue_depth: int = 0
    lag_s: float = 0.0
    last_batch_at: float = 0.0


METRICS = Metrics()


class Processor:
    def __init__(self, store: SegmentStore | None = None) -> None:
        self.store = store or SegmentStore()
        self.sites: dict[int, runtime.SiteRuntime] = {}
        self._locks: dict[int, threading.Lock] = defaultdict(threading.Lock)

    def runtime(self, db: Session, site_id: int) -> runtime.SiteRuntime:
        rt = self.sites.get(site_id)
        if rt is None or rt.signature != runtime.signature(db, site_id):
            rt = self.sites[site_id] = runtime.build(db, site_id, time.time())
        return rt

    def handle_raw(self, db: Session, doc: Any, *, source: str, site_id: int | None = None,
                   now: float | None = None) -> Result:
        """Decoded JSON in; a payload-level problem is dead-lettered, never raised."""
        try:
            parsed = parse(doc, site_id=site_id)
        except BadPayload as exc:
            dead_letter(db, site_id=site_id, source=source, reason=exc.reason,
                        detail=exc.detail)
            db.commit()
            return Result(rejected=1)
        return self.handle(db, parsed, source=source, now=now)

    def handle(self, db: Session, p: Parsed, *, source: str, now: float | None = None) -> Result:
        now = time.time() if now is None else now
        site = db.get(Site, p.site_id)
        if site is None:
            dead_letter(db, site_id=None, source=source, reason="unknown_site",
                        detail=str(p.site_id))
            db.commit()
            return Result(rejected=len(p.d) + len(p.rejects))
        with self._locks[site.id]:
            return self._handle(db, site, p, source, now)

    def _handle(self, db: Session, site: Site, p: Parsed, source: str, now: float) -> Result:
        rt = self.runtime(db, site.id)
        res = Result(rejected=len(p.rejects))
        rejects = list(p.rejects)
        idx = np.array([rt.index.get(code, -1) for code in p.d], np.int64)
        seq, t = np.array(p.s, np.int64), np.array(p.t, np.float64)
        v, e = np.array(p.v, np.float64), np.array(p.e, np.int8)
        bad = _classify(idx, t, now)
        for i in np.flatnonzero(bad):
            rejects.append((p.d[i], _REASONS[bad[i]], f"t={t[i]:.3f}"))
        ok = np.flatnonzero(bad == 0)
        order = ok[np.lexsort((seq[ok], idx[ok]))]  # device-contiguous, by sequence
        keep = _dedup(idx[order], seq[order], t[order], rt.last_seq, rt.last_t)
        res.duplicates = int(len(order) - keep.sum())
        dup_dev = np.bincount(idx[order][~keep], minlength=len(rt.devices))
        order = order[keep]
        _count_gaps(idx[order], seq[order], rt.last_seq)
        res.accepted, res.rejected = len(order), len(rejects)
        I, S, T, V, E = idx[order], seq[order], t[order], v[order], e[order]
        dev_ids = np.array([d.id for d in rt.devices], np.int64)
        self.store.append(site.id, dev_ids[I] if len(I) else I, S, T, V)  # durable first
        self._bookkeeping(db, rt, site, I, S, T, V, dup_dev, rejects, source)
        notices = self._evaluate(db, rt, site, I, T, V, E, [p.z[k] for k in order], res)
        rows = dispatch.plan(db, notices, dispatch.context(db, {site.id}))
        db.commit()
        self._after_commit(db, rt, site, I, T, notices, rows, res)
        METRICS.counts["accepted"] += res.accepted
        METRICS.counts["duplicates"] += res.duplicates
        METRICS.counts["rejected"] += res.rejected
        METRICS.last_batch_at = now
        if len(T):
            METRICS.lag_s = max(0.0, now - float(T.max()))
        return res

    def _bookkeeping(self, db: Session, rt: runtime.SiteRuntime, site: Site, I: np.ndarray,
                     S: np.ndarray, T: np.ndarray, V: np.ndarray, dup_dev: np.ndarray,
                     rejects: list[tuple[str, str, str]], source: str) -> None:
        values = ~np.isnan(V)
        dev_ids = np.array([d.id for d in rt.devices], np.int64)
        scope = {d.id: (d.enterprise_id, d.region_code) for d in rt.devices}
        if values.any():
            rollup(db, device_ids=dev_ids[I[values]], t=T[values], v=V[values], scope=scope)
        counts = np.bincount(I, minlength=len(rt.devices)) if len(I) else np.zeros(
            len(rt.devices), np.int64)
        rej_by_code: dict[str, int] = defaultdict(int)
        for code, _r, _d in rejects:
            rej_by_code[code] += 1
        touched = set(np.flatnonzero(counts).tolist()) | set(np.flatnonzero(dup_dev).tolist())
        touched |= {rt.index[c] for c in rej_by_code if c in rt.index}
        # last reading per device in this batch (I is device-contiguous, sorted by sequence)
        last_of = {int(j): int(k) for k, j in enumerate(I.tolist())}
        last_val = {int(j): float(V[k]) for k, j in enumerate(I.tolist()) if V[k] == V[k]}
        params = []
        for j in sorted(touched):
            d = rt.devices[j]
            k = last_of.get(j)
            if k is not None:
                rt.last_seq[j], rt.last_t[j] = S[k], T[k]
            params.append({"b_id": d.id, "b_acc": int(counts[j]), "b_dup": int(dup_dev[j]),
                           "b_rej": rej_by_code.get(d.code, 0),
                           "b_seq": int(rt.last_seq[j]),
                           "b_seen": dt(float(T[k])) if k is not None else None,
                           "b_val": last_val.get(j)})
        if params:
            db.execute(_COUNTERS, params)  # one executemany for every touched device
        for code, reason, detail in rejects[:MAX_DEAD_LETTERS_PER_BATCH]:
            j = rt.index.get(code)
            dead_letter(db, site_id=site.id, source=source, reason=reason, detail=detail,
                        device_code=code, device_id=rt.devices[j].id if j is not None else None,
                        enterprise_id=site.enterprise_id, region_code=site.region_code)
        METRICS.counts["dead_letters_capped"] += max(0, len(rejects) - MAX_DEAD_LETTERS_PER_BATCH)

    def _evaluate(self, db: Session, rt: runtime.SiteRuntime, site: Site, I: np.ndarray,
                  T: np.ndarray, V: np.ndarray, E: np.ndarray, Z: list[str | None],
                  res: Result) -> list[dispatch.Notice]:
        values = ~np.isnan(V) & (E == 0)
        ev = rt.engine.process(I[values].astype(np.uint32), T[values], V[values])
        if (E != 0).any():
            ev = np.concatenate([ev, rt.engine.device_events(
                I[E != 0].astype(np.uint32), T[E != 0], E[E != 0])])
        devs = LazyDevices(db)  # only devices with events are loaded (not all per batch)
        notices = apply_events(db, rt, site, ev, devs, res)
        records.update_peaks(db, site.id, [d.id for d in rt.devices], I, T, V)
        for k in np.flatnonzero(np.array([z is not None for z in Z], bool)):
            positioning.update_presence(db, devs[rt.devices[I[k]].id], Z[k], dt(float(T[k])))
        notices += forecast.on_readings(db, rt, I[values], T[values], V[values], devs, res)
        return notices

    def _after_commit(self, db: Session, rt: runtime.SiteRuntime, site: Site, I: np.ndarray,
                      T: np.ndarray, notices: list[dispatch.Notice], rows: list[Any],
                      res: Result) -> None:
        for n in notices:
            notify.HUB.publish(site.id, {"type": "alarm", "id": n.alarm_id, "kind": n.kind,
                                         "life_safety": n.life_safety, "what": n.what,
                                         "message": n.message, "priority": n.priority})
        fast = [r.id for r in rows if r.alarm_id in set(res.life_safety_ids)]
        if fast:  # life-safety fast path: deliver now, not on the next tick
            dispatch.deliver(db, fast)
        heartbeat(db, rt, I, T)


class LazyDevices(dict):
    """device id → Device, loaded on first use through the session's identity map."""

    def __init__(self, db: Session) -> None:
        super().__init__()
        self.db = db

    def __missing__(self, key: int) -> Device:
        dev = self[key] = self.db.get(Device, key)
        return dev


def _count_gaps(I: np.ndarray, S: np.ndarray, last_seq: np.ndarray) -> None:
    """Sequence gaps reveal readings lost upstream (e.g. a broker queue overflow)."""
    if len(I):
        prev = np.where(np.r_[False, I[1:] == I[:-1]], np.r_[0, S[:-1]], last_seq[I])
        gap = (S - prev - 1)[prev >= 0]
        METRICS.counts["seq_gaps"] += int(gap[gap > 0].sum())


_dev = Device.__table__
_COUNTERS = (
    update(_dev).where(_dev.c.id == bindparam("b_id"))
    .values(n_accepted=_dev.c.n_accepted + bindparam("b_acc"),
            n_duplicate=_dev.c.n_duplicate + bindparam("b_dup"),
            n_rejected=_dev.c.n_rejected + bindparam("b_rej"), last_seq=bindparam("b_seq"),
            last_seen_at=func.coalesce(bindparam("b_seen", type_=Device.last_seen_at.type),
                                       _dev.c.last_seen_at),
            last_value=func.coalesce(bindparam("b_val", type_=Device.last_value.type),
                                     _dev.c.last_value)))
_REASONS = {1: "unknown_device", 2: "future", 3: "too_old"}


def _classify(idx: np.ndarray, t: np.ndarray, now: float) -> np.ndarray:
    bad = np.zeros(len(idx), np.int8)
    bad[t < now - C.MAX_PAST_S] = 3
    bad[t > now + C.MAX_FUTURE_S] = 2
    bad[idx < 0] = 1
    return bad


def _dedup(idx: np.ndarray, seq: np.ndarray, t: np.ndarray, last_seq: np.ndarray,
           last_t: np.ndarray) -> np.ndarray:
    """Keep readings above the device's stored sequence, strictly increasing in sequence and
    not going back in time (sorted by device, then sequence)."""
    if len(idx) == 0:
        return np.zeros(0, bool)
    keep = seq > last_seq[idx]
    same_dev = np.r_[False, idx[1:] == idx[:-1]]
    keep &= ~(same_dev & np.r_[False, seq[1:] == seq[:-1]])
    keep &= t >= last_t[idx]
    # time must not decrease within a device across kept readings (rare; exact loop)
    if same_dev.any() and (np.diff(t)[same_dev[1:]] < 0).any():
        prev_dev, prev_t = -1, -np.inf
        for k in range(len(idx)):
            if idx[k] != prev_dev:
                prev_dev, prev_t = idx[k], last_t[idx[k]]
            if keep[k]:
                if t[k] < prev_t:
                    keep[k] = False
                else:
                    prev_t = t[k]
    return keep


def apply_events(db: Session, rt: runtime.SiteRuntime, site: Site, ev: np.ndarray,
                 devs: dict[int, Device], res: Result) -> list[dispatch.Notice]:
    notices = []
    for row in ev.tolist():
        s, t, kind, transition, value = row
        dev = devs[rt.devices[s].id]
        name = Kind(kind).name
        change = records.on_condition(db, dev, name, bool(transition), t,
                                      None if value != value else value)
        if change is None or change.what != "raise":
            continue
        res.alarms += 1
        rec = change.rec
        targets: list[str] = []
        if rec.life_safety:
            res.life_safety_ids.append(rec.id)
            if name in WITHDRAW_KINDS and dev.kind == "gas" and dev.zone_code:
                w = positioning.start_withdrawal(db, site=site, zones=[dev.zone_code],
                                                 alarm_id=rec.id)
                targets = [p["device"] for p in w.people]
        notices.append(records.notice(rec, "raise", targets))
    return notices


def heartbeat(db: Session, rt: runtime.SiteRuntime, I: np.ndarray, T: np.ndarray) -> None:
    """Tell the equipment register that installed devices reported (its own transaction)."""
    try:
        from qorgau.equipment import service as equipment
    except ImportError:
        return
    fn = getattr(equipment, "record_heartbeat", None)
    if fn is None:
        return
    for j in np.unique(I).tolist():
        inst = rt.devices[j].installation_id
        if inst is None:
            continue
        at = float(T[j == I].max())
        try:
            fn(db=db, installation_id=inst, at=dt(min(at, time.time())))
        except Exception as exc:
            db.rollback()
            METRICS.counts["heartbeat_errors"] += 1
            log.warning("heartbeat for installation %s: %s", inst, exc)


def dead_letter(db: Session, *, site_id: int | None, source: str, reason: str, detail: str,
                device_code: str = "", device_id: int | None = None,
                enterprise_id: int | None = None, region_code: str | None = None) -> None:
    if site_id is not None and enterprise_id is None:
        site = db.get(Site, site_id)
        if site is not None:
            enterprise_id, region_code = site.enterprise_id, site.region_code
        else:
            site_id = None
    db.add(DeadLetter(site_id=site_id, device_id=device_id, enterprise_id=enterprise_id,
                      region_code=region_code, source=source, device_code=device_code[:64],
                      reason=reason, detail=detail[:500]))
    METRICS.counts[f"rejected:{reason}"] += 1


PROCESSOR: Processor | None = None


def processor() -> Processor:
    global PROCESSOR
    if PROCESSOR is None:
        PROCESSOR = Processor()
    return PROCESSOR
