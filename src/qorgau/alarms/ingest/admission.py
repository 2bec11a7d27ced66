"""Backpressure of HTTP ingest, the embedded default's only transport (no broker to queue in).

HTTP ingest is synchronous: a gateway gets 200 only after the commit, so a slow server shows as
latency, never as a silent drop. What must not happen is an unbounded pile of batches waiting
for the site's lock and the database, each holding a worker thread and a body in memory, until
every gateway times out at once. So the work in progress is bounded: past
`alarm_ingest_max_batches` batches or `alarm_ingest_max_readings` readings in progress in this
process, a batch is answered 503 with Retry-After before anything of it is stored, and counted
as shed (process and site); the gateway keeps it and sends it again (at-least-once, the retry
deduplicated on device + sequence). A batch is always admitted when nothing is in progress, so
one batch larger than the bound cannot be shed forever.

Queue depth (readings in progress), lag (now minus the oldest reading time of the batches in
progress) and shed counts are in /api/v1/alarms/metrics, in Prometheus /metrics, and in this
process's health row (kind `web`, `health.py`), which the console's load strip shows."""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from qorgau.alarms import constants as C
from qorgau.alarms.health import Heartbeat
from qorgau.alarms.ingest.effects import METRICS, Metrics
from qorgau.alarms.ingest.parse import Columns, Rows
from qorgau.core import metrics as prom
from qorgau.core.config import get_settings

RETRY_AFTER_S = 2  # a shed batch's gateway waits this long before sending it again
BEAT_S = 2.0  # the web process's health row is written this often while it takes HTTP ingest
SHED_BATCHES = prom.counter("qorgau_alarm_ingest_shed_batches_total",
                            "HTTP ingest batches answered 503 (over the in-progress bound)")
SHED_READINGS = prom.counter("qorgau_alarm_ingest_shed_readings_total",
                             "Readings in HTTP ingest batches answered 503")


@dataclass(slots=True)
class _Batch:
    site_id: int | None
    n: int
    oldest: float  # NaN: no reading time in the ingest window


@dataclass(slots=True)
class _Shed:
    batches: int = 0
    readings: int = 0
    last_at: float = 0.0


def extent(doc: Any, now: float | None = None) -> tuple[int, float]:
    """(readings, oldest reading time) of a decoded batch, without validating it: times outside
    the ingest window (which the processor rejects) do not count as lag; NaN when none is in."""
    now = time.time() if now is None else now
    if isinstance(doc, Rows):
        ts: Any = (r.t for r in doc.readings)
        n = len(doc.readings)
    elif isinstance(doc, Columns):
        ts, n = iter(doc.t), len(doc.t)
    elif isinstance(doc, dict) and isinstance(doc.get("readings"), list):
        rows = doc["readings"]
        ts, n = (r.get("t") for r in rows if isinstance(r, dict)), len(rows)
    elif isinstance(doc, dict) and isinstance(doc.get("t"), list):
        ts, n = iter(doc["t"]), len(doc["t"])
    else:
        return 1, math.nan
    lo, hi = now - C.MAX_PAST_S, now + C.MAX_FUTURE_S
    inside = [t for t in ts if isinstance(t, int | float) and lo <= t <= hi]
    return n, float(min(inside)) if inside else math.nan


class Admission:
    """The bound on this process's HTTP ingest work in progress, and its load figures.
    Thread-safe; `enter` before a batch is processed, `leave` when its response is ready."""

    def __init__(self, metrics: Metrics = METRICS) -> None:
        self.metrics = metrics
        self.used = False  # has taken HTTP ingest: from then on its health row is written
        self._lock = threading.Lock()
        self._work: dict[int, _Batch] = {}
        self._ids = itertools.count()
        self._shed: dict[int | None, _Shed] = {}
        self.heartbeat = Heartbeat("web", "http", every_s=BEAT_S, sample=self.sample)

    @staticmethod
    def bounds() -> tuple[int, int]:
        s = get_settings()
        return s.alarm_ingest_max_batches, s.alarm_ingest_max_readings

    def enter(self, site_id: int | None, n: int, oldest: float) -> int | None:
        """A token for the batch, or None when it is shed (counted)."""
        max_batches, max_readings = self.bounds()
        with self._lock:
            self.used = True
            depth = sum(b.n for b in self._work.values())
            if self._work and (len(self._work) >= max_batches or depth + n > max_readings):
                self._count_shed(site_id, n)
                return None
            token = next(self._ids)
            self._work[token] = _Batch(site_id, n, oldest)
            return token

    def leave(self, token: int) -> None:
        with self._lock:
            self._work.pop(token, None)

    def _count_shed(self, site_id: int | None, n: int) -> None:
        for key in {site_id, None}:  # None: the process's own total
            s = self._shed.setdefault(key, _Shed())
            s.batches, s.readings, s.last_at = s.batches + 1, s.readings + n, time.time()
        self.metrics.counts["shed"] += 1
        self.metrics.counts["shed_readings"] += n
        SHED_BATCHES.inc()
        SHED_READINGS.inc(n)

    def load(self, now: float | None = None) -> dict[str, Any]:
        """What is in progress now and what was shed, for the process and per site (a site
        appears while it has work in progress or once it has had a batch shed)."""
        now = time.time() if now is None else now
        max_batches, max_readings = self.bounds()
        with self._lock:
            work, shed = list(self._work.values()), dict(self._shed)
        sites: dict[str, dict[str, Any]] = {}
        for key in {b.site_id for b in work if b.site_id is not None} | {
                k for k in shed if k is not None}:
            sites[str(key)] = _figures([b for b in work if b.site_id == key],
                                       shed.get(key), now)
        return {**_figures(work, shed.get(None), now), "in_flight": len(work),
                "max_batches": max_batches, "max_readings": max_readings, "sites": sites}

    def sample(self) -> tuple[int, float, dict[str, Any]]:
        """(queue depth, lag, counts) for the health row; counts carry the load under "load"."""
        load = self.load()
        return load["queue_depth"], load["lag_s"], {**self.metrics.counts, "load": load}

    def beat(self) -> None:
        """Write the health row if due (only once this process has taken HTTP ingest)."""
        if self.used:
            self.heartbeat.beat()


def _figures(work: list[_Batch], shed: _Shed | None, now: float) -> dict[str, Any]:
    oldest = min((b.oldest for b in work if not math.isnan(b.oldest)), default=math.nan)
    return {"queue_depth": sum(b.n for b in work),
            "lag_s": 0.0 if math.isnan(oldest) else round(max(0.0, now - oldest), 2),
            "shed": shed.batches if shed else 0, "shed_readings": shed.readings if shed else 0,
            "last_shed_at": shed.last_at if shed else None}


ADMISSION = Admission()
prom.gauge("qorgau_alarm_ingest_queue_readings",
           "Readings of HTTP ingest batches in progress").set_function(
    lambda: ADMISSION.load()["queue_depth"])
prom.gauge("qorgau_alarm_ingest_lag_seconds",
           "Now minus the oldest reading time of the HTTP ingest batches in progress").set_function(
    lambda: ADMISSION.load()["lag_s"])


class Beats:
    """The web process's health row while it serves: a thread writes it every BEAT_S once the
    process has taken HTTP ingest, so a web process that died shows as silent; stopped on a
    clean exit (app lifespan)."""

    def __init__(self, admission: Admission = ADMISSION) -> None:
        self.admission, self.stop_event = admission, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="alarm-http-health")

    def start(self) -> Beats:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop_event.wait(BEAT_S / 2):
            self.admission.beat()

    def close(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
        if self.admission.used:
            self.admission.heartbeat.stop()
