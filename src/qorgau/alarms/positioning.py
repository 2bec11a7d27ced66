"""Personnel positioning and withdrawal: who is in which zone now (from wearable position
readings); on a life-safety alarm the people in the affected zones get the withdraw order on
their devices and are tracked to a safe zone, the count still inside shown live until zero."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms.models import AlarmRecord, Device, Presence, Withdrawal
from qorgau.core import audit, events
from qorgau.core.db import fetch_raw, in_list, insert_flushed, lock_and_refresh, utcnow
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.security import SYSTEM_ACTOR, Actor, in_scope, scoped
from qorgau.registry import service as registry_service
from qorgau.registry.models import Site


def zone_codes(site: Site, kind: str | None = None) -> set[str]:
    """The site's zone codes (of one kind, if given). The registry takes zones as any
    objects: one without a code names no zone, and must not raise in the ingest batch that
    records a life-safety alarm (a KeyError there lost the alarm with the batch)."""
    return {str(z["code"]) for z in site.zones or []
            if z.get("code") is not None and (kind is None or z.get("kind") == kind)}


def safe_zones(site: Site) -> set[str]:
    return zone_codes(site, "safe")


@dataclass
class Moves:
    """What one position reading did to open withdrawals: those whose count inside moved
    (pushed to the console after the commit) and people who walked into an affected zone
    after the order (they get the withdraw command)."""

    moved: list[Withdrawal] = field(default_factory=list)
    entered: list[tuple[Withdrawal, Device, datetime]] = field(default_factory=list)


def update_presence(db: Session, dev: Device, zone: str, at: datetime) -> Moves:
    """Move a wearer; tick off open withdrawals when they reach a safe zone, add them to
    those whose zones they walk into. Only a wearable is a person: a gateway that tags a
    fixed sensor's reading with its zone would have made the sensor someone inside, ordered
    out and never reaching safety (its value is kept; the zone is not a position)."""
    if dev.kind != "wearable":
        return Moves()
    row = db.get(Presence, dev.id)
    current = row is None or at >= row.at  # an older reading is not where they are now
    came_from = None if row is None else row.zone_code
    if row is None:
        row = Presence(device_id=dev.id, site_id=dev.site_id, enterprise_id=dev.enterprise_id,
                       region_code=dev.region_code, zone_code=zone, at=at)
        db.add(row)
    elif current:
        row.zone_code, row.at = zone, at
    safe = zone in safe_zones(db.get(Site, dev.site_id))
    out = Moves()
    if not safe and not current:
        return out
    orders = list(db.scalars(_ORDERS, {"site_id": dev.site_id}))
    live = [w for w in orders if w.completed_at is None]
    for w in live:
        # a safe zone is no refuge from an order for that very zone (gas at the muster point)
        if zone in w.zones:
            if current:
                _enter(db, w, dev, zone, at, out, came_from)
        elif safe:
            _reach_safety(db, w, (dev, zone), at, out)
    if current and not any(zone in w.zones for w in live):
        # a completed order whose alarm is still active: walking in reopens it
        for w in [w for w in orders if w.completed_at is not None and zone in w.zones][-1:]:
            if _counts_in(w, dev, came_from):
                _reopen(db, w, dev, at)
                _enter(db, w, dev, zone, at, out, came_from)
    return out


# a site's open orders, and the completed ones whose life-safety alarm's condition is still
# there (the gas above its limit; not an order the button gave naming some other alarm, a
# NOTIFY_FAILED active for days): someone walking into their zones is ordered out all the same.
# Read locked and afresh (PostgreSQL's row locks, in id order; SQLite's write lock is held by
# the batch's presence row): the batch writes `people` back from this read, and a count by
# hand (`confirm_safe`) committed after an unlocked read was written over
_ORDERS = (select(Withdrawal)
           .outerjoin(AlarmRecord, AlarmRecord.id == Withdrawal.alarm_id)
           .where(Withdrawal.site_id == bindparam("site_id"),
                  or_(Withdrawal.completed_at.is_(None),
                      and_(AlarmRecord.active.is_(True), AlarmRecord.open.is_(True),
                           AlarmRecord.life_safety.is_(True))))
           .order_by(Withdrawal.id)
           .with_for_update(of=Withdrawal)
           .execution_options(populate_existing=True))


def _reopen(db: Session, w: Withdrawal, dev: Device, at: datetime) -> None:
    """An order completed while its alarm is still active: open again for the wearer who
    walked in (audited; `_enter` counts and commands them, reaching safety completes it
    again). Before, the wearer went into the gas without a command."""
    before = {"completed_at": w.completed_at}
    w.completed_at = None
    audit.record(db, actor=SYSTEM_ACTOR, action="alarms.withdrawal.reopened",
                 object_type="withdrawal", object_id=w.id, before=before,
                 after={"device": dev.code, "at": at.isoformat()})


def _reach_safety(db: Session, w: Withdrawal, where: tuple[Device, str], at: datetime,
                  out: Moves) -> None:
    """Tick the wearer off; the order is complete when no one is inside. Both audited: who
    was counted out of a withdrawal, and when, is evidence in an investigation."""
    dev, zone = where
    people = [dict(p) for p in w.people]
    for p in people:
        if p["device_id"] == dev.id and p.get("safe_at") is None:
            p["safe_at"] = at.isoformat()
    w.people = people
    inside = _still_inside(people)
    if inside == w.inside:
        return
    out.moved.append(w)
    before = {"inside": w.inside}
    w.inside = inside
    if w.inside == 0:
        w.completed_at = at
    audit.record(db, actor=SYSTEM_ACTOR, action="alarms.withdrawal.safe",
                 object_type="withdrawal", object_id=w.id, before=before,
                 after={"device": dev.code, "zone": zone, "at": at.isoformat(),
                        "inside": inside, "completed_at": w.completed_at})


def _still_inside(people: list[dict[str, Any]]) -> int:
    return sum(1 for p in people if p.get("safe_at") is None)


def _counts_in(w: Withdrawal, dev: Device, came_from: str | None) -> bool:
    """Whether a reading of the wearable in a zone under the order counts its wearer inside:
    not when counted already; not when counted out by hand and the wearable has not come in
    from outside the order's zones (a lamp left hanging where it was, or dead and back on,
    is not its wearer walking in: counted back in, the order was never done)."""
    mine = next((p for p in w.people if p["device_id"] == dev.id), None)
    if mine is None:
        return True
    if mine.get("safe_at") is None:
        return False
    return not (mine.get("confirmed_by") and came_from in w.zones)


def _enter(db: Session, w: Withdrawal, dev: Device, zone: str, at: datetime,
           out: Moves, came_from: str | None = None) -> None:
    """A wearer in a zone under the order who is not counted inside: counted (a newcomer, or
    someone who went back in after reaching safety) and ordered out."""
    if not _counts_in(w, dev, came_from):
        return
    people = [dict(p) for p in w.people]
    mine = next((p for p in people if p["device_id"] == dev.id), None)
    if mine is None:
        # the ingest runtime's device facts do not carry the wearer: read it (rare)
        worker_id = db.scalar(select(Device.worker_id).where(Device.id == dev.id))
        mine = {"device_id": dev.id, "device": dev.code, "worker_id": worker_id}
        people.append(mine)
    mine.pop("confirmed_by", None)  # counted in by position now: no longer out by hand
    mine.pop("confirmed_reason", None)
    mine.update(zone=zone, safe_at=None, entered_at=at.isoformat())
    w.people = people
    w.inside = _still_inside(people)
    out.moved.append(w)
    out.entered.append((w, dev, at))
    audit.record(db, actor=SYSTEM_ACTOR, action="alarms.withdrawal.entered",
                 object_type="withdrawal", object_id=w.id,
                 after={"device": dev.code, "zone": zone, "inside": w.inside})


def order_entrants(db: Session, entered: list[tuple[Withdrawal, Device, datetime]]
                   ) -> list[int]:
    """The withdraw command for people who walked in after the order, planned like the
    start's: a pending device-channel row (the outbox, deduplicated: a replayed reading
    orders nobody twice), of the withdrawal's alarm — only the device channel, the contacts
    were told when the alarm was raised — or, for an order given without one, of the order
    itself (`dispatch.plan_order`), so the screen names the zone either way. Returns the
    notification ids to deliver."""
    from qorgau.alarms import dispatch, records

    wanted, ids = [], []
    for w, dev, at in entered:
        rec = db.get(AlarmRecord, w.alarm_id) if w.alarm_id else None
        if rec is None:
            ids += dispatch.plan_order(db, w, [dev.code], f"enter@{at.timestamp():.3f}")
            continue
        n = records.notice(rec, f"enter{w.id}@{at.timestamp():.3f}", [dev.code])
        wanted.append((dispatch.Message([n], rec.tier, rec.life_safety), "device", dev.code))
    ids += [i for i in dispatch.dedup(db, wanted) if i is not None] if wanted else []
    return ids


def hub_message(w: Withdrawal) -> dict[str, Any]:
    """The live console's withdrawal event; scope columns for the SSE filter (`live.py`)."""
    return {"type": "withdrawal", "id": w.id, "inside": w.inside, "total": len(w.people),
            "enterprise_id": w.enterprise_id, "region_code": w.region_code}


