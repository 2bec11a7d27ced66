"""Console pages: render for the dispatcher and inspectors, forms act with CSRF, scope holds."""

from __future__ import annotations

import re

from sqlalchemy import select

from qorgau.alarms.models import AlarmRecord


def _login(client, world, key):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import open_session
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    with get_sessionmaker()() as db:
        token, row = open_session(db, user=db.get(User, world.users[key]), kind="cookie")
    client.cookies.set(SESSION_COOKIE, token)
    return row.csrf


def test_console_and_actions(client, db, world, mine, proc):
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2), ("W-1", {"z": "L1"}, -2)]),
                    source="test")
    rec = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                              AlarmRecord.kind == "HIHI"))
    csrf = _login(client, world, "osh_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}")
    assert page.status_code == 200 and "CO-1" in page.text and 'value="ack"' in page.text
    assert client.get("/alarms").status_code == 200
    assert client.get(f"/alarms/devices/{mine.devices['CH4-1']}").status_code == 200
    assert client.get(f"/alarms/{rec.id}").status_code == 200
    assert client.get(f"/alarms-kpis?site_id={mine.site_id}").status_code == 200
    r = client.post(f"/alarms/{rec.id}/action", data={"action": "ack", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    db.refresh(rec)
    assert rec.state == "acknowledged"
    r = client.post(f"/alarms/{rec.id}/action", data={"action": "shelve", "reason": "noise",
                                                      "minutes": 15, "csrf_token": csrf},
                    follow_redirects=False)
    assert "error=" in r.headers["location"]  # life-safety: refused, shown on the page
    r = client.post(f"/alarms/devices/{mine.devices['CH4-1']}", data={
        "high": "2", "highhigh": "1", "reason": "x1x", "csrf_token": csrf},
        follow_redirects=False)
    assert r.status_code == 422 and 'id="e-highhigh"' in r.text
    r = client.post(f"/alarms/sites/{mine.site_id}/withdraw",
                    data={"zones": ["L1"], "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    assert re.search(r'class="inside">1<', live)


def test_a_console_action_keeps_the_language_the_console_was_opened_in(client, db, world,
                                                                        mine, proc):
    """The console's forms posted without its language: a console opened in English from a
    link, with a Russian cookie, came back in Russian after an acknowledgement."""
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2)]), source="test")
    rec = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                              AlarmRecord.kind == "HIHI"))
    csrf = _login(client, world, "osh_krg")
    client.cookies.set("lang", "ru")
    page = client.get(f"/alarms/sites/{mine.site_id}?lang=en").text
    assert f'action="/alarms/{rec.id}/action?lang=en"' in page
    r = client.post(f"/alarms/{rec.id}/action?lang=en", data={"action": "ack", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/alarms/sites/{mine.site_id}?lang=en"
    r = client.post(f"/alarms/{rec.id}/action?lang=en", data={"action": "nope", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.headers["location"] == f"/alarms/sites/{mine.site_id}?lang=en&error=unknown+action"
    back = client.get(r.headers["location"]).text
    assert '<html lang="en">' in back and "unknown action" in back
    r = client.post(f"/alarms/{rec.id}/action", data={"action": "nope", "csrf_token": csrf},
                    follow_redirects=False)  # no language given: the cookie's, as before
    assert r.headers["location"] == f"/alarms/sites/{mine.site_id}?error=unknown+action"


def test_inspector_reads_without_action_buttons_and_other_region_404(client, world, mine, proc,
                                                                     db):
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2)]), source="test")
    _login(client, world, "inspector_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}")
    assert page.status_code == 200 and 'value="ack"' not in page.text and "CO-1" in page.text
    _login(client, world, "inspector_ala")
    assert client.get(f"/alarms/sites/{mine.site_id}").status_code == 404


