"""Browser tests' common ground: Debian Chromium and its flags, the screenshot folder, and the
app served by uvicorn in a thread on the test database (demo accounts ensured)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server() -> Iterator[str]:
    """The app on a free loopback port; localhost so Chromium keeps the secure session cookie."""
    import uvicorn

    from qorgau.accounts.demo import ensure_demo_accounts
    from qorgau.app import create_app
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as db:
        ensure_demo_accounts(db)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the live server did not start within 10 s"
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def login(page: Any, live: str, username: str, *, next_path: str = "/") -> None:
    """Sign a Playwright page in as a demo user; waits for the page it lands on."""
    from qorgau.accounts.demo import DEMO_PASSWORD

    page.goto(f"{live}/login" + ("" if next_path == "/" else f"?next={next_path}"))
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live}{next_path}")


def wait_js(page: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll a JavaScript expression from Python until it is truthy. Not wait_for_function:
    the app's CSP forbids eval, and Playwright evaluates a string predicate with eval once it
    has to poll (it passes only when the first check is already true)."""
    end = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise AssertionError(f"not true after {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


@contextmanager
def phone_page(live: str, username: str) -> Iterator[Any]:
    """A page on a 390-px phone in Debian Chromium, signed in as `username`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            page = context.new_page()
            login(page, live, username)
            yield page
        finally:
            browser.close()
