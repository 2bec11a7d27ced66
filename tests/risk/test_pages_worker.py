"""The worker's own instruction page: kk/ru/en, CSRF-checked, confirms only their own work's
hazards; another enterprise's worker cannot confirm; unlinked accounts are told what to do."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from fastapi.testclient import TestClient

from qorgau.core.security import SYSTEM_ACTOR
from qorgau.registry.models import Employment
from qorgau.risk import service
from qorgau.risk.models import Instruction
from qorgau.risk.schemas import AssessmentIn, ControlIn, HazardIn, SettingsIn, WorkerLinkIn


@pytest.fixture
def page_as(app, world):
    from qorgau.accounts import service as accounts
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker

    def make(user_id: int) -> tuple[TestClient, str]:
        with get_sessionmaker()() as db:
            token, row = accounts.open_session(db, user=db.get(User, user_id), kind="cookie")
            csrf = row.csrf
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)
        c.cookies.set("qorgau_session", token)
        return c, csrf

    return make


def _instructed(db, ent: int, occupation: str, text: str) -> int:
    # the assessment below is in the 5×5 matrix; other tests may switch the enterprise's method
    service.save_settings(db=db, actor=SYSTEM_ACTOR, enterprise_id=ent,
                          data=SettingsIn(method="matrix_5x5"))
    h = service.create_hazard(
        db=db,
        actor=SYSTEM_ACTOR,
        data=HazardIn(
            enterprise_id=ent,
            hazard_type="confined_space",
            description=f"Sump entry {secrets.token_hex(3)}",
            occupation=occupation,
        ),
    )
    service.create_assessment(
        db=db,
        actor=SYSTEM_ACTOR,
        data=AssessmentIn(
            hazard_id=h.id,
            initial={"likelihood": 3, "severity": 5},
            controls=[ControlIn(level="administrative", text=text, requires_instruction=True)],
        ),
    )
    return h.id


@pytest.mark.parametrize(
    ("lang", "title", "missing", "done"),
    [
        ("kk", "Менің қауіпсіздік нұсқаулықтарым", "Расталмаған", "Растау тіркелді"),
        ("ru", "Мои инструктажи по безопасности", "Не подтверждено", "Подтверждение записано"),
        ("en", "My safety instructions", "Not confirmed", "Confirmation recorded"),
    ],
)
def test_worker_confirms_on_own_page(page_as, db, world, lang, title, missing, done):
    mine = world.enterprises["mine_krg"]
    worker_user = world.users["worker_krg"]
    c, csrf = page_as(worker_user)
    # unlinked: the page explains, and a confirmation is refused in the page's language
    r = c.get(f"/risk/my?lang={lang}")
    assert r.status_code == 200 and title in r.text and 'action="/risk/my/' not in r.text
    assert c.get("/risk").headers["location"] == "/risk/my"

    miner = (
        db.query(Employment)
        .filter(Employment.enterprise_id == mine, Employment.occupation == "miner")
        .first()
        .worker_id
    )
    hid = _instructed(db, mine, "miner", f"Gas test and watchman {lang}")
    link = service.link_worker_account(
        db=db, actor=SYSTEM_ACTOR, data=WorkerLinkIn(user_id=worker_user, worker_id=miner)
    )
    try:
        r = c.get(f"/risk/my?lang={lang}")
        assert r.status_code == 200
        assert f"Gas test and watchman {lang}" in r.text and missing in r.text
        # no CSRF token: refused; not ticked: 422 in the page's language, nothing written
        assert c.post(f"/risk/my/{hid}/confirm", data={"understood": "yes"}).status_code == 403
        r = c.post(f"/risk/my/{hid}/confirm?lang={lang}", data={"csrf_token": csrf})
        assert r.status_code == 422 and 'role="alert"' in r.text
        assert db.query(Instruction).filter_by(hazard_id=hid).count() == 0
        r = c.post(f"/risk/my/{hid}/confirm", data={"csrf_token": csrf, "understood": "yes"})
        assert r.status_code == 303 and r.headers["location"].startswith(f"/risk/my?done={hid}")
        rows = db.query(Instruction).filter_by(hazard_id=hid).all()
        assert [(i.worker_id, i.on_behalf) for i in rows] == [(miner, False)]
        r = c.get(f"/risk/my?done={hid}&lang={lang}")
        assert done in r.text
    finally:
        service.unlink_worker_account(db=db, actor=SYSTEM_ACTOR, link_id=link.id)


def test_other_enterprise_worker_cannot_confirm(page_as, db, world):
    from qorgau.accounts.models import Organisation, User
    from qorgau.core.security import hash_password

    mine = world.enterprises["mine_krg"]
    hid = _instructed(db, mine, "", "Permit to work for sump entry")
    org = Organisation(
        kind="enterprise",
        name="Org builder workers",
        region_code="KZ-75",
        enterprise_id=world.enterprises["build_ala"],
    )
    db.add(org)
    db.flush()
    user = User(
        username=f"w-{secrets.token_hex(3)}",
        full_name="W",
        role="worker",
        password_hash=hash_password("test-password-123"),
        organisation_id=org.id,
    )
    db.add(user)
    db.commit()
    c, csrf = page_as(user.id)
    r = c.post(f"/risk/my/{hid}/confirm?lang=ru", data={"csrf_token": csrf, "understood": "yes"})
    assert r.status_code == 422 and "не относится к вашей работе" in r.text
    assert db.query(Instruction).filter_by(hazard_id=hid).count() == 0
    assert "Permit to work for sump entry" not in c.get("/risk/my").text


def test_officer_inputs_page_records_hours_near_misses_and_links(page_as, db, world):
    from qorgau.accounts.models import Organisation, User
    from qorgau.core.security import hash_password
    from qorgau.risk.models import HoursWorked, NearMiss, WorkerAccount

    build = world.enterprises["build_ala"]
    c, csrf = page_as(world.users["osh_ala"])
    for lang, title in (
        ("kk", "Көрсеткіштерге деректер"),
        ("ru", "Данные для показателей"),
        ("en", "Indicator inputs"),
    ):
        r = c.get(f"/risk/enterprises/{build}/inputs?lang={lang}")
        assert r.status_code == 200 and title in r.text
    url = f"/risk/enterprises/{build}/inputs"
    r = c.post(f"{url}/hours", data={"csrf_token": csrf, "period": "2025-04", "hours": "480"})
    assert r.status_code == 303
    r = c.post(
        f"{url}/hours?lang=en", data={"csrf_token": csrf, "period": "2025-04", "hours": "900000"}
    )
    assert r.status_code == 422 and 'role="alert"' in r.text and "hours" in r.text
    rows = db.query(HoursWorked).filter_by(enterprise_id=build, year=2025, month=4).all()
    assert [h.hours for h in rows][-1] == 480
    r = c.post(
        f"{url}/near-miss",
        data={
            "csrf_token": csrf,
            "occurred_on": date.today().isoformat(),
            "hazard_type": "electrical",
            "potential_severity": "severe",
            "description": "Cable insulation cut by a formwork panel",
        },
    )
    assert r.status_code == 303
    assert db.query(NearMiss).filter_by(enterprise_id=build, hazard_type="electrical").count() >= 1

    org = Organisation(kind="enterprise", name="Org link", region_code="KZ-75", enterprise_id=build)
    db.add(org)
    db.flush()
    user = User(
        username=f"wl-{secrets.token_hex(3)}",
        full_name="Линк",
        role="worker",
        password_hash=hash_password("test-password-123"),
        organisation_id=org.id,
    )
    db.add(user)
    db.commit()
    worker_id = db.query(Employment).filter_by(enterprise_id=build).first().worker_id
    assert f'value="{user.id}"' in c.get(url).text
    r = c.post(f"{url}/link", data={"csrf_token": csrf, "user_id": user.id, "worker_id": worker_id})
    assert r.status_code == 303
    link = db.query(WorkerAccount).filter_by(user_id=user.id, unlinked_at=None).one()
    r = c.post(f"{url}/unlink", data={"csrf_token": csrf, "link_id": link.id})
    assert r.status_code == 303
    db.expire_all()
    assert db.get(WorkerAccount, link.id).unlinked_at is not None
    # another enterprise's officer and a worker cannot open or post to the page
    other, other_csrf = page_as(world.users["osh_krg"])
    assert other.get(url).status_code in (403, 404, 422)
    r = other.post(
        f"{url}/hours", data={"csrf_token": other_csrf, "period": "2025-05", "hours": "10"}
    )
    assert r.status_code in (403, 404, 422)
    assert db.query(HoursWorked).filter_by(enterprise_id=build, year=2025, month=5).count() == 0
