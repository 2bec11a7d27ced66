"""Alarm pages: sites overview, the operator console per site (live via SSE), alarm detail,
KPI dashboard. The configuration pages (limits, tiers, channels) are in config_pages.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import func, select

from qorgau.alarms import config_pages, health, kpis, positioning, service, store, texts
from qorgau.alarms import constants as C
from qorgau.alarms.models import AlarmRecord, Device
from qorgau.alarms.schemas import AckIn, ReasonIn, ResolveIn, ShelveIn
from qorgau.core.db import utcnow
from qorgau.core.deps import DbDep
from qorgau.core.errors import Conflict, DomainError
from qorgau.core.i18n import get_language
from qorgau.core.labels import N_
from qorgau.core.roles import PERMISSIONS
from qorgau.core.security import scoped
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.registry import service as registry
from qorgau.registry.models import Worker

router = APIRouter(include_in_schema=False)
register_nav(N_("Alarms"), "/alarms", PERMISSIONS[C.READ], order=45)
register_nav(N_("My alarm channels"), "/alarms/my-channels", PERMISSIONS[C.READ], order=46)

STATE_ORDER = ["unacknowledged", "rtn_unack", "acknowledged", "latched", "shelved",
               "suppressed", "out_of_service"]
STATE_LABELS = {"unacknowledged": N_("Unacknowledged"), "rtn_unack": N_("Cleared, unacknowledged"),
                "acknowledged": N_("Acknowledged"), "latched": N_("Latched"),
                "shelved": N_("Shelved"), "suppressed": N_("Suppressed"),
                "out_of_service": N_("Out of service"), "normal": N_("Normal")}
# one alarm's state (its page, its transitions); the labels above head the console's lists
# and are plural in Russian ("Квитированные")
STATE_NAMES = {"unacknowledged": N_("unacknowledged"),
               "rtn_unack": N_("cleared, unacknowledged"), "acknowledged": N_("acknowledged"),
               "latched": N_("latched"), "shelved": N_("shelved"), "suppressed": N_("suppressed"),
               "out_of_service": N_("out of service"), "normal": N_("normal")}


router.include_router(config_pages.router)


@router.get("/alarms", response_class=HTMLResponse)
def overview(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(C.READ)
    site_ids = list(db.scalars(scoped(select(Device.site_id).distinct(), Device, actor)))
    open_counts = dict(db.execute(scoped(select(AlarmRecord.site_id, func.count()), AlarmRecord,
                                         actor).where(AlarmRecord.open.is_(True))
                                  .group_by(AlarmRecord.site_id)).all())
    ls_counts = dict(db.execute(scoped(select(AlarmRecord.site_id, func.count()), AlarmRecord,
                                       actor).where(AlarmRecord.open.is_(True),
                                                    AlarmRecord.life_safety.is_(True),
                                                    AlarmRecord.active.is_(True))
                                .group_by(AlarmRecord.site_id)).all())
    sites = [registry.get_site(db=db, actor=actor, site_id=s) for s in sorted(site_ids)]
    ctx = {"sites": sites, "open": open_counts, "ls": ls_counts}
    return render(request, "alarms/overview.html", ctx, actor=actor)


def _console_ctx(db: DbDep, actor: Any, site_id: int) -> dict[str, Any]:
    site = registry.get_site(db=db, actor=actor, site_id=site_id)
    devices = service.list_devices(db=db, actor=actor, site_id=site.id)
    alarms = service.list_alarms(db=db, actor=actor, site_id=site.id, open_only=True)
    by_state = {s: [a for a in alarms if a.state == s] for s in STATE_ORDER}
    history = [a for a in service.list_alarms(db=db, actor=actor, site_id=site.id, limit=60)
               if not a.open][:20]
    withdrawals = positioning.withdrawal_status(db=db, actor=actor, site_id=site.id)
    procs = health.processes(db)  # the load strip: this site's and each process's
    end = utcnow()
    trends = {}
    for d in devices:
        if d.kind != "wearable":
            rows = store.history(db, device_id=d.id, start=end.replace(microsecond=0)
                                 - __import__("datetime").timedelta(minutes=60), end=end)
            trends[d.id] = _sparkline([r.vsum / r.n for r in rows])
    return {"site": site, "devices": devices, "by_state": by_state, "history": history,
            "trends": trends, "errors": service.ingest_errors(db=db, actor=actor,
                                                              site_id=site.id),
            "presence": positioning.presence(db=db, actor=actor, site_id=site.id),
            "withdrawals": withdrawals, "workers": _worker_names(db, actor, withdrawals),
            "can_ack": actor.can(C.ACKNOWLEDGE), "can_withdraw": actor.can(C.WITHDRAW),
            "can_ack_ls": actor.can(C.ACKNOWLEDGE_LIFE_SAFETY), "can_operate": actor.can(C.OPERATE),
            "can_configure": actor.can(C.CONFIGURE), "states": STATE_LABELS,
            "out_of_service": [d for d in devices if d.oos_since is not None],
            "processes": procs, "site_load": health.site_load(procs, site.id),
            "units": C.UNITS, "kind_labels": C.KIND_LABELS, "resolutions": C.RESOLUTIONS,
            "say": _say(devices), "kind_texts": texts.labels_for()}


def _say(devices: list[Device]) -> Callable[[AlarmRecord], str]:
    """An alarm's text in the viewer's language (`texts`), from its fields and its device."""
    by_id = {d.id: d for d in devices}
    lang = get_language()
    return lambda a: texts.describe(texts.fields(a, by_id.get(a.device_id)), lang)


def _worker_names(db: DbDep, actor: Any, withdrawals: list[dict[str, Any]]) -> dict[int, str]:
    """Names of the people still inside open withdrawals, for the rescue team (scoped)."""
    ids = {p["worker_id"] for w in withdrawals if not w["completed_at"] for p in w["people"]
           if p.get("worker_id") and not p.get("safe_at")}
    if not ids:
        return {}
    stmt = scoped(select(Worker), Worker, actor).where(Worker.id.in_(ids))
    return {w.id: f"{w.last_name} {w.first_name[:1]}." for w in db.scalars(stmt)}


def _sparkline(values: list[float], w: int = 120, h: int = 28) -> str:
    """SVG polyline points for a small trend (no script, no inline style)."""
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = w / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{h - 2 - (v - lo) / span * (h - 4):.1f}"
                    for i, v in enumerate(values))


@router.get("/alarms/sites/{site_id}", response_class=HTMLResponse)
def console(request: Request, site_id: int, db: DbDep, actor: PageActorDep,
            error: Annotated[str | None, Query(max_length=300)] = None) -> HTMLResponse:
    actor.require(C.READ)
    ctx = _console_ctx(db, actor, site_id)
    ctx["error"] = error
    return render(request, "alarms/console.html", ctx, actor=actor)


@router.get("/alarms/sites/{site_id}/live", response_class=HTMLResponse)
def console_fragment(request: Request, site_id: int, db: DbDep,
                     actor: PageActorDep) -> HTMLResponse:
    """Sensor tiles, alarm lists and withdrawal panel, re-fetched by the console on every live
    event and every few seconds (sensor values are written every `alarm_flush_s`)."""
    actor.require(C.READ)
    return render(request, "alarms/_live.html", _console_ctx(db, actor, site_id), actor=actor)


def _back(request: Request, site_id: int, error: str | None = None) -> RedirectResponse:
    """To the console, in the language the form was posted from (the console's forms carry
    its `lang`: one opened from a link in another language than the cookie's stays in it)."""
    query = {k: v for k, v in (("lang", request.query_params.get("lang")),
                               ("error", error[:250] if error else None)) if v}
    url = f"/alarms/sites/{site_id}" + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(url, status_code=303)


def _msg(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
    return getattr(exc, "message", str(exc))


@router.post("/alarms/{alarm_id}/action")
def alarm_action(request: Request, alarm_id: int, db: DbDep, actor: FormActorDep,
                 action: Annotated[str, Form(max_length=10)],
                 reason: Annotated[str, Form(max_length=300)] = "",
                 minutes: Annotated[int, Form(ge=0, le=720)] = 0,
                 resolution: Annotated[str, Form(max_length=20)] = "") -> RedirectResponse:
    rec = service.get_alarm(db=db, actor=actor, alarm_id=alarm_id)
    try:
        if action == "ack":
            service.acknowledge(db=db, actor=actor, alarm_id=rec.id, data=AckIn(note=reason))
        elif action == "shelve":
            service.shelve(db=db, actor=actor, alarm_id=rec.id,
                           data=ShelveIn(reason=reason, minutes=minutes))
        elif action == "resolve":
            service.resolve(db=db, actor=actor, alarm_id=rec.id,
                            data=ResolveIn(resolution=resolution, note=reason))
        elif action in _REASONED:
            _REASONED[action](db=db, actor=actor, alarm_id=rec.id, data=ReasonIn(reason=reason))
        else:
            return _back(request, rec.site_id, "unknown action")
    except (DomainError, ValidationError) as exc:
        db.rollback()
        return _back(request, rec.site_id, _msg(exc))
    return _back(request, rec.site_id)


_REASONED = {"unshelve": service.unshelve, "reset": service.reset,
             "suppress": service.suppress, "unsuppress": service.unsuppress}


@router.post("/alarms/devices/{device_id}/service")
def device_service(request: Request, device_id: int, db: DbDep, actor: FormActorDep,
                   action: Annotated[str, Form(max_length=10)],
                   reason: Annotated[str, Form(max_length=300)] = "") -> RedirectResponse:
    """The console's out-of-service / return-to-service buttons (action "out" / "back")."""
    dev = service.get_device(db=db, actor=actor, device_id=device_id)
    fn = {"out": service.remove_from_service, "back": service.return_to_service}.get(action)
    if fn is None:
        return _back(request, dev.site_id, "unknown action")
    try:
        fn(db=db, actor=actor, device_id=dev.id, data=ReasonIn(reason=reason))
    except (DomainError, ValidationError) as exc:
        db.rollback()
        return _back(request, dev.site_id, _msg(exc))
    return _back(request, dev.site_id)


@router.post("/alarms/sites/{site_id}/withdraw")
def withdraw(request: Request, site_id: int, db: DbDep, actor: FormActorDep,
             zones: Annotated[list[str] | None, Form()] = None,
             reason: Annotated[str, Form(max_length=300)] = "") -> RedirectResponse:
    """The console's order, with or without an alarm: another tenant's site is a 404 and a
    reader without the right a 403, not a form error."""
    actor.require(C.WITHDRAW)
    registry.get_site(db=db, actor=actor, site_id=site_id)
    try:
        positioning.broadcast(db=db, actor=actor, site_id=site_id, zones=zones or [],
                              reason=reason)
    except DomainError as exc:
        db.rollback()
        return _back(request, site_id, _msg(exc))
    return _back(request, site_id)


@router.post("/alarms/sites/{site_id}/withdrawals/{withdrawal_id}/people/{device_id}/safe")
def confirm_safe(request: Request, site_id: int, withdrawal_id: int, device_id: int,
                 db: DbDep, actor: FormActorDep,
                 reason: Annotated[str, Form(max_length=300)] = "") -> RedirectResponse:
    """A person counted out by hand from the console; another tenant's order is a 404, a
    missing reason or someone no longer inside a form error."""
    registry.get_site(db=db, actor=actor, site_id=site_id)
    try:
        positioning.confirm_safe(db=db, actor=actor, withdrawal_id=withdrawal_id,
                                 device_id=device_id, reason=ReasonIn(reason=reason).reason,
                                 site_id=site_id)
    except (Conflict, ValidationError) as exc:
        db.rollback()
        return _back(request, site_id, _msg(exc))
    return _back(request, site_id)


@router.get("/alarms/{alarm_id}", response_class=HTMLResponse)
def alarm_detail(request: Request, alarm_id: int, db: DbDep,
                 actor: PageActorDep) -> HTMLResponse:
    rec = service.get_alarm(db=db, actor=actor, alarm_id=alarm_id)
    dev = db.get(Device, rec.device_id) if rec.device_id else None
    ctx = {"a": rec, "events": service.alarm_history(db=db, actor=actor, alarm_id=rec.id),
           "say": _say([dev] if dev else []),
           "notes": service.notification_rows(db=db, actor=actor, alarm_id=rec.id),
           "states": STATE_NAMES, "triggers": C.TRIGGER_LABELS, "actors": C.ACTOR_LABELS,
           "statuses": C.NOTE_STATUS_LABELS, "channels": C.SENT_BY}
    return render(request, "alarms/alarm.html", ctx, actor=actor)


@router.get("/alarms-kpis", response_class=HTMLResponse)
def kpi_page(request: Request, db: DbDep, actor: PageActorDep,
             site_id: int | None = None,
             region: Annotated[str | None, Query(pattern=r"^(KZ-\d{2})?$")] = None,
             hours: Annotated[int, Query(ge=1, le=744)] = 24) -> HTMLResponse:
    k = kpis.compute(db=db, actor=actor, site_id=site_id, region=region or None, hours=hours)
    ctx = {"k": k, "site_id": site_id, "region": region or "", "hours": hours,
           "regions": registry.regions(db=db)}
    return render(request, "alarms/kpis.html", ctx, actor=actor)
