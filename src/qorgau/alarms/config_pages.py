"""Alarm configuration pages for people who do not program: a device's limits, a site's
escalation tiers and times, its work shifts and console operators, the alarm consoles shared
by sites, and each person's own channels and quiet hours.

A rejected form comes back with status 422, the entered values kept and the error next to
the field it names; a permission or scope failure is a 403 / 404, never a form error."""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from qorgau.alarms import consoles, gateways, routing, service, shifts
from qorgau.alarms import constants as C
from qorgau.alarms.forms import form_errors, rule_text, typed_number, whole
from qorgau.alarms.models import Device
from qorgau.alarms.schemas import (
    ConsoleIn,
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
from qorgau.core.i18n import LANGUAGE_NAMES, domain_gettext, localized_name
from qorgau.core.labels import N_
from qorgau.core.security import scoped
from qorgau.core.web import ENV, FormActorDep, PageActorDep, render
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise, Site

_ = domain_gettext("alarms")  # this domain's translation of a msgid others share

router = APIRouter(include_in_schema=False)

ROLES, CHANNELS = C.CONTACT_ROLES, C.CHANNEL_LABELS
# the change history's names (`_trail.html`) on every page that includes it
ENV.globals.update(change_label=C.change_label, change_value=C.change_value)
PRIORITIES = {1: N_("Only priority 1 (danger)"), 2: N_("Priority 1 and 2"),
              3: N_("All priorities")}
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
    shown = {f: typed_number(form.get(f)) for f in ctx["fields"]}
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
        ctx.update(values=shown, errors=_kept_errors(form_errors(exc), kept),
                   reason=form.get("reason", ""),
                   form={"calibrated_on": form.get("calibrated_on", ""),
                         "calibration_due": form.get("calibration_due", ""),
                         "enabled": form.get("enabled") == "on",
                         "latching": form.get("latching") == "on"})
        return render(request, "alarms/device.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/alarms/devices/{dev.id}?saved=1", status_code=303)


def _kept_errors(errors: dict[str, str], kept: dict[str, Any]) -> dict[str, str]:
    """An error on a limit the page does not show (set through the API, kept as it is) is
    told above the form, naming the limit: no field below could be marked."""
    for f in [f for f in errors if f in kept]:
        said = _("%(limit)s, kept from an earlier setting and not on this page: %(error)s") % {
            "limit": _(C.LIMIT_LABELS.get(f, f)), "error": errors.pop(f)}
        errors["_"] = f"{errors['_']} {said}" if errors.get("_") else said
    return errors


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
            "shift_errors": {}, "languages": LANGUAGE_NAMES, "lang_errors": {},
            "shared": _shared_console(db, actor, site.id),
            "left": routing.accounts_left(db, contacts)}


def _shared_console(db: DbDep, actor: Any, site_id: int) -> dict[str, Any] | None:
    """The shared console the site's alarms go to now, if any: while it is on one, the KPIs
    count that console's operators, not the site's own number."""
    console_id = consoles.current(db, [site_id]).get(site_id)
    return None if console_id is None else consoles.get(db=db, actor=actor,
                                                        console_id=console_id)


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
        data = EscalationIn(**{k: typed_number(form.get(k)) for k in keys},
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
                        console_operators=None if ops is None else whole(ops),
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


# --- alarm consoles shared by sites -----------------------------------------------------------

def _alarm_sites(db: DbDep, actor: Any) -> list[Site]:
    """The caller's sites with alarm devices, by name: the sites a console can take."""
    with_devices = scoped(select(Device.site_id).distinct(), Device, actor)
    return list(db.scalars(scoped(select(Site), Site, actor).where(Site.id.in_(with_devices))
                           .order_by(Site.name, Site.id)))


def _site_groups(db: DbDep, sites: list[Site],
                 regions: dict[str, str]) -> list[tuple[str, list[Site]]]:
    """Sites by enterprise and region, labelled: a console takes sites of one of each."""
    ents = dict(db.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_({s.enterprise_id for s in sites}))).tuples().all()) if sites else {}
    groups: dict[tuple[str, str], list[Site]] = {}
    for s in sites:
        name = ents.get(s.enterprise_id, f"#{s.enterprise_id}")
        groups.setdefault((name, regions.get(s.region_code, s.region_code)), []).append(s)
    return [(f"{e} · {r}", rows) for (e, r), rows in sorted(groups.items())]


def _candidates(console: dict[str, Any], sites: list[Site]) -> list[tuple[int, str]]:
    """A console's choice of sites: its enterprise's alarm sites in its region, and the sites
    on it now even without devices (not offered, they would leave it on the next save)."""
    home = (console["enterprise_id"], console["region_code"])
    rows = {s.id: s.name for s in sites if (s.enterprise_id, s.region_code) == home}
    rows.update({m["id"]: m["name"] for m in console["sites"]})
    return sorted(rows.items(), key=lambda r: (r[1], r[0]))


def _consoles_ctx(db: DbDep, actor: Any) -> dict[str, Any]:
    actor.require(C.READ)
    rows = consoles.listing(db=db, actor=actor)
    sites = _alarm_sites(db, actor)
    on = consoles.current(db, [s.id for s in sites])
    regions = {r.iso: localized_name(r) for r in registry.regions(db=db)}
    return {"consoles": rows, "candidates": {c["id"]: _candidates(c, sites) for c in rows},
            "groups": _site_groups(db, sites, regions), "on": on, "regions": regions,
            # a site's console shares its enterprise and region, so it is among `rows`
            "console_names": {c["id"]: c["name"] for c in rows},
            "can_configure": actor.can(C.CONFIGURE), "errors": {}, "failed": None,
            "typed": {}, "trail": routing.changes(db=db, object_type="alarm_console",
                                                  object_ids=[c["id"] for c in rows])}


