"""The map's per-request path without database round trips: the session remembered for
SESSION_SECONDS, the BIN-prefix search answered from the snapshot — with the same answers as
the database gives."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

KZ = "46,40,88,56"


@pytest.fixture
def statements():
    """Number of SQL statements the app sends while the block runs."""
    from qorgau.core.db import get_engine

    seen: list[str] = []

    def count(_conn, _cur, statement, *_a) -> None:
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def _session_token(world, key: str) -> str:
    from qorgau.accounts import service
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as db:
        token, _ = service.open_session(db, user=db.get(User, world.users[key]), kind="bearer")
    return token


def test_remembered_session_needs_no_database(app, world, geo_world, statements) -> None:
    from fastapi.testclient import TestClient

    from qorgau.geo import index

    c = TestClient(app, base_url="https://testserver")
    c.headers["Authorization"] = f"Bearer {_session_token(world, 'analyst')}"
    url = f"/api/v1/map/clusters?bbox={KZ}&zoom=5&region=KZ-35"
    first = c.get(url)
    assert first.status_code == 200
    with index._cache.lock:  # no freshness check due in the next request
        for snap in index._cache.snapshots.values():
            snap.checked = float("inf")
    statements.clear()
    again = c.get(url)
    assert again.status_code == 200 and again.content == first.content
    assert statements == []


def test_revoked_session_is_refused_once_the_window_passed(
    app, world, geo_world, monkeypatch
) -> None:
    from fastapi.testclient import TestClient

    from qorgau.accounts import service as accounts
    from qorgau.core.db import get_sessionmaker
    from qorgau.geo import sessions

    token = _session_token(world, "inspector_krg")
    c = TestClient(app, base_url="https://testserver")
    c.headers["Authorization"] = f"Bearer {token}"
    url = "/api/v1/map/count?region=KZ-35"
    assert c.get(url).status_code == 200
    with get_sessionmaker()() as db:
        accounts.close_session(db, token=token)
    monkeypatch.setattr(sessions, "SESSION_SECONDS", 0.0)  # the window has passed
    assert c.get(url).status_code == 401
    assert c.get("/api/v1/map/layers").status_code == 401  # other routes: at once


def test_expired_session_is_refused_even_when_remembered(app, world, geo_world) -> None:
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from qorgau.accounts.models import AuthSession
    from qorgau.core.db import get_sessionmaker, utcnow
    from qorgau.core.security import token_digest
    from qorgau.geo import sessions

    token = _session_token(world, "analyst")
    c = TestClient(app, base_url="https://testserver")
    c.headers["Authorization"] = f"Bearer {token}"
    assert c.get("/api/v1/map/count").status_code == 200
    with get_sessionmaker()() as db:
        row = db.scalar(select(AuthSession).where(AuthSession.digest == token_digest(token)))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
    with sessions._lock:  # the remembered copy still says "valid for hours": expire it too
        for entry in sessions._entries.values():
            entry.expires = min(entry.expires, utcnow() - timedelta(seconds=1))
    assert c.get("/api/v1/map/count").status_code == 401


def test_bin_prefix_search_in_memory_matches_the_registry(db, client_as, geo_world) -> None:
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.geo import index
    from qorgau.geo.service import _bin_prefix_ids
    from qorgau.registry import service as registry
    from qorgau.registry.models import Enterprise

    snap = index.get_snapshot(db)
    assert snap.bins is not None  # the test world's BINs are 12 digits
    some = db.scalar(select(Enterprise.bin).where(Enterprise.name.startswith("GEO-TEST")))
    for q in (some, some[:9], some[:4], "99", "000000000000"):
        stmt = registry.enterprise_query(db=db, actor=SYSTEM_ACTOR, q=q)
        expected = set(db.scalars(stmt.with_only_columns(Enterprise.id).order_by(None)))
        assert set(_bin_prefix_ids(snap, q) or ()) == expected, q
    assert _bin_prefix_ids(snap, "GEO") is None  # names stay in SQL
    # over HTTP, scoped: a Karaganda inspector finds a BIN of another region nowhere
    other = db.scalar(
        select(Enterprise.bin).where(
            Enterprise.name.startswith("GEO-TEST"), Enterprise.region_code == "KZ-75"
        )
    )
    url = f"/api/v1/map/count?q={other}"
    assert client_as("analyst").get(url).json()["count"] == 1
    assert client_as("inspector_krg").get(url).json()["count"] == 0
    n = db.scalar(select(func.count()).where(Enterprise.bin.startswith(other[:6])))
    assert client_as("analyst").get(f"/api/v1/map/count?q={other[:6]}").json()["count"] == n
