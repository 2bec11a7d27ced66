"""Integration fixtures: system accounts (API keys per feed) and clients sending them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def key_for(db, app) -> Callable[..., tuple[str, int]]:
    """key_for("employment-contracts") → (API key, organisation id) of a fresh state system."""
    from qorgau.accounts import service
    from qorgau.accounts.models import Organisation
    from qorgau.accounts.schemas import ApiKeyIn
    from qorgau.core.ratelimit import reset
    from qorgau.core.security import SYSTEM_ACTOR

    reset()

    def make(
        feed: str,
        *,
        region: str | None = None,
        kind: str = "state_system",
        enterprise_id: int | None = None,
    ) -> tuple[str, int]:
        org = Organisation(
            kind=kind, name=f"System {feed}", region_code=region, enterprise_id=enterprise_id
        )
        db.add(org)
        db.commit()
        key, _ = service.create_api_key(
            db,
            actor=SYSTEM_ACTOR,
            data=ApiKeyIn(
                name=f"{feed} key", organisation_id=org.id, feed=feed, rate_per_minute=10_000
            ),
        )
        return key, org.id

    return make


@pytest.fixture
def feed_client(app, key_for) -> Callable[..., TestClient]:
    def make(feed: str, **kw: Any) -> TestClient:
        key, _ = key_for(feed, **kw)
        c = TestClient(app, base_url="https://testserver")
        c.headers["X-API-Key"] = key
        return c

    return make


@pytest.fixture
def mine_bin(db, world) -> str:
    from qorgau.registry.models import Enterprise

    return db.get(Enterprise, world.enterprises["mine_krg"]).bin
