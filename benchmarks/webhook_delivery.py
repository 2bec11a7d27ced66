"""Webhook delivery throughput: outbox events → signed POSTs to a local receiver (uvicorn).

Figure: events/s delivered by one worker process (plan + claim + 16 concurrent POSTs + settle)
on PostgreSQL (or SQLite with --db sqlite). Baselines, measured in the same run: the previous
delivery path (httpx.Client shared by 16 threads, an ORM object and an UPDATE per delivery,
batches one after the other; kept below as `_previous_pass`), and the current worker with one
connection (concurrency 1).

    .venv/bin/python benchmarks/webhook_delivery.py --events 5000 [--db sqlite]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks._common import report  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
RECEIVER = "async def app(scope, receive, send):\n" \
    "    if scope['type'] != 'http': return\n" \
    "    while (await receive()).get('more_body'): pass\n" \
    "    await send({'type': 'http.response.start', 'status': 204, 'headers': []})\n" \
    "    await send({'type': 'http.response.body', 'body': b''})\n"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _previous_pass(db, client, concurrency: int) -> tuple[int, int]:
    """The delivery pass as it was before the pooled sender (for the same-run baseline)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from qorgau.core.db import utcnow
    from qorgau.core.events import OutboxEvent
    from qorgau.integration import delivery as d
    from qorgau.integration.models import Delivery, Subscription

    events = list(db.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
                             .order_by(OutboxEvent.id).limit(1000)))
    subs = list(db.scalars(select(Subscription).where(Subscription.active)))
    now = utcnow()
    for ev in events:
        db.add_all(Delivery(event_id=ev.id, subscription_id=s.id, organisation_id=s.organisation_id,
                            object_key=f"{ev.object_type}:{ev.object_id}", status="pending",
                            next_attempt_at=now, last_error="") for s in subs)
        ev.dispatched_at = now
    db.commit()
    claimed = d.claim(db, limit=500)
    rows = {r.id: r for r in db.scalars(select(Delivery).where(
        Delivery.id.in_([c.id for c in claimed])))}
    for r in rows.values():
        r.claimed_until = now
    db.commit()
    subs_by = {s.id: s for s in subs}
    evs = {e.id: e for e in db.scalars(select(OutboxEvent).where(
        OutboxEvent.id.in_([c.event_id for c in claimed])))}

    def post(c: d.Claimed) -> int:
        req = d._request(c, subs_by[c.subscription_id], evs[c.event_id])
        return client.post(req.url, content=req.body, headers=req.headers).status_code

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        codes = list(pool.map(post, claimed))
    for c, code in zip(claimed, codes, strict=True):
        r = rows[c.id]
        r.attempt += 1
        r.claimed_until, r.response_code = None, code
        r.status, r.delivered_at = "delivered", utcnow()
    db.commit()
    return len(events), len(claimed)


def _run(n: int, url: str, concurrency: int, previous: bool = False) -> float:
    from qorgau.accounts.models import Organisation
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.events import emit
    from qorgau.integration import delivery
    from qorgau.integration.constants import integration_settings
    from qorgau.integration.models import Delivery, Subscription

    integration_settings().delivery_concurrency = concurrency
    with get_sessionmaker()() as db:
        org = Organisation(kind="ministry", name="bench")
        db.add(org)
        db.flush()
        db.add(Subscription(organisation_id=org.id, name="bench", event_types="bench.*",
                            url=url, secret="s" * 32))
        for i in range(n):
            emit(db, type="bench.event", object_type="thing", object_id=i, payload={"i": i},
                 region_code="KZ-35")
        db.commit()
        started = time.perf_counter()
        if previous:
            import httpx

            with httpx.Client(limits=httpx.Limits(max_connections=32)) as hc:
                while any(_previous_pass(db, hc, concurrency)):
                    pass
        else:
            with delivery.make_client() as client:
                while any(delivery.run_once(db, client)):
                    pass
        elapsed = time.perf_counter() - started
        done = db.query(Delivery).filter(Delivery.status == "delivered").count()
        db.query(Subscription).update({"active": False})
        db.commit()
    assert done >= n, (done, n)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5_000)
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = ap.parse_args()
    name = f"qorgau_bench_{secrets.token_hex(3)}"
    if args.db == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:////tmp/{name}.sqlite3"
    os.environ["QORGAU_DATABASE_URL"] = url
    app_dir = Path(f"/tmp/{name}")
    app_dir.mkdir()
    (app_dir / "receiver_app.py").write_text(RECEIVER)
    port = _port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "receiver_app:app", "--port",
                               str(port), "--log-level", "warning", "--workers", "2"],
                              cwd=app_dir)
    try:
        from qorgau.core.config import get_settings
        from qorgau.core.db import reset_engine
        from qorgau.core.migrate import upgrade

        get_settings.cache_clear()
        reset_engine()
        upgrade(url)
        time.sleep(2)
        hook = f"http://127.0.0.1:{port}/hook"
        db_name = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}[args.db]
        prev = _run(args.events, hook, 16, previous=True)
        fast = _run(args.events, hook, 16)
        base_n = max(200, args.events // 10)
        slow = _run(base_n, hook, 1)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        figure = f"webhook delivery, {db_name} outbox → local receiver ({args.events:,} events)"
        report(figure, args.events / fast, "events/s", args.events / prev,
               f"events/s previous delivery path; load {load}")
        report(figure, args.events / fast, "events/s", base_n / slow,
               "events/s with one connection")
    finally:
        server.terminate()
        from qorgau.core.db import reset_engine

        reset_engine()
        if args.db == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            Path(f"/tmp/{name}.sqlite3").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
