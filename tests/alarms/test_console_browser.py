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
