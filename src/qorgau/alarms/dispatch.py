"""Dispatch pipeline as small named stages: inhibit → silence → group → dedup → retry.

`Notice`s (an alarm raised, escalated, reminded) go through the stages to `Notification` rows
planned in the alarm's own transaction (status "pending": an outbox, so a crash never loses
one), and are sent by `deliver`. Life-safety notices take the fast path: they skip grouping and
flood suppression and are delivered right after the commit, not on the next tick. During an
alarm flood at a site, other raises are planned but "held" on the external channels, and the
site's contacts get a periodic flood summary instead (`flood.py`, on the timer tick).
The last stage, retry (claim, send, record the result), is `delivery.py`.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from qorgau.alarms import texts
from qorgau.alarms.models import AlarmRecord, Contact, Notification, Withdrawal
from qorgau.core.db import utcnow

log = logging.getLogger("qorgau.alarms.dispatch")
FLOOD_PER_10MIN = 10  # EEMUA 191: more than 10 alarms in 10 min per operator is a flood
HOLD_CHANNELS = frozenset({"sms", "email", "webhook"})  # in-app and device orders never held
FLOOD_SUMMARY = "flood_summary"  # a summary webhook's `type` (an alarm's is "alarm")
# a held row's reason, the English record; `held_reasons` reads its count back
HELD_WHY = "held: alarm flood, {n} alarms in 10 min at the site; in its summary"


@dataclass
class Notice:
    alarm_id: int
    site_id: int
    enterprise_id: int
    region_code: str
    kind: str
    priority: int
    life_safety: bool
    tier: int
    what: str  # raise | escalate | remind | withdraw
    message: str
    device_id: int | None = None
    targets: list[str] = field(default_factory=list)  # device commands (withdraw)
    fields: dict[str, Any] = field(default_factory=dict)  # its text's fields (`texts`)


@dataclass
class Message:
    notices: list[Notice]
    tier: int
    life_safety: bool

    @property
    def key(self) -> str:
        ids = ",".join(str(n.alarm_id) for n in self.notices[:5])
        return f"{self.notices[0].what}:{self.tier}:{ids}"

    @property
    def subject(self) -> str:
        n = self.notices[0]
        if len(self.notices) == 1:
            return f"[P{n.priority}{' LIFE-SAFETY' if n.life_safety else ''}] {n.message}"
        return f"[P{n.priority}] {len(self.notices)} alarms at site {n.site_id}"

    def subject_in(self, lang: str) -> str:
        """The subject in a contact's language (`subject` is the English record's)."""
        n = self.notices[0]
        if len(self.notices) > 1:
            return texts.group_subject(n.priority, len(self.notices), n.site_id, lang)
        return texts.subject(n.fields, n.priority, n.life_safety, lang) if n.fields \
            else self.subject


@dataclass
class Held(Message):
    """Non-life-safety raises at a site in flood: planned per alarm, the in-app row goes out
    (the console shows each alarm live), the external rows stay "held" (`HOLD_CHANNELS`) and
    are counted in the site's flood summary instead."""

    reason: str = ""


@dataclass
class Summary(Message):
    """A site's flood summary to one contact; `tag` keys it (a slot or the flood's end), so
    redundant workers plan it once. `notices[0]` is the latest alarm it counts (the row's
    alarm). `detail` is its machine part (`type` flood_summary, counts), stored on the row:
    a webhook's body is that, whatever the contact's language."""

    tag: str = ""
    text: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.tag

    @property
    def subject(self) -> str:
        return self.text


@dataclass
class Context:
    stale_devices: set[int] = field(default_factory=set)  # open STALE alarm
    silenced_devices: set[int] = field(default_factory=set)  # disabled / maintenance
    recent_by_site: dict[int, int] = field(default_factory=dict)  # alarms in last 10 min
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def inhibit(notices: list[Notice], ctx: Context) -> list[Notice]:
    """Drop consequential alarms: a device that has lost its signal is reported as STALE
    once; its other non-life-safety alarms are inhibited."""
    out = [n for n in notices if n.life_safety or n.kind == "STALE"
           or n.device_id not in ctx.stale_devices]
    ctx.counters["inhibited"] += len(notices) - len(out)
    return out


