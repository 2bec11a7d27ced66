"""Equipment REST API: catalogue, installations (with act and photos), heartbeats, compliance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from qorgau.core.config import get_settings
from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.pagination import Page, PageParams, page_of
from qorgau.equipment import service
from qorgau.equipment.models import EquipmentRequirement, Installation
from qorgau.equipment.schemas import (
    ComplianceOut,
    ComplianceRow,
    HeartbeatIn,
    InstallationIn,
    InstallationOut,
    RequirementIn,
    RequirementOut,
)

router = APIRouter(prefix="/api/v1/equipment", tags=["equipment"])
PageDep = Annotated[PageParams, Query()]


def _out(inst: Installation) -> InstallationOut:
    out = InstallationOut.model_validate(inst)
    return out.model_copy(
        update={
            "working": service.is_working(inst),
            "photo_count": len(inst.photos),
            "has_act": bool(inst.act_file),
        }
    )


@router.get("/requirements", response_model=list[RequirementOut])
def requirements(db: DbDep, actor: ActorDep) -> list[RequirementOut]:
    return [RequirementOut.model_validate(r) for r in service.list_requirements(db=db)]


@router.post("/requirements", response_model=RequirementOut, status_code=201)
def create_requirement(data: RequirementIn, db: DbDep, actor: ActorDep) -> RequirementOut:
    return RequirementOut.model_validate(service.create_requirement(db=db, actor=actor, data=data))


@router.put("/requirements/{code}", response_model=RequirementOut)
def update_requirement(
    code: str, data: RequirementIn, db: DbDep, actor: ActorDep
) -> RequirementOut:
    req: EquipmentRequirement = service.update_requirement(db=db, actor=actor, code=code, data=data)
    return RequirementOut.model_validate(req)


@router.post("/installations", response_model=InstallationOut, status_code=201)
def register(data: InstallationIn, db: DbDep, actor: ActorDep) -> InstallationOut:
    return _out(service.register_installation(db=db, actor=actor, data=data))


@router.get("/installations", response_model=Page[InstallationOut])
def list_installations(
    db: DbDep, actor: ActorDep, params: PageDep, enterprise_id: int | None = None
) -> Page[InstallationOut]:
    items, total = service.list_installations(
        db=db, actor=actor, params=params, enterprise_id=enterprise_id
    )
    return page_of(items, total, params, _out)


@router.get("/installations/{installation_id}", response_model=InstallationOut)
def get_installation(installation_id: int, db: DbDep, actor: ActorDep) -> InstallationOut:
    return _out(service.get_installation(db=db, actor=actor, installation_id=installation_id))


@router.post("/installations/{installation_id}/files/{kind}", response_model=InstallationOut)
async def upload(
    installation_id: int,
    kind: Annotated[str, "act or photo"],
    db: DbDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File()],
) -> InstallationOut:
    from qorgau.core.errors import RuleViolation

    if kind not in ("act", "photo"):
        raise RuleViolation("kind must be act or photo", field="kind")
    content = await file.read(get_settings().max_upload_bytes + 1)
    inst = service.attach_file(
        db=db,
        actor=actor,
        installation_id=installation_id,
        kind=kind,
        filename=file.filename or "file",
        content=content,
    )
    return _out(inst)


@router.post("/heartbeats", response_model=InstallationOut)
def heartbeat(data: HeartbeatIn, db: DbDep, actor: ActorDep) -> InstallationOut:
    inst = service.heartbeat_from_api(
        db=db, actor=actor, installation_id=data.installation_id, serial=data.serial_no, at=data.at
    )
    return _out(inst)


@router.get("/compliance", response_model=ComplianceOut)
def compliance(
    db: DbDep,
    actor: ActorDep,
    group_by: Annotated[str, Query(pattern="^(region|section)$")] = "region",
) -> ComplianceOut:
    rows = service.compliance(db=db, actor=actor, group_by=group_by)
    deadlines = [r.deadline for r in service.list_requirements(db=db, active_only=True)]
    return ComplianceOut(
        group_by=group_by,
        deadline=max(deadlines) if deadlines else None,
        total=ComplianceRow(**service.total_row(rows)),
        rows=[ComplianceRow(**r) for r in rows],
    )
