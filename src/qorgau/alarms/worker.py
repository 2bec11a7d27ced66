"""The alarm worker: consumes a transport, runs the processor, and a scheduler tick every
second for the timers — stale sensors / lost heartbeats, shift starts (exposure doses reset),
escalation and reminders, shelve expiry, pending notifications — so they fire on time, not
when the next message comes.

Crash-safe: all state that matters is in the database (dedup cursors, occurrences, pending
notifications) and the segment store; the engine state is rebuilt from it on start."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms import delivery, dispatch, flood, notify, records, routing, sender, shifts
from qorgau.alarms.engine.types import canonical
from qorgau.alarms.health import Heartbeat
from qorgau.alarms.ingest.core import Processor, processor
from qorgau.alarms.ingest.effects import METRICS, Result, apply_events
from qorgau.alarms.ingest.unprocessable import handle_alone
from qorgau.alarms.models import Device
from qorgau.core.db import get_sessionmaker
from qorgau.registry.models import Site

log = logging.getLogger("qorgau.alarms.worker")


def tick(db: Session, proc: Processor | None = None, now: float | None = None,
         urgent: Callable[[], bool] | None = None) -> dict[str, int]:
    """One scheduler tick; returns what it did. Never raises (logged instead). `urgent`: a
    life-safety message is waiting, so the sites' ledger writes stop early (the next tick or
    batch writes the rest) — a full tick took up to 50–65 ms at 50 K readings/s."""
    proc = proc or processor()
    now = time.time() if now is None else now
    at = datetime.fromtimestamp(now, UTC)
    done = {"stale": 0, "escalated": 0, "unshelved": 0, "sent": 0, "failed_sites": 0}
    try:
        _tick_sites(db, proc, now, urgent, done)
        notices = records.escalations(db, at)
        done["escalated"] = len(notices)
        back, told = records.shelve_expiry(db, at)
        done["unshelved"] = len(back)
        notices += told
        if notices:
            dispatch.plan(db, notices, dispatch.Context())
        db.commit()
        flood.flood_summaries(db, at)  # own commit; its rows go out with `deliver` below
        for n in notices:
            notify.HUB.publish(n.site_id, {"type": "alarm", "id": n.alarm_id, "what": n.what,
                                           "tier": n.tier, "life_safety": n.life_safety})
        if proc.sender is not None:  # the worker's loop: sent beside it (`sender.py`)
            proc.sender.backlog()
        else:
            done["sent"] = delivery.deliver(db)["sent"]
    except Exception:
        log.exception("alarm tick failed")
        db.rollback()
    return done


def _tick_sites(db: Session, proc: Processor, now: float,
                urgent: Callable[[], bool] | None, done: dict[str, int]) -> None:
    """Every site's timers, each on its own: one site that fails (a bug, bad data) is
    logged and counted, and neither the other sites' stale sensors nor anyone's escalations
    and deliveries wait on it (they did: the whole tick ended at the first failing site)."""
    schedules = routing.shift_schedules(db)
    for site_id in sorted(set(db.scalars(select(Device.site_id).distinct()))):
        try:
            done["stale"] += _tick_site(db, proc, site_id, now,
                                        schedules.get(site_id, C.DEFAULT_SHIFTS), urgent)
        except Exception:
            log.exception("alarm tick of site %s failed", site_id)
            db.rollback()
            done["failed_sites"] += 1


TICK_GROUPS = 8  # ledger groups a tick writes per site (no batch waits on it as on a batch's)


def _tick_site(db: Session, proc: Processor, site_id: int, now: float,
               starts: tuple[str, ...] = C.DEFAULT_SHIFTS,
               urgent: Callable[[], bool] | None = None) -> int:
    """A site's timers (stale sensors, lost heartbeats, a shift start: TWA clears, doses
    restart) and its ledger's due devices, in one commit; returns the events. A failed commit
    drops the runtime, whose ledger thought the rows written: it is rebuilt, with a replay,
    from what did commit (and resets again: its shift starts are rebuilt too)."""
    with proc._locks[site_id]:
        notices, ev = [], []
        try:
            rt = proc.adopt(db, proc.runtime(db, site_id), now)
            ev = canonical(np.concatenate([rt.engine.tick(now),
                                           shifts.reset_due(rt.engine, starts, now)]))
            if len(ev):
                notices = apply_events(db, rt, db.get(Site, site_id), ev, Result())
                dispatch.plan(db, notices, dispatch.context(db, {site_id}))
            for _ in range(TICK_GROUPS):  # one ledger group at a time, each committed
                if not proc.flush(db, rt, now, most=1) or (urgent is not None and urgent()):
                    break
                db.commit()
            db.commit()
        except BaseException:
            proc.sites.pop(site_id, None)
            raise
    for n in notices:
        notify.HUB.publish(site_id, {"type": "alarm", "id": n.alarm_id, "kind": n.kind,
                                     "what": n.what})
    return len(ev)


# With the start-up heap frozen, generation 2 is small and the default thresholds ran a full
# collection every 2-3 s at max throughput; each took up to ~100 ms (the in-flight messages
# are young objects it also traverses) and set the record's p99: generations 1 and 2 are
# collected rarely (every ~1 M and ~100 M container allocations). Generation 0 stays small:
# a collection of it traverses its survivors, and at 50,000 it paused the worker for up to
# 65-90 ms on a slow boot of the VM (8 pauses in 30 s at max throughput; 7-22 ms at 5,000).
GC_THRESHOLDS = (5_000, 200, 100)


def settle_heap() -> None:
    """Put what start-up allocated (modules, numba, the ORM's registries: a few million
    objects) out of the collector's reach: a full collection over them held the GIL for up
    to 150 ms, stalling the network thread's danger screening and the live push
    (benchmarks/alarm_e2e.py prints the pauses). Later objects are collected as usual. Called
    once by a worker process's entry point (`qorgau alarms worker`), its receiving process
    (`receiver._child`), the sentinel (`qorgau alarms sentinel`) and a serving process once
    started (`qorgau serve` flags it for the app's start-up: ~310,000 objects, a full
    collection 150 ms), not by `drain` or the app factory: in a test process it would also
    freeze the test's live objects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def drain(source, proc: Processor | None = None, *, seconds: float | None = None,
          tick_every_s: float = 1.0, group: bool = True) -> int:
    """Generic worker loop: `source.fetch(timeout)` → [(site_id|None, doc, ack)], process, ack
    after commit; ticks between fetches. Returns messages handled.

    Group commit: the messages of one fetch (what is already queued; the fetch never waits
    for more once it has one, so a life-safety reading is not held back to fill a group) are
    processed as one batch per site, fsync'ed and committed once, then all acknowledged. If
    the group fails, its messages are retried one by one so that one bad message does not
    hold back the others; a message that fails alone is not acknowledged (redelivered)."""
    proc = proc or processor()
    detach = sender.attach(proc)
    end = time.time() + seconds if seconds else np.inf
    handled, next_tick = 0, 0.0
    health = Heartbeat("worker", source.name, every_s=tick_every_s)
    try:
        while time.time() < end and not getattr(source, "closed", False):
            items = source.fetch(0.2)
            done = _group(proc, source, items) if group and len(items) > 1 else None
            if done is not None:
                handled += done
            else:
                handled += sum(_single(proc, source.name, it) for it in items)
                _flush_acks(source)
            if time.time() >= next_tick and not _urgent_waiting(source):
                with get_sessionmaker()() as db:
                    tick(db, proc, urgent=lambda: _urgent_waiting(source))
                health.beat()
                next_tick = time.time() + tick_every_s
    finally:
        health.stop()
        proc.close()
        if detach is not None:
            detach()
    return handled


