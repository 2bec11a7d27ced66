"""Who is told, when: escalation tiers (contacts per site) and per-site escalation times, each
person's own channels and quiet hours; and the site's work shifts (when exposure doses
restart). Edited in the UI by people who do not program; every change is validated (the error
names the field) and audited with before and after."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.accounts import service as accounts
from qorgau.alarms import constants as C
from qorgau.alarms.exceptions import ContactNotFound
from qorgau.alarms.models import Contact, EscalationPolicy
from qorgau.alarms.schemas import ContactIn, ContactLangIn, ContactPatch, EscalationIn
from qorgau.core import audit
from qorgau.core.config import get_settings
from qorgau.core.db import fetch_raw, utcnow
from qorgau.core.errors import RuleViolation
from qorgau.core.i18n import LANGUAGES
from qorgau.core.roles import Role
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.registry import service as registry

CONTACT_FIELDS = ["site_id", "tier", "role", "channel", "target", "min_priority", "name",
                  "user_id", "quiet_start", "quiet_end", "lang"]
POLICY_FIELDS = ["tier2_after_s", "tier3_after_s", "tier4_after_s", "reminder_s", "revision"]
LOCAL_UTC_OFFSET = timedelta(hours=5)  # Kazakhstan keeps one time zone, UTC+5, since 2024


@dataclass(frozen=True)
class Delays:
    """Seconds before tier 1→2, 2→3, 3→4, then between reminders."""

    escalation: tuple[float, float, float]
    reminder: float


DEFAULT_DELAYS = Delays(C.ESCALATION_S, C.REMINDER_S)


def site(db: Session, actor: Actor, site_id: int) -> Any:
    """A site named in the input (a contact's site_id): outside the scope it is a field error."""
    try:
        return registry.get_site(db=db, actor=actor, site_id=site_id)
    except Exception as exc:  # NotFound or Forbidden from the registry: same answer, no data
        raise RuleViolation("unknown site", field="site_id") from exc


def addressed_site(db: Session, actor: Actor, site_id: int) -> Any:
    """A site in the address (/sites/{id}/...): outside the scope it is a 404, as on the pages."""
    return registry.get_site(db=db, actor=actor, site_id=site_id)


# --- escalation times -------------------------------------------------------------------------

def delays(db: Session, site_id: int) -> Delays:
    """The site's escalation times (the engine side calls this; no actor, no scope). Read once
    per transaction and site: a raise of HI and HIHI asks twice, and a new transaction (the
    next batch) sees an edit."""
    tx = db.get_transaction()
    if tx is None:  # not begun: this query begins it
        return _delays(db, site_id)
    memo = db.info.get(_DELAYS_MEMO)
    if memo is None or memo[0] is not tx:
        memo = db.info[_DELAYS_MEMO] = (tx, {})
    d = memo[1].get(site_id)
    if d is None:
        d = memo[1][site_id] = _delays(db, site_id)
    return d


_DELAYS_MEMO = "qorgau.alarms.delays"


_DELAYS_RAW = ("SELECT tier2_after_s, tier3_after_s, tier4_after_s, reminder_s "
               "FROM alarm_escalation WHERE site_id = {p}")


def _delays(db: Session, site_id: int) -> Delays:
    # four columns on the DBAPI cursor, not the entity: this is on the life-safety raise path
    rows = fetch_raw(db, _DELAYS_RAW, (site_id,))
    if not rows:
        return DEFAULT_DELAYS
    t2, t3, t4, reminder = rows[0]
    return Delays((float(t2), float(t3), float(t4)), float(reminder))


def get_policy(*, db: Session, actor: Actor, site_id: int) -> dict[str, Any]:
    actor.require(C.READ)
    s = addressed_site(db, actor, site_id)
    p = db.scalar(select(EscalationPolicy).where(EscalationPolicy.site_id == s.id))
    if p is None:
        e = DEFAULT_DELAYS.escalation
        return {"tier2_after_s": int(e[0]), "tier3_after_s": int(e[1]),
                "tier4_after_s": int(e[2]), "reminder_s": int(DEFAULT_DELAYS.reminder),
                "revision": 0}
    return audit.snapshot(p, POLICY_FIELDS)


def set_policy(*, db: Session, actor: Actor, site_id: int, data: EscalationIn
               ) -> EscalationPolicy:
    """Set the site's escalation times; takes effect at the next escalation deadline."""
    actor.require(C.CONFIGURE)
    s = addressed_site(db, actor, site_id)
    values = data.model_dump(exclude={"reason"})
    p = db.scalar(select(EscalationPolicy).where(EscalationPolicy.site_id == s.id))
    before = audit.snapshot(p, POLICY_FIELDS) if p else None
    if p is None:
        p = EscalationPolicy(site_id=s.id, enterprise_id=s.enterprise_id,
                             region_code=s.region_code, created_by=actor.label, revision=0,
                             **values)
        db.add(p)
    else:
        for k, v in values.items():
            setattr(p, k, v)
    p.revision += 1
    db.flush()
    db.info.pop(_DELAYS_MEMO, None)
    audit.record(db, actor=actor, action="alarms.escalation.set", object_type="alarm_escalation",
                 object_id=p.id, before=before,
                 after={**audit.snapshot(p, POLICY_FIELDS), "site_id": s.id,
                        "reason": data.reason})
    db.commit()
    return p


# --- work shifts (exposure doses restart at each start) ----------------------------------------

def shift_schedules(db: Session) -> dict[int, tuple[str, ...]]:
    """Every site's shift starts that differ from the product default (the worker's tick asks
    once per tick; no actor, no scope)."""
    stmt = select(EscalationPolicy.site_id, EscalationPolicy.shift_starts).where(
        EscalationPolicy.shift_starts.is_not(None))
    return {sid: tuple(v) for sid, v in db.execute(stmt) if v}


# --- contacts (escalation tiers) --------------------------------------------------------------

def people(*, db: Session, actor: Actor, site_id: int) -> list[tuple[int, str]]:
    """Accounts a contact may belong to: the enterprise's OSH officers, shift dispatchers and
    workers, and the region's inspectors and mine rescue units (id, name)."""
    s = site(db, actor, site_id)
    out = [(i, n or u) for role in (Role.EMPLOYER_OSH, Role.SHIFT_DISPATCHER, Role.WORKER)
           for i, u, n in accounts.enterprise_users(db=db, enterprise_id=s.enterprise_id,
                                                    role=role)]
    for role in (Role.LABOUR_INSPECTOR, Role.EMERGENCY_INSPECTOR, Role.MINE_RESCUE):
        for uid in accounts.region_user_ids(db=db, region_code=s.region_code, role=role):
            a = accounts.get_user_actor(db=db, user_id=uid)
            if a is not None:
                out.append((uid, a.extra.get("full_name") or a.name))
    return out


# ASCII digits only: str.isdigit() took "٣٣٣" and "²", which no SMS gateway dials
_PHONE = re.compile(r"\+?[0-9 ]{5,24}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")  # "a@" passed as an address


def _web_url(target: str) -> bool:
    """An http(s) URL with a host a request can be sent to: "http://" passed a prefix check,
    "http://[x" makes urlsplit raise, and "https://scada.shakhta..kz" failed only when sent
    (IDNA), so every delivery to it would fail."""
    try:
        url = urlsplit(target)
        if url.scheme not in ("https", "http") or not url.hostname or re.search(r"\s", target):
            return False
        url.hostname.encode("idna")
        _ = httpx.URL(target).host  # decoded as the sender will: "xn--a.kz" fails here
    except (ValueError, httpx.InvalidURL):  # UnicodeError (IDNA) is a ValueError
        return False
    return True


def _check_target(channel: str, target: str) -> None:
    if channel == "webhook" and not _web_url(target):
        raise RuleViolation("a webhook target must be an http(s) URL", field="target")
    if channel == "email" and not _EMAIL.fullmatch(target.strip()):
        raise RuleViolation("not an e-mail address", field="target")
    if channel == "sms" and not _PHONE.fullmatch(target.strip()):
        raise RuleViolation("an SMS target is a phone number (+7 …)", field="target")


# A contact's routing role named like the user role of the people who hold it.
RESPONDER_ROLES = {Role.SHIFT_DISPATCHER.value, Role.MINE_RESCUE.value}


def _check_role(db: Session, user_id: int | None, role: str) -> None:
    """A dispatcher's or mine rescue account is told in that role, not as another one."""
    linked = accounts.get_user_actor(db=db, user_id=user_id) if user_id is not None else None
    if linked is not None and linked.role.value in RESPONDER_ROLES and linked.role != role:
        raise RuleViolation(f"this account is a {linked.role.value} contact", field="role")


def add_contact(*, db: Session, actor: Actor, data: ContactIn) -> Contact:
    actor.require(C.CONFIGURE)
    s = site(db, actor, data.site_id)
    _check_target(data.channel, data.target)
    if data.user_id is not None and data.user_id not in dict(people(db=db, actor=actor,
                                                                    site_id=s.id)):
        raise RuleViolation("not an account of this enterprise or its region's inspectors",
                            field="user_id")
    _check_role(db, data.user_id, data.role)
    qs, qe = data.minutes()
    c = Contact(**data.model_dump(exclude={"quiet_start", "quiet_end", "lang"}), quiet_start=qs,
                quiet_end=qe, enterprise_id=s.enterprise_id, region_code=s.region_code,
                created_by=actor.label, lang=data.lang or _default_lang(db, data.user_id))
    db.add(c)
    db.flush()
    audit.record(db, actor=actor, action="alarms.contact.create", object_type="alarm_contact",
                 object_id=c.id, after=audit.snapshot(c, CONTACT_FIELDS))
    db.commit()
    return c


def _default_lang(db: Session, user_id: int | None) -> str:
    """A contact's language when none is given: its account's, else the product's default
    (regions have no language of their own)."""
    a = accounts.get_user_actor(db=db, user_id=user_id) if user_id is not None else None
    lang = (a.extra.get("language") if a is not None else None) or \
        get_settings().default_language
    return lang if lang in LANGUAGES else "ru"


def set_contact_lang(*, db: Session, actor: Actor, contact_id: int, data: ContactLangIn
                     ) -> Contact:
    """Change the language a contact's alarm texts are in (audited with the reason); the
    next notification planned for it is in that language."""
    actor.require(C.CONFIGURE)
    c = _contact(db, actor, contact_id)
    before = audit.snapshot(c, CONTACT_FIELDS)
    c.lang = data.lang
    audit.record(db, actor=actor, action="alarms.contact.revise", object_type="alarm_contact",
                 object_id=c.id, before=before,
                 after={**audit.snapshot(c, CONTACT_FIELDS), "reason": data.reason})
    db.commit()
    return c


def list_contacts(*, db: Session, actor: Actor, site_id: int) -> list[Contact]:
    """The site's escalation tiers (contacts by tier); another tenant's site is a 404, not an
    empty list. Mine rescue reads alarms, not contact lists (403)."""
    actor.require(C.READ_CONTACTS)
    s = addressed_site(db, actor, site_id)
    stmt = scoped(select(Contact), Contact, actor).where(Contact.site_id == s.id)
    return list(db.scalars(stmt.order_by(Contact.tier, Contact.id)))


def accounts_left(db: Session, contacts: list[Contact]) -> set[int]:
    """Contacts whose linked account no longer reaches the site: disabled, or moved to another
    enterprise or region. Their channel still gets the site's alarms (a tier is never emptied
    behind the OSH officer's back), but the person can no longer see or redirect it
    (`my_contacts`): the routing page flags them for the officer to check."""
    out = set()
    for c in contacts:
        if c.user_id is not None:
            linked = accounts.get_user_actor(db=db, user_id=c.user_id)
            if linked is None or not in_scope(c, linked):
                out.add(c.id)
    return out


def _contact(db: Session, actor: Actor, contact_id: int) -> Contact:
    c = db.get(Contact, contact_id)
    if c is None or not in_scope(c, actor):
        raise ContactNotFound()
    return c


def contact_site(*, db: Session, actor: Actor, contact_id: int) -> int:
    """The site of a contact in the caller's scope (404 outside it)."""
    return _contact(db, actor, contact_id).site_id


def remove_contact(*, db: Session, actor: Actor, contact_id: int) -> None:
    actor.require(C.CONFIGURE)
    c = _contact(db, actor, contact_id)
    audit.record(db, actor=actor, action="alarms.contact.remove", object_type="alarm_contact",
                 object_id=c.id, before=audit.snapshot(c, CONTACT_FIELDS), after=None)
    db.delete(c)
    db.commit()


def my_contacts(*, db: Session, actor: Actor) -> list[Contact]:
    """The caller's own channels, on every site they are a contact of."""
    if actor.kind != "user" or actor.id is None:
        return []
    # in the caller's scope now: a person moved to another enterprise or region keeps no
    # reading or redirecting of the old one's alarms
    stmt = scoped(select(Contact), Contact, actor).where(Contact.user_id == actor.id)
    return list(db.scalars(stmt.order_by(Contact.site_id, Contact.tier, Contact.id)))


def update_my_contact(*, db: Session, actor: Actor, contact_id: int, data: ContactPatch
                      ) -> Contact:
    """A person changes where their own channel goes and its quiet hours (not its tier)."""
    c = db.get(Contact, contact_id)
    if c is None or actor.kind != "user" or c.user_id != actor.id or not in_scope(c, actor):
        raise ContactNotFound()
    _check_target(c.channel, data.target)
    before = audit.snapshot(c, CONTACT_FIELDS)
    c.target = data.target
    c.quiet_start, c.quiet_end = data.minutes()
    c.lang = data.lang or c.lang
    audit.record(db, actor=actor, action="alarms.contact.revise", object_type="alarm_contact",
                 object_id=c.id, before=before, after=audit.snapshot(c, CONTACT_FIELDS))
    db.commit()
    return c


def quiet_now(c: Contact, now: datetime | None = None) -> bool:
    """True when the contact is in its quiet hours (local time; a window may wrap midnight)."""
    if c.quiet_start is None or c.quiet_end is None:
        return False
    local = (now or utcnow()).astimezone(UTC) + LOCAL_UTC_OFFSET
    m = local.hour * 60 + local.minute
    if c.quiet_start < c.quiet_end:
        return c.quiet_start <= m < c.quiet_end
    return m >= c.quiet_start or m < c.quiet_end


def hhmm(minutes: int | None) -> str:
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def changes(*, db: Session, object_type: str, object_ids: list[int], limit: int = 20
            ) -> list[Any]:
    """The audit trail of configuration objects (the caller has checked the scope)."""
    if not object_ids:
        return []
    stmt = select(audit.AuditEntry).where(audit.AuditEntry.object_type == object_type,
                                          audit.AuditEntry.object_id.in_(
                                              [str(i) for i in object_ids]))
    return list(db.scalars(stmt.order_by(audit.AuditEntry.seq.desc()).limit(limit)))


def site_changes(*, db: Session, site_id: int, limit: int = 20) -> list[Any]:
    """Audit trail of a site's routing (contacts added/changed/removed, escalation times)."""
    stmt = select(audit.AuditEntry).where(audit.AuditEntry.object_type.in_(
        ("alarm_contact", "alarm_escalation"))).order_by(audit.AuditEntry.seq.desc())
    out = []
    for e in db.scalars(stmt.limit(2000)):
        d = e.diff or {}
        if site_id in ((d.get("after") or {}).get("site_id"), (d.get("before") or {})
                       .get("site_id")):
            out.append(e)
            if len(out) >= limit:
                break
    return out
