"""Background workers: `python -m qorgau.integration.worker deliver|imports|all [--once]`.

The delivery worker may run in several processes on PostgreSQL (SKIP LOCKED); on SQLite run one.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time

from qorgau.core.db import get_sessionmaker
from qorgau.integration import delivery, service
from qorgau.integration.idempotency import purge_expired
from qorgau.integration.monitor import check_silent_feeds

log = logging.getLogger("qorgau.integration.worker")


def run(
    kind: str, *, once: bool = False, stop: threading.Event | None = None, idle_sleep: float = 0.2
) -> None:
    stop = stop or threading.Event()
    last_housekeeping = 0.0
    with delivery.make_client() as client:
        while not stop.is_set():
            busy = 0
            if kind in ("imports", "all"):
                busy += service.run_queued_jobs()
            if kind in ("deliver", "all"):
                with get_sessionmaker()() as db:
                    planned, sent = delivery.run_once(db, client)
                    busy += planned + sent
                    if time.monotonic() - last_housekeeping > 60:
                        check_silent_feeds(db=db)
                        purge_expired(db)
                        last_housekeeping = time.monotonic()
            if once:
                return
            if not busy:
                stop.wait(idle_sleep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["deliver", "imports", "all"])
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    run(args.kind, once=args.once)


if __name__ == "__main__":
    main()
