"""Alarm configuration pages for people who do not program: a device's limits, a site's
escalation tiers and times, its work shifts and console operators, and each person's own
channels and quiet hours.

A rejected form comes back with status 422, the entered values kept and the error next to
the field it names; a permission or scope failure is a 403 / 404, never a form error."""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from qorgau.alarms import constants as C
from qorgau.alarms import gateways, routing, service, shifts
from qorgau.alarms.schemas import (
    ContactIn,
    ContactLangIn,
    ContactPatch,
    DevicePatch,
    EscalationIn,
    GatewayIn,
    Limits,
    ShiftsIn,
)
from qorgau.core.deps import DbDep
from qorgau.core.errors import Conflict, DomainError, RuleViolation
from qorgau.core.i18n import LANGUAGE_NAMES
from qorgau.core.i18n import gettext as _
from qorgau.core.labels import N_
from qorgau.core.web import FormActorDep, PageActorDep, render
from qorgau.registry import service as registry

router = APIRouter(include_in_schema=False)

ROLES = {"dispatcher": N_("Shift dispatcher"), "mine_rescue": N_("Mine rescue"),
         "inspectorate": N_("Inspectorate"), "management": N_("Management")}
CHANNELS = {"inapp": N_("In-app (console)"), "email": N_("E-mail"), "sms": N_("SMS"),
            "webhook": N_("Webhook")}
PRIORITIES = {1: N_("Only priority 1 (danger)"), 2: N_("Priority 1 and 2"),
              3: N_("All priorities")}
# Messages of our own validators and service rules, marked here so they are translated.
_RULES = {
    "HIHI must be at least HI": N_("HIHI must be at least HI"),
    "LO must not exceed HI": N_("LO must not exceed HI"),
    "LOLO must not exceed LO": N_("LOLO must not exceed LO"),
    "STEL must be at least the TWA limit": N_("STEL must be at least the TWA limit"),
    "give both the start and the end": N_("Give both the start and the end of the quiet hours"),
    "must differ from the start": N_("The end must differ from the start"),
    "calibration_due must not be before": N_("Calibration due must not be before calibrated on"),
    "a webhook target must be": N_("A webhook target must be an http(s) URL"),
    "not an e-mail address": N_("Not an e-mail address"),
    "an SMS target is a phone number": N_("An SMS target is a phone number (+7 …)"),
    "not an account of this": N_("Not an account of this enterprise or its region"),
    "must be a finite number": N_("Enter a number"),
    "not a time of day": N_("Enter each time as HH:MM, from 00:00 to 23:59"),
    "give at least one shift start": N_("Give at least one shift start time"),
    "a shift start time is given twice": N_("A shift start time is given twice"),
    "shifts a day": N_("At most 6 shifts a day"),
    "shifts must be at least": N_("Shifts must start at least 4 hours apart"),
}
_TYPES = {
    "greater_than_equal": (N_("Must be at least %(n)s"), "ge"),
    "greater_than": (N_("Must be more than %(n)s"), "gt"),
    "less_than_equal": (N_("Must be at most %(n)s"), "le"),
    "float_parsing": (N_("Enter a number"), ""),
    "int_parsing": (N_("Enter a whole number"), ""),
    "int_type": (N_("Enter a whole number"), ""),
    "time_parsing": (N_("Enter a time as HH:MM"), ""),
    "string_too_short": (N_("Too short (at least %(n)s characters)"), "min_length"),
    "string_too_long": (N_("Too long (at most %(n)s characters)"), "max_length"),
    "literal_error": (N_("Choose one of the offered values"), ""),
    "missing": (N_("Required"), ""),
}


def _text(msg: str) -> str:
    for key, label in _RULES.items():
        if key in msg:
            return _(label)
    return msg


def form_errors(exc: Exception) -> dict[str, str]:
    """{field: translated message} from a ValidationError or a RuleViolation."""
    if isinstance(exc, RuleViolation):
        return {exc.field or "_": _text(exc.message)}
    out: dict[str, str] = {}
    assert isinstance(exc, ValidationError)
    for e in exc.errors():
        field = str(e["loc"][-1]) if e["loc"] else "_"
        label, key = _TYPES.get(e["type"], (None, ""))
        if label is None:
            out.setdefault(field, _text(e["msg"]))
        else:
            out.setdefault(field, _(label) % {"n": (e.get("ctx") or {}).get(key, "")})
    return out


def _num(v: Any) -> str:
    """Form number as typed: a decimal comma is accepted (kk/ru keyboards)."""
    return str(v or "").strip().replace(",", ".")


