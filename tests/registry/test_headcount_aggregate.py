"""The trigger-maintained headcount (headcount_change) equals counting contracts directly, on
random contracts written by every path (multi-row INSERT, ORM, UPDATE of dates / region /
section, termination, DELETE), for dates on and around every boundary, in every grouping, with
filters and within a region's slice. Everything runs in one transaction that is rolled back,
so the shared test database is left as it was."""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from conftest import World
from qorgau.core.roles import Role
from qorgau.core.security import Actor
from qorgau.registry import headcount
from qorgau.registry.models import Employment, HeadcountChange, Worker

REGIONS = ["KZ-35", "KZ-75", "KZ-11", "KZ-62"]
SECTIONS = ["B", "C", "F", "Q"]
NATIONAL = Actor(kind="user", id=1, name="t", role=Role.MINISTRY_ANALYST)
REGIONAL = Actor(kind="user", id=2, name="t", role=Role.LABOUR_INSPECTOR, region="KZ-35")


def _day(rng: random.Random) -> date:
    return date(2015, 1, 1) + timedelta(days=rng.randrange(0, 4000))


def _contract(rng: random.Random, tag: str, i: int, worker: int, ent: int) -> dict[str, object]:
    start = _day(rng)
    end = start + timedelta(days=rng.randrange(0, 2000)) if rng.random() < 0.6 else None
    return {
        "contract_no": f"HC-{tag}-{i}",
        "worker_id": worker,
        "enterprise_id": ent,
        "region_code": rng.choice(REGIONS),
        "section": rng.choice(SECTIONS),
        "occupation": "x",
        "start_date": start,
        "end_date": end,
        "monthly_wage": 0,
        "created_by": "test",
    }


def _write_random(db: Session, rng: random.Random, ents: list[int]) -> list[date]:
    tag = secrets.token_hex(4)
    worker = db.scalar(
        insert(Worker)
        .values(
            iin_hash=f"hc-{tag}",
            iin_masked="*",
            last_name="H",
            first_name="C",
            birth_date=date(1980, 1, 1),
            sex="M",
            created_by="test",
        )
        .returning(Worker.id)
    )
    rows = [_contract(rng, tag, i, worker, rng.choice(ents)) for i in range(300)]
    db.execute(insert(Employment).values(rows[:200]))  # one multi-row statement
    db.execute(insert(Employment), rows[200:])  # executemany
    db.add(Employment(**{**_contract(rng, tag, 999, worker, ents[0]), "end_date": None}))
    db.flush()
    ids = list(db.scalars(select(Employment.id).where(Employment.contract_no.like(f"HC-{tag}-%"))))
    for cid in rng.sample(ids, 60):  # terminations, date fixes, moves, no-op updates
        kind = rng.randrange(4)
        row = db.get(Employment, cid)
        assert row is not None
        if kind == 0:
            values = {"end_date": row.start_date + timedelta(days=rng.randrange(0, 400))}
        elif kind == 1:
            values = {"start_date": row.start_date - timedelta(days=rng.randrange(1, 90))}
        elif kind == 2:
            values = {"region_code": rng.choice(REGIONS), "section": rng.choice(SECTIONS)}
        else:
            values = {"monthly_wage": 1}
        db.execute(update(Employment).where(Employment.id == cid).values(**values))
    db.execute(update(Employment).where(Employment.id.in_(ids[:20])).values(end_date=None))
    db.execute(delete(Employment).where(Employment.id.in_(rng.sample(ids, 30))))
    db.expire_all()
    ends = [r["end_date"] for r in rows if r["end_date"]]
    days = [r["start_date"] for r in rows[:15]] + ends[:15]
    out = []
    for d in days:
        out += [d - timedelta(days=1), d, d + timedelta(days=1)]
    out += [date(y, 1, 1) for y in range(2014, 2028)] + [date(y, 12, 31) for y in (2016, 2020)]
    out += [date(2020, 2, 29), date(2021, 3, 1), date(2019, 7, 31), date(2019, 8, 1)]
    return out + [_day(rng) for _ in range(20)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aggregate_equals_direct_count(db: Session, world: World, seed: int) -> None:
    rng = random.Random(seed)
    try:
        days = _write_random(db, rng, list(world.enterprises.values()))
        assert db.scalar(select(HeadcountChange.delta).limit(1)) is not None
        checked = 0
        for on in days:
            for actor in (NATIONAL, REGIONAL):
                for group_by in (None, "region", "section"):
                    for region, section in ((None, None), ("KZ-35", None), (None, "C")):
                        kw = {"on": on, "group_by": group_by, "region": region, "section": section}
                        agg = headcount.aggregated(db=db, actor=actor, **kw)
                        direct = headcount.direct(db=db, actor=actor, **kw)
                        assert agg == direct, (seed, actor.role, kw)
                        checked += 1
        assert checked > 1000
        # the random contracts really move the figures (the comparison is not 0 == 0)
        _, total = headcount.aggregated(db=db, actor=NATIONAL, on=date(2020, 6, 1))
        assert total > 50
    finally:
        db.rollback()


def test_in_force_routes_enterprise_questions_to_the_contracts(db: Session, world: World) -> None:
    ent = world.enterprises["mine_krg"]
    assert not headcount.uses_aggregate(NATIONAL, None, ent)
    assert not headcount.uses_aggregate(NATIONAL, "enterprise", None)
    employer = Actor(kind="user", id=3, name="t", role=Role.EMPLOYER_OSH, enterprise_id=ent)
    assert not headcount.uses_aggregate(employer, None, None)
    assert headcount.uses_aggregate(REGIONAL, "region", None)
    on = date(2024, 6, 1)
    # other tests add contracts to the shared world: count the truth directly
    direct = len(db.scalars(select(Employment.id).where(
        Employment.enterprise_id == ent, headcount.active_on(on))).all())
    assert direct >= 3  # the world's own three contracts
    groups, total = headcount.in_force(db=db, actor=NATIONAL, on=on, group_by="enterprise")
    assert groups[ent] == direct and total >= direct + 3
    _, mine = headcount.in_force(db=db, actor=employer, on=on)
    assert mine == direct
    # a region inspector's slice excludes the other region in both paths
    groups, _ = headcount.in_force(db=db, actor=REGIONAL, on=on, group_by="region")
    assert set(groups) == {"KZ-35"}
