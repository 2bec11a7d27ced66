"""Alarm occurrences: each excursion its own record; unacknowledged alarms escalate and are
reminded until acknowledged, even after returning to normal; NOTIFY_FAILED returns to normal
when deliveries work again, so the next failure is a new alarm."""

from __future__ import annotations

import time

from sqlalchemy import select

from qorgau.alarms import delivery, dispatch, kpis, records, routing, service
from qorgau.alarms.models import AlarmRecord, Device, Notification
from qorgau.alarms.schemas import AckIn, ContactIn, EscalationIn
from qorgau.alarms.service import dt

DEAD_HOOK = "http://127.0.0.1:9/hook"  # the discard port: nothing listens, delivery fails


def _occurrences(db, site_id: int, kind: str, device_id: int | None = None) -> list:
    db.expire_all()
    stmt = select(AlarmRecord).where(AlarmRecord.site_id == site_id, AlarmRecord.kind == kind)
    if device_id is not None:
        stmt = stmt.where(AlarmRecord.device_id == device_id)
    return list(db.scalars(stmt.order_by(AlarmRecord.id)))


def test_unacknowledged_alarm_that_cleared_escalates_then_reminds(db, as_, mine):
    osh = as_("osh_krg")
    routing.set_policy(db=db, actor=osh, site_id=mine.site_id, data=EscalationIn(
        tier2_after_s=20, tier3_after_s=40, tier4_after_s=90, reminder_s=60, reason="drill"))
    d = routing.delays(db, mine.site_id)
    dev = db.get(Device, mine.devices["CH4-1"])
    t0 = time.time()
    rec = records.on_condition(db, dev, "HIHI", True, t0, 1.8).rec
    records.on_condition(db, dev, "HIHI", False, t0 + 5, 0.4)
    db.commit()
    assert rec.state == "rtn_unack" and rec.open and rec.next_escalation_at is not None

    def tick(at: float) -> list:
        got = [n for n in records.escalations(db, dt(at)) if n.alarm_id == rec.id]
        db.commit()
        return got

    at = t0
    for tier in (2, 3, 4):  # every tier, each after the site's own wait
        at += d.escalation[tier - 2]
        assert tick(at - 1) == []
        assert [(n.what, n.tier) for n in tick(at)] == [(f"escalate{int(at)}", tier)]
    reminders = []
    for _ in range(2):  # past the top tier: a reminder every reminder interval
        at += d.reminder
        assert tick(at - 1) == []
        reminders += tick(at)
    assert [n.tier for n in reminders] == [4, 4]
    assert all(n.what.startswith("remind") for n in reminders)
    assert reminders[0].what != reminders[1].what  # two notices, not one deduplicated
    # the reminders reach the top tier's people
    dispatch.plan(db, reminders, dispatch.Context())
    db.commit()
    assert db.scalar(select(Notification.id).where(Notification.alarm_id == rec.id,
                                                   Notification.dedup_key.like("remind%")))
    service.acknowledge(db=db, actor=osh, alarm_id=rec.id, data=AckIn(note="seen"))
    assert rec.state == "normal" and not rec.open and rec.next_escalation_at is None
    assert tick(at + 10 * d.reminder) == []


def test_acknowledged_active_alarm_stops_reminding(db, as_, mine):
    dev = db.get(Device, mine.devices["CH4-1"])
    t0 = time.time()
    rec = records.on_condition(db, dev, "HI", True, t0, 1.2).rec
    db.commit()
    service.acknowledge(db=db, actor=as_("osh_krg"), alarm_id=rec.id, data=AckIn())
    assert rec.state == "acknowledged" and rec.active
    assert [n for n in records.escalations(db, dt(t0 + 3600)) if n.alarm_id == rec.id] == []


