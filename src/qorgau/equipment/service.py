"""Equipment operations: catalogue, installations, heartbeats, compliance."""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib.resources import files as package_files
from typing import Any

from sqlalchemy import and_, case, false, func, literal, or_, select, true
from sqlalchemy.orm import Session

from qorgau.core import audit, files
from qorgau.core.db import utcnow
from qorgau.core.errors import Conflict, RuleViolation
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.equipment.constants import (
    ACT_TYPES,
    EDIT_CATALOGUE,
    FUTURE_SKEW,
    HEARTBEAT,
    HEARTBEAT_WINDOW,
    MAX_PHOTOS,
    PHOTO_TYPES,
    READ,
    READ_COMPLIANCE,
    REGISTER,
)
from qorgau.equipment.exceptions import InstallationNotFound, RequirementNotFound
from qorgau.equipment.models import EquipmentRequirement, Installation
from qorgau.equipment.schemas import InstallationIn, RequirementIn
from qorgau.registry.models import Enterprise, Site

REQ_FIELDS = [
    "code",
    "site_kind",
    "section",
    "division",
    "name_kk",
    "name_ru",
    "name_en",
    "deadline",
    "active",
    "revision",
]


def seed_rows() -> list[dict[str, Any]]:
    raw = json.loads(
        package_files("qorgau.equipment")
        .joinpath("data/requirements.json")
        .read_text(encoding="utf-8")
    )
    return [{**r, "deadline": date.fromisoformat(r["deadline"])} for r in raw["requirements"]]


def list_requirements(*, db: Session, active_only: bool = False) -> list[EquipmentRequirement]:
    stmt = select(EquipmentRequirement).order_by(
        EquipmentRequirement.site_kind, EquipmentRequirement.code
    )
    if active_only:
        stmt = stmt.where(EquipmentRequirement.active)
    return list(db.scalars(stmt))


def _requirement(db: Session, code: str) -> EquipmentRequirement:
    req = db.scalar(select(EquipmentRequirement).where(EquipmentRequirement.code == code))
    if req is None:
        raise RequirementNotFound()
    return req


def create_requirement(*, db: Session, actor: Actor, data: RequirementIn) -> EquipmentRequirement:
    actor.require(EDIT_CATALOGUE)
    if db.scalar(select(EquipmentRequirement.id).where(EquipmentRequirement.code == data.code)):
        raise Conflict(f"requirement {data.code} exists", field="code")
    req = EquipmentRequirement(**data.model_dump(), created_by=actor.label)
    db.add(req)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="equipment.requirement.create",
        object_type="equipment_requirement",
        object_id=req.id,
        after=audit.snapshot(req, REQ_FIELDS),
    )
    db.commit()
    return req


def update_requirement(
    *, db: Session, actor: Actor, code: str, data: RequirementIn
) -> EquipmentRequirement:
    """Edits keep a revision number; the audit entry holds before and after."""
    actor.require(EDIT_CATALOGUE)
    req = _requirement(db, code)
    if data.code != code:
        raise RuleViolation("the code of a requirement cannot change", field="code")
    before = audit.snapshot(req, REQ_FIELDS)
    for key, value in data.model_dump().items():
        setattr(req, key, value)
    req.revision += 1
    audit.record(
        db,
        actor=actor,
        action="equipment.requirement.revise",
        object_type="equipment_requirement",
        object_id=req.id,
        before=before,
        after=audit.snapshot(req, REQ_FIELDS),
    )
    db.commit()
    return req


def applies(req: EquipmentRequirement, site: Site, ent: Enterprise) -> bool:
    return (
        req.site_kind == site.kind
        and req.section in (None, ent.section)
        and (req.division is None or ent.activity_code.startswith(req.division))
    )


def register_installation(*, db: Session, actor: Actor, data: InstallationIn) -> Installation:
    actor.require(REGISTER)
    site = db.get(Site, data.site_id)
    if site is None or not in_scope(site, actor):
        raise RuleViolation("unknown site", field="site_id")
    ent = db.get(Enterprise, site.enterprise_id)
    assert ent is not None
    req = db.scalar(
        select(EquipmentRequirement).where(EquipmentRequirement.code == data.requirement_code)
    )
    if req is None or not applies(req, site, ent):
        raise RuleViolation("this requirement does not apply to the site", field="requirement_code")
    if db.scalar(select(Installation.id).where(Installation.serial_no == data.serial_no)):
        raise Conflict("serial number already registered", field="serial_no")
    inst = Installation(
        site_id=site.id,
        requirement_id=req.id,
        enterprise_id=ent.id,
        region_code=ent.region_code,
        section=ent.section,
        serial_no=data.serial_no,
        model=data.model,
        commissioned_on=data.commissioned_on,
        created_by=actor.label,
    )
    db.add(inst)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="equipment.installation.register",
        object_type="equipment_installation",
        object_id=inst.id,
        after=data.model_dump(),
    )
    db.commit()
    return inst


