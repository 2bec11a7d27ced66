"""Alarm operations: devices and their limits, contacts, alarm occurrences and the
operator actions on them (acknowledge, shelve / unshelve, reset a latched alarm, suppress by
design, take a device's alarms out of service and back, resolve). No HTTP here. Gateway
credentials are in `gateways.py`."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms import routing
from qorgau.alarms.engine import (
    THRESHOLDS,
    Alarm,
    AlarmState,
    InvalidTransition,
    LifeSafetyViolation,
)
from qorgau.alarms.engine.defaults import LIFE_SAFETY_GASES
from qorgau.alarms.exceptions import (
    AlarmNotFound,
    DeviceNotFound,
    LifeSafetyRefused,
    TransitionRefused,
)
from qorgau.alarms.models import (
    AlarmEvent,
    AlarmRecord,
    DeadLetter,
    Device,
    Notification,
)
from qorgau.alarms.schemas import (
    AckIn,
    DeviceIn,
    DevicePatch,
    ReasonIn,
    ResolveIn,
    ShelveIn,
)
from qorgau.core import audit, events
from qorgau.core.db import is_postgresql, lock_and_refresh, utcnow
from qorgau.core.errors import Conflict, RuleViolation
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.equipment.models import Installation
from qorgau.registry import service as registry
from qorgau.registry import service as registry_service
from qorgau.registry.models import Worker

DEVICE_FIELDS = ["code", "kind", "quantity", "zone_code", "limits", "life_safety",
                 "calibrated_on", "calibration_due", "enabled", "latching", "revision",
                 "installation_id", "worker_id"]
SERVICE_FIELDS = ["oos_since", "oos_by", "oos_reason"]  # a device's alarms out of service


def default_limits(site_kind: str, quantity: str) -> dict[str, float]:
    """Engine defaults for the site kind (THRESHOLDS, with sources) plus product defaults."""
    table = THRESHOLDS.get(site_kind) or THRESHOLDS["plant"]
    out = {k: float(v["value"]) for k, v in table.get(quantity, {}).items()}
    out.update(C.EXTRA_DEFAULTS.get(quantity, {}))
    if quantity == "CH4":
        out.setdefault("deadband", 0.05)
    out.setdefault("stale_s", C.DEFAULT_STALE_S)
    return out


def body_site(db: Session, actor: Actor, site_id: int) -> Any:
    """A site named in a request's body: outside the caller's scope it is as unknown."""
    try:
        return registry.get_site(db=db, actor=actor, site_id=site_id)
    except Exception as exc:  # NotFound or Forbidden from the registry: same answer, no data
        raise RuleViolation("unknown site", field="site_id") from exc


def _zone_codes(site: Any) -> set[str]:
    return {str(z.get("code")) for z in (site.zones or [])}


def _check_links(db: Session, site: Any, data: DeviceIn) -> None:
    """The equipment installation a device reports for must be one at its site (every reading
    writes that installation's heartbeat) and its wearer a worker of the site's enterprise:
    another tenant's ids read as unknown, as everywhere."""
    if data.installation_id is not None:
        inst = db.get(Installation, data.installation_id)
        if inst is None or inst.site_id != site.id:
            raise RuleViolation(f"installation {data.installation_id} is not one of this "
                                "site's", field="installation_id")
    if data.worker_id is not None:
        worker = db.get(Worker, data.worker_id)
        if worker is None or worker.enterprise_id != site.enterprise_id:
            raise RuleViolation(f"worker {data.worker_id} does not work for this site's "
                                "enterprise", field="worker_id")
        if data.kind == "wearable":
            _one_wearable(db, site.id, data.worker_id)


def _one_wearable(db: Session, site_id: int, worker_id: int, but: int | None = None) -> None:
    """A withdrawal counts wearables as people: a second enabled one would count its wearer
    twice and keep the count inside above zero with one left hanging in the zone."""
    worn = db.scalar(select(Device.code).where(
        Device.site_id == site_id, Device.worker_id == worker_id, Device.kind == "wearable",
        Device.enabled.is_(True), Device.id != (but or 0)))
    if worn is not None:
        raise Conflict(f"worker {worker_id} already wears {worn!r} at this site: one "
                       "wearable per person", field="worker_id")


def create_device(*, db: Session, actor: Actor, data: DeviceIn) -> Device:
    actor.require(C.CONFIGURE)
    site = body_site(db, actor, data.site_id)
    if data.zone_code and site.zones and data.zone_code not in _zone_codes(site):
        raise RuleViolation(f"zone {data.zone_code!r} is not a zone of this site",
                            field="zone_code")
    _check_links(db, site, data)
    if db.scalar(select(Device.id).where(Device.site_id == site.id, Device.code == data.code)):
        raise Conflict(f"device {data.code!r} already exists at this site")
    limits = (data.limits.model_dump(exclude_none=True) if data.limits
              else default_limits(site.kind, data.quantity))
    dev = Device(site_id=site.id, enterprise_id=site.enterprise_id, region_code=site.region_code,
                 code=data.code, kind=data.kind, quantity=data.quantity, zone_code=data.zone_code,
                 limits=limits, life_safety=data.quantity in LIFE_SAFETY_GASES
                 or data.kind == "wearable", calibrated_on=data.calibrated_on,
                 calibration_due=data.calibration_due, installation_id=data.installation_id,
                 worker_id=data.worker_id, latching=data.latching, created_by=actor.label)
    db.add(dev)
    db.flush()
    audit.record(db, actor=actor, action="alarms.device.create", object_type="alarm_device",
                 object_id=dev.id, after=audit.snapshot(dev, DEVICE_FIELDS))
    db.commit()
    return dev


def get_device(*, db: Session, actor: Actor, device_id: int) -> Device:
    actor.require(C.READ)
    dev = db.get(Device, device_id)
    if dev is None or not in_scope(dev, actor):
        raise DeviceNotFound()
    return dev


def list_devices(*, db: Session, actor: Actor, site_id: int | None = None) -> list[Device]:
    actor.require(C.READ)
    stmt = scoped(select(Device), Device, actor).order_by(Device.site_id, Device.code)
    if site_id is not None:
        stmt = stmt.where(Device.site_id == site_id)
    return list(db.scalars(stmt))


def update_device(*, db: Session, actor: Actor, device_id: int, data: DevicePatch) -> Device:
    """Limits, zone, calibration, enabled: a new revision, audited with the reason."""
    actor.require(C.CONFIGURE)
    dev = get_device(db=db, actor=actor, device_id=device_id)
    before = audit.snapshot(dev, DEVICE_FIELDS)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    if "limits" in changes and data.limits is not None:
        changes["limits"] = data.limits.model_dump(exclude_none=True)
    zone = changes.get("zone_code")
    if zone and zone != dev.zone_code:  # the same rule as on creation
        site = body_site(db, actor, dev.site_id)
        if site.zones and zone not in _zone_codes(site):
            raise RuleViolation(f"zone {zone!r} is not a zone of this site", field="zone_code")
    if changes.get("enabled") and not dev.enabled and dev.kind == "wearable" and dev.worker_id:
        _one_wearable(db, dev.site_id, dev.worker_id, but=dev.id)  # as on creation
    due = changes.get("calibration_due", dev.calibration_due)
    done = changes.get("calibrated_on", dev.calibrated_on)
    if due and done and due < done:
        raise RuleViolation("calibration_due must not be before calibrated_on",
                            field="calibration_due")
    for key, value in changes.items():
        setattr(dev, key, value)
    dev.revision += 1
    audit.record(db, actor=actor, action="alarms.device.revise", object_type="alarm_device",
                 object_id=dev.id, before=before,
                 after={**audit.snapshot(dev, DEVICE_FIELDS), "reason": data.reason})
    events.emit(db, type="alarms.device.revised", object_type="alarm_device", object_id=dev.id,
                payload={"revision": dev.revision}, region_code=dev.region_code,
                enterprise_id=dev.enterprise_id)
    db.commit()
    return dev


# Contacts and escalation live in routing.py; these names stay for existing callers.
add_contact = routing.add_contact
list_contacts = routing.list_contacts


# --- alarm occurrences -----------------------------------------------------------------------

def ts(at: datetime) -> float:
    return at.timestamp()


def dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def machine(rec: AlarmRecord) -> Alarm:
    """The ISA-18.2 state machine loaded with the occurrence's stored state."""
    until = ts(rec.shelved_until) if rec.shelved_until else math.nan
    return Alarm(life_safety=rec.life_safety, latching=bool(rec.latching),
                 state=AlarmState(rec.state), active=rec.active, shelved_until=until)


_DEV = Device.__table__
DEVICE_STATE = select(_DEV.c.latching, _DEV.c.oos_since, _DEV.c.oos_by, _DEV.c.oos_reason)


def _first_raise(db: Session, rec: AlarmRecord, m: Alarm, t: float, row: Any = None) -> None:
    """A raise of an occurrence in normal (a new one) takes its device's configuration: the
    latching of its danger conditions, and out of service, which hides the occurrence before
    the raise (an audited removal: no annunciation, no notification). `row`: those columns if
    the caller has read them in this transaction, else one Core row by primary key."""
    if row is None:
        row = db.connection().execute(DEVICE_STATE.where(_DEV.c.id == rec.device_id)).first()
    if row is None:
        return
    rec.latching = m.latching = bool(row.latching) and rec.kind in C.LATCHING_KINDS
    if row.oos_since is not None:
        m.remove_from_service(row.oos_by or "system", t,
                              reason=f"device out of service: {row.oos_reason}")


def apply(db: Session, rec: AlarmRecord, step: Any, *, trigger_fn: str, device: Any = None,
          events: list[tuple[AlarmRecord, dict[str, Any]]] | None = None, **kw: Any) -> Any:
    """Run one trigger on the state machine, store the new state and the AlarmEvent row of
    every transition it made (a new occurrence of a device out of service: two). `device`:
    the device's state columns for a first raise, when already read (`_first_raise`).
    `events`: the rows go there instead, for the caller to write once its occurrences have
    ids (an ingest batch's, `records.OpenOccurrences.write_events`)."""
    m = machine(rec)
    try:
        if (trigger_fn == "process" and kw.get("active") and rec.device_id is not None
                and rec.state == AlarmState.NORMAL):
            _first_raise(db, rec, m, kw["time"], device)
        tr = getattr(m, trigger_fn)(**kw)
    except LifeSafetyViolation as exc:
        raise LifeSafetyRefused(str(exc), field="reason") from exc
    except InvalidTransition as exc:
        raise TransitionRefused(str(exc)) from exc
    rec.active = m.active
    rec.shelved_until = dt(m.shelved_until) if not math.isnan(m.shelved_until) else None
    rec.state = m.state.value
    rows = [{"enterprise_id": rec.enterprise_id, "region_code": rec.region_code,
             "frm": t.frm.value, "to": t.to.value, "trigger": t.trigger, "actor": t.actor,
             "at": dt(t.time), "reason": t.reason[:300]} for t in m.history]
    if events is None:
        db.add_all([AlarmEvent(alarm=rec, **row) for row in rows])
    else:
        events.extend((rec, row) for row in rows)
    if rec.state == AlarmState.NORMAL and not rec.active:
        rec.open, rec.next_escalation_at = False, None
    return tr


def get_alarm(*, db: Session, actor: Actor, alarm_id: int) -> AlarmRecord:
    actor.require(C.READ)
    rec = db.get(AlarmRecord, alarm_id)
    if rec is None or not in_scope(rec, actor):
        raise AlarmNotFound()
    return rec


def list_alarms(*, db: Session, actor: Actor, site_id: int | None = None,
                state: str | None = None, open_only: bool = False,
                limit: int = 200) -> list[AlarmRecord]:
    actor.require(C.READ)
    stmt = scoped(select(AlarmRecord), AlarmRecord, actor)
    if site_id is not None:
        stmt = stmt.where(AlarmRecord.site_id == site_id)
    if state:
        stmt = stmt.where(AlarmRecord.state == state)
    if open_only:
        stmt = stmt.where(AlarmRecord.open.is_(True))
    stmt = stmt.order_by(AlarmRecord.priority, AlarmRecord.raised_at.desc()).limit(limit)
    return list(db.scalars(stmt))


def alarm_history(*, db: Session, actor: Actor, alarm_id: int) -> list[AlarmEvent]:
    rec = get_alarm(db=db, actor=actor, alarm_id=alarm_id)
    return list(db.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == rec.id)
                           .order_by(AlarmEvent.id)))


