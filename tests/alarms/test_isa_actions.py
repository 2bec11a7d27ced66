"""ISA-18.2 operator actions through the API on SQLite and PostgreSQL: reset of a latched
alarm, unshelve before expiry, suppression by design, a device's alarms out of service and
back; each transition with its actor, time and reason, each audited, scoped and validated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qorgau.alarms import kpis
from qorgau.alarms.models import AlarmEvent, Device, Notification, Withdrawal
from qorgau.core.audit import AuditEntry

API = "/api/v1/alarms"


def _last_event(db, rec):
    return db.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == rec.id)
                      .order_by(AlarmEvent.id)).all()[-1]


def _fan(db, mine, stopped):
    """The fan's LOLO through the occurrence path the ingest uses (non-life-safety)."""
    import time

    from qorgau.alarms import records

    db.expire_all()  # the API's actions committed in their own sessions
    change = records.on_condition(db, db.get(Device, mine.devices["FAN-1"]), "LOLO", stopped,
                                  time.time(), 0.0 if stopped else 1.0)
    db.commit()
    return change


def _audited(db, action, object_id):
    return db.scalar(select(AuditEntry).where(AuditEntry.action == action,
                                              AuditEntry.object_id == str(object_id)))


def _notified(db, rec):
    return db.scalars(select(Notification).where(Notification.alarm_id == rec.id)).all()


def test_latched_alarm_stays_after_clear_until_reset(db, mine, proc, client_as):
    c = client_as("osh_krg")
    dev_id = mine.devices["CO-1"]
    bad = c.patch(f"{API}/devices/{dev_id}", json={"latching": "yes", "reason": "latch"})
    assert bad.status_code == 422 and "latching" in bad.json()["detail"][0]["loc"]
    r = c.patch(f"{API}/devices/{dev_id}", json={"latching": True, "reason": "latch HIHI"})
    assert r.status_code == 200 and r.json()["latching"] is True
    audit = _audited(db, "alarms.device.revise", dev_id)
    assert audit is not None and audit.diff["after"]["latching"] is True
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -3), ("CO-1", 1.0, -1)]), source="test")
    hihi, hi = mine.latest(db, "CO-1", "HIHI"), mine.latest(db, "CO-1", "HI")
    assert hihi.latching and not hihi.active and hihi.state == "latched" and hihi.open
    assert hi.state == "rtn_unack"  # a warning returns by itself
    # nobody acknowledged it before it latched: it keeps going up the tiers until reset
    from datetime import timedelta

    from qorgau.alarms import records
    from qorgau.core.db import utcnow

    up = records.escalations(db, utcnow() + timedelta(hours=1))
    db.commit()
    assert hihi.id in [n.alarm_id for n in up] and mine.latest(db, "CO-1", "HIHI").tier == 2
    r = c.post(f"{API}/{hihi.id}/reset", json={})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    r = c.post(f"{API}/{hihi.id}/reset", json={"reason": "zone checked, CO gone"})
    assert r.status_code == 200 and r.json()["state"] == "normal" and not r.json()["open"]
    ev = _last_event(db, hihi)
    assert (ev.frm, ev.to, ev.trigger, ev.reason) == ("latched", "normal", "reset",
                                                      "zone checked, CO gone")
    assert ev.actor and ev.at is not None
    assert _audited(db, "alarms.alarm.reset", hihi.id) is not None
    # a reset of an alarm that is not latched is refused, not a 500
    assert c.post(f"{API}/{hihi.id}/reset", json={"reason": "again"}).status_code == 409


