"""Map pages: the Digital Map of Enterprises and its read-only embeddable view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from qorgau.core.config import get_settings
from qorgau.core.deps import DbDep
from qorgau.core.i18n import localized_name
from qorgau.core.labels import N_
from qorgau.core.roles import PERMISSIONS
from qorgau.core.web import OptionalPageActorDep, PageActorDep, register_nav, render
from qorgau.geo import choropleth, service
from qorgau.geo.constants import MAP_CHOROPLETH, MAP_READ
from qorgau.geo.filters import REGION_CODES, RISK_BANDS, SIZE_BANDS
from qorgau.geo.router import ATTRIBUTION_FILE
from qorgau.registry import service as registry

router = APIRouter(include_in_schema=False)
register_nav(N_("Map"), "/map", PERMISSIONS[MAP_READ], order=15)


def _common(db: DbDep) -> dict[str, object]:
    return {
        "attribution": ATTRIBUTION_FILE.read_text(encoding="utf-8").strip(),
        "tile_url": get_settings().tile_url,
        "regions": [
            (r.iso, localized_name(r)) for r in registry.regions(db=db) if r.iso in REGION_CODES
        ],
    }


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(MAP_READ)
    ctx = {
        **_common(db),
        "layers": service.layer_list(db=db, actor=actor),
        "sections": registry.activities(db=db, level="section"),
        "sizes": SIZE_BANDS,
        "bands": RISK_BANDS,
        "scope_regions": service.regions_in_scope(actor),
        "can_choropleth": actor.can(MAP_CHOROPLETH),
        "metrics": choropleth.metric_list(actor) if actor.can(MAP_CHOROPLETH) else [],
    }
    return render(request, "geo/map.html", ctx, actor=actor)


@router.get("/embed/map", response_class=HTMLResponse)
def embed_page(
    request: Request,
    db: DbDep,
    actor: OptionalPageActorDep,
    region: Annotated[str | None, Query(pattern=r"^KZ-\d{2}$")] = None,
) -> HTMLResponse:
    ctx = {**_common(db), "region": region if region in REGION_CODES else ""}
    return render(request, "geo/embed.html", ctx, actor=None)
