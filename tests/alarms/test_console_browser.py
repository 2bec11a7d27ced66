"""The operator console in Debian Chromium: a danger signal pushed over SSE shows in the
banner at once (before any alarm record exists), the same reading's second signal (worker and
sentinel both send one) is not shown twice, and the console fits a phone."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from livesite import ARTIFACTS, live_server, phone_page, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture(scope="module")
def live(db_url: str, world: object) -> Iterator[str]:
    with live_server() as url:
        yield url


def test_danger_signal_reaches_the_console_banner(live: str, db, mine) -> None:
    from qorgau.alarms.ingest.sentinel import DangerWatch
    from qorgau.alarms.models import AlarmRecord, Device

    hh = float(db.get(Device, mine.devices["CH4-1"]).limits["highhigh"])
    ARTIFACTS.mkdir(exist_ok=True)
    from alarms.test_health import _silent_worker

    silent = _silent_worker(db)  # shown as an ingest warning, in each language
    with phone_page(live, "inspector.krg") as page:
        page.goto(f"{live}/lang/ru?next=/alarms/sites/{mine.site_id}")
        wait_js(page, "document.getElementById('livestate').textContent.includes('●')")
        page.evaluate("""() => { window.bannerTexts = [];
            new MutationObserver(() => window.bannerTexts.push(
                document.getElementById('banner').textContent))
              .observe(document.getElementById('banner'), {childList: true, subtree: true}); }""")
        t = time.time()
        doc = {"site_id": mine.site_id, "readings": [{"d": "CH4-1", "s": 0, "t": t, "v": hh + 1}]}
        assert DangerWatch().screen(mine.site_id, doc) == 1  # onto the live server's hub
        wait_js(page, "window.bannerTexts.length > 0", 5)
        banner = page.locator("#banner")
        assert banner.is_visible() and "HIHI" in banner.inner_text()
        assert "CH4-1" in banner.inner_text() and "≥" in banner.inner_text()
        assert "ls" in (banner.get_attribute("class") or "")
        assert db.query(AlarmRecord).filter_by(site_id=mine.site_id).count() == 0  # ahead of it
        # the sentinel's copy of the same reading: not shown again
        from qorgau.alarms.notify import HUB

        HUB.publish(mine.site_id, {**HUB.recent[-1], "message": "duplicate"})
        page.wait_for_timeout(700)
        assert page.evaluate("window.bannerTexts.filter(x => x.includes('duplicate')).length") == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("#livestate").inner_text() == "● онлайн"
        page.screenshot(path=str(ARTIFACTS / "alarms-console-danger-phone-ru.png"),
                        full_page=True)
        for lang, state in (("kk", "● онлайн"), ("en", "● live")):
            page.goto(f"{live}/lang/{lang}?next=/alarms/sites/{mine.site_id}")
            wait_js(page, "document.getElementById('livestate').textContent.includes('●')")
            assert page.locator("#livestate").inner_text() == state
            assert silent in page.locator("#live p.alert").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / f"alarms-console-phone-{lang}.png"),
                            full_page=True)


def _scene(db, mine, proc, as_) -> None:
    """Two open withdrawals (L1 by a HIHI, L2 from the console) and a completed one."""
    from qorgau.alarms import positioning

    osh = as_("osh_krg")
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -40), ("W-2", {"z": "L2"}, -40),
                                    ("CO-1", 3.0, -40)]), source="test")
    positioning.broadcast(db=db, actor=osh, site_id=mine.site_id, zones=["L2"])
    proc.handle_raw(db, mine.batch([("W-2", {"z": "SAFE"}, -35)]), source="test")  # done
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -30)]), source="test")  # orders L1 out
    proc.handle_raw(db, mine.batch([("W-2", {"z": "L2"}, -25)]), source="test")
    positioning.broadcast(db=db, actor=osh, site_id=mine.site_id, zones=["L2"])


def _tile(code: str) -> str:
    return ("[...document.querySelectorAll('#sensors a.sensor')].find(a => "
            f"a.querySelector('.code').textContent === '{code}').querySelector('.val')"
            ".textContent")


def test_console_sensors_and_withdrawals_stay_live(live: str, db, mine, proc, as_) -> None:
    """Without a reload: a new sensor value shows within the refresh interval; a wearer
    reaching safety moves the withdrawal count at once (the hub's withdrawal event); every
    open withdrawal is shown, completed ones collapsed; phone and desktop, kk / ru / en."""
    from playwright.sync_api import sync_playwright

    from livesite import CHROMIUM, CHROMIUM_ARGS, login

    _scene(db, mine, proc, as_)
    url = f"/alarms/sites/{mine.site_id}"
    ARTIFACTS.mkdir(exist_ok=True)
    with phone_page(live, "inspector.krg") as page:
        page.goto(f"{live}/lang/en?next={url}")
        wait_js(page, "document.getElementById('livestate').textContent.includes('●')")
        assert page.locator("[data-withdrawal]").count() == 2
        assert page.locator("#withdrawals-done summary").is_visible()
        assert not page.locator("#withdrawals-done li").first.is_visible()  # collapsed
        assert page.evaluate(_tile("CO-1")).startswith("3 ")
        page.evaluate("() => { window.notReloaded = true; }")
        proc.handle_raw(db, mine.batch([("CO-1", 3.1, 0)]), source="test")
        wait_js(page, f"({_tile('CO-1')}).startsWith('3.1 ')", 8)
        assert page.evaluate("window.notReloaded === true")
        for lang in ("kk", "ru", "en"):
            page.goto(f"{live}/lang/{lang}?next={url}")
            wait_js(page, "document.getElementById('livestate').textContent.includes('●')")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / f"alarms-console-live-phone-{lang}.png"),
                            full_page=True)
        page.evaluate("() => { window.notReloaded = true; }")
        l1 = page.locator("[data-withdrawal]").last  # the older one: L1, W-1 inside
        assert l1.locator("h2 .inside").inner_text() == "1" and "W-1" in l1.inner_text()
        proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, 0)]), source="test")
        wait_js(page, "document.querySelectorAll('[data-withdrawal]').length === 1", 2)
        assert page.evaluate("window.notReloaded === true")
        assert page.locator("#withdrawals-done summary").inner_text().endswith("(2)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            login(page, live, "inspector.krg")
            for lang in ("kk", "ru", "en"):
                page.goto(f"{live}/lang/{lang}?next={url}")
                wait_js(page, "document.getElementById('livestate').textContent.includes('●')")
                page.locator("#withdrawals-done summary").click()
                assert page.locator("#withdrawals-done li").first.is_visible()
                page.screenshot(path=str(ARTIFACTS / f"alarms-console-live-desktop-{lang}.png"),
                                full_page=True)
        finally:
            browser.close()


def test_a_console_opened_in_a_language_keeps_it_live(live: str, db, mine, proc) -> None:
    """A console opened with `?lang=kk` (a link, a shared screen) while the account's language
    cookie says Russian: its refreshed parts came back in Russian within 5 s, and the stream's
    alarm texts too. They follow the page's language now."""
    url = f"/alarms/sites/{mine.site_id}"
    with phone_page(live, "inspector.krg") as page:
        page.goto(f"{live}/lang/ru?next=/")  # the account's cookie: Russian
        page.goto(f"{live}{url}?lang=en")
        wait_js(page, "document.getElementById('livestate').textContent.includes('●')")
        assert "Sensors" in page.inner_text("#live")
        page.evaluate("() => { window.notReloaded = true; }")
        proc.handle_raw(db, mine.batch([("CO-1", 60.0, 0)]), source="test")  # HIHI: an event
        wait_js(page, "!document.getElementById('banner').classList.contains('hidden')", 8)
        page.wait_for_timeout(5500)  # and one timed refresh of the fragment
        assert page.evaluate("window.notReloaded === true")
        live_text = page.inner_text("#live")
        assert "Sensors" in live_text and "Датчики" not in live_text
        banner = page.inner_text("#banner")
        assert "CO" in banner and not any("а" <= ch <= "я" for ch in banner.lower()), banner
