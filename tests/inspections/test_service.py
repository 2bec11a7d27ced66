"""Risk score components, capacity-bound plans, overdue examinations and prescriptions."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from qorgau.core.errors import RuleViolation
from qorgau.core.events import OutboxEvent
from qorgau.inspections import service
from qorgau.inspections.models import Prescription, Violation
from qorgau.inspections.schemas import DeviceIn, FacilityIn, PlanIn


def _actor(db, world, key):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user

    return actor_for_user(db.get(User, world.users[key]))


def _device(db, world, due: date):
    mchs = _actor(db, world, "mchs_krg")
    return service.register_device(
        db=db,
        actor=mchs,
        data=DeviceIn(
            enterprise_id=world.enterprises["mine_krg"],
            reg_no=f"CR-{secrets.token_hex(4)}",
            kind="crane",
            exam_due=due,
        ),
    )


def test_overdue_examination_is_violation_and_raises_score(db, world) -> None:
    eid = world.enterprises["mine_krg"]
    before = service.risk_scores(db=db, enterprise_ids=[eid])[eid]
    dev = _device(db, world, date.today() - timedelta(days=3))
    got = service.run_daily(db=db, on=date.today())
    assert got["overdue_exams_opened"] >= 1
    v = db.scalar(select(Violation).where(Violation.device_id == dev.id))
    assert v is not None and v.state == "open" and v.source == "overdue_exam"
    after = service.risk_scores(db=db, enterprise_ids=[eid])[eid]
    assert after.total > before.total
    names = {p.name for p in after.components}
    assert {"risk_class", "overdue_exams", "hpf"} <= names
    assert all(p.reason for p in after.components)
    assert after.skipped == []  # every component of the score is wired
    # A second run does not open a second violation for the same device.
    service.run_daily(db=db, on=date.today())
    assert len(db.scalars(select(Violation.id).where(Violation.device_id == dev.id)).all()) == 1


def test_examination_closes_violation(db, world) -> None:
    from qorgau.inspections.schemas import ExaminationIn

    dev = _device(db, world, date.today() - timedelta(days=1))
    service.run_daily(db=db, on=date.today())
    service.record_examination(
        db=db,
        actor=_actor(db, world, "mchs_krg"),
        device_id=dev.id,
        data=ExaminationIn(examined_on=date.today(), next_due=date.today() + timedelta(days=365)),
    )
    v = db.scalar(select(Violation).where(Violation.device_id == dev.id))
    assert v.state == "eliminated"


def test_plan_respects_capacity_and_authority(db, world) -> None:
    inspector = _actor(db, world, "inspector_krg")
    service.set_capacity(db=db, actor=inspector, region="KZ-35", authority="labour", per_month=1)
    plan = service.create_plan(
        db=db,
        actor=inspector,
        data=PlanIn(
            authority="labour", period_start=date(2026, 3, 1), period_end=date(2026, 4, 30)
        ),
    )
    _, items = service.get_plan(db=db, actor=inspector, plan_id=plan.id)
    assert plan.capacity == 2 and len(items) == min(2, plan.candidates)
    assert [i.rank for i in items] == list(range(1, len(items) + 1))
    assert all(items[k].score >= items[k + 1].score for k in range(len(items) - 1))
    assert all(i.region_code == "KZ-35" for i in items)
    ev = db.scalar(
        select(OutboxEvent).where(
            OutboxEvent.type == "inspection.planned", OutboxEvent.object_id == str(items[0].id)
        )
    )
    assert ev is not None
    with pytest.raises(RuleViolation) as err:
        service.create_plan(
            db=db,
            actor=inspector,
            data=PlanIn(
                authority="industrial", period_start=date(2026, 3, 1), period_end=date(2026, 3, 31)
            ),
        )
    assert err.value.field == "authority"


def test_industrial_plan_only_hpf_enterprises(db, world) -> None:
    mchs = _actor(db, world, "mchs_krg")
    service.register_facility(
        db=db,
        actor=mchs,
        data=FacilityIn(
            enterprise_id=world.enterprises["mine_krg"],
            reg_no=f"HPF-{secrets.token_hex(3)}",
            name="Шахта ствол №2",
            kind="mine",
            hazard_class=1,
            expert_exam_due=date.today() + timedelta(days=100),
        ),
    )
    plan = service.create_plan(
        db=db,
        actor=mchs,
        data=PlanIn(
            authority="industrial", period_start=date(2026, 5, 1), period_end=date(2026, 5, 31)
        ),
    )
    _, items = service.get_plan(db=db, actor=mchs, plan_id=plan.id)
    assert world.enterprises["mine_krg"] in {i.enterprise_id for i in items}
    reasons = next(i.reasons for i in items if i.enterprise_id == world.enterprises["mine_krg"])
    assert any(r["name"] == "hpf" and "class 1" in r["reason"] for r in reasons)


def test_prescription_overdue_event(db, world) -> None:
    p = Prescription(
        violation_id=_violation(db, world),
        enterprise_id=world.enterprises["mine_krg"],
        region_code="KZ-35",
        issued_on=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
    )
    db.add(p)
    db.commit()
    service.run_daily(db=db, on=date(2026, 2, 1))
    db.refresh(p)
    assert p.state == "overdue"
    assert db.scalar(
        select(OutboxEvent.id).where(
            OutboxEvent.type == "prescription.overdue", OutboxEvent.object_id == str(p.id)
        )
    )


def _violation(db, world) -> int:
    v = Violation(
        enterprise_id=world.enterprises["mine_krg"],
        region_code="KZ-35",
        item_code="L03",
        found_on=date(2026, 1, 1),
    )
    db.add(v)
    db.flush()
    return v.id
