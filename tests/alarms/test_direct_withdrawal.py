"""A withdraw order the dispatcher gives without any alarm (the console's button) is tracked
like one an alarm started, on SQLite and PostgreSQL: the order is stored with who gave it and
why (audited), the people inside are listed and commanded through the outbox (rows of the
order itself, no alarm), the count goes down to zero as positions reach the safe zone, a late
entrant is ordered out with the zone on the screen (a real Mosquitto), and another
enterprise neither sees nor gives it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from alarms.test_brokers import _wait
from alarms.test_device_commands import Gateway, broker  # noqa: F401  (a fixture)
from qorgau.alarms import notify
from qorgau.alarms.models import AlarmRecord, Notification, Withdrawal
from qorgau.core.audit import AuditEntry

API = "/api/v1/alarms"


def _withdrawals(db, site_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Withdrawal)
                     .where(Withdrawal.site_id == site_id))


def _commands(db, w_id: int) -> list[Notification]:
    db.expire_all()
    return list(db.scalars(select(Notification).where(Notification.withdrawal_id == w_id)
                           .order_by(Notification.id)))


def _pushes(since: int) -> list[dict]:
    new = notify.HUB.published - since
    return [m for m in (list(notify.HUB.recent)[-new:] if new else [])
            if m.get("type") == "withdrawal"]


def test_direct_order_is_stored_listed_audited_and_counted_down(db, mine, proc, client_as,
                                                                world):
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5), ("W-2", {"z": "L2"}, -5)]),
                    source="test")
    c = client_as("dispatcher_krg")
    r = c.post(f"{API}/sites/{mine.site_id}/withdraw",
               json={"zones": ["L1", "L2"], "reason": "  smoke at the L1 conveyor  "})
    assert r.status_code == 201, r.text
    me = f"user:{world.users['dispatcher_krg']}:"
    assert r.json()["alarm_id"] is None and r.json()["started_by"].startswith(me)
    db.expire_all()
    w = db.get(Withdrawal, r.json()["id"])
    assert (w.alarm_id, w.reason, w.inside, w.completed_at) == (
        None, "smoke at the L1 conveyor", 2, None)
    assert w.started_by.startswith(me)
    assert sorted((p["device"], p["zone"]) for p in w.people) == [("W-1", "L1"), ("W-2", "L2")]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.withdrawal.start",
                                               AuditEntry.object_id == str(w.id)))
    assert entry.actor.startswith(me)
    assert entry.diff["after"]["reason"] == "smoke at the L1 conveyor"
    assert entry.diff["after"]["alarm_id"] is None and entry.diff["after"]["people"] == 2
    # one command per person, rows of the order itself, tried at once: this process has no
    # command transport (no broker), so not "sent", and the site's NOTIFY_FAILED names it
    rows = _commands(db, w.id)
    assert sorted(n.target for n in rows) == ["W-1", "W-2"]
    assert {(n.alarm_id, n.channel, n.status) for n in rows} == {(None, "device", "failed")}
    failed = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                                 AlarmRecord.kind == "NOTIFY_FAILED"))
    assert failed is not None and failed.active and "device to W-" in failed.message
    # the live count: both out to the shaft station, one at a time, down to zero
    n = notify.HUB.published
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -2)]), source="test")
    assert [(m["id"], m["inside"], m["total"]) for m in _pushes(n)] == [(w.id, 1, 2)]
    seen = {x["id"]: x for x in c.get(f"{API}/sites/{mine.site_id}/presence").json()[
        "withdrawals"]}
    assert seen[w.id]["inside"] == 1 and seen[w.id]["completed_at"] is None
    assert seen[w.id]["reason"] == "smoke at the L1 conveyor"
    proc.handle_raw(db, mine.batch([("W-2", {"z": "SAFE"}, -1)]), source="test")
    db.expire_all()
    w = db.get(Withdrawal, w.id)
    assert w.inside == 0 and w.completed_at is not None
    assert all(p["safe_at"] for p in w.people)
    # each one counted out is audited, the last with the order's completion
    safe = db.scalars(select(AuditEntry).where(AuditEntry.action == "alarms.withdrawal.safe",
                                               AuditEntry.object_id == str(w.id))
                      .order_by(AuditEntry.id)).all()
    assert [(e.diff["before"]["inside"], e.diff["after"]["inside"], e.diff["after"]["device"],
             e.diff["after"]["zone"]) for e in safe] == [(2, 1, "W-1", "SAFE"),
                                                        (1, 0, "W-2", "SAFE")]
    assert safe[0].diff["after"]["completed_at"] is None
    assert safe[1].diff["after"]["completed_at"] is not None


def test_console_button_order_shows_its_reason_until_everyone_is_out(client, db, world, mine,
                                                                     proc):
    from alarms.test_pages import _login

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L2"}, -3)]), source="test")
    csrf = _login(client, world, "osh_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}").text
    assert re.search(r'<form method="post" action="/alarms/sites/\d+/withdraw\?lang=ru".*?'
                     r'name="reason"', page, re.S)
    r = client.post(f"/alarms/sites/{mine.site_id}/withdraw", data={
        "zones": ["L2"], "reason": "roof fall risk", "csrf_token": csrf},
        follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    assert (w.alarm_id, w.reason, w.inside) == (None, "roof fall risk", 1)
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    box = live.split(f'data-withdrawal="{w.id}"')[1].split("</section>")[0]
    assert 'class="inside">1<' in box and "roof fall risk" in box and "W-1" in box
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -1)]), source="test")
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    assert f'data-withdrawal="{w.id}"' not in live  # done: folded among the completed
    assert f"№{w.id}" in live.split('id="withdrawals-done"')[1]


def test_late_entrant_of_a_direct_order_is_ordered_through_the_outbox(db, mine, proc,
                                                                      client_as):
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5)]), source="test")
    r = client_as("osh_krg").post(f"{API}/sites/{mine.site_id}/withdraw",
                                  json={"zones": ["L1", "L2"]})
    w_id = r.json()["id"]
    late = mine.batch([("W-2", {"z": "L2"}, -2)])
    proc.handle_raw(db, late, source="test")
    rows = [n for n in _commands(db, w_id) if n.target == "W-2"]
    assert len(rows) == 1 and rows[0].status != "pending"  # delivered right after the batch
    proc.handle_raw(db, late, source="test")  # redelivered: a duplicate, nobody ordered twice
    assert len([n for n in _commands(db, w_id) if n.target == "W-2"]) == 1
    db.expire_all()
    w = db.get(Withdrawal, w_id)
    assert w.inside == 2 and [p.get("entered_at") is not None for p in w.people] == [
        False, True]


def test_another_enterprise_neither_sees_nor_gives_the_order(db, mine, proc, client,
                                                             client_as, world):
    from alarms.test_pages import _login

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3)]), source="test")
    r = client_as("dispatcher_krg").post(f"{API}/sites/{mine.site_id}/withdraw",
                                         json={"reason": "drill"})
    assert r.status_code == 201
    before = _withdrawals(db, mine.site_id)
    for key in ("osh_ala", "inspector_ala"):
        other = client_as(key)
        assert other.get(f"{API}/sites/{mine.site_id}/presence").status_code == 404, key
    r = client_as("osh_ala").post(f"{API}/sites/{mine.site_id}/withdraw", json={})
    assert r.status_code == 404
    r = client_as("rescue_krg").post(f"{API}/sites/{mine.site_id}/withdraw", json={})
    assert r.status_code == 403  # its region, but mine rescue gives no orders
    csrf = _login(client, world, "osh_ala")
    assert client.get(f"/alarms/sites/{mine.site_id}/live").status_code == 404
    r = client.post(f"/alarms/sites/{mine.site_id}/withdraw", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 404
    assert _withdrawals(db, mine.site_id) == before


def test_bad_order_input_is_a_422_naming_the_field(db, mine, new_mines, proc, client_as):
    other = new_mines()
    proc.handle_raw(db, other.batch([("CO-1", 60.0, -1)]), source="test")
    foreign = other.latest(db, "CO-1", "HIHI")
    c = client_as("osh_krg")
    before = _withdrawals(db, mine.site_id)
    r = c.post(f"{API}/sites/{mine.site_id}/withdraw", json={"alarm_id": foreign.id})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "alarm_id"
    r = c.post(f"{API}/sites/{mine.site_id}/withdraw", json={"reason": "x" * 301})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    r = c.post(f"{API}/sites/{mine.site_id}/withdraw", json={"zones": ["NOPE"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "zones"
    assert _withdrawals(db, mine.site_id) == before


@pytest.mark.brokers
def test_late_entrant_of_a_direct_order_sees_the_zone_on_screen(db, mine, proc, client_as,
                                                                broker):  # noqa: F811
    """Over a real Mosquitto: the order's first command and a newcomer's carry the code and
    the wearer's zone in the site's language, like an alarm's order."""
    from qorgau.alarms.ingest.mqtt import CommandPublisher

    port, _, _ = broker
    gw = Gateway(port, mine.gateway, mine.key, f"qorgau/{mine.site_id}/+/command")
    pub = CommandPublisher(f"mqtt://ingest:ingest-pw@127.0.0.1:{port}")
    try:
        assert pub.ready.wait(5)
        proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5)]), source="test")
        r = client_as("dispatcher_krg").post(f"{API}/sites/{mine.site_id}/withdraw",
                                             json={"zones": ["L1", "L2"], "reason": "smoke"})
        w_id = r.json()["id"]
        assert [(n.target, n.status) for n in _commands(db, w_id)] == [("W-1", "sent")]
        assert _wait(lambda: len(gw.got) == 1, 5)
        proc.handle_raw(db, mine.batch([("W-2", {"z": "L2"}, -1)]), source="test")
        assert [(n.target, n.status) for n in _commands(db, w_id)] == [
            ("W-1", "sent"), ("W-2", "sent")]
        assert _wait(lambda: len(gw.got) == 2, 5)
        got = {cmd["device"]: (topic, cmd) for topic, cmd in gw.got}
        topic, cmd = got["W-2"]
        assert topic == f"qorgau/{mine.site_id}/W-2/command"
        assert (cmd["code"], cmd["zone"], cmd["lang"], cmd["display"]) == (
            "WITHDRAW", "L2", "ru", "ВЫХОД! Покиньте зону L2")
        assert cmd["alarm_id"] is None and "smoke" in cmd["text"]
        assert got["W-1"][1]["display"] == "ВЫХОД! Покиньте зону L1"
    finally:
        pub.close()
        gw.close()


