"""Alarm-system KPIs after EEMUA 191 / ISA-18.2, per site or region over [now - hours, now].

Operators: every site in the caller's scope (narrowed to the chosen region or site) that has
alarm devices has an alarm console with its own number of operators on duty at a time (set with
its work shifts; one where not set), whether or not it raised anything: a quiet site still
shares the load. A site's alarms are shared by its own operators, counted per 10-minute period
as the number on duty then (`shifts.operators_by_period`: a change counts from the next period
on, and past periods keep the operators of their time). A site on a console shared by several
sites (consoles.py) is not staffed apart: in each period its alarms join the shared console's
load, divided by that console's operators, each console counted once (`_Load`). `operators`
is the sum over the consoles now; `operator_hours` over the window.

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
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from qorgau.alarms import consoles, shifts
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
    periods = max(1, hours * 3600 // BUCKET_S)
    load = _Load.build(db, actor, site_ids, since, now, periods, raises)
    names = _site_names(db, set(load.key_now))  # the view's sites and their consoles' others
    own = Counter(r.site_id for r in raises)
    sites = sorted(({**_site_row(s, names.get(s, str(s)), load.operators_now(s), own[s],
                                 load.of_site(s), held.get(s)),
                     "console": load.console_names.get(load.key_now[s])} for s in site_ids),
                   key=_worst_first)
    total = load.of_view(site_ids)
    devices = _device_codes(db, raises)
    return {
        "window_hours": hours, "since": since, "until": now,
        "operators": sum(load.operators_now(k) for k in load.keys_now(site_ids)),
        "operator_hours": _num(total["op_periods"] * BUCKET_S / 3600),
        "alarms": len(raises),
        "per_operator_hour": _rate(total["load"], total["op_periods"]),
        "peak_per_10min": _num(total["peak"]),
        "pct_time_in_flood": _pct(total["flooded"], total["op_periods"]),
        "top10": _top10(raises, names, devices),
        "chattering": _chattering(raises, names, devices),
        **{k: sum(h[k] for h in held.values()) for k in _HELD},
        "sites": sites,
        "consoles": [load.console_row(c, names) for c in sorted(load.console_names,
                                                                key=load.console_names.get)],
    }


class _Load:
    """Who carried the alarms in each 10-minute period: a key is a site's own console (the
    site id) or a shared console (its id, negated), with its operators on duty and the alarms
    of every site it took then (`consoles.owners_by_period`). A shared console's load counts
    the alarms of all its sites, those outside the view too: they are the same enterprise
    and region, so in any scope that sees one of them (consoles.py)."""

    def __init__(self, periods: int) -> None:
        self.periods = periods
        self.owner: dict[int, np.ndarray] = {}  # site -> key per period
        self.load: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(self.periods))
        self.ops: dict[int, np.ndarray] = {}  # key -> operators per period
        self.staffed: dict[int, np.ndarray] = {}  # shared key -> periods it took any site
        self.now: dict[int, int] = {}  # key -> operators now
        self.key_now: dict[int, int] = {}  # site -> its key now
        self.console_names: dict[int, str] = {}  # shared key -> name

    @classmethod
    def build(cls, db: Session, actor: Actor, site_ids: set[int], since: datetime,
              now: datetime, periods: int, raises: list[Any]) -> _Load:
        self = cls(periods)
        owners = consoles.owners_by_period(db, site_ids, since, periods, BUCKET_S)
        shared = {c for o in owners.values() for c in o if c is not None}
        current = consoles.current(db, site_ids)
        shared |= set(current.values())
        peers = consoles.sites_of(db, shared) - site_ids
        current |= consoles.current(db, peers)
        owners |= consoles.owners_by_period(db, peers, since, periods, BUCKET_S)
        for s, o in owners.items():
            self.owner[s] = np.array([s if c is None else -c for c in o], np.int64)
        self.staffed = _periods_on(self.owner.values(), periods, shared=True)
        own = shifts.operators_by_period(db, site_ids, since, periods, BUCKET_S)
        self.ops |= {s: np.array(n, float) for s, n in own.items()}
        self.ops |= {-c: np.array(n, float) for c, n in consoles.operators_by_period(
            db, shared, since, periods, BUCKET_S).items()}
        self.now |= shifts.console_operators(db, site_ids)
        for c in consoles.rows(db, shared):
            self.now[-c.id], self.console_names[-c.id] = c.operators, c.name
        self.key_now = {s: -current[s] if s in current else s for s in site_ids | peers}
        rows = raises + (_peer_raises(db, actor, peers, since, now) if peers else [])
        for r in rows:
            b = min(periods - 1, int((r.at - since).total_seconds() // BUCKET_S))
            self.load[int(self.owner[r.site_id][b])][b] += 1
        return self

    def keys_now(self, site_ids: set[int]) -> set[int]:
        return {self.key_now[s] for s in site_ids}

    def operators_now(self, key_or_site: int) -> int:
        return self.now[self.key_now.get(key_or_site, key_or_site)]

    def _periods(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Alarms and operators per period of the key in force in each."""
        load = np.zeros(self.periods)
        ops = np.zeros(self.periods)
        for k in np.unique(keys):
            at = keys == k
            load[at], ops[at] = self.load[int(k)][at], self.ops[int(k)][at]
        return load, ops

    def of_site(self, site: int) -> dict[str, float]:
        """The load of the console(s) the site's alarms went to, period by period."""
        return _stats(*self._periods(self.owner[site]))

    def of_view(self, site_ids: set[int]) -> dict[str, float]:
        """Each console the view's sites were on, counted once per period."""
        total: Counter[str] = Counter()
        peak = 0.0
        for k, active in self._active(site_ids).items():
            st = self._stats_on(k, active)
            peak = max(peak, st.pop("peak"))
            total.update(st)
        return {"load": total["load"], "op_periods": total["op_periods"],
                "flooded": total["flooded"], "peak": peak}

    def _stats_on(self, key: int, on: np.ndarray) -> dict[str, float]:
        """The key's figures over the periods `on` only."""
        return _stats(np.where(on, self.load[key], 0.0), np.where(on, self.ops[key], 0.0))

    def _active(self, site_ids: set[int]) -> dict[int, np.ndarray]:
        return _periods_on((self.owner[s] for s in site_ids), self.periods)

    def console_row(self, key: int, names: dict[int, str]) -> dict[str, Any]:
        """A shared console over the periods any site was on it."""
        st = self._stats_on(key, self.staffed.get(key, np.zeros(self.periods, bool)))
        sites = sorted(s for s, k in self.key_now.items() if k == key)
        return {"console_id": -key, "console": self.console_names[key], "site_ids": sites,
                "sites": [names.get(s, str(s)) for s in sites],
                "operators": self.now[key],
                "operator_hours": _num(st["op_periods"] * BUCKET_S / 3600),
                "alarms": int(st["load"]), "per_operator_hour": _rate(st["load"],
                                                                      st["op_periods"]),
                "peak_per_10min": _num(st["peak"]),
                "pct_time_in_flood": _pct(st["flooded"], st["op_periods"])}


