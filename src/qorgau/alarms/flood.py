"""Alarm flood summaries (EEMUA 191 / ISA-18.2): while a site is in flood, `dispatch` holds
its non-life-safety raises on SMS, e-mail and webhooks; here the timer tick sums them up per
contact, one summary per FLOOD_SUMMARY_S slot and a closing one when the flood is over, and
the console and API read back why a row was held."""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms import texts
from qorgau.alarms.dispatch import (
    FLOOD_PER_10MIN,
    FLOOD_SUMMARY,
    Message,
    Notice,
    Summary,
    dedup,
    dedup_key,
    recent_counts,
    site_contacts,
)
from qorgau.alarms.models import AlarmRecord, Notification

log = logging.getLogger("qorgau.alarms.flood")
FLOOD_SUMMARY_S = 300  # a flood summary every 5 min (Alertmanager's group_interval)
FLOOD_GRACE_S = 5.0  # a slot is summed up this long after it ends: batches still committing
FLOOD_LOOKBACK_S = 1800  # held rows the tick looks at; a slot older is not summed up late
FLOOD_EPISODE_MAX_S = 86400  # a closing summary counts at most a day of one flood
# a held row's reason (`dispatch.HELD_WHY`), its count read back by `held_reasons`
_HELD_N = re.compile(r"^held: alarm flood, (\d+) alarms in 10 min")


@dataclass(frozen=True)
class HeldRow:
    """A held notification row with what its summary counts."""

    id: int
    at: datetime
    channel: str
    target: str
    tier: int
    alarm_id: int
    site_id: int
    enterprise_id: int
    region_code: str
    priority: int
    device_id: int | None


def flood_summaries(db: Session, now: datetime) -> int:
    """The timer tick's flood summaries, in their own commit (a failure is logged, never
    raised: the tick's other timers go on). Each site with held rows gets, per contact held
    for, one summary per FLOOD_SUMMARY_S slot once the slot is over, and a closing one once
    the flood is (its last held slot over and at most FLOOD_PER_10MIN alarms in 10 min).
    Pending rows keyed by slot or flood end: `deliver` sends them, once whatever the number
    of workers. Returns the rows planned."""
    try:
        n = _plan_summaries(db, now)
        db.commit()
    except Exception:
        log.exception("flood summaries failed")
        db.rollback()
        return 0
    if n:
        from qorgau.alarms.ingest.core import METRICS

        METRICS.counts["flood_summaries"] += n
    return n


def _plan_summaries(db: Session, now: datetime) -> int:
    by_site: dict[int, list[HeldRow]] = defaultdict(list)
    for r in _held_rows(db, None, now - timedelta(seconds=FLOOD_LOOKBACK_S)):
        by_site[r.site_id].append(r)
    if not by_site:
        return 0
    over = _slot(now - timedelta(seconds=FLOOD_GRACE_S))  # slots before it are over
    ended = [s for s, rows in by_site.items() if _slot(rows[-1].at) < over]
    recent = recent_counts(db, set(ended), now) if ended else {}
    due: dict[str, list[HeldRow]] = {}  # tag → the rows it sums up
    for site, rows in by_site.items():
        for r in rows:
            if _slot(r.at) < over:
                due.setdefault(f"flood:{site}:{_slot(r.at)}", []).append(r)
        if site in ended and recent.get(site, 0) <= FLOOD_PER_10MIN:
            due[f"flood-end:{site}:{max(r.id for r in rows)}"] = rows
    if not due:
        return 0
    keys = {dedup_key(tag, r.channel, r.target) for tag, rows in due.items() for r in rows}
    have = set(db.scalars(select(Notification.dedup_key).where(
        Notification.dedup_key.in_(sorted(keys)))))
    wanted: list[tuple[Message, str, str]] = []
    for tag, rows in due.items():
        if all(dedup_key(tag, r.channel, r.target) in have for r in rows):
            continue
        if tag.startswith("flood-end:"):
            rows = _episode(db, rows[0].site_id, now)
        wanted += _summaries(db, tag, rows)
    return sum(1 for row_id in dedup(db, wanted) if row_id is not None) if wanted else 0


def _held_rows(db: Session, site_id: int | None, since: datetime) -> list[HeldRow]:
    """Held rows since then (every site's, or one's), oldest first; the (status, claimed_at)
    index finds them."""
    N, A = Notification, AlarmRecord
    stmt = (select(N.id, N.claimed_at, N.channel, N.target, N.tier, A.id, A.site_id,
                   A.enterprise_id, A.region_code, A.priority, A.device_id)
            .join(A, A.id == N.alarm_id)
            .where(N.status == "held", N.claimed_at >= since).order_by(N.claimed_at, N.id))
    if site_id is not None:
        stmt = stmt.where(A.site_id == site_id)
    return [HeldRow(*r) for r in db.execute(stmt).tuples()]


def _episode(db: Session, site_id: int, now: datetime) -> list[HeldRow]:
    """The site's held rows of its last flood: back from the newest, until a gap of more than
    10 min (no flood can last across it without holding anything)."""
    rows = _held_rows(db, site_id, now - timedelta(seconds=FLOOD_EPISODE_MAX_S))
    start = len(rows) - 1
    while start > 0 and rows[start].at - rows[start - 1].at <= timedelta(minutes=10):
        start -= 1
    return rows[start:]


