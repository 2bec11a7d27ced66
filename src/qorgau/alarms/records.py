# ruff: noqa: E741 - I, S, T, V, E: the engine's column names (index, seq, time, value, event)
"""Engine condition events → alarm occurrences (AlarmRecord) through the ISA-18.2 machine,
and the timer-driven transitions: escalation, reminders, shelve expiry.

Idempotent: a raise for a (device, kind) that already has an active open occurrence changes
nothing, so replaying a batch after a crash creates no duplicate alarm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from sqlalchemy import and_, bindparam, func, insert, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from qorgau.alarms import constants as C
from qorgau.alarms import masking, texts
from qorgau.alarms.dispatch import Context, Notice, plan
from qorgau.alarms.engine import AlarmState
from qorgau.alarms.engine.isa import HIDDEN
from qorgau.alarms.models import AlarmEvent, AlarmRecord, Contact, Device, Notification
from qorgau.alarms.routing import delays
from qorgau.alarms.service import apply, back_to_tier_one, dt, ts
from qorgau.core.db import (
    execute_raw,
    fetch_raw,
    in_list,
    insert_flushed,
    is_postgresql,
    lock_and_refresh,
    lock_name,
    serialize,
    utcnow,
)

if TYPE_CHECKING:
    from qorgau.alarms.ingest.runtime import DevInfo

LS_KINDS = {"HI", "HIHI", "LO", "LOLO", "COMBO", "STEL", "FALL", "SOS", "NO_MOTION", "STALE"}


@dataclass
class Change:
    rec: AlarmRecord
    what: str  # raise | clear | update (an active system alarm counted a repeat)


def _open(db: Session, device_id: int | None, kind: str, site_id: int) -> AlarmRecord | None:
    """The condition's occurrence that follows its process state: the active one, else a
    hidden one (shelved, suppressed, out of service: its machine tracks the condition and
    annunciates nothing). None when the open ones have all returned to normal and wait for
    acknowledgement (rtn_unack): a raise then starts a new occurrence, each excursion its own
    record. The ids are asked as a Core statement on the session's connection after a flush
    (what autoflush would do); the row comes from the identity map when this session has it
    (a raise and its clear in one batch). The common answer, none, costs no ORM query."""
    db.flush()
    args = {"kind": kind, "site": site_id, "device": device_id}
    rows = db.connection().execute(_OPEN_SITE if device_id is None else _OPEN_DEVICE,
                                   args).all()
    rec_id = next((r.id for r in rows if r.active), None) or next(
        (r.id for r in rows if r.state in HIDDEN), None)
    return None if rec_id is None else db.get(AlarmRecord, rec_id)


_OCC = AlarmRecord.__table__
# the open occurrences that can follow a condition: active or hidden; the others wait in
# rtn_unack for an acknowledgement (a chattering device may have hundreds) and a raise starts
# a new one beside them
_FOLLOWS = or_(_OCC.c.active.is_(True), _OCC.c.state.in_(sorted(s.value for s in HIDDEN)))
_EVENT_INSERT = insert(AlarmEvent.__table__)
# statements built once: building and keying one per call cost more than running it
_OPEN_ANY = select(_OCC.c.id, _OCC.c.active, _OCC.c.state).where(
    _OCC.c.kind == bindparam("kind"), _OCC.c.open.is_(True),
    _OCC.c.site_id == bindparam("site"), _FOLLOWS).order_by(_OCC.c.id.desc())
_OPEN_SITE = _OPEN_ANY.where(_OCC.c.device_id.is_(None))
_OPEN_DEVICE = _OPEN_ANY.where(_OCC.c.device_id == bindparam("device"))
_DEVICE_STATE_RAW = ("SELECT latching, oos_since, oos_by, oos_reason, id FROM alarm_device "
                     "WHERE id IN ({ids})")


class DeviceState(NamedTuple):
    """`service.DEVICE_STATE`'s columns as read on the DBAPI cursor: `oos_since` as the driver
    gives it (text on SQLite), read only for whether it is set."""

    latching: Any
    oos_since: Any
    oos_by: str
    oos_reason: str
    id: int
# on the DBAPI cursor (`db.fetch_raw`): read in every life-safety message's batch
_HIDDEN_STATES = tuple(sorted(s.value for s in HIDDEN))
_OPEN_OF_RAW = ("SELECT id, device_id, kind, active, state FROM alarm_occurrence "
                "WHERE site_id = {p} AND open AND (active OR state IN ({hidden})) "
                "AND device_id IN ({ids}) ORDER BY id DESC")


class OpenOccurrences:
    """The open occurrences of a batch's devices, read with one Core statement at the start
    of its records step, instead of one query per engine event (`_open`) and another for the
    peaks (`update_peaks`): on the life-safety raise path that was three round trips and
    flushes for one message. Occurrences raised in the batch are added as objects (their
    INSERTs go in one flush, `apply_events`); the state of one this session holds is its
    object's (a clear earlier in the batch), else the row's. Devices it was not read for go
    to `_open` as before. It also reads its devices' latching and out-of-service state once,
    at their first new occurrence (one statement instead of one per occurrence)."""

    def __init__(self, db: Session, site_id: int, device_ids: list[int]) -> None:
        db.flush()  # what autoflush would do
        sql = _OPEN_OF_RAW.replace("{hidden}", in_list(len(_HIDDEN_STATES))) \
            .replace("{ids}", in_list(len(device_ids)))
        rows = fetch_raw(db, sql, (site_id, *_HIDDEN_STATES, *device_ids)) if device_ids else []
        self.db, self.site_id, self.devices = db, site_id, set(device_ids)
        self.rows = {id_: (bool(active), state) for id_, _d, _k, active, state in rows}
        self.by: dict[tuple[int, str], list[int | AlarmRecord]] = {}  # newest first
        for id_, device_id, kind, _a, _s in rows:
            self.by.setdefault((device_id, kind), []).append(id_)
        self._device_rows: dict[int, Any] | None = None
        # the batch's ISA transitions (`service.apply(events=)`) and its new occurrences, not
        # in the session until `write_events` inserts them
        self.events: list[tuple[AlarmRecord, dict[str, Any]]] = []
        self.new: list[AlarmRecord] = []
        self.locked: set[int] = set()  # occurrences checked by `still_as_read`, held locked

    def write_events(self) -> None:
        """The batch's new occurrences and then its transitions, each as one Core statement
        (`db.insert_flushed`: the occurrences become persistent objects with their ids): an
        ORM flush of them cost ~5 times the rows' own INSERTs, on the life-safety record's
        path."""
        if self.new:
            insert_flushed(self.db, self.new)
            self.new.clear()
        if not self.events:
            return
        rows = [{"alarm_id": rec.id, **row} for rec, row in self.events]
        self.db.connection().execute(_EVENT_INSERT, rows)
        self.events.clear()

    def _held(self, entry: int | AlarmRecord) -> AlarmRecord | None:
        if isinstance(entry, AlarmRecord):
            return entry
        return self.db.identity_map.get(identity_key(AlarmRecord, entry))

    def _state(self, entry: int | AlarmRecord) -> tuple[bool, bool, str]:
        """(open, active, state) now."""
        rec = self._held(entry)
        if rec is None:
            return True, *self.rows[entry]
        return bool(rec.open), bool(rec.active), rec.state

    def find(self, device_id: int, kind: str) -> AlarmRecord | None:
        """`_open`'s answer for a device it was read for."""
        states = [(e, self._state(e)) for e in self.by.get((device_id, kind), ())]
        entry = next((e for e, (o, a, _s) in states if o and a), None) or next(
            (e for e, (o, _a, s) in states if o and s in HIDDEN), None)
        if entry is None:
            return None
        return self._held(entry) or self.db.get(AlarmRecord, entry)

    def lock_in_order(self, events: list[tuple[int, str]]) -> None:
        """The occurrences (device, kind) events may move, locked and checked in id order
        (`still_as_read`) before any is moved: operator actions that lock several (out of
        service: a device's open ones) take them in id order too, and so does a flush; in
        event order two of them could deadlock on PostgreSQL."""
        recs = {r.id: r for d, k in events if d in self.devices
                and (r := self.find(d, k)) is not None and r.id is not None}
        for rec_id in sorted(recs):
            if rec_id not in self.locked:
                still_as_read(self.db, recs[rec_id])
                self.locked.add(rec_id)

    def add(self, rec: AlarmRecord) -> None:
        """A new occurrence of one of its devices, inserted by `write_events`."""
        self.by.setdefault((rec.device_id, rec.kind), []).insert(0, rec)
        self.new.append(rec)

    def device_row(self, device_id: int) -> Any:
        """The device's latching and out-of-service columns (`service.DEVICE_STATE`)."""
        if self._device_rows is None:
            ids = sorted(self.devices)
            rows = fetch_raw(self.db, _DEVICE_STATE_RAW.replace("{ids}", in_list(len(ids))),
                             tuple(ids)) if ids else []
            self._device_rows = {r[-1]: DeviceState(*r) for r in rows}
        return self._device_rows.get(device_id)

    def active(self) -> list[AlarmRecord]:
        """The active occurrences of its devices, rows loaded in one query at most."""
        entries = [e for es in self.by.values() for e in es if self._state(e)[1]]
        got = [rec for e in entries if (rec := self._held(e)) is not None]
        missing = [e for e in entries if self._held(e) is None]
        if missing:
            got += self.db.scalars(select(AlarmRecord).where(AlarmRecord.id.in_(missing)))
        return got


