"""Browser: an employer reports an accident on the phone form against a live uvicorn; the
inspector of that region sees it and its deadlines, another region's inspector gets 404."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta

import httpx
import pytest

from livesite import CHROMIUM
from livesite import CHROMIUM_ARGS as ARGS
from qorgau.incidents.constants import KZ_TZ

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(db_url, world):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "QORGAU_COOKIE_SECURE": "false"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "qorgau.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(base + "/hazard", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _username(db, world, key: str) -> str:
    from qorgau.accounts.models import User

    return db.get(User, world.users[key]).username


def _login(browser, base: str, username: str):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "test-password-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_employer_reports_in_the_browser(live_server, db, world, employed_iin):
    from playwright.sync_api import sync_playwright

    when = (datetime.now(KZ_TZ) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = _login(browser, live_server, _username(db, world, "osh_krg"))
        page.goto(live_server + "/incidents/new")
        page.fill("input[name=occurred_at]", when)
        page.select_option("select[name=severity]", "minor")
        page.fill("input[name=victim_iin]", employed_iin)
        page.fill("textarea[name=circumstances]", "Slipped on an icy ramp at the mine portal.")
        page.click("button[type=submit].primary")
        page.wait_for_url("**/incidents/*")
        acc_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

        insp = _login(browser, live_server, _username(db, world, "inspector_krg"))
        resp = insp.goto(f"{live_server}/incidents/{acc_id}")
        assert resp.status == 200
        assert "icy ramp" in insp.content()
        assert insp.locator("table.compact tbody tr").count() >= 2  # report + commission

        other = _login(browser, live_server, _username(db, world, "inspector_ala"))
        assert other.goto(f"{live_server}/incidents/{acc_id}").status == 404
        browser.close()