def silence(notices: list[Notice], ctx: Context) -> list[Notice]:
    """Maintenance silence of a device: never silences life-safety notices."""
    out = [n for n in notices if n.life_safety or n.device_id not in ctx.silenced_devices]
    ctx.counters["silenced"] += len(notices) - len(out)
    return out


def group(notices: list[Notice], ctx: Context) -> list[Message]:
    """Life-safety: one message each (fast path). Others: one message per (site, tier, what,
    priority): `routes` admits contacts by the message's priority, so a P3 beside a P1 must not
    decide who hears of the P1;
    during a flood at a site its non-life-safety raises past the flood limit (`flooding`) are
    `Held`: not sent on the external channels, summed up by `flood.flood_summaries`."""
    out = [Message([n], n.tier, True) for n in notices if n.life_safety]
    held = flooding(notices, ctx)
    buckets: dict[tuple[int, int, str, int, bool], list[Notice]] = defaultdict(list)
    for n in notices:
        if not n.life_safety:
            hold = n.what == "raise" and n.alarm_id in held
            buckets[(n.site_id, n.tier, n.what, n.priority, hold)].append(n)
    for (site, tier, _what, _priority, hold), items in buckets.items():
        recent = ctx.recent_by_site.get(site, 0)
        if recent > FLOOD_PER_10MIN:
            ctx.counters["flood_grouped"] += len(items)
        if hold:
            ctx.counters["flood_held"] += len(items)
            why = HELD_WHY.format(n=recent)
            out.append(Held(items, tier, False, why))
        else:
            out.append(Message(items, tier, False))
    return out


def flooding(notices: list[Notice], ctx: Context) -> set[int]:
    """Alarm ids of the non-life-safety raises to hold. A site's raises are numbered in the
    order they came, after its alarms of the last 10 min that came before this batch
    (`recent_by_site` counts this batch's too): past FLOOD_PER_10MIN a raise is held, so the
    first ten go out as usual and the flood is summed up."""
    raises = [n for n in notices if n.what == "raise"]
    in_batch = Counter(n.site_id for n in raises)
    seen: Counter[int] = Counter()
    held: set[int] = set()
    for n in raises:
        seen[n.site_id] += 1
        before = max(0, ctx.recent_by_site.get(n.site_id, 0) - in_batch[n.site_id])
        if not n.life_safety and before + seen[n.site_id] > FLOOD_PER_10MIN:
            held.add(n.alarm_id)
    return held


def site_contacts(db: Session, site_ids: set[int]) -> dict[int, list[Contact]]:
    """Every tier's contacts of these sites, in one query (a plan of several notices)."""
    out: dict[int, list[Contact]] = defaultdict(list)
    for c in db.scalars(_CONTACTS, {"sites": sorted(site_ids)}):
        out[c.site_id].append(c)
    return out


# built once (on the life-safety record's path: building and keying a statement per call
# cost more than running it)
_CONTACTS = select(Contact).where(Contact.site_id.in_(bindparam("sites", expanding=True))
                                  ).order_by(Contact.id)


def routes(db: Session, msg: Message, contacts: dict[int, list[Contact]] | None = None
           ) -> list[Contact]:
    """Contacts of the message's tier whose priority threshold admits it; inspectorate gets
    life-safety only; a contact in its quiet hours gets life-safety only. Above the site's
    highest tier that takes the message (by priority and role), that tier's contacts: an
    escalation or reminder past it reached nobody (a site with contacts at tiers 1–2 had no
    reminders at all), and reminders repeat until someone acknowledges."""
    from qorgau.alarms.routing import quiet_now

    n = msg.notices[0]
    if contacts is None:
        contacts = site_contacts(db, {n.site_id})
    takers = [c for c in contacts.get(n.site_id, ()) if c.tier <= msg.tier
              and c.min_priority >= n.priority and (c.role != "inspectorate" or msg.life_safety)]
    top = max((c.tier for c in takers), default=msg.tier)  # quiet hours do not move it
    return [c for c in takers if c.tier == top and (msg.life_safety or not quiet_now(c))]


KEY_LEN = 120  # Notification.dedup_key's column