def message(dev: Device | DevInfo, kind: str, value: float | None) -> str:
    v = "" if value is None else f" = {value:.3g} {C.UNITS.get(dev.quantity, '')}".rstrip()
    if value is not None and kind in C.COUNT_KINDS:  # a count, not a reading of the gas
        v = f": excursion {value:.0f} of the shift"
    where = f" ({dev.zone_code})" if dev.zone_code else ""
    return f"{dev.quantity} {kind} at {dev.code}{where}{v}"


def on_condition(db: Session, dev: Device | DevInfo, kind: str, raised: bool, t: float,
                 value: float | None, *, text: str | None = None,
                 detail: dict[str, Any] | None = None,
                 occ: OpenOccurrences | None = None) -> Change | None:
    """Apply one engine event to the device's occurrence of that condition. `text` replaces
    the English record's message, `detail` adds to the fields its texts are rendered from in
    each reader's language (`texts`). With `occ` (the batch's open occurrences) a new
    occurrence is left to `occ.write_events`, which inserts all of them at once: the caller
    calls it before it needs their ids."""
    known = occ is not None and dev.id in occ.devices
    rec = occ.find(dev.id, kind) if known else _open(db, dev.id, kind, dev.site_id)
    if raised:
        if rec is not None and rec.active:
            return None  # replayed raise
        # none open, or only ones back to normal awaiting acknowledgement: a new occurrence
        # (those stay open in rtn_unack); a hidden one takes the raise without annunciating
        # queried before the occurrence is pending: a new one goes in as one INSERT with its
        # final state, beside its first transition (this is the life-safety record's path)
        first_wait = delays(db, dev.site_id).escalation[0]
        if rec is None:
            rec = AlarmRecord(device_id=dev.id, site_id=dev.site_id,
                              enterprise_id=dev.enterprise_id, region_code=dev.region_code,
                              zone_code=dev.zone_code, kind=kind,
                              priority=priority(dev, kind),
                              life_safety=dev.life_safety and kind in LS_KINDS,
                              state=AlarmState.NORMAL.value, active=False, open=True,
                              raised_at=dt(t), value=value, peak=value)
        rec.message = (text or message(dev, kind, value))[:300]
        rec.detail = {"device": dev.code, "quantity": dev.quantity, "value": value,
                      **(detail or {})}
        _still(db, rec, occ)
        apply(db, rec, None, trigger_fn="process", active=True, time=t,
              device=occ.device_row(dev.id) if known and rec.id is None else None,
              events=occ.events if occ is not None else None)
        rec.open, rec.cleared_at = True, None
        if rec.state == AlarmState.UNACK:
            rec.next_escalation_at = dt(t + first_wait)
        if rec.id is None and occ is not None and known:
            occ.add(rec)
        elif rec.id is None:
            db.add(rec)
            db.flush()  # callers need its id (withdrawal, notices)
        # a hidden occurrence (shelved, suppressed, out of service) takes it silently
        return Change(rec, "raise" if rec.state == AlarmState.UNACK else "update")
    if rec is None or not rec.active:
        return None  # clear of a condition we never saw raised (or replayed clear)
    _still(db, rec, occ)
    apply(db, rec, None, trigger_fn="process", active=False, time=t,
          events=occ.events if occ is not None else None)
    rec.cleared_at = dt(t)
    return Change(rec, "clear")


