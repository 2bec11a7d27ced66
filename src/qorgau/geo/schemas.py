"""API shapes of the map (the cluster payload is compact bytes: docs/map-clustering.md)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.routing import Route


class LayerOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    label: str
    description: str
    kind: str
    available: bool
    note: str
    live_url: str | None


class SearchHit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    bin: str
    name: str
    region_code: str
    lon: float
    lat: float


class CardOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    risk: dict[str, Any]
    flags: dict[str, bool]
    parts: dict[str, dict[str, Any]]
    unavailable: list[str]
    links: dict[str, str]


class ChoroplethRow(BaseModel):
    region: str
    name: str
    value: float | None
    numerator: float
    denominator: float


class ChoroplethOut(BaseModel):
    metric: str
    label: str
    unit: str
    available: bool
    note: str
    rows: list[ChoroplethRow]
    metrics: list[dict[str, Any]]


def _page_paths(routes: Any) -> set[str]:
    """GET paths of the app, walking included routers (FastAPI nests them)."""
    out: set[str] = set()
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            out |= _page_paths(inner.routes)
        elif isinstance(r, Route) and "GET" in (r.methods or ()):
            out.add(r.path)
    return out


def _matches(template: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) is not None


def card_links(app: Any, enterprise_id: int, parts: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Links to the full pages that exist in this build (a part's `link` names its page)."""
    paths = _page_paths(app.routes)
    links = {"registry": f"/registry/enterprises/{enterprise_id}"}
    for name, part in parts.items():
        link = part.pop("link", None)
        if isinstance(link, str) and any(_matches(t, link.split("?")[0]) for t in paths):
            links[name] = link
    return links
