"""The demo path in-process: forecast warning → life-safety alarm → live feed → escalation
when nobody acknowledges → withdrawal until none inside → KPIs; timers on the tick."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from qorgau.alarms import kpis, notify, positioning, service, worker
from qorgau.alarms.delivery import retry
from qorgau.alarms.dispatch import Context, Notice, group, inhibit, silence
from qorgau.alarms.models import AlarmRecord, Notification, Withdrawal
from qorgau.alarms.schemas import ContactIn, ShelveIn


def _ramp(mine, start, seconds, v0, v1):
    t = np.arange(seconds, dtype=float)
    v = v0 + (v1 - v0) * t / seconds + np.random.default_rng(1).normal(0, 0.01, seconds)
    base = mine.seq.get("CH4-1", 0)
    mine.seq["CH4-1"] = base + seconds
    return {"site_id": mine.site_id, "d": ["CH4-1"] * seconds,
            "s": list(range(base, base + seconds)), "t": (start + t).tolist(),
            "v": v.round(3).tolist()}


def _kinds(db, mine):
    db.expire_all()
    return {r.kind: r for r in db.scalars(select(AlarmRecord).where(
        AlarmRecord.site_id == mine.site_id).order_by(AlarmRecord.id))}


def test_methane_build_up_end_to_end(db, as_, mine, proc):
    osh = as_("osh_krg")
    service.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=2, role="mine_rescue", channel="sms", target="+77010000000"))
    now = time.time()
    # wearers: W-1 in the gassy longwall L1, W-2 already at the shaft station
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -1000), ("W-2", {"z": "SAFE"},
                                                                     -1000)]), source="test")
    # 0.5 % → 1.7 % CH4 over 16 minutes, ending now
    proc.handle_raw(db, _ramp(mine, now - 960, 960, 0.5, 1.7), source="test")
    alarms = _kinds(db, mine)
    assert {"FORECAST", "HI", "HIHI"} <= set(alarms)
    assert alarms["FORECAST"].raised_at < alarms["HI"].raised_at  # predictive lead time
    lead = (alarms["HI"].raised_at - alarms["FORECAST"].raised_at).total_seconds()
    assert lead >= 120
    hihi = alarms["HIHI"]
    assert hihi.life_safety and "predicted" in alarms["FORECAST"].message
    # withdrawal: W-1 listed and ordered out, count live until zero
    w = db.scalar(select(Withdrawal).where(Withdrawal.alarm_id == hihi.id))
    assert w.inside == 1 and w.people[0]["device"] == "W-1"
    assert ("W-1", "WITHDRAW") in [(t, s[:8]) for t, s in notify.DEVICE_LOG] or any(
        t == "W-1" for t, _ in notify.DEVICE_LOG)
    # nobody acknowledges: the tick escalates to tier 2 (mine rescue SMS)
    before = len(notify.SMS_LOG)
    worker.tick(db, proc, now=time.time() + 65)
    db.expire_all()
    assert db.get(AlarmRecord, hihi.id).tier == 2
    assert len(notify.SMS_LOG) > before
    sms = db.scalar(select(Notification).where(Notification.alarm_id == hihi.id,
                                               Notification.channel == "sms"))
    assert sms.status == "sent" and sms.tier == 2
    # W-1 reaches the shaft station: nobody left inside
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, 0)]), source="test")
    db.expire_all()
    w = db.get(Withdrawal, w.id)
    assert w.inside == 0 and w.completed_at is not None
    k = kpis.compute(db=db, actor=as_("inspector_krg"), site_id=mine.site_id, hours=1)
    assert k["alarms"] >= 3 and k["life_safety_open"] >= 1
    assert any(t["kind"] == "HIHI" for t in k["top10"])
    assert positioning.presence(db=db, actor=osh, site_id=mine.site_id) == {"SAFE": 2}


def test_stale_sensor_detected_by_timer(db, mine, proc):
    proc.handle_raw(db, mine.batch([("CO-1", 2.0, -1)]), source="test")
    worker.tick(db, proc, now=time.time() + 120)  # no further message needed
    stale = db.scalar(select(AlarmRecord).where(AlarmRecord.kind == "STALE",
                                                AlarmRecord.device_id == mine.devices["CO-1"]))
    assert stale is not None and stale.active and stale.state == "unacknowledged"
    proc.handle_raw(db, mine.batch([("CO-1", 2.0, 0)]), source="test")  # signal back
    db.refresh(stale)
    assert not stale.active and stale.state == "rtn_unack"


def test_shelve_expires_on_tick(db, as_, mine, proc):
    proc.handle_raw(db, mine.batch([("CO-1", 2.0, -2)]), source="test")
    from qorgau.alarms import records
    from qorgau.alarms.models import Device

    rec = records.on_condition(db, db.get(Device, mine.devices["CO-1"]), "TWA", True,
                               time.time(), 55.0).rec
    db.commit()
    for hours in (1, 2):  # nobody acknowledged it for a while: tier 3 was told
        records.escalations(db, datetime.now(UTC) + timedelta(hours=hours))
    db.commit()
    assert rec.tier == 3
    service.acknowledge(db=db, actor=as_("osh_krg"), alarm_id=rec.id,
                        data=__import__("qorgau.alarms.schemas", fromlist=["AckIn"]).AckIn())
    service.shelve(db=db, actor=as_("osh_krg"), alarm_id=rec.id,
                   data=ShelveIn(reason="calibration", minutes=1))
    back_at = time.time() + 61
    worker.tick(db, proc, now=back_at)
    db.expire_all()
    back = db.get(AlarmRecord, rec.id)
    # back as a fresh raise: tier 1 told now (the console's row), escalated from tier 1
    assert (back.state, back.tier) == ("unacknowledged", 1)
    told = db.scalars(select(Notification).where(Notification.alarm_id == rec.id,
                                                 Notification.dedup_key.startswith("back"))
                      ).all()
    assert told and {n.tier for n in told} == {1}
    wait = back.next_escalation_at.replace(tzinfo=UTC).timestamp() - back_at
    assert 0 < wait <= 61, wait  # the site's first escalation delay (60 s) from its return


def test_failed_webhook_raises_alarm_and_falls_back(db, as_, mine, proc):
    osh = as_("osh_krg")
    service.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="webhook",
        target="http://127.0.0.1:9/hook", secret="s3cret"))
    service.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=3, role="dispatcher", channel="sms", target="+77020000000"))
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -1)]), source="test")
    alarms = _kinds(db, mine)
    assert "NOTIFY_FAILED" in alarms
    hook = db.scalar(select(Notification).where(Notification.channel == "webhook",
                                                Notification.alarm_id == alarms["HIHI"].id))
    assert hook.status == "failed"
    fb = db.scalars(select(Notification).where(Notification.alarm_id == alarms["HIHI"].id,
                                               Notification.channel == "sms")).all()
    assert fb and fb[0].status == "sent"


def _n(ls, kind="HI", dev=1, site=1):
    return Notice(1, site, 1, "KZ-35", kind, 1 if ls else 2, ls, 1, "raise", "m", dev)


def test_stages_in_isolation():
    ctx = Context(stale_devices={1}, silenced_devices={2})
    assert [n.kind for n in inhibit([_n(False), _n(True), _n(False, "STALE")], ctx)] == [
        "HI", "STALE"][::-1] or len(inhibit([_n(False), _n(True)], Context(stale_devices={1})))
    assert len(inhibit([_n(False), _n(True)], Context(stale_devices={1}))) == 1
    assert len(silence([_n(False, dev=2), _n(True, dev=2)], ctx)) == 1
    ctx = Context(recent_by_site={1: 50})
    msgs = group([_n(True), _n(True), _n(False), _n(False)], ctx)
    assert [len(m.notices) for m in msgs] == [1, 1, 2]  # life-safety never grouped
    assert ctx.counters["flood_grouped"] == 2
    calls = []

    def flaky(*a):
        calls.append(a)
        if len(calls) < 3:
            raise notify.DeliveryError("down")

    assert retry(flaky, 1, backoff_s=0) == "" and len(calls) == 3
    assert "down" in retry(lambda *a: flaky() if False else (_ for _ in ()).throw(
        notify.DeliveryError("down")), backoff_s=0)


def test_webhook_signature_is_hmac():
    import hashlib
    import hmac

    sig = notify.sign("k", b'{"a":1}', "100")
    assert sig == hmac.new(b"k", b'100.{"a":1}', hashlib.sha256).hexdigest()


def test_a_claim_whose_sender_died_is_sent_again_after_the_lease(db, as_, mine, proc):
    """At least once: a row claimed ("sending") by a worker that died before recording the
    result is taken again once its claim is older than the lease; a fresh claim (a sender
    still at work) is left alone. Planning the same notice again adds nothing."""
    from datetime import timedelta

    from qorgau.alarms import delivery, dispatch, records
    from qorgau.core.db import utcnow

    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77020000001"))
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -1)]), source="test")
    rec = _kinds(db, mine)["HIHI"]
    planned = {}
    for what in ("remind1", "remind2"):
        rows = dispatch.plan(db, [records.notice(rec, what)], Context())
        assert {db.get(Notification, r.id).channel for r in rows} == {"sms", "inapp"}
        planned[what] = [r.id for r in rows]
        ctx = Context()
        assert dispatch.plan(db, [records.notice(rec, what)], ctx) == []
        assert ctx.counters["deduplicated"] == 2
    now = utcnow()
    for row_id in planned["remind1"]:  # its sender died 10 min ago, after the claim
        db.get(Notification, row_id).status = "sending"
        db.get(Notification, row_id).claimed_at = now - timedelta(minutes=10)
    for row_id in planned["remind2"]:  # claimed just now by a live sender
        db.get(Notification, row_id).status = "sending"
        db.get(Notification, row_id).claimed_at = now
    db.commit()
    # these rows by id: the test database holds earlier tests' pending rows, which a batch
    # of the oldest may reach first (the lease rule is the same, `_claimable`)
    counts = delivery.deliver(db, planned["remind1"] + planned["remind2"])
    db.expire_all()
    assert counts["sent"] >= 2
    assert {db.get(Notification, i).status for i in planned["remind1"]} == {"sent"}
    assert {db.get(Notification, i).status for i in planned["remind2"]} == {"sending"}
    assert delivery.deliver(db, planned["remind2"]) == {"sent": 0, "failed": 0, "fallback": 0}


def test_a_backlog_sends_life_safety_and_withdraw_orders_first(db, as_, mine, proc):
    """More pending rows than one batch (a channel down, a flood): a life-safety alarm's
    notice and a withdraw order go ahead of older routine ones, then by priority, then the
    oldest first."""
    from qorgau.alarms import delivery, dispatch, records
    from qorgau.registry.models import Site

    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77020000002"))
    site = db.get(Site, mine.site_id)
    routine = records.raise_system_alarm(  # a routine alarm (priority 2), raised first
        db, site_id=site.id, enterprise_id=site.enterprise_id, region_code=site.region_code,
        kind=records.NOTIFY_FAILED, message="sms to +7702•••0002 failed: test").rec
    assert not routine.life_safety
    old = [r.id for what in ("remind1", "remind2")
           for r in dispatch.plan(db, [records.notice(routine, what)], Context())]
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -1)]), source="test")
    urgent = _kinds(db, mine)["HIHI"]
    assert urgent.life_safety
    new = [r.id for r in dispatch.plan(db, [records.notice(urgent, "remind1")], Context())]
    db.commit()
    ours = old + new
    assert max(old) < min(new)
    order = list(db.scalars(delivery._BACKLOG.where(Notification.id.in_(ours))))
    assert order[:len(new)] == sorted(new) and order[len(new):] == sorted(old)


def test_a_site_failing_its_tick_holds_up_no_other_site_nor_escalation(db, new_mines, proc,
                                                                      monkeypatch):
    """One site whose timers raise (a bug, bad data) ended the whole tick, every tick: no
    other site's stale sensors, no escalation, no delivery anywhere. It is logged and
    counted; the rest runs."""
    broken, ok = new_mines(), new_mines()  # the broken one is ticked first (by id)
    proc.handle_raw(db, ok.batch([("CO-1", 90.0, -1)]), source="test")
    hihi = ok.latest(db, "CO-1", "HIHI")
    assert hihi is not None and hihi.tier == 1
    real = proc.runtime

    def runtime(db_, site_id):
        if site_id == broken.site_id:
            raise RuntimeError("a site's bad configuration")
        return real(db_, site_id)

    monkeypatch.setattr(proc, "runtime", runtime)
    done = worker.tick(db, proc, now=time.time() + 3600)
    assert done["failed_sites"] == 1 and done["stale"] > 0 and done["escalated"] >= 1, done
    assert ok.latest(db, "CO-1", "HIHI").tier == 2
    stale = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == ok.site_id,
                                                AlarmRecord.kind == "STALE"))
    assert stale is not None and stale.active


def _tier2_sms(db, alarm_id):
    db.expire_all()
    return db.scalars(select(Notification).where(Notification.alarm_id == alarm_id,
                                                 Notification.channel == "sms",
                                                 Notification.tier == 2)).all()


def _escalated_then_shelved(db, as_, mine, proc, t0, monkeypatch):
    """A TWA (not life-safety: it can be shelved) nobody acknowledged for 65 s, so tier 2
    was told by SMS; then acknowledged and shelved for a minute."""
    from qorgau.alarms import records
    from qorgau.alarms.models import Device
    from qorgau.alarms.schemas import AckIn

    # the sites' own timers off: a STALE escalating in the same tick shares the message
    monkeypatch.setattr(worker, "_tick_sites", lambda *a: None)
    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=2, role="mine_rescue", channel="sms",
        target=f"+7702{mine.site_id:07d}"))
    proc.handle_raw(db, mine.batch([("CO-1", 2.0, -2)]), source="test")
    rec = records.on_condition(db, db.get(Device, mine.devices["CO-1"]), "TWA", True,
                               t0, 55.0).rec
    db.commit()
    worker.tick(db, proc, now=t0 + 65)
    assert db.get(AlarmRecord, rec.id).tier == 2 and len(_tier2_sms(db, rec.id)) == 1
    service.acknowledge(db=db, actor=as_("osh_krg"), alarm_id=rec.id, data=AckIn())
    service.shelve(db=db, actor=as_("osh_krg"), alarm_id=rec.id,
                   data=ShelveIn(reason="calibration", minutes=1))
    return rec


def test_an_alarm_back_from_the_shelf_reaches_tier_2_again(db, as_, mine, proc, monkeypatch):
    """Back at tier 1, its next escalation went under the key of the first one
    ("escalate:2:<id>") and was dropped: tier 2 was never told again."""
    t0 = time.time()
    rec = _escalated_then_shelved(db, as_, mine, proc, t0, monkeypatch)
    worker.tick(db, proc, now=t0 + 130)  # shelf time over: back, tier 1 told
    assert db.get(AlarmRecord, rec.id).tier == 1
    worker.tick(db, proc, now=t0 + 200)  # 60 s unacknowledged again
    assert db.get(AlarmRecord, rec.id).tier == 2 and len(_tier2_sms(db, rec.id)) == 2


def test_an_unshelved_alarm_left_unacknowledged_reaches_tier_2_again(db, as_, mine, proc,
                                                                     monkeypatch):
    from qorgau.alarms.schemas import ReasonIn

    t0 = time.time()
    rec = _escalated_then_shelved(db, as_, mine, proc, t0, monkeypatch)
    service.unshelve(db=db, actor=as_("osh_krg"), alarm_id=rec.id,
                     data=ReasonIn(reason="back early"))
    worker.tick(db, proc, now=t0 + 130)
    assert db.get(AlarmRecord, rec.id).tier == 2 and len(_tier2_sms(db, rec.id)) == 2


def test_two_workers_expiring_one_shelf_tell_tier_one_once(db, as_, mine, proc, monkeypatch):
    """A second worker that read the shelved row before the first committed expired it
    again and, keyed by its own tick's second, told tier 1 a second time."""
    import threading

    from qorgau.alarms import dispatch, records
    from qorgau.alarms.models import Device
    from qorgau.alarms.schemas import AckIn
    from qorgau.core.db import get_sessionmaker

    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms",
        target=f"+7703{mine.site_id:07d}"))
    rec = records.on_condition(db, db.get(Device, mine.devices["CO-1"]), "TWA", True,
                               time.time(), 55.0).rec
    db.commit()
    service.acknowledge(db=db, actor=as_("osh_krg"), alarm_id=rec.id, data=AckIn())
    service.shelve(db=db, actor=as_("osh_krg"), alarm_id=rec.id,
                   data=ShelveIn(reason="calibration", minutes=1))
    t = time.time() + 61
    b_read, a_done, real = threading.Event(), threading.Event(), records.apply
    worker_b = threading.current_thread()

    def apply(db_, rec_, step, **kw):
        if threading.current_thread() is worker_b and kw.get("trigger_fn") == "tick":
            b_read.set()  # B has read the shelved row; A expires it meanwhile
            assert a_done.wait(20)
        return real(db_, rec_, step, **kw)

    def expire(at: float) -> None:  # the tick's expiry part, as `worker.tick` runs it
        with get_sessionmaker()() as s:
            _back, told = records.shelve_expiry(s, datetime.fromtimestamp(at, UTC))
            dispatch.plan(s, told, dispatch.Context())
            s.commit()

    def worker_a() -> None:
        assert b_read.wait(20)
        expire(t)
        a_done.set()

    monkeypatch.setattr(records, "apply", apply)
    th = threading.Thread(target=worker_a)
    th.start()
    expire(t + 1)  # worker B, one second later
    th.join(20)
    db.expire_all()
    told = db.scalars(select(Notification).where(Notification.alarm_id == rec.id,
                                                 Notification.channel == "sms")).all()
    assert len(told) == 1, [r.dedup_key for r in told]


