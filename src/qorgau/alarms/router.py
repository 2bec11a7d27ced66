"""Alarm REST API: devices and limits, gateways, escalation tiers (contacts) and times, each
person's own channels, alarms (ack / shelve / resolve), history, sensor history, withdrawal,
ingest errors, KPIs, metrics and the live SSE stream.

The configuration routes call the same routing/service functions as the configuration pages
(config_pages.py), so validation, scope and the audit trail are the same in both."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from qorgau.alarms import (
    consoles,
    gateways,
    health,
    kpis,
    live,
    positioning,
    routing,
    service,
    shifts,
    store,
)
from qorgau.alarms.constants import READ
from qorgau.alarms.ingest import http
from qorgau.alarms.ingest.admission import ADMISSION
from qorgau.alarms.ingest.core import METRICS
from qorgau.alarms.schemas import (
    AckIn,
    AlarmEventOut,
    AlarmOut,
    ConsoleIn,
    ConsoleOut,
    ContactIn,
    ContactLangIn,
    ContactOut,
    ContactPatch,
    DeviceIn,
    DeviceOut,
    DevicePatch,
    EscalationIn,
    EscalationOut,
    GatewayIn,
    GatewayInfo,
    GatewayOut,
    ReasonIn,
    ResolveIn,
    ShelveIn,
    ShiftsIn,
    ShiftsOut,
    WithdrawIn,
)
from qorgau.core.db import utcnow
from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.openapi import EVENT_STREAM, file_responses

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])
router.include_router(http.router)


@router.post("/devices", response_model=DeviceOut, status_code=201)
def create_device(data: DeviceIn, db: DbDep, actor: ActorDep) -> Any:
    return service.create_device(db=db, actor=actor, data=data)


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(db: DbDep, actor: ActorDep, site_id: int | None = None) -> Any:
    return service.list_devices(db=db, actor=actor, site_id=site_id)


@router.get("/devices/{device_id}", response_model=DeviceOut)
def get_device(device_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_device(db=db, actor=actor, device_id=device_id)


@router.patch("/devices/{device_id}", response_model=DeviceOut)
def update_device(device_id: int, data: DevicePatch, db: DbDep, actor: ActorDep) -> Any:
    return service.update_device(db=db, actor=actor, device_id=device_id, data=data)


@router.post("/devices/{device_id}/out-of-service", response_model=DeviceOut)
def device_out_of_service(device_id: int, data: ReasonIn, db: DbDep, actor: ActorDep) -> Any:
    """Take every alarm of the device out of service (configure right, with a reason): no
    annunciation and no notification, life-safety included, until it is returned."""
    return service.remove_from_service(db=db, actor=actor, device_id=device_id, data=data)


@router.post("/devices/{device_id}/return-to-service", response_model=DeviceOut)
def device_return_to_service(device_id: int, data: ReasonIn, db: DbDep,
                             actor: ActorDep) -> Any:
    """Return the device's alarms: an active condition is unacknowledged again."""
    return service.return_to_service(db=db, actor=actor, device_id=device_id, data=data)


@router.get("/devices/{device_id}/history")
def device_history(device_id: int, db: DbDep, actor: ActorDep,
                   minutes: Annotated[int, Query(ge=1, le=60 * 24 * 31)] = 60) -> Any:
    """1-minute roll-ups of a sensor (min / mean / max / last)."""
    dev = service.get_device(db=db, actor=actor, device_id=device_id)
    end = utcnow()
    rows = store.history(db, device_id=dev.id, start=end - timedelta(minutes=minutes), end=end)
    return [{"minute": r.minute, "n": r.n, "min": r.vmin, "max": r.vmax,
             "mean": r.vsum / r.n, "last": r.vlast} for r in rows]


@router.get("/devices/{device_id}/raw")
def device_raw(device_id: int, db: DbDep, actor: ActorDep,
               minutes: Annotated[int, Query(ge=1, le=180)] = 10) -> Any:
    """Raw readings from the segment store (seq, time, value)."""
    from qorgau.alarms.ingest.core import processor

    dev = service.get_device(db=db, actor=actor, device_id=device_id)
    end = utcnow().timestamp()
    rows = processor().store.read(dev.site_id, end - minutes * 60, end + 1, device=dev.id)
    return [{"s": int(r["seq"]), "t": float(r["t"]), "v": None if r["v"] != r["v"]
             else float(r["v"])} for r in rows]