def _urgent_waiting(source) -> bool:
    """A life-safety message is queued on the source's priority lane: the tick can wait."""
    fn = getattr(source, "urgent_waiting", None)
    return bool(fn and fn())


def _group(proc: Processor, source, items: list) -> int | None:
    """One group commit; None if it failed (then one by one). A source that can take messages
    back (`unfetch`) gets the group handled in pieces, ending early when a life-safety
    message is waiting: it then waits for at most one piece of the bulk group, not all of it,
    and what was left goes back to the front of its lane unacknowledged. Returns messages
    handled."""
    stop = (lambda: _urgent_waiting(source)) if hasattr(source, "unfetch") else None
    with get_sessionmaker()() as db:
        try:
            res = proc.handle_many(db, [(site_id, doc) for site_id, doc, _ack in items],
                                   source=source.name, stop=stop)
        except records.Superseded as exc:  # an operator acted on one of its alarms meanwhile
            log.info("group of %d messages: %s; one by one", len(items), exc)
            db.rollback()
            return None
        except Exception:
            log.exception("group of %d messages failed; retrying one by one", len(items))
            db.rollback()
            return None
    rest = set(res.rest)
    for k, (_site, _doc, ack) in enumerate(items):
        if k not in rest:
            ack()
    _flush_acks(source)
    if rest:
        METRICS.counts["groups_cut_for_life_safety"] += 1
        source.unfetch([items[k] for k in sorted(rest)])
    return len(items) - len(rest)


def _flush_acks(source) -> None:
    """A source that gathers acknowledgements (`ProcessSource`) sends them now."""
    fn = getattr(source, "flush_acks", None)
    if fn is not None:
        fn()


def _single(proc: Processor, name: str, item: tuple) -> bool:
    site_id, doc, ack = item
    if not handle_alone(proc, doc, source=name, site_id=site_id):
        return False
    ack()
    return True
