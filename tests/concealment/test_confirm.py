"""Confirming a case registers the accident retroactively and records the violation, once."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import func, select

from qorgau.concealment.models import Case
from qorgau.core.audit import AuditEntry
from qorgau.incidents.models import Accident
from qorgau.inspections.models import Violation


def _case(db, world, region: str = "KZ-35") -> int:
    ent = world.enterprises["mine_krg" if region == "KZ-35" else "build_ala"]
    case = Case(key=f"t:c:{secrets.token_hex(4)}", kind="unreported_injury", region_code=region,
                enterprise_id=ent, event_date=date.today() - timedelta(days=60), score=3.0,
                probability=0.95, explanation={"fatal": False}, evidence_ids=[])  # fmt: skip
    db.add(case)
    db.commit()
    return case.id


def _move(c, cid: int, state: str):
    return c.post(f"/api/v1/concealment/cases/{cid}/transitions", json={"to_state": state})


def _accidents(db, cid: int) -> list[Accident]:
    db.expire_all()
    ref = f"concealment_case:{cid}"
    return list(db.scalars(select(Accident).where(Accident.idempotency_key == ref)))


def test_confirm_registers_accident_and_violation_once(client_as, db, world) -> None:
    c = client_as("inspector_krg")
    cid = _case(db, world)
    assert _move(c, cid, "checking").status_code == 200
    r = _move(c, cid, "confirmed")
    assert r.status_code == 200, r.text
    assert r.json()["registration"] == "done"
    [acc] = _accidents(db, cid)
    assert "retroactive" in acc.flags and acc.late_report
    assert acc.enterprise_id == world.enterprises["mine_krg"]
    case = db.get(Case, cid)
    assert case.accident_id == acc.id and case.violation_ref
    v = db.get(Violation, int(case.violation_ref.split(":")[1]))
    assert v.source == "concealment" and v.enterprise_id == acc.enterprise_id
    # the accident is in the register the inspector reads
    assert c.get(f"/api/v1/accidents/{acc.id}").status_code == 200
    actions = {
        (a.object_type, a.action)
        for a in db.scalars(select(AuditEntry).where(AuditEntry.actor.contains("inspector")))
    }
    assert {("accident", "accident.register_retroactive"), ("violation", "violation.record"),
            ("case", "case.confirmed")} <= actions  # fmt: skip
    # confirming again is refused and registers nothing more
    assert _move(c, cid, "confirmed").status_code == 422
    assert len(_accidents(db, cid)) == 1
    n = db.scalar(select(func.count()).where(Violation.item_code == f"case-{cid}"))
    assert n == 1


def test_register_step_is_idempotent(db, world) -> None:
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user
    from qorgau.concealment.cases import _register

    actor = actor_for_user(db.get(User, world.users["inspector_krg"]))
    cid = _case(db, world)
    case = db.get(Case, cid)
    _register(db, actor, case)
    first = case.accident_id
    _register(db, actor, case)
    db.commit()
    assert case.accident_id == first and len(_accidents(db, cid)) == 1
    assert db.scalar(select(func.count()).where(Violation.item_code == f"case-{cid}")) == 1


def test_other_region_inspector_cannot_confirm(client_as, db, world) -> None:
    cid = _case(db, world)
    ala = client_as("inspector_ala")
    assert _move(ala, cid, "checking").status_code == 404
    krg = client_as("inspector_krg")
    assert _move(krg, cid, "checking").status_code == 200
    assert _move(ala, cid, "confirmed").status_code == 404
    db.expire_all()
    assert db.get(Case, cid).state == "checking" and _accidents(db, cid) == []