# Operator actions lock the occurrence and read it again before the transition
# (`lock_and_refresh`): an ingest batch or the tick that changed it after the read (a clear as
# the operator acknowledged) would otherwise be overwritten with a state derived from the old
# one (acknowledged, inactive and open for good). The audit's head comes after, at the
# commit (`audit.record`), as in every writer.
def _operator(actor: Actor, alarm_id: int, db: Session) -> AlarmRecord:
    actor.require(C.OPERATE)
    return lock_and_refresh(db, get_alarm(db=db, actor=actor, alarm_id=alarm_id))


_OCC = AlarmRecord.__table__


def _commit_action(db: Session, actor: Actor, rec: AlarmRecord, action: str,
                   before: str, extra: dict[str, Any]) -> AlarmRecord:
    audit.record(db, actor=actor, action=f"alarms.alarm.{action}", object_type="alarm",
                 object_id=rec.id, before={"state": before}, after={"state": rec.state, **extra})
    events.emit(db, type=f"alarms.alarm.{action}", object_type="alarm", object_id=rec.id,
                payload={"state": rec.state, **extra}, region_code=rec.region_code,
                enterprise_id=rec.enterprise_id)
    db.commit()
    from qorgau.alarms import notify  # live console update (in-process SSE hub)

    notify.HUB.publish(rec.site_id, {"type": "alarm", "id": rec.id, "state": rec.state})
    return rec