class Superseded(RuntimeError):
    """An occurrence's state changed under an ingest batch: an operator's action committed
    after the batch read it. The batch's transaction is rolled back and the message handled
    again (`handle_alone`), which reads the new state."""


# locks the row (an operator action that has not committed yet is waited for) and matches it
# only in the state the batch read
_STILL = "UPDATE alarm_occurrence SET state = state WHERE id = {p} AND state = {p}"


def still_as_read(db: Session, rec: AlarmRecord) -> None:
    """Before a batch moves an occurrence it read through the ISA machine: the row locked and
    still in the state it was read in, else `Superseded`. On PostgreSQL an acknowledgement
    that committed between the read and the batch's write was overwritten: the clear went
    from the old state (`rtn_unack` over `acknowledged`, a second acknowledgement asked
    for). Operator actions lock the row the same way (`lock_and_refresh`), so one of the two
    waits for the other. Peaks are not checked: an acknowledgement during the alarm would
    otherwise fail every batch of its device (see docs/alarms.md)."""
    if rec.id is None:
        return
    read = sa_inspect(rec).attrs["state"].history.deleted
    state = read[0] if read else rec.state
    if execute_raw(db, _STILL, (rec.id, getattr(state, "value", state))) != 1:
        raise Superseded(f"alarm occurrence {rec.id} is no longer {state}")


