"""Background work of the exchange, run by `qorgau serve`'s scheduler (core/jobs.py) or by
`python -m qorgau.integration.worker` as separate processes at scale: outbox delivery,
queued bulk imports, and housekeeping (silent feeds, expired idempotency keys, due reports)."""

from __future__ import annotations

from typing import Any

from qorgau.core.db import get_sessionmaker
from qorgau.core.jobs import Job
from qorgau.integration import delivery, reports, service
from qorgau.integration.idempotency import purge_expired
from qorgau.integration.monitor import check_silent_feeds
from qorgau.integration.sender import Sender

_client: Sender | None = None


def _http() -> Sender:
    """One pooled client per process: keep-alive connections to subscribers survive passes."""
    global _client
    if _client is None:
        _client = delivery.make_client()
    return _client


def deliver(client: Sender | None = None) -> int:
    """One delivery pass; the number of deliveries planned and sent (0 = idle)."""
    with get_sessionmaker()() as db:
        planned, sent = delivery.run_once(db, client or _http())
    return planned + sent


def imports() -> int:
    """Run queued bulk imports; the number run (0 = idle)."""
    return service.run_queued_jobs()


def housekeeping() -> dict[str, Any]:
    with get_sessionmaker()() as db:
        silent = check_silent_feeds(db=db)
        purge_expired(db)
        sent = reports.run_due_schedules(db=db)
    return {"silent_feeds": len(silent), "reports_sent": len(sent)}


JOBS = [
    Job("integration.deliver", run=deliver, every_s=0.5, lease_s=60),
    Job("integration.imports", run=imports, every_s=1.0, lease_s=3600),
    Job("integration.housekeeping", run=housekeeping, every_s=60, lease_s=300),
]
