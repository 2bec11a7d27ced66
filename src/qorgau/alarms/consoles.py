"""Alarm consoles shared by sites: a central dispatch room that takes the alarms of several
mines of one enterprise. EEMUA 191 counts an alarm load per operator position; a dispatcher
who watches three sites carries their alarms together, so the KPIs must not divide each
site's alarms by "its" operators as if the sites were staffed apart (kpis.py).

- A console belongs to one enterprise and one region: its sites are all in any scope that
  sees one of them (enterprise or region), so its load is never counted from alarms the
  caller cannot see.
- Which console a site's alarms go to is a history (`ConsoleMember`, appended whenever the
  site joins or leaves), as are the console's operators (`ConsoleStaffing.console_id`): a past
  window's KPIs use the consoles and operators of its time. A change counts from the next
  10-minute period, as for a site's own operators (`shifts.operators_by_period`).
- A site is on at most one shared console at a time; joining one moves it there. A site on
  none has its own console, with the operators set with its shifts.
- Every change is validated (the field named), audited with before and after, and needs
  CONFIGURE in the caller's scope; consoles are never deleted (one without sites is out of
  use and past windows keep it)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms import shifts
from qorgau.alarms.models import Console, ConsoleMember, ConsoleStaffing
from qorgau.alarms.schemas import ConsoleIn
from qorgau.core import audit
from qorgau.core.db import utcnow
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.registry.models import Site


def current(db: Session, site_ids: Collection[int]) -> dict[int, int]:
    """The shared console each site is on now (sites on their own console are left out)."""
    if not site_ids:
        return {}
    out: dict[int, int | None] = {}
    for site, console in db.execute(select(ConsoleMember.site_id, ConsoleMember.console_id)
                                    .where(ConsoleMember.site_id.in_(set(site_ids)))
                                    .order_by(ConsoleMember.valid_from, ConsoleMember.id)):
        out[site] = console
    return {s: c for s, c in out.items() if c is not None}


def listing(*, db: Session, actor: Actor) -> list[dict[str, Any]]:
    """The shared consoles in the caller's scope, by name, with their sites now."""
    actor.require(C.READ)
    consoles = db.scalars(scoped(select(Console), Console, actor)
                          .order_by(Console.name, Console.id)).all()
    members = _members(db, [c.id for c in consoles])
    return [_out(c, members.get(c.id, [])) for c in consoles]


def get(*, db: Session, actor: Actor, console_id: int) -> dict[str, Any]:
    actor.require(C.READ)
    c = _console(db, actor, console_id)
    return _out(c, _members(db, [c.id]).get(c.id, []))


def create(*, db: Session, actor: Actor, data: ConsoleIn) -> dict[str, Any]:
    """A new shared console with its sites (moved from wherever they were) and operators."""
    actor.require(C.CONFIGURE)
    sites = _sites(db, actor, data.site_ids)
    if not sites:
        raise RuleViolation("a new console needs at least one site", field="site_ids")
    c = Console(enterprise_id=sites[0].enterprise_id, region_code=sites[0].region_code,
                name=data.name, operators=data.operators, revision=1, created_by=actor.label)
    db.add(c)
    _flush_named(db)
    now = utcnow()
    _staff(db, c, now, actor)
    _move(db, c.id, sites, now, actor)
    after = _out(c, sorted((s.id, s.name) for s in sites))
    audit.record(db, actor=actor, action="alarms.console.create", object_type="alarm_console",
                 object_id=c.id, after={**after, "reason": data.reason})
    db.commit()
    return after


def save(*, db: Session, actor: Actor, console_id: int, data: ConsoleIn) -> dict[str, Any]:
    """Rename, restaff or change the sites of a console: sites left out go back to their own
    consoles, sites added move here; each change from now on. `revision` must be the one
    the editor saw (two people editing one console: the second is told, not overwritten)."""
    actor.require(C.CONFIGURE)
    c = _console(db, actor, console_id)
    if data.revision is None:
        raise RuleViolation("give the revision you read the console at", field="revision")
    _claim(db, c, data.revision)
    before_members = _members(db, [c.id]).get(c.id, [])
    before = {**_out(c, before_members), "revision": data.revision}
    sites = _sites(db, actor, data.site_ids, c)
    now = utcnow()
    c.name = data.name
    _flush_named(db)
    if data.operators != c.operators:
        c.operators = data.operators
        _staff(db, c, now, actor)
    had = {s for s, _ in before_members}
    _move(db, c.id, [s for s in sites if s.id not in had], now, actor)
    gone = had - {s.id for s in sites}
    _move(db, None, db.scalars(select(Site).where(Site.id.in_(gone))).all() if gone else [],
          now, actor)
    db.flush()
    after = _out(c, sorted((s.id, s.name) for s in sites))
    audit.record(db, actor=actor, action="alarms.console.save", object_type="alarm_console",
                 object_id=c.id, before=before, after={**after, "reason": data.reason})
    db.commit()
    return after


# --- the KPIs' side: who carried a site's alarms in each period ---------------------------------

def owners_by_period(db: Session, site_ids: Collection[int], since: datetime, periods: int,
                     period_s: int) -> dict[int, list[int | None]]:
    """Per site, the shared console its alarms went to in each period (None: its own),
    as in force at the period's start."""
    M = ConsoleMember
    return shifts.by_period(db, M.site_id, M.console_id, site_ids, None, since, periods,
                            period_s)


