"""Indicators REST API: summary, tables by dimension, year-on-year, regions for the map,
exports (CSV, XLSX, ILOSTAT-shaped SDG 8.8.1, ESAW-shaped cases)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.errors import RuleViolation
from qorgau.core.openapi import CSV, XLSX, file_responses
from qorgau.indicators import export, service
from qorgau.indicators.constants import DIMENSIONS
from qorgau.indicators.schemas import FilterParams

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])
FilterDep = Annotated[FilterParams, Query()]
ByDep = Annotated[str, Query(pattern="^(" + "|".join(DIMENSIONS) + ")$")]


@router.get("/summary")
def summary(db: DbDep, actor: ActorDep, q: FilterDep) -> dict[str, Any]:
    """KPI figures with rates per 1,000 / 100,000 workers, exact 95 % intervals and YoY."""
    return service.summary(db=db, actor=actor, f=q.filters())


@router.get("/table")
def table(db: DbDep, actor: ActorDep, q: FilterDep, by: ByDep = "region") -> dict[str, Any]:
    return service.table(db=db, actor=actor, f=q.filters(), by=by)


@router.get("/yoy")
def yoy(db: DbDep, actor: ActorDep, q: FilterDep, on: date | None = None) -> dict[str, Any]:
    """Same-period change: 1 January–`on` against the same dates a year earlier."""
    return service.year_on_year(db=db, actor=actor, on=on or date.today(), f=q.filters())


@router.get("/regions")
def regions(db: DbDep, actor: ActorDep, q: FilterDep) -> list[dict[str, Any]]:
    """Per-region counts and rates (for the choropleth), keyed by ISO 3166-2 code."""
    return service.regions_for_map(db=db, actor=actor, f=q.filters())


def _download(body: bytes, media: str, name: str) -> Response:
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/export.csv", response_class=Response, responses=file_responses(CSV))
def export_csv(db: DbDep, actor: ActorDep, q: FilterDep, by: ByDep = "region") -> Response:
    rows = export.table_rows(db=db, actor=actor, f=q.filters(), by=by)
    return _download(export.to_csv(rows), f"{CSV}; charset=utf-8", f"injuries-by-{by}.csv")


@router.get("/export.xlsx", response_class=Response, responses=file_responses(XLSX))
def export_xlsx(db: DbDep, actor: ActorDep, q: FilterDep, by: ByDep = "region") -> Response:
    rows = export.table_rows(db=db, actor=actor, f=q.filters(), by=by)
    return _download(export.to_xlsx(rows, f"by {by}"), XLSX, f"injuries-by-{by}.xlsx")


@router.get("/ilostat.csv", response_class=Response, responses=file_responses(CSV))
def ilostat(
    db: DbDep,
    actor: ActorDep,
    from_year: Annotated[int | None, Query(ge=2018, le=2100)] = None,
    to_year: Annotated[int | None, Query(ge=2018, le=2100)] = None,
) -> Response:
    """SDG 8.8.1 by ISIC section in ILOSTAT's bulk-upload shape (default: last year)."""
    last = date.today().year - 1
    from_year, to_year = from_year or to_year or last, to_year or from_year or last
    if to_year < from_year or to_year - from_year > 20:
        raise RuleViolation("to_year must be within 20 years after from_year", field="to_year")
    rows = export.ilostat_rows(db=db, actor=actor, years=range(from_year, to_year + 1))
    return _download(export.to_csv(rows), f"{CSV}; charset=utf-8", "ilostat-sdg-8-8-1.csv")


@router.get("/esaw.csv", response_class=Response, responses=file_responses(CSV))
def esaw(db: DbDep, actor: ActorDep, q: FilterDep) -> Response:
    """One row per victim with ESAW Phase III variables."""
    rows = export.esaw_rows(db=db, actor=actor, f=q.filters())
    return _download(export.to_csv(rows), f"{CSV}; charset=utf-8", "esaw-cases.csv")
