"""Map REST API: clusters per viewport, layers, card, search, choropleth, GeoJSON export."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from qorgau.core.config import PACKAGE_DIR
from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.openapi import GEOJSON, file_responses
from qorgau.core.security import Actor
from qorgau.geo import choropleth as choro
from qorgau.geo import service
from qorgau.geo.cluster import warm_up
from qorgau.geo.schemas import CardOut, ChoroplethOut, LayerOut, SearchHit, card_links
from qorgau.geo.sessions import map_actor

# GET reads asked on every pan and zoom: the session is remembered for 2 s (geo/sessions.py).
MapActorDep = Annotated[Actor, Depends(map_actor)]

router = APIRouter(prefix="/api/v1/map", tags=["map"])
# Load the clustering kernel from numba's on-disk cache while the server starts (≈ 0.8 s),
# so the first map request does not pay for it; a request arriving earlier simply waits.
threading.Thread(target=warm_up, name="map-kernel-warm-up", daemon=True).start()
REGIONS_FILE = PACKAGE_DIR / "geo" / "data" / "kz-regions.geojson"
ATTRIBUTION_FILE = PACKAGE_DIR / "geo" / "data" / "ATTRIBUTION.txt"


def _params(request: Request) -> dict[str, list[str]]:
    qp = request.query_params
    return {k: qp.getlist(k) for k in qp}


def _json(body: bytes, *, cache: str = "no-store") -> Response:
    return Response(body, media_type="application/json", headers={"cache-control": cache})


@router.get("/clusters", summary="Clusters and points for a viewport")
def clusters(request: Request, db: DbDep, actor: MapActorDep) -> Response:
    """`bbox=w,s,e,n&zoom=z` plus filters (`region`, `activity`, `size`, `risk`, `hazardous`,
    `ids`, `q` = BIN or name, and layer flags) and `layers=enterprises,insurance_gaps,...`.
    Response: `{"layers": {name: {zoom, level, cell_px, total, cluster_fields, clusters,
    point_fields, points}}}` (see docs/map-clustering.md)."""
    return _json(service.clusters(db=db, actor=actor, params=_params(request)))


@router.get("/count", summary="Exact number of enterprises matching the filters")
def count(request: Request, db: DbDep, actor: MapActorDep) -> dict[str, int]:
    return {"count": service.count(db=db, actor=actor, params=_params(request))}


@router.get("/layers", response_model=list[LayerOut])
def layers(db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.layer_list(db=db, actor=actor)


@router.get("/points/{layer}", summary="Current points of a points/live layer (e.g. alarms)")
def points(request: Request, layer: str, db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.layer_points(db=db, actor=actor, name=layer, params=_params(request))


@router.get("/sites", summary="Positions of sites in scope: `ids=1,2,3` (≤ 200)")
def sites(
    db: DbDep, actor: ActorDep, ids: Annotated[str, Query(max_length=2000)]
) -> dict[str, list[float]]:
    return service.site_positions(db=db, actor=actor, raw_ids=ids)


@router.get("/enterprises/{enterprise_id}/card", response_model=CardOut)
def card(request: Request, enterprise_id: int, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    data = service.card(db=db, actor=actor, enterprise_id=enterprise_id)
    data["links"] = card_links(request.app, enterprise_id, data["parts"])
    return data


@router.get("/search", response_model=list[SearchHit])
def search(
    db: DbDep, actor: ActorDep, q: Annotated[str, Query(min_length=2, max_length=100)]
) -> list[dict[str, Any]]:
    return service.search(db=db, actor=actor, q=q)


@router.get("/choropleth", response_model=ChoroplethOut)
def choropleth(
    db: DbDep, actor: ActorDep, metric: Annotated[str, Query(max_length=40)] = "enterprises"
) -> dict[str, Any]:
    return choro.choropleth(db=db, actor=actor, metric=metric)


@router.get(
    "/export.geojson",
    summary="GeoJSON of the filtered enterprises (≤ 50 000)",
    response_class=StreamingResponse,
    responses=file_responses(GEOJSON),
)
def export(request: Request, db: DbDep, actor: ActorDep) -> StreamingResponse:
    ids = service.export_ids(db=db, actor=actor, params=_params(request))
    return StreamingResponse(
        service.export_geojson(db=db, actor=actor, ids=ids),
        media_type=GEOJSON,
        headers={"content-disposition": 'attachment; filename="enterprises.geojson"'},
    )


@router.get(
    "/regions.geojson",
    summary="Country outline and the 20 regions (CC BY 4.0)",
    response_class=Response,
    responses=file_responses(GEOJSON),
)
def regions() -> Response:
    return Response(
        REGIONS_FILE.read_bytes(),
        media_type=GEOJSON,
        headers={"cache-control": "public, max-age=86400"},
    )


@router.get("/embed/clusters", summary="Public aggregate clusters for the embeddable view")
def embed_clusters(request: Request, db: DbDep) -> Response:
    return _json(service.embed_clusters(db=db, params=_params(request)), cache="max-age=60")
