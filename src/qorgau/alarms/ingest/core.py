# ruff: noqa: E741 - I, S, T, V, E: the engine's column names (index, seq, time, value, event)
"""The ingest processor shared by every transport (HTTP, MQTT, NATS, in-process):

  validate → dedup (device, seq) → durable store (segment fsync) → ledger (roll-ups and
  counters, written every few seconds per device; `ledger.py`), dead letters → engine →
  alarm records → withdrawal → dispatch plan → commit → live push + life-safety delivery.

The caller acknowledges its transport only after `handle` returns (the commit): at-least-once.
A replay is harmless: a (device, sequence) already stored is dropped (exactly, `order.py`),
raises of an already-active occurrence change nothing, notifications are unique by dedup key.
A reading that comes after newer ones of its device (a broker redelivering after a restart) is
kept: stored, counted, and checked against the limits without moving the engine back in time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from qorgau.alarms import delivery, dispatch, forecast, notify, positioning, records
from qorgau.alarms.ingest import ledger, runtime, sqlbulk, steps
from qorgau.alarms.ingest import order as O
from qorgau.alarms.ingest.effects import (
    METRICS,
    Result,
    apply_events,
    apply_late,
    heartbeat,
    lock_in_order,
)
from qorgau.alarms.ingest.parse import BadPayload, Parsed, parse
from qorgau.alarms.models import DeadLetter
from qorgau.alarms.sender import Sender
from qorgau.alarms.service import dt
from qorgau.alarms.store import SegmentStore
from qorgau.core.config import get_settings
from qorgau.core.db import attach_loaded
from qorgau.registry.models import Site

log = logging.getLogger("qorgau.alarms.ingest")
MAX_DEAD_LETTERS_PER_BATCH = 50


class Processor:
    def __init__(self, store: SegmentStore | None = None, *, flush_s: float | None = None,
                 owner: str | None = None) -> None:
        self.store = store or SegmentStore()
        self.flush_s = get_settings().alarm_flush_s if flush_s is None else flush_s
        # the name it holds sites' ledgers under: a restarted worker with the same name takes
        # its sites back at once; any other process waits for the lease (ledger.py)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sites: dict[int, runtime.SiteRuntime] = {}
        self._locks: dict[int, threading.Lock] = defaultdict(threading.Lock)
        # set by a worker's loop (`worker.drain`, the NATS worker): the tick's deliveries in a
        # thread of their own; without, the tick sends them itself
        self.sender: Sender | None = None

    def runtime(self, db: Session, site_id: int, rev: int | None = None
                ) -> runtime.SiteRuntime:
        """The site's runtime, built again when its devices changed (`rev`: the device
        revision if the caller read it already, `_site`)."""
        rt = self.sites.get(site_id)
        if rt is None or rt.signature != (runtime.signature(db, site_id) if rev is None
                                          else rev):
            if rt is not None:  # devices changed: what the old device table holds, written
                self.flush(db, rt, time.time(), every=True)
            rt = self.sites[site_id] = runtime.build(db, site_id, time.time(), self.flush_s)
        return rt

    def handle_raw(self, db: Session, doc: Any, *, source: str, site_id: int | None = None,
                   now: float | None = None) -> Result:
        """Decoded JSON (or a `Parsed`) in; a payload-level problem is dead-lettered, never
        raised."""
        try:
            parsed = doc if isinstance(doc, Parsed) else parse(doc, site_id=site_id)
        except BadPayload as exc:
            dead_letter(db, site_id=site_id, source=source, reason=exc.reason,
                        detail=exc.detail)
            db.commit()
            return Result(rejected=1)
        return self.handle(db, parsed, source=source, now=now)

    def handle(self, db: Session, p: Parsed, *, source: str, now: float | None = None) -> Result:
        return self.handle_group(db, [p], source=source, now=now)

    def handle_many(self, db: Session, docs: list[tuple[int | None, Any]], *, source: str,
                    now: float | None = None, stop: Callable[[], bool] | None = None
                    ) -> Result:
        """Group commit: several transport messages (site hint, decoded JSON) processed as one
        batch per site, with one segment frame per site and hour (fsync'ed beside the engine),
        one roll-up upsert, one counter update and one commit for all of them. Events are
        exactly those of handling the messages one by one: the engine gets each message's
        readings in its own order, message after message, and dedup treats a later message
        like a later batch.

        With `stop`, the group goes in pieces of about `steps.PIECE_READINGS` readings and ends
        early (committed so far) when `stop()` says so between two: `res.rest` lists the
        documents left, for the caller to give back to its source unacknowledged."""
        parsed: list[Parsed] = []
        origin: list[int] = []  # the document each parsed message came from
        rejected = 0
        for k, (site_id, doc) in enumerate(docs):
            try:  # parsed where it was received (`receiver.py`), or here
                parsed.append(doc if isinstance(doc, Parsed) else parse(doc, site_id=site_id))
                origin.append(k)
            except BadPayload as exc:  # dead-lettered in this transaction: never left
                dead_letter(db, site_id=site_id, source=source, reason=exc.reason,
                            detail=exc.detail)
                rejected += 1
        res = self.handle_group(db, parsed, source=source, now=now, stop=stop)
        res.rejected += rejected
        res.rest = origin[res.taken:]
        return res

    def handle_group(self, db: Session, group: list[Parsed], *, source: str,
                     now: float | None = None, stop: Callable[[], bool] | None = None
                     ) -> Result:
        now = time.time() if now is None else now
        total = Result()
        sites = {sid: _site(db, sid, total.revs) if sid is not None else None
                 for sid in {p.site_id for p in group}}
        after = []
        locks = [self._locks[k] for k in sorted(k for k, s in sites.items() if s is not None)]
        for lock in locks:  # in id order: two threads never wait on each other
            if not lock.acquire(blocking=False):
                lock.acquire()
                total.revs.clear()  # read before a wait: the runtime reads them again
        try:
            pieces = steps.pieces(group) if stop is not None else [group]
            total.ledger_later = stop is not None
            for k, piece in enumerate(pieces):
                after += self._piece(db, sites, piece, source, now, total)
                total.taken += len(piece)
                if k + 1 < len(pieces) and stop():
                    break
            if stop is not None:  # a raise's batch leaves them all to the next one
                self._ledger_until(db, sites, now, (lambda: True) if total.life_safety_ids
                                   else stop)
            for f in total.syncing:  # every reading on disk before the commit
                f.result()
            db.commit()
            for fn in after:
                fn()
        except BaseException:
            for site_id in sites:  # runtime cursors ran ahead of the rolled-back batch
                self.sites.pop(site_id, None)
            raise
        finally:
            for lock in locks:
                lock.release()
        METRICS.counts["accepted"] += total.accepted
        METRICS.counts["duplicates"] += total.duplicates
        METRICS.counts["rejected"] += total.rejected
        METRICS.last_batch_at = now
        return total

    def _ledger_until(self, db: Session, sites: dict[int | None, Site | None], now: float,
                      stop: Callable[[], bool]) -> None:
        """A group in pieces writes its sites' due ledger groups (512 devices' roll-ups and
        counters each) and marks once, after its pieces: one group at a time, and none once a
        life-safety message is waiting (they stay due for the next batch or the tick; the mark
        is written all the same). Written inside the batch, two of them took up to ~90 ms at
        full load, and a life-safety record waited for them."""
        for site_id, site in sites.items():
            rt = self.sites.get(site_id) if site is not None else None
            for _ in range(ledger.MAX_GROUPS if rt is not None else 0):
                most = 0 if stop() else 1
                if not self.flush(db, rt, now, most=most) or not most:
                    break

    def _piece(self, db: Session, sites: dict[int | None, Site | None], piece: list[Parsed],
               source: str, now: float, total: Result) -> list[Callable[[], None]]:
        """One piece of a group, site by site, up to (not including) the commit."""
        by_site: dict[int | None, list[Parsed]] = defaultdict(list)
        for p in piece:
            by_site[p.site_id].append(p)
        after = []
        for site_id, ps in by_site.items():
            site = sites[site_id]
            if site is None:
                dead_letter(db, site_id=None, source=source, reason="unknown_site",
                            detail=str(site_id))
                total.rejected += sum(steps.size(p) + len(p.rejects) for p in ps)
            else:
                after.append(self._handle(db, site, steps.merge(ps), source, now, total))
        return after

    def _handle(self, db: Session, site: Site, p: Parsed, source: str, now: float,
                res: Result) -> Callable[[], None]:
        """Everything of one site's batch up to (not including) the commit; returns what to do
        after the commit."""
        had = self.sites.get(site.id)
        rt = self.runtime(db, site.id, res.revs.pop(site.id, None))  # later pieces read it
        if not rt.ledger.live:
            if rt is had:  # built by the timer tick, maybe long ago: windows as of then
                self.sites.pop(site.id)
                rt = self.runtime(db, site.id)
            runtime.resume(db, rt, self.store, self.owner, now)
        rejects = list(p.rejects)
        idx = rt.indices(p.d)  # unknown: -1
        seq, t = np.asarray(p.s, np.int64), np.asarray(p.t, np.float64)
        v, e = np.asarray(p.v, np.float64), np.asarray(p.e, np.int8)
        msg = p.msg if p.msg is not None else np.zeros(len(idx), np.int64)
        bad = steps.classify(idx, t, now)
        for i in np.flatnonzero(bad):
            rejects.append((p.d[i], steps.REASONS[bad[i]], f"t={t[i]:.3f}"))
        ok = np.flatnonzero(bad == 0)
        order = steps.engine_order(ok, msg, idx, seq)
        verdict, late = steps.dedup(rt, idx[order], seq[order], t[order])
        res.duplicates += int((verdict == O.DUP).sum())
        dup_dev = np.bincount(idx[order][verdict == O.DUP], minlength=len(rt.devices))
        for k in order[verdict == O.BEYOND].tolist():  # undecidable: rejected, never twice
            rejects.append((p.d[k], "seq_beyond_window", f"s={int(seq[k])}"))
        keep = verdict == O.NEW
        order, L = order[keep], late[keep]
        I, S, T, V, E = idx[order], seq[order], t[order], v[order], e[order]
        res.accepted += len(order)
        res.rejected += len(rejects)
        frame = rt.ledger.next_frame()
        at = self.store.append(site.id, rt.device_ids[I], S, T, V, frame, sync=False)
        res.syncing.append(self.store.sync_soon(site.id, at))  # while the engine runs
        self._bookkeeping(db, rt, site, (I, T, V, L, frame, at), dup_dev, rejects, source, now)
        Z = None if p.z is None else [p.z[k] for k in order]
        n_ls = len(res.life_safety_ids)
        M = None if p.msg is None else p.msg[order]
        notices = self._evaluate(db, rt, site, I, T, V, E, L, Z, M, res)
        rows = dispatch.plan(db, notices, dispatch.context(db, {site.id}, notices)) if notices \
            else []
        ls_ids = set(res.life_safety_ids[n_ls:])
        moves, res.moves = res.moves, positioning.Moves()
        orders = positioning.order_entrants(db, moves.entered) if moves.entered else []
        pushes = list({w.id: positioning.hub_message(w) for w in moves.moved}.values())
        # a batch that raised a life-safety alarm leaves the ledger's due groups to the next
        # one: its record should not wait for hundreds of roll-up and counter rows (what must
        # be written now — a guest's rows, a replay's — the ledger writes whatever `most` says)
        if not res.ledger_later:  # in pieces: once for the group (`_ledger_until`)
            self.flush(db, rt, now, most=0 if ls_ids else ledger.MAX_GROUPS)
        if len(T):
            METRICS.lag_s = max(0.0, now - float(T.max()))
        return lambda: self._after_commit(db, rt, site, I, T, notices, rows, ls_ids,
                                          pushes, orders)

    def _bookkeeping(self, db: Session, rt: runtime.SiteRuntime, site: Site, new: tuple,
                     dup_dev: np.ndarray, rejects: list[tuple[str, str, str]], source: str,
                     now: float) -> None:
        """New readings (I, T, V, L: late, their frame and where it is) into the ledger (written
        after the engine, `flush`); duplicate and rejected counts and dead letters now."""
        I, T, V, L, frame, at = new
        if len(I):
            rt.ledger.add(rt, I, T, V, L, frame, at)
        rej = np.zeros(len(rt.devices), np.int64)
        for code, _r, _d in rejects:
            if code in rt.index:
                rej[rt.index[code]] += 1
        bad = np.flatnonzero((dup_dev > 0) | (rej > 0))
        sqlbulk.add_rejects(db, ids=rt.device_ids[bad].tolist(),
                            duplicate=dup_dev[bad].tolist(), rejected=rej[bad].tolist())
        self._dead_letters(db, rt, site, rejects, source)

    def flush(self, db: Session, rt: runtime.SiteRuntime, now: float, *,
              every: bool = False, most: int = ledger.MAX_GROUPS) -> int:
        """The ledger's due groups (at most `most`, all with `every`) and the site's mark, in
        the caller's transaction (under the site's lock). Returns devices written. Nothing in
        a process that has not ingested the site (its ledger is empty, the mark not its)."""
        if not rt.ledger.live:
            return 0
        written = rt.ledger.flush(db, rt, now, every=every, most=most)
        rt.ledger.mark(db, rt.site_id, now, wrote=written > 0)
        return written

    def close(self, db: Session | None = None) -> int:
        """On a clean stop: every site this process holds written and its lease given back,
        so the rows are in the database now and the next process need not wait for the lease
        or replay. Returns devices written; a failure is logged (the replay covers it)."""
        from qorgau.core.db import get_sessionmaker

        written = 0
        with contextlib.ExitStack() as stack:
            db = db or stack.enter_context(get_sessionmaker()())
            for site_id, rt in list(self.sites.items()):
                if not rt.ledger.deferred:
                    continue
                with self._locks[site_id]:
                    if self.sites.get(site_id) is not rt:  # dropped or rebuilt meanwhile
                        continue
                    try:
                        written += self.flush(db, rt, time.time(), every=True)
                        sqlbulk.release(db, site_id=site_id, owner=self.owner)
                        db.commit()
                    except Exception:
                        log.exception("site %s: ledger not written at stop", site_id)
                        db.rollback()
                    self.sites.pop(site_id, None)
        return written

    def adopt(self, db: Session, rt: runtime.SiteRuntime, now: float) -> runtime.SiteRuntime:
        """A site this process ingests without owning its ledger: when the owner's lease has
        run out, take it over and replay what the owner left (from the timer tick, so a site
        that has gone quiet is written too). Returns the runtime to use."""
        led = rt.ledger
        if not led.live or led.deferred or led.flush_s <= 0 or now < led.claim_at or \
                not led.claim(db, rt.site_id, self.owner, now):
            return rt
        self.sites.pop(rt.site_id, None)
        rt = self.runtime(db, rt.site_id)
        runtime.resume(db, rt, self.store, self.owner, now)
        return rt

    def _dead_letters(self, db: Session, rt: runtime.SiteRuntime, site: Site,
                      rejects: list[tuple[str, str, str]], source: str) -> None:
        for code, reason, detail in rejects[:MAX_DEAD_LETTERS_PER_BATCH]:
            j = rt.index.get(code)
            dead_letter(db, site_id=site.id, source=source, reason=reason, detail=detail,
                        device_code=code, device_id=rt.devices[j].id if j is not None else None,
                        enterprise_id=site.enterprise_id, region_code=site.region_code)
        METRICS.counts["dead_letters_capped"] += max(0, len(rejects) - MAX_DEAD_LETTERS_PER_BATCH)

    def _evaluate(self, db: Session, rt: runtime.SiteRuntime, site: Site, I: np.ndarray,
                  T: np.ndarray, V: np.ndarray, E: np.ndarray, L: np.ndarray,
                  Z: list[str | None] | None, M: np.ndarray | None, res: Result
                  ) -> list[dispatch.Notice]:
        """Engine and records for a batch. Readings of several messages (M: message of each,
        contiguous) go through in one pass when they raise or clear nothing, the common case;
        otherwise the engine is put back and they go message by message, so occurrences and
        their peaks come out exactly as if the messages had come one at a time."""
        multi = M is not None and len(M) and M[0] != M[-1]
        snap = rt.engine.snapshot(I) if multi else None
        ev, lev = steps.engine_events(rt, I, T, V, E, L)
        if (len(ev) or len(lev)) and snap is not None:
            # the messages' events are the whole group's (the engine, run again message by
            # message, sees the same readings in the same order): all their occurrences
            # locked in id order first, not message by message
            lock_in_order(rt, _open_occurrences(db, rt, site, ev, lev, I), ev, lev)
            return self._by_message(db, rt, snap, site, I, T, V, E, L, Z, M, res)
        return self._records(db, rt, site, ev, lev, I, T, V, E, L, Z, res)

    def _by_message(self, db: Session, rt: runtime.SiteRuntime, snap: Any, site: Site,
                    I: np.ndarray, T: np.ndarray, V: np.ndarray, E: np.ndarray, L: np.ndarray,
                    Z: list[str | None] | None, M: np.ndarray, res: Result
                    ) -> list[dispatch.Notice]:
        """The engine from its snapshot message by message; a run of messages without events
        still goes to the records in one step (nothing changes state within it)."""
        rt.engine.restore(snap)
        cuts = np.flatnonzero(M[1:] != M[:-1]) + 1
        notices: list[dispatch.Notice] = []
        run = 0  # start of the current run of quiet messages
        none = steps.NO_EVENTS

        def flush(lo: int, hi: int, ev: np.ndarray, lev: np.ndarray) -> None:
            if hi > lo:
                sl = slice(lo, hi)
                notices.extend(self._records(db, rt, site, ev, lev, I[sl], T[sl], V[sl], E[sl],
                                             L[sl], None if Z is None else Z[lo:hi], res))

        for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(M)].tolist(), strict=True):
            sl = slice(lo, hi)
            ev, lev = steps.engine_events(rt, I[sl], T[sl], V[sl], E[sl], L[sl])
            if len(ev) or len(lev):
                flush(run, lo, none, none)
                flush(lo, hi, ev, lev)
                run = hi
        flush(run, len(M), none, none)
        return notices

    def _records(self, db: Session, rt: runtime.SiteRuntime, site: Site, ev: np.ndarray,
                 lev: np.ndarray, I: np.ndarray, T: np.ndarray, V: np.ndarray, E: np.ndarray,
                 L: np.ndarray, Z: list[str | None] | None, res: Result
                 ) -> list[dispatch.Notice]:
        values = ~np.isnan(V) & (E == 0) & ~L
        occ = _open_occurrences(db, rt, site, ev, lev, I)
        lock_in_order(rt, occ, ev, lev)
        held = len(res.held)
        # positions first: a withdrawal the message's raise starts lists who is in its zones
        # by this message too (applied after, a wearer's reading here found the order already
        # complete when it had listed nobody, and was never commanded out)
        for k in np.flatnonzero(np.array([z is not None for z in Z], bool) & ~L) if Z else ():
            m = positioning.update_presence(db, rt.devices[I[k]], Z[k], dt(float(T[k])))
            res.moves.moved += m.moved
            res.moves.entered += m.entered
        notices = apply_events(db, rt, site, ev, res, occ)
        if len(lev):
            notices += apply_late(db, rt, lev, res, occ)
        records.update_peaks(db, site.id, rt.device_ids, rt.position, I, T, V, occ,
                             res.held[held:])
        notices += forecast.on_readings(db, rt, I[values], T[values], V[values], res)
        return notices

    def _after_commit(self, db: Session, rt: runtime.SiteRuntime, site: Site, I: np.ndarray,
                      T: np.ndarray, notices: list[dispatch.Notice], rows: list[Any],
                      ls_ids: set[int], pushes: list[dict[str, Any]],
                      orders: list[int]) -> None:
        for n in notices:
            notify.HUB.publish(site.id, {"type": "alarm", "id": n.alarm_id, "kind": n.kind,
                                         "life_safety": n.life_safety, "what": n.what,
                                         "message": n.message, "priority": n.priority})
        for msg in pushes:  # withdrawal counts moved by position readings, now committed
            notify.HUB.publish(site.id, msg)
        # life-safety fast path, and late entrants' withdraw commands: now, not on a tick
        fast = [r.id for r in rows if r.alarm_id in ls_ids] + orders
        if fast and self.sender is not None:  # a worker's or web process's: on its pool
            self.sender.fast(fast)
        elif fast:  # no Sender (the CLI's, tests'): sent before returning, in plan order
            delivery.deliver(db, fast)
        heartbeat(db, rt, I, T)


def _site(db: Session, site_id: int, revs: dict[int, int]) -> Site | None:
    """A batch's site, and its device revision into `revs`, in one read past SQLAlchemy's
    statement handling (`sqlbulk.site_row`); one the session holds already, as `db.get`."""
    if db.identity_map.get(identity_key(Site, site_id)) is not None:
        return db.get(Site, site_id)
    got = sqlbulk.site_row(db, site_id)
    if got is None:
        return None
    values, revs[site_id] = got
    return attach_loaded(db, Site, values)


def _open_occurrences(db: Session, rt: runtime.SiteRuntime, site: Site, ev: np.ndarray,
                      lev: np.ndarray, I: np.ndarray) -> records.OpenOccurrences | None:
    """Read once for a batch with events, or of few devices (a life-safety message): its
    devices' open occurrences. A quiet bulk group reads none (its peaks take one statement)."""
    if not (len(ev) or len(lev)) and len(I) > _FEW:
        return None
    idx = np.unique(np.concatenate([ev["sensor"], lev["sensor"]] + ([I] if len(I) <= _FEW else [])
                                   ).astype(np.int64))
    return records.OpenOccurrences(db, site.id, rt.device_ids[idx].tolist())


_FEW = 64


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
                      region_code=region_code, source=source,
                      device_code=_storable(device_code)[:64], reason=reason,
                      detail=_storable(detail)[:500]))
    METRICS.counts[f"rejected:{reason}"] += 1


def _storable(text: str) -> str:
    """A payload's text as a column holds it: PostgreSQL text refuses NUL, and the dead letter
    (of the whole batch, with its good readings) would be lost with it."""
    return text.replace("\x00", "\\x00")


PROCESSOR: Processor | None = None


def processor() -> Processor:
    global PROCESSOR
    if PROCESSOR is None:
        PROCESSOR = Processor()
    return PROCESSOR
