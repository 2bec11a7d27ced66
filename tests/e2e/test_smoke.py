"""Log in as each demo role in Chromium, switch language, check nothing loads from outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from livesite import login

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

DEMO_USERS = ["admin", "analyst", "inspector.krg", "akimat.krg", "mchs.krg", "industry",
              "insurer", "hospital", "osh.mine", "worker.mine", "osh.build"]
SIGN_IN = {"kk": "Кіру", "ru": "Войти", "en": "Sign in"}
SIGN_OUT = {"kk": "Шығу", "ru": "Выйти", "en": "Sign out"}


@pytest.mark.parametrize("username", DEMO_USERS)
def test_each_role_logs_in_and_switches_language(
    username: str, live_url: str, browser: object, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) or r.url.startswith(
        "data:") else outside.append(r.url))
    login(page, live_url, username)
    for lang in ("kk", "ru", "en"):
        page.click(f".langs a[lang={lang}]")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == lang
        assert SIGN_OUT[lang] in page.locator(".logout button").inner_text()
    page.screenshot(path=str(artifacts / f"home-{username}-en.png"), full_page=True)
    assert outside == []
    context.close()


def test_phone_width_registry_in_kazakh(live_url: str, browser: object, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    login(page, live_url, "inspector.krg")
    page.goto(f"{live_url}/lang/kk?next=/registry")
    assert page.locator("h1").inner_text() == "Кәсіпорындар тізілімі"
    # The menu collapses behind a button on a phone and opens on tap.
    assert not page.locator("#mainnav").is_visible()
    page.click(".navtoggle")
    assert page.locator("#mainnav").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "page scrolls sideways on a phone"
    page.screenshot(path=str(artifacts / "registry-phone-kk.png"), full_page=True)
    context.close()


def test_wrong_password_shows_generic_error(live_url: str, browser: object) -> None:
    page = browser.new_page()
    page.goto(f"{live_url}/login")
    page.fill("#username", "inspector.krg")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").is_visible()
    assert SIGN_IN["ru"] in page.content() or SIGN_IN["en"] in page.content()
    page.close()
