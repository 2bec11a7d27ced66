"""Background work: the one-second alarm tick (stale sensors and lost heartbeats, escalation
and reminders, shelve expiry, pending notifications), so timers fire on time rather than with
the next reading. In the embedded default it runs in `qorgau serve` (core/jobs.py); at scale
each `qorgau alarms worker` process ticks for its own partitions. Once a day, telemetry past
its retention (raw segment files, roll-ups, dead letters) is purged (`retention.py`)."""

from __future__ import annotations

from datetime import time
from typing import Any

from qorgau.alarms import retention
from qorgau.alarms.worker import tick
from qorgau.core.db import get_sessionmaker
from qorgau.core.jobs import Job


def tick_once() -> None:
    with get_sessionmaker()() as db:
        tick(db)


def purge_expired() -> dict[str, Any]:
    with get_sessionmaker()() as db:
        return retention.run(db)


# the purge's lease is not renewed while it runs: long enough for a first purge of years
JOBS = [Job("alarms.tick", run=tick_once, every_s=1.0, lease_s=30),
        Job("alarms.retention", run=purge_expired, daily_at=time(3, 30), lease_s=4 * 3600)]