def test_out_of_service_silences_device_and_shows_in_list(db, as_, world, mine, proc, client,
                                                          client_as):
    c = client_as("osh_krg")
    dev_id = mine.devices["CO-1"]
    assert client_as("inspector_krg").post(f"{API}/devices/{dev_id}/out-of-service",
                                           json={"reason": "calibration"}).status_code == 403
    r = c.post(f"{API}/devices/{dev_id}/out-of-service", json={"reason": "calibration"})
    assert r.status_code == 200 and r.json()["oos_reason"] == "calibration"
    assert r.json()["oos_since"] is not None
    assert c.post(f"{API}/devices/{dev_id}/out-of-service",
                  json={"reason": "calibration"}).status_code == 409
    out = _audited(db, "alarms.device.out_of_service", dev_id)  # the state it left, too
    assert out.diff["before"] == {"oos_since": None, "oos_by": "", "oos_reason": ""}
    assert out.diff["after"]["oos_reason"] == out.diff["after"]["reason"] == "calibration"
    assert out.diff["after"]["oos_since"] is not None
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5), ("CO-1", 90.0, -2),
                                    ("CH4-1", 3.0, -2)]), source="test")
    co = mine.latest(db, "CO-1", "HIHI")
    assert co.life_safety and co.active and co.state == "out_of_service"
    assert _notified(db, co) == []  # not even the console's in-app row
    assert db.scalar(select(Withdrawal).where(Withdrawal.alarm_id == co.id)) is None
    ev = db.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == co.id)).all()
    assert [(e.frm, e.to, e.trigger) for e in ev] == [
        ("normal", "out_of_service", "remove_from_service")]
    assert "calibration" in ev[0].reason and ev[0].actor == as_("osh_krg").label
    ch4 = mine.latest(db, "CH4-1", "HIHI")  # the device next to it still alarms
    assert ch4.state == "unacknowledged" and _notified(db, ch4)
    listed = c.get(API, params={"site_id": mine.site_id, "open_only": True}).json()
    assert {"id": co.id, "state": "out_of_service"}.items() <= next(
        a for a in listed if a["id"] == co.id).items()
    _login(client, world, "osh_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}/live")
    assert page.status_code == 200 and 'id="out-of-service"' in page.text
    assert "CO-1" in page.text and "calibration" in page.text
    k = kpis.compute(db=db, actor=as_("inspector_krg"), site_id=mine.site_id, hours=1)
    assert k["out_of_service"] == 1 and k["standing"] >= 1  # CH4 stands, CO not counted
    r = c.post(f"{API}/devices/{dev_id}/return-to-service", json={"reason": "calibrated"})
    assert r.status_code == 200 and r.json()["oos_since"] is None
    co = mine.latest(db, "CO-1", "HIHI")
    assert co.state == "unacknowledged" and co.next_escalation_at is not None
    ev = _last_event(db, co)
    assert (ev.trigger, ev.reason, ev.to) == ("return_to_service", "calibrated",
                                              "unacknowledged")
    assert db.get(Device, dev_id).oos_since is None
    back = _audited(db, "alarms.device.return_to_service", dev_id)
    assert back.diff["before"]["oos_reason"] == "calibration"
    assert back.diff["before"]["oos_since"] == out.diff["after"]["oos_since"]
    assert back.diff["after"]["oos_since"] is None and co.id in back.diff["after"]["alarms"]
    assert kpis.compute(db=db, actor=as_("inspector_krg"), site_id=mine.site_id,
                        hours=1)["out_of_service"] == 0