@router.post("/gateways", response_model=GatewayOut, status_code=201)
def create_gateway(data: GatewayIn, db: DbDep, actor: ActorDep) -> Any:
    gw, key = gateways.create_gateway(db=db, actor=actor, data=data)
    return GatewayOut(id=gw.id, name=gw.name, key=key)


@router.get("/sites/{site_id}/gateways", response_model=list[GatewayInfo])
def list_gateways(site_id: int, db: DbDep, actor: ActorDep) -> Any:
    """A site's gateways (never their keys)."""
    return [GatewayInfo(id=g.id, site_id=g.site_id, name=g.name, created_at=g.created_at,
                        created_by=g.created_by, mqtt=bool(g.broker_hash))
            for g in gateways.list_gateways(db=db, actor=actor, site_id=site_id)]


@router.post("/gateways/{gateway_id}/rotate", response_model=GatewayOut)
def rotate_gateway_key(gateway_id: int, db: DbDep, actor: ActorDep) -> Any:
    """A new key, shown once (audited). HTTP ingest refuses the old key at once; the broker
    after `qorgau alarms broker-config` and a reload (SIGHUP)."""
    gw, key = gateways.rotate_gateway_key(db=db, actor=actor, gateway_id=gateway_id)
    return GatewayOut(id=gw.id, name=gw.name, key=key)


@router.post("/contacts", response_model=ContactOut, status_code=201)
def add_contact(data: ContactIn, db: DbDep, actor: ActorDep) -> Any:
    """Add a contact to one of a site's escalation tiers (audited)."""
    return routing.add_contact(db=db, actor=actor, data=data)


@router.put("/contacts/{contact_id}/lang", response_model=ContactOut)
def set_contact_lang(contact_id: int, data: ContactLangIn, db: DbDep, actor: ActorDep) -> Any:
    """The language the contact's SMS, e-mail and webhook texts are in (kk, ru, en; audited)."""
    return routing.set_contact_lang(db=db, actor=actor, contact_id=contact_id, data=data)


@router.delete("/contacts/{contact_id}", status_code=204, response_class=Response)
def remove_contact(contact_id: int, db: DbDep, actor: ActorDep) -> Response:
    """Remove a contact from its tier (audited with what it was)."""
    routing.remove_contact(db=db, actor=actor, contact_id=contact_id)
    return Response(status_code=204)


@router.get("/sites/{site_id}/contacts", response_model=list[ContactOut])
def site_contacts(site_id: int, db: DbDep, actor: ActorDep) -> Any:
    """The site's escalation tiers: its contacts ordered by tier."""
    return routing.list_contacts(db=db, actor=actor, site_id=site_id)


@router.get("/sites/{site_id}/escalation", response_model=EscalationOut)
def get_escalation(site_id: int, db: DbDep, actor: ActorDep) -> Any:
    """Seconds unacknowledged before tier 2, 3 and 4 are told, then between reminders."""
    return routing.get_policy(db=db, actor=actor, site_id=site_id)


@router.put("/sites/{site_id}/escalation", response_model=EscalationOut)
def set_escalation(site_id: int, data: EscalationIn, db: DbDep, actor: ActorDep) -> Any:
    """Replace the site's escalation times (a new revision, audited with the reason)."""
    return routing.set_policy(db=db, actor=actor, site_id=site_id, data=data)


@router.get("/sites/{site_id}/shifts", response_model=ShiftsOut)
def get_shifts(site_id: int, db: DbDep, actor: ActorDep) -> Any:
    """The site's shift starts (local time, UTC+5): TWA doses and STEL excursion counts
    restart at each; and its console operators on duty at a time (the KPIs' operators)."""
    return shifts.settings(db=db, actor=actor, site_id=site_id)


@router.put("/sites/{site_id}/shifts", response_model=ShiftsOut)
def set_shifts(site_id: int, data: ShiftsIn, db: DbDep, actor: ActorDep) -> Any:
    """Replace the site's shift starts ("HH:MM", at least one, no repeats, at least 4 h
    apart; stored sorted) and, if given, its console operators (a whole number 1-20; left
    out = unchanged): a new revision, audited with before, after and the reason."""
    return shifts.set_settings(db=db, actor=actor, site_id=site_id, data=data)


@router.get("/consoles", response_model=list[ConsoleOut])
def list_consoles(db: DbDep, actor: ActorDep) -> Any:
    """Alarm consoles shared by sites (a dispatch room for several mines), with their sites
    and operators on duty at a time: the KPIs count their sites' alarms as one load."""
    return consoles.listing(db=db, actor=actor)