def _present(db: Session, site_id: int, zones: list[str]) -> list[dict[str, Any]]:
    """Who is in the zones now, with their wearables' codes and workers, as a withdrawal
    lists them: one prepared Core statement on the session's connection (it was two ORM
    queries on the life-safety record's path), after a flush as autoflush would do (the
    batch's position readings count)."""
    db.flush()
    among = f" AND p.zone_code IN ({in_list(len(zones))})" if zones else ""
    rows = fetch_raw(db, _PRESENT.format(among=among, p="{p}"), (site_id, *zones))
    return [{"device_id": device_id, "device": code, "worker_id": worker_id, "zone": zone,
             "safe_at": None} for device_id, zone, code, worker_id in rows]


# on the DBAPI cursor (`db.fetch_raw`): on the life-safety record's path; wearables only
# (a fixed sensor's zone tag is not a person)
_PRESENT = ("SELECT p.device_id, p.zone_code, d.code, d.worker_id FROM alarm_presence p "
            "JOIN alarm_device d ON d.id = p.device_id "
            "WHERE p.site_id = {p} AND d.kind = 'wearable'{among} ORDER BY p.device_id")


def start_withdrawal(db: Session, *, site: Site, zones: list[str], alarm_id: int | None,
                     actor: Actor = SYSTEM_ACTOR, reason: str = "") -> Withdrawal:
    """List people in the zones (all working zones if none given) and open the order, with
    who gave it and why. Returns the row (flushed); the caller commits and dispatches the
    device commands."""
    safe = safe_zones(site)
    known = zone_codes(site)
    bad = [z for z in zones if known and z not in known]
    if bad:
        raise RuleViolation(f"unknown zone(s): {', '.join(bad)}", field="zones")
    # everyone: whoever is not in a safe zone, in a zone the site lists or not (a wearer
    # whose gateway names a zone missing from the site's list is still inside)
    people = [p for p in _present(db, site.id, zones) if p["zone"] not in safe - set(zones)]
    zones = zones or sorted(known - safe)
    w = Withdrawal(site_id=site.id, enterprise_id=site.enterprise_id,
                   region_code=site.region_code, alarm_id=alarm_id, zones=zones, people=people,
                   inside=len(people), started_at=utcnow(), started_by=actor.label,
                   reason=reason, completed_at=utcnow() if not people else None)
    insert_flushed(db, [w])  # one Core INSERT: this is the life-safety record's path
    audit.record(db, actor=actor, action="alarms.withdrawal.start", object_type="withdrawal",
                 object_id=w.id, after={"zones": zones, "people": len(people),
                                        "alarm_id": alarm_id, "reason": reason})
    events.emit(db, type="alarms.withdrawal.started", object_type="withdrawal", object_id=w.id,
                payload={"zones": zones, "people": len(people)},
                region_code=site.region_code, enterprise_id=site.enterprise_id)
    return w