def test_a_grouped_message_reaches_contacts_of_its_most_urgent_alarm(db, as_, mine):
    """Non-life-safety raises of one batch went out as one message routed by its first
    notice's priority: a P3 first kept a P1 alarm (the fan stopped) from the contacts that
    take P1 only."""
    from qorgau.alarms import dispatch, records
    from qorgau.alarms.models import Device

    phone = f"+7704{mine.site_id:07d}"
    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="management", channel="sms", target=phone,
        min_priority=1))
    t = time.time()
    twa = records.on_condition(db, db.get(Device, mine.devices["CO-1"]), "TWA", True, t,
                               25.0).rec
    fan = records.on_condition(db, db.get(Device, mine.devices["FAN-1"]), "LOLO", True, t,
                               0.0).rec
    assert (twa.priority, fan.priority, twa.life_safety, fan.life_safety) == (3, 1, False, False)
    dispatch.plan(db, [records.notice(twa, "raise"), records.notice(fan, "raise")],
                  dispatch.Context())
    db.commit()
    rows = db.scalars(select(Notification).where(Notification.target == phone)).all()
    assert [r.alarm_id for r in rows] == [fan.id]  # the P1 alarm, not the P3 one
    assert rows[0].error.startswith("[P1]")


def test_reminders_reach_the_highest_tier_a_site_has(db, as_, mine, proc, monkeypatch):
    """Contacts at tier 2 only: the escalations to tiers 3 and 4 and the reminders after
    them go to tier 2 (they had reached nobody: after the first SMS, silence until someone
    happened to look), and stop at the acknowledgement."""
    from qorgau.alarms import records
    from qorgau.alarms.models import Device
    from qorgau.alarms.routing import DEFAULT_DELAYS
    from qorgau.alarms.schemas import AckIn

    monkeypatch.setattr(worker, "_tick_sites", lambda *a: None)  # only this alarm escalates
    target = f"+7705{mine.site_id:07d}"
    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=2, role="mine_rescue", channel="sms", target=target))
    t0 = time.time()
    proc.handle_raw(db, mine.batch([("CO-1", 2.0, -2)]), source="test")
    rec = records.on_condition(db, db.get(Device, mine.devices["CO-1"]), "TWA", True,
                               t0, 55.0).rec
    db.commit()

    def told() -> list[int]:
        db.expire_all()
        return [n.tier for n in db.scalars(select(Notification).where(
            Notification.alarm_id == rec.id, Notification.target == target)
            .order_by(Notification.id))]

    t2, t3, t4 = (sum(DEFAULT_DELAYS.escalation[:k]) for k in (1, 2, 3))
    for at in (t2, t3, t4, t4 + DEFAULT_DELAYS.reminder):
        worker.tick(db, proc, now=t0 + at + 1)
    assert told() == [2, 3, 4, 4]
    service.acknowledge(db=db, actor=as_("osh_krg"), alarm_id=rec.id, data=AckIn())
    worker.tick(db, proc, now=t0 + t4 + 3 * DEFAULT_DELAYS.reminder)
    assert told() == [2, 3, 4, 4]
