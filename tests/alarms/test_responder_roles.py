"""The people who answer alarms act on them without reconfiguring them, on SQLite and
PostgreSQL: a mine's shift dispatcher acknowledges, shelves, resolves and withdraws people at
its own mine only; a region's mine rescue unit reads and acknowledges life-safety alarms of
its region's mines and nothing else. Contacts in those roles are their accounts' roles."""

from __future__ import annotations

import time
from typing import get_args

import pytest
from sqlalchemy import select

from qorgau.alarms.models import AlarmRecord, Contact, Device, Gateway, Withdrawal
from qorgau.core.audit import AuditEntry

from .test_pages import _login

API = "/api/v1/alarms"


def _fan_stopped(db, mine):
    """The fan's LOLO (not life-safety) through the occurrence path the ingest uses."""
    from qorgau.alarms import records

    db.expire_all()
    records.on_condition(db, db.get(Device, mine.devices["FAN-1"]), "LOLO", True, time.time(),
                         0.0)
    db.commit()
    return mine.latest(db, "FAN-1", "LOLO")


@pytest.fixture
def almaty_alarm(db, world):
    """A life-safety alarm at a mine of another enterprise, in another region (KZ-75)."""
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user
    from qorgau.alarms import records, service
    from qorgau.alarms.schemas import DeviceIn
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import SiteIn

    site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
        enterprise_id=world.enterprises["build_ala"], kind="mine", name="Almaty test adit",
        lon=76.9, lat=43.25))
    osh = actor_for_user(db.get(User, world.users["osh_ala"]))
    dev = service.create_device(db=db, actor=osh, data=DeviceIn(
        site_id=site.id, code="CO-A", kind="gas", quantity="CO"))
    records.on_condition(db, dev, "HIHI", True, time.time(), 90.0)
    db.commit()
    return db.scalar(select(AlarmRecord).where(AlarmRecord.device_id == dev.id))


def _audited(db, action, rec_id):
    return db.scalar(select(AuditEntry).where(AuditEntry.action == action,
                                              AuditEntry.object_id == str(rec_id)))


def test_the_roles_hold_exactly_the_intended_rights(app):
    """Every permission of every domain (all granted once the app is built)."""
    from qorgau.core.roles import PERMISSIONS, Role

    held = {role: {p for p, roles in PERMISSIONS.items() if role in roles}
            for role in (Role.SHIFT_DISPATCHER, Role.MINE_RESCUE)}
    assert held[Role.SHIFT_DISPATCHER] == {
        "alarms.read", "registry.site.read", "alarms.acknowledge",
        "alarms.acknowledge.life_safety", "alarms.operate", "alarms.withdraw",
        "alarms.contacts.read"}
    assert held[Role.MINE_RESCUE] == {"alarms.read", "registry.site.read",
                                      "alarms.acknowledge.life_safety"}
    assert Role.SHIFT_DISPATCHER not in PERMISSIONS["alarms.configure"]


def test_contact_roles_are_the_user_roles():
    from qorgau.alarms.schemas import ContactIn
    from qorgau.core.roles import ORG_KINDS, REACH, Reach, Role

    assert {Role.SHIFT_DISPATCHER.value, Role.MINE_RESCUE.value} <= set(
        get_args(ContactIn.model_fields["role"].annotation))
    assert REACH[Role.SHIFT_DISPATCHER] is Reach.ENTERPRISE
    assert REACH[Role.MINE_RESCUE] is Reach.REGION
    assert Role.SHIFT_DISPATCHER in ORG_KINDS["enterprise"]
    assert ORG_KINDS["mine_rescue"] == {Role.MINE_RESCUE}