def _periods_on(owners: Iterable[np.ndarray], periods: int,
                shared: bool = False) -> dict[int, np.ndarray]:
    """Per key, the periods in which one of the sites' alarms went to it (`shared`: shared
    consoles only, the negative keys)."""
    out: dict[int, np.ndarray] = {}
    for o in owners:
        for k in np.unique(o[o < 0] if shared else o):
            out[int(k)] = out.get(int(k), np.zeros(periods, bool)) | (o == k)
    return out


def _stats(load: np.ndarray, ops: np.ndarray) -> dict[str, float]:
    """Alarms, operator-periods, the most alarms one operator had in a period and the
    operator-periods in flood (all of a period's operators share its alarms)."""
    each = np.divide(load, ops, out=np.zeros_like(load), where=ops > 0)
    return {"load": float(load.sum()), "op_periods": float(ops.sum()),
            "peak": float(each.max(initial=0.0)), "flooded": float(ops[each > FLOOD].sum())}


def _peer_raises(db: Session, actor: Actor, peers: set[int], since: datetime,
                 now: datetime) -> list[Any]:
    """Raises at sites outside the view that shared a console with it (scoped all the same)."""
    return db.execute(scoped(
        select(AlarmEvent.at, AlarmRecord.site_id)
        .join(AlarmRecord, AlarmRecord.id == AlarmEvent.alarm_id)
        .where(AlarmEvent.trigger == "raise", AlarmEvent.at >= since, AlarmEvent.at <= now,
               AlarmRecord.site_id.in_(peers)), AlarmRecord, actor)).all()


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


def _site_row(s: int, name: str, ops: int, alarms: int, load: dict[str, float],
              held: Counter[str] | None) -> dict[str, Any]:
    """The site's alarms, and the load of the console its alarms went to (its own, or a
    shared one's with the other sites' alarms)."""
    h = held or Counter()
    return {"site_id": s, "site": name, "operators": ops,
            "operator_hours": _num(load["op_periods"] * BUCKET_S / 3600),
            "alarms": alarms,
            "per_operator_hour": _rate(load["load"], load["op_periods"]),
            "peak_per_10min": _num(load["peak"]),
            "pct_time_in_flood": _pct(load["flooded"], load["op_periods"]),
            **{k: h[k] for k in _HELD}}


def _worst_first(row: dict[str, Any]) -> tuple[Any, ...]:
    return (-row["pct_time_in_flood"], -row["per_operator_hour"], -row["peak_per_10min"],
            -row["stale"], -row["standing"], -row["silent"], row["site"], row["site_id"])


def _pct(part: float, op_periods: float) -> float:
    return round(100.0 * part / op_periods, 2) if op_periods else 0.0


def _rate(n: float, op_periods: float) -> float:
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
