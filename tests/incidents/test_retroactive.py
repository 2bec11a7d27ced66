"""Retroactive registration by the inspector: flagged, referenced, audited, idempotent, scoped."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from qorgau.accounts.models import User
from qorgau.accounts.service import actor_for_user
from qorgau.core.audit import AuditEntry
from qorgau.core.errors import Forbidden, RuleViolation
from qorgau.incidents import service
from qorgau.incidents.models import Accident, Investigation


def _actor(db, world, key: str):
    return actor_for_user(db.get(User, world.users[key]))


def _data(world, ref: str, **over):
    base = {
        "enterprise_id": world.enterprises["mine_krg"],
        "occurred_on": date.today() - timedelta(days=40),
        "source_ref": ref,
        "circumstances": "Fall from a ladder, never reported.",
        "victims": [{"full_name": "Қасымов Ерлан", "severity": "severe"}],
    }
    return service.RetroactiveIn(**(base | over))


def test_registers_flagged_audited_once(db, world) -> None:
    inspector = _actor(db, world, "inspector_krg")
    ref = f"concealment_case:{secrets.token_hex(3)}"
    acc, created = service.register_retroactive(db=db, actor=inspector, data=_data(world, ref))
    assert created and acc.late_report and "retroactive" in acc.flags
    assert acc.idempotency_key == ref and acc.severity == "severe"
    assert acc.region_code == "KZ-35" and acc.victims[0].full_name == "Қасымов Ерлан"
    inv = db.scalar(select(Investigation).where(Investigation.accident_id == acc.id))
    assert inv is not None and inv.kind == "special" and inv.inspector_id == inspector.id
    again, created2 = service.register_retroactive(db=db, actor=inspector, data=_data(world, ref))
    assert again.id == acc.id and not created2
    n = db.scalar(select(func.count()).where(Accident.idempotency_key == ref))
    assert n == 1
    audits = db.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "accident",
                                        AuditEntry.object_id == str(acc.id))
    ).all()  # fmt: skip
    assert audits.count("accident.register_retroactive") == 1


def test_other_region_and_employer_cannot_register(db, world) -> None:
    ref = f"concealment_case:{secrets.token_hex(3)}"
    with pytest.raises(RuleViolation) as exc:
        service.register_retroactive(
            db=db, actor=_actor(db, world, "inspector_ala"), data=_data(world, ref)
        )
    assert exc.value.field == "enterprise_id"
    with pytest.raises(Forbidden):
        service.register_retroactive(
            db=db, actor=_actor(db, world, "osh_krg"), data=_data(world, ref)
        )
    assert db.scalar(select(func.count()).where(Accident.idempotency_key == ref)) == 0


def test_event_date_must_be_within_three_years(db, world) -> None:
    old = _data(world, "concealment_case:old", occurred_on=date.today() - timedelta(days=1200))
    with pytest.raises(RuleViolation):
        service.register_retroactive(db=db, actor=_actor(db, world, "inspector_krg"), data=old)
