"""Work shifts: when a site's exposure doses (TWA) and STEL excursion counts restart.

A site's shift starts are local wall-clock times ("HH:MM", `alarm_escalation.shift_starts`,
edited on the routing page; product default three 8-h shifts from 00:00). Kazakhstan keeps one
time zone, UTC+5, since 1 March 2024, without daylight saving (`routing.LOCAL_UTC_OFFSET`).

The worker's timer tick calls `reset_due` for each site's engine: every sensor whose shift
began before the latest start is reset, stamped at that start. So a tick resets once per
boundary, and a tick after a pause or a restart that missed one resets late, but once. What
the engine's shift start is after a rebuild: `runtime.build` (the build time, or the raise
time of a TWA occurrence still active in the database), then `runtime.seed_exposure` (the
latest start, with the dose since it rebuilt).

The same settings say how many operators are at the site's alarm console at a time
(`alarm_escalation.console_operators`, 1-20, default 1): the alarm KPIs divide the site's
alarms by the number on duty in each period (kpis.py), kept as a history of changes
(`alarm_console_staffing`). Both are edited together on the routing page and in the API (GET/PUT
/sites/{id}/shifts): validated, audited with before and after, in the caller's scope."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms import routing
from qorgau.alarms.engine import EVENT_DTYPE, AlarmEngine
from qorgau.alarms.models import ConsoleStaffing, EscalationPolicy
from qorgau.alarms.routing import LOCAL_UTC_OFFSET
from qorgau.alarms.schemas import ShiftsIn
from qorgau.core import audit
from qorgau.core.db import utcnow
from qorgau.core.security import Actor

_DAY_S = 86400.0
DEFAULT_OPERATORS = 1  # one alarm console with one operator: a site without its own setting
FIELDS = ["shift_starts", "console_operators", "revision"]


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def latest_start(starts: Sequence[str], now: float) -> float:
    """Unix time of the latest shift start at or before `now` (starts: local "HH:MM")."""
    off = LOCAL_UTC_OFFSET.total_seconds()
    local = now + off
    midnight = math.floor(local / _DAY_S) * _DAY_S
    best = -math.inf
    for s in starts:
        t = midnight + minutes(s) * 60.0
        best = max(best, t if t <= local else t - _DAY_S)
    return best - off


def reset_due(engine: AlarmEngine, starts: Sequence[str], now: float) -> np.ndarray:
    """Reset the sensors whose shift began before the latest start; their events (TWA
    clears, stamped at that start)."""
    at = latest_start(starts, now)
    due = np.flatnonzero(~(engine.state.exposure.shift_start >= at))  # NaN: never reset
    if not len(due):
        return np.empty(0, EVENT_DTYPE)
    return engine.reset_shift(at, due)


# --- the site's settings: shift starts and console operators ----------------------------------

def console_operators(db: Session, site_ids: Collection[int]) -> dict[int, int]:
    """Operators at each site's alarm console at a time (the KPIs ask; the caller has
    scoped the sites). Every site given is in the answer, the default where not set."""
    out = dict.fromkeys(site_ids, DEFAULT_OPERATORS)
    if out:
        out.update(db.execute(select(EscalationPolicy.site_id, EscalationPolicy.console_operators)
                              .where(EscalationPolicy.site_id.in_(out))).tuples().all())
    return out


def operators_by_period(db: Session, site_ids: Collection[int], since: datetime, periods: int,
                        period_s: int) -> dict[int, list[int]]:
    """Per site, the operators on duty at its own console in each period [since + k·period_s,
    + period_s): the number in force at the period's start (`ConsoleStaffing`; a change counts
    from the next period on), the default before the site's first row."""
    S = ConsoleStaffing
    return by_period(db, S.site_id, S.operators, site_ids, DEFAULT_OPERATORS, since, periods,
                     period_s)


def by_period(db: Session, key: Any, value: Any, keys: Collection[int], default: Any,
              since: datetime, periods: int, period_s: int) -> dict[int, list[Any]]:
    """A history table (`key`, `value`, `valid_from`, appended rows) as each key's value per
    period: the value in force at the period's start (a change counts from the next period
    on), `default` before the key's first row. Serves the staffing of a site's own console
    and of a shared one, and the sites' console membership (consoles.py)."""
    out = {k: [default] * periods for k in keys}
    if not out:
        return out
    until = since + timedelta(seconds=periods * period_s)
    t = key.class_.__table__.c  # the history table of `key` and `value`
    for k_, v, at in db.execute(select(key, value, t.valid_from).where(
            key.in_(out), t.valid_from < until).order_by(t.valid_from, t.id)).tuples():
        k = min(periods, max(0, math.ceil((at - since).total_seconds() / period_s)))
        out[k_][k:] = [v] * (periods - k)
    return out


def _snapshot(p: EscalationPolicy | None) -> dict[str, Any]:
    """The settings in force: the product defaults where the site has none (revision 0)."""
    if p is None:
        return {"shift_starts": list(C.DEFAULT_SHIFTS), "console_operators": DEFAULT_OPERATORS,
                "revision": 0}
    return {"shift_starts": list(p.shift_starts or C.DEFAULT_SHIFTS),
            "console_operators": p.console_operators, "revision": p.revision}


def _policy(db: Session, site_id: int) -> EscalationPolicy | None:
    return db.scalar(select(EscalationPolicy).where(EscalationPolicy.site_id == site_id))


def settings(*, db: Session, actor: Actor, site_id: int) -> dict[str, Any]:
    """The site's shift starts and console operators (another tenant's site: 404)."""
    actor.require(C.READ)
    s = routing.addressed_site(db, actor, site_id)
    return _snapshot(_policy(db, s.id))


def set_settings(*, db: Session, actor: Actor, site_id: int, data: ShiftsIn) -> dict[str, Any]:
    """Set the site's shift starts and, if given, its console operators; one audit row with
    the settings before (the defaults if never set) and after. The worker's next tick resets
    doses at the latest start if it is newer than the last reset. A new number of operators
    is also appended to the site's staffing history: the KPIs count it from now on, and
    past periods keep the operators on duty then."""
    actor.require(C.CONFIGURE)
    s = routing.addressed_site(db, actor, site_id)
    p = _policy(db, s.id)
    before = {**_snapshot(p), "site_id": s.id}  # the site in both: the trail shows changes
    if p is None:  # the row also holds the escalation times: the defaults until edited
        e = routing.DEFAULT_DELAYS.escalation
        p = EscalationPolicy(site_id=s.id, enterprise_id=s.enterprise_id,
                             region_code=s.region_code, created_by=actor.label, revision=0,
                             tier2_after_s=int(e[0]), tier3_after_s=int(e[1]),
                             tier4_after_s=int(e[2]),
                             reminder_s=int(routing.DEFAULT_DELAYS.reminder),
                             console_operators=DEFAULT_OPERATORS)
        db.add(p)
    p.shift_starts = list(data.shift_starts)
    if data.console_operators is not None and data.console_operators != before[
            "console_operators"]:
        p.console_operators = data.console_operators
        db.add(ConsoleStaffing(site_id=s.id, enterprise_id=s.enterprise_id,
                               region_code=s.region_code, operators=data.console_operators,
                               valid_from=utcnow(), created_by=actor.label))
    p.revision += 1
    db.flush()
    after = _snapshot(p)
    audit.record(db, actor=actor, action="alarms.shifts.set", object_type="alarm_escalation",
                 object_id=p.id, before=before,
                 after={**after, "site_id": s.id, "reason": data.reason})
    db.commit()
    return after
