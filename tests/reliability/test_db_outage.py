"""PostgreSQL goes away under the running server (its backends terminated, new connections
refused — the shared PostgreSQL server itself keeps running): the API answers 503 with a clear
message and Retry-After, pages an HTML 503, never 500; /readyz says not ready while /healthz
stays up; nothing of a refused request is stored; when the database is back the server
reconnects by itself."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from reliability.server import Server, make_server

pytestmark = pytest.mark.slow

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _admin(sql: str, *params: object) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql, params or None)


def _cut_off(name: str) -> None:
    """Refuse new connections to this database and terminate every open one."""
    _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
           "WHERE datname = %s AND pid <> pg_backend_pid()", name)


def _terminate_backends(name: str) -> int:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[tuple[Server, dict[str, Any], str]]:
    name = f"qorgau_outage_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    server, world = make_server(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", tmp_path)
    try:
        server.start()
        yield server, world, name
    finally:
        server.stop()
        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _accident(marker: str) -> dict[str, Any]:
    return {
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "severity": "minor",
        "circumstances": f"Caught a sleeve on the conveyor idler [{marker}]",
        "victims": [{"full_name": "Белгісіз Ер Адам", "birth_date": "1980-01-01",
                     "severity": "minor"}],
    }


def test_database_outage_answers_503_and_recovers(
    pg_server: tuple[Server, dict[str, Any], str],
) -> None:
    server, world, name = pg_server
    auth = {"Authorization": f"Bearer {world['token']}"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as api:
        assert api.post("/api/v1/accidents", json=_accident("before")).status_code == 201
        assert api.get("/readyz").status_code == 200

        # Backends terminated between requests: the pool notices and reconnects, no error.
        assert _terminate_backends(name) >= 1
        r = api.post("/api/v1/accidents", json=_accident("after-terminate"))
        assert r.status_code == 201, r.text

        _cut_off(name)
        refused = api.post("/api/v1/accidents", json=_accident("during-outage"),
                           headers={"Idempotency-Key": "during-outage"})
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["detail"][0]["msg"] == (
            "the database is unavailable; retry in a few seconds"
        )
        assert api.get("/api/v1/accidents").status_code == 503
        ready = api.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert ready.json()["checks"]["database"].startswith("error")
        assert api.get("/healthz").status_code == 200  # the process is alive: do not restart it
        page = httpx.get(f"{server.url}/registry", cookies={"qorgau_session": world["cookie"]},
                         headers={"accept": "text/html"}, timeout=30)
        assert page.status_code == 503 and "text/html" in page.headers["content-type"]
        assert "the database is unavailable" in page.text

        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        deadline = time.monotonic() + 20
        while api.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the server did not reconnect within 20 s"
            time.sleep(0.5)
        listed = api.get("/api/v1/accidents", params={"size": 100})
        assert listed.status_code == 200, listed.text
        texts = [a["circumstances"] for a in listed.json()["items"]]
        assert not any("during-outage" in t for t in texts), "a refused request was stored"
        assert sum("before" in t or "after-terminate" in t for t in texts) == 2

        # The client retries the refused submission with its key: stored once.
        retried = api.post("/api/v1/accidents", json=_accident("during-outage"),
                           headers={"Idempotency-Key": "during-outage"})
        assert retried.status_code == 201, retried.text
    verified = server.qorgau("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