def _still(db: Session, rec: AlarmRecord, occ: OpenOccurrences | None) -> None:
    if occ is None or rec.id not in occ.locked:  # else checked by `lock_in_order`
        still_as_read(db, rec)


def priority(dev: Device | DevInfo, kind: str) -> int:
    """ISA priority of a device's condition. A lost signal is low priority for a fan or a
    thermometer, but a lone worker's wearable going silent is the emergency lone-worker
    monitoring exists for (1), and a silent gas detector leaves its zone unmeasured (2):
    contacts that take only P1/P2 still get them."""
    if kind == "STALE" and dev.life_safety:
        return 1 if dev.kind == "wearable" else 2
    return C.PRIORITY.get(kind, 3)


def track_peak(rec: AlarmRecord, value: float) -> None:
    if rec.peak is None or (rec.kind in ("LO", "LOLO") and value < rec.peak) or (
            rec.kind not in ("LO", "LOLO") and value > rec.peak):
        rec.peak = value


def raise_system_alarm(db: Session, *, site_id: int, enterprise_id: int, region_code: str,
                       kind: str, message: str, detail: dict[str, Any] | None = None
                       ) -> Change:
    """Site-level alarm without a device (e.g. NOTIFY_FAILED). While its occurrence is active,
    a repeat only counts (`value`) and updates the message: Change "update". Otherwise a new
    occurrence is raised ("raise"; "update" when a hidden one takes it silently). Read and
    written under the lock of the site's alarm of that kind (`_serialize`)."""
    _serialize(db, site_id, kind)
    rec = _open(db, None, kind, site_id)
    now = ts(utcnow())
    if rec is not None:  # read again under its lock, as operator actions do: another sender
        lock_and_refresh(db, rec)  # may have raised it, an operator closed it, meanwhile
        if not rec.open or not (rec.active or rec.state in HIDDEN):
            rec = None  # back to normal meanwhile: a new occurrence
    if rec is not None and rec.active:
        rec.value = (rec.value or 1) + 1
        rec.message = f"{rec.value:.0f}× {message}"[:300]
        rec.detail = detail  # the latest one's (its count is `value`)
        return Change(rec, "update")
    if rec is None:
        rec = AlarmRecord(device_id=None, site_id=site_id, enterprise_id=enterprise_id,
                          region_code=region_code, kind=kind, priority=C.PRIORITY.get(kind, 2),
                          life_safety=False, state="normal", active=False, open=True,
                          raised_at=dt(now), message=message[:300], value=1.0, detail=detail)
        db.add(rec)
        db.flush()
    apply(db, rec, None, trigger_fn="process", active=True, time=now)
    rec.cleared_at = None
    if rec.state != AlarmState.UNACK:
        return Change(rec, "update")  # shelved or out of service: no annunciation
    rec.next_escalation_at = dt(now + delays(db, site_id).escalation[0])
    return Change(rec, "raise")


def _serialize(db: Session, site_id: int, kind: str) -> None:
    """One transaction at a time decides on a site's system alarm of `kind`, across threads
    and processes: an alarm's rows are sent side by side (`sender.py`), and two failures
    read "none active" together and raised an occurrence each."""
    serialize(db, lock_name(f"alarms.system.{kind}"), site_id)


def clear_system_alarm(db: Session, *, site_id: int, kind: str) -> Change | None:
    """The site-level condition is over: its active occurrence returns to normal through the
    ISA machine (acknowledged → normal, closed; unacknowledged → rtn_unack, which still
    escalates until acknowledged). None when none is active."""
    _serialize(db, site_id, kind)
    rec = _open(db, None, kind, site_id)
    if rec is None or not rec.active or not lock_and_refresh(db, rec).active:  # read again
        return None
    now = ts(utcnow())
    apply(db, rec, None, trigger_fn="process", active=False, time=now)
    rec.cleared_at = dt(now)
    return Change(rec, "clear")


