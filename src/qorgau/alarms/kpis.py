"""Alarm-system KPIs after EEMUA 191 / ISA-18.2, per site or region over [now - hours, now].

Operators: every site in the caller's scope (narrowed to the chosen region or site) that has
alarm devices has an alarm console with its own number of operators on duty at a time (set with
its work shifts; one where not set), whether or not it raised anything: a quiet site still
shares the load. A site's alarms are shared by its own operators, counted per 10-minute period
as the number on duty then (`shifts.operators_by_period`: a change counts from the next period
on, and past periods keep the operators of their time). `operators` is the sum over the sites
now; `operator_hours` over the window.

- alarms: annunciated raises (ISA transitions to unacknowledged by "raise"), counted the same
  whether a condition's excursions share one occurrence record or each have their own; raises
  of a shelved, suppressed or out-of-service alarm are not annunciated and not counted;
- per operator per hour: alarms / operator-hours (≤ 6 very likely acceptable, ≤ 12 manageable);
- 10-minute periods from the window's start: the peak is the most alarms one operator had in
  one period (≤ 10); % time in flood = operator-periods with more than 10 / all of them (< 1 %);
- top-10 contributors: site × device × condition, with their share of the load;
- chattering: one site × device × condition raised ≥ 3 times within 60 s;
- standing: annunciated alarms whose condition is active now (not shelved, suppressed or out
  of service); stale: standing ones annunciated for more than 24 h (since their latest
  transition to unacknowledged: a raise, or an unshelve while active);
- silent: active STALE alarms (devices that stopped reporting);
- out_of_service: devices whose alarms are out of service now (an explicit, audited removal:
  none of their alarms is annunciated or notified).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from qorgau.alarms import shifts
from qorgau.alarms.constants import READ
from qorgau.alarms.engine.isa import HIDDEN
from qorgau.alarms.models import AlarmEvent, AlarmRecord, Device
from qorgau.core.db import utcnow
from qorgau.core.errors import NotFound
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.registry.models import Site

FLOOD = 10  # more alarms than this per operator in one period is a flood
BUCKET_S = 600
CHATTER_N, CHATTER_S = 3, 60.0
STALE_AFTER = timedelta(hours=24)
_HIDDEN = sorted(s.value for s in HIDDEN)


def compute(*, db: Session, actor: Actor, site_id: int | None = None,
            region: str | None = None, hours: int = 24,
            now: datetime | None = None) -> dict[str, Any]:
    actor.require(READ)
    now = now or utcnow()
    since = now - timedelta(hours=hours)
    if site_id is not None:
        _check_site(db, actor, site_id)
    raises = db.execute(_narrow(
        select(AlarmEvent.at, AlarmRecord.site_id, AlarmRecord.device_id, AlarmRecord.kind)
        .join(AlarmRecord, AlarmRecord.id == AlarmEvent.alarm_id)
        .where(AlarmEvent.trigger == "raise", AlarmEvent.at >= since, AlarmEvent.at <= now),
        actor, site_id, region)).all()
    held = _open_counts(db, actor, site_id, region, now)
    site_ids = (_console_sites(db, actor, site_id, region) | {r.site_id for r in raises}
                | set(held) | ({site_id} if site_id is not None else set()))
    names = _site_names(db, site_ids)
    ops = shifts.console_operators(db, site_ids)
    periods = max(1, hours * 3600 // BUCKET_S)
    on_duty = shifts.operators_by_period(db, site_ids, since, periods, BUCKET_S)
    buckets: Counter[tuple[int, int]] = Counter(
        (r.site_id, min(periods - 1, int((r.at - since).total_seconds() // BUCKET_S)))
        for r in raises)
    per_site = _per_site(raises, buckets, on_duty)
    sites = sorted((_site_row(s, names.get(s, str(s)), ops[s], per_site[s], held.get(s))
                    for s in site_ids), key=_worst_first)
    op_periods = sum(per_site[s]["op_periods"] for s in site_ids)
    flooded = sum(per_site[s]["flooded"] for s in site_ids)
    devices = _device_codes(db, raises)
    return {
        "window_hours": hours, "since": since, "until": now, "operators": sum(ops.values()),
        "operator_hours": _num(op_periods * BUCKET_S / 3600),
        "alarms": len(raises),
        "per_operator_hour": _rate(len(raises), op_periods),
        "peak_per_10min": _num(max((per_site[s]["peak"] for s in site_ids), default=0)),
        "pct_time_in_flood": round(100.0 * flooded / op_periods, 2) if op_periods else 0.0,
        "top10": _top10(raises, names, devices),
        "chattering": _chattering(raises, names, devices),
        **{k: sum(h[k] for h in held.values()) for k in _HELD},
        "sites": sites,
    }


def _narrow(stmt: Select[Any], actor: Actor, site_id: int | None,
            region: str | None, model: Any = AlarmRecord) -> Select[Any]:
    """The caller's scope, then the chosen site or region."""
    stmt = scoped(stmt, model, actor)
    if site_id is not None:
        stmt = stmt.where(model.site_id == site_id)
    if region:
        stmt = stmt.where(model.region_code == region)
    return stmt


def _check_site(db: Session, actor: Actor, site_id: int) -> None:
    site = db.get(Site, site_id)
    if site is None or not in_scope(site, actor):
        raise NotFound("site not found")


def _console_sites(db: Session, actor: Actor, site_id: int | None,
                   region: str | None) -> set[int]:
    """Sites with alarm devices: each has an alarm console, so operators, alarms or not."""
    return set(db.scalars(_narrow(select(Device.site_id).distinct(), actor, site_id, region,
                                  Device)))