def test_an_order_for_a_safe_zone_lists_the_people_there_until_they_reach_another(
        db, mine, proc, client_as):
    """Gas at the muster point: an order for the safe zone itself lists who is there (before,
    people in a safe zone were never listed: the order was complete at once) and counts
    them out only when they reach a safe zone the order does not cover."""
    from qorgau.registry.models import Site

    site = db.get(Site, mine.site_id)
    site.zones = [*site.zones, {"code": "SAFE2", "name": "Surface", "kind": "safe"}]
    db.commit()
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -5), ("W-2", {"z": "L2"}, -5)]),
                    source="test")
    r = client_as("dispatcher_krg").post(f"{API}/sites/{mine.site_id}/withdraw",
                                         json={"zones": ["SAFE"]})
    assert r.status_code == 201, r.text
    w = db.get(Withdrawal, r.json()["id"])
    assert (w.inside, w.completed_at) == (1, None) and [p["device"] for p in w.people] == ["W-1"]
    proc.handle_raw(db, mine.batch([("W-2", {"z": "SAFE"}, -4)]), source="test")
    db.refresh(w)
    assert w.inside == 2  # walked into the zone under the order: counted, not safe
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE2"}, -3), ("W-2", {"z": "SAFE2"}, -3)]),
                    source="test")
    db.refresh(w)
    assert w.inside == 0 and w.completed_at is not None


