"""Map operations: scoped cluster queries, the enterprise card, search, GeoJSON export.

Scope is applied by narrowing the engine's `Filters`, so counts stay exact: a regional actor's
`region` facet is intersected with its own region, an enterprise actor's `ids` with its own
enterprise; roles without `geo.map.read` get 403 before anything is read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core.db import DB_UNAVAILABLE
from qorgau.core.errors import DomainError
from qorgau.core.openapi import INT_MAX
from qorgau.core.roles import Reach
from qorgau.core.security import Actor
from qorgau.geo import providers
from qorgau.geo.cluster import MAX_ZOOM
from qorgau.geo.constants import (
    EMBED_MAX_ZOOM,
    EXPORT_MAX_FEATURES,
    MAP_READ,
    SEARCH_LIST,
    SEARCH_MAX_IDS,
)
from qorgau.geo.exceptions import MapInputError, as_rule_violation
from qorgau.geo.filters import REGION_CODES, RISK_BANDS, Filters
from qorgau.geo.index import get_snapshot
from qorgau.geo.layers import BASE, LAYERS, Layer, layers_for
from qorgau.geo.providers import register_builtin
from qorgau.geo.snapshot import Snapshot
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise

log = logging.getLogger("qorgau.geo")
register_builtin()

# Query keys that are not engine filters.
SITE_IDS_MAX = 200
PLANNED_FROM, PLANNED_TO = "planned_from", "planned_to"
REQUEST_KEYS = frozenset({"bbox", "zoom", "z", "layers", "q", "lang", PLANNED_FROM, PLANNED_TO})


# --- parsing -------------------------------------------------------------------------------
def parse_bbox(raw: str | None) -> tuple[float, float, float, float]:
    if not raw:
        raise MapInputError("required: west,south,east,north in degrees", field="bbox")
    parts = raw.split(",")
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError as exc:
        raise MapInputError("expected four numbers: west,south,east,north", field="bbox") from exc
    return w, s, e, n


def parse_zoom(raw: str | None, *, max_zoom: int = MAX_ZOOM) -> int:
    if raw is None or not raw.strip().lstrip("-").isdecimal() or len(raw) > 4:
        raise MapInputError(f"required: an integer 0..{max_zoom}", field="zoom")
    zoom = int(raw)
    if not 0 <= zoom <= max_zoom:
        raise MapInputError(f"must be in 0..{max_zoom}, got {zoom}", field="zoom")
    return zoom


def parse_filters(params: Mapping[str, Sequence[str]], snap: Snapshot) -> Filters:
    with as_rule_violation():
        return Filters.from_query(
            {k: v for k, v in params.items() if k not in REQUEST_KEYS},
            flag_names=snap.index.flag_names,
            ignore=REQUEST_KEYS,
        )


def parse_layers(raw: str | None, actor: Actor, snap: Snapshot) -> list[Layer]:
    names = [n.strip() for n in (raw or BASE).split(",") if n.strip()] or [BASE]
    out = []
    for name in dict.fromkeys(names):
        layer = LAYERS.get(name)
        if layer is None or not layer.visible_to(actor):
            raise MapInputError(f"unknown layer {name!r}", field="layers")
        if name != BASE and name not in snap.index.flag_names:
            why = snap.layer_errors.get(name, "not a clustered layer")
            raise MapInputError(f"layer {name!r} cannot be clustered: {why}", field="layers")
        out.append(layer)
    return out


def _date(params: Mapping[str, Sequence[str]], key: str) -> date | None:
    raw = (params.get(key) or [""])[-1].strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise MapInputError("expected a date YYYY-MM-DD", field=key) from exc


def parse_planned_range(params: Mapping[str, Sequence[str]]) -> tuple[date, date] | None:
    """`planned_from` / `planned_to` (either may be left out: the default window fills it);
    None when neither is given (the index's baked default window then applies)."""
    start, end = _date(params, PLANNED_FROM), _date(params, PLANNED_TO)
    if start is None and end is None:
        return None
    if start is None:
        assert end is not None
        start = min(date.today(), end)
    if end is None:
        end = start + timedelta(days=providers.PLANNED_WINDOW_DAYS)
    if end < start:
        raise MapInputError(f"must not be before {PLANNED_FROM}", field=PLANNED_TO)
    if (end - start).days > providers.PLANNED_MAX_DAYS:
        raise MapInputError(
            f"the range spans at most {providers.PLANNED_MAX_DAYS} days", field=PLANNED_TO
        )
    return start, end


class _Ranges:
    """Per request: the planned-inspection date range and, once asked, its enterprise ids."""

    def __init__(self, db: Session, actor: Actor, params: Mapping[str, Sequence[str]]) -> None:
        self.db, self.actor = db, actor
        self.planned = parse_planned_range(params)
        self._ids: set[int] | None = None

    def apply(self, f: Filters) -> Filters:
        """Swap the baked `planned_inspections` flag for the ids planned in the asked range
        (scoped by the inspections domain for this actor); counts stay exact."""
        if self.planned is None or not f.flags.get(providers.PLANNED):
            return f
        if self._ids is None:
            self._ids = providers.planned_ids(self.db, self.actor, *self.planned)
        flags = {k: v for k, v in f.flags.items() if k != providers.PLANNED}
        keep = self._ids if f.ids is None else self._ids & set(f.ids)
        return replace(f, flags=flags, ids=tuple(sorted(keep)))


# --- scope ---------------------------------------------------------------------------------
def scope_filters(actor: Actor, f: Filters) -> Filters:
    """Narrow `f` to what the actor may see; an empty intersection matches nothing."""
    actor.require(MAP_READ)
    nothing = replace(f, ids=())
    if actor.reach is Reach.NATIONAL:
        return f
    if actor.reach is Reach.REGION:
        if actor.region is None or (f.regions and actor.region not in f.regions):
            return nothing
        return replace(f, regions=(actor.region,))
    if actor.reach is Reach.ENTERPRISE and actor.enterprise_id is not None:
        if f.ids is not None and actor.enterprise_id not in f.ids:
            return nothing
        return replace(f, ids=(actor.enterprise_id,))
    return nothing


def _bin_prefix_ids(snap: Snapshot, q: str) -> tuple[int, ...] | None:
    """The registry's BIN-prefix search (a 12-digit range) over the snapshot's sorted BINs:
    no database round trip per map request. None when the snapshot has no BIN array."""
    if snap.bins is None or snap.bin_ids is None or not (q.isdecimal() and q.isascii()):
        return None
    lo, hi = int(q[:12].ljust(12, "0")), int(q[:12].ljust(12, "9"))
    start = int(np.searchsorted(snap.bins, np.uint64(lo), side="left"))
    stop = int(np.searchsorted(snap.bins, np.uint64(hi), side="right"))
    return tuple(snap.bin_ids[start:stop].tolist())


def _search_ids(db: Session, actor: Actor, q: str, snap: Snapshot) -> tuple[int, ...]:
    q = q.strip()
    if not 2 <= len(q) <= 100:
        raise MapInputError("search needs 2..100 characters", field="q")
    # The registry's own rule first (permission); its scope is the map's (scope_filters).
    stmt = registry.enterprise_query(db=db, actor=actor, q=q).with_only_columns(Enterprise.id)
    found = _bin_prefix_ids(snap, q)
    ids = (
        found
        if found is not None
        else tuple(db.scalars(stmt.order_by(None).limit(SEARCH_MAX_IDS + 1)))
    )
    if len(ids) > SEARCH_MAX_IDS:
        raise MapInputError(f"more than {SEARCH_MAX_IDS} matches; refine the search", field="q")
    return ids


def request_filters(
    db: Session,
    actor: Actor,
    params: Mapping[str, Sequence[str]],
    snap: Snapshot,
    ranges: _Ranges | None = None,
) -> Filters:
    f = parse_filters(params, snap)
    ranges = ranges or _Ranges(db, actor, params)
    q = (params.get("q") or [""])[-1]
    if q.strip():
        found = _search_ids(db, actor, q, snap)
        keep = found if f.ids is None else tuple(set(found) & set(f.ids))
        f = replace(f, ids=keep)
    return ranges.apply(scope_filters(actor, f))


# --- operations ----------------------------------------------------------------------------
def clusters(*, db: Session, actor: Actor, params: Mapping[str, Sequence[str]]) -> bytes:
    """`{"layers": {name: ClusterResult JSON}}` for the viewport, one entry per layer asked."""
    actor.require(MAP_READ)
    bbox = parse_bbox((params.get("bbox") or [None])[-1])
    zoom = parse_zoom((params.get("zoom") or params.get("z") or [None])[-1])
    snap = get_snapshot(db)
    layers = parse_layers((params.get("layers") or [None])[-1], actor, snap)
    ranges = _Ranges(db, actor, params)
    f = request_filters(db, actor, params, snap, ranges)
    parts = []
    for layer in layers:
        lf = f if layer.name == BASE else replace(f, flags={**f.flags, layer.name: True})
        lf = ranges.apply(lf)
        with as_rule_violation():
            body = snap.index.query(bbox, zoom, lf).to_json_bytes()
        parts.append(orjson.dumps(layer.name) + b":" + body)
    return b'{"layers":{' + b",".join(parts) + b"}}"


def count(*, db: Session, actor: Actor, params: Mapping[str, Sequence[str]]) -> int:
    snap = get_snapshot(db)
    f = request_filters(db, actor, params, snap)
    with as_rule_violation():
        return snap.index.count(f)


def embed_clusters(*, db: Session, params: Mapping[str, Sequence[str]]) -> bytes:
    """Public, read-only aggregate for akimat portals: clusters by risk, no ids or names;
    isolated points are rounded to 0.01° (≈ 1 km) and zoom stops at EMBED_MAX_ZOOM."""
    allowed = {"bbox", "zoom", "region", "lang"}
    for key in params:
        if key not in allowed:
            raise MapInputError("unknown filter", field=key)
    bbox = parse_bbox((params.get("bbox") or [None])[-1])
    zoom = parse_zoom((params.get("zoom") or [None])[-1], max_zoom=EMBED_MAX_ZOOM)
    snap = get_snapshot(db)
    with as_rule_violation():
        f = Filters.from_query({"region": params.get("region") or []})
        result = snap.index.query(bbox, zoom, f)
    data = orjson.loads(result.to_json_bytes())
    data["point_fields"] = ["lon", "lat", "risk"]
    data["points"] = [[round(p[1], 2), round(p[2], 2), p[3]] for p in data["points"]]
    return orjson.dumps(data)


def layer_points(
    *, db: Session, actor: Actor, name: str, params: Mapping[str, Sequence[str]]
) -> list[dict[str, Any]]:
    """A points or live layer's current points (the provider applies its domain's scope)."""
    actor.require(MAP_READ)
    layer = LAYERS.get(name)
    if layer is None or layer.points_fn is None or not layer.visible_to(actor):
        raise MapInputError(f"unknown points layer {name!r}", field="layer")
    if not layer.available:
        raise MapInputError(f"layer {name!r} is not available yet", field="layer")
    raw = (params.get("bbox") or [None])[-1]
    return layer.points_fn(db, actor, parse_bbox(raw) if raw else None)


def _is_id(raw: str) -> bool:
    # isdecimal, not isdigit: "²" is a digit that int() refuses; ids fit a 32-bit column.
    raw = raw.strip()
    return raw.isdecimal() and len(raw) <= 10 and int(raw) <= INT_MAX


def site_positions(*, db: Session, actor: Actor, raw_ids: str) -> dict[str, list[float]]:
    """`{site id: [lon, lat]}` for sites in scope (live events name a site, not a place)."""
    actor.require(MAP_READ)
    parts = [p for p in raw_ids.split(",") if p.strip()]
    if not 1 <= len(parts) <= SITE_IDS_MAX or not all(_is_id(p) for p in parts):
        raise MapInputError(f"1..{SITE_IDS_MAX} comma-separated site ids", field="ids")
    found = providers.site_positions(db, actor, [int(p) for p in parts])
    return {str(k): v for k, v in found.items()}


def layer_list(*, db: Session, actor: Actor) -> list[dict[str, Any]]:
    from qorgau.core.i18n import _

    actor.require(MAP_READ)
    snap = get_snapshot(db)
    out = []
    for layer in layers_for(actor):
        missing = layer.missing()
        error = snap.layer_errors.get(layer.name) if not missing else None
        out.append(
            {
                "name": layer.name,
                "label": _(layer.label),
                "description": _(layer.description) if layer.description else "",
                "kind": layer.kind,
                "available": not missing and error is None,
                "note": (_("Not available yet") if missing else error) or "",
                "live_url": layer.live_url if not missing else None,
            }
        )
    return out


def _risk_of(snap: Snapshot, enterprise_id: int) -> dict[str, Any]:
    pos = int(np.searchsorted(snap.ids, enterprise_id))
    if pos >= len(snap.ids) or snap.ids[pos] != enterprise_id:
        return {"score": None, "band": None, "source": snap.risk_source}
    return {
        "score": round(float(snap.score[pos]), 1),
        "band": RISK_BANDS[int(snap.band[pos])],
        "source": snap.risk_source,
    }


def card(*, db: Session, actor: Actor, enterprise_id: int) -> dict[str, Any]:
    """The enterprise card: the parts each layer provides, only those the role may see."""
    actor.require(MAP_READ)
    ent = registry.get_enterprise(db=db, actor=actor, enterprise_id=enterprise_id)
    snap = get_snapshot(db)
    parts: dict[str, Any] = {}
    unavailable = []
    for layer in layers_for(actor):
        if layer.card_fn is None:
            continue
        if not layer.available:
            unavailable.append(layer.name)
            continue
        try:
            part = layer.card_fn(db, actor, ent)
        except DomainError:
            part = None  # the owning domain says this role may not see it
        except DB_UNAVAILABLE:
            raise  # an outage is a 503, not a card with parts silently missing
        except Exception:  # another domain's bug must not break the card
            db.rollback()
            log.exception("card part %s failed", layer.name)
            part = None
        if part is not None:
            parts[layer.name] = part
    flags = {
        name: snap.index.count(Filters(ids=(ent.id,), flags={name: True})) == 1
        for name in snap.index.flag_names
        if LAYERS.get(name) and LAYERS[name].visible_to(actor)
    }
    return {
        "id": ent.id,
        "risk": _risk_of(snap, ent.id),
        "flags": flags,
        "parts": parts,
        "unavailable": unavailable,
    }


def search(*, db: Session, actor: Actor, q: str) -> list[dict[str, Any]]:
    actor.require(MAP_READ)
    q = q.strip()
    if not 2 <= len(q) <= 100:
        raise MapInputError("search needs 2..100 characters", field="q")
    stmt = registry.enterprise_query(db=db, actor=actor, q=q).limit(SEARCH_LIST)
    return [
        {
            "id": e.id,
            "bin": e.bin,
            "name": e.name,
            "region_code": e.region_code,
            "lon": e.lon,
            "lat": e.lat,
        }
        for e in db.scalars(stmt)
    ]


def export_ids(*, db: Session, actor: Actor, params: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Ids to export (scope and filters applied); refuses more than EXPORT_MAX_FEATURES."""
    actor.require(MAP_READ)
    snap = get_snapshot(db)
    f = request_filters(db, actor, params, snap)
    raw_bbox = (params.get("bbox") or [None])[-1]
    bbox = parse_bbox(raw_bbox) if raw_bbox else None
    with as_rule_violation():
        n = snap.index.count(f, bbox)
        if n > EXPORT_MAX_FEATURES:
            raise MapInputError(
                f"{n} enterprises match; at most {EXPORT_MAX_FEATURES} per export — "
                "add a region, activity or bbox filter",
                field="region",
            )
        return snap.index.match_ids(f, bbox)


def export_geojson(*, db: Session, actor: Actor, ids: np.ndarray) -> Iterator[bytes]:
    """Stream a FeatureCollection in id chunks (no more than one chunk in memory)."""
    snap = get_snapshot(db)
    ordered = np.sort(ids)
    yield b'{"type":"FeatureCollection","features":['
    first = True
    for start in range(0, len(ordered), 2000):
        chunk = ordered[start : start + 2000].tolist()
        rows = db.scalars(
            select(Enterprise).where(Enterprise.id.in_(chunk)).order_by(Enterprise.id)
        )
        for e in rows:
            risk = _risk_of(snap, e.id)
            feature = {
                "type": "Feature",
                "id": e.id,
                "geometry": {"type": "Point", "coordinates": [e.lon, e.lat]},
                "properties": {
                    "bin": e.bin,
                    "name": e.name,
                    "region": e.region_code,
                    "activity": e.activity_code,
                    "size": e.size_band,
                    "hazardous": e.hazardous,
                    "risk_band": risk["band"],
                    "risk_score": risk["score"],
                },
            }
            yield (b"" if first else b",") + orjson.dumps(feature)
            first = False
    yield b"]}"


def regions_in_scope(actor: Actor) -> list[str]:
    if actor.reach is Reach.NATIONAL:
        return list(REGION_CODES)
    if actor.reach is Reach.REGION and actor.region:
        return [actor.region]
    return []
