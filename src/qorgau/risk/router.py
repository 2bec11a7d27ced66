"""Risk REST API (thin: parse, call service, shape)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, Response

from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.errors import RuleViolation
from qorgau.core.openapi import PDF, XLSX, file_responses
from qorgau.risk import actions as action_flow
from qorgau.risk import exports, imports, service
from qorgau.risk.schemas import (
    ActionIn,
    ActionOut,
    ActionStatusIn,
    AssessmentIn,
    AssessmentOut,
    AssessmentPatch,
    ControlIn,
    EvidenceOut,
    FromTemplateIn,
    FromTemplateOut,
    HazardIn,
    HazardOut,
    InstructionIn,
    InstructionOut,
    ReviewIn,
    SettingsIn,
    SettingsOut,
    SignIn,
    VisionZeroIn,
    VisionZeroOut,
)

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])


@router.get("/settings/{enterprise_id}", response_model=SettingsOut)
def get_settings(enterprise_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_settings(db=db, actor=actor, enterprise_id=enterprise_id)


@router.put("/settings/{enterprise_id}", response_model=SettingsOut)
def save_settings(enterprise_id: int, data: SettingsIn, db: DbDep, actor: ActorDep) -> Any:
    return service.save_settings(db=db, actor=actor, enterprise_id=enterprise_id, data=data)


@router.get("/hazards", response_model=list[HazardOut])
def list_hazards(
    db: DbDep, actor: ActorDep, enterprise_id: int | None = None, site_id: int | None = None
) -> Any:
    return service.list_hazards(db=db, actor=actor, enterprise_id=enterprise_id, site_id=site_id)


@router.post("/hazards", response_model=HazardOut, status_code=201)
def create_hazard(data: HazardIn, db: DbDep, actor: ActorDep) -> Any:
    return service.create_hazard(db=db, actor=actor, data=data)


@router.get("/hazards/{hazard_id}", response_model=HazardOut)
def get_hazard(hazard_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_hazard(db=db, actor=actor, hazard_id=hazard_id)


@router.post("/from-template", response_model=FromTemplateOut, status_code=201)
def from_template(data: FromTemplateIn, db: DbDep, actor: ActorDep) -> Any:
    return service.from_template(
        db=db,
        actor=actor,
        enterprise_id=data.enterprise_id,
        site_id=data.site_id,
        sector=data.sector,
    )


@router.get("/assessments", response_model=list[AssessmentOut])
def list_assessments(
    db: DbDep, actor: ActorDep, enterprise_id: int | None = None, history: bool = False
) -> Any:
    return service.list_assessments(
        db=db, actor=actor, enterprise_id=enterprise_id, history=history
    )


@router.post("/assessments", response_model=AssessmentOut, status_code=201)
def create_assessment(data: AssessmentIn, db: DbDep, actor: ActorDep) -> Any:
    return service.create_assessment(db=db, actor=actor, data=data)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut)
def get_assessment(assessment_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_assessment(db=db, actor=actor, assessment_id=assessment_id)


@router.get("/assessments/{assessment_id}/revisions", response_model=list[AssessmentOut])
def revisions(assessment_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.revisions(db=db, actor=actor, assessment_id=assessment_id)


@router.patch("/assessments/{assessment_id}", response_model=AssessmentOut)
def update_assessment(assessment_id: int, data: AssessmentPatch, db: DbDep, actor: ActorDep) -> Any:
    return service.update_assessment(db=db, actor=actor, assessment_id=assessment_id, data=data)


@router.post("/assessments/{assessment_id}/controls", response_model=AssessmentOut)
def add_control(assessment_id: int, data: ControlIn, db: DbDep, actor: ActorDep) -> Any:
    return service.add_control(db=db, actor=actor, assessment_id=assessment_id, data=data)


@router.post("/assessments/{assessment_id}/sign", response_model=AssessmentOut)
def sign(assessment_id: int, data: SignIn, db: DbDep, actor: ActorDep) -> Any:
    return service.sign_assessment(
        db=db, actor=actor, assessment_id=assessment_id, review_due=data.review_due
    )


@router.post("/assessments/{assessment_id}/review", response_model=AssessmentOut, status_code=201)
def review(assessment_id: int, data: ReviewIn, db: DbDep, actor: ActorDep) -> Any:
    return service.review_assessment(
        db=db,
        actor=actor,
        assessment_id=assessment_id,
        trigger=data.trigger.value,
        note=data.note,
    )


@router.get("/actions", response_model=list[ActionOut])
def list_actions(
    db: DbDep,
    actor: ActorDep,
    enterprise_id: int | None = None,
    status: Annotated[str | None, Query(max_length=12)] = None,
    overdue: bool = False,
) -> Any:
    return service.list_actions(
        db=db, actor=actor, enterprise_id=enterprise_id, status=status, overdue=overdue
    )


@router.post("/actions", response_model=ActionOut, status_code=201)
def create_action(data: ActionIn, db: DbDep, actor: ActorDep) -> Any:
    return service.create_action(db=db, actor=actor, data=data)


@router.get("/actions/{action_id}", response_model=ActionOut)
def get_action(action_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_action(db=db, actor=actor, action_id=action_id)


@router.post("/actions/{action_id}/status", response_model=ActionOut)
def set_status(action_id: int, data: ActionStatusIn, db: DbDep, actor: ActorDep) -> Any:
    return service.set_action_status(
        db=db, actor=actor, action_id=action_id, status=data.status.value
    )


@router.post("/actions/{action_id}/evidence", response_model=EvidenceOut, status_code=201)
async def add_evidence(
    action_id: int, db: DbDep, actor: ActorDep, file: Annotated[UploadFile, File()]
) -> Any:
    content = await file.read(action_flow.EVIDENCE_MAX_BYTES + 1)
    return service.add_evidence(
        db=db, actor=actor, action_id=action_id, filename=file.filename or "", content=content
    )


@router.get(
    "/evidence/{evidence_id}",
    response_class=FileResponse,
    responses=file_responses(*sorted(action_flow.EVIDENCE_TYPES)),
)
def get_evidence(evidence_id: int, db: DbDep, actor: ActorDep) -> FileResponse:
    ev = action_flow.get_evidence(db=db, actor=actor, evidence_id=evidence_id)
    return FileResponse(ev.path, media_type=ev.mime, filename=ev.filename)


@router.post("/vision-zero", response_model=VisionZeroOut, status_code=201)
def submit_vision_zero(data: VisionZeroIn, db: DbDep, actor: ActorDep) -> Any:
    return service.submit_vision_zero(db=db, actor=actor, data=data)


@router.get("/vision-zero/{enterprise_id}", response_model=list[VisionZeroOut])
def vision_zero_trend(enterprise_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.vision_zero_trend(db=db, actor=actor, enterprise_id=enterprise_id)


@router.get("/maturity/{enterprise_id}")
def maturity(enterprise_id: int, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return service.maturity(db=db, actor=actor, enterprise_id=enterprise_id)


@router.post("/instructions", response_model=InstructionOut, status_code=201)
def confirm_instruction(data: InstructionIn, db: DbDep, actor: ActorDep) -> Any:
    return service.confirm_instruction(db=db, actor=actor, data=data)


@router.get("/instruction-gap/{enterprise_id}")
def instruction_gap(enterprise_id: int, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return service.instruction_gap(db=db, actor=actor, enterprise_id=enterprise_id)


@router.get("/levels")
def levels(db: DbDep, actor: ActorDep) -> dict[str, str]:
    """Current highest band per enterprise in the caller's scope (map layer)."""
    return {str(k): v for k, v in service.scoped_risk_levels(db=db, actor=actor).items()}


