"""Webhook delivery throughput: outbox events → signed POSTs to a local receiver (uvicorn).

Figure: events/s delivered by one worker process (plan + claim + 16 concurrent POSTs + settle)
on PostgreSQL. Baseline: the same worker with one connection (concurrency 1).

    .venv/bin/python benchmarks/webhook_delivery.py --events 5000
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


def _run(n: int, url: str, concurrency: int) -> float:
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
        with delivery.make_client() as client:
            while True:
                planned, sent = delivery.run_once(db, client)
                if not planned and not sent:
                    break
        elapsed = time.perf_counter() - started
        done = db.query(Delivery).filter(Delivery.status == "delivered").count()
        db.query(Subscription).update({"active": False})
        db.commit()
    assert done >= n, (done, n)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5_000)
    args = ap.parse_args()
    name = f"qorgau_bench_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
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
        fast = _run(args.events, hook, 16)
        base_n = max(200, args.events // 10)
        slow = _run(base_n, hook, 1)
        report(f"webhook delivery, PostgreSQL outbox → local receiver ({args.events:,} events)",
               args.events / fast, "events/s", base_n / slow, "events/s with one connection")
    finally:
        server.terminate()
        from qorgau.core.db import reset_engine

        reset_engine()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
