"""Health of the ingest processes: every alarm worker and danger sentinel writes its own status
row (queue depth, lag, counts, broker drops) every `every_s`, and marks it stopped when it
exits cleanly. The console and /api/v1/alarms/metrics list them; a process whose row has not
been written for `SILENT_AFTER` heartbeats is "silent": killed, hung or cut off from the
database. At a mine that is not a detail: a dead sentinel means the consoles hear of a danger
reading only from the alarm record, a dead worker means not at all.

A heartbeat never raises (a database outage must not stop ingest); it is logged and retried
at the next beat."""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms.ingest.effects import METRICS, Metrics
from qorgau.alarms.models import IngestProcess
from qorgau.alarms.service import dt
from qorgau.core.db import get_sessionmaker, utcnow
from qorgau.core.labels import N_

log = logging.getLogger("qorgau.alarms.health")
SILENT_AFTER = 5  # heartbeats missed before a running process counts as silent
SHOWN_FOR = timedelta(days=1)  # stopped or silent processes stay listed this long
LAG_WARN_S = 5.0  # a worker this far behind its readings is overloaded
STATUS_LABELS = (N_("running"), N_("silent"), N_("stopped"))  # for the console's catalogue


class Heartbeat:
    """A process's status writer: `beat()` from its main loop (writes when `every_s` has
    passed), `stop()` on a clean exit."""

    def __init__(self, kind: str, source: str, *, every_s: float = 1.0, name: str = "",
                 metrics: Metrics = METRICS) -> None:
        self.kind, self.source, self.every_s = kind, source, every_s
        self.name = name or f"{kind}-{source}@{socket.gethostname()}:{os.getpid()}"
        self.metrics, self.started_at, self._next = metrics, time.time(), 0.0

    def beat(self, *, force: bool = False) -> bool:
        """Write the status if due (or `force`); True if written."""
        if not force and time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + self.every_s
        return self._write("running")

    def stop(self) -> None:
        self._write("stopped")

    def _write(self, state: str) -> bool:
        try:
            with get_sessionmaker()() as db:
                write(db, self, state)
                db.commit()
            return True
        except Exception as exc:
            log.warning("health of %s not written: %s", self.name, exc)
            return False


def write(db: Session, hb: Heartbeat, state: str) -> IngestProcess:
    """Insert or update the process's row (one writer per name: the process itself)."""
    row = db.scalar(select(IngestProcess).where(IngestProcess.name == hb.name))
    if row is None:
        row = IngestProcess(name=hb.name[:160], kind=hb.kind, source=hb.source,
                            started_at=dt(hb.started_at))
        db.add(row)
    m = hb.metrics
    row.state, row.every_s, row.seen_at = state, hb.every_s, utcnow()
    row.queue_depth, row.lag_s, row.counts = m.queue_depth, m.lag_s, dict(m.counts)
    return row


def status(row: IngestProcess, now: float | None = None) -> str:
    """running | silent | stopped."""
    if row.state == "stopped":
        return "stopped"
    now = time.time() if now is None else now
    late = now - row.seen_at.timestamp() > SILENT_AFTER * max(row.every_s, 1.0)
    return "silent" if late else "running"


def processes(db: Session, now: float | None = None) -> list[dict[str, Any]]:
    """Ingest processes seen in the last day, silent ones first, each with what an operator
    needs to judge it (and `warn`: silent, overloaded, or the broker dropped messages)."""
    now = time.time() if now is None else now
    rows = db.scalars(select(IngestProcess).where(IngestProcess.seen_at >= dt(now) - SHOWN_FOR)
                      .order_by(IngestProcess.kind, IngestProcess.name))
    out = []
    for r in rows:
        st = status(r, now)
        dropped = int((r.counts or {}).get("mqtt_broker_dropped", 0))
        out.append({"name": r.name, "kind": r.kind, "source": r.source, "status": st,
                    "seen_s_ago": round(now - r.seen_at.timestamp(), 1),
                    "started_at": r.started_at, "queue_depth": r.queue_depth,
                    "lag_s": round(r.lag_s, 2), "broker_dropped": dropped,
                    "counts": r.counts or {},
                    "warn": st == "silent" or (st == "running" and (
                        r.lag_s > LAG_WARN_S or dropped > 0))})
    return sorted(out, key=lambda p: (not p["warn"], p["status"] == "stopped"))