def broadcast(*, db: Session, actor: Actor, site_id: int, zones: list[str],
              alarm_id: int | None = None, reason: str = "") -> Withdrawal:
    """The console's "withdraw people" button, with an alarm or without one (the
    dispatcher's own order): the order (who and why, audited), a pending device command per
    person inside in the outbox — of the alarm, or of the order itself — delivered now, and
    the live count. A reason is recorded when given, never required: an evacuation is not
    held up for want of one."""
    from qorgau.alarms import dispatch, notify, records, sender

    actor.require(C.WITHDRAW)
    site = db.get(Site, site_id)
    if site is None or not in_scope(site, actor):
        raise NotFound("site not found")
    rec = _order_alarm(db, site, alarm_id)
    w = start_withdrawal(db, site=site, zones=zones, alarm_id=alarm_id, actor=actor,
                         reason=reason.strip())
    targets = [p["device"] for p in w.people]
    if rec is not None:
        rows = dispatch.plan(db, [records.notice(rec, f"withdraw{w.id}", targets)],
                             dispatch.Context())
        ids = [r.id for r in rows]
    else:
        ids = dispatch.plan_order(db, w, targets, "start")
    db.commit()
    sender.side_by_side(db, ids)  # every wearer's command at once, not one after the other
    notify.HUB.publish(site.id, hub_message(w))
    return w