def acknowledge(*, db: Session, actor: Actor, alarm_id: int, data: AckIn) -> AlarmRecord:
    """Mine rescue acknowledges life-safety alarms only (403 on any other in its region)."""
    actor.require(C.ACKNOWLEDGE_LIFE_SAFETY)
    rec = get_alarm(db=db, actor=actor, alarm_id=alarm_id)
    if not rec.life_safety:
        actor.require(C.ACKNOWLEDGE)
    lock_and_refresh(db, rec)
    before, now = rec.state, utcnow()
    apply(db, rec, None, trigger_fn="ack", actor=actor.label, time=ts(now))
    rec.acked_at, rec.acked_by, rec.next_escalation_at = now, actor.label, None
    return _commit_action(db, actor, rec, "ack", before, {"note": data.note})


def shelve(*, db: Session, actor: Actor, alarm_id: int, data: ShelveIn) -> AlarmRecord:
    rec = _operator(actor, alarm_id, db)
    before, now = rec.state, utcnow()
    expiry = now + timedelta(minutes=data.minutes)
    apply(db, rec, None, trigger_fn="shelve", actor=actor.label, time=ts(now),
          expiry=ts(expiry), reason=data.reason)
    rec.next_escalation_at = None
    return _commit_action(db, actor, rec, "shelve", before,
                          {"reason": data.reason, "until": expiry.isoformat()})