def test_sse_stream_pushes_alarm(client_as, db, mine, proc):
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -1)]), source="test")
    c = client_as("osh_krg")
    with c.stream("GET", f"/api/v1/alarms/stream?site_id={mine.site_id}&max_s=1") as r:
        body = b"".join(r.iter_bytes())
    assert b"event: lifesafety" in body and b'"kind":"HIHI"' in body


def _withdrawal_pushes(since: int) -> list[dict]:
    """Withdrawal messages published since `HUB.published` was `since` (the hub keeps the last
    200: after many tests its length no longer moves)."""
    from qorgau.alarms.notify import HUB

    new = HUB.published - since
    return [m for m in (list(HUB.recent)[-new:] if new else [])
            if m.get("type") == "withdrawal"]


def test_wearer_reaching_safety_pushes_the_new_count(db, mine, proc, as_):
    """Through the ingest processor: positions, a HIHI that orders L1 out, then one wearer's
    reading in the safe zone is pushed to the console with the count committed."""
    from qorgau.alarms.live import visible
    from qorgau.alarms.models import Withdrawal
    from qorgau.alarms.notify import HUB
    from qorgau.core.db import get_sessionmaker

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3), ("W-2", {"z": "L1"}, -3)]),
                    source="test")
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -2)]), source="test")
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    assert w is not None and w.inside == 2
    n = HUB.published
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -1)]), source="test")
    pushes = _withdrawal_pushes(n)
    assert [(m["id"], m["inside"], m["total"]) for m in pushes] == [(w.id, 1, 2)]
    assert pushes[0]["site_id"] == mine.site_id
    with get_sessionmaker()() as other:  # what was pushed is committed
        assert other.get(Withdrawal, w.id).inside == 1
    assert visible(pushes[0], as_("osh_krg")) and not visible(pushes[0], as_("inspector_ala"))
    n = HUB.published
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, 0)]), source="test")
    assert _withdrawal_pushes(n) == []  # the count did not move: nothing pushed


def test_two_open_withdrawals_both_shown(client, db, world, mine, proc):
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3), ("W-2", {"z": "L2"}, -3)]),
                    source="test")
    csrf = _login(client, world, "osh_krg")
    for zone in ("L1", "L2"):
        r = client.post(f"/alarms/sites/{mine.site_id}/withdraw",
                        data={"zones": [zone], "csrf_token": csrf}, follow_redirects=False)
        assert "error" not in r.headers["location"]
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    boxes = re.findall(r'data-withdrawal="(\d+)">\s*<h2>.*?class="inside">(\d+)<.*?</section>',
                       live, re.S)
    assert len(boxes) == 2 and all(inside == "1" for _id, inside in boxes)
    sections = live.split('data-withdrawal="')[1:]
    assert "W-2" in sections[0] and "L2" in sections[0]  # the newer first
    assert "W-1" in sections[1] and "L1" in sections[1]  # the older one still shown
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -1)]), source="test")
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    assert live.count('data-withdrawal="') == 1 and "W-2" in live.split("<details")[0]
    done = live.split('id="withdrawals-done"')[1].split("</details>")[0]
    assert f"№{boxes[1][0]}" in done  # completed: collapsed