@router.get("/consoles/{console_id}", response_model=ConsoleOut)
def get_console(console_id: int, db: DbDep, actor: ActorDep) -> Any:
    return consoles.get(db=db, actor=actor, console_id=console_id)


@router.post("/consoles", response_model=ConsoleOut, status_code=201)
def create_console(data: ConsoleIn, db: DbDep, actor: ActorDep) -> Any:
    """A shared console: its sites (of one enterprise and region; moved from any other
    console, from now on), operators 1-20 and the reason; audited."""
    return consoles.create(db=db, actor=actor, data=data)


@router.put("/consoles/{console_id}", response_model=ConsoleOut)
def save_console(console_id: int, data: ConsoleIn, db: DbDep, actor: ActorDep) -> Any:
    """Rename, restaff or change the sites (left-out sites go back to their own consoles):
    each change counts from now on; `revision` as read, else 409; audited."""
    return consoles.save(db=db, actor=actor, console_id=console_id, data=data)


@router.get("/my-channels", response_model=list[ContactOut])
def my_channels(db: DbDep, actor: ActorDep) -> Any:
    """The caller's own channels (contacts linked to their account) on every site."""
    return routing.my_contacts(db=db, actor=actor)


@router.put("/my-channels/{contact_id}", response_model=ContactOut)
def update_my_channel(contact_id: int, data: ContactPatch, db: DbDep, actor: ActorDep) -> Any:
    """Set where one of the caller's own channels goes and its quiet hours (local time,
    UTC+5, may wrap midnight; both or neither, left out = none). Tier and role stay."""
    return routing.update_my_contact(db=db, actor=actor, contact_id=contact_id, data=data)


@router.get("", response_model=list[AlarmOut])
def list_alarms(db: DbDep, actor: ActorDep, site_id: int | None = None,
                state: Annotated[str | None, Query(max_length=20)] = None,
                open_only: bool = False) -> Any:
    return service.list_alarms(db=db, actor=actor, site_id=site_id, state=state,
                               open_only=open_only)


@router.get("/metrics")
def metrics(db: DbDep, actor: ActorDep) -> Any:
    """Ingest counters, queue depth, lag, shed counts of this process (overload is never
    silent; in a process that takes HTTP ingest, depth and lag are its batches in progress and
    `http_ingest` is its own entry, live), and `processes`: the health of every alarm worker,
    danger sentinel and web process taking HTTP ingest, each `running`, `stopped` or `silent`
    (no heartbeat: killed, hung or cut off), with shed batches, the broker's dropped messages,
    per-site load (`sites`, the caller's sites only) and `warn` set when it is silent, lagging,
    near its bound, shed a batch in the last 10 minutes or the broker dropped messages."""
    actor.require(READ)
    procs = health.visible(db, actor, health.processes(db))
    own = next((p for p in procs if p["name"] == ADMISSION.heartbeat.name), None)
    depth, lag = (own["queue_depth"], own["lag_s"]) if own else (METRICS.queue_depth,
                                                                 METRICS.lag_s)
    return {"counts": dict(METRICS.counts), "queue_depth": depth, "lag_s": lag,
            "last_batch_at": METRICS.last_batch_at, "http_ingest": own, "processes": procs}


