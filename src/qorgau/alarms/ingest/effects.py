# ruff: noqa: E741 - I, T: the engine's column names (device index, time)
"""What an ingest batch's engine events do to the database: occurrences through the ISA
machine (`records`), withdrawal on a life-safety gas excursion, late readings' occurrences,
peaks of active occurrences, and the equipment register's heartbeat. Used by the processor
(`core.py`) and the worker's timer tick."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session

from qorgau.alarms import dispatch, positioning, records
from qorgau.alarms.engine import Kind
from qorgau.alarms.models import AlarmRecord
from qorgau.alarms.service import dt
from qorgau.equipment.service import record_heartbeat
from qorgau.registry.models import Site

if TYPE_CHECKING:
    from qorgau.alarms.ingest import runtime

log = logging.getLogger("qorgau.alarms.ingest")
WITHDRAW_KINDS = {"HIHI", "LOLO", "COMBO"}


@dataclass
class Result:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    alarms: int = 0
    life_safety_ids: list[int] = field(default_factory=list)
    # occurrences changed by this batch, held so the session's (weak) identity map keeps
    # them for the peak update after the events (else it asks the database for them again)
    held: list[AlarmRecord] = field(default_factory=list)
    # a site's position readings (taken by the processor before the next site's): what they
    # did to open withdrawals, for the console push and the late entrants' orders
    moves: positioning.Moves = field(default_factory=positioning.Moves)
    # a group handled in pieces (`Processor.handle_group(stop=)`): messages taken, and of
    # `handle_many`'s documents those left for later (the caller gives them back unacked)
    taken: int = 0
    rest: list[int] = field(default_factory=list)
    ledger_later: bool = False  # in pieces: the due ledger writes after the last one
    # the segment fsyncs under way for this group's frames, waited for before the commit
    syncing: list[Future[None]] = field(default_factory=list)
    # device revision of each site as read with the site (`core._site`), for its first piece
    revs: dict[int, int] = field(default_factory=dict)


@dataclass
class Metrics:
    """Overload is visible: counts, queue depth and lag are exposed on /api/v1/alarms/metrics."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    queue_depth: int = 0
    lag_s: float = 0.0
    last_batch_at: float = 0.0


METRICS = Metrics()


def apply_events(db: Session, rt: runtime.SiteRuntime, site: Site, ev: np.ndarray,
                 res: Result, occ: records.OpenOccurrences | None = None
                 ) -> list[dispatch.Notice]:
    """Engine events → occurrences; then, with their ids (one flush for all the new ones),
    withdrawal for life-safety gas raises and the notices."""
    raised = []
    lock_in_order(rt, occ, ev)
    for row in ev.tolist():
        s, t, kind, transition, value = row
        dev = rt.devices[s]
        change = records.on_condition(db, dev, Kind(kind).name, bool(transition), t,
                                      None if value != value else value, occ=occ)
        if change is not None:
            res.held.append(change.rec)
        if change is not None and change.what == "raise":
            raised.append((dev, change.rec))
    if occ is not None:  # the new occurrences' ids (others got theirs in `on_condition`)
        occ.write_events()
    notices = []
    for dev, rec in raised:
        res.alarms += 1
        targets: list[str] = []
        if rec.life_safety:
            res.life_safety_ids.append(rec.id)
            if rec.kind in WITHDRAW_KINDS and dev.kind == "gas" and dev.zone_code:
                w = positioning.start_withdrawal(db, site=site, zones=[dev.zone_code],
                                                 alarm_id=rec.id)
                targets = [p["device"] for p in w.people]
        notices.append(records.notice(rec, "raise", targets))
    return notices


def lock_in_order(rt: runtime.SiteRuntime, occ: records.OpenOccurrences | None,
                  *evs: np.ndarray) -> None:
    """The occurrences all of `evs` may move, locked in one id order (`OpenOccurrences.
    lock_in_order`): a batch's events, then its late readings' excursions, each locked in
    order of its own, took a low id after a high one."""
    if occ is not None:
        occ.lock_in_order([(rt.devices[s].id, Kind(k).name)
                           for ev in evs for s, _t, k, _tr, _v in ev.tolist()])


def apply_late(db: Session, rt: runtime.SiteRuntime, ev: np.ndarray, res: Result,
               occ: records.OpenOccurrences | None = None) -> list[dispatch.Notice]:
    """Limit excursions of late readings (`order.late_excursions`): each is an occurrence
    raised at the late reading's time and returned to normal at the device's latest reading,
    so it waits for acknowledgement (life-safety ones are delivered at once like any raise).
    No withdrawal: the newer readings show the condition is over."""
    raised = []
    lock_in_order(rt, occ, ev)
    for s, t, kind, transition, value in ev.tolist():
        dev = rt.devices[s]
        name = Kind(kind).name
        v = None if value != value else value
        text = f"late reading: {records.message(dev, name, v)} at {dt(t):%Y-%m-%d %H:%M:%S} UTC"
        change = records.on_condition(db, dev, name, bool(transition), t, v, text=text,
                                      detail={"late": f"{dt(t):%Y-%m-%d %H:%M:%S}"}, occ=occ)
        if change is not None and change.what == "raise":
            raised.append(change.rec)
    if occ is not None:  # the new occurrences' ids (others got theirs in `on_condition`)
        occ.write_events()
    for rec in raised:
        res.alarms += 1
        METRICS.counts["late_raised"] += 1
        if rec.life_safety:
            res.life_safety_ids.append(rec.id)
    return [records.notice(rec, "raise") for rec in raised]


def heartbeat(db: Session, rt: runtime.SiteRuntime, I: np.ndarray, T: np.ndarray) -> None:
    """Tell the equipment register that installed devices reported (its own transaction)."""
    if not len(rt.installed):
        return
    mine = np.isin(I, rt.installed)  # a group's readings are mostly of other devices
    I, T = I[mine], T[mine]
    for j in np.unique(I).tolist():
        inst = rt.devices[j].installation_id
        at = float(T[j == I].max())
        try:
            record_heartbeat(db=db, installation_id=inst, at=dt(min(at, time.time())))
        except Exception as exc:
            db.rollback()
            METRICS.counts["heartbeat_errors"] += 1
            log.warning("heartbeat for installation %s: %s", inst, exc)


