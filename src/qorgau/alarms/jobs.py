"""Background work: the one-second alarm tick (stale sensors and lost heartbeats, escalation
and reminders, shelve expiry, pending notifications), so timers fire on time rather than with
the next reading. In the embedded default it runs in `qorgau serve` (core/jobs.py); at scale
each `qorgau alarms worker` process ticks for its own partitions."""

from __future__ import annotations

from qorgau.alarms.worker import tick
from qorgau.core.db import get_sessionmaker
from qorgau.core.jobs import Job


def tick_once() -> None:
    with get_sessionmaker()() as db:
        tick(db)


JOBS = [Job("alarms.tick", run=tick_once, every_s=1.0, lease_s=30)]
