"""Hazardous production facilities and technical devices; overdue examinations → violations."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.events import emit
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.inspections.constants import HPF_IMPORT, HPF_WRITE, READ
from qorgau.inspections.exceptions import BatchRejected, RowError
from qorgau.inspections.models import HazardousFacility, TechnicalDevice, Violation
from qorgau.inspections.schemas import DeviceIn, ExaminationIn, FacilityIn
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise


def _enterprise(db: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    ent = db.get(Enterprise, enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise RuleViolation("unknown enterprise", field="enterprise_id")
    return ent


def register_facility(*, db: Session, actor: Actor, data: FacilityIn) -> HazardousFacility:
    actor.require(HPF_WRITE)
    ent = _enterprise(db, actor, data.enterprise_id)
    if db.scalar(select(HazardousFacility.id).where(HazardousFacility.reg_no == data.reg_no)):
        raise Conflict("registration number exists", field="reg_no")
    fac = HazardousFacility(
        **data.model_dump(), region_code=ent.region_code, created_by=actor.label
    )
    db.add(fac)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="hpf.facility.register",
        object_type="hazardous_facility",
        object_id=fac.id,
        after=data.model_dump(),
    )
    db.commit()
    return fac


def register_device(*, db: Session, actor: Actor, data: DeviceIn) -> TechnicalDevice:
    actor.require(HPF_WRITE)
    ent = _enterprise(db, actor, data.enterprise_id)
    if data.facility_id is not None:
        fac = db.get(HazardousFacility, data.facility_id)
        if fac is None or fac.enterprise_id != ent.id:
            raise RuleViolation("facility of another enterprise", field="facility_id")
    if db.scalar(select(TechnicalDevice.id).where(TechnicalDevice.reg_no == data.reg_no)):
        raise Conflict("registration number exists", field="reg_no")
    dev = TechnicalDevice(**data.model_dump(), region_code=ent.region_code, created_by=actor.label)
    db.add(dev)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="hpf.device.register",
        object_type="technical_device",
        object_id=dev.id,
        after=data.model_dump(),
    )
    db.commit()
    return dev


def record_examination(
    *, db: Session, actor: Actor, device_id: int, data: ExaminationIn
) -> TechnicalDevice:
    """A passed technical examination moves the due date and closes the overdue violation."""
    actor.require(HPF_WRITE)
    dev = db.get(TechnicalDevice, device_id)
    if dev is None or not in_scope(dev, actor):
        raise NotFound("device not found")
    before = {"last_exam": dev.last_exam, "exam_due": dev.exam_due}
    dev.last_exam, dev.exam_due = data.examined_on, data.next_due
    db.execute(
        update(Violation)
        .where(
            Violation.device_id == dev.id,
            Violation.source == "overdue_exam",
            Violation.state == "open",
        )
        .values(state="eliminated", closed_on=data.examined_on)
    )
    audit.record(
        db,
        actor=actor,
        action="hpf.device.examined",
        object_type="technical_device",
        object_id=dev.id,
        before=before,
        after=data.model_dump(),
    )
    db.commit()
    return dev


HAZARD_CLASS = {"I": 1, "II": 2, "III": 3, "IV": 4}


def register_facilities(*, db: Session, actor: Actor, rows: list[dict[str, Any]]) -> list[str]:
    """The emergency ministry's HPF register feed: facilities created or updated by their
    registration number, each change audited; the whole delivery or nothing. Returns
    created / updated / unchanged per row. The caller commits, so the feed's receipt lands in
    the same transaction."""
    actor.require(HPF_IMPORT)
    ents = registry.enterprises_by_bin(db=db, actor=actor, bins={r["owner_bin"] for r in rows})
    errors, seen = [], set()
    for i, r in enumerate(rows):
        if r["owner_bin"] not in ents:
            errors.append(RowError(i, "owner_bin", f"no enterprise with BIN {r['owner_bin']}"))
        if r["facility_no"] in seen:
            errors.append(RowError(i, "facility_no", "repeated in this delivery"))
        seen.add(r["facility_no"])
    if errors:
        raise BatchRejected(errors, collection="rows")
    existing = {f.reg_no: f for f in db.scalars(
        select(HazardousFacility).where(HazardousFacility.reg_no.in_(seen)))}
    return [_register_one(db, actor, r, ents[r["owner_bin"]], existing.get(r["facility_no"]))
            for r in rows]


def _register_one(db: Session, actor: Actor, r: dict[str, Any], ent: Any,
                  fac: HazardousFacility | None) -> str:
    values = {"enterprise_id": ent.id, "region_code": ent.region_code, "name": r["name"],
              "kind": r["kind"], "hazard_class": HAZARD_CLASS[r["hazard_class"]],
              "lon": r["lon"], "lat": r["lat"], "registered_on": r["registered_on"]}
    if fac is None:
        fac = HazardousFacility(reg_no=r["facility_no"], created_by=actor.label, **values)
        db.add(fac)
        db.flush()
        audit.record(db, actor=actor, action="hpf.facility.register",
                     object_type="hazardous_facility", object_id=fac.id, after=values)
        return "created"
    before = {k: getattr(fac, k) for k in values}
    if before == values:
        return "unchanged"
    for k, v in values.items():
        setattr(fac, k, v)
    audit.record(db, actor=actor, action="hpf.facility.update", object_type="hazardous_facility",
                 object_id=fac.id, before=before, after=values)
    return "updated"


def list_facilities(
    *, db: Session, actor: Actor, enterprise_id: int | None = None
) -> list[HazardousFacility]:
    actor.require(READ)
    stmt = scoped(select(HazardousFacility), HazardousFacility, actor).order_by(
        HazardousFacility.hazard_class, HazardousFacility.id
    )
    if enterprise_id:
        stmt = stmt.where(HazardousFacility.enterprise_id == enterprise_id)
    return list(db.scalars(stmt.limit(500)))


def list_devices(
    *, db: Session, actor: Actor, overdue_on: date | None = None, enterprise_id: int | None = None
) -> list[TechnicalDevice]:
    actor.require(READ)
    stmt = scoped(select(TechnicalDevice), TechnicalDevice, actor).order_by(
        TechnicalDevice.exam_due
    )
    if overdue_on:
        stmt = stmt.where(TechnicalDevice.exam_due < overdue_on)
    if enterprise_id:
        stmt = stmt.where(TechnicalDevice.enterprise_id == enterprise_id)
    return list(db.scalars(stmt.limit(500)))


def sync_overdue_examinations(*, db: Session, on: date) -> dict[str, Any]:
    """Daily: each device past its examination due date gets one open violation (and event)."""
    open_for = select(Violation.device_id).where(
        Violation.source == "overdue_exam",
        Violation.state == "open",
        Violation.device_id.is_not(None),
    )
    due = db.scalars(
        select(TechnicalDevice).where(
            and_(TechnicalDevice.exam_due < on, TechnicalDevice.id.not_in(open_for))
        )
    ).all()
    for dev in due:
        v = Violation(
            enterprise_id=dev.enterprise_id,
            region_code=dev.region_code,
            source="overdue_exam",
            item_code="I03",
            device_id=dev.id,
            facility_id=dev.facility_id,
            found_on=on,
            norm="Law «On civil protection», Art. 74; industrial-safety rules",
            description=f"{dev.kind} {dev.reg_no}: technical examination due "
            f"{dev.exam_due} is overdue",
        )
        db.add(v)
        db.flush()
        emit(
            db,
            type="hpf.examination.overdue",
            object_type="violation",
            object_id=v.id,
            payload={"device": dev.reg_no, "kind": dev.kind, "due": dev.exam_due.isoformat()},
            region_code=dev.region_code,
            enterprise_id=dev.enterprise_id,
        )
    db.commit()
    return {"opened": len(due)}


def hpf_points(*, db: Session, actor: Actor) -> list[dict[str, Any]]:
    """Facilities with coordinates of their enterprise and overdue counts, for the map layer."""
    actor.require(READ)
    today = date.today()
    overdue = {
        eid
        for eid in db.scalars(
            select(TechnicalDevice.enterprise_id).where(TechnicalDevice.exam_due < today)
        )
    }
    stmt = scoped(
        select(HazardousFacility, Enterprise.lon, Enterprise.lat), HazardousFacility, actor
    ).join(Enterprise, Enterprise.id == HazardousFacility.enterprise_id)
    return [
        {
            "id": f.id,
            "enterprise_id": f.enterprise_id,
            "name": f.name,
            "kind": f.kind,
            "hazard_class": f.hazard_class,
            "lon": lon,
            "lat": lat,
            "overdue": f.enterprise_id in overdue
            or bool(f.expert_exam_due and f.expert_exam_due < today),
        }
        for f, lon, lat in db.execute(stmt.limit(5000))
    ]