NOTIFY_FAILED = "NOTIFY_FAILED"
FAILING_WINDOW = timedelta(hours=24)  # a contact's deliveries looked at to call it failing


def delivery_failed(db: Session, row: Notification, rec: AlarmRecord) -> Change:
    """A notification could not be delivered: the site's NOTIFY_FAILED is raised (a new
    occurrence, announced like any alarm) or, while active, counts one more failure."""
    # the record is read by everyone who sees the site's alarms (mine rescue has no
    # alarms.contacts.read) and its subject goes to the site's contacts: the address masked
    # (`masking`); the failed row (notification_id) shows it in full to who may read it
    shown = masking.Masker([(row.channel, row.target)])
    target, error = shown.target(row.channel, row.target), shown.text(row.error) or ""
    change = raise_system_alarm(db, site_id=rec.site_id, enterprise_id=rec.enterprise_id,
                                region_code=rec.region_code, kind=NOTIFY_FAILED,
                                message=f"{row.channel} to {target} failed: {error}",
                                detail={"channel": row.channel, "target": target,
                                        "notification_id": row.id, "alarm_id": row.alarm_id,
                                        "error": error[:200]})
    if change.what == "raise":
        plan(db, [notice(change.rec, "raise")], Context())
    return change


def delivery_succeeded(db: Session, row: Notification, rec: AlarmRecord) -> Change | None:
    """A notification went out: the site's active NOTIFY_FAILED returns to normal unless a
    contact of the site is still failing (its latest delivery in the window failed), so one
    broken address next to working ones keeps it active instead of raising it anew with every
    notice. A removed contact no longer holds it."""
    nf = _open(db, None, NOTIFY_FAILED, rec.site_id)
    if nf is None or not nf.active:  # the common case, read without the lock
        return None
    _serialize(db, rec.site_id, NOTIFY_FAILED)  # a failure beside it commits first, or waits
    if _contact_failing(db, rec.site_id):
        return None
    return clear_system_alarm(db, site_id=rec.site_id, kind=NOTIFY_FAILED)


def _contact_failing(db: Session, site_id: int) -> bool:
    N, A = Notification, AlarmRecord
    latest = (select(func.max(N.id)).join(A, A.id == N.alarm_id)
              .join(Contact, and_(Contact.site_id == site_id, Contact.channel == N.channel,
                                  Contact.target == N.target))
              .where(A.site_id == site_id, N.status.in_(("sent", "failed")),
                     N.at >= utcnow() - FAILING_WINDOW)
              .group_by(N.channel, N.target))
    return db.scalar(select(N.id).where(N.id.in_(latest), N.status == "failed").limit(1)
                     ) is not None


def notice(rec: AlarmRecord, what: str, targets: list[str] | None = None) -> Notice:
    return Notice(alarm_id=rec.id, site_id=rec.site_id, enterprise_id=rec.enterprise_id,
                  region_code=rec.region_code, kind=rec.kind, priority=rec.priority,
                  life_safety=rec.life_safety, tier=rec.tier, what=what, message=rec.message,
                  device_id=rec.device_id, targets=targets or [], fields=texts.fields(rec))


def escalations(db: Session, now: datetime) -> list[Notice]:
    """Unacknowledged alarms past their deadline go one tier up, then are reminded every
    reminder interval at the top tier, until acknowledged: active, already back to normal
    (rtn_unack) or latched, since nobody has seen it yet either way."""
    out: list[Notice] = []
    stmt = select(AlarmRecord).where(AlarmRecord.open.is_(True),
                                     AlarmRecord.next_escalation_at <= now,
                                     AlarmRecord.state.in_(_UNSEEN))
    for rec in db.scalars(stmt.with_for_update(skip_locked=True)
                          if is_postgresql(db) else stmt):
        d = delays(db, rec.site_id)  # per-site times, edited on the routing page
        if rec.tier <= len(d.escalation):
            rec.tier += 1  # the top tier's first reminder comes one reminder interval on
            wait = d.escalation[rec.tier - 1] if rec.tier <= len(d.escalation) else d.reminder
            # keyed by its time, as a reminder is: an alarm back at tier 1 (shelve expiry,
            # unshelve, return to service) escalates again through tiers told before, whose
            # rows' keys ("escalate:2:<id>") would have dropped the new ones unsent
            out.append(notice(rec, f"escalate{int(ts(now))}"))
        else:
            wait = d.reminder
            out.append(notice(rec, f"remind{int(ts(now))}"))
        rec.next_escalation_at = now + timedelta(seconds=wait)
    return out