def _back_in_view(db: Session, rec: AlarmRecord, now: datetime) -> None:
    """An alarm brought back from hiding while its condition is active is unacknowledged
    again: it escalates from tier 1 from now like a fresh raise (records.shelve_expiry does
    the same); the one who brought it back is the one who sees it, so nobody is told now."""
    if rec.state == AlarmState.UNACK:
        back_to_tier_one(db, rec, now)


def back_to_tier_one(db: Session, rec: AlarmRecord, now: datetime) -> None:
    """An alarm unacknowledged again after it was hidden escalates from tier 1 from now."""
    rec.tier = 1
    rec.next_escalation_at = now + timedelta(seconds=routing.delays(db, rec.site_id)
                                             .escalation[0])


def unshelve(*, db: Session, actor: Actor, alarm_id: int, data: ReasonIn) -> AlarmRecord:
    """Bring a shelved alarm back before its shelf time runs out."""
    rec = _operator(actor, alarm_id, db)
    before, now = rec.state, utcnow()
    apply(db, rec, None, trigger_fn="unshelve", actor=actor.label, time=ts(now),
          reason=data.reason)
    _back_in_view(db, rec, now)
    return _commit_action(db, actor, rec, "unshelve", before, {"reason": data.reason})


def reset(*, db: Session, actor: Actor, alarm_id: int, data: ReasonIn) -> AlarmRecord:
    """Reset a latched alarm whose condition has cleared: it returns to normal (closed)."""
    rec = _operator(actor, alarm_id, db)
    before, now = rec.state, utcnow()
    apply(db, rec, None, trigger_fn="reset", actor=actor.label, time=ts(now),
          reason=data.reason)
    return _commit_action(db, actor, rec, "reset", before, {"reason": data.reason})


