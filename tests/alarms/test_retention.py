"""Retention of alarm telemetry: raw segment hour files, roll-ups and dead letters past their
settings are purged by the daily job (real files, real SQLite and PostgreSQL); an hour file an
ingest mark still points into stays, whatever its age, and the replay still finds it."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from qorgau.alarms import constants, retention
from qorgau.alarms.ingest import core
from qorgau.alarms.models import DeadLetter, Device, IngestMark, Rollup
from qorgau.alarms.store import SegmentStore
from qorgau.core import jobs
from qorgau.core.audit import AuditEntry
from qorgau.core.config import MIN_TELEMETRY_RETENTION_DAYS, Settings, get_settings

DAY = 86400.0


def _settings(raw: int = 90, rollup: int = 1095, dead: int = 30) -> Settings:
    return get_settings().model_copy(update={
        "alarm_raw_retention_days": raw, "alarm_rollup_retention_days": rollup,
        "alarm_dead_letter_retention_days": dead})


def _frame(store: SegmentStore, site_id: int, device_id: int, t: float) -> None:
    store.append(site_id, np.array([device_id]), np.array([int(t)]), np.array([t]),
                 np.array([0.2]))


def _rollups(db, device_id: int, minutes: list[datetime]) -> None:
    dev = db.get(Device, device_id)
    db.add_all(Rollup(device_id=device_id, minute=m, enterprise_id=dev.enterprise_id,
                      region_code=dev.region_code, n=1, vmin=0.1, vmax=0.1, vsum=0.1, vlast=0.1)
               for m in minutes)
    db.commit()


def _minutes(db, device_id: int) -> set[datetime]:
    db.expire_all()
    return set(db.scalars(select(Rollup.minute).where(Rollup.device_id == device_id)))


def _last_audit(db) -> AuditEntry:
    db.expire_all()
    return db.scalars(select(AuditEntry).where(AuditEntry.action == "alarms.retention.purge")
                      .order_by(AuditEntry.seq.desc()).limit(1)).one()


def test_old_hour_files_and_rollups_go_and_recent_ones_stay(db, mine, tmp_path, monkeypatch):
    monkeypatch.setattr(retention, "CHUNK", 7)  # many chunks, each bounded
    store = SegmentStore(tmp_path / "seg", fsync=False)
    now = time.time()
    ch4, co = mine.devices["CH4-1"], mine.devices["CO-1"]
    for days in (100, 95, 89, 0.05):
        _frame(store, mine.site_id, ch4, now - days * DAY)
    old = [store.path(mine.site_id, now - d * DAY) for d in (100, 95)]
    kept = [store.path(mine.site_id, now - d * DAY) for d in (89, 0.05)]
    start = datetime.fromtimestamp(now, UTC).replace(second=0, microsecond=0)
    ancient = [start - timedelta(days=1200, minutes=i) for i in range(20)]
    recent = [start - timedelta(days=1000), start - timedelta(minutes=1), start]
    _rollups(db, ch4, ancient + recent)
    _rollups(db, co, [start - timedelta(days=1100, minutes=i) for i in range(10)])

    done = retention.run(db, store=store, now=now, settings=_settings())

    assert [p.exists() for p in old] == [False, False]
    assert [p.exists() for p in kept] == [True, True]
    assert _minutes(db, ch4) == set(recent)
    assert _minutes(db, co) == set()
    assert done["segment_files"] >= 2 and done["segment_files_held"] == 0
    assert done["rollups"] >= 30
    assert store.read(mine.site_id, now - 90 * DAY, now + 1)["t"].tolist() == \
        [now - 89 * DAY, now - 0.05 * DAY]
    entry = _last_audit(db)
    assert entry.actor.startswith("system:") and entry.diff["after"] == done


def test_an_hour_file_an_ingest_mark_points_into_is_kept_whatever_its_age(db, mine, tmp_path):
    """A worker stored readings and died before writing their roll-ups; its site went quiet.
    A purge 100 days later keeps the hour files its mark points into (and deletes another old
    one of the site); the next worker's replay then counts every reading; once written, the
    files go."""
    store = SegmentStore(tmp_path / "seg", fsync=False)
    t = time.time()
    p1 = core.Processor(store, flush_s=60, owner="worker")
    p1.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CH4-1", "s": s, "t": t - 10 + s, "v": 0.1 * s} for s in range(5)]},
        source="test", now=t)
    db.expire_all()
    tail = db.get(IngestMark, mine.site_id).tail
    assert tail
    marked = [store.path(mine.site_id, int(h) * 3600.0) for h in tail]
    other = store.path(mine.site_id, t - 20 * DAY)
    _frame(store, mine.site_id, mine.devices["CO-1"], t - 20 * DAY)
    later = t + 100 * DAY

    done = retention.run(db, store=store, now=later, settings=_settings(rollup=0, dead=0))

    assert all(p.exists() for p in marked) and not other.exists()
    assert done["segment_files_held"] == len(marked) and done["segment_files"] >= 1
    assert _last_audit(db).diff["after"]["segment_files_held"] == len(marked)

    p2 = core.Processor(store, flush_s=60, owner="worker")  # the restarted worker
    p2.handle_raw(db, {"site_id": mine.site_id, "readings": [
        {"d": "CH4-1", "s": 5, "t": t - 4, "v": 0.5}]}, source="test", now=t)
    p2.flush(db, p2.runtime(db, mine.site_id), time.time(), every=True)
    db.commit()
    db.expire_all()
    assert db.get(Device, mine.devices["CH4-1"]).n_accepted == 6  # five replayed, one new
    assert db.get(IngestMark, mine.site_id).tail == {}

    again = retention.run(db, store=store, now=later, settings=_settings(rollup=0, dead=0))
    assert not any(p.exists() for p in marked) and again["segment_files_held"] == 0


def test_retention_zero_keeps_everything(db, mine, tmp_path):
    store = SegmentStore(tmp_path / "seg", fsync=False)
    now = time.time()
    ch4 = mine.devices["CH4-1"]
    _frame(store, mine.site_id, ch4, now - 5000 * DAY)
    ancient = datetime.fromtimestamp(now, UTC).replace(second=0, microsecond=0) \
        - timedelta(days=5000)
    _rollups(db, ch4, [ancient])
    db.add(DeadLetter(site_id=mine.site_id, source="test", reason="too_old",
                      received_at=ancient))
    db.commit()
    letter = db.scalars(select(DeadLetter.id).order_by(DeadLetter.id.desc()).limit(1)).one()

    done = retention.run(db, store=store, now=now, settings=_settings(0, 0, 0))

    assert store.path(mine.site_id, now - 5000 * DAY).exists()
    assert _minutes(db, ch4) == {ancient}
    assert db.get(DeadLetter, letter) is not None
    assert done == {"raw_days": 0, "rollup_days": 0, "dead_letter_days": 0}
    assert store.purge(keep_days=0, now=now) == (0, [])


def test_old_dead_letters_are_purged_and_recent_ones_kept(db, mine, tmp_path, monkeypatch):
    monkeypatch.setattr(retention, "CHUNK", 5)
    now = time.time()
    at = datetime.fromtimestamp(now, UTC)
    letters = [DeadLetter(site_id=mine.site_id, source="test", reason="unknown_device",
                          detail=str(i), received_at=at - timedelta(days=31, minutes=i))
               for i in range(12)]
    fresh = DeadLetter(site_id=mine.site_id, source="test", reason="unknown_device",
                       received_at=at - timedelta(days=29))
    db.add_all([*letters, fresh])
    db.commit()
    ids = [d.id for d in letters]

    done = retention.run(db, store=SegmentStore(tmp_path / "seg"), now=now,
                         settings=_settings(raw=0, rollup=0, dead=30))

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(DeadLetter)
                     .where(DeadLetter.id.in_(ids))) == 0
    assert db.get(DeadLetter, fresh.id) is not None
    assert done["dead_letters"] >= 12


def test_kept_unprocessable_messages_go_with_raw_readings_and_dead_letters(
        db, mine, tmp_path, monkeypatch):
    """A message dead-lettered as "unprocessable" is kept whole in a file beside the
    segments; the files were never purged and grew without bound. Its readings are in no
    segment file, so it goes when both raw readings and its dead letter would have: at the
    longer of the two ages, by the time in the name, or the file's own time for another
    name; never while either is kept forever."""
    from qorgau.alarms.ingest.unprocessable import keep_unprocessable

    store = SegmentStore(tmp_path / "seg")
    proc = core.Processor(store)
    now = time.time()
    monkeypatch.setattr(time, "gmtime", lambda *_: time.struct_time(
        datetime.fromtimestamp(now - 41 * DAY, UTC).timetuple()))
    old = keep_unprocessable(proc, {"readings": []}, source="mqtt", site_id=mine.site_id,
                             err=TypeError("x"))
    monkeypatch.undo()
    fresh = keep_unprocessable(proc, {"readings": []}, source="mqtt", site_id=mine.site_id,
                               err=TypeError("y"))
    odd = store.unprocessable_dir / "copied-by-hand.json"
    odd.write_text("{}")
    os.utime(odd, (now - 42 * DAY, now - 42 * DAY))

    for raw, dead in ((0, 30), (30, 0), (45, 30), (30, 45)):  # forever, or 45 > 42 > 41 days
        done = retention.run(db, store=store, now=now,
                             settings=_settings(raw=raw, rollup=0, dead=dead))
        assert done.get("unprocessable_files", 0) == 0, (raw, dead)
        assert (tmp_path / old).exists() and odd.exists()

    done = retention.run(db, store=store, now=now, settings=_settings(raw=40, rollup=0, dead=30))

    assert done["unprocessable_files"] == 2
    assert not (tmp_path / old).exists() and not odd.exists()
    assert (tmp_path / fresh).exists()


def test_the_daily_job_purges_through_the_scheduler_path(db, mine):
    """Registered with the other domains' jobs and run by `run_job` under its lease (what the
    scheduler and `qorgau jobs run` do), with the settings as configured."""
    job = {j.name: j for j in jobs.load_jobs()}["alarms.retention"]
    assert job.daily_at == dtime(3, 30)
    assert jobs.is_due(job, None, datetime(2026, 11, 27, 3, 30, tzinfo=jobs.LOCAL_TZ))
    cfg = get_settings()
    assert (cfg.alarm_raw_retention_days, cfg.alarm_rollup_retention_days,
            cfg.alarm_dead_letter_retention_days) == (90, 1095, 30)
    store = SegmentStore(fsync=False)  # where the processor writes
    now = time.time()
    _frame(store, mine.site_id, mine.devices["CH4-1"], now - 91 * DAY)
    _frame(store, mine.site_id, mine.devices["CH4-1"], now - 60)
    old, recent = store.path(mine.site_id, now - 91 * DAY), store.path(mine.site_id, now - 60)

    result = jobs.run_job(db, job, f"test-{time.monotonic_ns()}")

    assert not old.exists() and recent.exists()
    assert result["segment_files"] >= 1 and {"rollups", "dead_letters"} <= set(result)
    db.expire_all()
    lease = db.get(jobs.JobLease, "alarms.retention")
    assert lease.failures == 0 and lease.last_result == result and lease.holder is None


def test_retention_settings_are_checked_at_start(monkeypatch):
    with pytest.raises(ValidationError, match="alarm_raw_retention_days"):
        Settings(alarm_raw_retention_days=-1)
    with pytest.raises(ValidationError, match="alarm_dead_letter_retention_days"):
        Settings(alarm_dead_letter_retention_days=-5)
    with pytest.raises(ValidationError, match="at least 8 days"):
        Settings(alarm_rollup_retention_days=3)
    monkeypatch.setenv("QORGAU_ALARM_RAW_RETENTION_DAYS", "")
    monkeypatch.setenv("QORGAU_ALARM_DEAD_LETTER_RETENTION_DAYS", "2")
    cfg = Settings()
    assert (cfg.alarm_raw_retention_days, cfg.alarm_dead_letter_retention_days) == (0, 2)
    # a shorter retention would purge hours and minutes still written to by late readings
    assert MIN_TELEMETRY_RETENTION_DAYS * DAY > constants.MAX_PAST_S
