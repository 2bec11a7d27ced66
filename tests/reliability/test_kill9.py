"""kill -9 of the server during concurrent accident submissions and during a bulk import, then a
restart: every acknowledged record is there exactly once, nothing is half-written, the audit
chain verifies, and retrying the unacknowledged requests with their Idempotency-Key completes
them without duplicates. SQLite, the real `qorgau serve` process."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from factories import make_iin
from reliability.server import Server

pytestmark = pytest.mark.slow

FEED = "/api/v1/feeds/employment-contracts"
WRITERS = 6
PER_WRITER = 40


def _accident(marker: str) -> dict[str, Any]:
    return {
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "severity": "minor",
        "circumstances": f"Slipped on a wet ladder rung in drift 4 [{marker}]",
        "victims": [{"full_name": "Белгісіз Ер Адам", "birth_date": "1980-01-01",
                     "severity": "minor"}],
    }


def _db(server: Server) -> sqlite3.Connection:
    path = server.env["QORGAU_DATABASE_URL"].removeprefix("sqlite:///")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _markers_in_db(server: Server) -> dict[str, int]:
    with _db(server) as conn:
        rows = conn.execute("SELECT circumstances FROM accident").fetchall()
    counts: dict[str, int] = {}
    for (text,) in rows:
        marker = text.rsplit("[", 1)[-1].rstrip("]")
        counts[marker] = counts.get(marker, 0) + 1
    return counts


def _audit_verifies(server: Server) -> str:
    out = server.qorgau("audit", "verify")
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_kill9_during_accident_submissions(sqlite_server: tuple[Server, dict[str, Any]]) -> None:
    server, world = sqlite_server
    server.start()
    headers = {"Authorization": f"Bearer {world['token']}"}
    acked: dict[str, int] = {}  # marker -> accident id, for every 201 the client received
    sent: list[str] = []
    bodies: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    killed = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            for i in range(PER_WRITER):
                if killed.is_set():
                    return
                marker = f"w{n}-{i}-{uuid.uuid4().hex[:6]}"
                body = _accident(marker)
                with lock:
                    sent.append(marker)
                    bodies[marker] = body
                try:
                    r = client.post("/api/v1/accidents", json=body,
                                    headers={"Idempotency-Key": marker})
                except httpx.TransportError:
                    return  # the server died under this request: not acknowledged
                assert r.status_code == 201, r.text
                with lock:
                    acked[marker] = r.json()["id"]

    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(writer, n) for n in range(WRITERS)]
        deadline = time.monotonic() + 60
        while len(acked) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill9()
        killed.set()
        for f in futures:
            f.result()
    assert len(acked) >= 40, "the server acknowledged too few submissions before the kill"
    assert len(sent) > len(acked), "the kill came after the last submission: nothing in flight"

    server.start()  # same database, same port
    in_db = _markers_in_db(server)
    lost = [m for m in acked if in_db.get(m) != 1]
    assert lost == [], f"acknowledged but missing or duplicated after kill -9: {lost}"
    assert all(n == 1 for n in in_db.values()), "a submission was stored twice"
    assert set(in_db) <= set(sent)
    _audit_verifies(server)

    # The clients retry what was not acknowledged, with the same key: each ends stored once.
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for marker in [m for m in sent if m not in acked]:
            r = client.post("/api/v1/accidents", json=bodies[marker],
                            headers={"Idempotency-Key": marker})
            assert r.status_code in (200, 201), r.text  # 200: it had been stored before the kill
        for marker, accident_id in list(acked.items())[:10]:
            r = client.get(f"/api/v1/accidents/{accident_id}")
            assert r.status_code == 200 and marker in r.json()["circumstances"]
    in_db = _markers_in_db(server)
    assert set(in_db) == set(sent) and all(n == 1 for n in in_db.values())
    assert "audit chain intact" in _audit_verifies(server)


def _contract_rows(bin_: str, prefix: str, n: int) -> list[dict[str, Any]]:
    today = date.today().isoformat()
    return [
        {
            "op": "hire",
            "contract_no": f"{prefix}-{i:05d}",
            "enterprise_bin": bin_,
            "worker": {"iin": make_iin(), "last_name": f"Қасымов{i}", "first_name": "Ерлан"},
            "occupation": "miner",
            "start_date": today,
            "changed_at": datetime.now(UTC).isoformat(),
        }
        for i in range(n)
    ]


def _contracts_with(server: Server, prefix: str) -> int:
    with _db(server) as conn:
        return int(conn.execute(
            "SELECT count(*) FROM employment WHERE contract_no LIKE ?", (f"{prefix}-%",)
        ).fetchone()[0])


def _delivery(rows: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    return {"delivery_id": f"d-{uuid.uuid4().hex[:8]}", "sent_at": datetime.now(UTC).isoformat(),
            "rows": rows, "mode": mode}


def _send_and_kill(server: Server, body: dict[str, Any], headers: dict[str, str],
                   after: float) -> int | str:
    """POST the delivery, kill -9 the server `after` seconds later; the client's outcome."""
    outcome: list[int | str] = []

    def send() -> None:
        try:
            r = httpx.post(f"{server.url}{FEED}", json=body, headers=headers, timeout=120)
            outcome.append(r.status_code)
        except httpx.TransportError as exc:
            outcome.append(type(exc).__name__)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(after)
    server.kill9()
    sender.join(30)
    return outcome[0]