def test_everyone_out_lists_a_wearer_in_a_zone_the_site_does_not_list(db, mine, proc,
                                                                      client_as):
    """"Withdraw everyone" (no zones): a wearer whose gateway names a zone missing from the
    site's list is inside all the same (before, only the listed working zones were read)."""
    proc.handle_raw(db, mine.batch([("W-1", {"z": "X9"}, -5), ("W-2", {"z": "SAFE"}, -5)]),
                    source="test")
    r = client_as("dispatcher_krg").post(f"{API}/sites/{mine.site_id}/withdraw",
                                         json={"zones": []})
    assert r.status_code == 201, r.text
    w = db.get(Withdrawal, r.json()["id"])
    assert [(p["device"], p["zone"]) for p in w.people] == [("W-1", "X9")] and w.inside == 1
    assert w.zones == ["L1", "L2"]
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -4)]), source="test")
    db.refresh(w)
    assert w.inside == 0 and w.completed_at is not None


def test_a_person_whose_wearable_died_is_counted_out_by_hand(db, mine, proc, client_as,
                                                               client, world):
    """W-1's wearable stopped in L1: the dispatcher counts W-1 out with a reason (audited,
    pushed); no reason is a 422 naming it, someone not inside a 409, another tenant a 404
    (and no reader's right: a 403); the console's form does the same."""
    from alarms.test_pages import _login

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5), ("W-2", {"z": "L1"}, -5)]),
                    source="test")
    c = client_as("dispatcher_krg")
    w_id = c.post(f"{API}/sites/{mine.site_id}/withdraw", json={"zones": ["L1"]}).json()["id"]
    url = f"{API}/withdrawals/{w_id}/people/{mine.devices['W-1']}/safe"
    r = c.post(url, json={"reason": "  "})
    assert r.status_code == 422 and "reason" in r.text
    assert client_as("osh_ala").post(url, json={"reason": "seen"}).status_code == 404
    assert client_as("rescue_krg").post(url, json={"reason": "seen"}).status_code == 403
    n = notify.HUB.published
    r = c.post(url, json={"reason": "seen at the shaft station by the banksman"})
    assert r.status_code == 200, r.text
    assert r.json()["inside"] == 1 and r.json()["completed_at"] is None
    assert [m["inside"] for m in _pushes(n)] == [1]
    db.expire_all()
    w = db.get(Withdrawal, w_id)
    me = next(p for p in w.people if p["device"] == "W-1")
    assert me["safe_at"] and me["confirmed_reason"] == "seen at the shaft station by the banksman"
    entry = db.scalar(select(AuditEntry).where(
        AuditEntry.action == "alarms.withdrawal.confirmed_safe",
        AuditEntry.object_id == str(w_id)))
    assert entry.diff["after"]["device"] == "W-1" and entry.diff["before"] == {"inside": 2}
    assert c.post(url, json={"reason": "again"}).status_code == 409  # no longer inside
    csrf = _login(client, world, "dispatcher_krg")
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    assert f"/withdrawals/{w_id}/people/{mine.devices['W-2']}/safe" in live
    assert "seen at the shaft station" in live  # the hand count shows with its reason
    r = client.post(f"/alarms/sites/{mine.site_id}/withdrawals/{w_id}/people/"
                    f"{mine.devices['W-2']}/safe", data={"csrf_token": csrf, "reason": "radio"},
                    follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    db.expire_all()
    w = db.get(Withdrawal, w_id)
    assert w.inside == 0 and w.completed_at is not None


def test_a_site_without_a_safe_zone_says_so_on_the_console(db, mine, proc, client, world):
    """No safe zone: nobody can reach safety by position, so the open order tells the
    dispatcher to count people out by hand (and to add the zones)."""
    from alarms.test_pages import _login
    from qorgau.registry.models import Site

    site = db.get(Site, mine.site_id)
    site.zones = [z for z in site.zones if z["kind"] != "safe"]
    db.commit()
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3)]), source="test")
    csrf = _login(client, world, "dispatcher_krg")
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    assert "no safe zone" not in live  # no open order: nothing to say
    client.post(f"/alarms/sites/{mine.site_id}/withdraw", data={"csrf_token": csrf},
                follow_redirects=False)
    live = client.get(f"/alarms/sites/{mine.site_id}/live?lang=en").text
    assert "This site has no safe zone" in live


