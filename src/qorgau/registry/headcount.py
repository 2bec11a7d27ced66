"""Headcount (contracts in force) on a date, per region / OKED section / enterprise, within the
caller's slice. National and regional figures come from the trigger-maintained
`headcount_change` (a sum over a few thousand small rows, whatever the number of contracts);
figures for one enterprise, per enterprise, or for callers whose slice is an enterprise count
the contracts directly through the (enterprise_id, start_date, end_date) index. Both give the
same numbers (tests/registry/test_headcount_aggregate.py). No permission check here: callers
(registry pages, indicators) check their own."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from qorgau.core.roles import Reach
from qorgau.core.security import Actor, scoped
from qorgau.registry.models import Employment, HeadcountChange

GROUPS = ("region", "section", "enterprise")
H = HeadcountChange


def active_on(on: date) -> Any:
    return and_(
        Employment.start_date <= on, or_(Employment.end_date.is_(None), Employment.end_date >= on)
    )


def _prefix(on: date) -> Any:
    """Every change dated on or before `on`, each counted once: whole years before its year,
    whole months of its year before its month, days of its month up to `on`."""
    year, month = date(on.year, 1, 1), date(on.year, on.month, 1)
    return or_(
        and_(H.grain == "Y", H.starts_on < year),
        and_(H.grain == "M", H.starts_on >= year, H.starts_on < month),
        and_(H.grain == "D", H.starts_on >= month, H.starts_on <= on),
    )


def uses_aggregate(actor: Actor, group_by: str | None, enterprise_id: int | None) -> bool:
    return (
        enterprise_id is None
        and group_by != "enterprise"
        and actor.reach in (Reach.NATIONAL, Reach.REGION)
    )


def in_force(
    *,
    db: Session,
    actor: Actor,
    on: date,
    group_by: str | None = None,
    region: str | None = None,
    section: str | None = None,
    enterprise_id: int | None = None,
) -> tuple[dict[Any, int], int]:
    """({group key: headcount}, total) on `on`; the dict is empty when group_by is None."""
    if uses_aggregate(actor, group_by, enterprise_id):
        return aggregated(db=db, actor=actor, on=on, group_by=group_by, region=region,
                          section=section)  # fmt: skip
    return direct(db=db, actor=actor, on=on, group_by=group_by, region=region, section=section,
                  enterprise_id=enterprise_id)  # fmt: skip


def aggregated(
    *,
    db: Session,
    actor: Actor,
    on: date,
    group_by: str | None = None,
    region: str | None = None,
    section: str | None = None,
) -> tuple[dict[Any, int], int]:
    conds = [_prefix(on)]
    if region:
        conds.append(H.region_code == region)
    if section:
        conds.append(H.section == section)
    if group_by is None:
        total = db.scalar(scoped(select(func.sum(H.delta)), H, actor).where(*conds))
        return {}, int(total or 0)
    col = {"region": H.region_code, "section": H.section}[group_by]
    stmt = scoped(select(col, func.sum(H.delta)), H, actor).where(*conds).group_by(col)
    groups = {k: int(n) for k, n in db.execute(stmt) if n}
    return groups, sum(groups.values())


def direct(
    *,
    db: Session,
    actor: Actor,
    on: date,
    group_by: str | None = None,
    region: str | None = None,
    section: str | None = None,
    enterprise_id: int | None = None,
) -> tuple[dict[Any, int], int]:
    """The same figures counted over the contracts themselves."""
    E = Employment
    conds = [active_on(on)]
    for col, value in ((E.region_code, region), (E.section, section),
                       (E.enterprise_id, enterprise_id)):  # fmt: skip
        if value:
            conds.append(col == value)
    if group_by is None:
        base = scoped(select(func.count()).select_from(E), E, actor).where(*conds)
        return {}, int(db.scalar(base) or 0)
    col = {"region": E.region_code, "section": E.section, "enterprise": E.enterprise_id}[group_by]
    stmt = scoped(select(col, func.count()), E, actor).where(*conds).group_by(col)
    groups = {k: int(n) for k, n in db.execute(stmt)}
    # every contract has one region, section and enterprise: the total is the sum (one scan)
    return groups, sum(groups.values())