def sites_of(db: Session, console_ids: Collection[int]) -> set[int]:
    """Every site that was ever on one of the consoles (the KPIs narrow by period)."""
    if not console_ids:
        return set()
    return set(db.scalars(select(ConsoleMember.site_id).distinct()
                          .where(ConsoleMember.console_id.in_(set(console_ids)))))


def operators_by_period(db: Session, console_ids: Collection[int], since: datetime,
                        periods: int, period_s: int) -> dict[int, list[int]]:
    """Per shared console, its operators on duty in each period."""
    S = ConsoleStaffing
    return shifts.by_period(db, S.console_id, S.operators, console_ids, 1, since, periods,
                            period_s)


def rows(db: Session, console_ids: Collection[int]) -> list[Console]:
    if not console_ids:
        return []
    return list(db.scalars(select(Console).where(Console.id.in_(set(console_ids)))))


# --- helpers ------------------------------------------------------------------------------------

def _claim(db: Session, c: Console, revision: int) -> None:
    """The next revision, taken in one conditional UPDATE before anything is read for the
    save: of two saves from one revision, the second waits for the first's row lock (or
    SQLite's write lock), then finds the revision gone and is told (409), instead of both
    passing a check made before either wrote."""
    taken = _bump(db, c.id, only_from=revision)
    db.refresh(c)  # what the other saves committed: name, operators, revision
    if taken != 1:
        db.rollback()
        raise Conflict(f"the console was changed meanwhile (revision {c.revision}); reload it",
                       field="revision")


def _bump(db: Session, console_id: int, only_from: int | None = None) -> int:
    """The console's next revision (only if it is at `only_from`, when given); rows taken."""
    stmt = update(Console).where(Console.id == console_id)
    if only_from is not None:
        stmt = stmt.where(Console.revision == only_from)
    return db.execute(stmt.values(revision=Console.revision + 1)
                      .execution_options(synchronize_session=False)).rowcount


def _console(db: Session, actor: Actor, console_id: int) -> Console:
    c = db.get(Console, console_id)
    if c is None or not in_scope(c, actor):
        raise NotFound("console not found")
    return c


def _sites(db: Session, actor: Actor, site_ids: list[int],
           console: Console | None = None) -> list[Site]:
    """The sites asked for: each in the caller's scope, all of one enterprise and region
    (the console's, when it exists)."""
    found = {s.id: s for s in db.scalars(select(Site).where(Site.id.in_(site_ids)))}
    missing = [i for i in site_ids if i not in found or not in_scope(found[i], actor)]
    if missing:  # another tenant's site reads as not there, as everywhere
        raise RuleViolation(f"unknown site(s): {', '.join(map(str, missing))}",
                            field="site_ids")
    sites = [found[i] for i in site_ids]
    home = (console.enterprise_id, console.region_code) if console else \
        (sites[0].enterprise_id, sites[0].region_code) if sites else None
    apart = [s.id for s in sites if (s.enterprise_id, s.region_code) != home]
    if apart:
        raise RuleViolation("a console's sites are of one enterprise and one region; "
                            f"not: {', '.join(map(str, apart))}", field="site_ids")
    return sites


def _flush_named(db: Session) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise Conflict("the enterprise has a console of that name", field="name") from exc


def _staff(db: Session, c: Console, now: datetime, actor: Actor) -> None:
    db.add(ConsoleStaffing(console_id=c.id, enterprise_id=c.enterprise_id,
                           region_code=c.region_code, operators=c.operators, valid_from=now,
                           created_by=actor.label))


def _move(db: Session, console_id: int | None, sites: list[Site], now: datetime,
          actor: Actor) -> None:
    if console_id is not None:
        _release(db, console_id, [s.id for s in sites], actor)
    db.add_all([ConsoleMember(site_id=s.id, console_id=console_id, enterprise_id=s.enterprise_id,
                              region_code=s.region_code, valid_from=now, created_by=actor.label)
                for s in sites])
    db.flush()


def _release(db: Session, console_id: int, site_ids: list[int], actor: Actor) -> None:
    """Sites joining `console_id` leave the consoles they were on: each of those is a new
    revision, audited, so its editor's older form cannot quietly take them back."""
    was = {s: c for s, c in current(db, site_ids).items() if c != console_id}
    for c_id in sorted(set(was.values())):  # in id order: two releases never deadlock
        _bump(db, c_id)
        other = db.get(Console, c_id)
        db.refresh(other)
        members = _members(db, [c_id]).get(c_id, [])
        before = {**_out(other, members), "revision": other.revision - 1}
        after = {**_out(other, [m for m in members if was.get(m[0]) != c_id]),
                 "to_console": console_id}
        audit.record(db, actor=actor, action="alarms.console.release",
                     object_type="alarm_console", object_id=c_id, before=before, after=after)


def _members(db: Session, console_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """(site id, name) of each console's sites now."""
    if not console_ids:
        return {}
    ids = sites_of(db, console_ids)
    now = current(db, ids)
    named = dict(db.execute(select(Site.id, Site.name).where(Site.id.in_(ids))).tuples().all())
    out: dict[int, list[tuple[int, str]]] = {}
    for s, c in sorted(now.items()):
        if c in console_ids:
            out.setdefault(c, []).append((s, named[s]))
    return out


def _out(c: Console, members: list[tuple[int, str]]) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "enterprise_id": c.enterprise_id,
            "region_code": c.region_code, "operators": c.operators, "revision": c.revision,
            "sites": [{"id": s, "name": n} for s, n in members]}