def test_an_order_covering_every_safe_zone_says_so_on_the_console(db, mine, proc, client,
                                                                  world, client_as):
    """Gas at the only muster point: its people count as safe only in another safe zone and
    there is none, so the console tells the dispatcher to count them out by hand."""
    from alarms.test_pages import _login

    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -3), ("W-2", {"z": "L1"}, -3)]),
                    source="test")
    _login(client, world, "dispatcher_krg")
    api = client_as("dispatcher_krg")
    r = api.post(f"{API}/sites/{mine.site_id}/withdraw", json={"zones": ["L1"]})
    assert r.status_code == 201, r.text
    live = client.get(f"/alarms/sites/{mine.site_id}/live?lang=en").text
    assert "W-2" in live  # the order is open: W-2 in L1 can still reach SAFE
    assert "Every safe zone of this site is in this order" not in live
    r = api.post(f"{API}/sites/{mine.site_id}/withdraw", json={"zones": ["SAFE"]})
    assert r.status_code == 201, r.text
    live = client.get(f"/alarms/sites/{mine.site_id}/live?lang=en").text
    assert live.count("Every safe zone of this site is in this order") == 1
    assert "This site has no safe zone" not in live


def test_a_wearable_left_behind_does_not_undo_the_count_by_hand(db, mine, proc, client_as):
    """W-1's lamp was left hanging in L1 and keeps reporting from there: counted out by hand,
    W-1 was counted back in (and the lamp commanded) by its next reading from L1, and the
    order, once complete by hand while the gas was still there, was reopened by it for good.
    Carried out of L1 later, the lamp's reading back in L1 counts again."""
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -9), ("W-2", {"z": "L1"}, -9)]),
                    source="test")
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -8)]), source="test")  # the gas: an order
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    assert w.inside == 2 and w.alarm_id is not None
    c = client_as("dispatcher_krg")
    url = f"{API}/withdrawals/{w.id}/people/{mine.devices['W-1']}/safe"
    assert c.post(url, json={"reason": "lamp found on the L1 hook"}).status_code == 200
    db.expire_all()  # the ingest reads the order afresh (a worker's session is new per batch)
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -7)]), source="test")
    db.expire_all()
    w = db.get(Withdrawal, w.id)
    assert w.inside == 1 and not _commands(db, w.id) and not list(db.scalars(
        select(Notification).where(Notification.alarm_id == w.alarm_id,
                                   Notification.target == "W-1",
                                   Notification.dedup_key.like("%enter%"))))
    proc.handle_raw(db, mine.batch([("W-2", {"z": "SAFE"}, -6)]), source="test")
    db.expire_all()
    assert db.get(Withdrawal, w.id).completed_at is not None  # W-2 out: complete
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5)]), source="test")
    db.expire_all()
    w = db.get(Withdrawal, w.id)
    assert w.completed_at is not None and w.inside == 0  # the lamp reopened nothing
    # the lamp taken to the surface and back into L1 by someone: counted and ordered again
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -4)]), source="test")
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3)]), source="test")
    db.expire_all()
    w = db.get(Withdrawal, w.id)
    assert w.completed_at is None and w.inside == 1
    me = next(p for p in w.people if p["device"] == "W-1")
    assert "confirmed_by" not in me and "confirmed_reason" not in me  # inside by position


