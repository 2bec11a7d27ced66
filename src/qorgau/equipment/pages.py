"""Equipment pages: compliance for the industry ministry, the catalogue, an employer's sites."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from qorgau.core import files
from qorgau.core.config import get_settings
from qorgau.core.deps import DbDep
from qorgau.core.errors import DomainError
from qorgau.core.labels import N_
from qorgau.core.roles import PERMISSIONS
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.equipment import service
from qorgau.equipment.constants import (
    ACT_TYPES,
    EDIT_CATALOGUE,
    PHOTO_TYPES,
    READ,
    READ_COMPLIANCE,
    REGISTER,
)
from qorgau.equipment.schemas import InstallationIn, RequirementIn
from qorgau.registry import service as registry
from qorgau.registry.schemas import SITE_KINDS

router = APIRouter(include_in_schema=False)
register_nav(N_("Equipment"), "/equipment", PERMISSIONS[READ], order=70)


def _compliance(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(READ_COMPLIANCE)
    by_region = service.compliance(db=db, actor=actor, group_by="region")
    by_section = service.compliance(db=db, actor=actor, group_by="section")
    reqs = service.list_requirements(db=db, active_only=True)
    deadline = max((r.deadline for r in reqs), default=None)
    ctx = {
        "by_region": by_region,
        "by_section": by_section,
        "total": service.total_row(by_region),
        "deadline": deadline,
        "days_left": (deadline - date.today()).days if deadline else None,
        "regions": {r.iso: r for r in registry.regions(db=db)},
        "sections": {s.code: s for s in registry.activities(db=db, level="section")},
    }
    return render(request, "equipment/compliance.html", ctx, actor=actor)


def _sites(
    request: Request, db: DbDep, actor: PageActorDep, error: str | None = None, status: int = 200
) -> HTMLResponse:
    assert actor.enterprise_id is not None
    ctx = {
        "sites": service.site_status(db=db, actor=actor, enterprise_id=actor.enterprise_id),
        "can_register": actor.can(REGISTER),
        "error": error,
        "today": date.today(),
    }
    return render(request, "equipment/sites.html", ctx, actor=actor, status_code=status)


@router.get("/equipment", response_class=HTMLResponse)
def home(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(READ)
    if actor.enterprise_id is not None:
        return _sites(request, db, actor)
    return _compliance(request, db, actor)


@router.post("/equipment/installations", response_class=HTMLResponse)
async def register(
    request: Request,
    db: DbDep,
    actor: FormActorDep,
    site_id: Annotated[int, Form()],
    requirement_code: Annotated[str, Form(max_length=40)],
    serial_no: Annotated[str, Form(max_length=60)],
    commissioned_on: Annotated[date, Form()],
    act: Annotated[UploadFile, File()],
    photos: Annotated[list[UploadFile] | None, File()] = None,
    model: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    limit = get_settings().max_upload_bytes + 1
    try:
        data = InstallationIn(
            site_id=site_id,
            requirement_code=requirement_code,
            serial_no=serial_no,
            model=model,
            commissioned_on=commissioned_on,
        )
        act_bytes = await act.read(limit)
        photo_files = [
            (p.filename or "photo", await p.read(limit)) for p in photos or [] if p.filename
        ]
        # Check every file's type before writing anything, so a bad photo leaves nothing.
        files.check(act_bytes, act.filename or "act", types=ACT_TYPES, field="act")
        for name, content in photo_files:
            files.check(content, name, types=PHOTO_TYPES, field="photos")
        inst = service.register_installation(db=db, actor=actor, data=data)
        service.attach_file(
            db=db,
            actor=actor,
            installation_id=inst.id,
            kind="act",
            filename=act.filename or "act",
            content=act_bytes,
        )
        for name, content in photo_files:
            service.attach_file(
                db=db,
                actor=actor,
                installation_id=inst.id,
                kind="photo",
                filename=name,
                content=content,
            )
    except ValidationError as exc:
        db.rollback()
        err = exc.errors()[0]
        return _sites(request, db, actor, f"{err['loc'][0]}: {err['msg']}", status=422)
    except DomainError as exc:
        db.rollback()
        return _sites(request, db, actor, f"{exc.field or ''}: {exc.message}", status=422)
    return RedirectResponse("/equipment", status_code=303)


def _catalogue(
    request: Request, db: DbDep, actor: PageActorDep, error: str | None = None, status: int = 200
) -> HTMLResponse:
    ctx = {
        "reqs": service.list_requirements(db=db),
        "can_edit": actor.can(EDIT_CATALOGUE),
        "kinds": SITE_KINDS,
        "error": error,
    }
    return render(request, "equipment/catalogue.html", ctx, actor=actor, status_code=status)


@router.get("/equipment/catalogue", response_class=HTMLResponse)
def catalogue(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(READ)
    return _catalogue(request, db, actor)


@router.post("/equipment/catalogue", response_class=HTMLResponse)
async def save_requirement(request: Request, db: DbDep, actor: FormActorDep) -> Response:
    form = await request.form()
    raw = {
        k: str(form.get(k, "")).strip() or None
        for k in (
            "code",
            "site_kind",
            "section",
            "division",
            "name_kk",
            "name_ru",
            "name_en",
            "deadline",
        )
    }
    raw["active"] = form.get("active") == "on"
    try:
        data = RequirementIn.model_validate(raw)
        exists = any(r.code == data.code for r in service.list_requirements(db=db))
        if exists:
            service.update_requirement(db=db, actor=actor, code=data.code, data=data)
        else:
            service.create_requirement(db=db, actor=actor, data=data)
    except (ValidationError, DomainError) as exc:
        db.rollback()
        msg = (
            f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}"
            if isinstance(exc, ValidationError)
            else exc.message
        )
        status = 403 if isinstance(exc, DomainError) and exc.status_code == 403 else 422
        return _catalogue(request, db, actor, msg, status=status)
    return RedirectResponse("/equipment/catalogue", status_code=303)