def _whole(typed: str) -> int | str:
    """A whole number as typed, else the text itself for the strict schema to refuse by field
    (an empty field too: the form always shows the number, so empty is a mistake). Digits
    only and short, so a pasted thousand-digit number is a field error, not int()'s limit."""
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 10 else typed


# --- device limits ----------------------------------------------------------------------------

def _device_ctx(db: DbDep, actor: Any, device_id: int) -> dict[str, Any]:
    dev = service.get_device(db=db, actor=actor, device_id=device_id)
    site = registry.get_site(db=db, actor=actor, site_id=dev.site_id)
    fields = C.APPLICABLE_LIMITS.get(dev.quantity, C.LIMIT_FIELDS)
    return {"d": dev, "site": site, "fields": fields, "labels": C.LIMIT_LABELS,
            "values": {f: dev.limits.get(f, "") for f in fields},
            "form": {"calibrated_on": dev.calibrated_on or "",
                     "calibration_due": dev.calibration_due or "", "enabled": dev.enabled,
                     "latching": dev.latching},
            "errors": {}, "can_configure": actor.can(C.CONFIGURE), "units": C.UNITS,
            "defaults": service.default_limits(site.kind, dev.quantity),
            "trail": routing.changes(db=db, object_type="alarm_device", object_ids=[dev.id]),
            "hhmm": routing.hhmm}


@router.get("/alarms/devices/{device_id}", response_class=HTMLResponse)
def device_page(request: Request, device_id: int, db: DbDep,
                actor: PageActorDep) -> HTMLResponse:
    ctx = _device_ctx(db, actor, device_id)
    ctx["saved"] = request.query_params.get("saved") == "1"
    return render(request, "alarms/device.html", ctx, actor=actor)


