"""Insurance pages: the insurer portal (upload, own contracts, own gaps) and the gap list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from qorgau.core.config import get_settings
from qorgau.core.deps import DbDep
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.roles import PERMISSIONS
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.insurance import service
from qorgau.insurance.constants import GAP_KINDS, READ_CONTRACTS, READ_GAPS, WRITE_CONTRACTS
from qorgau.insurance.exceptions import BatchRejected, RowError
from qorgau.insurance.upload import COLUMNS, read_table

router = APIRouter(include_in_schema=False)
register_nav(N_("Insurance"), "/insurance", PERMISSIONS[READ_CONTRACTS], order=60)
register_nav(N_("Coverage gaps"), "/insurance/gaps", PERMISSIONS[READ_GAPS], order=61)


def _portal(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    page: int,
    result: dict[str, object] | None = None,
    status: int = 200,
) -> HTMLResponse:
    params = PageParams(page=page, size=25)
    items, total = service.list_contracts(db=db, actor=actor, params=params)
    ctx = {
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // 25)),
        "can_upload": actor.can(WRITE_CONTRACTS),
        "columns": COLUMNS,
        "gaps": service.gap_summary(db=db, actor=actor) if actor.can(READ_GAPS) else {},
        "kinds": GAP_KINDS,
        "result": result or {},
    }
    return render(request, "insurance/portal.html", ctx, actor=actor, status_code=status)


@router.get("/insurance", response_class=HTMLResponse)
def portal(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    actor.require(READ_CONTRACTS)
    return _portal(request, db, actor, page)


@router.post("/insurance/upload", response_class=HTMLResponse)
async def upload(
    request: Request, db: DbDep, actor: FormActorDep, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    actor.require(WRITE_CONTRACTS)
    content = await file.read(get_settings().max_upload_bytes + 1)
    try:
        if len(content) > get_settings().max_upload_bytes:
            raise BatchRejected([RowError(0, "file", "the file is too large")])
        rows = read_table(file.filename or "", content)
        applied, ref = service.import_contracts(db=db, actor=actor, rows=rows)
    except BatchRejected as exc:
        db.rollback()
        return _portal(request, db, actor, 1, {"errors": exc.errors}, status=422)
    return _portal(request, db, actor, 1, {"applied": applied, "ref": ref})


@router.get("/insurance/gaps", response_class=HTMLResponse)
def gap_list(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    params = PageParams(page=page, size=50)
    kind = kind if kind in GAP_KINDS else None
    items, total = service.list_gaps(db=db, actor=actor, params=params, kind=kind)
    ctx = {
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // 50)),
        "kind": kind or "",
        "kinds": GAP_KINDS,
        "summary": service.gap_summary(db=db, actor=actor),
    }
    return render(request, "insurance/gaps.html", ctx, actor=actor)