def _console_typed(form: FormData) -> dict[str, Any]:
    """The console form as typed, kept for a re-render."""
    return {"name": str(form.get("name", "")), "operators": str(form.get("operators", "")).strip(),
            "site_ids": [str(v).strip() for v in form.getlist("site_ids")],
            "revision": str(form.get("revision", "")).strip(),
            "reason": str(form.get("reason", "")).strip()}


def _console_in(typed: dict[str, Any], *, editing: bool) -> ConsoleIn:
    return ConsoleIn(name=typed["name"], operators=whole(typed["operators"]),
                     site_ids=[whole(v) for v in typed["site_ids"]],
                     revision=whole(typed["revision"]) if editing else None,
                     reason=typed["reason"])


def _console_errors(exc: Exception, typed: dict[str, Any]) -> dict[str, str]:
    if isinstance(exc, Conflict):
        return {exc.field or "_": rule_text(exc.message)}
    # a site id's error is located at its index in the list: shown at the site boxes
    errs = {"site_ids" if k.isdigit() else k: v for k, v in form_errors(exc).items()}
    if "name" in errs and not typed["name"].strip():  # "too short" says less for a blank
        errs["name"] = _("Give the console a name")
    return errs


def _console_failed(request: Request, db: DbDep, actor: Any, failed: int | str,
                    typed: dict[str, Any], exc: Exception) -> HTMLResponse:
    """The page again with that form as typed and the error at its field: 422, or 409 when
    someone else's edit or a console of that name came first."""
    db.rollback()
    errors = _console_errors(exc, typed)
    if failed == "new" and not typed["site_ids"]:  # said now, not once the rest is right
        errors.setdefault("site_ids", _("Tick at least one site for a new console"))
    ctx = _consoles_ctx(db, actor)
    ctx.update(failed=failed, typed=typed, errors=errors)
    return render(request, "alarms/consoles.html", ctx, actor=actor,
                  status_code=409 if isinstance(exc, Conflict) else 422)


@router.get("/alarms/consoles", response_class=HTMLResponse)
def consoles_page(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    ctx = _consoles_ctx(db, actor)
    ctx["saved"] = request.query_params.get("saved") == "1"
    return render(request, "alarms/consoles.html", ctx, actor=actor)


@router.post("/alarms/consoles", response_model=None)
async def console_create(request: Request, db: DbDep,
                         actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    actor.require(C.CONFIGURE)
    typed = _console_typed(await request.form())
    try:
        consoles.create(db=db, actor=actor, data=_console_in(typed, editing=False))
    except (ValidationError, RuleViolation, Conflict) as exc:
        return _console_failed(request, db, actor, "new", typed, exc)
    return RedirectResponse("/alarms/consoles?saved=1", status_code=303)


@router.post("/alarms/consoles/{console_id}", response_model=None)
async def console_save(request: Request, console_id: int, db: DbDep,
                       actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    actor.require(C.CONFIGURE)
    consoles.get(db=db, actor=actor, console_id=console_id)  # 404 outside the scope, not 422
    typed = _console_typed(await request.form())
    try:
        consoles.save(db=db, actor=actor, console_id=console_id,
                      data=_console_in(typed, editing=True))
    except (ValidationError, RuleViolation, Conflict) as exc:
        return _console_failed(request, db, actor, console_id, typed, exc)
    return RedirectResponse(f"/alarms/consoles?saved=1#console-{console_id}", status_code=303)


# --- each person's own channels ---------------------------------------------------------------

def _mine_ctx(db: DbDep, actor: Any) -> dict[str, Any]:
    rows = routing.my_contacts(db=db, actor=actor)
    sites = {}
    for sid in {c.site_id for c in rows}:
        # a site outside the person's reading scope is shown by its number
        with contextlib.suppress(DomainError):
            sites[sid] = registry.get_site(db=db, actor=actor, site_id=sid).name
    return {"rows": rows, "sites": sites, "channels": CHANNELS, "roles": ROLES,
            "languages": LANGUAGE_NAMES, "hhmm": routing.hhmm, "errors": {}, "failed": None,
            "values": {}}


@router.get("/alarms/my-channels", response_class=HTMLResponse)
def my_channels(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    ctx = _mine_ctx(db, actor)
    ctx["saved"] = request.query_params.get("saved") == "1"
    return render(request, "alarms/my_channels.html", ctx, actor=actor)


@router.post("/alarms/my-channels/{contact_id}", response_model=None)
async def my_channel_save(request: Request, contact_id: int, db: DbDep,
                          actor: FormActorDep) -> RedirectResponse | HTMLResponse:
    form = await request.form()
    raw = {k: str(form.get(k, "")).strip()
           for k in ("target", "quiet_start", "quiet_end", "lang")}
    try:
        data = ContactPatch(**{k: v for k, v in raw.items() if v})
        routing.update_my_contact(db=db, actor=actor, contact_id=contact_id, data=data)
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ctx = _mine_ctx(db, actor)
        ctx.update(errors=form_errors(exc), failed=contact_id, values=raw)
        return render(request, "alarms/my_channels.html", ctx, actor=actor, status_code=422)
    return RedirectResponse("/alarms/my-channels?saved=1", status_code=303)