@router.post("/alarms/devices/{device_id}", response_model=None)
async def device_save(request: Request, device_id: int, db: DbDep,
                      actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    """Save the limits as a new revision; the site's engine runtime is rebuilt from it on the
    next reading (its signature includes every device's revision)."""
    actor.require(C.CONFIGURE)
    form = await request.form()
    ctx = _device_ctx(db, actor, device_id)
    dev = ctx["d"]
    shown = {f: _num(form.get(f)) for f in ctx["fields"]}
    # Limits the editor does not show for this quantity are kept as they are.
    kept = {k: v for k, v in dev.limits.items() if k not in shown}
    try:
        limits = Limits(**kept, **{k: v for k, v in shown.items() if v})
        patch = DevicePatch(limits=limits, reason=str(form.get("reason", "")).strip(),
                            enabled=form.get("enabled") == "on",
                            latching=form.get("latching") == "on",
                            calibrated_on=form.get("calibrated_on") or None,
                            calibration_due=form.get("calibration_due") or None)
        service.update_device(db=db, actor=actor, device_id=dev.id, data=patch)
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ctx = _device_ctx(db, actor, device_id)
        ctx.update(values=shown, errors=form_errors(exc), reason=form.get("reason", ""),
                   form={"calibrated_on": form.get("calibrated_on", ""),
                         "calibration_due": form.get("calibration_due", ""),
                         "enabled": form.get("enabled") == "on",
                         "latching": form.get("latching") == "on"})
        return render(request, "alarms/device.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/alarms/devices/{dev.id}?saved=1", status_code=303)


# --- a site's escalation tiers and times ------------------------------------------------------

def _routing_ctx(db: DbDep, actor: Any, site_id: int) -> dict[str, Any]:
    site = registry.get_site(db=db, actor=actor, site_id=site_id)  # 404 outside the scope
    contacts = routing.list_contacts(db=db, actor=actor, site_id=site.id)
    can = actor.can(C.CONFIGURE)
    return {"site": site, "tiers": {t: [c for c in contacts if c.tier == t] for t in (1, 2, 3, 4)},
            "policy": routing.get_policy(db=db, actor=actor, site_id=site.id),
            "people": routing.people(db=db, actor=actor, site_id=site.id) if can else [],
            "can_configure": can, "roles": ROLES, "channels": CHANNELS,
            "priorities": PRIORITIES, "hhmm": routing.hhmm, "errors": {}, "new": {},
            "esc_errors": {}, "trail": routing.site_changes(db=db, site_id=site.id),
            "shifts": shifts.settings(db=db, actor=actor, site_id=site.id),
            "shift_errors": {}, "languages": LANGUAGE_NAMES, "lang_errors": {}}


@router.get("/alarms/sites/{site_id}/routing", response_class=HTMLResponse)
def routing_page(request: Request, site_id: int, db: DbDep,
                 actor: PageActorDep) -> HTMLResponse:
    actor.require(C.READ)
    ctx = _routing_ctx(db, actor, site_id)
    ctx["saved"] = request.query_params.get("saved") == "1"
    return render(request, "alarms/routing.html", ctx, actor=actor)


@router.post("/alarms/sites/{site_id}/escalation", response_model=None)
async def escalation_save(request: Request, site_id: int, db: DbDep,
                          actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    actor.require(C.CONFIGURE)
    form = await request.form()
    keys = ("tier2_after_s", "tier3_after_s", "tier4_after_s", "reminder_s")
    try:
        data = EscalationIn(**{k: _num(form.get(k)) for k in keys},
                            reason=str(form.get("reason", "")).strip())
        routing.set_policy(db=db, actor=actor, site_id=site_id, data=data)
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ctx = _routing_ctx(db, actor, site_id)
        ctx["policy"] = {k: form.get(k, "") for k in keys}
        ctx.update(esc_errors=form_errors(exc), esc_reason=form.get("reason", ""))
        return render(request, "alarms/routing.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/alarms/sites/{site_id}/routing?saved=1", status_code=303)


@router.post("/alarms/sites/{site_id}/shifts", response_model=None)
async def shifts_save(request: Request, site_id: int, db: DbDep,
                      actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    """The site's shift starts, typed as "08:00, 20:00" (commas, semicolons or spaces), and
    its console operators on duty at a time."""
    actor.require(C.CONFIGURE)
    form = await request.form()
    typed = str(form.get("shift_starts", "")).strip()
    ops = form.get("console_operators")  # a form without the field keeps the number
    ops = None if ops is None else str(ops).strip()
    try:
        data = ShiftsIn(shift_starts=[t for t in re.split(r"[,;\s]+", typed) if t],
                        console_operators=None if ops is None else _whole(ops),
                        reason=str(form.get("reason", "")).strip())
        shifts.set_settings(db=db, actor=actor, site_id=site_id, data=data)
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ctx = _routing_ctx(db, actor, site_id)
        ctx.update(shift_errors=form_errors(exc), shift_typed=typed, operators_typed=ops,
                   shift_reason=form.get("reason", ""))
        return render(request, "alarms/routing.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/alarms/sites/{site_id}/routing?saved=1", status_code=303)


@router.post("/alarms/sites/{site_id}/contacts", response_model=None)
async def contact_add(request: Request, site_id: int, db: DbDep,
                      actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    actor.require(C.CONFIGURE)
    form = await request.form()
    raw = {k: str(form.get(k, "")).strip() for k in (
        "tier", "role", "channel", "target", "secret", "min_priority", "name", "user_id",
        "quiet_start", "quiet_end", "lang")}
    try:
        data = ContactIn(site_id=site_id, **{k: v for k, v in raw.items() if v})
        routing.add_contact(db=db, actor=actor, data=data)
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ctx = _routing_ctx(db, actor, site_id)
        ctx.update(errors=form_errors(exc), new=raw)
        return render(request, "alarms/routing.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/alarms/sites/{site_id}/routing?saved=1", status_code=303)


@router.post("/alarms/contacts/{contact_id}/lang", response_model=None)
async def contact_lang(request: Request, contact_id: int, db: DbDep,
                       actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    """A contact's language of alarm texts, changed on the routing page (audited)."""
    actor.require(C.CONFIGURE)
    form = await request.form()
    site_id = routing.contact_site(db=db, actor=actor, contact_id=contact_id)
    try:
        data = ContactLangIn(lang=str(form.get("lang", "")),
                             reason=str(form.get("reason", "")).strip())
        routing.set_contact_lang(db=db, actor=actor, contact_id=contact_id, data=data)
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ctx = _routing_ctx(db, actor, site_id)
        ctx.update(lang_errors={contact_id: form_errors(exc).get("lang", "")})
        return render(request, "alarms/routing.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/alarms/sites/{site_id}/routing?saved=1", status_code=303)


@router.post("/alarms/contacts/{contact_id}/remove")
def contact_remove(contact_id: int, db: DbDep, actor: FormActorDep,
                   site_id: Annotated[int, Form()]) -> RedirectResponse:
    routing.remove_contact(db=db, actor=actor, contact_id=contact_id)
    return RedirectResponse(f"/alarms/sites/{site_id}/routing?saved=1", status_code=303)


# --- a site's gateways and their keys ---------------------------------------------------------

def _gateways_page(request: Request, db: DbDep, actor: Any, site_id: int, *,
                   issued: tuple[str, str] | None = None, errors: dict[str, str] | None = None,
                   name: str = "", status_code: int = 200) -> HTMLResponse:
    """The page; `issued` (name, key) shows a new key once: never cached, never stored."""
    site = registry.get_site(db=db, actor=actor, site_id=site_id)  # 404 outside the scope
    gws = gateways.list_gateways(db=db, actor=actor, site_id=site.id)
    resp = render(request, "alarms/gateways.html", {
        "site": site, "gateways": gws, "issued": issued, "errors": errors or {}, "name": name,
        "can_configure": actor.can(C.CONFIGURE), "hhmm": routing.hhmm,
        "trail": routing.changes(db=db, object_type="alarm_gateway",
                                 object_ids=[g.id for g in gws])},
        actor=actor, status_code=status_code)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/alarms/sites/{site_id}/gateways", response_class=HTMLResponse)
def gateways_page(request: Request, site_id: int, db: DbDep,
                  actor: PageActorDep) -> HTMLResponse:
    actor.require(C.READ)
    return _gateways_page(request, db, actor, site_id)


@router.post("/alarms/sites/{site_id}/gateways", response_model=None)
async def gateway_add(request: Request, site_id: int, db: DbDep,
                      actor: FormActorDep) -> HTMLResponse:
    actor.require(C.CONFIGURE)
    name = str((await request.form()).get("name", "")).strip()
    try:
        gw, key = gateways.create_gateway(db=db, actor=actor,
                                         data=GatewayIn(site_id=site_id, name=name))
    except (ValidationError, RuleViolation, Conflict) as exc:
        db.rollback()
        errs = ({"name": _("This name is taken")} if isinstance(exc, Conflict)
                else form_errors(exc))
        if isinstance(exc, ValidationError) and any(
                e["type"] == "string_pattern_mismatch" for e in exc.errors()):
            errs["name"] = _("Only lowercase Latin letters, digits, - and _")
        return _gateways_page(request, db, actor, site_id, errors=errs, name=name,
                              status_code=409 if isinstance(exc, Conflict) else 422)
    return _gateways_page(request, db, actor, site_id, issued=(gw.name, key),
                          status_code=201)


@router.post("/alarms/gateways/{gateway_id}/rotate", response_model=None)
def gateway_rotate(request: Request, gateway_id: int, db: DbDep,
                   actor: FormActorDep) -> HTMLResponse:
    gw, key = gateways.rotate_gateway_key(db=db, actor=actor, gateway_id=gateway_id)
    return _gateways_page(request, db, actor, gw.site_id, issued=(gw.name, key))


# --- each person's own channels ---------------------------------------------------------------

def _mine_ctx(db: DbDep, actor: Any) -> dict[str, Any]:
    rows = routing.my_contacts(db=db, actor=actor)
    sites = {}
    for sid in {c.site_id for c in rows}:
        # a site outside the person's reading scope is shown by its number
        with contextlib.suppress(DomainError):
            sites[sid] = registry.get_site(db=db, actor=actor, site_id=sid).name
    return {"rows": rows, "sites": sites, "channels": CHANNELS, "roles": ROLES,
            "hhmm": routing.hhmm, "errors": {}, "failed": None, "values": {}}


@router.get("/alarms/my-channels", response_class=HTMLResponse)
def my_channels(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    ctx = _mine_ctx(db, actor)
    ctx["saved"] = request.query_params.get("saved") == "1"
    return render(request, "alarms/my_channels.html", ctx, actor=actor)


@router.post("/alarms/my-channels/{contact_id}", response_model=None)
async def my_channel_save(request: Request, contact_id: int, db: DbDep,
                          actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    form = await request.form()
    raw = {k: str(form.get(k, "")).strip() for k in ("target", "quiet_start", "quiet_end")}
    try:
        data = ContactPatch(**{k: v for k, v in raw.items() if v})
        routing.update_my_contact(db=db, actor=actor, contact_id=contact_id, data=data)
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ctx = _mine_ctx(db, actor)
        ctx.update(errors=form_errors(exc), failed=contact_id, values=raw)
        return render(request, "alarms/my_channels.html", ctx, actor=actor, status_code=422)
    return RedirectResponse("/alarms/my-channels?saved=1", status_code=303)
