"""Background workers: `python -m qorgau.integration.worker deliver|imports|all [--once]`, and
one connector run: `... worker ingest --feed F --key-id N (--file PATH | --url URL [--since])`.

The delivery worker may run in several processes on PostgreSQL (SKIP LOCKED); on SQLite run one.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from pathlib import Path

import httpx

from qorgau.core.db import get_sessionmaker
from qorgau.integration import delivery, jobs, service

log = logging.getLogger("qorgau.integration.worker")


def run(
    kind: str, *, once: bool = False, stop: threading.Event | None = None, idle_sleep: float = 0.2
) -> None:
    """The same steps as the in-process scheduler's jobs, in a dedicated process."""
    stop = stop or threading.Event()
    last_housekeeping = 0.0
    with delivery.make_client() as client:
        while not stop.is_set():
            busy = 0
            if kind in ("imports", "all"):
                busy += jobs.imports()
            if kind in ("deliver", "all"):
                busy += jobs.deliver(client)
                if time.monotonic() - last_housekeeping > 60:
                    jobs.housekeeping()
                    last_housekeeping = time.monotonic()
            if once:
                return
            if not busy:
                stop.wait(idle_sleep)


def ingest(
    feed: str, *, key_id: int, path: str | None, url: str | None, since: str | None
) -> dict[str, object]:
    """Run a connector once: its file driver (path) or HTTP driver (url), as the key's account."""
    from qorgau.accounts import service as accounts
    from qorgau.integration.connectors import CONNECTORS

    connector = CONNECTORS[feed]
    if path:
        records, delivery_id = connector.read_file(Path(path)), Path(path).name
    else:
        assert url, "give --file or --url"
        with httpx.Client(timeout=60) as client:
            records = connector.fetch_http(client, url, since=since)
        delivery_id = f"{feed}-{since or 'all'}"
    with get_sessionmaker()() as db:
        actor = accounts.actor_for_api_key(db, key_id=key_id)
        service.require_feed(actor, feed)
        out = service.ingest_records(
            db=db, actor=actor, feed=feed, records=records, delivery_id=delivery_id
        )
    return out.model_dump(exclude={"results"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["deliver", "imports", "all", "ingest"])
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--feed")
    parser.add_argument("--key-id", type=int)
    parser.add_argument("--file")
    parser.add_argument("--url")
    parser.add_argument("--since")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.kind == "ingest":
        print(ingest(args.feed, key_id=args.key_id, path=args.file, url=args.url, since=args.since))
        return
    run(args.kind, once=args.once)


if __name__ == "__main__":
    main()