# latched counts when it latched unacknowledged: an acknowledgement clears the deadline, and
# a latched alarm cannot be acknowledged, only reset (which closes it)
_UNSEEN = (AlarmState.UNACK.value, AlarmState.RTN_UNACK.value, AlarmState.LATCHED.value)


def shelve_expiry(db: Session, now: datetime) -> tuple[list[AlarmRecord], list[Notice]]:
    """Shelved alarms whose shelf time ran out come back (active → unacknowledged) as a
    fresh raise would: told to tier 1 now (nobody acted, so nobody knows it is back), then
    escalated from there. It kept the tier it reached before it was shelved, so the first
    escalation after it skipped the people on the tiers below."""
    back, notices = [], []
    stmt = select(AlarmRecord).where(AlarmRecord.state == AlarmState.SHELVED.value,
                                     AlarmRecord.shelved_until <= now)
    # locked as escalations' rows are (a second worker that read the row before this one
    # committed expired it again); keyed by the shelf's end, the same in every worker
    for rec in db.scalars(stmt.with_for_update(skip_locked=True)
                          if is_postgresql(db) else stmt):
        until = int(ts(rec.shelved_until))
        apply(db, rec, None, trigger_fn="tick", now=ts(now))
        if rec.state == AlarmState.UNACK:
            back_to_tier_one(db, rec, now)
            notices.append(notice(rec, f"back{until}"))
        back.append(rec)
    return back, notices


def update_peaks(db: Session, site_id: int, device_ids: np.ndarray, position: dict[int, int],
                 I, T, V, occ: OpenOccurrences | None = None,
                 changed: list[AlarmRecord] = ()) -> None:
    """Peak value of every active occurrence of the batch's devices (device_ids: database id
    of each index in I; position: the reverse), from this batch's readings after its raise,
    and of those in `changed` (this batch's) that returned to normal in it, from the readings
    between their raise and clear. The active occurrences come from `occ` when it was read for
    all of them; else their ids from one Core statement (of the batch's devices when they are
    few, else of the site), the rows from the identity map (those raised in this batch), the
    rest in one query."""
    if not len(I):
        return
    _peaks([r for r in changed if r.cleared_at is not None and r.device_id in position],
           position, I, T, V)
    present = np.zeros(len(position), bool)
    present[I] = True
    few = np.flatnonzero(present)
    if occ is not None and occ.devices.issuperset(device_ids[few].tolist()):
        _peaks(occ.active(), position, I, T, V)
        return
    db.flush()  # what autoflush would do: a clear earlier in this batch is seen
    if len(few) <= 64:  # a life-safety message: its devices; a bulk group: the whole site
        ids = device_ids[few].tolist()
        rows = db.connection().execute(_ACTIVE_OF, {"site": site_id, "ids": ids}).all()
    else:
        rows = fetch_raw(db, _ACTIVE_RAW, (site_id,))  # every bulk group: past SQLAlchemy
    got, missing = [], []
    for rec_id, device_id in rows:
        j = position.get(device_id)
        if j is None or not present[j]:
            continue
        rec = db.identity_map.get(identity_key(AlarmRecord, rec_id))
        (got.append(rec) if rec is not None else missing.append(rec_id))
    if missing:
        got += db.scalars(select(AlarmRecord).where(AlarmRecord.id.in_(missing)))
    _peaks(got, position, I, T, V)


def _peaks(got: list[AlarmRecord], position: dict[int, int], I, T, V) -> None:
    for rec in got:
        mine = (position[rec.device_id] == I) & (ts(rec.raised_at) <= T) & (V == V)
        if rec.cleared_at is not None:
            mine &= ts(rec.cleared_at) >= T
        if mine.any():
            vals = V[mine]
            track_peak(rec, float(vals.min() if rec.kind in ("LO", "LOLO") else vals.max()))


_ACTIVE = select(_OCC.c.id, _OCC.c.device_id).where(
    _OCC.c.site_id == bindparam("site"), _OCC.c.active.is_(True), _OCC.c.device_id.is_not(None))
_ACTIVE_RAW = ("SELECT id, device_id FROM alarm_occurrence WHERE site_id = {p} AND active "
               "AND device_id IS NOT NULL")
_ACTIVE_OF = _ACTIVE.where(_OCC.c.device_id.in_(bindparam("ids", expanding=True)))