def test_unshelve_before_expiry_and_suppress_by_design(db, as_, mine, proc, client_as):
    c = client_as("osh_krg")
    fan = _fan(db, mine, True).rec
    assert fan is not None and not fan.life_safety and fan.active
    assert c.post(f"{API}/{fan.id}/ack", json={}).status_code == 200
    r = c.post(f"{API}/{fan.id}/shelve", json={"reason": "fan repair", "minutes": 60})
    assert r.status_code == 200 and r.json()["shelved_until"] is not None
    r = c.post(f"{API}/{fan.id}/unshelve", json={"reason": "repair done early"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "unacknowledged" and body["shelved_until"] is None
    ev = _last_event(db, fan)
    assert (ev.frm, ev.trigger, ev.reason) == ("shelved", "unshelve", "repair done early")
    assert ev.actor == as_("osh_krg").label
    assert _audited(db, "alarms.alarm.unshelve", fan.id) is not None
    # suppressed by design: a configure-right decision; readers may not
    assert client_as("inspector_krg").post(f"{API}/{fan.id}/suppress",
                                           json={"reason": "section idle"}).status_code == 403
    r = c.post(f"{API}/{fan.id}/suppress", json={"reason": "section not worked"})
    assert r.status_code == 200 and r.json()["state"] == "suppressed"
    assert _last_event(db, fan).reason == "section not worked"
    assert _fan(db, mine, False).what == "clear"
    again = _fan(db, mine, True)  # taken silently: the ingest makes no notice of an "update"
    assert again.rec.id == fan.id and again.what == "update"
    assert mine.latest(db, "FAN-1", "LOLO").state == "suppressed"
    r = c.post(f"{API}/{fan.id}/unsuppress", json={"reason": "section worked again"})
    assert r.status_code == 200 and r.json()["state"] == "unacknowledged"
    assert _audited(db, "alarms.alarm.unsuppress", fan.id) is not None
    # life-safety alarms are never suppressed
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, 0)]), source="test")
    co = mine.latest(db, "CO-1", "HIHI")
    r = c.post(f"{API}/{co.id}/suppress", json={"reason": "nuisance"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"


@pytest.mark.parametrize("path", ["unshelve", "reset", "suppress", "unsuppress"])
def test_alarm_actions_scoped_and_validated(db, mine, proc, client_as, path):
    fan = _fan(db, mine, True).rec
    other = client_as("osh_ala")  # another enterprise and region: the alarm does not exist
    r = other.post(f"{API}/{fan.id}/{path}", json={"reason": "not mine"})
    assert r.status_code == 404
    r = client_as("osh_krg").post(f"{API}/{fan.id}/{path}", json={"reason": "  "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    r = client_as("osh_krg").post(f"{API}/{fan.id}/{path}", json={})
    assert r.status_code == 422 and "reason" in r.json()["detail"][0]["loc"]


@pytest.mark.parametrize("path", ["out-of-service", "return-to-service"])
def test_device_service_scoped_and_validated(db, mine, client_as, path):
    dev_id = mine.devices["CH4-1"]
    r = client_as("osh_ala").post(f"{API}/devices/{dev_id}/{path}", json={"reason": "x" * 5})
    assert r.status_code == 404
    r = client_as("osh_krg").post(f"{API}/devices/{dev_id}/{path}", json={})
    assert r.status_code == 422 and "reason" in r.json()["detail"][0]["loc"]
    assert db.get(Device, dev_id).oos_since is None


def test_console_buttons_post_the_actions(db, world, mine, proc, client):
    c = client
    csrf = _login(client, world, "osh_krg")
    fan = _fan(db, mine, True).rec
    page = c.get(f"/alarms/sites/{mine.site_id}/live").text
    assert 'value="suppress"' in page and f'/alarms/devices/{fan.device_id}/service' in page
    r = c.post(f"/alarms/{fan.id}/action", data={"action": "suppress", "reason": "idle",
                                                 "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    assert mine.latest(db, "FAN-1", "LOLO").state == "suppressed"
    page = c.get(f"/alarms/sites/{mine.site_id}/live").text
    assert 'value="unsuppress"' in page
    r = c.post(f"/alarms/devices/{fan.device_id}/service",
               data={"action": "out", "reason": "", "csrf_token": csrf},
               follow_redirects=False)
    assert r.status_code == 303 and "reason" in r.headers["location"]
    assert db.get(Device, fan.device_id).oos_since is None


def _login(client, world, key) -> str:
    from qorgau.accounts.models import User
    from qorgau.accounts.service import open_session
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    with get_sessionmaker()() as db:
        token, row = open_session(db, user=db.get(User, world.users[key]), kind="cookie")
    client.cookies.set(SESSION_COOKIE, token)
    return row.csrf


def test_a_shelve_needs_a_reason_not_blanks(db, mine, proc, client_as):
    """ISA-18.2 shelving is reasoned: "   " passed the length check and shelved the alarm
    with a blank reason in its record and audit."""
    c = client_as("osh_krg")
    fan = _fan(db, mine, True).rec
    r = c.post(f"{API}/{fan.id}/shelve", json={"reason": "   ", "minutes": 30})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    assert mine.latest(db, "FAN-1", "LOLO").state == "unacknowledged"
    r = c.post(f"{API}/{fan.id}/shelve", json={"reason": "  fan repair ", "minutes": 30})
    assert r.status_code == 200 and _last_event(db, fan).reason == "fan repair"


def test_a_latched_alarm_is_reset_not_shelved_away(db, mine, proc, client_as):
    """Shelved or suppressed while latched, it came back "normal" and closed: the latch was
    let go without the reset (and its reason) that ISA-18.2 requires of an operator."""
    c = client_as("osh_krg")
    r = c.patch(f"{API}/devices/{mine.devices['FAN-1']}",
                json={"latching": True, "reason": "latch the fan's stop"})
    assert r.status_code == 200
    _fan(db, mine, True)
    _fan(db, mine, False)
    fan = mine.latest(db, "FAN-1", "LOLO")
    assert fan.latching and fan.state == "latched"
    r = c.post(f"{API}/{fan.id}/shelve", json={"reason": "fan repair", "minutes": 1})
    assert r.status_code == 409 and "reset" in r.json()["detail"][0]["msg"]
    r = c.post(f"{API}/{fan.id}/suppress", json={"reason": "section not worked"})
    assert r.status_code == 409
    assert mine.latest(db, "FAN-1", "LOLO").state == "latched"
    r = c.post(f"{API}/{fan.id}/reset", json={"reason": "fan restarted, air checked"})
    assert r.status_code == 200 and r.json()["state"] == "normal"