def test_dispatcher_acknowledges_shelves_resolves_and_withdraws(db, mine, proc, client_as,
                                                                world):
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2), ("W-1", {"z": "L1"}, -2)]),
                    source="test")
    hihi, fan = mine.latest(db, "CO-1", "HIHI"), _fan_stopped(db, mine)
    c = client_as("dispatcher_krg")
    listed = c.get(API, params={"site_id": mine.site_id}).json()
    assert {hihi.id, fan.id} <= {a["id"] for a in listed}
    r = c.post(f"{API}/{hihi.id}/ack", json={"note": "dispatch room"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    db.expire_all()
    me = f"user:{world.users['dispatcher_krg']}:"
    assert db.get(AlarmRecord, hihi.id).acked_by.startswith(me)
    assert _audited(db, "alarms.alarm.ack", hihi.id).actor.startswith(me)
    r = c.post(f"{API}/{fan.id}/shelve", json={"minutes": 30})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    r = c.post(f"{API}/{fan.id}/shelve", json={"minutes": 30, "reason": "fan swap, crew out"})
    assert r.status_code == 200 and r.json()["state"] == "shelved"
    assert _audited(db, "alarms.alarm.shelve", fan.id).diff["after"]["reason"] == (
        "fan swap, crew out")
    r = c.post(f"{API}/{hihi.id}/resolve", json={"resolution": "real", "note": "vented"})
    assert r.status_code == 200 and r.json()["resolution"] == "real"
    r = c.post(f"{API}/sites/{mine.site_id}/withdraw", json={"zones": ["L1"]})
    assert r.status_code == 201
    w = db.scalar(select(Withdrawal).where(Withdrawal.site_id == mine.site_id)
                  .order_by(Withdrawal.id.desc()))
    assert w.started_by.startswith(me) and w.inside == 1
    seen = c.get(f"{API}/sites/{mine.site_id}/presence").json()
    assert seen["zones"] == {"L1": 1} and w.id in {x["id"] for x in seen["withdrawals"]}


def test_dispatcher_configures_nothing(db, mine, client_as):
    dev_id = mine.devices["CH4-1"]
    before = db.get(Device, dev_id).revision
    gw = db.scalar(select(Gateway).where(Gateway.name == mine.gateway))
    key_before = gw.key_digest
    c = client_as("dispatcher_krg")
    osh = client_as("osh_krg")
    contact = osh.post(f"{API}/contacts", json={
        "site_id": mine.site_id, "tier": 1, "role": "dispatcher", "channel": "sms",
        "target": "+77010000001"}).json()
    refused = {
        "limits": c.patch(f"{API}/devices/{dev_id}", json={"limits": {"high": 2.0},
                                                           "reason": "raise the limit"}),
        "device": c.post(f"{API}/devices", json={"site_id": mine.site_id, "code": "CH4-9",
                                                 "kind": "gas", "quantity": "CH4"}),
        "out of service": c.post(f"{API}/devices/{dev_id}/out-of-service",
                                 json={"reason": "calibration"}),
        "contact": c.post(f"{API}/contacts", json={
            "site_id": mine.site_id, "tier": 1, "role": "dispatcher", "channel": "sms",
            "target": "+77010000002"}),
        "remove contact": c.delete(f"{API}/contacts/{contact['id']}"),
        "escalation": c.put(f"{API}/sites/{mine.site_id}/escalation", json={
            "tier2_after_s": 60, "tier3_after_s": 120, "tier4_after_s": 300,
            "reminder_s": 60, "reason": "faster"}),
        "shifts": c.put(f"{API}/sites/{mine.site_id}/shifts", json={
            "shift_starts": ["08:00", "20:00"], "reason": "two shifts"}),
        "contact language": c.put(f"{API}/contacts/{contact['id']}/lang",
                                  json={"lang": "kk", "reason": "Kazakh texts"}),
        "gateway": c.post(f"{API}/gateways", json={"site_id": mine.site_id,
                                                   "name": f"gw-disp-{mine.site_id}"}),
        "gateway key": c.post(f"{API}/gateways/{gw.id}/rotate", json={}),
    }
    assert {k: r.status_code for k, r in refused.items()} == {k: 403 for k in refused}
    db.expire_all()
    assert db.get(Device, dev_id).revision == before
    assert db.get(Contact, contact["id"]).lang != "kk"
    assert db.get(Gateway, gw.id).key_digest == key_before


def test_dispatcher_does_not_reach_another_enterprise(db, client_as, almaty_alarm):
    c = client_as("dispatcher_krg")
    assert c.get(f"{API}/{almaty_alarm.id}").status_code == 404
    assert c.post(f"{API}/{almaty_alarm.id}/ack", json={}).status_code == 404
    r = c.post(f"{API}/{almaty_alarm.id}/shelve", json={"minutes": 5, "reason": "not mine"})
    assert r.status_code == 404
    r = c.post(f"{API}/sites/{almaty_alarm.site_id}/withdraw", json={})
    assert r.status_code == 404  # another enterprise's site is not there at all
    db.expire_all()
    assert db.get(AlarmRecord, almaty_alarm.id).state == "unacknowledged"


def test_mine_rescue_acknowledges_life_safety_in_its_region_only(db, mine, proc, client_as,
                                                                 almaty_alarm):
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2)]), source="test")
    hihi, fan = mine.latest(db, "CO-1", "HIHI"), _fan_stopped(db, mine)
    assert hihi.life_safety and not fan.life_safety
    c = client_as("rescue_krg")
    assert hihi.id in {a["id"] for a in c.get(API, params={"site_id": mine.site_id}).json()}
    assert c.get(f"{API}/{hihi.id}/events").status_code == 200
    seen = c.get(f"{API}/sites/{mine.site_id}/presence").json()  # positions, withdrawals
    started = db.scalars(select(Withdrawal.id).where(Withdrawal.site_id == mine.site_id)).all()
    assert started and {x["id"] for x in seen["withdrawals"]} == set(started)
    r = c.post(f"{API}/{hihi.id}/ack", json={"note": "unit on its way"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert c.post(f"{API}/{fan.id}/ack", json={}).status_code == 403
    assert c.post(f"{API}/{fan.id}/shelve", json={"minutes": 5, "reason": "noise"}
                  ).status_code == 403
    assert c.post(f"{API}/{hihi.id}/resolve", json={"resolution": "real"}).status_code == 403
    assert c.post(f"{API}/sites/{mine.site_id}/withdraw", json={}).status_code == 403
    assert c.patch(f"{API}/devices/{mine.devices['CO-1']}",
                   json={"limits": {"high": 30.0}, "reason": "raise"}).status_code == 403
    assert c.put(f"{API}/sites/{mine.site_id}/shifts", json={
        "shift_starts": ["08:00"], "reason": "one shift"}).status_code == 403
    db.expire_all()
    assert db.get(AlarmRecord, fan.id).state == "unacknowledged"
    # another region's mine is not there at all
    assert c.get(f"{API}/{almaty_alarm.id}").status_code == 404
    assert c.post(f"{API}/{almaty_alarm.id}/ack", json={}).status_code == 404
    assert c.get(f"{API}/sites/{almaty_alarm.site_id}/presence").status_code == 404
    assert almaty_alarm.id not in {a["id"] for a in c.get(API).json()}


def test_contacts_link_responders_in_their_own_role(db, mine, client_as, world):
    osh = client_as("osh_krg")
    base = {"site_id": mine.site_id, "tier": 2, "channel": "sms", "target": "+77212000112"}
    r = osh.post(f"{API}/contacts", json={**base, "role": "inspectorate",
                                          "user_id": world.users["rescue_krg"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "role"
    r = osh.post(f"{API}/contacts", json={**base, "role": "mine_rescue",
                                          "user_id": world.users["rescue_krg"]})
    assert r.status_code == 201 and r.json()["role"] == "mine_rescue"
    r = osh.post(f"{API}/contacts", json={**base, "tier": 1, "role": "dispatcher",
                                          "user_id": world.users["dispatcher_krg"]})
    assert r.status_code == 201
    mine_ids = {ch["id"] for ch in client_as("dispatcher_krg").get(
        f"{API}/my-channels").json()}
    assert r.json()["id"] in mine_ids


def test_mine_rescue_does_not_read_the_contact_list(db, mine, client, client_as, world):
    """Phones and e-mails of the mine's staff: the inspector and the dispatcher read them,
    mine rescue gets 403 in the API and on the routing page, and no link to it."""
    target = "+77212000199"
    r = client_as("osh_krg").post(f"{API}/contacts", json={
        "site_id": mine.site_id, "tier": 1, "role": "dispatcher", "channel": "sms",
        "target": target})
    assert r.status_code == 201
    url = f"{API}/sites/{mine.site_id}/contacts"
    for key in ("inspector_krg", "dispatcher_krg"):
        r = client_as(key).get(url)
        assert r.status_code == 200 and target in {c["target"] for c in r.json()}, key
    r = client_as("rescue_krg").get(url)
    assert r.status_code == 403 and target not in r.text
    _login(client, world, "rescue_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}/routing")
    assert page.status_code == 403 and target not in page.text
    console = client.get(f"/alarms/sites/{mine.site_id}")
    assert console.status_code == 200
    assert f'href="/alarms/sites/{mine.site_id}/routing"' not in console.text
    client.cookies.clear()
    _login(client, world, "inspector_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}/routing")
    assert page.status_code == 200 and target in page.text
    console = client.get(f"/alarms/sites/{mine.site_id}").text
    assert f'href="/alarms/sites/{mine.site_id}/routing"' in console


def test_consoles_offer_each_role_its_own_actions(client, db, world, mine, proc):
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2), ("W-1", {"z": "L1"}, -2)]),
                    source="test")
    hihi, fan = mine.latest(db, "CO-1", "HIHI"), _fan_stopped(db, mine)
    csrf = _login(client, world, "dispatcher_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}").text
    assert 'value="ack"' in page and 'value="shelve"' in page
    assert f'action="/alarms/sites/{mine.site_id}/withdraw?' in page
    assert 'id="more-' not in page and 'value="suppress"' not in page  # configure's
    assert "/people/" in page  # a person inside can be counted out by hand
    r = client.post(f"/alarms/sites/{mine.site_id}/withdraw",
                    data={"zones": ["L1"], "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    r = client.post(f"/alarms/devices/{mine.devices['CH4-1']}",
                    data={"high": "2", "reason": "raise", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 403
    client.cookies.clear()
    csrf = _login(client, world, "rescue_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}").text
    assert 'value="shelve"' not in page and 'value="resolve"' not in page
    assert f'action="/alarms/sites/{mine.site_id}/withdraw?' not in page
    assert "/people/" not in page  # nor counts anyone out
    assert f'action="/alarms/{hihi.id}/action?' in page and 'value="ack"' in page
    assert f'action="/alarms/{fan.id}/action?' not in page  # not life-safety: no button
    assert 'class="inside">1<' in page  # the dispatcher's withdrawal, one still inside
    r = client.post(f"/alarms/{fan.id}/action", data={"action": "ack", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]
    db.expire_all()
    assert db.get(AlarmRecord, fan.id).state == "unacknowledged"


def test_demo_has_a_dispatcher_and_a_mine_rescue_login(db):
    from qorgau.accounts.demo import _org_specs
    from qorgau.core.roles import ORG_KINDS, Role

    specs = {s[0]: s for s in _org_specs(db)}
    assert specs["rescue.krg"][5] is Role.MINE_RESCUE and specs["rescue.krg"][3] == "KZ-35"
    assert specs["dispatcher.mine"][5] is Role.SHIFT_DISPATCHER
    assert specs["dispatcher.mine"][4] == specs["osh.mine"][4] is not None
    for username, _name, kind, *_rest in specs.values():
        assert specs[username][5] in ORG_KINDS[kind]
