"""A database connection lost inside a request answers 503 with Retry-After even when some code
caught the first error and went on (the next statement then raises SQLAlchemy's "Can't
reconnect until invalid transaction is rolled back"); a swallowed error of another kind stays a
500, so the bug stays visible. The real PostgreSQL: the request's own backend is terminated."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from conftest import PG_ADMIN
from qorgau.core.deps import DbDep
from qorgau.core.jobs import JobLease

UNAVAILABLE = "the database is unavailable; retry in a few seconds"


# A lost connection needs a server that can drop it: PostgreSQL only, not skipped on SQLite.
pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@pytest.fixture
def swallowing_client(db_url: str) -> Iterator[TestClient]:
    assert db_url.startswith("postgresql")
    from qorgau.app import create_app

    app = create_app()

    def lost_connection(db: DbDep) -> dict[str, str]:
        pid = db.scalar(text("SELECT pg_backend_pid()"))
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with contextlib.suppress(OperationalError):  # the mistake: going on after a DB error
            db.execute(text("SELECT 1"))
        db.execute(text("SELECT 1"))
        return {}

    def duplicate_key(db: DbDep) -> dict[str, str]:
        name = f"test.dup_{uuid.uuid4().hex[:8]}"
        db.add(JobLease(name=name, failures=0))
        db.flush()
        db.expunge_all()
        db.add(JobLease(name=name, failures=0))
        with contextlib.suppress(IntegrityError):
            db.flush()
        db.execute(text("SELECT 1"))
        return {}

    app.add_api_route("/api/v1/test-lost-connection", lost_connection)
    app.add_api_route("/api/v1/test-duplicate-key", duplicate_key)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


def test_connection_lost_and_swallowed_is_still_503(swallowing_client: TestClient) -> None:
    r = swallowing_client.get("/api/v1/test-lost-connection")
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    assert r.json()["detail"][0]["msg"] == UNAVAILABLE
    assert swallowing_client.get("/readyz").status_code == 200  # the pool reconnected


def test_other_swallowed_error_stays_500(swallowing_client: TestClient) -> None:
    assert swallowing_client.get("/api/v1/test-duplicate-key").status_code == 500