def get_installation(*, db: Session, actor: Actor, installation_id: int) -> Installation:
    actor.require(READ)
    inst = db.get(Installation, installation_id)
    if inst is None or not in_scope(inst, actor):
        raise InstallationNotFound()
    return inst


def _store(content: bytes, filename: str, types: set[str]) -> dict[str, Any]:
    stored = files.store(content, filename, folder="files/equipment", types=types)
    return stored.as_dict()


def attach_file(
    *, db: Session, actor: Actor, installation_id: int, kind: str, filename: str, content: bytes
) -> Installation:
    """kind = "act" (commissioning act, PDF or image) or "photo" (JPEG/PNG/WebP)."""
    actor.require(REGISTER)
    inst = get_installation(db=db, actor=actor, installation_id=installation_id)
    if kind == "act":
        inst.act_file = _store(content, filename, ACT_TYPES)
    else:
        if len(inst.photos) >= MAX_PHOTOS:
            raise RuleViolation(f"at most {MAX_PHOTOS} photos", field="file")
        inst.photos = [*inst.photos, _store(content, filename, PHOTO_TYPES)]
    audit.record(
        db,
        actor=actor,
        action=f"equipment.installation.{kind}",
        object_type="equipment_installation",
        object_id=inst.id,
        after={"file": inst.act_file if kind == "act" else inst.photos[-1]},
    )
    db.commit()
    return inst


def list_installations(
    *, db: Session, actor: Actor, params: PageParams, enterprise_id: int | None = None
) -> tuple[list[Installation], int]:
    actor.require(READ)
    stmt = scoped(select(Installation), Installation, actor).order_by(Installation.id)
    if enterprise_id is not None:
        stmt = stmt.where(Installation.enterprise_id == enterprise_id)
    return paginate(db, stmt, params)


def is_working(inst: Installation, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        inst.status == "active"
        and inst.last_heartbeat_at is not None
        and inst.last_heartbeat_at >= now - HEARTBEAT_WINDOW
    )


def record_heartbeat(
    *,
    db: Session,
    installation_id: int | None = None,
    serial: str | None = None,
    at: datetime | None = None,
) -> Installation:
    """A device reported (called by the telemetry/alarm domain). Not audited: telemetry volume.

    The stored time only moves forward, so late or replayed heartbeats change nothing.
    """
    now = utcnow()
    at = at or now
    if at > now + FUTURE_SKEW:
        raise RuleViolation("heartbeat time is in the future", field="at")
    if installation_id is not None:
        inst = db.get(Installation, installation_id)
    else:
        inst = db.scalar(select(Installation).where(Installation.serial_no == serial))
    if inst is None:
        raise InstallationNotFound()
    if inst.last_heartbeat_at is None or at > inst.last_heartbeat_at:
        inst.last_heartbeat_at = at
    db.commit()
    return inst


def heartbeat_from_api(
    *,
    db: Session,
    actor: Actor,
    installation_id: int | None,
    serial: str | None,
    at: datetime | None,
) -> Installation:
    """System feeds report for every installation; an employer only for its own."""
    actor.require(HEARTBEAT)
    if actor.role.value == "employer_osh":
        stmt = scoped(select(Installation.id), Installation, actor).where(
            Installation.id == installation_id
            if installation_id
            else Installation.serial_no == serial
        )
        if db.scalar(stmt) is None:
            raise InstallationNotFound()
    return record_heartbeat(db=db, installation_id=installation_id, serial=serial, at=at)


