"""Service functions other domains call: accident trigger, risk levels, periodic review,
instruction gap."""

from __future__ import annotations

from datetime import date, timedelta

from qorgau.core.security import SYSTEM_ACTOR
from qorgau.registry.models import Employment
from qorgau.risk import service
from qorgau.risk.models import Assessment
from qorgau.risk.schemas import AssessmentIn, ControlIn, HazardIn, InstructionIn, SettingsIn


def _actor(world, key):
    from qorgau.accounts import service as accounts
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as s:
        token, _ = accounts.open_session(s, user=s.get(User, world.users[key]), kind="bearer")
        return accounts.resolve_session(s, token=token, kind="bearer")[0]


def _assessed(db, actor, ent, likelihood, severity, instructed=False, occupation=""):
    h = service.create_hazard(
        db=db,
        actor=actor,
        data=HazardIn(
            enterprise_id=ent,
            hazard_type="mechanical",
            description="Conveyor nip points",
            occupation=occupation,
        ),
    )
    return service.create_assessment(
        db=db,
        actor=actor,
        data=AssessmentIn(
            hazard_id=h.id,
            initial={"likelihood": likelihood, "severity": severity},
            controls=[
                ControlIn(
                    level="administrative",
                    text="Lock-out procedure",
                    requires_instruction=instructed,
                )
            ],
        ),
    )


def test_levels_accident_trigger_and_periodic(db, world):
    osh = _actor(world, "osh_krg")
    ent = world.enterprises["mine_krg"]
    service.save_settings(db=db, actor=osh, enterprise_id=ent, data=SettingsIn(method="matrix_5x5"))
    a = _assessed(db, osh, ent, 5, 5)
    assert service.enterprise_risk_levels(db=db, enterprise_ids=[ent])[ent] == "very_high"
    service.sign_assessment(db=db, actor=osh, assessment_id=a.id)
    opened = service.on_accident(db=db, enterprise_id=ent, site_id=None, accident_ref="ACC-99")
    assert opened
    new = db.get(Assessment, opened[-1])
    assert new.status == "draft" and new.trigger == "accident"
    db.refresh(a)
    assert a.status == "signed"  # never overwritten
    # periodic: a signed revision past its review date gets a new draft
    service.sign_assessment(db=db, actor=osh, assessment_id=new.id)
    new.review_due = date.today() - timedelta(days=1)
    db.commit()
    reopened = service.reopen_overdue_reviews(db=db)
    assert any(db.get(Assessment, i).hazard_id == a.hazard_id for i in reopened)


def test_instruction_gap_and_confirmation(db, world):
    osh = _actor(world, "osh_ala")
    ent = world.enterprises["build_ala"]
    _assessed(db, osh, ent, 3, 3, instructed=True, occupation="miner")
    gap = service.instruction_gap(db=db, actor=osh, enterprise_id=ent)
    assert gap["missing"] >= 3  # the three miners of the world fixture
    one = gap["gaps"][0]
    service.confirm_instruction(
        db=db, actor=osh, data=InstructionIn(hazard_id=one["hazard_id"], worker_id=one["worker_id"])
    )
    after = service.instruction_gap(db=db, actor=osh, enterprise_id=ent)
    assert after["missing"] == gap["missing"] - 1
    # an inspector of the region sees the same gap; a worker of another enterprise is refused
    assert (
        service.instruction_gap(db=db, actor=_actor(world, "inspector_ala"), enterprise_id=ent)[
            "missing"
        ]
        == after["missing"]
    )
    other = (
        db.query(Employment)
        .filter(Employment.enterprise_id == world.enterprises["mine_krg"])
        .first()
    )
    import pytest

    from qorgau.core.errors import RuleViolation

    with pytest.raises(RuleViolation) as exc:
        service.confirm_instruction(
            db=db,
            actor=osh,
            data=InstructionIn(hazard_id=one["hazard_id"], worker_id=other.worker_id),
        )
    assert exc.value.field == "worker_id"


def test_levels_unscoped_helper_is_total(db, world):
    levels = service.enterprise_risk_levels(db=db)
    assert all(v in ("low", "medium", "high", "very_high") for v in levels.values())
    assert SYSTEM_ACTOR.can("risk.read")
