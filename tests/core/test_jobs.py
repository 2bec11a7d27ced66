"""Background jobs: one holder per job across processes (the lease), daily jobs once per local
day and retried with back-off, and the serving process starting and stopping its scheduler."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from datetime import time as dtime

import pytest
from fastapi.testclient import TestClient

from qorgau.core import jobs
from qorgau.core.jobs import LOCAL_TZ, Job, JobLease


def _name() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


def test_every_domain_job_is_well_formed() -> None:
    found = jobs.load_jobs()
    names = [j.name for j in found]
    assert len(names) == len(set(names))
    assert {"alarms.tick", "integration.deliver", "insurance.coverage_gaps",
            "inspections.daily", "risk.daily", "concealment.nightly"} <= set(names)
    with pytest.raises(ValueError, match="exactly one"):
        Job("bad", run=lambda: None)


def test_lease_has_one_holder_until_it_expires(db) -> None:
    name = _name()
    assert jobs.acquire(db, name, "a", lease_s=60)
    assert not jobs.acquire(db, name, "b", lease_s=60)
    assert jobs.acquire(db, name, "a", lease_s=60)  # renewal by the holder
    jobs.release(db, name, "a")
    assert jobs.acquire(db, name, "b", lease_s=-1)  # b holds an already expired lease …
    assert jobs.acquire(db, name, "a", lease_s=60)  # … so a crashed holder frees the job


def test_daily_job_due_once_per_local_day_with_backoff() -> None:
    job = Job("d", run=lambda: None, daily_at=dtime(2, 0))
    day = datetime(2026, 11, 26, 1, 59, tzinfo=LOCAL_TZ)
    assert not jobs.is_due(job, None, day)
    at = day.replace(hour=2, minute=0)
    assert jobs.is_due(job, None, at)
    done = JobLease(name="d", last_ok_on=at.date(), failures=0)
    assert not jobs.is_due(job, done, at.replace(hour=23))
    assert jobs.is_due(job, done, at + timedelta(days=1))
    failed = JobLease(name="d", failures=3, last_started_at=at)  # wait 4 minutes
    assert not jobs.is_due(job, failed, at + timedelta(minutes=3))
    assert jobs.is_due(job, failed, at + timedelta(minutes=4))


def test_failure_is_recorded_and_success_clears_it(db) -> None:
    name, calls = _name(), []

    def flaky() -> dict:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return {"rows": 3}

    job = Job(name, run=flaky, daily_at=dtime(0, 0))
    with pytest.raises(RuntimeError):
        jobs.run_job(db, job, "h")
    db.expire_all()
    row = db.get(JobLease, name)
    assert row.failures == 1 and "database away" in row.last_error and row.holder is None
    assert jobs.run_job(db, job, "h") == {"rows": 3}
    db.expire_all()
    row = db.get(JobLease, name)
    assert row.failures == 0 and row.last_error is None and row.last_result == {"rows": 3}
    assert row.last_ok_on == datetime.now(LOCAL_TZ).date()
    assert [s["name"] for s in jobs.status(db, [job])] == [name]


def test_a_loop_keeps_its_lease_when_the_database_goes_away_under_a_step(db) -> None:
    """A PostgreSQL restart under a loop's step had released its lease, and the other
    process's scheduler took it (tests/reliability/test_pg_restart.py, now and then); a job's
    own failure still lets another holder try."""
    from sqlalchemy.exc import OperationalError

    for error, holder in ((OperationalError("SELECT 1", {}, Exception("server closed")), "h"),
                          (ValueError("a bug"), None)):
        name = _name()

        def fails(error: Exception = error) -> int:
            raise error

        with pytest.raises(type(error)):
            jobs.run_job(db, Job(name, run=fails, every_s=1.0), "h")
        db.expire_all()
        assert db.get(JobLease, name).holder == holder, error


def test_two_schedulers_never_run_a_loop_job_twice(db) -> None:
    name, ran = _name(), []
    job = Job(name, run=lambda: ran.append(1), every_s=1.0, lease_s=60)
    first, second = jobs.Scheduler([job]), jobs.Scheduler([job])
    for t in range(5):
        first.step(now=float(t * 2))
        second.step(now=float(t * 2))
    assert len(ran) == 5  # only the lease holder ran it
    first.shutdown()
    second.step(now=100.0)
    assert len(ran) == 6  # released on shutdown: the other process takes over


def test_serving_process_starts_and_stops_its_scheduler(db_url, monkeypatch) -> None:
    from qorgau.app import create_app

    name, ran = _name(), []
    monkeypatch.setattr(jobs, "background_enabled", lambda: True)
    monkeypatch.setattr(jobs, "load_jobs", lambda: [Job(name, run=lambda: ran.append(1),
                                                        every_s=0.05, lease_s=30)])
    with TestClient(create_app()):
        assert jobs._SCHEDULER is not None
        deadline = datetime.now() + timedelta(seconds=10)
        while not ran and datetime.now() < deadline:
            jobs._SCHEDULER.stop.wait(0.05)
    assert ran and jobs._SCHEDULER is None
