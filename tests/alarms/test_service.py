"""Devices and limits (defaults per site kind, validation, audit), alarm actions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qorgau.alarms import service
from qorgau.alarms.models import AlarmEvent, AlarmRecord, Device
from qorgau.alarms.schemas import AckIn, DeviceIn, DevicePatch, Limits, ResolveIn, ShelveIn
from qorgau.core.audit import AuditEntry
from qorgau.core.errors import Forbidden, NotFound, RuleViolation


def test_defaults_follow_site_kind(db, mine):
    dev = db.get(Device, mine.devices["CH4-1"])
    assert dev.limits["high"] == 1.0 and dev.limits["highhigh"] == 1.5
    assert dev.life_safety
    assert service.default_limits("construction", "CH4")["highhigh"] == 2.0
    assert db.get(Device, mine.devices["FAN-1"]).limits["lowlow"] == 0.0


def test_limit_edit_is_validated_and_audited(db, as_, mine):
    osh = as_("osh_krg")
    did = mine.devices["CH4-1"]
    with pytest.raises(ValueError, match="HIHI must be at least HI"):
        Limits(high=2.0, highhigh=1.5)
    dev = service.update_device(db=db, actor=osh, device_id=did, data=DevicePatch(
        limits=Limits(high=0.8, highhigh=1.2, deadband=0.05), reason="stricter after audit"))
    assert dev.revision == 2 and dev.limits["high"] == 0.8
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.device.revise",
                                               AuditEntry.object_id == str(did)))
    assert entry.diff["before"]["limits"]["high"] == 1.0
    assert entry.diff["after"]["reason"] == "stricter after audit"


def test_device_quantity_and_zone_checked(db, as_, mine):
    osh = as_("osh_krg")
    with pytest.raises(ValueError):
        DeviceIn(site_id=mine.site_id, code="X", kind="gas", quantity="dust")
    with pytest.raises(RuleViolation) as exc:
        service.create_device(db=db, actor=osh, data=DeviceIn(
            site_id=mine.site_id, code="X-1", kind="gas", quantity="CO", zone_code="NOPE"))
    assert exc.value.field == "zone_code"


def test_other_enterprise_and_inspector_cannot_configure(db, as_, mine):
    with pytest.raises(RuleViolation):  # site out of scope reads as unknown
        service.create_device(db=db, actor=as_("osh_ala"), data=DeviceIn(
            site_id=mine.site_id, code="Y-1", kind="gas", quantity="CO"))
    with pytest.raises(Forbidden):
        service.update_device(db=db, actor=as_("inspector_krg"),
                              device_id=mine.devices["CO-1"],
                              data=DevicePatch(enabled=False, reason="nope"))
    with pytest.raises(NotFound):
        service.get_device(db=db, actor=as_("inspector_ala"),
                           device_id=mine.devices["CO-1"])


def test_a_device_links_only_its_own_sites_installation_and_enterprises_worker(
        client_as, db, world, mine):
    """Every reading of a device writes its installation's heartbeat in the equipment
    register, and a wearable's wearer is listed in withdrawals: another tenant's installation
    or worker is refused by name (422 naming the field), and nothing is written."""
    import time

    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.equipment.schemas import InstallationIn
    from qorgau.equipment.service import register_installation
    from qorgau.registry.models import Worker

    theirs = register_installation(db=db, actor=SYSTEM_ACTOR, data=InstallationIn(
        site_id=world.sites["build_ala"], requirement_code="build.fall",
        serial_no=f"ALA-{mine.site_id}", commissioned_on=time.strftime("%Y-%m-%d")))
    ours = register_installation(db=db, actor=SYSTEM_ACTOR, data=InstallationIn(
        site_id=mine.site_id, requirement_code="mine.methane",
        serial_no=f"KRG-{mine.site_id}", commissioned_on=time.strftime("%Y-%m-%d")))
    their_worker, our_worker = (db.scalar(select(Worker.id).where(
        Worker.enterprise_id == world.enterprises[k])) for k in ("build_ala", "mine_krg"))
    api = client_as("osh_krg")
    gas = {"site_id": mine.site_id, "kind": "gas", "quantity": "CH4", "zone_code": "L1"}
    wearable = {"site_id": mine.site_id, "kind": "wearable", "quantity": "position"}
    for body, field in [({**gas, "code": "CH4-X", "installation_id": theirs.id},
                         "installation_id"),
                        ({**gas, "code": "CH4-X", "installation_id": 10**9}, "installation_id"),
                        ({**wearable, "code": "W-X", "worker_id": their_worker}, "worker_id"),
                        ({**wearable, "code": "W-X", "worker_id": 10**9}, "worker_id")]:
        r = api.post("/api/v1/alarms/devices", json=body)
        assert r.status_code == 422 and field in r.text, (body, r.status_code, r.text)
    assert db.scalar(select(Device.id).where(Device.code.in_(["CH4-X", "W-X"]))) is None
    for body in ({**gas, "code": "CH4-Y", "installation_id": ours.id},
                 {**wearable, "code": "W-Y", "worker_id": our_worker}):
        r = api.post("/api/v1/alarms/devices", json=body)
        assert r.status_code == 201, r.text
        made = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.device.create",
                                                  AuditEntry.object_id == str(r.json()["id"])))
        link = "installation_id" if "installation_id" in body else "worker_id"
        assert made.diff["after"][link] == body[link]  # the link is in the record
    # one wearable per person: a second would count its wearer twice in a withdrawal
    r = api.post("/api/v1/alarms/devices", json={**wearable, "code": "W-Z",
                                                 "worker_id": our_worker})
    assert r.status_code == 409 and "worker_id" in r.text and "W-Y" in r.text, r.text
    assert db.scalar(select(Device.id).where(Device.code == "W-Z")) is None
    # nor by way of a disabled one: W-Y off, W-Z on for the same worker, W-Y on again
    w_y = db.scalar(select(Device.id).where(Device.code == "W-Y"))
    off = api.patch(f"/api/v1/alarms/devices/{w_y}", json={"enabled": False,
                                                          "reason": "lamp in repair"})
    assert off.status_code == 200, off.text
    r = api.post("/api/v1/alarms/devices", json={**wearable, "code": "W-Z",
                                                 "worker_id": our_worker})
    assert r.status_code == 201, r.text
    on = api.patch(f"/api/v1/alarms/devices/{w_y}", json={"enabled": True,
                                                         "reason": "lamp back"})
    assert on.status_code == 409 and "worker_id" in on.text and "W-Z" in on.text, on.text
    db.expire_all()
    assert db.get(Device, w_y).enabled is False


def _raise(db, mine, code="CO-1", kind="HI", value=30.0):
    from qorgau.alarms import records

    dev = db.get(Device, mine.devices[code])
    change = records.on_condition(db, dev, kind, True, 1_764_000_000.0, value)
    db.commit()
    return change.rec


def test_ack_shelve_resolve_and_transitions(db, as_, mine):
    osh = as_("osh_krg")
    rec = _raise(db, mine, "CO-1", "TWA", 60.0)  # TWA is not life-safety
    assert rec.state == "unacknowledged" and not rec.life_safety
    with pytest.raises(RuleViolation):
        service.resolve(db=db, actor=osh, alarm_id=rec.id, data=ResolveIn(resolution="real"))
    service.acknowledge(db=db, actor=osh, alarm_id=rec.id, data=AckIn(note="seen"))
    service.shelve(db=db, actor=osh, alarm_id=rec.id,
                   data=ShelveIn(reason="sensor being replaced", minutes=30))
    assert rec.state == "shelved" and rec.shelved_until is not None
    service.resolve(db=db, actor=osh, alarm_id=rec.id, data=ResolveIn(resolution="test"))
    trail = [(e.frm, e.to, e.trigger) for e in db.scalars(
        select(AlarmEvent).where(AlarmEvent.alarm_id == rec.id).order_by(AlarmEvent.id))]
    assert trail == [("normal", "unacknowledged", "raise"),
                     ("unacknowledged", "acknowledged", "ack"),
                     ("acknowledged", "shelved", "shelve")]
    assert db.get(AlarmRecord, rec.id).resolution == "test"


def test_life_safety_cannot_be_shelved(db, as_, mine):
    osh = as_("osh_krg")
    rec = _raise(db, mine, "CH4-1", "HIHI", 1.7)
    assert rec.life_safety
    with pytest.raises(RuleViolation, match="life-safety"):
        service.shelve(db=db, actor=osh, alarm_id=rec.id,
                       data=ShelveIn(reason="annoying", minutes=10))
    assert db.get(AlarmRecord, rec.id).state == "unacknowledged"


def test_inspector_reads_but_cannot_ack(db, as_, mine):
    rec = _raise(db, mine, "CO-1", "HIHI", 60.0)
    insp = as_("inspector_krg")
    assert service.get_alarm(db=db, actor=insp, alarm_id=rec.id).id == rec.id
    with pytest.raises(Forbidden):
        service.acknowledge(db=db, actor=insp, alarm_id=rec.id, data=AckIn())
    with pytest.raises(NotFound):
        service.get_alarm(db=db, actor=as_("osh_ala"), alarm_id=rec.id)


def test_an_ack_as_the_condition_clears_acts_on_the_alarm_as_it_is_now(db, as_, mine,
                                                                      monkeypatch):
    """The ack read the alarm unacknowledged, the ingest cleared it (rtn_unack) and committed,
    then the ack wrote "acknowledged" from what it had read over it: acknowledged, inactive
    and open for good (no clear left to close it, a new raise starts a new occurrence)."""
    dev_id = mine.devices["CO-1"]
    rec = _raise(db, mine, "CO-1", "TWA", 60.0)
    _cleared_after(monkeypatch, "get_alarm", dev_id)
    service.acknowledge(db=db, actor=as_("osh_krg"), alarm_id=rec.id, data=AckIn())
    db.expire_all()
    now = db.get(AlarmRecord, rec.id)
    # acknowledged after it returned to normal: normal and closed (ISA rtn_unack → normal)
    assert (now.state, now.active, now.open) == ("normal", False, False)
    trail = [(e.frm, e.to, e.trigger) for e in db.scalars(
        select(AlarmEvent).where(AlarmEvent.alarm_id == rec.id).order_by(AlarmEvent.id))]
    assert trail[1:] == [("unacknowledged", "rtn_unack", "clear"),
                         ("rtn_unack", "normal", "ack")]


def test_a_return_to_service_as_the_condition_clears_leaves_no_alarm_without_condition(
        db, as_, mine, monkeypatch):
    """Read out of service and active, cleared by the ingest meanwhile, then written back
    "unacknowledged" from the old read: an unacknowledged alarm with no condition, which an
    acknowledgement turned into an acknowledged one that no clear would ever close."""
    from qorgau.alarms.schemas import ReasonIn

    osh, dev_id = as_("osh_krg"), mine.devices["CO-1"]
    rec = _raise(db, mine, "CO-1", "TWA", 60.0)
    service.remove_from_service(db=db, actor=osh, device_id=dev_id,
                                data=ReasonIn(reason="calibration"))
    assert (rec.state, rec.active) == ("out_of_service", True)
    _cleared_after(monkeypatch, "get_device", dev_id)
    service.return_to_service(db=db, actor=osh, device_id=dev_id,
                              data=ReasonIn(reason="calibrated"))
    db.expire_all()
    now = db.get(AlarmRecord, rec.id)
    assert (now.state, now.active, now.open) == ("normal", False, False)


def _cleared_after(monkeypatch, reader: str, dev_id: int) -> None:
    """`service.<reader>` returns what it read, after an ingest batch in another session has
    cleared the device's TWA condition and committed: the race an action has to survive."""
    import time

    from qorgau.alarms import records
    from qorgau.core.db import get_sessionmaker

    real = getattr(service, reader)

    def read_then_cleared(**kw):
        got = real(**kw)
        with get_sessionmaker()() as ingest:  # the batch that clears it, meanwhile
            records.on_condition(ingest, ingest.get(Device, dev_id), "TWA", False,
                                 time.time(), 5.0)
            ingest.commit()
        return got

    monkeypatch.setattr(service, reader, read_then_cleared)