def dedup_key(*parts: object) -> str:
    """The unique key of a planned row. One longer than the column ends in a digest of the
    whole: cut short, two webhooks with one long common prefix shared a key, and the second
    contact was never told."""
    key = ":".join(map(str, parts))
    if len(key) <= KEY_LEN:
        return key
    return f"{key[:KEY_LEN - 41]}#{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()}"


def dedup(db: Session, wanted: list[tuple[Message, str, str]],
          langs: dict[tuple[int, str, str], str] | None = None) -> list[int | None]:
    """Add the pending row for each (message, channel, target) unless that message was
    already planned for that target (redundant workers, replays): one multi-row INSERT …
    ON CONFLICT DO NOTHING on the unique `dedup_key`, so two workers racing cannot both plan
    one. Returns each new row's id, None where it was planned before (or twice here). The
    row keeps the subject it is sent with: in the language of the contact at that address
    (`langs`: (site, channel, target) → lang), else the English record's."""
    at = utcnow()
    keys = [dedup_key(msg.key, channel, target) for msg, channel, target in wanted]
    values, seen = [], set()
    for key, (msg, channel, target) in zip(keys, wanted, strict=True):
        if key in seen:
            continue
        seen.add(key)
        n0 = msg.notices[0]
        values.append({"dedup_key": key, "alarm_id": n0.alarm_id,
                       "enterprise_id": n0.enterprise_id, "region_code": n0.region_code,
                       "channel": channel, "target": target, "tier": msg.tier,
                       "status": "pending", "attempts": 0,
                       "error": _subject(msg, (langs or {}).get((n0.site_id, channel, target))),
                       "detail": msg.detail if isinstance(msg, Summary) else None, "at": at})
    conn = db.connection()  # a Core statement: the rows are not ORM objects of this session
    # executemany with RETURNING: one compiled statement, cached (a multi-row VALUES was
    # compiled again for every plan); SQLAlchemy sends it as multi-row INSERTs
    # ("insertmanyvalues"); a row that hit the conflict returns nothing
    rows = conn.execute(_DEDUP_INSERT[conn.dialect.name == "postgresql"], values).all()
    new: dict[str, int] = {key: row_id for key, row_id in rows}
    return [new.pop(key, None) for key in keys]  # pop: a key twice here is one row


def _subject(msg: Message, lang: str | None) -> str:
    """A flood summary keeps its own text; an address with no contact (the site's console,
    a wearable) the English record's."""
    if lang is None or isinstance(msg, Summary):
        return msg.subject[:300]
    return msg.subject_in(lang)[:300]


_DEDUP_INSERT = {
    pg: (pg_insert if pg else sqlite_insert)(Notification.__table__).on_conflict_do_nothing(
        index_elements=["dedup_key"]).returning(Notification.__table__.c.dedup_key,
                                                Notification.__table__.c.id)
    for pg in (False, True)}


def plan_order(db: Session, w: Withdrawal, targets: list[str], tag: str) -> list[int]:
    """Pending device rows of a withdraw order given without an alarm (the console's
    button), in the same outbox as an alarm's order: each command's outcome is stored and
    retried, a failure raises NOTIFY_FAILED. Keyed by order, `tag` (its start, a late
    entrant's reading time) and wearable, so a replayed reading orders nobody twice. Returns
    the new rows' ids (not committed)."""
    if not targets:
        return []
    at, subject = utcnow(), order_subject(w)
    values = [{"dedup_key": dedup_key(f"order{w.id}", tag, "device", t), "alarm_id": None,
               "withdrawal_id": w.id, "enterprise_id": w.enterprise_id,
               "region_code": w.region_code, "channel": "device", "target": t, "tier": 1,
               "status": "pending", "attempts": 0, "error": subject, "detail": None, "at": at}
              for t in dict.fromkeys(targets)]
    conn = db.connection()
    return [row_id for _key, row_id in
            conn.execute(_DEDUP_INSERT[conn.dialect.name == "postgresql"], values).all()]


def order_subject(w: Withdrawal) -> str:
    """An order's record text (English, as an alarm's `message`): the command's `text`."""
    why = f": {w.reason}" if w.reason else ""
    return f"[P1 LIFE-SAFETY] withdraw order {w.id}, zones {', '.join(w.zones)}{why}"[:300]