def suppress(*, db: Session, actor: Actor, alarm_id: int, data: ReasonIn) -> AlarmRecord:
    """Suppressed by design: a configure-right decision with its reason (the product has no
    plant-state signal to suppress on by rule). The condition's later raises stay hidden
    until unsuppressed; life-safety alarms are refused by the machine."""
    actor.require(C.CONFIGURE)
    rec = lock_and_refresh(db, get_alarm(db=db, actor=actor, alarm_id=alarm_id))
    before, now = rec.state, utcnow()
    apply(db, rec, None, trigger_fn="suppress", actor=actor.label, time=ts(now),
          reason=data.reason)
    rec.next_escalation_at = None
    return _commit_action(db, actor, rec, "suppress", before, {"reason": data.reason})


def unsuppress(*, db: Session, actor: Actor, alarm_id: int, data: ReasonIn) -> AlarmRecord:
    actor.require(C.CONFIGURE)
    rec = lock_and_refresh(db, get_alarm(db=db, actor=actor, alarm_id=alarm_id))
    before, now = rec.state, utcnow()
    apply(db, rec, None, trigger_fn="unsuppress", actor=actor.label, time=ts(now),
          reason=data.reason)
    _back_in_view(db, rec, now)
    return _commit_action(db, actor, rec, "unsuppress", before, {"reason": data.reason})


def _device_open(db: Session, dev: Device) -> list[AlarmRecord]:
    """The device's open occurrences, locked and read under the lock, as `_operator`'s."""
    stmt = (select(AlarmRecord).where(AlarmRecord.device_id == dev.id, AlarmRecord.open.is_(True))
            .order_by(AlarmRecord.id).execution_options(populate_existing=True))
    if is_postgresql(db):
        stmt = stmt.with_for_update()  # row locks in id order, the order a flush takes them
    else:  # SQLite has no row locks: its write lock
        db.execute(update(_OCC).where(_OCC.c.device_id == dev.id, _OCC.c.open.is_(True))
                   .values(id=_OCC.c.id))
    return list(db.scalars(stmt))


def remove_from_service(*, db: Session, actor: Actor, device_id: int,
                        data: ReasonIn) -> Device:
    """Take every alarm of a device out of service (maintenance, calibration), life-safety
    ones included: ISA-18.2's explicit, audited removal. Its open occurrences go out of
    service now, new ones from their first raise; none is annunciated or notified until the
    device is returned. The console and the KPIs show the device while it is out."""
    actor.require(C.CONFIGURE)
    dev = get_device(db=db, actor=actor, device_id=device_id)
    if dev.oos_since is not None:
        raise Conflict("the device's alarms are already out of service")
    now, before = utcnow(), audit.snapshot(dev, SERVICE_FIELDS)
    dev.oos_since, dev.oos_by, dev.oos_reason = now, actor.label[:200], data.reason
    ids = []
    for rec in _device_open(db, dev):
        if rec.state != AlarmState.OUT_OF_SERVICE:
            apply(db, rec, None, trigger_fn="remove_from_service", actor=actor.label,
                  time=ts(now), reason=data.reason)
            rec.next_escalation_at = None
            ids.append(rec.id)
    return _commit_device(db, actor, dev, "out_of_service", (before, data.reason), ids)


def return_to_service(*, db: Session, actor: Actor, device_id: int, data: ReasonIn) -> Device:
    """Return a device's alarms: an active condition is unacknowledged again (escalating
    from now), a cleared one returns to normal."""
    actor.require(C.CONFIGURE)
    dev = get_device(db=db, actor=actor, device_id=device_id)
    if dev.oos_since is None:
        raise Conflict("the device's alarms are in service")
    now, before = utcnow(), audit.snapshot(dev, SERVICE_FIELDS)
    dev.oos_since, dev.oos_by, dev.oos_reason = None, "", ""
    ids = []
    for rec in _device_open(db, dev):
        if rec.state == AlarmState.OUT_OF_SERVICE:
            apply(db, rec, None, trigger_fn="return_to_service", actor=actor.label,
                  time=ts(now), reason=data.reason)
            _back_in_view(db, rec, now)
            ids.append(rec.id)
    return _commit_device(db, actor, dev, "return_to_service", (before, data.reason), ids)