def test_each_excursion_is_its_own_occurrence(db, as_, mine):
    dev = db.get(Device, mine.devices["CO-1"])
    t0 = time.time()
    first = records.on_condition(db, dev, "HIHI", True, t0, 60.0)
    records.on_condition(db, dev, "HIHI", False, t0 + 10, 5.0)
    second = records.on_condition(db, dev, "HIHI", True, t0 + 30, 70.0)
    assert records.on_condition(db, dev, "HIHI", True, t0 + 30, 70.0) is None  # replayed
    records.on_condition(db, dev, "HIHI", False, t0 + 40, 5.0)
    assert records.on_condition(db, dev, "HIHI", False, t0 + 40, 5.0) is None  # replayed
    db.commit()
    a, b = _occurrences(db, mine.site_id, "HIHI", dev.id)
    assert (a.id, b.id) == (first.rec.id, second.rec.id)
    assert (a.raised_at, a.cleared_at) == (dt(t0), dt(t0 + 10))
    assert (b.raised_at, b.cleared_at) == (dt(t0 + 30), dt(t0 + 40))
    assert a.state == b.state == "rtn_unack" and a.open and b.open
    service.acknowledge(db=db, actor=as_("osh_krg"), alarm_id=a.id, data=AckIn())
    db.expire_all()
    assert not db.get(AlarmRecord, a.id).open
    b = db.get(AlarmRecord, b.id)
    assert b.open and b.state == "rtn_unack"


def test_excursions_through_the_pipeline_have_own_peaks_and_count_as_chattering(
        db, as_, mine, proc, tmp_path):
    from qorgau.alarms.ingest.core import Processor
    from qorgau.alarms.store import SegmentStore

    code = "CO-1"
    did = mine.devices[code]
    batches = [b for i, peak in enumerate((90.0, 70.0, 80.0)) for b in (
        mine.batch([(code, peak - 5, -30 + 3 * i), (code, peak, -29 + 3 * i)]),
        mine.batch([(code, 2.0, -28 + 3 * i)]))]
    for b in batches:  # three excursions within ten seconds, nobody acknowledges
        proc.handle_raw(db, b, source="test")
    proc.handle_raw(db, batches[-2], source="test")  # a replayed raise changes nothing
    occ = _occurrences(db, mine.site_id, "HIHI", did)
    assert [o.peak for o in occ] == [90.0, 70.0, 80.0]  # each its own excursion's peak
    assert all(o.state == "rtn_unack" and o.raised_at < o.cleared_at for o in occ)
    k = kpis.compute(db=db, actor=as_("inspector_krg"), site_id=mine.site_id, hours=1)
    chat = [c for c in k["chattering"] if c["device"] == code and c["kind"] == "HIHI"]
    assert chat and chat[0]["count"] == 3
    # raised again; a restarted worker knows that this one, and only it, is active
    proc.handle_raw(db, mine.batch([(code, 95.0, -5)]), source="test")
    proc.close(db)
    fresh = Processor(SegmentStore(tmp_path / "seg", fsync=False))
    fresh.handle_raw(db, mine.batch([(code, 96.0, -4)]), source="test")  # still high
    occ = _occurrences(db, mine.site_id, "HIHI", did)
    assert len(occ) == 4 and occ[-1].active and occ[-1].state == "unacknowledged"
    fresh.handle_raw(db, mine.batch([(code, 2.0, -3)]), source="test")
    occ = _occurrences(db, mine.site_id, "HIHI", did)
    assert len(occ) == 4 and not occ[-1].active and occ[-1].peak == 96.0
    assert [o.state for o in occ] == ["rtn_unack"] * 4
    fresh.close(db)


def _deliver_alarm(db, mine, kind: str = "HI") -> AlarmRecord:
    """A new occurrence on CO-1 and its notifications, sent now."""
    dev = db.get(Device, mine.devices["CO-1"])
    t = time.time()
    rec = records.on_condition(db, dev, kind, True, t, 30.0).rec
    planned = dispatch.plan(db, [records.notice(rec, "raise")], dispatch.Context())
    db.commit()
    records.on_condition(db, dev, kind, False, t + 1, 2.0)  # the next one is a new occurrence
    db.commit()
    delivery.deliver(db, [p.id for p in planned])
    return rec


