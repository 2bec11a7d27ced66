"""Creating an assessment on a 390-px phone screen against a live uvicorn in Debian Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def live(db_url: str, world: object) -> Iterator[str]:
    import uvicorn

    from qorgau.accounts.demo import ensure_demo_accounts
    from qorgau.app import create_app
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as db:
        ensure_demo_accounts(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://localhost:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_create_assessment_on_a_phone(live: str, world) -> None:
    from playwright.sync_api import sync_playwright

    from qorgau.accounts.demo import DEMO_PASSWORD

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        page.goto(f"{live}/login")
        page.fill("#username", "osh.build")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live}/")
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
        context.close()
        browser.close()