def _required_pairs() -> Any:
    """(site, requirement) pairs that must be equipped, with the site's region and sector."""
    join = and_(
        EquipmentRequirement.site_kind == Site.kind,
        EquipmentRequirement.active,
        or_(
            EquipmentRequirement.section.is_(None),
            EquipmentRequirement.section == Enterprise.section,
        ),
        or_(
            EquipmentRequirement.division.is_(None),
            func.substr(Enterprise.activity_code, 1, 2) == EquipmentRequirement.division,
        ),
    )
    return (
        select(
            Site.id.label("site_id"),
            EquipmentRequirement.id.label("req_id"),
            Enterprise.id.label("eid"),
            Enterprise.region_code.label("region"),
            Enterprise.section.label("section"),
        )
        .select_from(Site)
        .join(Enterprise, Enterprise.id == Site.enterprise_id)
        .join(EquipmentRequirement, join)
    )


def _pair_status(now: datetime) -> Any:
    pairs = _required_pairs().subquery()
    inst = Installation
    base = and_(
        inst.site_id == pairs.c.site_id,
        inst.requirement_id == pairs.c.req_id,
        inst.status == "active",
    )
    installed = select(literal(1)).where(base).exists()
    working = (
        select(literal(1)).where(base, inst.last_heartbeat_at >= now - HEARTBEAT_WINDOW).exists()
    )
    return pairs, installed, working


def _pair_scope(pairs: Any, actor: Actor) -> Any:
    """The registry's scope rule applied to the pairs' region / enterprise columns."""
    reach = actor.reach.value
    if reach == "national":
        return true()
    if reach == "region" and actor.region:
        return pairs.c.region == actor.region
    if reach == "enterprise" and actor.enterprise_id:
        return pairs.c.eid == actor.enterprise_id
    return false()


def compliance(
    *, db: Session, actor: Actor, group_by: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Required items, installed and working (heartbeat within 24 h) per region or sector."""
    actor.require(READ_COMPLIANCE)
    if group_by not in ("region", "section", "enterprise"):
        raise RuleViolation("group_by must be region, section or enterprise", field="group_by")
    pairs, installed, working = _pair_status(now or utcnow())
    key = pairs.c[{"region": "region", "section": "section", "enterprise": "eid"}[group_by]]
    stmt = (
        select(
            key,
            func.count(),
            func.sum(case((installed, 1), else_=0)),
            func.sum(case((working, 1), else_=0)),
        )
        .where(_pair_scope(pairs, actor))
        .group_by(key)
        .order_by(key)
    )
    rows = []
    for k, req, ins, work in db.execute(stmt):
        rows.append(
            {
                "key": str(k),
                "required": req,
                "installed": int(ins or 0),
                "working": int(work or 0),
                "pct": round(100.0 * (work or 0) / req, 1) if req else 100.0,
            }
        )
    return rows


def total_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    req = sum(r["required"] for r in rows)
    work = sum(r["working"] for r in rows)
    return {
        "key": "total",
        "required": req,
        "installed": sum(r["installed"] for r in rows),
        "working": work,
        "pct": round(100.0 * work / req, 1) if req else 100.0,
    }


def missing_by_enterprise(
    *, db: Session, enterprise_ids: list[int] | None = None, now: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Per employer: (required items, items not working), unscoped, for the risk score."""
    pairs, _installed, working = _pair_status(now or utcnow())
    stmt = select(pairs.c.eid, func.count(), func.sum(case((working, 0), else_=1))).group_by(
        pairs.c.eid
    )
    if enterprise_ids is not None:
        stmt = stmt.where(pairs.c.eid.in_(enterprise_ids))
    return {eid: (req, int(bad or 0)) for eid, req, bad in db.execute(stmt)}


def site_status(*, db: Session, actor: Actor, enterprise_id: int) -> list[dict[str, Any]]:
    """Each site of the employer with each requirement and its installations (for its page)."""
    actor.require(READ)
    sites = db.scalars(
        scoped(select(Site), Site, actor)
        .where(Site.enterprise_id == enterprise_id)
        .order_by(Site.id)
    ).all()
    ent = db.get(Enterprise, enterprise_id)
    reqs = list_requirements(db=db, active_only=True)
    insts = db.scalars(
        scoped(select(Installation), Installation, actor).where(
            Installation.enterprise_id == enterprise_id
        )
    ).all()
    out = []
    for site in sites:
        items = []
        for req in reqs:
            if ent is None or not applies(req, site, ent):
                continue
            mine = [i for i in insts if i.site_id == site.id and i.requirement_id == req.id]
            items.append(
                {"req": req, "installations": mine, "working": any(is_working(i) for i in mine)}
            )
        out.append({"site": site, "items": items})
    return out