def test_late_entrant_is_counted_and_ordered_out(db, mine, proc):
    """W-2 walks into L1 after the HIHI ordered it out: counted inside and sent the command
    through the outbox; a replay orders nobody twice; going back in after safety counts again."""
    from qorgau.alarms.models import Notification, Withdrawal
    from qorgau.alarms.notify import DEVICE_LOG, HUB

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5), ("W-2", {"z": "L2"}, -5)]),
                    source="test")
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -4)]), source="test")
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    assert [p["device"] for p in w.people] == ["W-1"] and w.zones == ["L1"]
    sent = len(DEVICE_LOG)
    n = HUB.published
    late = mine.batch([("W-2", {"z": "L1"}, -3)])
    proc.handle_raw(db, late, source="test")
    db.refresh(w)
    assert w.inside == 2 and sorted(p["device"] for p in w.people) == ["W-1", "W-2"]
    assert [p.get("entered_at") is not None for p in w.people] == [False, True]
    orders = select(Notification).where(Notification.alarm_id == w.alarm_id,
                                        Notification.target == "W-2")
    rows = list(db.scalars(orders))
    # tried at once (sent, or failed where no command transport is registered)
    assert [r.channel for r in rows] == ["device"] and rows[0].status != "pending"
    assert {c for c, _s in list(DEVICE_LOG)[sent:]} == {"W-2"}
    assert [m["inside"] for m in _withdrawal_pushes(n)] == [2]
    proc.handle_raw(db, late, source="test")  # redelivered: a duplicate, no second order
    assert len(list(db.scalars(orders))) == 1
    proc.handle_raw(db, mine.batch([("W-2", {"z": "SAFE"}, -2)]), source="test")
    proc.handle_raw(db, mine.batch([("W-2", {"z": "L1"}, -1)]), source="test")
    db.refresh(w)
    assert w.inside == 2 and len(list(db.scalars(orders))) == 2  # back in: ordered again


def test_walking_in_while_the_gas_is_still_there_reopens_the_completed_order(db, mine, proc):
    """Everyone was out (the order complete) but CH4 is still above its limit: W-2 walking
    into L1 reopens the order, is counted and commanded out; once the gas is gone, walking in
    reopens nothing."""
    from qorgau.alarms.models import Notification, Withdrawal
    from qorgau.alarms.notify import DEVICE_LOG
    from qorgau.core.audit import AuditEntry

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -9), ("W-2", {"z": "L2"}, -9)]),
                    source="test")
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -8)]), source="test")
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -7)]), source="test")
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    assert w.inside == 0 and w.completed_at is not None
    sent = len(DEVICE_LOG)
    proc.handle_raw(db, mine.batch([("W-2", {"z": "L1"}, -6)]), source="test")
    db.refresh(w)
    assert w.completed_at is None and w.inside == 1
    assert [p["device"] for p in w.people if p.get("safe_at") is None] == ["W-2"]
    assert {c for c, _s in list(DEVICE_LOG)[sent:]} == {"W-2"}
    orders = select(Notification).where(Notification.alarm_id == w.alarm_id,
                                        Notification.target == "W-2")
    assert [r.channel for r in db.scalars(orders)] == ["device"]
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.withdrawal.reopened",
                                              AuditEntry.object_id == str(w.id))) is not None
    proc.handle_raw(db, mine.batch([("W-2", {"z": "SAFE"}, -5)]), source="test")
    db.refresh(w)
    assert w.inside == 0 and w.completed_at is not None  # complete again
    proc.handle_raw(db, mine.batch([("CH4-1", 0.2, -4)]), source="test")  # the gas is gone
    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3)]), source="test")
    db.refresh(w)
    assert w.completed_at is not None and w.inside == 0


def test_late_entrant_of_a_console_order_is_commanded(client, db, world, mine, proc):
    """An order from the console's button has no alarm: the newcomer is commanded directly."""
    from qorgau.alarms.models import Withdrawal
    from qorgau.alarms.notify import DEVICE_LOG

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3)]), source="test")
    csrf = _login(client, world, "osh_krg")
    client.post(f"/alarms/sites/{mine.site_id}/withdraw",
                data={"zones": ["L1", "L2"], "csrf_token": csrf}, follow_redirects=False)
    sent = len(DEVICE_LOG)
    proc.handle_raw(db, mine.batch([("W-2", {"z": "L2"}, -1)]), source="test")
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    db.refresh(w)
    assert w.inside == 2 and {c for c, _s in list(DEVICE_LOG)[sent:]} == {"W-2"}
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    assert re.search(r'class="inside">2<', live) and "W-2" in live
    assert "вошёл после приказа" in live  # marked as having walked in after the order