def _commit_device(db: Session, actor: Actor, dev: Device, action: str,
                   why: tuple[dict[str, Any], str], alarm_ids: list[int]) -> Device:
    """Audited with the service state before and after, the reason and the alarms moved."""
    before, reason = why
    audit.record(db, actor=actor, action=f"alarms.device.{action}", object_type="alarm_device",
                 object_id=dev.id, before=before,
                 after={**audit.snapshot(dev, SERVICE_FIELDS), "reason": reason,
                        "alarms": alarm_ids})
    events.emit(db, type=f"alarms.device.{action}", object_type="alarm_device",
                object_id=dev.id, payload={"alarms": alarm_ids}, region_code=dev.region_code,
                enterprise_id=dev.enterprise_id)
    db.commit()
    from qorgau.alarms import notify  # live console update (in-process SSE hub)

    notify.HUB.publish(dev.site_id, {"type": "device", "id": dev.id, "service": action})
    return dev


def resolve(*, db: Session, actor: Actor, alarm_id: int, data: ResolveIn) -> AlarmRecord:
    """Close out an occurrence with a reason (real / false / test / dispatched)."""
    rec = _operator(actor, alarm_id, db)
    if rec.resolution is not None:
        raise Conflict("alarm already resolved")
    if rec.state in (AlarmState.UNACK, AlarmState.RTN_UNACK):
        raise RuleViolation("acknowledge the alarm before resolving it", field="resolution")
    before = rec.state
    rec.resolution, rec.resolved_at = data.resolution, utcnow()
    if rec.state == AlarmState.LATCHED and not rec.active:
        apply(db, rec, None, trigger_fn="reset", actor=actor.label, time=ts(rec.resolved_at))
    return _commit_action(db, actor, rec, "resolve", before,
                          {"resolution": data.resolution, "note": data.note})


def ingest_errors(*, db: Session, actor: Actor, site_id: int) -> list[dict[str, Any]]:
    """Rejected readings per device and reason (the console's ingest-errors panel)."""
    actor.require(C.READ)
    registry_service.get_site(db=db, actor=actor, site_id=site_id)  # 404 outside the scope
    stmt = scoped(select(DeadLetter.device_code, DeadLetter.reason, func.count(),
                         func.max(DeadLetter.received_at)), DeadLetter, actor)
    stmt = stmt.where(DeadLetter.site_id == site_id).group_by(DeadLetter.device_code,
                                                              DeadLetter.reason)
    return [{"device": d, "reason": r, "count": n, "last": last}
            for d, r, n, last in db.execute(stmt.order_by(func.count().desc()).limit(100))]


def notifications(*, db: Session, actor: Actor, alarm_id: int) -> list[Notification]:
    rec = get_alarm(db=db, actor=actor, alarm_id=alarm_id)
    return list(db.scalars(select(Notification).where(Notification.alarm_id == rec.id)
                           .order_by(Notification.id)))


def notification_rows(*, db: Session, actor: Actor, alarm_id: int,
                      lang: str | None = None) -> list[dict[str, Any]]:
    """The alarm's notifications as the API and its page show them: `error` as the row holds
    it, and for a held row why (`reason` in `lang`, the flood's start, its count). A reader
    without alarms.contacts.read (mine rescue) sees sms/email/webhook targets masked, in the
    texts too (`masking`); wearables and the in-app address stay as they are."""
    # flood here: dispatch imports records, which imports this
    from qorgau.alarms import flood, masking

    rec = get_alarm(db=db, actor=actor, alarm_id=alarm_id)
    rows = notifications(db=db, actor=actor, alarm_id=rec.id)
    why = flood.held_reasons(db, rec.site_id, rows, lang)
    mask = None if actor.can(C.READ_CONTACTS) else masking.Masker(
        [(n.channel, n.target) for n in rows] + masking.site_addresses(db, rec.site_id)
        + masking.named_in(rec.detail))
    out = []
    for n in rows:
        held = why.get(n.id, {})
        target, error = n.target, n.error
        if mask is not None:  # shown values only: the row is never changed
            target, error = mask.target(n.channel, target), mask.text(error)
        out.append({"id": n.id, "channel": n.channel, "target": target, "tier": n.tier,
                    "status": n.status, "attempts": n.attempts, "at": n.at, "error": error,
                    "reason": held.get("text"), "flood_since": held.get("flood_since"),
                    "alarms_in_10_min": held.get("alarms_in_10_min")})
    return out
