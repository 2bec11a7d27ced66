"""Incidents REST API: accidents, deadlines, investigation, acts, anonymous hazard reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.openapi import P7S, PDF, file_responses
from qorgau.core.pagination import Page, PageParams, page_of
from qorgau.incidents import acts, hazards, investigation, service
from qorgau.incidents.constants import ALLOWED_MIME
from qorgau.incidents.deadlines import is_overdue
from qorgau.incidents.schemas import (
    AccidentIn,
    AccidentOut,
    AccidentRevise,
    ActionIn,
    ActionOut,
    ActOut,
    AttachmentOut,
    CommissionIn,
    DeadlineOut,
    ExtensionIn,
    FindingsIn,
    HazardOut,
    HazardStatusIn,
    HazardStatusOut,
    InvestigationOut,
    NotificationOut,
    RevisionOut,
    SignIn,
    VerifyOut,
)

router = APIRouter(prefix="/api/v1", tags=["incidents"])
PageDep = Annotated[PageParams, Query()]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]


@router.post("/accidents", response_model=AccidentOut, status_code=201)
def report_accident(
    data: AccidentIn, db: DbDep, actor: ActorDep, idempotency_key: IdemKey = None
) -> Response:
    """Report once. Repeating with the same Idempotency-Key and body returns the same record
    (200); the same key with another body is 409."""
    accident, created = service.report_accident(
        db=db, actor=actor, data=data, idempotency_key=idempotency_key
    )
    body = AccidentOut.model_validate(accident).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200)


@router.get("/accidents", response_model=Page[AccidentOut])
def list_accidents(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    region: Annotated[str | None, Query(pattern=r"^KZ-\d{2}$")] = None,
    enterprise_id: int | None = None,
    severity: Annotated[str | None, Query(pattern="^(minor|severe|fatal)$")] = None,
    late: bool | None = None,
) -> Page[AccidentOut]:
    items, total = service.list_accidents(
        db=db,
        actor=actor,
        params=params,
        region=region,
        enterprise_id=enterprise_id,
        severity=severity,
        late=late,
    )
    return page_of(items, total, params, AccidentOut.model_validate)


@router.get("/accidents/{accident_id}", response_model=AccidentOut)
def get_accident(accident_id: int, db: DbDep, actor: ActorDep) -> AccidentOut:
    return AccidentOut.model_validate(
        service.get_accident(db=db, actor=actor, accident_id=accident_id)
    )


@router.patch("/accidents/{accident_id}", response_model=AccidentOut)
def revise_accident(
    accident_id: int, data: AccidentRevise, db: DbDep, actor: ActorDep
) -> AccidentOut:
    """A correction after submission: stored as a new revision with the reason."""
    row = service.revise_accident(db=db, actor=actor, accident_id=accident_id, data=data)
    return AccidentOut.model_validate(row)


@router.get("/accidents/{accident_id}/history", response_model=list[RevisionOut])
def history(accident_id: int, db: DbDep, actor: ActorDep) -> list[RevisionOut]:
    rows = service.history(db=db, actor=actor, accident_id=accident_id)
    return [RevisionOut.model_validate(r) for r in rows]


@router.post("/accidents/{accident_id}/attachments", response_model=AttachmentOut, status_code=201)
async def add_attachment(
    accident_id: int, db: DbDep, actor: ActorDep, file: Annotated[UploadFile, File()]
) -> AttachmentOut:
    content = await file.read()
    att = service.add_attachment(
        db=db,
        actor=actor,
        accident_id=accident_id,
        filename=file.filename or "file",
        content=content,
    )
    return AttachmentOut.model_validate(att)


@router.get("/accidents/{accident_id}/attachments", response_model=list[AttachmentOut])
def list_attachments(accident_id: int, db: DbDep, actor: ActorDep) -> list[AttachmentOut]:
    rows = service.attachments(db=db, actor=actor, accident_id=accident_id)
    return [AttachmentOut.model_validate(a) for a in rows]


@router.get(
    "/attachments/{attachment_id}/content",
    response_class=Response,
    responses=file_responses(*sorted(ALLOWED_MIME)),
)
def attachment_content(attachment_id: int, db: DbDep, actor: ActorDep) -> Response:
    att = service.get_attachment(db=db, actor=actor, attachment_id=attachment_id)
    return Response(
        service.attachment_bytes(att),
        media_type=att.mime,
        headers={"Content-Disposition": f'attachment; filename="{att.filename}"'},
    )


@router.get("/accidents/{accident_id}/notifications", response_model=list[NotificationOut])
def notifications(accident_id: int, db: DbDep, actor: ActorDep) -> list[NotificationOut]:
    rows = service.notifications(db=db, actor=actor, accident_id=accident_id)
    return [NotificationOut.model_validate(n) for n in rows]


def _deadline_out(row: object) -> DeadlineOut:
    out = DeadlineOut.model_validate(row)
    out.overdue = is_overdue(row)  # type: ignore[arg-type]
    return out


@router.get("/accidents/{accident_id}/deadlines", response_model=list[DeadlineOut])
def accident_deadlines(accident_id: int, db: DbDep, actor: ActorDep) -> list[DeadlineOut]:
    rows = service.accident_deadlines(db=db, actor=actor, accident_id=accident_id)
    return [_deadline_out(r) for r in rows]


@router.get("/deadlines/overdue", response_model=Page[DeadlineOut])
def overdue(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    inspector_id: int | None = None,
    enterprise_id: int | None = None,
) -> Page[DeadlineOut]:
    """Overdue or late steps, for one inspector or one enterprise (within the caller's scope)."""
    items, total = service.overdue(
        db=db, actor=actor, params=params, inspector_id=inspector_id, enterprise_id=enterprise_id
    )
    return page_of(items, total, params, _deadline_out)


@router.get("/accidents/{accident_id}/investigation", response_model=InvestigationOut)
def get_investigation(accident_id: int, db: DbDep, actor: ActorDep) -> InvestigationOut:
    inv = investigation.get_investigation(db=db, actor=actor, accident_id=accident_id)
    return InvestigationOut.model_validate(inv)


@router.post("/accidents/{accident_id}/investigation/commission", response_model=InvestigationOut)
def form_commission(
    accident_id: int, data: CommissionIn, db: DbDep, actor: ActorDep
) -> InvestigationOut:
    inv = investigation.form_commission(db=db, actor=actor, accident_id=accident_id, data=data)
    return InvestigationOut.model_validate(inv)


@router.post("/accidents/{accident_id}/investigation/extension", response_model=InvestigationOut)
def extend(accident_id: int, data: ExtensionIn, db: DbDep, actor: ActorDep) -> InvestigationOut:
    inv = investigation.extend(db=db, actor=actor, accident_id=accident_id, data=data)
    return InvestigationOut.model_validate(inv)


@router.post("/accidents/{accident_id}/investigation/findings", response_model=InvestigationOut)
def findings(accident_id: int, data: FindingsIn, db: DbDep, actor: ActorDep) -> InvestigationOut:
    """Findings, coded causes and the fault split (must total 100). Again = a new revision."""
    inv = investigation.record_findings(db=db, actor=actor, accident_id=accident_id, data=data)
    return InvestigationOut.model_validate(inv)


@router.get("/accidents/{accident_id}/actions", response_model=list[ActionOut])
def list_actions(accident_id: int, db: DbDep, actor: ActorDep) -> list[ActionOut]:
    rows = investigation.actions(db=db, actor=actor, accident_id=accident_id)
    return [ActionOut.model_validate(r) for r in rows]


@router.post("/accidents/{accident_id}/actions", response_model=ActionOut, status_code=201)
def add_action(accident_id: int, data: ActionIn, db: DbDep, actor: ActorDep) -> ActionOut:
    row = investigation.add_action(db=db, actor=actor, accident_id=accident_id, data=data)
    return ActionOut.model_validate(row)


@router.post("/accidents/{accident_id}/actions/{action_id}/done", response_model=ActionOut)
def complete_action(accident_id: int, action_id: int, db: DbDep, actor: ActorDep) -> ActionOut:
    row = investigation.complete_action(
        db=db, actor=actor, accident_id=accident_id, action_id=action_id
    )
    return ActionOut.model_validate(row)


@router.post("/accidents/{accident_id}/acts", response_model=list[ActOut], status_code=201)
def sign_act(accident_id: int, data: SignIn, db: DbDep, actor: ActorDep) -> list[ActOut]:
    """Generate Form N-1 (kk, ru) and sign it; after revised findings this is a new revision."""
    rows = acts.sign_act(db=db, actor=actor, accident_id=accident_id, reason=data.reason)
    return [ActOut.model_validate(r) for r in rows]


@router.get("/accidents/{accident_id}/acts", response_model=list[ActOut])
def list_acts(accident_id: int, db: DbDep, actor: ActorDep) -> list[ActOut]:
    return [
        ActOut.model_validate(r)
        for r in acts.list_acts(db=db, actor=actor, accident_id=accident_id)
    ]


@router.post("/accidents/{accident_id}/register", response_model=AccidentOut)
def register(accident_id: int, db: DbDep, actor: ActorDep) -> AccidentOut:
    return AccidentOut.model_validate(
        acts.register_act(db=db, actor=actor, accident_id=accident_id)
    )


@router.get("/acts/{act_id}/pdf", response_class=Response, responses=file_responses(PDF))
def act_pdf(act_id: int, db: DbDep, actor: ActorDep) -> Response:
    act, pdf = acts.act_pdf(db=db, actor=actor, act_id=act_id)
    name = f"N1-{act.accident_id}-r{act.revision}-{act.lang}.pdf"
    return Response(
        pdf,
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get(
    "/acts/{act_id}/signature", response_class=Response, responses=file_responses(P7S)
)
def act_signature(act_id: int, db: DbDep, actor: ActorDep) -> Response:
    """The detached CMS signature (.p7s) over the PDF."""
    act = acts.get_act(db=db, actor=actor, act_id=act_id)
    name = f"N1-{act.accident_id}-r{act.revision}-{act.lang}.pdf.p7s"
    return Response(
        act.signature,
        media_type=P7S,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/acts/{act_id}/verify", response_model=VerifyOut)
def verify_act(act_id: int, db: DbDep, actor: ActorDep) -> VerifyOut:
    result = acts.verify_act(db=db, actor=actor, act_id=act_id)
    return VerifyOut(act_id=act_id, valid=result.valid, reason=result.reason, signer=result.signer)


@router.post("/hazards/upload", response_model=HazardStatusOut, status_code=201)
async def submit_hazard(
    request: Request,
    db: DbDep,
    bin: Annotated[str, Form(min_length=12, max_length=12)],
    kind: Annotated[str, Form(pattern="^(hazard|near_miss)$")],
    description: Annotated[str, Form(min_length=10, max_length=5000)],
    location: Annotated[str, Form(max_length=300)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> HazardStatusOut:
    """Anonymous: no login; keep the returned code to check the status later."""
    content = await photo.read() if photo is not None else b""
    report = hazards.submit_hazard(
        db=db,
        client=request.client.host if request.client else "?",
        bin_=bin,
        kind=kind,
        description=description,
        location=location,
        photo=(photo.filename or "photo", content) if content else None,
    )
    return HazardStatusOut.model_validate(report, from_attributes=True)


@router.get("/hazards/status/{code}", response_model=HazardStatusOut)
def hazard_status(code: Annotated[str, Path(max_length=20)], db: DbDep) -> HazardStatusOut:
    report = hazards.hazard_status(db=db, code=code)
    return HazardStatusOut.model_validate(report, from_attributes=True)


@router.get("/hazards", response_model=Page[HazardOut])
def list_hazards(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    status: Annotated[str | None, Query(pattern="^(new|acknowledged|resolved)$")] = None,
) -> Page[HazardOut]:
    items, total = hazards.list_hazards(db=db, actor=actor, params=params, status=status)
    return page_of(items, total, params, HazardOut.model_validate)


@router.post("/hazards/{hazard_id}/status", response_model=HazardOut)
def set_hazard_status(
    hazard_id: int, data: HazardStatusIn, db: DbDep, actor: ActorDep
) -> HazardOut:
    row = hazards.set_status(
        db=db, actor=actor, hazard_id=hazard_id, status=data.status, note=data.note
    )
    return HazardOut.model_validate(row)
