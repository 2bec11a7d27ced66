"""Inspections test helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def page_as(app, world) -> Callable[[str], tuple[TestClient, str]]:
    """page_as("insurer") → (client with a session cookie, its CSRF token)."""
    from qorgau.accounts import service
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    def make(key: str) -> tuple[TestClient, str]:
        with get_sessionmaker()() as db:
            user = db.get(User, world.users[key])
            token, row = service.open_session(db, user=user, kind="cookie")
        c = TestClient(app, base_url="https://testserver")
        c.cookies.set(SESSION_COOKIE, token)
        return c, row.csrf

    return make
