"""The enterprise-signal and under-reporting pages on a 390-px phone in kk, ru and en, against a
live uvicorn in Debian Chromium: nothing scrolls sideways; screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from livesite import ARTIFACTS, live_server, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

TITLES = {  # h1 of the two pages per language: the page really switched language
    "kk": ("Кәсіпорындар: күтілетін", "Өндірістік жарақаттардың толық хабарланбауы"),
    "ru": ("Предприятия: ожидаемые", "Недоучёт производственных травм"),
    "en": ("Enterprises: expected", "Under-reporting of work injuries"),
}


@pytest.fixture(scope="module")
def live(db_url: str, world: object) -> Iterator[str]:
    with live_server() as url:
        yield url


def test_signal_and_estimate_pages_fit_a_phone_in_three_languages(live: str, stored_run) -> None:

    run = stored_run()
    top = run.names[run.enterprises["Қарағанды Көмір ЖШС"]]
    ARTIFACTS.mkdir(exist_ok=True)
    with phone_page(live, "inspector.krg") as page:
        for lang, (signals_title, estimates_title) in TITLES.items():
            page.goto(f"{live}/lang/{lang}?next=/concealment/enterprises")
            page.wait_for_url(f"{live}/concealment/enterprises")
            assert signals_title in page.locator("h1").inner_text()
            first = page.locator("li.signal").first
            assert top in first.locator("h2").inner_text()  # the most improbable one leads
            assert first.locator(".badge.danger").count() == 1
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(
                path=str(ARTIFACTS / f"concealment-enterprises-phone-{lang}.png"), full_page=True
            )
            page.click(".ctabs a[href='/concealment/estimates']")
            page.wait_for_url(f"{live}/concealment/estimates")
            assert estimates_title in page.locator("h1").inner_text()
            assert page.locator("table.est tbody tr").count() == 3  # KZ-35; KZ-35 × B, F
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(
                path=str(ARTIFACTS / f"concealment-estimates-phone-{lang}.png"), full_page=True
            )
        context_cookies = page.context.cookies()
        # the same pages on a desktop screen, for the documentation
        desk = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
        desk.add_cookies(context_cookies)
        page = desk.new_page()
        for path in ("enterprises", "estimates"):
            page.goto(f"{live}/concealment/{path}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            page.screenshot(path=str(ARTIFACTS / f"concealment-{path}-desktop-en.png"))
        desk.close()


def test_link_review_page_fits_a_phone(live: str, twins) -> None:
    """The review queue of ambiguous links on a 390-px phone (kk): candidates and the answer
    form stay within the screen."""

    t = twins()
    ARTIFACTS.mkdir(exist_ok=True)
    with phone_page(live, "inspector.krg") as page:
        page.goto(f"{live}/lang/kk?next=/concealment/links")
        page.wait_for_url(f"{live}/concealment/links")
        assert "Екіұшты байланыстар" in page.locator("h1").inner_text()
        card = page.locator("li.review").filter(has=page.locator(f"input[value='{t.krg_worker}']"))
        assert card.locator("label.cand").count() == 3  # two candidates and "none of these"
        card.scroll_into_view_if_needed()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "concealment-links-phone-kk.png"), full_page=True)