def test_a_button_order_naming_a_lasting_system_alarm_is_not_reopened(db, mine, proc,
                                                                        client_as):
    """An order given from the console naming an alarm that is not life-safety (one that
    may stay active for days): complete once everyone is out, it stays complete when someone
    walks into its zones (only a life-safety alarm's condition reopens an order)."""
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -9)]), source="test")
    proc.handle_raw(db, mine.batch([("FAN-1", 0.0, -9)]), source="test")
    fan = db.scalar(select(AlarmRecord).where(AlarmRecord.device_id == mine.devices["FAN-1"],
                                              AlarmRecord.active.is_(True)))
    assert fan is not None and not fan.life_safety
    r = client_as("dispatcher_krg").post(f"{API}/sites/{mine.site_id}/withdraw",
                                         json={"zones": ["L1"], "alarm_id": fan.id})
    assert r.status_code == 201, r.text
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -8)]), source="test")
    proc.handle_raw(db, mine.batch([("W-2", {"z": "L1"}, -7)]), source="test")
    db.expire_all()
    w = db.get(Withdrawal, r.json()["id"])
    assert w.completed_at is not None and w.inside == 0


def test_a_count_by_hand_during_an_ingest_batch_is_not_written_over(db, mine, proc, as_,
                                                                     monkeypatch):
    """The dispatcher counts W-1 out while a batch ticks W-2 safe in the same order: the
    batch had read the order before the hand count committed, then wrote its people and count
    from that read over it (W-1 inside again, the audit saying counted out). The batch reads
    the orders it may write locked (PostgreSQL; SQLite's write lock is held by then)."""
    import threading
    import time as _time

    from qorgau.alarms import positioning
    from qorgau.core.db import get_sessionmaker

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -9), ("W-2", {"z": "L1"}, -9)]),
                    source="test")
    w = positioning.broadcast(db=db, actor=as_("dispatcher_krg"), site_id=mine.site_id,
                              zones=["L1"])
    w_id, disp = w.id, as_("dispatcher_krg")
    errors: list[BaseException] = []

    def by_hand():
        try:
            with get_sessionmaker()() as other:
                positioning.confirm_safe(db=other, actor=disp, withdrawal_id=w_id,
                                         device_id=mine.devices["W-1"], reason="radio call")
        except BaseException as exc:  # reported below
            errors.append(exc)

    hand = threading.Thread(target=by_hand)
    real = positioning._reach_safety

    def meanwhile(*a, **kw):
        if not hand.is_alive() and hand.ident is None:
            hand.start()
            _time.sleep(0.5)  # committed by now, or waiting for the batch's lock
        return real(*a, **kw)

    monkeypatch.setattr(positioning, "_reach_safety", meanwhile)
    db.expire_all()  # the ingest reads afresh (a worker's session is new per batch)
    proc.handle_raw(db, mine.batch([("W-2", {"z": "SAFE"}, -5)]), source="test")
    hand.join(30)
    assert not errors, errors
    db.expire_all()
    w = db.get(Withdrawal, w_id)
    me = next(p for p in w.people if p["device"] == "W-1")
    assert me["safe_at"] and me.get("confirmed_reason") == "radio call"
    assert w.inside == 0 and w.completed_at is not None


def test_the_console_counts_out_only_from_the_orders_own_site(db, mine, new_mines, proc,
                                                               client, world):
    """The console's form names the site it was posted from: an order of another site (of
    the same enterprise) under that site's URL is a 404, and nobody is counted out."""
    from alarms.test_pages import _login

    other = new_mines()
    proc.handle_raw(db, other.batch([("W-1", {"z": "L1"}, -5)]), source="test")
    csrf = _login(client, world, "dispatcher_krg")
    client.post(f"/alarms/sites/{other.site_id}/withdraw",
                data={"zones": ["L1"], "csrf_token": csrf}, follow_redirects=False)
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == other.site_id))
    r = client.post(f"/alarms/sites/{mine.site_id}/withdrawals/{w.id}/people/"
                    f"{other.devices['W-1']}/safe", data={"csrf_token": csrf, "reason": "seen"},
                    follow_redirects=False)
    assert r.status_code == 404
    db.expire_all()
    assert db.get(Withdrawal, w.id).inside == 1
