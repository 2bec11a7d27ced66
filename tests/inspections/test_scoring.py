"""The risk score reads the enterprise's own risk register and the concealment analysis."""

from __future__ import annotations

from datetime import date, timedelta

from qorgau.inspections import service
from qorgau.risk import service as risk
from qorgau.risk.schemas import ActionIn, AssessmentIn, ControlIn, HazardIn


def _actor(db, world, key):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user

    return actor_for_user(db.get(User, world.users[key]))


def test_own_very_high_risk_and_late_actions_raise_the_score(db, world) -> None:
    osh, ent = _actor(db, world, "osh_ala"), world.enterprises["build_ala"]
    h = risk.create_hazard(db=db, actor=osh, data=HazardIn(
        enterprise_id=ent, hazard_type="mechanical", description="Unguarded scaffold edge"))
    risk.create_assessment(db=db, actor=osh, data=AssessmentIn(
        hazard_id=h.id, initial={"likelihood": 5, "severity": 5},
        controls=[ControlIn(level="administrative", text="Briefing")]))
    month_ago = date.today() - timedelta(days=30)
    risk.create_action(db=db, actor=osh, today=month_ago, data=ActionIn(
        enterprise_id=ent, hazard_id=h.id, title="Install edge protection", owner="Site chief",
        due_date=month_ago + timedelta(days=10)))
    parts = {p.name: p for p in service.risk_scores(db=db, enterprise_ids=[ent])[ent].components}
    assert parts["risk_assessment"].points == 14 and "very_high" in parts["risk_assessment"].reason
    assert parts["overdue_actions"].points >= 2 and "past due" in parts["overdue_actions"].reason


def test_confirmed_concealment_raises_the_score(db, world) -> None:
    import secrets

    from qorgau.concealment.models import Case

    ent = world.enterprises["mine_krg"]
    before = {p.name: p.points for p in service.risk_scores(db=db, enterprise_ids=[ent])[
        ent].components}.get("concealment", 0)
    db.add(Case(key=f"test-{secrets.token_hex(4)}", kind="unreported", region_code="KZ-35",
                enterprise_id=ent, score=3.0, probability=0.9, state="confirmed"))
    db.commit()
    parts = {p.name: p for p in service.risk_scores(db=db, enterprise_ids=[ent])[ent].components}
    assert parts["concealment"].points == min(20, before + 10)
    assert "confirmed" in parts["concealment"].reason


def test_counted_components_are_capped_and_say_how_many() -> None:
    from qorgau.inspections.scoring import ScoreBreakdown, _add_counted

    scores = {1: ScoreBreakdown(1), 2: ScoreBreakdown(2)}
    _add_counted(scores, [(1, 3), (2, 50), (99, 4)], "violations", 2.0, 10.0, "{n} found")
    assert [(p.points, p.reason) for p in scores[1].components] == [(6.0, "3 found")]
    assert [(p.points, p.reason) for p in scores[2].components] == [(10.0, "50 found")]
