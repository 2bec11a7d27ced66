"""Installations count only while they report; compliance by region; catalogue edits."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from qorgau.core.db import utcnow
from qorgau.core.errors import Forbidden, RuleViolation
from qorgau.equipment import service
from qorgau.equipment.schemas import InstallationIn, RequirementIn


def _actor(db, world, key):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user

    return actor_for_user(db.get(User, world.users[key]))


def _install(db, world, code: str = "mine.methane"):
    osh = _actor(db, world, "osh_krg")
    return service.register_installation(
        db=db,
        actor=osh,
        data=InstallationIn(
            site_id=world.sites["mine_krg"],
            requirement_code=code,
            serial_no=f"SN-{secrets.token_hex(5)}",
            commissioned_on=utcnow().date(),
        ),
    )


def _working(db, world, now):
    industry = _actor(db, world, "industry")
    rows = service.compliance(db=db, actor=industry, group_by="enterprise", now=now)
    return next(r for r in rows if r["key"] == str(world.enterprises["mine_krg"]))


def test_installation_that_stops_reporting_stops_counting(db, world) -> None:
    now = utcnow()
    later = now + timedelta(hours=24)
    # other tests' installations of the enterprise may be reporting: counts are relative
    before, before_later = _working(db, world, now), _working(db, world, later)
    inst = _install(db, world)
    assert not service.is_working(inst)  # never reported
    assert _working(db, world, now)["installed"] == before["installed"] + 1
    assert _working(db, world, now)["working"] == before["working"]
    service.record_heartbeat(db=db, serial=inst.serial_no, at=now - timedelta(hours=1))
    assert service.is_working(inst, now)
    assert _working(db, world, now)["working"] == before["working"] + 1
    # 25 hours after its last report it no longer counts.
    assert not service.is_working(inst, later)
    assert _working(db, world, later)["working"] == before_later["working"]
    # A late, older heartbeat does not move the clock backwards.
    service.record_heartbeat(db=db, installation_id=inst.id, at=now - timedelta(days=3))
    assert inst.last_heartbeat_at == now - timedelta(hours=1)


def test_heartbeat_in_future_rejected(db, world) -> None:
    inst = _install(db, world, "mine.seismic")
    with pytest.raises(RuleViolation) as err:
        service.record_heartbeat(db=db, installation_id=inst.id, at=utcnow() + timedelta(hours=2))
    assert err.value.field == "at"


def test_requirement_must_apply_to_site(db, world) -> None:
    with pytest.raises(RuleViolation) as err:
        _install(db, world, "build.fall")  # construction item on a mine
    assert err.value.field == "requirement_code"


def test_catalogue_edit_only_by_industry(db, world) -> None:
    data = RequirementIn(
        code=f"t.{secrets.token_hex(3)}",
        site_kind="warehouse",
        name_kk="Сынақ талап",
        name_ru="Тестовое требование",
        name_en="Test requirement",
        deadline=utcnow().date(),
    )
    with pytest.raises(Forbidden):
        service.create_requirement(db=db, actor=_actor(db, world, "osh_krg"), data=data)
    req = service.create_requirement(db=db, actor=_actor(db, world, "industry"), data=data)
    revised = service.update_requirement(
        db=db,
        actor=_actor(db, world, "industry"),
        code=data.code,
        data=data.model_copy(update={"active": False}),
    )
    assert revised.id == req.id and revised.revision == 2 and not revised.active


def test_missing_by_enterprise(db, world) -> None:
    got = service.missing_by_enterprise(db=db, enterprise_ids=[world.enterprises["build_ala"]])
    required, not_working = got[world.enterprises["build_ala"]]
    assert required == 3 and not_working <= 3