def confirm_safe(*, db: Session, actor: Actor, withdrawal_id: int, device_id: int,
                 reason: str, site_id: int | None = None) -> Withdrawal:
    """The dispatcher counts a person out by hand (seen at the shaft station, answered on
    the radio, lamp handed in): a wearable that died, or was left behind, kept its wearer
    inside for good and the order open. The reason is required — on whose word someone was
    counted out is evidence — and the change audited and pushed to the consoles. Another
    tenant's order, or another site's than `site_id` (the console it was given from), is a
    404; one complete, or a device not inside it, a 409."""
    from qorgau.alarms import notify

    actor.require(C.WITHDRAW)
    w = db.get(Withdrawal, withdrawal_id)
    if w is None or not in_scope(w, actor) or site_id not in (None, w.site_id):
        raise NotFound("withdrawal not found")
    lock_and_refresh(db, w)  # the ingest rewrites `people` as positions come in
    people = [dict(p) for p in w.people]
    mine = next((p for p in people if p["device_id"] == device_id and p.get("safe_at") is None),
                None)
    if w.completed_at is not None or mine is None:
        raise Conflict("this person is not inside this withdrawal")
    now = utcnow()
    mine.update(safe_at=now.isoformat(), confirmed_by=actor.label, confirmed_reason=reason)
    before = {"inside": w.inside}
    w.people = people
    w.inside = _still_inside(people)
    w.completed_at = now if w.inside == 0 else None
    audit.record(db, actor=actor, action="alarms.withdrawal.confirmed_safe",
                 object_type="withdrawal", object_id=w.id, before=before,
                 after={"device": mine["device"], "reason": reason, "inside": w.inside,
                        "completed_at": w.completed_at})
    db.commit()
    notify.HUB.publish(w.site_id, hub_message(w))
    return w


def _order_alarm(db: Session, site: Site, alarm_id: int | None) -> AlarmRecord | None:
    """The alarm an order names: one of this site's (the site is in the caller's scope, so
    its alarms are), else a 422 naming `alarm_id` — never another site's alarm on the row."""
    if alarm_id is None:
        return None
    rec = db.get(AlarmRecord, alarm_id)
    if rec is None or rec.site_id != site.id:
        raise RuleViolation("no such alarm at this site", field="alarm_id")
    return rec


def withdrawal_status(*, db: Session, actor: Actor, site_id: int) -> list[dict[str, Any]]:
    """Every open withdrawal of the site (however many) and the latest completed ones, with
    who ordered each and why; another tenant's site is a 404."""
    actor.require(C.READ)
    registry_service.get_site(db=db, actor=actor, site_id=site_id)
    stmt = scoped(select(Withdrawal), Withdrawal, actor).where(Withdrawal.site_id == site_id)
    rows = {w.id: w for w in db.scalars(stmt.where(Withdrawal.completed_at.is_(None)))}
    rows.update((w.id, w) for w in db.scalars(stmt.order_by(Withdrawal.id.desc()).limit(20)))
    return [{"id": w.id, "zones": w.zones, "inside": w.inside, "total": len(w.people),
             "people": w.people, "started_at": w.started_at, "completed_at": w.completed_at,
             "alarm_id": w.alarm_id, "started_by": w.started_by, "reason": w.reason}
            for w in sorted(rows.values(), key=lambda w: -w.id)]


def presence(*, db: Session, actor: Actor, site_id: int) -> dict[str, int]:
    actor.require(C.READ)
    registry_service.get_site(db=db, actor=actor, site_id=site_id)  # 404 outside the scope
    stmt = scoped(select(Presence), Presence, actor).where(
        Presence.site_id == site_id,  # people only (a row a sensor's zone tag once made)
        Presence.device_id.in_(select(Device.id).where(Device.kind == "wearable")))
    out: dict[str, int] = {}
    for p in db.scalars(stmt):
        out[p.zone_code] = out.get(p.zone_code, 0) + 1
    return out