@dataclass(frozen=True)
class Planned:
    """A pending Notification row that `plan` added (what `deliver` is given)."""

    id: int
    alarm_id: int


def plan(db: Session, notices: list[Notice], ctx: Context) -> list[Planned]:
    """Run the stages and add pending Notification rows (not committed); a held alarm's
    external rows are added "held" (`_hold`) and not returned (nothing to deliver)."""
    msgs = _per_alarm(group(silence(inhibit(notices, ctx), ctx), ctx))
    if not msgs:
        return []
    contacts = site_contacts(db, {m.notices[0].site_id for m in msgs})
    wanted: list[tuple[Message, str, str]] = []
    for msg in msgs:
        n0 = msg.notices[0]
        targets = [(c.channel, c.target) for c in routes(db, msg, contacts)]
        targets.append(("inapp", f"site:{n0.site_id}"))
        targets += [("device", t) for n in msg.notices for t in n.targets]
        wanted += [(msg, channel, target) for channel, target in targets]
    rows: list[Planned] = []
    held: dict[int, str] = {}
    langs = {(c.site_id, c.channel, c.target): c.lang for cs in contacts.values() for c in cs}
    for (msg, channel, _t), row_id in zip(wanted, dedup(db, wanted, langs), strict=True):
        if row_id is None:
            ctx.counters["deduplicated"] += 1
        elif isinstance(msg, Held) and channel in HOLD_CHANNELS:
            held[row_id] = f"{msg.reason}: {msg.subject}"[:300]
        else:
            rows.append(Planned(row_id, msg.notices[0].alarm_id))
    _hold(db, held)
    return rows


def _per_alarm(msgs: list[Message]) -> list[Message]:
    """A held group as one message per alarm: each alarm gets its rows (its in-app notice on
    the console, its held rows with the reason on its notification list)."""
    out: list[Message] = []
    for m in msgs:
        if isinstance(m, Held) and len(m.notices) > 1:
            out += [Held([n], m.tier, False, m.reason) for n in m.notices]
        else:
            out.append(m)
    return out


def _hold(db: Session, held: dict[int, str]) -> None:
    """Mark planned rows "held" with their reason (in the plan's transaction, so no sender
    ever sees them pending). `claimed_at` takes the time held: the (status, claimed_at) index
    then finds a site's recent held rows for its summary."""
    if not held:
        return
    t = Notification.__table__
    stmt = update(t).where(t.c.id == bindparam("row_id")).values(
        status="held", error=bindparam("why"), claimed_at=t.c.at)
    db.connection().execute(stmt, [{"row_id": k, "why": v} for k, v in held.items()])
    from qorgau.alarms.ingest.core import METRICS

    METRICS.counts["flood_held"] += len(held)


def context(db: Session, site_ids: set[int], notices: list[Notice] | None = None) -> Context:
    """Dispatch context for the sites of a batch: stale/silenced devices, recent alarm counts.
    Not queried when every notice is life-safety: those pass inhibit, silence and flood
    grouping untouched (the fast path), so a raise's record is not kept waiting for it."""
    from qorgau.alarms.models import Device

    ctx = Context()
    if not site_ids or (notices and all(n.life_safety for n in notices)):
        return ctx
    ctx.stale_devices = set(db.scalars(select(AlarmRecord.device_id).where(
        AlarmRecord.site_id.in_(site_ids), AlarmRecord.kind == "STALE",
        AlarmRecord.active.is_(True))))
    ctx.silenced_devices = set(db.scalars(select(Device.id).where(
        Device.site_id.in_(site_ids), Device.enabled.is_(False))))
    ctx.recent_by_site = recent_counts(db, site_ids, utcnow())
    return ctx


def recent_counts(db: Session, site_ids: set[int], now: datetime) -> dict[int, int]:
    """Alarms per site in the 10 min up to `now`: raised then, or come in then (a gateway's
    buffered readings after a reboot raise alarms dated earlier: they flood people now)."""
    since = now - timedelta(minutes=10)
    A = AlarmRecord
    return dict(db.execute(select(A.site_id, func.count()).where(
        A.site_id.in_(sorted(site_ids)), or_(A.raised_at >= since, A.ingested_at >= since))
        .group_by(A.site_id)).all())