def _site_names(db: Session, site_ids: set[int]) -> dict[int, str]:
    if not site_ids:
        return {}
    return dict(db.execute(select(Site.id, Site.name).where(Site.id.in_(site_ids))).all())


def _device_codes(db: Session, raises: list[Any]) -> dict[int, str]:
    ids = {r.device_id for r in raises if r.device_id is not None}
    if not ids:
        return {}
    return dict(db.execute(select(Device.id, Device.code).where(Device.id.in_(ids))).all())


_HELD = ("standing", "stale", "silent", "life_safety_open", "out_of_service")


def _open_counts(db: Session, actor: Actor, site_id: int | None, region: str | None,
                 now: datetime) -> dict[int, Counter[str]]:
    """Per site: standing, stale, silent (STALE) and life-safety alarms active now."""
    annunciated = select(func.max(AlarmEvent.at)).where(
        AlarmEvent.alarm_id == AlarmRecord.id, AlarmEvent.to == "unacknowledged"
    ).scalar_subquery()
    rows = db.execute(_narrow(
        select(AlarmRecord.site_id, AlarmRecord.kind, AlarmRecord.life_safety,
               AlarmRecord.state, AlarmRecord.raised_at, annunciated.label("since"))
        .where(AlarmRecord.open.is_(True), AlarmRecord.active.is_(True)),
        actor, site_id, region)).all()
    out: dict[int, Counter[str]] = defaultdict(Counter)
    for r in rows:
        c = out[r.site_id]
        standing = r.state not in _HIDDEN
        c["standing"] += standing
        c["stale"] += standing and (r.since or r.raised_at) < now - STALE_AFTER
        c["silent"] += r.kind == "STALE"
        c["life_safety_open"] += bool(r.life_safety)
    for s, n in db.execute(_narrow(select(Device.site_id, func.count()).where(
            Device.oos_since.is_not(None)).group_by(Device.site_id),
            actor, site_id, region, Device)).all():
        out[s]["out_of_service"] += n
    return out


def _per_site(raises: list[Any], buckets: Counter[tuple[int, int]],
              on_duty: dict[int, list[int]]) -> dict[int, Counter[Any]]:
    """Per site: alarms, operator-periods, the most alarms one operator had in a period and
    the operator-periods in flood (all of a period's operators share its alarms)."""
    out: dict[int, Counter[Any]] = defaultdict(Counter)
    for s, ops in on_duty.items():
        out[s]["op_periods"] = sum(ops)
    for r in raises:
        out[r.site_id]["alarms"] += 1
    for (s, b), c in buckets.items():
        n = on_duty[s][b]
        out[s]["peak"] = max(out[s]["peak"], c / n)
        out[s]["flooded"] += n if c / n > FLOOD else 0
    return out


def _site_row(s: int, name: str, ops: int, counts: Counter[Any], held: Counter[str] | None
              ) -> dict[str, Any]:
    h = held or Counter()
    op_periods = counts["op_periods"]
    return {"site_id": s, "site": name, "operators": ops,
            "operator_hours": _num(op_periods * BUCKET_S / 3600), "alarms": counts["alarms"],
            "per_operator_hour": _rate(counts["alarms"], op_periods),
            "peak_per_10min": _num(counts["peak"]),
            "pct_time_in_flood": round(100.0 * counts["flooded"] / op_periods, 2)
            if op_periods else 0.0,
            **{k: h[k] for k in _HELD}}


def _worst_first(row: dict[str, Any]) -> tuple[Any, ...]:
    return (-row["pct_time_in_flood"], -row["per_operator_hour"], -row["peak_per_10min"],
            -row["stale"], -row["standing"], -row["silent"], row["site"], row["site_id"])


def _rate(n: int, op_periods: int) -> float:
    """Alarms per operator-hour."""
    return round(n * 3600 / (op_periods * BUCKET_S), 2) if op_periods else 0.0


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


def _label(site_id: int, device_id: int | None, kind: str, names: dict[int, str],
           devices: dict[int, str]) -> dict[str, Any]:
    """Device codes repeat from mine to mine (CH4-1): always with the site."""
    return {"site_id": site_id, "site": names.get(site_id, str(site_id)),
            "device": "" if device_id is None else devices.get(device_id, str(device_id)),
            "kind": kind}


def _top10(raises: list[Any], names: dict[int, str],
           devices: dict[int, str]) -> list[dict[str, Any]]:
    counts = Counter((r.site_id, r.device_id, r.kind) for r in raises)
    rows = [{**_label(s, d, k, names, devices), "count": n,
             "pct": round(100.0 * n / len(raises), 1)} for (s, d, k), n in counts.items()]
    return sorted(rows, key=lambda x: (-x["count"], x["site"], x["device"], x["kind"]))[:10]


def _chattering(raises: list[Any], names: dict[int, str],
                devices: dict[int, str]) -> list[dict[str, Any]]:
    """Conditions raised CHATTER_N times within CHATTER_S s: count = raises in the window,
    per_minute = the most raises within any CHATTER_S s."""
    times: dict[tuple[int, int | None, str], list[float]] = defaultdict(list)
    for r in raises:
        times[(r.site_id, r.device_id, r.kind)].append(r.at.timestamp())
    out = []
    for (s, d, k), ts in times.items():
        most = _most_within(sorted(ts), CHATTER_S)
        if most >= CHATTER_N:
            out.append({**_label(s, d, k, names, devices), "count": len(ts),
                        "per_minute": most})
    return sorted(out, key=lambda x: (-x["count"], x["site"], x["device"], x["kind"]))[:10]


def _most_within(ts: list[float], span: float) -> int:
    most, lo = 0, 0
    for hi, t in enumerate(ts):
        while t - ts[lo] > span:
            lo += 1
        most = max(most, hi - lo + 1)
    return most
