"""Bulk inbound: validate a delivery row by row, then apply it whole (one transaction) or not at
all. Each feed is a (row schema, apply function) pair; connectors reuse the same parsing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from qorgau.core.db import utcnow
from qorgau.core.security import Actor
from qorgau.integration.constants import integration_settings
from qorgau.integration.schemas import BusinessRegisterRow, EmploymentDeltaRow, RowError
from qorgau.registry import service as registry
from qorgau.registry.schemas import EnterpriseIn


@dataclass
class Applied:
    results: list[str]
    errors: list[RowError]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r] = out.get(r, 0) + 1
        return out


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "row"


def validate_rows(
    model: type[BaseModel], rows: list[dict[str, Any]], *, now: datetime | None = None
) -> tuple[list[Any], list[RowError]]:
    """Parse every row; collect every error with its row index and field."""
    now = now or utcnow()
    skew = timedelta(seconds=integration_settings().clock_skew_seconds)
    parsed: list[Any] = []
    errors: list[RowError] = []
    for idx, raw in enumerate(rows):
        try:
            row = model.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                errors.append(RowError(row=idx, field=_loc(e["loc"]), reason=e["msg"]))
            continue
        changed = getattr(row, "changed_at", None)
        if changed is not None:
            if changed.tzinfo is None:
                errors.append(RowError(row=idx, field="changed_at", reason="timezone required"))
                continue
            if changed > now + skew:
                errors.append(
                    RowError(
                        row=idx,
                        field="changed_at",
                        reason="timestamp is in the future (clock skew)",
                    )
                )
                continue
        parsed.append(row)
    return parsed, errors


def check_sent_at(sent_at: datetime, *, now: datetime | None = None) -> str | None:
    now = now or utcnow()
    if sent_at.tzinfo is None:
        return "sent_at needs a timezone (e.g. Z)"
    skew = integration_settings().clock_skew_seconds
    if abs((sent_at.astimezone(UTC) - now).total_seconds()) > skew:
        return f"sent_at differs from the server clock by more than {skew} s (clock skew)"
    return None


def _employment(
    db: Session, actor: Actor, rows: list[EmploymentDeltaRow], delivery_id: str
) -> Applied:
    deltas = [
        registry.EmploymentDelta(
            op=r.op,
            contract_no=r.contract_no,
            enterprise_bin=r.enterprise_bin,
            iin=r.worker.iin if r.worker else "",
            last_name=r.worker.last_name if r.worker else "",
            first_name=r.worker.first_name if r.worker else "",
            patronymic=r.worker.patronymic if r.worker else "",
            occupation=r.occupation,
            start_date=r.start_date,
            end_date=r.end_date,
            monthly_wage=r.monthly_wage,
        )
        for r in rows
    ]
    out = registry.apply_employment_deltas(
        db=db, actor=actor, deltas=deltas, delivery_id=delivery_id
    )
    return Applied(out.results, [RowError(row=i, field=f, reason=m) for i, f, m in out.problems])


def _business(
    db: Session, actor: Actor, rows: list[BusinessRegisterRow], delivery_id: str
) -> Applied:
    data = [EnterpriseIn.model_validate(r.model_dump(exclude={"changed_at"})) for r in rows]
    out = registry.upsert_enterprises(db=db, actor=actor, rows=data, delivery_id=delivery_id)
    return Applied(out.results, [RowError(row=i, field=f, reason=m) for i, f, m in out.problems])


@dataclass(frozen=True)
class FeedHandler:
    row_model: type[BaseModel]
    apply: Callable[[Session, Actor, list[Any], str], Applied]


HANDLERS: dict[str, FeedHandler] = {
    "employment-contracts": FeedHandler(EmploymentDeltaRow, _employment),
    "business-register": FeedHandler(BusinessRegisterRow, _business),
}
