"""Background work of the running application: daily jobs and continuous loops.

Each domain that has background work declares it in its `jobs.py` (`JOBS = [...]`); `qorgau
serve` starts one scheduler thread per process that runs them (off under `QORGAU_ENV=test`
and with `QORGAU_BACKGROUND=0`, for deployments that run `qorgau jobs run` from cron instead).

Only one process runs a given job at a time, whatever the number of uvicorn workers or nodes:
each job holds a lease row (`job_lease`) that it takes with one conditional UPDATE and renews
while it works; a crashed holder's lease expires after `lease_s`. The row also keeps the last
outcome, so a daily job runs once per local day across restarts and its staleness is visible
(`qorgau jobs list`, `/metrics`)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.encoders import jsonable_encoder
from sqlalchemy import JSON, Date, Integer, String, Text, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from qorgau.core import metrics
from qorgau.core.db import DB_UNAVAILABLE, Base, UTCDateTime, get_sessionmaker, utcnow

log = logging.getLogger("qorgau.jobs")

# Kazakhstan has one time zone (UTC+5) since 2024-03-01; daily jobs run on its calendar day.
LOCAL_TZ = ZoneInfo("Asia/Almaty")


class JobLease(Base):
    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok_on: Mapped[date | None] = mapped_column(Date())
    last_error: Mapped[str | None] = mapped_column(Text())
    failures: Mapped[int] = mapped_column(Integer(), default=0)
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON())


@dataclass(frozen=True)
class Job:
    """`daily_at`: once per local day at or after that time. `every_s`: a loop step run again
    after `every_s` (at once when it reported work done, i.e. returned a truthy `busy`)."""

    name: str
    run: Callable[[], Any]
    daily_at: dtime | None = None
    every_s: float | None = None
    lease_s: float = 600.0

    def __post_init__(self) -> None:
        if (self.daily_at is None) == (self.every_s is None):
            raise ValueError(f"job {self.name}: give exactly one of daily_at, every_s")


def load_jobs(domains: list[str] | None = None) -> list[Job]:
    """Every domain's `JOBS`, in the order of `app.DOMAINS`."""
    if domains is None:
        from qorgau.app import DOMAINS

        domains = DOMAINS
    jobs: list[Job] = []
    for domain in domains:
        full = f"qorgau.{domain}.jobs"
        if importlib.util.find_spec(full) is not None:
            jobs.extend(getattr(importlib.import_module(full), "JOBS", []))
    return jobs


def _ensure_row(db: Session, name: str) -> None:
    if db.get(JobLease, name) is None:
        try:
            db.execute(insert(JobLease).values(name=name, failures=0))
            db.commit()
        except IntegrityError:
            db.rollback()  # another process created it first


def acquire(db: Session, name: str, holder: str, lease_s: float) -> bool:
    """Take or renew the lease; True when this holder has it. One statement, so atomic on
    SQLite (write lock) and PostgreSQL (row lock)."""
    _ensure_row(db, name)
    now = utcnow()
    res = db.execute(
        update(JobLease)
        .where(JobLease.name == name)
        .where(or_(JobLease.holder.is_(None), JobLease.holder == holder,
                   JobLease.lease_until < now))
        .values(holder=holder, lease_until=now + timedelta(seconds=lease_s))
    )
    db.commit()
    return res.rowcount == 1


def release(db: Session, name: str, holder: str) -> None:
    db.execute(update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
               .values(holder=None, lease_until=None))
    db.commit()


LAST_OK = metrics.gauge("qorgau_job_last_success_timestamp_seconds",
                        "When the job last succeeded (in the process that ran it)", ("job",))
FAILURES = metrics.gauge("qorgau_job_consecutive_failures", "Failures since the last success",
                         ("job",))


def _record(db: Session, name: str, *, ok: bool, result: Any = None, error: str = "") -> None:
    now = utcnow()
    if ok:
        LAST_OK.labels(name).set(now.timestamp())
        FAILURES.labels(name).set(0)
    else:
        FAILURES.labels(name).inc()
    values: dict[str, Any] = {"last_started_at": now}
    if ok:
        values |= {"last_ok_at": now, "last_ok_on": datetime.now(LOCAL_TZ).date(),
                   "last_error": None, "failures": 0,
                   "last_result": result if isinstance(result, dict) else None}
    else:
        values |= {"last_error": error[:4000], "failures": JobLease.failures + 1}
    db.execute(update(JobLease).where(JobLease.name == name).values(**values))
    db.commit()


