"""Assessment import from the XLSX template: every row is checked first; any error rejects the
whole file (nothing is written) and the error names the row and the column."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook
from pydantic import ValidationError
from sqlalchemy.orm import Session

import qorgau.risk.register as svc
from qorgau.core.errors import DomainError, RuleViolation
from qorgau.core.security import Actor
from qorgau.risk.constants import ControlLevel, HazardType, Method
from qorgau.risk.schemas import AssessmentIn, ControlIn, HazardIn

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 500
HAZARD_COLS = [
    "hazard_type",
    "description",
    "workplace",
    "occupation",
    "exposed_groups",
    "headcount",
]
SCORE_COLS = {
    Method.MATRIX_5X5.value: ["likelihood", "severity"],
    Method.FINE_KINNEY.value: ["probability", "exposure", "consequence"],
}
TAIL_COLS = ["residual_reason", "controls", "instruction"]


def columns(method: str) -> list[str]:
    scores = SCORE_COLS[method]
    return [*HAZARD_COLS, *scores, *[f"residual_{c}" for c in scores], *TAIL_COLS]


class ImportRejected(DomainError):
    """422 listing every bad row; nothing was written."""

    status_code = 422
    code = "import_rejected"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported", field="file")
        self.errors = errors

    def to_dict(self) -> dict[str, object]:
        return {
            "detail": [
                {
                    "loc": ["body", "file", f"row {e['row']}", e["column"]],
                    "msg": e["msg"],
                    "type": self.code,
                    "row": e["row"],
                    "column": e["column"],
                }
                for e in self.errors
            ]
        }


def template_bytes(method: str) -> bytes:
    if method not in SCORE_COLS:
        raise RuleViolation("unknown method", field="method")
    wb = Workbook()
    ws = wb.active
    ws.title = "assessment"
    ws.append(columns(method))
    example = {
        Method.MATRIX_5X5.value: [4, 5, 2, 5],
        Method.FINE_KINNEY.value: [6, 6, 15, 1, 6, 15],
    }[method]
    ws.append(
        [
            "falls_from_height",
            "Work on scaffolds above 1.8 m",
            "Scaffold, block A",
            "mason",
            "masons",
            12,
            *example,
            "",
            "engineering: Guardrails with toe boards\nppe: Full-body harness",
            "yes",
        ]
    )
    help_ws = wb.create_sheet("help")
    help_ws.append(["hazard_type", ", ".join(h.value for h in HazardType)])
    help_ws.append(
        [
            "controls",
            "one per line, 'level: text'; levels: " + ", ".join(c.value for c in ControlLevel),
        ]
    )
    help_ws.append(["instruction", "yes = administrative and PPE controls require instruction"])
    help_ws.append(["residual_*", "leave empty when residual risk is not assessed yet"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _num(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value.replace(",", ".")) if "." in value or "," in value else int(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _controls(raw: Any, instructed: bool) -> list[ControlIn]:
    out = []
    for line in str(raw or "").splitlines():
        if not line.strip():
            continue
        level, sep, text = line.partition(":")
        if not sep:
            raise ValueError(f"control {line!r} must be written 'level: text'")
        lv = ControlLevel(level.strip().lower())
        needs = instructed and lv in (ControlLevel.ADMINISTRATIVE, ControlLevel.PPE)
        out.append(ControlIn(level=lv, text=text.strip(), requires_instruction=needs))
    return out


def _parse_row(
    values: dict[str, Any], method: str, enterprise_id: int, site_id: int | None, criteria: Any
) -> tuple[HazardIn, dict[str, Any]]:
    hazard = HazardIn(
        enterprise_id=enterprise_id,
        site_id=site_id,
        hazard_type=str(values.get("hazard_type") or "").strip(),
        description=str(values.get("description") or ""),
        workplace=str(values.get("workplace") or ""),
        occupation=str(values.get("occupation") or ""),
        exposed_groups=str(values.get("exposed_groups") or ""),
        headcount=int(_num(values.get("headcount")) or 0),
    )
    names = SCORE_COLS[method]
    initial = {n: _num(values.get(n)) for n in names}
    res = {n: _num(values.get(f"residual_{n}")) for n in names}
    residual = None if all(v in (None, "") for v in res.values()) else res
    reason = str(values.get("residual_reason") or "")
    svc.score(method, initial, residual, reason, criteria)
    instructed = str(values.get("instruction") or "").strip().lower() in (
        "yes",
        "да",
        "иә",
        "1",
        "true",
    )
    return hazard, {
        "initial": initial,
        "residual": residual,
        "residual_reason": reason,
        "controls": _controls(values.get("controls"), instructed),
    }


def _error_column(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return ".".join(str(p) for p in err["loc"]) or "row", err["msg"]
    if isinstance(exc, RuleViolation):
        return (exc.field or "row").replace("initial.", "").replace(
            "residual.", "residual_"
        ), exc.message
    return "row", str(exc)


def read_rows(content: bytes, method: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        ws = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except Exception:
        raise RuleViolation("not an XLSX workbook made from the template", field="file") from None
    rows = ws.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows, [])]
    missing = [c for c in columns(method) if c not in header]
    if missing:
        raise RuleViolation(f"missing columns: {', '.join(missing)}", field="file")
    out = []
    for i, row in enumerate(rows, start=2):
        if row is None or all(v in (None, "") for v in row):
            continue
        out.append((i, dict(zip(header, row, strict=False))))
        if len(out) > MAX_ROWS:
            raise RuleViolation(f"more than {MAX_ROWS} rows", field="file")
    if not out:
        raise RuleViolation("the workbook has no data rows", field="file")
    return out


def import_assessment(
    *, db: Session, actor: Actor, enterprise_id: int, site_id: int | None, content: bytes
) -> dict[str, Any]:
    svc.enterprise_for_write(db, actor, enterprise_id)
    cfg = svc.settings_of(db, enterprise_id)
    criteria = svc.criteria_of(cfg)
    parsed, errors = [], []
    for number, values in read_rows(content, cfg.method):
        try:
            parsed.append(_parse_row(values, cfg.method, enterprise_id, site_id, criteria))
        except (ValidationError, RuleViolation, ValueError) as exc:
            column, msg = _error_column(exc)
            errors.append({"row": number, "column": column, "msg": msg})
    if errors:
        raise ImportRejected(errors)
    try:
        for hazard_in, a in parsed:
            hazard = svc.create_hazard(db=db, actor=actor, data=hazard_in, commit=False)
            svc.create_assessment(
                db=db, actor=actor, commit=False, data=AssessmentIn(hazard_id=hazard.id, **a)
            )
    except Exception:
        db.rollback()
        raise
    db.commit()
    return {"imported": len(parsed), "method": cfg.method}
