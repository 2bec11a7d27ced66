"""The shift dispatcher's and mine rescue's consoles in Debian Chromium on a 390-px phone, in
Russian: each sees its role, the dispatcher its buttons (acknowledge, shelve, withdraw) and no
configuration, mine rescue the alarm and the withdrawal with no button but acknowledge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from livesite import ARTIFACTS, live_server, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture(scope="module")
def live(db_url: str, world: object) -> Iterator[str]:
    with live_server() as url:
        yield url


def _alarms(db, mine, proc):
    import time

    from sqlalchemy import select

    from qorgau.alarms import records
    from qorgau.alarms.models import AlarmRecord, Device

    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2), ("W-1", {"z": "L1"}, -2)]),
                    source="test")
    records.on_condition(db, db.get(Device, mine.devices["FAN-1"]), "LOLO", True, time.time(),
                         0.0)
    db.commit()
    rows = db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id)).all()
    return {r.kind: r for r in rows if r.kind in ("HIHI", "LOLO")}


def test_dispatcher_and_mine_rescue_consoles_on_a_phone(live: str, db, mine, proc) -> None:
    alarms = _alarms(db, mine, proc)
    ARTIFACTS.mkdir(exist_ok=True)
    console = f"/alarms/sites/{mine.site_id}"
    with phone_page(live, "dispatcher.mine") as page:
        page.goto(f"{live}/lang/ru?next=/")
        assert "Сменный диспетчер шахты" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "roles-dispatcher-home-ru.png"), full_page=True)
        page.goto(f"{live}{console}")
        lolo = page.locator(f"form[action^='/alarms/{alarms['LOLO'].id}/action?']")
        assert lolo.locator("button", has_text="Отложить").count() == 1  # shelve
        assert page.locator("button", has_text="Квитировать").count() >= 2
        assert page.locator("button", has_text="Отправить приказ на вывод").is_visible()
        assert page.locator("details.more-actions[id^='more-']").count() == 0  # configure's
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "roles-dispatcher-console-ru.png"), full_page=True)
        page.locator("button", has_text="Отправить приказ на вывод").click()
        page.wait_for_url(f"{live}{console}?lang=ru")  # the language it was posted in
    with phone_page(live, "rescue.krg") as page:
        page.goto(f"{live}/lang/ru?next={console}")
        assert page.locator(f"form[action^='/alarms/{alarms['LOLO'].id}/action?']").count() == 0
        hihi = page.locator(f"form[action^='/alarms/{alarms['HIHI'].id}/action?']")
        assert hihi.locator("button", has_text="Квитировать").count() == 1
        assert page.locator("button", has_text="Отложить").count() == 0
        assert page.locator("button", has_text="Отправить приказ на вывод").count() == 0
        assert page.locator(".inside").count() >= 1  # the dispatcher's withdrawal
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "roles-rescue-console-ru.png"), full_page=True)


def test_routing_form_offers_the_responders_accounts(live: str, mine) -> None:
    """The OSH officer links a contact to the mine's dispatcher or the region's mine rescue
    account, in the matching contact role."""
    with phone_page(live, "osh.mine") as page:
        page.goto(f"{live}/lang/ru?next=/alarms/sites/{mine.site_id}/routing")
        people = page.locator("select[name=user_id] option").all_inner_texts()
        assert "Yelena Pak" in people and "Daniyar Zhumabekov" in people
        roles = page.locator("select[name=role] option").all_inner_texts()
        assert any("диспетчер" in r.lower() for r in roles)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "roles-routing-form-ru.png"), full_page=True)