def is_due(job: Job, row: JobLease | None, now_local: datetime) -> bool:
    """A daily job is due once its local time has come and it has not succeeded today; after a
    failure it is retried with a back-off (1, 2, 4 … up to 60 minutes)."""
    if job.daily_at is None:
        return True
    if now_local.time() < job.daily_at:
        return False
    if row is None:
        return True
    if row.last_ok_on is not None and row.last_ok_on >= now_local.date():
        return False
    if row.failures and row.last_started_at is not None:
        wait = timedelta(minutes=min(60, 2 ** (row.failures - 1)))
        return now_local >= row.last_started_at.astimezone(LOCAL_TZ) + wait
    return True


def run_job(db: Session, job: Job, holder: str) -> Any:
    """Run once under the lease; returns the job's result, or None when another holder has
    it. Failures are recorded, logged and re-raised."""
    if not acquire(db, job.name, holder, job.lease_s):
        return None
    keep = job.daily_at is None  # a loop keeps its lease between steps
    try:
        result = job.run()
        if job.daily_at is not None or result:
            _record(db, job.name, ok=True, result=jsonable_encoder(result))
        return result
    except Exception as exc:
        # the database went away under the step, not the job: a loop's holder keeps its lease
        # and finds it again after its back-off (released, it went to another process at
        # every outage that met a step); any other failure lets another holder try
        keep = keep and isinstance(exc, DB_UNAVAILABLE)
        db.rollback()
        _record(db, job.name, ok=False, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if not keep:
            release(db, job.name, holder)


@dataclass
class Scheduler:
    """One thread that walks the jobs; a loop job keeps its lease while it runs here."""

    jobs: list[Job]
    tick_s: float = 0.2
    holder: str = field(default_factory=lambda: f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
    stop: threading.Event = field(default_factory=threading.Event)
    _next: dict[str, float] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="qorgau-jobs", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with get_sessionmaker()() as db:
            for job in self.jobs:
                release(db, job.name, self.holder)

    def _main(self) -> None:
        log.info("scheduler %s started: %s", self.holder, [j.name for j in self.jobs])
        while not self.stop.is_set():
            self.step()
            self.stop.wait(self.tick_s)

    def step(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for job in self.jobs:
            if self.stop.is_set() or now < self._next.get(job.name, 0.0):
                continue
            self._next[job.name] = now + self._attempt(job)

    def _attempt(self, job: Job) -> float:
        """Run one job if due; returns seconds until it is looked at again."""
        try:
            with get_sessionmaker()() as db:
                if job.daily_at is not None:
                    if not is_due(job, db.get(JobLease, job.name), datetime.now(LOCAL_TZ)):
                        return 30.0
                    run_job(db, job, self.holder)
                    return 30.0
                result = run_job(db, job, self.holder)
                busy = isinstance(result, int) and not isinstance(result, bool) and result > 0
                return 0.0 if busy else float(job.every_s or 1.0)
        except Exception:
            log.exception("job %s failed", job.name)
            return 30.0 if job.daily_at is not None else max(5.0, float(job.every_s or 1.0))


_SCHEDULER: Scheduler | None = None


def background_enabled() -> bool:
    from qorgau.core.config import get_settings

    return get_settings().env != "test" and os.environ.get("QORGAU_BACKGROUND", "1") != "0"


def start_background() -> Scheduler | None:
    """Start this process's scheduler (idempotent); None when background work is off."""
    global _SCHEDULER
    if _SCHEDULER is None and background_enabled():
        _SCHEDULER = Scheduler(load_jobs())
        _SCHEDULER.start()
    return _SCHEDULER


def stop_background() -> None:
    global _SCHEDULER
    if _SCHEDULER is not None:
        _SCHEDULER.shutdown()
        _SCHEDULER = None


def status(db: Session, jobs: list[Job] | None = None) -> list[dict[str, Any]]:
    """Each job with its last outcome (for `qorgau jobs list` and /metrics)."""
    rows = {r.name: r for r in db.scalars(select(JobLease))}
    out = []
    for job in jobs if jobs is not None else load_jobs():
        r = rows.get(job.name)
        out.append({
            "name": job.name,
            "schedule": f"daily {job.daily_at:%H:%M}" if job.daily_at else f"every {job.every_s}s",
            "holder": r.holder if r else None,
            "last_ok_at": r.last_ok_at if r else None,
            "failures": r.failures if r else 0,
            "last_error": r.last_error if r else None,
        })
    return out
