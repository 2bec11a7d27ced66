"""Bulk inbound: validate a delivery row by row, then apply it whole (one transaction) or not at
all. Each feed is a (row schema, apply function) pair; connectors reuse the same parsing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.db import utcnow
from qorgau.core.security import Actor
from qorgau.integration.constants import integration_settings
from qorgau.integration.schemas import BusinessRegisterRow, EmploymentDeltaRow, RowError
from qorgau.registry import service as registry
from qorgau.registry.schemas import EnterpriseIn

_W1 = np.arange(1, 12)
_W2 = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


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


def valid_iins(values: list[Any]) -> np.ndarray:
    """True where a value is a valid IIN by core.identifiers.iin_problem's rules (12 ASCII
    digits, century digit 1-6, a real birth date, check digit), for a whole delivery at once.
    Conservative: anything unusual is False and goes through the row-by-row check instead."""
    n = len(values)
    ok = np.fromiter(
        (isinstance(v, str) and len(v) == 12 and v.isascii() and v.isdigit() for v in values),
        bool,
        n,
    )
    if not n:
        return ok
    joined = "".join(v if good else "0" * 12 for v, good in zip(values, ok, strict=True))
    d = (np.frombuffer(joined.encode(), np.uint8) - 48).reshape(n, 12).astype(np.int64)
    c = d[:, 6]
    ok &= (c >= 1) & (c <= 6)
    year = np.where(c <= 2, 1800, np.where(c <= 4, 1900, 2000)) + d[:, 0] * 10 + d[:, 1]
    month, day = d[:, 2] * 10 + d[:, 3], d[:, 4] * 10 + d[:, 5]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last_day = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= last_day)
    s1, s2 = (d[:, :11] @ _W1) % 11, (d[:, :11] @ _W2) % 11
    ok &= np.where(s1 != 10, s1, np.where(s2 != 10, s2, -1)) == d[:, 11]
    return ok


def _worker_iin(raw: Any) -> Any:
    worker = raw.get("worker") if isinstance(raw, dict) else None
    return worker.get("iin") if isinstance(worker, dict) else None


def validate_rows(
    model: type[BaseModel], rows: list[dict[str, Any]], *, now: datetime | None = None
) -> tuple[list[Any], list[RowError]]:
    """Parse every row; collect every error with its row index and field. Worker IINs are
    checked for the whole delivery at once; a row whose IIN fails that check is validated the
    usual way, so its error reads exactly as from the API's single-record endpoints."""
    now = now or utcnow()
    skew = timedelta(seconds=integration_settings().clock_skew_seconds)
    checked = valid_iins([_worker_iin(r) for r in rows]) if "worker" in model.model_fields else None
    trusted, plain = {"iin_checked": True}, None
    parsed: list[Any] = []
    errors: list[RowError] = []
    for idx, raw in enumerate(rows):
        try:
            ctx = trusted if checked is not None and checked[idx] else plain
            row = model.model_validate(raw, context=ctx)
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


def rows_digest(rows: list[dict[str, Any]]) -> str:
    """SHA-256 of the delivery's rows as received (canonical JSON, sorted keys): the one audit
    entry of an applied delivery carries it, so the audit proves which content was applied
    without storing every row."""
    return hashlib.sha256(audit.canonical(rows)).hexdigest()


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