@router.get(
    "/import-template.xlsx", response_class=Response, responses=file_responses(XLSX)
)
def import_template(actor: ActorDep, method: str = "matrix_5x5") -> Response:
    return _xlsx(imports.template_bytes(method), "risk-import-template.xlsx")


@router.post("/import/{enterprise_id}", status_code=201)
async def import_xlsx(
    enterprise_id: int,
    db: DbDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File()],
    site_id: Annotated[int | None, Form()] = None,
) -> dict[str, Any]:
    content = await file.read(imports.MAX_BYTES + 1)
    if len(content) > imports.MAX_BYTES:
        raise RuleViolation("the file is too large", field="file")
    return imports.import_assessment(
        db=db, actor=actor, enterprise_id=enterprise_id, site_id=site_id, content=content
    )


@router.get(
    "/export/{enterprise_id}.xlsx", response_class=Response, responses=file_responses(XLSX)
)
def export_xlsx(enterprise_id: int, db: DbDep, actor: ActorDep, lang: str = "ru") -> Response:
    data = exports.register_xlsx(db=db, actor=actor, enterprise_id=enterprise_id, lang=lang)
    return _xlsx(data, f"risk-register-{enterprise_id}-{lang}.xlsx")


@router.get(
    "/export/{enterprise_id}.pdf", response_class=Response, responses=file_responses(PDF)
)
def export_pdf(enterprise_id: int, db: DbDep, actor: ActorDep, lang: str = "ru") -> Response:
    data = exports.register_pdf(db=db, actor=actor, enterprise_id=enterprise_id, lang=lang)
    return Response(
        data,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{_name(enterprise_id, lang)}.pdf"'},
    )


def _xlsx(data: bytes, name: str) -> Response:
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _name(enterprise_id: int, lang: str) -> str:
    return f"risk-register-{enterprise_id}-{lang}"


# Maturity inputs (hours worked, near misses) and the worker-account link live in their own
# module to keep this one short; they share the /api/v1/risk prefix.
from qorgau.risk.router_inputs import router as _inputs  # noqa: E402

router.include_router(_inputs)