def test_a_fixed_sensors_zone_tag_does_not_count_it_as_a_person(db, mine, proc, as_):
    """A gateway that tags a gas sensor's reading with its zone ("z" is for wearables): the
    sensor was a person inside, commanded to withdraw, and the order never reached zero."""
    from qorgau.alarms import positioning
    from qorgau.alarms.models import Notification, Withdrawal

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -5),
                                    ("CH4-1", {"v": 0.2, "z": "L1"}, -5)]), source="test")
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -4)]), source="test")
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    assert [p["device"] for p in w.people] == ["W-1"] and w.inside == 1
    assert not list(db.scalars(select(Notification).where(
        Notification.alarm_id == w.alarm_id, Notification.target == "CH4-1")))
    proc.handle_raw(db, mine.batch([("W-1", {"z": "SAFE"}, -3)]), source="test")
    db.refresh(w)
    assert w.inside == 0 and w.completed_at is not None
    assert positioning.presence(db=db, actor=as_("osh_krg"), site_id=mine.site_id) == {
        "SAFE": 1}  # people by zone: the sensor is none of them


def test_a_zone_without_a_code_does_not_lose_the_methane_alarm(db, world, proc, as_):
    """The registry took a site's zones as any objects: one without a "code" (a lamp room
    typed with only a name) made the zone lookups raise KeyError, so every batch with a
    position reading or a life-safety raise failed and the methane HIHI was never recorded.
    The registry refuses such a zone now (`SiteIn`); a site stored before still works."""
    from alarms.conftest import Mine
    from qorgau.alarms import service
    from qorgau.alarms.models import Withdrawal
    from qorgau.alarms.schemas import DeviceIn
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import SiteIn

    site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
        enterprise_id=world.enterprises["mine_krg"], kind="mine", name="Mine, zone w/o code",
        lon=73.1, lat=49.8, zones=[{"code": "L1", "kind": "working"},
                                   {"code": "SAFE", "kind": "safe"}]))
    site.zones = [*site.zones, {"name": "Lamp room", "kind": "safe"}]  # as stored before
    db.commit()
    m, osh = Mine(site.id), as_("osh_krg")
    for code, kind, q, zone in [("CH4-1", "gas", "CH4", "L1"),
                                ("W-1", "wearable", "position", "")]:
        m.devices[code] = service.create_device(db=db, actor=osh, data=DeviceIn(
            site_id=site.id, code=code, kind=kind, quantity=q, zone_code=zone)).id
    proc.handle_raw(db, m.batch([("W-1", {"z": "L1"}, -3)]), source="test")
    proc.handle_raw(db, m.batch([("CH4-1", 2.0, -2)]), source="test")
    assert m.latest(db, "CH4-1", "HIHI") is not None
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == site.id))
    assert w.zones == ["L1"] and [p["device"] for p in w.people] == ["W-1"]
    proc.handle_raw(db, m.batch([("W-1", {"z": "SAFE"}, -1)]), source="test")
    db.refresh(w)
    assert w.inside == 0 and w.completed_at is not None


def test_a_position_in_the_raises_batch_is_listed_not_lost(db, mine, proc):
    """One gateway message with W-1's position in L1 and the methane HIHI there: the order
    listed the people as they were before the message (nobody), so it was complete at once,
    and W-1's position, applied after it, found no open order: never commanded out."""
    from qorgau.alarms.models import Notification, Withdrawal

    proc.handle_raw(db, mine.batch([("W-1", {"z": "L1"}, -3), ("W-2", {"z": "SAFE"}, -3),
                                    ("CH4-1", 2.0, -2)]), source="test")
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id))
    assert [p["device"] for p in w.people] == ["W-1"]
    assert (w.inside, w.completed_at) == (1, None)
    assert [n.target for n in db.scalars(select(Notification).where(
        Notification.alarm_id == w.alarm_id, Notification.channel == "device"))] == ["W-1"]
