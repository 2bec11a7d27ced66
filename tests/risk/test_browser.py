"""Creating an assessment on a 390-px phone screen against a live uvicorn in Debian Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from livesite import ARTIFACTS, live_server, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]



@pytest.fixture(scope="module")
def live(db_url: str, world: object) -> Iterator[str]:
    with live_server() as url:
        yield url


def test_create_assessment_on_a_phone(live: str, world) -> None:

    with phone_page(live, "osh.build") as page:
        page.goto(f"{live}/lang/ru?next=/risk")
        page.wait_for_url(f"{live}/risk/enterprises/*")
        page.click("a.button.primary")  # New assessment
        page.select_option("select[name=hazard_type]", "falls_from_height")
        page.fill("textarea[name=description]", "Монтаж кровли на высоте 12 м")
        page.select_option("select[name=likelihood]", "4")
        page.select_option("select[name=severity]", "5")
        page.select_option("select[name=residual_likelihood]", "2")
        page.select_option("select[name=residual_severity]", "5")
        page.click("#add-control")
        rows = page.locator("#controls .control-row")
        assert rows.count() == 4
        rows.nth(0).locator("select").select_option("engineering")
        rows.nth(0).locator("input[name=control_text]").fill("Ограждения с бортовой доской")
        rows.nth(3).locator("select").select_option("ppe")
        rows.nth(3).locator("input[name=control_text]").fill("Страховочная привязь")
        rows.nth(3).locator("input[type=checkbox]").check()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("form#risk-new button[type=submit]")
        page.wait_for_url(f"{live}/risk/assessments/*")
        assert "Монтаж кровли" in page.locator("h1").inner_text()
        assert page.locator(".band-high").count() >= 1  # residual 2×5 = 10 → high
        assert page.locator("text=Страховочная привязь").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "risk-assessment-phone-ru.png"), full_page=True)


def _worker_setup() -> tuple[str, list[int]]:
    """Link the demo account worker.mine to a fresh blaster at its enterprise, with two hazards
    of that occupation whose controls require instruction. Returns (login, hazard ids)."""
    import secrets
    from datetime import date

    from factories import make_iin
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.models import Enterprise
    from qorgau.registry.schemas import EmploymentIn, WorkerIn
    from qorgau.risk import service
    from qorgau.risk.schemas import AssessmentIn, ControlIn, HazardIn, SettingsIn, WorkerLinkIn

    hazards = [
        (
            "fire_explosion",
            "Отказ заряда при взрывных работах в забое",
            3,
            5,
            [
                ("administrative", "Ожидание 15 минут после отказа, осмотр только взрывником"),
                ("administrative", "Сигналы оповещения и выставление постов охраны"),
            ],
        ),
        (
            "dust",
            "Пыль при бурении шпуров",
            4,
            3,
            [
                ("engineering", "Бурение с промывкой водой"),
                ("ppe", "Респиратор FFP3, проверка прилегания перед сменой"),
            ],
        ),
    ]
    with get_sessionmaker()() as db:
        user = db.query(User).filter_by(username="worker.mine").one()
        ent = db.get(Enterprise, user.organisation.enterprise_id)
        # Other tests switch this shared enterprise to Fine–Kinney; the scores below are 5×5.
        service.save_settings(
            db=db, actor=SYSTEM_ACTOR, enterprise_id=ent.id, data=SettingsIn(method="matrix_5x5")
        )
        emp = registry.register_employment(
            db=db,
            actor=SYSTEM_ACTOR,
            data=EmploymentIn(
                contract_no=f"BLAST-{secrets.token_hex(4)}",
                worker=WorkerIn(
                    iin=make_iin(date(1991, 7, 2)), last_name="Жұмабеков", first_name="Даурен"
                ),
                enterprise_bin=ent.bin,
                occupation="blaster",
                start_date=date(2024, 3, 1),
            ),
        )
        ids = []
        for kind, text, lik, sev, controls in hazards:
            h = service.create_hazard(
                db=db,
                actor=SYSTEM_ACTOR,
                data=HazardIn(
                    enterprise_id=ent.id,
                    hazard_type=kind,
                    description=text,
                    occupation="blaster",
                    workplace="Горизонт −320 м, забой 12",
                ),
            )
            service.create_assessment(
                db=db,
                actor=SYSTEM_ACTOR,
                data=AssessmentIn(
                    hazard_id=h.id,
                    initial={"likelihood": lik, "severity": sev},
                    controls=[
                        ControlIn(level=lv, text=t, requires_instruction=True) for lv, t in controls
                    ],
                ),
            )
            ids.append(h.id)
        service.link_worker_account(
            db=db,
            actor=SYSTEM_ACTOR,
            data=WorkerLinkIn(user_id=user.id, worker_id=emp.worker_id),
        )
    return "worker.mine", ids


def test_worker_confirms_instruction_on_a_phone(live: str, world) -> None:
    """kk: both to confirm; ru: the worker ticks and confirms the first; en: one confirmed, one
    to go. A screenshot of each language at 390 px."""

    login, (first, second) = _worker_setup()
    with phone_page(live, login) as page:
        ARTIFACTS.mkdir(exist_ok=True)

        page.goto(f"{live}/lang/kk?next=/risk")
        page.wait_for_url(f"{live}/risk/my")
        assert page.locator("h1").inner_text() == "Менің қауіпсіздік нұсқаулықтарым"
        assert page.locator(f"#h{first} .badge.danger").inner_text() == "Расталмаған"
        assert page.locator(f"#h{second} form button").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "risk-my-instructions-phone-kk.png"), full_page=True)

        page.goto(f"{live}/lang/ru?next=/risk/my")
        page.wait_for_url(f"{live}/risk/my")
        page.locator(f"#h{first} input[name=understood]").check()
        page.locator(f"#h{first} form button").click()
        page.wait_for_url(f"{live}/risk/my?done={first}*")
        assert "Подтверждение записано" in page.locator("p.notice").inner_text()
        assert page.locator(f"#h{first} .badge.ok").inner_text() == "Подтверждено"
        assert page.locator(f"#h{first} form").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "risk-my-instructions-phone-ru.png"), full_page=True)

        page.goto(f"{live}/lang/en?next=/risk/my")
        page.wait_for_url(f"{live}/risk/my")
        assert "To confirm: 1" in page.locator("main").inner_text()
        assert page.locator(f"#h{first} .badge.ok").inner_text() == "Confirmed"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "risk-my-instructions-phone-en.png"), full_page=True)


def test_officer_inputs_page_on_a_phone(live: str, world) -> None:
    """The OSH officer records a month of hours on a phone; screenshots in kk, ru and en."""
    from datetime import date, timedelta


    last_month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    with phone_page(live, "osh.build") as page:
        page.goto(f"{live}/lang/ru?next=/risk")
        page.wait_for_url(f"{live}/risk/enterprises/*")
        inputs = page.url.split("#")[0] + "/inputs"
        page.goto(inputs)
        page.fill("input[name=period]", last_month)
        page.fill("input[name=hours]", "320")
        page.locator("#hours button[type=submit]").click()
        page.wait_for_url(inputs)
        assert last_month in page.locator("#hours").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        for lang, title in (
            ("kk", "Көрсеткіштерге деректер"),
            ("ru", "Данные для показателей"),
            ("en", "Indicator inputs"),
        ):
            page.goto(f"{live}/lang/{lang}?next={inputs.replace(live, '')}")
            page.wait_for_url(inputs)
            assert page.locator("h1").inner_text() == title
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / f"risk-inputs-phone-{lang}.png"), full_page=True)
