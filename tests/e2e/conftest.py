"""A live uvicorn server on SQLite and a headless Debian Chromium for browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livesite import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, live_server


@pytest.fixture(scope="session")
def live_url(db_url: str, world: object) -> Iterator[str]:
    with live_server() as url:
        yield url


@pytest.fixture
def browser() -> Iterator[object]:
    """Per test: Playwright's sync API keeps an event loop running in this thread while it is
    open, which would break any later test in the same worker that calls asyncio.run()."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
