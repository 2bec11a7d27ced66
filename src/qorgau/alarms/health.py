"""Health of the ingest processes: every alarm worker, danger sentinel and web process that
takes HTTP ingest writes its own status row (queue depth, lag, counts, broker drops, shed
batches) every `every_s`, and marks it stopped when it exits cleanly. The console and
/api/v1/alarms/metrics list them; a process whose row has not been written for
`SILENT_AFTER` heartbeats is "silent": killed, hung or cut off from the database. At a mine
that is not a detail: a dead sentinel means the consoles hear of a danger reading only from
the alarm record, a dead worker means not at all.

A heartbeat never raises (a database outage must not stop ingest); it is logged and retried
at the next beat."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms.ingest.effects import METRICS, Metrics
from qorgau.alarms.models import IngestProcess
from qorgau.alarms.service import dt
from qorgau.core.db import get_sessionmaker, utcnow
from qorgau.core.labels import N_
from qorgau.core.security import scoped
from qorgau.registry.models import Site

log = logging.getLogger("qorgau.alarms.health")
SILENT_AFTER = 5  # heartbeats missed before a running process counts as silent
SHOWN_FOR = timedelta(days=1)  # stopped or silent processes stay listed this long
LAG_WARN_S = 5.0  # a worker this far behind its readings is overloaded
SHED_WARN_S = 600.0  # a batch shed this recently (HTTP backpressure) keeps the warning on
QUEUE_WARN = 0.8  # a web process this full (of its bound on readings in progress) warns
Sample = tuple[int, float, dict[str, Any]]  # queue depth, lag, counts
LIVE: dict[str, Heartbeat] = {}  # this process's sampled heartbeats: shown live, not as written
STATUS_LABELS = (N_("running"), N_("silent"), N_("stopped"))  # for the console's catalogue


class Heartbeat:
    """A process's status writer: `beat()` from its main loop (writes when `every_s` has
    passed), `stop()` on a clean exit."""

    def __init__(self, kind: str, source: str, *, every_s: float = 1.0, name: str = "",
                 metrics: Metrics = METRICS, sample: Callable[[], Sample] | None = None) -> None:
        self.kind, self.source, self.every_s = kind, source, every_s
        self.name = name or f"{kind}-{source}@{socket.gethostname()}:{os.getpid()}"
        self.metrics, self.started_at, self._next = metrics, time.time(), 0.0
        self._sample, self.state = sample, "new"  # running | stopped once written
        if sample is not None:  # this process's console and metrics read it live (the first
            LIVE.setdefault(self.name, self)  # of a name: the process's own, made at import)

    def sample(self) -> Sample:
        if self._sample is not None:
            return self._sample()
        m = self.metrics
        return m.queue_depth, m.lag_s, dict(m.counts)

    def beat(self, *, force: bool = False) -> bool:
        """Write the status if due (or `force`); True if written."""
        if not force and time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + self.every_s
        return self._write("running")

    def stop(self) -> None:
        self._write("stopped")

    def _write(self, state: str) -> bool:
        self.state = state
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
    row.state, row.every_s, row.seen_at = state, hb.every_s, utcnow()
    row.queue_depth, row.lag_s, row.counts = hb.sample()
    return row


def status(row: IngestProcess, now: float | None = None) -> str:
    """running | silent | stopped."""
    if row.state == "stopped":
        return "stopped"
    now = time.time() if now is None else now
    late = now - row.seen_at.timestamp() > SILENT_AFTER * max(row.every_s, 1.0)
    return "silent" if late else "running"


def processes(db: Session, now: float | None = None) -> list[dict[str, Any]]:
    """Ingest processes seen in the last day, trouble first, each with what an operator needs
    to judge it: queue depth, lag, shed batches (HTTP backpressure), the broker's dropped
    messages, per-site load (`sites`, from web processes), and `warn`: silent, lagging, near
    its bound, a batch shed in the last SHED_WARN_S, or the broker dropped messages. This
    process's own sampled heartbeats (the web process's HTTP ingest) are shown live."""
    now = time.time() if now is None else now
    rows = {r.name: r for r in db.scalars(
        select(IngestProcess).where(IngestProcess.seen_at >= dt(now) - SHOWN_FOR)
        .order_by(IngestProcess.kind, IngestProcess.name))}
    for name, hb in list(LIVE.items()):
        if hb.state == "running":  # written at least once (a web process: it took ingest)
            depth, lag, counts = hb.sample()
            rows[name] = IngestProcess(name=name, kind=hb.kind, source=hb.source,
                                       state=hb.state, every_s=hb.every_s, seen_at=dt(now),
                                       started_at=dt(hb.started_at), queue_depth=depth,
                                       lag_s=lag, counts=counts)
    out = [_entry(r, now) for r in rows.values()]
    return sorted(out, key=lambda p: (not p["warn"], p["status"] == "stopped"))


def _entry(r: IngestProcess, now: float) -> dict[str, Any]:
    st = status(r, now)
    counts = dict(r.counts or {})
    load = counts.pop("load", None) or {}
    dropped = int(counts.get("mqtt_broker_dropped", 0))
    sites = {}
    for k, v in (load.get("sites") or {}).items():
        why = overload(v, load, now)
        sites[int(k)] = {**v, "why": why, "warn": bool(why)}
    why = ["silent"] if st == "silent" else []
    if st == "running":
        why += overload({"queue_depth": r.queue_depth, "lag_s": r.lag_s,
                         "last_shed_at": load.get("last_shed_at")}, load, now)
        why += ["dropped"] if dropped > 0 else []
    return {"name": r.name, "kind": r.kind, "source": r.source, "status": st,
            "seen_s_ago": round(now - r.seen_at.timestamp(), 1),
            "started_at": r.started_at, "queue_depth": r.queue_depth,
            "lag_s": round(r.lag_s, 2), "broker_dropped": dropped,
            "shed": int(counts.get("shed", 0)),
            "shed_readings": int(counts.get("shed_readings", 0)),
            "max_readings": load.get("max_readings"), "sites": sites, "counts": counts,
            "why": why, "warn": bool(why)}


def overload(fig: dict[str, Any], load: dict[str, Any], now: float) -> list[str]:
    """Why a process's or site's figures warn: "lag" (behind its readings), "queue" (near the
    web process's bound on readings in progress), "shed" (a batch shed recently)."""
    bound, shed_at = load.get("max_readings"), fig.get("last_shed_at")
    why = ["lag"] if fig.get("lag_s", 0.0) > LAG_WARN_S else []
    if bound and fig.get("queue_depth", 0) >= QUEUE_WARN * bound:
        why.append("queue")
    if shed_at and now - shed_at < SHED_WARN_S:
        why.append("shed")
    return why


def site_load(procs: list[dict[str, Any]], site_id: int) -> dict[str, Any] | None:
    """A site's load over the running processes that report it (web processes): readings in
    progress and shed summed, the worst lag; None when none reports the site."""
    figs = [p["sites"][site_id] for p in procs
            if p["status"] == "running" and site_id in p["sites"]]
    if not figs:
        return None
    why = sorted({w for f in figs for w in f["why"]})
    return {"queue_depth": sum(f["queue_depth"] for f in figs),
            "lag_s": max(f["lag_s"] for f in figs), "shed": sum(f["shed"] for f in figs),
            "shed_readings": sum(f["shed_readings"] for f in figs), "why": why,
            "warn": bool(why)}


def visible(db: Session, actor: Any, procs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The processes with their per-site load cut to the sites the caller may see: a process
    is infrastructure, a site's load is the enterprise's."""
    ids = {k for p in procs for k in p["sites"]}
    seen = set(db.scalars(scoped(select(Site.id).where(Site.id.in_(ids)), Site, actor))) \
        if ids else set()
    return [{**p, "sites": {k: v for k, v in p["sites"].items() if k in seen}} for p in procs]
