"""`db.insert_flushed`: the raise path's new occurrences and withdrawals go in as one Core
INSERT each and are attached to the session as if flushed. They must behave like flushed
objects: ids in order, defaults applied, later changes written, and gone from the session
when their transaction rolls back (kept, one whose id the database hands out again could not
be attached, as a batch retried in the same session would be)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from qorgau.alarms.ingest import effects
from qorgau.alarms.models import AlarmRecord
from qorgau.alarms.service import dt
from qorgau.core.db import insert_flushed


def _rec(mine, kind: str, **kw) -> AlarmRecord:
    return AlarmRecord(device_id=mine.devices["CH4-1"], site_id=mine.site_id, enterprise_id=1,
                       region_code="KZ-35", kind=kind, state="unacknowledged",
                       raised_at=dt(time.time()), **kw)


def test_objects_are_persistent_with_ids_defaults_and_tracked_changes(db, mine):
    hi, hihi = _rec(mine, "HI", detail={"v": [1]}), _rec(mine, "HIHI", priority=1)
    insert_flushed(db, [hi, hihi])
    assert hi.id < hihi.id and hi in db and hihi in db
    assert (hi.zone_code, hi.priority, hi.tier, hi.open) == ("", 3, 1, True)  # defaults
    assert hi.ingested_at is not None and hihi.priority == 1
    hi.peak, hihi.state = 2.5, "acknowledged"
    db.commit()
    db.expire_all()
    rows = {r.kind: r for r in db.scalars(select(AlarmRecord).where(
        AlarmRecord.id.in_([hi.id, hihi.id])))}
    assert (rows["HI"].peak, rows["HI"].detail, rows["HIHI"].state) == (
        2.5, {"v": [1]}, "acknowledged")


def test_a_rolled_back_insert_leaves_the_session(db, mine):
    lost = _rec(mine, "LO")
    insert_flushed(db, [lost])
    db.rollback()
    assert lost not in db and not db.info.get("qorgau.insert_flushed")
    again = _rec(mine, "LO")  # SQLite hands out the same id again
    insert_flushed(db, [again])
    db.commit()
    assert db.get(AlarmRecord, again.id) is again


def test_a_batch_retried_in_the_same_session_after_a_failure(db, mine, proc, monkeypatch):
    """What the HTTP endpoint does when the site's ledger went to another process mid-batch:
    roll back and handle the same message again in the same session."""
    start = effects.positioning.start_withdrawal
    calls = []

    def fail_once(*a, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the batch fails after its occurrences went in")
        return start(*a, **kw)

    monkeypatch.setattr(effects.positioning, "start_withdrawal", fail_once)
    doc = mine.batch([("CH4-1", 1.8, -5)])
    with pytest.raises(RuntimeError):
        proc.handle_raw(db, doc, source="test")
    db.rollback()
    res = proc.handle_raw(db, doc, source="test")
    assert res.alarms >= 1 and len(calls) == 2
    kinds = db.scalars(select(AlarmRecord.kind).where(
        AlarmRecord.device_id == mine.devices["CH4-1"]).order_by(AlarmRecord.id)).all()
    assert kinds.count("HIHI") == 1 and db.scalar(select(func.count()).select_from(
        AlarmRecord).where(AlarmRecord.device_id == mine.devices["CH4-1"])) == len(kinds)
