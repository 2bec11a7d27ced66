"""Work shifts: exposure doses (TWA) and STEL excursion counts restart at each of a site's
shift starts (local time, UTC+5), once per boundary, also when the worker was down across
it; the schedule is edited on the routing page (validated, audited) and in the API.

The site's engine runtime is built at a chosen time (`runtime.build` and `resume`, what
`Processor` does with the clock) so the scenario sits at a fixed shift boundary in the past,
whatever the time of day the suite runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from qorgau.alarms import routing, service, shifts, worker
from qorgau.alarms.engine import AlarmEngine, SensorTable
from qorgau.alarms.ingest import core, runtime
from qorgau.alarms.models import AlarmRecord
from qorgau.alarms.schemas import DevicePatch, Limits, ShiftsIn
from qorgau.alarms.store import SegmentStore
from qorgau.core.audit import AuditEntry

from .test_pages import _login

SHIFTS = ["08:00", "20:00"]


def test_latest_shift_start_is_local_time_utc_plus_5():
    at = datetime(2026, 3, 10, 3, 0, 5, tzinfo=UTC).timestamp()  # 08:00:05 in Kazakhstan
    assert shifts.latest_start(SHIFTS, at) == datetime(2026, 3, 10, 3, 0, tzinfo=UTC).timestamp()
    assert shifts.latest_start(SHIFTS, at - 6) == datetime(  # 07:59:59: last night's 20:00
        2026, 3, 9, 15, 0, tzinfo=UTC).timestamp()
    assert shifts.latest_start(["00:00"], at) == datetime(
        2026, 3, 9, 19, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("fast", [True, False])
def test_reset_counts_only_exposure_after_the_boundary(fast):
    """A value held across the boundary counts to the new shift only from the boundary on."""
    eng = AlarmEngine(SensorTable.create(1, twa_limit=1.0), fast=fast)
    eng.process(np.zeros(3, np.uint32), np.array([0.0, 60.0, 120.0]), np.full(3, 10.0))
    assert eng.state.exposure.dose[0] == pytest.approx(1200.0)
    eng.reset_shift(150.0)
    eng.process(np.zeros(2, np.uint32), np.array([180.0, 240.0]), np.array([4.0, 4.0]))
    assert eng.state.exposure.dose[0] == pytest.approx(10.0 * 30 + 4.0 * 60)


@pytest.mark.parametrize(("starts", "message"), [
    (["08:00", "25:00"], "not a time of day"), ([], "at least one"),
    (["08:00", "8:00"], "twice"), (["08:00", "10:00"], "4 h apart"),
])
def test_schedule_validation_names_the_field(starts, message):
    with pytest.raises(ValidationError) as exc:
        ShiftsIn(shift_starts=starts, reason="new roster")
    err = exc.value.errors()[0]
    assert err["loc"] == ("shift_starts",) and message in err["msg"]
    assert ShiftsIn(shift_starts=["20:00", "8:00"], reason="new roster").shift_starts == SHIFTS


def _boundary() -> float:
    """A site-local 08:00 between one and two days ago."""
    return shifts.latest_start(["08:00"], time.time() - 86400)


def _site_with_twa(db, as_, mine, proc, b: float) -> tuple[runtime.SiteRuntime, int]:
    """Shifts at 08:00 and 20:00; CO at 10 ppm against a 1 ppm TWA limit for the hour before
    the 08:00 boundary `b` (dose 36,000 ppm·s > 28,800): the TWA is raised before 08:00."""
    osh = as_("osh_krg")
    shifts.set_settings(db=db, actor=osh, site_id=mine.site_id,
                        data=ShiftsIn(shift_starts=SHIFTS, reason="two 12-h shifts"))
    service.update_device(db=db, actor=osh, device_id=mine.devices["CO-1"], data=DevicePatch(
        limits=Limits(high=20.0, highhigh=50.0, twa_limit=1.0), reason="H2S-like TWA"))
    rt = runtime.build(db, mine.site_id, b - 7200, proc.flush_s)  # the process started 06:00
    runtime.resume(db, rt, proc.store, proc.owner, b - 7200)  # and ingests the site
    proc.sites[mine.site_id] = rt
    _co(db, proc, mine, [(b - 3600 + 60 * k, 10.0) for k in range(60)])  # to b − 60
    return proc.sites[mine.site_id], proc.sites[mine.site_id].index["CO-1"]


def _co(db, proc, mine, rows: list[tuple[float, float]]) -> None:
    proc.handle_raw(db, mine.timed("CO-1", rows), source="test", now=rows[-1][0] + 1)


def _twa(db, mine) -> AlarmRecord:
    db.expire_all()
    return db.scalar(select(AlarmRecord).where(AlarmRecord.device_id == mine.devices["CO-1"],
                                               AlarmRecord.kind == "TWA"))


def test_doses_restart_at_the_shift_start_and_an_active_twa_clears(db, as_, mine, proc):
    b = _boundary()
    rt, i = _site_with_twa(db, as_, mine, proc, b)
    ex = rt.engine.state.exposure
    assert _twa(db, mine).active and ex.dose[i] > 28800.0
    worker.tick(db, proc, now=b - 10)  # 07:59:50: no reset yet
    assert _twa(db, mine).active and ex.dose[i] > 28800.0
    worker.tick(db, proc, now=b + 1)  # the tick past 08:00
    rec = _twa(db, mine)
    assert not rec.active and rec.cleared_at == datetime.fromtimestamp(b, UTC)
    assert ex.shift_start[i] == b and ex.twa_active[i] == 0.0
    # the 07:59 reading's 10 ppm, held until the next reading, counts from 08:00 only
    _co(db, proc, mine, [(b + 30, 0.5), (b + 90, 0.5)])
    assert ex.dose[i] == pytest.approx(10.0 * 30 + 0.5 * 60)
    worker.tick(db, proc, now=b + 120)  # once per boundary: no second reset
    assert ex.dose[i] == pytest.approx(330.0) and ex.shift_start[i] == b


def test_a_worker_restarted_across_a_shift_start_still_resets(db, as_, mine, proc, tmp_path):
    b = _boundary()
    _site_with_twa(db, as_, mine, proc, b)
    raised = _twa(db, mine)
    assert raised.active
    proc.close(db)  # the worker stops before 08:00 and starts again at 08:02
    again = core.Processor(SegmentStore(tmp_path / "seg", fsync=False))
    rt = again.sites[mine.site_id] = runtime.build(db, mine.site_id, b + 120, again.flush_s)
    i = rt.index["CO-1"]
    assert rt.engine.state.exposure.twa_active[i] == 1.0  # put back from the database
    assert rt.engine.state.exposure.shift_start[i] == raised.raised_at.timestamp() < b
    worker.tick(db, again, now=b + 121)
    rec = _twa(db, mine)
    assert not rec.active and rec.cleared_at == datetime.fromtimestamp(b, UTC)
    assert rt.engine.state.exposure.shift_start[i] == b


def test_a_restart_within_the_shift_keeps_its_twa(db, as_, mine, proc, tmp_path):
    b = _boundary()
    _site_with_twa(db, as_, mine, proc, b)
    again = core.Processor(SegmentStore(tmp_path / "seg", fsync=False))
    again.sites[mine.site_id] = runtime.build(db, mine.site_id, b - 30, again.flush_s)
    worker.tick(db, again, now=b - 20)
    assert _twa(db, mine).active  # the shift of its raise is not over
    worker.tick(db, again, now=b + 5)
    assert not _twa(db, mine).active


def test_schedule_page_rejects_a_bad_time_and_audits_an_edit(client, db, world, mine):
    csrf = _login(client, world, "osh_krg")
    base = f"/alarms/sites/{mine.site_id}"
    page = client.get(f"{base}/routing").text
    assert "00:00, 08:00, 16:00" in page  # the product default until edited
    bad = client.post(f"{base}/shifts", data={"shift_starts": "08:00, 25:00",
                                              "reason": "new roster", "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="e-shift_starts"' in bad.text
    assert 'value="08:00, 25:00"' in bad.text
    r = client.post(f"{base}/shifts", data={"shift_starts": "20:00; 8:00",
                                            "reason": "two 12-h shifts", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert routing.shift_schedules(db)[mine.site_id] == tuple(SHIFTS)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.shifts.set")
                      .order_by(AuditEntry.seq.desc()))
    assert entry.diff["before"] == {"shift_starts": ["00:00", "08:00", "16:00"],
                                    "console_operators": 1, "revision": 0,
                                    "site_id": mine.site_id}  # the defaults
    assert entry.diff["after"]["shift_starts"] == SHIFTS
    assert entry.diff["after"]["console_operators"] == 1  # a form without it keeps it
    assert entry.diff["after"]["reason"] == "two 12-h shifts"
    assert entry.diff["after"]["site_id"] == mine.site_id
    page = client.get(f"{base}/routing").text
    assert "Время начала смен: 00:00, 08:00, 16:00 → 08:00, 20:00" in page
    assert "two 12-h shifts" in page
    csrf = _login(client, world, "inspector_krg")
    r = client.post(f"{base}/shifts", data={"shift_starts": "06:00", "reason": "abc",
                                            "csrf_token": csrf})
    assert r.status_code == 403


def test_schedule_api(client_as, db, mine):
    osh, url = client_as("osh_krg"), f"/api/v1/alarms/sites/{mine.site_id}/shifts"
    assert osh.get(url).json() == {"shift_starts": ["00:00", "08:00", "16:00"],
                                   "console_operators": 1, "revision": 0}
    bad = osh.put(url, json={"shift_starts": ["25:00"], "reason": "night"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "shift_starts"
    r = osh.put(url, json={"shift_starts": ["20:00", "08:00"], "reason": "night"})
    assert r.status_code == 200 and r.json() == {"shift_starts": SHIFTS, "console_operators": 1,
                                                 "revision": 1}
    assert client_as("osh_ala").get(url).status_code == 404
    assert client_as("inspector_krg").put(url, json={"shift_starts": ["06:00"],
                                                      "reason": "x" * 5}).status_code == 403