@router.get("/kpis")
def get_kpis(db: DbDep, actor: ActorDep, site_id: int | None = None,
             region: Annotated[str | None, Query(pattern=r"^KZ-\d{2}$")] = None,
             hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24) -> Any:
    return kpis.compute(db=db, actor=actor, site_id=site_id, region=region, hours=hours)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses=file_responses(EVENT_STREAM, description="Server-sent events"),
)
async def stream(request: Request, db: DbDep, actor: ActorDep,
                 site_id: int | None = None,
                 max_s: Annotated[float | None, Query(gt=0, le=3600)] = None) -> StreamingResponse:
    """Server-sent events: alarm transitions in the caller's scope, pushed as they happen."""
    actor.require(READ)
    if site_id is not None:  # another tenant's site is a 404, as everywhere
        routing.addressed_site(db, actor, site_id)
    return StreamingResponse(live.events(request, actor, site_id, max_s),
                             media_type=EVENT_STREAM,
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


@router.get("/sites/{site_id}/errors")
def ingest_errors(site_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.ingest_errors(db=db, actor=actor, site_id=site_id)


@router.get("/sites/{site_id}/presence")
def presence(site_id: int, db: DbDep, actor: ActorDep) -> Any:
    return {"zones": positioning.presence(db=db, actor=actor, site_id=site_id),
            "withdrawals": positioning.withdrawal_status(db=db, actor=actor, site_id=site_id)}


@router.post("/sites/{site_id}/withdraw", status_code=201)
def withdraw(site_id: int, data: WithdrawIn, db: DbDep, actor: ActorDep) -> Any:
    """Order people out of zones of the site, with an alarm or without one (the dispatcher's
    own order): listed, commanded through the outbox, counted live until all are safe."""
    w = positioning.broadcast(db=db, actor=actor, site_id=site_id, zones=data.zones,
                              alarm_id=data.alarm_id, reason=data.reason)
    return {"id": w.id, "zones": w.zones, "inside": w.inside, "people": w.people,
            "alarm_id": w.alarm_id, "started_by": w.started_by, "reason": w.reason}


@router.post("/withdrawals/{withdrawal_id}/people/{device_id}/safe")
def confirm_safe(withdrawal_id: int, device_id: int, data: ReasonIn, db: DbDep,
                 actor: ActorDep) -> Any:
    """Count a person out of a withdrawal by hand, with the reason (their wearable is dead or
    was left behind; they were seen safe): audited, the count pushed live."""
    w = positioning.confirm_safe(db=db, actor=actor, withdrawal_id=withdrawal_id,
                                 device_id=device_id, reason=data.reason)
    return {"id": w.id, "inside": w.inside, "people": w.people,
            "completed_at": w.completed_at}


@router.get("/{alarm_id}", response_model=AlarmOut)
def get_alarm(alarm_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_alarm(db=db, actor=actor, alarm_id=alarm_id)


@router.get("/{alarm_id}/events", response_model=list[AlarmEventOut])
def alarm_events(alarm_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.alarm_history(db=db, actor=actor, alarm_id=alarm_id)


@router.get("/{alarm_id}/notifications")
def alarm_notifications(alarm_id: int, db: DbDep, actor: ActorDep) -> Any:
    """Each row's channel, target, tier, status, attempts, time and `error` as the row holds
    it; a held row also why (`reason` in the caller's language, `flood_since`,
    `alarms_in_10_min`). Without alarms.contacts.read (mine rescue) an sms/email/webhook
    target is masked, and so is any address in `error`."""
    return [{k: v for k, v in n.items() if k != "id"}
            for n in service.notification_rows(db=db, actor=actor, alarm_id=alarm_id)]


@router.post("/{alarm_id}/ack", response_model=AlarmOut)
def ack(alarm_id: int, data: AckIn, db: DbDep, actor: ActorDep) -> Any:
    return service.acknowledge(db=db, actor=actor, alarm_id=alarm_id, data=data)


@router.post("/{alarm_id}/shelve", response_model=AlarmOut)
def shelve(alarm_id: int, data: ShelveIn, db: DbDep, actor: ActorDep) -> Any:
    return service.shelve(db=db, actor=actor, alarm_id=alarm_id, data=data)


@router.post("/{alarm_id}/unshelve", response_model=AlarmOut)
def unshelve(alarm_id: int, data: ReasonIn, db: DbDep, actor: ActorDep) -> Any:
    """Bring a shelved alarm back before its shelf time runs out."""
    return service.unshelve(db=db, actor=actor, alarm_id=alarm_id, data=data)


@router.post("/{alarm_id}/reset", response_model=AlarmOut)
def reset(alarm_id: int, data: ReasonIn, db: DbDep, actor: ActorDep) -> Any:
    """Reset a latched alarm whose condition has cleared (it returns to normal)."""
    return service.reset(db=db, actor=actor, alarm_id=alarm_id, data=data)


@router.post("/{alarm_id}/suppress", response_model=AlarmOut)
def suppress(alarm_id: int, data: ReasonIn, db: DbDep, actor: ActorDep) -> Any:
    """Suppress by design (configure right; never a life-safety alarm)."""
    return service.suppress(db=db, actor=actor, alarm_id=alarm_id, data=data)


@router.post("/{alarm_id}/unsuppress", response_model=AlarmOut)
def unsuppress(alarm_id: int, data: ReasonIn, db: DbDep, actor: ActorDep) -> Any:
    return service.unsuppress(db=db, actor=actor, alarm_id=alarm_id, data=data)


@router.post("/{alarm_id}/resolve", response_model=AlarmOut)
def resolve(alarm_id: int, data: ResolveIn, db: DbDep, actor: ActorDep) -> Any:
    return service.resolve(db=db, actor=actor, alarm_id=alarm_id, data=data)


_ = (asyncio, datetime, orjson)