def held_reasons(db: Session, site_id: int, rows: list[Notification],
                 lang: str | None = None) -> dict[int, dict[str, Any]]:
    """Why each held row was held, by row id: the flood at its site since its first held row
    (back from this one, until a gap of more than 10 min, as `_episode`), the alarms in
    10 min the row's record names, and that text in `lang` (UTC+5 time)."""
    from qorgau.alarms.routing import LOCAL_UTC_OFFSET

    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.status != "held" or row.claimed_at is None:
            continue
        since = _flood_since(db, site_id, row.claimed_at)
        m = _HELD_N.match(row.error or "")
        n = int(m.group(1)) if m else None
        local = since + LOCAL_UTC_OFFSET
        shown = f"{local:%d.%m %H:%M}" if row.claimed_at - since >= timedelta(hours=12) \
            else f"{local:%H:%M}"
        out[row.id] = {"flood_since": since, "alarms_in_10_min": n,
                       "text": texts.held_reason(shown, n, lang)}
    return out


def _flood_since(db: Session, site_id: int, at: datetime) -> datetime:
    N, A = Notification, AlarmRecord
    times = list(db.scalars(
        select(N.claimed_at).join(A, A.id == N.alarm_id)
        .where(A.site_id == site_id, N.status == "held", N.claimed_at <= at,
               N.claimed_at >= at - timedelta(seconds=FLOOD_EPISODE_MAX_S))
        .order_by(N.claimed_at.desc())))
    since = at
    for t in times:
        if since - t > timedelta(minutes=10):
            break
        since = min(since, t)
    return since


def _summaries(db: Session, tag: str, rows: list[HeldRow]) -> list[tuple[Message, str, str]]:
    """One summary per contact held for: its alarms by priority and the top devices, in the
    contact's language, with its machine part (`Summary.detail`)."""
    from qorgau.alarms.models import Device
    from qorgau.alarms.routing import LOCAL_UTC_OFFSET
    from qorgau.registry.models import Site

    r0 = rows[-1]
    site = db.get(Site, r0.site_id)
    name = site.name if site is not None else f"site {r0.site_id}"
    codes = dict(db.execute(select(Device.id, Device.code).where(
        Device.id.in_(sorted({r.device_id for r in rows if r.device_id})))).all())
    over = tag.startswith("flood-end:")
    if over:
        t0, t1 = rows[0].at, rows[-1].at
        shown = {"start": f"{t0 + LOCAL_UTC_OFFSET:%d.%m %H:%M}",
                 "end": f"{t1 + LOCAL_UTC_OFFSET:%H:%M}"}
    else:
        t0 = datetime.fromtimestamp(_slot(r0.at) * FLOOD_SUMMARY_S, UTC)
        t1 = t0 + timedelta(seconds=FLOOD_SUMMARY_S)
        shown = {"start": f"{t0 + LOCAL_UTC_OFFSET:%H:%M}", "end": f"{t1 + LOCAL_UTC_OFFSET:%H:%M}"}
    langs = {(c.channel, c.target): c.lang for c in site_contacts(db, {r0.site_id})[r0.site_id]}
    contacts: dict[tuple[str, str, int], dict[int, HeldRow]] = defaultdict(dict)
    for r in rows:
        contacts[(r.channel, r.target, r.tier)][r.alarm_id] = r  # one per alarm
    out: list[tuple[Message, str, str]] = []
    for (channel, target, tier), alarms in contacts.items():
        lang = texts.lang_or_default(langs.get((channel, target)))
        detail = _summary_detail(over, r0.site_id, (t0, t1), list(alarms.values()), codes)
        text = texts.flood_summary({**detail, **shown, "site": name}, lang)
        last = max(alarms.values(), key=lambda r: r.id)
        n = Notice(last.alarm_id, last.site_id, last.enterprise_id, last.region_code, "FLOOD",
                   min(r.priority for r in alarms.values()), False, tier, "flood", text,
                   last.device_id)
        out.append((Summary([n], tier, False, tag=tag, text=text,
                            detail={**detail, "lang": lang}), channel, target))
    return out


def _summary_detail(over: bool, site_id: int, span: tuple[datetime, datetime],
                    alarms: list[HeldRow], codes: dict[int, str]) -> dict[str, Any]:
    """A summary's machine part, the same in every language (times in UTC)."""
    by_priority = Counter(r.priority for r in alarms)
    top = Counter(codes.get(r.device_id or 0, "site") for r in alarms).most_common(3)
    return {"type": FLOOD_SUMMARY, "phase": "over" if over else "slot", "site_id": site_id,
            "from": span[0].isoformat(), "to": span[1].isoformat(), "count": len(alarms),
            "by_priority": {f"P{p}": k for p, k in sorted(by_priority.items())},
            "top_devices": [{"device": c, "count": k} for c, k in top]}


def _slot(at: datetime) -> int:
    return int(at.timestamp() // FLOOD_SUMMARY_S)