def test_an_ack_during_a_withdrawal_batch_does_not_deadlock_with_it(db, as_, mine, proc,
                                                                    monkeypatch):
    """CH4 is above its limit and people walk out: a batch ticks W-2 safe (the audit's head
    taken) and raises the gas alarm's peak, while the operator acknowledges that alarm (its
    row locked, then the audit's head): each waited for the other's lock."""
    import threading
    import time

    from qorgau.core.db import get_sessionmaker

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -9), ("W-2", {"z": "L1"}, -9)]),
                    source="test")
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -8)]), source="test")
    db.expire_all()
    rec = db.scalar(select(AlarmRecord).where(AlarmRecord.device_id == mine.devices["CH4-1"],
                                              AlarmRecord.active.is_(True)))
    osh, rec_id = as_("osh_krg"), rec.id
    locked, go, errors = threading.Event(), threading.Event(), []
    real = service.apply

    def held(*a, **kw):  # the occurrence is locked by now (`_acting_on`)
        locked.set()
        go.wait(10)
        return real(*a, **kw)

    monkeypatch.setattr(service, "apply", held)

    def ack():
        try:
            with get_sessionmaker()() as other:
                service.acknowledge(db=other, actor=osh, alarm_id=rec_id, data=AckIn())
        except BaseException as exc:  # reported below
            errors.append(exc)

    def batch():
        try:
            with get_sessionmaker()() as other:
                proc.handle_raw(other, mine.batch([("W-2", {"z": "SAFE"}, -5),
                                                   ("CH4-1", 2.5, -5)]), source="test")
        except BaseException as exc:  # reported below
            errors.append(exc)

    operator, ingest = threading.Thread(target=ack), threading.Thread(target=batch)
    operator.start()
    assert locked.wait(10)
    ingest.start()
    time.sleep(0.7)  # the batch is waiting for the occurrence, or done
    go.set()
    operator.join(30)
    ingest.join(30)
    assert not errors, errors
    db.expire_all()
    now = db.get(AlarmRecord, rec_id)
    assert now.acked_at is not None and now.peak == 2.5