def test_kill9_during_sync_import(sqlite_server: tuple[Server, dict[str, Any]]) -> None:
    server, world = sqlite_server
    # A key reserved by a killed process is taken over after this (2 minutes in production).
    server.env["QORGAU_INTEGRATION_IDEMPOTENCY_STALE_SECONDS"] = "3"
    server.start()
    n = 2_000  # the largest inline delivery
    warm = _delivery(_contract_rows(world["bin"], "WARM", n), "sync")
    started = time.perf_counter()
    r = httpx.post(f"{server.url}{FEED}", json=warm, headers={"X-API-Key": world["feed_key"]},
                   timeout=120)
    took = time.perf_counter() - started
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text

    # Kill at shrinking fractions of a whole request until one dies in flight; after every
    # kill the delivery is there whole (if acknowledged: must be) or not at all.
    for attempt, fraction in enumerate((0.7, 0.5, 0.35, 0.2, 0.1)):
        prefix = f"K9S{attempt}"
        body = _delivery(_contract_rows(world["bin"], prefix, n), "sync")
        headers = {"X-API-Key": world["feed_key"], "Idempotency-Key": body["delivery_id"]}
        outcome = _send_and_kill(server, body, headers, took * fraction)
        server.start()
        stored = _contracts_with(server, prefix)
        assert stored in (0, n), f"half-applied import: {stored} of {n} rows after kill -9"
        if outcome == 200:
            assert stored == n, "an acknowledged delivery was lost"
            continue
        break
    else:
        pytest.fail("every delivery finished before the kill; none was killed in flight")
    _audit_verifies(server)

    # The sender re-sends the unacknowledged delivery with its key: 409 "still being
    # processed" while the dead request's reservation is fresh, then applied exactly once.
    deadline = time.monotonic() + 30
    while True:
        r = httpx.post(f"{server.url}{FEED}", json=body, headers=headers, timeout=120)
        if r.status_code != 409 or time.monotonic() > deadline:
            break
        assert "still being processed" in r.text
        time.sleep(1)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "applied"
    assert _contracts_with(server, prefix) == n
    assert "audit chain intact" in _audit_verifies(server)


def test_kill9_during_import_job(sqlite_server: tuple[Server, dict[str, Any]]) -> None:
    server, world = sqlite_server
    server.start()
    key = {"X-API-Key": world["feed_key"]}
    # Kill once the job is running; if it finished first, it must be there whole: try again,
    # with a bigger job and a shorter wait (a quiet machine finishes small jobs very fast).
    for attempt, (n, delay) in enumerate([(3_000, 0.3), (10_000, 0.1), (30_000, 0.0),
                                          (60_000, 0.0)]):
        prefix = f"K9J{attempt}"
        body = _delivery(_contract_rows(world["bin"], prefix, n), "job")
        r = httpx.post(f"{server.url}{FEED}", json=body, headers=key, timeout=60)
        assert r.status_code == 202, r.text
        job_url = f"{server.url}/api/v1/import-jobs/{r.json()['id']}"
        assert _wait_for(
            lambda u=job_url: httpx.get(u, headers=key).json()["status"] != "queued", seconds=30
        )
        time.sleep(delay)
        server.kill9()
        server.start()
        stored = _contracts_with(server, prefix)
        assert stored in (0, n), f"half-applied import job: {stored} of {n} rows after kill -9"
        status = httpx.get(job_url, headers=key).json()["status"]
        if status == "running":  # killed mid-run: nothing of it was committed
            assert stored == 0
            break
        assert (status, stored) == ("done", n)
    else:
        pytest.fail("every import job finished before the kill; none was killed mid-run")
    _audit_verifies(server)

    # The job runner re-queues a job whose process died and runs it: applied exactly once.
    env = {**server.env, "QORGAU_INTEGRATION_JOB_STALE_AFTER_SECONDS": "0"}
    ran = subprocess.run([*server.command("jobs", "run", "integration.imports")], env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert httpx.get(job_url, headers=key).json()["status"] == "done"
    assert _contracts_with(server, prefix) == n
    assert "audit chain intact" in _audit_verifies(server)


def _wait_for(check: Any, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False