def _deliver_pending(db, alarm_id: int) -> None:
    ids = list(db.scalars(select(Notification.id).where(Notification.alarm_id == alarm_id,
                                                        Notification.status == "pending")))
    delivery.deliver(db, ids)


def test_notify_failed_returns_to_normal_and_is_raised_again(db, as_, new_mines):
    mine = new_mines()  # a site of its own: no other test's contacts or failures
    osh = as_("osh_krg")
    hook = service.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="webhook", target=DEAD_HOOK,
        secret="s3cret"))
    _deliver_alarm(db, mine)
    (nf,) = _occurrences(db, mine.site_id, "NOTIFY_FAILED")
    assert nf.active and nf.state == "unacknowledged" and nf.value == 1
    assert "webhook" in nf.message and nf.next_escalation_at is not None
    # the failure alarm is announced: its own notice, in-app at least
    _deliver_pending(db, nf.id)
    db.expire_all()
    sent = db.scalars(select(Notification).where(Notification.alarm_id == nf.id)).all()
    assert ("inapp", "sent") in {(n.channel, n.status) for n in sent}
    nf = db.get(AlarmRecord, nf.id)
    assert nf.value == 2  # its notice to the dead webhook failed too: counted, no new record
    service.acknowledge(db=db, actor=osh, alarm_id=nf.id, data=AckIn(note="IT called"))
    # while the webhook stays broken, a working channel does not end the condition
    service.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77030000000"))
    _deliver_alarm(db, mine)
    (nf,) = _occurrences(db, mine.site_id, "NOTIFY_FAILED")
    assert nf.active and nf.state == "acknowledged" and nf.value == 3
    assert nf.message.startswith("3×")
    # the broken address is removed: the next delivery clears it
    routing.remove_contact(db=db, actor=osh, contact_id=hook.id)
    _deliver_alarm(db, mine)
    (nf,) = _occurrences(db, mine.site_id, "NOTIFY_FAILED")
    assert not nf.active and not nf.open and nf.state == "normal" and nf.cleared_at
    # a later failure is a new occurrence, announced again
    service.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="webhook",
        target=DEAD_HOOK + "2"))
    _deliver_alarm(db, mine)
    old, new = _occurrences(db, mine.site_id, "NOTIFY_FAILED")
    assert old.id == nf.id and new.active and new.state == "unacknowledged" and new.value == 1
    assert db.scalar(select(Notification.id).where(Notification.alarm_id == new.id,
                                                   Notification.channel == "inapp"))


def test_unacknowledged_notify_failed_that_cleared_still_waits_for_ack(db, as_, new_mines):
    mine = new_mines()
    osh = as_("osh_krg")
    hook = service.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="webhook", target=DEAD_HOOK))
    _deliver_alarm(db, mine)
    routing.remove_contact(db=db, actor=osh, contact_id=hook.id)
    _deliver_alarm(db, mine)  # in-app delivery works: the condition is over
    (nf,) = _occurrences(db, mine.site_id, "NOTIFY_FAILED")
    assert not nf.active and nf.open and nf.state == "rtn_unack"
    assert nf.next_escalation_at is not None  # still escalates until someone acknowledges


def test_peak_of_an_excursion_that_ends_within_its_batch(db, mine, proc):
    """The readings between a raise and its clear count towards the peak also when the clear
    comes in the same batch (raised there or earlier): the occurrence is no longer active at
    the batch's end, and its peak had stayed the raise value."""
    code, did = "CO-1", mine.devices["CO-1"]
    proc.handle_raw(db, mine.batch([(code, 60.0, -40), (code, 95.0, -39), (code, 2.0, -38)]),
                    source="test")
    proc.handle_raw(db, mine.batch([(code, 61.0, -30)]), source="test")
    proc.handle_raw(db, mine.batch([(code, 97.0, -29), (code, 2.0, -28), (code, 99.0, -27)]),
                    source="test")  # the third reading starts the next excursion
    occ = _occurrences(db, mine.site_id, "HIHI", did)
    assert [(o.peak, o.active) for o in occ] == [(95.0, False), (97.0, False), (99.0, True)]
