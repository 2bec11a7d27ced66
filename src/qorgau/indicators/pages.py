"""National dashboard: KPI tiles, trend, regions, causes, sectors, drill-down
national → region → enterprise → accident, filters and exports. Each role sees its slice."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from qorgau.core.deps import DbDep
from qorgau.core.errors import RuleViolation
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.roles import PERMISSIONS
from qorgau.core.web import PageActorDep, register_nav, render
from qorgau.incidents import service as incidents
from qorgau.incidents.constants import SEVERITY_LABELS, STATE_LABELS
from qorgau.indicators import service
from qorgau.indicators.constants import READ
from qorgau.indicators.schemas import FilterParams
from qorgau.registry import service as registry

router = APIRouter(include_in_schema=False)
register_nav(N_("Injury dashboard"), "/indicators", PERMISSIONS[READ], order=35)


def _params(**raw: Any) -> FilterParams:
    clean = {k: v for k, v in raw.items() if v not in (None, "")}
    try:
        return FilterParams.model_validate(clean)
    except Exception as exc:
        raise RuleViolation(f"invalid filter: {exc}", field="filters") from None


@router.get("/indicators", response_class=HTMLResponse)
def dashboard(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
    region: Annotated[str | None, Query(max_length=5)] = None,
    section: Annotated[str | None, Query(max_length=1)] = None,
    severity: Annotated[str | None, Query(max_length=6)] = None,
    enterprise_id: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    q = _params(
        start=start,
        end=end,
        region=region,
        section=section,
        severity=severity,
        enterprise_id=enterprise_id,
    )
    f = q.filters()
    query = {k: v for k, v in q.model_dump(mode="json").items() if v is not None}
    query.update(start=f.start.isoformat(), end=f.end.isoformat())
    level = "enterprise" if f.enterprise_id else "region" if f.region else "national"
    ctx: dict[str, Any] = {
        "f": f,
        "level": level,
        "qs": urlencode(query),
        "query": query,
        "summary": service.summary(db=db, actor=actor, f=f),
        "regions": service.table(db=db, actor=actor, f=f, by="region")["rows"],
        "causes": service.table(db=db, actor=actor, f=f, by="cause")["rows"][:8],
        "sections": service.table(db=db, actor=actor, f=f, by="section")["rows"],
        "all_regions": registry.regions(db=db),
        "all_sections": registry.activities(db=db, level="section"),
        "SEV": SEVERITY_LABELS,
        "STATE": STATE_LABELS,
        "today": date.today(),
        "drill": drill,
    }
    if level == "region":
        ctx["enterprises"] = service.table(db=db, actor=actor, f=f, by="enterprise", limit=50)[
            "rows"
        ]
    if level == "enterprise":
        items, _ = incidents.list_accidents(
            db=db, actor=actor, params=PageParams(page=1, size=100), enterprise_id=f.enterprise_id
        )
        ctx["accidents"] = [a for a in items if f.start <= a.occurred_at.date() <= f.end]
    return render(request, "indicators/dashboard.html", ctx, actor=actor)


def drill(query: dict[str, Any], **change: Any) -> str:
    merged = {**query, **change}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})
