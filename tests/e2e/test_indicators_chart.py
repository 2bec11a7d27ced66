"""The injury dashboard's trend chart (vendored plotly) draws in Chromium in kk, ru and en, on
a desktop and a phone, with nothing fetched from outside the server (the live test world has
no accidents, so the chart is its axes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from livesite import login

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_trend_chart_draws_offline_in_each_language(
    width: int, live_url: str, browser: object, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  is_mobile=width < 500)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) or r.url.startswith(
        "data:") else outside.append(r.url))
    login(page, live_url, "analyst")
    for lang in ("kk", "ru", "en"):
        page.goto(f"{live_url}/lang/{lang}?next=/indicators")
        page.wait_for_selector("#trend .main-svg", timeout=15_000)
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("#trend .ytick").count() > 0  # the axes drew (no months: no bars)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(artifacts / f"indicators-{width}-{lang}.png"), full_page=True)
    assert outside == []
    context.close()
