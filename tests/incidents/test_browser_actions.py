"""Browser, phone width (390 px), Russian: the employer's OSH officer extends the investigation
and adds a corrective measure on the accident card, then marks it done; nothing overflows the
screen sideways. Screenshot: test-artifacts/accident-actions-phone-ru.png."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from incidents.helpers import report_body
from incidents.test_browser import ARGS, CHROMIUM, _login, _username, live_server  # noqa: F401
from livesite import ARTIFACTS

pytestmark = pytest.mark.browser
MEMBERS = [
    {"name": "Ахметов Б.", "position": "бас инженер", "chair": True},
    {"name": "Иванова С.", "position": "ОТ"},
    {"name": "Жұмабек Д.", "position": "кәсіподақ"},
]


def test_extension_and_measures_on_a_phone(live_server, db, world, employed_iin, client_as):  # noqa: F811
    from playwright.sync_api import sync_playwright

    api = client_as("osh_krg")
    acc = api.post("/api/v1/accidents", json=report_body(employed_iin)).json()
    url = f"/api/v1/accidents/{acc['id']}/investigation/commission"
    assert api.post(url, json={"members": MEMBERS}).status_code == 200
    due = date.today() + timedelta(days=10)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = _login(browser, live_server, _username(db, world, "osh_krg"))
        page.context.add_cookies([{"name": "lang", "value": "ru", "url": live_server}])
        page.goto(f"{live_server}/incidents/{acc['id']}")
        page.click("text=Продлить расследование")
        page.fill("input[name=working_days]", "3")
        page.fill("textarea[name=reason]", "Ожидается заключение экспертизы")
        page.click("text=Продлить срок")
        page.wait_for_load_state()
        assert (
            page.locator("table.compact", has_text="Ожидается заключение экспертизы").count() == 1
        )
        page.fill("textarea[name=description]", "Установить ограждение конвейера в штреке 4")
        page.fill("input[name=owner]", "Главный механик")
        page.fill("input[name=due_date]", due.isoformat())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("text=Добавить меру")
        page.wait_for_load_state()
        item = page.locator("ul.actions li", has_text="ограждение конвейера")
        assert item.locator(".badge.warn").inner_text() == "открыто"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "accident-actions-phone-ru.png"), full_page=True)
        item.locator("button", has_text="Отметить выполненным").click()
        page.wait_for_load_state()
        item = page.locator("ul.actions li", has_text="ограждение конвейера")
        assert item.locator(".badge.ok").inner_text() == "выполнено"
        assert item.locator("button").count() == 0
        browser.close()
    inv = api.get(f"/api/v1/accidents/{acc['id']}/investigation").json()
    assert inv["extension_days"] == 3
